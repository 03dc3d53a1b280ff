//! Drafts of invoices, bills and credit notes (create, update, delete), their
//! figures from the tax codes, and reads. Issuing is in [`crate::issue`].

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::calc::{self, Rate};
use crate::model::{Document, Kind, Line, Side, Status, TaxTotal};
use crate::{Number, parse_amount, store};

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LineIn {
    description: String,
    #[serde(default)]
    quantity: Option<Number>,
    unit_price: Number,
    #[serde(default)]
    discount_bp: Option<i64>,
    tax_code: String,
    #[serde(default)]
    account: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CreateIn {
    kind: Kind,
    contact: Option<String>,
    currency: Option<String>,
    date: Option<Date>,
    due_date: Option<Date>,
    corrects: Option<String>,
    reference: Option<String>,
    notes: Option<String>,
    lines: Vec<LineIn>,
}

/// A contact as `contacts.get` returns it, the fields invoicing uses.
pub(crate) struct Contact {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    archived: bool,
    pub(crate) terms: Option<i64>,
    pub(crate) currency: Option<String>,
    value: Value,
}

pub(crate) fn contact(id: &str) -> Result<Contact> {
    let v: Value = plugins::call("contacts", "get", &json!({"id": id})).map_err(|e| match e {
        Error::NotFound(m) => Error::invalid(format!("unknown contact: {m}")),
        Error::InvalidInput(m) => Error::invalid(format!("contact {id:?}: {m}")),
        other => other,
    })?;
    Ok(Contact {
        id: id.to_owned(),
        name: v["name"].as_str().unwrap_or(id).to_owned(),
        kind: v["kind"].as_str().unwrap_or("").to_owned(),
        archived: v["archived"].as_bool().unwrap_or(false),
        terms: v["payment-terms-days"].as_i64(),
        currency: v["default-currency"].as_str().map(str::to_owned),
        value: v,
    })
}

impl Contact {
    /// The contact's billing address and tax id, for printing.
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        self.value[name].as_str().map(str::to_owned)
    }
}

/// The contact of a new invoice or bill: it exists, is not archived and is a customer
/// (invoices) or supplier (bills).
fn check_contact(id: &str, side: Side, kind: Kind) -> Result<Contact> {
    let c = contact(id)?;
    if c.archived {
        return Err(Error::invalid(format!(
            "contact {id} ({}) is archived",
            c.name
        )));
    }
    if c.kind != side.contact_kind() {
        return Err(Error::invalid(format!(
            "contact {id} ({}) is a {}; a {} needs a {}",
            c.name,
            c.kind,
            kind_name(kind),
            side.contact_kind()
        )));
    }
    Ok(c)
}

pub(crate) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Invoice => "sales invoice",
        Kind::Bill => "supplier bill",
        Kind::CreditNote => "credit note",
    }
}

/// Checked lines with their figures from the tenant's current tax codes.
fn build_lines(lines: &[LineIn], currency: Currency) -> Result<Vec<Line>> {
    if lines.is_empty() {
        return Err(Error::invalid(
            "a document needs at least one line".to_owned(),
        ));
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let at = |m: String| Error::invalid(format!("line {}: {m}", i + 1));
        let description = l.description.trim();
        if description.is_empty() {
            return Err(at("the description must not be blank".into()));
        }
        let quantity = match &l.quantity {
            None => calc::QUANTITY_SCALE,
            Some(Number::Int(n)) => n
                .checked_mul(calc::QUANTITY_SCALE)
                .ok_or_else(|| at(format!("quantity {n} is too large")))?,
            Some(Number::Str(s)) => calc::parse_quantity(s).map_err(at)?,
        };
        if quantity == 0 {
            return Err(at("the quantity must not be zero".into()));
        }
        let unit_price = parse_amount(&l.unit_price, currency)
            .map_err(|e| at(format!("unit-price: {}", e.message())))?;
        let discount_bp = l.discount_bp.unwrap_or(0);
        if !(0..=calc::FULL_BP).contains(&discount_bp) {
            return Err(at(format!(
                "discount-bp must be 0 to 10000 (100 %), not {discount_bp}"
            )));
        }
        if let Some(a) = &l.account
            && a.trim().is_empty()
        {
            return Err(at("the account must not be blank".into()));
        }
        let mut line = Line {
            description: description.to_owned(),
            quantity: calc::format_quantity(quantity),
            quantity_thousandths: quantity,
            unit_price,
            discount_bp,
            tax_code: l.tax_code.trim().to_owned(),
            tax_rate_bp: 0,
            tax_inclusive: false,
            tax_account: String::new(),
            account: l.account.as_ref().map(|a| a.trim().to_owned()),
            amounts: Default::default(),
        };
        compute_line(&mut line).map_err(|e| at(e.message().to_owned()))?;
        out.push(line);
    }
    Ok(out)
}

