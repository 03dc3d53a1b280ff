//! Dedicated views of bundled modules, where people would rather look than read and
//! the generic renderer of declared screens (`screens.rs`, `[[screens]]` in a
//! plugin's manifest) cannot show them: ledger reports with drill-down from several
//! calls, pay runs with payslips and approval, compliance findings with their
//! actions. Training's status per department is a declared screen.
//!
//! Each view is an ordinary client of its module's operations, called through
//! [`backoffice_host::Host::invoke`] as the signed-in user, and is offered only when the module
//! is enabled, has the operations and the user holds their permissions. A view is
//! one function building a [`Report`] (filters, charts, tables, row actions) that
//! `report.html` renders. Each module's views live in a file of their own
//! (`ledger.rs`, `payroll.rs`, `compliance.rs`) with the plugin id they
//! read, the pages they offer and their routes; [`MODULES`] lists the files, and
//! [`links`] and [`routes`] read only that list.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::pages::Tenant;
use super::render::{amounts_text, bar_chart, line_chart, money_text};
use super::{ConsoleError, Page, TenantForm, TenantSession, html, pct, ser, work};
use crate::api::ApiState;
use backoffice_host::auth::Principal;
use backoffice_host::error::HostError;
use backoffice_host::manifest::Manifest;

mod compliance;
mod ledger;
mod payroll;
mod screens;

/// A module's dedicated views: the plugin they read, the pages they offer (label,
/// path under the tenant, and the operation the user must be allowed to call for the
/// link to show) and their routes. Each module's file holds all three.
struct Module {
    plugin: &'static str,
    pages: &'static [(&'static str, &'static str, &'static str)],
    routes: fn() -> Router<ApiState>,
}

const MODULES: &[Module] = &[
    Module {
        plugin: ledger::PLUGIN,
        pages: ledger::PAGES,
        routes: ledger::routes,
    },
    Module {
        plugin: payroll::PLUGIN,
        pages: payroll::PAGES,
        routes: payroll::routes,
    },
    Module {
        plugin: compliance::PLUGIN,
        pages: compliance::PAGES,
        routes: compliance::routes,
    },
];

/// The dedicated views and declared screens `principal` may open for `plugin`:
/// (label, path under the tenant).
pub(crate) fn links(plugin: &str, m: &Manifest, principal: &Principal) -> Vec<(String, String)> {
    let allowed = |op: &str| {
        m.operation(op)
            .is_some_and(|o| principal.has_permission(&o.permission))
    };
    MODULES
        .iter()
        .filter(|module| module.plugin == plugin)
        .flat_map(|module| module.pages)
        .filter(|(_, _, op)| allowed(op))
        .map(|(label, path, _)| (label.to_string(), path.to_string()))
        .chain(
            m.screens
                .iter()
                .filter(|s| allowed(&s.operation))
                .map(|s| (s.title.clone(), screens::path(plugin, &s.name))),
        )
        .collect()
}

pub(super) fn routes() -> Router<ApiState> {
    MODULES
        .iter()
        .fold(Router::new(), |router, module| {
            router.merge((module.routes)())
        })
        .merge(screens::routes())
}

/// A filter of a report (a GET form).
#[derive(Serialize)]
struct Filter {
    name: std::borrow::Cow<'static, str>,
    label: std::borrow::Cow<'static, str>,
    kind: &'static str,
    value: String,
    options: Vec<String>,
}

fn filter(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    value: &Option<String>,
) -> Filter {
    Filter {
        name: name.into(),
        label: label.into(),
        kind,
        value: value.clone().unwrap_or_default(),
        options: Vec::new(),
    }
}

#[derive(Serialize, Default)]
struct Cell {
    text: String,
    href: Option<String>,
    num: bool,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        ..Cell::default()
    }
}

fn num(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        num: true,
        ..Cell::default()
    }
}

fn link(text: impl Into<String>, href: String) -> Cell {
    Cell {
        text: text.into(),
        href: Some(href),
        num: false,
    }
}

