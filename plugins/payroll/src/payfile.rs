//! Payment files for an approved run's net pay, one per payment scheme, as pure
//! functions natively tested:
//!
//! - SEPA credit transfer, ISO 20022 `pain.001.001.09`, as the European Payments
//!   Council's "SEPA Credit Transfer Scheme Customer-to-PSP Implementation
//!   Guidelines" (EPC132-08, version 2023 1.1) restrict it;
//! - UK Bacs Standard 18 (Bacs Payment Schemes Ltd, Standard 18 file format as given
//!   in the "Bacs Service user guide" and, field by field, in HSBC's public "Message
//!   Implementation Guide BACS Standard 18", August 2012);
//! - US NACHA PPD credits (NACHA Operating Rules 2024, Appendix Three "ACH Record
//!   Format Specifications", subpart 3.1 record layouts and 3.2 data elements).
//!
//! `docs/plugins/payroll.md` lists every field with its source.

use std::io;

use backoffice_sdk::Date;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::{Deserialize, Serialize};

use crate::bank::{self, AccountType, BankAccount};
use crate::model::format_minor;

/// The file formats, by the scheme they are paid through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Sepa,
    Bacs18,
    Nacha,
}

impl Format {
    /// The only currency the scheme pays in.
    pub fn currency(self) -> &'static str {
        match self {
            Format::Sepa => "EUR",
            Format::Bacs18 => "GBP",
            Format::Nacha => "USD",
        }
    }

    /// The `scheme` of the employee bank accounts the format can pay.
    pub fn scheme(self) -> &'static str {
        match self {
            Format::Sepa => "sepa",
            Format::Bacs18 => "bacs",
            Format::Nacha => "ach",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sepa => "sepa",
            Format::Bacs18 => "bacs18",
            Format::Nacha => "nacha",
        }
    }
}

/// The company's paying accounts and originator identifiers, per scheme
/// (`payments` in the settings); each is needed only for its format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PaymentSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sepa: Option<SepaOriginator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bacs: Option<BacsOriginator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nacha: Option<NachaOriginator>,
}

/// The debtor of a SEPA credit transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SepaOriginator {
    /// Debtor and initiating party name (`Dbtr/Nm`, `InitgPty/Nm`).
    pub name: String,
    /// The account debited (`DbtrAcct/Id/IBAN`).
    pub iban: String,
    /// The debtor's bank (`DbtrAgt/FinInstnId/BICFI`); without it the file says
    /// `NOTPROVIDED`, as EPC132-08 allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
}

/// The Bacs service user paying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BacsOriginator {
    /// The 6-digit service user number (SUN) Bacs gave the company.
    pub service_user_number: String,
    /// Service user's name as shown to payees (18 characters are used).
    pub name: String,
    /// The originating account debited (the contra record).
    pub sort_code: String,
    pub account_number: String,
}

/// The originator of a NACHA file and batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NachaOriginator {
    /// File header field 4: the routing number of the ACH operator or receiving
    /// point the file is sent to (9 digits; the file holds it as blank + 9 digits).
    pub immediate_destination: String,
    /// File header field 10 (23 characters).
    pub immediate_destination_name: String,
    /// File header field 5: 10 characters as the ODFI assigned them (9 digits are
    /// written as blank + 9 digits).
    pub immediate_origin: String,
    /// File header field 11 (23 characters).
    pub immediate_origin_name: String,
    /// Batch header field 3 (16 characters).
    pub company_name: String,
    /// Batch header field 5: 10 characters, usually "1" and the EIN.
    pub company_id: String,
    /// Batch header field 12: the ODFI's routing number's first 8 digits (9 digits
    /// are accepted and checked, the first 8 used).
    pub originating_dfi: String,
    /// Batch header field 7 (10 characters); `PAYROLL` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_description: Option<String>,
}

impl PaymentSettings {
    /// No scheme set.
    pub fn is_empty(&self) -> bool {
        self.sepa.is_none() && self.bacs.is_none() && self.nacha.is_none()
    }

