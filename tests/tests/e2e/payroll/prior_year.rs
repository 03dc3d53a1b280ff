//! Corrections of a tax year that has ended, through the real host (issue 22, item
//! 1): the last run of 2025 (US and Germany) or of the UK tax year 2025-26 is
//! adjusted after runs of the next year were approved. Each corrected payslip is
//! the rules plugin's own for the original pay date, so the earlier year's limits
//! apply (the 2025 social security wage base, PAP 2025); the correction filings of
//! that year (Form 941-X with Parts 1, 2 and 4, Form W-2c, the berichtigte
//! Lohnsteuer-Anmeldung, the earlier-year FPS) are checked against figures computed
//! here from the payslips `get-payslip` returns.

use backoffice_host::auth::Principal;
use backoffice_tests::TestHost;
use serde_json::{Value, json};

use super::{call, clerk, fails, host};

/// An approved monthly run of `year`-`m` (created by `alice`, approved by `bob`).
pub(super) fn month_run(
    t: &TestHost,
    alice: &Principal,
    bob: &Principal,
    year: u16,
    m: u8,
) -> String {
    let last = match m {
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let run = call(
        t,
        alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": format!("{year}-{m:02}-01"),
               "period-end": format!("{year}-{m:02}-{last}"), "pay-date": format!("{year}-{m:02}-{last}")}),
    );
    let id = run["id"].as_str().unwrap().to_string();
    call(t, bob, "approve-run", json!({"id": id}));
    id
}

