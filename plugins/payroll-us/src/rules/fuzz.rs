//! Property tests of the tax profile and the calculation input (issue 16); the
//! properties are shared by the payroll rules plugins (see the included file).

/// A valid input, which every case edits.
const BASE: &str = r#"{"country": "US", "pay-date": "2025-04-30", "frequency": "monthly", "gross": 500000, "currency": "USD", "ytd": {}, "profile": {"filing-status": "single"}}"#;

include!("../../../payroll-fuzz.rs");
