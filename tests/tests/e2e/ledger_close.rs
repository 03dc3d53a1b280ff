//! Period end in the ledger (issue 21, item 3) through the real host: market prices
//! (`P` directives, `set-price`, `list-prices`, export), reports valued in a currency
//! at a date, and closing a year. Valuation and close are differential tests against
//! hledger (the same journal imported here and read by hledger); every bad input is
//! refused with the books unchanged. Needs `hledger` on PATH, like `ledger_hledger`.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeMap;
use std::process::Command;

use backoffice_tests::{TestHost, user};
use serde_json::{Value, json};

use crate::ledger_hledger::{call, host};

/// Per (account, commodity): the amount as a decimal string with the commodity's
/// decimals.
pub(crate) type Table = BTreeMap<(String, String), String>;

/// The call fails with 400 and a message containing every fragment.
fn refused(t: &TestHost, op: &str, input: Value, fragments: &[&str]) {
    let err = t.call("acme", "ledger", op, input).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.http_status(), 400, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
}

/// Everything a refused call must leave alone: entries, prices, accounts, lock date.
fn state(t: &TestHost) -> Value {
    json!({
        "entries": call(t, "export", json!({"what": "entries", "format": "json"}))["data"],
        "prices": call(t, "list-prices", json!({})),
        "accounts": call(t, "list-accounts", json!({"include-closed": true})),
    })
}

/// The journal both sides read. `commodity 1,000.000000 EUR` only makes hledger show
/// valued euros with six decimals (exact here), so the test can round them itself;
/// the ledger keeps EUR at its ISO 4217 precision of 2.
pub(crate) const JOURNAL: &str = "\
commodity 1,000.000000 EUR
account equity:retained  ; type: E

P 2024-06-30 USD 0.90 EUR
P 2024-12-31 USD 0.925 EUR
P 2024-12-31 GBP 1.2 EUR
P 2024-05-01 JPY 0.0061 EUR

2024-01-05 Sale
    assets:bank:usd  100.00 USD
    income:sales  -100.00 USD

2024-02-01 Rent
    expenses:rent  50.00 EUR
    assets:bank:eur  -50.00 EUR

2024-03-01 Sale
    assets:bank:gbp  10.01 GBP
    income:sales  -10.01 GBP

2024-04-01 Open
    assets:bank:eur  1000 EUR
    equity:opening

2024-05-01 Sale in yen
    assets:bank:jpy  1001 JPY
    income:sales

2024-08-15 Supplies
    expenses:office  12.34 USD
    liabilities:card  -12.34 USD

2024-09-01 Consulting
    assets:bank:eur  250.00 EUR
    assets:bank:chf  40.00 CHF
    income:consulting  -250.00 EUR
    income:consulting  -40.00 CHF

2025-01-10 Sale
    assets:bank:eur  5 EUR
    income:sales
";

pub(crate) struct Case {
    pub(crate) t: TestHost,
    pub(crate) file: tempfile::NamedTempFile,
}

impl Case {
    pub(crate) fn new(journal: &str) -> Case {
        let t = host();
        let out = call(&t, "import-journal", json!({ "journal": journal }));
        assert_eq!(out["prices"], 4, "{out}");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), journal).unwrap();
        Case { t, file }
    }

    /// hledger's `--layout=bare` CSV rows (account, commodity, amount), without the
    /// header, totals and section titles.
    pub(crate) fn hledger(&self, args: &[&str]) -> Vec<(String, String, String)> {
        let out = Command::new("hledger")
            .arg("-f")
            .arg(self.file.path())
            .args(args)
            .args(["--layout=bare", "-O", "csv"])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run hledger ({e}): install it with `apt-get install hledger`")
            });
        assert!(
            out.status.success(),
            "hledger {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<String> = l
                    .split("\",\"")
                    .map(|x| x.trim_matches('"').to_owned())
                    .collect();
                (f[0].clone(), f[1].clone(), f[2].clone())
            })
            .filter(|(a, c, _)| !c.is_empty() && a != "total" && a != "Net:" && a != "Account")
            .collect()
    }
}

