//! The UK RTI Full Payment Submission of an approved run as HMRC's XML (issue 22,
//! item 6): the GovTalk envelope ("Transaction Engine: Document Submission
//! Protocol", envelope version 2.0, namespace `http://www.govtalk.gov.uk/CM/envelope`)
//! with the FPS body of HMRC's RTI schema for the run's tax year (namespace
//! `http://www.govtalk.gov.uk/taxation/PAYE/RTI/FullPaymentSubmission/YY-YY/1`,
//! message class `HMRC-PAYE-RTI-FPS`), and its IRmark.
//!
//! The figures are those of `rti-fps` (the JSON is the source of truth; this module
//! only lays them out): data items named as in HMRC's "RTI Data Items Guide" for
//! 2026-27, amounts in pounds with two decimals. The identities HMRC needs and
//! payroll does not store (NI number, name, address, date of birth, gender, the
//! employer's HMRC office number, PAYE reference and Accounts Office reference) are
//! given in the call, checked, and used only to write the message.
//!
//! **IRmark** (HMRC "IRmark generic specification", version 1.2, and the RTI
//! technical specifications' "IRmark" section): the SHA-1 digest, base64-encoded, of
//! the `Body` element canonicalised by W3C Canonical XML 1.0 (inclusive, without
//! comments), with the `IRmark` element removed. The `Body` is taken as a document
//! subset, so it carries the namespace declaration in scope (the envelope's default
//! namespace) as C14N 1.0 prescribes. The writer here emits the body *already in
//! canonical form* (no XML declaration or whitespace between elements, explicit end
//! tags, attributes in order, C14N's escaping of `&`, `<`, `>` in text), so the
//! canonical bytes are the written bytes plus that declaration. Credentials
//! (`SenderDetails`) are not written: the submitting software adds them, and they are
//! outside the `Body`, so the IRmark does not change. The e2e test recomputes the
//! IRmark with its own canonicaliser from a parsed copy of the message.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use base64::Engine as _;
use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::filings::{FpsEmployee, FpsOut, fps_op, gb_tax_year_end};
use crate::fps_ni::NiLetter;

/// The GovTalk envelope's namespace (Document Submission Protocol, envelope 2.0).
pub const ENVELOPE_NS: &str = "http://www.govtalk.gov.uk/CM/envelope";

/// The FPS schema namespace of a tax year `YY-YY`: HMRC publishes one schema per tax
/// year ("PAYE Online: technical specifications", RTI schemas 2025-26 and 2026-27,
/// version 1 each).
pub fn fps_namespace(related_tax_year: &str) -> Option<String> {
    SCHEMA_YEARS.contains(&related_tax_year).then(|| {
        format!(
            "http://www.govtalk.gov.uk/taxation/PAYE/RTI/FullPaymentSubmission/{related_tax_year}/1"
        )
    })
}

/// The tax years whose FPS schema this version writes (the years `payroll-gb` has
/// rules for).
pub const SCHEMA_YEARS: [&str; 2] = ["25-26", "26-27"];

/// The employer's references (RTI Data Items Guide: "HMRC office number", "Employer
/// PAYE reference", "Accounts Office reference").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EmployerRefs {
    /// Three digits: the HMRC office number, the part of the employer PAYE reference
    /// before the slash (`123` of `123/AB456`).
    pub office_number: String,
    /// The part after the slash: up to 10 letters and digits (`AB456`).
    pub paye_reference: String,
    /// 13 characters: three digits, `P`, a letter, seven digits, a digit or `X`
    /// (`123PA00045678`).
    pub accounts_office_reference: String,
    /// Writes `GatewayTest` 1 (HMRC's test service).
    #[serde(default)]
    pub test: bool,
}

/// A UK address (RTI Data Items Guide: "Address line" 1 to 4, at most 35
/// characters; "UK postcode").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UkAddress {
    pub lines: Vec<String>,
    pub postcode: String,
}

