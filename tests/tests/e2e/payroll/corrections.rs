//! Correction filings through the real host (issue 22, items 1 and 6): a quarter,
//! a year's W-2s and a month's Lohnsteuer-Anmeldung are recorded as filed, an
//! adjustment run raises an employee's pay in the filed period, and Form 941-X, Form
//! W-2c and the berichtigte Anmeldung give the figures as filed, as corrected and the
//! difference, each checked against values computed here from the payslips as
//! `get-payslip` returns them; and the refusals (nothing recorded, nothing changed,
//! the same figures recorded twice, fields that do not fit the form).

use std::collections::BTreeMap;

use backoffice_host::auth::Principal;
use backoffice_tests::TestHost;
use serde_json::{Value, json};

use super::{call, clerk, fails, host};

fn person(id: &str, country: &str, salary: i64, profile: Value, effective: Option<&str>) -> Value {
    let mut v = json!({"id": id, "name": format!("Employee {id}"), "country": country,
                       "frequency": "monthly", "salary": salary, "start-date": "2025-12-01",
                       "profile": profile});
    if let Some(on) = effective {
        v["effective-date"] = json!(on);
    }
    v
}

/// An approved monthly run of 2026-`m` (created by `alice`, approved by `bob`).
fn month_run(t: &TestHost, alice: &Principal, bob: &Principal, m: u8) -> String {
    super::prior_year::month_run(t, alice, bob, 2026, m)
}

fn slip(t: &TestHost, who: &Principal, run: &str, employee: &str) -> Value {
    call(
        t,
        who,
        "get-payslip",
        json!({"run": run, "employee": employee}),
    )["payslip"]
        .clone()
}

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

/// Rounded half up (positive amounts): `amount * num / den`.
fn rate(amount: i64, num: i64, den: i64) -> i64 {
    (2 * amount * num + den) / (2 * den)
}

