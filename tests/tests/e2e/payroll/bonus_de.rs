//! German bonus runs through the real host (issue 22, item 1): a sonstiger Bezug
//! taxed by the PAP's annual-table method (MSONST) with the voraussichtlicher
//! Jahresarbeitslohn extrapolated from the year to date, social insurance up to the
//! anteilige Jahres-BBG (§ 23a SGB IV), approved by a second person, posted to the
//! ledger and counted in the next regular run's year to date; a bonus with no regular
//! pay on record is refused and writes nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{approve_by_second_person, call, clerk, fails, hire, host, lines, nothing_was_paid};

fn regular(t: &backoffice_tests::TestHost, month: &str, last: &str) -> Value {
    let alice = clerk("alice");
    let run = call(
        t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": format!("2026-{month}-01"),
               "period-end": format!("2026-{month}-{last}"),
               "pay-date": format!("2026-{month}-{last}"), "employees": ["DE1"]}),
    );
    call(t, &clerk("bob"), "approve-run", json!({"id": run["id"]}));
    call(
        t,
        &alice,
        "get-payslip",
        json!({"run": run["id"], "employee": "DE1"}),
    )
}

fn april_bonus(amount: i64) -> Value {
    json!({"frequency": "monthly", "period-start": "2026-04-01", "period-end": "2026-04-30",
           "pay-date": "2026-04-30", "kind": "bonus", "bonuses": {"DE1": amount}})
}

#[test]
fn a_german_bonus_run_is_taxed_by_the_annual_table_and_posted() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(&t, &alice); // DE1: 60,000 EUR a year (5,000.00 a month), Steuerklasse I, KVZ 2.5 %, kinderlos.

    // March and April: regular runs, approved (60 Sozialversicherungstage).
    let march = regular(&t, "03", "31");
    let march_lst = lines(&march["payslip"])["de-lohnsteuer"];
    regular(&t, "04", "30");

    // A 5,000.00 EUR bonus with April's pay.
    let bonus = call(&t, &alice, "create-run", april_bonus(500_000));
    assert_eq!(bonus["kind"], "bonus", "{bonus}");
    assert_eq!(bonus["totals"]["EUR"]["gross"], 500_000, "{bonus}");
    let slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": bonus["id"], "employee": "DE1"}),
    );
    assert_eq!(slip["kind"], "bonus", "{slip}");
    // JRE4 = 10,000 EUR paid + 10,000 × 240 / 60 days expected = 50,000 EUR. PAP 2026
    // MSONST, hand-computed (not an official BMF figure): on 50,000 EUR VSP 4,650 +
    // 5,325 = 9,975, ZVE 38,759, ST 6,819; on 55,000 EUR VSP 5,115 + 5,857.50 ->
    // 10,973, ZVE 42,761, ST 8,096; STS 1,277.00 EUR, under the Soli-Freigrenze.
    // § 23a SGB IV for 60 days: of the KV/PV share (11,625.00 EUR) 1,625.00 are left
    // after 2 × 5,000.00: KV 8.55 % = 138.94 each side, PV 2.4 % = 39.00 (employer
    // 1.8 % = 29.25); the RV/AV share (16,900.00 EUR) takes the whole bonus: RV 465.00,
    // AV 65.00 each side.
    let want = BTreeMap::from([
        ("de-lohnsteuer".to_string(), 127_700),
        ("de-kv-an".to_string(), 13_894),
        ("de-pv-an".to_string(), 3_900),
        ("de-rv-an".to_string(), 46_500),
        ("de-av-an".to_string(), 6_500),
        ("de-kv-ag".to_string(), 13_894),
        ("de-pv-ag".to_string(), 2_925),
        ("de-rv-ag".to_string(), 46_500),
        ("de-av-ag".to_string(), 6_500),
    ]);
    assert_eq!(lines(&slip["payslip"]), want, "{slip}");
    let employee_sv = 13_894 + 3_900 + 46_500 + 6_500;
    let employer_sv = 13_894 + 2_925 + 46_500 + 6_500;
    let net = 500_000 - 127_700 - employee_sv;
    assert_eq!(slip["payslip"]["net"], net);
    // The what-if calculator with April's year to date and "payment": "bonus" agrees.
    let ytd_april = call(&t, &alice, "get-ytd", json!({"employee": "DE1"}));
    let what_if = call(
        &t,
        &alice,
        "calculate-payslip",
        json!({"country": "DE", "pay-date": "2026-04-30", "frequency": "monthly",
               "gross": 500_000, "currency": "EUR",
               "ytd": ytd_april["years"][0]["figures"],
               "profile": {"steuerklasse": 1, "kirchensteuer": false, "bundesland": "NW",
                           "kv-zusatzbeitrag": "2.5", "kinderlos": true,
                           "payment": "bonus"}}),
    );
    super::same_payslip(&slip, &what_if);

    // A second person approves; one balanced entry.
    let (_, entry, by_account) = approve_by_second_person(&t, &alice, &bob, &bonus["id"]);
    assert_eq!(
        by_account,
        BTreeMap::from([
            ("expenses:payroll:wages".to_string(), 500_000),
            (
                "expenses:payroll:employer-contributions".to_string(),
                employer_sv
            ),
            ("liabilities:payroll:finanzamt".to_string(), -127_700),
            (
                "liabilities:payroll:krankenkasse".to_string(),
                -(employee_sv + employer_sv)
            ),
            ("liabilities:payroll:net-pay".to_string(), -net),
        ]),
        "{entry}"
    );
    let trial = t
        .call("acme", "ledger", "trial-balance", json!({}))
        .unwrap();
    assert_eq!(trial["balanced"], true, "{trial}");

    // May's regular run: the same regular Lohnsteuer as March, and a year to date
    // that includes the bonus.
    let may = regular(&t, "05", "31");
    let p = &may["payslip"];
    assert_eq!(lines(p)["de-lohnsteuer"], march_lst);
    assert_eq!(p["ytd"]["gross"], 4 * 500_000, "{p}");
    assert_eq!(p["ytd"]["laufend-gross"], 3 * 500_000, "{p}");
    assert_eq!(p["ytd"]["sonstige-bezuege"], 500_000, "{p}");
    assert_eq!(p["ytd"]["sv-tage"], 90, "{p}");
    assert_eq!(p["ytd"]["kv-entgelt"], 1_162_500 + 500_000, "{p}");
    assert_eq!(p["ytd"]["rv-entgelt"], 4 * 500_000, "{p}");
    assert_eq!(p["ytd"]["lohnsteuer"], 3 * march_lst + 127_700, "{p}");
    assert_eq!(p["ytd"]["rv-an"], 4 * 46_500, "{p}");
}

#[test]
fn a_german_bonus_without_regular_pay_is_refused() {
    let t = host();
    let alice = clerk("alice");
    call(&t, &alice, "setup-ledger", json!({}));
    hire(&t, &alice);
    fails(
        &t,
        &alice,
        "create-run",
        april_bonus(500_000),
        400,
        &[
            "no regular pay is on record for 2026",
            "after the employee's first regular run",
        ],
    );
    nothing_was_paid(&t, &alice);
}