/// One employee's identity for the FPS "Employee details" group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Identity {
    /// National Insurance number; left out only when the employee has none (the
    /// FPS then carries the address, which it does anyway).
    #[serde(default)]
    pub ni_number: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    pub forename: String,
    pub surname: String,
    pub birth_date: String,
    /// `M` or `F`, the gender HMRC holds for the employee.
    pub gender: String,
    pub address: UkAddress,
    /// Normal hours worked band (RTI Data Items Guide, "Number of normal hours
    /// worked"): `A` up to 15.99, `B` 16 to 23.99, `C` 24 to 29.99, `D` 30 or more,
    /// `E` other.
    pub hours_worked: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct FpsXmlInput {
    run: String,
    employer: EmployerRefs,
    /// Per employee id: the identity; every UK employee of the run, and only those.
    employees: BTreeMap<String, Identity>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct FpsXmlOut {
    format: &'static str,
    namespace: String,
    run: String,
    tax_year: String,
    related_tax_year: String,
    employees: usize,
    /// The IRmark written in the message (base64 of the SHA-1 digest).
    irmark: String,
    /// The message: the GovTalk envelope with the FPS body, UTF-8.
    content: String,
    /// What the message leaves out.
    not_included: Vec<String>,
}

/// The most employees one message is written for: the `rti-fps` page size.
const MAX_EMPLOYEES: u32 = 2000;

pub(crate) fn fps_xml_op(input: FpsXmlInput) -> Result<FpsXmlOut> {
    let fps = fps_op(crate::filings::FpsInput::whole(
        input.run.clone(),
        MAX_EMPLOYEES,
    ))?;
    if fps.next.is_some() {
        return Err(Error::invalid(format!(
            "run {} pays more than {MAX_EMPLOYEES} UK employees; this version writes one FPS message of at most {MAX_EMPLOYEES} employees: file the run another way",
            input.run
        )));
    }
    let ns = fps_namespace(&fps.related_tax_year).ok_or_else(|| {
        Error::invalid(format!(
            "run {} is of tax year {}; this version writes the FPS schemas of tax years {} only",
            input.run,
            fps.tax_year,
            SCHEMA_YEARS.join(" and ")
        ))
    })?;
    let missing: Vec<&str> = fps
        .employees
        .iter()
        .filter(|e| !input.employees.contains_key(&e.payroll_id))
        .map(|e| e.payroll_id.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "employees {} are paid under UK rules in run {} and have no identity in \"employees\" (forename, surname, birth-date, gender, address, hours-worked, ni-number): every UK payment of the run goes in the FPS",
            missing.join(", "),
            input.run
        )));
    }
    if let Some(stray) = input
        .employees
        .keys()
        .find(|id| !fps.employees.iter().any(|e| &e.payroll_id == *id))
    {
        return Err(Error::invalid(format!(
            "employee {stray} has no UK payslip in run {}; leave them out of \"employees\"",
            input.run
        )));
    }
    let refs = check_refs(&input.employer).map_err(Error::invalid)?;
    let today = context::today();
    let mut people = Vec::with_capacity(fps.employees.len());
    for e in &fps.employees {
        let id = check_identity(&e.payroll_id, &input.employees[&e.payroll_id], today)
            .map_err(Error::invalid)?;
        people.push((e, id));
    }
    let message = write(&fps, &ns, &refs, &people).map_err(Error::internal)?;
    let mut not_included = vec![
        "SenderDetails (Government Gateway credentials): added by the software that submits the message; outside the Body, so the IRmark stands".to_string(),
        "starter and leaver details, payments after leaving, benefits, pensions, statutory payments and directors' NICs: payroll records none of them".to_string(),
        "student loan plan type: the FPS carries the amounts recovered only".to_string(),
    ];
    if fps.earlier_year_correction.is_some() {
        not_included.push(
            "the FPS of an adjustment after the tax year ended: check the late reporting reason (rti-fps earlier-year-correction) before filing".to_string(),
        );
    }
    Ok(FpsXmlOut {
        format: "RTI-FPS-XML",
        namespace: ns,
        run: fps.run.clone(),
        tax_year: fps.tax_year.clone(),
        related_tax_year: fps.related_tax_year.clone(),
        employees: people.len(),
        irmark: message.irmark,
        content: message.content,
        not_included,
    })
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/// Checked employer references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refs {
    pub office_number: String,
    pub paye_reference: String,
    pub accounts_office_reference: String,
    pub test: bool,
}

