//! Posting, reversing and reading entries: amounts in requests, idempotency, the
//! account and lock checks shared with the import, and events.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::unknown_commodity;
use crate::date::Date;
use crate::entry::{self, Cost, RawPosting};
use crate::model::Account;
use crate::store::{self, Entry, NewEntry, Reference};
use crate::tags::{self, Tags};
use crate::{amount, invalid};

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
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct PostEntryInput {
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
    /// Tags every posting inherits.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
}

/// An entry with whether (and by what) it has been reversed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct EntryOut {
    #[serde(flatten)]
    pub(crate) entry: Entry,
    pub(crate) reversed_by: Option<String>,
}

impl EntryOut {
    /// A newly written entry (not reversed).
    pub(crate) fn new(entry: Entry) -> EntryOut {
        EntryOut {
            entry,
            reversed_by: None,
        }
    }
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
pub(crate) fn check_postings(
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

pub(crate) fn emit(topic: &str, entry: &Entry) -> Result<()> {
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

pub(crate) fn post_entry(input: PostEntryInput) -> Result<EntryOut> {
    let key = input.idempotency_key.clone();
    let content = serde_json::to_string(&input).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(out) = replay(key.as_deref(), &content)? {
        return Ok(out);
    }
    if input.description.trim().is_empty() {
        return Err(Error::invalid("description must not be blank"));
    }
    tags::validate(&input.tags).map_err(|e| invalid(format!("tags: {e}")))?;
    let mut raw = Vec::with_capacity(input.postings.len());
    for (i, p) in input.postings.iter().enumerate() {
        let own = tags::validate(&p.tags)
            .and_then(|()| tags::merge(&input.tags, &p.tags))
            .map_err(|e| invalid(format!("postings[{i}].tags: {e}")))?;
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
            tags: own,
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
pub(crate) struct ReverseInput {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing)]
    idempotency_key: Option<String>,
}

pub(crate) fn reverse_entry(input: ReverseInput) -> Result<EntryOut> {
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
            status: Default::default(),
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
pub(crate) struct GetEntryInput {
    id: String,
}

pub(crate) fn get_entry(input: GetEntryInput) -> Result<EntryOut> {
    let entry = store::load_entry(&input.id)?;
    let reversed_by = store::reversed_by(&entry.id)?;
    Ok(EntryOut { entry, reversed_by })
}
