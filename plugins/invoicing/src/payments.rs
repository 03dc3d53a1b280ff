//! Payments from customers and to suppliers: one ledger entry each (the bank against
//! the receivable or payable), allocated against open invoices or bills.

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::calc::format_minor;
use crate::documents::contact;
use crate::model::{self, Allocation, Kind, Payment, Settlement, Side, Status, Voided};
use crate::{Number, fx, ledger_error, parse_amount, rate_for, store};

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
    /// For a payment in another currency than the base currency: its exchange rate.
    rate: Option<String>,
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
    if let Some(r) = &input.rate
        && settings
            .base_currency
            .as_deref()
            .is_none_or(|b| b == currency_code)
    {
        return Err(Error::invalid(format!(
            "the payment is in {currency_code}, {}; a rate ({r}) is only for payments in another currency than the base currency",
            match &settings.base_currency {
                Some(b) => format!("the base currency {b}"),
                None => "and no base-currency is set (set-settings)".to_owned(),
            }
        )));
    }
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
    // Paid in the base currency for documents booked in a foreign one: the bank got
    // `amount` in the base currency, the allocations are in the documents' currency
    // and the rate is implied.
    let in_base_for: Option<String> = match (&settings.base_currency, &input.allocations) {
        (Some(base), Some(list)) if *base == currency_code => list
            .first()
            .and_then(|a| store::document(&a.document).ok())
            .filter(|d| d.currency != *base && d.base_currency.as_deref() == Some(base))
            .map(|d| d.currency),
        _ => None,
    };
    let (doc_code, doc_currency) = match &in_base_for {
        Some(code) => (code.clone(), Currency::new(code)?),
        None => (currency_code.clone(), currency),
    };
    let doc_exp = doc_currency.exponent();
    let doc_money = |n: i64| format!("{doc_code} {}", format_minor(n, doc_exp));
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
                if d.currency != doc_code {
                    return Err(Error::invalid(format!(
                        "{name} is in {}, the payment in {doc_code}; payments must be in the document's currency{}",
                        d.currency,
                        if in_base_for.is_some() {
                            " (or, for documents booked in one foreign currency, in the base currency)"
                        } else {
                            ""
                        }
                    )));
                }
                let part = parse_amount(&a.amount, doc_currency)?;
                let already: i64 = plan
                    .iter()
                    .filter(|(id, _, _)| *id == d.id)
                    .map(|(_, _, n)| n)
                    .sum();
                if part <= 0 || part + already > d.open {
                    return Err(Error::invalid(format!(
                        "cannot allocate {} to {name}: {} is open",
                        doc_money(part + already),
                        doc_money(d.open)
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
            if in_base_for.is_none() && sum != amount {
                return Err(Error::invalid(format!(
                    "the allocations add up to {}, the payment is {}",
                    money(sum),
                    money(amount)
                )));
            }
        }
        _ => {
            let mut candidates: Vec<crate::items::OpenRef> = store::open_refs(Some(&c.id))?
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

    let doc_amount: i64 = match &in_base_for {
        Some(_) => plan.iter().map(|(_, _, n)| n).sum(),
        None => amount,
    };
    let paid_in_base = in_base_for.as_ref().map(|_| amount);
    let booked = book(
        &input,
        &settings,
        side,
        (&doc_code, doc_amount),
        paid_in_base,
        date,
        &plan,
    )?;

    let seq = store::next_seq("pay")?;
    let mut payment = Payment {
        id: store::payment_id(seq),
        side,
        contact: c.id.clone(),
        contact_name: c.name.clone(),
        date,
        amount: doc_amount,
        currency: doc_code.clone(),
        bank_currency: in_base_for.as_ref().map(|_| currency_code.clone()),
        bank_account: input
            .bank_account
            .clone()
            .unwrap_or_else(|| settings.bank_account.clone()),
        reference: input
            .reference
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty()),
        rate: booked.as_ref().map(|b| b.rate.to_string()),
        base_currency: booked.as_ref().map(|b| b.base.clone()),
        base_amount: booked.as_ref().map(|b| b.base_amount),
        exchange_difference: booked.as_ref().map(|b| b.difference),
        allocations: plan
            .iter()
            .enumerate()
            .map(|(i, (id, number, n))| Allocation {
                document: id.clone(),
                number: number.clone(),
                amount: *n,
                base_released: booked.as_ref().and_then(|b| b.released.get(i).copied()),
            })
            .collect(),
        ledger_entry: None,
        recorded_at: context::now().to_rfc3339(),
        voided: None,
    };
    let postings: Vec<Value> = match &booked {
        Some(b) => b.postings(&payment, &settings),
        None => model::payment_postings(&payment, &settings)
            .into_iter()
            .map(|(account, amount)| json!({"account": account, "amount": amount, "currency": currency_code}))
            .collect(),
    };
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
    for (i, (id, _, part)) in plan.into_iter().enumerate() {
        // Read each time: the plan may name one document twice.
        let mut d = store::document(&id)?;
        let released = booked.as_ref().and_then(|b| b.released.get(i).copied());
        d.settlements.push(Settlement {
            kind: "payment".into(),
            id: payment.id.clone(),
            number: None,
            date,
            amount: part,
            base_amount: released,
        });
        d.open -= part;
        if let (Some(open), Some(r)) = (d.base_open, released) {
            d.base_open = Some(open - r);
        }
        d.revision += 1;
        store::put_document(&d)?;
    }
    store::put_seq("pay", seq)?;
    store::put_payment(&payment)?;
    events::emit("invoicing.payment-recorded", &payment)?;
    log::info(format!("recorded payment {}", payment.id));
    Ok(payment)
}

/// How a payment in a foreign currency is booked.
struct Booked {
    rate: fx::Rate,
    base: String,
    /// The payment at its own rate: what the bank holds in the base currency.
    base_amount: i64,
    /// Per allocation, in the plan's order: the base value released at the
    /// document's booked rate.
    released: Vec<i64>,
    /// Positive a gain, negative a loss.
    difference: i64,
    /// Whether the bank received or paid the base currency (the rate is implied).
    bank_in_base: bool,
}

impl Booked {
    /// The bank at the payment's rate, the receivable or payable at the documents'
    /// booked rates (both as `@@` costs), the difference to the gain or loss account.
    fn postings(&self, p: &Payment, settings: &model::Settings) -> Vec<Value> {
        let sign = match p.side {
            Side::Sales => 1,
            Side::Purchase => -1,
        };
        let released: i64 = self.released.iter().sum();
        let bank = if self.bank_in_base {
            json!({"account": p.bank_account, "amount": sign * self.base_amount, "currency": self.base})
        } else {
            json!({"account": p.bank_account, "amount": sign * p.amount, "currency": p.currency,
                   "cost": {"amount": self.base_amount, "currency": self.base}})
        };
        let mut out = vec![
            bank,
            json!({"account": settings.control_account(p.side), "amount": -sign * p.amount,
                   "currency": p.currency, "cost": {"amount": released, "currency": self.base}}),
        ];
        if self.difference != 0 {
            let account = if self.difference > 0 {
                &settings.fx_gain_account
            } else {
                &settings.fx_loss_account
            };
            out.push(
                json!({"account": account, "amount": -self.difference, "currency": self.base}),
            );
        }
        out
    }
}

/// The booking of a payment of `amount` in `currency` when that is not the base
/// currency: its rate (given, else the ledger's price on `date`; implied when the
/// bank got `paid_in_base`), its base value, what each planned allocation releases
/// and the realised difference. `None` for a payment in the base currency, or
/// without a base currency.
fn book(
    input: &RecordIn,
    settings: &model::Settings,
    side: Side,
    (currency, amount): (&str, i64),
    paid_in_base: Option<i64>,
    date: Date,
    plan: &[(String, Option<String>, i64)],
) -> Result<Option<Booked>> {
    let Some(base) = settings.base_currency.clone().filter(|b| b != currency) else {
        return Ok(None);
    };
    let from_exp = Currency::new(currency)?.exponent();
    let to_exp = Currency::new(&base)?.exponent();
    let out_of_range = || Error::invalid("the payment's base value is out of range");
    let (rate, base_amount) = match paid_in_base {
        Some(paid) => (
            fx::Rate::implied(paid, amount, from_exp, to_exp).ok_or_else(out_of_range)?,
            paid,
        ),
        None => {
            let rate = rate_for(input.rate.as_deref(), currency, &base, date, "the payment")?;
            let base_amount = rate
                .convert(amount, from_exp, to_exp)
                .ok_or_else(out_of_range)?;
            (rate, base_amount)
        }
    };
    // Per document: its id, total, base total, and open and base open as the plan
    // consumes them.
    let mut state: Vec<(String, i64, i64, i64, i64)> = Vec::new();
    let mut released = Vec::new();
    for (id, number, part) in plan {
        let slot = match state.iter().position(|s| s.0 == *id) {
            Some(i) => i,
            None => {
                let d = store::document(id)?;
                let (Some(base_open), Some(base_total), Some(doc_base)) =
                    (d.base_open, d.base_total, &d.base_currency)
                else {
                    return Err(Error::invalid(format!(
                        "{} is in {currency} but has no booked rate (it was issued before base-currency {base} was set); pay it without a base currency or correct it with a credit note",
                        number.as_deref().unwrap_or(id)
                    )));
                };
                if *doc_base != base {
                    return Err(Error::invalid(format!(
                        "{} was booked in {doc_base}, the base currency is now {base}",
                        number.as_deref().unwrap_or(id)
                    )));
                }
                state.push((id.clone(), d.total, base_total, d.open, base_open));
                state.len() - 1
            }
        };
        let Some((_, total, base_total, open, base_open)) = state.get_mut(slot) else {
            return Err(Error::internal("lost track of a planned document"));
        };
        let r =
            fx::release(*part, *open, *total, *base_open, *base_total).ok_or_else(out_of_range)?;
        *open -= part;
        *base_open -= r;
        released.push(r);
    }
    let total_released: i64 = released.iter().sum();
    let sign = match side {
        Side::Sales => 1,
        Side::Purchase => -1,
    };
    Ok(Some(Booked {
        rate,
        base,
        base_amount,
        released,
        difference: sign * (base_amount - total_released),
        bank_in_base: paid_in_base.is_some(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VoidIn {
    id: String,
    date: Option<Date>,
    reason: Option<String>,
}

/// Void a payment (a bank match undone, a payment recorded by mistake): its ledger
/// entry is reversed by a linked entry dated `date` (default today, never before the
/// payment), and each document it paid is open again by what it paid, through a
/// `payment-voided` settlement, so the documents' history still shows the payment
/// and its voiding. Nothing is deleted. Emits `invoicing.payment-voided`.
pub fn void(input: VoidIn) -> Result<Payment> {
    let mut p = store::payment(&input.id)?;
    if let Some(v) = &p.voided {
        return Err(Error::conflict(format!(
            "payment {} was already voided on {} (reversing entry {})",
            p.id,
            v.date,
            v.ledger_entry.as_deref().unwrap_or("-")
        )));
    }
    let date = input.date.unwrap_or_else(|| context::today().max(p.date));
    if date < p.date {
        return Err(Error::invalid(format!(
            "the void is dated {date}, before payment {} ({}); give a date on or after it",
            p.id, p.date
        )));
    }
    let reason = input
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let reversal = match &p.ledger_entry {
        Some(entry) => {
            let mut description = format!("Void payment {} {}", p.id, p.contact_name);
            if let Some(r) = &reason {
                description.push_str(&format!(": {r}"));
            }
            let rev: Value = plugins::call(
                "ledger",
                "reverse-entry",
                &json!({
                    "id": entry,
                    "date": date,
                    "description": description.chars().take(1000).collect::<String>(),
                    "idempotency-key": format!("invoicing-void-{}", p.id),
                }),
            )
            .map_err(|e| ledger_error(e, &format!("the void of payment {}", p.id)))?;
            rev["id"].as_str().map(str::to_owned)
        }
        None => None,
    };
    for a in &p.allocations {
        // Read each time: a payment may pay one document twice.
        let mut d = store::document(&a.document)?;
        d.settlements.push(Settlement {
            kind: "payment-voided".into(),
            id: p.id.clone(),
            number: None,
            date,
            amount: -a.amount,
            base_amount: a.base_released.map(|b| -b),
        });
        d.open += a.amount;
        if let (Some(open), Some(r)) = (d.base_open, a.base_released) {
            d.base_open = Some(open + r);
        }
        d.revision += 1;
        store::put_document(&d)?;
    }
    p.voided = Some(Voided {
        date,
        ledger_entry: reversal,
        reason,
        voided_at: context::now().to_rfc3339(),
    });
    store::put_payment(&p)?;
    events::emit("invoicing.payment-voided", &p)?;
    log::info(format!("voided payment {}", p.id));
    Ok(p)
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
