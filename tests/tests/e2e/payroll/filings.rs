//! Payroll filings through the real host (issue 22, item 6): runs of each country
//! approved by a second person, then the US Form 941 and W-2, the UK RTI Full
//! Payment Submission and the German Lohnsteuer-Anmeldung, each checked against the
//! sums of the payslips as `get-payslip` returns them; and the refusals (no approved
//! run in the period, a run or period without employees of the country, a draft,
//! an unknown run).

use std::collections::BTreeMap;

use backoffice_host::auth::Principal;
use backoffice_tests::{TestHost, user};
use serde_json::{Value, json};

use super::{call, clerk, fails, host};

fn hire(t: &TestHost, who: &Principal, id: &str, country: &str, salary: i64, profile: Value) {
    call(
        t,
        who,
        "set-employee",
        json!({"id": id, "name": format!("Employee {id}"), "country": country,
               "frequency": "monthly", "salary": salary, "start-date": "2025-12-01",
               "profile": profile}),
    );
}

/// A monthly run of `month` (`2026-01`) created by `alice`, approved by `bob`
/// unless `draft`; its id.
fn month_run(t: &TestHost, alice: &Principal, bob: &Principal, month: &str, draft: bool) -> String {
    let (y, m): (u16, u8) = (month[..4].parse().unwrap(), month[5..].parse().unwrap());
    let last = match m {
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let end = format!("{y}-{m:02}-{last}");
    let run = call(
        t,
        alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": format!("{month}-01"),
               "period-end": end, "pay-date": end}),
    );
    let id = run["id"].as_str().unwrap().to_string();
    if !draft {
        call(t, bob, "approve-run", json!({"id": id}));
    }
    id
}

/// Every payslip of a run, by employee, as `get-payslip` returns it.
fn payslips(t: &TestHost, who: &Principal, run: &str) -> BTreeMap<String, Value> {
    let page = call(t, who, "list-payslips", json!({"run": run}));
    page["payslips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let id = row["employee"].as_str().unwrap();
            let slip = call(t, who, "get-payslip", json!({"run": run, "employee": id}));
            (id.to_string(), slip["payslip"].clone())
        })
        .collect()
}

