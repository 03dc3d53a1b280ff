//! Native tests of bonuses (`payment` "bonus"): cumulative PAYE on the pay to date in
//! the same tax month, and Class 1 NICs on the earnings of the earnings period
//! together (HMRC CWG2), less what was already deducted in it. Figures computed by
//! hand from HMRC "Rates and thresholds for employers 2025 to 2026" (monthly PT
//! £1,048, ST £417, UEL £4,189; 8% / 2% employee, 15% employer) and the PAYE tax
//! table routines v24.0 (month 1 free pay of 1257L £1,048.26), labelled as such: no
//! official worked example was available offline.

use std::collections::BTreeMap;

use backoffice_sdk::payroll::{CalcInput, Payslip};
use serde_json::{Value, json};

use super::*;

fn pay(gross: i64, pay_date: &str, ytd: &BTreeMap<String, i64>, profile: Value) -> CalcInput {
    serde_json::from_value(json!({
        "country": "GB", "pay-date": pay_date, "frequency": "monthly", "gross": gross,
        "currency": "GBP", "ytd": ytd, "profile": profile
    }))
    .expect("valid input")
}

fn amounts(slip: &Payslip) -> BTreeMap<String, i64> {
    slip.lines
        .iter()
        .map(|l| (l.code.clone(), l.amount))
        .collect()
}

fn regular() -> Value {
    json!({"tax-code": "1257L"})
}

fn bonus() -> Value {
    json!({"tax-code": "1257L", "payment": "bonus"})
}

/// £3,000 regular pay on 30 April 2025 (tax month 1), then a £2,000 bonus the same
/// day. Regular: NI (3,000 - 1,048) × 8% = 156.16, employer (3,000 - 417) × 15% =
/// 387.45; PAYE 1,951 × 20% = 390.20. Together £5,000: NI (4,189 - 1,048) × 8% +
/// (5,000 - 4,189) × 2% = 251.28 + 16.22 = 267.50, employer 4,583 × 15% = 687.45; so
/// the bonus pays 111.34 and 300.00 (a separate payment would have paid 76.16 and
/// 237.45). PAYE on £5,000 to date in month 1: taxable 3,951, 20% of the month's
/// basic band 3,141.70 = 628.34 + 40% of 809.30 = 323.72, total 952.06, less 390.20
/// paid = 561.86.
#[test]
fn a_bonus_in_the_regular_pay_month_is_aggregated() {
    let first =
        calculate(&pay(300_000, "2025-04-30", &BTreeMap::new(), regular())).expect("regular");
    assert_eq!(first.ytd["period"], 1201);
    assert_eq!(first.ytd["period-ni-pay"], 300_000);
    assert_eq!(first.ytd["period-ni-employee"], 15_616);
    assert_eq!(first.ytd["period-ni-employer"], 38_745);
    let slip = calculate(&pay(200_000, "2025-04-30", &first.ytd, bonus())).expect("bonus");
    assert_eq!(
        amounts(&slip),
        BTreeMap::from([
            ("gb-paye".to_string(), 56_186),
            ("gb-ni-employee".to_string(), 11_134),
            ("gb-ni-employer".to_string(), 30_000),
        ])
    );
    assert_eq!(slip.period, Some(1));
    assert_eq!(slip.ytd["taxable-pay"], 500_000);
    assert_eq!(slip.ytd["tax"], 39_020 + 56_186);
    assert_eq!(slip.ytd["ni-employee"], 26_750);
    assert_eq!(slip.ytd["ni-employer"], 68_745);
    assert_eq!(slip.ytd["period-ni-pay"], 500_000);
    assert_eq!(slip.ytd["period-ni-employee"], 26_750);
    assert!(
        slip.notes.iter().any(|n| n.contains("HMRC CWG2")),
        "{:?}",
        slip.notes
    );
}

/// The other order: a bonus first, then the regular pay of the same tax month, ends
/// with the same NICs for the month (the regular payment is aggregated).
#[test]
fn a_regular_payment_after_a_bonus_in_its_period_is_aggregated() {
    let b = calculate(&pay(200_000, "2025-04-25", &BTreeMap::new(), bonus())).expect("bonus");
    // Alone: (2,000 - 1,048) × 8% = 76.16; (2,000 - 417) × 15% = 237.45.
    assert_eq!(amounts(&b)["gb-ni-employee"], 7_616);
    assert_eq!(amounts(&b)["gb-ni-employer"], 23_745);
    let r = calculate(&pay(300_000, "2025-04-30", &b.ytd, regular())).expect("regular");
    assert_eq!(amounts(&r)["gb-ni-employee"], 26_750 - 7_616);
    assert_eq!(amounts(&r)["gb-ni-employer"], 68_745 - 23_745);
    assert_eq!(r.ytd["tax"], 95_206);
}

/// A new earnings period starts afresh: May's payment is not aggregated with April's.
#[test]
fn the_next_period_is_not_aggregated() {
    let april = calculate(&pay(300_000, "2025-04-30", &BTreeMap::new(), regular())).expect("april");
    let may = calculate(&pay(300_000, "2025-05-30", &april.ytd, regular())).expect("may");
    assert_eq!(amounts(&may)["gb-ni-employee"], 15_616);
    assert_eq!(may.ytd["period"], 1202);
    assert_eq!(may.ytd["period-ni-pay"], 300_000);
    assert_eq!(may.ytd["ni-employee"], 2 * 15_616);
}

#[test]
fn unsupported_bonuses_are_refused_with_the_reason() {
    let refused =
        |profile: Value| match calculate(&pay(100_000, "2025-04-30", &BTreeMap::new(), profile)) {
            Err(e) => e.message().to_string(),
            Ok(slip) => panic!("expected a refusal, got {slip:?}"),
        };
    let m = refused(json!({"tax-code": "1257L M1", "payment": "bonus"}));
    assert!(
        m.contains("week 1/month 1 basis") && m.contains("does not compute bonuses"),
        "{m}"
    );
    let m =
        refused(json!({"tax-code": "1257L", "student-loan-plans": ["plan-2"], "payment": "bonus"}));
    assert!(m.contains("student or postgraduate loans"), "{m}");
    let m = refused(json!({"tax-code": "1257L", "payment": "bonus",
                            "pension": {"scheme": "net-pay", "employee-percent": "5"}}));
    assert!(m.contains("workplace pension"), "{m}");
    let m = refused(json!({"tax-code": "1257L", "payment": "extra"}));
    assert!(
        m.contains("profile.payment 'extra'") && m.contains("'bonus'"),
        "{m}"
    );
}

#[test]
fn the_schema_offers_bonus_payments() {
    let s = profile_schema();
    assert_eq!(
        s["properties"]["payment"]["enum"],
        json!(["regular", "bonus"])
    );
}