/// `text` (hledger's decimal, possibly with `,` groups) rounded half away from zero to
/// `places` decimals: the ledger's documented rounding.
fn round(text: &str, places: u32) -> String {
    let t: String = text.chars().filter(|c| *c != ',').collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_owned()),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    let scale = u32::try_from(frac.len()).unwrap();
    let m: i128 = format!("{int}{frac}").parse().unwrap();
    let v = if scale > places {
        let f = 10i128.pow(scale - places);
        (m + f / 2) / f
    } else {
        m * 10i128.pow(places - scale)
    };
    let f = 10i128.pow(places);
    let body = if places == 0 {
        v.to_string()
    } else {
        format!("{}.{:0w$}", v / f, v % f, w = places as usize)
    };
    if neg && v != 0 {
        format!("-{body}")
    } else {
        body
    }
}

fn places(commodity: &str) -> u32 {
    match commodity {
        "JPY" => 0,
        _ => 2,
    }
}

pub(crate) fn theirs(rows: Vec<(String, String, String)>) -> Table {
    rows.into_iter()
        .map(|(a, c, v)| {
            let p = places(&c);
            ((a, c), round(&v, p))
        })
        .filter(|(_, v)| !v.trim_start_matches(['-', '0', '.']).is_empty())
        .collect()
}

pub(crate) fn ours(rows: &Value) -> Table {
    let mut t = Table::new();
    for r in rows.as_array().unwrap() {
        for a in r["amounts"].as_array().unwrap() {
            t.insert(
                (
                    r["account"].as_str().unwrap().to_owned(),
                    a["currency"].as_str().unwrap().to_owned(),
                ),
                a["formatted"].as_str().unwrap().to_owned(),
            );
        }
    }
    t
}

pub(crate) fn next_day(date: &str) -> &'static str {
    match date {
        "2024-06-30" => "2024-07-01",
        "2024-12-31" => "2025-01-01",
        "2025-01-01" => "2025-01-02",
        "2025-12-31" => "2026-01-01",
        other => panic!("add {other} to next_day"),
    }
}

