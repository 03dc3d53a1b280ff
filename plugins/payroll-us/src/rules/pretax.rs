//! Pre-tax deductions: traditional 401(k) elective deferrals and section 125
//! cafeteria plan salary reductions, and the wage bases they leave for each tax.
//!
//! | deduction | federal income tax wages | Social Security / Medicare wages | FUTA wages |
//! |---|---|---|---|
//! | traditional 401(k) | reduced (IRC § 402(e)(3)) | **not** reduced (IRC § 3121(v)(1)(A)) | **not** reduced (IRC § 3306(r)(1)(A)) |
//! | section 125 | reduced (IRC § 125(a)) | reduced (IRC § 3121(a)(5)(G)) | reduced (IRC § 3306(b)(5)(G)) |
//!
//! The same treatment is summarised in IRS Publication 15 (2025) and (2026), section 5
//! "Wages and Other Compensation" ("Retirement plans: elective deferrals ... are
//! subject to social security, Medicare, and FUTA taxes but not to income tax
//! withholding") and IRS Publication 15-B (2025) and (2026), section 1 "Cafeteria
//! Plans" (qualified benefits chosen under the plan are excluded from wages for
//! federal income tax, social security, Medicare and FUTA).

// Cent literals are grouped as dollars and cents, as in params.rs.
#![allow(clippy::inconsistent_digit_grouping)]

use backoffice_sdk::{Error, Result};

/// The elective deferral limits of one calendar year, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeferralLimits {
    /// The calendar year.
    pub year: i32,
    /// IRC § 402(g)(1) limit on elective deferrals.
    pub base: i64,
    /// IRC § 414(v)(2)(B)(i) catch-up limit for participants aged 50 or over.
    pub catch_up_50: i64,
    /// IRC § 414(v)(2)(E) higher catch-up limit for participants who attain age 60,
    /// 61, 62 or 63 in the year (SECURE 2.0 Act § 109).
    pub catch_up_60_63: i64,
    /// Where the figures are published.
    pub source: &'static str,
}

/// 2025: IRS Notice 2024-80 (1 November 2024, 2024-47 I.R.B. 1120): § 402(g)(1)
/// limit $23,500; § 414(v)(2)(B)(i) catch-up $7,500; § 414(v)(2)(E)(i) catch-up for
/// ages 60 to 63 $11,250.
pub const LIMITS_2025: DeferralLimits = DeferralLimits {
    year: 2025,
    base: 23_500_00,
    catch_up_50: 7_500_00,
    catch_up_60_63: 11_250_00,
    source: "IRS Notice 2024-80",
};

/// 2026: IRS Notice 2025-67 (13 November 2025): § 402(g)(1) limit $24,500;
/// § 414(v)(2)(B)(i) catch-up $8,000; catch-up for ages 60 to 63 $11,250.
pub const LIMITS_2026: DeferralLimits = DeferralLimits {
    year: 2026,
    base: 24_500_00,
    catch_up_50: 8_000_00,
    catch_up_60_63: 11_250_00,
    source: "IRS Notice 2025-67",
};

/// The limits of a calendar year, if known.
pub fn limits(year: i32) -> Option<&'static DeferralLimits> {
    [&LIMITS_2025, &LIMITS_2026]
        .into_iter()
        .find(|l| l.year == year)
}

/// Catch-up eligibility the employee (or plan) declares in the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Under 50 at the end of the year: the § 402(g)(1) limit alone.
    None,
    /// Aged 50 or over by the end of the year.
    Age50,
    /// Attains 60, 61, 62 or 63 in the year.
    Age60To63,
}

impl CatchUp {
    /// The profile spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::None => "none",
            CatchUp::Age50 => "age-50",
            CatchUp::Age60To63 => "age-60-63",
        }
    }

    /// Parse the profile spelling.
    pub fn parse(s: &str) -> Option<CatchUp> {
        match s {
            "none" => Some(CatchUp::None),
            "age-50" => Some(CatchUp::Age50),
            "age-60-63" => Some(CatchUp::Age60To63),
            _ => None,
        }
    }
}

impl DeferralLimits {
    /// The year's total limit for an employee with this catch-up eligibility.
    pub fn total(&self, catch_up: CatchUp) -> i64 {
        self.base
            + match catch_up {
                CatchUp::None => 0,
                CatchUp::Age50 => self.catch_up_50,
                CatchUp::Age60To63 => self.catch_up_60_63,
            }
    }
}

