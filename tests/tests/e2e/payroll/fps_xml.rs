//! The UK RTI Full Payment Submission as HMRC's XML through the real host (issue 22,
//! item 6): a UK month run and approved, `rti-fps-xml` parsed back with roxmltree
//! (an XML parser that shares nothing with the plugin's writer), each figure equal
//! to the `rti-fps` JSON and the payslips, and the IRmark recomputed here by an
//! independent Canonical XML 1.0 of the parsed `Body` (HMRC IRmark specification:
//! the Body with its in-scope namespace, the IRmark element removed, SHA-1,
//! base64); and the refusals (an employee without identity, an NI number HMRC never
//! issues, a postcode of the wrong shape, a draft run).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::{call, clerk, fails, host};

const ENVELOPE: &str = "http://www.govtalk.gov.uk/CM/envelope";
const FPS_2026: &str = "http://www.govtalk.gov.uk/taxation/PAYE/RTI/FullPaymentSubmission/26-27/1";

fn identities() -> Value {
    json!({
        "G1": {"ni-number": "AB 12 34 56 C", "title": "Ms", "forename": "Ann",
               "surname": "O'Neil", "birth-date": "1990-02-28", "gender": "F",
               "address": {"lines": ["1 High Street", "Leeds"], "postcode": "ls14ap"},
               "hours-worked": "D"},
        "G2": {"ni-number": "JG103759A", "forename": "Bob", "surname": "Smith",
               "birth-date": "1985-07-01", "gender": "M",
               "address": {"lines": ["Flat 2", "Rose & Crown Yard", "Edinburgh"], "postcode": "EH1 1YZ"},
               "hours-worked": "C"},
    })
}

fn employer() -> Value {
    json!({"office-number": "123", "paye-reference": "ab456", "accounts-office-reference": "123PA00045678"})
}

/// Pence as the FPS writes them: pounds with two decimals.
fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", pence.abs() / 100, pence.abs() % 100)
}

fn child<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> roxmltree::Node<'a, 'a> {
    n.children()
        .find(|c| c.has_tag_name(name))
        .unwrap_or_else(|| panic!("<{}> has no <{name}>", n.tag_name().name()))
}

fn text<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    child(n, name).text().unwrap_or("")
}