pub fn check_refs(e: &EmployerRefs) -> Result<Refs, String> {
    let office = e.office_number.trim();
    if office.len() != 3 || !office.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "employer office-number {office:?} must be the three digits before the slash of the employer PAYE reference (123 of 123/AB456)"
        ));
    }
    let paye = e.paye_reference.trim().to_ascii_uppercase();
    if paye.is_empty() || paye.len() > 10 || !paye.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "employer paye-reference {paye:?} must be the 1 to 10 letters and digits after the slash of the employer PAYE reference (AB456 of 123/AB456)"
        ));
    }
    // Accounts Office reference: 3 digits, P, a letter, 7 digits, a digit or X
    // (HMRC "Pay employers' PAYE": "13 characters long, for example 123PX00123456").
    let ao = e.accounts_office_reference.trim().to_ascii_uppercase();
    let b = ao.as_bytes();
    let ok = b.len() == 13
        && b[..3].iter().all(u8::is_ascii_digit)
        && b[3] == b'P'
        && b[4].is_ascii_uppercase()
        && b[5..12].iter().all(u8::is_ascii_digit)
        && (b[12].is_ascii_digit() || b[12] == b'X');
    if !ok {
        return Err(format!(
            "employer accounts-office-reference {ao:?} must be 13 characters: three digits, P, a letter, seven digits and a digit or X (e.g. 123PA00045678)"
        ));
    }
    Ok(Refs {
        office_number: office.to_string(),
        paye_reference: paye,
        accounts_office_reference: ao,
        test: e.test,
    })
}

/// A checked identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub nino: Option<String>,
    pub title: Option<String>,
    pub forename: String,
    pub surname: String,
    pub lines: Vec<String>,
    pub postcode: String,
    pub birth_date: Date,
    pub gender: String,
    pub hours_worked: String,
}

/// A National Insurance number as HMRC accepts it (HMRC National Insurance Manual
/// NIM39110 and the RTI Data Items Guide, "National Insurance number"): two prefix
/// letters, six digits, a suffix A, B, C or D. Neither prefix letter is D, F, I, Q,
/// U or V; the second is not O; the prefixes BG, GB, KN, NK, NT, TN and ZZ are never
/// issued (TN is a temporary number, which the FPS must not carry). Spaces are
/// dropped.
pub fn check_nino(value: &str) -> Result<String, String> {
    let v: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = v.as_bytes();
    let shape = b.len() == 9
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..8].iter().all(u8::is_ascii_digit)
        && matches!(b[8], b'A'..=b'D');
    if !shape {
        return Err(format!(
            "NI number {value:?} must be two letters, six digits and a letter A to D (e.g. QQ123456C)"
        ));
    }
    let bad = |c: u8| matches!(c, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
    if bad(b[0]) || bad(b[1]) || b[1] == b'O' {
        return Err(format!(
            "NI number {v:?}: HMRC issues no number whose prefix has D, F, I, Q, U or V, or O as its second letter; check the number on the employee's P45 or payslip"
        ));
    }
    if matches!(&v[..2], "BG" | "GB" | "KN" | "NK" | "NT" | "TN" | "ZZ") {
        return Err(format!(
            "NI number {v:?}: the prefix {} is never issued (TN is a temporary number); leave ni-number out when the employee has no number yet",
            &v[..2]
        ));
    }
    Ok(v)
}

/// A UK postcode's shape (Royal Mail's formats: outward code A9, A99, A9A, AA9, AA99
/// or AA9A, then the inward code 9AA), normalised to upper case with one space.
pub fn check_postcode(value: &str) -> Result<String, String> {
    let v: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let bad = || {
        format!(
            "postcode {value:?} is not a UK postcode: an outward code (A9, A99, A9A, AA9, AA99 or AA9A) then a digit and two letters, e.g. SW1A 2AA"
        )
    };
    if !(5..=7).contains(&v.len()) || !v.is_ascii() {
        return Err(bad());
    }
    let (outward, inward) = v.split_at(v.len() - 3);
    let i = inward.as_bytes();
    if !(i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase()) {
        return Err(bad());
    }
    let o: Vec<char> = outward
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '9'
            } else if c.is_ascii_uppercase() {
                'A'
            } else {
                '?'
            }
        })
        .collect();
    let shape: String = o.into_iter().collect();
    if !matches!(
        shape.as_str(),
        "A9" | "A99" | "A9A" | "AA9" | "AA99" | "AA9A"
    ) {
        return Err(bad());
    }
    Ok(format!("{outward} {inward}"))
}

