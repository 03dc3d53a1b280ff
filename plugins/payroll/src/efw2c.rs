//! The W-2cs of a year in the Social Security Administration's EFW2C layout (issue
//! 22, item 6): "Specifications for Filing Forms W-2c Electronically (EFW2C)", SSA
//! Publication No. 42-014, tax year 2025 edition (the record layouts carry over
//! from earlier years; the "What's New" of the recent editions lists no record
//! layout change).
//!
//! The file is the one uploaded through SSA's Business Services Online: fixed-width
//! ASCII records of exactly 1,024 characters, each followed by CR LF (Pub. 42-014,
//! "File Requirements"), in the order RCA (submitter), RCE (employer), one RCW
//! (employee correction) per employee whose W-2 changed, RCT (totals of the RCW
//! records), RCF (final). The optional RCO/RCU (other amounts), RCS/RCV (state)
//! records are not written: payroll pays no RCO amounts, and state corrections go to
//! each state in its own layout (`form-w2c` gives boxes 16 and 17).
//!
//! **Money fields come in pairs**, "Originally Reported" and "Correct", 11
//! positions each in the RCW and 15 in the RCT. Pub. 42-014 ("How to Complete Money
//! Fields"): a field that is being corrected has both iterations numeric (zeros
//! allowed); a field that is not being corrected has both iterations blank. The
//! originally reported SSN and name are blank unless the SSN or name is corrected
//! (payroll corrects amounts only); the correct SSN and name are always given.
//!
//! The originally reported amounts are those of the W-2 recorded as filed
//! (`record-filing`), the correct ones those of the approved runs now: exactly what
//! `form-w2c` returns. Identities are given in the call, as for `form-w2-efw2`.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::corrections::{W2c, W2cInput, w2c_op};
use crate::efw2::{
    CheckedSubmitter, Employer, Identity, Record, Submitter, address, check_ein, check_ssn, field,
    money, required, with_identities,
};

/// Pub. 42-014, "File Requirements": every record is 1,024 bytes.
pub const RECORD_LENGTH: usize = 1024;

/// A money pair: the `form-w2c` box, the first positions (originally reported,
/// correct) in the RCW and in the RCT.
pub type Pair = (&'static str, (usize, usize), (usize, usize));

/// The RCW money pairs written, by `form-w2c` box: (box, originally reported
/// positions, correct positions) in the RCW, and the matching pair in the RCT
/// (Pub. 42-014, RCW record: wages, tips and other compensation 244-254/255-265,
/// federal income tax withheld 266-276/277-287, social security wages
/// 288-298/299-309, social security tax withheld 310-320/321-331, Medicare wages and
/// tips 332-342/343-353, Medicare tax withheld 354-364/365-375, deferred
/// compensation contributions to section 401(k) (code D) 442-452/453-463; RCT record:
/// the same fields at 11-25/26-40, 41-55/56-70, 71-85/86-100, 101-115/116-130,
/// 131-145/146-160, 161-175/176-190 and 281-295/296-310).
pub const PAIRS: [Pair; 7] = [
    ("box-1", (244, 255), (11, 26)),
    ("box-2", (266, 277), (41, 56)),
    ("box-3", (288, 299), (71, 86)),
    ("box-4", (310, 321), (101, 116)),
    ("box-5", (332, 343), (131, 146)),
    ("box-6", (354, 365), (161, 176)),
    ("box-12-d", (442, 453), (281, 296)),
];

/// Width of an RCW money field (Pub. 42-014: 11 positions, dollars and cents).
const RCW_MONEY: usize = 11;
/// Width of an RCT money field (15 positions).
const RCT_MONEY: usize = 15;

/// A written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub content: String,
    pub records: u64,
    /// Per box corrected in any RCW: (originally reported, correct) sums, cents.
    pub totals: BTreeMap<String, (i64, i64)>,
    pub employees: u64,
}

