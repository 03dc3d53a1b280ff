//! The bundled `ledger` plugin through the real host: what a bookkeeper does, and every
//! kind of bad input, each checked for its error and for leaving the books unchanged.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::time::Duration;

use backoffice_host::runtime::Limits;
use backoffice_tests::{TestHost, user};
use serde_json::{Value, json};

fn host() -> TestHost {
    TestHost::with_limits(Limits {
        call_deadline: Duration::from_secs(5),
        ..Limits::default()
    })
    .with_plugin("ledger", "ledger", &["acme"])
}

fn call(t: &TestHost, op: &str, input: Value) -> Value {
    t.call("acme", "ledger", op, input)
        .unwrap_or_else(|e| panic!("{op} failed: {e}"))
}

/// The call fails with `status` and a message containing every fragment.
fn fails(t: &TestHost, op: &str, input: Value, status: u16, fragments: &[&str]) -> String {
    let err = t.call("acme", "ledger", op, input).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.http_status(), status, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
    msg
}

fn account(t: &TestHost, name: &str, kind: &str) {
    call(t, "create-account", json!({"name": name, "type": kind}));
}

/// A small chart of accounts.
fn books() -> TestHost {
    let t = host();
    for (name, kind) in [
        ("assets:bank:checking", "asset"),
        ("assets:bank:savings", "asset"),
        ("assets:cash", "asset"),
        ("liabilities:card", "liability"),
        ("equity:opening", "equity"),
        ("income:sales", "income"),
        ("expenses:rent", "expense"),
        ("expenses:food", "expense"),
    ] {
        account(&t, name, kind);
    }
    t
}

fn post(t: &TestHost, date: &str, desc: &str, postings: Value) -> Value {
    call(
        t,
        "post-entry",
        json!({"date": date, "description": desc, "postings": postings}),
    )
}

fn eur(account: &str, amount: i64) -> Value {
    json!({"account": account, "amount": amount, "currency": "EUR"})
}

/// Everything a refused call must leave as it was.
fn state(t: &TestHost) -> (Value, Value, Value) {
    (
        call(t, "trial-balance", json!({})),
        call(t, "export", json!({"what": "entries", "format": "json"}))["data"].clone(),
        call(t, "list-accounts", json!({"include-closed": true})),
    )
}

fn amounts(v: &Value) -> Vec<(String, i64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["currency"].as_str().unwrap().to_owned(),
                a["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row<'a>(report: &'a Value, account: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account"] == account)
        .unwrap_or_else(|| panic!("no row {account} in {report}"))
}

