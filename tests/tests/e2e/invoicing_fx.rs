//! Invoicing in foreign currencies through the real host, next to the ledger and
//! contacts: a EUR company invoices in USD at one rate and is paid at others, buys in
//! USD at the ledger's market prices, and sees the realised exchange differences, the
//! receivable and payable back to exactly zero in the base currency, and open items,
//! ageing and statements with base values. Bad input is refused with nothing written.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeMap;

use backoffice_tests::TestHost;
use serde_json::{Value, json};

use crate::invoicing::{call_in, fails, host, inv, state};

/// `amount` (minor units) at `rate` given as `num / den`, rounded half away from
/// zero: the test's own arithmetic, to check the plugin's against.
fn at(amount: i64, num: i64, den: i64) -> i64 {
    let n = i128::from(amount) * i128::from(num);
    let d = i128::from(den);
    let q = n / d;
    let r = n % d;
    i64::try_from(if 2 * r.abs() >= d { q + n.signum() } else { q }).unwrap()
}

/// Base currency EUR, a zero-rated export code and a 20 % code, and the ledger
/// accounts, the realised exchange gain and loss accounts among them.
fn eur_company(t: &TestHost) {
    let mut s = inv(t, "get-settings", json!({}));
    assert_eq!(s["fx-gain-account"], "income:fx-gain");
    assert_eq!(s["fx-loss-account"], "expenses:fx-loss");
    s["base-currency"] = json!("EUR");
    let saved = inv(t, "set-settings", s);
    assert_eq!(saved["base-currency"], "EUR");
    inv(
        t,
        "set-tax-code",
        json!({"code": "EXPORT", "rate-bp": 0, "account": "liabilities:vat"}),
    );
    inv(
        t,
        "set-tax-code",
        json!({"code": "VAT20", "rate-bp": 2000, "account": "liabilities:vat"}),
    );
    let out = inv(t, "setup-ledger", json!({}));
    let created: Vec<&str> = out["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(created.contains(&"income:fx-gain"), "{out}");
    assert!(created.contains(&"expenses:fx-loss"), "{out}");
}

fn contact(t: &TestHost, name: &str, kind: &str) -> String {
    let c = call_in(
        t,
        "contacts",
        "create",
        json!({"name": name, "kind": kind, "payment-terms-days": 30, "default-currency": "USD"}),
    );
    c["id"].as_str().unwrap().to_owned()
}

/// A posting as (account, amount, currency, cost as amount and currency).
type Posting = (String, i64, String, Option<(i64, String)>);

/// Globex Corp's 1000.00 USD of zero-rated consulting, issued on 2026-01-10 at 0.92
/// EUR per USD: the contact's id and the issued document.
fn usd_consulting_invoice(t: &TestHost) -> (String, Value) {
    let globex = contact(t, "Globex Corp", "customer");
    let draft = inv(
        t,
        "create-document",
        json!({"kind": "invoice", "contact": globex, "lines": [
            {"description": "Consulting", "quantity": 1, "unit-price": "1000.00", "tax-code": "EXPORT"}]}),
    );
    let doc = inv(
        t,
        "issue",
        json!({"id": draft["id"], "date": "2026-01-10", "rate": "0.92"}),
    );
    (globex, doc)
}

/// The postings of a ledger entry, in the entry's order.
fn postings(t: &TestHost, entry: &Value) -> Vec<Posting> {
    let e = call_in(t, "ledger", "get-entry", json!({ "id": entry }));
    e["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["account"].as_str().unwrap().to_owned(),
                p["amount"].as_i64().unwrap(),
                p["currency"].as_str().unwrap().to_owned(),
                p.get("cost").map(|c| {
                    (
                        c["amount"].as_i64().unwrap(),
                        c["currency"].as_str().unwrap().to_owned(),
                    )
                }),
            )
        })
        .collect()
}

/// The cost-basis trial balance of the whole ledger, per account and commodity: a
/// posting with a cost counts as its cost (with the posting's sign), as `hledger
/// balance -B` counts it.
fn cost_basis(t: &TestHost) -> BTreeMap<String, BTreeMap<String, i64>> {
    let export = call_in(
        t,
        "ledger",
        "export",
        json!({"what": "entries", "format": "json"}),
    );
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for e in export["data"].as_array().unwrap() {
        for p in e["postings"].as_array().unwrap() {
            let amount = p["amount"].as_i64().unwrap();
            let (value, currency) = match p.get("cost") {
                Some(c) => (
                    amount.signum() * c["amount"].as_i64().unwrap(),
                    c["currency"].as_str().unwrap(),
                ),
                None => (amount, p["currency"].as_str().unwrap()),
            };
            *out.entry(p["account"].as_str().unwrap().to_owned())
                .or_default()
                .entry(currency.to_owned())
                .or_default() += value;
        }
    }
    out
}

