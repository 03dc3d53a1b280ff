//! The W-2s of a year in the Social Security Administration's EFW2 layout (issue 22,
//! item 6): "Specifications for Filing Forms W-2 Electronically (EFW2)", SSA
//! Publication No. 42-007, tax year 2025 edition (the record layouts have been
//! unchanged since tax year 2023: "For tax year 2023, there are no record layout
//! changes", and the 2024 and 2025 editions list none either).
//!
//! The file is the one uploaded through SSA's Business Services Online (BSO):
//! fixed-width ASCII records of exactly 512 characters, each followed by a carriage
//! return and line feed (Pub. 42-007, section 4.2 "File Requirements"), in the order
//! RA (submitter), RE (employer), one RW (employee wages) per employee, RT (totals of
//! the RW records since the RE), RF (final: the number of RW records in the file).
//! Alphabetic characters are upper case; text fields are left-justified and filled
//! with blanks; money fields are dollars and cents without a decimal point,
//! right-justified and filled with zeros (an RW money field has 11 positions, an RT
//! one 15). The optional RO, RU and RV records are not written: this payroll has
//! no amounts for the RO/RU fields (Puerto Rico, territories, box 12 codes other
//! than D) and the RV state total record's fields are defined by each state. RS
//! state wage records are written for the states given in the call (see
//! [`write_with_states`]).
//!
//! Payroll does not store employees' SSNs, names split as SSA wants them or
//! addresses, nor the employer's EIN: they are given in the call and used only to
//! write the file.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::corrections::current_w2s;
use crate::filings::{MAX_FILING_PAGE, W2};

/// Pub. 42-007, section 4.2: every record is 512 bytes.
pub const RECORD_LENGTH: usize = 512;

/// A postal address as EFW2 takes it (RA, RE and RW: location address 22,
/// delivery address 22, city 22, state abbreviation 2, ZIP code 5, extension 4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Address {
    /// Attention, suite, room number.
    #[serde(default)]
    pub location: Option<String>,
    /// Street or post office box.
    pub delivery: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    #[serde(default)]
    pub zip_extension: Option<String>,
}

/// The RA record's submitter.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Submitter {
    pub ein: String,
    /// The eight-character BSO User ID of the person attesting the file.
    pub user_id: String,
    pub name: String,
    pub address: Address,
    pub contact_name: String,
    pub contact_phone: String,
    #[serde(default)]
    pub contact_phone_extension: Option<String>,
    pub contact_email: String,
    /// `A` accounting firm, `L` self-prepared (default), `S` service bureau, `P`
    /// parent company, `O` other.
    #[serde(default)]
    pub preparer_code: Option<String>,
    /// A resubmission: the Wage File Identifier of SSA's notice.
    #[serde(default)]
    pub resubmission_wfid: Option<String>,
}

/// The RE record's employer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Employer {
    pub ein: String,
    pub name: String,
    pub address: Address,
    /// `N` none apply (default), `F` federal government, `S` state or local
    /// government, `T` tax-exempt employer, `Y` state or local tax-exempt employer.
    #[serde(default)]
    pub kind_of_employer: Option<String>,
    /// The business stopped in the year (RE position 26).
    #[serde(default)]
    pub terminating_business: bool,
}

/// One employee's identity for the RW record.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Identity {
    pub ssn: String,
    pub first_name: String,
    #[serde(default)]
    pub middle_name: Option<String>,
    pub last_name: String,
    #[serde(default)]
    pub suffix: Option<String>,
    pub address: Address,
}

/// The RT totals, cents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Totals {
    pub employees: u64,
    pub box_1: i64,
    pub box_2: i64,
    pub box_3: i64,
    pub box_4: i64,
    pub box_5: i64,
    pub box_6: i64,
    pub box_12_d: i64,
}

/// A written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The records, each 512 characters and CR LF.
    pub content: String,
    pub records: u64,
    pub totals: Totals,
}

/// One record being filled; positions are 1-based and inclusive, as in Pub. 42-007.
pub(crate) struct Record(Vec<u8>);

impl Record {
    fn new(id: &str) -> Record {
        Record::sized(id, RECORD_LENGTH)
    }

    /// A blank record of `len` characters starting with `id` (EFW2C records are
    /// 1,024 characters, Pub. 42-014).
    pub(crate) fn sized(id: &str, len: usize) -> Record {
        let mut r = Record(vec![b' '; len]);
        r.0[..id.len()].copy_from_slice(id.as_bytes());
        r
    }

    /// Text, upper case, left-justified, blank-filled; checked to fit before.
    pub(crate) fn text(&mut self, from: usize, to: usize, value: &str) {
        let bytes = value.as_bytes();
        let n = bytes.len().min(to + 1 - from);
        for (i, b) in bytes[..n].iter().enumerate() {
            self.0[from - 1 + i] = b.to_ascii_uppercase();
        }
    }

    /// A number, right-justified and zero-filled; checked to fit before.
    pub(crate) fn number(&mut self, from: usize, to: usize, value: u64) {
        let width = to + 1 - from;
        let s = format!("{value:0width$}");
        self.0[from - 1..to].copy_from_slice(&s.as_bytes()[s.len() - width..]);
    }