/// A name part: at most 35 characters, starting with a letter, of letters, spaces,
/// hyphens, apostrophes and full stops (RTI Data Items Guide, "Employee's
/// forename"/"surname": HMRC's name character set, ASCII here).
fn name(employee: &str, what: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    let first_ok = v.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok
        || v.len() > 35
        || !v
            .chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'))
    {
        return Err(format!(
            "employee {employee}: {what} {v:?} must be 1 to 35 characters starting with a letter, of letters, spaces, hyphens, apostrophes and full stops (no digits or accents)"
        ));
    }
    Ok(v.to_string())
}

pub fn check_identity(employee: &str, id: &Identity, today: Date) -> Result<Person, String> {
    let nino = match &id.ni_number {
        Some(n) => Some(check_nino(n).map_err(|e| format!("employee {employee}: {e}"))?),
        None => None,
    };
    let title = match &id.title {
        Some(t) => {
            let t = t.trim();
            if t.is_empty() || t.len() > 4 || !t.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(format!(
                    "employee {employee}: title {t:?} must be 1 to 4 letters (Mr, Mrs, Ms, Miss, Dr) or left out"
                ));
            }
            Some(t.to_string())
        }
        None => None,
    };
    let forename = name(employee, "forename", &id.forename)?;
    let surname = name(employee, "surname", &id.surname)?;
    let birth_date = Date::parse(id.birth_date.trim())
        .map_err(|e| format!("employee {employee}: birth-date {e}"))?;
    if birth_date >= today || birth_date.year() < 1900 {
        return Err(format!(
            "employee {employee}: birth-date {birth_date} must be a past date after 1900"
        ));
    }
    let gender = id.gender.trim().to_ascii_uppercase();
    if gender != "M" && gender != "F" {
        return Err(format!(
            "employee {employee}: gender {:?} must be M or F (the gender HMRC holds for the employee)",
            id.gender
        ));
    }
    let hours = id.hours_worked.trim().to_ascii_uppercase();
    if !matches!(hours.as_str(), "A" | "B" | "C" | "D" | "E") {
        return Err(format!(
            "employee {employee}: hours-worked {:?} must be A (up to 15.99 hours a week), B (16 to 23.99), C (24 to 29.99), D (30 or more) or E (other)",
            id.hours_worked
        ));
    }
    let lines: Vec<String> = id
        .address
        .lines
        .iter()
        .map(|l| l.trim().to_string())
        .collect();
    if !(2..=4).contains(&lines.len()) {
        return Err(format!(
            "employee {employee}: address lines: {} given; the FPS takes 2 to 4 (e.g. street and town)",
            lines.len()
        ));
    }
    for l in &lines {
        let ok = !l.is_empty()
            && l.len() <= 35
            && l.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && l.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, ' ' | '-' | '\'' | '.' | ',' | '&' | '/' | '(' | ')')
            });
        if !ok {
            return Err(format!(
                "employee {employee}: address line {l:?} must be 1 to 35 characters of letters, digits, spaces and - ' . , & / ( ), starting with a letter or digit"
            ));
        }
    }
    let postcode =
        check_postcode(&id.address.postcode).map_err(|e| format!("employee {employee}: {e}"))?;
    Ok(Person {
        nino,
        title,
        forename,
        surname,
        lines,
        postcode,
        birth_date,
        gender,
        hours_worked: hours,
    })
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// A written message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub content: String,
    pub irmark: String,
}

/// Pence as the FPS writes money: pounds with two decimals, a leading `-` when
/// negative (RTI schemas' monetary types).
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    format!("{sign}{}.{:02}", p / 100, p % 100)
}

type W = Writer<Vec<u8>>;

fn start(w: &mut W, tag: &str, attrs: &[(&str, &str)]) -> std::io::Result<()> {
    // Attributes are written in the order given, which is sorted in every call:
    // C14N orders them by name, and none of the values needs escaping.
    let mut s = BytesStart::new(tag);
    for (k, v) in attrs {
        s.push_attribute((*k, *v));
    }
    w.write_event(Event::Start(s))
}

fn end(w: &mut W, tag: &str) -> std::io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(tag)))
}

/// `<tag>text</tag>`, the text escaped as C14N does (`&`, `<`, `>`).
fn leaf(w: &mut W, tag: &str, text: &str) -> std::io::Result<()> {
    leaf_with(w, tag, &[], text)
}

fn leaf_with(w: &mut W, tag: &str, attrs: &[(&str, &str)], text: &str) -> std::io::Result<()> {
    start(w, tag, attrs)?;
    w.write_event(Event::Text(BytesText::from_escaped(partial_escape(text))))?;
    end(w, tag)
}

