//! Posting status: hledger's clearing marks, `*` cleared and `!` pending, and the one
//! change allowed to a posted entry, `set-status`.
//!
//! hledger manual 1.25, "Status": a transaction or a posting may be marked `!` (pending)
//! or `*` (cleared); without a mark it is unmarked. A posting without its own mark has
//! its transaction's status; the `-U`, `-P` and `-C` flags (status:, status:!,
//! status:*) select postings by that status, and several flags select the union.
//!
//! The status is stored on the posting of the entry and on its register row
//! (`reg/...`), so registers and balances filtered by status read no entries. It is the
//! only part of a posted entry that changes; amounts, accounts and dates never do.
//!
//! `set-status` is allowed in a locked period: the lock date protects the figures, and
//! a status changes none (balances, reports without a status filter and the balance
//! index are the same before and after). A payment made on 30 December and locked with
//! the year clears when the January statement shows it; refusing that would force
//! reconciliation before the close. Every change is a call the host audits.

use backoffice_sdk::prelude::*;
use backoffice_sdk::storage::KeyRange;
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::posting::EntryOut;
use crate::report::Balances;
use crate::store::{self, RegRow};

/// A posting's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No mark.
    #[default]
    Unmarked,
    /// `!`.
    Pending,
    /// `*`.
    Cleared,
}

impl Status {
    /// Whether it is [`Status::Unmarked`] (not written in JSON then).
    pub fn is_unmarked(&self) -> bool {
        *self == Status::Unmarked
    }

    /// The name used in JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Status::Unmarked => "unmarked",
            Status::Pending => "pending",
            Status::Cleared => "cleared",
        }
    }

    /// The status of a journal mark: `*` or `!`.
    pub fn from_mark(mark: char) -> Option<Status> {
        match mark {
            '*' => Some(Status::Cleared),
            '!' => Some(Status::Pending),
            _ => None,
        }
    }

    /// The journal mark, if any.
    pub fn mark(self) -> Option<char> {
        match self {
            Status::Unmarked => None,
            Status::Pending => Some('!'),
            Status::Cleared => Some('*'),
        }
    }

    /// The status a posting has: its own mark, else its transaction's (hledger 1.25,
    /// "Status").
    pub fn effective(own: Status, transaction: Status) -> Status {
        if own == Status::Unmarked {
            transaction
        } else {
            own
        }
    }

    /// Split a leading `* ` or `! ` mark off a header or posting text.
    pub fn strip(text: &str) -> (Status, &str) {
        let mut chars = text.chars();
        if let Some(s) = chars.next().and_then(Status::from_mark) {
            let rest = chars.as_str();
            if rest.is_empty() || rest.starts_with([' ', '\t']) {
                return (s, rest.trim_start());
            }
        }
        (Status::Unmarked, text)
    }
}

/// A status filter: one status or several (their union, as hledger's `-U -P`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusFilter {
    /// `"cleared"`.
    One(Status),
    /// `["unmarked", "pending"]`.
    Many(Vec<Status>),
}

impl StatusFilter {
    /// Whether a posting of status `s` passes.
    pub fn allows(&self, s: Status) -> bool {
        match self {
            StatusFilter::One(x) => *x == s,
            StatusFilter::Many(v) => v.contains(&s),
        }
    }
}

/// Whether `filter` (absent: everything) lets a posting of status `s` through.
pub fn passes(filter: Option<&StatusFilter>, s: Status) -> bool {
    filter.is_none_or(|f| f.allows(s))
}

/// Split a register key `reg/<account>/<date>/<seq>/<posting>` into the account, the
/// date and the posting index.
fn split_reg_key(key: &str) -> Option<(&str, &str, usize)> {
    let rest = key.strip_prefix("reg/")?;
    let mut parts = rest.rsplitn(4, '/');
    let posting = parts.next()?.parse().ok()?;
    let _seq = parts.next()?;
    let date = parts.next()?;
    let account = parts.next()?;
    Some((account, date, posting))
}

