//! The JavaScript example plugins (`examples/fixed-assets` and `examples/counter-js`,
//! built with componentize-js and packed by `plugin pack`) through the real binary:
//! install next to the ledger, register assets, depreciate a month into one ledger
//! entry through `plugins.call`, the event, a disposal, and bad input refused with
//! nothing written. Needs `bash scripts/build-wasm.sh` (it builds
//! `target/wasm/examples/fixed-assets.wasm` and `counter-js.wasm`).

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, example_path};
use serde_json::{Value, json};

fn install_example(cli: &Cli, id: &str) {
    let file = example_path(id).display().to_string();
    let said = cli
        .run(&["plugin", "install", &file, "--yes", "--allow-unsigned"])
        .ok();
    assert!(said.contains(&format!("{id} 0.1.0")), "{said}");
    cli.run(&["plugin", "enable", id, "--tenant", "acme"]).ok();
}

fn asset(code: &str, cost: i64, salvage: i64, life: u32, in_service: &str) -> Value {
    json!({
        "code": code, "name": format!("{code} asset"), "cost": cost, "salvage": salvage,
        "currency": "EUR", "life-months": life, "in-service": in_service,
        "asset-account": "Assets:Equipment",
        "accumulated-account": "Assets:Accumulated Depreciation",
        "expense-account": "Expenses:Depreciation",
    })
}

fn depreciated_events(cli: &Cli) -> Vec<Value> {
    let events = cli
        .run(&["events", "list", "--tenant", "acme", "--json"])
        .json();
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "fixed-assets.depreciated")
        .map(|e| serde_json::from_str(e["payload"].as_str().unwrap()).unwrap())
        .collect()
}

