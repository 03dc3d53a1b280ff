//! Tags on ledger postings (issue 21, item 3) through the real host: `; key: value`
//! comments kept by `import-journal` (a transaction's tags inherited by its postings),
//! `tags` on `post-entry`, shown by `get-entry`, `register` and `export`, and the `tag`
//! filter of `balance`, `trial-balance`, `register`, the statements and `export`,
//! compared with hledger 1.25 (`hledger bal tag:project=apollo`, `hledger reg tag:cc`,
//! `hledger print tag:...`) reading the same journal.
//! Bad tags are refused with the books unchanged. Needs `hledger` on PATH.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeMap;
use std::process::Command;

use backoffice_tests::TestHost;
use serde_json::{Value, json};

use crate::ledger_hledger::{call, host};

/// The journal both sides read: transaction tags on the header line and on a comment
/// line before the first posting, posting tags on the posting line and on a comment
/// line after it, a free-text comment around a tag, and a tag without a value.
const JOURNAL: &str = "\
2024-01-05 Kickoff  ; project: apollo
    expenses:travel  100.00 EUR
    expenses:food  20.00 EUR  ; lunch with the team, cc: ops
    assets:bank  -120.00 EUR

2024-01-10 Supplies
    expenses:office  30.00 EUR  ; project: gemini, cc: admin
    assets:bank  -30.00 EUR

2024-02-01 Lunch
    ; project: apollo, billable:
    expenses:food  15.50 EUR
    ; cc: sales
    liabilities:card  -15.50 EUR

2024-02-15 Hardware
    expenses:office  200.00 USD  ; project: apollo
    assets:bank:usd  -200.00 USD

2024-03-01 Unrelated
    expenses:rent  500.00 EUR
    assets:bank  -500.00 EUR
";

/// Per (account, commodity): the balance as hledger writes it.
type Table = BTreeMap<(String, String), String>;

fn hledger(file: &std::path::Path, args: &[&str]) -> Vec<Vec<String>> {
    let out = Command::new("hledger")
        .arg("-f")
        .arg(file)
        .args(args)
        .args(["-O", "csv"])
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
            l.trim_matches('"')
                .split("\",\"")
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// hledger's `bal QUERY --layout=bare` as a table, without the total line.
fn their_balance(file: &std::path::Path, query: &str) -> Table {
    hledger(file, &["bal", query, "--layout=bare"])
        .into_iter()
        .filter(|r| r[0] != "total")
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].clone()))
        .collect()
}

fn our_balance(rows: &Value) -> Table {
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

/// Register lines as `date|description|account|amount commodity`.
fn their_register(file: &std::path::Path, query: &str) -> Vec<String> {
    hledger(file, &["reg", query])
        .into_iter()
        .map(|r| format!("{}|{}|{}|{}", r[1], r[3], r[4], r[5]))
        .collect()
}

fn our_register(out: &Value) -> Vec<String> {
    out["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{} {}",
                r["date"].as_str().unwrap(),
                r["description"].as_str().unwrap(),
                r["account"].as_str().unwrap(),
                r["amount"]["formatted"].as_str().unwrap(),
                r["amount"]["currency"].as_str().unwrap()
            )
        })
        .collect()
}

fn imported() -> (TestHost, tempfile::NamedTempFile) {
    let t = host();
    call(&t, "import-journal", json!({ "journal": JOURNAL }));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), JOURNAL).unwrap();
    (t, file)
}

