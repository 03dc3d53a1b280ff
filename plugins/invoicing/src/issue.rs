//! Issuing a draft: its date, due date, number, the credit it applies, its ledger
//! entry and `invoicing.invoice-issued`, all in the call's one transaction.

use backoffice_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::documents::{check_credit, compute_line, contact, corrected, draft, kind_name, total};
use crate::model::{self, Document, Kind, Settlement, Status};
use crate::{fx, ledger_error, rate_for, store};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IssueIn {
    id: String,
    date: Option<Date>,
    expected_revision: Option<u64>,
    /// For a document in another currency than the base currency: its exchange rate.
    rate: Option<String>,
}

/// Issue a draft: date it, recompute it with the current tax codes, check it, take
/// the next number of its series and year, post its entry to the ledger and emit
/// `invoicing.invoice-issued`. All in the call's one transaction: when the ledger
/// refuses the entry nothing is kept, the number included, so numbers have no gaps.
pub fn issue(input: IssueIn) -> Result<Document> {
    let mut doc = draft(&input.id, input.expected_revision)?;
    let settings = store::settings()?;
    let date = input.date.or(doc.date).unwrap_or_else(context::today);
    if doc.lines.is_empty() {
        return Err(Error::invalid("a document needs at least one line"));
    }
    for l in &mut doc.lines {
        compute_line(l)?;
    }
    total(&mut doc)?;
    if doc.total <= 0 {
        return Err(Error::invalid(format!(
            "{} {} totals {}; only a total above zero can be issued",
            kind_name(doc.kind),
            doc.id,
            doc.total
        )));
    }
    doc.date = Some(date);
    let mut of = match &doc.corrects {
        Some(of) => Some(corrected(of)?),
        None => None,
    };
    let due = match (&of, doc.due_date) {
        (Some(_), _) => date,
        (None, Some(due)) => due,
        (None, None) => {
            let c = contact(&doc.contact)?;
            let terms = c.terms.unwrap_or(i64::from(settings.default_terms_days));
            date.add_days(terms)
                .ok_or_else(|| Error::invalid("the due date is out of range"))?
        }
    };
    if due < date {
        return Err(Error::invalid(format!(
            "the due date {due} is before the document date {date}"
        )));
    }
    doc.due_date = Some(due);
    if let Some(of) = &of {
        check_credit(doc.total, of)?;
        if date < of.date.unwrap_or(date) {
            return Err(Error::invalid(format!(
                "the credit note is dated {date}, before {} ({})",
                of.number.as_deref().unwrap_or(&of.id),
                of.date.map(|d| d.to_string()).unwrap_or_default()
            )));
        }
    }
    // A document in a foreign currency is booked at a rate: the one given, else the
    // ledger's price on its date.
    let foreign = settings
        .base_currency
        .clone()
        .filter(|base| *base != doc.currency);
    // A credit note on a foreign-currency document: booked at that document's rate,
    // releasing its receivable or payable pro rata as a payment does.
    let mut credit_release: Option<i64> = None;
    let rate = match &foreign {
        Some(base) if doc.kind == Kind::CreditNote => {
            let of = of.as_ref().ok_or_else(|| {
                Error::invalid("a credit note needs corrects: the invoice or bill it corrects")
            })?;
            let (rate, released) = credit_booking(&doc, of, base, input.rate.as_deref())?;
            credit_release = Some(released);
            Some(rate)
        }
        Some(base) => Some(rate_for(
            input.rate.as_deref(),
            &doc.currency,
            base,
            date,
            &format!("{} {}", kind_name(doc.kind), doc.id),
        )?),
        None => {
            if let Some(r) = &input.rate {
                return Err(Error::invalid(format!(
                    "{} {} is in {}, {}; a rate ({r}) is only for documents in another currency than the base currency",
                    kind_name(doc.kind),
                    doc.id,
                    doc.currency,
                    match &settings.base_currency {
                        Some(b) => format!("the base currency {b}"),
                        None => "and no base-currency is set (set-settings)".to_owned(),
                    }
                )));
            }
            None
        }
    };
    // Everything is checked: take the number. Should the ledger still refuse the
    // entry, the call fails and the number goes back with the rest.
    let number = store::take_number(model::series(doc.kind, doc.side), date.year(), &doc.id)?;
    doc.number = Some(number.clone());
    if let Some(of) = &mut of {
        let applied = doc.total.min(of.open.max(0));
        of.credited += doc.total;
        if applied > 0 {
            of.settlements.push(Settlement {
                kind: "credit-note".into(),
                id: doc.id.clone(),
                number: Some(number.clone()),
                date,
                amount: applied,
                base_amount: credit_release,
            });
            of.open -= applied;
            if let (Some(open), Some(r)) = (of.base_open, credit_release) {
                of.base_open = Some(open - r);
            }
            doc.settlements.push(Settlement {
                kind: "applied-to".into(),
                id: of.id.clone(),
                number: of.number.clone(),
                date,
                amount: applied,
                base_amount: credit_release,
            });
            doc.open -= applied;
        }
        of.revision += 1;
        store::put_document(of)?;
    }
    let plain = model::document_postings(&doc, &settings);
    let postings: Vec<Value> = match (&foreign, rate) {
        (Some(base), Some(rate)) => {
            let from_exp = Currency::new(&doc.currency)?.exponent();
            let to_exp = Currency::new(base)?.exponent();
            let main: Vec<bool> = plain
                .iter()
                .enumerate()
                .map(|(i, (a, _))| i > 0 && !doc.lines.iter().any(|l| l.tax_account == *a))
                .collect();
            let base_values = match credit_release {
                Some(r) => {
                    let sign = plain.first().map_or(1, |(_, a)| a.signum());
                    fx::document_base_with(&plain, &main, rate, from_exp, to_exp, sign * r)
                }
                None => fx::document_base(&plain, &main, rate, from_exp, to_exp),
            }
            .ok_or_else(|| Error::invalid("the document's base value is out of range"))?;
            let base_total = base_values.first().map_or(0, |b| b.abs());
            doc.rate = Some(rate.to_string());
            doc.base_currency = Some(base.clone());
            doc.base_total = Some(base_total);
            // A credit note is applied in full as it is issued (see credit_booking).
            doc.base_open = Some(if credit_release.is_some() {
                0
            } else {
                base_total
            });
            plain
                .iter()
                .zip(&base_values)
                .enumerate()
                .filter(|(i, (_, b))| *i == 0 || **b != 0)
                .map(|(i, ((account, amount), b))| {
                    if i == 0 {
                        json!({"account": account, "amount": amount, "currency": doc.currency,
                               "cost": {"amount": base_total, "currency": base}})
                    } else {
                        json!({"account": account, "amount": b, "currency": base})
                    }
                })
                .collect()
        }
        _ => plain
            .into_iter()
            .map(|(account, amount)| json!({"account": account, "amount": amount, "currency": doc.currency}))
            .collect(),
    };
    let description = format!(
        "{} {number} {}",
        match doc.kind {
            Kind::Invoice => "Invoice",
            Kind::Bill => "Bill",
            Kind::CreditNote => "Credit note",
        },
        doc.contact_name
    );
    let entry: Value = plugins::call(
        "ledger",
        "post-entry",
        &json!({
            "date": date,
            "description": description,
            "payee": doc.contact_name,
            "reference": {"source": "invoicing", "document": number},
            "idempotency-key": format!("invoicing-{}", doc.id),
            "postings": postings,
        }),
    )
    .map_err(|e| ledger_error(e, &format!("{} {}", kind_name(doc.kind), doc.id)))?;
    doc.ledger_entry = entry["id"].as_str().map(str::to_owned);
    doc.status = Status::Issued;
    doc.issued_at = Some(context::now().to_rfc3339());
    doc.revision += 1;
    store::put_document(&doc)?;
    events::emit(
        "invoicing.invoice-issued",
        &json!({
            "id": doc.id,
            "number": doc.number,
            "kind": doc.kind,
            "side": doc.side,
            "contact": doc.contact,
            "contact-name": doc.contact_name,
            "currency": doc.currency,
            "date": doc.date,
            "due-date": doc.due_date,
            "net": doc.net,
            "tax": doc.tax,
            "total": doc.total,
            "corrects": doc.corrects,
            "ledger-entry": doc.ledger_entry,
        }),
    )?;
    log::info(format!("issued {number} ({})", doc.id));
    Ok(doc)
}