/// The sum of a payslip's lines with one of `codes`.
fn line(slip: &Value, codes: &[&str]) -> i64 {
    slip["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| codes.contains(&l["code"].as_str().unwrap()))
        .map(|l| l["amount"].as_i64().unwrap())
        .sum()
}

fn ytd(slip: &Value, code: &str) -> i64 {
    slip["ytd"][code].as_i64().unwrap_or(0)
}

/// Rounded half up (the amounts are positive): `amount * num / den`.
fn rate(amount: i64, num: i64, den: i64) -> i64 {
    (2 * amount * num + den) / (2 * den)
}

/// Two US employees paid January to April 2026 (one above the social security wage
/// base and the Additional Medicare threshold, one with 401(k) and Pennsylvania
/// tax), May still a draft: Form 941 of Q1 and Q2 and the W-2 boxes equal the sums
/// of the payslips; periods without approved runs, other countries' filings and bad
/// runs are refused.
#[test]
fn form_941_and_w2_are_the_sums_of_the_us_payslips() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(
        &t,
        &alice,
        "U1",
        "US",
        9_000_000,
        json!({"filing-status": "single", "401k": 50_000, "state": "PA"}),
    );
    hire(
        &t,
        &alice,
        "U2",
        "US",
        300_000_000,
        json!({"filing-status": "married-filing-jointly", "state": "TX"}),
    );
    // Nothing approved yet: refused, naming the draft left out.
    let jan = month_run(&t, &alice, &bob, "2026-01", true);
    fails(
        &t,
        &alice,
        "form-941",
        json!({"year": 2026, "quarter": 1}),
        404,
        &[
            "no approved pay run",
            "2026-Q1",
            jan.as_str(),
            "approve-run",
        ],
    );
    call(&t, &bob, "approve-run", json!({"id": jan}));
    let mut runs = vec![jan];
    for month in ["2026-02", "2026-03", "2026-04"] {
        runs.push(month_run(&t, &alice, &bob, month, false));
    }
    let may = month_run(&t, &alice, &bob, "2026-05", true);
    let slips: Vec<BTreeMap<String, Value>> =
        runs.iter().map(|r| payslips(&t, &alice, r)).collect();

    // Each payslip's own part of a year-to-date figure: after minus the previous
    // payslip's (January starts the year at zero).
    let period = |i: usize, emp: &str, code: &str| {
        ytd(&slips[i][emp], code)
            - if i == 0 {
                0
            } else {
                ytd(&slips[i - 1][emp], code)
            }
    };
    let above = |v: i64| (v - 20_000_000).max(0);
    for (quarter, months) in [(1, 0..3), (2, 3..4)] {
        let got = call(
            &t,
            &alice,
            "form-941",
            json!({"year": 2026, "quarter": quarter}),
        );
        let l = &got["lines"];
        let sum = |f: &dyn Fn(usize, &str) -> i64| -> i64 {
            months
                .clone()
                .flat_map(|i| ["U1", "U2"].map(|e| f(i, e)))
                .sum()
        };
        let wages = sum(&|i, e| period(i, e, "fit-wages"));
        let fit = sum(&|i, e| line(&slips[i][e], &["us-fit"]));
        let ss = sum(&|i, e| period(i, e, "social-security-wages"));
        let medicare = sum(&|i, e| period(i, e, "medicare-wages"));
        let additional = sum(&|i, e| {
            above(ytd(&slips[i][e], "medicare-wages"))
                - if i == 0 {
                    0
                } else {
                    above(ytd(&slips[i - 1][e], "medicare-wages"))
                }
        });
        let withheld = sum(&|i, e| {
            line(
                &slips[i][e],
                &[
                    "us-social-security",
                    "us-medicare",
                    "us-additional-medicare",
                ],
            )
        });
        let employer = sum(&|i, e| {
            line(
                &slips[i][e],
                &["us-social-security-employer", "us-medicare-employer"],
            )
        });
        // Paid for the period including March 12; nobody yet for June 12.
        assert_eq!(l["1"], if quarter == 1 { 2 } else { 0 }, "{got}");
        assert_eq!(l["2"], wages, "{got}");
        assert_eq!(l["3"], fit, "{got}");
        assert_eq!(
            l["5a"],
            json!({"column-1": ss, "column-2": rate(ss, 124, 1000)})
        );
        assert_eq!(l["5b"], json!({"column-1": 0, "column-2": 0}));
        assert_eq!(
            l["5c"],
            json!({"column-1": medicare, "column-2": rate(medicare, 29, 1000)})
        );
        assert_eq!(
            l["5d"],
            json!({"column-1": additional, "column-2": rate(additional, 9, 1000)})
        );
        let e5 = rate(ss, 124, 1000) + rate(medicare, 29, 1000) + rate(additional, 9, 1000);
        assert_eq!(l["5e"], e5);
        assert_eq!(l["6"], fit + e5);
        let figured_employee = e5 - rate(ss, 62, 1000) - rate(medicare, 145, 10_000);
        assert_eq!(l["7"], withheld - figured_employee, "{got}");
        assert_eq!(l["10"], fit + e5 + withheld - figured_employee);
        assert_eq!(l["12"], l["10"]);
        assert_eq!(got["payslip-liability"], fit + withheld + employer);
        assert_eq!(got["employees"], 2);
        let want_runs: Vec<&String> = months.clone().map(|i| &runs[i]).collect();
        assert_eq!(got["runs"], json!(want_runs));
        let drafts = if quarter == 2 {
            json!([may])
        } else {
            json!([])
        };
        assert_eq!(got["drafts-not-counted"], drafts);
    }
    // U2 crossed the $184,500 wage base and the $200,000 threshold in Q1: the
    // figures above are not trivial.
    let q1 = call(&t, &alice, "form-941", json!({"year": 2026, "quarter": 1}));
    assert!(q1["lines"]["5d"]["column-1"].as_i64().unwrap() > 0, "{q1}");
    assert!(
        q1["lines"]["5a"]["column-1"].as_i64().unwrap()
            < q1["lines"]["5c"]["column-1"].as_i64().unwrap(),
        "{q1}"
    );

    // W-2 of 2026 (January to April): per employee, the sums of the payslips.
    let w2 = call(&t, &alice, "form-w2", json!({"year": 2026}));
    let got = w2["employees"].as_array().unwrap();
    assert_eq!(got.len(), 2, "{w2}");
    for (w, emp) in got.iter().zip(["U1", "U2"]) {
        let all = |f: &dyn Fn(&Value) -> i64| -> i64 { slips.iter().map(|s| f(&s[emp])).sum() };
        let last = &slips[3][emp];
        assert_eq!(w["employee"], emp);
        assert_eq!(w["box-1"], ytd(last, "fit-wages"), "{w}");
        assert_eq!(
            w["box-1"],
            all(&|s| s["gross"].as_i64().unwrap()) - all(&|s| line(s, &["us-401k"]))
        );
        assert_eq!(w["box-2"], all(&|s| line(s, &["us-fit"])));
        assert_eq!(w["box-3"], ytd(last, "social-security-wages"));
        assert_eq!(w["box-4"], all(&|s| line(s, &["us-social-security"])));
        assert_eq!(w["box-5"], ytd(last, "medicare-wages"));
        assert_eq!(
            w["box-6"],
            all(&|s| line(s, &["us-medicare", "us-additional-medicare"]))
        );
        assert_eq!(w["box-12-d"], all(&|s| line(s, &["us-401k"])));
        assert_eq!(w["runs"], json!(runs));
    }
    // Pennsylvania withholds; Texas has no income tax (no box 16/17).
    let pa_tax: i64 = slips
        .iter()
        .map(|s| line(&s["U1"], &["us-pa-income-tax"]))
        .sum();
    assert!(pa_tax > 0);
    assert_eq!(
        got[0]["states"],
        json!([{"state": "PA", "wages": ytd(&slips[3]["U1"], "state-wages"), "tax": pa_tax}])
    );
    assert_eq!(got[1]["states"], json!([]));
    let one = call(
        &t,
        &alice,
        "form-w2",
        json!({"year": 2026, "employee": "U2"}),
    );
    assert_eq!(one["employees"], json!([got[1]]));

    // Refusals.
    fails(
        &t,
        &alice,
        "form-941",
        json!({"year": 2026, "quarter": 3}),
        404,
        &["no approved pay run", "2026-Q3", "2026-07-01 to 2026-09-30"],
    );
    fails(
        &t,
        &alice,
        "form-941",
        json!({"year": 2026, "quarter": 5}),
        400,
        &["quarter"],
    );
    fails(&t, &alice, "form-w2", json!({"year": 2025}), 404, &["2025"]);
    fails(
        &t,
        &alice,
        "form-w2",
        json!({"year": 2026, "employee": "NOBODY"}),
        404,
        &["employee NOBODY has no US payslip"],
    );
    // The company pays no one in the UK or Germany.
    fails(
        &t,
        &alice,
        "rti-fps",
        json!({"run": runs[0]}),
        400,
        &["pays no employee of country GB"],
    );
    fails(
        &t,
        &alice,
        "lohnsteuer-anmeldung",
        json!({"year": 2026, "month": 1}),
        400,
        &["pay no employee of country DE", runs[0].as_str()],
    );
    fails(
        &t,
        &alice,
        "rti-fps",
        json!({"run": "r-000099"}),
        404,
        &["pay run r-000099 does not exist"],
    );
    // Reading filings needs payroll.read only, and changes nothing.
    let reader = user("carol", &["payroll.read"]);
    assert_eq!(
        call(&t, &reader, "form-941", json!({"year": 2026, "quarter": 2}))["lines"],
        call(&t, &alice, "form-941", json!({"year": 2026, "quarter": 2}))["lines"]
    );
}