#[test]
fn reports_valued_at_a_date_match_hledger() {
    let c = Case::new(JOURNAL);
    // A price on the valuation date counts; a later one does not (USD at 0.90 until
    // 2024-12-31); CHF has no price and stays in CHF, as in hledger.
    for (as_of, at) in [
        ("2024-12-31", "2024-12-31"),
        ("2024-12-31", "2024-06-30"),
        ("2024-06-30", "2024-12-31"),
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
        assert!(!want.is_empty());
        let bal = call(&c.t, "balance", json!({"as-of": as_of, "value": value}));
        assert_eq!(
            ours(&bal["rows"]),
            want,
            "balance as of {as_of} valued at {at}"
        );
        // The trial balance shows the same valued balances split into debit and credit.
        let tb = call(
            &c.t,
            "trial-balance",
            json!({"as-of": as_of, "value": value}),
        );
        let mut split = Table::new();
        for r in tb["rows"].as_array().unwrap() {
            let a = r["account"].as_str().unwrap();
            for (side, sign) in [("debit", ""), ("credit", "-")] {
                for x in r[side].as_array().unwrap() {
                    split.insert(
                        (a.to_owned(), x["currency"].as_str().unwrap().to_owned()),
                        format!("{sign}{}", x["formatted"].as_str().unwrap()),
                    );
                }
            }
        }
        assert_eq!(split, want, "trial balance as of {as_of} valued at {at}");
        // The balance sheet's assets are the same valued balances.
        let bs = call(
            &c.t,
            "balance-sheet",
            json!({"as-of": as_of, "value": value}),
        );
        let assets = ours(&bs["sections"][0]["rows"]);
        let want_assets: Table = want
            .iter()
            .filter(|((a, _), _)| a.starts_with("assets:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(
            assets, want_assets,
            "balance sheet as of {as_of} valued at {at}"
        );
    }
    // Valued figures, spelled out once: 100 USD at 0.925 and 10.01 GBP at 1.2.
    let bal = call(
        &c.t,
        "balance",
        json!({"as-of": "2024-12-31", "value": {"currency": "EUR", "date": "2024-12-31"}, "prefix": "assets:bank:usd"}),
    );
    assert_eq!(
        bal["rows"][0]["amounts"],
        json!([{"currency": "EUR", "amount": 9250, "formatted": "92.50"}])
    );
    // Export carries the valuation too.
    let csv = call(
        &c.t,
        "export",
        json!({"what": "balance", "format": "csv", "as-of": "2024-12-31", "value": {"currency": "EUR", "date": "2024-12-31"}}),
    );
    assert!(
        csv["csv"]
            .as_str()
            .unwrap()
            .contains("assets:bank:gbp,EUR,1201,12.01\r\n"),
        "{csv}"
    );
}

#[test]
fn prices_are_kept_set_listed_and_exported() {
    let c = Case::new(JOURNAL);
    let set = call(
        &c.t,
        "set-price",
        json!({"date": "2025-01-15", "commodity": "CHF", "price": "1.0650", "currency": "EUR"}),
    );
    assert_eq!(set["price"], "1.0650");
    let all = call(&c.t, "list-prices", json!({}));
    let got: Vec<String> = all["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["date"].as_str().unwrap(),
                p["commodity"].as_str().unwrap(),
                p["price"].as_str().unwrap(),
                p["currency"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "2024-05-01 JPY 0.0061 EUR",
            "2024-06-30 USD 0.90 EUR",
            "2024-12-31 GBP 1.2 EUR",
            "2024-12-31 USD 0.925 EUR",
            "2025-01-15 CHF 1.0650 EUR",
        ]
    );
    let usd = call(
        &c.t,
        "list-prices",
        json!({"commodity": "USD", "from": "2024-07-01"}),
    );
    assert_eq!(usd["prices"].as_array().unwrap().len(), 1);
    // The new CHF price now values the CHF balance (40.00 * 1.065 = 42.60).
    let bal = call(
        &c.t,
        "balance",
        json!({"prefix": "assets:bank:chf", "value": {"currency": "EUR", "date": "2025-02-01"}}),
    );
    assert_eq!(bal["rows"][0]["amounts"][0]["formatted"], "42.60");
    let csv = call(&c.t, "export", json!({"what": "prices", "format": "csv"}));
    assert_eq!(
        csv["csv"],
        "date,commodity,currency,price\r\n2024-05-01,JPY,EUR,0.0061\r\n2024-06-30,USD,EUR,0.90\r\n2024-12-31,GBP,EUR,1.2\r\n2024-12-31,USD,EUR,0.925\r\n2025-01-15,CHF,EUR,1.0650\r\n"
    );
    // Setting prices needs ledger.admin, like the other bookkeeping set-up.
    let clerk = user("clerk", &["ledger.read", "ledger.post"]);
    let err =
        c.t.call_as(
            "acme",
            "ledger",
            "set-price",
            json!({"date": "2025-01-16", "commodity": "CHF", "price": "1", "currency": "EUR"}),
            &clerk,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
}

#[test]
fn closing_a_year_matches_hledger_close_and_locks_the_year() {
    let c = Case::new(JOURNAL);
    let out = call(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained"}),
    );
    assert_eq!(out["lock-date"], "2024-12-31");
    assert_eq!(out["previous-lock-date"], Value::Null);
    let entry = &out["closing-entry"];
    assert_eq!(entry["date"], "2024-12-31");
    // hledger's own closing transaction, appended to its copy of the journal.
    let close = Command::new("hledger")
        .arg("-f")
        .arg(c.file.path())
        .args([
            "close",
            "--close",
            "--close-acct=equity:retained",
            "-e",
            "2025-01-01",
            "income",
            "expenses",
        ])
        .output()
        .unwrap();
    assert!(
        close.status.success(),
        "{}",
        String::from_utf8_lossy(&close.stderr)
    );
    let mut closed = JOURNAL.to_owned();
    closed.push('\n');
    closed.push_str(&String::from_utf8(close.stdout).unwrap());
    std::fs::write(c.file.path(), closed).unwrap();
    for as_of in ["2024-12-31", "2025-12-31"] {
        let want = theirs(c.hledger(&["bal", "-e", next_day(as_of)]));
        let got = ours(&call(&c.t, "balance", json!({"as-of": as_of}))["rows"]);
        assert_eq!(got, want, "balance as of {as_of} after closing 2024");
    }
    // Income and expenses of 2024 are zero; retained earnings hold the profit per
    // currency; 2025's sale is untouched.
    let bal = call(&c.t, "balance", json!({"as-of": "2024-12-31"}));
    assert!(
        !ours(&bal["rows"])
            .keys()
            .any(|(a, _)| a.starts_with("income") || a.starts_with("expenses")),
        "{bal}"
    );
    let tb = call(&c.t, "trial-balance", json!({}));
    assert_eq!(tb["balanced"], true);
    // The year is locked: nothing more can be posted into it, and it cannot be closed
    // twice.
    refused(
        &c.t,
        "post-entry",
        json!({"date": "2024-12-31", "description": "late", "postings": [
            {"account": "assets:bank:eur", "amount": 1, "currency": "EUR"},
            {"account": "income:sales", "amount": -1, "currency": "EUR"}]}),
        &["the period up to 2024-12-31 is locked"],
    );
    let before = state(&c.t);
    refused(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained"}),
        &["already locked", "nothing was written"],
    );
    assert_eq!(state(&c.t), before);
    // The closing entry is an ordinary entry: reversible after unlocking.
    let id = entry["id"].as_str().unwrap();
    call(&c.t, "set-lock-date", json!({"date": null}));
    let rev = call(&c.t, "reverse-entry", json!({"id": id}));
    assert_eq!(rev["reverses"], id);
}

/// `hledger ARGS` on the case's journal, appended to it.
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
    std::fs::write(c.file.path(), &journal).unwrap();
}

#[test]
fn carrying_forward_matches_hledger_close_and_opens_the_next_year() {
    let c = Case::new(JOURNAL);
    call(
        &c.t,
        "create-account",
        json!({"name": "equity:carried", "type": "equity"}),
    );
    let before = state(&c.t);
    // The opening date must follow the year end, and the account must be equity.
    refused(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained",
               "carry-forward": {"opening-date": "2024-12-31", "equity-account": "equity:carried"}}),
        &[
            "carry-forward: opening-date (2024-12-31) must be after the year end (2024-12-31)",
            "nothing was written",
        ],
    );
    refused(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained",
               "carry-forward": {"opening-date": "2025-01-01", "equity-account": "income:sales"}}),
        &[
            "carry-forward: income:sales is of type income, not equity",
            "nothing was written",
        ],
    );
    refused(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained",
               "carry-forward": {"opening-date": "2025-01-01", "equity-account": "equity:nope"}}),
        &[
            "carry-forward: there is no account equity:nope",
            "nothing was written",
        ],
    );
    assert_eq!(state(&c.t), before);
    let out = call(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained",
               "carry-forward": {"opening-date": "2025-01-01", "equity-account": "equity:carried"}}),
    );
    let carried = &out["carry-forward"];
    assert_eq!(carried["closing-entry"]["date"], "2024-12-31");
    assert_eq!(carried["closing-entry"]["description"], "closing balances");
    assert_eq!(carried["opening-entry"]["date"], "2025-01-01");
    assert_eq!(carried["opening-entry"]["description"], "opening balances");
    // hledger's own closing of income and expenses, then of the balance sheet
    // (`close --close-acct=E --open-acct=E`: both the closing and opening transactions).
    let mut journal = JOURNAL.to_owned();
    append_hledger(
        &c,
        &mut journal,
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
        &mut journal,
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
    for as_of in ["2024-12-31", "2025-01-01", "2025-12-31"] {
        let want = theirs(c.hledger(&["bal", "-e", next_day(as_of)]));
        let got = ours(&call(&c.t, "balance", json!({"as-of": as_of}))["rows"]);
        assert_eq!(got, want, "balance as of {as_of} after carrying forward");
    }
    // At the year end only the carry-forward account holds anything (the costs-free
    // journal nets to zero per currency, so nothing); the next day every balance-sheet
    // balance is back.
    let end = call(&c.t, "balance", json!({"as-of": "2024-12-31"}));
    assert_eq!(end["rows"], json!([]), "{end}");
    let opened = call(
        &c.t,
        "balance",
        json!({"as-of": "2025-01-01", "prefix": "assets:bank:usd"}),
    );
    assert_eq!(opened["rows"][0]["amounts"][0]["formatted"], "100.00");
}

