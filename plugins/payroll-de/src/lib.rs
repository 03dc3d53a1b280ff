//! German payroll rules: German Lohnsteuer by the BMF Programmablaufplan, Solidaritaetszuschlag, Kirchensteuer and social insurance contributions.
//!
//! The rules are pure functions in [`rules`], unit-tested natively against the
//! cases in `tests/data/payroll/de.json`; this file registers them with the host.

pub mod rules;

backoffice_sdk::payroll_rules_plugin!(DERules, rules);