    /// The settings with every account checked and normalised, or what is wrong,
    /// naming the field under `payments`.
    pub fn checked(self) -> Result<PaymentSettings, String> {
        let blank = |field: &str, v: &str| {
            if v.trim().is_empty() {
                Err(format!("payments.{field} must not be blank"))
            } else {
                Ok(v.trim().to_string())
            }
        };
        let sepa = match self.sepa {
            None => None,
            Some(s) => Some(SepaOriginator {
                name: blank("sepa.name", &s.name)?,
                iban: bank::check_iban("payments.sepa.iban", &s.iban)?,
                bic: s
                    .bic
                    .map(|b| bank::check_bic("payments.sepa.bic", &b))
                    .transpose()?,
            }),
        };
        let bacs = match self.bacs {
            None => None,
            Some(b) => {
                let sun = b.service_user_number.trim().to_string();
                if sun.len() != 6 || !sun.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(format!(
                        "payments.bacs.service-user-number {:?} must be the 6 digits Bacs assigned",
                        b.service_user_number
                    ));
                }
                Some(BacsOriginator {
                    service_user_number: sun,
                    name: blank("bacs.name", &b.name)?,
                    sort_code: bank::check_sort_code("payments.bacs.sort-code", &b.sort_code)?,
                    account_number: bank::check_uk_account(
                        "payments.bacs.account-number",
                        &b.account_number,
                    )?,
                })
            }
        };
        let nacha = match self.nacha {
            None => None,
            Some(n) => {
                let origin = n.immediate_origin.trim().to_string();
                let origin = if origin.len() == 9 && origin.bytes().all(|c| c.is_ascii_digit()) {
                    format!(" {origin}")
                } else if origin.len() == 10 && origin.bytes().all(|c| c.is_ascii_alphanumeric()) {
                    origin
                } else {
                    return Err(format!(
                        "payments.nacha.immediate-origin {:?} must be 10 letters or digits (as the ODFI assigned) or a 9-digit routing number",
                        n.immediate_origin
                    ));
                };
                let company_id = n.company_id.trim().to_string();
                if company_id.is_empty()
                    || company_id.len() > 10
                    || !company_id.bytes().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err(format!(
                        "payments.nacha.company-id {:?} must be 1 to 10 letters or digits, usually 1 and the 9-digit EIN",
                        n.company_id
                    ));
                }
                let odfi = n.originating_dfi.trim().to_string();
                let odfi = match odfi.len() {
                    9 => bank::check_routing("payments.nacha.originating-dfi", &odfi)?[..8]
                        .to_string(),
                    8 if odfi.bytes().all(|c| c.is_ascii_digit()) => odfi,
                    _ => {
                        return Err(format!(
                            "payments.nacha.originating-dfi {:?} must be the ODFI's 9-digit routing number or its first 8 digits",
                            n.originating_dfi
                        ));
                    }
                };
                Some(NachaOriginator {
                    immediate_destination: bank::check_routing(
                        "payments.nacha.immediate-destination",
                        &n.immediate_destination,
                    )?,
                    immediate_destination_name: blank(
                        "nacha.immediate-destination-name",
                        &n.immediate_destination_name,
                    )?,
                    immediate_origin: origin,
                    immediate_origin_name: blank(
                        "nacha.immediate-origin-name",
                        &n.immediate_origin_name,
                    )?,
                    company_name: blank("nacha.company-name", &n.company_name)?,
                    company_id,
                    originating_dfi: odfi,
                    entry_description: n
                        .entry_description
                        .map(|d| blank("nacha.entry-description", &d))
                        .transpose()?,
                })
            }
        };
        Ok(PaymentSettings { sepa, bacs, nacha })
    }
}

/// One credit: an employee's net pay to their account.
#[derive(Debug, Clone)]
pub struct Payee {
    pub employee: String,
    pub name: String,
    /// Minor units, positive.
    pub amount: i64,
    pub account: BankAccount,
}

/// What a file is made from, besides the payees and the originator.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// The run id, e.g. `r-000001`.
    pub run: &'a str,
    /// How many files of this run were made before (0 for the first): makes each
    /// file's message id unique.
    pub sequence: u32,
    pub period_start: Date,
    pub period_end: Date,
    /// Requested execution (SEPA), processing (Bacs) or effective entry (NACHA) date.
    pub execution_date: Date,
    /// Creation time, RFC 3339 in UTC with whole seconds (`2025-05-30T09:15:00Z`).
    pub created: &'a str,
    pub payees: &'a [Payee],
}

impl Batch<'_> {
    fn total(&self) -> i64 {
        self.payees.iter().map(|p| p.amount).sum()
    }

    fn remittance(&self) -> String {
        format!(
            "Net pay {} {} to {}",
            self.run, self.period_start, self.period_end
        )
    }
}

/// A generated file.
#[derive(Debug, Clone)]
pub struct File {
    pub filename: String,
    pub content: String,
}

/// Latin letters with diacritics as the basic letters (German umlauts and ß as two
/// letters), other characters as themselves: the conversion EPC217-08 ("SEPA
/// Requirements for an Extended Character Set", section 2) recommends before
/// restricting to the basic set.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'ä' => "ae",
        'ö' => "oe",
        'ü' => "ue",
        'Ä' => "Ae",
        'Ö' => "Oe",
        'Ü' => "Ue",
        'ß' => "ss",
        'æ' => "ae",
        'Æ' => "AE",
        'œ' => "oe",
        'Œ' => "OE",
        'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ą' | 'ă' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Å' | 'Ā' | 'Ą' | 'Ă' => "A",
        'ç' | 'ć' | 'č' => "c",
        'Ç' | 'Ć' | 'Č' => "C",
        'ď' | 'đ' => "d",
        'Ď' | 'Đ' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => "E",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "I",
        'ł' | 'ľ' | 'ĺ' => "l",
        'Ł' | 'Ľ' | 'Ĺ' => "L",
        'ñ' | 'ń' | 'ň' => "n",
        'Ñ' | 'Ń' | 'Ň' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' | 'Ō' | 'Ő' => "O",
        'ř' | 'ŕ' => "r",
        'Ř' | 'Ŕ' => "R",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'Ś' | 'Š' | 'Ş' | 'Ș' => "S",
        'ť' | 'ţ' | 'ț' => "t",
        'Ť' | 'Ţ' | 'Ț' => "T",
        'ù' | 'ú' | 'û' | 'ū' | 'ů' | 'ű' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ū' | 'Ů' | 'Ű' => "U",
        'ý' | 'ÿ' => "y",
        'Ý' | 'Ÿ' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return None,
    })
}

/// `text` in the characters `allowed` accepts, at most `max` characters: letters
/// transliterated, `&` as `+` or `AND`, anything else as a space, spaces collapsed.
fn restrict(text: &str, max: usize, amp: &str, allowed: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let piece = match transliterate(c) {
            Some(s) => s.to_string(),
            None if allowed(c) => c.to_string(),
            None if c == '&' => amp.to_string(),
            None => " ".to_string(),
        };
        for p in piece.chars() {
            if p == ' ' && (out.is_empty() || out.ends_with(' ')) {
                continue;
            }
            out.push(p);
        }
    }
    out.trim_end()
        .chars()
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// The SEPA basic character set: a-z A-Z 0-9 / - ? : ( ) . , ' + and space
/// (EPC132-08, section 1.4 "Character set").
pub fn sepa_text(text: &str, max: usize) -> String {
    restrict(text, max, "+", |c| {
        c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c)
    })
}