/// What the pre-tax deductions of one payment leave taxable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wages {
    /// 401(k) elective deferral taken this period.
    pub deferral: i64,
    /// Section 125 salary reduction taken this period.
    pub section_125: i64,
    /// Federal income tax wages: gross − 401(k) − section 125 (W-2 box 1).
    pub income_tax: i64,
    /// Social Security, Medicare and FUTA wages before any wage base:
    /// gross − section 125 (W-2 boxes 3 and 5 before the base).
    pub fica: i64,
}

/// Apply the per-period 401(k) and section 125 amounts to `gross`.
///
/// A zero gross takes no deduction (nothing is paid, nothing can be deferred).
/// Otherwise the deductions must fit in the pay, and the deferral must fit in what
/// is left of the year's limit given `deferred_before` (year to date).
pub fn apply(
    gross: i64,
    deferral: i64,
    section_125: i64,
    deferred_before: i64,
    limits: &DeferralLimits,
    catch_up: CatchUp,
) -> Result<Wages> {
    if gross == 0 {
        return Ok(Wages {
            deferral: 0,
            section_125: 0,
            income_tax: 0,
            fica: 0,
        });
    }
    if deferral + section_125 > gross {
        return Err(Error::invalid(format!(
            "profile 401k ({}) plus section-125 ({}) is {}, above the pay of the period ({}); pre-tax deductions cannot exceed gross pay",
            dollars(deferral),
            dollars(section_125),
            dollars(deferral + section_125),
            dollars(gross)
        )));
    }
    let limit = limits.total(catch_up);
    if deferred_before + deferral > limit {
        let room = (limit - deferred_before).max(0);
        return Err(Error::invalid(format!(
            "profile 401k: a deferral of {} would bring the employee's {} 401(k) elective deferrals to {}, above the limit of {} ({}, catch-up {}); at most {} may be deferred for the rest of the year",
            dollars(deferral),
            limits.year,
            dollars(deferred_before + deferral),
            dollars(limit),
            limits.source,
            catch_up.as_str(),
            dollars(room)
        )));
    }
    Ok(Wages {
        deferral,
        section_125,
        income_tax: gross - deferral - section_125,
        fica: gross - section_125,
    })
}

/// `$1,234.56` for 123456 cents.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let whole = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}${grouped}.{:02}", c % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(r: Result<Wages>) -> String {
        match r {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn limits_per_year() {
        assert_eq!(
            limits(2025).map(|l| l.total(CatchUp::None)),
            Some(23_500_00)
        );
        assert_eq!(
            limits(2025).map(|l| l.total(CatchUp::Age50)),
            Some(31_000_00)
        );
        assert_eq!(
            limits(2025).map(|l| l.total(CatchUp::Age60To63)),
            Some(34_750_00)
        );
        assert_eq!(
            limits(2026).map(|l| l.total(CatchUp::None)),
            Some(24_500_00)
        );
        assert_eq!(
            limits(2026).map(|l| l.total(CatchUp::Age50)),
            Some(32_500_00)
        );
        assert_eq!(
            limits(2026).map(|l| l.total(CatchUp::Age60To63)),
            Some(35_750_00)
        );
        assert!(limits(2027).is_none());
    }

    #[test]
    fn wage_bases() {
        let w = apply(500_000, 50_000, 20_000, 0, &LIMITS_2026, CatchUp::None).unwrap();
        assert_eq!(w.income_tax, 430_000);
        assert_eq!(w.fica, 480_000);
        let zero = apply(0, 50_000, 20_000, 0, &LIMITS_2026, CatchUp::None).unwrap();
        assert_eq!((zero.deferral, zero.section_125), (0, 0));
    }

    #[test]
    fn refusals() {
        let m = invalid(apply(
            100_000,
            90_000,
            20_000,
            0,
            &LIMITS_2025,
            CatchUp::None,
        ));
        assert!(
            m.contains("above the pay") && m.contains("$1,000.00"),
            "{m}"
        );
        // The last dollar of the limit is allowed, one cent more is not.
        assert!(
            apply(
                1_000_000,
                100_000,
                0,
                22_500_00,
                &LIMITS_2025,
                CatchUp::None
            )
            .is_ok()
        );
        let m = invalid(apply(
            1_000_000,
            100_001,
            0,
            22_500_00,
            &LIMITS_2025,
            CatchUp::None,
        ));
        assert!(
            m.contains("$23,500.00") && m.contains("Notice 2024-80") && m.contains("$1,000.00"),
            "{m}"
        );
        // Catch-up raises the limit.
        assert!(
            apply(
                1_000_000,
                100_001,
                0,
                22_500_00,
                &LIMITS_2025,
                CatchUp::Age50
            )
            .is_ok()
        );
    }

    #[test]
    fn dollar_format() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(123_456_789), "$1,234,567.89");
        assert_eq!(dollars(-5), "-$0.05");
    }
}