/// `cost_basis` as hledger computes it: the ledger's books exported as a journal
/// (`export` with `format: journal`, page by page) and read by `hledger balance -B`
/// (hledger 1.25; every amount here has 2 decimals). Zero balances are left out.
fn hledger_cost_basis(t: &TestHost) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut journal = String::new();
    let mut cursor = Value::Null;
    loop {
        let mut input = json!({"what": "entries", "format": "journal", "limit": 2});
        if !cursor.is_null() {
            input["cursor"] = cursor.clone();
        }
        let page = call_in(t, "ledger", "export", input);
        journal.push_str(page["journal"].as_str().unwrap());
        match page.get("next-cursor") {
            Some(next) if !next.is_null() => cursor = next.clone(),
            _ => break,
        }
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &journal).unwrap();
    let out = std::process::Command::new("hledger")
        .arg("-f")
        .arg(file.path())
        .args(["bal", "-B", "--layout=bare", "-O", "csv"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run hledger ({e}): install it with `apt-get install hledger`")
        });
    assert!(
        out.status.success(),
        "hledger bal -B failed: {}\n{journal}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut b: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split("\",\"").map(|x| x.trim_matches('"')).collect();
        if f[0] == "total" || f[1].is_empty() {
            continue;
        }
        let digits: String = f[2].chars().filter(|c| *c != ',' && *c != '.').collect();
        assert!(f[2].contains('.'), "{line}: expected 2 decimals");
        let n: i64 = digits.parse().unwrap();
        if n != 0 {
            b.entry(f[0].to_owned())
                .or_default()
                .insert(f[1].to_owned(), n);
        }
    }
    b
}

/// `cost_basis` without zero balances, to compare with hledger's.
fn nonzero(b: BTreeMap<String, BTreeMap<String, i64>>) -> BTreeMap<String, BTreeMap<String, i64>> {
    b.into_iter()
        .map(|(a, m)| {
            (
                a,
                m.into_iter()
                    .filter(|(_, v)| *v != 0)
                    .collect::<BTreeMap<_, _>>(),
            )
        })
        .filter(|(_, m)| !m.is_empty())
        .collect()
}

fn eur(b: &BTreeMap<String, BTreeMap<String, i64>>, account: &str) -> i64 {
    b.get(account)
        .and_then(|m| m.get("EUR"))
        .copied()
        .unwrap_or(0)
}

fn cost(amount: i64, currency: &str) -> Option<(i64, String)> {
    Some((amount, currency.to_owned()))
}

