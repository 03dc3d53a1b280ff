//! Revaluation of foreign-currency balances at a date (`revalue`).
//!
//! For every asset and liability account (under an optional prefix) that holds a
//! commodity other than the base currency at the end of the date, the balance is
//! valued at the latest price of that commodity in the base currency dated on or
//! before the date (the price table of [`crate::prices`]), and compared with its
//! *carried value*: what the books already say the holding is worth in the base
//! currency. The differences are posted as one balanced entry: each difference to the
//! account itself, in the base currency and tagged `revaluation: COMMODITY`, and their
//! opposite total to the unrealised gain or loss account.
//!
//! The carried value of (account, commodity) at a date is the sum, over the account's
//! postings in that commodity dated on or before it, of
//! * the posting's `@`/`@@` cost when that cost is in the base currency (signed like the
//!   posting), otherwise
//! * the posting's amount at the latest price on or before the posting's own date (the
//!   historical rate; refused when there is none),
//!
//! plus the base-currency postings to the account tagged `revaluation: COMMODITY`
//! (earlier revaluations, and their reversals, which carry the tag negated).
//!
//! Every conversion rounds half away from zero to the base currency's precision, as
//! [`crate::prices::convert`] does.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::amount::{Amount, Decimal};
use crate::date::Date;
use crate::entry::{Cost, Posting};
use crate::model::{self, Kind};
use crate::posting::{self, EntryOut};
use crate::prices::{self, Table};
use crate::store::{self, Entry, NewEntry, Precisions};
use crate::tags::Tags;

/// The tag naming the commodity a revaluation posting revalues.
pub const TAG: &str = "revaluation";

/// One posting of a held commodity, as the carried value needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The posting's date.
    pub date: Date,
    /// Signed minor units of the commodity.
    pub amount: i64,
    /// Its cost, if any.
    pub cost: Option<Cost>,
    /// The entry, for messages.
    pub entry: String,
}

/// The carried value in `base` of `postings` of `commodity`, plus `adjustments`
/// (earlier revaluations, in minor units of `base`). `from` and `to` are the
/// precisions of the commodity and of `base`.
pub fn carried(
    postings: &[Held],
    adjustments: i64,
    commodity: &str,
    base: &str,
    table: &Table,
    from: u8,
    to: u8,
) -> Result<i64, String> {
    let mut sum = adjustments;
    for p in postings {
        let v = match &p.cost {
            Some(c) if c.currency == base => {
                if p.amount < 0 {
                    -c.amount
                } else {
                    c.amount
                }
            }
            _ => {
                let rate = table.lookup(commodity, base, p.date).ok_or_else(|| {
                    format!(
                        "entry {} books {commodity} on {} without a cost in {base}, and there is no price of {commodity} in {base} on or before that day to carry it at; add one with set-price (or import a P directive)",
                        p.entry, p.date
                    )
                })?;
                prices::convert(p.amount, from, rate, to)?
            }
        };
        sum = sum
            .checked_add(v)
            .ok_or_else(|| format!("the carried value of {commodity} overflows"))?;
    }
    Ok(sum)
}