#[test]
fn tag_filtered_reports_match_hledger() {
    let (t, file) = imported();
    let path = file.path();
    for (query, filter) in [
        (
            "tag:project=apollo",
            json!({"name": "project", "value": "apollo"}),
        ),
        (
            "tag:project=gemini",
            json!({"name": "project", "value": "gemini"}),
        ),
        ("tag:cc", json!({"name": "cc"})),
        ("tag:billable", json!({"name": "billable"})),
    ] {
        let want = their_balance(path, query);
        assert!(!want.is_empty(), "{query}");
        let bal = call(&t, "balance", json!({ "tag": filter }));
        assert_eq!(our_balance(&bal["rows"]), want, "balance {query}");
        let want = their_register(path, query);
        let reg = call(&t, "register", json!({ "tag": filter }));
        assert_eq!(our_register(&reg), want, "register {query}");
    }
    // The inherited transaction tag spelled out once: all of Kickoff (travel and food,
    // and the bank), Lunch's two postings and Hardware's office posting carry
    // project=apollo; Supplies (gemini) and the rent do not.
    let bal = call(
        &t,
        "balance",
        json!({"tag": {"name": "project", "value": "apollo"}, "prefix": "expenses"}),
    );
    assert_eq!(
        our_balance(&bal["rows"]),
        Table::from([
            (("expenses:food".into(), "EUR".into()), "35.50".into()),
            (("expenses:office".into(), "USD".into()), "200.00".into()),
            (("expenses:travel".into(), "EUR".into()), "100.00".into()),
        ])
    );
    // As of a date, and rolled up to a depth.
    let bal = call(
        &t,
        "balance",
        json!({"tag": {"name": "project", "value": "apollo"}, "as-of": "2024-01-31", "depth": 1}),
    );
    assert_eq!(
        our_balance(&bal["rows"]),
        Table::from([
            (("assets".into(), "EUR".into()), "-120.00".into()),
            (("expenses".into(), "EUR".into()), "120.00".into()),
        ])
    );
    let want = their_balance_args(
        path,
        &[
            "bal",
            "tag:project=apollo",
            "-e",
            "2024-02-01",
            "--depth",
            "1",
            "--layout=bare",
        ],
    );
    assert_eq!(our_balance(&bal["rows"]), want);
    // The filter selects postings, not entries: the trial balance of the apollo
    // postings balances in EUR (whole entries carry the tag) but not in USD, where only
    // Hardware's office posting is tagged.
    let tb = call(
        &t,
        "trial-balance",
        json!({"tag": {"name": "project", "value": "apollo"}}),
    );
    assert_eq!(tb["balanced"], false, "{tb}");
    assert_eq!(
        tb["debit"],
        json!([{"currency": "EUR", "amount": 13550, "formatted": "135.50"},
               {"currency": "USD", "amount": 20000, "formatted": "200.00"}])
    );
    assert_eq!(
        tb["credit"],
        json!([{"currency": "EUR", "amount": 13550, "formatted": "135.50"}])
    );
    // A register of tagged postings from a date opens with the tagged balance before it.
    let reg = call(
        &t,
        "register",
        json!({"tag": {"name": "project", "value": "apollo"}, "account": "expenses", "from": "2024-02-01"}),
    );
    assert_eq!(
        reg["opening"],
        json!([{"currency": "EUR", "amount": 12000, "formatted": "120.00"}])
    );
    assert_eq!(reg["rows"].as_array().unwrap().len(), 2);
    // Lunch's `; cc: sales` line follows the food posting, so it is that posting's.
    assert_eq!(
        reg["rows"][0]["tags"],
        json!({"billable": "", "cc": "sales", "project": "apollo"})
    );
    assert_eq!(reg["rows"][1]["tags"], json!({"project": "apollo"}));
}

