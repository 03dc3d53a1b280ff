//! Compliance findings with their filters and actions (acknowledge, resolve, waive).

use super::*;

/// The plugin these views read.
pub(super) const PLUGIN: &str = "compliance";

/// (label, path under the tenant, operation the link needs).
pub(super) const PAGES: &[(&str, &str, &str)] = &[("Compliance findings", PLUGIN, "list-findings")];

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/console/t/{tenant}/compliance", get(compliance))
        .route(
            "/console/t/{tenant}/compliance/{id}/{action}",
            post(finding_action),
        )
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
        .manifest(PLUGIN)
        .and_then(|m| m.operation(op))
        .and_then(|o| o.input["properties"][property]["enum"].as_array().cloned())
    {
        out.extend(values.iter().filter_map(|v| v.as_str().map(String::from)));
    }
    out
}

async fn compliance(cx: TenantSession, Query(q): Query<FindingQuery>) -> Page {
    let t = cx.page().await?;
    let tenant_id = &cx.tenant;
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
        .filter(|op| can(&t, &cx.session.principal, PLUGIN, op))
        .collect();
    let input = input_of(&[("severity", &q.severity), ("status", &q.status)]);
    match call(&cx, PLUGIN, "list-findings", input).await {
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
            let mut count_table = Table::new(
                "Findings by severity and status",
                &["Severity", "Status", "Findings"],
            );
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
            let mut table = Table::new(
                "Findings",
                &["Finding", "Severity", "Status", "Rule", "Summary", "Found"],
            );
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
            r.push_table(table);
        }
        Err(e) => r.error = Some(soft(e)?),
    }
    show(t, r)
}

async fn finding_action(form: TenantForm<(String, String, String)>) -> Page {
    let TenantForm {
        cx,
        path: (_, id, action),
        fields,
    } = form;
    if action != "acknowledge" && action != "resolve" {
        return Err(ConsoleError(HostError::NotFound(format!(
            "no finding action '{action}'; use acknowledge or resolve"
        ))));
    }
    let t = cx.page().await?;
    // Send the fields the operation's input declares: the finding's id and the reason.
    let schema = t
        .manifest(PLUGIN)
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
    let called = call(&cx, PLUGIN, &action, Value::Object(input)).await;
    back_after(
        called,
        &format!("/console/t/{}/compliance", cx.tenant),
        &format!("finding {id}: {action}d"),
    )
}