fn payslip(t: &TestHost, who: &Principal, run: &str, employee: &str) -> Value {
    call(
        t,
        who,
        "get-payslip",
        json!({"run": run, "employee": employee}),
    )
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

fn employee(id: &str, country: &str, salary: i64, start: &str, profile: Value) -> Value {
    json!({"id": id, "name": format!("Employee {id}"), "country": country,
           "frequency": "monthly", "salary": salary, "start-date": start, "profile": profile})
}

/// Rounded half up (positive amounts): `amount * num / den`.
fn rate(amount: i64, num: i64, den: i64) -> i64 {
    (2 * amount * num + den) / (2 * den)
}

/// December 2025 corrected in December 2026: the 2025 social security wage base
/// ($176,100, SSA "2025 Social Security Changes") still caps the corrected payslip,
/// so Form 941-X of 2025-Q4 has no line 8, while Medicare and the Additional
/// Medicare Tax (wages over $200,000, IRC 3102(f)) grow; Parts 1, 2 and 4 are
/// checked and echoed; the W-2c of 2025 shows boxes 1, 2, 5 and 6 only.
#[test]
fn december_2025_corrected_after_2026_began_uses_the_2025_wage_base() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let profile = json!({"filing-status": "single", "state": "TX"});
    // $1,080,000 a year: $90,000.00 a month.
    call(
        &t,
        &alice,
        "set-employee",
        employee("U1", "US", 108_000_000, "2025-11-01", profile.clone()),
    );
    let nov = month_run(&t, &alice, &bob, 2025, 11);
    let dec = month_run(&t, &alice, &bob, 2025, 12);
    let jan = month_run(&t, &alice, &bob, 2026, 1);
    let nov_slip = payslip(&t, &alice, &nov, "U1")["payslip"].clone();
    let dec_slip = payslip(&t, &alice, &dec, "U1")["payslip"].clone();
    assert_eq!(dec_slip["tax-year"], "2025");
    // $90,000 + $86,100: the 2025 wage base is reached in December.
    assert_eq!(ytd(&dec_slip, "social-security-wages"), 17_610_000);
    assert_eq!(
        ytd(
            &payslip(&t, &alice, &jan, "U1")["payslip"],
            "social-security-wages"
        ),
        9_000_000,
        "2026 starts from zero"
    );
    call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "941", "year": 2025, "quarter": 4, "filed-on": "2026-01-31"}),
    );
    call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "w-2", "year": 2025, "filed-on": "2026-01-31"}),
    );

    // A raise to $1,440,000 from 1 December 2025, recorded late.
    let mut raised = employee("U1", "US", 144_000_000, "2025-11-01", profile.clone());
    raised["effective-date"] = json!("2025-12-01");
    call(&t, &alice, "set-employee", raised);
    let adj = call(
        &t,
        &alice,
        "create-adjustment",
        json!({"run": dec, "reason": "December raise recorded late"}),
    );
    let adj_id = adj["id"].as_str().unwrap().to_string();
    assert_eq!(adj["pay-date"], "2025-12-31");
    call(&t, &bob, "approve-run", json!({"id": adj_id}));
    let got = payslip(&t, &alice, &adj_id, "U1");
    let diff = got["payslip"].clone();
    let corrected = got["corrected"].clone();

    // The corrected payslip is the 2025 rules' own for $120,000 on 31 December 2025
    // with November's figures; under the 2026 rules the same pay would be taxed for
    // social security up to $184,500.
    let what_if = |pay_date: &str| {
        call(
            &t,
            &alice,
            "calculate-payslip",
            json!({"country": "US", "pay-date": pay_date, "frequency": "monthly",
                   "gross": 12_000_000, "currency": "USD", "profile": profile,
                   "ytd": nov_slip["ytd"]}),
        )
    };
    let y2025 = what_if("2025-12-31");
    assert_eq!(corrected["lines"], y2025["lines"], "{corrected}");
    assert_eq!(corrected["ytd"], y2025["ytd"]);
    assert_eq!(ytd(&corrected, "social-security-wages"), 17_610_000);
    let y2026 = what_if("2026-12-31");
    assert_eq!(ytd(&y2026, "social-security-wages"), 18_450_000);
    // The difference: no social security, Medicare on $30,000, Additional Medicare
    // Tax on the $10,000 above $200,000.
    assert_eq!(diff["gross"], 3_000_000);
    assert_eq!(line(&diff, &["us-social-security"]), 0);
    assert_eq!(line(&diff, &["us-medicare"]), rate(3_000_000, 145, 10_000));
    assert_eq!(
        line(&diff, &["us-additional-medicare"]),
        rate(1_000_000, 9, 1000)
    );
    let d_fit = line(&diff, &["us-fit"]);
    assert!(d_fit > 0, "{diff}");

    // Form 941-X of 2025-Q4 without Parts 1, 2 and 4: Part 3 and what to complete.
    let q4 = json!({"year": 2025, "quarter": 4});
    let x = call(&t, &alice, "form-941-x", q4.clone());
    assert_eq!(x["revision"], "Rev. April 2025");
    assert_eq!(x["to-complete"].as_array().unwrap().len(), 4, "{x}");
    assert!(x.get("parts").is_none());
    let filed = |code: &str| ytd(&dec_slip, code);
    let filed_fit = line(&nov_slip, &["us-fit"]) + line(&dec_slip, &["us-fit"]);
    let want = json!([
        {"line": "6", "description": "Wages, tips, and other compensation", "form-941-line": "2",
         "column-1": filed("fit-wages") + 3_000_000, "column-2": filed("fit-wages"), "column-3": 3_000_000},
        {"line": "7", "description": "Federal income tax withheld from wages, tips, and other compensation",
         "form-941-line": "3", "column-1": filed_fit + d_fit, "column-2": filed_fit,
         "column-3": d_fit, "column-4": d_fit},
        {"line": "12", "description": "Taxable Medicare wages & tips", "form-941-line": "5c",
         "column-1": filed("medicare-wages") + 3_000_000, "column-2": filed("medicare-wages"),
         "column-3": 3_000_000, "column-4": rate(3_000_000, 29, 1000)},
        {"line": "13", "description": "Taxable wages & tips subject to Additional Medicare Tax withholding",
         "form-941-line": "5d", "column-1": 1_000_000, "column-2": 0,
         "column-3": 1_000_000, "column-4": rate(1_000_000, 9, 1000)},
    ]);
    assert_eq!(x["lines"], want, "{x}");
    assert_eq!(
        x["total-tax-correction"],
        d_fit + rate(3_000_000, 29, 1000) + rate(1_000_000, 9, 1000)
    );
    let notes = x["notes"].as_array().unwrap();
    assert!(
        notes[0].as_str().unwrap().contains("administrative error"),
        "{x}"
    );
    assert!(notes[1].as_str().unwrap().contains("form-w2c"));

    // Parts 1, 2 and 4: checked against Part 3 and echoed.
    let mut parts = q4.clone();
    parts["process"] = json!("adjusted-return");
    parts["certifications"] = json!({"line-3": true});
    parts["date-discovered"] = json!("2026-11-30");
    parts["explanation"] =
        json!("Raise from 1 December 2025 recorded late; paid by adjustment run");
    let x = call(&t, &alice, "form-941-x", parts.clone());
    assert_eq!(
        x["parts"],
        json!({"part-1-line": "1", "process": "adjusted-return",
               "part-2": [{"line": "3", "certifies": "Forms W-2 or W-2c were filed or will be filed as required"}],
               "date-discovered": "2026-11-30", "line-41": false, "line-42": false,
               "line-43": "Raise from 1 December 2025 recorded late; paid by adjustment run"}),
        "{x}"
    );
    assert_eq!(x["to-complete"], json!([]));
    assert_eq!(x["lines"], want);
    let mut claim = parts.clone();
    claim["process"] = json!("claim");
    claim["certifications"] = json!({"line-3": true, "line-5": ["a"]});
    fails(
        &t,
        &alice,
        "form-941-x",
        claim,
        400,
        &["overreported tax only", "adjusted-return"],
    );
    let mut no_cert = parts.clone();
    no_cert["certifications"] = json!({"line-3": false});
    fails(
        &t,
        &alice,
        "form-941-x",
        no_cert,
        400,
        &["line-3 must be true"],
    );
    let mut over_cert = parts.clone();
    over_cert["certifications"] = json!({"line-3": true, "line-4": ["a"]});
    fails(
        &t,
        &alice,
        "form-941-x",
        over_cert,
        400,
        &["leave line-4 out"],
    );
    let mut early = parts.clone();
    early["date-discovered"] = json!("2025-09-30");
    fails(
        &t,
        &alice,
        "form-941-x",
        early,
        400,
        &["before the quarter"],
    );
    let mut unexplained = parts;
    unexplained["explanation"] = json!(" ");
    fails(&t, &alice, "form-941-x", unexplained, 400, &["line 43"]);

    // Form W-2c of 2025: wages, FIT, Medicare wages and tax; not boxes 3 and 4.
    let c = call(&t, &alice, "form-w2c", json!({"year": 2025}));
    let w = &c["employees"][0];
    let boxed = |was: i64, delta: i64| json!({"previously-reported": was, "correct": was + delta});
    let both = |codes: &[&str]| line(&nov_slip, codes) + line(&dec_slip, codes);
    let medicare = ["us-medicare", "us-additional-medicare"];
    assert_eq!(
        w["boxes"],
        json!({
            "box-1": boxed(filed("fit-wages"), 3_000_000),
            "box-2": boxed(both(&["us-fit"]), d_fit),
            "box-5": boxed(filed("medicare-wages"), 3_000_000),
            "box-6": boxed(both(&medicare), line(&diff, &medicare)),
        }),
        "{c}"
    );
    // 2026 is untouched: its January run stays the only one of the year.
    let q1 = call(&t, &alice, "form-941", json!({"year": 2026, "quarter": 1}));
    assert_eq!(q1["runs"], json!([jan]));
}

