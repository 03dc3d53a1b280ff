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

/// Rows of one table (or items of one list) the console shows at most.
const MAX_ROWS: usize = 200;
/// Columns of one table the console shows at most.
const MAX_COLUMNS: usize = 30;
/// Characters of one cell or value the console shows at most.
const MAX_TEXT: usize = 500;
/// HTML of one output the console builds at most; the rest is left out.
const MAX_HTML: usize = 1 << 20;

/// HTML being built, with what was left out of it.
struct Out {
    html: String,
    /// Whether the size limit cut the output short.
    cut: bool,
}

impl Out {
    /// Whether there is room for more; once there is not, the output is marked cut.
    fn room(&mut self) -> bool {
        if self.html.len() >= MAX_HTML {
            self.cut = true;
        }
        !self.cut
    }
}

/// The output of an operation as HTML. Whatever the output, the page stays small:
/// at most [`MAX_ROWS`] rows and [`MAX_COLUMNS`] columns per table, [`MAX_TEXT`]
/// characters per value and [`MAX_HTML`] bytes in all, each cut said on the page
/// (the API returns the whole result).
pub fn output(v: &Value) -> String {
    let mut out = Out {
        html: String::new(),
        cut: false,
    };
    value(v, 2, &mut out);
    if out.cut {
        out.html.push_str(&format!(
            "<p class=\"cut\">The output is larger than the console shows ({} KiB at most); the rest is left out. The API returns all of it.</p>",
            MAX_HTML / 1024
        ));
    }
    out.html
}

/// `text` cut to [`MAX_TEXT`] characters, with an ellipsis when cut.
fn shown(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A notice of rows or items left out, if any.
fn rows_cut(shown_rows: usize, total: usize, what: &str, out: &mut Out) {
    if total > shown_rows {
        out.html.push_str(&format!(
            "<p class=\"cut\">Showing the first {shown_rows} of {total} {what}; the API returns all of them.</p>"
        ));
    }
}

fn value(v: &Value, level: u8, out: &mut Out) {
    if !out.room() {
        return;
    }
    if let Some(s) = scalar(v) {
        out.html
            .push_str(&format!("<p class=\"scalar\">{}</p>", esc(&shown(&s))));
        return;
    }
    match v {
        Value::Array(rows) if rows.iter().all(Value::is_object) => table(rows, out),
        Value::Array(items) => {
            out.html.push_str("<ol>");
            let mut listed = 0;
            for item in items.iter().take(MAX_ROWS) {
                if !out.room() {
                    break;
                }
                out.html.push_str("<li>");
                value(item, level.saturating_add(1), out);
                out.html.push_str("</li>");
                listed += 1;
            }
            out.html.push_str("</ol>");
            rows_cut(listed, items.len(), "items", out);
        }
        Value::Object(map) => object(map, level, out),
        _ => {}
    }
}

fn object(map: &Map<String, Value>, level: u8, out: &mut Out) {
    let (simple, nested): (Vec<_>, Vec<_>) = map.iter().partition(|(_, v)| scalar(v).is_some());
    if !simple.is_empty() {
        out.html.push_str("<dl class=\"kv\">");
        let mut listed = 0;
        for (k, v) in simple.iter().take(MAX_ROWS) {
            if !out.room() {
                break;
            }
            out.html.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                esc(&shown(&label(k))),
                esc(&shown(&scalar(v).unwrap_or_default()))
            ));
            listed += 1;
        }
        out.html.push_str("</dl>");
        rows_cut(listed, simple.len(), "fields", out);
    }
    let h = level.min(6);
    let mut listed = 0;
    for (k, v) in nested.iter().take(MAX_ROWS) {
        if !out.room() {
            break;
        }
        out.html
            .push_str(&format!("<section><h{h}>{}</h{h}>", esc(&shown(&label(k)))));
        value(v, level.saturating_add(1), out);
        out.html.push_str("</section>");
        listed += 1;
    }
    rows_cut(listed, nested.len(), "sections", out);
}

fn table(rows: &[Value], out: &mut Out) {
    if rows.is_empty() {
        out.html.push_str("<p class=\"empty\">Nothing to show.</p>");
        return;
    }
    // Columns come from the rows shown, in order of first appearance, up to the
    // limit; the distinct keys past it are only counted.
    let shown_rows = &rows[..rows.len().min(MAX_ROWS)];
    let mut columns: Vec<&String> = Vec::new();
    let mut seen: std::collections::HashSet<&String> = std::collections::HashSet::new();
    for row in shown_rows {
        if let Some(o) = row.as_object() {
            for k in o.keys() {
                if seen.insert(k) && columns.len() < MAX_COLUMNS {
                    columns.push(k);
                }
            }
        }
    }
    out.html
        .push_str("<div class=\"scroll\"><table><thead><tr>");
    for c in &columns {
        out.html.push_str(&format!(
            "<th scope=\"col\">{}</th>",
            esc(&shown(&label(c)))
        ));
    }
    out.html.push_str("</tr></thead><tbody>");
    let mut listed = 0;
    for row in shown_rows {
        if !out.room() {
            break;
        }
        out.html.push_str("<tr>");
        for c in &columns {
            let cell = row.get(c.as_str()).unwrap_or(&Value::Null);
            let class = if cell.is_number() {
                " class=\"num\""
            } else {
                ""
            };
            let text = scalar(cell).unwrap_or_else(|| cell.to_string());
            out.html
                .push_str(&format!("<td{class}>{}</td>", esc(&shown(&text))));
        }
        out.html.push_str("</tr>");
        listed += 1;
    }
    out.html.push_str("</tbody></table></div>");
    rows_cut(listed, rows.len(), "rows", out);
    let hidden = seen.len() - columns.len();
    if hidden > 0 {
        out.html.push_str(&format!(
            "<p class=\"cut\">{hidden} more columns of these rows are not shown; the API returns all of them.</p>"
        ));
    }
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
    fn a_huge_output_renders_a_bounded_page_that_says_what_was_cut() {
        // 20,000 rows, each with a key of its own: one column per key over all rows
        // would be 4 * 10^8 cells.
        let rows: Vec<Value> = (0..20_000)
            .map(|i| json!({ format!("key-{i}"): "x".repeat(40) }))
            .collect();
        let html = output(&json!({ "rows": rows }));
        assert!(html.len() < 200_000, "{} bytes", html.len());
        assert_eq!(html.matches("<tr>").count(), 1 + MAX_ROWS);
        assert_eq!(html.matches("<th ").count(), MAX_COLUMNS);
        assert!(
            html.contains("Showing the first 200 of 20000 rows"),
            "{html}"
        );
        assert!(html.contains("170 more columns of these rows are not shown"));

        // A long text is cut, and so is an output over the size limit.
        let long = output(&json!({ "note": "y".repeat(10_000) }));
        assert!(long.contains(&format!("{}…", "y".repeat(MAX_TEXT))));
        assert!(!long.contains(&"y".repeat(MAX_TEXT + 1)));
        let wide: Vec<Value> = (0..5_000)
            .map(|i| json!({ "a": "z".repeat(400), "b": i, "c": "w".repeat(400), "d": [i] }))
            .collect();
        let sections: serde_json::Map<String, Value> = (0..100)
            .map(|i| (format!("part {i}"), Value::Array(wide.clone())))
            .collect();
        let big = output(&Value::Object(sections));
        assert!(big.len() < MAX_HTML + 64 * 1024, "{} bytes", big.len());
        assert!(big.contains("larger than the console shows"));
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
