//! Native tests of student loans and pensions: HMRC's worked examples of the
//! rounding, the thresholds as GOV.UK publishes them per period, and bad input.

use backoffice_sdk::payroll::{CalcInput, Frequency};
use serde_json::{Value, json};

use super::loans::{self, Plan};
use super::pension;
use super::*;

fn input(profile: Value, gross: i64) -> CalcInput {
    serde_json::from_value(json!({
        "country": "GB", "pay-date": "2026-04-30", "frequency": "monthly",
        "gross": gross, "currency": "GBP", "ytd": {}, "profile": profile
    }))
    .expect("valid CalcInput")
}

fn error_of(i: &CalcInput) -> String {
    match calculate(i) {
        Ok(slip) => panic!("expected an error, got {slip:?}"),
        Err(e) => {
            assert_eq!(e.kind(), "invalid-input", "{e:?}");
            e.message().to_string()
        }
    }
}

/// HMRC Collection of Student Loans Manual CSLM17060, "Example - Weekly paid
/// borrower": earnings £1,200, pay threshold £336, excess £864 at 9% = £77.76, rounded
/// down to £77.
#[test]
fn cslm17060_weekly_example() {
    assert_eq!(
        loans::deduction(120_000, 33_600, loans::PLAN_RATE_BP),
        7_700
    );
}

/// HMRC CSLM18025 step 1: monthly salary £2,075, monthly threshold £1,457, excess
/// £618 at 9% = £55.62, rounded down to £55.
#[test]
fn cslm18025_monthly_example() {
    assert_eq!(
        loans::deduction(207_500, 145_700, loans::PLAN_RATE_BP),
        5_500
    );
    // At or below the threshold nothing is due.
    assert_eq!(loans::deduction(145_700, 145_700, loans::PLAN_RATE_BP), 0);
    assert_eq!(loans::deduction(0, 145_700, loans::PLAN_RATE_BP), 0);
}

/// The period thresholds GOV.UK publishes in "Rates and thresholds for employers 2025
/// to 2026": Plan 1 £501.25 a week and £2,172.08 a month, Plan 2 £547.50 and
/// £2,372.50, Plan 4 £629.71 and £2,728.75, postgraduate loan £403.84 and £1,750.00.
#[test]
fn period_thresholds_as_published_2025_26() {
    let t = loans::THRESHOLDS_2025_26;
    let rows = [
        (t.plan1, 50_125, 217_208),
        (t.plan2, 54_750, 237_250),
        (t.plan4, 62_971, 272_875),
        (t.pgl, 40_384, 175_000),
    ];
    for (annual, weekly, monthly) in rows {
        assert_eq!(
            loans::period_threshold(annual, false, 1),
            weekly,
            "{annual}"
        );
        assert_eq!(
            loans::period_threshold(annual, true, 1),
            monthly,
            "{annual}"
        );
    }
    // Fortnightly and four-weekly: the weekly figure times 2 and 4 (SL3 tables).
    assert_eq!(loans::period_threshold(t.plan1, false, 2), 100_250);
    assert_eq!(loans::period_threshold(t.plan1, false, 4), 200_500);
}

#[test]
fn plans_parse_and_label() {
    assert_eq!(Plan::parse("plan-4"), Some(Plan::Four));
    assert_eq!(Plan::parse("plan-3"), None);
    assert_eq!(Plan::Five.label(), "Plan 5");
}

#[test]
fn rejects_unknown_loan_plan() {
    let msg = error_of(&input(
        json!({"tax-code": "1257L", "student-loan-plans": ["plan-3"]}),
        300_000,
    ));
    assert!(
        msg.contains("\"plan-3\" is not a student loan plan"),
        "{msg}"
    );
    assert!(msg.contains("plan-1, plan-2, plan-4, plan-5"), "{msg}");
    let msg = error_of(&input(
        json!({"tax-code": "1257L", "student-loan-plans": "plan-2"}),
        300_000,
    ));
    assert!(msg.contains("must be a list"), "{msg}");
    let msg = error_of(&input(
        json!({"tax-code": "1257L", "postgraduate-loan": "yes"}),
        300_000,
    ));
    assert!(
        msg.contains("postgraduate-loan must be true or false"),
        "{msg}"
    );
}

