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
    let rate = match &foreign {
        Some(base) => {
            if doc.kind == Kind::CreditNote {
                return Err(Error::invalid(format!(
                    "credit note {} is in {}, not the base currency {base}: credit notes on foreign-currency documents are not supported in this version; nothing was issued",
                    doc.id, doc.currency
                )));
            }
            Some(rate_for(
                input.rate.as_deref(),
                &doc.currency,
                base,
                date,
                &format!("{} {}", kind_name(doc.kind), doc.id),
            )?)
        }
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
                base_amount: None,
            });
            of.open -= applied;
            doc.settlements.push(Settlement {
                kind: "applied-to".into(),
                id: of.id.clone(),
                number: of.number.clone(),
                date,
                amount: applied,
                base_amount: None,
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
            let base_values = fx::document_base(&plain, &main, rate, from_exp, to_exp)
                .ok_or_else(|| Error::invalid("the document's base value is out of range"))?;
            let base_total = base_values.first().map_or(0, |b| b.abs());
            doc.rate = Some(rate.to_string());
            doc.base_currency = Some(base.clone());
            doc.base_total = Some(base_total);
            doc.base_open = Some(base_total);
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
