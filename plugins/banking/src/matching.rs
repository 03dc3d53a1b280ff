//! Suggestions: which open invoice or bill, or which rule, a bank line may settle.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::Rule;

/// An open item of the `invoicing` plugin (its `open-items` report).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct OpenItem {
    pub id: String,
    pub number: Option<String>,
    pub kind: String,
    pub side: String,
    pub contact: String,
    pub contact_name: String,
    pub currency: String,
    pub open: i64,
    #[serde(default)]
    pub days_past_due: i64,
}

/// One way to match a line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Candidate {
    /// `invoice`, `bill`, `rule` or `posting` (see [`crate::postings`]).
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contra_account: Option<String>,
    pub reason: String,
    /// How good the match is, 0 to 100; candidates come best first (see [`SCORE_NUMBER`]).
    pub score: u32,
    /// A ledger posting: its entry, its index in the entry, its date and description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posting: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<backoffice_sdk::Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The score of an invoice or bill whose number is in the line's reference.
pub const SCORE_NUMBER: u32 = 100;
/// The score of an invoice or bill whose open amount and contact are the line's.
pub const SCORE_AMOUNT_AND_CONTACT: u32 = 80;
/// The score of a rule that holds.
pub const SCORE_RULE: u32 = 50;

/// Whether `number` occurs in `t` (upper case) as a whole token (not inside a longer
/// number: `INV-2026-0001` is not found in `INV-2026-00012`).
fn contains_token(t: &str, number: &str) -> bool {
    let n = number.to_uppercase();
    if n.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(i) = t[from..].find(&n) {
        let start = from + i;
        let end = start + n.len();
        let before = t[..start].chars().next_back();
        let after = t[end..].chars().next();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return true;
        }
        from = start + 1;
        while !t.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// The open items, indexed once per suggestion run so that each line looks up the
/// numbers in its reference and its amount and counterparty instead of comparing
/// itself with every item (10,000 lines against 10,000 items would be 10^8 checks).
pub struct Items {
    items: Vec<OpenItem>,
    /// Upper-case number -> items, for numbers that begin and end with a letter or
    /// digit (every number invoicing gives): such a number can only occur as a
    /// token between the start of one run of letters and digits and the end of another.
    by_number: HashMap<String, Vec<usize>>,
    /// Numbers of another shape, compared the slow way.
    odd_numbers: Vec<usize>,
    /// (open amount, lower-case contact name) -> items.
    by_amount: HashMap<(i64, String), Vec<usize>>,
}

impl Items {
    pub fn new(items: Vec<OpenItem>) -> Items {
        let mut by_number: HashMap<String, Vec<usize>> = HashMap::new();
        let mut odd_numbers = Vec::new();
        let mut by_amount: HashMap<(i64, String), Vec<usize>> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(n) = &item.number {
                let alnum_ends = n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                    && n.chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric());
                if alnum_ends {
                    by_number.entry(n.to_uppercase()).or_default().push(i);
                } else {
                    odd_numbers.push(i);
                }
            }
            by_amount
                .entry((item.open, item.contact_name.trim().to_lowercase()))
                .or_default()
                .push(i);
        }
        Items {
            items,
            by_number,
            odd_numbers,
            by_amount,
        }
    }

    /// The items whose number occurs as a token in upper-case `t`, in item order
    /// appended to `out`.
    fn numbered_in(&self, t: &str, out: &mut Vec<usize>) {
        let b = t.as_bytes();
        let alnum = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_alphanumeric());
        let starts: Vec<usize> = (0..b.len())
            .filter(|&i| alnum(i) && (i == 0 || !alnum(i - 1)))
            .collect();
        let ends: Vec<usize> = (0..b.len())
            .filter(|&i| alnum(i) && !alnum(i + 1))
            .map(|i| i + 1)
            .collect();
        for &s in &starts {
            for &e in ends.iter().filter(|&&e| e > s) {
                if let Some(found) = t.get(s..e).and_then(|sub| self.by_number.get(sub)) {
                    out.extend(found);
                }
            }
        }
        for &i in &self.odd_numbers {
            if self.items[i]
                .number
                .as_deref()
                .is_some_and(|n| contains_token(t, n))
            {
                out.push(i);
            }
        }
    }
}

