//! The printable HTML of a document (`render-invoice`).

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calc::format_minor;
use crate::documents::contact;
use crate::model::{Document, Kind, Status};
use crate::store;

/// `s` with `& < > " '` escaped for HTML text and attribute values.
pub fn escape(s: &str) -> String {
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

fn lines_br(s: &str) -> String {
    s.lines().map(escape).collect::<Vec<_>>().join("<br>")
}

fn percent(bp: i64) -> String {
    let s = format_minor(bp, 2);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} %")
}

/// Who the document is from and to, for printing.
pub struct Parties {
    pub company: Option<String>,
    pub company_tax_id: Option<String>,
    pub address: Option<String>,
    pub tax_id: Option<String>,
}

/// A self-contained HTML page of the document.
pub fn render(d: &Document, p: &Parties, exponent: u8) -> String {
    let m = |n: i64| format_minor(n, exponent);
    let title = match (d.kind, d.status) {
        (_, Status::Draft) => "Draft",
        (Kind::Invoice, _) => "Invoice",
        (Kind::Bill, _) => "Bill",
        (Kind::CreditNote, _) => "Credit note",
    };
    let number = d.number.as_deref().unwrap_or(&d.id);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!("<title>{title} {}</title>", escape(number)));
    h.push_str("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #ccc;text-align:left}td.n,th.n{text-align:right}.totals td{border:none}</style>");
    h.push_str("</head><body>\n");
    if let Some(c) = &p.company {
        h.push_str(&format!("<p class=\"from\">{}</p>\n", lines_br(c)));
    }
    if let Some(t) = &p.company_tax_id {
        h.push_str(&format!("<p>Tax id: {}</p>\n", escape(t)));
    }
    h.push_str(&format!("<h1>{title} {}</h1>\n", escape(number)));
    h.push_str(&format!(
        "<p class=\"to\"><strong>{}</strong>",
        escape(&d.contact_name)
    ));
    if let Some(a) = &p.address {
        h.push_str(&format!("<br>{}", lines_br(a)));
    }
    if let Some(t) = &p.tax_id {
        h.push_str(&format!("<br>Tax id: {}", escape(t)));
    }
    h.push_str("</p>\n<table class=\"meta\">");
    if let Some(date) = d.date {
        h.push_str(&format!("<tr><th>Date</th><td>{date}</td></tr>"));
    }
    if let Some(due) = d.due_date {
        h.push_str(&format!("<tr><th>Due</th><td>{due}</td></tr>"));
    }
    if let Some(r) = &d.reference {
        h.push_str(&format!(
            "<tr><th>Reference</th><td>{}</td></tr>",
            escape(r)
        ));
    }
    h.push_str(&format!(
        "<tr><th>Currency</th><td>{}</td></tr></table>\n",
        escape(&d.currency)
    ));
    h.push_str("<table class=\"lines\"><thead><tr><th>Description</th><th class=\"n\">Quantity</th><th class=\"n\">Unit price</th><th class=\"n\">Discount</th><th>Tax</th><th class=\"n\">Net</th><th class=\"n\">Tax amount</th><th class=\"n\">Total</th></tr></thead><tbody>\n");
    for l in &d.lines {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            escape(&l.description),
            escape(&l.quantity),
            m(l.unit_price),
            if l.discount_bp == 0 { String::new() } else { percent(l.discount_bp) },
            escape(&l.tax_code),
            percent(l.tax_rate_bp),
            m(l.amounts.net),
            m(l.amounts.tax),
            m(l.amounts.total),
        ));
    }
    h.push_str("</tbody></table>\n<table class=\"totals\">");
    for t in &d.taxes {
        h.push_str(&format!(
            "<tr><td>{} {} on {}</td><td class=\"n\">{}</td></tr>",
            escape(&t.code),
            percent(t.rate_bp),
            m(t.net),
            m(t.tax)
        ));
    }
    h.push_str(&format!(
        "<tr><td>Net</td><td class=\"n\">{}</td></tr><tr><td>Tax</td><td class=\"n\">{}</td></tr><tr><td><strong>Total {}</strong></td><td class=\"n\"><strong>{}</strong></td></tr>",
        m(d.net),
        m(d.tax),
        escape(&d.currency),
        m(d.total)
    ));
    if d.status == Status::Issued && d.open != d.total {
        h.push_str(&format!(
            "<tr><td>Paid or credited</td><td class=\"n\">{}</td></tr><tr><td><strong>Amount due</strong></td><td class=\"n\"><strong>{}</strong></td></tr>",
            m(d.total - d.open),
            m(d.open)
        ));
    }
    h.push_str("</table>\n");
    if let Some(n) = &d.notes {
        h.push_str(&format!("<p class=\"notes\">{}</p>\n", lines_br(n)));
    }
    h.push_str("</body></html>\n");
    h
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RenderIn {
    id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RenderOut {
    id: String,
    number: Option<String>,
    html: String,
}

/// `render-invoice`: the document as printable HTML, with the contact's billing
/// address and tax id from `contacts`.
pub fn render_invoice(input: RenderIn) -> Result<RenderOut> {
    let d = store::document(&input.id)?;
    let settings = store::settings()?;
    let c = contact(&d.contact).ok();
    let parties = Parties {
        company: settings.company.clone(),
        company_tax_id: settings.company_tax_id.clone(),
        address: c.as_ref().and_then(|c| c.field("billing-address")),
        tax_id: c.as_ref().and_then(|c| c.field("tax-id")),
    };
    let exponent = Currency::new(&d.currency)
        .map(|c| c.exponent())
        .unwrap_or(2);
    Ok(RenderOut {
        html: render(&d, &parties, exponent),
        id: d.id,
        number: d.number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape("<b>\"Tom & Jerry's\"</b>"),
            "&lt;b&gt;&quot;Tom &amp; Jerry&#39;s&quot;&lt;/b&gt;"
        );
        assert_eq!(percent(2000), "20 %");
        assert_eq!(percent(1250), "12.5 %");
        assert_eq!(percent(0), "0 %");
    }
}
