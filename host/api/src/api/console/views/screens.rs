//! Screens plugins declare in `plugin.toml` (`[[screens]]`, see
//! `backoffice_core::manifest::Screen`), rendered without host code of their own: the
//! console calls the screen's read-only operation as the signed-in user with its fixed
//! input plus the filters filled in, and shows the rows of the output as a table of
//! the declared columns (with links), a total row and a bar or line chart of one
//! numeric field.

use std::borrow::Cow;

use super::*;
use backoffice_host::manifest::{ChartKind, Column, ColumnFormat, Screen};

/// Path of a screen under the tenant's console.
pub(super) fn path(plugin: &str, screen: &str) -> String {
    format!("screens/{plugin}/{screen}")
}

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route(
        "/console/t/{tenant}/screens/{plugin}/{screen}",
        get(declared_screen),
    )
}

async fn declared_screen(
    cx: TenantSession,
    Path((_, plugin, name)): Path<(String, String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Page {
    let t = cx.page().await?;
    let Some((screen, op_input)) = t.manifest(&plugin).and_then(|m| {
        let s = m.screen(&name)?;
        Some((s.clone(), m.operation(&s.operation)?.input.clone()))
    }) else {
        return Err(HostError::NotFound(format!(
            "no screen '{name}' of plugin '{plugin}' for this company: the plugin is not enabled or declares no such screen"
        ))
        .into());
    };
    if !can(&t, &cx.session.principal, &plugin, &screen.operation) {
        return Err(HostError::Forbidden(format!(
            "the screen '{}' needs the permission to call {plugin} '{}'",
            screen.title, screen.operation
        ))
        .into());
    }
    let properties = &op_input["properties"];
    let mut input = Value::Object(screen.input.clone());
    let mut filters = Vec::with_capacity(screen.filters.len());
    for f in &screen.filters {
        let schema = &properties[f];
        let value = q.get(f).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(v) = value {
            input[f] = typed(schema, v);
        }
        filters.push(filter_of(f, schema, value));
    }
    let mut r = Report {
        title: screen.title.clone(),
        intro: (!screen.description.is_empty()).then(|| screen.description.clone()),
        filters,
        ..Report::default()
    };
    match call(&cx, &plugin, &screen.operation, input).await {
        Ok(out) => r
            .sections
            .push(section(&format!("/console/t/{}", cx.tenant), &screen, &out)),
        Err(e) => r.error = Some(soft(e)?),
    }
    show(t, r)
}

/// A filter's value as its schema's type wants it; what does not parse is passed as
/// text, for the operation's schema to refuse with its reason.
fn typed(schema: &Value, text: &str) -> Value {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"integer")
        && let Ok(n) = text.parse::<i64>()
    {
        return json!(n);
    }
    if types.contains(&"number")
        && let Ok(n) = text.parse::<f64>()
    {
        return json!(n);
    }
    if types.contains(&"boolean")
        && let Ok(b) = text.parse::<bool>()
    {
        return json!(b);
    }
    json!(text)
}

/// A GET filter for the input property `name`: a choice for an `enum`, a date, a
/// number or text.
fn filter_of(name: &str, schema: &Value, value: Option<&str>) -> Filter {
    let options: Vec<String> = schema["enum"]
        .as_array()
        .map(|values| {
            std::iter::once(String::new())
                .chain(values.iter().filter_map(|v| v.as_str().map(String::from)))
                .collect()
        })
        .unwrap_or_default();
    let kind = if !options.is_empty() {
        "select"
    } else if schema["format"] == "date" {
        "date"
    } else if schema["type"] == "integer" || schema["type"] == "number" {
        "number"
    } else {
        "text"
    };
    let label = schema["title"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| humanize(name));
    Filter {
        name: Cow::Owned(name.to_string()),
        label: Cow::Owned(label),
        kind,
        value: value.unwrap_or_default().to_string(),
        options,
    }
}

/// `as-of` as `As of`.
fn humanize(name: &str) -> String {
    let spaced = name.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The table (and chart) of the screen's output.
fn section(base: &str, screen: &Screen, out: &Value) -> Section {
    let rows_value = if screen.rows.is_empty() {
        out
    } else {
        &out[&screen.rows]
    };
    let rows = rows_value.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut table = Table {
        headers: screen
            .columns
            .iter()
            .map(|c| Cow::Owned(c.label.clone()))
            .collect(),
        ..Table::default()
    };
    for row in rows {
        table.rows.push(Row {
            cells: screen
                .columns
                .iter()
                .map(|c| cell_of(base, c, row))
                .collect(),
            ..Row::default()
        });
    }
    if let Some(total) = screen
        .total
        .as_deref()
        .map(|k| &out[k])
        .filter(|v| v.is_object())
    {
        let mut cells: Vec<Cell> = screen
            .columns
            .iter()
            .map(|c| Cell {
                href: None,
                ..cell_of(base, c, total)
            })
            .collect();
        if let Some(first) = cells.first_mut()
            && !screen.total_label.is_empty()
        {
            first.text.clone_from(&screen.total_label);
        }
        table.rows.push(Row {
            cells,
            total: true,
            ..Row::default()
        });
    }
    let svg = screen.chart.as_ref().map(|c| {
        let points: Vec<(String, f64)> = rows
            .iter()
            .filter_map(|r| Some((text_of(&r[&c.label]), r[&c.value].as_f64()?)))
            .collect();
        match c.kind {
            ChartKind::Bar => bar_chart(&c.title, &points, c.max),
            ChartKind::Line => line_chart(&c.title, &points),
        }
    });
    Section {
        heading: screen
            .chart
            .as_ref()
            .map(|c| c.title.clone())
            .unwrap_or_default(),
        chart: svg.and_then(chart),
        table: Some(table),
        ..Section::default()
    }
}

/// A value as cell text: strings as they are, null as nothing, the rest as JSON.
fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn cell_of(base: &str, c: &Column, row: &Value) -> Cell {
    let value = match &row[&c.field] {
        Value::Null => c.fallback.as_deref().map_or(&Value::Null, |f| &row[f]),
        v => v,
    };
    let (text, numeric) = match c.format {
        ColumnFormat::Percent => (
            value
                .as_f64()
                .map_or_else(|| "n/a".to_string(), |p| format!("{p:.1} %")),
            true,
        ),
        ColumnFormat::Number => (text_of(value), true),
        ColumnFormat::Text => (text_of(value), value.is_number()),
    };
    Cell {
        href: c.link.as_deref().and_then(|l| href(base, l, row)),
        text,
        num: numeric,
    }
}

/// `link` under `base` with each `{field}` replaced by the row's value, URL-encoded;
/// none when the row lacks one of them.
fn href(base: &str, link: &str, row: &Value) -> Option<String> {
    let mut out = format!("{base}/");
    let mut rest = link;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        out.push_str(&rest[..open]);
        let v = &row[&rest[open + 1..close]];
        if v.is_null() {
            return None;
        }
        out.push_str(&pct(&text_of(v)));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fill_in_row_values_and_skip_rows_without_them() {
        let row = json!({"key": "R&D", "n": 3});
        assert_eq!(
            href(
                "/console/t/acme",
                "screens/hr/people?team={key}&n={n}",
                &row
            )
            .as_deref(),
            Some("/console/t/acme/screens/hr/people?team=R%26D&n=3")
        );
        assert_eq!(href("/b", "x?y={missing}", &row), None);
    }

    #[test]
    fn filters_follow_the_input_schema() {
        let f = filter_of("as-of", &json!({"type": "string", "format": "date"}), None);
        assert_eq!((f.kind, f.label.as_ref()), ("date", "As of"));
        let f = filter_of("by", &json!({"enum": ["a", "b"]}), Some("b"));
        assert_eq!(
            (f.kind, f.options.len(), f.value.as_str()),
            ("select", 3, "b")
        );
        assert_eq!(typed(&json!({"type": "integer"}), "12"), json!(12));
        assert_eq!(typed(&json!({"type": "integer"}), "x"), json!("x"));
    }
}