#[test]
fn a_usd_invoice_booked_at_one_rate_and_paid_at_two_others_realises_the_differences() {
    let (_clock, t) = host();
    eur_company(&t);
    let globex = contact(&t, "Globex Corp", "customer");

    // 1000.00 USD of consulting, zero-rated, issued at 0.92 EUR per USD.
    let draft = inv(
        &t,
        "create-document",
        json!({"kind": "invoice", "contact": globex, "lines": [
            {"description": "Consulting", "quantity": 1, "unit-price": "1000.00", "tax-code": "EXPORT"}]}),
    );
    assert_eq!(draft["currency"], "USD");
    let total = draft["total"].as_i64().unwrap();
    assert_eq!(total, 100_000);
    let doc = inv(
        &t,
        "issue",
        json!({"id": draft["id"], "date": "2026-01-10", "rate": "0.92"}),
    );
    let booked = at(total, 92, 100);
    assert_eq!(doc["rate"], "0.92");
    assert_eq!(doc["base-currency"], "EUR");
    assert_eq!(doc["base-total"], booked);
    assert_eq!(doc["base-open"], booked);
    assert_eq!(
        postings(&t, &doc["ledger-entry"]),
        vec![
            (
                "assets:receivable".into(),
                total,
                "USD".into(),
                cost(booked, "EUR")
            ),
            ("income:sales".into(), -booked, "EUR".into(), None),
        ],
        "the receivable keeps USD at its EUR cost; revenue is in EUR"
    );

    // Half paid at 0.90: the bank gets less EUR than the half releases: a loss.
    let half = total / 2;
    let p1 = inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "500.00", "rate": "0.90"}),
    );
    let bank1 = at(half, 90, 100);
    let released1 = at(half, booked, total);
    let diff1 = bank1 - released1;
    assert!(diff1 < 0, "paid at a lower rate than booked: a loss");
    assert_eq!(p1["rate"], "0.9");
    assert_eq!(p1["base-currency"], "EUR");
    assert_eq!(p1["base-amount"], bank1);
    assert_eq!(p1["exchange-difference"], diff1);
    assert_eq!(p1["allocations"][0]["amount"], half);
    assert_eq!(p1["allocations"][0]["base-released"], released1);
    assert_eq!(
        postings(&t, &p1["ledger-entry"]),
        vec![
            ("assets:bank".into(), half, "USD".into(), cost(bank1, "EUR")),
            (
                "assets:receivable".into(),
                -half,
                "USD".into(),
                cost(released1, "EUR")
            ),
            ("expenses:fx-loss".into(), -diff1, "EUR".into(), None),
        ]
    );

    // Between the payments: open items, ageing and the statement show USD and EUR.
    let open = inv(&t, "open-items", json!({"as-of": "2026-01-25"}));
    let item = &open["items"][0];
    assert_eq!(
        (&item["currency"], &item["open"], &item["rate"]),
        (&json!("USD"), &json!(total - half), &json!("0.92"))
    );
    assert_eq!(item["base-currency"], "EUR");
    assert_eq!(item["base-open"], booked - released1);
    assert_eq!(open["contacts"][0]["base-open"], booked - released1);
    let ageing = inv(&t, "ageing", json!({"as-of": "2026-01-25"}));
    assert_eq!(ageing["rows"][0]["currency"], "USD");
    assert_eq!(ageing["rows"][0]["total"], total - half);
    assert_eq!(ageing["rows"][0]["base-currency"], "EUR");
    assert_eq!(ageing["rows"][0]["base-total"], booked - released1);
    assert_eq!(ageing["totals"][0]["base-total"], booked - released1);

    // The other half at 0.95: it releases exactly what is left, a gain.
    let p2 = inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-02-05", "amount": 50000, "rate": "0.95"}),
    );
    let bank2 = at(total - half, 95, 100);
    let released2 = booked - released1;
    let diff2 = bank2 - released2;
    assert!(diff2 > 0, "paid at a higher rate than booked: a gain");
    assert_eq!(p2["exchange-difference"], diff2);
    assert_eq!(p2["allocations"][0]["base-released"], released2);
    assert_eq!(
        postings(&t, &p2["ledger-entry"]),
        vec![
            (
                "assets:bank".into(),
                total - half,
                "USD".into(),
                cost(bank2, "EUR")
            ),
            (
                "assets:receivable".into(),
                -(total - half),
                "USD".into(),
                cost(released2, "EUR")
            ),
            ("income:fx-gain".into(), -diff2, "EUR".into(), None),
        ]
    );

    let paid = inv(&t, "get-document", json!({"id": doc["number"]}));
    assert_eq!((&paid["open"], &paid["base-open"]), (&json!(0), &json!(0)));
    let settled: Vec<i64> = paid["settlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["base-amount"].as_i64().unwrap())
        .collect();
    assert_eq!(settled, vec![released1, released2]);
    assert_eq!(
        inv(&t, "open-items", json!({"as-of": "2026-02-05"}))["items"],
        json!([])
    );

    // The statement: USD with the base value of each line and of the closing balance.
    let st = inv(
        &t,
        "statement",
        json!({"contact": globex, "to": "2026-02-28"}),
    );
    let usd = &st["currencies"][0];
    assert_eq!(usd["currency"], "USD");
    assert_eq!(usd["base-currency"], "EUR");
    let base_lines: Vec<i64> = usd["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["base-amount"].as_i64().unwrap())
        .collect();
    assert_eq!(base_lines, vec![booked, -released1, -released2]);
    assert_eq!(
        (&usd["closing"], &usd["base-closing"]),
        (&json!(0), &json!(0))
    );

    // The books at cost: the receivable is back to exactly zero in EUR, the bank holds
    // what the two payments were worth, and everything balances in EUR.
    let b = cost_basis(&t);
    assert_eq!(
        hledger_cost_basis(&t),
        nonzero(b.clone()),
        "hledger bal -B on the ledger's journal export"
    );
    assert_eq!(eur(&b, "assets:receivable"), 0);
    assert_eq!(b["assets:receivable"].get("USD"), None);
    assert_eq!(eur(&b, "assets:bank"), bank1 + bank2);
    assert_eq!(eur(&b, "income:sales"), -booked);
    assert_eq!(eur(&b, "expenses:fx-loss"), -diff1);
    assert_eq!(eur(&b, "income:fx-gain"), -diff2);
    let per_currency: BTreeMap<&str, i64> =
        b.values()
            .flatten()
            .fold(BTreeMap::new(), |mut acc, (c, v)| {
                *acc.entry(c.as_str()).or_default() += v;
                acc
            });
    assert_eq!(per_currency, BTreeMap::from([("EUR", 0)]));
    // The ledger's own balance of the receivable in USD is zero too.
    let rec = call_in(
        &t,
        "ledger",
        "balance",
        json!({"prefix": "assets:receivable"}),
    );
    assert!(
        rec["totals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["amount"] == 0),
        "{rec}"
    );
}

#[test]
fn a_usd_bill_booked_at_the_ledgers_price_is_paid_the_mirror_way() {
    let (_clock, t) = host();
    eur_company(&t);
    let initech = contact(&t, "Initech Inc", "supplier");
    for (date, price) in [("2026-01-01", "0.925"), ("2026-02-01", "0.95")] {
        call_in(
            &t,
            "ledger",
            "set-price",
            json!({"date": date, "commodity": "USD", "currency": "EUR", "price": price}),
        );
    }

    // 166.67 + 20 % = 200.00 USD, issued without a rate: the price of 1 January.
    let draft = inv(
        &t,
        "create-document",
        json!({"kind": "bill", "contact": initech, "lines": [
            {"description": "Licences", "quantity": 1, "unit-price": "166.67", "tax-code": "VAT20"}]}),
    );
    let (net, tax, total) = (
        draft["net"].as_i64().unwrap(),
        draft["tax"].as_i64().unwrap(),
        draft["total"].as_i64().unwrap(),
    );
    assert_eq!(total, 20_000);
    let bill = inv(
        &t,
        "issue",
        json!({"id": draft["id"], "date": "2026-01-12"}),
    );
    assert_eq!(bill["rate"], "0.925");
    let booked = at(total, 925, 1000);
    assert_eq!(bill["base-total"], booked);
    // Tax is converted on its own; the expense takes the rounding.
    let tax_eur = at(tax, 925, 1000);
    assert_eq!(at(net, 925, 1000) + tax_eur - booked, 0, "no rounding here");
    assert_eq!(
        postings(&t, &bill["ledger-entry"]),
        vec![
            (
                "liabilities:payable".into(),
                -total,
                "USD".into(),
                cost(booked, "EUR")
            ),
            (
                "expenses:purchases".into(),
                booked - tax_eur,
                "EUR".into(),
                None
            ),
            ("liabilities:vat".into(), tax_eur, "EUR".into(), None),
        ]
    );

    // 100.00 paid at a given 0.90: less EUR leaves the bank than the bill owed: a gain.
    let p1 = inv(
        &t,
        "record-payment",
        json!({"contact": initech, "date": "2026-01-20", "amount": "100.00", "rate": "0.90"}),
    );
    let bank1 = at(10_000, 90, 100);
    let released1 = at(10_000, booked, total);
    let gain = released1 - bank1;
    assert!(gain > 0);
    assert_eq!(p1["exchange-difference"], gain);
    assert_eq!(
        postings(&t, &p1["ledger-entry"]),
        vec![
            (
                "assets:bank".into(),
                -10_000,
                "USD".into(),
                cost(bank1, "EUR")
            ),
            (
                "liabilities:payable".into(),
                10_000,
                "USD".into(),
                cost(released1, "EUR")
            ),
            ("income:fx-gain".into(), -gain, "EUR".into(), None),
        ]
    );

    // The rest without a rate: the price of 1 February, 0.95: a loss.
    let p2 = inv(
        &t,
        "record-payment",
        json!({"contact": initech, "date": "2026-02-03", "amount": "100.00"}),
    );
    assert_eq!(p2["rate"], "0.95");
    let bank2 = at(10_000, 95, 100);
    let released2 = booked - released1;
    let loss = bank2 - released2;
    assert!(loss > 0);
    assert_eq!(p2["exchange-difference"], -loss);
    assert_eq!(
        postings(&t, &p2["ledger-entry"]),
        vec![
            (
                "assets:bank".into(),
                -10_000,
                "USD".into(),
                cost(bank2, "EUR")
            ),
            (
                "liabilities:payable".into(),
                10_000,
                "USD".into(),
                cost(released2, "EUR")
            ),
            ("expenses:fx-loss".into(), loss, "EUR".into(), None),
        ]
    );

    let b = cost_basis(&t);
    assert_eq!(
        hledger_cost_basis(&t),
        nonzero(b.clone()),
        "hledger bal -B on the ledger's journal export"
    );
    assert_eq!(eur(&b, "liabilities:payable"), 0);
    assert_eq!(eur(&b, "assets:bank"), -(bank1 + bank2));
    assert_eq!(eur(&b, "income:fx-gain"), -gain);
    assert_eq!(eur(&b, "expenses:fx-loss"), loss);
    let sum: i64 = b.values().flat_map(|m| m.values()).sum();
    assert_eq!(sum, 0, "balanced at cost: {b:?}");
    let paid = inv(&t, "get-document", json!({"id": bill["id"]}));
    assert_eq!((&paid["open"], &paid["base-open"]), (&json!(0), &json!(0)));
}

#[test]
fn bad_foreign_currency_input_is_refused_with_nothing_written() {
    let (_clock, t) = host();
    eur_company(&t);
    let globex = contact(&t, "Globex Corp", "customer");
    let draft = inv(
        &t,
        "create-document",
        json!({"kind": "invoice", "contact": globex, "lines": [
            {"description": "Consulting", "quantity": 1, "unit-price": "1000.00", "tax-code": "EXPORT"}]}),
    );
    let id = draft["id"].clone();

    let before = state(&t);
    for (rate, fragment) in [
        ("0", "must be above zero, not 0"),
        ("-0.92", "must be above zero, not -0.92"),
        ("0.9x", "is not a decimal number"),
    ] {
        fails(
            &t,
            "issue",
            json!({"id": id, "date": "2026-01-10", "rate": rate}),
            400,
            &[fragment],
        );
    }
    fails(
        &t,
        "issue",
        json!({"id": id, "date": "2026-01-10"}),
        400,
        &[
            "is in USD, the base currency is EUR, and no rate was given",
            "set-price",
        ],
    );
    assert_eq!(state(&t), before, "a refused issue writes nothing");

    let doc = inv(
        &t,
        "issue",
        json!({"id": id, "date": "2026-01-10", "rate": "0.92"}),
    );
    assert_eq!(doc["number"], "INV-2026-0001", "no number was used up");

    let before = state(&t);
    fails(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "100.00", "rate": "0"}),
        400,
        &["must be above zero"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "100.00"}),
        400,
        &["no rate was given", "USD in EUR on or before 2026-01-20"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "100.00", "currency": "GBP",
               "rate": "1.15", "allocations": [{"document": "INV-2026-0001", "amount": "100.00"}]}),
        400,
        &["INV-2026-0001 is in USD, the payment in GBP"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "1000.01", "rate": "0.9"}),
        400,
        &["larger than the USD 1000.00 open"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "1000.01", "rate": "0.9",
               "allocations": [{"document": "INV-2026-0001", "amount": "1000.01"}]}),
        400,
        &["cannot allocate USD 1000.01 to INV-2026-0001: USD 1000.00 is open"],
    );
    fails(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "100.00", "currency": "EUR",
               "rate": "1"}),
        400,
        &["a rate (1) is only for payments in another currency"],
    );
    let mut s = inv(&t, "get-settings", json!({}));
    s["base-currency"] = json!("GBP");
    fails(
        &t,
        "set-settings",
        s,
        409,
        &["cannot change from EUR", "INV-2026-0001"],
    );
    assert_eq!(state(&t), before, "a refused payment writes nothing");
    assert_eq!(inv(&t, "get-settings", json!({}))["base-currency"], "EUR");
}

