//! The US part of issue 22 through the real host: a traditional 401(k), a section
//! 125 deduction, Pennsylvania withholding, FUTA and the employer's SUTA from the
//! payroll settings, paid in a month's run, approved by a second person and posted
//! to the ledger; an unsupported state, a 401(k) above the pay and a deferral beyond
//! the annual limit are refused and write nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{approve_by_second_person, call, clerk, fails, host, lines, nothing_was_paid};
use backoffice_tests::TestHost;

fn hire(t: &TestHost, id: &str, salary: i64, profile: Value) -> Value {
    t.call_as(
        "acme",
        "payroll",
        "set-employee",
        json!({"id": id, "name": format!("Employee {id}"), "country": "US",
               "frequency": "monthly", "salary": salary, "start-date": "2026-01-01",
               "profile": profile}),
        &clerk("alice"),
    )
    .unwrap_or_else(|e| panic!("set-employee {id}: {e}"))
}

/// The settings with the employer's Pennsylvania SUTA rate (an example rate).
fn with_pa_suta(t: &TestHost) {
    let alice = clerk("alice");
    let mut settings = call(t, &alice, "get-settings", json!({}));
    settings["employer"] =
        json!({"US": {"suta": {"PA": {"rate": "3.822", "wage-base": 1_000_000}}}});
    call(t, &alice, "set-settings", settings);
}

#[test]
fn us_401k_section_125_pa_futa_and_suta_are_paid_and_posted() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    with_pa_suta(&t);
    let setup = call(&t, &alice, "setup-ledger", json!({}));
    for account in [
        "liabilities:payroll:401k-plan",
        "liabilities:payroll:section-125-plan",
        "liabilities:payroll:pa-revenue",
        "liabilities:payroll:pa-unemployment",
    ] {
        assert!(
            setup["created"]
                .as_array()
                .unwrap()
                .contains(&json!(account)),
            "{account}: {setup}"
        );
    }
    // $72,000 a year: $6,000 a month, as the fixture case "2026 PA monthly 6000 with
    // 401k, section 125 and SUTA" (which gives the SUTA set-up inline).
    hire(
        &t,
        "USP",
        7_200_000,
        json!({"filing-status": "single", "401k": 50_000, "section-125": 20_000, "state": "PA"}),
    );
    // A Texas employee: no state income tax, no SUTA set up for TX.
    hire(&t, "UST", 6_000_000, json!({"state": "TX"}));
    let run = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
    );
    let slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": run["id"], "employee": "USP"}),
    );
    let want = BTreeMap::from([
        ("us-401k".to_string(), 50_000),
        ("us-section-125".to_string(), 20_000),
        ("us-fit".to_string(), 45_433),
        ("us-pa-income-tax".to_string(), 17_806),
        ("us-social-security".to_string(), 35_960),
        ("us-medicare".to_string(), 8_410),
        ("us-social-security-employer".to_string(), 35_960),
        ("us-medicare-employer".to_string(), 8_410),
        ("us-futa".to_string(), 3_480),
        ("us-suta-pa".to_string(), 22_168),
    ]);
    assert_eq!(lines(&slip["payslip"]), want);
    assert_eq!(slip["payslip"]["net"], 422_391);
    // The stored payslip is what the what-if calculator gives (with the settings'
    // employer part added to the profile in both).
    let what_if = call(
        &t,
        &alice,
        "calculate-payslip",
        json!({"country": "US", "pay-date": "2026-03-31", "frequency": "monthly",
               "gross": 600_000, "currency": "USD", "ytd": {},
               "profile": {"filing-status": "single", "401k": 50_000, "section-125": 20_000, "state": "PA"}}),
    );
    super::same_payslip(&slip, &what_if);
    let texas = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": run["id"], "employee": "UST"}),
    );
    let tx = lines(&texas["payslip"]);
    assert_eq!(tx["us-futa"], 3_000);
    assert!(
        tx.keys()
            .all(|c| !c.starts_with("us-suta") && !c.ends_with("income-tax")),
        "{tx:?}"
    );

    let (_, _, by_account) = approve_by_second_person(&t, &alice, &bob, &run["id"]);
    assert_eq!(by_account.values().sum::<i64>(), 0, "{by_account:?}");
    let trial = t
        .call("acme", "ledger", "trial-balance", json!({}))
        .unwrap();
    assert_eq!(trial["balanced"], true, "{trial}");
    // The deductions to the plans, PA tax to the PA Department of Revenue, SUTA to
    // the PA unemployment fund; FIT, FICA and FUTA to the IRS.
    assert_eq!(by_account["liabilities:payroll:401k-plan"], -50_000);
    assert_eq!(by_account["liabilities:payroll:section-125-plan"], -20_000);
    assert_eq!(by_account["liabilities:payroll:pa-revenue"], -17_806);
    assert_eq!(by_account["liabilities:payroll:pa-unemployment"], -22_168);
    let irs_pa = 45_433 + (35_960 + 8_410) * 2 + 3_480;
    let irs_tx: i64 = tx.values().sum();
    assert_eq!(by_account["liabilities:payroll:irs"], -(irs_pa + irs_tx));
    assert_eq!(by_account["expenses:payroll:wages"], 1_100_000);
    assert_eq!(
        by_account["expenses:payroll:employer-contributions"],
        (35_960 + 8_410 + 3_480 + 22_168)
            + tx["us-social-security-employer"]
            + tx["us-medicare-employer"]
            + tx["us-futa"]
    );
    // The year to date carries the deferral, the wage bases and the state figures.
    let ytd = call(&t, &alice, "get-ytd", json!({"employee": "USP"}));
    let figures = &ytd["years"][0]["figures"];
    assert_eq!(figures["401k"], 50_000, "{ytd}");
    assert_eq!(figures["fit-wages"], 530_000, "{ytd}");
    assert_eq!(figures["medicare-wages"], 580_000, "{ytd}");
    assert_eq!(figures["futa-wages"], 580_000, "{ytd}");
    assert_eq!(figures["suta-wages"], 580_000, "{ytd}");
    assert_eq!(figures["state-tax"], 17_806, "{ytd}");

    // April continues from March: FUTA stops at $7,000 and SUTA at the $10,000 base
    // (the fixture case "2026 PA second month: FUTA and SUTA bases reached").
    let april = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-04-01",
               "period-end": "2026-04-30", "pay-date": "2026-04-30", "employees": ["USP"]}),
    );
    let slip = call(
        &t,
        &alice,
        "get-payslip",
        json!({"run": april["id"], "employee": "USP"}),
    );
    let got = lines(&slip["payslip"]);
    assert_eq!(got["us-futa"], 720);
    assert_eq!(got["us-suta-pa"], 16_052);
}

