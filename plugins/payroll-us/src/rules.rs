//! US federal payroll rules: federal income tax withholding (FIT) by the IRS
//! Publication 15-T percentage method for automated payroll systems (Worksheet 1A,
//! Form W-4 from 2020 or later), Social Security and Medicare (FICA) including the
//! Additional Medicare Tax withholding; traditional 401(k) and section 125 pre-tax
//! deductions ([`pretax`]); state income tax withholding for Pennsylvania and
//! Illinois, with the states that have no income tax on wages recognised
//! ([`state`]); FUTA and the employer's SUTA ([`unemployment`]). Local taxes,
//! California and New York are out of scope. A bonus paid separately from regular
//! wages (profile `payment: "bonus"`, set by the payroll plugin for a bonus run) is
//! withheld by the optional flat rate method of IRS Pub. 15 (2026) section 7
//! ([`supplemental`]).
//!
//! # Tax years
//! The tax year is the calendar year of the pay date (wages are taxed when paid):
//! `2025` and `2026` are supported, with the parameters in [`params`].
//!
//! # Frequencies
//! Weekly (52), biweekly (26), semi-monthly (24), monthly (12), quarterly (4) and
//! annual (1) pay periods, as in Pub. 15-T Worksheet 1A, Table 3. `four-weekly`
//! (13 periods) is not a payroll period that table lists and is refused.
//!
//! # Profile (Form W-4, 2020 or later)
//! All amounts in cents. See [`profile_schema`].
//! - `filing-status`: `single` (also married filing separately),
//!   `married-filing-jointly` (also qualifying surviving spouse), `head-of-household`
//!   (Step 1(c)); default `single`, as Pub. 15-T prescribes for an employee who has
//!   not furnished a Form W-4.
//! - `multiple-jobs`: the Step 2(c) box is checked (default `false`).
//! - `dependents-amount`: Step 3 total, annual (default 0).
//! - `other-income`: Step 4(a), annual (default 0).
//! - `deductions`: Step 4(b), annual (default 0).
//! - `extra-withholding`: Step 4(c), per pay period (default 0).
//! - `exempt`: the employee claims exemption from withholding (no FIT; FICA still
//!   applies). Steps 2 to 4 must then be left out.
//! - `whole-dollar-withholding`: the employer rounds FIT to whole dollars (Pub. 15-T
//!   allows it with the percentage method when used consistently); default `false`.
//! - `401k`, `401k-catch-up` (`none`, `age-50`, `age-60-63`), `section-125`: the
//!   pre-tax deductions per period ([`pretax`]).
//! - `state`, `il-basic-allowances`, `il-additional-allowances`,
//!   `state-extra-withholding`: state income tax ([`state`]).
//! - `employer`: the employer's SUTA set-up per state, filled in by the payroll
//!   plugin from its settings ([`unemployment`]).
//! - `payment`: `regular` (default) or `bonus`, set per payment by the payroll plugin
//!   (never stored with the employee). A bonus is supplemental wages paid separately:
//!   federal income tax by the flat rate method ([`supplemental`]), no Form W-4
//!   Step 3/4(c) amounts, no whole-dollar rounding and no per-period 401(k) or
//!   section 125 deduction; FICA, FUTA, SUTA and Pennsylvania tax as for regular
//!   wages; Illinois is refused (not implemented for bonuses yet).
//!
//! # Year-to-date codes (`ytd`)
//! Read from the input (missing = 0; any other code is refused):
//! - `social-security-wages`: wages already subject to Social Security tax this year
//!   (never above the year's wage base).
//! - `medicare-wages`: wages already subject to Medicare tax this year (drives the
//!   $200,000 Additional Medicare Tax threshold).
//! - `401k`: elective deferrals so far (against the year's limit).
//! - `futa-wages`: FUTA wages so far (missing: `medicare-wages` up to $7,000).
//! - `suta-wages`: SUTA wages so far (against the employer's state wage base).
//! - `supplemental-wages`: supplemental wages (bonuses) paid so far this year
//!   (against the $1,000,000 of the mandatory 37% rate); returned after a bonus, and
//!   carried by a regular payment when given.
//!
//! Returned, each = previous + this period (the W-2 boxes 1 to 6):
//! `gross`, `fit`, `social-security-wages`, `social-security`, `medicare-wages`,
//! `medicare`, `additional-medicare`, `fit-wages`, `401k`, `section-125`,
//! `futa-wages`, `futa`, `state-wages`, `state-tax`, `suta-wages`, `suta`. Input
//! values of the codes not read are only carried.
//!
//! # Lines
//! | code | kind | what |
//! |---|---|---|
//! | `us-fit` | employee tax | federal income tax withheld |
//! | `us-social-security` | employee contribution | Social Security tax, 6.2% |
//! | `us-medicare` | employee contribution | Medicare tax, 1.45% |
//! | `us-additional-medicare` | employee contribution | Additional Medicare Tax, 0.9% |
//! | `us-social-security-employer` | employer contribution | employer Social Security, 6.2% |
//! | `us-medicare-employer` | employer contribution | employer Medicare, 1.45% |
//! | `us-401k` | employee contribution | traditional 401(k) elective deferral |
//! | `us-section-125` | employee contribution | section 125 cafeteria plan reduction |
//! | `us-pa-income-tax`, `us-il-income-tax` | employee tax | state income tax |
//! | `us-futa` | employer contribution | FUTA, 0.6% of the first $7,000 |
//! | `us-suta-<state>` | employer contribution | state unemployment tax |
//!
//! Lines with a zero amount are left out.
//!
//! # Rounding
//! Pub. 15-T Worksheet 1A does not round inside the worksheet; amounts here are kept
//! in cents and each division or percentage is rounded to the nearest cent, half a
//! cent up ([`round_div`]). FICA taxes are figured on each payment and rounded to the
//! cent (the per-payment rounding Form 941 line 7 "fractions of cents" reconciles).
//! With `whole-dollar-withholding`, the FIT of the period is rounded to the nearest
//! dollar: under 50 cents dropped, 50 to 99 cents raised ([`round_to_dollar`]).

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, Frequency, Line, LineKind, Payslip, Support};
use backoffice_sdk::{Error, Result};
use serde_json::{Value, json};

