//! UK bonus runs through the real host (issue 22, item 1): a bonus paid in the tax
//! month of the regular pay, PAYE cumulative on the pay to date and Class 1 NICs on
//! the month's earnings together (HMRC CWG2) less what April's run deducted; approved
//! by a second person, posted, and counted in May's year to date. A bonus for an
//! employee with a student loan is refused and writes nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{approve_by_second_person, call, clerk, fails, hire, host, lines, nothing_was_paid};

fn bonus_run(bonuses: Value) -> Value {
    json!({"frequency": "monthly", "period-start": "2026-04-01", "period-end": "2026-04-30",
           "pay-date": "2026-04-30", "kind": "bonus", "bonuses": bonuses})
}

#[test]
fn a_uk_bonus_is_aggregated_with_the_months_pay_and_posted() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(&t, &alice); // GB1: £48,000 a year (£4,000 a month), 1257L, category A.

    // April 2026 (tax month 1 of 2026-27): the regular run, approved.
    let april = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-04-01", "period-end": "2026-04-30",
               "pay-date": "2026-04-30", "employees": ["GB1"]}),
    );
    call(&t, &bob, "approve-run", json!({"id": april["id"]}));
    let april_slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": april["id"], "employee": "GB1"}),
    );
    // Hand-computed (HMRC rates and thresholds 2026 to 2027): PAYE 2,951 × 20% =
    // 590.20; NI (4,000 - 1,048) × 8% = 236.16; employer (4,000 - 417) × 15% = 537.45.
    let april_lines = lines(&april_slip["payslip"]);
    assert_eq!(april_lines["gb-paye"], 59_020);
    assert_eq!(april_lines["gb-ni-employee"], 23_616);
    assert_eq!(april_lines["gb-ni-employer"], 53_745);

    // A £2,000 bonus the same day.
    let bonus = call(&t, &alice, "create-run", bonus_run(json!({"GB1": 200_000})));
    assert_eq!(bonus["kind"], "bonus", "{bonus}");
    let slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": bonus["id"], "employee": "GB1"}),
    );
    // £6,000 to date in month 1: PAYE 20% × 3,141.70 + 40% × (4,951 - 3,141.70) =
    // 1,352.06, less 590.20 paid = 761.86. NI on £6,000 for the month: (4,189 -
    // 1,048) × 8% + (6,000 - 4,189) × 2% = 287.50, less 236.16 = 51.34 (a separate
    // payment would have paid 76.16); employer 5,583 × 15% = 837.45 - 537.45 = 300.00.
    let want = BTreeMap::from([
        ("gb-paye".to_string(), 76_186),
        ("gb-ni-employee".to_string(), 5_134),
        ("gb-ni-employer".to_string(), 30_000),
    ]);
    assert_eq!(lines(&slip["payslip"]), want, "{slip}");
    let net = 200_000 - 76_186 - 5_134;
    assert_eq!(slip["payslip"]["net"], net);
    assert_eq!(slip["payslip"]["period"], 1);
    // The what-if calculator with April's year to date agrees.
    let ytd_april = call(&t, &alice, "get-ytd", json!({"employee": "GB1"}));
    let what_if = call(
        &t,
        &alice,
        "calculate-payslip",
        json!({"country": "GB", "pay-date": "2026-04-30", "frequency": "monthly",
               "gross": 200_000, "currency": "GBP",
               "ytd": ytd_april["years"][0]["figures"],
               "profile": {"tax-code": "1257L", "ni-category": "A", "payment": "bonus"}}),
    );
    super::same_payslip(&slip, &what_if);

    let (_, entry, by_account) = approve_by_second_person(&t, &alice, &bob, &bonus["id"]);
    assert_eq!(
        by_account,
        BTreeMap::from([
            ("expenses:payroll:wages".to_string(), 200_000),
            (
                "expenses:payroll:employer-contributions".to_string(),
                30_000
            ),
            (
                "liabilities:payroll:hmrc".to_string(),
                -(76_186 + 5_134 + 30_000)
            ),
            ("liabilities:payroll:net-pay".to_string(), -net),
        ]),
        "{entry}"
    );
    let trial = t
        .call("acme", "ledger", "trial-balance", json!({}))
        .unwrap();
    assert_eq!(trial["balanced"], true, "{trial}");

    // May (tax month 2): a new earnings period, NI as in April; the year to date
    // includes the bonus.
    let may = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-05-01", "period-end": "2026-05-31",
               "pay-date": "2026-05-29", "employees": ["GB1"]}),
    );
    let may_slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": may["id"], "employee": "GB1"}),
    );
    let p = &may_slip["payslip"];
    assert_eq!(lines(p)["gb-ni-employee"], 23_616);
    assert_eq!(p["ytd"]["taxable-pay"], 1_000_000, "{p}");
    assert_eq!(
        p["ytd"]["tax"],
        59_020 + 76_186 + lines(p)["gb-paye"],
        "{p}"
    );
    assert_eq!(p["ytd"]["ni-employee"], 28_750 + 23_616, "{p}");
    assert_eq!(p["ytd"]["period"], 1202, "{p}");
    assert_eq!(p["ytd"]["period-ni-pay"], 400_000, "{p}");
    call(&t, &bob, "approve-run", json!({"id": may["id"]}));
}

#[test]
fn a_uk_bonus_with_a_student_loan_is_refused() {
    let t = host();
    let alice = clerk("alice");
    call(&t, &alice, "setup-ledger", json!({}));
    call(
        &t,
        &alice,
        "set-employee",
        json!({"id": "GB2", "name": "Student Loan", "country": "GB", "frequency": "monthly",
               "salary": 3_600_000, "start-date": "2026-04-06",
               "profile": {"tax-code": "1257L", "student-loan-plans": ["plan-2"]}}),
    );
    fails(
        &t,
        &alice,
        "create-run",
        bonus_run(json!({"GB2": 100_000})),
        400,
        &["does not compute bonuses with student or postgraduate loans"],
    );
    nothing_was_paid(&t, &alice);
}
