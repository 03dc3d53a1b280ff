//! US payroll rules: US federal income tax withholding (IRS Publication 15-T percentage method, Form W-4 2020 and later), Social Security and Medicare.
//!
//! The rules are pure functions in [`rules`], unit-tested natively against the
//! cases in `tests/data/payroll/us.json`; this file registers them with the host.

use backoffice_sdk::payroll::{CalcInput, Payslip, Rules, Support};
use backoffice_sdk::prelude::*;

pub mod rules;

/// The plugin.
pub struct USRules;

impl Rules for USRules {
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

impl Plugin for USRules {
    fn operations() -> Operations {
        Operations::new()
    }
}

backoffice_sdk::export_plugin!(USRules);
backoffice_sdk::export_payroll_rules!(USRules);