/// March 2026 (UK tax year 2025-26, month 12) corrected after the April run of
/// 2026-27 and after 19 April 2026: the adjustment's FPS is an earlier-year FPS for
/// 25-26 with the corrected year-to-date figures, late reporting reason H, and the
/// payment date of the last payment of that year (HMRC, "Correct payroll errors":
/// for 2020-21 onwards an additional FPS, not an EYU).
#[test]
fn a_uk_correction_after_the_tax_year_is_an_earlier_year_fps() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let profile = json!({"tax-code": "1257L", "ni-category": "A"});
    call(
        &t,
        &alice,
        "set-employee",
        employee("G1", "GB", 6_000_000, "2026-03-01", profile.clone()),
    );
    let march = month_run(&t, &alice, &bob, 2026, 3);
    let april = month_run(&t, &alice, &bob, 2026, 4);
    let march_slip = payslip(&t, &alice, &march, "G1")["payslip"].clone();
    assert_eq!(march_slip["tax-year"], "2025-26");
    let mut raised = employee("G1", "GB", 7_200_000, "2026-03-01", profile.clone());
    raised["effective-date"] = json!("2026-03-01");
    call(&t, &alice, "set-employee", raised);
    let adj = call(&t, &alice, "create-adjustment", json!({"run": march}));
    let adj_id = adj["id"].as_str().unwrap().to_string();
    call(&t, &bob, "approve-run", json!({"id": adj_id}));
    let got = payslip(&t, &alice, &adj_id, "G1");
    let (diff, corrected) = (&got["payslip"], &got["corrected"]);
    // The 2025-26 rules' own payslip for £6,000 paid on 31 March 2026.
    let want = call(
        &t,
        &alice,
        "calculate-payslip",
        json!({"country": "GB", "pay-date": "2026-03-31", "frequency": "monthly",
               "gross": 600_000, "currency": "GBP", "profile": profile}),
    );
    assert_eq!(corrected["lines"], want["lines"], "{got}");
    assert_eq!(corrected["tax-year"], "2025-26");
    assert_eq!(diff["gross"], 100_000);

    let fps = call(&t, &alice, "rti-fps", json!({"run": adj_id}));
    assert_eq!(
        (
            &fps["tax-year"],
            &fps["related-tax-year"],
            &fps["payment-date"]
        ),
        (&json!("2025-26"), &json!("25-26"), &json!("2026-03-31")),
        "{fps}"
    );
    assert_eq!(
        fps["earlier-year-correction"],
        json!({"corrects-run": march, "tax-year-ended": "2026-04-05",
               "final-submission-due": "2026-04-19", "late-reporting-reason": "H"})
    );
    let e = &fps["employees"][0];
    assert_eq!(e["taxable-pay-to-date"], ytd(corrected, "taxable-pay"));
    assert_eq!(e["tax-to-date"], ytd(corrected, "tax"));
    assert_eq!(
        e["tax-to-date"].as_i64().unwrap(),
        ytd(&march_slip, "tax") + line(diff, &["gb-paye"]),
        "the year's tax corrected by the adjustment's PAYE"
    );
    assert_eq!(
        e["employee-nics-year-to-date"].as_i64().unwrap(),
        ytd(&march_slip, "ni-employee") + line(diff, &["gb-ni-employee"])
    );
    // The original run and the next year's run are ordinary FPSs of their years.
    let original = call(&t, &alice, "rti-fps", json!({"run": march}));
    assert_eq!(original["related-tax-year"], "25-26");
    assert!(original.get("earlier-year-correction").is_none());
    let next = call(&t, &alice, "rti-fps", json!({"run": april}));
    assert_eq!(next["related-tax-year"], "26-27");
    assert!(next.get("earlier-year-correction").is_none());
}