    pub(crate) fn finish(self, out: &mut String) {
        out.push_str(std::str::from_utf8(&self.0).unwrap_or_default());
        out.push_str("\r\n");
    }
}

/// A text field: printable ASCII (SSA's character set), at most `width` long.
pub(crate) fn field(name: &str, value: &str, width: usize) -> Result<String, String> {
    let v = value.trim();
    if let Some(c) = v.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(format!(
            "{name} {v:?} has the character {c:?}: EFW2 takes ASCII letters, digits, blanks and punctuation only; spell it without accents"
        ));
    }
    if v.len() > width {
        return Err(format!(
            "{name} {v:?} is {} characters long; EFW2 has {width} positions for it: abbreviate it",
            v.len()
        ));
    }
    Ok(v.to_string())
}

pub(crate) fn required(name: &str, value: &str, width: usize) -> Result<String, String> {
    let v = field(name, value, width)?;
    if v.is_empty() {
        return Err(format!("{name} is required and empty"));
    }
    Ok(v)
}

pub(crate) fn digits(name: &str, value: &str, min: usize, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.len() < min || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
        let size = if min == max {
            format!("{min} digits")
        } else {
            format!("{min} to {max} digits")
        };
        return Err(format!(
            "{name} {v:?} must be {size}, without dashes or blanks"
        ));
    }
    Ok(v.to_string())
}

/// An EIN: nine digits whose first two are a prefix the IRS assigns. Pub. 42-007,
/// RA positions 3-11 and RE positions 8-16: an EIN beginning 07, 08, 09, 17, 18, 19,
/// 28, 29, 49, 69, 70, 78, 79 or 89 is invalid (and 00 is never issued).
pub fn check_ein(name: &str, value: &str) -> Result<String, String> {
    let v = digits(name, &value.replace('-', ""), 9, 9)?;
    const INVALID: [&str; 15] = [
        "00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89",
    ];
    if INVALID.contains(&&v[..2]) {
        return Err(format!(
            "{name} {value:?} begins with {}, a prefix the IRS does not assign; check the EIN on the IRS notice (CP 575)",
            &v[..2]
        ));
    }
    Ok(v)
}

/// An SSN: nine digits; SSA never issues area 000, 666 or 900-999, group 00 or
/// serial 0000 (SSA, "Social Security Number Randomization"), and Pub. 42-007 RW
/// positions 3-11 wants the number as on the card.
pub fn check_ssn(name: &str, value: &str) -> Result<String, String> {
    let v = digits(name, &value.replace('-', ""), 9, 9)?;
    let (area, group, serial) = (&v[..3], &v[3..5], &v[5..]);
    if area == "000" || area == "666" || area.starts_with('9') || group == "00" || serial == "0000"
    {
        return Err(format!(
            "{name} {value:?} is not a number SSA issues (area 000, 666 or 900-999, group 00 or serial 0000); enter the SSN as on the employee's card"
        ));
    }
    Ok(v)
}

/// US states, DC, territories and military post offices (USPS abbreviations), the
/// state abbreviations Pub. 42-007 accepts (Appendix F, "Postal Abbreviations").
const STATES: [&str; 59] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "AA", "AE", "AP",
];

pub(crate) struct CheckedAddress {
    pub(crate) location: String,
    pub(crate) delivery: String,
    pub(crate) city: String,
    pub(crate) state: String,
    pub(crate) zip: String,
    pub(crate) zip_extension: String,
}

pub(crate) fn address(whose: &str, a: &Address) -> Result<CheckedAddress, String> {
    let state = a.state.trim().to_ascii_uppercase();
    if !STATES.contains(&state.as_str()) {
        return Err(format!(
            "{whose} address state {:?} is not a US postal abbreviation (e.g. PA, NY, DC, PR); EFW2 addresses here are US addresses",
            a.state
        ));
    }
    Ok(CheckedAddress {
        location: field(
            &format!("{whose} address location"),
            a.location.as_deref().unwrap_or(""),
            22,
        )?,
        delivery: required(&format!("{whose} address delivery"), &a.delivery, 22)?,
        city: required(&format!("{whose} address city"), &a.city, 22)?,
        state,
        zip: digits(&format!("{whose} address zip"), &a.zip, 5, 5)?,
        zip_extension: match a.zip_extension.as_deref() {
            Some(e) => digits(&format!("{whose} address zip-extension"), e, 4, 4)?,
            None => String::new(),
        },
    })
}

