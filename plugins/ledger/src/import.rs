//! Turning a parsed journal into accounts, commodities and balanced entries, checked
//! as a whole before anything is written.

use std::collections::{BTreeMap, BTreeSet};

use crate::amount;
use crate::date::Date;
use crate::entry::{self, Cost, Posting, RawPosting};
use crate::journal::{JAmount, Journal};
use crate::model::Kind;

/// What an import will write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// New accounts, in order of first mention.
    pub accounts: Vec<(String, Kind)>,
    /// New custom commodities and their precision.
    pub commodities: Vec<(String, u8)>,
    /// Balanced entries in file order.
    pub entries: Vec<PlannedEntry>,
    /// Market prices from `P` directives, in file order.
    pub prices: Vec<crate::prices::Price>,
}

/// One transaction, balanced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEntry {
    /// Line of the transaction header.
    pub line: usize,
    /// Date.
    pub date: Date,
    /// Description.
    pub description: String,
    /// Payee.
    pub payee: Option<String>,
    /// Code.
    pub code: Option<String>,
    /// Postings, elided amounts filled in.
    pub postings: Vec<Posting>,
}

/// The ledger's current state as far as an import needs it.
pub trait Known {
    /// The type of an existing account.
    fn account(&self, name: &str) -> Option<Kind>;
    /// The precision of an existing (or ISO) commodity.
    fn precision(&self, commodity: &str) -> Option<u8>;
    /// An account's own balance in `commodity` at the end of `date`, before the import.
    fn balance(&self, account: &str, commodity: &str, date: Date) -> Result<i64, String>;
}

/// At most this many problems are listed in one error.
const MAX_ERRORS: usize = 20;

