//! State income tax withholding, chosen by `profile.state` (the state whose income
//! tax the employer withholds: where the employee works).
//!
//! - `PA` Pennsylvania: flat 3.07% of compensation, no allowances.
//! - `IL` Illinois: flat 4.95% of wages less the Form IL-W-4 allowances, by the
//!   automated payroll method of Booklet IL-700-T.
//! - `AK`, `FL`, `NV`, `NH`, `SD`, `TN`, `TX`, `WA`, `WY`: no state income tax on
//!   wages, so nothing is withheld (New Hampshire taxed only interest and dividends,
//!   and that tax was repealed for 2025; Washington taxes only capital gains).
//!
//! Any other state is refused, naming these. California and New York are refused
//! with their own message ([`NOT_IMPLEMENTED`]): their withholding needs the tables
//! of EDD's DE 44 and of the Tax Department's NYS-50-T-NYS, which could not be
//! checked against the official publications for 2025 and 2026, so they are not in
//! this plugin rather than guessed.

// Cent literals are grouped as dollars and cents, as in params.rs.
#![allow(clippy::inconsistent_digit_grouping)]

use backoffice_sdk::{Error, Result};

use super::percent_bp;
use super::pretax::{Wages, dollars};

/// States without an income tax on wages: recognised, nothing withheld.
pub const NO_WAGE_TAX: [&str; 9] = ["AK", "FL", "NV", "NH", "SD", "TN", "TX", "WA", "WY"];

/// States whose income tax is withheld.
pub const WITHHOLDING: [&str; 2] = ["IL", "PA"];

/// States with a wage income tax that payroll-us deliberately does not withhold yet,
/// each with the official publication its withholding needs. They are refused with
/// this reason instead of the generic "not supported" message, so the clerk knows
/// the gap is known and what would close it.
///
/// - California: EDD DE 44, "California Withholding Schedules" (Method B, exact
///   calculation: Table 1 low income exemption, Table 2 estimated deduction, Table 3
///   standard deduction, Table 4 exemption allowance, Table 5 tax rates). The 2026
///   low income exemption table was not available from the EDD's publication when
///   this was written; third-party transcriptions of the other tables were, but a
///   partial table set cannot give Method B's result.
/// - New York: Publication NYS-50-T-NYS, "New York State Withholding Tax Tables and
///   Methods", Method II exact calculation (deduction and exemption allowance Tables
///   A to C, the rate tables per filing status with the supplemental tables for
///   higher wages). No 2025 or 2026 revision of the publication could be checked.
///   New York City (NYS-50-T-NYC) and Yonkers (NYS-50-T-Y) withholding would come on
///   top and are not implemented either.
pub const NOT_IMPLEMENTED: [(&str, &str); 2] = [
    (
        "CA",
        "California income tax withholding (EDD DE 44 California Withholding Schedules, Method B) is not implemented in payroll-us: its 2025 and 2026 tables could not be checked against the EDD publication",
    ),
    (
        "NY",
        "New York State income tax withholding (Publication NYS-50-T-NYS, exact calculation method) is not implemented in payroll-us, nor New York City or Yonkers withholding: the 2025 and 2026 tables could not be checked against the Tax Department's publication",
    ),
];

/// Every state accepted in `profile.state`, in alphabetical order.
pub fn supported() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = NO_WAGE_TAX
        .iter()
        .chain(WITHHOLDING.iter())
        .copied()
        .collect();
    all.sort_unstable();
    all
}

/// The supported states as a sentence part.
pub fn supported_list() -> String {
    format!(
        "{} (income tax withheld) and {} (no state income tax on wages)",
        WITHHOLDING.join(", "),
        NO_WAGE_TAX.join(", ")
    )
}

/// Check a `profile.state` value.
pub fn check(state: &str) -> Result<()> {
    if supported().contains(&state) {
        Ok(())
    } else if let Some((_, why)) = NOT_IMPLEMENTED.iter().find(|(s, _)| *s == state) {
        Err(Error::invalid(format!(
            "profile state {state:?}: {why}; supported states: {}",
            supported_list()
        )))
    } else {
        Err(Error::invalid(format!(
            "profile state {state:?} is not supported by payroll-us; supported states: {}",
            supported_list()
        )))
    }
}

/// Pennsylvania personal income tax rate on compensation: 3.07%, basis points.
/// Source: Tax Reform Code of 1971 § 302(a), 72 P.S. § 7302(a) (3.07% for taxable
/// years beginning after 31 December 2003); Pennsylvania Department of Revenue,
/// REV-415, "Employer Withholding Information Guide" (employers withhold 3.07% of
/// compensation; no personal exemptions or allowances). Unchanged for 2025 and 2026.
pub const PA_RATE_BP: i64 = 307;

/// Illinois income tax rate on individuals: 4.95%, basis points.
/// Source: 35 ILCS 5/201(b)(5.4); Illinois Department of Revenue, Booklet IL-700-T
/// (R-12/24) "Illinois Withholding Tax Tables, Effective January 1, 2025": "Tax rate
/// 4.95%".
pub const IL_RATE_BP: i64 = 495;

/// The Illinois withholding allowances of one year, in cents a year.
#[derive(Debug, Clone, Copy)]
pub struct IlAllowances {
    /// The calendar year.
    pub year: i32,
    /// Each basic allowance (Form IL-W-4, Line 1): the personal exemption amount.
    pub basic: i64,
    /// Each additional allowance (Form IL-W-4, Line 2).
    pub additional: i64,
}

