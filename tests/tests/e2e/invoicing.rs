//! The bundled `invoicing` plugin through the real host, next to the ledger and
//! contacts: what a finance team does (tax codes, a customer, a VAT invoice issued and
//! posted, a part payment, ageing as time passes, a credit note, a supplier bill,
//! statements and a printable invoice), gapless numbering when an issue fails, the
//! daily overdue reminders on a test clock, and every kind of bad input, each checked
//! for its error and for leaving the books unchanged.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::sync::Arc;
use std::time::Duration;

use backoffice_host::clock::{Clock, TestClock};
use backoffice_host::runtime::Limits;
use backoffice_host::store::EventFilter;
use backoffice_tests::{TestHost, user};
use serde_json::{Value, json};

/// A host whose clock shows Saturday 10 January 2026, 10:00 in London, with the
/// ledger, contacts and invoicing enabled for tenant `acme`.
pub(crate) fn host() -> (Arc<TestClock>, TestHost) {
    let clock = Arc::new(TestClock::at_rfc3339("2026-01-10T10:00:00Z"));
    let t = TestHost::with_config(|c| {
        c.clock = clock.clone();
        c.limits = Limits {
            call_deadline: Duration::from_secs(5),
            ..Limits::default()
        };
        c.work.max_attempts = 3;
        c.work.backoff = Duration::from_secs(1);
    });
    for file in ["ledger", "contacts", "invoicing"] {
        t.install(file);
    }
    t.host
        .create_tenant("acme", None, Some("Europe/London"))
        .unwrap();
    for plugin in ["ledger", "contacts", "invoicing"] {
        t.host.enable(plugin, "acme").unwrap();
    }
    (clock, t)
}

pub(crate) fn call_in(t: &TestHost, plugin: &str, op: &str, input: Value) -> Value {
    t.call("acme", plugin, op, input)
        .unwrap_or_else(|e| panic!("{plugin} {op} failed: {e}"))
}

pub(crate) fn inv(t: &TestHost, op: &str, input: Value) -> Value {
    call_in(t, "invoicing", op, input)
}

