//! Pay runs: the list with a form to create one, a run with its payslips and cost
//! chart, and the approval by a second person.

use super::*;

/// The plugin these views read.
pub(super) const PLUGIN: &str = "payroll";

/// (label, path under the tenant, operation the link needs).
pub(super) const PAGES: &[(&str, &str, &str)] = &[("Pay runs", "payroll/runs", "list-runs")];

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/console/t/{tenant}/payroll/runs", get(runs))
        .route("/console/t/{tenant}/payroll/runs/{id}", get(run))
        .route(
            "/console/t/{tenant}/payroll/runs/{id}/approve",
            post(approve),
        )
}

#[derive(Deserialize, Default)]
struct Flash {
    status: Option<String>,
    done: Option<String>,
    error: Option<String>,
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

/// The approval button of run `id` when it is a draft and the user may approve it.
fn approve_actions(may_approve: bool, status: &str, tenant: &str, id: &str) -> Vec<Action> {
    if may_approve && status == "draft" {
        vec![Action {
            label: format!("Approve {id}"),
            url: format!("/console/t/{tenant}/payroll/runs/{id}/approve"),
            input: None,
        }]
    } else {
        Vec::new()
    }
}

/// The headers of [`run_facts`].
const RUN_FACTS: [&str; 4] = ["Period", "Pay date", "Created by", "Approved by"];

/// The cells the list of runs and a run's page share: its period, pay date, and who
/// created and approved it.
fn run_facts(run: &Value) -> [Cell; 4] {
    let text = |field: &str| run[field].as_str().unwrap_or_default().to_string();
    [
        cell(format!(
            "{} to {}",
            text("period-start"),
            text("period-end")
        )),
        cell(text("pay-date")),
        cell(text("created-by")),
        cell(text("approved-by")),
    ]
}

async fn runs(cx: TenantSession, Query(q): Query<Flash>) -> Page {
    let t = cx.page().await?;
    let (session, tenant_id) = (&cx.session, &cx.tenant);
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
    if can(&t, &session.principal, PLUGIN, "create-run") {
        r.links.push((
            "Draft a new run".into(),
            format!("/console/t/{tenant_id}/p/payroll/create-run"),
        ));
    }
    let approver = can(&t, &session.principal, PLUGIN, "approve-run");
    let input = input_of(&[("status", &q.status)]);
    match call(&cx, PLUGIN, "list-runs", input).await {
        Ok(out) => {
            let headers = [
                &["Run", "Status", "Frequency"][..],
                &RUN_FACTS,
                &["Gross", "Employer cost"],
            ]
            .concat();
            let mut table = Table::new("Newest first", &headers);
            for run in out["runs"].as_array().into_iter().flatten() {
                let id = run["id"].as_str().unwrap_or_default();
                let status = run["status"].as_str().unwrap_or_default();
                let mut cells = vec![
                    link(id, format!("/console/t/{tenant_id}/payroll/runs/{id}")),
                    cell(status),
                    cell(run["frequency"].as_str().unwrap_or_default()),
                ];
                cells.extend(run_facts(run));
                cells.push(num(totals_text(&run["totals"], "gross")));
                cells.push(num(totals_text(&run["totals"], "employer-cost")));
                table.rows.push(Row {
                    cells,
                    actions: approve_actions(approver, status, tenant_id, id),
                    ..Row::default()
                });
            }
            r.push_table(table);
        }
        Err(e) => r.error = Some(soft(e)?),
    }
    show(t, r)
}

async fn run(
    cx: TenantSession,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Flash>,
) -> Page {
    let t = cx.page().await?;
    let tenant_id = &cx.tenant;
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
    let run = match call(&cx, PLUGIN, "get-run", json!({ "id": id })).await {
        Ok(run) => run,
        Err(e) => {
            r.error = Some(soft(e)?);
            return show(t, r);
        }
    };
    let slips = call(
        &cx,
        PLUGIN,
        "list-payslips",
        json!({ "run": id, "limit": 1000 }),
    )
    .await?;
    let status = run["status"].as_str().unwrap_or_default().to_string();
    let headers = [&["Status"][..], &RUN_FACTS, &["Ledger entry"]].concat();
    let mut facts = Table::new("", &headers);
    let mut cells = vec![cell(status.clone())];
    cells.extend(run_facts(&run));
    cells.push(match run["ledger-entry"].as_str() {
        Some(e) => link(
            e,
            format!(
                "/console/t/{tenant_id}/p/ledger/get-entry?id={}&_run=1",
                pct(e)
            ),
        ),
        None => cell(""),
    });
    let may_approve = can(&t, &cx.session.principal, PLUGIN, "approve-run");
    facts.rows.push(Row {
        cells,
        actions: approve_actions(may_approve, &status, tenant_id, &id),
        ..Row::default()
    });
    r.push_table(facts);
    // Each country pays in one currency; take it from the payslips.
    let mut currency_of: BTreeMap<String, String> = BTreeMap::new();
    let mut slips_table = Table::new(
        "Payslips",
        &[
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
    );
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
    let mut cost_table = Table::new(
        "Cost per country",
        &[
            "Country",
            "Employees",
            "Gross",
            "Employer contributions",
            "Employer cost",
        ],
    );
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
    r.push_table(slips_table);
    show(t, r)
}

async fn approve(form: TenantForm<(String, String)>) -> Page {
    let TenantForm {
        cx, path: (_, id), ..
    } = form;
    let called = call(&cx, PLUGIN, "approve-run", json!({ "id": id })).await;
    back_after(
        called,
        &format!("/console/t/{}/payroll/runs/{id}", cx.tenant),
        &format!("run {id} approved and posted"),
    )
}
