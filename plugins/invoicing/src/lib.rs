//! Invoicing: receivables and payables next to the ledger. Tax codes per tenant,
//! sales invoices, supplier bills and credit notes (drafts editable, issued documents
//! numbered without gaps and immutable), payments allocated against them, each
//! issued document and payment posted to the ledger as one balanced entry through
//! `plugins.call`; open items, ageing, statements, printable HTML, and the
//! `invoicing.invoice-issued`, `invoicing.payment-recorded` and daily
//! `invoicing.overdue` events. See `docs/plugins/invoicing.md`.
//!
//! Pure logic lives in [`calc`] (amounts and rounding) and [`model`] (records,
//! numbers, postings), unit-tested natively; [`store`] holds the storage layout;
//! [`documents`], [`issue`], [`payments`], [`reports`] and [`html`] glue them to the
//! operations.

use std::collections::BTreeSet;

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub mod calc;
mod documents;
pub mod fx;
pub mod html;
mod issue;
pub mod items;
pub mod model;
mod payments;
mod reports;
mod store;

use model::{Settings, Status, TaxCode};

/// The plugin.
pub struct Invoicing;

/// The daily overdue job.
pub const OVERDUE_JOB: &str = "send-overdue";

impl Plugin for Invoicing {
    fn operations() -> Operations {
        Operations::new()
            .op("get-settings", get_settings)
            .op("set-settings", set_settings)
            .op("setup-ledger", setup_ledger)
            .op("set-tax-code", set_tax_code)
            .op("list-tax-codes", list_tax_codes)
            .op("create-document", documents::create)
            .op("update-draft", documents::update)
            .op("delete-draft", documents::delete)
            .op("issue", issue::issue)
            .op("get-document", documents::get)
            .op("list-documents", documents::list)
            .op("record-payment", payments::record)
            .op("void-payment", payments::void)
            .op("get-payment", payments::get)
            .op("list-payments", payments::list)
            .op("open-items", reports::open_items_report)
            .op("ageing", reports::ageing)
            .op("statement", reports::statement)
            .op("render-invoice", html::render_invoice)
            .op("send-overdue", reports::send_overdue)
    }

    /// 0.2.1 added the open-item index the reports walk: build it for documents
    /// and payments written by earlier versions.
    fn migrate(from: Option<&str>) -> Result<()> {
        if from.is_some_and(|v| version_below(v, (0, 2, 1))) {
            let (docs, pays) = store::rebuild_index()?;
            log::info(format!(
                "indexed {docs} documents and {pays} payments for the reports"
            ));
        }
        Ok(())
    }

    fn run_job(job: &str, _payload: Value) -> Result<()> {
        match job {
            OVERDUE_JOB => {
                let sent = reports::remind()?;
                log::info(format!("sent {} overdue reminders", sent.len()));
                Ok(())
            }
            _ => Err(Error::not_found(format!("unknown job {job}"))),
        }
    }
}

backoffice_sdk::export_plugin!(Invoicing);

/// Whether semantic version `v` (`0.2.0`, `0.2.0-rc.1`) is below `than`; an
/// unreadable version counts as below, so the index is rebuilt rather than missed.
fn version_below(v: &str, than: (u64, u64, u64)) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or(v);
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c))) => (a, b, c) < than,
        _ => true,
    }
}

/// An amount or quantity in a request: an integer, or a decimal string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Int(i64),
    Str(String),
}

/// An amount in minor units of `currency`: an integer is minor units already, a
/// string is a decimal (`"12.50"`), refused with more decimals than the currency has.
pub(crate) fn parse_amount(n: &Number, currency: Currency) -> Result<i64> {
    match n {
        Number::Int(i) => Ok(*i),
        Number::Str(s) => Money::parse_in(s, currency).map(|m| m.amount()),
    }
}

/// A ledger error, explained for the person issuing or paying `what`.
pub(crate) fn ledger_error(e: Error, what: &str) -> Error {
    match e {
        Error::Forbidden(m) => Error::forbidden(format!(
            "cannot post {what} to the ledger: {m} (the ledger plugin must be enabled and the caller needs ledger.post)"
        )),
        Error::InvalidInput(m) | Error::NotFound(m) => {
            let hint = if m.contains("unknown account") {
                " (run setup-ledger to create the accounts invoicing posts to)"
            } else {
                ""
            };
            Error::invalid(format!(
                "the ledger refused the entry of {what}: {m}; nothing was issued or recorded{hint}"
            ))
        }
        other => other,
    }
}

/// The rate to book `amount`s of `currency` at on `date` in `base`: the one `given`
/// in the call, else the ledger's latest market price of `currency` in `base` dated on
/// or before `date` (`set-price`). Refused when there is neither.
pub(crate) fn rate_for(
    given: Option<&str>,
    currency: &str,
    base: &str,
    date: Date,
    what: &str,
) -> Result<fx::Rate> {
    if let Some(g) = given {
        return fx::Rate::parse(g).map_err(Error::invalid);
    }
    let prices: Value = plugins::call(
        "ledger",
        "list-prices",
        &json!({"commodity": currency, "currency": base, "to": date}),
    )
    .map_err(|e| match e {
        Error::Forbidden(m) => Error::forbidden(format!(
            "cannot read the ledger's price of {currency} in {base} for {what}: {m} (give rate, or the caller needs ledger.read)"
        )),
        other => other,
    })?;
    let latest = prices["prices"]
        .as_array()
        .and_then(|p| p.last())
        .and_then(|p| p["price"].as_str())
        .ok_or_else(|| {
            Error::invalid(format!(
                "{what} is in {currency}, the base currency is {base}, and no rate was given: give rate (\"0.92\" {base} per {currency}) or record a price of {currency} in {base} on or before {date} with the ledger's set-price; nothing was written"
            ))
        })?;
    fx::Rate::parse(latest).map_err(|e| {
        Error::invalid(format!(
            "the ledger's price of {currency} in {base} on or before {date} cannot be used: {e}"
        ))
    })
}

