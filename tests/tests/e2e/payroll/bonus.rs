//! Off-cycle bonus runs through the real host (issue 22, item 1): a US bonus paid
//! separately from regular wages, withheld by the flat rate method of IRS Pub. 15
//! (2026) section 7, approved by a second person, posted to the ledger and counted in
//! the year-to-date figures of the next regular run; bad bonus runs are refused and
//! write nothing.

use std::collections::BTreeMap;

use serde_json::json;

use super::{approve_by_second_person, call, clerk, fails, hire, host, lines, nothing_was_paid};

fn monthly(start: &str, end: &str, pay: &str) -> serde_json::Value {
    json!({"frequency": "monthly", "period-start": start, "period-end": end, "pay-date": pay})
}

#[test]
fn a_us_bonus_run_is_approved_posted_and_counted_in_the_year_to_date() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(&t, &alice); // US1: $120,000 a year, single; GB1 and DE1.

    // March: the regular run, approved.
    let march = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01", "period-end": "2026-03-31",
               "pay-date": "2026-03-31", "employees": ["US1"]}),
    );
    assert!(march.get("kind").is_none(), "{march}");
    call(&t, &bob, "approve-run", json!({"id": march["id"]}));
    let march_slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": march["id"], "employee": "US1"}),
    );
    let march_fit = lines(&march_slip["payslip"])["us-fit"];

    // A $5,000.00 bonus paid on 15 April, off-cycle.
    let mut input = monthly("2026-04-01", "2026-04-30", "2026-04-15");
    input["kind"] = json!("bonus");
    input["bonuses"] = json!({"US1": 500_000});
    input["description"] = json!("Q1 bonus");
    let bonus = call(&t, &alice, "create-run", input);
    assert_eq!(bonus["kind"], "bonus", "{bonus}");
    assert_eq!(bonus["status"], "draft");
    assert_eq!(bonus["totals"]["USD"]["employees"], 1);
    assert_eq!(bonus["totals"]["USD"]["gross"], 500_000);
    let slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": bonus["id"], "employee": "US1"}),
    );
    assert_eq!(slip["kind"], "bonus", "{slip}");
    // Pub. 15 (2026) section 7, optional flat rate: 22% of $5,000.00 = $1,100.00.
    // Social Security 6.2% = $310.00 and Medicare 1.45% = $72.50, employee and
    // employer each (the wage base of $184,500 and the $200,000 Additional Medicare
    // threshold are far); no FUTA: March's $10,000 used the $7,000 base.
    let want = BTreeMap::from([
        ("us-fit".to_string(), 110_000),
        ("us-social-security".to_string(), 31_000),
        ("us-medicare".to_string(), 7_250),
        ("us-social-security-employer".to_string(), 31_000),
        ("us-medicare-employer".to_string(), 7_250),
    ]);
    assert_eq!(lines(&slip["payslip"]), want);
    assert_eq!(slip["payslip"]["net"], 500_000 - 110_000 - 31_000 - 7_250);
    let text = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": bonus["id"], "employee": "US1", "format": "text"}),
    );
    assert!(
        text["text"].as_str().unwrap().starts_with("BONUS PAYSLIP"),
        "{text}"
    );
    // The what-if calculator gives the same payslip with "payment": "bonus" and
    // March's year-to-date figures.
    let ytd_march = call(&t, &alice, "get-ytd", json!({"employee": "US1"}));
    let what_if = call(
        &t,
        &alice,
        "calculate-payslip",
        json!({"country": "US", "pay-date": "2026-04-15", "frequency": "monthly",
               "gross": 500_000, "currency": "USD",
               "ytd": ytd_march["years"][0]["figures"],
               "profile": {"filing-status": "single", "payment": "bonus"}}),
    );
    super::same_payslip(&slip, &what_if);

    // The creator may not approve; a second person does, posting one entry.
    let (posted, entry, _) = approve_by_second_person(&t, &alice, &bob, &bonus["id"]);
    assert_eq!(posted["kind"], "bonus");
    assert!(
        entry["description"]
            .as_str()
            .unwrap()
            .starts_with("Bonus payroll"),
        "{entry}"
    );
    let mut by_account: BTreeMap<String, i64> = BTreeMap::new();
    for p in entry["postings"].as_array().unwrap() {
        *by_account
            .entry(p["account"].as_str().unwrap().to_string())
            .or_insert(0) += p["amount"].as_i64().unwrap();
    }
    assert_eq!(
        by_account,
        BTreeMap::from([
            ("expenses:payroll:wages".to_string(), 500_000),
            (
                "expenses:payroll:employer-contributions".to_string(),
                31_000 + 7_250
            ),
            (
                "liabilities:payroll:irs".to_string(),
                -(110_000 + 2 * (31_000 + 7_250))
            ),
            ("liabilities:payroll:net-pay".to_string(), -351_750),
        ])
    );
    let trial = t
        .call("acme", "ledger", "trial-balance", json!({}))
        .unwrap();
    assert_eq!(trial["balanced"], true, "{trial}");

    // The year to date now holds March and the bonus.
    let ytd = call(&t, &alice, "get-ytd", json!({"employee": "US1"}));
    let figures = &ytd["years"][0]["figures"];
    assert_eq!(ytd["years"][0]["run"], bonus["id"], "{ytd}");
    assert_eq!(figures["gross"], 1_500_000, "{ytd}");
    assert_eq!(figures["supplemental-wages"], 500_000, "{ytd}");
    assert_eq!(figures["social-security-wages"], 1_500_000, "{ytd}");
    assert_eq!(figures["fit"], march_fit + 110_000, "{ytd}");

    // April's regular run overlaps the bonus run (allowed: it is off-cycle); its
    // regular withholding is March's, and its year to date includes the bonus.
    let april = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-04-01", "period-end": "2026-04-30",
               "pay-date": "2026-04-30", "employees": ["US1"]}),
    );
    let april_slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": april["id"], "employee": "US1"}),
    );
    assert!(april_slip.get("kind").is_none(), "{april_slip}");
    let p = &april_slip["payslip"];
    assert_eq!(lines(p)["us-fit"], march_fit);
    assert_eq!(p["ytd"]["gross"], 2_500_000, "{p}");
    assert_eq!(p["ytd"]["medicare-wages"], 2_500_000, "{p}");
    assert_eq!(p["ytd"]["social-security-wages"], 2_500_000, "{p}");
    assert_eq!(p["ytd"]["supplemental-wages"], 500_000, "{p}");
    assert_eq!(p["ytd"]["fit"], 2 * march_fit + 110_000, "{p}");
    call(&t, &bob, "approve-run", json!({"id": april["id"]}));
}