#[test]
fn rejects_pension_contribution_above_the_pay() {
    let profile = json!({"tax-code": "1257L",
        "pension": {"scheme": "net-pay", "employee-amount": 300_001}});
    let msg = error_of(&input(profile.clone(), 300_000));
    assert!(
        msg.contains(
            "employee contribution of £3,000.01 is more than the pay of the period, £3,000.00"
        ),
        "{msg}"
    );
    // The same profile with no pay (set-employee's check) deducts nothing.
    let slip = calculate(&input(profile, 0)).expect("zero pay");
    assert!(slip.lines.is_empty(), "{:?}", slip.lines);
}

#[test]
fn rejects_malformed_pensions() {
    let cases = [
        (
            json!({"scheme": "stakeholder"}),
            "scheme \"stakeholder\" is not known",
        ),
        (
            json!({"employee-percent": "5"}),
            "scheme (missing) is not known",
        ),
        (
            json!({"scheme": "net-pay", "employee-percent": "101"}),
            "percentage from \"0\" to \"100\"",
        ),
        (
            json!({"scheme": "net-pay", "employee-percent": 5}),
            "as a string with at most two decimals",
        ),
        (
            json!({"scheme": "net-pay", "employee-percent": "5.125"}),
            "at most two decimals",
        ),
        (
            json!({"scheme": "net-pay", "employee-percent": "5", "employee-amount": 100}),
            "either employee-percent or employee-amount",
        ),
        (
            json!({"scheme": "net-pay", "earnings": "basic"}),
            "earnings \"basic\" is not known",
        ),
        (
            json!({"scheme": "net-pay", "rate": "5"}),
            "field 'rate' is not known",
        ),
        (json!("net-pay"), "must be an object"),
    ];
    for (pension, want) in cases {
        let msg = error_of(&input(
            json!({"tax-code": "1257L", "pension": pension}),
            300_000,
        ));
        assert!(msg.contains(want), "{pension}: {msg}");
    }
}

#[test]
fn qualifying_earnings_band_per_period() {
    // TPR 2025-2026: weekly £120 to £967, fortnightly £240 to £1,934, four-weekly £480
    // to £3,867, monthly £520 to £4,189.
    let b = |f| {
        let band = pension::band(f);
        (band.lower, band.upper)
    };
    assert_eq!(b(Frequency::Weekly), (120, 967));
    assert_eq!(b(Frequency::Biweekly), (240, 1_934));
    assert_eq!(b(Frequency::FourWeekly), (480, 3_867));
    assert_eq!(b(Frequency::Monthly), (520, 4_189));
    // Pay above the upper level: contributions stop at it. 5% of (£4,189 - £520).
    let p = pension::Pension::parse(Some(&json!({"scheme": "net-pay", "employee-percent": "5"})))
        .expect("valid")
        .expect("some");
    let c = pension::compute(&p, 600_000, Frequency::Monthly, "2026-27").expect("ok");
    assert_eq!(c.employee_gross, 18_345);
    // All pay instead of the band.
    let p = pension::Pension::parse(Some(
        &json!({"scheme": "relief-at-source", "employee-percent": "5", "earnings": "all"}),
    ))
    .expect("valid")
    .expect("some");
    let c = pension::compute(&p, 600_000, Frequency::Monthly, "2026-27").expect("ok");
    assert_eq!((c.employee_gross, c.employee_deducted), (30_000, 24_000));
}

#[test]
fn schema_lists_the_new_fields() {
    let schema = profile_schema();
    for key in ["student-loan-plans", "postgraduate-loan", "pension"] {
        assert!(schema["properties"].get(key).is_some(), "{key}");
    }
}

#[test]
fn rejects_deductions_above_the_pay() {
    // The whole pay into a net pay pension leaves no room for National Insurance.
    let msg = error_of(&input(
        json!({"tax-code": "1257L", "pension": {"scheme": "net-pay", "employee-amount": 300_000}}),
        300_000,
    ));
    assert!(msg.contains("are more than the pay, £3,000.00"), "{msg}");
}
