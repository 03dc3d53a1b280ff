//! ISO 20022 `camt.053` Bank-to-Customer Statement (message definition
//! BankToCustomerStatementV02 to V13, `urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN`),
//! read with `quick-xml`. What is read, by element path under `Document/BkToCstmrStmt`:
//!
//! - `Stmt/Id` the statement id; `Stmt/Acct/Id/IBAN` (or `Othr/Id`) and `Stmt/Acct/Ccy`;
//!   `Stmt/FrToDt/FrDtTm`, `ToDtTm`;
//! - `Stmt/Bal` with `Tp/CdOrPrtry/Cd` `OPBD` (opening booked) or `CLBD` (closing
//!   booked), `Amt` with its `Ccy`, `CdtDbtInd` (`DBIT` is a negative balance), `Dt/Dt`;
//! - `Stmt/Ntry`: `Amt Ccy`, `CdtDbtInd` (`CRDT` money in, `DBIT` money out),
//!   `BookgDt/Dt` (or `DtTm`), `ValDt/Dt`, `AcctSvcrRef` (the bank's reference),
//!   `AddtlNtryInf`, and of the first `NtryDtls/TxDtls`: `RmtInf/Ustrd` (every one),
//!   `Refs/EndToEndId`, and `RltdPties/Dbtr` (money in) or `Cdtr` (money out) `Nm`,
//!   directly or under `Pty` (V08 and later).
//!
//! Errors name the element by its path, `/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt`.

use backoffice_sdk::{Currency, Date, Money};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// An amount as written, with its currency and direction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawAmount {
    pub value: String,
    pub currency: String,
    /// `CRDT` or `DBIT`.
    pub indicator: String,
    /// Path of the `Amt` element.
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Balance {
    pub code: String,
    pub amount: RawAmount,
    pub date: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub amount: RawAmount,
    pub booking_date: String,
    pub value_date: String,
    pub bank_reference: String,
    pub end_to_end_id: String,
    pub remittance: Vec<String>,
    pub debtor: String,
    pub creditor: String,
    pub additional: String,
    /// `Sts` (V02-V07) or `Sts/Cd` (V08 and later): `BOOK`, `PDNG` or `INFO`.
    pub status: String,
    pub raw: String,
    pub at: String,
    /// The line (from 1) of its `<Ntry>` in the text parsed.
    pub line: usize,
    tx_seen: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CamtStatement {
    pub id: String,
    pub iban: String,
    pub other_id: String,
    pub currency: String,
    pub from: String,
    pub to: String,
    pub balances: Vec<Balance>,
    pub entries: Vec<Entry>,
    pub at: String,
}

/// The line (from 1) of byte `pos` in `text`.
fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn path_of(stack: &[(String, usize)]) -> String {
    let mut s = String::new();
    for (name, n) in stack {
        s.push('/');
        s.push_str(name);
        if !matches!(name.as_str(), "Document" | "BkToCstmrStmt") {
            s.push_str(&format!("[{n}]"));
        }
    }
    s
}

fn attribute(e: &BytesStart, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        if a.key.local_name().as_ref() == name {
            return a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| Some(v.into_owned()))
                .map_err(|e| format!("bad attribute {name}: {e}"));
        }
    }
    Ok(None)
}