pub mod params;
pub mod pretax;
pub mod state;
pub mod supplemental;
pub mod unemployment;

use params::{Row, Schedule, YearParams};
use pretax::{CatchUp, dollars};
use state::{StateProfile, StateTax};
use unemployment::Suta;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

/// The pay frequencies accepted (Pub. 15-T Worksheet 1A, Table 3).
pub const FREQUENCIES: [Frequency; 6] = [
    Frequency::Weekly,
    Frequency::Biweekly,
    Frequency::SemiMonthly,
    Frequency::Monthly,
    Frequency::Quarterly,
    Frequency::Annual,
];

/// Input year-to-date codes.
pub const YTD_SOCIAL_SECURITY_WAGES: &str = "social-security-wages";
/// Input year-to-date code: Medicare wages.
pub const YTD_MEDICARE_WAGES: &str = "medicare-wages";
/// Input year-to-date code: 401(k) elective deferrals (against the annual limit).
pub const YTD_401K: &str = "401k";
/// Input year-to-date code: FUTA wages (against the $7,000 base); when missing, the
/// Medicare wages (the same wages before the base) up to $7,000 are taken.
pub const YTD_FUTA_WAGES: &str = "futa-wages";
/// Input year-to-date code: SUTA wages (against the state's wage base).
pub const YTD_SUTA_WAGES: &str = "suta-wages";
/// Input year-to-date code: supplemental wages paid this year ([`supplemental`]).
pub const YTD_SUPPLEMENTAL_WAGES: &str = "supplemental-wages";
/// Every year-to-date code, input or output.
pub const YTD_CODES: [&str; 17] = [
    "gross",
    "fit",
    YTD_SOCIAL_SECURITY_WAGES,
    "social-security",
    YTD_MEDICARE_WAGES,
    "medicare",
    "additional-medicare",
    "fit-wages",
    YTD_401K,
    "section-125",
    YTD_FUTA_WAGES,
    "futa",
    "state-wages",
    "state-tax",
    YTD_SUTA_WAGES,
    "suta",
    YTD_SUPPLEMENTAL_WAGES,
];

/// Largest amount accepted for `gross` and profile amounts: $10 billion, in cents.
/// Keeps every intermediate product far inside `i64`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// What these rules support.
pub fn support() -> Support {
    Support {
        countries: vec!["US".into()],
        currency: "USD".into(),
        tax_years: params::YEARS.iter().map(|p| p.year.to_string()).collect(),
        frequencies: FREQUENCIES.to_vec(),
    }
}