/// Two UK employees (student loan; salary sacrifice pension), April and May 2026
/// approved: the FPS of May reports each one's payslip, with the pay in the period
/// and the figures to date; a draft is refused.
#[test]
fn rti_fps_reports_each_uk_payslip_of_the_run() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(
        &t,
        &alice,
        "G1",
        "GB",
        4_800_000,
        json!({"tax-code": "1257L", "ni-category": "A", "student-loan-plans": ["plan-2"]}),
    );
    hire(
        &t,
        &alice,
        "G2",
        "GB",
        3_600_000,
        json!({"tax-code": "K475", "ni-category": "M",
               "pension": {"scheme": "salary-sacrifice", "employee-percent": "5", "employer-percent": "3"}}),
    );
    let april = month_run(&t, &alice, &bob, "2026-04", false);
    let may = month_run(&t, &alice, &bob, "2026-05", false);
    let june = month_run(&t, &alice, &bob, "2026-06", true);
    let before = payslips(&t, &alice, &april);
    let slips = payslips(&t, &alice, &may);

    let fps = call(&t, &alice, "rti-fps", json!({"run": may}));
    assert_eq!(fps["tax-year"], "2026-27", "{fps}");
    assert_eq!(fps["payment-date"], "2026-05-31");
    let got = fps["employees"].as_array().unwrap();
    assert_eq!(got.len(), 2, "{fps}");
    for (e, (id, code, cat)) in got.iter().zip([("G1", "1257L", "A"), ("G2", "K475", "M")]) {
        let s = &slips[id];
        assert_eq!(e["payroll-id"], id);
        assert_eq!(e["tax-code"], code);
        assert_eq!(e["ni-category"], cat);
        assert_eq!(e["pay-frequency"], "M1");
        assert_eq!(e["period"], s["period"]);
        assert_eq!(
            e["taxable-pay-in-period"],
            ytd(s, "taxable-pay") - ytd(&before[id], "taxable-pay"),
            "{e}"
        );
        assert_eq!(e["tax-deducted"], line(s, &["gb-paye", "gb-paye-refund"]));
        assert_eq!(e["taxable-pay-to-date"], ytd(s, "taxable-pay"));
        assert_eq!(e["tax-to-date"], ytd(s, "tax"));
        assert_eq!(
            e["tax-to-date"],
            line(s, &["gb-paye", "gb-paye-refund"])
                + line(&before[id], &["gb-paye", "gb-paye-refund"])
        );
        assert_eq!(
            e["gross-earnings-for-nics-in-period"],
            s["gross"].as_i64().unwrap() - line(s, &["gb-salary-sacrifice"])
        );
        assert_eq!(e["employee-nics-in-period"], line(s, &["gb-ni-employee"]));
        assert_eq!(e["employer-nics-in-period"], line(s, &["gb-ni-employer"]));
        assert_eq!(
            e["employee-nics-year-to-date"],
            line(s, &["gb-ni-employee"]) + line(&before[id], &["gb-ni-employee"])
        );
        assert_eq!(e["student-loan-recovered"], line(s, &["gb-student-loan"]));
        assert_eq!(e["net-pay"], s["net"]);
    }
    assert!(got[0]["student-loan-recovered"].as_i64().unwrap() > 0);
    // Salary sacrifice: less pay for NICs and for tax than gross.
    assert!(
        got[1]["gross-earnings-for-nics-in-period"]
            .as_i64()
            .unwrap()
            < slips["G2"]["gross"].as_i64().unwrap()
    );
    // The NI earnings bands are reported (see filings_bands.rs), identities not.
    assert!(
        got[0]["ni-letters"][0]["earnings-at-lel-year-to-date"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert!(
        fps["not-included"][0]
            .as_str()
            .unwrap()
            .contains("NI number")
    );
    fails(
        &t,
        &alice,
        "rti-fps",
        json!({"run": june}),
        409,
        &["is a draft", "approve-run"],
    );
}

/// Three German employees (church tax; a high earner paying Solidaritätszuschlag; a
/// Minijob), January and February 2026 approved: the Lohnsteuer-Anmeldung of each
/// month sums that month's payslips only.
#[test]
fn lohnsteuer_anmeldung_sums_the_months_german_payslips() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(
        &t,
        &alice,
        "D1",
        "DE",
        6_000_000,
        json!({"steuerklasse": 1, "kirchensteuer": true, "bundesland": "NW",
               "kv-zusatzbeitrag": "2.5", "kinderlos": true}),
    );
    hire(
        &t,
        &alice,
        "D2",
        "DE",
        30_000_000,
        json!({"steuerklasse": 1, "kirchensteuer": false, "bundesland": "BY",
               "kv-zusatzbeitrag": "2.5"}),
    );
    hire(
        &t,
        &alice,
        "D3",
        "DE",
        723_600,
        json!({"bundesland": "BE", "beschaeftigung": "minijob"}),
    );
    fails(
        &t,
        &alice,
        "lohnsteuer-anmeldung",
        json!({"year": 2026, "month": 1}),
        404,
        &["no approved pay run", "2026-01"],
    );
    let jan = month_run(&t, &alice, &bob, "2026-01", false);
    let feb = month_run(&t, &alice, &bob, "2026-02", false);
    for (month, run) in [(1, &jan), (2, &feb)] {
        let slips = payslips(&t, &alice, run);
        let sum = |codes: &[&str]| -> i64 { slips.values().map(|s| line(s, codes)).sum() };
        let got = call(
            &t,
            &alice,
            "lohnsteuer-anmeldung",
            json!({"year": 2026, "month": month}),
        );
        let k = &got["kennzahlen"];
        // The Minijob's flat tax goes to the Minijob-Zentrale: two employees.
        assert_eq!(k["86"], 2, "{got}");
        assert_eq!(k["42"], sum(&["de-lohnsteuer"]), "{got}");
        assert_eq!(k["49"], sum(&["de-solidaritaetszuschlag"]));
        assert_eq!(got["kirchensteuer"], sum(&["de-kirchensteuer"]));
        assert_eq!(
            k["83"],
            sum(&[
                "de-lohnsteuer",
                "de-solidaritaetszuschlag",
                "de-kirchensteuer"
            ])
        );
        assert_eq!(got["runs"], json!([run]));
        assert!(k["49"].as_i64().unwrap() > 0 && got["kirchensteuer"].as_i64().unwrap() > 0);
        assert!(sum(&["de-minijob-pauschsteuer"]) > 0);
    }
    fails(
        &t,
        &alice,
        "form-941",
        json!({"year": 2026, "quarter": 1}),
        400,
        &["pay no employee of country US"],
    );
    fails(
        &t,
        &alice,
        "lohnsteuer-anmeldung",
        json!({"year": 2026, "month": 13}),
        400,
        &["month"],
    );
}