/// December 2025 of a German employee corrected after January 2026 was paid: the
/// corrected Lohnsteuer is PAP 2025's (not 2026's), the berichtigte Anmeldung of
/// 2025-12 adds exactly the adjustment's Lohnsteuer, Soli and Kirchensteuer, and
/// notes § 41c Abs. 3 EStG.
#[test]
fn a_german_month_of_last_year_gets_a_berichtigte_anmeldung_with_pap_2025() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let profile = json!({"steuerklasse": 1, "kirchensteuer": "ev", "bundesland": "NW",
                         "kv-zusatzbeitrag": "2.5", "kinderlos": true});
    call(
        &t,
        &alice,
        "set-employee",
        employee("D1", "DE", 8_400_000, "2025-12-01", profile.clone()),
    );
    let dec = month_run(&t, &alice, &bob, 2025, 12);
    month_run(&t, &alice, &bob, 2026, 1);
    let dec_slip = payslip(&t, &alice, &dec, "D1")["payslip"].clone();
    assert_eq!(dec_slip["tax-year"], "2025");
    call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "lohnsteuer-anmeldung", "year": 2025, "month": 12, "filed-on": "2026-01-10"}),
    );
    let mut raised = employee("D1", "DE", 9_600_000, "2025-12-01", profile.clone());
    raised["effective-date"] = json!("2025-12-01");
    call(&t, &alice, "set-employee", raised);
    let adj = call(&t, &alice, "create-adjustment", json!({"run": dec}));
    let adj_id = adj["id"].as_str().unwrap().to_string();
    call(&t, &bob, "approve-run", json!({"id": adj_id}));
    let got = payslip(&t, &alice, &adj_id, "D1");
    let (diff, corrected) = (&got["payslip"], &got["corrected"]);
    let what_if = |pay_date: &str| {
        call(
            &t,
            &alice,
            "calculate-payslip",
            json!({"country": "DE", "pay-date": pay_date, "frequency": "monthly",
                   "gross": 800_000, "currency": "EUR", "profile": profile}),
        )
    };
    let taxes = [
        "de-lohnsteuer",
        "de-solidaritaetszuschlag",
        "de-kirchensteuer-ev",
    ];
    let (y2025, y2026) = (what_if("2025-12-31"), what_if("2026-12-31"));
    for code in taxes {
        assert_eq!(
            line(corrected, &[code]),
            line(&y2025, &[code]),
            "{code}: {got}"
        );
    }
    assert_ne!(
        line(&y2025, &["de-lohnsteuer"]),
        line(&y2026, &["de-lohnsteuer"]),
        "PAP 2025 and 2026 differ for this pay"
    );
    let d_lst = line(diff, &["de-lohnsteuer"]);
    assert!(d_lst > 0, "{diff}");

    let b = call(
        &t,
        &alice,
        "lohnsteuer-anmeldung-berichtigung",
        json!({"year": 2025, "month": 12}),
    );
    assert_eq!(b["berichtigte-anmeldung"], true);
    assert_eq!(b["angemeldet-am"], "2026-01-10");
    let k = &b["kennzahlen"];
    assert_eq!(k["42"], line(&dec_slip, &["de-lohnsteuer"]) + d_lst, "{b}");
    assert_eq!(b["differenz"]["kennzahlen"]["42"], d_lst);
    assert_eq!(
        b["differenz"]["kennzahlen"]["49"],
        line(diff, &["de-solidaritaetszuschlag"])
    );
    assert_eq!(
        b["differenz"]["kennzahlen"]["61"],
        line(diff, &["de-kirchensteuer-ev"])
    );
    let hinweis = b["hinweise"][0].as_str().unwrap();
    assert!(
        hinweis.contains("§ 41c Abs. 3") && hinweis.contains("2026-02-28"),
        "{b}"
    );
}