/// The refusal of a credit note on a foreign-currency document for more than is open
/// there: what is open, what its payments paid (by payment id, voided ones left
/// out) and the two ways on. Invoicing refunds nothing, and the paid part was
/// released at the payments' rates, so crediting it would need a refund at a rate of
/// its own.
fn over_credit(doc: &Document, of: &Document, name: &str) -> Error {
    let exp = Currency::new(&of.currency).map_or(2, |c| c.exponent());
    let money = |n: i64| format!("{} {}", of.currency, crate::calc::format_minor(n, exp));
    let mut paid: Vec<(String, i64)> = Vec::new();
    for s in &of.settlements {
        match s.kind.as_str() {
            "payment" => match paid.iter_mut().find(|(id, _)| *id == s.id) {
                Some((_, n)) => *n += s.amount,
                None => paid.push((s.id.clone(), s.amount)),
            },
            "payment-voided" => {
                if let Some((_, n)) = paid.iter_mut().find(|(id, _)| *id == s.id) {
                    *n += s.amount;
                }
            }
            _ => {}
        }
    }
    paid.retain(|(_, n)| *n != 0);
    let by = if paid.is_empty() {
        String::new()
    } else {
        format!(
            "; {} of it was paid by {}",
            money(paid.iter().map(|(_, n)| n).sum()),
            paid.iter()
                .map(|(id, n)| format!("{id} ({})", money(*n)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Error::invalid(format!(
        "the credit note's total {} exceeds the {} still open on {name} (total {}{by}): a credit note on a document in a foreign currency credits at most what is open, and invoicing does not refund a paid part. Credit at most {}, or, when what was paid is handed back, first void those payments (void-payment, or banking's unmatch of the bank line) so that {name} is open again, then issue the credit note; nothing was issued",
        money(doc.total),
        money(of.open),
        money(of.total),
        money(of.open),
    ))
}

/// The rate and base value of a credit note on a document booked in a foreign
/// currency: that document's booked rate, and what the credit releases of its
/// receivable or payable, pro rata as a payment releases it ([`fx::release`]: all of
/// the base value still open when it credits all that is open). Refused unless it
/// credits at most what is still open (a credit beyond it would have to be refunded
/// at another rate) and the document was booked in the base currency `base`.
fn credit_booking(
    doc: &Document,
    of: &Document,
    base: &str,
    given: Option<&str>,
) -> Result<(fx::Rate, i64)> {
    let name = of.number.as_deref().unwrap_or(&of.id);
    let (Some(rate), Some(of_base), Some(base_total), Some(base_open)) = (
        of.rate.as_deref(),
        of.base_currency.as_deref(),
        of.base_total,
        of.base_open,
    ) else {
        return Err(Error::invalid(format!(
            "{name} is in {} but has no booked rate (it was issued before base-currency {base} was set): a credit note on it cannot be booked in {base}; nothing was issued",
            of.currency
        )));
    };
    if of_base != base {
        return Err(Error::invalid(format!(
            "{name} was booked in {of_base}, the base currency is now {base}; nothing was issued"
        )));
    }
    if let Some(r) = given
        && r != rate
    {
        return Err(Error::invalid(format!(
            "credit note {} is booked at the rate of {name} ({rate}), not at {r}: leave out rate; nothing was issued",
            doc.id
        )));
    }
    if doc.total > of.open {
        return Err(over_credit(doc, of, name));
    }
    let rate = fx::Rate::parse(rate).map_err(Error::invalid)?;
    let released = fx::release(doc.total, of.open, of.total, base_open, base_total)
        .ok_or_else(|| Error::invalid("the credit note's base value is out of range"))?;
    Ok((rate, released))
}