/// Every statement of a camt.053 document.
pub fn parse(xml: &str) -> Result<Vec<CamtStatement>, String> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    // (local name, index among same-named siblings), and the sibling counters.
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut counters: Vec<Vec<(String, usize)>> = vec![Vec::new()];
    let mut text = String::new();
    let mut out: Vec<CamtStatement> = Vec::new();
    let mut stmt: Option<CamtStatement> = None;
    let mut entry: Option<(Entry, usize)> = None;
    let mut bal: Option<Balance> = None;
    let mut pending_ccy = String::new();
    let mut saw_root = false;
    // Lines counted so far, up to byte `.0` (entries' lines, without rescanning).
    let mut counted = (0usize, 1usize);
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let pos = usize::try_from(reader.error_position()).unwrap_or(0);
            format!(
                "malformed XML at line {} (inside {}): {e}",
                line_of(xml, pos),
                if stack.is_empty() {
                    "/".to_owned()
                } else {
                    path_of(&stack)
                }
            )
        })?;
        let (start, is_empty) = match &event {
            Event::Start(e) => (Some(e.borrow()), false),
            Event::Empty(e) => (Some(e.borrow()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            {
                let name = e.local_name().as_ref().to_owned();
                let siblings = counters.last_mut().ok_or("unbalanced elements")?;
                let n = match siblings.iter_mut().find(|(s, _)| *s == name) {
                    Some((_, c)) => {
                        *c += 1;
                        *c
                    }
                    None => {
                        siblings.push((name.clone(), 1));
                        1
                    }
                };
                stack.push((name.clone(), n));
                counters.push(Vec::new());
                text.clear();
                let names: Vec<&str> = stack.iter().map(|(s, _)| s.as_str()).collect();
                match names.as_slice() {
                    ["Document"] => {
                        if let Some(ns) = attribute(&e, "xmlns")?
                            && !ns.starts_with("urn:iso:std:iso:20022:tech:xsd:camt.053.")
                        {
                            return Err(format!(
                                "/Document: namespace {ns:?} is not a camt.053 statement (urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN)"
                            ));
                        }
                    }
                    [_] => {
                        return Err(format!(
                            "/{name}: the root element must be Document (ISO 20022 camt.053)"
                        ));
                    }
                    ["Document", "BkToCstmrStmt"] => saw_root = true,
                    ["Document", "BkToCstmrStmt", "Stmt"] => {
                        stmt = Some(CamtStatement {
                            at: path_of(&stack),
                            ..CamtStatement::default()
                        });
                    }
                    ["Document", "BkToCstmrStmt", "Stmt", "Ntry"] => {
                        let to = before.min(xml.len()).max(counted.0);
                        counted.1 += xml.as_bytes()[counted.0..to]
                            .iter()
                            .filter(|b| **b == b'\n')
                            .count();
                        counted.0 = to;
                        let line = counted.1
                            + xml.as_bytes()[to..]
                                .iter()
                                .take_while(|b| b.is_ascii_whitespace())
                                .filter(|b| **b == b'\n')
                                .count();
                        entry = Some((
                            Entry {
                                line,
                                at: path_of(&stack),
                                ..Entry::default()
                            },
                            before,
                        ));
                    }
                    ["Document", "BkToCstmrStmt", "Stmt", "Bal"] => {
                        bal = Some(Balance {
                            at: path_of(&stack),
                            ..Balance::default()
                        });
                    }
                    [
                        "Document",
                        "BkToCstmrStmt",
                        "Stmt",
                        "Ntry",
                        "NtryDtls",
                        "TxDtls",
                    ] => {
                        if let Some((en, _)) = entry.as_mut() {
                            en.tx_seen += 1;
                        }
                    }
                    [.., "Amt"] => {
                        pending_ccy = attribute(&e, "Ccy")?.unwrap_or_default();
                    }
                    _ => {}
                }
                if is_empty {
                    close(
                        &mut stack,
                        &mut counters,
                        &mut text,
                        &mut stmt,
                        &mut entry,
                        &mut bal,
                        &mut out,
                        &pending_ccy,
                        xml,
                        usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX),
                    )?;
                }
            }
            continue;
        }
        match event {
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t),
            Event::GeneralRef(r) => {
                let c = match r
                    .resolve_char_ref()
                    .map_err(|e| format!("{}: {e}", path_of(&stack)))?
                {
                    Some(c) => c,
                    // XML 1.0 section 4.6: the five predefined entities.
                    None => match &*r.xml10_content() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(format!(
                                "{}: unknown entity &{other}; (only the five XML entities are allowed)",
                                path_of(&stack)
                            ));
                        }
                    },
                };
                text.push(c);
            }
            Event::End(_) => {
                let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                close(
                    &mut stack,
                    &mut counters,
                    &mut text,
                    &mut stmt,
                    &mut entry,
                    &mut bal,
                    &mut out,
                    &pending_ccy,
                    xml,
                    after,
                )?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(
            "/Document/BkToCstmrStmt is missing: this is not a camt.053 bank-to-customer statement"
                .to_owned(),
        );
    }
    if out.is_empty() {
        return Err("/Document/BkToCstmrStmt has no Stmt".to_owned());
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn close(
    stack: &mut Vec<(String, usize)>,
    counters: &mut Vec<Vec<(String, usize)>>,
    text: &mut String,
    stmt: &mut Option<CamtStatement>,
    entry: &mut Option<(Entry, usize)>,
    bal: &mut Option<Balance>,
    out: &mut Vec<CamtStatement>,
    ccy: &str,
    xml: &str,
    after: usize,
) -> Result<(), String> {
    let at = path_of(stack);
    let value = text.trim().to_owned();
    text.clear();
    let names: Vec<&str> = stack.iter().map(|(s, _)| s.as_str()).collect();
    let rel: &[&str] = match names.as_slice() {
        ["Document", "BkToCstmrStmt", "Stmt", rest @ ..] => rest,
        // Outside a statement: nothing is read.
        _ => &["-"],
    };
    let amount = |value: &str| RawAmount {
        value: value.to_owned(),
        currency: ccy.to_owned(),
        indicator: String::new(),
        at: at.clone(),
    };
    match rel {
        [] => {
            let s = stmt.take().ok_or("Stmt closed twice")?;
            if s.id.is_empty() {
                return Err(format!("{at}/Id is missing: a statement needs its id"));
            }
            out.push(s);
        }
        ["Id"] => set(stmt, |s| s.id = value),
        ["Acct", "Id", "IBAN"] => set(stmt, |s| s.iban = value),
        ["Acct", "Id", "Othr", "Id"] => set(stmt, |s| s.other_id = value),
        ["Acct", "Ccy"] => set(stmt, |s| s.currency = value),
        ["FrToDt", "FrDtTm"] => set(stmt, |s| s.from = value),
        ["FrToDt", "ToDtTm"] => set(stmt, |s| s.to = value),
        ["Bal"] => {
            let b = bal.take().ok_or("Bal closed twice")?;
            for (what, v) in [
                ("Tp/CdOrPrtry/Cd", &b.code),
                ("Amt", &b.amount.value),
                ("CdtDbtInd", &b.amount.indicator),
                ("Dt/Dt", &b.date),
            ] {
                if v.is_empty() {
                    return Err(format!("{}/{what} is missing", b.at));
                }
            }
            set(stmt, |s| s.balances.push(b));
        }
        ["Bal", "Tp", "CdOrPrtry", "Cd"] => set_bal(bal, |b| b.code = value),
        ["Bal", "Amt"] => set_bal(bal, |b| {
            let ind = std::mem::take(&mut b.amount.indicator);
            b.amount = amount(&value);
            b.amount.indicator = ind;
        }),
        ["Bal", "CdtDbtInd"] => set_bal(bal, |b| b.amount.indicator = value),
        ["Bal", "Dt", "Dt" | "DtTm"] => set_bal(bal, |b| b.date = value),
        ["Ntry"] => {
            let (mut e, start) = entry.take().ok_or("Ntry closed twice")?;
            e.raw = xml[start.min(xml.len())..after.min(xml.len())].to_owned();
            for (what, v) in [
                ("Amt", &e.amount.value),
                ("CdtDbtInd", &e.amount.indicator),
                ("BookgDt/Dt", &e.booking_date),
            ] {
                if v.is_empty() {
                    return Err(format!("line {}: {}/{what} is missing", e.line, e.at));
                }
            }
            set(stmt, |s| s.entries.push(e));
        }
        ["Ntry", "Amt"] => set_entry(entry, |e| {
            let ind = std::mem::take(&mut e.amount.indicator);
            e.amount = amount(&value);
            e.amount.indicator = ind;
        }),
        ["Ntry", "CdtDbtInd"] => set_entry(entry, |e| e.amount.indicator = value),
        ["Ntry", "BookgDt", "Dt" | "DtTm"] => set_entry(entry, |e| e.booking_date = value),
        ["Ntry", "ValDt", "Dt" | "DtTm"] => set_entry(entry, |e| e.value_date = value),
        ["Ntry", "AcctSvcrRef"] => set_entry(entry, |e| e.bank_reference = value),
        ["Ntry", "AddtlNtryInf"] => set_entry(entry, |e| e.additional = value),
        ["Ntry", "Sts"] | ["Ntry", "Sts", "Cd"] if !value.is_empty() => {
            set_entry(entry, |e| e.status = value)
        }
        ["Ntry", "NtryDtls", "TxDtls", rest @ ..] => set_entry(entry, |e| {
            // Only the first transaction names the counterparty and references;
            // the remittance lines of all are kept.
            let first = e.tx_seen <= 1;
            match rest {
                ["RmtInf", "Ustrd"] if !value.is_empty() => e.remittance.push(value),
                ["Refs", "EndToEndId"] if first => e.end_to_end_id = value,
                ["RltdPties", "Dbtr", "Nm"] | ["RltdPties", "Dbtr", "Pty", "Nm"] if first => {
                    e.debtor = value
                }
                ["RltdPties", "Cdtr", "Nm"] | ["RltdPties", "Cdtr", "Pty", "Nm"] if first => {
                    e.creditor = value
                }
                _ => {}
            }
        }),
        _ => {}
    }
    stack.pop();
    counters.pop();
    Ok(())
}

fn set(stmt: &mut Option<CamtStatement>, f: impl FnOnce(&mut CamtStatement)) {
    if let Some(s) = stmt.as_mut() {
        f(s);
    }
}

fn set_bal(bal: &mut Option<Balance>, f: impl FnOnce(&mut Balance)) {
    if let Some(b) = bal.as_mut() {
        f(b);
    }
}

fn set_entry(entry: &mut Option<(Entry, usize)>, f: impl FnOnce(&mut Entry)) {
    if let Some((e, _)) = entry.as_mut() {
        f(e);
    }
}

/// A statement converted to the account's currency, with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub opening: Option<(i64, Date)>,
    pub closing: Option<(i64, Date)>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub lines: Vec<crate::model::ParsedLine>,
}

