//! Provenance of payslips (issue 22, item 7): every payslip computed through
//! `backoffice:payroll/engine@0.2.0` records the rules plugin that computed it (id,
//! installed version, SHA-256 of its package), as the host reports it; `get-payslip`,
//! `list-payslips` and `calculate-payslip` show it. Payslips stored before this
//! version have none and show none: the field is left out, never guessed.

use backoffice_sdk::payroll::{CalcInput, Payslip, RulesProvider, v0_2};
use backoffice_sdk::prelude::*;
use serde::Serialize;

/// Compute one payslip and learn which rules computed it.
pub(crate) fn calculate(input: &CalcInput) -> Result<(Payslip, RulesProvider)> {
    let c = v0_2::calculate_with_rules(input)?;
    Ok((c.payslip, c.rules))
}

/// The output of `calculate-payslip`: the payslip's fields and `rules`.
#[derive(Debug, Serialize)]
pub(crate) struct Preview {
    #[serde(flatten)]
    payslip: Payslip,
    rules: RulesProvider,
}

/// A what-if payslip with its rules.
pub(crate) fn preview(input: &CalcInput) -> Result<Preview> {
    let (payslip, rules) = calculate(input)?;
    Ok(Preview { payslip, rules })
}

/// One line for a printed payslip: which rules computed it, or that it predates
/// recording them.
fn printed(rules: Option<&RulesProvider>) -> String {
    match rules {
        Some(r) => format!(
            "Computed by {} {} (package sha256 {})",
            r.plugin, r.version, r.digest
        ),
        None => "Computed before payslips recorded their rules plugin".to_string(),
    }
}

/// The printed payslips (`format` text or html) with [`printed`] at the end.
pub(crate) fn printed_in(
    text: Option<String>,
    html: Option<String>,
    rules: Option<&RulesProvider>,
) -> (Option<String>, Option<String>) {
    let line = printed(rules);
    let text = text.map(|t| format!("{t}{line}\n"));
    let html = html.map(|h| {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let para = format!("<p class=\"rules\">{escaped}</p>\n");
        match h.rfind("</body>") {
            Some(at) => format!("{}{para}{}", &h[..at], &h[at..]),
            None => format!("{h}{para}"),
        }
    });
    (text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_is_the_payslip_with_its_rules_beside_it() {
        let input: CalcInput = serde_json::from_str(
            r#"{"country":"US","pay-date":"2025-03-14","frequency":"monthly","gross":100000,"currency":"USD"}"#,
        )
        .unwrap();
        let payslip = Payslip::new(&input, "2025", None, vec![], Default::default(), vec![]);
        let rules = RulesProvider {
            plugin: "payroll-us".into(),
            version: "0.1.0".into(),
            digest: "ab".repeat(32),
        };
        let json = serde_json::to_value(Preview { payslip, rules }).unwrap();
        assert_eq!(json["gross"], 100000);
        assert_eq!(json["net"], 100000);
        assert_eq!(json["rules"]["plugin"], "payroll-us");
        assert_eq!(json["rules"]["digest"], "ab".repeat(32));
    }

    #[test]
    fn a_payslip_stored_before_provenance_reads_back_with_no_rules() {
        // A `slip/<run>/<employee>` value as payroll stored it before engine 0.2.0.
        let old = serde_json::json!({
            "employee": {"id": "US1", "name": "Grace Hopper", "country": "US",
                         "currency": "USD", "frequency": "monthly", "basis": "salary",
                         "rate": 6000000, "start-date": "2025-01-01",
                         "profile": {"filing-status": "single"},
                         "effective-date": "2025-01-01", "changed-by": "alice",
                         "changed-at": "2025-01-02T09:00:00Z"},
            "payslip": {"country": "US", "tax-year": "2025", "currency": "USD",
                        "gross": 500000, "lines": [], "net": 500000, "ytd": {},
                        "notes": []},
            "ytd-after-run": null
        });
        let slip: crate::runs::Slip = serde_json::from_value(old.clone()).unwrap();
        assert!(slip.rules.is_none());
        // Written back unchanged: no `rules` is invented for it.
        assert_eq!(serde_json::to_value(&slip).unwrap(), old);
    }

    #[test]
    fn a_printed_payslip_names_its_rules_or_says_it_predates_them() {
        let r = RulesProvider {
            plugin: "payroll-gb".into(),
            version: "0.2.0".into(),
            digest: "0f".repeat(32),
        };
        let (text, html) = printed_in(
            Some("PAYSLIP\n".into()),
            Some("<html><body><h1>x</h1></body></html>\n".into()),
            Some(&r),
        );
        let text = text.unwrap();
        assert!(text.starts_with("PAYSLIP\n"));
        assert!(text.ends_with(&format!("payroll-gb 0.2.0 (package sha256 {})\n", r.digest)));
        assert!(html.unwrap().ends_with(&format!(
            "payroll-gb 0.2.0 (package sha256 {})</p>\n</body></html>\n",
            r.digest
        )));
        let (text, html) = printed_in(Some(String::new()), None, None);
        assert_eq!(
            text.unwrap(),
            "Computed before payslips recorded their rules plugin\n"
        );
        assert!(html.is_none());
    }
}