/// The candidates for a line of `amount` (money in positive) in `currency`, best
/// first: an invoice (money in) or bill (money out) whose number is in the reference
/// or description; else one whose open amount equals the line's and whose contact's
/// name is the counterparty; then every rule that holds.
pub fn suggest(
    amount: i64,
    currency: &str,
    reference: &str,
    description: &str,
    counterparty: &str,
    items: &Items,
    rules: &[Rule],
) -> Vec<Candidate> {
    let (kind, side) = if amount > 0 {
        ("invoice", "sales")
    } else {
        ("bill", "purchase")
    };
    let eligible =
        |i: &OpenItem| i.kind == kind && i.side == side && i.currency == currency && i.open > 0;
    let candidate = |i: &OpenItem, reason: String, score: u32| Candidate {
        kind: kind.to_owned(),
        document: Some(i.id.clone()),
        number: i.number.clone(),
        contact: Some(i.contact.clone()),
        contact_name: Some(i.contact_name.clone()),
        open: Some(i.open),
        rule: None,
        contra_account: None,
        reason,
        score,
        ..Candidate::default()
    };
    let (reference, description) = (reference.to_uppercase(), description.to_uppercase());
    let mut found = Vec::new();
    items.numbered_in(&reference, &mut found);
    items.numbered_in(&description, &mut found);
    found.sort_unstable();
    found.dedup();
    let mut out: Vec<Candidate> = found
        .into_iter()
        .filter_map(|i| items.items.get(i))
        .filter(|i| eligible(i))
        .filter_map(|i| {
            let n = i.number.as_deref()?;
            Some(candidate(
                i,
                format!("{kind} number {n} in the reference"),
                SCORE_NUMBER,
            ))
        })
        .collect();
    if out.is_empty() && !counterparty.trim().is_empty() {
        let who = counterparty.trim().to_lowercase();
        out = items
            .by_amount
            .get(&(amount.abs(), who))
            .into_iter()
            .flatten()
            .filter_map(|&i| items.items.get(i))
            .filter(|i| eligible(i))
            .map(|i| {
                candidate(
                    i,
                    "open amount and counterparty are the line's".to_owned(),
                    SCORE_AMOUNT_AND_CONTACT,
                )
            })
            .collect();
    }
    for r in rules {
        if r.matches(&reference, &description, counterparty, amount) {
            out.push(Candidate {
                kind: "rule".to_owned(),
                document: None,
                number: None,
                contact: None,
                contact_name: None,
                open: None,
                rule: Some(r.name.clone()),
                contra_account: Some(r.contra_account.clone()),
                reason: format!("rule {}", r.name),
                score: SCORE_RULE,
                ..Candidate::default()
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, number: &str, kind: &str, name: &str, open: i64) -> OpenItem {
        OpenItem {
            id: id.into(),
            number: Some(number.into()),
            kind: kind.into(),
            side: if kind == "bill" { "purchase" } else { "sales" }.into(),
            contact: "c-000001".into(),
            contact_name: name.into(),
            currency: "GBP".into(),
            open,
            days_past_due: 0,
        }
    }

    #[test]
    fn number_first_then_amount_and_counterparty_then_rules() {
        let items = Items::new(vec![
            item(
                "d-000001",
                "INV-2026-0001",
                "invoice",
                "Acme Retail Ltd",
                27_597,
            ),
            item(
                "d-000002",
                "INV-2026-0002",
                "invoice",
                "Acme Retail Ltd",
                12_000,
            ),
            item("d-000003", "BILL-2026-0001", "bill", "Paper Ltd", 12_000),
        ]);
        let rules = vec![Rule {
            name: "fees".into(),
            reference_contains: Some("fee".into()),
            counterparty_equals: None,
            amount_equals: None,
            contra_account: "expenses:bank".into(),
            description: None,
        }];
        let by_number = suggest(
            10_000,
            "GBP",
            "pay inv-2026-0001 thanks",
            "",
            "x",
            &items,
            &rules,
        );
        assert_eq!(by_number.len(), 1);
        assert_eq!(by_number[0].document.as_deref(), Some("d-000001"));
        assert!(suggest(10_000, "GBP", "INV-2026-00012", "", "", &items, &rules).is_empty());
        let by_amount = suggest(12_000, "GBP", "", "", "ACME RETAIL LTD", &items, &rules);
        assert_eq!(by_amount.len(), 1);
        assert_eq!(by_amount[0].document.as_deref(), Some("d-000002"));
        let bill = suggest(-12_000, "GBP", "", "", "Paper Ltd", &items, &rules);
        assert_eq!(bill[0].kind, "bill");
        assert!(suggest(12_000, "EUR", "", "", "Acme Retail Ltd", &items, &rules).is_empty());
        let fee = suggest(-500, "GBP", "", "Monthly FEE", "Bank", &items, &rules);
        assert_eq!(fee.len(), 1);
        assert_eq!(fee[0].rule.as_deref(), Some("fees"));
    }

    #[test]
    fn numbers_are_found_as_tokens_by_the_index() {
        let items = Items::new(vec![
            item("d-000001", "INV-2026-0001", "invoice", "A", 100),
            item("d-000002", "INV-2026-0002", "invoice", "A", 100),
            item("d-000003", "#7/", "invoice", "A", 100),
        ]);
        let docs = |reference: &str| -> Vec<String> {
            suggest(100, "GBP", reference, "", "", &items, &[])
                .into_iter()
                .filter_map(|c| c.document)
                .collect()
        };
        assert_eq!(
            docs("inv-2026-0002 and (INV-2026-0001)."),
            ["d-000001", "d-000002"],
            "both, in item order"
        );
        assert!(docs("XINV-2026-0001").is_empty(), "inside a longer token");
        assert!(docs("INV-2026-00011").is_empty());
        assert_eq!(docs("INV-2026-0001INV-2026-0002"), Vec::<String>::new());
        assert_eq!(docs("paid #7/ in full"), ["d-000003"], "other shapes too");
    }
}