/// A button posting to `url` (with the session's CSRF token), optionally with a
/// text input (`reason`).
#[derive(Serialize)]
struct Action {
    label: String,
    url: String,
    input: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Row {
    cells: Vec<Cell>,
    actions: Vec<Action>,
    total: bool,
}

#[derive(Serialize, Default)]
struct Table {
    caption: String,
    headers: Vec<std::borrow::Cow<'static, str>>,
    rows: Vec<Row>,
}

impl Table {
    /// A table with a caption and literal column headers, its rows still to come.
    fn new(caption: impl Into<String>, headers: &[&'static str]) -> Table {
        Table {
            caption: caption.into(),
            headers: headers
                .iter()
                .map(|&h| std::borrow::Cow::Borrowed(h))
                .collect(),
            rows: Vec::new(),
        }
    }
}

#[derive(Serialize, Default)]
struct Section {
    heading: String,
    note: Option<String>,
    chart: Option<minijinja::Value>,
    table: Option<Table>,
}

#[derive(Serialize, Default)]
struct Report {
    title: String,
    intro: Option<String>,
    links: Vec<(String, String)>,
    filters: Vec<Filter>,
    sections: Vec<Section>,
    error: Option<String>,
    done: Option<String>,
}

impl Report {
    /// Add a section holding only `table`.
    fn push_table(&mut self, table: Table) {
        self.sections.push(Section {
            table: Some(table),
            ..Section::default()
        });
    }
}

fn chart(svg: String) -> Option<minijinja::Value> {
    (!svg.is_empty()).then(|| minijinja::Value::from_safe_string(svg))
}

fn show(t: Tenant, r: Report) -> Page {
    let status = if r.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(html(
        status,
        "report.html",
        minijinja::context! { title => r.title.clone(), base => ser(&t.base), report => ser(&r) },
    ))
}

/// Call an operation as the signed-in user.
async fn call(
    cx: &TenantSession,
    plugin: &str,
    operation: &str,
    input: Value,
) -> Result<Value, ConsoleError> {
    let (t, p, o, principal) = (
        cx.tenant.clone(),
        plugin.to_string(),
        operation.to_string(),
        cx.session.principal.clone(),
    );
    work(&cx.state, move |host| {
        host.invoke(&t, &p, &o, &input.to_string(), &principal)
    })
    .await
}

/// Back to the page at `back` after a row's action: saying it was `done`, or why it
/// was refused or failed where the user can act on it.
fn back_after(called: Result<Value, ConsoleError>, back: &str, done: &str) -> Page {
    let query = match called {
        Ok(_) => format!("done={}", pct(done)),
        Err(e) => {
            let m = match e.0 {
                HostError::Forbidden(m) => m,
                other => soft(ConsoleError(other))?,
            };
            format!("error={}", pct(&m))
        }
    };
    Ok(Redirect::to(&format!("{back}?{query}")).into_response())
}

/// Report errors the user can act on (bad filter, not found) on the page itself.
fn soft(e: ConsoleError) -> Result<String, ConsoleError> {
    match e.0 {
        HostError::InvalidInput(m) | HostError::NotFound(m) | HostError::Conflict(m) => Ok(m),
        HostError::Call { .. } if e.0.http_status() < 500 => Ok(e.0.to_string()),
        _ => Err(e),
    }
}

/// Put the non-empty query values into an input object.
fn input_of(pairs: &[(&str, &Option<String>)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            m.insert((*k).to_string(), json!(v));
        }
    }
    Value::Object(m)
}

fn can(t: &Tenant, principal: &Principal, plugin: &str, op: &str) -> bool {
    t.manifest(plugin)
        .and_then(|m| m.operation(op))
        .is_some_and(|o| principal.has_permission(&o.permission))
}

/// Minor units as a decimal in the currency's ISO 4217 exponent (the SDK's table).
fn major(minor: i64, currency: &str) -> String {
    backoffice_currency::format_minor(minor, exponent(currency))
}

/// The currency's minor-unit exponent; a code the table lacks is shown with two
/// decimals, the most common exponent.
fn exponent(currency: &str) -> u8 {
    backoffice_currency::exponent(currency).unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_print_with_the_currency_exponent() {
        assert_eq!(major(123456, "EUR"), "1234.56");
        assert_eq!(major(-5, "USD"), "-0.05");
        assert_eq!(major(1500, "JPY"), "1500");
        assert_eq!(major(1234, "KWD"), "1.234");
        // Zero-decimal currencies the console's own list used to lack.
        assert_eq!(major(1234, "GNF"), "1234");
        assert_eq!(major(1234, "RWF"), "1234");
    }
}
