//! The W-2cs of a year as an SSA EFW2C file through the real host (issue 22, item
//! 6): December 2025 corrected after the W-2s of 2025 were recorded as filed; the
//! file's records are 1,024 characters with CR LF, in the order RCA, RCE, RCW, RCT,
//! RCF; each RCW carries, for every box `form-w2c` lists, the amount previously
//! reported and the correct one at the positions of SSA Publication 42-014, and
//! blanks for the boxes not corrected; the RCT sums equal the RCW fields; the RCF
//! counts them; and the refusals (an employee with a W-2c and no identity, an
//! identity for someone without a W-2c).

use serde_json::{Value, json};

use super::efw2::{address, at, input_of};
use super::prior_year::month_run;
use super::{call, clerk, fails, host};

fn input(employees: Value) -> Value {
    input_of(2025, employees)
}

/// (box, RCW originally reported from, RCW correct from, RCT originally reported
/// from, RCT correct from): Pub. 42-014, RCW and RCT records.
const FIELDS: [(&str, usize, usize, usize, usize); 7] = [
    ("box-1", 244, 255, 11, 26),
    ("box-2", 266, 277, 41, 56),
    ("box-3", 288, 299, 71, 86),
    ("box-4", 310, 321, 101, 116),
    ("box-5", 332, 343, 131, 146),
    ("box-6", 354, 365, 161, 176),
    ("box-12-d", 442, 453, 281, 296),
];

#[test]
fn the_w2cs_of_a_year_as_an_efw2c_file() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    let profile = |state: &str| json!({"filing-status": "single", "state": state});
    for (id, salary, state) in [("U1", 6_000_000, "PA"), ("U2", 4_800_000, "TX")] {
        call(
            &t,
            &alice,
            "set-employee",
            json!({"id": id, "name": format!("Employee {id}"), "country": "US",
                   "frequency": "monthly", "salary": salary, "start-date": "2025-11-01",
                   "profile": profile(state)}),
        );
    }
    month_run(&t, &alice, &bob, 2025, 11);
    let dec = month_run(&t, &alice, &bob, 2025, 12);
    call(
        &t,
        &alice,
        "record-filing",
        json!({"form": "w-2", "year": 2025, "filed-on": "2026-01-31"}),
    );
    // Nothing changed yet: no W-2c, so no file.
    fails(
        &t,
        &alice,
        "form-w2c-efw2c",
        input(json!({})),
        400,
        &["nothing to correct"],
    );
    // U1's raise to $72,000 from 1 December 2025, recorded late.
    call(
        &t,
        &alice,
        "set-employee",
        json!({"id": "U1", "name": "Employee U1", "country": "US", "frequency": "monthly",
               "salary": 7_200_000, "start-date": "2025-11-01", "effective-date": "2025-12-01",
               "profile": profile("PA")}),
    );
    let adj = call(
        &t,
        &alice,
        "create-adjustment",
        json!({"run": dec, "reason": "December raise recorded late"}),
    );
    call(&t, &bob, "approve-run", json!({"id": adj["id"]}));

    let w2c = call(&t, &alice, "form-w2c", json!({"year": 2025}));
    let list = w2c["employees"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{w2c}");
    let boxes = &list[0]["boxes"];
    assert!(
        boxes["box-1"].is_object() && boxes["box-12-d"].is_null(),
        "{boxes}"
    );

    let ids = json!({"U1": {"ssn": "123-45-6789", "first-name": "Ana", "last-name": "Lopez",
                            "address": address("PA")}});
    let out = call(&t, &alice, "form-w2c-efw2c", input(ids));
    assert_eq!(out["format"], "EFW2C");
    assert_eq!(out["record-length"], 1024);
    assert_eq!(out["records"], 5);
    assert_eq!(out["employees"], 1);
    let content = out["content"].as_str().unwrap();
    assert!(content.ends_with("\r\n"));
    let records: Vec<&str> = content.split_terminator("\r\n").collect();
    assert!(records.iter().all(|r| r.len() == 1024 && r.is_ascii()));
    let kinds: Vec<&str> = records.iter().map(|r| &r[..3]).collect();
    assert_eq!(kinds, ["RCA", "RCE", "RCW", "RCT", "RCF"]);
    let (rca, rce, rcw, rct, rcf) = (records[0], records[1], records[2], records[3], records[4]);
    assert_eq!((at(rca, 4, 12), at(rca, 13, 20)), ("231234567", "ACME0001"));
    assert_eq!((at(rce, 4, 7), at(rce, 17, 25)), ("2025", "231234567"));
    assert_eq!(at(rce, 44, 100).trim_end(), "ACME WIDGETS INC");
    assert_eq!(at(rcw, 4, 12).trim(), "", "the SSN is not corrected");
    assert_eq!(at(rcw, 13, 21), "123456789");
    assert_eq!(at(rcw, 72, 86).trim_end(), "ANA");
    assert_eq!(at(rcw, 102, 121).trim_end(), "LOPEZ");

    // Each box of form-w2c in both iterations; the others blank in both.
    let mut corrected = 0;
    for (name, orig, corr, t_orig, t_corr) in FIELDS {
        let (was, now) = (at(rcw, orig, orig + 10), at(rcw, corr, corr + 10));
        let (t_was, t_now) = (at(rct, t_orig, t_orig + 14), at(rct, t_corr, t_corr + 14));
        match boxes.get(name) {
            Some(b) => {
                corrected += 1;
                assert_eq!(
                    was.parse::<i64>().unwrap(),
                    b["previously-reported"].as_i64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    now.parse::<i64>().unwrap(),
                    b["correct"].as_i64().unwrap(),
                    "{name}"
                );
                // One RCW: the totals are its fields.
                assert_eq!(
                    t_was.parse::<i64>().unwrap(),
                    was.parse::<i64>().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    t_now.parse::<i64>().unwrap(),
                    now.parse::<i64>().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    out["totals"][name],
                    json!({"previously-reported": b["previously-reported"], "correct": b["correct"]})
                );
            }
            None => {
                assert_eq!((was.trim(), now.trim()), ("", ""), "{name} not corrected");
                assert_eq!((t_was.trim(), t_now.trim()), ("", ""), "{name} total");
            }
        }
    }
    // A $1,000 raise for one month under the wage base: boxes 1 to 6 change.
    assert_eq!(corrected, 6);
    assert_eq!(
        boxes["box-1"]["correct"].as_i64().unwrap()
            - boxes["box-1"]["previously-reported"].as_i64().unwrap(),
        100_000
    );
    assert_eq!(at(rct, 4, 10), "0000001");
    assert_eq!(at(rcf, 4, 12), "000000001");
    assert_eq!(at(rcf, 13, 1024).trim(), "");

    // Refusals.
    fails(
        &t,
        &alice,
        "form-w2c-efw2c",
        input(json!({})),
        400,
        &["U1", "no identity"],
    );
    let both = json!({
        "U1": {"ssn": "123-45-6789", "first-name": "Ana", "last-name": "Lopez", "address": address("PA")},
        "U2": {"ssn": "234-56-7890", "first-name": "Bo", "last-name": "Smith", "address": address("TX")},
    });
    fails(
        &t,
        &alice,
        "form-w2c-efw2c",
        input(both),
        400,
        &["U2", "no W-2c"],
    );
}