/// JSON Schema of the tax profile (Form W-4, 2020 or later).
pub fn profile_schema() -> Value {
    let amount = |description: &str| {
        json!({
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_AMOUNT,
            "default": 0,
            "description": description,
        })
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "US federal withholding profile (Form W-4, 2020 or later)",
        "description": "The employee's Form W-4 entries. Amounts are in cents.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "filing-status": {
                "type": "string",
                "enum": ["single", "married-filing-jointly", "head-of-household"],
                "default": "single",
                "description": "Form W-4 Step 1(c): 'single' (single or married filing separately), 'married-filing-jointly' (or qualifying surviving spouse), 'head-of-household'. Without a Form W-4, withhold as single."
            },
            "multiple-jobs": {
                "type": "boolean",
                "default": false,
                "description": "Form W-4 Step 2(c): the box for two jobs / spouse works is checked; the Step 2 Checkbox withholding rate schedules apply."
            },
            "dependents-amount": amount("Form W-4 Step 3: total claim for dependents and other credits, annual, in cents."),
            "other-income": amount("Form W-4 Step 4(a): other income (not from jobs), annual, in cents."),
            "deductions": amount("Form W-4 Step 4(b): deductions, annual, in cents."),
            "extra-withholding": amount("Form W-4 Step 4(c): extra withholding for each pay period, in cents."),
            "exempt": {
                "type": "boolean",
                "default": false,
                "description": "The employee claims exemption from federal income tax withholding (no income tax is withheld; Social Security and Medicare still apply). Steps 2 to 4 must then be left out."
            },
            "whole-dollar-withholding": {
                "type": "boolean",
                "default": false,
                "description": "Employer choice, to be used consistently: round the federal income tax of each pay period to the nearest whole dollar (Pub. 15-T percentage method)."
            },
            "401k": amount("Traditional 401(k) elective deferral for each pay period, in cents: reduces federal (and Illinois) income-tax wages, not Social Security, Medicare or FUTA wages. Limited year to date to the IRS elective deferral limit (IRS Notice 2024-80 for 2025, Notice 2025-67 for 2026)."),
            "401k-catch-up": {
                "type": "string",
                "enum": ["none", "age-50", "age-60-63"],
                "default": "none",
                "description": "Catch-up eligibility for the 401(k) limit: 'age-50' (50 or over by the end of the year), 'age-60-63' (attains 60 to 63 in the year)."
            },
            "section-125": amount("Section 125 cafeteria plan salary reduction for each pay period (health premiums, health FSA), in cents: reduces income-tax, Social Security, Medicare and FUTA wages."),
            "state": {
                "type": "string",
                "enum": state::supported(),
                "description": "The state whose income tax is withheld (where the employee works). PA and IL are withheld; AK, FL, NV, NH, SD, TN, TX, WA and WY have no income tax on wages; CA and NY are refused (their DE 44 and NYS-50-T-NYS withholding is not implemented). Left out: no state tax and no SUTA."
            },
            "il-basic-allowances": {"type": "integer", "minimum": 0, "maximum": 99, "default": 0, "description": "Form IL-W-4 Line 1: basic allowances."},
            "il-additional-allowances": {"type": "integer", "minimum": 0, "maximum": 99, "default": 0, "description": "Form IL-W-4 Line 2: additional allowances."},
            "state-extra-withholding": amount("Additional state income tax to withhold each pay period, in cents (Form IL-W-4 Line 3)."),
            "payment": {
                "type": "string",
                "enum": ["regular", "bonus"],
                "default": "regular",
                "description": "Set per payment by the payroll plugin, not stored with the employee: 'bonus' is supplemental wages paid separately from regular wages, withheld at the flat 22% (37% above $1,000,000 of supplemental wages in the year), IRS Pub. 15 (2026) section 7."
            },
            "employer": {
                "type": "object",
                "description": "The employer's state unemployment (SUTA) set-up per state, {\"suta\": {\"PA\": {\"rate\": \"3.822\", \"wage-base\": 1000000}}}; filled in by the payroll plugin from its settings (employer.US)."
            }
        }
    })
}

/// Form W-4 Step 1(c) filing status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilingStatus {
    /// Single or married filing separately.
    Single,
    /// Married filing jointly or qualifying surviving spouse.
    MarriedFilingJointly,
    /// Head of household.
    HeadOfHousehold,
}

impl FilingStatus {
    fn as_str(self) -> &'static str {
        match self {
            FilingStatus::Single => "single",
            FilingStatus::MarriedFilingJointly => "married-filing-jointly",
            FilingStatus::HeadOfHousehold => "head-of-household",
        }
    }
}

/// The parsed profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Step 1(c).
    pub filing_status: FilingStatus,
    /// Step 2(c) box.
    pub multiple_jobs: bool,
    /// Step 3, annual cents.
    pub dependents_amount: i64,
    /// Step 4(a), annual cents.
    pub other_income: i64,
    /// Step 4(b), annual cents.
    pub deductions: i64,
    /// Step 4(c), cents per period.
    pub extra_withholding: i64,
    /// Exempt from withholding.
    pub exempt: bool,
    /// Round FIT to whole dollars.
    pub whole_dollar_withholding: bool,
    /// Traditional 401(k) deferral per period, cents.
    pub deferral_401k: i64,
    /// 401(k) catch-up eligibility.
    pub catch_up: CatchUp,
    /// Section 125 salary reduction per period, cents.
    pub section_125: i64,
    /// The state part.
    pub state: StateProfile,
    /// The employer's SUTA set-up per state.
    pub suta: BTreeMap<String, Suta>,
    /// This payment is a bonus (supplemental wages paid separately).
    pub bonus: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            filing_status: FilingStatus::Single,
            multiple_jobs: false,
            dependents_amount: 0,
            other_income: 0,
            deductions: 0,
            extra_withholding: 0,
            exempt: false,
            whole_dollar_withholding: false,
            deferral_401k: 0,
            catch_up: CatchUp::None,
            section_125: 0,
            state: StateProfile::default(),
            suta: BTreeMap::new(),
            bonus: false,
        }
    }
}