#[test]
fn posts_an_entry_with_an_elided_amount_and_reports_it() {
    let t = books();
    let e = post(
        &t,
        "2024-01-01",
        "Opening balance",
        json!([eur("assets:bank:checking", 100_000), {"account": "equity:opening"}]),
    );
    assert_eq!(e["id"], "e-000001");
    assert_eq!(e["postings"][1]["amount"], -100_000);
    assert_eq!(e["reversed-by"], Value::Null);
    post(
        &t,
        "2024-01-15",
        "Rent",
        json!([eur("expenses:rent", 80_000), {"account": "assets:bank:checking", "currency": "EUR"}]),
    );
    post(
        &t,
        "2024-02-03",
        "Sale",
        json!([{"account": "assets:bank:savings", "amount": "250.50", "currency": "EUR"}, eur("income:sales", -25_050)]),
    );
    let got = call(&t, "get-entry", json!({"id": "e-000002"}));
    assert_eq!(got["description"], "Rent");

    let bal = call(&t, "balance", json!({"depth": 2}));
    assert_eq!(
        amounts(&row(&bal, "assets:bank")["amounts"]),
        [("EUR".into(), 45_050)]
    );
    assert_eq!(
        amounts(&bal["totals"]),
        Vec::<(String, i64)>::new(),
        "all zero"
    );
    let jan = call(
        &t,
        "balance",
        json!({"as-of": "2024-01-31", "prefix": "assets"}),
    );
    assert_eq!(
        amounts(&row(&jan, "assets:bank:checking")["amounts"]),
        [("EUR".into(), 20_000)]
    );
    assert_eq!(jan["rows"].as_array().unwrap().len(), 1, "{jan}");

    let tb = call(&t, "trial-balance", json!({}));
    assert_eq!(tb["balanced"], true);
    assert_eq!(amounts(&tb["debit"]), [("EUR".into(), 125_050)]);

    let bs = call(&t, "balance-sheet", json!({"as-of": "2024-02-28"}));
    assert_eq!(
        amounts(&bs["sections"][0]["totals"]),
        [("EUR".into(), 45_050)]
    );
    assert_eq!(
        amounts(&bs["sections"][2]["totals"]),
        [("EUR".into(), 100_000)]
    );
    assert_eq!(amounts(&bs["net"]), [("EUR".into(), -54_950)]);

    let is = call(
        &t,
        "income-statement",
        json!({"from": "2024-01-02", "to": "2024-02-29"}),
    );
    assert_eq!(
        amounts(&is["sections"][0]["totals"]),
        [("EUR".into(), 25_050)]
    );
    assert_eq!(
        amounts(&is["sections"][1]["totals"]),
        [("EUR".into(), 80_000)]
    );
    assert_eq!(amounts(&is["net"]), [("EUR".into(), -54_950)]);
    assert_eq!(is["net"][0]["formatted"], "-549.50");

    let reg = call(
        &t,
        "register",
        json!({"account": "assets:bank", "from": "2024-01-10"}),
    );
    assert_eq!(amounts(&reg["opening"]), [("EUR".into(), 100_000)]);
    let rows = reg["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(amounts(&rows[0]["balance"]), [("EUR".into(), 20_000)]);
    assert_eq!(amounts(&rows[1]["balance"]), [("EUR".into(), 45_050)]);
    assert_eq!(rows[1]["account"], "assets:bank:savings");

    let csv = call(
        &t,
        "export",
        json!({"what": "trial-balance", "format": "csv", "depth": 1}),
    );
    let text = csv["csv"].as_str().unwrap();
    assert!(
        text.starts_with("side,account,currency,amount,formatted\r\n"),
        "{text}"
    );
    assert!(text.contains("debit,assets,EUR,45050,450.50\r\n"), "{text}");
    let entries = call(&t, "export", json!({"what": "entries", "format": "csv"}));
    assert_eq!(entries["csv"].as_str().unwrap().lines().count(), 7);
}

#[test]
fn multi_currency_entries_balance_per_currency_or_with_a_cost() {
    let t = books();
    post(
        &t,
        "2024-03-01",
        "Two currencies, each balanced",
        json!([eur("assets:cash", 500), eur("income:sales", -500),
               {"account": "assets:cash", "amount": 700, "currency": "USD"},
               {"account": "income:sales", "currency": "USD"}]),
    );
    post(
        &t,
        "2024-03-02",
        "Exchange",
        json!([{"account": "assets:cash", "amount": 10_000, "currency": "USD", "cost": {"amount": "92.00", "currency": "EUR"}},
               eur("assets:bank:checking", -9_200)]),
    );
    let bal = call(&t, "balance", json!({"prefix": "assets:cash"}));
    assert_eq!(
        amounts(&row(&bal, "assets:cash")["amounts"]),
        [("EUR".into(), 500), ("USD".into(), 10_700)]
    );
}

#[test]
fn an_unbalanced_entry_shows_the_imbalance_per_currency_and_writes_nothing() {
    let t = books();
    post(
        &t,
        "2024-01-01",
        "ok",
        json!([eur("assets:cash", 100), eur("income:sales", -100)]),
    );
    let before = state(&t);
    fails(
        &t,
        "post-entry",
        json!({"date": "2024-01-02", "description": "bad", "postings": [
            eur("assets:cash", 1000), eur("income:sales", -990),
            {"account": "assets:cash", "amount": 5, "currency": "USD"},
            {"account": "income:sales", "amount": -7, "currency": "USD"}]}),
        400,
        &["does not balance", "EUR 0.10", "USD -0.02"],
    );
    assert_eq!(state(&t), before);
}

#[test]
fn unknown_and_closed_accounts_are_refused() {
    let t = books();
    let before = state(&t);
    fails(
        &t,
        "post-entry",
        json!({"date": "2024-01-02", "description": "x", "postings": [eur("assets:nowhere", 1), eur("income:sales", -1)]}),
        400,
        &["unknown account assets:nowhere"],
    );
    assert_eq!(state(&t), before);
    post(
        &t,
        "2024-01-05",
        "last",
        json!([eur("assets:cash", 100), eur("income:sales", -100)]),
    );
    fails(
        &t,
        "close-account",
        json!({"name": "assets:cash", "date": "2024-01-04"}),
        400,
        &["has postings after 2024-01-04"],
    );
    call(
        &t,
        "close-account",
        json!({"name": "assets:cash", "date": "2024-01-31"}),
    );
    fails(
        &t,
        "close-account",
        json!({"name": "assets:cash", "date": "2024-02-01"}),
        409,
        &["already closed"],
    );
    let before = state(&t);
    fails(
        &t,
        "post-entry",
        json!({"date": "2024-02-01", "description": "x", "postings": [eur("assets:cash", 1), eur("income:sales", -1)]}),
        400,
        &["account assets:cash is closed (since 2024-01-31)"],
    );
    assert_eq!(state(&t), before);
    post(
        &t,
        "2024-01-20",
        "back-dated, still open then",
        json!([eur("assets:cash", 1), eur("income:sales", -1)]),
    );
    let open = call(&t, "list-accounts", json!({"prefix": "assets"}));
    assert_eq!(
        open["accounts"].as_array().unwrap().len(),
        2,
        "closed accounts hidden"
    );
}

#[test]
fn posting_inside_a_locked_period_is_refused_and_locking_needs_admin() {
    let t = books();
    let clerk = user("clerk", &["ledger.read", "ledger.post"]);
    let err = t
        .call_as(
            "acme",
            "ledger",
            "set-lock-date",
            json!({"date": "2024-03-31"}),
            &clerk,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    let lock = call(&t, "set-lock-date", json!({"date": "2024-03-31"}));
    assert_eq!(lock["lock-date"], "2024-03-31");
    let before = state(&t);
    for date in ["2024-03-31", "2023-12-01"] {
        fails(
            &t,
            "post-entry",
            json!({"date": date, "description": "x", "postings": [eur("assets:cash", 1), eur("income:sales", -1)]}),
            400,
            &["the period up to 2024-03-31 is locked"],
        );
    }
    let journal = "2024-03-01 late\n    assets:cash  1 EUR\n    income:sales\n";
    fails(
        &t,
        "import-journal",
        json!({"journal": journal}),
        400,
        &["line 1: the period up to 2024-03-31 is locked"],
    );
    assert_eq!(state(&t), before);
    let ok = t
        .call_as(
            "acme",
            "ledger",
            "post-entry",
            json!({"date": "2024-04-01", "description": "x", "postings": [eur("assets:cash", 1), eur("income:sales", -1)]}),
            &clerk,
        )
        .unwrap();
    assert_eq!(ok["id"], "e-000001");
}

#[test]
fn reversing_links_the_entries_and_twice_is_refused() {
    let t = books();
    let e = post(
        &t,
        "2024-01-05",
        "Wrong",
        json!([eur("expenses:food", 1234), eur("liabilities:card", -1234)]),
    );
    let r = call(
        &t,
        "reverse-entry",
        json!({"id": e["id"], "date": "2024-01-06"}),
    );
    assert_eq!(r["reverses"], e["id"]);
    assert_eq!(r["postings"][0]["amount"], -1234);
    assert_eq!(
        call(&t, "get-entry", json!({"id": e["id"]}))["reversed-by"],
        r["id"]
    );
    let before = state(&t);
    fails(
        &t,
        "reverse-entry",
        json!({"id": e["id"]}),
        409,
        &["already reversed by e-000002"],
    );
    fails(
        &t,
        "reverse-entry",
        json!({"id": "e-000099"}),
        404,
        &["no entry e-000099"],
    );
    assert_eq!(state(&t), before);
    let bal = call(&t, "balance", json!({}));
    assert_eq!(bal["rows"].as_array().unwrap().len(), 0, "{bal}");
}

#[test]
fn an_idempotency_key_replays_the_entry_or_conflicts() {
    let t = books();
    let input = json!({"date": "2024-01-05", "description": "Payroll run 7", "idempotency-key": "payroll-7",
        "reference": {"source": "payroll", "document": "run-7"},
        "postings": [eur("expenses:rent", 500), eur("assets:bank:checking", -500)]});
    let first = call(&t, "post-entry", input.clone());
    let again = call(&t, "post-entry", input.clone());
    assert_eq!(first, again);
    let before = state(&t);
    let mut changed = input.clone();
    changed["postings"][0]["amount"] = json!(600);
    changed["postings"][1]["amount"] = json!(-600);
    fails(
        &t,
        "post-entry",
        changed,
        409,
        &[
            "idempotency key \"payroll-7\"",
            "e-000001",
            "different content",
        ],
    );
    assert_eq!(state(&t), before);
}

#[test]
fn an_amount_with_too_many_decimals_is_refused() {
    let t = books();
    let before = state(&t);
    fails(
        &t,
        "post-entry",
        json!({"date": "2024-01-05", "description": "x", "postings": [
            {"account": "assets:cash", "amount": "12.345", "currency": "EUR"}, {"account": "income:sales"}]}),
        400,
        &["12.345 has more decimals than EUR allows (2)"],
    );
    fails(
        &t,
        "post-entry",
        json!({"date": "2024-01-05", "description": "x", "postings": [
            {"account": "assets:cash", "amount": "1.5", "currency": "JPY"}, {"account": "income:sales"}]}),
        400,
        &["more decimals than JPY allows (0)"],
    );
    let journal = "2024-01-05 x\n    assets:cash  3 EUR\n    income:sales\n\n2024-01-06 y\n    assets:cash  1.001 EUR\n    income:sales\n";
    fails(
        &t,
        "import-journal",
        json!({"journal": journal}),
        400,
        &["line 6: 1.001 has more decimals than EUR allows (2)"],
    );
    assert_eq!(state(&t), before);
    call(
        &t,
        "create-commodity",
        json!({"code": "HOURS", "precision": 1}),
    );
    fails(
        &t,
        "post-entry",
        json!({"date": "2024-01-05", "description": "x", "postings": [
            {"account": "assets:cash", "amount": "1.25", "currency": "HOURS"}, {"account": "income:sales"}]}),
        400,
        &["more decimals than HOURS allows (1)"],
    );
}

#[test]
fn a_malformed_journal_names_the_line_and_imports_nothing() {
    let t = books();
    let before = state(&t);
    let journal = "\
account assets:bank:checking

2024-01-01 Opening
    assets:bank:checking    EUR 1,000.00
    equity:opening

2024-01-02 Broken
    expenses:food   12,34 EUR
    assets:bank:checking
";
    fails(
        &t,
        "import-journal",
        json!({"journal": journal}),
        400,
        &["line 8:", "\"12,34 EUR\" is not an amount"],
    );
    let unbalanced = "2024-01-01 A\n    assets:cash  5 EUR\n    income:sales  -4 EUR\n\n2024-01-02 B\n    misc:thing  1 EUR\n    assets:cash\n";
    fails(
        &t,
        "import-journal",
        json!({"journal": unbalanced}),
        400,
        &[
            "line 1: the entry does not balance: it is off by EUR 1.00",
            "line 6: cannot infer the type of account misc:thing",
        ],
    );
    assert_eq!(state(&t), before);
}

#[test]
fn import_creates_accounts_and_commodities_and_posts_in_order() {
    let t = host();
    let journal = "\
commodity $1,000.00
account assets:checking  ; type: A
account savings  ; type: Asset

2024-01-01 * Opening
    assets:checking    $1,000.00
    savings  $50
    equity:opening

2024-01-05 (42) Grocer | weekly
    expenses:food   $12.34  ; lunch
    assets:checking
";
    let out = call(&t, "import-journal", json!({"journal": journal}));
    assert_eq!(out["entries"], 2);
    assert_eq!(out["commodities-created"], json!(["$"]));
    assert_eq!(
        out["accounts-created"],
        json!([
            "assets:checking",
            "savings",
            "equity:opening",
            "expenses:food"
        ])
    );
    let e = call(&t, "get-entry", json!({"id": "e-000002"}));
    assert_eq!(e["payee"], "Grocer");
    assert_eq!(e["code"], "42");
    assert_eq!(e["postings"][0]["memo"], "lunch");
    let bs = call(&t, "balance-sheet", json!({}));
    assert_eq!(
        amounts(&bs["sections"][0]["totals"]),
        [("$".into(), 103_766)]
    );
    assert_eq!(bs["sections"][0]["totals"][0]["formatted"], "1037.66");
}

fn outbox(t: &TestHost) -> Vec<(String, Value)> {
    let filter = backoffice_host::store::EventFilter {
        tenant: Some("acme".into()),
        topic: None,
        limit: 1000,
    };
    let mut list = t.host.events(&filter).unwrap();
    list.sort_by_key(|e| e.seq);
    list.into_iter()
        .map(|e| (e.topic, serde_json::from_str(&e.payload).unwrap()))
        .collect()
}

#[test]
fn posting_and_reversing_emit_events_and_refused_calls_emit_none() {
    let t = books();
    let e = call(
        &t,
        "post-entry",
        json!({"date": "2024-01-05", "description": "Payroll", "reference": {"source": "payroll", "document": "run-1"},
               "postings": [eur("expenses:rent", 500), eur("assets:bank:checking", -500)]}),
    );
    call(&t, "reverse-entry", json!({"id": e["id"]}));
    fails(
        &t,
        "reverse-entry",
        json!({"id": e["id"]}),
        409,
        &["already reversed"],
    );
    fails(
        &t,
        "post-entry",
        json!({"date": "2024-01-05", "description": "bad", "postings": [eur("expenses:rent", 1), eur("assets:cash", -2)]}),
        400,
        &["does not balance"],
    );
    let events = outbox(&t);
    let topics: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(topics, ["ledger.entry-posted", "ledger.entry-reversed"]);
    assert_eq!(events[0].1["id"], "e-000001");
    assert_eq!(events[0].1["reference"]["document"], "run-1");
    assert_eq!(events[0].1["postings"][1]["amount"], -500);
    assert_eq!(events[1].1["reverses"], "e-000001");
}

#[test]
fn journal_balance_assertions_are_checked_against_the_books() {
    let t = books();
    post(
        &t,
        "2024-01-01",
        "Opening",
        json!([eur("assets:cash", 10_000), eur("equity:opening", -10_000)]),
    );
    let before = state(&t);
    let wrong =
        "2024-02-01 Lunch\n    expenses:food  12.50 EUR\n    assets:cash  -12.50 EUR = 90.00 EUR\n";
    fails(
        &t,
        "import-journal",
        json!({"journal": wrong}),
        400,
        &[
            "line 3: balance assertion failed: assets:cash is 87.50 EUR after this posting, not 90.00",
        ],
    );
    assert_eq!(state(&t), before);
    let right =
        "2024-02-01 Lunch\n    expenses:food  12.50 EUR\n    assets:cash  -12.50 EUR = 87.50 EUR\n";
    assert_eq!(
        call(&t, "import-journal", json!({"journal": right}))["entries"],
        1
    );
}