/// The FPS `TaxCode` of a code as operated: the code without a Scottish (`S`) or
/// Welsh (`C`) prefix and without the `W1`/`M1`/`X` suffix, and its attributes
/// (`BasisNonCumulative="yes"`, `TaxRegime="S"` or `"C"`), per the RTI Data Items
/// Guide ("Tax code operated", "Tax week 1/month 1 indicator", "Tax regime").
pub fn tax_code(code: &str, week1: bool) -> (String, Vec<(&'static str, &'static str)>) {
    let mut c = code.trim().to_ascii_uppercase();
    for suffix in [" W1", " M1", " X", "W1", "M1"] {
        if let Some(s) = c.strip_suffix(suffix) {
            c = s.trim().to_string();
            break;
        }
    }
    let mut attrs = Vec::new();
    if week1 {
        attrs.push(("BasisNonCumulative", "yes"));
    }
    // A regime prefix is a letter before a digit or before the K/BR/D0/D1/NT codes.
    let regime = match c.as_bytes() {
        [b'S', rest @ ..] if !rest.is_empty() => Some(("S", rest)),
        [b'C', rest @ ..] if !rest.is_empty() => Some(("C", rest)),
        _ => None,
    };
    if let Some((r, rest)) = regime {
        let rest = String::from_utf8_lossy(rest).into_owned();
        let looks_like_code = rest.starts_with(|ch: char| ch.is_ascii_digit())
            || ["K", "BR", "D0", "D1", "D2", "NT", "0T"]
                .iter()
                .any(|p| rest.starts_with(p));
        if looks_like_code {
            attrs.push(("TaxRegime", r));
            c = rest;
        }
    }
    // Attributes sorted by name for C14N.
    attrs.sort_by_key(|(k, _)| *k);
    (c, attrs)
}

/// The FPS body element `IRenvelope` (namespace `ns`), with the IRmark when given.
fn ir_envelope(
    w: &mut W,
    fps: &FpsOut,
    ns: &str,
    refs: &Refs,
    people: &[(&FpsEmployee, Person)],
    irmark: Option<&str>,
) -> std::io::Result<()> {
    start(w, "IRenvelope", &[("xmlns", ns)])?;
    start(w, "IRheader", &[])?;
    start(w, "Keys", &[])?;
    leaf_with(
        w,
        "Key",
        &[("Type", "TaxOfficeNumber")],
        &refs.office_number,
    )?;
    leaf_with(
        w,
        "Key",
        &[("Type", "TaxOfficeReference")],
        &refs.paye_reference,
    )?;
    end(w, "Keys")?;
    // PeriodEnd of an FPS: the last day of the tax year (5 April).
    let period_end = gb_tax_year_end(&fps.tax_year)
        .map(|d| d.to_string())
        .unwrap_or_default();
    leaf(w, "PeriodEnd", &period_end)?;
    leaf(w, "DefaultCurrency", "GBP")?;
    if let Some(mark) = irmark {
        leaf_with(w, "IRmark", &[("Type", "generic")], mark)?;
    }
    leaf(w, "Sender", "Employer")?;
    end(w, "IRheader")?;
    start(w, "FullPaymentSubmission", &[])?;
    start(w, "EmpRefs", &[])?;
    leaf(w, "OfficeNo", &refs.office_number)?;
    leaf(w, "PayeRef", &refs.paye_reference)?;
    leaf(w, "AORef", &refs.accounts_office_reference)?;
    end(w, "EmpRefs")?;
    leaf(w, "RelatedTaxYear", &fps.related_tax_year)?;
    for (e, p) in people {
        employee(w, e, p)?;
    }
    end(w, "FullPaymentSubmission")?;
    end(w, "IRenvelope")
}

