//! Pure report arithmetic: roll balances up by prefix and depth, totals, CSV.

use std::collections::BTreeMap;

use crate::model::{clip, under};

/// Balances per (account, commodity), as read from the balance index.
pub type Balances = BTreeMap<(String, String), i64>;

/// Per shown account, per commodity; zero amounts dropped.
pub type Rows = BTreeMap<String, BTreeMap<String, i64>>;

/// Roll `balances` up: keep accounts under `prefix` that `keep` accepts, clip them to
/// `depth`, sum, negate when `negate`, and drop zeros (as hledger does without `-E`).
pub fn rollup(
    balances: &Balances,
    prefix: Option<&str>,
    depth: Option<usize>,
    negate: bool,
    keep: &dyn Fn(&str) -> bool,
) -> Rows {
    let mut rows: Rows = BTreeMap::new();
    for ((account, currency), amount) in balances {
        if !under(account, prefix) || !keep(account) {
            continue;
        }
        let v = if negate {
            amount.saturating_neg()
        } else {
            *amount
        };
        let slot = rows
            .entry(clip(account, depth).to_owned())
            .or_default()
            .entry(currency.clone())
            .or_default();
        *slot = slot.saturating_add(v);
    }
    for amounts in rows.values_mut() {
        amounts.retain(|_, v| *v != 0);
    }
    rows.retain(|_, a| !a.is_empty());
    rows
}

/// Sum per commodity over all rows.
pub fn totals(rows: &Rows) -> BTreeMap<String, i64> {
    let mut t: BTreeMap<String, i64> = BTreeMap::new();
    for amounts in rows.values() {
        add_into(&mut t, amounts);
    }
    t.retain(|_, v| *v != 0);
    t
}

/// `into += other`, per commodity.
pub fn add_into(into: &mut BTreeMap<String, i64>, other: &BTreeMap<String, i64>) {
    for (c, v) in other {
        let slot = into.entry(c.clone()).or_default();
        *slot = slot.saturating_add(*v);
    }
}

/// `a - b`, per commodity, zeros dropped.
pub fn difference(a: &Balances, b: &Balances) -> Balances {
    let mut out = a.clone();
    for (k, v) in b {
        let slot = out.entry(k.clone()).or_default();
        *slot = slot.saturating_sub(*v);
    }
    out.retain(|_, v| *v != 0);
    out
}

/// One CSV field, quoted when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A CSV document from a header and rows.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(rows: &[(&str, &str, i64)]) -> Balances {
        rows.iter()
            .map(|(a, c, v)| ((a.to_string(), c.to_string()), *v))
            .collect()
    }

    #[test]
    fn rolls_up_by_depth_and_prefix() {
        let bal = b(&[
            ("assets:bank:checking", "EUR", 100),
            ("assets:bank:savings", "EUR", 50),
            ("assets:cash", "USD", 7),
            ("assets:cash", "EUR", 0),
            ("income:salary", "EUR", -157),
        ]);
        let r = rollup(&bal, Some("assets"), Some(2), false, &|_| true);
        assert_eq!(r.len(), 2);
        assert_eq!(r["assets:bank"]["EUR"], 150);
        assert_eq!(r["assets:cash"].len(), 1);
        let r = rollup(&bal, None, Some(1), true, &|a| a.starts_with("income"));
        assert_eq!(r["income"]["EUR"], 157);
        let all = rollup(&bal, None, None, false, &|_| true);
        assert_eq!(totals(&all)["EUR"], -7);
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            csv(&["a", "b"], &[vec!["1".into(), "x".into()]]),
            "a,b\r\n1,x\r\n"
        );
    }
}
