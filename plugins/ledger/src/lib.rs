//! The general ledger: accounts, balanced append-only entries, reversals, idempotent
//! posting, a lock date, reports from a running balance index, and import of
//! hledger/ledger journals. See `docs/plugins/ledger.md` for every operation.
//!
//! Pure logic lives in [`amount`], [`date`], [`entry`], [`journal`], [`import`],
//! [`model`] and [`report`] (unit-tested natively); [`store`] holds the storage layout,
//! and the operations below glue them together.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

pub mod amount;
pub mod date;
pub mod entry;
pub mod import;
pub mod journal;
pub mod model;
pub mod report;
mod reports;
pub mod store;

use date::Date;
use entry::{Cost, RawPosting};
use model::{Account, Kind};
use store::{Entry, NewEntry, Reference};

/// The plugin.
pub struct Ledger;

impl Plugin for Ledger {
    fn operations() -> Operations {
        Operations::new()
            .op("create-account", create_account)
            .op("list-accounts", list_accounts)
            .op("close-account", close_account)
            .op("create-commodity", create_commodity)
            .op("post-entry", post_entry)
            .op("reverse-entry", reverse_entry)
            .op("get-entry", get_entry)
            .op("set-lock-date", set_lock_date)
            .op("import-journal", import_journal)
            .op("balance", reports::balance)
            .op("trial-balance", reports::trial_balance)
            .op("balance-sheet", reports::balance_sheet)
            .op("income-statement", reports::income_statement)
            .op("register", reports::register)
            .op("export", reports::export)
    }
}

backoffice_sdk::export_plugin!(Ledger);