/// Money of an RW (11 positions) or RT (15) field: not negative, fits.
pub(crate) fn money(name: &str, cents: i64, width: u32) -> Result<u64, String> {
    let v = u64::try_from(cents)
        .map_err(|_| format!("{name} is negative ({cents} cents); a W-2 amount is never below zero: correct the payslips first"))?;
    if v >= 10u64.pow(width) {
        return Err(format!(
            "{name} ({cents} cents) does not fit the {width} positions of EFW2"
        ));
    }
    Ok(v)
}
/// The submitter's fields checked as EFW2's RA and EFW2C's RCA record both need them
/// (Pub. 42-007 section 5.2 and Pub. 42-014 "RCA Record" ask the same of them).
pub(crate) struct CheckedSubmitter {
    pub ein: String,
    pub user: String,
    pub name: String,
    pub address: CheckedAddress,
    pub contact: String,
    pub phone: String,
    pub ext: String,
    pub email: String,
    pub preparer: String,
    pub wfid: Option<String>,
}

impl Submitter {
    /// Check every field of the submitter, naming the first one that is wrong.
    pub(crate) fn check(&self) -> Result<CheckedSubmitter, String> {
        let s_ein = check_ein("submitter ein", &self.ein)?;
        let user = self.user_id.trim();
        if user.len() != 8 || !user.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "submitter user-id {user:?} must be the eight-character BSO User ID (letters and digits)"
            ));
        }
        let s_name = required("submitter name", &self.name, 57)?;
        let s_addr = address("submitter", &self.address)?;
        let contact = required("submitter contact-name", &self.contact_name, 27)?;
        let phone = digits("submitter contact-phone", &self.contact_phone, 10, 15)?;
        let ext = match self.contact_phone_extension.as_deref() {
            Some(e) => digits("submitter contact-phone-extension", e, 1, 5)?,
            None => String::new(),
        };
        let email = required("submitter contact-email", &self.contact_email, 40)?;
        if !email.contains('@') {
            return Err(format!(
                "submitter contact-email {email:?} is not an e-mail address"
            ));
        }
        let preparer = self
            .preparer_code
            .as_deref()
            .unwrap_or("L")
            .trim()
            .to_ascii_uppercase();
        if !["A", "L", "S", "P", "O"].contains(&preparer.as_str()) {
            return Err(format!(
                "submitter preparer-code {preparer:?}: give A (accounting firm), L (self-prepared), S (service bureau), P (parent company) or O (other)"
            ));
        }
        let wfid = match self.resubmission_wfid.as_deref() {
            Some(w) => {
                let w = w.trim();
                if w.len() != 6 || !w.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(format!(
                        "submitter resubmission-wfid {w:?} must be the six-character Wage File Identifier of SSA's notice"
                    ));
                }
                Some(w.to_string())
            }
            None => None,
        };
        Ok(CheckedSubmitter {
            ein: s_ein,
            user: user.to_string(),
            name: s_name,
            address: s_addr,
            contact,
            phone,
            ext,
            email,
            preparer,
            wfid,
        })
    }
}

/// Write the EFW2 file of `year` for the W-2s and identities given (in the order
/// given). Errors name the field and what to fix.
pub fn write(
    year: u16,
    submitter: &Submitter,
    employer: &Employer,
    employees: &[(&W2, &Identity)],
) -> Result<File, String> {
    write_with_states(year, submitter, employer, employees, &BTreeMap::new())
}

/// The state numeric codes of the states whose RS record is written (Pub. 42-007,
/// "Appendix: Postal Abbreviations and Numeric Codes"): the states `payroll-us`
/// withholds income tax for (Illinois and Pennsylvania; it refuses California and
/// New York employees, so their W-2s have no box 16 or 17 to report).
pub const RS_STATES: [(&str, &str); 2] = [("IL", "17"), ("PA", "42")];

/// A state's RS record details given in the call.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StateAccount {
    /// The State Employer Account Number the state assigned (RS positions 248-267).
    pub account: String,
}