fn get_settings(_: Empty) -> Result<Settings> {
    store::settings()
}

fn check_account(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.trim() != name || name.contains('/') {
        return Err(Error::invalid(format!(
            "{field} {name:?} is not a ledger account name"
        )));
    }
    Ok(())
}

fn set_settings(input: Settings) -> Result<Settings> {
    for (field, name) in [
        ("receivable-account", &input.receivable_account),
        ("payable-account", &input.payable_account),
        ("revenue-account", &input.revenue_account),
        ("expense-account", &input.expense_account),
        ("bank-account", &input.bank_account),
        ("fx-gain-account", &input.fx_gain_account),
        ("fx-loss-account", &input.fx_loss_account),
    ] {
        check_account(field, name)?;
    }
    if let Some(c) = &input.default_currency {
        Currency::new(c)?;
    }
    if let Some(c) = &input.base_currency {
        Currency::new(c)?;
    }
    let old = store::settings()?;
    if old.base_currency.is_some() && old.base_currency != input.base_currency {
        let booked = store::documents()?
            .into_iter()
            .find(|d| d.status == Status::Issued && d.base_currency.is_some());
        if let Some(d) = booked {
            return Err(Error::conflict(format!(
                "the base currency cannot change from {} once documents are booked in it ({} is); keep base-currency {}",
                old.base_currency.as_deref().unwrap_or_default(),
                d.number.as_deref().unwrap_or(&d.id),
                old.base_currency.as_deref().unwrap_or_default(),
            )));
        }
    }
    store::put_settings(&input)?;
    Ok(input)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct TaxCodeIn {
    code: String,
    description: Option<String>,
    rate_bp: i64,
    #[serde(default)]
    inclusive: bool,
    account: Option<String>,
}

/// Create or replace a tax code. Documents keep the rate and account they were
/// computed with once issued; drafts take the new ones.
fn set_tax_code(input: TaxCodeIn) -> Result<TaxCode> {
    let code = input.code.trim();
    if code.is_empty()
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Error::invalid(format!(
            "tax code {:?} must be letters, digits, '-', '_' or '.'",
            input.code
        )));
    }
    if !(0..=calc::FULL_BP).contains(&input.rate_bp) {
        return Err(Error::invalid(format!(
            "the rate of tax code {code} must be 0 to 10000 basis points (0 to 100 %), not {}",
            input.rate_bp
        )));
    }
    let account = input
        .account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            Error::invalid(format!(
                "tax code {code} needs the ledger account its tax posts to (account)"
            ))
        })?;
    check_account("account", account)?;
    let t = TaxCode {
        code: code.to_owned(),
        description: input
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        rate_bp: input.rate_bp,
        inclusive: input.inclusive,
        account: account.to_owned(),
    };
    store::put_tax_code(&t)?;
    Ok(t)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct TaxCodes {
    tax_codes: Vec<TaxCode>,
}

fn list_tax_codes(_: Empty) -> Result<TaxCodes> {
    Ok(TaxCodes {
        tax_codes: store::tax_codes()?,
    })
}

#[derive(Debug, Serialize)]
struct SetupLedger {
    created: Vec<String>,
    existing: Vec<String>,
}

/// Create in the ledger the accounts invoicing posts to, where missing: the settings'
/// accounts and every tax code's account.
fn setup_ledger(_: Empty) -> Result<SetupLedger> {
    let s = store::settings()?;
    let mut wanted: Vec<(String, &str)> = vec![
        (s.receivable_account.clone(), "asset"),
        (s.payable_account.clone(), "liability"),
        (s.revenue_account.clone(), "income"),
        (s.expense_account.clone(), "expense"),
        (s.bank_account.clone(), "asset"),
    ];
    if s.base_currency.is_some() {
        wanted.push((s.fx_gain_account.clone(), "income"));
        wanted.push((s.fx_loss_account.clone(), "expense"));
    }
    for t in store::tax_codes()? {
        if !wanted.iter().any(|(n, _)| *n == t.account) {
            wanted.push((t.account, "liability"));
        }
    }
    let listed: Value = plugins::call("ledger", "list-accounts", &json!({"include-closed": true}))?;
    let known: BTreeSet<String> = listed["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str().map(str::to_owned))
        .collect();
    let mut out = SetupLedger {
        created: Vec::new(),
        existing: Vec::new(),
    };
    for (name, kind) in wanted {
        if known.contains(&name) || out.created.contains(&name) {
            out.existing.push(name);
            continue;
        }
        let _: Value = plugins::call(
            "ledger",
            "create-account",
            &json!({"name": name, "type": kind, "description": "Created by invoicing setup-ledger"}),
        )?;
        out.created.push(name);
    }
    Ok(out)
}
