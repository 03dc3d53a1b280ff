//! The W-2s of a year as an SSA EFW2 file through the real host (issue 22, item 6):
//! the records' length, order and CR LF ends, the fields at the positions of SSA
//! Publication 42-007 (tax year 2025), each RW's money fields equal to the boxes
//! `form-w2` gives, the RT totals equal to the sums of the RW fields and the RF
//! count; and the refusals (an employee without identity, an SSN SSA never issues,
//! an employee not paid in the year).

use serde_json::{Value, json};

use super::{call, clerk, fails, host};

pub(super) fn address(state: &str) -> Value {
    json!({"delivery": "1500 Market Street", "city": "Philadelphia", "state": state, "zip": "19102"})
}

fn input(employees: Value) -> Value {
    input_of(2026, employees)
}

/// The call's input for `year`: the submitter and employer every test uses.
pub(super) fn input_of(year: u16, employees: Value) -> Value {
    json!({
        "year": year,
        "submitter": {"ein": "23-1234567", "user-id": "ACME0001", "name": "Acme Widgets Inc",
                      "address": address("PA"), "contact-name": "Alice Clerk",
                      "contact-phone": "2155550100", "contact-email": "payroll@acme.example"},
        "employer": {"ein": "231234567", "name": "Acme Widgets Inc", "address": address("PA")},
        "employees": employees,
    })
}

/// Positions 1-based inclusive, as in Pub. 42-007 (and 42-014).
pub(super) fn at(record: &str, from: usize, to: usize) -> &str {
    &record[from - 1..to]
}

fn cents(record: &str, from: usize, to: usize) -> i64 {
    at(record, from, to).parse().unwrap()
}

