//! Revaluation of foreign-currency balances (issue 21, item 3) through the real host:
//! `revalue` values each foreign asset and liability balance at the price table's rate
//! of the date, compares it with its carried value (costs, historical rates, earlier
//! revaluations) and posts one entry of the differences against the gain or loss
//! account; the entry reverses with `reverse-entry` or on `reverse-on`. The market
//! values are checked against hledger 1.25 (`bal -X EUR --value=DATE`) reading the same
//! journal. Every bad input is refused with the books unchanged.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::process::Command;

use backoffice_tests::{TestHost, user};
use serde_json::{Value, json};

use crate::ledger_hledger::{call, host};

/// Dollars bought at a cost (905.00 EUR) and received without one (carried at the
/// 2024-01-01 rate 0.90: 180.00 EUR); a pound card debt without a cost (carried at
/// 1.16: -58.00 EUR). At 2024-12-31, 1200.00 USD at 0.925 = 1110.00 EUR (+25.00) and
/// -50.00 GBP at 1.2 = -60.00 EUR (-2.00): a gain of 23.00.
/// (`commodity 1000.00 EUR` makes hledger show valued euros with two decimals.)
const JOURNAL: &str = "\
commodity 1000.00 EUR
account income:fx  ; type: R

P 2024-01-01 USD 0.90 EUR
P 2024-03-31 GBP 1.16 EUR
P 2024-12-31 USD 0.925 EUR
P 2024-12-31 GBP 1.2 EUR
P 2025-06-30 USD 0.95 EUR

2024-01-05 Buy dollars
    assets:bank:usd  1000.00 USD @@ 905.00 EUR
    assets:bank:eur  -905.00 EUR

2024-03-01 Sale in dollars
    assets:bank:usd  200.00 USD
    income:sales  -200.00 USD

2024-04-01 Hotel on the pound card
    expenses:travel  50.00 GBP
    liabilities:card:gbp  -50.00 GBP

2024-05-01 Opening
    assets:bank:eur  2000.00 EUR
    equity:opening
";

const REVALUE: &str = "revalue";

fn imported() -> (TestHost, tempfile::NamedTempFile) {
    let t = host();
    call(&t, "import-journal", json!({ "journal": JOURNAL }));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), JOURNAL).unwrap();
    (t, file)
}

/// `(account, commodity, balance, market, carried, difference)` of each line.
fn lines(out: &Value) -> Vec<(String, String, String, String, String, String)> {
    out["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let f = |k: &str| l[k]["formatted"].as_str().unwrap().to_owned();
            (
                l["account"].as_str().unwrap().to_owned(),
                l["commodity"].as_str().unwrap().to_owned(),
                f("balance"),
                f("market-value"),
                f("carried-value"),
                f("difference"),
            )
        })
        .collect()
}

fn line(
    a: &str,
    c: &str,
    b: &str,
    m: &str,
    k: &str,
    d: &str,
) -> (String, String, String, String, String, String) {
    (a.into(), c.into(), b.into(), m.into(), k.into(), d.into())
}

/// `account amount currency [tag]` of each posting of an entry.
fn postings(entry: &Value) -> Vec<String> {
    entry["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let tag = p["tags"]["revaluation"].as_str().unwrap_or("-");
            format!(
                "{} {} {} {tag}",
                p["account"].as_str().unwrap(),
                p["amount"],
                p["currency"].as_str().unwrap()
            )
        })
        .collect()
}

/// hledger's market value in EUR of `account` at `date` (its `bal -X EUR --value`).
fn hledger_value(file: &std::path::Path, account: &str, date: &str, end: &str) -> String {
    let out = Command::new("hledger")
        .arg("-f")
        .arg(file)
        .args([
            "bal",
            account,
            "-X",
            "EUR",
            &format!("--value={date}"),
            "-e",
            end,
            "--layout=bare",
            "-O",
            "csv",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run hledger ({e}): install it with `apt-get install hledger`")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with(&format!("\"{account}\"")))
        .unwrap_or_else(|| panic!("no {account} in {text}"));
    row.rsplit("\",\"")
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

fn balance_of(t: &TestHost, account: &str, as_of: &str) -> Value {
    call(t, "balance", json!({"prefix": account, "as-of": as_of}))["rows"]
        .get(0)
        .map_or(json!([]), |r| r["amounts"].clone())
}

