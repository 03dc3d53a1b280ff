//! Ledger reports: trial balance and balance sheet with drill-down to the account
//! register, and the register with its running-balance chart.

use super::*;

/// The plugin these views read.
pub(super) const PLUGIN: &str = "ledger";

/// (label, path under the tenant, operation the link needs).
pub(super) const PAGES: &[(&str, &str, &str)] = &[
    ("Trial balance", "ledger/trial-balance", "trial-balance"),
    ("Balance sheet", "ledger/balance-sheet", "balance-sheet"),
    ("Account register", "ledger/register", "register"),
];

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

/// `table` of a ledger report filled: a row per account of `rows`, its name linking to
/// its register, then the cells `amounts` makes of the row; last the row of `totals`.
fn accounts_table(
    tenant: &str,
    q: &LedgerQuery,
    mut table: Table,
    rows: &Value,
    amounts: impl Fn(&Value) -> Vec<Cell>,
    totals: Vec<Cell>,
) -> Table {
    for row in rows.as_array().into_iter().flatten() {
        let account = row["account"].as_str().unwrap_or_default();
        let mut cells = vec![link(account, register_href(tenant, account, &q.as_of))];
        cells.extend(amounts(row));
        table.rows.push(Row {
            cells,
            ..Row::default()
        });
    }
    let mut cells = vec![cell("Total")];
    cells.extend(totals);
    table.rows.push(Row {
        cells,
        total: true,
        ..Row::default()
    });
    table
}

/// The start of a ledger report page: the as-of and depth filters and the output of
/// the ledger `operation`, or the report already carrying the error to show.
async fn ledger_report(
    cx: &TenantSession,
    q: &LedgerQuery,
    title: &str,
    operation: &str,
) -> Result<(Tenant, Report, Option<Value>), ConsoleError> {
    let t = cx.page().await?;
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
    match call(cx, PLUGIN, operation, input).await {
        Ok(out) => Ok((t, r, Some(out))),
        Err(e) => {
            r.error = Some(soft(e)?);
            Ok((t, r, None))
        }
    }
}

async fn trial_balance(cx: TenantSession, Query(q): Query<LedgerQuery>) -> Page {
    let (t, mut r, out) = ledger_report(&cx, &q, "Trial balance", "trial-balance").await?;
    if let Some(out) = out {
        let table = accounts_table(
            &cx.tenant,
            &q,
            Table::new(
                "Debits and credits per account",
                &["Account", "Type", "Debit", "Credit"],
            ),
            &out["rows"],
            |row| {
                vec![
                    cell(row["type"].as_str().unwrap_or_default()),
                    num(amounts_text(&row["debit"])),
                    num(amounts_text(&row["credit"])),
                ]
            },
            vec![
                cell(""),
                num(amounts_text(&out["debit"])),
                num(amounts_text(&out["credit"])),
            ],
        );
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

async fn balance_sheet(cx: TenantSession, Query(q): Query<LedgerQuery>) -> Page {
    let (t, mut r, out) = ledger_report(&cx, &q, "Balance sheet", "balance-sheet").await?;
    if let Some(out) = out {
        for s in out["sections"].as_array().into_iter().flatten() {
            let table = accounts_table(
                &cx.tenant,
                &q,
                Table::new(
                    s["title"].as_str().unwrap_or_default().to_string(),
                    &["Account", "Balance"],
                ),
                &s["rows"],
                |row| vec![num(amounts_text(&row["amounts"]))],
                vec![num(amounts_text(&s["totals"]))],
            );
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

async fn register(cx: TenantSession, Query(q): Query<LedgerQuery>) -> Page {
    let t = cx.page().await?;
    let tenant_id = &cx.tenant;
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
    match call(&cx, PLUGIN, "register", input).await {
        Ok(out) => {
            let mut table = Table::new(
                format!("Opening balance: {}", amounts_text(&out["opening"])),
                &[
                    "Date",
                    "Entry",
                    "Description",
                    "Account",
                    "Amount",
                    "Balance",
                ],
            );
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
                        num(money_text(&row["amount"]).unwrap_or_default()),
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
