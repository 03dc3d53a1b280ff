//! Balancing an entry: per-currency sums, elided amounts and explicit conversions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::status::Status;

/// A conversion of a posting: the total it cost in another commodity (always
/// positive; it takes the sign of the posting's amount when balancing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// Total cost in minor units of `currency`.
    pub amount: i64,
    /// The cost's commodity.
    pub currency: String,
}

/// A posting as written: the amount (and even the currency) may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawPosting {
    /// Account name.
    pub account: String,
    /// Minor units; `None` takes the balancing amount.
    pub amount: Option<i64>,
    /// Commodity; with no amount, balances only this commodity; with neither, the
    /// posting takes every remaining imbalance.
    pub currency: Option<String>,
    /// Explicit conversion into another commodity.
    pub cost: Option<Cost>,
    /// A note on the posting.
    pub memo: Option<String>,
    /// Tags (see [`crate::tags`]).
    #[serde(default)]
    pub tags: crate::tags::Tags,
}

/// A posting of a balanced entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Posting {
    /// Account name.
    pub account: String,
    /// Signed minor units: positive debits, negative credits.
    pub amount: i64,
    /// Commodity code.
    pub currency: String,
    /// Explicit conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// Note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// Cleared or pending (hledger's `*` and `!`); unmarked is not written.
    #[serde(default, skip_serializing_if = "Status::is_unmarked")]
    pub status: Status,
    /// Tags, inherited ones included (see [`crate::tags`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: crate::tags::Tags,
}

impl Posting {
    /// `amount` of `currency` to `account`, with no cost, memo, status or tags.
    pub fn plain(account: &str, amount: i64, currency: &str) -> Posting {
        Posting {
            account: account.to_owned(),
            amount,
            currency: currency.to_owned(),
            cost: None,
            memo: None,
            status: Status::Unmarked,
            tags: crate::tags::Tags::new(),
        }
    }
}

/// The commodity and signed amount a posting contributes to the balance check.
fn weight(amount: i64, currency: &str, cost: Option<&Cost>) -> Result<(String, i64), String> {
    match cost {
        None => Ok((currency.to_owned(), amount)),
        Some(c) if c.currency == currency => Err(format!(
            "a posting in {currency} cannot have a cost in the same commodity"
        )),
        Some(c) if c.amount < 0 => Err("a cost is a positive total".to_owned()),
        Some(c) => Ok((
            c.currency.clone(),
            if amount < 0 { -c.amount } else { c.amount },
        )),
    }
}