#[test]
fn a_usd_invoice_paid_from_a_eur_account_implies_the_rate() {
    let (_clock, t) = host();
    eur_company(&t);
    let (globex, doc) = usd_consulting_invoice(&t);
    let total = doc["total"].as_i64().unwrap();
    let booked = at(total, 92, 100);

    // The customer's 1000.00 USD arrive as 940.00 EUR: the amount is what the bank
    // got, the allocation what it pays of the invoice.
    let received = 94_000;
    let p = inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "940.00", "currency": "EUR",
               "allocations": [{"document": doc["number"], "amount": "1000.00"}]}),
    );
    assert_eq!(
        (&p["amount"], &p["currency"]),
        (&json!(total), &json!("USD"))
    );
    assert_eq!(p["bank-currency"], "EUR");
    assert_eq!(p["base-amount"], received);
    assert_eq!(p["rate"], "0.94", "implied: 940.00 / 1000.00");
    let gain = received - booked;
    assert_eq!(p["exchange-difference"], gain);
    assert_eq!(
        postings(&t, &p["ledger-entry"]),
        vec![
            ("assets:bank".into(), received, "EUR".into(), None),
            (
                "assets:receivable".into(),
                -total,
                "USD".into(),
                cost(booked, "EUR")
            ),
            ("income:fx-gain".into(), -gain, "EUR".into(), None),
        ]
    );
    let b = cost_basis(&t);
    assert_eq!(eur(&b, "assets:receivable"), 0);
    assert_eq!(eur(&b, "assets:bank"), received);
    let paid = inv(&t, "get-document", json!({"id": doc["id"]}));
    assert_eq!((&paid["open"], &paid["base-open"]), (&json!(0), &json!(0)));

    // Without allocations a EUR amount cannot say how much USD it pays.
    fails(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-21", "amount": "10.00", "currency": "EUR"}),
        400,
        &["larger than the EUR 0.00 open"],
    );
}

