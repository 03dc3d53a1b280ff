//! Market prices (`P DATE COMMODITY PRICE` in a journal, or `set-price`) and the
//! valuation of balances in another currency at a date.
//!
//! Valuation follows hledger's `-X CUR --value=DATE` (hledger manual 1.25,
//! "Valuation"): each balance is converted at the latest price of its commodity in the
//! target currency dated on or before the valuation date; a balance whose commodity
//! has no such price keeps its commodity. Only prices declared directly as
//! `COMMODITY -> TARGET` are used (no reverse or chained prices). An account's converted
//! amounts are added exactly and the sum is rounded half away from zero to the target
//! currency's precision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::amount::Decimal;
use crate::date::Date;
use crate::report::Balances;

/// One price as stored at `price/<commodity>/<currency>/<date>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Price {
    /// The day the price applies from.
    pub date: Date,
    /// The commodity priced (`USD`).
    pub commodity: String,
    /// The currency the price is in (`EUR`).
    pub currency: String,
    /// One unit of `commodity` in `currency`, as a decimal string (`0.925`).
    pub price: String,
}

/// Prices by (commodity, currency) and date.
#[derive(Debug, Clone, Default)]
pub struct Table(BTreeMap<(String, String), BTreeMap<Date, Decimal>>);

impl Table {
    /// A table of `prices` (later ones replace earlier ones for the same day).
    pub fn new(prices: &[Price]) -> Result<Table, String> {
        let mut t = Table::default();
        for p in prices {
            let d = Decimal::parse(&p.price)?;
            t.0.entry((p.commodity.clone(), p.currency.clone()))
                .or_default()
                .insert(p.date, d);
        }
        Ok(t)
    }

    /// The latest price of `commodity` in `currency` dated on or before `date`.
    pub fn lookup(&self, commodity: &str, currency: &str, date: Date) -> Option<Decimal> {
        self.0
            .get(&(commodity.to_owned(), currency.to_owned()))?
            .range(..=date)
            .next_back()
            .map(|(_, p)| *p)
    }
}

/// `amount` minor units of a commodity with `from` decimals, times `price`, as minor
/// units of a currency with `to` decimals, rounded half away from zero.
pub fn convert(amount: i64, from: u8, price: Decimal, to: u8) -> Result<i64, String> {
    let (num, exp) = exact(amount, from, price)?;
    rescale(num, exp, to)
}

fn too_large() -> String {
    "the valued amount is too large".to_owned()
}

/// `amount * price` exactly, as `num / 10^exp` of the target currency.
fn exact(amount: i64, from: u8, price: Decimal) -> Result<(i128, u32), String> {
    let num = i128::from(amount)
        .checked_mul(price.mantissa)
        .ok_or_else(too_large)?;
    Ok((num, u32::from(from) + price.scale))
}

/// `num / 10^exp` as minor units with `to` decimals, rounded half away from zero.
fn rescale(num: i128, exp: u32, to: u8) -> Result<i64, String> {
    let to = u32::from(to);
    let v = if exp <= to {
        10i128
            .checked_pow(to - exp)
            .and_then(|f| num.checked_mul(f))
            .ok_or_else(too_large)?
    } else {
        let f = 10i128.checked_pow(exp - to).ok_or_else(too_large)?;
        let (q, r) = (num / f, num % f);
        // Half away from zero: a remainder of at least half rounds outwards.
        if r.abs() * 2 >= f {
            q + num.signum()
        } else {
            q
        }
    };
    i64::try_from(v).map_err(|_| too_large())
}