#[test]
fn bad_period_end_input_is_refused_with_nothing_changed() {
    let c = Case::new(JOURNAL);
    let before = state(&c.t);
    // A malformed P line names its line; nothing of the journal is imported.
    let bad = "P 2025-01-01 USD 0.93 EUR\n\n2025-02-01 x\n    assets:bank:eur  1 EUR\n    income:sales\nP 2025-02-01 USD\n";
    refused(
        &c.t,
        "import-journal",
        json!({"journal": bad}),
        &["line 6: ", "P 2024-12-31 USD 0.925 EUR"],
    );
    refused(
        &c.t,
        "import-journal",
        json!({"journal": "P 2025-01-01 USD zero EUR\n"}),
        &["line 1: ", "not an amount"],
    );
    // Unknown currencies and commodities.
    refused(
        &c.t,
        "balance",
        json!({"value": {"currency": "XYZ", "date": "2024-12-31"}}),
        &["value.currency: unknown currency XYZ"],
    );
    refused(
        &c.t,
        "set-price",
        json!({"date": "2025-01-01", "commodity": "XYZ", "price": "1.5", "currency": "EUR"}),
        &["unknown commodity XYZ"],
    );
    refused(
        &c.t,
        "set-price",
        json!({"date": "2025-01-01", "commodity": "USD", "price": "-1", "currency": "EUR"}),
        &["not positive"],
    );
    refused(
        &c.t,
        "set-price",
        json!({"date": "2025-01-01", "commodity": "USD", "price": "1,5", "currency": "EUR"}),
        &["price: ", "like \"0.925\""],
    );
    refused(
        &c.t,
        "set-price",
        json!({"date": "2025-01-01", "commodity": "USD", "price": "1", "currency": "USD"}),
        &["cannot be priced in itself"],
    );
    // Closing with a missing or non-equity retained-earnings account.
    refused(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:nope"}),
        &[
            "no account equity:nope",
            "create-account",
            "nothing was written",
        ],
    );
    refused(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "assets:bank:eur"}),
        &["not equity", "nothing was written"],
    );
    // Closing over a locked period.
    call(&c.t, "set-lock-date", json!({"date": "2025-01-31"}));
    let locked = state(&c.t);
    refused(
        &c.t,
        "close-year",
        json!({"date": "2024-12-31", "retained-earnings": "equity:retained"}),
        &[
            "the period up to 2025-01-31 is already locked",
            "nothing was written",
        ],
    );
    assert_eq!(state(&c.t), locked);
    call(&c.t, "set-lock-date", json!({"date": null}));
    assert_eq!(state(&c.t), before);
}
