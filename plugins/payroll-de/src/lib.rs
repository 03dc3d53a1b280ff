//! German payroll rules: German Lohnsteuer by the BMF Programmablaufplan, Solidaritaetszuschlag, Kirchensteuer and social insurance contributions.
//!
//! The rules are pure functions in [`rules`], unit-tested natively against the
//! cases in `tests/data/payroll/de.json`; this file registers them with the host.

use backoffice_sdk::payroll::{CalcInput, Payslip, Rules, Support};
use backoffice_sdk::prelude::*;

pub mod rules;

/// The plugin.
pub struct DERules;

impl Rules for DERules {
    fn support() -> Support {
        rules::support()
    }

    fn profile_schema() -> serde_json::Value {
        rules::profile_schema()
    }

    fn calculate(input: &CalcInput) -> Result<Payslip> {
        rules::calculate(input)
    }
}

impl Plugin for DERules {
    fn operations() -> Operations {
        Operations::new()
    }
}

backoffice_sdk::export_plugin!(DERules);
backoffice_sdk::export_payroll_rules!(DERules);
