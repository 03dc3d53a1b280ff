//! Accounts and their names: types, validation, hledger's type inference, prefix
//! matching and depth roll-up.

use serde::{Deserialize, Serialize};

use crate::date::Date;

/// The type of an account, which decides its report section and normal sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Assets (debit-normal).
    Asset,
    /// Liabilities (credit-normal).
    Liability,
    /// Equity (credit-normal).
    Equity,
    /// Income or revenue (credit-normal).
    Income,
    /// Expenses (debit-normal).
    Expense,
}

impl Kind {
    /// hledger's inference from the top-level name: `assets`, `liabilities` or
    /// `debts`, `equity`, `income` or `revenue`, `expenses` (singular or plural, any
    /// case).
    pub fn infer(name: &str) -> Option<Kind> {
        let top = name.split(':').next().unwrap_or("").to_lowercase();
        match top.as_str() {
            "asset" | "assets" => Some(Kind::Asset),
            "liability" | "liabilities" | "debt" | "debts" => Some(Kind::Liability),
            "equity" => Some(Kind::Equity),
            "income" | "incomes" | "revenue" | "revenues" => Some(Kind::Income),
            "expense" | "expenses" => Some(Kind::Expense),
            _ => None,
        }
    }

    /// The hledger `type:` tag values: `A`, `L`, `E`, `R`, `X`, `C` (cash is an asset),
    /// or the type's name.
    pub fn from_tag(tag: &str) -> Option<Kind> {
        match tag.trim().to_lowercase().as_str() {
            "a" | "asset" | "assets" | "c" | "cash" => Some(Kind::Asset),
            "l" | "liability" | "liabilities" => Some(Kind::Liability),
            "e" | "equity" => Some(Kind::Equity),
            "r" | "revenue" | "revenues" | "income" => Some(Kind::Income),
            "x" | "expense" | "expenses" => Some(Kind::Expense),
            _ => None,
        }
    }

    /// Whether balances are shown negated in statements (credit-normal types).
    pub fn credit_normal(self) -> bool {
        matches!(self, Kind::Liability | Kind::Equity | Kind::Income)
    }
}

/// An account as stored at `acct/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Account {
    /// Full name, `assets:bank:checking`.
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Currencies allowed in postings; empty allows any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub currencies: Vec<String>,
    /// No posting may be dated before this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened: Option<Date>,
    /// No posting may be dated after this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<Date>,
    /// A free description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Account {
    /// Why a posting dated `date` in `currency` is refused, if it is.
    pub fn refuses(&self, date: Date, currency: &str) -> Option<String> {
        if let Some(closed) = self.closed.filter(|c| date > *c) {
            return Some(format!(
                "account {} is closed (since {closed}); the entry is dated {date}",
                self.name
            ));
        }
        if let Some(opened) = self.opened.filter(|o| date < *o) {
            return Some(format!(
                "account {} opens on {opened}; the entry is dated {date}",
                self.name
            ));
        }
        if !self.currencies.is_empty() && !self.currencies.iter().any(|c| c == currency) {
            return Some(format!(
                "account {} allows only {}, not {currency}",
                self.name,
                self.currencies.join(", ")
            ));
        }
        None
    }
}

/// Check an account name: non-empty `:`-separated parts without surrounding spaces,
/// no `/`, tabs, control characters or two spaces in a row, at most 200 bytes.
pub fn validate_name(name: &str) -> Result<(), String> {
    let bad_part = |p: &str| p.is_empty() || p.trim() != p;
    if name.is_empty()
        || name.len() > 200
        || name.split(':').any(bad_part)
        || name.contains("  ")
        || name.chars().any(|c| c == '/' || c.is_control())
    {
        return Err(format!(
            "{name:?} is not an account name: use parts separated by ':' like assets:bank:checking, without '/', tabs or double spaces"
        ));
    }
    Ok(())
}

/// Normalise a prefix filter: `assets:bank:` and `assets:bank` mean the same.
pub fn normalise_prefix(prefix: Option<&str>) -> Option<String> {
    prefix
        .map(|p| p.trim().trim_end_matches(':').to_owned())
        .filter(|p| !p.is_empty())
}

/// Whether `name` is `prefix` or one of its sub-accounts.
pub fn under(name: &str, prefix: Option<&str>) -> bool {
    match prefix {
        None => true,
        Some(p) => {
            name == p || (name.starts_with(p) && name.as_bytes().get(p.len()) == Some(&b':'))
        }
    }
}

/// The account `name` rolled up to `depth` parts (`assets:bank` at depth 2).
pub fn clip(name: &str, depth: Option<usize>) -> &str {
    match depth {
        Some(d) if d > 0 => match name.match_indices(':').nth(d - 1) {
            Some((i, _)) => &name[..i],
            None => name,
        },
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_like_hledger() {
        assert_eq!(Kind::infer("assets:bank"), Some(Kind::Asset));
        assert_eq!(Kind::infer("Liabilities:card"), Some(Kind::Liability));
        assert_eq!(Kind::infer("revenues:sales"), Some(Kind::Income));
        assert_eq!(Kind::infer("expenses"), Some(Kind::Expense));
        assert_eq!(Kind::infer("equity:opening"), Some(Kind::Equity));
        assert_eq!(Kind::infer("stuff:things"), None);
        assert_eq!(Kind::from_tag("R"), Some(Kind::Income));
        assert_eq!(Kind::from_tag("Cash"), Some(Kind::Asset));
    }

    #[test]
    fn accounts_refuse_postings_outside_their_dates_and_currencies() {
        let d = |s| Date::parse(s).unwrap();
        let a = Account {
            name: "assets:bank".into(),
            kind: Kind::Asset,
            currencies: vec!["EUR".into()],
            opened: Some(d("2024-01-01")),
            closed: Some(d("2024-06-30")),
            description: None,
        };
        assert_eq!(a.refuses(d("2024-06-30"), "EUR"), None);
        assert!(
            a.refuses(d("2024-07-01"), "EUR")
                .unwrap()
                .contains("is closed (since 2024-06-30)")
        );
        assert!(
            a.refuses(d("2023-12-31"), "EUR")
                .unwrap()
                .contains("opens on 2024-01-01")
        );
        assert!(
            a.refuses(d("2024-03-01"), "USD")
                .unwrap()
                .contains("allows only EUR, not USD")
        );
    }

    #[test]
    fn names_prefixes_and_depth() {
        assert!(validate_name("assets:bank:checking").is_ok());
        assert!(validate_name("assets:my bank").is_ok());
        for bad in [
            "",
            "assets::x",
            "assets:",
            "a/b",
            "a  b",
            " assets",
            "a:\tb",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(under("assets:bank:checking", Some("assets:bank")));
        assert!(under("assets:bank", Some("assets:bank")));
        assert!(!under("assets:banker", Some("assets:bank")));
        assert!(under("x", None));
        assert_eq!(clip("assets:bank:checking", Some(2)), "assets:bank");
        assert_eq!(clip("assets:bank:checking", Some(1)), "assets");
        assert_eq!(clip("assets", Some(3)), "assets");
        assert_eq!(clip("assets:bank", None), "assets:bank");
        assert_eq!(normalise_prefix(Some("assets:")), Some("assets".into()));
        assert_eq!(normalise_prefix(Some("")), None);
    }
}
