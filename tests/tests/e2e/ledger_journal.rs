//! The ledger's books as hledger journal text (`export` with `format: journal`,
//! issue 21): books the ledger made through its own operations (an entry with a
//! cost, a price set by `set-price`, a revaluation and its reversal, a year closed
//! with carry-forward) are exported, and hledger 1.25 reading that journal must give
//! the same balances, valued balances (`bal -X EUR --value=DATE`), tagged balances
//! and closing entries (`close`) as the ledger. The exported journal also imports
//! into a fresh ledger with the same balances. Needs `hledger` on PATH, like
//! `ledger_close`.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::process::Command;

use serde_json::{Value, json};

use crate::ledger_close::{Case, JOURNAL, next_day, ours, theirs};
use crate::ledger_hledger::{call, host};

/// The whole book as a journal: the prices, then every page of entries (`limit`
/// entries a page, the first page led by the account directives).
fn journal(c: &Case, limit: u64) -> String {
    let prices = call(
        &c.t,
        "export",
        json!({"what": "prices", "format": "journal"}),
    );
    assert_eq!(prices["format"], "journal");
    let mut text = prices["journal"].as_str().unwrap().to_owned();
    text.push('\n');
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let mut input = json!({"what": "entries", "format": "journal", "limit": limit});
        if !cursor.is_null() {
            input["cursor"] = cursor.clone();
        }
        let page = call(&c.t, "export", input);
        text.push_str(page["journal"].as_str().unwrap());
        pages += 1;
        match page.get("next-cursor") {
            Some(next) if !next.is_null() => cursor = next.clone(),
            _ => break,
        }
    }
    assert!(pages > 1, "the test should read several pages");
    text
}

/// What hledger reads: `text` led by the display directive of `ledger_close`'s
/// journal (valued euros shown with six decimals, so the test rounds them itself).
fn for_hledger(c: &Case, text: &str) {
    std::fs::write(
        c.file.path(),
        format!("commodity 1,000.000000 EUR\n\n{text}"),
    )
    .unwrap();
}

/// The ledger's balances at each date equal hledger's on the journal in `c.file`.
/// `-I`: the opening entry hledger's `close` appends asserts each balance, and the
/// revaluation's reversal dated the same day but earlier in the file moves one of them
/// (hledger checks assertions in file order within a day); the balances are the same.
fn same_balances(c: &Case, dates: &[&str], what: &str) {
    for as_of in dates {
        let want = theirs(c.hledger(&["bal", "-I", "-e", next_day(as_of)]));
        assert!(!want.is_empty() || *as_of == "2024-12-31");
        let got = ours(&call(&c.t, "balance", json!({"as-of": as_of}))["rows"]);
        assert_eq!(got, want, "balance as of {as_of} ({what})");
    }
}

/// `hledger ARGS` on `c.file`, its output appended to `journal` and the file.
fn append_hledger(c: &Case, journal: &mut String, args: &[&str]) {
    let out = Command::new("hledger")
        .arg("-f")
        .arg(c.file.path())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    journal.push('\n');
    journal.push_str(&String::from_utf8(out.stdout).unwrap());
    std::fs::write(c.file.path(), &*journal).unwrap();
}