#[test]
fn a_credit_note_on_a_usd_invoice_releases_it_at_the_booked_rate() {
    let (_clock, t) = host();
    eur_company(&t);
    let globex = contact(&t, "Globex Corp", "customer");

    // 333.33 USD + 20 % = 400.00 USD, booked at 0.9237.
    let draft = inv(
        &t,
        "create-document",
        json!({"kind": "invoice", "contact": globex, "lines": [
            {"description": "Consulting", "quantity": 1, "unit-price": "333.33", "tax-code": "VAT20"}]}),
    );
    let total = draft["total"].as_i64().unwrap();
    let inv_tax = draft["tax"].as_i64().unwrap();
    assert_eq!((total, inv_tax), (40_000, 6_667));
    let doc = inv(
        &t,
        "issue",
        json!({"id": draft["id"], "date": "2026-01-10", "rate": "0.9237"}),
    );
    let booked = at(total, 9237, 10_000);
    assert_eq!(doc["base-total"], booked);
    let inv_tax_eur = at(inv_tax, 9237, 10_000);

    // 100.00 paid at 0.95.
    let p1 = inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-15", "amount": "100.00", "rate": "0.95"}),
    );
    let released1 = at(10_000, booked, total);
    assert_eq!(p1["allocations"][0]["base-released"], released1);

    // A credit note of 100.00 + 20 % = 120.00: the receivable is released pro rata
    // at the invoice's rate, the tax reversed at that rate, the revenue takes the rest.
    let cn_draft = inv(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": doc["number"], "lines": [
            {"description": "Discount agreed", "quantity": 1, "unit-price": "100.00", "tax-code": "VAT20"}]}),
    );
    assert_eq!(cn_draft["currency"], "USD");
    let (cn_net, cn_tax, cn_total) = (
        cn_draft["net"].as_i64().unwrap(),
        cn_draft["tax"].as_i64().unwrap(),
        cn_draft["total"].as_i64().unwrap(),
    );
    assert_eq!((cn_net, cn_tax, cn_total), (10_000, 2_000, 12_000));
    let cn = inv(
        &t,
        "issue",
        json!({"id": cn_draft["id"], "date": "2026-01-20"}),
    );
    let released_cn = at(cn_total, booked, total);
    let cn_tax_eur = at(cn_tax, 9237, 10_000);
    assert_eq!(cn["rate"], "0.9237");
    assert_eq!(cn["base-currency"], "EUR");
    assert_eq!(cn["base-total"], released_cn);
    assert_eq!((&cn["open"], &cn["base-open"]), (&json!(0), &json!(0)));
    assert_eq!(
        postings(&t, &cn["ledger-entry"]),
        vec![
            (
                "assets:receivable".into(),
                -cn_total,
                "USD".into(),
                cost(released_cn, "EUR")
            ),
            (
                "income:sales".into(),
                released_cn - cn_tax_eur,
                "EUR".into(),
                None
            ),
            ("liabilities:vat".into(), cn_tax_eur, "EUR".into(), None),
        ],
        "the entry balances exactly in EUR"
    );
    let after_cn = inv(&t, "get-document", json!({"id": doc["id"]}));
    let open = total - 10_000 - cn_total;
    assert_eq!(after_cn["open"], open);
    assert_eq!(after_cn["base-open"], booked - released1 - released_cn);
    let items = inv(&t, "open-items", json!({"as-of": "2026-01-20"}));
    assert_eq!(items["items"][0]["open"], open);
    assert_eq!(
        items["items"][0]["base-open"],
        booked - released1 - released_cn
    );

    // Refused with nothing changed: more than is open, a rate other than the
    // invoice's, another currency.
    let too_big = inv(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": doc["number"], "lines": [
            {"description": "Too much", "quantity": 1, "unit-price": "166.67", "tax-code": "VAT20"}]}),
    );
    assert_eq!(too_big["total"], 20_000);
    let before = state(&t);
    fails(
        &t,
        "issue",
        json!({"id": too_big["id"], "date": "2026-01-21"}),
        400,
        &[
            "exceeds the USD 180.00 still open on INV-2026-0001",
            "nothing was issued",
        ],
    );
    fails(
        &t,
        "issue",
        json!({"id": too_big["id"], "date": "2026-01-21", "rate": "0.95"}),
        400,
        &["booked at the rate of INV-2026-0001 (0.9237), not at 0.95"],
    );
    fails(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": doc["number"], "currency": "GBP", "lines": [
            {"description": "Wrong currency", "quantity": 1, "unit-price": "10.00", "tax-code": "VAT20"}]}),
        400,
        &["the credit note's currency GBP is not INV-2026-0001's currency USD"],
    );
    assert_eq!(state(&t), before, "a refused credit note writes nothing");
    inv(&t, "delete-draft", json!({"id": too_big["id"]}));

    // The remaining 180.00 paid at 0.91 releases exactly what is left: zero remains.
    let p2 = inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-02-01", "amount": "180.00", "rate": "0.91"}),
    );
    let released2 = booked - released1 - released_cn;
    let bank2 = at(open, 91, 100);
    assert_eq!(p2["allocations"][0]["base-released"], released2);
    assert_eq!(p2["exchange-difference"], bank2 - released2);
    let paid = inv(&t, "get-document", json!({"id": doc["id"]}));
    assert_eq!((&paid["open"], &paid["base-open"]), (&json!(0), &json!(0)));
    assert_eq!(
        inv(&t, "open-items", json!({"as-of": "2026-02-01"}))["items"],
        json!([])
    );
    let st = inv(
        &t,
        "statement",
        json!({"contact": globex, "to": "2026-02-28"}),
    );
    assert_eq!(
        (
            &st["currencies"][0]["closing"],
            &st["currencies"][0]["base-closing"]
        ),
        (&json!(0), &json!(0))
    );

    // At cost: the receivable is zero in EUR, the VAT is the invoice's less the
    // credit note's, and every EUR figure balances.
    let b = cost_basis(&t);
    assert_eq!(
        hledger_cost_basis(&t),
        nonzero(b.clone()),
        "hledger bal -B on the ledger's journal export"
    );
    assert_eq!(eur(&b, "assets:receivable"), 0);
    assert_eq!(eur(&b, "liabilities:vat"), -(inv_tax_eur - cn_tax_eur));
    assert_eq!(
        eur(&b, "income:sales"),
        -(booked - inv_tax_eur) + (released_cn - cn_tax_eur)
    );
    let sum: i64 = b.values().flat_map(|m| m.values()).sum();
    assert_eq!(sum, 0, "balanced at cost: {b:?}");
    let rec = call_in(
        &t,
        "ledger",
        "balance",
        json!({"prefix": "assets:receivable"}),
    );
    assert!(
        rec["totals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["amount"] == 0),
        "{rec}"
    );
}