fn postings(entry: &Value) -> Vec<(String, i64)> {
    entry["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["currency"], "EUR", "{p}");
            (
                p["account"].as_str().unwrap().to_owned(),
                p["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_javascript_plugin_depreciates_fixed_assets_into_the_ledger() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("ledger").ok();
    cli.run(&["plugin", "enable", "ledger", "--tenant", "acme"])
        .ok();
    install_example(&cli, "fixed-assets");
    for (name, kind) in [
        ("Assets:Equipment", "asset"),
        ("Assets:Accumulated Depreciation", "asset"),
        ("Expenses:Depreciation", "expense"),
        ("Expenses:Loss on Disposal", "expense"),
    ] {
        cli.call(
            "acme",
            "ledger",
            "create-account",
            &json!({"name": name, "type": kind}),
        );
    }

    // A van: 30,000.00 EUR less 5,000.00 salvage over 36 months is 69,444 cents a
    // month, the last month taking the remainder (69,460). A laptop: 1,500.00 over 24.
    let van = cli.call(
        "acme",
        "fixed-assets",
        "add",
        &asset("van-1", 3_000_000, 500_000, 36, "2026-01-15"),
    );
    assert_eq!(van["book-value"], 3_000_000);
    cli.call(
        "acme",
        "fixed-assets",
        "add",
        &asset("laptop-1", 150_000, 0, 24, "2026-01-03"),
    );
    let schedule = cli.call(
        "acme",
        "fixed-assets",
        "schedule",
        &json!({"code": "van-1"}),
    );
    let months = schedule["months"].as_array().unwrap();
    assert_eq!(months.len(), 36);
    assert_eq!(
        months[0],
        json!({"period": "2026-01", "amount": 69_444, "accumulated": 69_444,
                "book-value": 2_930_556, "posted": false})
    );
    assert_eq!(months[35]["period"], "2028-12");
    assert_eq!(months[35]["amount"], 69_460);
    assert_eq!(months[35]["book-value"], 500_000);
    let total: i64 = months.iter().map(|m| m["amount"].as_i64().unwrap()).sum();
    assert_eq!(total, 2_500_000);

    // January: one balanced entry for both assets, through the ledger's post-entry.
    let january = cli.call(
        "acme",
        "fixed-assets",
        "depreciate",
        &json!({"period": "2026-01"}),
    );
    assert_eq!(january["totals"], json!({"EUR": 75_694}));
    let id = january["entry"].as_str().unwrap().to_owned();
    let entry = cli.call("acme", "ledger", "get-entry", &json!({"id": id}));
    assert_eq!(entry["date"], "2026-01-31");
    assert_eq!(entry["description"], "Depreciation 2026-01");
    assert_eq!(
        entry["reference"],
        json!({"source": "fixed-assets", "document": "depreciation-2026-01"})
    );
    let mut lines = postings(&entry);
    lines.sort();
    assert_eq!(
        lines,
        vec![
            ("Assets:Accumulated Depreciation".to_owned(), -69_444),
            ("Assets:Accumulated Depreciation".to_owned(), -6_250),
            ("Expenses:Depreciation".to_owned(), 6_250),
            ("Expenses:Depreciation".to_owned(), 69_444),
        ]
    );
    // The event, and the register's storage in later calls (each one a new process).
    assert_eq!(depreciated_events(&cli), vec![january.clone()]);
    let list = cli.call("acme", "fixed-assets", "list", &json!({}));
    let by_code = |code: &str| {
        list["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(by_code("van-1")["accumulated"], 69_444);
    assert_eq!(by_code("van-1")["book-value"], 2_930_556);
    assert_eq!(by_code("laptop-1")["accumulated"], 6_250);

    // Refusals: each with a clear message and exit code, and nothing written.
    let before = cli.call("acme", "fixed-assets", "list", &json!({}));
    let entries_before = cli.run(&["events", "list", "--json"]).json();
    let call = |op: &str, input: Value| {
        cli.run(&[
            "call",
            "--tenant",
            "acme",
            "fixed-assets",
            op,
            "--input",
            &input.to_string(),
        ])
    };
    // January again: a conflict naming the entry already posted.
    call("depreciate", json!({"period": "2026-01"})).fails(
        4,
        &[
            "plugin fixed-assets 0.1.0",
            "2026-01 is already depreciated",
            &id,
        ],
    );
    // A negative cost: refused by the operation's schema before JavaScript runs.
    call("add", asset("chair-1", -100, 0, 12, "2026-01-01"))
        .fails(2, &["does not match the schema", "/cost"]);
    // A salvage value above the cost: the plugin's own message.
    call("add", asset("chair-1", 100, 200, 12, "2026-01-01"))
        .fails(2, &["the salvage value 200 must be less than the cost 100"]);
    // A date that is not in the calendar.
    call("add", asset("chair-1", 100, 0, 12, "2026-02-30"))
        .fails(2, &["'in-service' is not a calendar date: '2026-02-30'"]);
    // The same code twice.
    call("add", asset("van-1", 100, 0, 12, "2026-01-01"))
        .fails(4, &["asset 'van-1' already exists"]);
    // An asset that does not exist.
    call("schedule", json!({"code": "boat"})).fails(3, &["there is no asset 'boat'"]);
    call(
        "dispose",
        json!({"code": "boat", "date": "2026-02-01", "loss-account": "Expenses:Loss on Disposal"}),
    )
    .fails(3, &["there is no asset 'boat'"]);
    // A month nothing depreciates in.
    call("depreciate", json!({"period": "2025-12"}))
        .fails(2, &["no asset is depreciating in 2025-12"]);
    assert_eq!(cli.call("acme", "fixed-assets", "list", &json!({})), before);
    assert_eq!(
        cli.run(&["events", "list", "--json"]).json(),
        entries_before
    );

    // Disposal of the van in February: its cost leaves the books, the accumulated
    // depreciation is reversed and the book value is a loss.
    let disposed = cli.call(
        "acme",
        "fixed-assets",
        "dispose",
        &json!({"code": "van-1", "date": "2026-02-10", "loss-account": "Expenses:Loss on Disposal"}),
    );
    assert_eq!(disposed["book-value"], 2_930_556);
    let entry = cli.call(
        "acme",
        "ledger",
        "get-entry",
        &json!({"id": disposed["entry"]}),
    );
    assert_eq!(entry["date"], "2026-02-10");
    let mut lines = postings(&entry);
    lines.sort();
    assert_eq!(
        lines,
        vec![
            ("Assets:Accumulated Depreciation".to_owned(), 69_444),
            ("Assets:Equipment".to_owned(), -3_000_000),
            ("Expenses:Loss on Disposal".to_owned(), 2_930_556),
        ]
    );
    // Its schedule ends before the month of the disposal.
    let schedule = cli.call(
        "acme",
        "fixed-assets",
        "schedule",
        &json!({"code": "van-1"}),
    );
    assert_eq!(schedule["months"].as_array().map(Vec::len), Some(1));
    // February depreciates only the laptop.
    let february = cli.call(
        "acme",
        "fixed-assets",
        "depreciate",
        &json!({"period": "2026-02"}),
    );
    assert_eq!(
        february["assets"],
        json!([{"code": "laptop-1", "amount": 6_250, "currency": "EUR"}])
    );

    // When the ledger refuses the entry (an expense account it does not know), the
    // whole call rolls back: no month recorded, no accumulated depreciation, no event.
    let mut chair = asset("chair-1", 12_000, 0, 12, "2026-03-01");
    chair["expense-account"] = json!("Expenses:Unknown");
    cli.call("acme", "fixed-assets", "add", &chair);
    let before = cli.call("acme", "fixed-assets", "list", &json!({}));
    call("depreciate", json!({"period": "2026-03"})).fails(
        2,
        &[
            "plugin fixed-assets 0.1.0",
            "unknown account Expenses:Unknown",
        ],
    );
    assert_eq!(cli.call("acme", "fixed-assets", "list", &json!({})), before);
    assert_eq!(depreciated_events(&cli).len(), 2);
    let schedule = cli.call(
        "acme",
        "fixed-assets",
        "schedule",
        &json!({"code": "laptop-1"}),
    );
    assert_eq!(schedule["months"][2]["posted"], false);
}

#[test]
fn a_javascript_plugin_counts_and_reaches_nothing_outside() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let file = example_path("counter-js").display().to_string();
    // What the component asks of WASI: no HTTP (built with -d http) and no sockets;
    // the filesystem interfaces it imports are linked with nothing preopened
    // (`cli::filesystem_and_network_give_nothing` checks that with a Rust plugin).
    let inspected = cli.run(&["plugin", "inspect", &file]).ok();
    let imports = |prefix: &str| {
        inspected
            .lines()
            .any(|l| l.trim_start().starts_with(prefix))
    };
    assert!(imports("wasi:filesystem/"), "{inspected}");
    assert!(!imports("wasi:http/"), "{inspected}");
    assert!(!imports("wasi:sockets/"), "{inspected}");
    install_example(&cli, "counter-js");
    for expected in 1..=3 {
        let out = cli.call("acme", "counter-js", "touch", &json!({"key": "a"}));
        assert_eq!(out, json!({"count": expected}));
    }
    // From inside the plugin: no file API. StarlingMonkey keeps a `fetch` global, but
    // with no wasi:http or sockets import (checked above) calling it traps: the call
    // fails as a plugin failure (exit code 6) and nothing leaves the host.
    let reach = cli.call("acme", "counter-js", "reach", &json!({}));
    assert_eq!(reach, json!({"fetch": "function", "files": "absent"}));
    let url = json!({"url": "http://127.0.0.1:9/"}).to_string();
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "counter-js",
        "fetch",
        "--input",
        &url,
    ])
    .fails(6, &["plugin counter-js 0.1.0, operation 'fetch': trapped"]);
    // The instance after the trap is gone; the next call gets a fresh one.
    let out = cli.call("acme", "counter-js", "touch", &json!({"key": "a"}));
    assert_eq!(out, json!({"count": 4}));
}