/// The statements and the export take the same tag filter: the income statement's
/// expenses of a period, the balance sheet's assets and the export's entries and
/// reports, each compared with hledger or with the report it exports.
#[test]
fn statements_and_export_filter_by_tag_like_hledger() {
    let (t, file) = imported();
    let path = file.path();
    let apollo = json!({"name": "project", "value": "apollo"});
    // February's tagged expenses: Lunch's food (EUR) and Hardware's office (USD).
    let is = call(
        &t,
        "income-statement",
        json!({"tag": apollo, "from": "2024-02-01", "to": "2024-02-29"}),
    );
    assert_eq!(is["sections"][1]["title"], "Expenses", "{is}");
    let want = their_balance_args(
        path,
        &[
            "bal",
            "tag:project=apollo",
            "expenses",
            "-b",
            "2024-02-01",
            "-e",
            "2024-03-01",
            "--layout=bare",
        ],
    );
    assert_eq!(want.len(), 2, "{want:?}");
    assert_eq!(our_balance(&is["sections"][1]["rows"]), want);
    // Without the tag the same period also has nothing else, but all time has rent and
    // the gemini supplies: the filter is what keeps them out.
    let all = call(&t, "income-statement", json!({"tag": apollo}));
    let want = their_balance_args(
        path,
        &["bal", "tag:project=apollo", "expenses", "--layout=bare"],
    );
    assert_eq!(our_balance(&all["sections"][1]["rows"]), want);
    assert!(
        !our_balance(&all["sections"][1]["rows"])
            .contains_key(&("expenses:rent".to_owned(), "EUR".to_owned()))
    );
    // The balance sheet's assets carry only the tagged bank postings.
    let bs = call(&t, "balance-sheet", json!({"tag": {"name": "cc"}}));
    assert_eq!(bs["sections"][0]["title"], "Assets", "{bs}");
    assert_eq!(
        our_balance(&bs["sections"][0]["rows"]),
        their_balance_args(path, &["bal", "tag:cc", "assets", "--layout=bare"])
    );
    // Export: whole entries that have a tagged posting (as `hledger print tag:...`),
    // and each report exactly as the operation answers it.
    let ex = call(
        &t,
        "export",
        json!({"what": "entries", "format": "json", "tag": apollo}),
    );
    let described: Vec<&str> = ex["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    assert_eq!(described, ["Kickoff", "Lunch", "Hardware"]);
    let printed = Command::new("hledger")
        .args(["-f", path.to_str().unwrap(), "print", "tag:project=apollo"])
        .output()
        .unwrap();
    let printed = String::from_utf8(printed.stdout).unwrap();
    for d in ["Kickoff", "Lunch", "Hardware"] {
        assert!(printed.contains(d), "{printed}");
    }
    assert!(!printed.contains("Supplies") && !printed.contains("Unrelated"));
    for (what, op, input) in [
        (
            "income-statement",
            "income-statement",
            json!({"tag": apollo, "from": "2024-02-01"}),
        ),
        ("balance-sheet", "balance-sheet", json!({"tag": apollo})),
        ("balance", "balance", json!({"tag": apollo})),
        ("register", "register", json!({"tag": apollo})),
    ] {
        let mut ask = input.clone();
        ask["what"] = json!(what);
        ask["format"] = json!("json");
        let ex = call(&t, "export", ask);
        assert_eq!(ex["data"], call(&t, op, input), "{what}");
    }
    let csv = call(
        &t,
        "export",
        json!({"what": "entries", "format": "csv", "tag": {"name": "project", "value": "gemini"}}),
    );
    let csv = csv["csv"].as_str().unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.contains("Supplies") && !csv.contains("Kickoff"),
        "{csv}"
    );
    // A tag on a price export, or a bad tag name on a statement, is refused.
    refused(
        &t,
        "export",
        json!({"what": "prices", "format": "json", "tag": apollo}),
        &["tag does not apply to prices"],
    );
    refused(
        &t,
        "income-statement",
        json!({"tag": {"name": "two words"}}),
        &["tag.name", "is not a tag name"],
    );
}

fn their_balance_args(file: &std::path::Path, args: &[&str]) -> Table {
    hledger(file, args)
        .into_iter()
        .filter(|r| r[0] != "total")
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].clone()))
        .collect()
}

#[test]
fn tags_are_kept_posted_shown_and_exported() {
    let (t, _file) = imported();
    // Imported tags, inherited ones included, on the stored postings.
    let kickoff = call(&t, "get-entry", json!({"id": "e-000001"}));
    assert_eq!(kickoff["postings"][0]["tags"], json!({"project": "apollo"}));
    assert_eq!(
        kickoff["postings"][1]["tags"],
        json!({"project": "apollo", "cc": "ops"})
    );
    assert_eq!(
        kickoff["postings"][1]["memo"],
        "lunch with the team, cc: ops"
    );
    let lunch = call(&t, "get-entry", json!({"id": "e-000003"}));
    assert_eq!(
        lunch["postings"][0]["tags"],
        json!({"project": "apollo", "billable": "", "cc": "sales"})
    );
    assert_eq!(
        lunch["postings"][1]["tags"],
        json!({"project": "apollo", "billable": ""})
    );
    let rent = call(&t, "get-entry", json!({"id": "e-000005"}));
    assert!(rent["postings"][0].get("tags").is_none(), "{rent}");
    // Posted tags: the entry's are inherited, a posting's own replace them by name.
    let e = call(
        &t,
        "post-entry",
        json!({"date": "2024-03-10", "description": "Taxi", "tags": {"project": "apollo"},
               "postings": [
                   {"account": "expenses:travel", "amount": "12.00", "currency": "EUR", "tags": {"cc": "ops"}},
                   {"account": "expenses:travel", "amount": "8.00", "currency": "EUR", "tags": {"project": "gemini"}},
                   {"account": "assets:bank", "amount": "-20.00", "currency": "EUR"}]}),
    );
    assert_eq!(
        e["postings"][0]["tags"],
        json!({"project": "apollo", "cc": "ops"})
    );
    assert_eq!(e["postings"][1]["tags"], json!({"project": "gemini"}));
    assert_eq!(e["postings"][2]["tags"], json!({"project": "apollo"}));
    let got = call(&t, "get-entry", json!({"id": e["id"]}));
    assert_eq!(got["postings"], e["postings"]);
    let travel = call(
        &t,
        "balance",
        json!({"tag": {"name": "project", "value": "apollo"}, "prefix": "expenses:travel"}),
    );
    assert_eq!(travel["rows"][0]["amounts"][0]["formatted"], "112.00");
    // A reversal carries the tags, so the tagged balance returns to what it was.
    call(&t, "reverse-entry", json!({"id": e["id"]}));
    let travel = call(
        &t,
        "balance",
        json!({"tag": {"name": "project", "value": "apollo"}, "prefix": "expenses:travel"}),
    );
    assert_eq!(travel["rows"][0]["amounts"][0]["formatted"], "100.00");
    // Export: JSON entries carry the tags; the CSV has a tags column.
    let csv = call(
        &t,
        "export",
        json!({"what": "entries", "format": "csv", "from": "2024-02-01", "to": "2024-02-01"}),
    );
    let csv = csv["csv"].as_str().unwrap();
    assert!(
        csv.starts_with(
            "entry,date,description,payee,account,currency,amount,formatted,reverses,status,tags\r\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(
            "e-000003,2024-02-01,Lunch,,expenses:food,EUR,1550,15.50,,unmarked,billable=;cc=sales;project=apollo\r\n"
        ),
        "{csv}"
    );
    let json = call(&t, "export", json!({"what": "entries", "format": "json"}));
    assert_eq!(json["data"][1]["postings"][0]["tags"]["cc"], "admin");
}

