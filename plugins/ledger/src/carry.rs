//! Carrying balance-sheet balances forward when a year is closed (`close-year` with
//! `carry-forward`), as hledger 1.25's `close --close-acct=ACCT --open-acct=ACCT`
//! prints them: a closing entry dated the year end that brings every asset, liability
//! and equity balance (after income and expenses are closed to retained earnings) to
//! zero against the carry-forward equity account, and the opposite opening entry
//! dated `opening-date` that restores them.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::entry::Posting;
use crate::model::{Account, Kind};
use crate::posting::{self, EntryOut};
use crate::report::Balances;
use crate::store::{self, NewEntry};

/// `carry-forward` of `close-year`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct CarryForward {
    opening_date: Date,
    equity_account: String,
}

/// The two entries written.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Carried {
    closing_entry: Option<EntryOut>,
    opening_entry: Option<EntryOut>,
}

/// A checked carry-forward, ready to write.
pub(crate) struct Prepared {
    date: Date,
    opening_date: Date,
    closing: Vec<Posting>,
}

/// The closing postings: every asset, liability and equity balance except `equity`'s
/// negated, and per commodity the opposite total to `equity`.
pub fn closing_postings(
    balances: &Balances,
    kinds: &dyn Fn(&str) -> Option<Kind>,
    equity: &str,
) -> std::result::Result<Vec<Posting>, String> {
    crate::period::zeroing_postings(
        balances,
        &|account| {
            account != equity
                && matches!(
                    kinds(account),
                    Some(Kind::Asset | Kind::Liability | Kind::Equity)
                )
        },
        equity,
    )
}

fn refuse(msg: String) -> Error {
    Error::invalid(format!("carry-forward: {msg}; nothing was written"))
}

/// Check a carry-forward before anything is written. `balances` are those at the end
/// of `date` before closing; `retained` the postings closing income and expenses.
pub(crate) fn prepare(
    cf: Option<&CarryForward>,
    accounts: &BTreeMap<String, Account>,
    date: Date,
    lock: Option<Date>,
    balances: &Balances,
    retained: &[Posting],
) -> Result<Option<Prepared>> {
    let Some(cf) = cf else { return Ok(None) };
    if cf.opening_date <= date {
        return Err(refuse(format!(
            "opening-date ({}) must be after the year end ({date})",
            cf.opening_date
        )));
    }
    let equity = accounts.get(&cf.equity_account).ok_or_else(|| {
        refuse(format!(
            "there is no account {}; create it first with create-account (type equity)",
            cf.equity_account
        ))
    })?;
    if equity.kind != Kind::Equity {
        return Err(refuse(format!(
            "{} is of type {}, not equity",
            equity.name,
            format!("{:?}", equity.kind).to_lowercase()
        )));
    }
    let mut after = balances.clone();
    for p in retained {
        let slot = after
            .entry((p.account.clone(), p.currency.clone()))
            .or_default();
        *slot = slot.saturating_add(p.amount);
    }
    let closing = closing_postings(&after, &|a| accounts.get(a).map(|x| x.kind), &equity.name)
        .map_err(refuse)?;
    posting::check_postings(date, &closing, accounts, lock)
        .map_err(|e| refuse(format!("the closing entry cannot be posted: {e}")))?;
    posting::check_postings(cf.opening_date, &negated(&closing), accounts, lock)
        .map_err(|e| refuse(format!("the opening entry cannot be posted: {e}")))?;
    Ok(Some(Prepared {
        date,
        opening_date: cf.opening_date,
        closing,
    }))
}

fn negated(postings: &[Posting]) -> Vec<Posting> {
    postings
        .iter()
        .map(|p| Posting {
            amount: -p.amount,
            ..p.clone()
        })
        .collect()
}

/// Write the closing and opening entries (none when there is nothing to carry).
pub(crate) fn write(p: Prepared) -> Result<Carried> {
    if p.closing.is_empty() {
        return Ok(Carried {
            closing_entry: None,
            opening_entry: None,
        });
    }
    let opening = negated(&p.closing);
    let new = |date, description: String, postings| NewEntry {
        date,
        description,
        payee: None,
        code: None,
        reference: None,
        reverses: None,
        idempotency_key: None,
        postings,
    };
    let written = store::write_entries(vec![
        new(p.date, "closing balances".to_owned(), p.closing),
        new(p.opening_date, "opening balances".to_owned(), opening),
    ])?;
    for e in &written {
        posting::emit("ledger.entry-posted", e)?;
    }
    let mut it = written.into_iter().map(EntryOut::new);
    Ok(Carried {
        closing_entry: it.next(),
        opening_entry: it.next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_balance_sheet_accounts_against_the_equity_account_per_currency() {
        let b: Balances = [
            (("assets:bank".to_string(), "EUR".to_string()), 95_000),
            (("assets:usd".to_string(), "USD".to_string()), 10_000),
            (("liabilities:card".to_string(), "USD".to_string()), -1_234),
            (("equity:opening".to_string(), "EUR".to_string()), -100_000),
            (("equity:retained".to_string(), "EUR".to_string()), 5_000),
            (("equity:carried".to_string(), "EUR".to_string()), 7),
            (("income:sales".to_string(), "EUR".to_string()), -8),
        ]
        .into_iter()
        .collect();
        let p = closing_postings(&b, &|a| Kind::infer(a), "equity:carried").unwrap();
        let got: Vec<(&str, i64, &str)> = p
            .iter()
            .map(|p| (p.account.as_str(), p.amount, p.currency.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("assets:bank", -95_000, "EUR"),
                ("assets:usd", -10_000, "USD"),
                ("equity:opening", 100_000, "EUR"),
                ("equity:retained", -5_000, "EUR"),
                ("liabilities:card", 1_234, "USD"),
                ("equity:carried", 8_766, "USD"),
            ]
        );
        assert_eq!(negated(&p)[0].amount, 95_000);
    }
}