/// One `Employee`: "Employee details" and "Employment details" of the RTI Data Items
/// Guide 2026-27, in the schema's order.
fn employee(w: &mut W, e: &FpsEmployee, p: &Person) -> std::io::Result<()> {
    start(w, "Employee", &[])?;
    start(w, "EmployeeDetails", &[])?;
    if let Some(n) = &p.nino {
        leaf(w, "NINO", n)?;
    }
    start(w, "Name", &[])?;
    if let Some(t) = &p.title {
        leaf(w, "Ttl", t)?;
    }
    leaf(w, "Fore", &p.forename)?;
    leaf(w, "Sur", &p.surname)?;
    end(w, "Name")?;
    start(w, "Address", &[])?;
    for l in &p.lines {
        leaf(w, "Line", l)?;
    }
    leaf(w, "UKPostcode", &p.postcode)?;
    end(w, "Address")?;
    leaf(w, "BirthDate", &p.birth_date.to_string())?;
    leaf(w, "Gender", &p.gender)?;
    end(w, "EmployeeDetails")?;

    start(w, "Employment", &[])?;
    leaf(w, "PayId", &e.payroll_id)?;
    start(w, "FiguresToDate", &[])?;
    leaf(w, "TaxablePay", &pounds(e.taxable_pay_to_date))?;
    leaf(w, "TotalTax", &pounds(e.tax_to_date))?;
    end(w, "FiguresToDate")?;
    start(w, "Payment", &[])?;
    leaf(w, "PayFreq", e.pay_frequency)?;
    leaf(w, "PmtDate", &e.payment_date.to_string())?;
    if let Some(n) = e.period {
        // Tax week for weekly frequencies, tax month otherwise.
        let tag = if e.pay_frequency.starts_with('W') {
            "WeekNo"
        } else {
            "MonthNo"
        };
        leaf(w, tag, &n.to_string())?;
    }
    leaf(w, "PeriodsCovered", "1")?;
    leaf(w, "HoursWorked", &p.hours_worked)?;
    let (code, attrs) = tax_code(&e.tax_code, e.week1_month1);
    leaf_with(w, "TaxCode", &attrs, &code)?;
    leaf(w, "TaxablePay", &pounds(e.taxable_pay_in_period))?;
    leaf(w, "PayAfterStatDedns", &pounds(e.net_pay))?;
    if e.student_loan_recovered != 0 {
        leaf(w, "StudentLoanRecovered", &pounds(e.student_loan_recovered))?;
    }
    if e.postgraduate_loan_recovered != 0 {
        leaf(
            w,
            "PostgradLoanRecovered",
            &pounds(e.postgraduate_loan_recovered),
        )?;
    }
    leaf(w, "TaxDeductedOrRefunded", &pounds(e.tax_deducted))?;
    end(w, "Payment")?;
    for l in &e.ni_letters {
        ni_letter(w, e, l)?;
    }
    end(w, "Employment")?;
    end(w, "Employee")
}

/// One `NIlettersAndValues` group. The in-period figures belong to the letter the
/// payment was computed with (`ni-category`); other letters of the year carry zero
/// for the period.
fn ni_letter(w: &mut W, e: &FpsEmployee, l: &NiLetter) -> std::io::Result<()> {
    let this = l.ni_category == e.ni_category;
    let in_pd = |v: i64| pounds(if this { v } else { 0 });
    start(w, "NIlettersAndValues", &[])?;
    leaf(w, "NIletter", &l.ni_category)?;
    leaf(
        w,
        "GrossEarningsForNICsInPd",
        &in_pd(e.gross_earnings_for_nics_in_period),
    )?;
    leaf(
        w,
        "GrossEarningsForNICsYTD",
        &pounds(l.gross_earnings_for_nics_year_to_date),
    )?;
    leaf(w, "AtLELYTD", &pounds(l.earnings_at_lel_year_to_date))?;
    leaf(
        w,
        "LELtoPTYTD",
        &pounds(l.earnings_above_lel_up_to_pt_year_to_date),
    )?;
    leaf(
        w,
        "PTtoUELYTD",
        &pounds(l.earnings_above_pt_up_to_uel_year_to_date),
    )?;
    leaf(w, "TotalEmpNICInPd", &in_pd(e.employer_nics_in_period))?;
    leaf(w, "TotalEmpNICYTD", &pounds(l.employer_nics_year_to_date))?;
    leaf(w, "EmpeeContribnsInPd", &in_pd(e.employee_nics_in_period))?;
    leaf(
        w,
        "EmpeeContribnsYTD",
        &pounds(l.employee_nics_year_to_date),
    )?;
    end(w, "NIlettersAndValues")
}

/// The IRmark of a canonical `IRenvelope` written without its IRmark: SHA-1 of the
/// canonical `Body` (with the envelope namespace in scope), base64.
pub fn irmark(ir_envelope_without_mark: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("<Body xmlns=\"{ENVELOPE_NS}\">").as_bytes());
    h.update(ir_envelope_without_mark);
    h.update(b"</Body>");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

