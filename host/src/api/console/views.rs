//! Dedicated views of bundled modules, where people would rather look than read:
//! ledger reports with drill-down to the register and a balance chart, pay runs with
//! payslips and a cost chart, training compliance per department, compliance
//! findings with their actions.
//!
//! Each view is an ordinary client of its module's operations, called through
//! [`crate::Host::invoke`] as the signed-in user, and is offered only when the module
//! is enabled, has the operations and the user holds their permissions. A view is
//! one function building a [`Report`] (filters, charts, tables, row actions) that
//! `report.html` renders, plus an entry in [`links`] and [`routes`].

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::pages::{Tenant, tenant};
use super::render::{amounts_text, bar_chart, line_chart};
use super::{ConsoleError, Fields, Page, Session, html, pct, ser, work};
use crate::api::ApiState;
use crate::auth::Principal;
use crate::error::HostError;
use crate::manifest::Manifest;

/// The dedicated views `principal` may open for `plugin`: (label, path under the
/// tenant).
pub(crate) fn links(plugin: &str, m: &Manifest, principal: &Principal) -> Vec<(String, String)> {
    let can = |op: &str| {
        m.operation(op)
            .is_some_and(|o| principal.has_permission(&o.permission))
    };
    let mut out = Vec::new();
    let mut add = |label: &str, path: &str| out.push((label.to_string(), path.to_string()));
    match plugin {
        "ledger" => {
            if can("trial-balance") {
                add("Trial balance", "ledger/trial-balance");
            }
            if can("balance-sheet") {
                add("Balance sheet", "ledger/balance-sheet");
            }
            if can("register") {
                add("Account register", "ledger/register");
            }
        }
        "payroll" if can("list-runs") => add("Pay runs", "payroll/runs"),
        "training" if can("report") => add("Training status", "training"),
        "compliance" if can("list-findings") => add("Compliance findings", "compliance"),
        _ => {}
    }
    out
}

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/console/t/{tenant}/ledger/trial-balance",
            get(trial_balance),
        )
        .route(
            "/console/t/{tenant}/ledger/balance-sheet",
            get(balance_sheet),
        )
        .route("/console/t/{tenant}/ledger/register", get(register))
        .route("/console/t/{tenant}/payroll/runs", get(runs))
        .route("/console/t/{tenant}/payroll/runs/{id}", get(run))
        .route(
            "/console/t/{tenant}/payroll/runs/{id}/approve",
            post(approve),
        )
        .route("/console/t/{tenant}/training", get(training))
        .route("/console/t/{tenant}/compliance", get(compliance))
        .route(
            "/console/t/{tenant}/compliance/{id}/{action}",
            post(finding_action),
        )
}

