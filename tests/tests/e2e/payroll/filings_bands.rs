//! The two gaps of the filings closed (issue 22, item 6), through the real host:
//! the NI earnings bands that `payroll-gb` returns per payslip and `rti-fps` reports
//! per employee and NI letter year to date, and the Kirchensteuer that `payroll-de`
//! carries per denomination and `lohnsteuer-anmeldung` splits into Kz 61 and 62.

use std::collections::BTreeMap;

use backoffice_host::auth::Principal;
use backoffice_tests::TestHost;
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

/// A monthly run for `start`..`end`, created by `alice` and approved by `bob`.
fn approved_run(
    t: &TestHost,
    alice: &Principal,
    bob: &Principal,
    start: &str,
    end: &str,
) -> String {
    let run = call(
        t,
        alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": start, "period-end": end, "pay-date": end}),
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
    )["payslip"]
        .clone()
}

fn line(slip: &Value, code: &str) -> i64 {
    slip["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["code"] == code)
        .map(|l| l["amount"].as_i64().unwrap())
        .sum()
}

fn ytd(slip: &Value, code: &str) -> i64 {
    slip["ytd"][code].as_i64().unwrap_or(0)
}

const BANDS: [&str; 3] = ["ni-at-lel", "ni-lel-pt", "ni-pt-uel"];

/// Four UK employees, one per band: £500, £800, £3,000 and £6,000 a month. April and
/// May 2026 (tax year 2026-27) approved; the payslips carry each month's bands,
/// worked out by hand from HMRC "Rates and thresholds for employers 2026 to 2027"
/// (monthly LEL £559, PT £1,048, UEL £4,189; not an official worked example), and
/// the FPS of May reports per employee and letter the sums of both payslips as
/// `get-payslip` returns them.
#[test]
fn rti_fps_reports_the_ni_earnings_bands_year_to_date() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    // (id, annual salary in pence, the month's bands by hand).
    let staff: [(&str, i64, [i64; 3]); 4] = [
        // £500 < LEL: nothing reported.
        ("G1", 600_000, [0, 0, 0]),
        // £800: £559 at the LEL, £241 up to the PT.
        ("G2", 960_000, [55_900, 24_100, 0]),
        // £3,000: £559, £489, £3,000 - £1,048 = £1,952.
        ("G3", 3_600_000, [55_900, 48_900, 195_200]),
        // £6,000: £559, £489, and £4,189 - £1,048 = £3,141 (nothing above the UEL).
        ("G4", 7_200_000, [55_900, 48_900, 314_100]),
    ];
    for (id, salary, _) in staff {
        hire(&t, &alice, id, "GB", salary, json!({"tax-code": "1257L"}));
    }
    let april = approved_run(&t, &alice, &bob, "2026-04-01", "2026-04-30");
    let may = approved_run(&t, &alice, &bob, "2026-05-01", "2026-05-31");

    let fps = call(&t, &alice, "rti-fps", json!({"run": may}));
    let got: BTreeMap<String, Value> = fps["employees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["payroll-id"].as_str().unwrap().to_string(), e.clone()))
        .collect();
    assert_eq!(got.len(), 4, "{fps}");
    for (id, _, by_hand) in staff {
        let (a, m) = (
            payslip(&t, &alice, &april, id),
            payslip(&t, &alice, &may, id),
        );
        // Each payslip's part: its year-to-date figure less the one before it.
        let april_part: Vec<i64> = BANDS.iter().map(|c| ytd(&a, c)).collect();
        let may_part: Vec<i64> = BANDS.iter().map(|c| ytd(&m, c) - ytd(&a, c)).collect();
        assert_eq!(april_part, by_hand, "{id} April {a}");
        assert_eq!(may_part, by_hand, "{id} May {m}");

        let letters = got[id]["ni-letters"].as_array().unwrap();
        assert_eq!(letters.len(), 1, "{id}: {fps}");
        let g = &letters[0];
        assert_eq!(g["ni-category"], "A");
        let sum = |i: usize| april_part[i] + may_part[i];
        assert_eq!(g["earnings-at-lel-year-to-date"], sum(0), "{id}: {g}");
        assert_eq!(
            g["earnings-above-lel-up-to-pt-year-to-date"],
            sum(1),
            "{id}: {g}"
        );
        assert_eq!(
            g["earnings-above-pt-up-to-uel-year-to-date"],
            sum(2),
            "{id}: {g}"
        );
        assert_eq!(
            g["employee-nics-year-to-date"],
            line(&a, "gb-ni-employee") + line(&m, "gb-ni-employee")
        );
        assert_eq!(
            g["employer-nics-year-to-date"],
            line(&a, "gb-ni-employer") + line(&m, "gb-ni-employer")
        );
        assert_eq!(
            g["gross-earnings-for-nics-year-to-date"],
            a["gross"].as_i64().unwrap() + m["gross"].as_i64().unwrap()
        );
        assert_eq!(
            g["employee-nics-year-to-date"],
            got[id]["employee-nics-year-to-date"]
        );
    }
    // Two months of the by-hand figures, e.g. £3,000 a month: 2 × £1,952.
    assert_eq!(
        got["G3"]["ni-letters"][0]["earnings-above-pt-up-to-uel-year-to-date"],
        390_400
    );
    // The April FPS reports April alone.
    let first = call(&t, &alice, "rti-fps", json!({"run": april}));
    assert_eq!(
        first["employees"][3]["ni-letters"][0]["earnings-above-pt-up-to-uel-year-to-date"], 314_100,
        "{first}"
    );
    let missing = fps["not-included"].to_string();
    assert!(!missing.contains("earnings bands"), "{missing}");
    assert!(missing.contains("directors"), "{missing}");
}

/// A German month with an `ev`, an `rk` and an old-style (`true`) church member and
/// one without: Kz 61 and Kz 62 are the `ev` and `rk` payslips' church tax, the
/// undivided one is reported apart with its employee, and they add up to the
/// unchanged total in Kz 83.
#[test]
fn lohnsteuer_anmeldung_splits_the_kirchensteuer_by_denomination() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let profile = |kist: Value| {
        json!({"steuerklasse": 1, "kirchensteuer": kist, "bundesland": "NW",
               "kv-zusatzbeitrag": "2.5", "kinderlos": true})
    };
    hire(&t, &alice, "DE1", "DE", 6_000_000, profile(json!("ev")));
    hire(&t, &alice, "DR1", "DE", 7_200_000, profile(json!("rk")));
    hire(&t, &alice, "DL1", "DE", 4_800_000, profile(json!(true)));
    hire(&t, &alice, "DN1", "DE", 4_800_000, profile(json!(false)));
    let run = approved_run(&t, &alice, &bob, "2026-01-01", "2026-01-31");
    let slips: BTreeMap<&str, Value> = ["DE1", "DR1", "DL1", "DN1"]
        .into_iter()
        .map(|id| (id, payslip(&t, &alice, &run, id)))
        .collect();
    let ev = line(&slips["DE1"], "de-kirchensteuer-ev");
    let rk = line(&slips["DR1"], "de-kirchensteuer-rk");
    let legacy = line(&slips["DL1"], "de-kirchensteuer");
    assert!(ev > 0 && rk > 0 && legacy > 0, "{slips:?}");
    // Each payslip carries its church tax under its own denomination only.
    assert_eq!(line(&slips["DE1"], "de-kirchensteuer"), 0);
    assert_eq!(line(&slips["DN1"], "de-kirchensteuer"), 0);
    assert_eq!(slips["DN1"]["ytd"]["kirchensteuer"], 0);
    assert_eq!(slips["DE1"]["ytd"]["kirchensteuer"], ev);

    let got = call(
        &t,
        &alice,
        "lohnsteuer-anmeldung",
        json!({"year": 2026, "month": 1}),
    );
    let k = &got["kennzahlen"];
    assert_eq!(k["61"], ev, "{got}");
    assert_eq!(k["62"], rk, "{got}");
    assert_eq!(
        got["kirchensteuer-nach-konfession"],
        json!({"ev": ev, "rk": rk})
    );
    assert_eq!(
        got["kirchensteuer-ohne-konfession"],
        json!({"amount": legacy, "employees": ["DL1"]})
    );
    assert_eq!(got["kirchensteuer"], ev + rk + legacy);
    let lst: i64 = slips.values().map(|s| line(s, "de-lohnsteuer")).sum();
    let soli: i64 = slips
        .values()
        .map(|s| line(s, "de-solidaritaetszuschlag"))
        .sum();
    assert_eq!(k["42"], lst);
    assert_eq!(k["83"], lst + soli + ev + rk + legacy);
}

/// An unknown denomination is refused naming the accepted ones, and nothing is
/// stored; a known one is accepted as a change of an existing employee.
#[test]
fn an_unknown_denomination_is_refused_naming_the_accepted_ones() {
    let t = host();
    let alice = clerk("alice");
    fails(
        &t,
        &alice,
        "set-employee",
        json!({"id": "DX", "name": "X", "country": "DE", "frequency": "monthly",
               "salary": 6_000_000, "start-date": "2026-01-01",
               "profile": {"steuerklasse": 1, "kirchensteuer": "katholisch",
                           "bundesland": "NW", "kv-zusatzbeitrag": "2.5"}}),
        400,
        &[
            "profile.kirchensteuer",
            "\"katholisch\"",
            "\"ev\" (evangelisch)",
            "\"rk\" (römisch-katholisch)",
            "true or false",
        ],
    );
    fails(
        &t,
        &alice,
        "get-employee",
        json!({"id": "DX"}),
        404,
        &["DX"],
    );
}