const PROFILE_FIELDS: &str = "filing-status, multiple-jobs, dependents-amount, other-income, deductions, extra-withholding, exempt, whole-dollar-withholding, 401k, 401k-catch-up, section-125, state, il-basic-allowances, il-additional-allowances, state-extra-withholding, employer, payment";

/// Parse and check the profile; unknown fields are refused.
pub fn parse_profile(value: &Value) -> Result<Profile> {
    let obj = value.as_object().ok_or_else(|| {
        Error::invalid(format!(
            "profile must be a JSON object (Form W-4 entries), got {value}"
        ))
    })?;
    let mut p = Profile::default();
    let boolean = |key: &str, v: &Value| {
        v.as_bool()
            .ok_or_else(|| Error::invalid(format!("profile {key} must be true or false, got {v}")))
    };
    let amount = |key: &str, v: &Value| -> Result<i64> {
        match v.as_i64() {
            Some(n) if (0..=MAX_AMOUNT).contains(&n) => Ok(n),
            _ => Err(Error::invalid(format!(
                "profile {key} must be a whole number of cents from 0 to {MAX_AMOUNT}, got {v}"
            ))),
        }
    };
    let allowances = |key: &str, v: &Value| -> Result<i64> {
        match v.as_i64() {
            Some(n) if (0..=99).contains(&n) => Ok(n),
            _ => Err(Error::invalid(format!(
                "profile {key} must be a whole number of allowances from 0 to 99, got {v}"
            ))),
        }
    };
    for (key, v) in obj {
        match key.as_str() {
            "filing-status" => {
                p.filing_status = match v.as_str() {
                    Some("single") => FilingStatus::Single,
                    Some("married-filing-jointly") => FilingStatus::MarriedFilingJointly,
                    Some("head-of-household") => FilingStatus::HeadOfHousehold,
                    _ => {
                        return Err(Error::invalid(format!(
                            "profile filing-status {v} is not accepted; use \"single\", \"married-filing-jointly\" or \"head-of-household\""
                        )));
                    }
                }
            }
            "multiple-jobs" => p.multiple_jobs = boolean(key, v)?,
            "dependents-amount" => p.dependents_amount = amount(key, v)?,
            "other-income" => p.other_income = amount(key, v)?,
            "deductions" => p.deductions = amount(key, v)?,
            "extra-withholding" => p.extra_withholding = amount(key, v)?,
            "exempt" => p.exempt = boolean(key, v)?,
            "whole-dollar-withholding" => p.whole_dollar_withholding = boolean(key, v)?,
            "401k" => p.deferral_401k = amount(key, v)?,
            "401k-catch-up" => {
                p.catch_up = v.as_str().and_then(CatchUp::parse).ok_or_else(|| {
                    Error::invalid(format!(
                        "profile 401k-catch-up {v} is not accepted; use \"none\", \"age-50\" or \"age-60-63\""
                    ))
                })?
            }
            "section-125" => p.section_125 = amount(key, v)?,
            "state" => {
                let st = v.as_str().ok_or_else(|| {
                    Error::invalid(format!(
                        "profile state must be a two-letter state code such as \"PA\", got {v}"
                    ))
                })?;
                state::check(st)?;
                p.state.state = Some(st.to_string());
            }
            "il-basic-allowances" => p.state.il_basic_allowances = allowances(key, v)?,
            "il-additional-allowances" => p.state.il_additional_allowances = allowances(key, v)?,
            "state-extra-withholding" => p.state.extra_withholding = amount(key, v)?,
            "employer" => p.suta = unemployment::parse_employer(v)?,
            "payment" => {
                p.bonus = match v.as_str() {
                    Some("regular") => false,
                    Some("bonus") => true,
                    _ => {
                        return Err(Error::invalid(format!(
                            "profile payment {v} is not accepted; use \"regular\" or \"bonus\""
                        )));
                    }
                }
            }
            other => {
                return Err(Error::invalid(format!(
                    "profile field {other:?} is unknown; accepted fields: {PROFILE_FIELDS}"
                )));
            }
        }
    }
    if p.exempt {
        let set: Vec<&str> = [
            ("multiple-jobs", p.multiple_jobs),
            ("dependents-amount", p.dependents_amount != 0),
            ("other-income", p.other_income != 0),
            ("deductions", p.deductions != 0),
            ("extra-withholding", p.extra_withholding != 0),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| *k)
        .collect();
        if !set.is_empty() {
            return Err(Error::invalid(format!(
                "profile exempt is true, so Form W-4 Steps 2 to 4 must be left out, but {} {} set",
                set.join(", "),
                if set.len() == 1 { "is" } else { "are" }
            )));
        }
    }
    Ok(p)
}