#[test]
fn the_w2s_of_a_year_as_an_efw2_file() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    for (id, salary, profile) in [
        (
            "U1",
            9_000_000,
            json!({"filing-status": "single", "401k": 50_000, "state": "PA"}),
        ),
        (
            "U2",
            6_000_000,
            json!({"filing-status": "married-filing-jointly", "state": "TX"}),
        ),
    ] {
        call(
            &t,
            &alice,
            "set-employee",
            json!({"id": id, "name": format!("Employee {id}"), "country": "US",
                   "frequency": "monthly", "salary": salary, "start-date": "2026-01-01",
                   "profile": profile}),
        );
    }
    for (m, last) in [(1, 31), (2, 28)] {
        let run = call(
            &t,
            &alice,
            "create-run",
            json!({"frequency": "monthly", "period-start": format!("2026-{m:02}-01"),
                   "period-end": format!("2026-{m:02}-{last}"), "pay-date": format!("2026-{m:02}-{last}")}),
        );
        call(&t, &bob, "approve-run", json!({"id": run["id"]}));
    }
    let ids = json!({
        "U1": {"ssn": "123-45-6789", "first-name": "Ana", "middle-name": "M", "last-name": "Lopez",
               "address": address("NJ")},
        "U2": {"ssn": "234567890", "first-name": "Bo", "last-name": "Smith", "suffix": "Jr",
               "address": {"location": "Apt 2", "delivery": "12 Elm St", "city": "Austin",
                           "state": "tx", "zip": "78701", "zip-extension": "1234"}},
    });
    let out = call(&t, &alice, "form-w2-efw2", input(ids.clone()));
    assert_eq!(out["format"], "EFW2");
    assert_eq!(out["record-length"], 512);
    assert_eq!(out["records"], 6);
    let content = out["content"].as_str().unwrap();
    assert!(content.ends_with("\r\n"));
    let records: Vec<&str> = content.split_terminator("\r\n").collect();
    assert!(records.iter().all(|r| r.len() == 512 && r.is_ascii()));
    let kinds: Vec<&str> = records.iter().map(|r| &r[..2]).collect();
    assert_eq!(kinds, ["RA", "RE", "RW", "RW", "RT", "RF"]);
    let (ra, re, rt) = (records[0], records[1], records[4]);
    assert_eq!((at(ra, 3, 11), at(ra, 12, 19)), ("231234567", "ACME0001"));
    assert_eq!(at(re, 3, 6), "2026");
    assert_eq!(at(re, 8, 16), "231234567");
    assert_eq!(at(re, 40, 96).trim_end(), "ACME WIDGETS INC");

    // Each RW holds the employee's form-w2 boxes.
    let w2 = call(&t, &alice, "form-w2", json!({"year": 2026}));
    let boxes = w2["employees"].as_array().unwrap();
    for (rw, (w, ssn)) in records[2..4]
        .iter()
        .zip(boxes.iter().zip(["123456789", "234567890"]))
    {
        assert_eq!(at(rw, 1, 2), "RW");
        assert_eq!(at(rw, 3, 11), ssn, "{rw}");
        for (from, to, field) in [
            (188, 198, "box-1"),
            (199, 209, "box-2"),
            (210, 220, "box-3"),
            (221, 231, "box-4"),
            (232, 242, "box-5"),
            (243, 253, "box-6"),
            (287, 297, "box-12-d"),
        ] {
            assert_eq!(
                cents(rw, from, to),
                w[field].as_i64().unwrap(),
                "{field} of {}",
                w["employee"]
            );
        }
    }
    let (rw1, rw2) = (records[2], records[3]);
    assert_eq!(at(rw1, 12, 26).trim_end(), "ANA");
    assert_eq!(at(rw1, 27, 41).trim_end(), "M");
    assert_eq!(at(rw1, 42, 61).trim_end(), "LOPEZ");
    assert_eq!(at(rw1, 488, 488), "1", "U1 defers to the 401(k): box 13");
    assert_eq!(at(rw2, 62, 65).trim_end(), "JR");
    assert_eq!(at(rw2, 66, 87).trim_end(), "APT 2");
    assert_eq!(at(rw2, 132, 142), "TX787011234");
    assert_eq!(at(rw2, 488, 488), "0");
    assert!(boxes[0]["box-12-d"].as_i64().unwrap() > 0);
    // RT: the count and the sums.
    assert_eq!(at(rt, 3, 9), "0000002");
    for ((wf, wt), (tf, tt), field) in [
        ((188, 198), (10, 24), "box-1"),
        ((199, 209), (25, 39), "box-2"),
        ((210, 220), (40, 54), "box-3"),
        ((221, 231), (55, 69), "box-4"),
        ((232, 242), (70, 84), "box-5"),
        ((243, 253), (85, 99), "box-6"),
        ((287, 297), (145, 159), "box-12-d"),
    ] {
        let sum = cents(rw1, wf, wt) + cents(rw2, wf, wt);
        assert_eq!(cents(rt, tf, tt), sum, "RT {tf}-{tt}");
        assert_eq!(out["totals"][field], sum);
    }
    assert_eq!(out["totals"]["employees"], 2);
    // RF: the number of RW records in the file.
    assert_eq!(at(records[5], 8, 16), "000000002");
    assert_eq!(at(records[5], 17, 512).trim(), "");

    // Refusals, each naming what to fix.
    let mut one = ids.clone();
    one.as_object_mut().unwrap().remove("U2");
    fails(
        &t,
        &alice,
        "form-w2-efw2",
        input(one),
        400,
        &["employees U2 were paid in 2026 and have no identity"],
    );
    let mut bad = ids.clone();
    bad["U2"]["ssn"] = json!("666-12-3456");
    fails(
        &t,
        &alice,
        "form-w2-efw2",
        input(bad),
        400,
        &["employee U2 ssn", "not a number SSA issues"],
    );
    let mut stray = ids.clone();
    stray["U9"] = ids["U1"].clone();
    fails(
        &t,
        &alice,
        "form-w2-efw2",
        input(stray),
        400,
        &["employee U9 has no US payslip"],
    );
    let mut ein = input(ids);
    ein["employer"]["ein"] = json!("07-1234567");
    fails(
        &t,
        &alice,
        "form-w2-efw2",
        ein,
        400,
        &["employer ein", "prefix"],
    );
}

