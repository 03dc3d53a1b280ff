//! US payroll rules: US federal income tax withholding (IRS Publication 15-T percentage method, Form W-4 2020 and later), Social Security and Medicare, 401(k) and section 125 pre-tax deductions, state income tax (Pennsylvania, Illinois; the states without a wage income tax), FUTA and SUTA.
//!
//! The rules are pure functions in [`rules`], unit-tested natively against the
//! cases in `tests/data/payroll/us.json`; this file registers them with the host.

pub mod rules;

backoffice_sdk::payroll_rules_plugin!(USRules, rules);