/// The day of an ISO date or date-time (`2026-01-31` or `2026-01-31T23:59:59+01:00`).
fn day(value: &str, at: &str) -> Result<Date, String> {
    let d = value.get(..10).unwrap_or(value);
    Date::parse(d).map_err(|e| format!("{at}: {value:?} is not an ISO date: {e}"))
}

fn signed(a: &RawAmount, currency: Currency, stmt_at: &str) -> Result<i64, String> {
    if a.currency != currency.code() {
        return Err(format!(
            "{}: the amount is in {:?} but the account is in {currency}; import the statement into the {} account, or add one",
            a.at,
            a.currency,
            if a.currency.is_empty() {
                "right"
            } else {
                &a.currency
            }
        ));
    }
    let minor = Money::parse_in(&a.value, currency)
        .map_err(|e| format!("{}: {}", a.at, e.message()))?
        .amount();
    if minor < 0 {
        return Err(format!(
            "{}: amounts are unsigned in camt.053 (CdtDbtInd gives the direction), not {:?}",
            a.at, a.value
        ));
    }
    match a.indicator.as_str() {
        "CRDT" => Ok(minor),
        "DBIT" => Ok(-minor),
        other => Err(format!(
            "{stmt_at}/CdtDbtInd: {other:?} is neither CRDT (money in) nor DBIT (money out)"
        )),
    }
}

