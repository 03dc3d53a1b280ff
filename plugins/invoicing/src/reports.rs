//! Open items, ageing, customer and supplier statements, and the daily overdue
//! reminders (`invoicing.overdue`).

use std::collections::BTreeMap;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calc::{BUCKETS, bucket};
use crate::items::{self, OpenRef};
use crate::model::{Kind, Side};
use crate::store;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Filter {
    as_of: Option<Date>,
    side: Option<Side>,
    contact: Option<String>,
    /// `open-items` paging: the items after this one (the `next` of the previous page).
    after: Option<String>,
    /// `open-items` paging: at most this many items.
    limit: Option<usize>,
}

/// Most items one `open-items` answer holds; without `limit`, more are refused.
pub const MAX_OPEN_ITEMS: usize = 10_000;

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Item {
    id: String,
    number: Option<String>,
    kind: Kind,
    side: Side,
    contact: String,
    contact_name: String,
    currency: String,
    date: Option<Date>,
    due_date: Option<Date>,
    total: i64,
    /// Signed: a credit note's unapplied credit is negative.
    open: i64,
    days_past_due: i64,
    /// For a document in a foreign currency: its booked rate, the base currency and
    /// the base value of what is open at that rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_open: Option<i64>,
}

/// The one walk of the reports over the open-item index: every issued document
/// (of `f`'s side and contact) with something open at the end of `as_of`, from the
/// records open now and those settled after `as_of`, never reading a document.
fn walk(f: &Filter, as_of: Date, mut visit: impl FnMut(Item)) -> Result<()> {
    let open = match &f.contact {
        Some(c) => format!("open/{c}/"),
        None => "open/".to_owned(),
    };
    let settled = store::refs("settled/", Some(items::settled_after(as_of)));
    for r in store::refs(&open, None).chain(settled) {
        let r = r?;
        if f.side.is_some_and(|s| s != r.side)
            || f.contact.as_ref().is_some_and(|c| *c != r.contact)
        {
            continue;
        }
        if let Some(i) = Item::at(r, as_of) {
            visit(i);
        }
    }
    Ok(())
}

impl Item {
    /// The item `r` makes at the end of `as_of`; `None` when nothing was open.
    fn at(r: OpenRef, as_of: Date) -> Option<Item> {
        let open = r.open_at(as_of);
        if open == 0 {
            return None;
        }
        let due = r.due_date.or(r.date)?;
        let sign = r.sign();
        Some(Item {
            base_open: r.base_open_at(as_of).map(|b| sign * b),
            open: sign * open,
            rate: r.rate,
            base_currency: r.base_currency,
            days_past_due: due.days_until(as_of),
            id: r.id,
            number: r.number,
            kind: r.kind,
            side: r.side,
            contact: r.contact,
            contact_name: r.contact_name,
            currency: r.currency,
            date: r.date,
            due_date: r.due_date,
            total: r.total,
        })
    }
}

impl Item {
    /// The item's place in the report's order (side, contact, due date, id) as a
    /// string that sorts the same way: the paging cursor.
    fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            match self.side {
                Side::Sales => 0,
                Side::Purchase => 1,
            },
            self.contact,
            self.due_date.map(|d| d.to_string()).unwrap_or_default(),
            self.id
        )
    }
}

/// Issued documents with something open at the end of `as_of`, in the report's
/// order (side, contact, due date, id), each with its key.
fn open_items(f: &Filter, as_of: Date) -> Result<Vec<(String, Item)>> {
    let mut items = Vec::new();
    walk(f, as_of, |i| items.push((i.key(), i)))?;
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(items)
}