/// Bacs characters: A-Z 0-9 . & / - and space, upper case (Bacs Service user
/// guide, "Character set"; HSBC guide, "Standard 18 character set").
pub fn bacs_text(text: &str, max: usize) -> String {
    restrict(&text.to_uppercase(), max, "&", |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || "./- &".contains(c)
    })
    .to_ascii_uppercase()
}

/// NACHA alphanumeric fields: upper-case printable ASCII (Appendix Three, 3.1
/// "Alphameric fields ... must be upper case").
pub fn nacha_text(text: &str, max: usize) -> String {
    restrict(&text.to_uppercase(), max, "AND", |c| {
        (c.is_ascii_graphic() && !c.is_ascii_lowercase()) || c == ' '
    })
    .to_ascii_uppercase()
}

/// `text` padded with spaces (left-justified) or cut to `width`.
fn alpha(text: &str, width: usize) -> String {
    let cut: String = text.chars().take(width).collect();
    format!("{cut:<width$}")
}

/// A number right-justified and zero-filled to `width`.
fn num(value: impl std::fmt::Display, width: usize) -> String {
    format!("{value:0>width$}")
}

fn xml_leaf(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn xml_open(w: &mut Writer<Vec<u8>>, name: &str) -> io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))
}

fn xml_close(w: &mut Writer<Vec<u8>>, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// The SEPA credit transfer initiation: one group header, one payment information
/// block with the debtor, one `CdtTrfTxInf` per payee.
pub fn sepa(batch: &Batch<'_>, debtor: &SepaOriginator) -> Result<File, String> {
    // No indentation: a 10,000-payee file stays within what one call may return.
    let mut w = Writer::new(Vec::new());
    let body = |w: &mut Writer<Vec<u8>>| -> io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.write_event(Event::Start(BytesStart::new("Document").with_attributes([
            ("xmlns", "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"),
        ])))?;
        xml_open(w, "CstmrCdtTrfInitn")?;
        // Message and payment information ids: Max35Text, unique per file.
        let msg_id = format!("PAYROLL-{}-{:03}", batch.run, batch.sequence + 1);
        let count = batch.payees.len().to_string();
        let sum = format_minor(batch.total(), 2);
        xml_open(w, "GrpHdr")?;
        xml_leaf(w, "MsgId", &msg_id)?;
        xml_leaf(w, "CreDtTm", batch.created)?;
        xml_leaf(w, "NbOfTxs", &count)?;
        xml_leaf(w, "CtrlSum", &sum)?;
        xml_open(w, "InitgPty")?;
        xml_leaf(w, "Nm", &sepa_text(&debtor.name, 70))?;
        xml_close(w, "InitgPty")?;
        xml_close(w, "GrpHdr")?;
        xml_open(w, "PmtInf")?;
        xml_leaf(w, "PmtInfId", &format!("{msg_id}-1"))?;
        xml_leaf(w, "PmtMtd", "TRF")?;
        xml_leaf(w, "NbOfTxs", &count)?;
        xml_leaf(w, "CtrlSum", &sum)?;
        xml_open(w, "PmtTpInf")?;
        xml_open(w, "SvcLvl")?;
        xml_leaf(w, "Cd", "SEPA")?;
        xml_close(w, "SvcLvl")?;
        // Category purpose SALA: salary payment (ExternalCategoryPurpose1Code).
        xml_open(w, "CtgyPurp")?;
        xml_leaf(w, "Cd", "SALA")?;
        xml_close(w, "CtgyPurp")?;
        xml_close(w, "PmtTpInf")?;
        xml_open(w, "ReqdExctnDt")?;
        xml_leaf(w, "Dt", &batch.execution_date.to_string())?;
        xml_close(w, "ReqdExctnDt")?;
        xml_open(w, "Dbtr")?;
        xml_leaf(w, "Nm", &sepa_text(&debtor.name, 70))?;
        xml_close(w, "Dbtr")?;
        xml_open(w, "DbtrAcct")?;
        xml_open(w, "Id")?;
        xml_leaf(w, "IBAN", &debtor.iban)?;
        xml_close(w, "Id")?;
        xml_close(w, "DbtrAcct")?;
        xml_open(w, "DbtrAgt")?;
        xml_open(w, "FinInstnId")?;
        match &debtor.bic {
            Some(bic) => xml_leaf(w, "BICFI", bic)?,
            None => {
                xml_open(w, "Othr")?;
                xml_leaf(w, "Id", "NOTPROVIDED")?;
                xml_close(w, "Othr")?;
            }
        }
        xml_close(w, "FinInstnId")?;
        xml_close(w, "DbtrAgt")?;
        // SLEV: each party pays its own bank's charges, the only value EPC132-08
        // allows.
        xml_leaf(w, "ChrgBr", "SLEV")?;
        let remittance = sepa_text(&batch.remittance(), 140);
        for (i, p) in batch.payees.iter().enumerate() {
            let BankAccount::Sepa { iban, bic } = &p.account else {
                continue;
            };
            xml_open(w, "CdtTrfTxInf")?;
            xml_open(w, "PmtId")?;
            xml_leaf(w, "EndToEndId", &format!("{}-{:06}", batch.run, i + 1))?;
            xml_close(w, "PmtId")?;
            xml_open(w, "Amt")?;
            w.create_element("InstdAmt")
                .with_attribute(("Ccy", "EUR"))
                .write_text_content(BytesText::new(&format_minor(p.amount, 2)))?;
            xml_close(w, "Amt")?;
            if let Some(bic) = bic {
                xml_open(w, "CdtrAgt")?;
                xml_open(w, "FinInstnId")?;
                xml_leaf(w, "BICFI", bic)?;
                xml_close(w, "FinInstnId")?;
                xml_close(w, "CdtrAgt")?;
            }
            xml_open(w, "Cdtr")?;
            xml_leaf(w, "Nm", &sepa_text(&p.name, 70))?;
            xml_close(w, "Cdtr")?;
            xml_open(w, "CdtrAcct")?;
            xml_open(w, "Id")?;
            xml_leaf(w, "IBAN", iban)?;
            xml_close(w, "Id")?;
            xml_close(w, "CdtrAcct")?;
            xml_open(w, "RmtInf")?;
            xml_leaf(w, "Ustrd", &remittance)?;
            xml_close(w, "RmtInf")?;
            xml_close(w, "CdtTrfTxInf")?;
        }
        xml_close(w, "PmtInf")?;
        xml_close(w, "CstmrCdtTrfInitn")?;
        xml_close(w, "Document")
    };
    body(&mut w).map_err(|e| format!("writing the SEPA XML failed: {e}"))?;
    let mut content =
        String::from_utf8(w.into_inner()).map_err(|e| format!("the SEPA XML is not UTF-8: {e}"))?;
    content.push('\n');
    Ok(File {
        filename: format!("payroll-{}-sepa-{:03}.xml", batch.run, batch.sequence + 1),
        content,
    })
}