#[test]
fn exported_journal_gives_hledger_the_ledgers_balances_values_and_closing() {
    let c = Case::new(JOURNAL);
    for (name, kind) in [
        ("income:fx", "income"),
        ("equity:carried", "equity"),
        ("assets:broker:usd", "asset"),
    ] {
        call(&c.t, "create-account", json!({"name": name, "type": kind}));
    }
    // Made here, not imported: dollars bought at a cost (the holding revalued below),
    // with a tag and a memo, and a price.
    call(
        &c.t,
        "post-entry",
        json!({"date": "2024-10-01", "description": "Buy dollars", "payee": "Bank",
               "postings": [
            {"account": "assets:broker:usd", "amount": 20000, "currency": "USD",
             "cost": {"amount": 18100, "currency": "EUR"}, "memo": "spot deal",
             "tags": {"project": "apollo"}},
            {"account": "assets:bank:eur", "amount": -18100, "currency": "EUR"}]}),
    );
    call(
        &c.t,
        "set-price",
        json!({"date": "2024-12-31", "commodity": "CHF", "price": "1.05", "currency": "EUR"}),
    );

    // 1. Plain and valued balances on the exported journal, before any revaluation
    // (a revalued account's EUR adjustment would be counted twice when valued).
    let text = journal(&c, 3);
    assert!(text.contains("P 2024-12-31 CHF 1.05 EUR\n"), "{text}");
    assert!(
        text.contains("account equity:retained  ; type: E\n"),
        "{text}"
    );
    assert!(
        text.contains("2024-10-01 Bank | Buy dollars  ; e-000009\n    assets:broker:usd  200.00 USD @@ 181.00 EUR  ; spot deal, project: apollo\n"),
        "{text}"
    );
    for_hledger(&c, &text);
    same_balances(&c, &["2024-06-30", "2024-12-31", "2025-12-31"], "exported");
    for (as_of, at) in [
        ("2024-12-31", "2024-12-31"),
        ("2024-12-31", "2024-06-30"),
        ("2025-12-31", "2025-12-31"),
    ] {
        let value = json!({"currency": "EUR", "date": at});
        let want = theirs(c.hledger(&[
            "bal",
            "-X",
            "EUR",
            &format!("--value={at}"),
            "-e",
            next_day(as_of),
        ]));
        let got = ours(&call(&c.t, "balance", json!({"as-of": as_of, "value": value}))["rows"]);
        assert_eq!(got, want, "balance as of {as_of} valued at {at}");
    }
    let tagged = theirs(c.hledger(&["bal", "tag:project=apollo"]));
    let got = ours(
        &call(
            &c.t,
            "balance",
            json!({"tag": {"name": "project", "value": "apollo"}}),
        )["rows"],
    );
    assert_eq!(got, tagged, "balance tagged project=apollo");

    // 2. The ledger revalues (an entry and its reversal, tagged), then hledger reads
    // those entries too.
    let reval = call(
        &c.t,
        "revalue",
        json!({"date": "2024-12-31", "currency": "EUR", "gain-loss-account": "income:fx",
               "prefix": "assets:broker", "reverse-on": "2025-01-01"}),
    );
    // 200.00 USD at 0.925 is 185.00 EUR, carried at its cost of 181.00.
    assert_eq!(
        reval["lines"][0]["difference"]["formatted"], "4.00",
        "{reval}"
    );
    let mut text = journal(&c, 4);
    assert!(text.contains("reverses e-"), "{text}");
    text.insert_str(0, "commodity 1,000.000000 EUR\n\n");
    std::fs::write(c.file.path(), &text).unwrap();
    same_balances(&c, &["2024-12-31", "2025-12-31"], "after revalue");
    let tagged = theirs(c.hledger(&["bal", "tag:revaluation"]));
    let got = ours(&call(&c.t, "balance", json!({"tag": {"name": "revaluation"}}))["rows"]);
    assert_eq!(got, tagged, "balance tagged revaluation");

    // 3. Close 2024 in the ledger with carry-forward; hledger closes its copy (the
    // journal exported just before) with `close`, and the balances agree.
    call(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained",
               "carry-forward": {"opening-date": "2025-01-01", "equity-account": "equity:carried"}}),
    );
    append_hledger(
        &c,
        &mut text,
        &[
            "close",
            "--close",
            "--close-acct=equity:retained",
            "-e",
            "2025-01-01",
            "income",
            "expenses",
        ],
    );
    append_hledger(
        &c,
        &mut text,
        &[
            "close",
            "--close-acct=equity:carried",
            "--open-acct=equity:carried",
            "-e",
            "2025-01-01",
            "assets",
            "liabilities",
            "equity",
            "not:equity:carried",
        ],
    );
    same_balances(
        &c,
        &["2024-12-31", "2025-12-31"],
        "closed by each, hledger's close appended",
    );

    // 4. The ledger's own closing entries, exported, give hledger the same balances.
    let closed = journal(&c, 5);
    assert!(closed.contains("closing balances"), "{closed}");
    for_hledger(&c, &closed);
    same_balances(
        &c,
        &["2024-12-31", "2025-12-31"],
        "the ledger's close exported",
    );

    // 5. The journal imports into a fresh ledger with the same balances and prices.
    let fresh = host();
    let out = call(&fresh, "import-journal", json!({"journal": closed}));
    assert_eq!(out["prices"], 5, "{out}");
    for as_of in ["2024-06-30", "2024-12-31", "2025-12-31"] {
        assert_eq!(
            ours(&call(&fresh, "balance", json!({"as-of": as_of}))["rows"]),
            ours(&call(&c.t, "balance", json!({"as-of": as_of}))["rows"]),
            "re-imported balance as of {as_of}"
        );
    }

    // Reports are not journals: refused with what to do instead.
    let err =
        c.t.call(
            "acme",
            "ledger",
            "export",
            json!({"what": "balance", "format": "journal"}),
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 400, "{err}");
    assert!(
        err.to_string()
            .contains("format journal applies to what entries and prices only"),
        "{err}"
    );
}
