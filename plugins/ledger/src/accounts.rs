//! Account, commodity and lock-date operations.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::model::{self, Account, Kind};
use crate::{amount, invalid, store};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct CreateAccountInput {
    name: String,
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    currencies: Vec<String>,
    opened: Option<Date>,
    description: Option<String>,
}

pub(crate) fn create_account(input: CreateAccountInput) -> Result<Account> {
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

pub(crate) fn unknown_commodity(c: &str) -> Error {
    Error::invalid(format!(
        "unknown commodity {c}: use an ISO 4217 code or declare it with create-commodity"
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct ListAccountsInput {
    prefix: Option<String>,
    #[serde(default)]
    include_closed: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ListAccountsOutput {
    accounts: Vec<Account>,
    commodities: BTreeMap<String, u8>,
    lock_date: Option<Date>,
}

pub(crate) fn list_accounts(input: ListAccountsInput) -> Result<ListAccountsOutput> {
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
pub(crate) struct CloseAccountInput {
    name: String,
    date: Date,
}

pub(crate) fn close_account(input: CloseAccountInput) -> Result<Account> {
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
pub(crate) struct Commodity {
    code: String,
    precision: u8,
}

pub(crate) fn create_commodity(input: Commodity) -> Result<Commodity> {
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct LockInput {
    date: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct LockOutput {
    lock_date: Option<Date>,
    previous: Option<Date>,
}

pub(crate) fn set_lock_date(input: LockInput) -> Result<LockOutput> {
    let previous = store::lock()?;
    store::set_lock(input.date)?;
    Ok(LockOutput {
        lock_date: input.date,
        previous,
    })
}