/// Balance `raw`: fill elided amounts and check that every commodity sums to zero.
/// `show(currency, minor)` formats amounts for messages.
pub fn balance(
    raw: Vec<RawPosting>,
    show: &dyn Fn(&str, i64) -> String,
) -> Result<Vec<Posting>, String> {
    if raw.len() < 2 {
        return Err("an entry needs at least two postings".to_owned());
    }
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    let mut per_currency: BTreeMap<String, usize> = BTreeMap::new();
    let mut open: Option<usize> = None;
    for (i, p) in raw.iter().enumerate() {
        match (p.amount, &p.currency) {
            (Some(a), Some(c)) => {
                let (wc, w) = weight(a, c, p.cost.as_ref())?;
                let sum = sums.entry(wc).or_default();
                *sum = sum
                    .checked_add(w)
                    .ok_or_else(|| format!("the {c} amounts overflow"))?;
            }
            (Some(_), None) => {
                return Err(format!(
                    "the posting to {} has an amount but no currency",
                    p.account
                ));
            }
            (None, _) if p.cost.is_some() => {
                return Err(format!(
                    "the posting to {} has a cost but no amount",
                    p.account
                ));
            }
            (None, Some(c)) => {
                if per_currency.insert(c.clone(), i).is_some() {
                    return Err(format!("more than one posting omits its {c} amount"));
                }
            }
            (None, None) => {
                if open.replace(i).is_some() {
                    return Err("more than one posting omits its amount".to_owned());
                }
            }
        }
    }
    let mut out = Vec::with_capacity(raw.len() + 1);
    for (i, p) in raw.into_iter().enumerate() {
        match (p.amount, p.currency) {
            (Some(amount), Some(currency)) => out.push(Posting {
                account: p.account,
                amount,
                currency,
                cost: p.cost,
                memo: p.memo,
                status: Status::Unmarked,
                tags: p.tags,
            }),
            (None, Some(currency)) => {
                let sum = sums.remove(&currency).unwrap_or(0);
                out.push(Posting {
                    account: p.account,
                    amount: sum.checked_neg().ok_or("an amount overflows")?,
                    currency,
                    cost: None,
                    memo: p.memo,
                    status: Status::Unmarked,
                    tags: p.tags,
                });
            }
            (None, None) if open == Some(i) => {
                let rest: Vec<(String, i64)> = std::mem::take(&mut sums)
                    .into_iter()
                    .filter(|(_, s)| *s != 0)
                    .collect();
                if rest.is_empty() {
                    return Err(format!(
                        "the posting to {} omits its amount but the entry already balances",
                        p.account
                    ));
                }
                for (currency, sum) in rest {
                    out.push(Posting {
                        account: p.account.clone(),
                        amount: sum.checked_neg().ok_or("an amount overflows")?,
                        currency,
                        cost: None,
                        memo: p.memo.clone(),
                        status: Status::Unmarked,
                        tags: p.tags.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    let off: Vec<String> = sums
        .iter()
        .filter(|(_, s)| **s != 0)
        .map(|(c, s)| format!("{c} {}", show(c, *s)))
        .collect();
    if !off.is_empty() {
        return Err(format!(
            "the entry does not balance: it is off by {} (postings must sum to zero per currency)",
            off.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(account: &str, amount: Option<i64>, currency: Option<&str>) -> RawPosting {
        RawPosting {
            account: account.into(),
            amount,
            currency: currency.map(Into::into),
            cost: None,
            memo: None,
            tags: Default::default(),
        }
    }

    fn show(_: &str, v: i64) -> String {
        crate::amount::format(v, 2)
    }

    #[test]
    fn balances_and_fills_elided_amounts() {
        let out = balance(
            vec![p("a", Some(100), Some("EUR")), p("b", None, Some("EUR"))],
            &show,
        )
        .unwrap();
        assert_eq!(out[1].amount, -100);
        let out = balance(
            vec![
                p("a", Some(100), Some("EUR")),
                p("b", Some(5), Some("USD")),
                p("c", None, None),
            ],
            &show,
        )
        .unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!((out[2].amount, out[2].currency.as_str()), (-100, "EUR"));
        assert_eq!((out[3].amount, out[3].currency.as_str()), (-5, "USD"));
    }

    #[test]
    fn reports_the_imbalance_per_currency() {
        let err = balance(
            vec![
                p("a", Some(100), Some("EUR")),
                p("b", Some(-90), Some("EUR")),
                p("c", Some(-5), Some("USD")),
                p("d", Some(5), Some("USD")),
                p("e", Some(7), Some("GBP")),
            ],
            &show,
        )
        .unwrap_err();
        assert!(err.contains("off by EUR 0.10, GBP 0.07"), "{err}");
        assert!(balance(vec![p("a", Some(1), Some("EUR"))], &show).is_err());
        assert!(balance(vec![p("a", None, None), p("b", None, None)], &show).is_err());
    }

    #[test]
    fn costs_convert() {
        let mut buy = p("assets:eur", Some(10_000), Some("EUR"));
        buy.cost = Some(Cost {
            amount: 11_000,
            currency: "USD".into(),
        });
        let out = balance(
            vec![buy.clone(), p("assets:usd", Some(-11_000), Some("USD"))],
            &show,
        );
        assert!(out.is_ok(), "{out:?}");
        let err = balance(
            vec![buy, p("assets:usd", Some(-10_000), Some("USD"))],
            &show,
        )
        .unwrap_err();
        assert!(err.contains("USD 10.00"), "{err}");
    }
}