/// [`write`], with an RS (State Wage) record after each employee's RW for every state
/// of `states` in which the employee has box 16 or 17 amounts (Pub. 42-007, RS record:
/// "The RS Record is optional ... it must follow the RW/RO records of the employee";
/// SSA does not process it, so the RT totals stay those of the RW records).
pub fn write_with_states(
    year: u16,
    submitter: &Submitter,
    employer: &Employer,
    employees: &[(&W2, &Identity)],
    states: &BTreeMap<String, StateAccount>,
) -> Result<File, String> {
    let mut accounts: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    for (state, acct) in states {
        let code = RS_STATES
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(state))
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                format!(
                    "state {state:?}: RS records are written for the states payroll-us withholds income tax for: {}",
                    RS_STATES.map(|(s, _)| s).join(", ")
                )
            })?;
        let abbr = RS_STATES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(s, _)| *s)
            .unwrap_or("");
        let a = required(&format!("states {abbr} account"), &acct.account, 20)?;
        accounts.insert(abbr, (code, a));
    }
    let mut rs_records = 0u64;
    let mut out = String::with_capacity((employees.len() + 4) * (RECORD_LENGTH + 2));

    // RA, Submitter Record (Pub. 42-007, section 5.2).
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
    let mut ra = Record::new("RA");
    ra.text(3, 11, &s_ein);
    ra.text(12, 19, user);
    // 20-23 software vendor code: blank (not off-the-shelf software); 24-28 blank.
    ra.text(29, 29, if wfid.is_some() { "1" } else { "0" });
    ra.text(30, 35, wfid.as_deref().unwrap_or(""));
    // 36-37 software code: 98, in-house program.
    ra.text(36, 37, "98");
    // 38-216: the company; 217-395: the submitter (the same here).
    for (base, name_from, name_to) in [(0usize, 38usize, 94usize), (179, 217, 273)] {
        ra.text(name_from, name_to, &s_name);
        ra.text(95 + base, 116 + base, &s_addr.location);
        ra.text(117 + base, 138 + base, &s_addr.delivery);
        ra.text(139 + base, 160 + base, &s_addr.city);
        ra.text(161 + base, 162 + base, &s_addr.state);
        ra.text(163 + base, 167 + base, &s_addr.zip);
        ra.text(168 + base, 171 + base, &s_addr.zip_extension);
    }
    ra.text(396, 422, &contact);
    ra.text(423, 437, &phone);
    ra.text(438, 442, &ext);
    ra.text(446, 485, &email);
    ra.text(500, 500, &preparer);
    ra.finish(&mut out);

    // RE, Employer Record (section 5.3).
    let e_ein = check_ein("employer ein", &employer.ein)?;
    let e_name = required("employer name", &employer.name, 57)?;
    let e_addr = address("employer", &employer.address)?;
    let kind = employer
        .kind_of_employer
        .as_deref()
        .unwrap_or("N")
        .trim()
        .to_ascii_uppercase();
    if !["F", "S", "T", "Y", "N"].contains(&kind.as_str()) {
        return Err(format!(
            "employer kind-of-employer {kind:?}: give N (none apply), F (federal government), S (state or local government), T (tax-exempt employer) or Y (state or local tax-exempt employer)"
        ));
    }
    let mut re = Record::new("RE");
    re.number(3, 6, u64::from(year));
    re.text(8, 16, &e_ein);
    re.text(
        26,
        26,
        if employer.terminating_business {
            "1"
        } else {
            "0"
        },
    );
    re.text(40, 96, &e_name);
    re.text(97, 118, &e_addr.location);
    re.text(119, 140, &e_addr.delivery);
    re.text(141, 162, &e_addr.city);
    re.text(163, 164, &e_addr.state);
    re.text(165, 169, &e_addr.zip);
    re.text(170, 173, &e_addr.zip_extension);
    re.text(174, 174, &kind);
    // 219 employment code R: regular (Form 941); 221 third-party sick pay: 0.
    re.text(219, 219, "R");
    re.text(221, 221, "0");
    re.finish(&mut out);

    // RW, Employee Wage Record (section 5.4), one per employee.
    let mut totals = Totals::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (w, who) in employees {
        let id = &w.employee;
        let ssn = check_ssn(&format!("employee {id} ssn"), &who.ssn)?;
        if let Some(other) = seen.insert(ssn.clone(), id.clone()) {
            return Err(format!(
                "employees {other} and {id} are given the same SSN; each W-2 is for one person"
            ));
        }
        let first = required(&format!("employee {id} first-name"), &who.first_name, 15)?;
        let middle = field(
            &format!("employee {id} middle-name"),
            who.middle_name.as_deref().unwrap_or(""),
            15,
        )?;
        let last = required(&format!("employee {id} last-name"), &who.last_name, 20)?;
        let suffix = field(
            &format!("employee {id} suffix"),
            who.suffix.as_deref().unwrap_or(""),
            4,
        )?;
        let mut rw = Record::new("RW");
        rw.text(3, 11, &ssn);
        rw.text(12, 26, &first);
        rw.text(27, 41, &middle);
        rw.text(42, 61, &last);
        rw.text(62, 65, &suffix);
        let a = address(&format!("employee {id}"), &who.address)?;
        rw.text(66, 87, &a.location);
        rw.text(88, 109, &a.delivery);
        rw.text(110, 131, &a.city);
        rw.text(132, 133, &a.state);
        rw.text(134, 138, &a.zip);
        rw.text(139, 142, &a.zip_extension);
        for (from, to, name, cents) in [
            (188, 198, "box 1", w.box_1),
            (199, 209, "box 2", w.box_2),
            (210, 220, "box 3", w.box_3),
            (221, 231, "box 4", w.box_4),
            (232, 242, "box 5", w.box_5),
            (243, 253, "box 6", w.box_6),
            (287, 297, "box 12 code D", w.box_12_d),
        ] {
            rw.number(
                from,
                to,
                money(&format!("employee {id} {name}"), cents, 11)?,
            );
        }
        // 254-264 social security tips, 276-286 dependent care and the other box
        // 12 codes: 0 (payroll pays none of them).
        for (from, to) in [
            (254, 264),
            (276, 286),
            (298, 308),
            (309, 319),
            (320, 330),
            (331, 341),
            (353, 363),
            (364, 374),
            (375, 385),
            (386, 396),
            (408, 418),
            (419, 429),
            (430, 440),
            (441, 451),
            (452, 462),
            (463, 473),
            (474, 484),
        ] {
            rw.number(from, to, 0);
        }
        // 486 statutory employee: 0; 488 retirement plan (box 13): 1 when the
        // employee deferred to the 401(k) plan; 489 third-party sick pay: 0.
        rw.text(486, 486, "0");
        rw.text(488, 488, if w.box_12_d > 0 { "1" } else { "0" });
        rw.text(489, 489, "0");
        rw.finish(&mut out);
        // RS, State Wage Record (Pub. 42-007, section 5.6), per state of the call in
        // which the employee has state wages or tax.
        for sb in &w.states {
            let Some((code, account)) = accounts.get(sb.state.to_ascii_uppercase().as_str()) else {
                continue;
            };
            if sb.wages == 0 && sb.tax == 0 {
                continue;
            }
            let mut rs = Record::new("RS");
            // 3-4 state code (numeric); 5-9 taxing entity code: blank.
            rs.text(3, 4, code);
            rs.text(10, 18, &ssn);
            // 19-72 employee name and 73-149 address, as in the RW.
            rs.text(19, 33, &first);
            rs.text(34, 48, &middle);
            rs.text(49, 68, &last);
            rs.text(69, 72, &suffix);
            rs.text(73, 94, &a.location);
            rs.text(95, 116, &a.delivery);
            rs.text(117, 138, &a.city);
            rs.text(139, 140, &a.state);
            rs.text(141, 145, &a.zip);
            rs.text(146, 149, &a.zip_extension);
            // 195-247 unemployment insurance data (optional code, reporting period,
            // quarterly UI wages, weeks worked, dates): blank, this is not a UI report.
            // 248-267 state employer account number.
            rs.text(248, 267, account);
            // 274-275 state code; 276-286 state taxable wages (box 16); 287-297 state
            // income tax withheld (box 17).
            rs.text(274, 275, code);
            rs.number(
                276,
                286,
                money(
                    &format!("employee {id} box 16 ({})", sb.state),
                    sb.wages,
                    11,
                )?,
            );
            rs.number(
                287,
                297,
                money(&format!("employee {id} box 17 ({})", sb.state), sb.tax, 11)?,
            );
            // 298-307 other state data, 308 tax type code, 309-330 local wages and
            // tax, 331-337 state control number, 338-487 supplemental data: blank.
            rs.finish(&mut out);
            rs_records += 1;
        }
        totals.employees += 1;
        totals.box_1 += w.box_1;
        totals.box_2 += w.box_2;
        totals.box_3 += w.box_3;
        totals.box_4 += w.box_4;
        totals.box_5 += w.box_5;
        totals.box_6 += w.box_6;
        totals.box_12_d += w.box_12_d;
    }
    if totals.employees == 0 {
        return Err("an EFW2 file needs at least one employee (RW record)".into());
    }

    // RT, Total Record (section 5.7): the RW records since the RE.
    let mut rt = Record::new("RT");
    rt.number(3, 9, totals.employees);
    for (from, to, name, cents) in [
        (10, 24, "total of box 1", totals.box_1),
        (25, 39, "total of box 2", totals.box_2),
        (40, 54, "total of box 3", totals.box_3),
        (55, 69, "total of box 4", totals.box_4),
        (70, 84, "total of box 5", totals.box_5),
        (85, 99, "total of box 6", totals.box_6),
        (145, 159, "total of box 12 code D", totals.box_12_d),
    ] {
        rt.number(from, to, money(name, cents, 15)?);
    }
    for (from, to) in [
        (100, 114),
        (130, 144),
        (160, 174),
        (175, 189),
        (190, 204),
        (205, 219),
        (235, 249),
        (250, 264),
        (265, 279),
        (280, 294),
        (295, 309),
        (310, 324),
        (325, 339),
        (340, 354),
        (355, 369),
        (370, 384),
        (385, 399),
        (400, 414),
    ] {
        rt.number(from, to, 0);
    }
    rt.finish(&mut out);

    // RF, Final Record (section 5.10): the RW records of the whole file.
    let mut rf = Record::new("RF");
    rf.number(8, 16, totals.employees);
    rf.finish(&mut out);
    Ok(File {
        content: out,
        records: totals.employees + rs_records + 4,
        totals,
    })
}

