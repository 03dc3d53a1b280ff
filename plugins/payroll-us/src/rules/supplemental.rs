//! Federal income tax withholding on supplemental wages (a bonus) paid separately
//! from regular wages, by the optional flat rate method.
//!
//! Source: IRS Publication 15 (2026), *Employer's Tax Guide*, section 7
//! "Supplemental Wages" (the same rules and rates as Pub. 15 (2025), section 7):
//! - **Mandatory flat rate withholding:** "If supplemental wages paid to the employee
//!   during the calendar year exceed $1 million, the excess is subject to withholding
//!   at 37% (or the highest rate of income tax for the year)", whatever the employee's
//!   Form W-4 says ("regardless of what the employee has entered on Form W-4"), so
//!   also for an employee who claims exemption.
//! - **Supplemental wages identified separately from regular wages**, up to $1 million
//!   for the year: the employer may withhold a flat 22% with no allowance for the
//!   Form W-4 entries (rule 2(a), the optional flat rate method used here; the
//!   aggregate procedure of rule 2(b) is not implemented). An employee exempt from
//!   withholding has no income tax withheld on this part.
//!
//! Social Security, Medicare and the Additional Medicare Tax apply to supplemental
//! wages exactly as to regular wages (Pub. 15 section 7: "supplemental wages are ...
//! subject to social security, Medicare, and FUTA taxes"); [`super::calculate`] figures
//! them with the year-to-date wages as for any payment.

/// The optional flat rate, 22%, in basis points (Pub. 15 (2026) section 7, 2(a)).
pub const FLAT_RATE_BP: i64 = 2_200;
/// The mandatory rate on supplemental wages above $1 million in the calendar year,
/// 37%, in basis points (Pub. 15 (2026) section 7, 1).
pub const MANDATORY_RATE_BP: i64 = 3_700;
/// $1,000,000 of supplemental wages in the calendar year, in cents.
pub const MANDATORY_THRESHOLD: i64 = 100_000_000;

/// The withholding on one supplemental payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withholding {
    /// Cents of the payment up to the year's $1 million (22% part).
    pub flat_wages: i64,
    /// Cents of the payment above the year's $1 million (37% part).
    pub mandatory_wages: i64,
    /// Federal income tax to withhold, cents: each part rounded to the nearest cent
    /// (half a cent up), then added.
    pub tax: i64,
}

/// Federal income tax on a supplemental payment of `wages` cents, when the employee
/// was already paid `paid_before` cents of supplemental wages this calendar year.
/// `exempt`: the employee claims exemption on Form W-4 (only the 37% part applies).
pub fn withholding(paid_before: i64, wages: i64, exempt: bool) -> Withholding {
    let room = (MANDATORY_THRESHOLD - paid_before).max(0);
    let flat_wages = wages.min(room);
    let mandatory_wages = wages - flat_wages;
    let flat = if exempt {
        0
    } else {
        super::percent_bp(flat_wages, FLAT_RATE_BP)
    };
    let tax = flat + super::percent_bp(mandatory_wages, MANDATORY_RATE_BP);
    Withholding {
        flat_wages,
        mandatory_wages,
        tax,
    }
}

#[cfg(test)]
mod tests {
    // Cent literals are grouped as dollars and cents.
    #![allow(clippy::inconsistent_digit_grouping)]

    use std::collections::BTreeMap;

    use backoffice_sdk::Error;
    use backoffice_sdk::payroll::{CalcInput, LineKind, Payslip};
    use serde_json::{Value, json};

    use super::*;
    use crate::rules::calculate;

    fn bonus(gross: i64, ytd: Value, profile: Value) -> CalcInput {
        serde_json::from_value(json!({
            "country": "US", "pay-date": "2026-06-15", "frequency": "monthly",
            "gross": gross, "currency": "USD", "ytd": ytd, "profile": profile,
        }))
        .expect("valid CalcInput")
    }

    fn lines(slip: &Payslip) -> BTreeMap<String, i64> {
        slip.lines
            .iter()
            .map(|l| (l.code.clone(), l.amount))
            .collect()
    }

    #[test]
    fn flat_rate_below_one_million() {
        // 22% of $5,000.00 = $1,100.00 (Pub. 15 section 7, 2(a)).
        let w = withholding(0, 5_000_00, false);
        assert_eq!(
            (w.flat_wages, w.mandatory_wages, w.tax),
            (5_000_00, 0, 1_100_00)
        );
        // Rounded to the nearest cent: 22% of $1,234.57 = $271.6054 → $271.61.
        assert_eq!(withholding(0, 1_234_57, false).tax, 271_61);
    }

    #[test]
    fn crossing_one_million_splits_the_payment() {
        // $950,000 paid before; a $100,000 bonus: $50,000 at 22% = $11,000 and the
        // $50,000 above $1 million at 37% = $18,500 (section 7, 1 and 2(a)).
        let w = withholding(950_000_00, 100_000_00, false);
        assert_eq!(w.flat_wages, 50_000_00);
        assert_eq!(w.mandatory_wages, 50_000_00);
        assert_eq!(w.tax, 29_500_00);
        // Once above $1 million, everything is at 37%: 37% of $10,000 = $3,700.
        assert_eq!(withholding(1_200_000_00, 10_000_00, false).tax, 3_700_00);
    }

    #[test]
    fn exempt_employee_only_pays_the_mandatory_rate() {
        // Exempt: nothing on the part up to $1 million ...
        assert_eq!(withholding(0, 5_000_00, true).tax, 0);
        // ... but 37% above it, "regardless of ... Form W-4": $20,000 of a $30,000
        // bonus is above $1 million → $7,400.
        assert_eq!(withholding(990_000_00, 30_000_00, true).tax, 7_400_00);
    }

