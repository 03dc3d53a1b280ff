//! Matching statement lines to the ledger's own postings to the bank account: a
//! payment booked in the ledger by hand (or imported from a journal) before the
//! statement arrived is linked to its line and marked cleared, instead of being
//! booked a second time.
//!
//! A posting is a candidate for a line when it is to the account's ledger account, in
//! the line's currency, of the line's signed amount (money in is a debit of the bank
//! account: a line of +120.00 matches a posting of +120.00, never one of -120.00), not
//! cleared, not linked to another line, and dated within [`WINDOW_DAYS`] of the line's
//! booking date. Its score is [`score`]: 90 on the same day, 5 less per day apart.
//!
//! Links are kept at `plink/<entry>/<posting>` (the line's id), so a posting is linked
//! to one line at most.

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::matching::Candidate;
use crate::model::{BankAccount, Line, Matched};
use crate::ops;

/// How many days a posting's date may be from the line's booking date.
pub const WINDOW_DAYS: i64 = 7;

/// The score of a posting on the line's day; each day apart costs [`SCORE_PER_DAY`].
pub const SCORE_SAME_DAY: u32 = 90;
/// What a day between the line and the posting costs.
pub const SCORE_PER_DAY: u32 = 5;

/// A posting of the ledger (a row of its `register`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPosting {
    pub entry: String,
    pub posting: usize,
    pub date: Date,
    pub description: String,
    pub amount: i64,
    pub currency: String,
    /// `unmarked`, `pending` or `cleared`.
    pub status: String,
}

/// The score of a posting dated `posting` for a line booked on `line`, or `None`
/// outside the window.
pub fn score(line: Date, posting: Date) -> Option<u32> {
    let days = line.days_until(posting).unsigned_abs();
    (days <= WINDOW_DAYS.unsigned_abs())
        .then(|| SCORE_SAME_DAY - SCORE_PER_DAY * u32::try_from(days).unwrap_or(0))
}

/// The candidates among `postings` for a line of `amount` in `currency` booked on
/// `date`, best first (closest date, then oldest entry); `linked` says whether a
/// posting is already linked to a line.
pub fn candidates(
    date: Date,
    amount: i64,
    currency: &str,
    postings: &[LedgerPosting],
    linked: &mut dyn FnMut(&LedgerPosting) -> bool,
) -> Vec<Candidate> {
    let mut out: Vec<(u32, &LedgerPosting)> = postings
        .iter()
        .filter(|p| p.amount == amount && p.currency == currency && p.status != "cleared")
        .filter_map(|p| score(date, p.date).map(|s| (s, p)))
        .filter(|(_, p)| !linked(p))
        .collect();
    out.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.date.cmp(&b.1.date))
            .then(a.1.entry.cmp(&b.1.entry))
            .then(a.1.posting.cmp(&b.1.posting))
    });
    out.into_iter()
        .map(|(s, p)| {
            let days = date.days_until(p.date).abs();
            let when = match days {
                0 => "the same day".to_owned(),
                1 => "1 day apart".to_owned(),
                n => format!("{n} days apart"),
            };
            Candidate {
                kind: "posting".to_owned(),
                reason: format!(
                    "{} ledger posting of the same amount, {when}",
                    if p.status == "pending" {
                        "a pending"
                    } else {
                        "an unmarked"
                    }
                ),
                score: s,
                entry: Some(p.entry.clone()),
                posting: Some(p.posting),
                date: Some(p.date),
                description: Some(p.description.clone()),
                ..Candidate::default()
            }
        })
        .collect()
}