/// `balances` valued in `currency` at `date`; balances without a price keep their
/// commodity. The converted commodities of one account are added exactly and rounded
/// once, as hledger rounds only for display. `precision` gives each commodity's
/// decimals.
pub fn value(
    balances: &Balances,
    table: &Table,
    currency: &str,
    date: Date,
    precision: &mut dyn FnMut(&str) -> u8,
) -> Result<Balances, String> {
    let mut out = Balances::new();
    let to = precision(currency);
    // Per account: the exact converted parts, `num / 10^exp`.
    let mut parts: BTreeMap<&str, Vec<(i128, u32)>> = BTreeMap::new();
    for ((account, commodity), v) in balances {
        let price = if commodity == currency {
            Some(Decimal {
                mantissa: 1,
                scale: 0,
            })
        } else {
            table.lookup(commodity, currency, date)
        };
        match price {
            Some(p) => {
                parts
                    .entry(account.as_str())
                    .or_default()
                    .push(exact(*v, precision(commodity), p)?)
            }
            None => {
                out.insert((account.clone(), commodity.clone()), *v);
            }
        }
    }
    for (account, ps) in parts {
        let exp = ps.iter().map(|(_, e)| *e).max().unwrap_or(0);
        let mut sum: i128 = 0;
        for (n, e) in ps {
            let scaled = 10i128
                .checked_pow(exp - e)
                .and_then(|f| n.checked_mul(f))
                .ok_or_else(too_large)?;
            sum = sum.checked_add(scaled).ok_or_else(too_large)?;
        }
        out.insert(
            (account.to_owned(), currency.to_owned()),
            rescale(sum, exp, to)?,
        );
    }
    out.retain(|_, v| *v != 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn price(date: &str, c: &str, cur: &str, p: &str) -> Price {
        Price {
            date: d(date),
            commodity: c.into(),
            currency: cur.into(),
            price: p.into(),
        }
    }

    #[test]
    fn looks_up_the_latest_price_on_or_before_the_date() {
        let t = Table::new(&[
            price("2024-06-30", "USD", "EUR", "0.90"),
            price("2024-12-31", "USD", "EUR", "0.925"),
            price("2024-12-31", "USD", "GBP", "0.79"),
        ])
        .unwrap();
        assert_eq!(t.lookup("USD", "EUR", d("2024-06-29")), None);
        assert_eq!(
            t.lookup("USD", "EUR", d("2024-06-30")).unwrap().text(),
            "0.90"
        );
        assert_eq!(
            t.lookup("USD", "EUR", d("2024-12-30")).unwrap().text(),
            "0.90"
        );
        assert_eq!(
            t.lookup("USD", "EUR", d("2025-03-01")).unwrap().text(),
            "0.925"
        );
        assert_eq!(t.lookup("EUR", "USD", d("2025-03-01")), None);
    }

    #[test]
    fn rounds_half_away_from_zero_to_the_target_precision() {
        let p = |s| Decimal::parse(s).unwrap();
        // 12.34 USD at 0.925 = 11.4145 EUR -> 11.41
        assert_eq!(convert(1234, 2, p("0.925"), 2).unwrap(), 1141);
        // 0.10 USD at 0.925 = 0.0925 -> 0.09; 0.30 at 0.925 = 0.2775 -> 0.28
        assert_eq!(convert(10, 2, p("0.925"), 2).unwrap(), 9);
        assert_eq!(convert(30, 2, p("0.925"), 2).unwrap(), 28);
        assert_eq!(convert(-30, 2, p("0.925"), 2).unwrap(), -28);
        // exactly half: 0.01 at 0.5 = 0.005 -> 0.01, and -0.005 -> -0.01
        assert_eq!(convert(1, 2, p("0.5"), 2).unwrap(), 1);
        assert_eq!(convert(-1, 2, p("0.5"), 2).unwrap(), -1);
        // JPY (0 decimals) into EUR and back
        assert_eq!(convert(1000, 0, p("0.0061"), 2).unwrap(), 610);
        assert_eq!(convert(1000, 2, p("162.5"), 0).unwrap(), 1625);
        assert!(convert(i64::MAX, 2, p("1000"), 2).is_err());
    }

    #[test]
    fn values_balances_and_keeps_unpriced_commodities() {
        let t = Table::new(&[price("2024-12-31", "USD", "EUR", "0.925")]).unwrap();
        let b: Balances = [
            (("assets:usd".to_string(), "USD".to_string()), 10_000),
            (("assets:usd".to_string(), "EUR".to_string()), 50),
            (("assets:gbp".to_string(), "GBP".to_string()), 1_001),
        ]
        .into_iter()
        .collect();
        let v = value(&b, &t, "EUR", d("2024-12-31"), &mut |_| 2).unwrap();
        assert_eq!(v[&("assets:usd".into(), "EUR".into())], 9_300);
        assert_eq!(v[&("assets:gbp".into(), "GBP".into())], 1_001);
        assert_eq!(v.len(), 2);
        // Two parts of 0.0925 each: rounded separately 0.09 + 0.09, exactly 0.185 -> 0.19.
        let t = Table::new(&[
            price("2024-12-31", "USD", "EUR", "0.925"),
            price("2024-12-31", "CHF", "EUR", "0.925"),
        ])
        .unwrap();
        let b: Balances = [
            (("x".to_string(), "USD".to_string()), 10),
            (("x".to_string(), "CHF".to_string()), 10),
        ]
        .into_iter()
        .collect();
        let v = value(&b, &t, "EUR", d("2024-12-31"), &mut |_| 2).unwrap();
        assert_eq!(v[&("x".into(), "EUR".into())], 19);
    }
}