#[test]
fn bad_us_input_is_refused_and_nothing_is_written() {
    let t = host();
    let alice = clerk("alice");
    call(&t, &alice, "setup-ledger", json!({}));
    // A state the plugin does not cover: the error names the supported ones.
    fails(
        &t,
        &alice,
        "set-employee",
        json!({"id": "BADS", "name": "Bad State", "country": "US", "frequency": "monthly",
               "salary": 6_000_000, "start-date": "2026-01-01",
               "profile": {"state": "OR"}}),
        400,
        &[
            "employee BADS",
            "profile state \"OR\" is not supported",
            "IL, PA (income tax withheld)",
            "AK, FL, NV, NH, SD, TN, TX, WA, WY (no state income tax on wages)",
        ],
    );
    fails(
        &t,
        &alice,
        "get-employee",
        json!({"id": "BADS"}),
        404,
        &["BADS"],
    );
    // California and New York have a wage income tax that payroll-us does not
    // withhold yet: refused with the reason and the publication that is missing.
    for (id, st, why) in [
        (
            "BADCA",
            "CA",
            "EDD DE 44 California Withholding Schedules, Method B",
        ),
        ("BADNY", "NY", "NYS-50-T-NYS"),
    ] {
        fails(
            &t,
            &alice,
            "set-employee",
            json!({"id": id, "name": "Not Yet", "country": "US", "frequency": "monthly",
                   "salary": 6_000_000, "start-date": "2026-01-01",
                   "profile": {"state": st}}),
            400,
            &[
                &format!("employee {id}"),
                &format!("profile state \"{st}\""),
                why,
                "not implemented in payroll-us",
                "IL, PA (income tax withheld)",
            ],
        );
        fails(&t, &alice, "get-employee", json!({"id": id}), 404, &[id]);
    }
    // A SUTA set-up for a state the plugin does not cover is refused by set-settings.
    let mut settings = call(&t, &alice, "get-settings", json!({}));
    settings["employer"] = json!({"US": {"suta": {"CA": {"rate": "3.4", "wage-base": 700_000}}}});
    fails(
        &t,
        &alice,
        "set-settings",
        settings,
        400,
        &["employer.US", "employer.suta", "\"CA\""],
    );
    assert_eq!(
        call(&t, &alice, "get-settings", json!({}))["employer"],
        json!({})
    );

    // A 401(k) above the pay: the record is valid (no pay, no deduction), the run
    // is refused and nothing is drafted.
    hire(
        &t,
        "BADK",
        1_200_000,
        json!({"401k": 150_000, "state": "PA"}),
    );
    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
        400,
        &[
            "employee BADK",
            "profile 401k ($1,500.00)",
            "above the pay of the period ($1,000.00)",
        ],
    );
    nothing_was_paid(&t, &alice);

    // A deferral beyond the 2026 limit of $24,500 (IRS Notice 2025-67).
    hire(
        &t,
        "BADL",
        60_000_000,
        json!({"401k": 2_500_000, "state": "TX"}),
    );
    fails(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-31", "pay-date": "2026-03-31", "employees": ["BADL"]}),
        400,
        &[
            "employee BADL",
            "above the limit of $24,500.00 (IRS Notice 2025-67",
            "at most $24,500.00 may be deferred",
        ],
    );
    nothing_was_paid(&t, &alice);
}