/// The line's figures from its tax code as it stands now.
pub(crate) fn compute_line(line: &mut Line) -> Result<()> {
    let code = store::tax_code(&line.tax_code)?.ok_or_else(|| {
        Error::invalid(format!(
            "unknown tax code {:?} (see list-tax-codes)",
            line.tax_code
        ))
    })?;
    line.tax_rate_bp = code.rate_bp;
    line.tax_inclusive = code.inclusive;
    line.tax_account = code.account;
    line.amounts = calc::line(
        line.quantity_thousandths,
        line.unit_price,
        line.discount_bp,
        Rate {
            bp: code.rate_bp,
            inclusive: code.inclusive,
        },
    )
    .ok_or_else(|| Error::invalid("the amounts are too large".to_owned()))?;
    Ok(())
}

/// The document's totals and tax breakdown from its lines.
pub(crate) fn total(doc: &mut Document) -> Result<()> {
    let overflow = || Error::invalid("the document's amounts are too large".to_owned());
    let (mut net, mut tax) = (0i64, 0i64);
    let mut taxes: Vec<TaxTotal> = Vec::new();
    for l in &doc.lines {
        net = net.checked_add(l.amounts.net).ok_or_else(overflow)?;
        tax = tax.checked_add(l.amounts.tax).ok_or_else(overflow)?;
        match taxes
            .iter_mut()
            .find(|t| t.code == l.tax_code && t.rate_bp == l.tax_rate_bp)
        {
            Some(t) => {
                t.net += l.amounts.net;
                t.tax += l.amounts.tax;
            }
            None => taxes.push(TaxTotal {
                code: l.tax_code.clone(),
                rate_bp: l.tax_rate_bp,
                net: l.amounts.net,
                tax: l.amounts.tax,
            }),
        }
    }
    doc.net = net;
    doc.tax = tax;
    doc.total = net.checked_add(tax).ok_or_else(overflow)?;
    doc.taxes = taxes;
    doc.open = doc.total;
    Ok(())
}

fn currency_of(code: &str) -> Result<Currency> {
    Currency::new(code)
        .map_err(|_| Error::invalid(format!("{code:?} is not an ISO 4217 currency code")))
}

/// The invoice or bill a credit note corrects: issued, and not itself a credit note.
pub(crate) fn corrected(id_or_number: &str) -> Result<Document> {
    let d = store::document(id_or_number).map_err(|e| match e {
        Error::NotFound(m) => Error::invalid(format!("the corrected document: {m}")),
        other => other,
    })?;
    if d.status != Status::Issued || d.kind == Kind::CreditNote {
        return Err(Error::invalid(format!(
            "a credit note corrects an issued invoice or bill; {} is {}",
            d.number.as_deref().unwrap_or(&d.id),
            if d.kind == Kind::CreditNote {
                "a credit note"
            } else {
                "a draft"
            }
        )));
    }
    Ok(d)
}

