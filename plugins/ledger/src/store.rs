//! The storage layout and everything that reads or writes it.
//!
//! * `acct/<name>`: an [`Account`];
//! * `cmdty/<code>`: a custom commodity's precision (ISO currencies need none);
//! * `seq`: the last entry sequence number; `entry/<seq:012>`: an [`Entry`];
//! * `idem/<key>`: the entry an idempotency key produced and the request's content;
//! * `imp/<key>`: what an `import-journal` with an idempotency key wrote (its output and
//!   a fingerprint of the journal);
//! * `rev/<entry id>`: the id of the entry that reverses it;
//! * `lock`: the lock date;
//! * `price/<commodity>/<currency>/<yyyy-mm-dd>`: a market [`Price`];
//! * the balance index, per account and commodity, as signed minor units:
//!   `tot/<acct>/<cur>` (all time), `by/<yyyy>/<acct>/<cur>`, `bm/<yyyy-mm>/<acct>/<cur>`
//!   and `bd/<yyyy-mm-dd>/<acct>/<cur>` (the movements of a year, month and day);
//! * `reg/<acct>/<yyyy-mm-dd>/<seq:012>/<posting:04>`: a [`RegRow`] per posting;
//! * `tagd/<name>/=<value>/<yyyy-mm-dd>/<acct>/<cur>`: the day's movement among postings
//!   with that tag value (see [`crate::tags::keys`]).
//!
//! A balance as of day D is the sum of the years before D's year, the months of that
//! year before D's month, and the days of D's month up to D: three range scans whose
//! size depends on the number of accounts and years, never on the number of entries.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use backoffice_sdk::storage::KeyRange;
use serde::{Deserialize, Serialize};

use crate::amount;
use crate::date::Date;
use crate::entry::Posting;
use crate::model::Account;
use crate::prices::Price;
use crate::report::Balances;
use crate::status::Status;

/// Where an entry came from: the posting plugin and its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Reference {
    /// Source plugin id, such as `payroll`.
    pub source: String,
    /// The document id in the source.
    pub document: String,
}

/// A posted entry, never changed after it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Entry {
    /// `e-000001`.
    pub id: String,
    /// Date.
    pub date: Date,
    /// Description.
    pub description: String,
    /// Payee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee: Option<String>,
    /// Code (cheque number, journal code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Source document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// The entry this one reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<String>,
    /// The client's idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Balanced postings.
    pub postings: Vec<Posting>,
    /// When it was posted.
    pub posted_at: Timestamp,
    /// Who posted it (user id; absent for the system and for entries posted before
    /// this field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted_by: Option<String>,
}

/// One register line, as indexed under `reg/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegRow {
    /// Entry id.
    pub e: String,
    /// Entry description.
    pub d: String,
    /// Amount.
    pub n: i64,
    /// Commodity.
    pub c: String,
    /// The posting's status (see [`crate::status`]).
    #[serde(default, skip_serializing_if = "Status::is_unmarked")]
    pub s: Status,
    /// The posting's tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub t: crate::tags::Tags,
}

/// What an idempotency key recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Idem {
    /// The entry.
    pub id: String,
    /// The request's canonical JSON.
    pub content: String,
}

/// The id of sequence number `seq`.
pub fn entry_id(seq: u64) -> String {
    format!("e-{seq:06}")
}