#[test]
fn bad_bonus_runs_are_refused_and_nothing_is_written() {
    let t = host();
    let alice = clerk("alice");
    call(&t, &alice, "setup-ledger", json!({}));
    hire(&t, &alice);
    let bonus_run = |bonuses: serde_json::Value| {
        let mut input = monthly("2026-04-01", "2026-04-30", "2026-04-30");
        input["kind"] = json!("bonus");
        input["bonuses"] = bonuses;
        input
    };
    fails(
        &t,
        &alice,
        "create-run",
        bonus_run(json!({"US1": -50_000})),
        400,
        &["bonus of US1 is -50000", "positive whole number"],
    );
    fails(
        &t,
        &alice,
        "create-run",
        bonus_run(json!({"US1": 0})),
        400,
        &["bonus of US1 is 0"],
    );
    fails(
        &t,
        &alice,
        "create-run",
        bonus_run(json!({"US1": 100_000, "NOBODY": 100_000})),
        404,
        &["employee NOBODY does not exist"],
    );
    // A bonus the UK rules cannot compute (an employee repaying a student loan):
    // the whole run is refused, even next to a US bonus.
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
        bonus_run(json!({"US1": 100_000, "GB2": 100_000})),
        400,
        &[
            "GB2",
            "does not compute bonuses with student or postgraduate loans",
        ],
    );
    fails(
        &t,
        &alice,
        "create-run",
        bonus_run(json!({})),
        400,
        &["a bonus run needs bonuses"],
    );
    let mut regular_with_bonuses = monthly("2026-04-01", "2026-04-30", "2026-04-30");
    regular_with_bonuses["bonuses"] = json!({"US1": 100_000});
    fails(
        &t,
        &alice,
        "create-run",
        regular_with_bonuses,
        400,
        &["\"kind\": \"bonus\""],
    );
    // The payment kind is per payment, never stored with the employee.
    fails(
        &t,
        &alice,
        "set-employee",
        json!({"id": "US2", "name": "Bonus Profile", "country": "US", "frequency": "monthly",
               "salary": 6_000_000, "start-date": "2026-01-01",
               "profile": {"payment": "bonus"}}),
        400,
        &["profile payment is set per payment"],
    );
    nothing_was_paid(&t, &alice);
    // No run number was used up by the refusals.
    let ok = call(&t, &alice, "create-run", bonus_run(json!({"US1": 100_000})));
    assert_eq!(ok["id"], "r-000001", "{ok}");
}
