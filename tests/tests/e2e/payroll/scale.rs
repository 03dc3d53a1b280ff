//! A pay run of any size in bounded memory (issue 22): employees of the three
//! countries with the new deductions mixed in (US 401(k), section 125 and state
//! tax; UK student loans and pensions; German Midijobs, Minijobs and church tax) are
//! drafted, approved, paid by payment files made in parts, and filed (Form 941,
//! W-2 in pages, the FPS in pages, the Lohnsteuer-Anmeldung), all under a plugin
//! memory cap far below what holding the run would need. Every figure is checked
//! against sums this test makes from the payslips it reads.
//!
//! `PAYROLL_SCALE_EMPLOYEES` (default 1,500) and `PAYROLL_SCALE_CAP_MIB` (default
//! 4) change the head count and the cap; the 10,000-employee figures are measured by
//! `cargo run -p backoffice-tests --example payroll_scale`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use backoffice_host::runtime::Limits;
use serde_json::{Value, json};

use backoffice_tests::payroll_mix::{hire_input, payment_settings};

use super::{call, clerk, fails, host_with};

/// What the test adds up from the payslips it reads, per country.
#[derive(Debug, Default)]
struct Sums {
    employees: BTreeMap<String, BTreeSet<String>>,
    net: BTreeMap<String, i64>,
    /// Per employee: net pay.
    nets: BTreeMap<String, i64>,
    /// Per (country, code): the lines' total.
    lines: BTreeMap<(String, String), i64>,
}

