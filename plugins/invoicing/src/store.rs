//! The storage layout.
//!
//! | key | value |
//! |---|---|
//! | `settings` | [`Settings`] |
//! | `tax/<code>` | [`TaxCode`] |
//! | `seq/doc`, `seq/pay` | the last document and payment sequence numbers |
//! | `doc/<seq, 12 digits>` | a [`Document`], draft or issued |
//! | `num/<series>/<yyyy>` | the last number given in that series and year |
//! | `number/<number>` | the id of the document with that number |
//! | `pay/<seq, 12 digits>` | a [`Payment`] |
//! | `open/<contact>/<document id>` | an [`OpenRef`] while an issued document has something open |
//! | `od/<document id>` | the day `invoicing.overdue` was last emitted for it |

use backoffice_sdk::prelude::*;

use serde::{Deserialize, Serialize};

use crate::model::{Document, Kind, Payment, Settings, Side, Status, TaxCode};

pub fn settings() -> Result<Settings> {
    Ok(storage::get::<Settings>("settings")?.unwrap_or_default())
}

pub fn put_settings(s: &Settings) -> Result<()> {
    storage::put("settings", s)
}

pub fn tax_code(code: &str) -> Result<Option<TaxCode>> {
    storage::get(&format!("tax/{code}"))
}

pub fn put_tax_code(t: &TaxCode) -> Result<()> {
    storage::put(&format!("tax/{}", t.code), t)
}

