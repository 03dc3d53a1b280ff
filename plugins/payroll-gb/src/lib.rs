//! UK payroll rules: UK PAYE income tax (cumulative and week 1/month 1, rUK, Welsh and Scottish rates) and Class 1 National Insurance.
//!
//! The rules are pure functions in [`rules`], unit-tested natively against the
//! cases in `tests/data/payroll/gb.json`; this file registers them with the host.

use backoffice_sdk::payroll::{CalcInput, Payslip, Rules, Support};
use backoffice_sdk::prelude::*;

pub mod rules;

/// The plugin.
pub struct GBRules;

impl Rules for GBRules {
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

impl Plugin for GBRules {
    fn operations() -> Operations {
        Operations::new()
    }
}

backoffice_sdk::export_plugin!(GBRules);
backoffice_sdk::export_payroll_rules!(GBRules);