/// Write the EFW2C file of `year` for the W-2cs and identities given, in the order
/// given. Errors name the field and what to fix.
pub fn write(
    year: u16,
    submitter: &Submitter,
    employer: &Employer,
    employees: &[(&W2c, &Identity)],
) -> Result<File, String> {
    let mut out = String::with_capacity((employees.len() + 4) * (RECORD_LENGTH + 2));

    // RCA, Submitter Record (Pub. 42-014, "RCA Record").
    let CheckedSubmitter {
        ein: s_ein,
        user,
        name: s_name,
        address: s_addr,
        contact,
        phone,
        ext,
        email,
        preparer,
        wfid,
    } = submitter.check()?;
    let user = user.as_str();
    let mut rca = Record::sized("RCA", RECORD_LENGTH);
    rca.text(4, 12, &s_ein);
    rca.text(13, 20, user);
    // 21-24 software vendor code: blank (not off-the-shelf software); 25-29 blank.
    // 30-31 software code: 98, in-house program.
    rca.text(30, 31, "98");
    rca.text(32, 88, &s_name);
    rca.text(89, 110, &s_addr.location);
    rca.text(111, 132, &s_addr.delivery);
    rca.text(133, 154, &s_addr.city);
    rca.text(155, 156, &s_addr.state);
    rca.text(157, 161, &s_addr.zip);
    rca.text(162, 165, &s_addr.zip_extension);
    // 166-171 blank; 172-211 foreign address: blank (US addresses only).
    rca.text(212, 238, &contact);
    rca.text(239, 253, &phone);
    rca.text(254, 258, &ext);
    // 259-261 blank.
    rca.text(262, 301, &email);
    // 302-304 blank; 305-314 contact fax: blank; 315 blank.
    rca.text(316, 316, &preparer);
    rca.text(317, 317, if wfid.is_some() { "1" } else { "0" });
    rca.text(318, 323, wfid.as_deref().unwrap_or(""));
    rca.finish(&mut out);

    // RCE, Employer Record ("RCE Record").
    let e_ein = check_ein("employer ein", &employer.ein)?;
    let e_name = required("employer name", &employer.name, 57)?;
    let e_addr = address("employer", &employer.address)?;
    let mut rce = Record::sized("RCE", RECORD_LENGTH);
    rce.number(4, 7, u64::from(year));
    // 8-16 originally reported EIN: blank (the EIN is not corrected).
    rce.text(17, 25, &e_ein);
    // 26 agent indicator, 27-35 agent for EIN, 36-39 originally reported and 40-43
    // correct establishment number: blank.
    rce.text(44, 100, &e_name);
    rce.text(101, 122, &e_addr.location);
    rce.text(123, 144, &e_addr.delivery);
    rce.text(145, 166, &e_addr.city);
    rce.text(167, 168, &e_addr.state);
    rce.text(169, 173, &e_addr.zip);
    rce.text(174, 177, &e_addr.zip_extension);
    // 222 originally reported employment code: blank (not corrected); 223 correct
    // employment code R: regular (Form 941).
    rce.text(223, 223, "R");
    rce.finish(&mut out);

    // RCW, Employee Correction Record, one per employee.
    let mut totals: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (c, who) in employees {
        let id = &c.employee;
        let ssn = check_ssn(&format!("employee {id} ssn"), &who.ssn)?;
        if let Some(other) = seen.insert(ssn.clone(), id.clone()) {
            return Err(format!(
                "employees {other} and {id} are given the same SSN; each W-2c is for one person"
            ));
        }
        let mut rcw = Record::sized("RCW", RECORD_LENGTH);
        // 4-12 originally reported SSN: blank (not corrected); 13-21 correct SSN.
        rcw.text(13, 21, &ssn);
        // 22-71 originally reported name: blank (not corrected); 72-121 correct name.
        rcw.text(
            72,
            86,
            &required(&format!("employee {id} first-name"), &who.first_name, 15)?,
        );
        rcw.text(
            87,
            101,
            &field(
                &format!("employee {id} middle-name"),
                who.middle_name.as_deref().unwrap_or(""),
                15,
            )?,
        );
        rcw.text(
            102,
            121,
            &required(&format!("employee {id} last-name"), &who.last_name, 20)?,
        );
        let a = address(&format!("employee {id}"), &who.address)?;
        rcw.text(122, 143, &a.location);
        rcw.text(144, 165, &a.delivery);
        rcw.text(166, 187, &a.city);
        rcw.text(188, 189, &a.state);
        rcw.text(190, 194, &a.zip);
        rcw.text(195, 198, &a.zip_extension);
        // 199-203 blank; 204-243 foreign address: blank.
        for (name, (orig, corr), _) in PAIRS {
            let Some(v) = c.boxes.get(name) else {
                continue;
            };
            let was = money(
                &format!("employee {id} {name} previously reported"),
                v.previously_reported,
                RCW_MONEY as u32,
            )?;
            let now = money(
                &format!("employee {id} {name} correct"),
                v.correct,
                RCW_MONEY as u32,
            )?;
            rcw.number(orig, orig + RCW_MONEY - 1, was);
            rcw.number(corr, corr + RCW_MONEY - 1, now);
            let t = totals.entry(name.to_string()).or_default();
            t.0 += v.previously_reported;
            t.1 += v.correct;
        }
        // 1005-1006 retirement plan indicator (box 13), originally reported and
        // correct: given only when it changes, i.e. box 12 code D went from zero to
        // an amount or back.
        if let Some(d) = c.boxes.get("box-12-d") {
            let (was, now) = (d.previously_reported > 0, d.correct > 0);
            if was != now {
                rcw.text(1005, 1005, if was { "1" } else { "0" });
                rcw.text(1006, 1006, if now { "1" } else { "0" });
            }
        }
        rcw.finish(&mut out);
    }

    // RCT, Total Record: the number of RCW records and, per field corrected in any
    // of them, the sums of both iterations; fields no RCW corrects stay blank.
    let count = employees.len() as u64;
    let mut rct = Record::sized("RCT", RECORD_LENGTH);
    rct.number(4, 10, count);
    for (name, _, (orig, corr)) in PAIRS {
        if let Some((was, now)) = totals.get(name) {
            let was = money(
                &format!("total {name} previously reported"),
                *was,
                RCT_MONEY as u32,
            )?;
            let now = money(&format!("total {name} correct"), *now, RCT_MONEY as u32)?;
            rct.number(orig, orig + RCT_MONEY - 1, was);
            rct.number(corr, corr + RCT_MONEY - 1, now);
        }
    }
    rct.finish(&mut out);

    // RCF, Final Record: 4-12 the number of RCW records in the file.
    let mut rcf = Record::sized("RCF", RECORD_LENGTH);
    rcf.number(4, 12, count);
    rcf.finish(&mut out);

    Ok(File {
        content: out,
        records: count + 4,
        totals,
        employees: count,
    })
}