/// Q1 2026 of two US employees filed on Form 941 and W-2; U1's March raise recorded
/// late and paid by an adjustment run; Form 941-X and W-2c then give exactly the
/// adjustment's differences.
#[test]
fn a_raise_after_filing_gives_form_941_x_and_w2c() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let u1 = json!({"filing-status": "single", "401k": 50_000, "state": "PA"});
    call(
        &t,
        &alice,
        "set-employee",
        person("U1", "US", 9_000_000, u1.clone(), None),
    );
    call(
        &t,
        &alice,
        "set-employee",
        person(
            "U2",
            "US",
            6_000_000,
            json!({"filing-status": "married-filing-jointly", "state": "TX"}),
            None,
        ),
    );
    let runs: Vec<String> = (1..=3).map(|m| month_run(&t, &alice, &bob, m)).collect();
    let q1 = json!({"year": 2026, "quarter": 1});

    // Nothing recorded yet: a 941-X has nothing to correct against.
    fails(
        &t,
        &alice,
        "form-941-x",
        q1.clone(),
        404,
        &[
            "no Form 941 of 2026-Q1 is recorded as filed",
            "record-filing",
        ],
    );
    fails(
        &t,
        &alice,
        "form-w2c",
        json!({"year": 2026}),
        404,
        &["no W-2 of 2026 is recorded as filed", "record-filing"],
    );
    // Fields that do not fit the form.
    fails(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2026}),
        400,
        &["quarter"],
    );
    fails(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2026, "quarter": 1, "month": 3}),
        400,
        &["month does not apply"],
    );
    fails(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2026, "quarter": 1, "filed-on": "2025-12-31"}),
        400,
        &["filed-on 2025-12-31 is before 2026-Q1"],
    );

    // File the quarter and the W-2s.
    let filed_941 = call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2026, "quarter": 1, "filed-on": "2026-04-30"}),
    );
    assert_eq!(filed_941["correction"], false, "{filed_941}");
    assert_eq!(filed_941["runs"], json!(runs));
    let as_filed = filed_941["figures"].clone();
    assert_eq!(
        as_filed,
        call(&t, &alice, "form-941", q1.clone())["lines"],
        "the snapshot is form-941's lines"
    );
    let filed_w2 = call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "w-2", "year": 2026, "filed-on": "2026-04-30"}),
    );
    assert_eq!(filed_w2["employees"], json!(["U1", "U2"]), "{filed_w2}");
    assert_eq!(filed_w2["unchanged"], 0);
    // The same figures twice, and a correction asked for with nothing changed.
    fails(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2026, "quarter": 1}),
        409,
        &[
            "already recorded as filed on 2026-04-30",
            "nothing to record",
        ],
    );
    fails(
        &t,
        &alice,
        "form-941-x",
        q1.clone(),
        400,
        &["matches the approved runs", "nothing to correct"],
    );
    fails(
        &t,
        &alice,
        "form-w2c",
        json!({"year": 2026}),
        400,
        &["nothing to correct"],
    );

    // The March raise to $96,000 is recorded late and paid by an adjustment.
    let originals: BTreeMap<&str, Vec<Value>> = ["U1", "U2"]
        .into_iter()
        .map(|e| (e, runs.iter().map(|r| slip(&t, &alice, r, e)).collect()))
        .collect();
    call(
        &t,
        &alice,
        "set-employee",
        person("U1", "US", 9_600_000, u1, Some("2026-03-01")),
    );
    let adj = call(
        &t,
        &alice,
        "create-adjustment",
        json!({"run": runs[2], "reason": "raise from 1 March"}),
    );
    let adj_id = adj["id"].as_str().unwrap().to_string();
    call(&t, &bob, "approve-run", json!({"id": adj_id}));
    let diff = slip(&t, &alice, &adj_id, "U1");
    let march = &originals["U1"][2];
    // The adjustment's part of a year-to-date figure, and of its lines.
    let d_ytd = |code: &str| ytd(&diff, code) - ytd(march, code);
    let d_wages = d_ytd("fit-wages");
    let d_ss = d_ytd("social-security-wages");
    let d_medicare = d_ytd("medicare-wages");
    let d_fit = line(&diff, &["us-fit"]);
    assert_eq!(diff["gross"], 50_000, "{diff}");
    assert!(d_wages == 50_000 && d_ss == 50_000 && d_medicare == 50_000 && d_fit > 0);

    // Form 941-X: lines 6, 7, 8 and 12 (no tips, no Additional Medicare Tax).
    let x = call(&t, &alice, "form-941-x", q1.clone());
    assert_eq!(x["form"], "941-X");
    assert_eq!(x["corrects-filing-of"], "2026-04-30");
    assert_eq!(x["runs-since-filing"], json!([adj_id]));
    // What was filed, from the payslips: the quarter's sums over both employees.
    let q1_sum = |f: &dyn Fn(&Value) -> i64| -> i64 {
        originals
            .values()
            .flat_map(|s| s.iter())
            .map(f)
            .sum::<i64>()
    };
    let filed_wages: i64 = originals.values().map(|s| ytd(&s[2], "fit-wages")).sum();
    let filed_fit = q1_sum(&|s| line(s, &["us-fit"]));
    let filed_ss: i64 = originals
        .values()
        .map(|s| ytd(&s[2], "social-security-wages"))
        .sum();
    let filed_medicare: i64 = originals
        .values()
        .map(|s| ytd(&s[2], "medicare-wages"))
        .sum();
    assert_eq!(as_filed["2"], filed_wages);
    assert_eq!(as_filed["3"], filed_fit);
    let want = json!([
        {"line": "6", "description": "Wages, tips, and other compensation", "form-941-line": "2",
         "column-1": filed_wages + d_wages, "column-2": filed_wages, "column-3": d_wages},
        {"line": "7", "description": "Federal income tax withheld from wages, tips, and other compensation",
         "form-941-line": "3", "column-1": filed_fit + d_fit, "column-2": filed_fit,
         "column-3": d_fit, "column-4": d_fit},
        {"line": "8", "description": "Taxable social security wages", "form-941-line": "5a",
         "column-1": filed_ss + d_ss, "column-2": filed_ss, "column-3": d_ss,
         "column-4": rate(d_ss, 124, 1000)},
        {"line": "12", "description": "Taxable Medicare wages & tips", "form-941-line": "5c",
         "column-1": filed_medicare + d_medicare, "column-2": filed_medicare,
         "column-3": d_medicare, "column-4": rate(d_medicare, 29, 1000)},
    ]);
    assert_eq!(x["lines"], want, "{x}");
    let total = d_fit + rate(d_ss, 124, 1000) + rate(d_medicare, 29, 1000);
    assert_eq!(x["total-tax-correction"], total);
    assert_eq!(x["correction"], "underreported");
    assert_eq!(x["reported"], as_filed);
    assert_eq!(
        x["corrected"],
        call(&t, &alice, "form-941", q1.clone())["lines"]
    );
    let d = &x["difference"];
    assert_eq!(
        (&d["1"], &d["2"], &d["3"]),
        (&json!(0), &json!(d_wages), &json!(d_fit))
    );
    assert_eq!(d["5a"]["column-1"], d_ss);
    assert_eq!(d["5d"], json!({"column-1": 0, "column-2": 0}));
    // The employee and employer shares the adjustment withheld and posted add up to
    // the column 4 total but for the cents line 7 of Form 941 rounds away.
    let shares = line(
        &diff,
        &[
            "us-fit",
            "us-social-security",
            "us-medicare",
            "us-social-security-employer",
            "us-medicare-employer",
        ],
    );
    assert!((shares - total).abs() <= 2, "{shares} vs {total}");

    // Form W-2c: U1 only, the boxes that changed.
    let c = call(&t, &alice, "form-w2c", json!({"year": 2026}));
    assert_eq!(c["not-recorded"], json!([]));
    let list = c["employees"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{c}");
    let w = &list[0];
    assert_eq!(
        (&w["employee"], &w["filed-on"]),
        (&json!("U1"), &json!("2026-04-30"))
    );
    let before = &originals["U1"];
    let sum_lines = |codes: &[&str]| -> i64 { before.iter().map(|s| line(s, codes)).sum::<i64>() };
    let boxed = |was: i64, delta: i64| json!({"previously-reported": was, "correct": was + delta});
    assert_eq!(
        w["boxes"],
        json!({
            "box-1": boxed(ytd(march, "fit-wages"), d_wages),
            "box-2": boxed(sum_lines(&["us-fit"]), d_fit),
            "box-3": boxed(ytd(march, "social-security-wages"), d_ss),
            "box-4": boxed(sum_lines(&["us-social-security"]), line(&diff, &["us-social-security"])),
            "box-5": boxed(ytd(march, "medicare-wages"), d_medicare),
            "box-6": boxed(sum_lines(&["us-medicare", "us-additional-medicare"]),
                           line(&diff, &["us-medicare", "us-additional-medicare"])),
        }),
        "{w}"
    );
    // The 401(k) deferral is a fixed amount: box 12 code D did not change.
    assert_eq!(line(&diff, &["us-401k"]), 0);
    assert_eq!(
        w["states"],
        json!([{"state": "PA",
                "wages": boxed(ytd(march, "state-wages"), d_ytd("state-wages")),
                "tax": boxed(sum_lines(&["us-pa-income-tax"]), line(&diff, &["us-pa-income-tax"]))}])
    );
    assert!(line(&diff, &["us-pa-income-tax"]) > 0);
    // One employee, and one whose W-2 did not change.
    let one = call(
        &t,
        &alice,
        "form-w2c",
        json!({"year": 2026, "employee": "U1"}),
    );
    assert_eq!(one["employees"], c["employees"]);
    fails(
        &t,
        &alice,
        "form-w2c",
        json!({"year": 2026, "employee": "U2"}),
        400,
        &["employee U2's W-2 of 2026 matches", "nothing to correct"],
    );

    // The 941-X and W-2c are filed: recorded as corrections, nothing left to correct.
    let again = call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2026, "quarter": 1, "filed-on": "2026-07-15"}),
    );
    assert_eq!(again["correction"], true);
    assert_eq!(again["figures"], x["corrected"]);
    let again = call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "w-2", "year": 2026, "filed-on": "2026-07-15"}),
    );
    assert_eq!(
        (
            &again["employees"],
            &again["unchanged"],
            &again["correction"]
        ),
        (&json!(["U1"]), &json!(1), &json!(true))
    );
    fails(
        &t,
        &alice,
        "form-941-x",
        q1,
        400,
        &["as filed on 2026-07-15 matches"],
    );
    fails(
        &t,
        &alice,
        "form-w2c",
        json!({"year": 2026}),
        400,
        &["nothing to correct"],
    );
    // A quarter never filed.
    fails(
        &t,
        &alice,
        "form-941-x",
        json!({"year": 2026, "quarter": 2}),
        404,
        &["no Form 941 of 2026-Q2"],
    );
}