/// The market value of `balance` at `rate`, and the difference to `carried`.
pub fn difference(
    balance: i64,
    rate: Decimal,
    carried: i64,
    from: u8,
    to: u8,
) -> Result<(i64, i64), String> {
    let market = prices::convert(balance, from, rate, to)?;
    let diff = market
        .checked_sub(carried)
        .ok_or_else(|| "the revaluation difference overflows".to_owned())?;
    Ok((market, diff))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RevalueInput {
    date: Date,
    currency: String,
    gain_loss_account: String,
    prefix: Option<String>,
    reverse_on: Option<Date>,
    description: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Line {
    account: String,
    commodity: String,
    balance: Amount,
    rate: String,
    market_value: Amount,
    carried_value: Amount,
    difference: Amount,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RevalueOutput {
    date: Date,
    currency: String,
    lines: Vec<Line>,
    entry: Option<EntryOut>,
    reversal: Option<EntryOut>,
}

fn refuse(msg: String) -> Error {
    Error::invalid(format!("{msg}; nothing was written"))
}

/// Revalue foreign-currency balances (see the module documentation). Refused with
/// nothing written for an unknown currency or account, a locked date, or a held
/// commodity without a price; nothing to revalue is an empty result (`entry: null`).
pub(crate) fn revalue(input: RevalueInput) -> Result<RevalueOutput> {
    let base = input.currency.clone();
    let to = store::precision(&base)?.ok_or_else(|| {
        refuse(format!(
            "currency: unknown currency {base}: use an ISO 4217 code or one declared with create-commodity"
        ))
    })?;
    let accounts = store::accounts()?;
    let gain = accounts.get(&input.gain_loss_account).ok_or_else(|| {
        refuse(format!(
            "gain-loss-account: there is no account {}; create it first with create-account (type income or expense)",
            input.gain_loss_account
        ))
    })?;
    let lock = store::lock()?;
    if let Some(l) = lock.filter(|l| input.date <= *l) {
        return Err(refuse(format!(
            "the period up to {l} is locked; a revaluation dated {} cannot be posted",
            input.date
        )));
    }
    if let Some(r) = input.reverse_on
        && r <= input.date
    {
        return Err(refuse(format!(
            "reverse-on ({r}) must be after date ({})",
            input.date
        )));
    }
    let prefix = model::normalise_prefix(input.prefix.as_deref());
    if let Some(p) = &prefix
        && !accounts.keys().any(|n| model::under(n, Some(p)))
    {
        return Err(refuse(format!(
            "prefix: there is no account {p} or under it"
        )));
    }
    let table = Table::new(&store::prices()?).map_err(Error::internal)?;
    let balances = store::balances_as_of(Some(input.date))?;
    let mut prec = Precisions::default();
    let mut lines = Vec::new();
    let mut postings: Vec<Posting> = Vec::new();
    let mut total: i64 = 0;
    for ((account, commodity), balance) in &balances {
        let holds = accounts
            .get(account)
            .is_some_and(|a| matches!(a.kind, Kind::Asset | Kind::Liability));
        if !holds || *commodity == base || !model::under(account, prefix.as_deref()) {
            continue;
        }
        let rate = table
            .lookup(commodity, &base, input.date)
            .ok_or_else(|| {
                refuse(format!(
                    "there is no price of {commodity} in {base} on or before {} to revalue {account} (which holds {commodity}); add one with set-price",
                    input.date
                ))
            })?;
        let from = prec.get(commodity)?;
        let (held, adjustments) = history(account, commodity, &base, input.date)?;
        let carried = carried(&held, adjustments, commodity, &base, &table, from, to)
            .map_err(|e| refuse(format!("{account}: {e}")))?;
        let (market, diff) = difference(*balance, rate, carried, from, to)
            .map_err(|e| refuse(format!("{account}: {e}")))?;
        lines.push(Line {
            account: account.clone(),
            commodity: commodity.clone(),
            balance: prec.amount(commodity, *balance)?,
            rate: rate.text(),
            market_value: prec.amount(&base, market)?,
            carried_value: prec.amount(&base, carried)?,
            difference: prec.amount(&base, diff)?,
        });
        if diff != 0 {
            total = total
                .checked_add(diff)
                .ok_or_else(|| refuse("the revaluation total overflows".to_owned()))?;
            postings.push(Posting {
                account: account.clone(),
                amount: diff,
                currency: base.clone(),
                cost: None,
                memo: None,
                status: Default::default(),
                tags: Tags::from([(TAG.to_owned(), commodity.clone())]),
            });
        }
    }
    let mut out = RevalueOutput {
        date: input.date,
        currency: base.clone(),
        lines,
        entry: None,
        reversal: None,
    };
    if postings.is_empty() {
        return Ok(out);
    }
    if total != 0 {
        postings.push(Posting {
            account: gain.name.clone(),
            amount: -total,
            currency: base.clone(),
            cost: None,
            memo: None,
            status: Default::default(),
            tags: Tags::new(),
        });
    }
    posting::check_postings(input.date, &postings, &accounts, lock)
        .map_err(|e| refuse(format!("the revaluation cannot be posted: {e}")))?;
    if let Some(r) = input.reverse_on {
        let negated: Vec<Posting> = postings
            .iter()
            .map(|p| Posting {
                amount: -p.amount,
                ..p.clone()
            })
            .collect();
        posting::check_postings(r, &negated, &accounts, lock)
            .map_err(|e| refuse(format!("reverse-on: the reversal cannot be posted: {e}")))?;
    }
    let written = store::write_entries(vec![NewEntry {
        date: input.date,
        description: input.description.unwrap_or_else(|| {
            format!(
                "revaluation of foreign-currency balances in {base} at {}",
                input.date
            )
        }),
        payee: None,
        code: None,
        reference: None,
        reverses: None,
        idempotency_key: None,
        postings,
    }])?;
    let entry: Entry = written
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("no entry written"))?;
    posting::emit("ledger.entry-posted", &entry)?;
    if let Some(r) = input.reverse_on {
        let rev: posting::ReverseInput =
            serde_json::from_value(serde_json::json!({"id": entry.id, "date": r}))
                .map_err(|e| Error::internal(e.to_string()))?;
        let reversal = posting::reverse_entry(rev)?;
        out.reversal = Some(reversal);
        let get: posting::GetEntryInput =
            serde_json::from_value(serde_json::json!({"id": entry.id}))
                .map_err(|e| Error::internal(e.to_string()))?;
        out.entry = Some(posting::get_entry(get)?);
    } else {
        out.entry = Some(EntryOut::new(entry));
    }
    Ok(out)
}

/// The postings of `commodity` to `account` dated on or before `date`, and the sum of
/// its base-currency postings tagged as revaluations of `commodity`.
fn history(account: &str, commodity: &str, base: &str, date: Date) -> Result<(Vec<Held>, i64)> {
    let mut held = Vec::new();
    let mut adjustments: i64 = 0;
    let mut cache: BTreeMap<String, Entry> = BTreeMap::new();
    for (key, row) in store::register_rows(account, None, Some(date))? {
        if row.c == base {
            if row.t.get(TAG).is_some_and(|c| c == commodity) {
                adjustments = adjustments.saturating_add(row.n);
            }
            continue;
        }
        if row.c != commodity {
            continue;
        }
        // The key is `<date>/<seq>/<posting>`.
        let index: usize = key
            .rsplit('/')
            .next()
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| Error::internal(format!("bad register key {key}")))?;
        if !cache.contains_key(&row.e) {
            cache.insert(row.e.clone(), store::load_entry(&row.e)?);
        }
        let e = &cache[&row.e];
        let cost = e.postings.get(index).and_then(|p| p.cost.clone());
        held.push(Held {
            date: e.date,
            amount: row.n,
            cost,
            entry: row.e.clone(),
        });
    }
    Ok((held, adjustments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prices::Price;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn table() -> Table {
        let p = |date: &str, c: &str, price: &str| Price {
            date: d(date),
            commodity: c.into(),
            currency: "EUR".into(),
            price: price.into(),
        };
        Table::new(&[
            p("2024-01-01", "USD", "0.90"),
            p("2024-12-31", "USD", "0.925"),
            p("2024-01-01", "JPY", "0.0061"),
        ])
        .unwrap()
    }

    fn held(date: &str, amount: i64, cost: Option<i64>) -> Held {
        Held {
            date: d(date),
            amount,
            cost: cost.map(|amount| Cost {
                amount,
                currency: "EUR".into(),
            }),
            entry: "e-000001".into(),
        }
    }

    #[test]
    fn carried_value_is_cost_else_the_historical_rate_plus_revaluations() {
        let t = table();
        // 1000.00 USD bought for 905.00 EUR; 200.00 USD received at 0.90 = 180.00;
        // 50.00 USD paid out at cost 46.00; an earlier revaluation of +3.00 EUR.
        let h = [
            held("2024-01-05", 100_000, Some(90_500)),
            held("2024-03-01", 20_000, None),
            held("2024-04-01", -5_000, Some(4_600)),
        ];
        assert_eq!(
            carried(&h, 300, "USD", "EUR", &t, 2, 2).unwrap(),
            90_500 + 18_000 - 4_600 + 300
        );
        // No price on or before the posting's day, and no cost: refused, naming it.
        let err = carried(&[held("2023-12-31", 100, None)], 0, "USD", "EUR", &t, 2, 2).unwrap_err();
        assert!(
            err.contains("entry e-000001 books USD on 2023-12-31"),
            "{err}"
        );
        // A cost in another currency does not count as a base value.
        let mut other = held("2024-06-01", 1_000, None);
        other.cost = Some(Cost {
            amount: 800,
            currency: "GBP".into(),
        });
        assert_eq!(carried(&[other], 0, "USD", "EUR", &t, 2, 2).unwrap(), 900);
        // JPY has no decimals: 1001 JPY at 0.0061 = 6.1061 EUR -> 6.11.
        assert_eq!(
            carried(&[held("2024-02-01", 1001, None)], 0, "JPY", "EUR", &t, 0, 2).unwrap(),
            611
        );
    }

    #[test]
    fn differences_round_half_away_from_zero_to_the_base_precision() {
        let r = |s| Decimal::parse(s).unwrap();
        // 1150.00 USD at 0.925 = 1063.75 EUR against 1039.50 carried: +24.25.
        assert_eq!(
            difference(115_000, r("0.925"), 103_950, 2, 2).unwrap(),
            (106_375, 2_425)
        );
        // 0.30 USD at 0.925 = 0.2775 -> 0.28; -0.30 -> -0.28 (a liability).
        assert_eq!(difference(30, r("0.925"), 27, 2, 2).unwrap(), (28, 1));
        assert_eq!(difference(-30, r("0.925"), -27, 2, 2).unwrap(), (-28, -1));
        // Exactly half: 0.01 at 0.5 = 0.005 -> 0.01, and -0.005 -> -0.01.
        assert_eq!(difference(1, r("0.5"), 0, 2, 2).unwrap(), (1, 1));
        assert_eq!(difference(-1, r("0.5"), 0, 2, 2).unwrap(), (-1, -1));
        // Into a currency without decimals: 12.50 EUR at 162.5 = 2031.25 -> 2031 JPY.
        assert_eq!(
            difference(1250, r("162.5"), 2000, 2, 0).unwrap(),
            (2031, 31)
        );
        assert!(difference(i64::MAX, r("1000"), 0, 2, 2).is_err());
    }
}