/// The Bacs processing date as ` YYDDD` (a space, the year's last two digits and
/// the day of the year).
pub fn bacs_date(date: Date) -> String {
    let jan1 = Date::new(date.year(), 1, 1).unwrap_or(date);
    format!(" {:02}{:03}", date.year() % 100, jan1.days_until(date) + 1)
}

/// One 100-character Standard 18 record (HSBC guide, "Standard Records" and
/// "Contra Record"; Bacs Service user guide, Standard 18 field list).
#[allow(clippy::too_many_arguments)]
fn bacs_record(
    dest_sort: &str,
    dest_account: &str,
    code: &str,
    orig_sort: &str,
    orig_account: &str,
    pence: i64,
    user_name: &str,
    reference: &str,
    dest_name: &str,
) -> String {
    let mut r = String::with_capacity(100);
    r.push_str(&num(dest_sort, 6)); // 1-6 destination sorting code
    r.push_str(&num(dest_account, 8)); // 7-14 destination account number
    r.push('0'); // 15 destination account type
    r.push_str(code); // 16-17 transaction code
    r.push_str(&num(orig_sort, 6)); // 18-23 originating sorting code
    r.push_str(&num(orig_account, 8)); // 24-31 originating account number
    r.push_str("    "); // 32-35 free format (RTI hashing reference: left blank)
    r.push_str(&num(pence, 11)); // 36-46 amount in pence
    r.push_str(&alpha(&bacs_text(user_name, 18), 18)); // 47-64 service user's name / narrative
    r.push_str(&alpha(&bacs_text(reference, 18), 18)); // 65-82 reference
    r.push_str(&alpha(&bacs_text(dest_name, 18), 18)); // 83-100 destination account name
    r
}

/// The Bacs Standard 18 file: user header label UHL1, one credit (transaction code
/// 99) per payee, the contra debiting the originating account (code 17), user
/// trailer label UTL1. The transmission labels VOL1, HDR1, HDR2, EOF1 and EOF2 carry
/// the submitter's identity and file serial numbers and are written by the
/// Bacstel-IP software or bureau that signs and sends the file.
pub fn bacs18(batch: &Batch<'_>, user: &BacsOriginator) -> Result<File, String> {
    let total = batch.total();
    // Amount fields are 11 digits of pence.
    if total > 99_999_999_999 {
        return Err(format!(
            "the Bacs file's total {} is more than its 11-digit amount field holds",
            format_minor(total, 2)
        ));
    }
    let reference = format!("PAYROLL {}", batch.run);
    let mut lines = Vec::with_capacity(batch.payees.len() + 3);
    // UHL1 (80): label, processing date, receiving party (999999), currency (00:
    // sterling), country (000000), work code "1 DAILY  ", file number, then blanks.
    lines.push(alpha(
        &format!(
            "UHL1{}999999{}{}1 DAILY  {}",
            bacs_date(batch.execution_date),
            "00",
            "000000",
            num((batch.sequence % 999) + 1, 3)
        ),
        80,
    ));
    for p in batch.payees {
        let BankAccount::Bacs {
            sort_code,
            account_number,
            account_name,
        } = &p.account
        else {
            continue;
        };
        lines.push(bacs_record(
            sort_code,
            account_number,
            "99",
            &user.sort_code,
            &user.account_number,
            p.amount,
            &user.name,
            &reference,
            account_name.as_deref().unwrap_or(&p.name),
        ));
    }
    // Contra: the originating account on both sides, code 17, the total; narrative
    // "PAYROLL <run>", "CONTRA" as the reference, the service user's name.
    lines.push(bacs_record(
        &user.sort_code,
        &user.account_number,
        "17",
        &user.sort_code,
        &user.account_number,
        total,
        &reference,
        "CONTRA",
        &user.name,
    ));
    // UTL1 (80): debit value and credit value (13 digits each), debit count and
    // credit count (7 digits each), then blanks.
    lines.push(alpha(
        &format!(
            "UTL1{}{}{}{}",
            num(total, 13),
            num(total, 13),
            num(1, 7),
            num(batch.payees.len(), 7)
        ),
        80,
    ));
    let mut content = lines.join("\n");
    content.push('\n');
    Ok(File {
        filename: format!("payroll-{}-bacs18-{:03}.txt", batch.run, batch.sequence + 1),
        content,
    })
}

/// `YYMMDD`.
fn yymmdd(date: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        date.year() % 100,
        date.month(),
        date.day()
    )
}

