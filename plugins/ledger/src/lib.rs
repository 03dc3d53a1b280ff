//! The general ledger: accounts, balanced append-only entries, reversals, idempotent
//! posting, a lock date, reports from a running balance index, and import of
//! hledger/ledger journals. See `docs/plugins/ledger.md` for every operation.
//!
//! Pure logic lives in [`amount`], [`date`], [`entry`], [`journal`], [`import`],
//! [`model`], [`prices`] and [`report`] (unit-tested natively); [`store`] holds the
//! storage layout, and [`accounts`], [`posting`], [`reports`], [`export`], [`period`]
//! and the import below glue them to the operations.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

mod accounts;
pub mod amount;
pub mod carry;
pub mod date;
pub mod entry;
mod export;
#[cfg(test)]
mod fuzz;
pub mod import;
pub mod journal;
pub mod model;
mod period;
mod posting;
pub mod prices;
pub mod report;
mod reports;
pub mod revalue;
pub mod status;
pub mod store;
pub mod tags;

use date::Date;
use model::{Account, Kind};
use store::NewEntry;

/// The plugin.
pub struct Ledger;

impl Plugin for Ledger {
    fn operations() -> Operations {
        Operations::new()
            .op("create-account", accounts::create_account)
            .op("list-accounts", accounts::list_accounts)
            .op("close-account", accounts::close_account)
            .op("create-commodity", accounts::create_commodity)
            .op("post-entry", posting::post_entry)
            .op("reverse-entry", posting::reverse_entry)
            .op("get-entry", posting::get_entry)
            .op("set-lock-date", accounts::set_lock_date)
            .op("import-journal", import_journal)
            .op("balance", reports::balance)
            .op("trial-balance", reports::trial_balance)
            .op("balance-sheet", reports::balance_sheet)
            .op("income-statement", reports::income_statement)
            .op("register", reports::register)
            .op("export", export::export)
            .op("set-price", period::set_price)
            .op("list-prices", period::list_prices)
            .op("close-year", period::close_year)
            .op("set-status", status::set_status)
            .op("revalue", revalue::revalue)
    }
}

backoffice_sdk::export_plugin!(Ledger);

/// A business-rule message as an [`Error::InvalidInput`].
pub(crate) fn invalid(e: String) -> Error {
    Error::invalid(e)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ImportInput {
    journal: String,
    /// Makes the import idempotent: a second import with the same key and journal
    /// writes nothing and answers the first one's output with `replayed: true`
    /// (`backoffice ledger import` gives one per chunk).
    idempotency_key: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ImportOutput {
    entries: usize,
    first_id: Option<String>,
    last_id: Option<String>,
    accounts_created: Vec<String>,
    commodities_created: Vec<String>,
    prices: usize,
    /// The key was used before for this journal: nothing was written now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    replayed: bool,
}

/// What an import's idempotency key recorded (`imp/<key>`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ImportRecord {
    /// Length and FNV-1a digest of the journal text.
    digest: String,
    output: ImportOutput,
}

/// A cheap fingerprint of the journal text: its length and 64-bit FNV-1a hash. The key
/// (chosen by the client) says which import this is; the fingerprint only catches a key
/// reused for a different journal.
fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{}-{h:016x}", text.len())
}

struct Known {
    accounts: BTreeMap<String, Account>,
    commodities: BTreeMap<String, u8>,
    /// Whether the ledger has entries: balance assertions of an import into an empty
    /// ledger need no reads.
    empty: bool,
    balances: std::cell::RefCell<BTreeMap<Date, report::Balances>>,
}