/// Check `s` against the account's `currency` and convert it.
pub fn convert(s: &CamtStatement, currency: Currency) -> Result<Converted, String> {
    if !s.currency.is_empty() && s.currency != currency.code() {
        return Err(format!(
            "{}/Acct/Ccy: the statement is in {} but the account is in {currency}",
            s.at, s.currency
        ));
    }
    let mut out = Converted {
        opening: None,
        closing: None,
        from: (!s.from.is_empty())
            .then(|| day(&s.from, &format!("{}/FrToDt/FrDtTm", s.at)))
            .transpose()?,
        to: (!s.to.is_empty())
            .then(|| day(&s.to, &format!("{}/FrToDt/ToDtTm", s.at)))
            .transpose()?,
        lines: Vec::new(),
    };
    for b in &s.balances {
        let v = (
            signed(&b.amount, currency, &b.at)?,
            day(&b.date, &format!("{}/Dt", b.at))?,
        );
        match b.code.as_str() {
            "OPBD" | "PRCD" if out.opening.is_none() => out.opening = Some(v),
            "CLBD" => out.closing = Some(v),
            _ => {}
        }
    }
    for e in &s.entries {
        let line = |m: String| format!("line {}: {m}", e.line);
        if !e.status.is_empty() && e.status != "BOOK" {
            return Err(line(format!(
                "{}/Sts: the entry is {:?}, not booked (BOOK); a statement holds booked entries only",
                e.at, e.status
            )));
        }
        let amount = signed(&e.amount, currency, &e.at).map_err(line)?;
        let counterparty = if amount >= 0 { &e.debtor } else { &e.creditor };
        let mut reference = e.remittance.join(" ");
        if reference.is_empty() && e.end_to_end_id != "NOTPROVIDED" {
            reference = e.end_to_end_id.clone();
        }
        out.lines.push(crate::model::ParsedLine {
            date: day(&e.booking_date, &format!("{}/BookgDt", e.at)).map_err(line)?,
            value_date: (!e.value_date.is_empty())
                .then(|| day(&e.value_date, &format!("{}/ValDt", e.at)))
                .transpose()
                .map_err(line)?,
            amount,
            reference,
            bank_reference: (!e.bank_reference.is_empty() && e.bank_reference != "NONREF")
                .then(|| e.bank_reference.clone()),
            counterparty: counterparty.clone(),
            description: e.additional.clone(),
            raw: e.raw.clone(),
            origin: e.at.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../testdata/camt053.xml");

    fn gbp() -> Currency {
        Currency::new("GBP").unwrap()
    }

    #[test]
    fn the_sample_statement_is_read() {
        let stmts = parse(SAMPLE).unwrap();
        assert_eq!(stmts.len(), 1);
        let s = &stmts[0];
        assert_eq!(s.id, "STMT-2026-001");
        assert_eq!(s.iban, "GB29NWBK60161331926819");
        assert_eq!(s.currency, "GBP");
        assert_eq!(s.at, "/Document/BkToCstmrStmt/Stmt[1]");
        let c = convert(s, gbp()).unwrap();
        assert_eq!(c.opening, Some((100_000, Date::new(2026, 1, 1).unwrap())));
        assert_eq!(c.closing, Some((107_050, Date::new(2026, 1, 31).unwrap())));
        assert_eq!(c.to, Date::new(2026, 1, 31));
        let amounts: Vec<i64> = c.lines.iter().map(|l| l.amount).collect();
        assert_eq!(amounts, vec![12_000, -450, -4_500]);
        assert_eq!(
            c.opening.unwrap().0 + amounts.iter().sum::<i64>(),
            c.closing.unwrap().0
        );
        let first = &c.lines[0];
        assert_eq!(first.reference, "Invoice INV-2026-0001 part payment");
        assert_eq!(
            first.counterparty, "Acme Retail & Co",
            "entity decoded, name under Pty"
        );
        assert_eq!(first.bank_reference.as_deref(), Some("BANKREF-0001"));
        assert_eq!(first.origin, "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]");
        assert!(
            first.raw.starts_with("<Ntry>") && first.raw.ends_with("</Ntry>"),
            "{}",
            first.raw
        );
        assert!(first.raw.contains("BANKREF-0001"));
        let card = &c.lines[1];
        assert_eq!(
            card.date,
            Date::new(2026, 1, 14).unwrap(),
            "the day of a DtTm"
        );
        assert_eq!(card.counterparty, "Corner Coffee");
        assert_eq!(card.reference, "", "NOTPROVIDED is no reference");
        assert_eq!(card.description, "CARD PAYMENT");
        let batch = &c.lines[2];
        assert_eq!(
            batch.counterparty, "Paper Supplies plc",
            "the first transaction's party"
        );
        assert_eq!(batch.reference, "BILL-2026-0001 BILL-2026-0002");
    }

    /// `xml` with every element under the namespace prefix `ns2` (as some banks'
    /// exports write it: `<ns2:Document xmlns:ns2="...">`).
    fn prefixed(xml: &str) -> String {
        let mut out = String::with_capacity(xml.len() * 2);
        let mut rest = xml;
        while let Some(i) = rest.find('<') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(name) = after.strip_prefix('/') {
                out.push_str("</ns2:");
                rest = name;
            } else if after.starts_with(|c: char| c.is_ascii_alphabetic()) {
                out.push_str("<ns2:");
                rest = after;
            } else {
                out.push('<');
                rest = after;
            }
        }
        out.push_str(rest);
        out.replace("xmlns=", "xmlns:ns2=")
    }

    #[test]
    fn namespace_prefixed_tags_are_read_as_the_plain_ones() {
        let xml = prefixed(SAMPLE);
        assert!(xml.contains("<ns2:Ntry>") && xml.contains("</ns2:BkToCstmrStmt>"));
        let plain = convert(&parse(SAMPLE).unwrap()[0], gbp()).unwrap();
        let stmts = parse(&xml).unwrap();
        assert_eq!(stmts.len(), 1);
        assert_eq!(stmts[0].id, "STMT-2026-001");
        assert_eq!(stmts[0].at, "/Document/BkToCstmrStmt/Stmt[1]");
        let c = convert(&stmts[0], gbp()).unwrap();
        assert_eq!((c.opening, c.closing), (plain.opening, plain.closing));
        assert_eq!(c.lines.len(), plain.lines.len());
        for (a, b) in c.lines.iter().zip(&plain.lines) {
            assert_eq!(
                (a.date, a.amount, &a.reference, &a.counterparty, &a.origin),
                (b.date, b.amount, &b.reference, &b.counterparty, &b.origin)
            );
            assert!(a.raw.starts_with("<ns2:Ntry>") && a.raw.ends_with("</ns2:Ntry>"));
        }
        // Refusals still name the element by its local path.
        refused(
            &xml.replacen(
                "<ns2:CdtDbtInd>CRDT</ns2:CdtDbtInd>",
                "<ns2:CdtDbtInd>XX</ns2:CdtDbtInd>",
                1,
            ),
            &["CdtDbtInd"],
        );
    }

    fn refused(xml: &str, want: &[&str]) {
        let e = parse(xml)
            .and_then(|s| {
                s.iter()
                    .map(|s| convert(s, gbp()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_err();
        for w in want {
            assert!(e.contains(w), "{e:?} lacks {w:?}");
        }
    }

    #[test]
    fn bad_statements_are_refused_with_the_element_path() {
        refused(
            &SAMPLE.replace("</Ntry>\n      <Ntry>", "</Ntry>\n      <Nry>"),
            &["malformed XML at line"],
        );
        refused(
            &SAMPLE.replace(
                "<Amt Ccy=\"GBP\">4.50</Amt>",
                "<Amt Ccy=\"GBP\">4.505</Amt>",
            ),
            &[
                "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt",
                "more than 2 decimal places",
            ],
        );
        refused(
            &SAMPLE.replace("<Amt Ccy=\"GBP\">4.50</Amt>", "<Amt Ccy=\"EUR\">4.50</Amt>"),
            &["Stmt[1]/Ntry[2]/Amt", "\"EUR\" but the account is in GBP"],
        );
        refused(
            &SAMPLE.replace("<Ccy>GBP</Ccy>", "<Ccy>USD</Ccy>"),
            &["Stmt[1]/Acct/Ccy", "in USD"],
        );
        refused(&SAMPLE.replace("<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts><Cd>BOOK</Cd></Sts>\n        <BookgDt><DtTm>", "<CdtDbtInd>DEBIT</CdtDbtInd>\n        <Sts><Cd>BOOK</Cd></Sts>\n        <BookgDt><DtTm>"), &[
            "Stmt[1]/Ntry[2]/CdtDbtInd",
            "\"DEBIT\"",
        ]);
        refused(
            &SAMPLE.replace("<BookgDt><Dt>2026-01-20</Dt></BookgDt>", ""),
            &["Stmt[1]/Ntry[3]/BookgDt/Dt is missing"],
        );
        refused(
            &SAMPLE.replace("<Dt>2026-01-20</Dt>", "<Dt>2026-02-30</Dt>"),
            &["Ntry[3]/BookgDt", "2026-02-30"],
        );
        refused(
            &SAMPLE.replace("<Id>STMT-2026-001</Id>", ""),
            &["Stmt[1]/Id is missing"],
        );
        // The first entry booked, the second pending.
        refused(
            &SAMPLE
                .replacen("<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>", 2)
                .replacen("<Cd>PDNG</Cd>", "<Cd>BOOK</Cd>", 1),
            &["Stmt[1]/Ntry[2]/Sts", "\"PDNG\", not booked"],
        );
        refused(
            &SAMPLE.replace("camt.053.001.08", "camt.054.001.08"),
            &["not a camt.053"],
        );
        refused(
            &SAMPLE.replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn"),
            &["BkToCstmrStmt is missing"],
        );
        refused("not xml at all", &["BkToCstmrStmt is missing"]);
        refused(
            "<Document><BkToCstmrStmt><Stmt></BkToCstmrStmt></Document>",
            &["malformed XML at line 1"],
        );
    }
}
