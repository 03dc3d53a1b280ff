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
//! | `settled/<yyyy-mm-dd>/<document id>` | an [`OpenRef`] of an issued document settled in full, by its last settlement's date |
//! | `cdoc/<contact>/<document id>` | an [`OpenRef`] of every issued document, for statements |
//! | `cpay/<contact>/<payment id>` | a [`PayRef`], for statements |
//! | `od/<document id>` | the day `invoicing.overdue` was last emitted for it |

use backoffice_sdk::prelude::*;

use crate::items::{OpenRef, PayRef};
use crate::model::{Document, Payment, Settings, TaxCode};

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

/// Write a document and keep the open-item index ([`crate::items`]) in step with
/// it, in the same call.
pub fn put_document(d: &Document) -> Result<()> {
    let key = doc_key(&d.id).ok_or_else(|| Error::internal(format!("bad id {}", d.id)))?;
    let old = storage::get::<Document>(&key)?;
    storage::put(&key, d)?;
    index_document(d, old.as_ref())
}

/// Put `d`'s index records and delete those of its earlier state `old` it no longer
/// has.
pub fn index_document(d: &Document, old: Option<&Document>) -> Result<()> {
    let now = OpenRef::placement(d);
    if let Some(old) = old {
        for stale in OpenRef::placement(old).keys() {
            if !now.keys().any(|k| k == stale) {
                storage::delete(stale)?;
            }
        }
    }
    if now.keys().next().is_some() {
        let r = OpenRef::of(d);
        for key in now.keys() {
            storage::put(key, &r)?;
        }
    }
    Ok(())
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

/// Write a payment and its record in the contact's statement index.
pub fn put_payment(p: &Payment) -> Result<()> {
    let n = id_seq(&p.id, "p-").ok_or_else(|| Error::internal(format!("bad id {}", p.id)))?;
    storage::put(&format!("pay/{n:012}"), p)?;
    storage::put(&PayRef::key(&p.contact, &p.id), &PayRef::of(p))
}

/// The index records of issued documents under `prefix` (`open/`, `open/<contact>/`,
/// `cdoc/<contact>/`, `settled/`), after key `after`, read as they are iterated.
pub fn refs(prefix: &str, after: Option<String>) -> impl Iterator<Item = Result<OpenRef>> {
    let mut scan = storage::scan_prefix(prefix);
    if let Some(a) = after {
        scan = scan.after(a);
    }
    scan.iter::<OpenRef>().map(|item| item.map(|(_, r)| r))
}

/// The payments of `contact` as its statement shows them.
pub fn contact_payments(contact: &str) -> impl Iterator<Item = Result<PayRef>> {
    storage::scan_prefix(&format!("cpay/{contact}/"))
        .iter::<PayRef>()
        .map(|item| item.map(|(_, r)| r))
}

/// Build the index of documents and payments written before it existed (invoicing
/// before 0.2.1): every record is put again, so running it twice changes nothing.
pub fn rebuild_index() -> Result<(u64, u64)> {
    let mut docs = 0;
    for item in storage::scan_prefix("doc/").iter::<Document>() {
        let d = item?.1;
        index_document(&d, None)?;
        docs += 1;
    }
    let mut pays = 0;
    for item in storage::scan_prefix("pay/").iter::<Payment>() {
        let p = item?.1;
        storage::put(&PayRef::key(&p.contact, &p.id), &PayRef::of(&p))?;
        pays += 1;
    }
    Ok((docs, pays))
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

pub fn last_overdue(id: &str) -> Result<Option<Date>> {
    storage::get(&format!("od/{id}"))
}

pub fn put_last_overdue(id: &str, day: Date) -> Result<()> {
    storage::put(&format!("od/{id}"), &day)
}
