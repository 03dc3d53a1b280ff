//! Training status per department and person, with what expires soon.

use super::*;

/// The plugin these views read.
pub(super) const PLUGIN: &str = "training";

/// (label, path under the tenant, operation the link needs).
pub(super) const PAGES: &[(&str, &str, &str)] = &[("Training status", PLUGIN, "report")];

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/console/t/{tenant}/training", get(training))
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
    match call(&state, &session, &tenant_id, PLUGIN, "report", input).await {
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