// ---------------------------------------------------------------------------
// form-w2c-efw2c
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct Efw2cInput {
    year: u16,
    submitter: Submitter,
    employer: Employer,
    /// Per employee id: the identity for the RCW record; every employee `form-w2c`
    /// lists for the year, and only those.
    employees: BTreeMap<String, Identity>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Total {
    previously_reported: i64,
    correct: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Efw2cOut {
    format: &'static str,
    specification: &'static str,
    year: u16,
    record_length: usize,
    records: u64,
    employees: u64,
    /// Per box corrected: the RCT sums, cents.
    totals: BTreeMap<String, Total>,
    content: String,
    not_included: Vec<&'static str>,
}

pub(crate) fn efw2c_op(input: Efw2cInput) -> Result<Efw2cOut> {
    let year = input.year;
    let w2cs = w2c_op(W2cInput {
        year,
        employee: None,
    })?
    .employees;
    let pairs = with_identities(
        &w2cs,
        |c| &c.employee,
        &input.employees,
        |missing| {
            format!(
                "employees {missing} have a W-2c for {year} and no identity in \"employees\" (ssn, first-name, last-name, address): every W-2c of the year goes in the file"
            )
        },
        |stray| {
            format!(
                "employee {stray} has no W-2c for {year} (form-w2c lists who has one); leave them out of \"employees\""
            )
        },
    )?;
    let file = write(year, &input.submitter, &input.employer, &pairs).map_err(Error::invalid)?;
    Ok(Efw2cOut {
        format: "EFW2C",
        specification: "SSA Publication No. 42-014, Specifications for Filing Forms W-2c Electronically (EFW2C), tax year 2025",
        year,
        record_length: RECORD_LENGTH,
        records: file.records,
        employees: file.employees,
        totals: file
            .totals
            .into_iter()
            .map(|(k, (was, now))| {
                (
                    k,
                    Total {
                        previously_reported: was,
                        correct: now,
                    },
                )
            })
            .collect(),
        content: file.content,
        not_included: vec![
            "RCS and RCV state records (boxes 16 and 17): each state sets its own fields; form-w2c gives the state boxes",
            "RCO and RCU records: no other amounts are paid through payroll",
            "employer kind-of-employer and third-party sick pay correction fields: nothing of them is corrected",
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrections::Corrected;
    use crate::efw2::Address;

    fn addr(state: &str) -> Address {
        Address {
            location: None,
            delivery: "1500 Market Street".into(),
            city: "Philadelphia".into(),
            state: state.into(),
            zip: "19102".into(),
            zip_extension: None,
        }
    }

    fn submitter() -> Submitter {
        serde_json::from_value(serde_json::json!({
            "ein": "23-1234567", "user-id": "ACME0001", "name": "Acme Widgets Inc",
            "address": {"delivery": "1500 Market Street", "city": "Philadelphia", "state": "PA", "zip": "19102"},
            "contact-name": "Alice Clerk", "contact-phone": "2155550100",
            "contact-email": "payroll@acme.example"
        }))
        .expect("submitter")
    }

    fn employer() -> Employer {
        serde_json::from_value(serde_json::json!({
            "ein": "231234567", "name": "Acme Widgets Inc",
            "address": {"delivery": "1500 Market Street", "city": "Philadelphia", "state": "PA", "zip": "19102"}
        }))
        .expect("employer")
    }

    fn identity(ssn: &str) -> Identity {
        Identity {
            ssn: ssn.into(),
            first_name: "Ana".into(),
            middle_name: None,
            last_name: "Lopez".into(),
            suffix: None,
            address: addr("NJ"),
        }
    }

    fn w2c(id: &str, boxes: &[(&str, i64, i64)]) -> W2c {
        W2c {
            employee: id.into(),
            name: format!("Employee {id}"),
            filed_on: Date::new(2026, 1, 31).expect("date"),
            boxes: boxes
                .iter()
                .map(|(b, was, now)| {
                    (
                        b.to_string(),
                        Corrected {
                            previously_reported: *was,
                            correct: *now,
                        },
                    )
                })
                .collect(),
            states: vec![],
        }
    }

    fn at(r: &str, from: usize, to: usize) -> &str {
        &r[from - 1..to]
    }

    #[test]
    fn records_of_1024_with_pairs_for_corrected_boxes_only_and_totals() {
        let a = w2c(
            "U1",
            &[("box-1", 100_000, 130_000), ("box-2", 10_000, 13_500)],
        );
        let b = w2c("U2", &[("box-1", 50_000, 40_000), ("box-12-d", 0, 2_500)]);
        let (ia, ib) = (identity("123-45-6789"), identity("234567890"));
        let f = write(2025, &submitter(), &employer(), &[(&a, &ia), (&b, &ib)]).expect("file");
        let records: Vec<&str> = f.content.split_terminator("\r\n").collect();
        assert_eq!(records.len(), 6);
        assert_eq!(f.records, 6);
        assert!(records.iter().all(|r| r.len() == 1024 && r.is_ascii()));
        let ids: Vec<&str> = records.iter().map(|r| &r[..3]).collect();
        assert_eq!(ids, ["RCA", "RCE", "RCW", "RCW", "RCT", "RCF"]);
        let (rca, rce, w1, w2, rct) = (records[0], records[1], records[2], records[3], records[4]);
        assert_eq!(at(rca, 4, 12), "231234567");
        assert_eq!(at(rca, 13, 20), "ACME0001");
        assert_eq!(at(rca, 316, 317), "L0");
        assert_eq!(
            (at(rce, 4, 7), at(rce, 8, 16), at(rce, 17, 25)),
            ("2025", "         ", "231234567")
        );
        assert_eq!(at(rce, 44, 100).trim_end(), "ACME WIDGETS INC");
        assert_eq!(at(rce, 223, 223), "R");
        assert_eq!(at(w1, 4, 12), "         ", "SSN not corrected");
        assert_eq!(at(w1, 13, 21), "123456789");
        assert_eq!(at(w1, 72, 86).trim_end(), "ANA");
        assert_eq!(at(w1, 244, 265), "0000010000000000130000");
        assert_eq!(at(w1, 266, 287), "0000001000000000013500");
        assert_eq!(
            at(w1, 288, 309).trim(),
            "",
            "box 3 not corrected: both blank"
        );
        assert_eq!(at(w1, 442, 463).trim(), "");
        assert_eq!(at(w2, 442, 463), "0000000000000000002500");
        assert_eq!(
            at(w2, 1005, 1006),
            "01",
            "box 13 retirement plan now checked"
        );
        assert_eq!(at(w1, 1005, 1006), "  ");
        assert_eq!(at(rct, 4, 10), "0000002");
        assert_eq!(at(rct, 11, 40), "000000000150000000000000170000");
        assert_eq!(at(rct, 41, 70), "000000000010000000000000013500");
        assert_eq!(at(rct, 71, 100).trim(), "");
        assert_eq!(at(rct, 281, 310), "000000000000000000000000002500");
        assert_eq!(f.totals["box-1"], (150_000, 170_000));
    }

    #[test]
    fn the_final_record_counts_the_rcw_records_and_bad_input_is_named() {
        let a = w2c("U1", &[("box-1", 100_000, 130_000)]);
        let ia = identity("123-45-6789");
        let f = write(2025, &submitter(), &employer(), &[(&a, &ia)]).expect("file");
        let rcf = f.content.split_terminator("\r\n").last().expect("rcf");
        assert_eq!(at(rcf, 1, 12), "RCF000000001");
        assert_eq!(rcf[12..].trim(), "");
        let bad = identity("666-12-3456");
        let e = write(2025, &submitter(), &employer(), &[(&a, &bad)]).unwrap_err();
        assert!(e.contains("employee U1 ssn"), "{e}");
        let neg = w2c("U1", &[("box-2", 100, -5)]);
        let e = write(2025, &submitter(), &employer(), &[(&neg, &ia)]).unwrap_err();
        assert!(e.contains("box-2 correct is negative"), "{e}");
    }
}