#[test]
fn open_items_are_read_in_pages() {
    let (_clock, t) = host();
    // No base currency: the documents are in USD only.
    inv(
        &t,
        "set-tax-code",
        json!({"code": "EXPORT", "rate-bp": 0, "account": "liabilities:vat"}),
    );
    inv(&t, "setup-ledger", json!({}));
    let a = contact(&t, "Alpha Ltd", "customer");
    let b = contact(&t, "Beta Ltd", "customer");
    let vendor = contact(&t, "Gamma Supplies", "supplier");
    // Seven documents over three contacts and both sides.
    for (who, kind, price) in [
        (&a, "invoice", "10.00"),
        (&b, "invoice", "20.00"),
        (&a, "invoice", "30.00"),
        (&vendor, "bill", "40.00"),
        (&b, "invoice", "50.00"),
        (&a, "invoice", "60.00"),
        (&vendor, "bill", "70.00"),
    ] {
        let d = inv(
            &t,
            "create-document",
            json!({"kind": kind, "contact": who, "lines": [
                {"description": "Work", "quantity": 1, "unit-price": price, "tax-code": "EXPORT"}]}),
        );
        inv(&t, "issue", json!({"id": d["id"], "date": "2026-01-10"}));
    }
    let whole = inv(&t, "open-items", json!({"as-of": "2026-01-31"}));
    assert_eq!(whole["items"].as_array().unwrap().len(), 7);
    assert_eq!(whole["next"], Value::Null);

    // Pages of three: 3 + 3 + 1, in the same order as the whole answer.
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut input = json!({"as-of": "2026-01-31", "limit": 3});
        if let Some(a) = &after {
            input["after"] = json!(a);
        }
        let page = inv(&t, "open-items", input);
        pages.push(page.clone());
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["items"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    let joined: Vec<Value> = pages
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .collect();
    assert_eq!(&json!(joined), &whole["items"]);
    // A page's contact totals are over every page: Alpha's three invoices.
    let alpha = pages[0]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact"] == a.as_str())
        .unwrap()
        .clone();
    assert_eq!(alpha["open"], 1_000 + 3_000 + 6_000);
    // One contact's items page too.
    let first = inv(
        &t,
        "open-items",
        json!({"as-of": "2026-01-31", "contact": a, "limit": 2}),
    );
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let rest = inv(
        &t,
        "open-items",
        json!({"as-of": "2026-01-31", "contact": a, "limit": 2, "after": first["next"]}),
    );
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next"], Value::Null);

    fails(
        &t,
        "open-items",
        json!({"after": "not-a-cursor", "limit": 2}),
        400,
        &[
            "is not a cursor of open-items",
            "next of the previous answer",
        ],
    );
}

#[test]
fn a_voided_usd_payment_gives_back_what_it_released() {
    let (_clock, t) = host();
    eur_company(&t);
    let (globex, doc) = usd_consulting_invoice(&t);
    let total = doc["total"].as_i64().unwrap();
    let booked = at(total, 92, 100);
    let before = cost_basis(&t);
    let p = inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "400.00", "rate": "0.90"}),
    );
    let released = at(40_000, booked, total);
    assert_eq!(p["allocations"][0]["base-released"], released);

    // A date before the payment is refused with nothing changed.
    let unchanged = state(&t);
    fails(
        &t,
        "void-payment",
        json!({"id": p["id"], "date": "2026-01-19"}),
        400,
        &["before payment", "give a date on or after it"],
    );
    assert_eq!(state(&t), unchanged);

    let v = inv(
        &t,
        "void-payment",
        json!({"id": p["id"], "date": "2026-01-25", "reason": "wrong customer"}),
    );
    assert_eq!(v["voided"]["date"], "2026-01-25");
    assert_eq!(v["voided"]["reason"], "wrong customer");
    let reversal = v["voided"]["ledger-entry"].clone();
    // The reversal negates every posting, costs included.
    let negated: Vec<Posting> = postings(&t, &p["ledger-entry"])
        .into_iter()
        .map(|(a, n, c, cost)| (a, -n, c, cost))
        .collect();
    assert_eq!(postings(&t, &reversal), negated);
    let d = inv(&t, "get-document", json!({"id": doc["id"]}));
    assert_eq!(
        (&d["open"], &d["base-open"]),
        (&json!(total), &json!(booked))
    );
    // Open on the days between the payment and the void: what was left.
    let mid = inv(&t, "open-items", json!({"as-of": "2026-01-22"}));
    assert_eq!(mid["items"][0]["open"], total - 40_000);
    assert_eq!(mid["items"][0]["base-open"], booked - released);
    let after = inv(&t, "open-items", json!({"as-of": "2026-01-25"}));
    assert_eq!(after["items"][0]["open"], total);
    assert_eq!(after["items"][0]["base-open"], booked);
    let st = inv(
        &t,
        "statement",
        json!({"contact": globex, "to": "2026-01-31"}),
    );
    let usd = &st["currencies"][0];
    let kinds: Vec<&str> = usd["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["invoice", "payment", "payment-voided"]);
    assert_eq!(
        (&usd["closing"], &usd["base-closing"]),
        (&json!(total), &json!(booked))
    );
    // The books at cost are as before the payment.
    assert_eq!(
        cost_basis(&t)
            .into_iter()
            .filter(|(_, m)| m.values().any(|v| *v != 0))
            .collect::<BTreeMap<_, _>>(),
        before
            .into_iter()
            .filter(|(_, m)| m.values().any(|v| *v != 0))
            .collect::<BTreeMap<_, _>>()
    );

    fails(
        &t,
        "void-payment",
        json!({"id": p["id"]}),
        409,
        &["was already voided on 2026-01-25"],
    );
    // Paid again in full, it closes at zero in both currencies.
    inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-28", "amount": "1000.00", "rate": "0.93"}),
    );
    let d = inv(&t, "get-document", json!({"id": doc["id"]}));
    assert_eq!((&d["open"], &d["base-open"]), (&json!(0), &json!(0)));
}