/// Refuse a credit note of `total` beyond what `of` still has to correct.
pub(crate) fn check_credit(total: i64, of: &Document) -> Result<()> {
    let left = of.total - of.credited;
    if total > left {
        let exp = currency_of(&of.currency)?.exponent();
        return Err(Error::invalid(format!(
            "the credit note's total {} {} exceeds the {} {} that {} still has to correct (total {}, already credited {})",
            of.currency,
            calc::format_minor(total, exp),
            of.currency,
            calc::format_minor(left, exp),
            of.number.as_deref().unwrap_or(&of.id),
            calc::format_minor(of.total, exp),
            calc::format_minor(of.credited, exp),
        )));
    }
    Ok(())
}

pub fn create(input: CreateIn) -> Result<Document> {
    let settings = store::settings()?;
    let (side, contact_id, contact_name, currency, corrects) = match input.kind {
        Kind::CreditNote => {
            let of_ref = input.corrects.as_deref().ok_or_else(|| {
                Error::invalid("a credit note needs corrects: the invoice or bill it corrects")
            })?;
            let of = corrected(of_ref)?;
            if let Some(c) = &input.contact
                && *c != of.contact
            {
                return Err(Error::invalid(format!(
                    "the credit note's contact {c} is not {}'s contact {}",
                    of.number.as_deref().unwrap_or(&of.id),
                    of.contact
                )));
            }
            if let Some(c) = &input.currency
                && *c != of.currency
            {
                return Err(Error::invalid(format!(
                    "the credit note's currency {c} is not {}'s currency {}",
                    of.number.as_deref().unwrap_or(&of.id),
                    of.currency
                )));
            }
            (
                of.side,
                of.contact.clone(),
                of.contact_name.clone(),
                of.currency.clone(),
                Some(of.id),
            )
        }
        kind => {
            if input.corrects.is_some() {
                return Err(Error::invalid("only a credit note corrects a document"));
            }
            let side = if kind == Kind::Invoice {
                Side::Sales
            } else {
                Side::Purchase
            };
            let id = input
                .contact
                .as_deref()
                .ok_or_else(|| Error::invalid(format!("a {} needs a contact", kind_name(kind))))?;
            let c = check_contact(id, side, kind)?;
            let currency = input
                .currency
                .clone()
                .or(c.currency.clone())
                .or(settings.default_currency.clone())
                .ok_or_else(|| {
                    Error::invalid(
                        "no currency: give currency, or set the contact's default-currency or the settings' default-currency",
                    )
                })?;
            (side, c.id, c.name, currency, None)
        }
    };
    let cur = currency_of(&currency)?;
    if let (Some(d), Some(due)) = (input.date, input.due_date)
        && due < d
    {
        return Err(Error::invalid(format!(
            "the due date {due} is before the document date {d}"
        )));
    }
    let lines = build_lines(&input.lines, cur)?;
    let seq = store::next_seq("doc")?;
    let mut doc = Document {
        id: store::doc_id(seq),
        kind: input.kind,
        side,
        status: Status::Draft,
        number: None,
        contact: contact_id,
        contact_name,
        currency,
        date: input.date,
        due_date: input.due_date,
        corrects,
        reference: clean(input.reference),
        notes: clean(input.notes),
        lines,
        taxes: Vec::new(),
        net: 0,
        tax: 0,
        total: 0,
        settlements: Vec::new(),
        credited: 0,
        open: 0,
        rate: None,
        base_currency: None,
        base_total: None,
        base_open: None,
        ledger_entry: None,
        revision: 1,
        created_at: context::now().to_rfc3339(),
        issued_at: None,
    };
    total(&mut doc)?;
    if let Some(of) = &doc.corrects {
        check_credit(doc.total, &store::document(of)?)?;
    }
    store::put_seq("doc", seq)?;
    store::put_document(&doc)?;
    Ok(doc)
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A draft, or a conflict naming the issued document.
pub(crate) fn draft(id: &str, expected_revision: Option<u64>) -> Result<Document> {
    let doc = store::document(id)?;
    if doc.status == Status::Issued {
        return Err(Error::conflict(format!(
            "{} {} is issued and cannot be changed or deleted; correct it with a credit note",
            kind_name(doc.kind),
            doc.number.as_deref().unwrap_or(&doc.id)
        )));
    }
    if let Some(r) = expected_revision
        && r != doc.revision
    {
        return Err(Error::conflict(format!(
            "draft {} is at revision {}, not {r}",
            doc.id, doc.revision
        )));
    }
    Ok(doc)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UpdateIn {
    id: String,
    expected_revision: Option<u64>,
    contact: Option<String>,
    currency: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    date: Option<Option<Date>>,
    #[serde(default, deserialize_with = "nullable")]
    due_date: Option<Option<Date>>,
    #[serde(default, deserialize_with = "nullable")]
    reference: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    notes: Option<Option<String>>,
    lines: Option<Vec<LineIn>>,
}

pub fn update(input: UpdateIn) -> Result<Document> {
    let mut doc = draft(&input.id, input.expected_revision)?;
    if let Some(c) = &input.contact
        && *c != doc.contact
    {
        if doc.kind == Kind::CreditNote {
            return Err(Error::invalid(
                "a credit note's contact is that of the document it corrects",
            ));
        }
        let c = check_contact(c, doc.side, doc.kind)?;
        doc.contact = c.id;
        doc.contact_name = c.name;
    }
    if let Some(c) = input.currency {
        if doc.kind == Kind::CreditNote && c != doc.currency {
            return Err(Error::invalid(
                "a credit note's currency is that of the document it corrects",
            ));
        }
        currency_of(&c)?;
        doc.currency = c;
    }
    if let Some(d) = input.date {
        doc.date = d;
    }
    if let Some(d) = input.due_date {
        doc.due_date = d;
    }
    if let (Some(d), Some(due)) = (doc.date, doc.due_date)
        && due < d
    {
        return Err(Error::invalid(format!(
            "the due date {due} is before the document date {d}"
        )));
    }
    if let Some(r) = input.reference {
        doc.reference = clean(r);
    }
    if let Some(n) = input.notes {
        doc.notes = clean(n);
    }
    let cur = currency_of(&doc.currency)?;
    if let Some(lines) = &input.lines {
        doc.lines = build_lines(lines, cur)?;
    } else {
        for l in &mut doc.lines {
            compute_line(l)?;
        }
    }
    total(&mut doc)?;
    if let Some(of) = &doc.corrects {
        check_credit(doc.total, &store::document(of)?)?;
    }
    doc.revision += 1;
    store::put_document(&doc)?;
    Ok(doc)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IdIn {
    id: String,
    expected_revision: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Deleted {
    deleted: String,
}

pub fn delete(input: IdIn) -> Result<Deleted> {
    let doc = draft(&input.id, input.expected_revision)?;
    store::delete_document(&doc)?;
    Ok(Deleted { deleted: doc.id })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GetIn {
    id: String,
}

pub fn get(input: GetIn) -> Result<Document> {
    store::document(&input.id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ListIn {
    kind: Option<Kind>,
    side: Option<Side>,
    status: Option<Status>,
    contact: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListOut {
    documents: Vec<Document>,
    /// Pass back as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// A page of documents (default 100, at most 1000) in creation order.
pub fn list(input: ListIn) -> Result<ListOut> {
    let limit = input.limit.unwrap_or(100).clamp(1, 1000);
    let (documents, more) = store::documents_page(input.cursor.as_deref(), limit, |d| {
        input.kind.is_none_or(|k| k == d.kind)
            && input.side.is_none_or(|s| s == d.side)
            && input.status.is_none_or(|s| s == d.status)
            && input.contact.as_ref().is_none_or(|c| *c == d.contact)
    })?;
    let next_cursor = if more {
        documents.last().map(|d| d.id.clone())
    } else {
        None
    };
    Ok(ListOut {
        documents,
        next_cursor,
    })
}
