//! OFX bank statements: Open Financial Exchange Specification 1.0.2 (SGML, leaf
//! elements without end tags, section 2.3) and 2.x (the same elements as XML). What
//! is read, of each `STMTRS` (section 11.4.2.2, the bank statement response):
//!
//! - `CURDEF` the currency; `BANKACCTFROM/ACCTID` the account;
//! - `BANKTRANLIST/DTSTART`, `DTEND`; `LEDGERBAL/BALAMT`, `DTASOF` the closing balance;
//! - each `BANKTRANLIST/STMTTRN` (section 11.4.3): `TRNTYPE`, `DTPOSTED`, `TRNAMT`
//!   (signed: money in positive), `FITID` (the bank's unique id), `NAME` or
//!   `PAYEE/NAME`, `MEMO`, `CURRENCY/CURSYM`.
//!
//! OFX has no statement id: the statement is `ofx-<ACCTID>-<DTSTART>-<DTEND>`.
//! Errors name the line of the file and the element.

use backoffice_sdk::{Currency, Date, Money};

use crate::camt::Converted;
use crate::model::ParsedLine;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    pub kind: String,
    pub posted: String,
    pub amount: String,
    pub fitid: String,
    pub name: String,
    pub memo: String,
    pub currency: String,
    pub raw: String,
    pub line: usize,
    pub posted_line: usize,
    pub amount_line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfxStatement {
    pub currency: String,
    pub account_id: String,
    pub start: String,
    pub end: String,
    pub balance: String,
    pub balance_date: String,
    pub transactions: Vec<Transaction>,
    pub line: usize,
}

impl OfxStatement {
    pub fn id(&self) -> String {
        format!(
            "ofx-{}-{}-{}",
            self.account_id,
            day_text(&self.start),
            day_text(&self.end)
        )
    }
}

fn day_text(s: &str) -> &str {
    s.get(..8).unwrap_or(s)
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Every bank statement of an OFX file.
pub fn parse(text: &str) -> Result<Vec<OfxStatement>, String> {
    let body_start = text.find("<OFX>").ok_or_else(|| {
        "line 1: no <OFX> element: this is not an OFX file (OFX 1.0.2 section 2.4)".to_owned()
    })?;
    let line_at = |pos: usize| text[..pos].bytes().filter(|b| *b == b'\n').count() + 1;
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut stmt: Option<OfxStatement> = None;
    let mut txn: Option<(Transaction, usize)> = None;
    let mut pos = body_start;
    while let Some(rel) = text[pos..].find('<') {
        let open = pos + rel;
        let close = open
            + text[open..]
                .find('>')
                .ok_or_else(|| format!("line {}: a tag is not closed with '>'", line_at(open)))?;
        let tag = &text[open + 1..close];
        let after = close + 1;
        let next = text[after..].find('<').map_or(text.len(), |n| after + n);
        let value = decode(text[after..next].trim());
        pos = after;
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            let Some(depth) = stack.iter().rposition(|s| s == name) else {
                return Err(format!(
                    "line {}: </{name}> closes no open element",
                    line_at(open)
                ));
            };
            stack.truncate(depth);
            match name {
                "STMTTRN" => {
                    if let (Some((mut t, start)), Some(s)) = (txn.take(), stmt.as_mut()) {
                        t.raw = text[start..after].trim().to_owned();
                        for (what, v) in [("DTPOSTED", &t.posted), ("TRNAMT", &t.amount)] {
                            if v.is_empty() {
                                return Err(format!("line {}: the STMTTRN has no {what}", t.line));
                            }
                        }
                        s.transactions.push(t);
                    }
                }
                "STMTRS" => {
                    if let Some(s) = stmt.take() {
                        if s.account_id.is_empty() {
                            return Err(format!(
                                "line {}: the STMTRS has no BANKACCTFROM/ACCTID",
                                s.line
                            ));
                        }
                        out.push(s);
                    }
                }
                _ => {}
            }
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or("").to_owned();
        let parent = stack.last().map(String::as_str).unwrap_or("");
        if value.is_empty() {
            // An aggregate: it holds elements.
            match name.as_str() {
                "STMTRS" => {
                    stmt = Some(OfxStatement {
                        line: line_at(open),
                        ..OfxStatement::default()
                    });
                }
                "STMTTRN" => {
                    txn = Some((
                        Transaction {
                            line: line_at(open),
                            ..Transaction::default()
                        },
                        open,
                    ));
                }
                _ => {}
            }
            stack.push(name);
            continue;
        }
        // A leaf with its value; skip its end tag if it has one (OFX 2).
        if text[next..].starts_with(&format!("</{name}>")) {
            pos = next + name.len() + 3;
        }
        if let Some((t, _)) = txn.as_mut() {
            match (parent, name.as_str()) {
                ("STMTTRN", "TRNTYPE") => t.kind = value,
                ("STMTTRN", "DTPOSTED") => {
                    t.posted = value;
                    t.posted_line = line_at(open);
                }
                ("STMTTRN", "TRNAMT") => {
                    t.amount = value;
                    t.amount_line = line_at(open);
                }
                ("STMTTRN", "FITID") => t.fitid = value,
                ("STMTTRN" | "PAYEE", "NAME") => t.name = value,
                ("STMTTRN", "MEMO") => t.memo = value,
                ("CURRENCY" | "ORIGCURRENCY", "CURSYM") => t.currency = value,
                _ => {}
            }
        } else if let Some(s) = stmt.as_mut() {
            match (parent, name.as_str()) {
                ("STMTRS", "CURDEF") => s.currency = value,
                ("BANKACCTFROM", "ACCTID") => s.account_id = value,
                ("BANKTRANLIST", "DTSTART") => s.start = value,
                ("BANKTRANLIST", "DTEND") => s.end = value,
                ("LEDGERBAL", "BALAMT") => s.balance = value,
                ("LEDGERBAL", "DTASOF") => s.balance_date = value,
                _ => {}
            }
        }
    }
    if out.is_empty() {
        return Err(
            "the file has no bank statement (OFX/BANKMSGSRSV1/STMTTRNRS/STMTRS)".to_owned(),
        );
    }
    Ok(out)
}

/// An OFX date-time `YYYYMMDD[HHMMSS[.XXX][[offset:TZ]]]` as its day.
fn day(s: &str, what: &str, line: usize) -> Result<Date, String> {
    let d = day_text(s);
    let bad = || format!("line {line}: {what} {s:?} is not an OFX date (YYYYMMDD...)");
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Date::parse(&format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])).map_err(|_| bad())
}