/// What a refused call must leave alone.
fn state(t: &TestHost) -> Value {
    json!({
        "entries": call(t, "export", json!({"what": "entries", "format": "json"}))["data"],
        "balance": call(t, "balance", json!({})),
        "tagged": call(t, "balance", json!({"tag": {"name": "project"}})),
    })
}

fn refused(t: &TestHost, op: &str, input: Value, fragments: &[&str]) {
    let err = t.call("acme", "ledger", op, input).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.http_status(), 400, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
}

#[test]
fn bad_tags_are_refused_with_nothing_changed() {
    let (t, _file) = imported();
    let before = state(&t);
    let posting = |tags: Value| {
        json!({"date": "2024-03-10", "description": "x", "postings": [
            {"account": "expenses:travel", "amount": 1, "currency": "EUR", "tags": tags},
            {"account": "assets:bank", "amount": -1, "currency": "EUR"}]})
    };
    // A journal whose tags the ledger cannot keep names the line; nothing is imported.
    refused(
        &t,
        "import-journal",
        json!({"journal": "2024-04-01 ok\n    expenses:food  1 EUR\n    assets:bank\n\n2024-04-02 x\n    expenses:food  1 EUR  ; date: 2024-04-03\n    assets:bank\n"}),
        &["line 6: ", "posting dates"],
    );
    refused(
        &t,
        "import-journal",
        json!({"journal": "2024-04-01 x\n    expenses:food  1 EUR\n    ; project: a, project: b\n    assets:bank\n"}),
        &["line 3: ", "tag \"project\" is given twice"],
    );
    let long = format!(
        "2024-04-01 x  ; note: {}\n    expenses:food  1 EUR\n    assets:bank\n",
        "y".repeat(201)
    );
    refused(
        &t,
        "import-journal",
        json!({ "journal": long }),
        &["line 1: ", "longer than 200 characters"],
    );
    // Tags a request cannot give: the schema refuses names with spaces, values with
    // commas and more than 32 tags; the plugin refuses the rest with the posting named.
    refused(
        &t,
        "post-entry",
        posting(json!({"cost centre": "x"})),
        &["tags"],
    );
    refused(&t, "post-entry", posting(json!({"cc": "a,b"})), &["tags"]);
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("t{i}"), json!("v"))).collect();
    refused(&t, "post-entry", posting(Value::Object(many)), &["tags"]);
    let mut entry_tags: serde_json::Map<String, Value> =
        (0..20).map(|i| (format!("e{i}"), json!("v"))).collect();
    let own: serde_json::Map<String, Value> =
        (0..20).map(|i| (format!("p{i}"), json!("v"))).collect();
    let mut input = posting(Value::Object(own));
    input["tags"] = Value::Object(std::mem::take(&mut entry_tags));
    refused(
        &t,
        "post-entry",
        input,
        &["postings[0].tags: ", "at most 32 tags, not 40"],
    );
    refused(
        &t,
        "balance",
        json!({"tag": {"name": "pro ject"}}),
        &["tag.name: ", "not a tag name"],
    );
    assert_eq!(state(&t), before);
}