pub fn tax_codes() -> Result<Vec<TaxCode>> {
    Ok(storage::scan_prefix("tax/")
        .collect::<TaxCode>()?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

/// The next number of sequence `name` (not yet stored: [`put_seq`] when committing).
pub fn next_seq(name: &str) -> Result<u64> {
    Ok(storage::get::<u64>(&format!("seq/{name}"))?.unwrap_or(0) + 1)
}

pub fn put_seq(name: &str, n: u64) -> Result<()> {
    storage::put(&format!("seq/{name}"), &n)
}

/// The sequence number in an id `x-000042`.
fn id_seq(id: &str, prefix: &str) -> Option<u64> {
    let digits = id.strip_prefix(prefix)?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

pub fn doc_id(seq: u64) -> String {
    format!("d-{seq:06}")
}

pub fn payment_id(seq: u64) -> String {
    format!("p-{seq:06}")
}

fn doc_key(id: &str) -> Option<String> {
    id_seq(id, "d-").map(|n| format!("doc/{n:012}"))
}

/// A document by id (`d-000001`) or number (`INV-2026-0001`).
pub fn document(id_or_number: &str) -> Result<Document> {
    let not_found = || Error::not_found(format!("no document {id_or_number}"));
    let key = match doc_key(id_or_number) {
        Some(k) => k,
        None => {
            let id =
                storage::get::<String>(&format!("number/{id_or_number}"))?.ok_or_else(not_found)?;
            doc_key(&id).ok_or_else(not_found)?
        }
    };
    storage::get(&key)?.ok_or_else(not_found)
}

/// What the open-item index keeps of a document: enough to choose what a payment
/// pays and what is overdue without reading every document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct OpenRef {
    pub id: String,
    pub number: Option<String>,
    pub kind: Kind,
    pub side: Side,
    pub currency: String,
    pub date: Option<Date>,
    pub due_date: Option<Date>,
    pub open: i64,
}

/// Write a document and keep the open-item index in step with it.
pub fn put_document(d: &Document) -> Result<()> {
    let key = doc_key(&d.id).ok_or_else(|| Error::internal(format!("bad id {}", d.id)))?;
    storage::put(&key, d)?;
    let open = format!("open/{}/{}", d.contact, d.id);
    if d.status == Status::Issued && d.open != 0 {
        storage::put(
            &open,
            &OpenRef {
                id: d.id.clone(),
                number: d.number.clone(),
                kind: d.kind,
                side: d.side,
                currency: d.currency.clone(),
                date: d.date,
                due_date: d.due_date,
                open: d.open,
            },
        )
    } else {
        storage::delete(&open).map(|_| ())
    }
}

/// The issued documents of `contact` (of every contact: `None`) with something open
/// now, from the index.
pub fn open_refs(contact: Option<&str>) -> Result<Vec<OpenRef>> {
    let prefix = match contact {
        Some(c) => format!("open/{c}/"),
        None => "open/".to_owned(),
    };
    Ok(storage::scan_prefix(&prefix)
        .page_size(500)
        .collect::<OpenRef>()?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

pub fn delete_document(d: &Document) -> Result<()> {
    let key = doc_key(&d.id).ok_or_else(|| Error::internal(format!("bad id {}", d.id)))?;
    storage::delete(&key).map(|_| ())
}

/// Every document, in creation order.
pub fn documents() -> Result<Vec<Document>> {
    let mut out = Vec::new();
    for item in storage::scan_prefix("doc/").iter::<Document>() {
        out.push(item?.1);
    }
    Ok(out)
}

/// Up to `limit` documents after id `after` (from the start: `None`) that pass
/// `keep`, in creation order, and whether more may follow.
pub fn documents_page(
    after: Option<&str>,
    limit: usize,
    keep: impl Fn(&Document) -> bool,
) -> Result<(Vec<Document>, bool)> {
    let mut scan = storage::scan_prefix("doc/");
    if let Some(a) = after {
        let key = doc_key(a).ok_or_else(|| Error::invalid(format!("bad cursor {a:?}")))?;
        scan = scan.after(key);
    }
    let mut out = Vec::new();
    for item in scan.iter::<Document>() {
        let d = item?.1;
        if keep(&d) {
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(d);
        }
    }
    Ok((out, false))
}

/// Take the next number of `series` in `year` and index it to document `id`.
pub fn take_number(series: &str, year: u16, id: &str) -> Result<String> {
    let key = format!("num/{series}/{year:04}");
    let n = storage::get::<u64>(&key)?.unwrap_or(0) + 1;
    storage::put(&key, &n)?;
    let number = crate::model::format_number(series, year, n);
    storage::put(&format!("number/{number}"), &id)?;
    Ok(number)
}

pub fn payment(id: &str) -> Result<Payment> {
    let not_found = || Error::not_found(format!("no payment {id}"));
    let n = id_seq(id, "p-").ok_or_else(not_found)?;
    storage::get(&format!("pay/{n:012}"))?.ok_or_else(not_found)
}

pub fn put_payment(p: &Payment) -> Result<()> {
    let n = id_seq(&p.id, "p-").ok_or_else(|| Error::internal(format!("bad id {}", p.id)))?;
    storage::put(&format!("pay/{n:012}"), p)
}

/// The payments after id `after` (from the first: `None`), in recording order, read
/// as they are iterated.
pub fn payments_after(after: Option<&str>) -> Result<impl Iterator<Item = Result<Payment>>> {
    let mut scan = storage::scan_prefix("pay/");
    if let Some(a) = after {
        let n = id_seq(a, "p-").ok_or_else(|| Error::invalid(format!("bad cursor {a:?}")))?;
        scan = scan.after(format!("pay/{n:012}"));
    }
    Ok(scan.iter::<Payment>().map(|item| item.map(|(_, p)| p)))
}

/// Every payment, in recording order.
pub fn payments() -> Result<Vec<Payment>> {
    let mut out = Vec::new();
    for item in storage::scan_prefix("pay/").iter::<Payment>() {
        out.push(item?.1);
    }
    Ok(out)
}

pub fn last_overdue(id: &str) -> Result<Option<Date>> {
    storage::get(&format!("od/{id}"))
}

pub fn put_last_overdue(id: &str, day: Date) -> Result<()> {
    storage::put(&format!("od/{id}"), &day)
}