/// RS state records (Pub. 42-007, RS record) for the states `payroll-us` withholds
/// income tax for (IL, PA), one employee each, and one in Texas (no state income
/// tax: no RS): each RS follows its employee's RW with the state's numeric code
/// (positions 3-4 and 274-275: IL 17, PA 42), the employer account
/// number given (248-267) and the `form-w2` boxes 16 and 17 (276-286, 287-297); the
/// RT totals and the RF count stay those of the RW records.
#[test]
fn rs_state_records_for_the_states_payroll_us_covers() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let staff = [("S1", "IL", "17"), ("S2", "PA", "42"), ("S3", "TX", "")];
    for (id, state, _) in staff {
        call(
            &t,
            &alice,
            "set-employee",
            json!({"id": id, "name": format!("Employee {id}"), "country": "US",
                   "frequency": "monthly", "salary": 7_200_000, "start-date": "2025-01-01",
                   "profile": {"filing-status": "single", "state": state}}),
        );
    }
    for (m, last) in [(1, 31), (2, 28)] {
        let run = call(
            &t,
            &alice,
            "create-run",
            json!({"frequency": "monthly", "period-start": format!("2025-{m:02}-01"),
                   "period-end": format!("2025-{m:02}-{last}"), "pay-date": format!("2025-{m:02}-{last}")}),
        );
        call(&t, &bob, "approve-run", json!({"id": run["id"]}));
    }
    let mut ids = json!({});
    for (n, (id, _, _)) in staff.iter().enumerate() {
        ids[*id] = json!({"ssn": format!("12345678{n}"), "first-name": "Ana", "last-name": format!("Lopez{n}"),
                          "address": address("PA")});
    }
    // Illinois's allowance amounts are those of 2025 (Booklet IL-700-T): a 2025 file.
    let year_2025 = |ids: Value| {
        let mut b = input(ids);
        b["year"] = json!(2025);
        b
    };
    let mut body = year_2025(ids.clone());
    body["states"] = json!({"IL": {"account": "IL-0042"}, "PA": {"account": "87654321"}});
    let out = call(&t, &alice, "form-w2-efw2", body.clone());
    let content = out["content"].as_str().unwrap();
    let records: Vec<&str> = content.split_terminator("\r\n").collect();
    assert!(records.iter().all(|r| r.len() == 512 && r.is_ascii()));
    let kinds: Vec<&str> = records.iter().map(|r| &r[..2]).collect();
    assert_eq!(
        kinds,
        ["RA", "RE", "RW", "RS", "RW", "RS", "RW", "RT", "RF"]
    );
    assert_eq!(out["records"], 9);
    let w2 = call(&t, &alice, "form-w2", json!({"year": 2025}));
    let boxes = w2["employees"].as_array().unwrap();
    let accounts = ["IL-0042", "87654321"];
    for (i, (id, state, code)) in staff[..2].iter().enumerate() {
        let (rw, rs) = (records[2 + 2 * i], records[3 + 2 * i]);
        assert_eq!(at(rs, 10, 18), at(rw, 3, 11), "{id}: the RW's SSN");
        assert_eq!(at(rs, 49, 68), at(rw, 42, 61), "{id}: the RW's last name");
        assert_eq!(
            (at(rs, 3, 4), at(rs, 274, 275)),
            (*code, *code),
            "{id} {state}"
        );
        assert_eq!(at(rs, 248, 267).trim_end(), accounts[i]);
        let w = &boxes[i];
        assert_eq!(w["employee"], *id);
        let s = &w["states"][0];
        assert_eq!(s["state"], *state);
        assert_eq!(
            cents(rs, 276, 286),
            s["wages"].as_i64().unwrap(),
            "{id} box 16"
        );
        assert_eq!(
            cents(rs, 287, 297),
            s["tax"].as_i64().unwrap(),
            "{id} box 17"
        );
        assert!(cents(rs, 287, 297) > 0, "{id} {state} withholds income tax");
    }
    // RT and RF: the three RW records only.
    let (rt, rf) = (records[7], records[8]);
    assert_eq!(at(rt, 3, 9), "0000003");
    let rws: Vec<&str> = records
        .iter()
        .copied()
        .filter(|r| r.starts_with("RW"))
        .collect();
    assert_eq!(
        cents(rt, 10, 24),
        rws.iter().map(|r| cents(r, 188, 198)).sum::<i64>()
    );
    assert_eq!(at(rf, 8, 16), "000000003");
    // Without "states": no RS record, and not-included names the states.
    let plain = call(&t, &alice, "form-w2-efw2", year_2025(ids.clone()));
    assert_eq!(plain["records"], 7);
    assert!(
        plain["not-included"]
            .to_string()
            .contains("RS state records of IL, PA"),
        "{}",
        plain["not-included"]
    );
    // A state payroll-us does not withhold for is refused, naming those it does.
    let mut texas = year_2025(ids);
    texas["states"] = json!({"TX": {"account": "1"}});
    fails(
        &t,
        &alice,
        "form-w2-efw2",
        texas,
        400,
        &["\"TX\"", "IL, PA"],
    );
}