/// The sequence number of an id.
pub fn parse_id(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("e-")?;
    (digits.len() >= 6 && digits.bytes().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn entry_key(seq: u64) -> String {
    format!("entry/{seq:012}")
}

/// Read an entry by id.
pub fn load_entry(id: &str) -> Result<Entry> {
    let missing = || Error::not_found(format!("no entry {id}"));
    let seq = parse_id(id).ok_or_else(missing)?;
    storage::get(&entry_key(seq))?.ok_or_else(missing)
}

/// Rewrite a stored entry: only [`crate::status::set_status`] does, to change the
/// status of a posting.
pub fn put_entry(e: &Entry) -> Result<()> {
    let seq = parse_id(&e.id).ok_or_else(|| Error::internal(format!("bad entry id {}", e.id)))?;
    storage::put(&entry_key(seq), e)
}

/// The register key of posting `index` of entry `id` dated `date` to `account`.
pub fn reg_key(account: &str, date: Date, id: &str, index: usize) -> Result<String> {
    let seq = parse_id(id).ok_or_else(|| Error::internal(format!("bad entry id {id}")))?;
    Ok(format!("reg/{account}/{date}/{seq:012}/{index:04}"))
}

/// The entry that reverses `id`, if any.
pub fn reversed_by(id: &str) -> Result<Option<String>> {
    storage::get(&format!("rev/{id}"))
}

/// Record that `reversal` reverses `id`.
pub fn mark_reversed(id: &str, reversal: &str) -> Result<()> {
    storage::put(&format!("rev/{id}"), reversal)
}

/// The idempotency record of `key`.
pub fn idem(key: &str) -> Result<Option<Idem>> {
    storage::get(&format!("idem/{key}"))
}

/// Record an idempotency key.
pub fn put_idem(key: &str, value: &Idem) -> Result<()> {
    storage::put(&format!("idem/{key}"), value)
}

/// The lock date.
pub fn lock() -> Result<Option<Date>> {
    storage::get("lock")
}

/// Set or clear the lock date.
pub fn set_lock(date: Option<Date>) -> Result<()> {
    match date {
        Some(d) => storage::put("lock", &d),
        None => storage::delete("lock").map(|_| ()),
    }
}

/// One account.
pub fn account(name: &str) -> Result<Option<Account>> {
    storage::get(&format!("acct/{name}"))
}

/// Write an account.
pub fn put_account(a: &Account) -> Result<()> {
    storage::put(&format!("acct/{}", a.name), a)
}

/// Every account, by name.
pub fn accounts() -> Result<BTreeMap<String, Account>> {
    Ok(storage::scan_prefix("acct/")
        .collect::<Account>()?
        .into_iter()
        .map(|(_, a)| (a.name.clone(), a))
        .collect())
}

/// The precision of a commodity: ISO 4217 or declared; `None` when unknown.
pub fn precision(code: &str) -> Result<Option<u8>> {
    if let Some(p) = amount::iso_precision(code) {
        return Ok(Some(p));
    }
    storage::get(&format!("cmdty/{code}"))
}

/// Declare a custom commodity.
pub fn put_commodity(code: &str, precision: u8) -> Result<()> {
    storage::put(&format!("cmdty/{code}"), &precision)
}

/// Every declared custom commodity.
pub fn commodities() -> Result<BTreeMap<String, u8>> {
    Ok(storage::scan_prefix("cmdty/")
        .collect::<u8>()?
        .into_iter()
        .filter_map(|(k, p)| Some((k.strip_prefix("cmdty/")?.to_owned(), p)))
        .collect())
}

/// A cache of precisions for formatting within one call.
#[derive(Default)]
pub struct Precisions(BTreeMap<String, u8>);

impl Precisions {
    /// The precision of `code` (0 when unknown).
    pub fn get(&mut self, code: &str) -> Result<u8> {
        if let Some(p) = self.0.get(code) {
            return Ok(*p);
        }
        let p = precision(code)?.unwrap_or(0);
        self.0.insert(code.to_owned(), p);
        Ok(p)
    }

    /// An [`amount::Amount`] with its formatted text.
    pub fn amount(&mut self, code: &str, v: i64) -> Result<amount::Amount> {
        Ok(amount::Amount::new(code, v, self.get(code)?))
    }

    /// A list of amounts.
    pub fn amounts(&mut self, m: &BTreeMap<String, i64>) -> Result<Vec<amount::Amount>> {
        m.iter().map(|(c, v)| self.amount(c, *v)).collect()
    }
}

/// A new entry to write, already validated and balanced.
pub struct NewEntry {
    /// Date.
    pub date: Date,
    /// Description.
    pub description: String,
    /// Payee.
    pub payee: Option<String>,
    /// Code.
    pub code: Option<String>,
    /// Source.
    pub reference: Option<Reference>,
    /// Reversed entry.
    pub reverses: Option<String>,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Postings.
    pub postings: Vec<Posting>,
}

/// Write entries, their register rows and the balance index. The caller has checked
/// them; the host's transaction makes the whole call atomic.
pub fn write_entries(new: Vec<NewEntry>) -> Result<Vec<Entry>> {
    let mut seq = storage::get::<u64>("seq")?.unwrap_or(0);
    let now = context::now();
    let posted_by = context::caller().id;
    let mut deltas: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = Vec::with_capacity(new.len());
    for n in new {
        seq += 1;
        let e = Entry {
            id: entry_id(seq),
            date: n.date,
            description: n.description,
            payee: n.payee,
            code: n.code,
            reference: n.reference,
            reverses: n.reverses,
            idempotency_key: n.idempotency_key,
            postings: n.postings,
            posted_at: now,
            posted_by: posted_by.clone(),
        };
        for (i, p) in e.postings.iter().enumerate() {
            let row = RegRow {
                e: e.id.clone(),
                d: e.description.clone(),
                n: p.amount,
                c: p.currency.clone(),
                s: p.status,
                t: p.tags.clone(),
            };
            storage::put(
                &format!("reg/{}/{}/{seq:012}/{i:04}", p.account, e.date),
                &row,
            )?;
            let tail = format!("{}/{}", p.account, p.currency);
            for key in [
                format!("tot/{tail}"),
                format!("by/{}/{tail}", e.date.year_key()),
                format!("bm/{}/{tail}", e.date.month_key()),
                format!("bd/{}/{tail}", e.date),
            ]
            .into_iter()
            .chain(crate::tags::keys(e.date, p))
            {
                let slot = deltas.entry(key).or_default();
                *slot = slot
                    .checked_add(p.amount)
                    .ok_or_else(|| Error::invalid(format!("the balance of {tail} overflows")))?;
            }
        }
        storage::put(&entry_key(seq), &e)?;
        out.push(e);
    }
    for (key, delta) in deltas {
        let old = storage::get::<i64>(&key)?.unwrap_or(0);
        let new = old
            .checked_add(delta)
            .ok_or_else(|| Error::invalid(format!("the balance {key} overflows")))?;
        storage::put(&key, &new)?;
    }
    storage::put("seq", &seq)?;
    Ok(out)
}

/// Add the rows of `range` (keys `<prefix><period>/<acct>/<cur>`) into `into`.
fn add_scan(into: &mut Balances, range: KeyRange) -> Result<()> {
    for item in storage::scan(range).iter::<i64>() {
        let (key, v) = item?;
        // Strip "<kind>/<period>/" (or "tot/"), then split account and commodity.
        let rest = if let Some(r) = key.strip_prefix("tot/") {
            r
        } else {
            key.splitn(3, '/').nth(2).unwrap_or("")
        };
        if let Some((acct, cur)) = rest.rsplit_once('/') {
            let slot = into.entry((acct.to_owned(), cur.to_owned())).or_default();
            *slot = slot.saturating_add(v);
        }
    }
    Ok(())
}

/// Every account's balance per commodity at the end of `as_of` (all time when `None`).
pub fn balances_as_of(as_of: Option<Date>) -> Result<Balances> {
    let mut b = Balances::new();
    match as_of {
        None => add_scan(&mut b, KeyRange::prefix("tot/"))?,
        Some(d) => {
            add_scan(
                &mut b,
                KeyRange::between("by/", format!("by/{}/", d.year_key())),
            )?;
            add_scan(
                &mut b,
                KeyRange::between(
                    format!("bm/{}-01/", d.year_key()),
                    format!("bm/{}/", d.month_key()),
                ),
            )?;
            add_scan(
                &mut b,
                KeyRange::between(format!("bd/{}/", d.month_start()), format!("bd/{d}0")),
            )?;
        }
    }
    b.retain(|_, v| *v != 0);
    Ok(b)
}

/// Register rows of `account` dated within `from..=to`, in (date, entry, posting) order,
/// with their sort key.
pub fn register_rows(
    account: &str,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<(String, RegRow)>> {
    let base = format!("reg/{account}/");
    let start = match from {
        Some(f) => format!("{base}{f}/"),
        None => base.clone(),
    };
    let end = match to {
        Some(t) => format!("{base}{t}0"),
        None => format!("reg/{account}0"),
    };
    let rows = storage::scan(KeyRange::between(start, end)).collect::<RegRow>()?;
    Ok(rows
        .into_iter()
        .map(|(k, r)| (k[base.len()..].to_owned(), r))
        .collect())
}

/// Entries in sequence order after `after` (a sequence number), at most `limit`.
pub fn entries_page(after: u64, limit: usize) -> Result<Vec<Entry>> {
    Ok(storage::scan_prefix("entry/")
        .after(entry_key(after))
        .limit(limit)
        .collect::<Entry>()?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// Write a market price (replacing one of the same day and pair).
pub fn put_price(p: &Price) -> Result<()> {
    storage::put(
        &format!("price/{}/{}/{}", p.commodity, p.currency, p.date),
        p,
    )
}

/// Every market price, by commodity, currency and date.
pub fn prices() -> Result<Vec<Price>> {
    Ok(storage::scan_prefix("price/")
        .collect::<Price>()?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}