impl import::Known for Known {
    fn account(&self, name: &str) -> Option<Kind> {
        self.accounts.get(name).map(|a| a.kind)
    }
    fn precision(&self, c: &str) -> Option<u8> {
        amount::iso_precision(c).or_else(|| self.commodities.get(c).copied())
    }
    fn balance(
        &self,
        account: &str,
        commodity: &str,
        date: Date,
    ) -> std::result::Result<i64, String> {
        if self.empty {
            return Ok(0);
        }
        let mut cache = self.balances.borrow_mut();
        if let std::collections::btree_map::Entry::Vacant(slot) = cache.entry(date) {
            slot.insert(store::balances_as_of(Some(date)).map_err(|e| e.to_string())?);
        }
        Ok(cache
            .get(&date)
            .and_then(|b| b.get(&(account.to_owned(), commodity.to_owned())))
            .copied()
            .unwrap_or(0))
    }
}

fn import_journal(input: ImportInput) -> Result<ImportOutput> {
    let key = input.idempotency_key.as_deref().map(str::trim);
    if let Some(k) = key {
        if k.is_empty() || k.len() > 200 {
            return Err(Error::invalid(
                "idempotency-key must be 1 to 200 characters",
            ));
        }
        if let Some(rec) = storage::get::<ImportRecord>(&format!("imp/{k}"))? {
            if rec.digest != fingerprint(&input.journal) {
                return Err(Error::conflict(format!(
                    "idempotency key {k:?} was already used to import a different journal (entries {} to {}); nothing was imported",
                    rec.output.first_id.as_deref().unwrap_or("-"),
                    rec.output.last_id.as_deref().unwrap_or("-")
                )));
            }
            return Ok(ImportOutput {
                replayed: true,
                ..rec.output
            });
        }
    }
    let parsed = journal::parse(&input.journal)
        .map_err(|e| Error::invalid(format!("the journal was not imported: {e}")))?;
    let mut known = Known {
        accounts: store::accounts()?,
        commodities: store::commodities()?,
        empty: store::entries_page(0, 1)?.is_empty(),
        balances: Default::default(),
    };
    let plan = import::plan(&parsed, &known).map_err(invalid)?;
    for (name, kind) in &plan.accounts {
        known.accounts.insert(
            name.clone(),
            Account {
                name: name.clone(),
                kind: *kind,
                currencies: Vec::new(),
                opened: None,
                closed: None,
                description: None,
            },
        );
    }
    let lock = store::lock()?;
    let mut errors = Vec::new();
    for e in &plan.entries {
        if let Err(why) = posting::check_postings(e.date, &e.postings, &known.accounts, lock) {
            errors.push(format!("line {}: {why}", e.line));
        }
    }
    if !errors.is_empty() {
        errors.truncate(20);
        return Err(Error::invalid(format!(
            "the journal was not imported: {}",
            errors.join("; ")
        )));
    }
    for (code, p) in &plan.commodities {
        store::put_commodity(code, *p)?;
    }
    for (name, _) in &plan.accounts {
        if let Some(a) = known.accounts.get(name) {
            store::put_account(a)?;
        }
    }
    for p in &plan.prices {
        store::put_price(p)?;
    }
    let written = store::write_entries(
        plan.entries
            .into_iter()
            .map(|e| NewEntry {
                date: e.date,
                description: e.description,
                payee: e.payee,
                code: e.code,
                reference: None,
                reverses: None,
                idempotency_key: None,
                postings: e.postings,
            })
            .collect(),
    )?;
    for e in &written {
        posting::emit("ledger.entry-posted", e)?;
    }
    let output = ImportOutput {
        prices: plan.prices.len(),
        entries: written.len(),
        first_id: written.first().map(|e| e.id.clone()),
        last_id: written.last().map(|e| e.id.clone()),
        accounts_created: plan.accounts.into_iter().map(|(n, _)| n).collect(),
        commodities_created: plan.commodities.into_iter().map(|(c, _)| c).collect(),
        replayed: false,
    };
    if let Some(k) = key {
        // Written in the same call, so the host's transaction commits it with the
        // entries or not at all.
        let rec = ImportRecord {
            digest: fingerprint(&input.journal),
            output,
        };
        storage::put(&format!("imp/{k}"), &rec)?;
        return Ok(rec.output);
    }
    Ok(output)
}
