//! Payments from customers and to suppliers: one ledger entry each (the bank against
//! the receivable or payable), allocated against open invoices or bills.

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::calc::format_minor;
use crate::documents::contact;
use crate::model::{self, Allocation, Kind, Payment, Settlement, Side, Status};
use crate::{Number, ledger_error, parse_amount, store};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AllocationIn {
    document: String,
    amount: Number,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RecordIn {
    contact: String,
    date: Option<Date>,
    amount: Number,
    currency: Option<String>,
    bank_account: Option<String>,
    reference: Option<String>,
    allocations: Option<Vec<AllocationIn>>,
}

/// Record a payment: refused, with nothing changed, when it is larger than what is
/// open, is in another currency than the documents, or its allocations do not add up.
pub fn record(input: RecordIn) -> Result<Payment> {
    let settings = store::settings()?;
    let c = contact(&input.contact)?;
    let side = match c.kind.as_str() {
        "customer" => Side::Sales,
        "supplier" => Side::Purchase,
        other => {
            return Err(Error::invalid(format!(
                "contact {} is a {other:?}, neither customer nor supplier",
                c.id
            )));
        }
    };
    let currency_code = input
        .currency
        .clone()
        .or(c.currency.clone())
        .or(settings.default_currency.clone())
        .ok_or_else(|| Error::invalid("give the payment's currency"))?;
    let currency = Currency::new(&currency_code)?;
    let exp = currency.exponent();
    let money = |n: i64| format!("{currency_code} {}", format_minor(n, exp));
    let amount = parse_amount(&input.amount, currency)?;
    if amount <= 0 {
        return Err(Error::invalid(format!(
            "the amount must be above zero, not {}",
            money(amount)
        )));
    }
    let date = input.date.unwrap_or_else(context::today);
    // (document id, number, amount), checked.
    let mut plan: Vec<(String, Option<String>, i64)> = Vec::new();
    match &input.allocations {
        Some(list) if !list.is_empty() => {
            for a in list {
                let d = store::document(&a.document).map_err(|e| match e {
                    Error::NotFound(m) => Error::invalid(m),
                    other => other,
                })?;
                let name = d.number.clone().unwrap_or(d.id.clone());
                if d.status != Status::Issued
                    || d.contact != c.id
                    || d.side != side
                    || d.kind == Kind::CreditNote
                {
                    return Err(Error::invalid(format!(
                        "{name} is not an issued {} of {} ({})",
                        if side == Side::Sales {
                            "invoice"
                        } else {
                            "bill"
                        },
                        c.name,
                        c.id
                    )));
                }
                if d.currency != currency_code {
                    return Err(Error::invalid(format!(
                        "{name} is in {}, the payment in {currency_code}; payments must be in the document's currency",
                        d.currency
                    )));
                }
                let part = parse_amount(&a.amount, currency)?;
                let already: i64 = plan
                    .iter()
                    .filter(|(id, _, _)| *id == d.id)
                    .map(|(_, _, n)| n)
                    .sum();
                if part <= 0 || part + already > d.open {
                    return Err(Error::invalid(format!(
                        "cannot allocate {} to {name}: {} is open",
                        money(part + already),
                        money(d.open)
                    )));
                }
                if date < d.date.unwrap_or(date) {
                    return Err(Error::invalid(format!(
                        "the payment is dated {date}, before {name} ({})",
                        d.date.map(|d| d.to_string()).unwrap_or_default()
                    )));
                }
                plan.push((d.id, d.number, part));
            }
            let sum: i64 = plan.iter().map(|(_, _, n)| n).sum();
            if sum != amount {
                return Err(Error::invalid(format!(
                    "the allocations add up to {}, the payment is {}",
                    money(sum),
                    money(amount)
                )));
            }
        }
        _ => {
            let mut candidates: Vec<store::OpenRef> = store::open_refs(Some(&c.id))?
                .into_iter()
                .filter(|d| {
                    d.side == side
                        && d.kind != Kind::CreditNote
                        && d.open > 0
                        && d.currency == currency_code
                        && d.date.is_some_and(|x| x <= date)
                })
                .collect();
            let total_open: i64 = candidates.iter().map(|d| d.open).sum();
            if amount > total_open {
                return Err(Error::invalid(format!(
                    "the payment of {} is larger than the {} open for {} ({}) in {currency_code} on {date}; nothing was recorded",
                    money(amount),
                    money(total_open),
                    c.name,
                    c.id
                )));
            }
            candidates.sort_by(|a, b| (a.due_date, &a.id).cmp(&(b.due_date, &b.id)));
            let mut left = amount;
            for d in candidates {
                if left == 0 {
                    break;
                }
                let part = left.min(d.open);
                left -= part;
                plan.push((d.id, d.number, part));
            }
        }
    }

    let seq = store::next_seq("pay")?;
    let mut payment = Payment {
        id: store::payment_id(seq),
        side,
        contact: c.id.clone(),
        contact_name: c.name.clone(),
        date,
        amount,
        currency: currency_code.clone(),
        bank_account: input
            .bank_account
            .clone()
            .unwrap_or_else(|| settings.bank_account.clone()),
        reference: input
            .reference
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty()),
        allocations: plan
            .iter()
            .map(|(id, number, n)| Allocation {
                document: id.clone(),
                number: number.clone(),
                amount: *n,
            })
            .collect(),
        ledger_entry: None,
        recorded_at: context::now().to_rfc3339(),
    };
    let postings: Vec<Value> = model::payment_postings(&payment, &settings)
        .into_iter()
        .map(|(account, amount)| json!({"account": account, "amount": amount, "currency": currency_code}))
        .collect();
    let numbers: Vec<String> = payment
        .allocations
        .iter()
        .filter_map(|a| a.number.clone())
        .collect();
    let entry: Value = plugins::call(
        "ledger",
        "post-entry",
        &json!({
            "date": date,
            "description": format!(
                "Payment {} {} {}",
                if side == Side::Sales { "from" } else { "to" },
                c.name,
                numbers.join(", ")
            ).trim_end().to_owned(),
            "payee": c.name,
            "reference": {"source": "invoicing", "document": payment.id},
            "idempotency-key": format!("invoicing-{}", payment.id),
            "postings": postings,
        }),
    )
    .map_err(|e| ledger_error(e, &format!("payment {}", payment.id)))?;
    payment.ledger_entry = entry["id"].as_str().map(str::to_owned);
    for (id, _, part) in plan {
        // Read each time: the plan may name one document twice.
        let mut d = store::document(&id)?;
        d.settlements.push(Settlement {
            kind: "payment".into(),
            id: payment.id.clone(),
            number: None,
            date,
            amount: part,
        });
        d.open -= part;
        d.revision += 1;
        store::put_document(&d)?;
    }
    store::put_seq("pay", seq)?;
    store::put_payment(&payment)?;
    events::emit("invoicing.payment-recorded", &payment)?;
    log::info(format!("recorded payment {}", payment.id));
    Ok(payment)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GetIn {
    id: String,
}

pub fn get(input: GetIn) -> Result<Payment> {
    store::payment(&input.id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ListIn {
    contact: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListOut {
    payments: Vec<Payment>,
    /// Pass back as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// A page of payments (default 100, at most 1000) in recording order.
pub fn list(input: ListIn) -> Result<ListOut> {
    let limit = input.limit.unwrap_or(100).clamp(1, 1000);
    let mut payments = Vec::new();
    let mut next_cursor = None;
    for p in store::payments_after(input.cursor.as_deref())? {
        let p = p?;
        if input.contact.as_ref().is_some_and(|c| *c != p.contact) {
            continue;
        }
        if payments.len() == limit {
            next_cursor = payments.last().map(|p: &Payment| p.id.clone());
            break;
        }
        payments.push(p);
    }
    Ok(ListOut {
        payments,
        next_cursor,
    })
}