/// Plan the import of `journal`; the error lists the bad lines.
pub fn plan(journal: &Journal, known: &dyn Known) -> Result<Plan, String> {
    let mut errors = Vec::new();
    let mut precisions: BTreeMap<String, u8> = BTreeMap::new();
    let mut new_commodities = Vec::new();
    // Precision: the ledger's, else the directive's, else the most decimals used.
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for t in &journal.transactions {
        for p in &t.postings {
            let amounts = p
                .amount
                .iter()
                .chain(p.cost.iter().map(|c| &c.amount))
                .chain(p.assertion.iter());
            for a in amounts {
                let s = seen.entry(a.commodity.as_str()).or_default();
                *s = (*s).max(a.number.scale);
            }
        }
    }
    // A commodity only named by a `P` directive is created like one in a posting; the
    // price's own decimals do not set its currency's precision.
    for p in &journal.prices {
        seen.entry(p.commodity.as_str()).or_default();
        seen.entry(p.price.commodity.as_str()).or_default();
    }
    let declared: BTreeMap<&str, (usize, Option<u32>)> = journal
        .commodities
        .iter()
        .map(|c| (c.symbol.as_str(), (c.line, c.precision)))
        .collect();
    let mut all: BTreeSet<&str> = seen.keys().copied().collect();
    all.extend(declared.keys().copied());
    for c in all {
        if let Some(p) = known.precision(c) {
            precisions.insert(c.to_owned(), p);
            continue;
        }
        let p = declared
            .get(c)
            .and_then(|d| d.1)
            .unwrap_or(0)
            .max(seen.get(c).copied().unwrap_or(0));
        match u8::try_from(p).ok().filter(|p| *p <= amount::MAX_PRECISION) {
            Some(p) => {
                precisions.insert(c.to_owned(), p);
                new_commodities.push((c.to_owned(), p));
            }
            None => errors.push(format!(
                "commodity {c} uses more than {} decimals",
                amount::MAX_PRECISION
            )),
        }
    }

    let mut accounts: Vec<(String, Kind)> = Vec::new();
    let mut have: BTreeSet<String> = BTreeSet::new();
    for d in &journal.accounts {
        if known.account(&d.name).is_some() || !have.insert(d.name.clone()) {
            continue;
        }
        match d.kind.or_else(|| Kind::infer(&d.name)) {
            Some(k) => accounts.push((d.name.clone(), k)),
            None => errors.push(format!(
                "line {}: cannot infer the type of account {}; add a tag like `; type: A` (A, L, E, R or X)",
                d.line, d.name
            )),
        }
    }

    let show = |c: &str, v: i64| amount::format(v, precisions.get(c).copied().unwrap_or(0));
    let minor = |a: &JAmount| -> Result<i64, String> {
        let p = precisions.get(&a.commodity).copied().unwrap_or(0);
        a.number.to_minor(p, &a.commodity)
    };
    let mut entries = Vec::with_capacity(journal.transactions.len());
    // (entry, posting index after balancing, line, asserted amount)
    let mut assertions: Vec<(usize, usize, usize, &JAmount)> = Vec::new();
    for t in &journal.transactions {
        if errors.len() >= MAX_ERRORS {
            break;
        }
        let mut raw = Vec::with_capacity(t.postings.len());
        let mut bad = false;
        for p in &t.postings {
            if known.account(&p.account).is_none() && have.insert(p.account.clone()) {
                match Kind::infer(&p.account) {
                    Some(k) => accounts.push((p.account.clone(), k)),
                    None => {
                        errors.push(format!(
                            "line {}: cannot infer the type of account {} from its name; declare it first with `account {}  ; type: A` (A, L, E, R or X) or use a top-level name assets, liabilities, equity, income, revenue or expenses",
                            p.line, p.account, p.account
                        ));
                        bad = true;
                    }
                }
            }
            let converted = (|| -> Result<RawPosting, String> {
                let amount = p.amount.as_ref().map(&minor).transpose()?;
                let cost = match (&p.cost, &p.amount) {
                    (Some(c), Some(a)) => Some(cost_total(c.total, a, &c.amount, &precisions)?),
                    _ => None,
                };
                Ok(RawPosting {
                    account: p.account.clone(),
                    amount,
                    currency: p.amount.as_ref().map(|a| a.commodity.clone()),
                    cost,
                    memo: p.memo.clone(),
                    tags: crate::tags::merge(&t.tags, &p.tags)?,
                })
            })();
            match converted {
                Ok(r) => raw.push(r),
                Err(e) => {
                    errors.push(format!("line {}: {e}", p.line));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let raw_count = raw.len();
        match entry::balance(raw, &show) {
            Ok(mut postings) => {
                // Output postings follow the input's order; an elided posting may
                // expand into one posting per commodity.
                let mut at = 0;
                for p in &t.postings {
                    let span = if p.amount.is_none() {
                        postings.len() + 1 - raw_count
                    } else {
                        1
                    };
                    at += span;
                    for q in postings.iter_mut().take(at).skip(at - span) {
                        q.status = crate::status::Status::effective(p.status, t.status);
                    }
                    if let Some(a) = &p.assertion {
                        if let Some(k) = (at - span..at)
                            .rev()
                            .find(|k| postings.get(*k).is_some_and(|q| q.currency == a.commodity))
                        {
                            assertions.push((entries.len(), k, p.line, a));
                        } else {
                            assertions.push((entries.len(), at - 1, p.line, a));
                        }
                    }
                }
                entries.push(PlannedEntry {
                    line: t.line,
                    date: t.date,
                    description: t.description.clone(),
                    payee: t.payee.clone(),
                    code: t.code.clone(),
                    postings,
                });
            }
            Err(e) => errors.push(format!("line {}: {e}", t.line)),
        }
    }
    if errors.is_empty() {
        check_assertions(&entries, &assertions, known, &precisions, &mut errors);
    }
    if !errors.is_empty() {
        return Err(format!(
            "the journal was not imported: {}",
            errors.join("; ")
        ));
    }
    Ok(Plan {
        accounts,
        commodities: new_commodities,
        entries,
        prices: journal
            .prices
            .iter()
            .map(|p| crate::prices::Price {
                date: p.date,
                commodity: p.commodity.clone(),
                currency: p.price.commodity.clone(),
                price: p.price.number.text(),
            })
            .collect(),
    })
}

/// Check balance assertions in date order (file order within a day), as hledger does:
/// the account's own balance in the asserted commodity right after the posting,
/// counting what the ledger held before the import.
fn check_assertions(
    entries: &[PlannedEntry],
    assertions: &[(usize, usize, usize, &JAmount)],
    known: &dyn Known,
    precisions: &BTreeMap<String, u8>,
    errors: &mut Vec<String>,
) {
    if assertions.is_empty() {
        return;
    }
    let mut at: BTreeMap<(usize, usize), (usize, &JAmount)> = BTreeMap::new();
    for (e, p, line, a) in assertions {
        at.insert((*e, *p), (*line, *a));
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|i| (entries[*i].date, *i));
    let mut imported: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for i in order {
        let e = &entries[i];
        for (k, p) in e.postings.iter().enumerate() {
            let sum = imported
                .entry((p.account.as_str(), p.currency.as_str()))
                .or_default();
            *sum = sum.saturating_add(p.amount);
            let Some((line, a)) = at.get(&(i, k)) else {
                continue;
            };
            let prec = precisions.get(&a.commodity).copied().unwrap_or(0);
            let expected = match a.number.to_minor(prec, &a.commodity) {
                Ok(v) => v,
                Err(err) => {
                    errors.push(format!("line {line}: {err}"));
                    continue;
                }
            };
            let before = match known.balance(&p.account, &a.commodity, e.date) {
                Ok(v) => v,
                Err(err) => {
                    errors.push(format!("line {line}: {err}"));
                    continue;
                }
            };
            let mine = imported
                .get(&(p.account.as_str(), a.commodity.as_str()))
                .copied()
                .unwrap_or(0);
            let actual = before.saturating_add(mine);
            if actual != expected {
                errors.push(format!(
                    "line {line}: balance assertion failed: {} is {} {} after this posting, not {}",
                    p.account,
                    amount::format(actual, prec),
                    a.commodity,
                    amount::format(expected, prec)
                ));
            }
        }
    }
}

/// The total cost in minor units of the price's commodity; unit prices are multiplied
/// out and rounded half away from zero to the commodity's precision.
fn cost_total(
    total: bool,
    amount: &JAmount,
    price: &JAmount,
    precisions: &BTreeMap<String, u8>,
) -> Result<Cost, String> {
    let p = precisions.get(&price.commodity).copied().unwrap_or(0);
    let value = if total {
        price.number.to_minor(p, &price.commodity)?.abs()
    } else {
        let m = amount
            .number
            .mantissa
            .checked_mul(price.number.mantissa)
            .ok_or("the cost overflows")?
            .abs();
        let scale = amount.number.scale + price.number.scale;
        let d = if scale >= u32::from(p) {
            let f = 10i128.pow(scale - u32::from(p));
            (m + f / 2) / f
        } else {
            m * 10i128.pow(u32::from(p) - scale)
        };
        i64::try_from(d).map_err(|_| "the cost overflows".to_owned())?
    };
    Ok(Cost {
        amount: value,
        currency: price.commodity.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::parse;

    struct Empty;
    impl Known for Empty {
        fn account(&self, _: &str) -> Option<Kind> {
            None
        }
        fn precision(&self, c: &str) -> Option<u8> {
            amount::iso_precision(c)
        }
        fn balance(&self, _: &str, _: &str, _: Date) -> Result<i64, String> {
            Ok(0)
        }
    }

    #[test]
    fn checks_balance_assertions_in_date_order() {
        let j = parse(
            "2024-02-01 B\n    assets:a  2 EUR = 3 EUR\n    assets:b  5 USD\n    income:x\n\n2024-01-01 A\n    assets:a  1 EUR = 1 EUR\n    income:x\n",
        )
        .unwrap();
        assert!(plan(&j, &Empty).is_ok());
        let j =
            parse("2024-01-01 A\n    assets:a  1 EUR\n    income:x  -1 EUR = -1.50 EUR\n").unwrap();
        let err = plan(&j, &Empty).unwrap_err();
        assert!(
            err.contains("line 3: balance assertion failed: income:x is -1.00 EUR after this posting, not -1.50"),
            "{err}"
        );
    }

    #[test]
    fn plans_accounts_commodities_and_entries() {
        let j = parse(
            "2024-01-01 Open\n    assets:cash  $10.5\n    assets:eur  3 EUR @ $1.105\n    equity:opening\n",
        )
        .unwrap();
        let p = plan(&j, &Empty).unwrap();
        assert_eq!(p.commodities, vec![("$".to_string(), 3)]);
        assert_eq!(p.accounts.len(), 3);
        let e = &p.entries[0];
        assert_eq!(e.postings[0].amount, 10_500);
        assert_eq!(e.postings[1].amount, 300);
        assert_eq!(e.postings[1].cost.as_ref().unwrap().amount, 3315);
        assert_eq!(e.postings[2].amount, -13_815);
    }

    #[test]
    fn errors_list_lines() {
        let j = parse(
            "2024-01-01 A\n    assets:a  5 EUR\n    income:b  -4 EUR\n\n2024-01-02 B\n    stuff:x  1.234 EUR\n    assets:a\n",
        )
        .unwrap();
        let err = plan(&j, &Empty).unwrap_err();
        assert!(
            err.contains("line 1: the entry does not balance: it is off by EUR 1.00"),
            "{err}"
        );
        assert!(
            err.contains("line 6: cannot infer the type of account stuff:x"),
            "{err}"
        );
        assert!(
            err.contains("line 6: 1.234 has more decimals than EUR allows (2)"),
            "{err}"
        );
    }
}
