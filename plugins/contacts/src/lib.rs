//! Contacts: a register of customers and suppliers.
//!
//! Storage layout:
//!
//! * `contact/{n:020}`: a [`Contact`] as JSON, keyed by its sequence number
//!   zero-padded so that key order is creation order;
//! * `email/{normalised email}`: the id of the contact that holds that email;
//! * `seq`: the last sequence number handed out.

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

mod model;

pub use model::{Contact, Kind};
use model::{
    contact_key, email_key, normalise_email, parse_id, validate_address, validate_currency,
    validate_name, validate_notes, validate_phone, validate_tax_id, validate_terms,
};

/// The plugin.
pub struct Contacts;

impl Plugin for Contacts {
    fn operations() -> Operations {
        Operations::new()
            .op("create", create)
            .op("get", get)
            .op("list", list)
            .op("update", update)
            .op("archive", archive)
    }
}

backoffice_sdk::export_plugin!(Contacts);

/// Storage key of the last sequence number handed out.
const SEQ_KEY: &str = "seq";
/// Prefix of the contact records.
const CONTACT_PREFIX: &str = "contact/";
/// Default and maximum page sizes of `list`.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct CreateInput {
    name: String,
    kind: Kind,
    email: Option<String>,
    phone: Option<String>,
    tax_id: Option<String>,
    billing_address: Option<String>,
    payment_terms_days: Option<u32>,
    default_currency: Option<String>,
    notes: Option<String>,
}

fn create(input: CreateInput) -> Result<Contact> {
    let name = validate_name(&input.name)?;
    let email = input.email.as_deref().map(normalise_email).transpose()?;
    let phone = input.phone.as_deref().map(validate_phone).transpose()?;
    let tax_id = input.tax_id.as_deref().map(validate_tax_id).transpose()?;
    let notes = input.notes.as_deref().map(validate_notes).transpose()?;
    let billing_address = input
        .billing_address
        .as_deref()
        .map(validate_address)
        .transpose()?;
    let payment_terms_days = input.payment_terms_days.map(validate_terms).transpose()?;
    let default_currency = input
        .default_currency
        .as_deref()
        .map(validate_currency)
        .transpose()?;

    let seq = storage::get::<u64>(SEQ_KEY)?.unwrap_or(0) + 1;
    let now = context::now();
    let contact = Contact {
        id: model::format_id(seq),
        name,
        kind: input.kind,
        email,
        phone,
        tax_id,
        billing_address,
        payment_terms_days,
        default_currency,
        notes,
        archived: false,
        revision: 1,
        created_at: now,
        updated_at: now,
    };
    if let Some(email) = &contact.email {
        claim_email(email, &contact.id)?;
    }
    storage::put(SEQ_KEY, &seq)?;
    storage::put(&contact_key(seq), &contact)?;
    log::info(format!("created contact {}", contact.id));
    Ok(contact)
}