/// Every account's balance at the end of `as_of` counting only the postings whose
/// status passes `filter`: a scan of the register index (the balance index has no
/// status), so it costs one read per posting.
pub fn balances_as_of(
    as_of: Option<Date>,
    filter: &StatusFilter,
    tag: Option<&crate::tags::TagFilter>,
) -> Result<Balances> {
    let mut b = Balances::new();
    let last = as_of.map(|d| d.to_string());
    for item in storage::scan(KeyRange::prefix("reg/")).iter::<RegRow>() {
        let (key, row) = item?;
        let Some((account, date, _)) = split_reg_key(&key) else {
            continue;
        };
        if last.as_deref().is_some_and(|l| date > l)
            || !filter.allows(row.s)
            || tag.is_some_and(|t| !t.matches(&row.t))
        {
            continue;
        }
        let slot = b.entry((account.to_owned(), row.c)).or_default();
        *slot = slot.saturating_add(row.n);
    }
    b.retain(|_, v| *v != 0);
    Ok(b)
}

/// The posting index of a register key's tail `<date>/<seq>/<posting>`.
pub fn posting_of(tail: &str) -> usize {
    tail.rsplit('/')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct SetStatusInput {
    id: String,
    posting: Option<usize>,
    account: Option<String>,
    status: Status,
}

/// Which posting of `postings` the input names: by index, or the only one to an account.
fn pick(
    id: &str,
    accounts: &[&str],
    posting: Option<usize>,
    account: Option<&str>,
) -> Result<usize> {
    match (posting, account) {
        (Some(i), None) if i < accounts.len() => Ok(i),
        (Some(i), None) => Err(Error::invalid(format!(
            "entry {id} has {} postings (0 to {}); posting {i} does not exist",
            accounts.len(),
            accounts.len().saturating_sub(1)
        ))),
        (None, Some(a)) => {
            let hits: Vec<usize> = accounts
                .iter()
                .enumerate()
                .filter(|(_, x)| **x == a)
                .map(|(i, _)| i)
                .collect();
            match hits.as_slice() {
                [one] => Ok(*one),
                [] => Err(Error::invalid(format!(
                    "entry {id} has no posting to {a}; its accounts are {}",
                    accounts.join(", ")
                ))),
                many => Err(Error::invalid(format!(
                    "entry {id} has {} postings to {a} (postings {}); give posting (the index) instead of account",
                    many.len(),
                    many.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        _ => Err(Error::invalid(
            "give either posting (the 0-based index in the entry's postings) or account",
        )),
    }
}

/// `set-status`: change the status of one posting of a posted entry.
pub(crate) fn set_status(input: SetStatusInput) -> Result<EntryOut> {
    let mut entry = store::load_entry(&input.id)?;
    let names: Vec<&str> = entry.postings.iter().map(|p| p.account.as_str()).collect();
    let i = pick(&entry.id, &names, input.posting, input.account.as_deref())?;
    let p = &mut entry.postings[i];
    if p.status != input.status {
        p.status = input.status;
        let key = store::reg_key(&p.account, entry.date, &entry.id, i)?;
        let mut row: RegRow =
            storage::get(&key)?.ok_or_else(|| Error::internal(format!("no register row {key}")))?;
        row.s = input.status;
        storage::put(&key, &row)?;
        store::put_entry(&entry)?;
    }
    let reversed_by = store::reversed_by(&entry.id)?;
    Ok(EntryOut { entry, reversed_by })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_the_transaction_status() {
        assert_eq!(Status::strip("* Grocer"), (Status::Cleared, "Grocer"));
        assert_eq!(
            Status::strip("! assets:bank  $1"),
            (Status::Pending, "assets:bank  $1")
        );
        assert_eq!(Status::strip("*"), (Status::Cleared, ""));
        assert_eq!(Status::strip("*x"), (Status::Unmarked, "*x"));
        assert_eq!(Status::strip("Grocer"), (Status::Unmarked, "Grocer"));
        assert_eq!(
            Status::effective(Status::Unmarked, Status::Cleared),
            Status::Cleared
        );
        assert_eq!(
            Status::effective(Status::Pending, Status::Cleared),
            Status::Pending
        );
        assert_eq!(Status::Cleared.mark(), Some('*'));
        assert_eq!(Status::Unmarked.mark(), None);
    }

    struct Empty;
    impl crate::import::Known for Empty {
        fn account(&self, _: &str) -> Option<crate::model::Kind> {
            None
        }
        fn precision(&self, c: &str) -> Option<u8> {
            crate::amount::iso_precision(c)
        }
        fn balance(&self, _: &str, _: &str, _: Date) -> std::result::Result<i64, String> {
            Ok(0)
        }
    }

    #[test]
    fn an_import_keeps_the_marks_of_transactions_and_postings() {
        let j = crate::journal::parse(
            "2024-01-01 * A\n    assets:a  1 EUR\n    ! assets:b  2 USD\n    ! income:x\n\n\
             2024-01-02 ! (7) B\n    * assets:a  1 EUR\n    income:x\n\n\
             2024-01-03 C\n    assets:a  1 EUR\n    * income:x\n",
        )
        .unwrap();
        let plan = crate::import::plan(&j, &Empty).unwrap();
        let got: Vec<Vec<(&str, i64, Status)>> = plan
            .entries
            .iter()
            .map(|e| {
                e.postings
                    .iter()
                    .map(|p| (p.account.as_str(), p.amount, p.status))
                    .collect()
            })
            .collect();
        use Status::*;
        assert_eq!(
            got,
            vec![
                // The elided posting takes two commodities; both keep its mark.
                vec![
                    ("assets:a", 100, Cleared),
                    ("assets:b", 200, Pending),
                    ("income:x", -100, Pending),
                    ("income:x", -200, Pending),
                ],
                vec![("assets:a", 100, Cleared), ("income:x", -100, Pending)],
                vec![("assets:a", 100, Unmarked), ("income:x", -100, Cleared)],
            ]
        );
        assert_eq!(plan.entries[1].code.as_deref(), Some("7"));
    }

    #[test]
    fn filters_take_one_status_or_several() {
        let one: StatusFilter = serde_json::from_str("\"cleared\"").unwrap();
        assert!(one.allows(Status::Cleared) && !one.allows(Status::Pending));
        let many: StatusFilter = serde_json::from_str("[\"unmarked\", \"pending\"]").unwrap();
        assert!(many.allows(Status::Unmarked) && many.allows(Status::Pending));
        assert!(!many.allows(Status::Cleared));
        assert!(serde_json::from_str::<StatusFilter>("\"done\"").is_err());
        assert!(passes(None, Status::Cleared));
    }

    #[test]
    fn register_keys_split_from_the_right() {
        assert_eq!(
            split_reg_key("reg/assets:bank:x y/2024-01-05/000000000007/0002"),
            Some(("assets:bank:x y", "2024-01-05", 2))
        );
        assert_eq!(posting_of("2024-01-05/000000000007/0003"), 3);
    }

    #[test]
    fn a_posting_is_named_by_index_or_by_its_only_account() {
        let acc = ["assets:bank", "expenses:food", "expenses:food"];
        assert_eq!(pick("e-1", &acc, Some(1), None).unwrap(), 1);
        assert!(
            pick("e-1", &acc, Some(3), None)
                .unwrap_err()
                .to_string()
                .contains("posting 3 does not exist")
        );
        assert_eq!(pick("e-1", &acc, None, Some("assets:bank")).unwrap(), 0);
        assert!(
            pick("e-1", &acc, None, Some("expenses:food"))
                .unwrap_err()
                .to_string()
                .contains("postings 1, 2")
        );
        assert!(
            pick("e-1", &acc, None, Some("income"))
                .unwrap_err()
                .to_string()
                .contains("no posting to income")
        );
        assert!(pick("e-1", &acc, Some(0), Some("assets:bank")).is_err());
    }
}
