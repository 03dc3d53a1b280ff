//! Property tests of the tax profile and the calculation input (issue 16); the
//! properties are shared by the payroll rules plugins (see the included file).

/// A valid input, which every case edits.
const BASE: &str = r#"{"country": "DE", "pay-date": "2026-03-31", "frequency": "monthly", "gross": 500000, "currency": "EUR", "ytd": {}, "profile": {"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9"}}"#;

include!("../../../payroll-fuzz.rs");