    #[test]
    fn bonus_payslip_flat_rate_and_fica() {
        // A $5,000.00 bonus in June 2026 after $50,000 of regular wages: FIT 22% =
        // $1,100.00; Social Security 6.2% = $310.00; Medicare 1.45% = $72.50 (each
        // share, Pub. 15 section 9); FUTA base already used ($7,000 of the $50,000).
        let slip = calculate(&bonus(
            5_000_00,
            json!({"social-security-wages": 50_000_00, "medicare-wages": 50_000_00, "futa-wages": 7_000_00, "gross": 50_000_00, "fit-wages": 50_000_00}),
            json!({"filing-status": "single", "payment": "bonus"}),
        ))
        .expect("bonus");
        let l = lines(&slip);
        assert_eq!(l["us-fit"], 1_100_00);
        assert_eq!(l["us-social-security"], 310_00);
        assert_eq!(l["us-medicare"], 72_50);
        assert_eq!(l["us-social-security-employer"], 310_00);
        assert_eq!(l["us-medicare-employer"], 72_50);
        assert!(!l.contains_key("us-futa"));
        assert!(!l.contains_key("us-additional-medicare"));
        assert_eq!(slip.net, 5_000_00 - 1_100_00 - 310_00 - 72_50);
        assert_eq!(slip.ytd["supplemental-wages"], 5_000_00);
        assert_eq!(slip.ytd["gross"], 55_000_00);
        assert_eq!(slip.ytd["fit-wages"], 55_000_00);
        assert_eq!(slip.ytd["social-security-wages"], 55_000_00);
        assert!(slip.notes.iter().any(|n| n.contains("22%")));
    }

    #[test]
    fn bonus_ignores_the_w4_and_per_period_deductions() {
        // Step 3, Step 4(c), whole-dollar rounding and the per-period 401(k) do not
        // apply under the flat rate method: still 22% of $1,234.57 = $271.61.
        let slip = calculate(&bonus(
            1_234_57,
            json!({}),
            json!({"filing-status": "married-filing-jointly", "dependents-amount": 4_000_00,
                   "extra-withholding": 50_00, "whole-dollar-withholding": true,
                   "401k": 500_00, "payment": "bonus"}),
        ))
        .expect("bonus");
        let l = lines(&slip);
        assert_eq!(l["us-fit"], 271_61);
        assert!(!l.contains_key("us-401k"));
        assert_eq!(slip.ytd["fit-wages"], 1_234_57);
    }

    #[test]
    fn bonus_with_wage_base_and_additional_medicare() {
        // $2,000 below the 2026 Social Security wage base ($184,500) and $195,000 of
        // Medicare wages; a $10,000 bonus: Social Security on $2,000 = $124.00;
        // Medicare 1.45% of $10,000 = $145.00; Additional Medicare 0.9% of the $5,000
        // above $200,000 = $45.00; FIT 22% = $2,200.00.
        let slip = calculate(&bonus(
            10_000_00,
            json!({"social-security-wages": 182_500_00, "medicare-wages": 195_000_00,
                   "supplemental-wages": 20_000_00}),
            json!({"payment": "bonus"}),
        ))
        .expect("bonus");
        let l = lines(&slip);
        assert_eq!(l["us-fit"], 2_200_00);
        assert_eq!(l["us-social-security"], 124_00);
        assert_eq!(l["us-medicare"], 145_00);
        assert_eq!(l["us-additional-medicare"], 45_00);
        assert_eq!(slip.ytd["social-security-wages"], 184_500_00);
        assert_eq!(slip.ytd["supplemental-wages"], 30_000_00);
    }

    #[test]
    fn bonus_over_one_million_in_the_payslip() {
        let slip = calculate(&bonus(
            100_000_00,
            json!({"supplemental-wages": 950_000_00, "social-security-wages": 184_500_00,
                   "medicare-wages": 1_500_000_00}),
            json!({"payment": "bonus"}),
        ))
        .expect("bonus");
        let l = lines(&slip);
        assert_eq!(l["us-fit"], 29_500_00);
        assert!(!l.contains_key("us-social-security"));
        // 0.9% of $100,000 = $900.00, all above $200,000.
        assert_eq!(l["us-additional-medicare"], 900_00);
        assert!(slip.notes.iter().any(|n| n.contains("37%")));
    }

    #[test]
    fn pennsylvania_bonus_is_taxed_flat_and_illinois_is_refused() {
        // PA: 3.07% of compensation, bonuses included: 3.07% of $5,000 = $153.50.
        let slip = calculate(&bonus(
            5_000_00,
            json!({}),
            json!({"state": "PA", "payment": "bonus"}),
        ))
        .expect("PA bonus");
        assert_eq!(lines(&slip)["us-pa-income-tax"], 153_50);
        match calculate(&bonus(
            5_000_00,
            json!({}),
            json!({"state": "IL", "payment": "bonus"}),
        )) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("Illinois"), "{m}"),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn regular_payment_is_unchanged_and_bad_payment_refused() {
        let regular = |payment: Option<&str>| {
            let mut profile = json!({"filing-status": "single"});
            if let Some(p) = payment {
                profile["payment"] = json!(p);
            }
            calculate(&bonus(5_000_00, json!({}), profile)).expect("regular")
        };
        assert_eq!(regular(None), regular(Some("regular")));
        assert!(!regular(None).ytd.contains_key("supplemental-wages"));
        match calculate(&bonus(1, json!({}), json!({"payment": "commission"}))) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("\"bonus\""), "{m}"),
            other => panic!("expected invalid input, got {other:?}"),
        }
        let _ = LineKind::EmployeeTax;
    }
}
