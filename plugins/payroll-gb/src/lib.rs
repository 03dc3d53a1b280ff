//! UK payroll rules: UK PAYE income tax (cumulative and week 1/month 1, rUK, Welsh and Scottish rates) and Class 1 National Insurance.
//!
//! The rules are pure functions in [`rules`], unit-tested natively against the
//! cases in `tests/data/payroll/gb.json`; this file registers them with the host.

pub mod rules;

backoffice_sdk::payroll_rules_plugin!(GBRules, rules);