#[test]
fn revaluation_posts_the_differences_once_and_reverses() {
    let (t, file) = imported();
    let out = call(
        &t,
        REVALUE,
        json!({"date": "2024-12-31", "currency": "EUR", "gain-loss-account": "income:fx"}),
    );
    assert_eq!(
        lines(&out),
        [
            line(
                "assets:bank:usd",
                "USD",
                "1200.00",
                "1110.00",
                "1085.00",
                "25.00"
            ),
            line(
                "liabilities:card:gbp",
                "GBP",
                "-50.00",
                "-60.00",
                "-58.00",
                "-2.00"
            ),
        ]
    );
    // The market values are hledger's valuation of the same balances.
    for (account, want) in [
        ("assets:bank:usd", "1110.00"),
        ("liabilities:card:gbp", "-60.00"),
    ] {
        assert_eq!(
            hledger_value(file.path(), account, "2024-12-31", "2025-01-01"),
            want,
            "{account}"
        );
    }
    let entry = &out["entry"];
    assert_eq!(entry["date"], "2024-12-31");
    assert_eq!(
        postings(entry),
        [
            "assets:bank:usd 2500 EUR USD",
            "liabilities:card:gbp -200 EUR GBP",
            "income:fx -2300 EUR -",
        ]
    );
    assert_eq!(out["reversal"], Value::Null);
    assert_eq!(
        balance_of(&t, "income:fx", "2024-12-31"),
        json!([{"currency": "EUR", "amount": -2300, "formatted": "-23.00"}])
    );
    // Run again for the same date: the carried values now equal the market values, so
    // nothing is posted.
    let again = call(
        &t,
        REVALUE,
        json!({"date": "2024-12-31", "currency": "EUR", "gain-loss-account": "income:fx"}),
    );
    assert_eq!(again["entry"], Value::Null, "{again}");
    assert!(lines(&again).iter().all(|l| l.5 == "0.00"), "{again}");
    // Reversed with reverse-entry, the differences come back.
    let id = entry["id"].as_str().unwrap();
    call(&t, "reverse-entry", json!({"id": id}));
    let redo = call(
        &t,
        REVALUE,
        json!({"date": "2024-12-31", "currency": "EUR", "gain-loss-account": "income:fx",
               "description": "year-end revaluation"}),
    );
    assert_eq!(postings(&redo["entry"]), postings(entry));
    assert_eq!(redo["entry"]["description"], "year-end revaluation");
    // A later date uses the later rate (USD 0.95 from 2025-06-30) on top of the carried
    // 1110.00: +30.00; the pound is unchanged.
    let later = call(
        &t,
        REVALUE,
        json!({"date": "2025-06-30", "currency": "EUR", "gain-loss-account": "income:fx",
               "prefix": "assets"}),
    );
    assert_eq!(
        lines(&later),
        [line(
            "assets:bank:usd",
            "USD",
            "1200.00",
            "1140.00",
            "1110.00",
            "30.00"
        )]
    );
    assert_eq!(
        hledger_value(file.path(), "assets:bank:usd", "2025-06-30", "2025-07-01"),
        "1140.00"
    );
}