fn invalid(e: String) -> Error {
    Error::invalid(e)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CreateAccountInput {
    name: String,
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    currencies: Vec<String>,
    opened: Option<Date>,
    description: Option<String>,
}

fn create_account(input: CreateAccountInput) -> Result<Account> {
    model::validate_name(&input.name).map_err(invalid)?;
    for c in &input.currencies {
        if store::precision(c)?.is_none() {
            return Err(unknown_commodity(c));
        }
    }
    if store::account(&input.name)?.is_some() {
        return Err(Error::conflict(format!(
            "account {} already exists",
            input.name
        )));
    }
    let a = Account {
        name: input.name,
        kind: input.kind,
        currencies: input.currencies,
        opened: input.opened,
        closed: None,
        description: input.description,
    };
    store::put_account(&a)?;
    Ok(a)
}

fn unknown_commodity(c: &str) -> Error {
    Error::invalid(format!(
        "unknown commodity {c}: use an ISO 4217 code or declare it with create-commodity"
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ListAccountsInput {
    prefix: Option<String>,
    #[serde(default)]
    include_closed: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ListAccountsOutput {
    accounts: Vec<Account>,
    commodities: BTreeMap<String, u8>,
    lock_date: Option<Date>,
}

fn list_accounts(input: ListAccountsInput) -> Result<ListAccountsOutput> {
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    let accounts = store::accounts()?
        .into_values()
        .filter(|a| model::under(&a.name, prefix.as_deref()))
        .filter(|a| input.include_closed || a.closed.is_none())
        .collect();
    Ok(ListAccountsOutput {
        accounts,
        commodities: store::commodities()?,
        lock_date: store::lock()?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CloseAccountInput {
    name: String,
    date: Date,
}

fn close_account(input: CloseAccountInput) -> Result<Account> {
    let mut a = store::account(&input.name)?
        .ok_or_else(|| Error::not_found(format!("no account {}", input.name)))?;
    if let Some(c) = a.closed {
        return Err(Error::conflict(format!(
            "account {} is already closed (since {c})",
            a.name
        )));
    }
    let later = storage::scan(storage::KeyRange::between(
        format!("reg/{}/{}0", a.name, input.date),
        format!("reg/{}0", a.name),
    ))
    .limit(1)
    .keys()?;
    if !later.is_empty() {
        return Err(Error::invalid(format!(
            "account {} has postings after {}; close it on or after its last posting",
            a.name, input.date
        )));
    }
    a.closed = Some(input.date);
    store::put_account(&a)?;
    Ok(a)
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Commodity {
    code: String,
    precision: u8,
}

fn create_commodity(input: Commodity) -> Result<Commodity> {
    amount::validate_commodity(&input.code).map_err(invalid)?;
    if input.precision > amount::MAX_PRECISION {
        return Err(Error::invalid(format!(
            "precision is at most {}",
            amount::MAX_PRECISION
        )));
    }
    if let Some(p) = store::precision(&input.code)? {
        return Err(Error::conflict(format!(
            "commodity {} already exists with precision {p}",
            input.code
        )));
    }
    store::put_commodity(&input.code, input.precision)?;
    Ok(input)
}

/// An amount in a request: integer minor units, or a decimal string like `"12.34"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
enum AmountIn {
    Minor(i64),
    Decimal(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CostIn {
    amount: AmountIn,
    currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PostingIn {
    account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<AmountIn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<CostIn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PostEntryInput {
    date: Date,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<Reference>,
    postings: Vec<PostingIn>,
    #[serde(skip_serializing)]
    idempotency_key: Option<String>,
}

/// An entry with whether (and by what) it has been reversed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct EntryOut {
    #[serde(flatten)]
    entry: Entry,
    reversed_by: Option<String>,
}

fn minor(a: &AmountIn, currency: &str) -> Result<i64> {
    let p = store::precision(currency)?.ok_or_else(|| unknown_commodity(currency))?;
    match a {
        AmountIn::Minor(v) => Ok(*v),
        AmountIn::Decimal(s) => amount::Decimal::parse(s)
            .and_then(|d| d.to_minor(p, currency))
            .map_err(invalid),
    }
}

/// Check that postings may go to their accounts on `date` and that the period is open.
fn check_postings(
    date: Date,
    postings: &[entry::Posting],
    accounts: &BTreeMap<String, Account>,
    lock: Option<Date>,
) -> std::result::Result<(), String> {
    if let Some(l) = lock.filter(|l| date <= *l) {
        return Err(format!(
            "the period up to {l} is locked; the entry is dated {date}"
        ));
    }
    for p in postings {
        let a = accounts
            .get(&p.account)
            .ok_or_else(|| format!("unknown account {}", p.account))?;
        if let Some(why) = a.refuses(date, &p.currency) {
            return Err(why);
        }
    }
    Ok(())
}

fn emit(topic: &str, entry: &Entry) -> Result<()> {
    let payload = serde_json::json!({
        "id": entry.id,
        "date": entry.date,
        "description": entry.description,
        "postings": entry.postings,
        "reference": entry.reference,
        "reverses": entry.reverses,
    });
    match events::emit(topic, &payload) {
        // A host without events has no subscribers to tell.
        Err(Error::Unsupported(_)) => Ok(()),
        other => other,
    }
}

/// Replay or refuse a reused idempotency key; `None` when the key is new.
fn replay(key: Option<&str>, content: &str) -> Result<Option<EntryOut>> {
    let Some(key) = key else { return Ok(None) };
    let Some(rec) = store::idem(key)? else {
        return Ok(None);
    };
    if rec.content != content {
        return Err(Error::conflict(format!(
            "idempotency key {key:?} was already used for entry {} with different content",
            rec.id
        )));
    }
    let entry = store::load_entry(&rec.id)?;
    let reversed_by = store::reversed_by(&entry.id)?;
    Ok(Some(EntryOut { entry, reversed_by }))
}

fn post_entry(input: PostEntryInput) -> Result<EntryOut> {
    let key = input.idempotency_key.clone();
    let content = serde_json::to_string(&input).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(out) = replay(key.as_deref(), &content)? {
        return Ok(out);
    }
    if input.description.trim().is_empty() {
        return Err(Error::invalid("description must not be blank"));
    }
    let mut raw = Vec::with_capacity(input.postings.len());
    for p in &input.postings {
        let amount = match (&p.amount, &p.currency) {
            (Some(a), Some(c)) => Some(minor(a, c)?),
            (None, Some(c)) => {
                store::precision(c)?.ok_or_else(|| unknown_commodity(c))?;
                None
            }
            (Some(_), None) => {
                return Err(Error::invalid(format!(
                    "the posting to {} has an amount but no currency",
                    p.account
                )));
            }
            (None, None) => None,
        };
        let cost = match &p.cost {
            Some(c) => Some(Cost {
                amount: minor(&c.amount, &c.currency)?,
                currency: c.currency.clone(),
            }),
            None => None,
        };
        raw.push(RawPosting {
            account: p.account.clone(),
            amount,
            currency: p.currency.clone(),
            cost,
            memo: p.memo.clone(),
        });
    }
    let postings = entry::balance(raw, &|c, v| {
        amount::format(v, store::precision(c).ok().flatten().unwrap_or(0))
    })
    .map_err(invalid)?;
    let mut accounts = BTreeMap::new();
    for p in &postings {
        if !accounts.contains_key(&p.account)
            && let Some(a) = store::account(&p.account)?
        {
            accounts.insert(p.account.clone(), a);
        }
    }
    check_postings(input.date, &postings, &accounts, store::lock()?).map_err(invalid)?;
    let written = store::write_entries(vec![NewEntry {
        date: input.date,
        description: input.description,
        payee: input.payee,
        code: input.code,
        reference: input.reference,
        reverses: None,
        idempotency_key: key.clone(),
        postings,
    }])?;
    let entry = written
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("no entry written"))?;
    if let Some(k) = &key {
        store::put_idem(
            k,
            &store::Idem {
                id: entry.id.clone(),
                content,
            },
        )?;
    }
    emit("ledger.entry-posted", &entry)?;
    Ok(EntryOut {
        entry,
        reversed_by: None,
    })
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ReverseInput {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing)]
    idempotency_key: Option<String>,
}

fn reverse_entry(input: ReverseInput) -> Result<EntryOut> {
    let key = input.idempotency_key.clone();
    let content = serde_json::to_string(&input).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(out) = replay(key.as_deref(), &content)? {
        return Ok(out);
    }
    let original = store::load_entry(&input.id)?;
    if let Some(by) = store::reversed_by(&original.id)? {
        return Err(Error::conflict(format!(
            "entry {} was already reversed by {by}",
            original.id
        )));
    }
    let date = input.date.unwrap_or(original.date);
    let postings: Vec<entry::Posting> = original
        .postings
        .iter()
        .map(|p| entry::Posting {
            amount: -p.amount,
            ..p.clone()
        })
        .collect();
    let mut accounts = BTreeMap::new();
    for p in &postings {
        if let Some(a) = store::account(&p.account)? {
            accounts.insert(p.account.clone(), a);
        }
    }
    check_postings(date, &postings, &accounts, store::lock()?)
        .map_err(|e| Error::invalid(format!("cannot reverse {}: {e}", original.id)))?;
    let written = store::write_entries(vec![NewEntry {
        date,
        description: input
            .description
            .unwrap_or_else(|| format!("Reversal of {}: {}", original.id, original.description)),
        payee: original.payee.clone(),
        code: original.code.clone(),
        reference: original.reference.clone(),
        reverses: Some(original.id.clone()),
        idempotency_key: key.clone(),
        postings,
    }])?;
    let entry = written
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("no entry written"))?;
    store::mark_reversed(&original.id, &entry.id)?;
    if let Some(k) = &key {
        store::put_idem(
            k,
            &store::Idem {
                id: entry.id.clone(),
                content,
            },
        )?;
    }
    emit("ledger.entry-reversed", &entry)?;
    Ok(EntryOut {
        entry,
        reversed_by: None,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct GetEntryInput {
    id: String,
}

fn get_entry(input: GetEntryInput) -> Result<EntryOut> {
    let entry = store::load_entry(&input.id)?;
    let reversed_by = store::reversed_by(&entry.id)?;
    Ok(EntryOut { entry, reversed_by })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct LockInput {
    date: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct LockOutput {
    lock_date: Option<Date>,
    previous: Option<Date>,
}

fn set_lock_date(input: LockInput) -> Result<LockOutput> {
    let previous = store::lock()?;
    store::set_lock(input.date)?;
    Ok(LockOutput {
        lock_date: input.date,
        previous,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ImportInput {
    journal: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ImportOutput {
    entries: usize,
    first_id: Option<String>,
    last_id: Option<String>,
    accounts_created: Vec<String>,
    commodities_created: Vec<String>,
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
        if let Err(why) = check_postings(e.date, &e.postings, &known.accounts, lock) {
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
        emit("ledger.entry-posted", e)?;
    }
    Ok(ImportOutput {
        entries: written.len(),
        first_id: written.first().map(|e| e.id.clone()),
        last_id: written.last().map(|e| e.id.clone()),
        accounts_created: plan.accounts.into_iter().map(|(n, _)| n).collect(),
        commodities_created: plan.commodities.into_iter().map(|(c, _)| c).collect(),
    })
}