/// 2025: Booklet IL-700-T (R-12/24), "Automated payroll method": $2,850 for each
/// Line 1 allowance and $1,000 for each Line 2 allowance (the 2025 personal
/// exemption under 35 ILCS 5/204(b), as indexed).
///
/// 2026 is not listed: the 2026 Booklet IL-700-T figure could not be checked
/// against the Department's publication when this was written, so Illinois
/// withholding for 2026 pay dates is refused rather than guessed.
pub const IL_ALLOWANCES: [IlAllowances; 1] = [IlAllowances {
    year: 2025,
    basic: 2_850_00,
    additional: 1_000_00,
}];

/// The state part of the profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateProfile {
    /// Two-letter state code, upper case; `None` when not given (no state tax).
    pub state: Option<String>,
    /// Form IL-W-4 Line 1: basic allowances.
    pub il_basic_allowances: i64,
    /// Form IL-W-4 Line 2: additional allowances.
    pub il_additional_allowances: i64,
    /// Additional state withholding each period, cents (Form IL-W-4 Line 3, or a
    /// voluntary request elsewhere).
    pub extra_withholding: i64,
}

/// One payment's state income tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTax {
    /// The line code, e.g. `us-pa-income-tax`; `None` where nothing is withheld.
    pub code: Option<String>,
    /// What a person reads.
    pub description: String,
    /// The state's taxable wages of this payment.
    pub wages: i64,
    /// The tax withheld.
    pub tax: i64,
    /// A note for the payslip.
    pub note: String,
}

/// The state income tax on one payment.
pub fn withholding(
    year: i32,
    periods: i64,
    gross: i64,
    wages: &Wages,
    p: &StateProfile,
) -> Result<Option<StateTax>> {
    let Some(state) = p.state.as_deref() else {
        if p.il_basic_allowances != 0 || p.il_additional_allowances != 0 || p.extra_withholding != 0
        {
            return Err(Error::invalid(
                "profile il-basic-allowances, il-additional-allowances and state-extra-withholding need profile state",
            ));
        }
        return Ok(None);
    };
    if state != "IL" && (p.il_basic_allowances != 0 || p.il_additional_allowances != 0) {
        return Err(Error::invalid(format!(
            "profile il-basic-allowances and il-additional-allowances apply to Illinois only, but state is {state:?}"
        )));
    }
    if NO_WAGE_TAX.contains(&state) {
        if p.extra_withholding != 0 {
            return Err(Error::invalid(format!(
                "profile state-extra-withholding: {state} has no state income tax on wages, so there is nothing to withhold"
            )));
        }
        return Ok(Some(StateTax {
            code: None,
            description: String::new(),
            wages: 0,
            tax: 0,
            note: format!("{state} has no state income tax on wages: nothing withheld."),
        }));
    }
    match state {
        "PA" => {
            // PA taxable compensation includes 401(k) elective deferrals (72 P.S.
            // § 7301(d); REV-415: "employee contributions to 401(k) ... plans are
            // taxable compensation") but excludes salary reductions under a
            // non-discriminatory section 125 plan for health, sickness, disability or
            // death benefits (72 P.S. § 7301(d)(vi)).
            let taxable = gross - wages.section_125;
            let tax = if gross == 0 {
                0
            } else {
                percent_bp(taxable, PA_RATE_BP) + p.extra_withholding
            };
            Ok(Some(StateTax {
                code: Some("us-pa-income-tax".into()),
                description: "Pennsylvania personal income tax (3.07%)".into(),
                wages: taxable,
                tax,
                note: format!(
                    "Pennsylvania personal income tax: 3.07% of {} (401(k) deferrals are taxable in PA; section 125 reductions are not; REV-415).",
                    dollars(taxable)
                ),
            }))
        }
        "IL" => {
            let a = IL_ALLOWANCES.iter().find(|a| a.year == year).ok_or_else(|| {
                Error::invalid(format!(
                    "Illinois withholding is not available for tax year {year}: payroll-us has the Booklet IL-700-T allowance amounts for {} only",
                    IL_ALLOWANCES
                        .iter()
                        .map(|a| a.year.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            // Booklet IL-700-T, "Automated payroll method": (Line 1 allowances ×
            // basic amount + Line 2 allowances × $1,000) ÷ pay periods is subtracted
            // from the wages of the period; the rest is multiplied by 4.95%. Illinois
            // wages follow federal wages: 401(k) and section 125 reductions excluded
            // (35 ILCS 5/203(a) starts from federal adjusted gross income).
            let taxable = wages.income_tax;
            let allowance = super::round_div(
                p.il_basic_allowances * a.basic + p.il_additional_allowances * a.additional,
                periods,
            );
            let tax = if gross == 0 {
                0
            } else {
                percent_bp((taxable - allowance).max(0), IL_RATE_BP) + p.extra_withholding
            };
            Ok(Some(StateTax {
                code: Some("us-il-income-tax".into()),
                description: "Illinois income tax (4.95%)".into(),
                wages: taxable,
                tax,
                note: format!(
                    "Illinois income tax: Booklet IL-700-T ({year}) automated payroll method, 4.95% of {} less {} of IL-W-4 allowances ({} basic, {} additional).",
                    dollars(taxable),
                    dollars(allowance),
                    p.il_basic_allowances,
                    p.il_additional_allowances
                ),
            }))
        }
        other => Err(Error::invalid(format!(
            "profile state {other:?} is not supported by payroll-us; supported states: {}",
            supported_list()
        ))),
    }
}
