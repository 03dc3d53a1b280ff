//! Rendering JSON output as readable HTML, and charts as inline SVG drawn on the
//! server (no script, nothing fetched).
//!
//! A list of records becomes a table; an object becomes key-value sections; an amount
//! object (`{"amount", "currency", "formatted"}`) is shown as `1,000.00 EUR`.

use serde_json::{Map, Value};

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn label(key: &str) -> String {
    let s = key.replace(['-', '_'], " ");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// An amount as the ledger reports it: `{"amount", "currency", "formatted"}`.
pub fn money_text(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    let currency = o.get("currency")?.as_str()?;
    let formatted = match o.get("formatted") {
        Some(Value::String(f)) => f.clone(),
        _ => o.get("amount")?.as_i64()?.to_string(),
    };
    Some(format!("{formatted} {currency}"))
}

/// A list of amounts on one line.
pub fn amounts_text(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(money_text)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.into()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.iter().all(|x| money_text(x).is_some()) => Some(amounts_text(v)),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            Some(a.iter().filter_map(scalar).collect::<Vec<_>>().join(", "))
        }
        Value::Object(_) => money_text(v),
        Value::Array(_) => None,
    }
}

/// The output of an operation as HTML.
pub fn output(v: &Value) -> String {
    let mut out = String::new();
    value(v, 2, &mut out);
    out
}

fn value(v: &Value, level: u8, out: &mut String) {
    if let Some(s) = scalar(v) {
        out.push_str(&format!("<p class=\"scalar\">{}</p>", esc(&s)));
        return;
    }
    match v {
        Value::Array(rows) if rows.iter().all(Value::is_object) => table(rows, out),
        Value::Array(items) => {
            out.push_str("<ol>");
            for item in items {
                out.push_str("<li>");
                value(item, level.saturating_add(1), out);
                out.push_str("</li>");
            }
            out.push_str("</ol>");
        }
        Value::Object(map) => object(map, level, out),
        _ => {}
    }
}

fn object(map: &Map<String, Value>, level: u8, out: &mut String) {
    let (simple, nested): (Vec<_>, Vec<_>) = map.iter().partition(|(_, v)| scalar(v).is_some());
    if !simple.is_empty() {
        out.push_str("<dl class=\"kv\">");
        for (k, v) in simple {
            out.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                esc(&label(k)),
                esc(&scalar(v).unwrap_or_default())
            ));
        }
        out.push_str("</dl>");
    }
    let h = level.min(6);
    for (k, v) in nested {
        out.push_str(&format!("<section><h{h}>{}</h{h}>", esc(&label(k))));
        value(v, level.saturating_add(1), out);
        out.push_str("</section>");
    }
}