/// The entry hash of NACHA batch and file control records: the sum of the 8-digit
/// receiving DFI identifications, its last 10 digits (Appendix Three, 3.2.2 "Entry
/// Hash").
pub fn entry_hash(routings: &[&str]) -> u64 {
    let sum: u64 = routings
        .iter()
        .map(|r| r.get(..8).and_then(|d| d.parse::<u64>().ok()).unwrap_or(0))
        .sum();
    sum % 10_000_000_000
}

/// The NACHA file: file header (1), one PPD batch of credits (5, service class 220),
/// one entry detail (6) per payee with transaction code 22 (checking) or 32
/// (savings), batch control (8), file control (9), and records of nines to fill the
/// last block of ten.
pub fn nacha(batch: &Batch<'_>, o: &NachaOriginator) -> Result<File, String> {
    let created_date = batch
        .created
        .get(2..10)
        .map(|d| d.replace('-', ""))
        .unwrap_or_default();
    let created_time = batch
        .created
        .get(11..16)
        .map(|t| t.replace(':', ""))
        .unwrap_or_default();
    let total = batch.total();
    if total > 999_999_999_999 {
        return Err("the NACHA file's total is more than its 12-digit field holds".into());
    }
    // File ID modifier: A to Z, then 0 to 9, per file of the run.
    let modifier = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(batch.sequence % 36) as usize] as char;
    let mut records: Vec<String> = Vec::new();
    // File header record (type 1).
    records.push(format!(
        "101 {}{}{}{}{}094101{}{}{}",
        o.immediate_destination,
        alpha(&o.immediate_origin, 10),
        created_date,
        created_time,
        modifier,
        alpha(&nacha_text(&o.immediate_destination_name, 23), 23),
        alpha(&nacha_text(&o.immediate_origin_name, 23), 23),
        alpha("", 8),
    ));
    // Batch header record (type 5).
    let description = o.entry_description.as_deref().unwrap_or("PAYROLL");
    records.push(format!(
        "5220{}{}{}PPD{}{}{}{}1{}{}",
        alpha(&nacha_text(&o.company_name, 16), 16),
        alpha(&nacha_text(batch.run, 20), 20),
        alpha(&o.company_id, 10),
        alpha(&nacha_text(description, 10), 10),
        alpha("", 6), // company descriptive date: none
        yymmdd(batch.execution_date),
        alpha("", 3), // settlement date: inserted by the ACH operator
        o.originating_dfi,
        num(1, 7),
    ));
    let mut routings = Vec::new();
    for (i, p) in batch.payees.iter().enumerate() {
        let BankAccount::Ach {
            routing_number,
            account_number,
            account_type,
        } = &p.account
        else {
            continue;
        };
        if p.amount > 9_999_999_999 {
            return Err(format!(
                "employee {}'s amount {} is more than the 10-digit NACHA amount field holds",
                p.employee,
                format_minor(p.amount, 2)
            ));
        }
        let code = match account_type {
            AccountType::Checking => "22",
            AccountType::Savings => "32",
        };
        routings.push(routing_number.as_str());
        records.push(format!(
            "6{code}{}{}{}{}{}{}0{}{}",
            routing_number, // 4-11 receiving DFI id and 12 check digit
            alpha(account_number, 17),
            num(p.amount, 10),
            alpha(&nacha_text(&p.employee, 15), 15),
            alpha(&nacha_text(&p.name, 22), 22),
            "  ", // discretionary data
            o.originating_dfi,
            num(i + 1, 7),
        ));
    }
    let count = routings.len();
    let hash = entry_hash(&routings);
    // Batch control record (type 8).
    records.push(format!(
        "8220{}{}{}{}{}{}{}{}{}",
        num(count, 6),
        num(hash, 10),
        num(0, 12),
        num(total, 12),
        alpha(&o.company_id, 10),
        alpha("", 19), // message authentication code
        alpha("", 6),  // reserved
        o.originating_dfi,
        num(1, 7),
    ));
    // File control record (type 9): the block count includes this record and the
    // filler records.
    let blocks = (records.len() + 1).div_ceil(10);
    records.push(format!(
        "9{}{}{}{}{}{}{}",
        num(1, 6),
        num(blocks, 6),
        num(count, 8),
        num(hash, 10),
        num(0, 12),
        num(total, 12),
        alpha("", 39),
    ));
    while !records.len().is_multiple_of(10) {
        records.push("9".repeat(94));
    }
    let mut content = records.join("\n");
    content.push('\n');
    Ok(File {
        filename: format!("payroll-{}-nacha-{:03}.ach", batch.run, batch.sequence + 1),
        content,
    })
}