fn amount(s: &str, currency: Currency, what: &str, line: usize) -> Result<i64, String> {
    let t = if s.contains(',') && !s.contains('.') {
        s.replace(',', ".")
    } else {
        s.to_owned()
    };
    Money::parse_in(&t, currency)
        .map(|m| m.amount())
        .map_err(|e| format!("line {line}: {what}: {}", e.message()))
}

/// Check `s` against the account's `currency` and convert it.
pub fn convert(s: &OfxStatement, currency: Currency) -> Result<Converted, String> {
    if !s.currency.is_empty() && s.currency != currency.code() {
        return Err(format!(
            "line {}: CURDEF: the statement is in {} but the account is in {currency}",
            s.line, s.currency
        ));
    }
    let to = (!s.end.is_empty())
        .then(|| day(&s.end, "DTEND", s.line))
        .transpose()?;
    let closing = if s.balance.is_empty() {
        None
    } else {
        let date = if s.balance_date.is_empty() {
            to.ok_or_else(|| format!("line {}: LEDGERBAL has no DTASOF", s.line))?
        } else {
            day(&s.balance_date, "DTASOF", s.line)?
        };
        Some((amount(&s.balance, currency, "BALAMT", s.line)?, date))
    };
    let mut lines = Vec::new();
    for t in &s.transactions {
        if !t.currency.is_empty() && t.currency != currency.code() {
            return Err(format!(
                "line {}: the transaction is in {} but the account is in {currency}",
                t.line, t.currency
            ));
        }
        lines.push(ParsedLine {
            date: day(&t.posted, "DTPOSTED", t.posted_line)?,
            value_date: None,
            amount: amount(&t.amount, currency, "TRNAMT", t.amount_line)?,
            reference: t.memo.clone(),
            bank_reference: (!t.fitid.is_empty()).then(|| t.fitid.clone()),
            counterparty: t.name.clone(),
            description: t.kind.to_lowercase(),
            raw: t.raw.clone(),
            origin: format!("line {}", t.line),
        });
    }
    Ok(Converted {
        opening: None,
        closing,
        from: (!s.start.is_empty())
            .then(|| day(&s.start, "DTSTART", s.line))
            .transpose()?,
        to,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OFX 1.0.2 statement written for these tests from the specification's
    /// section 11.4.2 example: SGML, leaf elements without end tags.
    const SGML: &str = "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\nCHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n<OFX>\r\n<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20260131120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\r\n<BANKMSGSRSV1>\r\n<STMTTRNRS>\r\n<TRNUID>1001\r\n<STATUS><CODE>0<SEVERITY>INFO</STATUS>\r\n<STMTRS>\r\n<CURDEF>GBP\r\n<BANKACCTFROM><BANKID>601613<ACCTID>31926819<ACCTTYPE>CHECKING</BANKACCTFROM>\r\n<BANKTRANLIST>\r\n<DTSTART>20260101\r\n<DTEND>20260131235959[0:GMT]\r\n<STMTTRN>\r\n<TRNTYPE>CREDIT\r\n<DTPOSTED>20260120\r\n<TRNAMT>100.00\r\n<FITID>F-0001\r\n<NAME>Acme Retail &amp; Co\r\n<MEMO>INV-2026-0001\r\n</STMTTRN>\r\n<STMTTRN>\r\n<TRNTYPE>FEE\r\n<DTPOSTED>20260131120000.000[0:GMT]\r\n<TRNAMT>-12.50\r\n<FITID>F-0002\r\n<NAME>Northwind Bank\r\n<MEMO>Monthly account fee\r\n</STMTTRN>\r\n</BANKTRANLIST>\r\n<LEDGERBAL><BALAMT>1087.50<DTASOF>20260131</LEDGERBAL>\r\n</STMTRS>\r\n</STMTTRNRS>\r\n</BANKMSGSRSV1>\r\n</OFX>\r\n";

    fn gbp() -> Currency {
        Currency::new("GBP").unwrap()
    }

    #[test]
    fn an_sgml_statement_is_read() {
        let s = parse(SGML).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].id(), "ofx-31926819-20260101-20260131");
        let c = convert(&s[0], gbp()).unwrap();
        assert_eq!(c.closing, Some((108_750, Date::new(2026, 1, 31).unwrap())));
        assert_eq!(c.lines.len(), 2);
        assert_eq!(c.lines[0].amount, 10_000);
        assert_eq!(c.lines[0].counterparty, "Acme Retail & Co");
        assert_eq!(c.lines[0].reference, "INV-2026-0001");
        assert_eq!(c.lines[0].bank_reference.as_deref(), Some("F-0001"));
        assert_eq!(c.lines[0].origin, "line 23");
        assert!(c.lines[0].raw.starts_with("<STMTTRN>") && c.lines[0].raw.ends_with("</STMTTRN>"));
        assert_eq!(c.lines[1].amount, -1_250);
        assert_eq!(c.lines[1].date, Date::new(2026, 1, 31).unwrap());
    }

    #[test]
    fn an_xml_statement_is_read_the_same() {
        // OFX 2: every element closed.
        let mut xml =
            String::from("<?xml version=\"1.0\"?>\n<?OFX OFXHEADER=\"200\" VERSION=\"211\"?>\n");
        let body = &SGML[SGML.find("<OFX>").unwrap()..];
        let mut closed = String::new();
        for line in body.split("\r\n") {
            closed.push_str(line);
            if let Some(rest) = line.strip_prefix('<')
                && let Some((name, value)) = rest.split_once('>')
                && !value.is_empty()
                && !value.contains('<')
            {
                closed.push_str(&format!("</{name}>"));
            }
            closed.push('\n');
        }
        xml.push_str(&closed);
        let a = convert(&parse(SGML).unwrap()[0], gbp()).unwrap();
        let b = convert(&parse(&xml).unwrap()[0], gbp()).unwrap();
        assert_eq!(a.closing, b.closing);
        assert_eq!(
            a.lines
                .iter()
                .map(|l| (l.amount, l.reference.clone()))
                .collect::<Vec<_>>(),
            b.lines
                .iter()
                .map(|l| (l.amount, l.reference.clone()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn bad_statements_are_refused_with_the_line() {
        let bad = |text: String, want: &[&str]| {
            let e = parse(&text)
                .and_then(|s| convert(&s[0], gbp()))
                .unwrap_err();
            for w in want {
                assert!(e.contains(w), "{e:?} lacks {w:?}");
            }
        };
        bad(
            SGML.replace("<TRNAMT>-12.50", "<TRNAMT>-12.505"),
            &["line 34:", "TRNAMT", "more than 2 decimal places"],
        );
        bad(
            SGML.replace("<CURDEF>GBP", "<CURDEF>USD"),
            &["CURDEF", "in USD but the account is in GBP"],
        );
        bad(
            SGML.replace("<DTPOSTED>20260120", "<DTPOSTED>2026-01-20"),
            &["line 25:", "DTPOSTED", "not an OFX date"],
        );
        bad(
            SGML.replace("<TRNAMT>100.00\r\n", ""),
            &["line 23:", "no TRNAMT"],
        );
        bad(
            SGML.replace("</BANKTRANLIST>", "</BANKTRANLST>"),
            &["</BANKTRANLST> closes no open element"],
        );
        bad("hello".to_owned(), &["not an OFX file"]);
    }
}