fn table(rows: &[Value], out: &mut String) {
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">Nothing to show.</p>");
        return;
    }
    let mut columns: Vec<&String> = Vec::new();
    for row in rows {
        if let Some(o) = row.as_object() {
            for k in o.keys() {
                if !columns.contains(&k) {
                    columns.push(k);
                }
            }
        }
    }
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for c in &columns {
        out.push_str(&format!("<th scope=\"col\">{}</th>", esc(&label(c))));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in &columns {
            let cell = row.get(c.as_str()).unwrap_or(&Value::Null);
            let class = if cell.is_number() {
                " class=\"num\""
            } else {
                ""
            };
            let text = scalar(cell).unwrap_or_else(|| cell.to_string());
            out.push_str(&format!("<td{class}>{}</td>", esc(&text)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const PAD_L: f64 = 72.0;
const PAD_B: f64 = 40.0;
const PAD_T: f64 = 16.0;

fn tick(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v.abs() >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart of `points` (label, value) in order, as an accessible SVG.
pub fn line_chart(title: &str, points: &[(String, f64)]) -> String {
    if points.is_empty() {
        return String::new();
    }
    let lo = points
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = points
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max)
        .max(0.0);
    let span = if hi - lo == 0.0 { 1.0 } else { hi - lo };
    let plot_w = W - PAD_L - 8.0;
    let plot_h = H - PAD_B - PAD_T;
    let x = |i: usize| {
        PAD_L
            + if points.len() == 1 {
                plot_w / 2.0
            } else {
                plot_w * i as f64 / (points.len() - 1) as f64
            }
    };
    let y = |v: f64| PAD_T + plot_h * (hi - v) / span;
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
        .collect();
    let mut svg = svg_open(title);
    axes(&mut svg, lo, hi, y);
    svg.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    ));
    let (first, last) = (&points[0], &points[points.len() - 1]);
    svg.push_str(&format!(
        "<text x=\"{PAD_L}\" y=\"{}\" class=\"lbl\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"lbl\">{}</text>",
        H - 12.0,
        esc(&first.0),
        W - 8.0,
        H - 12.0,
        esc(&last.0)
    ));
    svg.push_str("</svg>");
    svg
}

/// A bar chart of `bars` (label, value); `max` fixes the scale (100 for percentages).
pub fn bar_chart(title: &str, bars: &[(String, f64)], max: Option<f64>) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let hi = max.unwrap_or_else(|| bars.iter().map(|b| b.1).fold(0.0, f64::max));
    let hi = if hi <= 0.0 { 1.0 } else { hi };
    let plot_w = W - PAD_L - 8.0;
    let plot_h = H - PAD_B - PAD_T;
    let slot = plot_w / bars.len() as f64;
    let bar_w = (slot * 0.6).min(80.0);
    let y = |v: f64| PAD_T + plot_h * (hi - v) / hi;
    let mut svg = svg_open(title);
    axes(&mut svg, 0.0, hi, y);
    for (i, (name, v)) in bars.iter().enumerate() {
        let cx = PAD_L + slot * (i as f64 + 0.5);
        let top = y(v.max(0.0));
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"#1f5fa8\"><title>{}: {}</title></rect>",
            cx - bar_w / 2.0,
            (PAD_T + plot_h - top).max(0.0),
            esc(name),
            tick(*v)
        ));
        svg.push_str(&format!(
            "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"lbl\">{}</text><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"val\">{}</text>",
            H - 12.0,
            esc(name),
            (top - 4.0).max(10.0),
            tick(*v)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn svg_open(title: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        t = esc(title)
    )
}

fn axes(svg: &mut String, lo: f64, hi: f64, y: impl Fn(f64) -> f64) {
    for v in [lo, (lo + hi) / 2.0, hi] {
        let yy = y(v);
        svg.push_str(&format!(
            "<line x1=\"{PAD_L}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#c8c8c8\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"lbl\">{}</text>",
            W - 8.0,
            PAD_L - 6.0,
            yy + 4.0,
            tick(v)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_become_tables_and_text_is_escaped() {
        let html = output(
            &json!({"accounts": [{"name": "<b>", "balance": [{"amount": 100, "currency": "EUR", "formatted": "1.00"}]}], "lock-date": null}),
        );
        assert!(html.contains("<th scope=\"col\">Name</th>"), "{html}");
        assert!(html.contains("&lt;b&gt;"));
        assert!(html.contains("1.00 EUR"));
        assert!(html.contains("<dt>Lock date</dt>"));
    }

    #[test]
    fn charts_are_svg_with_a_title() {
        let svg = bar_chart(
            "Cost <per> country",
            &[("US".into(), 10.0), ("DE".into(), 5.0)],
            None,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"Cost &lt;per&gt; country\""));
        assert_eq!(svg.matches("<rect").count(), 2);
        let line = line_chart(
            "Balance",
            &[("2024-01-01".into(), -5.0), ("2024-02-01".into(), 7.5)],
        );
        assert!(line.contains("<polyline"));
        assert!(line_chart("x", &[]).is_empty());
    }
}