/// The file of `format` for `batch`.
pub fn generate(
    format: Format,
    batch: &Batch<'_>,
    settings: &PaymentSettings,
) -> Result<File, String> {
    let missing = |what: &str| {
        format!(
            "the company's {what} details are not set: add payments.{what} with set-settings (see docs/plugins/payroll.md, \"Payment files\")"
        )
    };
    match format {
        Format::Sepa => sepa(
            batch,
            settings.sepa.as_ref().ok_or_else(|| missing("sepa"))?,
        ),
        Format::Bacs18 => bacs18(
            batch,
            settings.bacs.as_ref().ok_or_else(|| missing("bacs"))?,
        ),
        Format::Nacha => nacha(
            batch,
            settings.nacha.as_ref().ok_or_else(|| missing("nacha"))?,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn sepa_payees() -> Vec<Payee> {
        vec![
            Payee {
                employee: "DE1".into(),
                name: "Emmy Nöther & Söhne <GmbH>".into(),
                amount: 312_345,
                account: BankAccount::Sepa {
                    iban: "DE89370400440532013000".into(),
                    bic: Some("COBADEFFXXX".into()),
                },
            },
            Payee {
                employee: "FR1".into(),
                name: "Élise Dubois".into(),
                amount: 5,
                account: BankAccount::Sepa {
                    iban: "FR1420041010050500013M02606".into(),
                    bic: None,
                },
            },
        ]
    }

    fn batch(payees: &[Payee]) -> Batch<'_> {
        Batch {
            run: "r-000001",
            sequence: 0,
            period_start: d("2025-05-01"),
            period_end: d("2025-05-31"),
            execution_date: d("2025-05-30"),
            created: "2025-05-28T09:15:00Z",
            payees,
        }
    }

    fn debtor(bic: Option<&str>) -> SepaOriginator {
        SepaOriginator {
            name: "Acme GmbH".into(),
            iban: "DE02120300000000202051".into(),
            bic: bic.map(str::to_string),
        }
    }

    fn bacs_user() -> BacsOriginator {
        BacsOriginator {
            service_user_number: "123456".into(),
            name: "Acme Ltd".into(),
            sort_code: "401276".into(),
            account_number: "12345678".into(),
        }
    }

    fn nacha_originator() -> NachaOriginator {
        NachaOriginator {
            immediate_destination: "021000021".into(),
            immediate_destination_name: "JPMorgan Chase".into(),
            immediate_origin: " 121000248".into(),
            immediate_origin_name: "Acme Inc".into(),
            company_name: "Acme Inc".into(),
            company_id: "1123456789".into(),
            originating_dfi: "12100024".into(),
            entry_description: None,
        }
    }

    /// Characters `from..=to` (1-based, inclusive) of `record`.
    fn field(record: &str, from: usize, to: usize) -> &str {
        &record[from - 1..to]
    }

    #[test]
    fn sepa_text_keeps_the_basic_set() {
        assert_eq!(
            sepa_text("Emmy Nöther & Söhne <GmbH>", 70),
            "Emmy Noether + Soehne GmbH"
        );
        assert_eq!(sepa_text("Łukasz Żółć", 70), "Lukasz Zolc");
        assert_eq!(sepa_text("a_b@c", 70), "a b c");
        assert_eq!(sepa_text(&"x".repeat(80), 70).len(), 70);
        assert_eq!(bacs_text("O'Brien, Siobhán", 18), "O BRIEN SIOBHAN");
        assert_eq!(nacha_text("José Ñúñez", 22), "JOSE NUNEZ");
    }

    #[test]
    fn sepa_file_has_header_totals_and_one_transaction_per_payee() {
        let payees = sepa_payees();
        let file = sepa(&batch(&payees), &debtor(Some("DEUTDEFF"))).unwrap();
        let x = &file.content;
        assert_eq!(file.filename, "payroll-r-000001-sepa-001.xml");
        assert!(
            x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{x}"
        );
        assert!(x.contains("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\">"));
        assert!(x.contains("<MsgId>PAYROLL-r-000001-001</MsgId>"));
        assert!(x.contains("<CreDtTm>2025-05-28T09:15:00Z</CreDtTm>"));
        // Twice: the group header and the payment information block.
        assert_eq!(x.matches("<NbOfTxs>2</NbOfTxs>").count(), 2, "{x}");
        assert_eq!(x.matches("<CtrlSum>3123.50</CtrlSum>").count(), 2, "{x}");
        assert_eq!(x.matches("<CdtTrfTxInf>").count(), 2);
        assert!(x.contains("<InstdAmt Ccy=\"EUR\">3123.45</InstdAmt>"));
        assert!(x.contains("<InstdAmt Ccy=\"EUR\">0.05</InstdAmt>"));
        assert!(x.contains("<EndToEndId>r-000001-000002</EndToEndId>"));
        assert!(x.contains("<Nm>Emmy Noether + Soehne GmbH</Nm>"), "{x}");
        assert!(x.contains("<Nm>Elise Dubois</Nm>"));
        assert!(x.contains("<IBAN>FR1420041010050500013M02606</IBAN>"));
        assert!(x.contains("<BICFI>COBADEFFXXX</BICFI>"));
        assert!(
            x.contains("<ReqdExctnDt><Dt>2025-05-30</Dt></ReqdExctnDt>"),
            "{x}"
        );
        assert!(x.contains("<CtgyPurp><Cd>SALA</Cd></CtgyPurp>"), "{x}");
        assert!(x.contains("<Ustrd>Net pay r-000001 2025-05-01 to 2025-05-31</Ustrd>"));
        // No BIC for the debtor: NOTPROVIDED.
        let no_bic = sepa(&batch(&payees), &debtor(None)).unwrap().content;
        assert!(no_bic.contains("<Id>NOTPROVIDED</Id>"));
    }

    #[test]
    fn bacs_records_are_100_characters_with_fields_in_place() {
        let payees = vec![
            Payee {
                employee: "GB1".into(),
                name: "Ada Lovelace".into(),
                amount: 312_345,
                account: BankAccount::Bacs {
                    sort_code: "601613".into(),
                    account_number: "31926819".into(),
                    account_name: None,
                },
            },
            Payee {
                employee: "GB2".into(),
                name: "Alan Turing".into(),
                amount: 100,
                account: BankAccount::Bacs {
                    sort_code: "200000".into(),
                    account_number: "55779911".into(),
                    account_name: Some("A M Turing & Co Joint Account".into()),
                },
            },
        ];
        let file = bacs18(&batch(&payees), &bacs_user()).unwrap();
        let lines: Vec<&str> = file.content.lines().collect();
        assert_eq!(lines.len(), 5, "{}", file.content);
        assert_eq!(lines[0].len(), 80);
        assert_eq!(lines[4].len(), 80);
        for r in &lines[1..4] {
            assert_eq!(r.len(), 100, "{r:?}");
        }
        // UHL1: processing date 30 May 2025 is day 150.
        assert_eq!(field(lines[0], 1, 4), "UHL1");
        assert_eq!(field(lines[0], 5, 10), " 25150");
        assert_eq!(field(lines[0], 11, 16), "999999");
        assert_eq!(field(lines[0], 25, 33), "1 DAILY  ");
        let p = lines[1];
        assert_eq!(field(p, 1, 6), "601613");
        assert_eq!(field(p, 7, 14), "31926819");
        assert_eq!(field(p, 15, 15), "0");
        assert_eq!(field(p, 16, 17), "99");
        assert_eq!(field(p, 18, 23), "401276");
        assert_eq!(field(p, 24, 31), "12345678");
        assert_eq!(field(p, 36, 46), "00000312345");
        assert_eq!(field(p, 47, 64), "ACME LTD          ");
        assert_eq!(field(p, 65, 82), "PAYROLL R-000001  ");
        assert_eq!(field(p, 83, 100), "ADA LOVELACE      ");
        // The account name, when given, is used, cut to 18 characters.
        assert_eq!(field(lines[2], 83, 100), "A M TURING & CO JO");
        let contra = lines[3];
        assert_eq!(field(contra, 1, 14), "40127612345678");
        assert_eq!(field(contra, 16, 17), "17");
        assert_eq!(field(contra, 36, 46), "00000312445");
        assert_eq!(field(contra, 65, 82), "CONTRA            ");
        let utl = lines[4];
        assert_eq!(field(utl, 1, 4), "UTL1");
        assert_eq!(field(utl, 5, 17), "0000000312445");
        assert_eq!(field(utl, 18, 30), "0000000312445");
        assert_eq!(field(utl, 31, 37), "0000001");
        assert_eq!(field(utl, 38, 44), "0000002");
        assert_eq!(bacs_date(d("2024-12-31")), " 24366");
        assert_eq!(bacs_date(d("2026-01-01")), " 26001");
    }

    #[test]
    fn nacha_records_entry_hash_totals_and_padding() {
        let ach = |routing: &str, kind| BankAccount::Ach {
            routing_number: routing.into(),
            account_number: "123456789".into(),
            account_type: kind,
        };
        let payees = vec![
            Payee {
                employee: "US1".into(),
                name: "Grace Hopper".into(),
                amount: 412_345,
                account: ach("026009593", AccountType::Checking),
            },
            Payee {
                employee: "US2".into(),
                name: "Katherine Johnson".into(),
                amount: 250_000,
                account: ach("121000248", AccountType::Savings),
            },
        ];
        let file = nacha(&batch(&payees), &nacha_originator()).unwrap();
        let r: Vec<&str> = file.content.lines().collect();
        // 1 + 5 + two 6 + 8 + 9 = 6 records, padded to 10.
        assert_eq!(r.len(), 10);
        assert!(r.iter().all(|l| l.len() == 94), "{}", file.content);
        assert!(r[6..].iter().all(|l| *l == "9".repeat(94)));
        let h = r[0];
        assert_eq!(field(h, 1, 3), "101");
        assert_eq!(field(h, 4, 13), " 021000021");
        assert_eq!(field(h, 14, 23), " 121000248");
        assert_eq!(field(h, 24, 29), "250528");
        assert_eq!(field(h, 30, 33), "0915");
        assert_eq!(field(h, 34, 40), "A094101");
        assert_eq!(field(h, 41, 63), "JPMORGAN CHASE         ");
        let b = r[1];
        assert_eq!(field(b, 1, 4), "5220");
        assert_eq!(field(b, 5, 20), "ACME INC        ");
        assert_eq!(field(b, 41, 50), "1123456789");
        assert_eq!(field(b, 51, 53), "PPD");
        assert_eq!(field(b, 54, 63), "PAYROLL   ");
        assert_eq!(field(b, 70, 75), "250530");
        assert_eq!(field(b, 79, 87), "112100024");
        assert_eq!(field(b, 88, 94), "0000001");
        let e = r[2];
        assert_eq!(field(e, 1, 3), "622");
        assert_eq!(field(e, 4, 11), "02600959");
        assert_eq!(field(e, 12, 12), "3");
        assert_eq!(field(e, 13, 29), "123456789        ");
        assert_eq!(field(e, 30, 39), "0000412345");
        assert_eq!(field(e, 40, 54), "US1            ");
        assert_eq!(field(e, 55, 76), "GRACE HOPPER          ");
        assert_eq!(field(e, 79, 94), "0121000240000001");
        assert_eq!(field(r[3], 2, 3), "32");
        assert_eq!(field(r[3], 80, 94), "121000240000002");
        // Entry hash: 02600959 + 12100024 = 14700983.
        assert_eq!(entry_hash(&["026009593", "121000248"]), 14_700_983);
        let c = r[4];
        assert_eq!(field(c, 1, 4), "8220");
        assert_eq!(field(c, 5, 10), "000002");
        assert_eq!(field(c, 11, 20), "0014700983");
        assert_eq!(field(c, 21, 32), "000000000000");
        assert_eq!(field(c, 33, 44), "000000662345");
        assert_eq!(field(c, 45, 54), "1123456789");
        let f = r[5];
        assert_eq!(field(f, 1, 7), "9000001");
        assert_eq!(field(f, 8, 13), "000001");
        assert_eq!(field(f, 14, 21), "00000002");
        assert_eq!(field(f, 22, 31), "0014700983");
        assert_eq!(field(f, 44, 55), "000000662345");
        // The hash keeps only the last 10 digits of the sum.
        let many = vec!["999999999"; 2000];
        assert_eq!(entry_hash(&many), (99_999_999u64 * 2000) % 10_000_000_000);
        // Ten records need no filler; eleven need a second block.
        let nine: Vec<Payee> = (0..6).map(|_| payees[0].clone()).collect();
        let ten = nacha(&batch(&nine), &nacha_originator()).unwrap();
        assert_eq!(ten.content.lines().count(), 10);
        assert!(!ten.content.contains(&"9".repeat(94)));
        let seven: Vec<Payee> = (0..7).map(|_| payees[0].clone()).collect();
        let twenty = nacha(&batch(&seven), &nacha_originator()).unwrap();
        let lines: Vec<&str> = twenty.content.lines().collect();
        assert_eq!(lines.len(), 20);
        assert_eq!(field(lines[10], 8, 13), "000002");
    }

    #[test]
    fn company_payment_settings_are_checked() {
        let ok = PaymentSettings {
            sepa: Some(debtor(Some("deutdeff"))),
            bacs: Some(bacs_user()),
            nacha: Some(NachaOriginator {
                immediate_origin: "121000248".into(),
                originating_dfi: "121000248".into(),
                ..nacha_originator()
            }),
        }
        .checked()
        .unwrap();
        assert_eq!(ok.nacha.as_ref().unwrap().immediate_origin, " 121000248");
        assert_eq!(ok.nacha.as_ref().unwrap().originating_dfi, "12100024");
        assert_eq!(ok.sepa.as_ref().unwrap().bic.as_deref(), Some("DEUTDEFF"));
        let bad_iban = PaymentSettings {
            sepa: Some(SepaOriginator {
                iban: "DE02120300000000202052".into(),
                ..debtor(None)
            }),
            ..Default::default()
        };
        assert!(
            bad_iban
                .checked()
                .unwrap_err()
                .contains("payments.sepa.iban")
        );
        let bad_sun = PaymentSettings {
            bacs: Some(BacsOriginator {
                service_user_number: "12345".into(),
                ..bacs_user()
            }),
            ..Default::default()
        };
        assert!(
            bad_sun
                .checked()
                .unwrap_err()
                .contains("service-user-number")
        );
        let bad_dest = PaymentSettings {
            nacha: Some(NachaOriginator {
                immediate_destination: "021000022".into(),
                ..nacha_originator()
            }),
            ..Default::default()
        };
        assert!(
            bad_dest
                .checked()
                .unwrap_err()
                .contains("payments.nacha.immediate-destination")
        );
        let e = generate(Format::Nacha, &batch(&[]), &PaymentSettings::default()).unwrap_err();
        assert!(e.contains("payments.nacha"), "{e}");
    }

    /// Writes sample SEPA files to `$PAYROLL_SEPA_SAMPLES` for `scripts/sepa-xsd.sh`,
    /// which validates them against the official `pain.001.001.09` schema.
    #[test]
    #[ignore = "run by scripts/sepa-xsd.sh"]
    fn write_sepa_samples() {
        let dir = std::env::var("PAYROLL_SEPA_SAMPLES").expect("PAYROLL_SEPA_SAMPLES");
        let payees = sepa_payees();
        let many: Vec<Payee> = (0..250)
            .map(|i| Payee {
                employee: format!("E{i}"),
                name: format!(
                    "Zoë O'Connor-Müller ({i}) / Straße & Co. {}",
                    "ü".repeat(80)
                ),
                amount: 1 + i * 100_003,
                account: payees[i as usize % 2].account.clone(),
            })
            .collect();
        for (name, payees, bic) in [
            ("two-with-bic", &payees, Some("DEUTDEFF500")),
            ("two-without-bic", &payees, None),
            ("many", &many, Some("DEUTDEFF")),
        ] {
            let file = sepa(&batch(payees), &debtor(bic)).unwrap();
            std::fs::write(format!("{dir}/{name}.xml"), file.content).unwrap();
        }
    }

    /// The three files for 10,000 payees: time and size, printed (not asserted).
    /// `cargo test --release --target <host> -p payroll measure_10000 -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, run by hand"]
    fn measure_10000_payees() {
        let n = 10_000;
        let make = |account: &dyn Fn(usize) -> BankAccount| -> Vec<Payee> {
            (0..n)
                .map(|i| Payee {
                    employee: format!("E{i:05}"),
                    name: format!("Employee Müller {i}"),
                    amount: 150_000 + i as i64,
                    account: account(i),
                })
                .collect()
        };
        let sepa_payees = make(&|_| BankAccount::Sepa {
            iban: "DE89370400440532013000".into(),
            bic: Some("COBADEFFXXX".into()),
        });
        let bacs_payees = make(&|_| BankAccount::Bacs {
            sort_code: "601613".into(),
            account_number: "31926819".into(),
            account_name: None,
        });
        let ach_payees = make(&|_| BankAccount::Ach {
            routing_number: "026009593".into(),
            account_number: "123456789".into(),
            account_type: AccountType::Checking,
        });
        let timed = |name: &str, f: &dyn Fn() -> File| {
            let start = std::time::Instant::now();
            let file = f();
            let made = start.elapsed();
            let digest = crate::payments::sha256_hex(file.content.as_bytes());
            println!(
                "{name}: {n} payees, {} bytes, {:.1} ms to write, {:.1} ms with SHA-256 ({})",
                file.content.len(),
                made.as_secs_f64() * 1000.0,
                start.elapsed().as_secs_f64() * 1000.0,
                &digest[..8]
            );
        };
        timed("sepa", &|| {
            sepa(&batch(&sepa_payees), &debtor(Some("DEUTDEFF"))).unwrap()
        });
        timed("bacs18", &|| {
            bacs18(&batch(&bacs_payees), &bacs_user()).unwrap()
        });
        timed("nacha", &|| {
            nacha(&batch(&ach_payees), &nacha_originator()).unwrap()
        });
    }
}