/// Divide a non-negative or negative `num` by a positive `den`, rounding to the
/// nearest integer, halves away from zero (half a cent up for amounts).
pub fn round_div(num: i64, den: i64) -> i64 {
    round_div_i128(i128::from(num), i128::from(den))
}

/// `amount` × `bp` basis points, rounded to the nearest cent (half up).
pub fn percent_bp(amount: i64, bp: i64) -> i64 {
    round_div_i128(i128::from(amount) * i128::from(bp), 10_000)
}

fn round_div_i128(num: i128, den: i128) -> i64 {
    debug_assert!(den > 0);
    let q = if num >= 0 {
        (2 * num + den) / (2 * den)
    } else {
        -((-2 * num + den) / (2 * den))
    };
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// Round cents to the nearest whole dollar: under 50 cents dropped, 50 to 99 cents
/// raised to the next dollar (Pub. 15-T, whole-dollar withholding).
pub fn round_to_dollar(cents: i64) -> i64 {
    round_div(cents, 100) * 100
}

/// Parse a `YYYY-MM-DD` date, checking the day exists; returns (year, month, day).
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > days {
        return None;
    }
    Some((y as i32, m, d))
}

fn supported_years() -> String {
    let years: Vec<String> = params::YEARS.iter().map(|p| p.year.to_string()).collect();
    match years.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

fn frequency_list() -> String {
    FREQUENCIES
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The schedule of Worksheet 1A Step 2 for the profile.
fn schedule<'a>(year: &'a YearParams, p: &Profile) -> (&'a Schedule, &'static str) {
    let (table, table_name) = if p.multiple_jobs {
        (&year.checkbox, "Form W-4, Step 2, Checkbox")
    } else {
        (&year.standard, "STANDARD")
    };
    let s = match p.filing_status {
        FilingStatus::Single => &table.single,
        FilingStatus::MarriedFilingJointly => &table.married_filing_jointly,
        FilingStatus::HeadOfHousehold => &table.head_of_household,
    };
    (s, table_name)
}

/// Worksheet 1A Step 2: the row where the Adjusted Annual Wage Amount is at least
/// column A but less than column B (the next row's A).
pub fn find_row(schedule: &Schedule, adjusted_annual_wage: i64) -> &Row {
    schedule
        .iter()
        .rev()
        .find(|row| adjusted_annual_wage >= row.over)
        .unwrap_or(&schedule[0])
}

/// Federal income tax to withhold for one period: Pub. 15-T Worksheet 1A ("Employer's
/// Withholding Worksheet for Percentage Method Tables for Automated Payroll
/// Systems"), for a Form W-4 from 2020 or later. Returns the amount in cents.
pub fn federal_income_tax(year: &YearParams, periods: i64, wages: i64, p: &Profile) -> i64 {
    if p.exempt {
        return 0;
    }
    // Step 1. Adjust the employee's payment amount.
    // 1a taxable wages this period; 1b pay periods (Table 3); 1c = 1a × 1b (exact).
    let line_1c = wages * periods;
    // 1d Step 4(a); 1e = 1c + 1d.
    let line_1e = line_1c + p.other_income;
    // 1f Step 4(b); 1g: 0 if the Step 2 box is checked, otherwise $12,900 for
    // married filing jointly or $8,600 otherwise; 1h = 1f + 1g.
    let line_1g = if p.multiple_jobs {
        0
    } else if p.filing_status == FilingStatus::MarriedFilingJointly {
        year.line_1g_married_filing_jointly
    } else {
        year.line_1g_other
    };
    let line_1h = p.deductions + line_1g;
    // 1i Adjusted Annual Wage Amount = 1e − 1h; "if zero or less, enter -0-".
    let line_1i = (line_1e - line_1h).max(0);

    // Step 2. Figure the Tentative Withholding Amount.
    let (sched, _) = schedule(year, p);
    let row = find_row(sched, line_1i); // 2a = 1i; 2b = A; 2c = C; 2d = D
    let line_2e = line_1i - row.over; // 2e = 2a − 2b
    // 2f = 2e × 2d: a percentage of cents, rounded to the nearest cent (half up).
    let line_2f = percent_bp(line_2e, row.percent * 100);
    let line_2g = row.base + line_2f; // 2g = 2c + 2f (annual)
    // 2h Tentative Withholding Amount = 2g ÷ 1b, rounded to the nearest cent.
    let line_2h = round_div(line_2g, periods);

    // Step 3. Account for tax credits.
    // 3a Step 3 amount; 3b = 3a ÷ 1b, rounded to the nearest cent;
    // 3c = 2h − 3b, "if zero or less, enter -0-".
    let line_3b = round_div(p.dependents_amount, periods);
    let line_3c = (line_2h - line_3b).max(0);

    // Step 4. Figure the final amount to withhold.
    // 4a Step 4(c) extra withholding; 4b = 3c + 4a.
    let line_4b = line_3c + p.extra_withholding;
    // Optional whole-dollar withholding (Pub. 15-T: the tax for the pay period may be
    // rounded to the nearest dollar when the percentage method is used).
    if p.whole_dollar_withholding {
        round_to_dollar(line_4b)
    } else {
        line_4b
    }
}

fn line(code: &str, description: &str, amount: i64, kind: LineKind) -> Line {
    Line {
        code: code.into(),
        description: description.into(),
        amount,
        kind,
    }
}

/// Compute one payslip.
pub fn calculate(input: &CalcInput) -> Result<Payslip> {
    if input.country != "US" {
        return Err(Error::invalid(format!(
            "country {:?} is not handled by payroll-us; it computes country \"US\" only",
            input.country
        )));
    }
    if input.currency != "USD" {
        return Err(Error::invalid(format!(
            "currency {:?} is not accepted by payroll-us; amounts must be in \"USD\" (cents)",
            input.currency
        )));
    }
    if input.gross < 0 {
        return Err(Error::invalid(format!(
            "gross {} is negative; gross pay must be 0 or more cents",
            input.gross
        )));
    }
    if input.gross > MAX_AMOUNT {
        return Err(Error::invalid(format!(
            "gross {} is above the largest amount accepted, {MAX_AMOUNT} cents",
            input.gross
        )));
    }
    if !FREQUENCIES.contains(&input.frequency) {
        return Err(Error::invalid(format!(
            "frequency {} is not supported: it is not a payroll period of IRS Pub. 15-T Worksheet 1A Table 3; accepted: {}",
            input.frequency,
            frequency_list()
        )));
    }
    let (year_num, _, _) = parse_date(&input.pay_date).ok_or_else(|| {
        Error::invalid(format!(
            "pay-date {:?} is not a valid date in the form YYYY-MM-DD",
            input.pay_date
        ))
    })?;
    let year = params::for_year(year_num).ok_or_else(|| {
        Error::invalid(format!(
            "pay date {} is in tax year {year_num}; payroll-us has rules for {}",
            input.pay_date,
            supported_years()
        ))
    })?;
    let profile = parse_profile(&input.profile)?;

    // Year to date.
    for (code, value) in &input.ytd {
        if !YTD_CODES.contains(&code.as_str()) {
            return Err(Error::invalid(format!(
                "ytd code {code:?} is unknown; accepted codes: {}",
                YTD_CODES.join(", ")
            )));
        }
        if *value < 0 {
            return Err(Error::invalid(format!(
                "ytd {code} is {value}; year-to-date amounts must be 0 or more cents"
            )));
        }
        if *value > MAX_AMOUNT * 100 {
            return Err(Error::invalid(format!(
                "ytd {code} is {value}, above the largest amount accepted, {} cents",
                MAX_AMOUNT * 100
            )));
        }
    }
    let ytd = |code: &str| input.ytd.get(code).copied().unwrap_or(0);
    let ss_wages_before = ytd(YTD_SOCIAL_SECURITY_WAGES);
    if ss_wages_before > year.social_security_wage_base {
        return Err(Error::invalid(format!(
            "ytd {YTD_SOCIAL_SECURITY_WAGES} is {ss_wages_before}, above the {} Social Security wage base of {} cents",
            year.year, year.social_security_wage_base
        )));
    }
    let medicare_wages_before = ytd(YTD_MEDICARE_WAGES);

    let periods = i64::from(input.frequency.periods_per_year());
    let gross = input.gross;
    let mut notes = Vec::new();

    // Pre-tax deductions: what is left for each tax (see `pretax`).
    let limits = pretax::limits(year.year).ok_or_else(|| {
        Error::invalid(format!(
            "payroll-us has no 401(k) limit for tax year {}",
            year.year
        ))
    })?;
    // A bonus takes none of the per-period deductions (see `supplemental`).
    let (deferral_401k, section_125) = if profile.bonus {
        (0, 0)
    } else {
        (profile.deferral_401k, profile.section_125)
    };
    let wages = pretax::apply(
        gross,
        deferral_401k,
        section_125,
        ytd(YTD_401K),
        limits,
        profile.catch_up,
    )?;
    if profile.bonus && (profile.deferral_401k != 0 || profile.section_125 != 0) {
        notes.push(
            "Bonus: the per-period 401(k) and section 125 amounts are not taken from it."
                .to_string(),
        );
    }
    if gross == 0 && (deferral_401k != 0 || section_125 != 0) {
        notes.push("No pay this period: no 401(k) or section 125 deduction taken.".to_string());
    }
    if wages.deferral != 0 {
        notes.push(format!(
            "401(k) elective deferral {} ({} so far this year of the {} limit, {}): not in federal income-tax wages, still in Social Security, Medicare and FUTA wages.",
            dollars(wages.deferral),
            dollars(ytd(YTD_401K) + wages.deferral),
            dollars(limits.total(profile.catch_up)),
            limits.source
        ));
    }
    if wages.section_125 != 0 {
        notes.push(format!(
            "Section 125 cafeteria plan {}: not in income-tax, Social Security, Medicare or FUTA wages.",
            dollars(wages.section_125)
        ));
    }
    let fica_wages = wages.fica;

    // Federal income tax withholding, on the wages left after both deductions
    // (Worksheet 1A line 1a: "total taxable wages this payroll period").
    let supplemental_before = ytd(YTD_SUPPLEMENTAL_WAGES);
    let fit = if profile.bonus {
        let w = supplemental::withholding(supplemental_before, wages.income_tax, profile.exempt);
        notes.push(format!(
            "Bonus (supplemental wages paid separately): federal income tax by the optional flat rate method, IRS Pub. 15 (2026) section 7: {}{}.",
            if profile.exempt {
                format!("nothing on {} (exempt on Form W-4)", dollars(w.flat_wages))
            } else {
                format!("22% of {}", dollars(w.flat_wages))
            },
            if w.mandatory_wages > 0 {
                format!(
                    ", and the mandatory 37% on {} above $1,000,000 of supplemental wages this year",
                    dollars(w.mandatory_wages)
                )
            } else {
                String::new()
            }
        ));
        w.tax
    } else {
        federal_income_tax(year, periods, wages.income_tax, &profile)
    };
    if profile.bonus {
        // Noted above with the amounts.
    } else if profile.exempt {
        notes.push("Exempt from federal income tax withholding (Form W-4).".to_string());
    } else {
        let (_, table_name) = schedule(year, &profile);
        notes.push(format!(
            "Federal income tax: {} Worksheet 1A, {} withholding rate schedule, {}, {} pay periods{}.",
            year.pub15t,
            table_name,
            profile.filing_status.as_str(),
            periods,
            if profile.whole_dollar_withholding {
                ", rounded to whole dollars"
            } else {
                ""
            }
        ));
    }

    // Social Security: wages up to the wage base for the year (Pub. 15 section 9).
    let ss_room = year.social_security_wage_base - ss_wages_before;
    let ss_wages = fica_wages.min(ss_room);
    // Employee and employer shares each 6.2% of the taxable wages of this payment,
    // rounded to the nearest cent.
    let ss_employee = percent_bp(ss_wages, year.social_security_rate);
    let ss_employer = percent_bp(ss_wages, year.social_security_rate);
    if ss_wages < fica_wages {
        notes.push(format!(
            "Social Security wage base for {} (${}) reached: {} of {} cents taxed.",
            year.year,
            year.social_security_wage_base / 100,
            ss_wages,
            fica_wages
        ));
    }

    // Medicare: all wages, 1.45% each share, rounded to the nearest cent.
    let medicare_employee = percent_bp(fica_wages, year.medicare_rate);
    let medicare_employer = percent_bp(fica_wages, year.medicare_rate);
    // Additional Medicare Tax: 0.9% of the wages of this payment that bring the
    // year's Medicare wages from this employer above $200,000, regardless of filing
    // status (Pub. 15 section 9); employee only; rounded to the nearest cent.
    let medicare_wages_after = medicare_wages_before + fica_wages;
    let additional_wages = (medicare_wages_after
        - medicare_wages_before.max(year.additional_medicare_threshold))
    .max(0);
    let additional_medicare = percent_bp(additional_wages, year.additional_medicare_rate);
    if additional_wages > 0 {
        notes.push(format!(
            "Additional Medicare Tax withheld on {additional_wages} cents of wages above $200,000 this year."
        ));
    }

    // State income tax.
    if profile.bonus && profile.state.state.as_deref() == Some("IL") {
        return Err(Error::invalid(
            "a bonus for an employee working in Illinois is not supported by payroll-us yet (Illinois withholding on supplemental pay is not implemented); pay it with the regular wages instead",
        ));
    }
    // A bonus takes no per-period extra state withholding.
    let state_profile = if profile.bonus {
        StateProfile {
            extra_withholding: 0,
            ..profile.state.clone()
        }
    } else {
        profile.state.clone()
    };
    let state_tax = state::withholding(year.year, periods, gross, &wages, &state_profile)?;
    if let Some(st) = &state_tax {
        notes.push(st.note.clone());
    } else {
        notes.push("No state given in the profile: no state income tax or state unemployment tax computed.".to_string());
    }

    // FUTA (see `unemployment`). Without FUTA figures of the year (runs before this
    // version), the Medicare wages stand in: the same wages before the base.
    let futa_before = input
        .ytd
        .get(YTD_FUTA_WAGES)
        .copied()
        .unwrap_or_else(|| medicare_wages_before.min(unemployment::FUTA_WAGE_BASE));
    if futa_before > unemployment::FUTA_WAGE_BASE {
        return Err(Error::invalid(format!(
            "ytd {YTD_FUTA_WAGES} is {futa_before}, above the FUTA wage base of {} cents",
            unemployment::FUTA_WAGE_BASE
        )));
    }
    let (futa_wages, futa) = unemployment::futa(fica_wages, futa_before);

    // SUTA, where the employer set up the employee's state.
    let mut suta_line = None;
    if let Some(st) = profile.state.state.as_deref() {
        match profile.suta.get(st) {
            Some(cfg) => {
                let (w, tax) = unemployment::suta(cfg, fica_wages, ytd(YTD_SUTA_WAGES));
                notes.push(format!(
                    "{st} state unemployment tax at the employer's rate {} on {} (wage base {}).",
                    unemployment::rate_text(cfg.rate_ppm),
                    dollars(w),
                    dollars(cfg.wage_base)
                ));
                suta_line = Some((
                    format!("us-suta-{}", st.to_ascii_lowercase()),
                    unemployment::suta_description(st, cfg),
                    w,
                    tax,
                ));
            }
            None => notes.push(format!(
                "No state unemployment (SUTA) rate set up for {st} (payroll settings employer.US.suta.{st}): none computed."
            )),
        }
    }

    let mut lines = Vec::new();
    let mut push = |code: &str, description: &str, amount: i64, kind: LineKind| {
        if amount != 0 {
            lines.push(line(code, description, amount, kind));
        }
    };
    push(
        "us-401k",
        "401(k) elective deferral (pre-tax)",
        wages.deferral,
        LineKind::EmployeeContribution,
    );
    push(
        "us-section-125",
        "Section 125 cafeteria plan (pre-tax)",
        wages.section_125,
        LineKind::EmployeeContribution,
    );
    push(
        "us-fit",
        "Federal income tax withheld",
        fit,
        LineKind::EmployeeTax,
    );
    if let Some(StateTax {
        code: Some(code),
        description,
        tax,
        ..
    }) = &state_tax
    {
        push(code, description, *tax, LineKind::EmployeeTax);
    }
    push(
        "us-social-security",
        "Social Security tax (6.2%)",
        ss_employee,
        LineKind::EmployeeContribution,
    );
    push(
        "us-medicare",
        "Medicare tax (1.45%)",
        medicare_employee,
        LineKind::EmployeeContribution,
    );
    push(
        "us-additional-medicare",
        "Additional Medicare Tax (0.9% over $200,000)",
        additional_medicare,
        LineKind::EmployeeContribution,
    );
    push(
        "us-social-security-employer",
        "Employer Social Security tax (6.2%)",
        ss_employer,
        LineKind::EmployerContribution,
    );
    push(
        "us-medicare-employer",
        "Employer Medicare tax (1.45%)",
        medicare_employer,
        LineKind::EmployerContribution,
    );
    push(
        "us-futa",
        "Federal unemployment tax (FUTA, 0.6% of the first $7,000)",
        futa,
        LineKind::EmployerContribution,
    );
    if let Some((code, description, _, tax)) = &suta_line {
        push(code, description, *tax, LineKind::EmployerContribution);
    }

    // Whatever the deductions, the employee cannot be paid less than nothing.
    let taken: i64 = lines
        .iter()
        .filter(|l| l.kind != LineKind::EmployerContribution)
        .map(|l| l.amount)
        .sum();
    if taken > gross {
        return Err(Error::invalid(format!(
            "the deductions and taxes of this payment ({}) exceed the pay ({}); lower profile 401k or section-125",
            dollars(taken),
            dollars(gross)
        )));
    }

    let mut out = BTreeMap::new();
    let mut add = |code: &str, amount: i64| {
        out.insert(code.to_string(), ytd(code) + amount);
    };
    add("gross", gross);
    add("fit", fit);
    add(YTD_SOCIAL_SECURITY_WAGES, ss_wages);
    add("social-security", ss_employee);
    add(YTD_MEDICARE_WAGES, fica_wages);
    add("medicare", medicare_employee);
    add("additional-medicare", additional_medicare);
    add("fit-wages", wages.income_tax);
    add(YTD_401K, wages.deferral);
    add("section-125", wages.section_125);
    add("futa", futa);
    add(
        "state-wages",
        state_tax.as_ref().map(|s| s.wages).unwrap_or(0),
    );
    add("state-tax", state_tax.as_ref().map(|s| s.tax).unwrap_or(0));
    add(YTD_SUTA_WAGES, suta_line.as_ref().map(|s| s.2).unwrap_or(0));
    add("suta", suta_line.as_ref().map(|s| s.3).unwrap_or(0));
    out.insert(YTD_FUTA_WAGES.to_string(), futa_before + futa_wages);
    if profile.bonus || input.ytd.contains_key(YTD_SUPPLEMENTAL_WAGES) {
        out.insert(
            YTD_SUPPLEMENTAL_WAGES.to_string(),
            supplemental_before + if profile.bonus { gross } else { 0 },
        );
    }

    Ok(Payslip::new(
        input,
        year.year.to_string(),
        None,
        lines,
        out,
        notes,
    ))
}