// ---------------------------------------------------------------------------
// form-w2-efw2
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct Efw2Input {
    year: u16,
    submitter: Submitter,
    employer: Employer,
    /// Per employee id: the identity for the RW record; every US employee paid in
    /// the year, and only those.
    employees: BTreeMap<String, Identity>,
    /// Per state (IL, PA): its employer account number; an RS record is
    /// written per employee with wages or tax in it. None: no RS records.
    #[serde(default)]
    states: BTreeMap<String, StateAccount>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Efw2Out {
    format: &'static str,
    specification: &'static str,
    year: u16,
    record_length: usize,
    records: u64,
    totals: Totals,
    /// The file: records of 512 characters, each ending CR LF.
    content: String,
    /// What the file leaves out.
    not_included: Vec<String>,
}

pub(crate) fn efw2_op(input: Efw2Input) -> Result<Efw2Out> {
    let year = input.year;
    let w2s = current_w2s(year, None)?.w2s;
    if w2s.len() as u32 > MAX_FILING_PAGE {
        return Err(Error::invalid(format!(
            "{} US employees were paid in {year}, more than the {MAX_FILING_PAGE} one EFW2 answer holds; this version writes one file per call: upload the W-2s through SSA's BSO in another way",
            w2s.len()
        )));
    }
    let pairs = with_identities(
        &w2s,
        |w| &w.employee,
        &input.employees,
        |missing| {
            format!(
                "employees {missing} were paid in {year} and have no identity in \"employees\" (ssn, first-name, last-name, address): every W-2 of the year goes in the file"
            )
        },
        |stray| {
            format!(
                "employee {stray} has no US payslip in an approved run paid in {year}; leave them out of \"employees\""
            )
        },
    )?;
    let file = write_with_states(
        year,
        &input.submitter,
        &input.employer,
        &pairs,
        &input.states,
    )
    .map_err(Error::invalid)?;
    // States with box 16 or 17 amounts and no RS record.
    let mut without: Vec<String> = w2s
        .iter()
        .flat_map(|w| &w.states)
        .filter(|s| s.wages != 0 || s.tax != 0)
        .map(|s| s.state.to_ascii_uppercase())
        .filter(|s| !input.states.keys().any(|k| k.eq_ignore_ascii_case(s)))
        .collect();
    without.sort();
    without.dedup();
    let mut not_included = vec![
        "RO and RU records: no Puerto Rico, territory or other box 12 amounts are paid through payroll".to_string(),
        "RV state total record: its fields are defined by each state (Pub. 42-007); SSA does not process RS data, so the RT totals are those of the RW records".to_string(),
    ];
    if !without.is_empty() {
        not_included.push(format!(
            "RS state records of {}: give each state's employer account number in \"states\" (IL, PA); form-w2 gives the state boxes",
            without.join(", ")
        ));
    }
    Ok(Efw2Out {
        format: "EFW2",
        specification: "SSA Publication No. 42-007, Specifications for Filing Forms W-2 Electronically (EFW2), tax year 2025",
        year,
        record_length: RECORD_LENGTH,
        records: file.records,
        totals: file.totals,
        content: file.content,
        not_included,
    })
}

/// Each form of the file with the identity the call gives for its employee: every
/// form needs one (`missing` words the refusal, given the employees without), and
/// every identity needs a form (`stray` words the refusal, given the first without).
pub(crate) fn with_identities<'a, F>(
    forms: &'a [F],
    employee: impl Fn(&F) -> &String,
    identities: &'a BTreeMap<String, Identity>,
    missing: impl FnOnce(String) -> String,
    stray: impl FnOnce(&str) -> String,
) -> Result<Vec<(&'a F, &'a Identity)>> {
    let without: Vec<&str> = forms
        .iter()
        .map(&employee)
        .filter(|e| !identities.contains_key(*e))
        .map(String::as_str)
        .collect();
    if !without.is_empty() {
        return Err(Error::invalid(missing(without.join(", "))));
    }
    if let Some(id) = identities
        .keys()
        .find(|id| !forms.iter().any(|f| employee(f) == *id))
    {
        return Err(Error::invalid(stray(id)));
    }
    Ok(forms
        .iter()
        .map(|f| (f, &identities[employee(f)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filings::StateBoxes;

    fn addr(state: &str) -> Address {
        Address {
            location: Some("Suite 400".into()),
            delivery: "1500 Market Street".into(),
            city: "Philadelphia".into(),
            state: state.into(),
            zip: "19102".into(),
            zip_extension: Some("2101".into()),
        }
    }

    fn submitter() -> Submitter {
        Submitter {
            ein: "23-1234567".into(),
            user_id: "ACME0001".into(),
            name: "Acme Widgets Inc".into(),
            address: addr("PA"),
            contact_name: "Alice Clerk".into(),
            contact_phone: "2155550100".into(),
            contact_phone_extension: None,
            contact_email: "payroll@acme.example".into(),
            preparer_code: None,
            resubmission_wfid: None,
        }
    }

    fn employer() -> Employer {
        Employer {
            ein: "231234567".into(),
            name: "Acme Widgets Inc".into(),
            address: addr("PA"),
            kind_of_employer: None,
            terminating_business: false,
        }
    }

    fn w2(id: &str, box_1: i64, box_12_d: i64) -> W2 {
        W2 {
            employee: id.into(),
            name: format!("Employee {id}"),
            box_1,
            box_2: box_1 / 10,
            box_3: box_1 + box_12_d,
            box_4: (box_1 + box_12_d) * 62 / 1000,
            box_5: box_1 + box_12_d,
            box_6: (box_1 + box_12_d) * 145 / 10_000,
            box_12_d,
            states: vec![],
            runs: vec!["r-000001".into()],
        }
    }

    fn person(ssn: &str, first: &str, last: &str) -> Identity {
        Identity {
            ssn: ssn.into(),
            first_name: first.into(),
            middle_name: None,
            last_name: last.into(),
            suffix: None,
            address: addr("NJ"),
        }
    }

    /// Positions 1-based inclusive, as in Pub. 42-007.
    fn at(record: &str, from: usize, to: usize) -> &str {
        &record[from - 1..to]
    }

    #[test]
    fn records_are_512_characters_with_fields_in_place_and_totals() {
        let (a, b) = (w2("U1", 8_550_000, 450_000), w2("U2", 6_000_000, 0));
        let (pa, pb) = (
            person("123-45-6789", "Ana", "Lopez-Garcia"),
            person("234567890", "Bo", "Smith"),
        );
        let f = write(2025, &submitter(), &employer(), &[(&a, &pa), (&b, &pb)]).unwrap();
        assert_eq!(f.records, 6);
        assert!(f.content.ends_with("\r\n"));
        let records: Vec<&str> = f.content.split_terminator("\r\n").collect();
        assert_eq!(records.len(), 6);
        for r in &records {
            assert_eq!(r.len(), RECORD_LENGTH, "{r}");
            assert!(r.is_ascii());
        }
        let ids: Vec<&str> = records.iter().map(|r| &r[..2]).collect();
        assert_eq!(ids, ["RA", "RE", "RW", "RW", "RT", "RF"]);
        let (ra, re, rw1, rw2, rt) = (records[0], records[1], records[2], records[3], records[4]);
        assert_eq!(at(ra, 3, 11), "231234567");
        assert_eq!(at(ra, 12, 19), "ACME0001");
        assert_eq!(at(ra, 29, 29), "0");
        assert_eq!(at(ra, 36, 37), "98");
        assert_eq!(at(ra, 38, 94).trim_end(), "ACME WIDGETS INC");
        assert_eq!(at(ra, 161, 162), "PA");
        assert_eq!(at(ra, 163, 171), "191022101");
        assert_eq!(at(ra, 217, 273).trim_end(), "ACME WIDGETS INC");
        assert_eq!(at(ra, 318, 339).trim_end(), "PHILADELPHIA");
        assert_eq!(at(ra, 396, 422).trim_end(), "ALICE CLERK");
        assert_eq!(at(ra, 423, 437).trim_end(), "2155550100");
        assert_eq!(at(ra, 446, 485).trim_end(), "PAYROLL@ACME.EXAMPLE");
        assert_eq!(at(ra, 500, 500), "L");
        assert_eq!(at(re, 3, 6), "2025");
        assert_eq!(at(re, 8, 16), "231234567");
        assert_eq!(at(re, 26, 26), "0");
        assert_eq!(at(re, 40, 96).trim_end(), "ACME WIDGETS INC");
        assert_eq!(at(re, 119, 140).trim_end(), "1500 MARKET STREET");
        assert_eq!(at(re, 174, 174), "N");
        assert_eq!(at(re, 219, 219), "R");
        assert_eq!(at(rw1, 3, 11), "123456789");
        assert_eq!(at(rw1, 12, 26).trim_end(), "ANA");
        assert_eq!(at(rw1, 42, 61).trim_end(), "LOPEZ-GARCIA");
        assert_eq!(at(rw1, 132, 133), "NJ");
        // $85,500.00 in box 1; $4,500.00 of 401(k) deferrals; retirement plan box.
        assert_eq!(at(rw1, 188, 198), "00008550000");
        assert_eq!(at(rw1, 287, 297), "00000450000");
        assert_eq!(at(rw1, 488, 488), "1");
        assert_eq!(at(rw2, 488, 488), "0");
        assert_eq!(at(rw2, 3, 11), "234567890");
        assert_eq!(at(rw1, 254, 264), "00000000000");
        // RT: the count and the sums of the RW fields.
        assert_eq!(at(rt, 3, 9), "0000002");
        let sum = |from: usize, to: usize| -> u64 {
            at(rw1, from, to).parse::<u64>().unwrap() + at(rw2, from, to).parse::<u64>().unwrap()
        };
        for ((wf, wt), (tf, tt)) in [
            ((188, 198), (10, 24)),
            ((199, 209), (25, 39)),
            ((210, 220), (40, 54)),
            ((221, 231), (55, 69)),
            ((232, 242), (70, 84)),
            ((243, 253), (85, 99)),
            ((287, 297), (145, 159)),
        ] {
            assert_eq!(
                at(rt, tf, tt).parse::<u64>().unwrap(),
                sum(wf, wt),
                "RT {tf}-{tt}"
            );
            assert_eq!(tt + 1 - tf, 15);
        }
        assert_eq!(f.totals.box_1, 14_550_000);
        // RF: the RW records of the file, blanks around.
        let rf = records[5];
        assert_eq!(at(rf, 3, 7), "     ");
        assert_eq!(at(rf, 8, 16), "000000002");
        assert_eq!(at(rf, 17, 512).trim(), "");
    }

    #[test]
    fn bad_identities_are_refused_by_name() {
        let a = w2("U1", 100_000, 0);
        let good = person("123456789", "Ana", "Lopez");
        let try_with =
            |p: &Identity| write(2025, &submitter(), &employer(), &[(&a, p)]).unwrap_err();
        assert!(try_with(&person("666123456", "Ana", "Lopez")).contains("employee U1 ssn"));
        assert!(try_with(&person("12345678", "Ana", "Lopez")).contains("9 digits"));
        assert!(try_with(&person("123456789", "Ana", "")).contains("last-name is required"));
        assert!(try_with(&person("123456789", "Zoë", "Lopez")).contains("ASCII"));
        assert!(
            try_with(&person("123456789", "Ana", "A very long last name indeed"))
                .contains("20 positions")
        );
        let mut far = good.clone();
        far.address.state = "ZZ".into();
        assert!(try_with(&far).contains("postal abbreviation"));
        let mut s = submitter();
        s.ein = "07-1234567".into();
        assert!(
            write(2025, &s, &employer(), &[(&a, &good)])
                .unwrap_err()
                .contains("prefix")
        );
        let mut s = submitter();
        s.user_id = "ABC".into();
        assert!(
            write(2025, &s, &employer(), &[(&a, &good)])
                .unwrap_err()
                .contains("BSO User ID")
        );
        let b = w2("U2", 100_000, 0);
        assert!(
            write(2025, &submitter(), &employer(), &[(&a, &good), (&b, &good)])
                .unwrap_err()
                .contains("same SSN")
        );
        let neg = w2("U3", -5, 0);
        assert!(
            write(2025, &submitter(), &employer(), &[(&neg, &good)])
                .unwrap_err()
                .contains("negative")
        );
        assert!(
            write(2025, &submitter(), &employer(), &[])
                .unwrap_err()
                .contains("at least one")
        );
    }

    #[test]
    fn rs_records_follow_each_rw_for_the_states_given_and_leave_rt_alone() {
        let mut a = w2("U1", 100_000, 0);
        a.states = vec![
            StateBoxes {
                state: "PA".into(),
                wages: 60_000,
                tax: 1_842,
            },
            StateBoxes {
                state: "IL".into(),
                wages: 40_000,
                tax: 1_600,
            },
        ];
        let mut b = w2("U2", 50_000, 0);
        b.states = vec![StateBoxes {
            state: "TX".into(),
            wages: 50_000,
            tax: 0,
        }];
        let (pa, pb) = (
            person("123456789", "Ana", "Lopez"),
            person("234567890", "Bo", "Smith"),
        );
        let acct = |n: &str| StateAccount { account: n.into() };
        let states: BTreeMap<String, StateAccount> = [
            ("pa".to_string(), acct("12345678")),
            ("IL".to_string(), acct("IL-99")),
        ]
        .into_iter()
        .collect();
        let f = write_with_states(
            2025,
            &submitter(),
            &employer(),
            &[(&a, &pa), (&b, &pb)],
            &states,
        )
        .expect("file");
        let records: Vec<&str> = f.content.split_terminator("\r\n").collect();
        let kinds: Vec<&str> = records.iter().map(|r| &r[..2]).collect();
        assert_eq!(kinds, ["RA", "RE", "RW", "RS", "RS", "RW", "RT", "RF"]);
        assert_eq!(f.records, 8);
        assert!(records.iter().all(|r| r.len() == 512));
        // The employee's states in their W-2 order: PA (42) then IL (17).
        let (rs_pa, rs_il) = (records[3], records[4]);
        assert_eq!((at(rs_pa, 3, 4), at(rs_pa, 274, 275)), ("42", "42"));
        assert_eq!((at(rs_il, 3, 4), at(rs_il, 274, 275)), ("17", "17"));
        assert_eq!(at(rs_pa, 10, 18), "123456789");
        assert_eq!(at(rs_pa, 19, 33).trim_end(), "ANA");
        assert_eq!(at(rs_pa, 49, 68).trim_end(), "LOPEZ");
        assert_eq!(at(rs_pa, 139, 145), "NJ19102");
        assert_eq!(at(rs_pa, 248, 267).trim_end(), "12345678");
        assert_eq!(at(rs_il, 248, 267).trim_end(), "IL-99");
        assert_eq!(at(rs_pa, 276, 286), "00000060000");
        assert_eq!(at(rs_pa, 287, 297), "00000001842");
        assert_eq!(at(rs_il, 276, 297), "0000004000000000001600");
        assert_eq!(at(rs_pa, 298, 512).trim(), "");
        // RT and RF count and sum the RW records only.
        let (rt, rf) = (records[6], records[7]);
        assert_eq!(at(rt, 3, 9), "0000002");
        assert_eq!(at(rt, 10, 24), "000000000150000");
        assert_eq!(at(rf, 8, 16), "000000002");
        // A state payroll-us does not withhold for is named with those it does.
        let tx: BTreeMap<String, StateAccount> =
            [("TX".to_string(), acct("1"))].into_iter().collect();
        let e = write_with_states(2025, &submitter(), &employer(), &[(&a, &pa)], &tx).unwrap_err();
        assert!(e.contains("\"TX\"") && e.contains("IL, PA"), "{e}");
    }
}