// --- Canonical XML 1.0 (W3C REC-xml-c14n-20010315), inclusive, without comments,
// of one element taken as a document subset, written here for the test. ---

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// `node` canonicalised; `rendered` are the namespace declarations (prefix, uri)
/// in force in the output so far (none at the apex, so it gets all in scope);
/// elements named `skip` are left out with their content.
fn c14n(node: roxmltree::Node, rendered: &BTreeMap<String, String>, skip: &str, out: &mut String) {
    if node.is_text() {
        escape_text(node.text().unwrap_or(""), out);
        return;
    }
    if !node.is_element() || node.has_tag_name(skip) {
        return;
    }
    let prefix_of = |uri: Option<&str>| -> String {
        match uri {
            None => String::new(),
            Some(u) => node
                .lookup_prefix(u)
                .map(|p| p.to_string())
                .unwrap_or_default(),
        }
    };
    let qname = |uri: Option<&str>, local: &str| {
        let p = prefix_of(uri);
        if p.is_empty() {
            local.to_string()
        } else {
            format!("{p}:{local}")
        }
    };
    let name = qname(node.tag_name().namespace(), node.tag_name().name());
    out.push('<');
    out.push_str(&name);
    // Namespace nodes in scope that differ from what the output already declares;
    // the default first, then by prefix (C14N 1.0, "namespace axis").
    let mut scope = rendered.clone();
    let mut decls: Vec<(String, String)> = node
        .namespaces()
        .filter(|ns| ns.name() != Some("xml"))
        .map(|ns| (ns.name().unwrap_or("").to_string(), ns.uri().to_string()))
        .filter(|(p, u)| rendered.get(p) != Some(u))
        .collect();
    decls.sort();
    for (p, u) in decls {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(&format!(" xmlns:{p}=\""));
        }
        escape_attr(&u, out);
        out.push('"');
        scope.insert(p, u);
    }
    // Attributes sorted by namespace URI, then local name.
    let mut attrs: Vec<_> = node.attributes().collect();
    attrs.sort_by_key(|a| {
        (
            a.namespace().unwrap_or("").to_string(),
            a.name().to_string(),
        )
    });
    for a in attrs {
        out.push(' ');
        out.push_str(&qname(a.namespace(), a.name()));
        out.push_str("=\"");
        escape_attr(a.value(), out);
        out.push('"');
    }
    out.push('>');
    for c in node.children() {
        c14n(c, &scope, skip, out);
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

fn irmark_of(doc: &roxmltree::Document) -> String {
    let body = doc
        .descendants()
        .find(|n| n.has_tag_name((ENVELOPE, "Body")))
        .expect("a GovTalk Body");
    let mut canonical = String::new();
    c14n(body, &BTreeMap::new(), "IRmark", &mut canonical);
    assert!(
        canonical.starts_with(&format!(
            "<Body xmlns=\"{ENVELOPE}\"><IRenvelope xmlns=\"{FPS_2026}\">"
        )),
        "{}",
        &canonical[..200.min(canonical.len())]
    );
    let digest = Sha1::digest(canonical.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

#[test]
fn the_fps_of_a_month_as_hmrc_xml_with_its_irmark() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    for (id, salary, profile) in [
        (
            "G1",
            4_200_000,
            json!({"tax-code": "1257L", "student-loan-plans": ["plan-2"]}),
        ),
        (
            "G2",
            2_400_000,
            json!({"tax-code": "S1257L", "postgraduate-loan": true}),
        ),
    ] {
        call(
            &t,
            &alice,
            "set-employee",
            json!({"id": id, "name": format!("Employee {id}"), "country": "GB",
                   "frequency": "monthly", "salary": salary, "start-date": "2026-04-01",
                   "profile": profile}),
        );
    }
    let mut runs = Vec::new();
    for (start, end) in [("2026-04-01", "2026-04-30"), ("2026-05-01", "2026-05-31")] {
        let run = call(
            &t,
            &alice,
            "create-run",
            json!({"frequency": "monthly", "period-start": start, "period-end": end, "pay-date": end}),
        );
        let id = run["id"].as_str().unwrap().to_string();
        if runs.is_empty() {
            // A draft is not filed.
            fails(
                &t,
                &alice,
                "rti-fps-xml",
                json!({"run": id, "employer": employer(), "employees": identities()}),
                409,
                &["draft"],
            );
        }
        call(&t, &bob, "approve-run", json!({"id": id}));
        runs.push(id);
    }
    let may = &runs[1];
    let fps = call(&t, &alice, "rti-fps", json!({"run": may}));
    let out = call(
        &t,
        &alice,
        "rti-fps-xml",
        json!({"run": may, "employer": employer(), "employees": identities()}),
    );
    assert_eq!(out["format"], "RTI-FPS-XML");
    assert_eq!(out["namespace"], FPS_2026);
    assert_eq!(out["related-tax-year"], "26-27");
    assert_eq!(out["employees"], 2);
    let content = out["content"].as_str().unwrap();
    assert!(content.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let doc = roxmltree::Document::parse(content).expect("well-formed XML");
    let root = doc.root_element();
    assert!(root.has_tag_name((ENVELOPE, "GovTalkMessage")));
    assert_eq!(text(root, "EnvelopeVersion"), "2.0");
    let details = child(child(root, "Header"), "MessageDetails");
    assert_eq!(text(details, "Class"), "HMRC-PAYE-RTI-FPS");
    assert_eq!(text(details, "GatewayTest"), "0");

    let env = child(child(root, "Body"), "IRenvelope");
    assert_eq!(env.tag_name().namespace(), Some(FPS_2026));
    let header = child(env, "IRheader");
    let keys: Vec<(&str, &str)> = child(header, "Keys")
        .children()
        .filter(|n| n.is_element())
        .map(|k| (k.attribute("Type").unwrap(), k.text().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [("TaxOfficeNumber", "123"), ("TaxOfficeReference", "AB456")]
    );
    assert_eq!(text(header, "PeriodEnd"), "2027-04-05");
    assert_eq!(text(header, "DefaultCurrency"), "GBP");
    let mark = child(header, "IRmark");
    assert_eq!(mark.attribute("Type"), Some("generic"));
    assert_eq!(mark.text(), out["irmark"].as_str());

    // The IRmark, recomputed independently from the parsed message.
    assert_eq!(irmark_of(&doc), out["irmark"].as_str().unwrap(), "IRmark");
    // And it covers the figures: one penny more in the body gives another mark.
    let g1_net = fps["employees"][0]["net-pay"].as_i64().unwrap();
    let tampered = content.replacen(
        &format!("<PayAfterStatDedns>{}</PayAfterStatDedns>", pounds(g1_net)),
        &format!(
            "<PayAfterStatDedns>{}</PayAfterStatDedns>",
            pounds(g1_net + 1)
        ),
        1,
    );
    assert_ne!(tampered, content);
    let tampered = roxmltree::Document::parse(&tampered).unwrap();
    assert_ne!(irmark_of(&tampered), out["irmark"].as_str().unwrap());

    let fpsb = child(env, "FullPaymentSubmission");
    let refs = child(fpsb, "EmpRefs");
    assert_eq!(
        (
            text(refs, "OfficeNo"),
            text(refs, "PayeRef"),
            text(refs, "AORef")
        ),
        ("123", "AB456", "123PA00045678")
    );
    assert_eq!(
        text(fpsb, "RelatedTaxYear"),
        fps["related-tax-year"].as_str().unwrap()
    );

    // Each employee: the figures of rti-fps, and those of the payslip.
    let employees: Vec<_> = fpsb
        .children()
        .filter(|n| n.has_tag_name("Employee"))
        .collect();
    let json_employees = fps["employees"].as_array().unwrap();
    assert_eq!(employees.len(), json_employees.len());
    for (x, j) in employees.iter().zip(json_employees) {
        let id = j["payroll-id"].as_str().unwrap();
        let d = child(*x, "EmployeeDetails");
        let e = child(*x, "Employment");
        assert_eq!(text(e, "PayId"), id);
        let slip = call(
            &t,
            &alice,
            "get-payslip",
            json!({"run": may, "employee": id}),
        )["payslip"]
            .clone();
        let line = |code: &str| -> i64 {
            slip["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["code"] == code)
                .map(|l| l["amount"].as_i64().unwrap())
                .sum()
        };
        let money = |n: roxmltree::Node, tag: &str, field: &str| {
            assert_eq!(
                text(n, tag),
                pounds(j[field].as_i64().unwrap()),
                "{id} {tag} ({field})"
            );
        };
        let to_date = child(e, "FiguresToDate");
        money(to_date, "TaxablePay", "taxable-pay-to-date");
        money(to_date, "TotalTax", "tax-to-date");
        let pay = child(e, "Payment");
        assert_eq!(text(pay, "PayFreq"), j["pay-frequency"].as_str().unwrap());
        assert_eq!(text(pay, "PmtDate"), j["payment-date"].as_str().unwrap());
        assert_eq!(text(pay, "MonthNo"), j["period"].to_string());
        money(pay, "TaxablePay", "taxable-pay-in-period");
        money(pay, "PayAfterStatDedns", "net-pay");
        money(pay, "TaxDeductedOrRefunded", "tax-deducted");
        assert_eq!(
            text(pay, "PayAfterStatDedns"),
            pounds(slip["net"].as_i64().unwrap())
        );
        assert_eq!(text(pay, "TaxDeductedOrRefunded"), pounds(line("gb-paye")));
        let letters: Vec<_> = e
            .children()
            .filter(|n| n.has_tag_name("NIlettersAndValues"))
            .collect();
        let json_letters = j["ni-letters"].as_array().unwrap();
        assert_eq!(letters.len(), json_letters.len(), "{id}");
        assert_eq!(letters.len(), 1, "{id}");
        let (nx, nj) = (letters[0], &json_letters[0]);
        assert_eq!(text(nx, "NIletter"), nj["ni-category"].as_str().unwrap());
        money(
            nx,
            "GrossEarningsForNICsInPd",
            "gross-earnings-for-nics-in-period",
        );
        money(nx, "TotalEmpNICInPd", "employer-nics-in-period");
        money(nx, "EmpeeContribnsInPd", "employee-nics-in-period");
        for (tag, field) in [
            (
                "GrossEarningsForNICsYTD",
                "gross-earnings-for-nics-year-to-date",
            ),
            ("AtLELYTD", "earnings-at-lel-year-to-date"),
            ("LELtoPTYTD", "earnings-above-lel-up-to-pt-year-to-date"),
            ("PTtoUELYTD", "earnings-above-pt-up-to-uel-year-to-date"),
            ("TotalEmpNICYTD", "employer-nics-year-to-date"),
            ("EmpeeContribnsYTD", "employee-nics-year-to-date"),
        ] {
            assert_eq!(
                text(nx, tag),
                pounds(nj[field].as_i64().unwrap()),
                "{id} {tag}"
            );
        }
        assert_eq!(
            text(nx, "EmpeeContribnsInPd"),
            pounds(line("gb-ni-employee"))
        );
        match id {
            "G1" => {
                assert_eq!(text(d, "NINO"), "AB123456C");
                assert_eq!(text(child(d, "Name"), "Ttl"), "Ms");
                assert_eq!(text(child(d, "Name"), "Sur"), "O'Neil");
                assert_eq!(text(child(d, "Address"), "UKPostcode"), "LS1 4AP");
                assert_eq!(
                    (text(d, "BirthDate"), text(d, "Gender")),
                    ("1990-02-28", "F")
                );
                assert_eq!(text(pay, "HoursWorked"), "D");
                assert_eq!(text(pay, "TaxCode"), "1257L");
                assert_eq!(child(pay, "TaxCode").attribute("TaxRegime"), None);
                money(pay, "StudentLoanRecovered", "student-loan-recovered");
                assert!(line("gb-student-loan") > 0);
                assert_eq!(
                    text(pay, "StudentLoanRecovered"),
                    pounds(line("gb-student-loan"))
                );
            }
            _ => {
                assert_eq!(text(d, "NINO"), "JG103759A");
                // The ampersand was escaped in the message and reads back whole.
                let lines: Vec<&str> = child(d, "Address")
                    .children()
                    .filter(|n| n.has_tag_name("Line"))
                    .map(|n| n.text().unwrap())
                    .collect();
                assert_eq!(lines, ["Flat 2", "Rose & Crown Yard", "Edinburgh"]);
                assert!(content.contains("<Line>Rose &amp; Crown Yard</Line>"));
                assert_eq!(text(pay, "HoursWorked"), "C");
                // S1257L: code 1257L under the Scottish regime.
                assert_eq!(text(pay, "TaxCode"), "1257L");
                assert_eq!(child(pay, "TaxCode").attribute("TaxRegime"), Some("S"));
                money(pay, "PostgradLoanRecovered", "postgraduate-loan-recovered");
                assert!(line("gb-postgraduate-loan") > 0);
            }
        }
    }
    // Year to date spans both months: April's taxable pay plus May's.
    let april = call(&t, &alice, "rti-fps", json!({"run": runs[0]}));
    assert_eq!(
        fps["employees"][0]["taxable-pay-to-date"].as_i64().unwrap(),
        april["employees"][0]["taxable-pay-to-date"]
            .as_i64()
            .unwrap()
            + fps["employees"][0]["taxable-pay-in-period"]
                .as_i64()
                .unwrap()
    );

    // Refusals, each naming what is wrong.
    let refused_identities = |edit: &dyn Fn(&mut Value), fragments: &[&str]| {
        let mut ids = identities();
        edit(&mut ids);
        fails(
            &t,
            &alice,
            "rti-fps-xml",
            json!({"run": may, "employer": employer(), "employees": ids}),
            400,
            fragments,
        );
    };
    refused_identities(
        &|ids| {
            ids.as_object_mut().unwrap().remove("G2");
        },
        &["G2", "no identity"],
    );
    refused_identities(
        &|ids| {
            ids["G1"]["ni-number"] = json!("TN123456A");
        },
        &["employee G1", "TN", "never issued"],
    );
    refused_identities(
        &|ids| {
            ids["G2"]["address"]["postcode"] = json!("EH1");
        },
        &["employee G2", "not a UK postcode"],
    );
    refused_identities(
        &|ids| {
            ids["G1"]["birth-date"] = json!("1990-02-30");
        },
        &["employee G1", "birth-date", "not a valid date"],
    );
    let mut refs = employer();
    refs["accounts-office-reference"] = json!("123XA0004567");
    fails(
        &t,
        &alice,
        "rti-fps-xml",
        json!({"run": may, "employer": refs, "employees": identities()}),
        400,
        &["accounts-office-reference", "13 characters"],
    );
}