/// January 2026 of two German employees filed; D1's raise from January paid by an
/// adjustment: the berichtigte Anmeldung gives the month in full and the
/// difference, which is the adjustment's Lohnsteuer, Soli and Kirchensteuer.
#[test]
fn a_raise_after_the_anmeldung_gives_a_berichtigte_anmeldung() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let d1 = json!({"steuerklasse": 1, "kirchensteuer": "ev", "bundesland": "NW",
                    "kv-zusatzbeitrag": "2.5", "kinderlos": true});
    call(
        &t,
        &alice,
        "set-employee",
        person("D1", "DE", 9_000_000, d1.clone(), None),
    );
    call(
        &t,
        &alice,
        "set-employee",
        person(
            "D2",
            "DE",
            5_000_000,
            json!({"steuerklasse": 1, "kirchensteuer": "rk", "bundesland": "BY",
                   "kv-zusatzbeitrag": "2.5"}),
            None,
        ),
    );
    let jan = month_run(&t, &alice, &bob, 1);
    let month = json!({"year": 2026, "month": 1});
    fails(
        &t,
        &alice,
        "lohnsteuer-anmeldung-berichtigung",
        month.clone(),
        404,
        &[
            "no Lohnsteuer-Anmeldung of 2026-01 is recorded as filed",
            "record-filing",
        ],
    );
    fails(
        &t,
        &alice,
        "record-filing",
        json!({"form": "lohnsteuer-anmeldung", "year": 2026, "quarter": 1}),
        400,
        &["quarter does not apply"],
    );
    let filed = call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "lohnsteuer-anmeldung", "year": 2026, "month": 1, "filed-on": "2026-02-10"}),
    );
    assert_eq!(filed["correction"], false);
    fails(
        &t,
        &alice,
        "lohnsteuer-anmeldung-berichtigung",
        month.clone(),
        400,
        &["nothing to correct"],
    );

    let original = slip(&t, &alice, &jan, "D1");
    call(
        &t,
        &alice,
        "set-employee",
        person("D1", "DE", 10_200_000, d1, Some("2026-01-01")),
    );
    let adj = call(&t, &alice, "create-adjustment", json!({"run": jan}));
    let adj_id = adj["id"].as_str().unwrap().to_string();
    call(&t, &bob, "approve-run", json!({"id": adj_id}));
    let diff = slip(&t, &alice, &adj_id, "D1");
    let d2 = slip(&t, &alice, &jan, "D2");
    let d_lst = line(&diff, &["de-lohnsteuer"]);
    let d_soli = line(&diff, &["de-solidaritaetszuschlag"]);
    let d_kist = line(&diff, &["de-kirchensteuer-ev"]);
    assert!(d_lst > 0 && d_kist > 0, "{diff}");

    let b = call(&t, &alice, "lohnsteuer-anmeldung-berichtigung", month);
    assert_eq!(b["berichtigte-anmeldung"], true);
    assert_eq!(b["angemeldet-am"], "2026-02-10");
    assert_eq!(b["runs"], json!([jan, adj_id]));
    // As filed: January's payslips.
    let jan_sum = |codes: &[&str]| line(&original, codes) + line(&d2, codes);
    let filed_k = &filed["figures"]["kennzahlen"];
    assert_eq!(filed_k["42"], jan_sum(&["de-lohnsteuer"]));
    assert_eq!(filed_k["61"], line(&original, &["de-kirchensteuer-ev"]));
    assert_eq!(filed_k["62"], line(&d2, &["de-kirchensteuer-rk"]));
    assert_eq!(b["angemeldet"], filed["figures"]);
    // Corrected in full, and the difference: the adjustment's taxes.
    let k = &b["kennzahlen"];
    assert_eq!(k["86"], 2);
    assert_eq!(k["42"], jan_sum(&["de-lohnsteuer"]) + d_lst);
    assert_eq!(k["49"], jan_sum(&["de-solidaritaetszuschlag"]) + d_soli);
    assert_eq!(k["61"], line(&original, &["de-kirchensteuer-ev"]) + d_kist);
    assert_eq!(k["62"], line(&d2, &["de-kirchensteuer-rk"]));
    assert_eq!(
        b["differenz"]["kennzahlen"],
        json!({"86": 0, "42": d_lst, "49": d_soli, "61": d_kist, "62": 0,
               "83": d_lst + d_soli + d_kist})
    );
    assert_eq!(
        b["differenz"]["kirchensteuer-nach-konfession"],
        json!({"ev": d_kist, "rk": 0})
    );
    assert_eq!(
        call(
            &t,
            &alice,
            "lohnsteuer-anmeldung",
            json!({"year": 2026, "month": 1})
        )["kennzahlen"],
        b["kennzahlen"]
    );
}

