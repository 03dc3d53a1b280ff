//! The deductions of issue 22 through the real host: UK student and postgraduate
//! loans and workplace pensions, German Midijobs, Minijobs and Umlagen. Employees of
//! each kind are hired, paid in a month's run, approved by a second person and
//! posted to the ledger; bad input is refused and writes nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{call, clerk, fails, host, lines, nothing_was_paid};
use backoffice_tests::TestHost;

fn hire(
    t: &TestHost,
    who: &backoffice_host::auth::Principal,
    id: &str,
    country: &str,
    salary: i64,
    start: &str,
    profile: Value,
) {
    call(
        t,
        who,
        "set-employee",
        json!({"id": id, "name": format!("Employee {id}"), "country": country,
               "frequency": "monthly", "salary": salary, "start-date": start,
               "profile": profile}),
    );
}

fn payslip_lines(
    t: &TestHost,
    who: &backoffice_host::auth::Principal,
    run: &Value,
    employee: &str,
) -> (BTreeMap<String, i64>, i64) {
    let slip = call(
        t,
        who,
        "get-payslip",
        json!({"run": run["id"], "employee": employee}),
    );
    (
        lines(&slip["payslip"]),
        slip["payslip"]["net"].as_i64().unwrap(),
    )
}

/// Approve `run` as bob and return the entry's postings per account (one currency).
fn approve_and_post(t: &TestHost, run: &Value) -> BTreeMap<String, i64> {
    let bob = clerk("bob");
    let posted = call(t, &bob, "approve-run", json!({"id": run["id"]}));
    assert_eq!(posted["status"], "posted", "{posted}");
    let entry = t
        .call(
            "acme",
            "ledger",
            "get-entry",
            json!({"id": posted["ledger-entry"]}),
        )
        .unwrap();
    let mut by_account = BTreeMap::new();
    for p in entry["postings"].as_array().unwrap() {
        *by_account
            .entry(p["account"].as_str().unwrap().to_string())
            .or_insert(0) += p["amount"].as_i64().unwrap();
    }
    assert_eq!(by_account.values().sum::<i64>(), 0, "{by_account:?}");
    let trial = t
        .call("acme", "ledger", "trial-balance", json!({}))
        .unwrap();
    assert_eq!(trial["balanced"], true, "{trial}");
    by_account
}

#[test]
fn uk_loans_and_pensions_are_paid_and_posted() {
    let t = host();
    let alice = clerk("alice");
    let setup = call(&t, &alice, "setup-ledger", json!({}));
    assert!(
        setup["created"]
            .as_array()
            .unwrap()
            .contains(&json!("liabilities:payroll:pension-scheme")),
        "{setup}"
    );
    // £36,000 a year: £3,000 a month.
    hire(
        &t,
        &alice,
        "GBL",
        "GB",
        3_600_000,
        "2026-04-01",
        json!({
        "tax-code": "1257L", "student-loan-plans": ["plan-2"], "postgraduate-loan": true,
        "pension": {"scheme": "net-pay", "employee-percent": "5", "employer-percent": "3"}}),
    );
    hire(
        &t,
        &alice,
        "GBS",
        "GB",
        3_600_000,
        "2026-04-01",
        json!({
        "tax-code": "1257L", "student-loan-plans": ["plan-2"],
        "pension": {"scheme": "salary-sacrifice", "employee-percent": "5", "employer-percent": "3"}}),
    );
    let run = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly",
        "period-start": "2026-04-01", "period-end": "2026-04-30", "pay-date": "2026-04-30"}),
    );

    // Net pay arrangement: PAYE on £2,876; NI and both loans on the whole £3,000.
    let (got, net) = payslip_lines(&t, &alice, &run, "GBL");
    let want = BTreeMap::from([
        ("gb-paye".to_string(), 36_540),
        ("gb-ni-employee".to_string(), 15_616),
        ("gb-student-loan".to_string(), 4_900),
        ("gb-postgraduate-loan".to_string(), 7_500),
        ("gb-pension-employee".to_string(), 12_400),
        ("gb-ni-employer".to_string(), 38_745),
        ("gb-pension-employer".to_string(), 7_440),
    ]);
    assert_eq!(got, want);
    assert_eq!(net, 300_000 - 36_540 - 15_616 - 4_900 - 7_500 - 12_400);
    // Salary sacrifice: the fixture case "2026-27 monthly 3000, salary sacrifice 5% + 3% with Plan 2".
    let (got, net) = payslip_lines(&t, &alice, &run, "GBS");
    assert_eq!(got["gb-salary-sacrifice"], 12_400);
    assert_eq!(got["gb-student-loan"], 3_800);
    assert_eq!(got["gb-ni-employee"], 14_624);
    assert_eq!(net, 232_636);

    let posted = approve_and_post(&t, &run);
    // Both pensions to the scheme; PAYE, NI and loans to HMRC.
    assert_eq!(
        posted["liabilities:payroll:pension-scheme"],
        -(12_400 + 7_440) * 2
    );
    assert_eq!(
        posted["liabilities:payroll:hmrc"],
        -(36_540 + 15_616 + 4_900 + 7_500 + 38_745) - (36_540 + 14_624 + 3_800 + 36_885)
    );
    assert_eq!(posted["expenses:payroll:wages"], 600_000);
    // The loan and pension totals carry into the employee's year to date.
    let ytd = call(&t, &alice, "get-ytd", json!({"employee": "GBL"}));
    let figures = &ytd["years"][0]["figures"];
    assert_eq!(figures["student-loan"], 4_900, "{ytd}");
    assert_eq!(figures["pension-employee"], 12_400, "{ytd}");
    assert_eq!(figures["taxable-pay"], 287_600, "{ytd}");
}