/// Crediting more than is open on a USD invoice is refused with nothing changed: the
/// message says what is open, which payment paid the rest and the two ways on. The
/// second way, voiding the payment first, then credits the whole invoice, which
/// closes at zero in USD and in EUR.
#[test]
fn crediting_more_than_is_open_on_a_usd_invoice_is_refused_with_the_ways_on() {
    let (_clock, t) = host();
    eur_company(&t);
    let (globex, doc) = usd_consulting_invoice(&t);
    let before_payment = cost_basis(&t);
    let p = inv(
        &t,
        "record-payment",
        json!({"contact": globex, "date": "2026-01-20", "amount": "400.00", "rate": "0.90"}),
    );
    let cn = inv(
        &t,
        "create-document",
        json!({"kind": "credit-note", "corrects": doc["number"], "lines": [
            {"description": "Everything returned", "quantity": 1, "unit-price": "1000.00", "tax-code": "EXPORT"}]}),
    );
    let unchanged = state(&t);
    let payment = p["id"].as_str().unwrap();
    fails(
        &t,
        "issue",
        json!({"id": cn["id"], "date": "2026-01-25"}),
        400,
        &[
            "the credit note's total USD 1000.00 exceeds the USD 600.00 still open on INV-2026-0001",
            &format!("(total USD 1000.00; USD 400.00 of it was paid by {payment} (USD 400.00))"),
            "invoicing does not refund a paid part",
            "Credit at most USD 600.00",
            "first void those payments (void-payment, or banking's unmatch of the bank line)",
            "nothing was issued",
        ],
    );
    assert_eq!(state(&t), unchanged, "a refused credit note writes nothing");

    // The money goes back: void the payment, then credit the whole invoice.
    inv(
        &t,
        "void-payment",
        json!({"id": payment, "date": "2026-01-25", "reason": "goods returned, money refunded"}),
    );
    let issued = inv(&t, "issue", json!({"id": cn["id"], "date": "2026-01-25"}));
    assert_eq!(issued["base-total"], at(100_000, 92, 100), "{issued}");
    let d = inv(&t, "get-document", json!({"id": doc["id"]}));
    assert_eq!((&d["open"], &d["base-open"]), (&json!(0), &json!(0)), "{d}");
    let items = inv(&t, "open-items", json!({"as-of": "2026-01-31"}));
    assert_eq!(items["items"], json!([]), "{items}");
    assert_eq!(
        call_in(&t, "ledger", "trial-balance", json!({}))["balanced"],
        true
    );
    // The receivable is back to zero at cost; no exchange difference remains.
    let b = cost_basis(&t);
    assert_eq!(eur(&b, "assets:receivable"), 0);
    assert_eq!(eur(&b, "assets:bank"), eur(&before_payment, "assets:bank"));
    assert_eq!(eur(&b, "income:fx-gain"), 0);
    assert_eq!(eur(&b, "expenses:fx-loss"), 0);
    // hledger reading the ledger's journal export agrees at cost (`bal -B`).
    assert_eq!(hledger_cost_basis(&t), nonzero(b));
}