/// The call fails with `status` and a message containing every fragment.
pub(crate) fn fails(
    t: &TestHost,
    op: &str,
    input: Value,
    status: u16,
    fragments: &[&str],
) -> String {
    let err = t
        .call("acme", "invoicing", op, input.clone())
        .expect_err(&format!("{op} {input} should fail"));
    let msg = err.to_string();
    assert_eq!(err.http_status(), status, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
    msg
}

/// UK VAT at 20 % and 0 %, both to the VAT control account, and the ledger accounts.
fn tax_codes(t: &TestHost) {
    let vat = inv(
        t,
        "set-tax-code",
        json!({"code": "UK-VAT20", "description": "UK VAT standard rate", "rate-bp": 2000, "account": "liabilities:vat"}),
    );
    assert_eq!(
        vat,
        json!({"code": "UK-VAT20", "description": "UK VAT standard rate", "rate-bp": 2000,
               "inclusive": false, "account": "liabilities:vat"})
    );
    inv(
        t,
        "set-tax-code",
        json!({"code": "UK-ZERO", "rate-bp": 0, "account": "liabilities:vat"}),
    );
}

fn setup(t: &TestHost) {
    tax_codes(t);
    let out = inv(t, "setup-ledger", json!({}));
    assert_eq!(
        out["created"],
        json!([
            "assets:receivable",
            "liabilities:payable",
            "income:sales",
            "expenses:purchases",
            "assets:bank",
            "liabilities:vat"
        ])
    );
}

fn customer(t: &TestHost) -> String {
    let c = call_in(
        t,
        "contacts",
        "create",
        json!({"name": "Acme Retail Ltd", "kind": "customer", "tax-id": "gb123456789",
               "billing-address": "1 High Street\nLondon EC1A 1AA", "payment-terms-days": 30,
               "default-currency": "GBP"}),
    );
    assert_eq!(c["payment-terms-days"], 30);
    assert_eq!(c["default-currency"], "GBP");
    c["id"].as_str().unwrap().to_owned()
}

fn supplier(t: &TestHost) -> String {
    let c = call_in(
        t,
        "contacts",
        "create",
        json!({"name": "Paper Supplies plc", "kind": "supplier", "payment-terms-days": 14,
               "default-currency": "GBP"}),
    );
    c["id"].as_str().unwrap().to_owned()
}

/// Two lines: 2.5 hours of consulting at 80.00 less 10 % (180.00 + VAT 36.00) and three
/// zero-rated books at 19.99 (59.97).
fn two_lines() -> Value {
    json!([
        {"description": "Consulting", "quantity": "2.5", "unit-price": "80.00", "discount-bp": 1000, "tax-code": "UK-VAT20"},
        {"description": "Books", "quantity": 3, "unit-price": 1999, "tax-code": "UK-ZERO"}
    ])
}

fn draft_invoice(t: &TestHost, contact: &str) -> Value {
    inv(
        t,
        "create-document",
        json!({"kind": "invoice", "contact": contact, "lines": two_lines()}),
    )
}

fn ledger_balance(t: &TestHost, account: &str) -> i64 {
    let b = call_in(t, "ledger", "balance", json!({"prefix": account}));
    b["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["amount"].as_i64().unwrap())
        .sum()
}

fn trial_balance(t: &TestHost) -> Value {
    call_in(t, "ledger", "trial-balance", json!({}))
}

fn events(t: &TestHost, topic: &str) -> Vec<Value> {
    let mut list = t
        .host
        .events(&EventFilter {
            tenant: Some("acme".into()),
            topic: Some(topic.into()),
            limit: 1000,
        })
        .unwrap();
    list.reverse();
    list.iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

/// Everything a refused call could have changed.
pub(crate) fn state(t: &TestHost) -> (Value, Value, Value, Value) {
    (
        inv(t, "list-documents", json!({})),
        inv(t, "list-payments", json!({})),
        trial_balance(t),
        call_in(
            t,
            "ledger",
            "export",
            json!({"what": "entries", "format": "json"}),
        ),
    )
}

#[test]
fn a_vat_invoice_is_issued_part_paid_aged_credited_and_a_bill_booked() {
    let (_clock, t) = host();
    setup(&t);
    let acme = customer(&t);

    let draft = draft_invoice(&t, &acme);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["number"], Value::Null);
    assert_eq!(draft["currency"], "GBP", "the contact's default currency");
    let lines = draft["lines"].as_array().unwrap();
    assert_eq!(lines[0]["quantity"], "2.5");
    assert_eq!(lines[0]["quantity-thousandths"], 2500);
    assert_eq!(lines[0]["gross-before-discount"], 20000);
    assert_eq!(lines[0]["discount"], 2000);
    assert_eq!(
        (&lines[0]["net"], &lines[0]["tax"], &lines[0]["total"]),
        (&json!(18000), &json!(3600), &json!(21600))
    );
    assert_eq!(
        (&lines[1]["net"], &lines[1]["tax"]),
        (&json!(5997), &json!(0))
    );
    assert_eq!(
        (&draft["net"], &draft["tax"], &draft["total"]),
        (&json!(23997), &json!(3600), &json!(27597))
    );

    // Issued today: numbered, due in the contact's 30 days, posted.
    let id = draft["id"].as_str().unwrap();
    let issued = inv(&t, "issue", json!({"id": id}));
    assert_eq!(issued["number"], "INV-2026-0001");
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["date"], "2026-01-10");
    assert_eq!(issued["due-date"], "2026-02-09");
    assert_eq!(issued["open"], 27597);
    let entry = call_in(
        &t,
        "ledger",
        "get-entry",
        json!({"id": issued["ledger-entry"]}),
    );
    let postings: Vec<(String, i64)> = entry["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["account"].as_str().unwrap().to_owned(),
                p["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        postings,
        vec![
            ("assets:receivable".to_owned(), 27597),
            ("income:sales".to_owned(), -23997),
            ("liabilities:vat".to_owned(), -3600),
        ]
    );
    assert_eq!(postings.iter().map(|p| p.1).sum::<i64>(), 0);
    assert_eq!(
        entry["reference"],
        json!({"source": "invoicing", "document": "INV-2026-0001"})
    );
    assert_eq!(trial_balance(&t)["balanced"], true);
    assert_eq!(
        ledger_balance(&t, "liabilities:vat"),
        -3600,
        "the VAT liability is the invoice's tax"
    );
    // By number as well as by id.
    assert_eq!(
        inv(&t, "get-document", json!({"id": "INV-2026-0001"}))["id"],
        id
    );
    let issued_events = events(&t, "invoicing.invoice-issued");
    assert_eq!(issued_events.len(), 1);
    assert_eq!(issued_events[0]["number"], "INV-2026-0001");
    assert_eq!(issued_events[0]["total"], 27597);

    // A part payment of 100.00 on 20 January.
    let pay = inv(
        &t,
        "record-payment",
        json!({"contact": acme, "date": "2026-01-20", "amount": "100.00", "reference": "BACS 4711"}),
    );
    assert_eq!(pay["id"], "p-000001");
    assert_eq!(
        pay["allocations"],
        json!([{"document": id, "number": "INV-2026-0001", "amount": 10000}])
    );
    assert_eq!(ledger_balance(&t, "assets:bank"), 10000);
    assert_eq!(ledger_balance(&t, "assets:receivable"), 17597);
    assert_eq!(inv(&t, "get-document", json!({"id": id}))["open"], 17597);
    let paid = events(&t, "invoicing.payment-recorded");
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0]["amount"], 10000);

    // Ageing: current before the due date, 31-60 days past due on 15 March.
    let age = inv(
        &t,
        "ageing",
        json!({"as-of": "2026-02-01", "side": "sales"}),
    );
    assert_eq!(age["rows"][0]["buckets"]["current"], 17597);
    let age = inv(&t, "ageing", json!({"as-of": "2026-03-15"}));
    assert_eq!(
        age["rows"],
        json!([{"side": "sales", "contact": acme, "contact-name": "Acme Retail Ltd", "currency": "GBP",
                "buckets": {"current": 0, "1-30": 0, "31-60": 17597, "61-90": 0, "over-90": 0},
                "total": 17597}])
    );
    assert_eq!(age["totals"][0]["total"], 17597);
    // Before the payment the whole invoice was open.
    let open = inv(&t, "open-items", json!({"as-of": "2026-01-15"}));
    assert_eq!(open["items"][0]["open"], 27597);
    assert_eq!(open["contacts"][0]["open"], 27597);
    let open = inv(&t, "open-items", json!({"as-of": "2026-03-15"}));
    assert_eq!(open["items"][0]["days-past-due"], 34);
    assert_eq!(open["items"][0]["open"], 17597);

    // A credit note for part of the consulting: 50.00 + VAT, against the invoice.
    let cn = inv(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": "INV-2026-0001", "lines": [
            {"description": "Consulting: half an hour not worked", "unit-price": "50.00", "tax-code": "UK-VAT20"}]}),
    );
    assert_eq!(cn["contact"], acme.as_str());
    let cn = inv(&t, "issue", json!({"id": cn["id"], "date": "2026-03-16"}));
    assert_eq!(cn["number"], "CN-2026-0001");
    assert_eq!(cn["total"], 6000);
    assert_eq!(cn["open"], 0, "applied in full to the invoice");
    let invoice = inv(&t, "get-document", json!({"id": id}));
    assert_eq!(invoice["open"], 11597);
    assert_eq!(invoice["credited"], 6000);
    assert_eq!(ledger_balance(&t, "liabilities:vat"), -3600 + 1000);
    assert_eq!(ledger_balance(&t, "income:sales"), -23997 + 5000);

    // The customer's statement.
    let st = inv(
        &t,
        "statement",
        json!({"contact": acme, "to": "2026-03-31"}),
    );
    let gbp = &st["currencies"][0];
    let moves: Vec<(String, i64, i64)> = gbp["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["amount"].as_i64().unwrap(),
                l["balance"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            ("invoice".to_owned(), 27597, 27597),
            ("payment".to_owned(), -10000, 17597),
            ("credit-note".to_owned(), -6000, 11597),
        ]
    );
    assert_eq!(gbp["closing"], 11597);
    let st = inv(
        &t,
        "statement",
        json!({"contact": acme, "from": "2026-02-01", "to": "2026-03-31"}),
    );
    assert_eq!(st["currencies"][0]["opening"], 17597);
    assert_eq!(st["currencies"][0]["lines"].as_array().unwrap().len(), 1);

    // The printable invoice.
    let page = inv(&t, "render-invoice", json!({"id": "INV-2026-0001"}));
    let html = page["html"].as_str().unwrap();
    for f in [
        "<h1>Invoice INV-2026-0001</h1>",
        "Acme Retail Ltd",
        "1 High Street<br>London EC1A 1AA",
        "GB123456789",
        "275.97",
        "UK-VAT20 20 %",
        "Amount due",
        "115.97",
    ] {
        assert!(html.contains(f), "{f:?} missing from {html}");
    }

    // A supplier bill of 500.00 + VAT: input VAT is reclaimed from the same account.
    let paper = supplier(&t);
    let bill = inv(
        &t,
        "create-document",
        json!({"kind": "bill", "contact": paper, "reference": "PS-99812", "date": "2026-01-12", "lines": [
            {"description": "Printer paper", "quantity": 100, "unit-price": 500, "tax-code": "UK-VAT20"}]}),
    );
    let bill = inv(&t, "issue", json!({"id": bill["id"]}));
    assert_eq!(bill["number"], "BILL-2026-0001");
    assert_eq!(bill["due-date"], "2026-01-26");
    assert_eq!(bill["total"], 60000);
    assert_eq!(ledger_balance(&t, "liabilities:payable"), -60000);
    assert_eq!(ledger_balance(&t, "expenses:purchases"), 50000);
    assert_eq!(ledger_balance(&t, "liabilities:vat"), -3600 + 1000 + 10000);
    let age = inv(
        &t,
        "ageing",
        json!({"as-of": "2026-03-15", "side": "purchase"}),
    );
    assert_eq!(age["rows"][0]["buckets"]["31-60"], 60000);
    // Paid in full.
    inv(
        &t,
        "record-payment",
        json!({"contact": paper, "date": "2026-01-25", "amount": 60000,
               "allocations": [{"document": "BILL-2026-0001", "amount": "600.00"}]}),
    );
    assert_eq!(ledger_balance(&t, "liabilities:payable"), 0);
    assert_eq!(ledger_balance(&t, "assets:bank"), 10000 - 60000);
    assert_eq!(
        inv(
            &t,
            "open-items",
            json!({"side": "purchase", "as-of": "2026-03-15"})
        )["items"],
        json!([])
    );

    // The supplier credits 100.00 + VAT on the bill already paid: the credit stays
    // open (negative) until used, and the entry reverses expense and input VAT.
    let bcn = inv(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": "BILL-2026-0001", "lines": [
            {"description": "Damaged paper", "quantity": 20, "unit-price": 500, "tax-code": "UK-VAT20"}]}),
    );
    let bcn = inv(&t, "issue", json!({"id": bcn["id"], "date": "2026-02-03"}));
    assert_eq!(bcn["number"], "BCN-2026-0001");
    assert_eq!(
        (&bcn["total"], &bcn["open"]),
        (&json!(12000), &json!(12000))
    );
    assert_eq!(ledger_balance(&t, "liabilities:payable"), 12000);
    assert_eq!(ledger_balance(&t, "expenses:purchases"), 40000);
    assert_eq!(
        ledger_balance(&t, "liabilities:vat"),
        -3600 + 1000 + 10000 - 2000
    );
    let open = inv(
        &t,
        "open-items",
        json!({"side": "purchase", "as-of": "2026-03-15"}),
    );
    assert_eq!(open["items"][0]["number"], "BCN-2026-0001");
    assert_eq!(open["contacts"][0]["open"], -12000);

    let tb = trial_balance(&t);
    assert_eq!(tb["balanced"], true, "{tb}");
    assert_eq!(events(&t, "invoicing.invoice-issued").len(), 4);
    assert_eq!(events(&t, "invoicing.payment-recorded").len(), 2);
    let page = inv(&t, "list-payments", json!({"limit": 1}));
    assert_eq!(page["payments"][0]["id"], "p-000001");
    assert_eq!(page["next-cursor"], "p-000001");
    let page = inv(
        &t,
        "list-payments",
        json!({"limit": 1, "cursor": "p-000001"}),
    );
    assert_eq!(page["payments"][0]["contact"], paper.as_str());
    assert_eq!(page["next-cursor"], Value::Null);
    assert_eq!(
        inv(&t, "list-payments", json!({"contact": acme}))["payments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn numbers_have_no_gaps_when_an_issue_fails() {
    let (_clock, t) = host();
    tax_codes(&t);
    let acme = customer(&t);
    let first = draft_invoice(&t, &acme);
    // The ledger has none of the accounts yet: it refuses the entry, and the number
    // taken for it goes back with the rest of the call.
    fails(
        &t,
        "issue",
        json!({"id": first["id"]}),
        400,
        &[
            "the ledger refused the entry",
            "unknown account",
            "setup-ledger",
        ],
    );
    let still = inv(&t, "get-document", json!({"id": first["id"]}));
    assert_eq!(still["status"], "draft");
    assert_eq!(still["number"], Value::Null);
    assert!(events(&t, "invoicing.invoice-issued").is_empty());

    inv(&t, "setup-ledger", json!({}));
    let second = draft_invoice(&t, &acme);
    assert_eq!(
        inv(&t, "issue", json!({"id": second["id"]}))["number"],
        "INV-2026-0001"
    );
    assert_eq!(
        inv(&t, "issue", json!({"id": first["id"]}))["number"],
        "INV-2026-0002"
    );
    // A lock date makes the next issue fail; the one after takes the next number.
    let third = draft_invoice(&t, &acme);
    call_in(&t, "ledger", "set-lock-date", json!({"date": "2026-01-31"}));
    fails(
        &t,
        "issue",
        json!({"id": third["id"], "date": "2026-01-15"}),
        400,
        &["locked"],
    );
    assert_eq!(
        inv(
            &t,
            "issue",
            json!({"id": third["id"], "date": "2026-02-02"})
        )["number"],
        "INV-2026-0003"
    );
    // A new year starts a new sequence; bills have their own series.
    let next_year = draft_invoice(&t, &acme);
    assert_eq!(
        inv(
            &t,
            "issue",
            json!({"id": next_year["id"], "date": "2027-01-04"})
        )["number"],
        "INV-2027-0001"
    );
    let numbers: Vec<Value> = inv(&t, "list-documents", json!({"status": "issued"}))["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].clone())
        .collect();
    assert_eq!(
        numbers,
        vec![
            json!("INV-2026-0002"),
            json!("INV-2026-0001"),
            json!("INV-2026-0003"),
            json!("INV-2027-0001")
        ]
    );
    // In pages of two.
    let page = inv(
        &t,
        "list-documents",
        json!({"status": "issued", "limit": 2}),
    );
    assert_eq!(page["documents"].as_array().unwrap().len(), 2);
    assert_eq!(page["next-cursor"], "d-000002");
    let page = inv(
        &t,
        "list-documents",
        json!({"status": "issued", "limit": 2, "cursor": "d-000002"}),
    );
    assert_eq!(page["documents"][0]["number"], "INV-2026-0003");
    assert_eq!(page["next-cursor"], Value::Null);
}

#[test]
fn drafts_change_and_go_but_issued_documents_stay() {
    let (_clock, t) = host();
    setup(&t);
    let acme = customer(&t);
    let d = draft_invoice(&t, &acme);
    let id = d["id"].as_str().unwrap();
    let changed = inv(
        &t,
        "update-draft",
        json!({"id": id, "expected-revision": 1, "reference": "PO 7", "lines": [
            {"description": "Consulting", "quantity": 1, "unit-price": "120.00", "tax-code": "UK-VAT20"}]}),
    );
    assert_eq!(changed["revision"], 2);
    assert_eq!(changed["total"], 14400);
    assert_eq!(changed["reference"], "PO 7");
    fails(
        &t,
        "update-draft",
        json!({"id": id, "expected-revision": 1, "notes": "x"}),
        409,
        &["revision 2, not 1"],
    );
    let gone = draft_invoice(&t, &acme);
    assert_eq!(
        inv(&t, "delete-draft", json!({"id": gone["id"]}))["deleted"],
        gone["id"]
    );
    fails(
        &t,
        "get-document",
        json!({"id": gone["id"]}),
        404,
        &["no document"],
    );

    // Tax included in the price: 120.00 including 20 % is 100.00 + 20.00.
    inv(
        &t,
        "set-tax-code",
        json!({"code": "UK-VAT20-INC", "rate-bp": 2000, "inclusive": true, "account": "liabilities:vat"}),
    );
    let incl = inv(
        &t,
        "create-document",
        json!({"kind": "invoice", "contact": acme, "lines": [
            {"description": "Shop sale", "unit-price": "120.00", "tax-code": "UK-VAT20-INC"}]}),
    );
    assert_eq!(
        (&incl["net"], &incl["tax"], &incl["total"]),
        (&json!(10000), &json!(2000), &json!(12000))
    );

    let issued = inv(&t, "issue", json!({"id": id}));
    let before = state(&t);
    fails(
        &t,
        "update-draft",
        json!({"id": id, "notes": "changed my mind"}),
        409,
        &[
            "sales invoice INV-2026-0001 is issued and cannot be changed",
            "credit note",
        ],
    );
    fails(
        &t,
        "delete-draft",
        json!({"id": "INV-2026-0001"}),
        409,
        &["is issued"],
    );
    fails(&t, "issue", json!({"id": id}), 409, &["is issued"]);
    assert_eq!(state(&t), before);
    assert_eq!(inv(&t, "get-document", json!({"id": id})), issued);
}

#[test]
fn bad_input_is_refused_with_nothing_changed() {
    let (_clock, t) = host();
    setup(&t);
    let acme = customer(&t);
    let paper = supplier(&t);

    // Tax codes: the rate is 0 to 100 %, the account is named.
    for (input, fragment) in [
        (
            json!({"code": "X", "rate-bp": 10001, "account": "liabilities:vat"}),
            "0 to 10000 basis points",
        ),
        (
            json!({"code": "X", "rate-bp": -1, "account": "liabilities:vat"}),
            "0 to 10000 basis points",
        ),
        (
            json!({"code": "X", "rate-bp": 2000}),
            "needs the ledger account",
        ),
        (
            json!({"code": "X", "rate-bp": 2000, "account": "  "}),
            "needs the ledger account",
        ),
        (
            json!({"code": "a b", "rate-bp": 2000, "account": "liabilities:vat"}),
            "must be letters",
        ),
    ] {
        fails(&t, "set-tax-code", input, 400, &[fragment]);
    }
    assert_eq!(
        inv(&t, "list-tax-codes", json!({}))["tax-codes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let empty = state(&t);
    for (input, fragments) in [
        (
            json!({"kind": "invoice", "contact": acme, "lines": [
                {"description": "x", "unit-price": 100, "tax-code": "UK-VAT17"}]}),
            vec!["line 1", "unknown tax code \"UK-VAT17\""],
        ),
        (
            json!({"kind": "invoice", "contact": acme, "lines": []}),
            vec!["at least one line"],
        ),
        (
            json!({"kind": "invoice", "contact": paper, "lines": two_lines()}),
            vec!["is a supplier; a sales invoice needs a customer"],
        ),
        (
            json!({"kind": "invoice", "contact": "c-000099", "lines": two_lines()}),
            vec!["unknown contact", "c-000099"],
        ),
        (
            json!({"kind": "invoice", "contact": acme, "lines": [
                {"description": "x", "unit-price": "1.234", "tax-code": "UK-VAT20"}]}),
            vec!["line 1: unit-price", "more than 2 decimal places"],
        ),
        (
            json!({"kind": "invoice", "contact": acme, "lines": [
                {"description": "x", "quantity": "1.2345", "unit-price": 1, "tax-code": "UK-VAT20"}]}),
            vec!["at most 3 decimals"],
        ),
        (
            json!({"kind": "invoice", "contact": acme, "lines": [
                {"description": "x", "unit-price": 1, "discount-bp": 10001, "tax-code": "UK-VAT20"}]}),
            vec!["discount-bp must be 0 to 10000"],
        ),
        (
            json!({"kind": "credit-note", "lines": two_lines()}),
            vec!["needs corrects"],
        ),
    ] {
        fails(&t, "create-document", input, 400, &fragments);
    }
    assert_eq!(state(&t), empty);

    let d = draft_invoice(&t, &acme);
    fails(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": d["id"], "lines": two_lines()}),
        400,
        &["corrects an issued invoice or bill", "a draft"],
    );
    let id = d["id"].as_str().unwrap().to_owned();
    inv(&t, "issue", json!({"id": id}));

    // A payment larger than what is open (275.97).
    let before = state(&t);
    fails(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": "275.98"}),
        400,
        &[
            "payment of GBP 275.98 is larger than the GBP 275.97 open",
            "nothing was recorded",
        ],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": 30000, "allocations": [{"document": "INV-2026-0001", "amount": 30000}]}),
        400,
        &["cannot allocate GBP 300.00 to INV-2026-0001: GBP 275.97 is open"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": 100, "allocations": [{"document": "INV-2026-0001", "amount": 50}]}),
        400,
        &["allocations add up to GBP 0.50, the payment is GBP 1.00"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": 100, "currency": "EUR",
               "allocations": [{"document": "INV-2026-0001", "amount": 100}]}),
        400,
        &["in GBP, the payment in EUR"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": 100, "currency": "EUR"}),
        400,
        &["larger than the EUR 0.00 open"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": 0}),
        400,
        &["above zero"],
    );
    // A credit note larger than the invoice.
    let too_big = json!({"kind": "credit-note", "corrects": "INV-2026-0001", "lines": [
        {"description": "everything and more", "unit-price": "300.00", "tax-code": "UK-ZERO"}]});
    fails(
        &t,
        "create-document",
        too_big,
        400,
        &["exceeds the GBP 275.97 that INV-2026-0001 still has to correct"],
    );
    assert_eq!(state(&t), before);

    // Two credit notes may not together exceed it either, even when the first is
    // still a draft when the second is drafted: issue checks again.
    let cn = |amount: &str| {
        inv(
            &t,
            "create-document",
            json!({"kind": "credit-note", "corrects": "INV-2026-0001", "lines": [
                {"description": "refund", "unit-price": amount, "tax-code": "UK-ZERO"}]}),
        )
    };
    let a = cn("200.00");
    let b = cn("100.00");
    inv(&t, "issue", json!({"id": a["id"]}));
    let before = state(&t);
    fails(
        &t,
        "issue",
        json!({"id": b["id"]}),
        400,
        &["exceeds the GBP 75.97 that INV-2026-0001 still has to correct"],
    );
    assert_eq!(state(&t), before);
    // Nothing open now: the invoice's 75.97 left can be paid, not a penny more.
    fails(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": "75.98"}),
        400,
        &["larger than the GBP 75.97 open"],
    );
    assert_eq!(state(&t), before);
}

#[test]
fn issuing_needs_the_ledger_permission_too() {
    let (_clock, t) = host();
    setup(&t);
    let acme = customer(&t);
    let d = draft_invoice(&t, &acme);
    let clerk = user("clerk", &["invoicing.*", "contacts.read"]);
    let err = t
        .call_as("acme", "invoicing", "issue", json!({"id": d["id"]}), &clerk)
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    assert!(err.to_string().contains("ledger.post"), "{err}");
    assert_eq!(
        inv(&t, "get-document", json!({"id": d["id"]}))["status"],
        "draft"
    );
    let bookkeeper = user(
        "bookkeeper",
        &["invoicing.*", "contacts.read", "ledger.post"],
    );
    let out = t
        .call_as(
            "acme",
            "invoicing",
            "issue",
            json!({"id": d["id"]}),
            &bookkeeper,
        )
        .unwrap();
    assert_eq!(out["number"], "INV-2026-0001");
}

#[test]
fn the_daily_job_emits_overdue_reminders_once_per_interval() {
    let (clock, t) = host();
    setup(&t);
    let acme = customer(&t);
    let d = draft_invoice(&t, &acme);
    inv(
        &t,
        "update-draft",
        json!({"id": d["id"], "due-date": "2026-01-12"}),
    );
    inv(&t, "issue", json!({"id": d["id"]}));
    let run = |at: &str| {
        clock.set(TestClock::at_rfc3339(at).now());
        t.host.run_due().unwrap();
        events(&t, "invoicing.overdue")
    };
    // 07:00 in London is 07:00 UTC in winter.
    assert!(
        run("2026-01-12T07:00:00Z").is_empty(),
        "due today, not overdue"
    );
    let sent = run("2026-01-13T07:00:00Z");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["number"], "INV-2026-0001");
    assert_eq!(sent[0]["days-past-due"], 1);
    assert_eq!(sent[0]["open"], 27597);
    assert_eq!(sent[0]["as-of"], "2026-01-13");
    assert_eq!(
        run("2026-01-14T07:00:00Z").len(),
        1,
        "not again within 7 days"
    );
    assert_eq!(run("2026-01-20T07:00:00Z").len(), 2, "a week later");
    // Paid: no more reminders.
    inv(
        &t,
        "record-payment",
        json!({"contact": acme, "amount": 27597}),
    );
    assert_eq!(run("2026-01-28T07:00:00Z").len(), 2);
    let jobs = t
        .host
        .jobs(&backoffice_host::store::JobFilter {
            tenant: Some("acme".into()),
            plugin: Some("invoicing".into()),
        })
        .unwrap();
    let job = jobs.iter().find(|j| j.job == "send-overdue").unwrap();
    assert_eq!(job.cron.as_deref(), Some("0 7 * * *"));
    let history = t.host.job_history(Some(job.id), 100).unwrap();
    assert!(history.iter().all(|r| r.outcome == "ok"), "{history:?}");
    assert!(history.len() >= 5, "{history:?}");
}

/// What was open of `d` (a listed document) at the end of `day`, as invoicing 0.2.0
/// computed it from the whole document: its total less the settlements up to then.
fn open_from_document(d: &Value, day: &str) -> i64 {
    let Some(date) = d["date"].as_str() else {
        return 0;
    };
    if d["status"] != "issued" || date > day {
        return 0;
    }
    let settled: i64 = d["settlements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["date"].as_str().unwrap() <= day)
        .map(|s| s["amount"].as_i64().unwrap())
        .sum();
    let sign = if d["kind"] == "credit-note" { -1 } else { 1 };
    sign * (d["total"].as_i64().unwrap() - settled)
}

/// The reports walk the open-item index (0.2.1); on a mixed set of documents (open,
/// part paid, paid in full, credited, a credit note, a bill) they answer at every
/// date what reading every document answered, and statements list every document
/// and payment.
#[test]
fn reports_from_the_index_equal_those_from_every_document() {
    let (_clock, t) = host();
    setup(&t);
    let acme = customer(&t);
    let other = call_in(
        &t,
        "contacts",
        "create",
        json!({"name": "Other Ltd", "kind": "customer", "payment-terms-days": 14, "default-currency": "GBP"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let paper = supplier(&t);
    let issue = |contact: &str, kind: &str, date: &str| {
        let d = inv(
            &t,
            "create-document",
            json!({"kind": kind, "contact": contact, "lines": two_lines()}),
        );
        inv(&t, "issue", json!({"id": d["id"], "date": date}))["number"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a1 = issue(&acme, "invoice", "2025-11-20");
    let a2 = issue(&acme, "invoice", "2025-12-20");
    let o1 = issue(&other, "invoice", "2025-10-01");
    let _o2 = issue(&other, "invoice", "2026-01-03");
    let _b1 = issue(&paper, "bill", "2025-12-28");
    // Part paid, then the rest; paid in full at once; credited in part.
    for (contact, date, amount, doc) in [
        (&acme, "2025-12-10", 10_000, &a1),
        (&acme, "2026-01-06", 17_597, &a1),
        (&other, "2025-12-31", 27_597, &o1),
    ] {
        inv(
            &t,
            "record-payment",
            json!({"contact": contact, "date": date, "amount": amount,
                   "allocations": [{"document": doc, "amount": amount}]}),
        );
    }
    let cn = inv(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": a2, "lines": [
            {"description": "Returned", "unit-price": "50.00", "tax-code": "UK-VAT20"}]}),
    );
    inv(&t, "issue", json!({"id": cn["id"], "date": "2026-01-08"}));
    let docs = inv(&t, "list-documents", json!({}))["documents"]
        .as_array()
        .unwrap()
        .clone();
    for day in [
        "2025-09-30",
        "2025-10-01",
        "2025-12-09",
        "2025-12-10",
        "2025-12-30",
        "2025-12-31",
        "2026-01-05",
        "2026-01-06",
        "2026-01-08",
        "2026-01-10",
        "2026-06-30",
    ] {
        let mut want: Vec<(String, i64)> = docs
            .iter()
            .map(|d| {
                (
                    d["id"].as_str().unwrap().to_owned(),
                    open_from_document(d, day),
                )
            })
            .filter(|(_, open)| *open != 0)
            .collect();
        want.sort();
        let report = inv(&t, "open-items", json!({"as-of": day}));
        let mut got: Vec<(String, i64)> = report["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_str().unwrap().to_owned(),
                    i["open"].as_i64().unwrap(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "open items at the end of {day}");
        let ageing = inv(&t, "ageing", json!({"as-of": day}));
        let aged: i64 = ageing["totals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["total"].as_i64().unwrap())
            .sum();
        assert_eq!(
            aged,
            want.iter().map(|w| w.1).sum::<i64>(),
            "ageing on {day}"
        );
        let acme_only = inv(&t, "open-items", json!({"as-of": day, "contact": acme}));
        assert!(
            acme_only["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["contact"] == acme.as_str())
        );
    }
    let st = inv(
        &t,
        "statement",
        json!({"contact": acme, "to": "2026-06-30"}),
    );
    let kinds: Vec<&str> = st["currencies"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["invoice", "payment", "invoice", "payment", "credit-note"]
    );
    let open_now: i64 = docs
        .iter()
        .filter(|d| d["contact"] == acme.as_str())
        .map(|d| open_from_document(d, "2026-06-30"))
        .sum();
    assert_eq!(st["currencies"][0]["closing"], open_now);
}