/// The bank account's ledger account's balance in its currency in a ledger `balance`
/// answer.
pub(crate) fn account_balance(balance: &Value, acct: &BankAccount) -> i64 {
    balance["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["account"] == acct.ledger_account.as_str())
        .flat_map(|r| r["amounts"].as_array().into_iter().flatten())
        .filter(|a| a["currency"] == acct.currency.as_str())
        .filter_map(|a| a["amount"].as_i64())
        .sum()
}

/// The balance of the bank account's cleared postings at the end of `date`.
pub(crate) fn cleared_balance(acct: &BankAccount, date: Date) -> Result<i64> {
    let b: Value = plugins::call(
        "ledger",
        "balance",
        &json!({"as-of": date, "prefix": acct.ledger_account, "status": "cleared"}),
    )
    .map_err(ledger_error(
        "read the ledger's cleared balance",
        "ledger.read",
    ))?;
    Ok(account_balance(&b, acct))
}

fn link_key(entry: &str, posting: usize) -> String {
    format!("plink/{entry}/{posting}")
}

/// The line a posting is linked to.
fn linked_line(entry: &str, posting: usize) -> Result<Option<String>> {
    storage::get(&link_key(entry, posting))
}

/// A ledger call's error, with what the caller needs.
fn ledger_error(what: &str, permission: &str) -> impl Fn(Error) -> Error {
    move |e| match e {
        Error::Forbidden(m) => Error::forbidden(format!(
            "cannot {what}: {m} (the ledger plugin must be enabled and the caller needs {permission})"
        )),
        other => other,
    }
}

/// The unmarked and pending postings to `acct`'s ledger account dated `from..=to`.
/// A register answers at most 5,000 rows; a longer range is read in halves.
fn ledger_postings(acct: &BankAccount, from: Date, to: Date) -> Result<Vec<LedgerPosting>> {
    let r: Value = plugins::call(
        "ledger",
        "register",
        &json!({"account": acct.ledger_account, "from": from, "to": to,
                "status": ["unmarked", "pending"], "limit": 5000}),
    )
    .map_err(ledger_error("read the ledger's postings", "ledger.read"))?;
    if r["truncated"] == true && from < to {
        let mid = from
            .add_days(from.days_until(to) / 2)
            .ok_or_else(|| Error::internal("date out of range"))?;
        let next = mid
            .add_days(1)
            .ok_or_else(|| Error::internal("date out of range"))?;
        let mut out = ledger_postings(acct, from, mid)?;
        out.extend(ledger_postings(acct, next, to)?);
        return Ok(out);
    }
    let mut out = Vec::new();
    for row in r["rows"].as_array().into_iter().flatten() {
        if row["account"] != acct.ledger_account.as_str() {
            continue;
        }
        let date = row["date"]
            .as_str()
            .and_then(|d| Date::parse(d).ok())
            .ok_or_else(|| Error::internal("a register row without a date"))?;
        out.push(LedgerPosting {
            entry: row["entry"].as_str().unwrap_or_default().to_owned(),
            posting: row["posting"]
                .as_u64()
                .and_then(|p| usize::try_from(p).ok())
                .unwrap_or(0),
            date,
            description: row["description"].as_str().unwrap_or_default().to_owned(),
            amount: row["amount"]["amount"].as_i64().unwrap_or(0),
            currency: row["amount"]["currency"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            status: row["status"].as_str().unwrap_or("unmarked").to_owned(),
        });
    }
    Ok(out)
}

/// The posting candidates of each line (by line id): one register read per bank
/// account, over the lines' dates widened by the window.
pub(crate) fn suggest(lines: &[Line]) -> Result<BTreeMap<String, Vec<Candidate>>> {
    let mut by_account: BTreeMap<&str, Vec<&Line>> = BTreeMap::new();
    for l in lines {
        by_account.entry(l.account.as_str()).or_default().push(l);
    }
    let mut out = BTreeMap::new();
    for (id, lines) in by_account {
        let acct = ops::account(id)?;
        let (Some(first), Some(last)) = (
            lines.iter().map(|l| l.date).min(),
            lines.iter().map(|l| l.date).max(),
        ) else {
            continue;
        };
        let widen = |d: Date, by: i64| d.add_days(by).unwrap_or(d);
        let postings =
            ledger_postings(&acct, widen(first, -WINDOW_DAYS), widen(last, WINDOW_DAYS))?;
        if postings.is_empty() {
            continue;
        }
        let mut failed = None;
        let mut linked = |p: &LedgerPosting| match linked_line(&p.entry, p.posting) {
            Ok(l) => l.is_some(),
            Err(e) => {
                failed = Some(e);
                true
            }
        };
        for l in lines {
            let c = candidates(l.date, l.amount, &l.currency, &postings, &mut linked);
            if !c.is_empty() {
                out.insert(l.id.clone(), c);
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(out)
}

/// Link line `l` to posting `posting` of ledger entry `entry` (the only posting of the
/// line's amount to the bank account when `posting` is not given) and mark it cleared.
pub(crate) fn confirm(
    l: &Line,
    acct: &BankAccount,
    entry: &str,
    posting: Option<usize>,
) -> Result<Matched> {
    let e: Value =
        plugins::call("ledger", "get-entry", &json!({"id": entry})).map_err(|e| match e {
            Error::NotFound(_) => Error::not_found(format!(
                "no ledger entry {entry}; suggest lists the postings a line may match"
            )),
            other => ledger_error("read the ledger entry", "ledger.read")(other),
        })?;
    if let Some(by) = e["reversed-by"].as_str() {
        return Err(Error::invalid(format!(
            "ledger entry {entry} was reversed by {by}; its postings cannot be matched"
        )));
    }
    let postings = e["postings"].as_array().cloned().unwrap_or_default();
    let want = money(l.amount, &l.currency);
    let i = match posting {
        Some(i) => {
            let p = postings.get(i).ok_or_else(|| {
                Error::invalid(format!(
                    "ledger entry {entry} has {} postings (0 to {}); posting {i} does not exist",
                    postings.len(),
                    postings.len().saturating_sub(1)
                ))
            })?;
            if p["account"] != acct.ledger_account.as_str() {
                return Err(Error::invalid(format!(
                    "posting {i} of {entry} is to {}, not to {} (the ledger account of bank account {})",
                    p["account"].as_str().unwrap_or("?"),
                    acct.ledger_account,
                    acct.id
                )));
            }
            i
        }
        None => {
            let hits: Vec<usize> = postings
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p["account"] == acct.ledger_account.as_str()
                        && p["amount"] == l.amount
                        && p["currency"] == l.currency.as_str()
                })
                .map(|(i, _)| i)
                .collect();
            match hits.as_slice() {
                [one] => *one,
                [] => {
                    return Err(Error::invalid(format!(
                        "ledger entry {entry} has no posting of {want} to {}; the line can only match a posting of its own signed amount (money in is a debit of the bank account)",
                        acct.ledger_account
                    )));
                }
                many => {
                    return Err(Error::invalid(format!(
                        "ledger entry {entry} has {} postings of {want} to {}; give posting (one of {})",
                        many.len(),
                        acct.ledger_account,
                        many.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
    };
    let p = &postings[i];
    let (amount, currency) = (
        p["amount"].as_i64().unwrap_or(0),
        p["currency"].as_str().unwrap_or_default(),
    );
    if amount != l.amount || currency != l.currency {
        return Err(Error::invalid(format!(
            "posting {i} of {entry} is {}, line {} is {want}; a line matches a posting of its own signed amount and currency",
            money(amount, currency),
            l.id
        )));
    }
    if let Some(other) = linked_line(entry, i)? {
        return Err(Error::conflict(format!(
            "posting {i} of {entry} is already linked to line {other}"
        )));
    }
    if p["status"] == "cleared" {
        return Err(Error::conflict(format!(
            "posting {i} of {entry} is already cleared; set it back with the ledger's set-status if that was a mistake"
        )));
    }
    set_status(entry, i, "cleared")?;
    storage::put(&link_key(entry, i), &l.id)?;
    Ok(Matched {
        kind: "posting".to_owned(),
        document: None,
        number: None,
        payment: None,
        rule: None,
        contra_account: None,
        ledger_entry: Some(entry.to_owned()),
        matched_at: ops::now(),
        posting: Some(i),
    })
}

fn money(amount: i64, currency: &str) -> String {
    ops::money(amount, currency)
}

fn set_status(entry: &str, posting: usize, status: &str) -> Result<()> {
    let _: Value = plugins::call(
        "ledger",
        "set-status",
        &json!({"id": entry, "posting": posting, "status": status}),
    )
    .map_err(ledger_error("mark the ledger posting", "ledger.post"))?;
    Ok(())
}

/// After a match that booked an entry (a rule's, or invoicing's payment): link the
/// entry's posting of the line's amount to the bank account and mark it cleared, so
/// that it is never proposed for another line.
pub(crate) fn clear_booked(l: &Line, acct: &BankAccount, m: &mut Matched) -> Result<()> {
    let Some(entry) = m.ledger_entry.clone() else {
        return Ok(());
    };
    let e: Value = plugins::call("ledger", "get-entry", &json!({"id": entry}))
        .map_err(ledger_error("read the ledger entry", "ledger.read"))?;
    let found = e["postings"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(i, p)| {
            p["account"] == acct.ledger_account.as_str()
                && p["amount"] == l.amount
                && p["currency"] == l.currency.as_str()
                && p["status"] != "cleared"
                && linked_line(&entry, *i).ok().flatten().is_none()
        })
        .map(|(i, _)| i);
    if let Some(i) = found {
        set_status(&entry, i, "cleared")?;
        storage::put(&link_key(&entry, i), &l.id)?;
        m.posting = Some(i);
    }
    Ok(())
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UnmatchIn {
    line: String,
    /// Unmatch a line of a reconciled statement anyway (the statement is then no
    /// longer reconciled until the line is matched again).
    #[serde(default)]
    reopen: bool,
}

/// `unmatch`: undo what confirming a match did, posting reversals and deleting
/// nothing from the ledger. A match to a ledger posting: the link is removed and the
/// posting set back to unmarked. A match to an invoice or bill: the payment it
/// recorded is voided in invoicing (its entry reversed, the document open again). A
/// match by a rule: the rule's entry is reversed. The bank posting such a match
/// booked and cleared is unlinked, and its reversal's bank posting is marked cleared
/// too: the pair nets to zero in the cleared balance and neither is proposed to a
/// line again. The line is unmatched again. A line
/// of a reconciled statement (every line matched, the closing balance equal to the
/// ledger's) is refused unless `reopen` is given.
pub fn unmatch(input: UnmatchIn) -> Result<Line> {
    let mut l = ops::line(&input.line)?;
    let Some(m) = l.matched.clone() else {
        return Err(Error::invalid(format!(
            "line {} is not matched; nothing to undo",
            l.id
        )));
    };
    if !input.reopen
        && let Some(r) = ops::reconciled(&l.statement)?
    {
        return Err(Error::conflict(format!(
            "line {} belongs to statement {} ({}), which is reconciled: every line is matched and its closing balance {} equals the ledger's on {}. Unmatching it would undo that reconciliation; if the match is wrong, call unmatch again with reopen: true, then match the line again and reconcile the statement",
            l.id,
            r.statement,
            r.statement_id,
            money(r.closing_balance, &r.currency),
            r.date
        )));
    }
    let what = format!("bank line {} unmatched", l.id);
    match (m.kind.as_str(), m.ledger_entry.as_deref(), m.posting) {
        ("posting", Some(entry), Some(i)) => {
            set_status(entry, i, "unmarked")?;
            storage::delete(&link_key(entry, i))?;
        }
        ("invoice" | "bill", entry, posting) => {
            let payment = m.payment.as_deref().ok_or_else(|| {
                Error::internal(format!("line {} is matched without its payment", l.id))
            })?;
            let voided: Value = plugins::call(
                "invoicing",
                "void-payment",
                &json!({"id": payment, "reason": what}),
            )
            .map_err(|e| match e {
                Error::Forbidden(msg) => Error::forbidden(format!(
                    "cannot void payment {payment} in invoicing: {msg} (the caller needs invoicing.post and ledger.post)"
                )),
                Error::NotFound(msg) => Error::invalid(format!(
                    "cannot void payment {payment}: {msg} (unmatching a payment needs invoicing 0.2.2 or later); nothing was unmatched"
                )),
                Error::InvalidInput(msg) | Error::Conflict(msg) => Error::invalid(format!(
                    "invoicing refused to void payment {payment} of line {}: {msg}; nothing was unmatched",
                    l.id
                )),
                other => other,
            })?;
            if let (Some(entry), Some(i)) = (entry, posting) {
                storage::delete(&link_key(entry, i))?;
                if let Some(reversal) = voided["voided"]["ledger-entry"].as_str() {
                    set_status(reversal, i, "cleared")?;
                }
            }
        }
        ("rule", Some(entry), posting) => {
            let reversal: Value = plugins::call(
                "ledger",
                "reverse-entry",
                &json!({"id": entry, "date": context::today().max(l.date),
                        "description": format!("Reversal: {what}")}),
            )
            .map_err(|e| match e {
                Error::InvalidInput(msg) | Error::Conflict(msg) => Error::invalid(format!(
                    "the ledger refused to reverse entry {entry} of line {}: {msg}; nothing was unmatched",
                    l.id
                )),
                other => ledger_error("reverse the rule's entry", "ledger.post")(other),
            })?;
            if let Some(i) = posting {
                storage::delete(&link_key(entry, i))?;
                if let Some(id) = reversal["id"].as_str() {
                    set_status(id, i, "cleared")?;
                }
            }
            // The next match of this line by a rule posts a new entry.
            let key = rematch_key(&l.id);
            let n: u32 = storage::get(&key)?.unwrap_or(0);
            storage::put(&key, &(n + 1))?;
        }
        (kind, _, _) => {
            return Err(Error::internal(format!(
                "line {} has a {kind} match without its ledger entry",
                l.id
            )));
        }
    }
    l.status = "unmatched".to_owned();
    l.matched = None;
    ops::put_line(&l)?;
    events::emit(
        "banking.line-unmatched",
        &json!({"line": l.id, "account": l.account, "statement": l.statement,
                "date": l.date, "amount": l.amount, "currency": l.currency, "was": m}),
    )?;
    Ok(l)
}

fn rematch_key(line: &str) -> String {
    format!("rematch/{line}")
}

/// The idempotency key of the entry a rule books for `line`: a line matched again
/// after its rule's entry was reversed needs a new one.
pub(crate) fn rule_entry_key(line: &str) -> Result<String> {
    let n: u32 = storage::get(&rematch_key(line))?.unwrap_or(0);
    Ok(if n == 0 {
        format!("banking-{line}")
    } else {
        format!("banking-{line}-{n}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn posting(entry: &str, date: &str, amount: i64, status: &str) -> LedgerPosting {
        LedgerPosting {
            entry: entry.into(),
            posting: 0,
            date: d(date),
            description: format!("entry {entry}"),
            amount,
            currency: "GBP".into(),
            status: status.into(),
        }
    }

    #[test]
    fn the_score_falls_by_day_and_stops_at_the_window() {
        assert_eq!(score(d("2026-01-10"), d("2026-01-10")), Some(90));
        assert_eq!(score(d("2026-01-10"), d("2026-01-09")), Some(85));
        assert_eq!(score(d("2026-01-10"), d("2026-01-17")), Some(55));
        assert_eq!(score(d("2026-01-10"), d("2026-01-03")), Some(55));
        assert_eq!(score(d("2026-01-10"), d("2026-01-18")), None);
        assert_eq!(score(d("2026-01-10"), d("2026-01-02")), None);
        // Across a year end.
        assert_eq!(score(d("2026-01-02"), d("2025-12-30")), Some(75));
    }

    #[test]
    fn same_signed_amount_and_currency_uncleared_and_unlinked_only() {
        let mut usd = posting("e-000009", "2026-01-10", 12_000, "unmarked");
        usd.currency = "USD".into();
        let ps = vec![
            posting("e-000001", "2026-01-08", 12_000, "unmarked"),
            posting("e-000002", "2026-01-10", 12_000, "pending"),
            posting("e-000003", "2026-01-10", -12_000, "unmarked"),
            posting("e-000004", "2026-01-10", 12_000, "cleared"),
            posting("e-000005", "2026-01-30", 12_000, "unmarked"),
            posting("e-000006", "2026-01-11", 12_000, "unmarked"),
            posting("e-000007", "2026-01-10", 12_001, "unmarked"),
            usd,
        ];
        let mut linked = |p: &LedgerPosting| p.entry == "e-000006";
        let c = candidates(d("2026-01-10"), 12_000, "GBP", &ps, &mut linked);
        let got: Vec<(&str, u32)> = c
            .iter()
            .map(|c| (c.entry.as_deref().unwrap(), c.score))
            .collect();
        assert_eq!(got, vec![("e-000002", 90), ("e-000001", 80)]);
        assert_eq!(c[0].kind, "posting");
        assert_eq!(c[0].posting, Some(0));
        assert_eq!(
            c[0].reason,
            "a pending ledger posting of the same amount, the same day"
        );
        assert_eq!(
            c[1].reason,
            "an unmarked ledger posting of the same amount, 2 days apart"
        );
        // Money out matches only the credit of the bank account.
        let out = candidates(d("2026-01-10"), -12_000, "GBP", &ps, &mut |_| false);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].entry.as_deref(), Some("e-000003"));
    }

    #[test]
    fn ties_go_to_the_earlier_date_then_the_older_entry() {
        let ps = vec![
            posting("e-000003", "2026-01-11", 500, "unmarked"),
            posting("e-000002", "2026-01-09", 500, "unmarked"),
            posting("e-000001", "2026-01-09", 500, "unmarked"),
        ];
        let c = candidates(d("2026-01-10"), 500, "GBP", &ps, &mut |_| false);
        let got: Vec<&str> = c.iter().map(|c| c.entry.as_deref().unwrap()).collect();
        assert_eq!(got, vec!["e-000001", "e-000002", "e-000003"]);
    }
}