impl Sums {
    fn line(&self, country: &str, code: &str) -> i64 {
        self.lines
            .get(&(country.to_string(), code.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

fn amount_of(content: &str, format: &str) -> (u64, i64) {
    // Count and sum the credits of a file by its own records.
    match format {
        "sepa" => {
            let n = content.matches("<CdtTrfTxInf>").count() as u64;
            let total: i64 = content
                .split("<InstdAmt Ccy=\"EUR\">")
                .skip(1)
                .map(|s| {
                    let v = &s[..s.find('<').unwrap()];
                    let (units, cents) = v.split_once('.').unwrap();
                    units.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
                })
                .sum();
            assert!(content.starts_with("<?xml"), "a complete document");
            assert!(content.trim_end().ends_with("</Document>"));
            (n, total)
        }
        "bacs18" => {
            let records: Vec<&str> = content.lines().collect();
            assert!(records.first().unwrap().starts_with("UHL1"));
            assert!(records.last().unwrap().starts_with("UTL1"));
            // Payment records (transaction code 99) carry the amount in 36..47.
            let credits: Vec<&str> = records
                .iter()
                .copied()
                .filter(|r| r.len() == 100 && &r[15..17] == "99")
                .collect();
            let total = credits
                .iter()
                .map(|r| r[35..46].parse::<i64>().unwrap())
                .sum();
            (credits.len() as u64, total)
        }
        _ => {
            let records: Vec<&str> = content.lines().collect();
            assert!(records.first().unwrap().starts_with('1'));
            let entries: Vec<&str> = records
                .iter()
                .copied()
                .filter(|r| r.starts_with('6'))
                .collect();
            let total = entries
                .iter()
                .map(|r| r[29..39].parse::<i64>().unwrap())
                .sum();
            assert!(
                records.iter().any(|r| r.starts_with('9')),
                "a file control record"
            );
            (entries.len() as u64, total)
        }
    }
}

#[test]
fn a_large_run_is_paid_by_file_and_filed_within_a_small_memory_cap() {
    let n: usize = std::env::var("PAYROLL_SCALE_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500);
    let cap_mib: usize = std::env::var("PAYROLL_SCALE_CAP_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let t = host_with(Limits {
        call_deadline: Duration::from_secs(60),
        memory_bytes: cap_mib << 20,
        ..Limits::default()
    });
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let mut settings = call(&t, &alice, "get-settings", json!({}));
    settings["payments"] = payment_settings();
    call(&t, &alice, "set-settings", settings);
    for i in 0..n {
        call(&t, &alice, "set-employee", hire_input(i));
    }
    let run = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01",
               "period-end": "2026-03-31", "pay-date": "2026-03-31"}),
    );
    let id = run["id"].clone();
    assert_eq!(
        run["totals"]["USD"]["employees"],
        json!(n.div_ceil(3)),
        "{run}"
    );
    let approved = call(&t, &bob, "approve-run", json!({"id": id}));
    assert_eq!(approved["status"], "posted", "{approved}");

    // The test's own sums, from every payslip read one by one (get-payslip) and
    // the run's list (list-payslips, in pages).
    let mut sums = Sums::default();
    let mut after: Option<String> = None;
    loop {
        let mut input = json!({"run": id, "limit": 500});
        if let Some(a) = &after {
            input["after"] = json!(a);
        }
        let page = call(&t, &alice, "list-payslips", input);
        for row in page["payslips"].as_array().unwrap() {
            let e = row["employee"].as_str().unwrap().to_string();
            let c = row["country"].as_str().unwrap().to_string();
            *sums.net.entry(c.clone()).or_default() += row["net"].as_i64().unwrap();
            sums.nets.insert(e.clone(), row["net"].as_i64().unwrap());
            sums.employees.entry(c).or_default().insert(e);
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(sums.nets.len(), n);
    for e in sums.nets.clone().keys() {
        let slip = call(&t, &alice, "get-payslip", json!({"run": id, "employee": e}));
        let c = slip["payslip"]["country"].as_str().unwrap().to_string();
        assert_eq!(slip["payslip"]["net"], json!(sums.nets[e]));
        for l in slip["payslip"]["lines"].as_array().unwrap() {
            *sums
                .lines
                .entry((c.clone(), l["code"].as_str().unwrap().to_string()))
                .or_default() += l["amount"].as_i64().unwrap();
        }
    }
    // The new deductions are all in the run.
    for (country, code) in [
        ("US", "us-401k"),
        ("US", "us-section-125"),
        ("US", "us-pa-income-tax"),
        ("GB", "gb-student-loan"),
        ("GB", "gb-postgraduate-loan"),
        ("DE", "de-minijob-pauschsteuer"),
        ("DE", "de-kirchensteuer-ev"),
        ("DE", "de-kirchensteuer-rk"),
    ] {
        assert!(sums.line(country, code) != 0, "no {code} line in the run");
    }

    // Payment files in three parts per format: each a complete file, together
    // every payee once and the run's net pay.
    for (format, country, currency) in [
        ("sepa", "DE", "EUR"),
        ("bacs18", "GB", "GBP"),
        ("nacha", "US", "USD"),
    ] {
        let payees = sums.employees[country]
            .iter()
            .filter(|e| sums.nets[*e] > 0)
            .count() as u64;
        let (mut count, mut total) = (0u64, 0i64);
        for part in 1..=3 {
            let file = call(
                &t,
                &bob,
                "payment-file",
                json!({"run": id, "format": format, "parts": 3, "part": part}),
            );
            let content = file["content"].as_str().unwrap();
            let (in_file, sum_in_file) = amount_of(content, format);
            assert_eq!(json!(in_file), file["payees"], "{format} part {part}");
            assert_eq!(json!(sum_in_file), file["total"], "{format} part {part}");
            assert_eq!(file["part"], part);
            assert_eq!(file["all-parts"]["payees"], json!(payees));
            // Parts are as equal as can be.
            assert!(in_file.abs_diff(payees / 3) <= 1, "{in_file} of {payees}");
            count += in_file;
            total += sum_in_file;
        }
        assert_eq!(count, payees, "{format}");
        assert_eq!(
            total, sums.net[country],
            "{format}: the run's {currency} net pay"
        );
    }
    let recorded = call(&t, &alice, "get-run", json!({"id": id}));
    assert_eq!(recorded["payment-files"].as_array().unwrap().len(), 9);
    fails(
        &t,
        &bob,
        "payment-file",
        json!({"run": id, "format": "nacha", "parts": 3}),
        400,
        &["part and parts together"],
    );
    fails(
        &t,
        &bob,
        "payment-file",
        json!({"run": id, "format": "nacha", "parts": 3, "part": 4}),
        400,
        &["part is 4", "1 to 3"],
    );

    // Form 941 of the quarter: the run's US lines.
    let f941 = call(&t, &alice, "form-941", json!({"year": 2026, "quarter": 1}));
    let us = sums.employees["US"].len() as i64;
    assert_eq!(f941["employees"], json!(us));
    assert_eq!(f941["lines"]["1"], json!(us));
    assert_eq!(f941["lines"]["3"], json!(sums.line("US", "us-fit")));
    assert_eq!(
        f941["payslip-liability"],
        json!(
            sums.line("US", "us-fit")
                + sums.line("US", "us-social-security")
                + sums.line("US", "us-medicare")
                + sums.line("US", "us-additional-medicare")
                + sums.line("US", "us-social-security-employer")
                + sums.line("US", "us-medicare-employer")
        )
    );

    // W-2 in pages: every US employee once, box 2 and box 12 D add up to the run's.
    let page_size = (us as usize / 3).max(1);
    let w2 = pages(&t, "form-w2", json!({"year": 2026, "limit": page_size}));
    let ids: Vec<&str> = w2.iter().map(|w| w["employee"].as_str().unwrap()).collect();
    assert_eq!(ids.len() as i64, us);
    assert!(
        ids.windows(2).all(|p| p[0] < p[1]),
        "employee order, no repeats"
    );
    let add = |rows: &[Value], field: &str| -> i64 {
        rows.iter().map(|r| r[field].as_i64().unwrap()).sum()
    };
    assert_eq!(add(&w2, "box-2"), sums.line("US", "us-fit"));
    assert_eq!(add(&w2, "box-4"), sums.line("US", "us-social-security"));
    assert_eq!(add(&w2, "box-12-d"), sums.line("US", "us-401k"));
    let state_tax: i64 = w2
        .iter()
        .flat_map(|w| w["states"].as_array().unwrap().clone())
        .map(|s| s["tax"].as_i64().unwrap())
        .sum();
    let state_lines: i64 = sums
        .lines
        .iter()
        .filter(|((c, code), _)| c == "US" && code.ends_with("-income-tax"))
        .map(|(_, v)| *v)
        .sum();
    assert_eq!(state_tax, state_lines);
    // Without a limit a year of more than 2,000 employees is refused, not cut.
    if us > 2000 {
        fails(
            &t,
            &alice,
            "form-w2",
            json!({"year": 2026}),
            400,
            &["in pages"],
        );
    }

    // The FPS in pages: every UK employee once, with their net pay.
    let gb = sums.employees["GB"].len();
    let fps = pages(&t, "rti-fps", json!({"run": id, "limit": (gb / 3).max(1)}));
    assert_eq!(fps.len(), gb);
    for e in &fps {
        let who = e["payroll-id"].as_str().unwrap();
        assert_eq!(e["net-pay"], json!(sums.nets[who]), "{who}");
    }
    assert_eq!(
        add(&fps, "tax-deducted"),
        sums.line("GB", "gb-paye") + sums.line("GB", "gb-paye-refund")
    );
    assert_eq!(
        add(&fps, "student-loan-recovered"),
        sums.line("GB", "gb-student-loan")
    );
    assert_eq!(
        add(&fps, "postgraduate-loan-recovered"),
        sums.line("GB", "gb-postgraduate-loan")
    );
    assert_eq!(
        add(&fps, "employer-nics-in-period"),
        sums.line("GB", "gb-ni-employer")
    );

    // The Lohnsteuer-Anmeldung of March.
    let lsta = call(
        &t,
        &alice,
        "lohnsteuer-anmeldung",
        json!({"year": 2026, "month": 3}),
    );
    let k = &lsta["kennzahlen"];
    assert_eq!(k["42"], json!(sums.line("DE", "de-lohnsteuer")));
    assert_eq!(k["49"], json!(sums.line("DE", "de-solidaritaetszuschlag")));
    assert_eq!(k["61"], json!(sums.line("DE", "de-kirchensteuer-ev")));
    assert_eq!(k["62"], json!(sums.line("DE", "de-kirchensteuer-rk")));
    // Minijobs (flat 2 % tax) are not counted in Kz 86.
    let minijobs = sums.employees["DE"]
        .iter()
        .filter(|e| {
            let i: usize = e[1..].parse().unwrap();
            (i / 3) % 4 == 1
        })
        .count();
    assert_eq!(k["86"], json!(sums.employees["DE"].len() - minijobs));
}

/// Every page of a filing listing employees, following `next`.
fn pages(t: &backoffice_tests::TestHost, op: &str, input: Value) -> Vec<Value> {
    let alice = clerk("alice");
    let mut rows = Vec::new();
    let mut input = input;
    loop {
        let page = call(t, &alice, op, input.clone());
        rows.extend(page["employees"].as_array().unwrap().iter().cloned());
        match page.get("next").and_then(|v| v.as_str()) {
            Some(next) => input["after"] = json!(next),
            None => return rows,
        }
    }
}