/// Form 941-X Part 4, line 41 derived (Instructions for Form 941-X, Rev. April
/// 2025, line 41: a line whose correction nets some employees' underreported and
/// others' overreported amounts): in Q1 2026, U1's March pay raised by $500 and
/// U2's cut by $250, recorded late and paid by adjustment runs. Line 6 (wages) nets
/// +$500 and -$250: line 41 is checked with or without the input, and an input
/// saying otherwise is refused. The raise alone leaves it unchecked.
#[test]
fn line_41_is_derived_from_each_employees_correction() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let profile = json!({"filing-status": "single", "state": "TX"});
    for (id, salary) in [("U1", 6_000_000), ("U2", 6_000_000)] {
        call(
            &t,
            &alice,
            "set-employee",
            person(id, "US", salary, profile.clone(), None),
        );
    }
    let runs: Vec<String> = (1..=3).map(|m| month_run(&t, &alice, &bob, m)).collect();
    call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2026, "quarter": 1, "filed-on": "2026-04-30"}),
    );
    let q1 = json!({"year": 2026, "quarter": 1});
    let parts = |line_41: Option<bool>| {
        let mut p = q1.clone();
        p["process"] = json!("adjusted-return");
        p["certifications"] = json!({"line-3": true});
        p["date-discovered"] = json!("2026-11-30");
        p["explanation"] = json!("U1's March raise and U2's March cut recorded late");
        if let Some(v) = line_41 {
            p["both-underreported-and-overreported"] = json!(v);
        }
        p
    };

    // A raise alone: every line goes up, line 41 unchecked.
    call(
        &t,
        &alice,
        "set-employee",
        person("U1", "US", 6_600_000, profile.clone(), Some("2026-03-01")),
    );
    let adj = call(
        &t,
        &alice,
        "create-adjustment",
        json!({"run": runs[2], "reason": "raise"}),
    );
    let adj_id = adj["id"].as_str().unwrap().to_string();
    call(&t, &bob, "approve-run", json!({"id": adj_id}));
    let x = call(&t, &alice, "form-941-x", q1.clone());
    assert_eq!(x["line-41"], false, "{x}");
    assert_eq!(x["line-41-lines"], json!([]));
    // Then U2's March pay cut by $250.
    call(
        &t,
        &alice,
        "set-employee",
        person("U2", "US", 5_700_000, profile.clone(), Some("2026-03-01")),
    );
    let adj2 = call(
        &t,
        &alice,
        "create-adjustment",
        json!({"run": runs[2], "reason": "cut"}),
    );
    call(&t, &bob, "approve-run", json!({"id": adj2["id"]}));

    let u1 = slip(&t, &alice, adj_id.as_str(), "U1");
    let u2 = slip(&t, &alice, adj2["id"].as_str().unwrap(), "U2");
    // $500 more for U1 in March, $250 less for U2.
    assert_eq!(u1["gross"], 50_000);
    assert_eq!(u2["gross"], -25_000);

    let x = call(&t, &alice, "form-941-x", q1.clone());
    assert_eq!(x["line-41"], true, "{x}");
    let mixed: Vec<&str> = x["line-41-lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // Wages, social security and Medicare wages each net +$500 and -$250.
    for l in ["6", "8", "12"] {
        assert!(mixed.contains(&l), "line {l}: {x}");
    }
    let line_6 = x["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["line"] == "6")
        .unwrap();
    assert_eq!(line_6["column-3"], 25_000, "{x}");

    // Parts given: line 41 derived; an input that agrees is accepted, one that
    // does not is refused naming the lines.
    let with = call(&t, &alice, "form-941-x", parts(None));
    assert_eq!(with["parts"]["line-41"], true, "{with}");
    let agree = call(&t, &alice, "form-941-x", parts(Some(true)));
    assert_eq!(agree["parts"]["line-41"], true);
    fails(
        &t,
        &alice,
        "form-941-x",
        parts(Some(false)),
        400,
        &["line 41", "is false", "the payslips say true", "line 6"],
    );
    // Line 41 without Part 1 is refused as before.
    let mut bare = q1.clone();
    bare["both-underreported-and-overreported"] = json!(true);
    fails(
        &t,
        &alice,
        "form-941-x",
        bare,
        400,
        &["give the process of Part 1"],
    );
}
