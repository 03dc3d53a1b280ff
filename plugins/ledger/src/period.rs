//! Period end: the market price table (`set-price`, `list-prices`) and closing a year
//! (`close-year`).

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::unknown_commodity;
use crate::amount::Decimal;
use crate::date::Date;
use crate::entry::Posting;
use crate::model::Kind;
use crate::posting::{self, EntryOut};
use crate::prices::Price;
use crate::store::{self, NewEntry};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct SetPriceInput {
    date: Date,
    commodity: String,
    price: String,
    currency: String,
}

pub(crate) fn set_price(input: SetPriceInput) -> Result<Price> {
    for c in [&input.commodity, &input.currency] {
        if store::precision(c)?.is_none() {
            return Err(unknown_commodity(c));
        }
    }
    if input.commodity == input.currency {
        return Err(Error::invalid(format!(
            "{} cannot be priced in itself: give the price in another currency",
            input.commodity
        )));
    }
    let d = Decimal::parse(&input.price).map_err(|e| {
        Error::invalid(format!(
            "price: {e}; write the price of one unit as a decimal like \"0.925\""
        ))
    })?;
    if d.mantissa <= 0 {
        return Err(Error::invalid(format!(
            "price: {} is not positive; a price is the value of one unit, like \"0.925\"",
            input.price
        )));
    }
    let p = Price {
        date: input.date,
        commodity: input.commodity,
        currency: input.currency,
        price: d.text(),
    };
    store::put_price(&p)?;
    Ok(p)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct ListPricesInput {
    pub(crate) commodity: Option<String>,
    pub(crate) currency: Option<String>,
    pub(crate) from: Option<Date>,
    pub(crate) to: Option<Date>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ListPricesOutput {
    pub(crate) prices: Vec<Price>,
}

pub(crate) fn list_prices(input: ListPricesInput) -> Result<ListPricesOutput> {
    let mut prices: Vec<Price> = store::prices()?
        .into_iter()
        .filter(|p| input.commodity.as_ref().is_none_or(|c| *c == p.commodity))
        .filter(|p| input.currency.as_ref().is_none_or(|c| *c == p.currency))
        .filter(|p| input.from.is_none_or(|f| p.date >= f))
        .filter(|p| input.to.is_none_or(|t| p.date <= t))
        .collect();
    prices.sort_by(|a, b| {
        (a.date, &a.commodity, &a.currency).cmp(&(b.date, &b.commodity, &b.currency))
    });
    Ok(ListPricesOutput { prices })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct CloseYearInput {
    date: Date,
    retained_earnings: String,
    description: Option<String>,
    carry_forward: Option<crate::carry::CarryForward>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct CloseYearOutput {
    closing_entry: Option<EntryOut>,
    lock_date: Date,
    previous_lock_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    carry_forward: Option<crate::carry::Carried>,
}

/// The closing postings: every income and expense balance at the end of `date`
/// negated, and per currency the opposite total to `retained`.
pub(crate) fn closing_postings(
    balances: &crate::report::Balances,
    kinds: &dyn Fn(&str) -> Option<Kind>,
    retained: &str,
) -> std::result::Result<Vec<Posting>, String> {
    zeroing_postings(
        balances,
        &|account| matches!(kinds(account), Some(Kind::Income | Kind::Expense)),
        retained,
    )
}

/// Postings that bring every balance of an account `closes` selects to zero, and per
/// commodity the opposite total to `into` (left out where it is zero).
pub(crate) fn zeroing_postings(
    balances: &crate::report::Balances,
    closes: &dyn Fn(&str) -> bool,
    into: &str,
) -> std::result::Result<Vec<Posting>, String> {
    let mut postings = Vec::new();
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for ((account, currency), v) in balances {
        if *v == 0 || !closes(account) {
            continue;
        }
        postings.push(Posting::plain(
            account,
            v.checked_neg()
                .ok_or_else(|| format!("the balance of {account} overflows"))?,
            currency,
        ));
        let t = totals.entry(currency.clone()).or_default();
        *t = t
            .checked_add(*v)
            .ok_or_else(|| format!("the total in {currency} overflows"))?;
    }
    for (currency, v) in totals {
        if v != 0 {
            postings.push(Posting::plain(into, v, &currency));
        }
    }
    Ok(postings)
}

/// Close the year ending on `date`: post one entry dated `date` that brings every
/// income and expense account to zero against the retained-earnings account (as
/// hledger 1.25's `close --close --close-acct=RETAINED income expenses -e DATE+1`),
/// then set the lock date to `date`. Refused, with nothing written, when the period is
/// already locked or the retained-earnings account is missing or not equity.
pub(crate) fn close_year(input: CloseYearInput) -> Result<CloseYearOutput> {
    let previous = store::lock()?;
    if let Some(l) = previous.filter(|l| input.date <= *l) {
        return Err(Error::invalid(format!(
            "the period up to {l} is already locked, so the year ending {} cannot be closed; nothing was written (clear or move the lock date with set-lock-date first)",
            input.date
        )));
    }
    let accounts = store::accounts()?;
    let retained = accounts.get(&input.retained_earnings).ok_or_else(|| {
        Error::invalid(format!(
            "retained-earnings: there is no account {}; create it first with create-account (type equity); nothing was written",
            input.retained_earnings
        ))
    })?;
    if retained.kind != Kind::Equity {
        return Err(Error::invalid(format!(
            "retained-earnings: {} is of type {}, not equity; nothing was written",
            retained.name,
            format!("{:?}", retained.kind).to_lowercase()
        )));
    }
    let balances = store::balances_as_of(Some(input.date))?;
    let postings = closing_postings(
        &balances,
        &|a| accounts.get(a).map(|x| x.kind),
        &retained.name,
    )
    .map_err(Error::invalid)?;
    let carry = crate::carry::prepare(
        input.carry_forward.as_ref(),
        &accounts,
        input.date,
        previous,
        &balances,
        &postings,
    )?;
    let mut closing_entry = None;
    if !postings.is_empty() {
        posting::check_postings(input.date, &postings, &accounts, previous).map_err(|e| {
            Error::invalid(format!("the year was not closed: {e}; nothing was written"))
        })?;
        let written = store::write_entries(vec![NewEntry {
            date: input.date,
            description: input
                .description
                .unwrap_or_else(|| format!("closing balances of the year ending {}", input.date)),
            payee: None,
            code: None,
            reference: None,
            reverses: None,
            idempotency_key: None,
            postings,
        }])?;
        for e in &written {
            posting::emit("ledger.entry-posted", e)?;
        }
        if let Some(e) = written.into_iter().next() {
            closing_entry = Some(EntryOut::new(e));
        }
    }
    let carry_forward = carry.map(crate::carry::write).transpose()?;
    store::set_lock(Some(input.date))?;
    Ok(CloseYearOutput {
        closing_entry,
        lock_date: input.date,
        previous_lock_date: previous,
        carry_forward,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_moves_income_and_expenses_to_retained_earnings_per_currency() {
        let b: crate::report::Balances = [
            (("assets:bank".to_string(), "EUR".to_string()), 5_000),
            (("income:sales".to_string(), "EUR".to_string()), -8_000),
            (("income:sales".to_string(), "USD".to_string()), -100),
            (("expenses:rent".to_string(), "EUR".to_string()), 3_000),
        ]
        .into_iter()
        .collect();
        let kind = |a: &str| Kind::infer(a);
        let p = closing_postings(&b, &kind, "equity:retained").unwrap();
        let got: Vec<(&str, i64, &str)> = p
            .iter()
            .map(|p| (p.account.as_str(), p.amount, p.currency.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("expenses:rent", -3_000, "EUR"),
                ("income:sales", 8_000, "EUR"),
                ("income:sales", 100, "USD"),
                ("equity:retained", -5_000, "EUR"),
                ("equity:retained", -100, "USD"),
            ]
        );
    }
}