/// A filter of a report (a GET form).
#[derive(Serialize)]
struct Filter {
    name: &'static str,
    label: &'static str,
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
        name,
        label,
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
    headers: Vec<&'static str>,
    rows: Vec<Row>,
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
    state: &ApiState,
    session: &Session,
    tenant: &str,
    plugin: &str,
    operation: &str,
    input: Value,
) -> Result<Value, ConsoleError> {
    let (t, p, o, principal) = (
        tenant.to_string(),
        plugin.to_string(),
        operation.to_string(),
        session.principal.clone(),
    );
    work(state, move |host| {
        host.invoke(&t, &p, &o, &input.to_string(), &principal)
    })
    .await
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

#[derive(Deserialize, Default)]
struct LedgerQuery {
    #[serde(rename = "as-of")]
    as_of: Option<String>,
    depth: Option<String>,
    account: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn depth_of(q: &LedgerQuery, input: &mut Value) -> Result<(), String> {
    if let Some(d) = q.depth.as_deref().filter(|d| !d.is_empty()) {
        let n: u32 = d.parse().map_err(|_| {
            format!("depth '{d}' is not a whole number; leave it empty for every account")
        })?;
        input["depth"] = json!(n);
    }
    Ok(())
}

fn register_href(tenant: &str, account: &str, as_of: &Option<String>) -> String {
    let mut h = format!(
        "/console/t/{tenant}/ledger/register?account={}",
        pct(account)
    );
    if let Some(a) = as_of.as_deref().filter(|a| !a.is_empty()) {
        h.push_str(&format!("&to={}", pct(a)));
    }
    h
}

/// The start of a ledger report page: the as-of and depth filters and the output of
/// the ledger `operation`, or the report already carrying the error to show.
async fn ledger_report(
    state: &ApiState,
    session: &Session,
    tenant_id: &str,
    q: &LedgerQuery,
    title: &str,
    operation: &str,
) -> Result<(Tenant, Report, Option<Value>), ConsoleError> {
    let t = tenant(state, session, tenant_id).await?;
    let mut r = Report {
        title: title.into(),
        filters: vec![
            filter("as-of", "As of", "date", &q.as_of),
            filter("depth", "Depth", "number", &q.depth),
        ],
        ..Report::default()
    };
    let mut input = input_of(&[("as-of", &q.as_of)]);
    if let Err(e) = depth_of(q, &mut input) {
        r.error = Some(e);
        return Ok((t, r, None));
    }
    match call(state, session, tenant_id, "ledger", operation, input).await {
        Ok(out) => Ok((t, r, Some(out))),
        Err(e) => {
            r.error = Some(soft(e)?);
            Ok((t, r, None))
        }
    }
}

async fn trial_balance(
    State(state): State<ApiState>,
    session: Session,
    Path(tenant_id): Path<String>,
    Query(q): Query<LedgerQuery>,
) -> Page {
    let (t, mut r, out) = ledger_report(
        &state,
        &session,
        &tenant_id,
        &q,
        "Trial balance",
        "trial-balance",
    )
    .await?;
    if let Some(out) = out {
        let mut table = Table {
            caption: "Debits and credits per account".into(),
            headers: vec!["Account", "Type", "Debit", "Credit"],
            ..Table::default()
        };
        for row in out["rows"].as_array().into_iter().flatten() {
            let account = row["account"].as_str().unwrap_or_default();
            table.rows.push(Row {
                cells: vec![
                    link(account, register_href(&tenant_id, account, &q.as_of)),
                    cell(row["type"].as_str().unwrap_or_default()),
                    num(amounts_text(&row["debit"])),
                    num(amounts_text(&row["credit"])),
                ],
                ..Row::default()
            });
        }
        table.rows.push(Row {
            cells: vec![
                cell("Total"),
                cell(""),
                num(amounts_text(&out["debit"])),
                num(amounts_text(&out["credit"])),
            ],
            total: true,
            ..Row::default()
        });
        r.sections.push(Section {
                heading: String::new(),
                note: Some(if out["balanced"].as_bool().unwrap_or(false) {
                    "Debits equal credits in every currency.".into()
                } else {
                    "Debits and credits differ in some currency (entries with a conversion cost move value between currencies).".into()
                }),
                table: Some(table),
                ..Section::default()
            });
    }
    show(t, r)
}

async fn balance_sheet(
    State(state): State<ApiState>,
    session: Session,
    Path(tenant_id): Path<String>,
    Query(q): Query<LedgerQuery>,
) -> Page {
    let (t, mut r, out) = ledger_report(
        &state,
        &session,
        &tenant_id,
        &q,
        "Balance sheet",
        "balance-sheet",
    )
    .await?;
    if let Some(out) = out {
        for s in out["sections"].as_array().into_iter().flatten() {
            let mut table = Table {
                caption: s["title"].as_str().unwrap_or_default().to_string(),
                headers: vec!["Account", "Balance"],
                ..Table::default()
            };
            for row in s["rows"].as_array().into_iter().flatten() {
                let account = row["account"].as_str().unwrap_or_default();
                table.rows.push(Row {
                    cells: vec![
                        link(account, register_href(&tenant_id, account, &q.as_of)),
                        num(amounts_text(&row["amounts"])),
                    ],
                    ..Row::default()
                });
            }
            table.rows.push(Row {
                cells: vec![cell("Total"), num(amounts_text(&s["totals"]))],
                total: true,
                ..Row::default()
            });
            r.sections.push(Section {
                heading: s["title"].as_str().unwrap_or_default().to_string(),
                table: Some(table),
                ..Section::default()
            });
        }
        let net = amounts_text(&out["net"]);
        r.sections.push(Section {
            heading: "Net".into(),
            note: Some(if net.is_empty() {
                "Assets equal liabilities plus equity.".into()
            } else {
                format!("Income not yet closed to equity: {net}")
            }),
            ..Section::default()
        });
    }
    show(t, r)
}

fn number_of(formatted: &Value) -> Option<f64> {
    formatted.as_str()?.replace(',', "").parse().ok()
}

async fn register(
    State(state): State<ApiState>,
    session: Session,
    Path(tenant_id): Path<String>,
    Query(q): Query<LedgerQuery>,
) -> Page {
    let t = tenant(&state, &session, &tenant_id).await?;
    let mut r = Report {
        title: "Account register".into(),
        intro: Some("Postings to an account and its sub-accounts with the running balance. Pick an account in the trial balance or type its name.".into()),
        filters: vec![
            filter("account", "Account", "text", &q.account),
            filter("from", "From", "date", &q.from),
            filter("to", "To", "date", &q.to),
        ],
        ..Report::default()
    };
    let Some(account) = q.account.clone().filter(|a| !a.trim().is_empty()) else {
        return show(t, r);
    };
    r.title = format!("Register of {account}");
    let mut input = input_of(&[("account", &q.account), ("from", &q.from), ("to", &q.to)]);
    input["limit"] = json!(1000);
    match call(&state, &session, &tenant_id, "ledger", "register", input).await {
        Ok(out) => {
            let mut table = Table {
                caption: format!("Opening balance: {}", amounts_text(&out["opening"])),
                headers: vec![
                    "Date",
                    "Entry",
                    "Description",
                    "Account",
                    "Amount",
                    "Balance",
                ],
                ..Table::default()
            };
            // The chart follows the first currency of the closing balance.
            let currency = out["closing"][0]["currency"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let mut points: Vec<(String, f64)> = Vec::new();
            for row in out["rows"].as_array().into_iter().flatten() {
                let date = row["date"].as_str().unwrap_or_default().to_string();
                let entry = row["entry"].as_str().unwrap_or_default();
                if let Some(b) = row["balance"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["currency"] == currency.as_str())
                    .and_then(|a| number_of(&a["formatted"]))
                {
                    match points.last_mut() {
                        Some(last) if last.0 == date => last.1 = b,
                        _ => points.push((date.clone(), b)),
                    }
                }
                table.rows.push(Row {
                    cells: vec![
                        cell(date),
                        link(
                            entry,
                            format!(
                                "/console/t/{tenant_id}/p/ledger/get-entry?id={}&_run=1",
                                pct(entry)
                            ),
                        ),
                        cell(row["description"].as_str().unwrap_or_default()),
                        cell(row["account"].as_str().unwrap_or_default()),
                        num(super::render::money_text(&row["amount"]).unwrap_or_default()),
                        num(amounts_text(&row["balance"])),
                    ],
                    ..Row::default()
                });
            }
            // At most ~300 points: the chart stays light on long registers.
            let step = points.len().div_ceil(300).max(1);
            let last = points.last().cloned();
            let mut sampled: Vec<(String, f64)> = points.into_iter().step_by(step).collect();
            if let Some(last) = last
                && sampled.last().map(|p| &p.0) != Some(&last.0)
            {
                sampled.push(last);
            }
            let truncated = out["truncated"].as_bool().unwrap_or(false);
            r.sections.push(Section {
                heading: "Balance over time".into(),
                note: Some(format!(
                    "Closing balance: {}{}",
                    amounts_text(&out["closing"]),
                    if truncated { ". Only the first 1000 postings are shown: narrow the dates to see the rest." } else { "" }
                )),
                chart: chart(line_chart(&format!("Balance of {account} in {currency}"), &sampled)),
                table: Some(table),
            });
        }
        Err(e) => r.error = Some(soft(e)?),
    }
    show(t, r)
}

#[derive(Deserialize, Default)]
struct Flash {
    status: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

fn can(t: &Tenant, principal: &Principal, plugin: &str, op: &str) -> bool {
    t.manifest(plugin)
        .and_then(|m| m.operation(op))
        .is_some_and(|o| principal.has_permission(&o.permission))
}

fn totals_text(totals: &Value, field: &str) -> String {
    totals
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(cur, t)| format!("{} {cur}", major(t[field].as_i64().unwrap_or(0), cur)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
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

fn approve_action(tenant: &str, id: &str) -> Action {
    Action {
        label: format!("Approve {id}"),
        url: format!("/console/t/{tenant}/payroll/runs/{id}/approve"),
        input: None,
    }
}

async fn runs(
    State(state): State<ApiState>,
    session: Session,
    Path(tenant_id): Path<String>,
    Query(q): Query<Flash>,
) -> Page {
    let t = tenant(&state, &session, &tenant_id).await?;
    let mut f = filter("status", "Status", "select", &q.status);
    f.options = vec![String::new(), "draft".into(), "posted".into()];
    let mut r = Report {
        title: "Pay runs".into(),
        intro: Some("Runs are drafted, approved by a second person, then posted to the ledger in one entry.".into()),
        filters: vec![f],
        done: q.done.clone(),
        error: q.error.clone(),
        ..Report::default()
    };
    if can(&t, &session.principal, "payroll", "create-run") {
        r.links.push((
            "Draft a new run".into(),
            format!("/console/t/{tenant_id}/p/payroll/create-run"),
        ));
    }
    let approver = can(&t, &session.principal, "payroll", "approve-run");
    let input = input_of(&[("status", &q.status)]);
    match call(&state, &session, &tenant_id, "payroll", "list-runs", input).await {
        Ok(out) => {
            let mut table = Table {
                caption: "Newest first".into(),
                headers: vec![
                    "Run",
                    "Status",
                    "Frequency",
                    "Period",
                    "Pay date",
                    "Created by",
                    "Approved by",
                    "Gross",
                    "Employer cost",
                ],
                ..Table::default()
            };
            for run in out["runs"].as_array().into_iter().flatten() {
                let id = run["id"].as_str().unwrap_or_default();
                let status = run["status"].as_str().unwrap_or_default();
                table.rows.push(Row {
                    cells: vec![
                        link(id, format!("/console/t/{tenant_id}/payroll/runs/{id}")),
                        cell(status),
                        cell(run["frequency"].as_str().unwrap_or_default()),
                        cell(format!(
                            "{} to {}",
                            run["period-start"].as_str().unwrap_or_default(),
                            run["period-end"].as_str().unwrap_or_default()
                        )),
                        cell(run["pay-date"].as_str().unwrap_or_default()),
                        cell(run["created-by"].as_str().unwrap_or_default()),
                        cell(run["approved-by"].as_str().unwrap_or_default()),
                        num(totals_text(&run["totals"], "gross")),
                        num(totals_text(&run["totals"], "employer-cost")),
                    ],
                    actions: if approver && status == "draft" {
                        vec![approve_action(&tenant_id, id)]
                    } else {
                        Vec::new()
                    },
                    ..Row::default()
                });
            }
            r.sections.push(Section {
                table: Some(table),
                ..Section::default()
            });
        }
        Err(e) => r.error = Some(soft(e)?),
    }
    show(t, r)
}

async fn run(
    State(state): State<ApiState>,
    session: Session,
    Path((tenant_id, id)): Path<(String, String)>,
    Query(q): Query<Flash>,
) -> Page {
    let t = tenant(&state, &session, &tenant_id).await?;
    let mut r = Report {
        title: format!("Pay run {id}"),
        done: q.done.clone(),
        error: q.error.clone(),
        links: vec![(
            "All runs".into(),
            format!("/console/t/{tenant_id}/payroll/runs"),
        )],
        ..Report::default()
    };
    let run = match call(
        &state,
        &session,
        &tenant_id,
        "payroll",
        "get-run",
        json!({ "id": id }),
    )
    .await
    {
        Ok(run) => run,
        Err(e) => {
            r.error = Some(soft(e)?);
            return show(t, r);
        }
    };
    let slips = call(
        &state,
        &session,
        &tenant_id,
        "payroll",
        "list-payslips",
        json!({ "run": id, "limit": 1000 }),
    )
    .await?;
    let status = run["status"].as_str().unwrap_or_default().to_string();
    let mut facts = Table {
        caption: String::new(),
        headers: vec![
            "Status",
            "Period",
            "Pay date",
            "Created by",
            "Approved by",
            "Ledger entry",
        ],
        ..Table::default()
    };
    facts.rows.push(Row {
        cells: vec![
            cell(status.clone()),
            cell(format!(
                "{} to {}",
                run["period-start"].as_str().unwrap_or_default(),
                run["period-end"].as_str().unwrap_or_default()
            )),
            cell(run["pay-date"].as_str().unwrap_or_default()),
            cell(run["created-by"].as_str().unwrap_or_default()),
            cell(run["approved-by"].as_str().unwrap_or_default()),
            match run["ledger-entry"].as_str() {
                Some(e) => link(
                    e,
                    format!(
                        "/console/t/{tenant_id}/p/ledger/get-entry?id={}&_run=1",
                        pct(e)
                    ),
                ),
                None => cell(""),
            },
        ],
        actions: if status == "draft" && can(&t, &session.principal, "payroll", "approve-run") {
            vec![approve_action(&tenant_id, &id)]
        } else {
            Vec::new()
        },
        ..Row::default()
    });
    r.sections.push(Section {
        table: Some(facts),
        ..Section::default()
    });
    // Each country pays in one currency; take it from the payslips.
    let mut currency_of: BTreeMap<String, String> = BTreeMap::new();
    let mut slips_table = Table {
        caption: "Payslips".into(),
        headers: vec![
            "Employee",
            "Name",
            "Country",
            "Department",
            "Gross",
            "Employee taxes",
            "Employee contributions",
            "Employer contributions",
            "Net",
        ],
        ..Table::default()
    };
    for s in slips["payslips"].as_array().into_iter().flatten() {
        let cur = s["currency"].as_str().unwrap_or_default();
        let country = s["country"].as_str().unwrap_or_default();
        currency_of.insert(country.to_string(), cur.to_string());
        let emp = s["employee"].as_str().unwrap_or_default();
        let m = |f: &str| num(format!("{} {cur}", major(s[f].as_i64().unwrap_or(0), cur)));
        slips_table.rows.push(Row {
            cells: vec![
                link(
                    emp,
                    format!(
                        "/console/t/{tenant_id}/p/payroll/get-payslip?run={}&employee={}&_run=1",
                        pct(&id),
                        pct(emp)
                    ),
                ),
                cell(s["name"].as_str().unwrap_or_default()),
                cell(country),
                cell(s["department"].as_str().unwrap_or_default()),
                m("gross"),
                m("employee-taxes"),
                m("employee-contributions"),
                m("employer-contributions"),
                m("net"),
            ],
            ..Row::default()
        });
    }
    let mut bars = Vec::new();
    let mut cost_table = Table {
        caption: "Cost per country".into(),
        headers: vec![
            "Country",
            "Employees",
            "Gross",
            "Employer contributions",
            "Employer cost",
        ],
        ..Table::default()
    };
    for (country, tot) in run["countries"].as_object().into_iter().flatten() {
        let cur = currency_of.get(country).cloned().unwrap_or_default();
        let cost = tot["employer-cost"].as_i64().unwrap_or(0);
        bars.push((
            format!("{country} ({cur})"),
            cost as f64 / 10f64.powi(i32::from(exponent(&cur))),
        ));
        let m = |f: &str| {
            num(format!(
                "{} {cur}",
                major(tot[f].as_i64().unwrap_or(0), &cur)
            ))
        };
        cost_table.rows.push(Row {
            cells: vec![
                cell(country.clone()),
                num(tot["employees"].to_string()),
                m("gross"),
                m("employer-contributions"),
                m("employer-cost"),
            ],
            ..Row::default()
        });
    }
    r.sections.push(Section {
        heading: "Employer cost per country".into(),
        note: Some(
            "Gross pay plus employer contributions, each country in its own currency.".into(),
        ),
        chart: chart(bar_chart("Employer cost per country", &bars, None)),
        table: Some(cost_table),
    });
    r.sections.push(Section {
        table: Some(slips_table),
        ..Section::default()
    });
    show(t, r)
}

async fn approve(
    State(state): State<ApiState>,
    session: Session,
    Path((tenant_id, id)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Page {
    session.check(&fields)?;
    let back = format!("/console/t/{tenant_id}/payroll/runs/{id}");
    match call(
        &state,
        &session,
        &tenant_id,
        "payroll",
        "approve-run",
        json!({ "id": id }),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "{back}?done={}",
            pct(&format!("run {id} approved and posted"))
        ))
        .into_response()),
        Err(e) => {
            let m = match e.0 {
                HostError::Forbidden(m) => m,
                other => soft(ConsoleError(other))?,
            };
            Ok(Redirect::to(&format!("{back}?error={}", pct(&m))).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
struct TrainingQuery {
    #[serde(rename = "as-of")]
    as_of: Option<String>,
    department: Option<String>,
}

async fn training(
    State(state): State<ApiState>,
    session: Session,
    Path(tenant_id): Path<String>,
    Query(q): Query<TrainingQuery>,
) -> Page {
    let t = tenant(&state, &session, &tenant_id).await?;
    let mut r = Report {
        title: "Training status by department".into(),
        intro: Some(
            "Compliance is valid and expiring certifications over required courses.".into(),
        ),
        filters: vec![
            filter("as-of", "As of", "date", &q.as_of),
            filter("department", "Department", "text", &q.department),
        ],
        ..Report::default()
    };
    let mut input = input_of(&[("as-of", &q.as_of), ("department", &q.department)]);
    input["by"] = json!("department");
    match call(&state, &session, &tenant_id, "training", "report", input).await {
        Ok(out) => {
            let mut table = Table {
                caption: format!("As of {}", out["as-of"].as_str().unwrap_or_default()),
                headers: vec![
                    "Department",
                    "Required",
                    "Valid",
                    "Expiring",
                    "Expired",
                    "Overdue",
                    "Assigned",
                    "Compliance",
                ],
                ..Table::default()
            };
            let pct_text = |v: &Value| {
                v.as_f64()
                    .map(|p| format!("{p:.1} %"))
                    .unwrap_or_else(|| "n/a".into())
            };
            let mut bars = Vec::new();
            let rows = out["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| (false, g));
            for (total, g) in rows.chain(std::iter::once((true, &out["total"]))) {
                let name = if total {
                    "All departments".to_string()
                } else {
                    g["name"]
                        .as_str()
                        .or(g["key"].as_str())
                        .unwrap_or_default()
                        .to_string()
                };
                if !total && let Some(p) = g["compliance-percent"].as_f64() {
                    bars.push((name.clone(), p));
                }
                let n = |f: &str| num(g[f].to_string());
                table.rows.push(Row {
                    cells: vec![
                        cell(name),
                        n("required"),
                        n("valid"),
                        n("expiring"),
                        n("expired"),
                        n("overdue"),
                        n("assigned"),
                        num(pct_text(&g["compliance-percent"])),
                    ],
                    total,
                    ..Row::default()
                });
            }
            r.sections.push(Section {
                heading: "Compliance per department".into(),
                chart: chart(bar_chart(
                    "Training compliance per department, percent",
                    &bars,
                    Some(100.0),
                )),
                table: Some(table),
                ..Section::default()
            });
        }
        Err(e) => r.error = Some(soft(e)?),
    }
    show(t, r)
}

#[derive(Deserialize, Default)]
struct FindingQuery {
    severity: Option<String>,
    status: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

/// Enum values of a property of an operation's input, for the filter selects.
fn options_of(t: &Tenant, op: &str, property: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    if let Some(values) = t
        .manifest("compliance")
        .and_then(|m| m.operation(op))
        .and_then(|o| o.input["properties"][property]["enum"].as_array().cloned())
    {
        out.extend(values.iter().filter_map(|v| v.as_str().map(String::from)));
    }
    out
}

async fn compliance(
    State(state): State<ApiState>,
    session: Session,
    Path(tenant_id): Path<String>,
    Query(q): Query<FindingQuery>,
) -> Page {
    let t = tenant(&state, &session, &tenant_id).await?;
    let mut severity = filter("severity", "Severity", "select", &q.severity);
    severity.options = options_of(&t, "list-findings", "severity");
    let mut status = filter("status", "Status", "select", &q.status);
    status.options = options_of(&t, "list-findings", "status");
    let mut r = Report {
        title: "Compliance findings".into(),
        filters: vec![severity, status],
        done: q.done.clone(),
        error: q.error.clone(),
        ..Report::default()
    };
    let actions: Vec<&str> = ["acknowledge", "resolve"]
        .into_iter()
        .filter(|op| can(&t, &session.principal, "compliance", op))
        .collect();
    let input = input_of(&[("severity", &q.severity), ("status", &q.status)]);
    match call(
        &state,
        &session,
        &tenant_id,
        "compliance",
        "list-findings",
        input,
    )
    .await
    {
        Ok(out) => {
            let findings: Vec<&Value> = out["findings"].as_array().into_iter().flatten().collect();
            // Counts by severity and status, and the open ones as a chart.
            let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
            for f in &findings {
                let key = (
                    f["severity"].as_str().unwrap_or("?").to_string(),
                    f["status"].as_str().unwrap_or("?").to_string(),
                );
                *counts.entry(key).or_default() += 1;
            }
            let mut by_severity: BTreeMap<String, f64> = BTreeMap::new();
            let mut count_table = Table {
                caption: "Findings by severity and status".into(),
                headers: vec!["Severity", "Status", "Findings"],
                ..Table::default()
            };
            for ((sev, st), n) in &counts {
                if st != "resolved" {
                    *by_severity.entry(sev.clone()).or_default() += *n as f64;
                }
                count_table.rows.push(Row {
                    cells: vec![cell(sev.clone()), cell(st.clone()), num(n.to_string())],
                    ..Row::default()
                });
            }
            r.sections.push(Section {
                heading: "Summary".into(),
                chart: chart(bar_chart(
                    "Unresolved findings by severity",
                    &by_severity.into_iter().collect::<Vec<_>>(),
                    None,
                )),
                table: Some(count_table),
                ..Section::default()
            });
            let mut table = Table {
                caption: "Findings".into(),
                headers: vec!["Finding", "Severity", "Status", "Rule", "Summary", "Found"],
                ..Table::default()
            };
            for f in findings {
                let id = f["id"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| f["id"].to_string());
                let st = f["status"].as_str().unwrap_or_default();
                let text = |k: &[&str]| {
                    k.iter()
                        .find_map(|k| f[*k].as_str())
                        .unwrap_or_default()
                        .to_string()
                };
                table.rows.push(Row {
                    cells: vec![
                        cell(id.clone()),
                        cell(text(&["severity"])),
                        cell(st),
                        cell(text(&["rule", "check"])),
                        cell(text(&["summary", "title", "description", "message"])),
                        cell(text(&[
                            "last-seen",
                            "found-at",
                            "detected-at",
                            "created-at",
                            "at",
                        ])),
                    ],
                    actions: actions
                        .iter()
                        .filter(|a| {
                            st != "resolved" && !(**a == "acknowledge" && st == "acknowledged")
                        })
                        .map(|a| Action {
                            label: format!("{}{} {id}", a[..1].to_uppercase(), &a[1..]),
                            url: format!("/console/t/{tenant_id}/compliance/{}/{a}", pct(&id)),
                            input: Some("reason"),
                        })
                        .collect(),
                    ..Row::default()
                });
            }
            r.sections.push(Section {
                table: Some(table),
                ..Section::default()
            });
        }
        Err(e) => r.error = Some(soft(e)?),
    }
    show(t, r)
}

async fn finding_action(
    State(state): State<ApiState>,
    session: Session,
    Path((tenant_id, id, action)): Path<(String, String, String)>,
    Form(fields): Form<Fields>,
) -> Page {
    session.check(&fields)?;
    if action != "acknowledge" && action != "resolve" {
        return Err(ConsoleError(HostError::NotFound(format!(
            "no finding action '{action}'; use acknowledge or resolve"
        ))));
    }
    let t = tenant(&state, &session, &tenant_id).await?;
    // Send the fields the operation's input declares: the finding's id and the reason.
    let schema = t
        .manifest("compliance")
        .and_then(|m| m.operation(&action))
        .map(|o| o.input.clone())
        .unwrap_or_default();
    let mut input = serde_json::Map::new();
    let declared = |k: &str| schema["properties"].get(k).is_some();
    input.insert("id".into(), json!(id));
    let reason = fields
        .iter()
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    if !reason.is_empty() {
        for k in ["reason", "note", "comment"] {
            if declared(k) {
                input.insert(k.into(), json!(reason));
                break;
            }
        }
    }
    let back = format!("/console/t/{tenant_id}/compliance");
    match call(
        &state,
        &session,
        &tenant_id,
        "compliance",
        &action,
        Value::Object(input),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "{back}?done={}",
            pct(&format!("finding {id}: {action}d"))
        ))
        .into_response()),
        Err(e) => {
            let m = match e.0 {
                HostError::Forbidden(m) => m,
                other => soft(ConsoleError(other))?,
            };
            Ok(Redirect::to(&format!("{back}?error={}", pct(&m))).into_response())
        }
    }
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