#[test]
fn german_midijob_and_minijob_are_paid_and_posted() {
    let t = host();
    let alice = clerk("alice");
    let setup = call(&t, &alice, "setup-ledger", json!({}));
    assert!(
        setup["created"]
            .as_array()
            .unwrap()
            .contains(&json!("liabilities:payroll:minijob-zentrale")),
        "{setup}"
    );
    // 1,000 EUR a month in the Übergangsbereich; 603 EUR a month, the 2026 Minijob limit.
    hire(
        &t,
        &alice,
        "DEM",
        "DE",
        1_200_000,
        "2026-01-01",
        json!({
        "steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9",
        "beschaeftigung": "midijob", "umlagen": {"u1": "2.8", "u2": "0.5"}}),
    );
    hire(
        &t,
        &alice,
        "DEJ",
        "DE",
        723_600,
        "2026-01-01",
        json!({
        "bundesland": "BE", "beschaeftigung": "minijob"}),
    );
    let run = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly",
        "period-start": "2026-03-01", "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
    );

    // The fixture cases "2026 Midijob 1000 NW with Umlagen" and "2026 Minijob 603 at the limit".
    let (midi, midi_net) = payslip_lines(&t, &alice, &run, "DEM");
    assert_eq!(midi["de-rv-an"], 5_286);
    assert_eq!(midi["de-rv-ag"], 10_600);
    assert_eq!(midi["de-u3"], 150);
    assert_eq!(midi_net, 100_000 - 4_973 - 1_023 - 5_286 - 739);
    let (mini, mini_net) = payslip_lines(&t, &alice, &run, "DEJ");
    let want = BTreeMap::from([
        ("de-minijob-rv-an".to_string(), 2_171),
        ("de-minijob-kv-ag".to_string(), 7_839),
        ("de-minijob-rv-ag".to_string(), 9_045),
        ("de-minijob-pauschsteuer".to_string(), 1_206),
        ("de-minijob-u1".to_string(), 482),
        ("de-minijob-u2".to_string(), 133),
        ("de-minijob-u3".to_string(), 90),
    ]);
    assert_eq!(mini, want);
    assert_eq!(mini_net, 60_300 - 2_171);

    let posted = approve_and_post(&t, &run);
    // Everything of the Minijob to the Minijob-Zentrale; the Midijob's contributions
    // and Umlagen to the Krankenkasse; no Lohnsteuer for either.
    assert_eq!(
        posted["liabilities:payroll:minijob-zentrale"],
        -want.values().sum::<i64>()
    );
    let midi_total: i64 = midi.values().sum();
    assert_eq!(posted["liabilities:payroll:krankenkasse"], -midi_total);
    assert!(
        !posted.contains_key("liabilities:payroll:finanzamt"),
        "{posted:?}"
    );
}

#[test]
fn bad_deductions_are_refused_and_nothing_is_written() {
    let t = host();
    let alice = clerk("alice");
    call(&t, &alice, "setup-ledger", json!({}));
    // A loan plan that does not exist.
    fails(
        &t,
        &alice,
        "set-employee",
        json!({"id": "BAD1", "name": "Bad Plan", "country": "GB", "frequency": "monthly",
               "salary": 3_600_000, "start-date": "2026-04-01",
               "profile": {"tax-code": "1257L", "student-loan-plans": ["plan-3"]}}),
        400,
        &[
            "employee BAD1",
            "\"plan-3\" is not a student loan plan",
            "plan-1, plan-2, plan-4, plan-5",
        ],
    );
    fails(
        &t,
        &alice,
        "get-employee",
        json!({"id": "BAD1"}),
        404,
        &["BAD1"],
    );

    // A pension contribution above the pay: the record is valid (no pay, no
    // deduction), the run is refused and nothing is drafted.
    hire(
        &t,
        &alice,
        "BAD2",
        "GB",
        1_200_000,
        "2026-04-01",
        json!({
        "tax-code": "1257L", "pension": {"scheme": "net-pay", "employee-amount": 150_000}}),
    );
    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-04-01",
               "period-end": "2026-04-30", "pay-date": "2026-04-30"}),
        400,
        &[
            "employee BAD2",
            "employee contribution of £1,500.00 is more than the pay of the period, £1,000.00",
        ],
    );
    nothing_was_paid(&t, &alice);

    // A Minijob paid above the limit.
    hire(
        &t,
        &alice,
        "BAD3",
        "DE",
        840_000,
        "2026-01-01",
        json!({
        "bundesland": "BE", "beschaeftigung": "minijob"}),
    );
    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-31", "pay-date": "2026-03-31", "employees": ["BAD3"]}),
        400,
        &[
            "employee BAD3",
            "700.00 EUR for a monthly period is above the Minijob limit",
            "603.00 EUR a month in 2026",
            "\"midijob\"",
        ],
    );
    nothing_was_paid(&t, &alice);
}