#[test]
fn reverse_on_posts_the_reversal_at_that_date() {
    let (t, _file) = imported();
    let out = call(
        &t,
        REVALUE,
        json!({"date": "2024-12-31", "currency": "EUR", "gain-loss-account": "income:fx",
               "reverse-on": "2025-01-01"}),
    );
    let (entry, reversal) = (&out["entry"], &out["reversal"]);
    assert_eq!(reversal["date"], "2025-01-01");
    assert_eq!(reversal["reverses"], entry["id"]);
    assert_eq!(entry["reversed-by"], reversal["id"]);
    assert_eq!(
        postings(reversal),
        [
            "assets:bank:usd -2500 EUR USD",
            "liabilities:card:gbp 200 EUR GBP",
            "income:fx 2300 EUR -",
        ]
    );
    assert_eq!(
        balance_of(&t, "income:fx", "2024-12-31"),
        json!([{"currency": "EUR", "amount": -2300, "formatted": "-23.00"}])
    );
    assert_eq!(balance_of(&t, "income:fx", "2025-01-01"), json!([]));
    // After the reversal the carried value is back to 1085.00.
    let later = call(
        &t,
        REVALUE,
        json!({"date": "2025-06-30", "currency": "EUR", "gain-loss-account": "income:fx"}),
    );
    assert_eq!(
        lines(&later),
        [
            line(
                "assets:bank:usd",
                "USD",
                "1200.00",
                "1140.00",
                "1085.00",
                "55.00"
            ),
            line(
                "liabilities:card:gbp",
                "GBP",
                "-50.00",
                "-60.00",
                "-58.00",
                "-2.00"
            ),
        ]
    );
    // Revaluing needs ledger.admin, like closing a year.
    let clerk = user("clerk", &["ledger.read", "ledger.post"]);
    let err = t
        .call_as(
            "acme",
            "ledger",
            REVALUE,
            json!({"date": "2025-12-31", "currency": "EUR", "gain-loss-account": "income:fx"}),
            &clerk,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
}

fn state(t: &TestHost) -> Value {
    json!({
        "entries": call(t, "export", json!({"what": "entries", "format": "json"}))["data"],
        "balance": call(t, "balance", json!({})),
    })
}

fn refused(t: &TestHost, input: Value, fragments: &[&str]) {
    let err = t.call("acme", "ledger", REVALUE, input).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.http_status(), 400, "{msg}");
    for f in fragments.iter().chain(&["nothing was written"]) {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
}

#[test]
fn bad_revaluations_are_refused_with_nothing_changed() {
    let (t, _file) = imported();
    // Francs without any price.
    for name in ["assets:bank:chf", "assets:cash:usd"] {
        call(&t, "create-account", json!({"name": name, "type": "asset"}));
    }
    call(
        &t,
        "post-entry",
        json!({"date": "2024-06-01", "description": "Francs", "postings": [
            {"account": "assets:bank:chf", "amount": "10.00", "currency": "CHF"},
            {"account": "equity:opening", "currency": "CHF"}]}),
    );
    let ok = json!({"date": "2024-12-31", "currency": "EUR", "gain-loss-account": "income:fx"});
    let with = |k: &str, v: Value| {
        let mut i = ok.clone();
        i[k] = v;
        i
    };
    let before = state(&t);
    refused(
        &t,
        ok.clone(),
        &[
            "no price of CHF in EUR on or before 2024-12-31",
            "assets:bank:chf",
            "set-price",
        ],
    );
    refused(
        &t,
        with("gain-loss-account", json!("income:nope")),
        &["gain-loss-account: there is no account income:nope"],
    );
    refused(
        &t,
        with("prefix", json!("assets:nope")),
        &["prefix: there is no account assets:nope"],
    );
    refused(
        &t,
        with("currency", json!("XYZ")),
        &["currency: unknown currency XYZ"],
    );
    refused(
        &t,
        with("reverse-on", json!("2024-12-31")),
        &["reverse-on (2024-12-31) must be after date (2024-12-31)"],
    );
    call(&t, "set-lock-date", json!({"date": "2024-12-31"}));
    let locked = state(&t);
    refused(
        &t,
        with("prefix", json!("assets:bank:usd")),
        &["the period up to 2024-12-31 is locked"],
    );
    assert_eq!(state(&t), locked);
    call(&t, "set-lock-date", json!({"date": null}));
    // Dollars booked before the first dollar price and without a cost cannot be
    // carried: the entry is named.
    let early = call(
        &t,
        "post-entry",
        json!({"date": "2023-12-01", "description": "Early dollars", "postings": [
            {"account": "assets:cash:usd", "amount": "5.00", "currency": "USD"},
            {"account": "equity:opening", "currency": "USD"}]}),
    );
    let before_early = state(&t);
    let id = early["id"].as_str().unwrap();
    refused(
        &t,
        with("prefix", json!("assets:cash")),
        &[&format!(
            "entry {id} books USD on 2023-12-01 without a cost in EUR"
        )],
    );
    assert_eq!(state(&t), before_early);
    // Nothing foreign under the prefix: an empty result, nothing written.
    let none = call(&t, REVALUE, with("prefix", json!("assets:bank:eur")));
    assert_eq!(none["entry"], Value::Null);
    assert_eq!(none["lines"], json!([]));
    assert_eq!(state(&t), before_early);
    assert_ne!(before, before_early);
}
