//! US payroll rules: US federal income tax withholding (IRS Publication 15-T percentage method, Form W-4 2020 and later), Social Security and Medicare.
//!
//! The rules are pure functions in [`rules`], unit-tested natively against the
//! cases in `tests/data/payroll/us.json`; this file registers them with the host.

pub mod rules;

backoffice_sdk::payroll_rules_plugin!(USRules, rules);