/// A paging cursor is an item key: `0/` (sales) or `1/` (purchase), contact, due
/// date (may be empty) and document id.
fn check_cursor(after: &str) -> Result<()> {
    let parts: Vec<&str> = after.split('/').collect();
    let ok = parts.len() == 4
        && matches!(parts[0], "0" | "1")
        && parts[1].starts_with("c-")
        && (parts[2].is_empty() || Date::parse(parts[2]).is_ok())
        && parts[3].starts_with("d-");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "after {after:?} is not a cursor of open-items: pass the next of the previous answer unchanged"
        )))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContactTotal {
    side: Side,
    contact: String,
    contact_name: String,
    currency: String,
    open: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_open: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OpenItemsOut {
    as_of: Date,
    items: Vec<Item>,
    contacts: Vec<ContactTotal>,
    /// Pass as `after` for the next page; `null` on the last.
    next: Option<String>,
}

/// Open items, a page at a time: at most `limit` items after `after`, with `next`
/// when more follow. `contacts` holds the totals (over every page) of the contacts
/// on this page. Without `limit`, more than [`MAX_OPEN_ITEMS`] items are refused.
pub fn open_items_report(f: Filter) -> Result<OpenItemsOut> {
    let as_of = f.as_of.unwrap_or_else(context::today);
    if let Some(a) = &f.after {
        check_cursor(a)?;
    }
    if f.limit.is_some_and(|l| l == 0 || l > MAX_OPEN_ITEMS) {
        return Err(Error::invalid(format!(
            "limit must be 1 to {MAX_OPEN_ITEMS}"
        )));
    }
    let all = open_items(&f, as_of)?;
    let start = match &f.after {
        Some(a) => all.partition_point(|(k, _)| k.as_str() <= a.as_str()),
        None => 0,
    };
    let limit = match f.limit {
        Some(l) => l,
        None => {
            if all.len() - start > MAX_OPEN_ITEMS {
                return Err(Error::invalid(format!(
                    "{} items are open at {as_of}, more than one answer holds ({MAX_OPEN_ITEMS}); read them in pages: give limit (at most {MAX_OPEN_ITEMS}) and pass each answer's next as after",
                    all.len() - start
                )));
            }
            MAX_OPEN_ITEMS
        }
    };
    let end = start.saturating_add(limit).min(all.len());
    let next = (end < all.len())
        .then(|| all.get(end.wrapping_sub(1)).map(|(k, _)| k.clone()))
        .flatten();
    let page_contacts: std::collections::BTreeSet<(Side, String)> = all[start..end]
        .iter()
        .map(|(_, i)| (i.side, i.contact.clone()))
        .collect();
    let mut totals: BTreeMap<(Side, String, String), ContactTotal> = BTreeMap::new();
    for (_, i) in all
        .iter()
        .filter(|(_, i)| page_contacts.contains(&(i.side, i.contact.clone())))
    {
        let t = totals
            .entry((i.side, i.contact.clone(), i.currency.clone()))
            .or_insert_with(|| ContactTotal {
                side: i.side,
                contact: i.contact.clone(),
                contact_name: i.contact_name.clone(),
                currency: i.currency.clone(),
                open: 0,
                base_currency: None,
                base_open: None,
            });
        t.open += i.open;
        if let Some(b) = i.base_open {
            t.base_currency.clone_from(&i.base_currency);
            t.base_open = Some(t.base_open.unwrap_or(0) + b);
        }
    }
    let items = all
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|(_, i)| i)
        .collect();
    Ok(OpenItemsOut {
        as_of,
        items,
        contacts: totals.into_values().collect(),
        next,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AgeingRow {
    side: Side,
    contact: Option<String>,
    contact_name: Option<String>,
    currency: String,
    buckets: BTreeMap<&'static str, i64>,
    total: i64,
    /// For a foreign currency: the base value of `total` at the documents' booked
    /// rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    base_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_total: Option<i64>,
}

impl AgeingRow {
    fn new(side: Side, contact: Option<(&str, &str)>, currency: &str) -> Self {
        AgeingRow {
            side,
            contact: contact.map(|c| c.0.to_owned()),
            contact_name: contact.map(|c| c.1.to_owned()),
            currency: currency.to_owned(),
            buckets: BUCKETS.iter().map(|b| (*b, 0)).collect(),
            total: 0,
            base_currency: None,
            base_total: None,
        }
    }

    fn add(&mut self, i: &Item) {
        *self
            .buckets
            .entry(BUCKETS[bucket(i.days_past_due)])
            .or_default() += i.open;
        self.total += i.open;
        if let Some(b) = i.base_open {
            self.base_currency.clone_from(&i.base_currency);
            self.base_total = Some(self.base_total.unwrap_or(0) + b);
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AgeingOut {
    as_of: Date,
    buckets: [&'static str; 5],
    rows: Vec<AgeingRow>,
    totals: Vec<AgeingRow>,
}

/// What is open at `as-of` by days past due: current (not yet due), 1-30, 31-60,
/// 61-90, over 90, per contact and currency, with totals per side and currency.
pub fn ageing(f: Filter) -> Result<AgeingOut> {
    let as_of = f.as_of.unwrap_or_else(context::today);
    let mut rows: BTreeMap<(Side, String, String), AgeingRow> = BTreeMap::new();
    let mut totals: BTreeMap<(Side, String), AgeingRow> = BTreeMap::new();
    walk(&f, as_of, |i| {
        rows.entry((i.side, i.contact.clone(), i.currency.clone()))
            .or_insert_with(|| {
                AgeingRow::new(i.side, Some((&i.contact, &i.contact_name)), &i.currency)
            })
            .add(&i);
        totals
            .entry((i.side, i.currency.clone()))
            .or_insert_with(|| AgeingRow::new(i.side, None, &i.currency))
            .add(&i);
    })?;
    Ok(AgeingOut {
        as_of,
        buckets: BUCKETS,
        rows: rows.into_values().collect(),
        totals: totals.into_values().collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StatementIn {
    contact: String,
    from: Option<Date>,
    to: Option<Date>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatementLine {
    date: Date,
    /// `invoice`, `bill`, `credit-note` or `payment`.
    kind: String,
    id: String,
    number: Option<String>,
    due_date: Option<Date>,
    /// Positive when it adds to what is owed.
    amount: i64,
    balance: i64,
    /// For a foreign-currency document: `amount` at its booked rate; for a payment of
    /// such documents: what it released of them at their booked rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    base_amount: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CurrencyStatement {
    currency: String,
    opening: i64,
    lines: Vec<StatementLine>,
    closing: i64,
    /// For a foreign currency: the base value of `closing` at the booked rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    base_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_closing: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatementOut {
    contact: String,
    contact_name: String,
    from: Option<Date>,
    to: Date,
    currencies: Vec<CurrencyStatement>,
}

/// A contact's account: the balance before `from`, every document and payment from
/// `from` to `to` with the running balance, and the closing balance, per currency.
/// Positive balances are owed by the customer (or, for a supplier, owed to them).
pub fn statement(input: StatementIn) -> Result<StatementOut> {
    let to = input.to.unwrap_or_else(context::today);
    let mut name = None;
    let mut moves: Vec<(String, StatementLine)> = Vec::new();
    // The base currency of each foreign currency the contact's documents are in.
    let mut bases: BTreeMap<String, String> = BTreeMap::new();
    for d in store::refs(&format!("cdoc/{}/", input.contact), None) {
        let d = d?;
        name.get_or_insert(d.contact_name.clone());
        let Some(date) = d.date else { continue };
        moves.push((
            d.currency.clone(),
            StatementLine {
                date,
                kind: serde_json::to_value(d.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                id: d.id.clone(),
                number: d.number.clone(),
                due_date: d.due_date,
                amount: d.sign() * d.total,
                balance: 0,
                base_amount: d.base_total.map(|b| d.sign() * b),
            },
        ));
        if let Some(b) = &d.base_currency {
            bases.insert(d.currency.clone(), b.clone());
        }
    }
    for p in store::contact_payments(&input.contact) {
        let p = p?;
        name.get_or_insert(p.contact_name.clone());
        moves.push((
            p.currency.clone(),
            StatementLine {
                date: p.date,
                kind: "payment".into(),
                id: p.id.clone(),
                number: p.reference.clone(),
                due_date: None,
                amount: -p.amount,
                balance: 0,
                base_amount: p.base_released.map(|b| -b),
            },
        ));
        if let Some(day) = p.voided {
            moves.push((
                p.currency.clone(),
                StatementLine {
                    date: day,
                    kind: "payment-voided".into(),
                    id: p.id.clone(),
                    number: p.reference.clone(),
                    due_date: None,
                    amount: p.amount,
                    balance: 0,
                    base_amount: p.base_released,
                },
            ));
        }
    }
    let contact_name = match name {
        Some(n) => n,
        None => crate::documents::contact(&input.contact)?.name,
    };
    moves.sort_by(|a, b| (&a.0, a.1.date, &a.1.id).cmp(&(&b.0, b.1.date, &b.1.id)));
    let mut currencies: Vec<CurrencyStatement> = Vec::new();
    for (currency, mut line) in moves {
        if line.date > to {
            continue;
        }
        if currencies.last().is_none_or(|c| c.currency != currency) {
            currencies.push(CurrencyStatement {
                currency: currency.clone(),
                opening: 0,
                lines: Vec::new(),
                closing: 0,
                base_currency: bases.get(&currency).cloned(),
                base_closing: bases.get(&currency).map(|_| 0),
            });
        }
        let Some(cs) = currencies.last_mut() else {
            continue;
        };
        if let (Some(b), Some(a)) = (cs.base_closing.as_mut(), line.base_amount) {
            *b += a;
        }
        if input.from.is_some_and(|from| line.date < from) {
            cs.opening += line.amount;
            cs.closing += line.amount;
            continue;
        }
        cs.closing += line.amount;
        line.balance = cs.closing;
        cs.lines.push(line);
    }
    Ok(StatementOut {
        contact: input.contact,
        contact_name,
        from: input.from,
        to,
        currencies,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Overdue {
    id: String,
    number: Option<String>,
    kind: Kind,
    side: Side,
    contact: String,
    contact_name: String,
    currency: String,
    due_date: Option<Date>,
    days_past_due: i64,
    open: i64,
    as_of: Date,
}

#[derive(Debug, Serialize)]
pub struct OverdueOut {
    sent: Vec<Overdue>,
}

/// `send-overdue`: what the daily job does, now.
pub fn send_overdue(_: Empty) -> Result<OverdueOut> {
    Ok(OverdueOut { sent: remind()? })
}

/// Emit `invoicing.overdue` for each issued invoice or bill past its due date with
/// something open, unless one went out for it within the settings' interval.
pub fn remind() -> Result<Vec<Overdue>> {
    let day = context::today();
    let interval = i64::from(store::settings()?.overdue_interval_days.max(1));
    let mut sent = Vec::new();
    for r in store::open_refs(None)? {
        if r.kind == Kind::CreditNote || r.open <= 0 {
            continue;
        }
        let Some(due) = r.due_date else { continue };
        if due >= day {
            continue;
        }
        if let Some(last) = store::last_overdue(&r.id)?
            && last.days_until(day) < interval
        {
            continue;
        }
        let d = store::document(&r.id)?;
        let o = Overdue {
            days_past_due: due.days_until(day),
            open: d.open,
            id: d.id,
            number: d.number,
            kind: d.kind,
            side: d.side,
            contact: d.contact,
            contact_name: d.contact_name,
            currency: d.currency,
            due_date: d.due_date,
            as_of: day,
        };
        events::emit("invoicing.overdue", &o)?;
        store::put_last_overdue(&o.id, day)?;
        sent.push(o);
    }
    Ok(sent)
}
