//! UK payroll rules (to be written).

use backoffice_sdk::payroll::{CalcInput, Frequency, Payslip, Support};
use backoffice_sdk::{Error, Result};

/// What these rules support.
pub fn support() -> Support {
    Support {
        countries: vec!["GB".into()],
        currency: "GBP".into(),
        tax_years: vec![],
        frequencies: vec![Frequency::Monthly],
    }
}

/// JSON Schema of the tax profile.
pub fn profile_schema() -> serde_json::Value {
    serde_json::json!({"type": "object"})
}

/// Compute one payslip.
pub fn calculate(input: &CalcInput) -> Result<Payslip> {
    Err(Error::unsupported(format!(
        "{} rules are not written yet",
        input.country
    )))
}