pub(crate) fn write(
    fps: &FpsOut,
    ns: &str,
    refs: &Refs,
    people: &[(&FpsEmployee, Person)],
) -> Result<Message, String> {
    let io = |e: std::io::Error| format!("writing the FPS XML: {e}");
    // The body without the IRmark, for the digest.
    let mut bare = Writer::new(Vec::new());
    ir_envelope(&mut bare, fps, ns, refs, people, None).map_err(io)?;
    let mark = irmark(&bare.into_inner());

    let mut w = Writer::new(Vec::new());
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(io)?;
    start(&mut w, "GovTalkMessage", &[("xmlns", ENVELOPE_NS)]).map_err(io)?;
    leaf(&mut w, "EnvelopeVersion", "2.0").map_err(io)?;
    start(&mut w, "Header", &[]).map_err(io)?;
    start(&mut w, "MessageDetails", &[]).map_err(io)?;
    leaf(&mut w, "Class", "HMRC-PAYE-RTI-FPS").map_err(io)?;
    leaf(&mut w, "Qualifier", "request").map_err(io)?;
    leaf(&mut w, "Function", "submit").map_err(io)?;
    leaf(&mut w, "Transformation", "XML").map_err(io)?;
    leaf(&mut w, "GatewayTest", if refs.test { "1" } else { "0" }).map_err(io)?;
    end(&mut w, "MessageDetails").map_err(io)?;
    end(&mut w, "Header").map_err(io)?;
    start(&mut w, "GovTalkDetails", &[]).map_err(io)?;
    start(&mut w, "Keys", &[]).map_err(io)?;
    leaf_with(
        &mut w,
        "Key",
        &[("Type", "TaxOfficeNumber")],
        &refs.office_number,
    )
    .map_err(io)?;
    leaf_with(
        &mut w,
        "Key",
        &[("Type", "TaxOfficeReference")],
        &refs.paye_reference,
    )
    .map_err(io)?;
    end(&mut w, "Keys").map_err(io)?;
    end(&mut w, "GovTalkDetails").map_err(io)?;
    start(&mut w, "Body", &[]).map_err(io)?;
    ir_envelope(&mut w, fps, ns, refs, people, Some(&mark)).map_err(io)?;
    end(&mut w, "Body").map_err(io)?;
    end(&mut w, "GovTalkMessage").map_err(io)?;
    let content = String::from_utf8(w.into_inner()).map_err(|e| e.to_string())?;
    Ok(Message {
        content,
        irmark: mark,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ni_numbers_as_hmrc_issues_them() {
        assert_eq!(check_nino("ab 12 34 56 c").unwrap(), "AB123456C");
        assert_eq!(check_nino("JG103759A").unwrap(), "JG103759A");
        for (bad, says) in [
            ("AB123456", "two letters, six digits"),
            ("AB123456E", "two letters, six digits"),
            ("A1234567C", "two letters, six digits"),
            ("DA123456C", "D, F, I, Q, U or V"),
            ("AQ123456C", "D, F, I, Q, U or V"),
            ("AO123456C", "O as its second"),
            ("GB123456A", "never issued"),
            ("TN123456A", "temporary"),
            ("ZZ123456D", "never issued"),
        ] {
            let e = check_nino(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn postcodes_of_every_shape() {
        for (given, want) in [
            ("sw1a2aa", "SW1A 2AA"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
        ] {
            assert_eq!(check_postcode(given).unwrap(), want);
        }
        for bad in [
            "", "SW1A", "1AB 2CD", "SW1A 2A1", "SW1A2AAA", "ÄB1 2CD", "A-1 1AA",
        ] {
            assert!(check_postcode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn employer_references() {
        let refs = |o: &str, p: &str, a: &str| EmployerRefs {
            office_number: o.into(),
            paye_reference: p.into(),
            accounts_office_reference: a.into(),
            test: false,
        };
        let r = check_refs(&refs("123", "ab456", "123pa0004567x")).unwrap();
        assert_eq!(r.paye_reference, "AB456");
        assert_eq!(r.accounts_office_reference, "123PA0004567X");
        assert!(
            check_refs(&refs("12", "AB456", "123PA00045678"))
                .unwrap_err()
                .contains("three digits")
        );
        assert!(
            check_refs(&refs("123", "AB/456", "123PA00045678"))
                .unwrap_err()
                .contains("1 to 10")
        );
        assert!(
            check_refs(&refs("123", "AB456", "123XA00045678"))
                .unwrap_err()
                .contains("13 characters")
        );
        assert!(
            check_refs(&refs("123", "AB456", "123PA0004567"))
                .unwrap_err()
                .contains("13 characters")
        );
    }

    fn identity() -> Identity {
        Identity {
            ni_number: Some("AB123456C".into()),
            title: Some("Ms".into()),
            forename: "Ann".into(),
            surname: "O'Neil-Smith".into(),
            birth_date: "1990-02-28".into(),
            gender: "f".into(),
            address: UkAddress {
                lines: vec!["1 High Street".into(), "Leeds".into()],
                postcode: "ls1 4ap".into(),
            },
            hours_worked: "d".into(),
        }
    }

    #[test]
    fn identities_are_checked_with_the_employee_named() {
        let today = Date::new(2026, 12, 4).unwrap();
        let p = check_identity("G1", &identity(), today).unwrap();
        assert_eq!((p.gender.as_str(), p.hours_worked.as_str()), ("F", "D"));
        assert_eq!(p.postcode, "LS1 4AP");
        let with = |f: &dyn Fn(&mut Identity)| {
            let mut i = identity();
            f(&mut i);
            check_identity("G1", &i, today).unwrap_err()
        };
        let e = with(&|i| i.birth_date = "1990-02-30".into());
        assert!(
            e.starts_with("employee G1: birth-date") && e.contains("not a valid date"),
            "{e}"
        );
        assert!(with(&|i| i.birth_date = "2027-01-01".into()).contains("past date"));
        assert!(with(&|i| i.gender = "X".into()).contains("M or F"));
        assert!(with(&|i| i.hours_worked = "F".into()).contains("30 or more"));
        assert!(with(&|i| i.surname = "Sm1th".into()).contains("surname"));
        assert!(with(&|i| i.address.lines = vec!["1 High Street".into()]).contains("2 to 4"));
        assert!(with(&|i| i.address.postcode = "12345".into()).contains("not a UK postcode"));
        assert!(
            with(&|i| i.ni_number = Some("TN123456A".into())).contains("employee G1: NI number")
        );
        let mut none = identity();
        none.ni_number = None;
        assert_eq!(check_identity("G1", &none, today).unwrap().nino, None);
    }

    #[test]
    fn money_and_tax_codes_as_the_fps_writes_them() {
        assert_eq!(pounds(123_456), "1234.56");
        assert_eq!(pounds(5), "0.05");
        assert_eq!(pounds(-1_050), "-10.50");
        assert_eq!(pounds(0), "0.00");
        assert_eq!(tax_code("1257L", false), ("1257L".to_string(), vec![]));
        assert_eq!(
            tax_code("1257L M1", true),
            ("1257L".to_string(), vec![("BasisNonCumulative", "yes")])
        );
        assert_eq!(
            tax_code("S1257L", false),
            ("1257L".to_string(), vec![("TaxRegime", "S")])
        );
        assert_eq!(
            tax_code("C1257L W1", true),
            (
                "1257L".to_string(),
                vec![("BasisNonCumulative", "yes"), ("TaxRegime", "C")]
            )
        );
        assert_eq!(tax_code("SK100", false).0, "K100");
        assert_eq!(tax_code("BR", false), ("BR".to_string(), vec![]));
        assert_eq!(
            tax_code("SBR", false),
            ("BR".to_string(), vec![("TaxRegime", "S")])
        );
    }

    #[test]
    fn the_irmark_is_the_sha1_of_the_canonical_body_with_the_envelope_namespace() {
        // The digest input is exactly <Body xmlns="...envelope">, the body, </Body>.
        let body = b"<IRenvelope xmlns=\"urn:x\"><A>1</A></IRenvelope>";
        let mut h = Sha1::new();
        h.update(b"<Body xmlns=\"http://www.govtalk.gov.uk/CM/envelope\"><IRenvelope xmlns=\"urn:x\"><A>1</A></IRenvelope></Body>");
        let want = base64::engine::general_purpose::STANDARD.encode(h.finalize());
        assert_eq!(irmark(body), want);
        assert_eq!(want.len(), 28, "20 bytes in base64");
    }
}