/// Reserve `email` for contact `id`; [`Error::Conflict`] when another contact holds it.
fn claim_email(email: &str, id: &str) -> Result<()> {
    let key = email_key(email);
    match storage::get::<String>(&key)? {
        Some(holder) if holder != id => Err(Error::conflict(format!(
            "contact {holder} already has the email {email}"
        ))),
        Some(_) => Ok(()),
        None => storage::put(&key, id),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct GetInput {
    id: String,
}

fn get(input: GetInput) -> Result<Contact> {
    load(&input.id)
}

fn load(id: &str) -> Result<Contact> {
    let not_found = || Error::not_found(format!("no contact {id}"));
    let seq = parse_id(id).ok_or_else(not_found)?;
    storage::get(&contact_key(seq))?.ok_or_else(not_found)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ListInput {
    kind: Option<Kind>,
    name_prefix: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    #[serde(default)]
    include_archived: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ListOutput {
    items: Vec<Contact>,
    /// Pass as `cursor` to read on; `null` when no further contact matches.
    next_cursor: Option<String>,
}

fn list(input: ListInput) -> Result<ListOutput> {
    let limit = input.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let filter = model::Filter::new(
        input.kind,
        input.name_prefix.as_deref(),
        input.include_archived,
    );
    let mut scan = storage::scan_prefix(CONTACT_PREFIX).page_size(limit.min(100) as u32 + 1);
    if let Some(cursor) = &input.cursor {
        let seq =
            parse_id(cursor).ok_or_else(|| Error::invalid(format!("bad cursor {cursor:?}")))?;
        scan = scan.after(contact_key(seq));
    }
    let mut items = Vec::new();
    let mut next_cursor = None;
    for entry in scan.iter::<Contact>() {
        let (_, contact) = entry?;
        if items.len() == limit {
            // One more match exists: the caller can read on from the last item.
            if filter.matches(&contact) {
                next_cursor = items.last().map(|c: &Contact| c.id.clone());
                break;
            }
            continue;
        }
        if filter.matches(&contact) {
            items.push(contact);
        }
    }
    Ok(ListOutput { items, next_cursor })
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct UpdateInput {
    id: String,
    expected_revision: Option<u64>,
    name: Option<String>,
    kind: Option<Kind>,
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    tax_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    billing_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_terms")]
    payment_terms_days: Option<Option<u32>>,
    #[serde(default, deserialize_with = "nullable")]
    default_currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    notes: Option<Option<String>>,
}

/// [`nullable`] for the payment terms.
fn nullable_terms<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

fn update(input: UpdateInput) -> Result<Contact> {
    let mut contact = load(&input.id)?;
    check_revision(&contact, input.expected_revision)?;
    let old_email = contact.email.clone();
    if let Some(name) = &input.name {
        contact.name = validate_name(name)?;
    }
    if let Some(kind) = input.kind {
        contact.kind = kind;
    }
    let optional = |v: Option<Option<String>>,
                    check: fn(&str) -> Result<String>|
     -> Result<Option<Option<String>>> {
        v.map(|v| v.as_deref().map(check).transpose()).transpose()
    };
    if let Some(email) = optional(input.email, normalise_email)? {
        contact.email = email;
    }
    if let Some(phone) = optional(input.phone, validate_phone)? {
        contact.phone = phone;
    }
    if let Some(tax_id) = optional(input.tax_id, validate_tax_id)? {
        contact.tax_id = tax_id;
    }
    if let Some(notes) = optional(input.notes, validate_notes)? {
        contact.notes = notes;
    }
    if let Some(address) = optional(input.billing_address, validate_address)? {
        contact.billing_address = address;
    }
    if let Some(terms) = input.payment_terms_days {
        contact.payment_terms_days = terms.map(validate_terms).transpose()?;
    }
    if let Some(currency) = optional(input.default_currency, validate_currency)? {
        contact.default_currency = currency;
    }
    if contact.email != old_email {
        if let Some(email) = &contact.email {
            claim_email(email, &contact.id)?;
        }
        if let Some(old) = &old_email {
            storage::delete(&email_key(old))?;
        }
    }
    save(contact)
}

fn check_revision(contact: &Contact, expected: Option<u64>) -> Result<()> {
    match expected {
        Some(r) if r != contact.revision => Err(Error::conflict(format!(
            "contact {} is at revision {}, not {r}",
            contact.id, contact.revision
        ))),
        _ => Ok(()),
    }
}

/// Bump the revision and the update time, and write the contact.
fn save(mut contact: Contact) -> Result<Contact> {
    let seq =
        parse_id(&contact.id).ok_or_else(|| Error::internal("stored contact has a bad id"))?;
    contact.revision += 1;
    contact.updated_at = context::now();
    storage::put(&contact_key(seq), &contact)?;
    Ok(contact)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ArchiveInput {
    id: String,
    expected_revision: Option<u64>,
}

/// Archive a contact: it stays readable by id and keeps its email, but `list` hides
/// it unless asked. Archiving an archived contact changes nothing.
fn archive(input: ArchiveInput) -> Result<Contact> {
    let mut contact = load(&input.id)?;
    check_revision(&contact, input.expected_revision)?;
    if contact.archived {
        return Ok(contact);
    }
    contact.archived = true;
    log::info(format!("archived contact {}", contact.id));
    save(contact)
}
