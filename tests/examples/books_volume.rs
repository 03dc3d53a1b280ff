//! Receivables and the bank at volume (issue 21's closing measurements): issuing
//! 10,000 invoices, importing a 10,000-line statement and matching every line to the
//! invoice it pays (suggest, then confirm the best candidate, as a clerk or an
//! integration would), and ageing, open items and a customer statement over 100,000
//! open items.
//!
//! Drives an in-process host (ledger, contacts, invoicing, banking; the default 2 s
//! deadline and 64 MiB memory cap of every call) through `Host::invoke`, the path of
//! every CLI and HTTP call. Needs `bash scripts/build-wasm.sh --plugins-only`. Run with
//! `cargo run -p backoffice-tests --example books_volume` (the dev profile, whose
//! wasmtime and Cranelift are optimised by the workspace's Cargo.toml) or `--release`.
//! `BOOKS_INVOICES` (10000) and `BOOKS_OPEN_ITEMS` (100000) scale the run;
//! `BOOKS_FILL=copy` reaches `BOOKS_OPEN_ITEMS` by copying the issued invoices'
//! open-item index records instead of issuing more (see `copy_open_items`).
//! Prints figures; asserts only that each step did what it was asked (every line
//! matched, the open items counted): timings depend on the machine.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a measuring program: fail loudly, print figures"
)]

use std::time::{Duration, Instant};

use backoffice_host::auth::Principal;
use backoffice_host::runtime::Limits;
use backoffice_host::{Host, HostConfig};
use serde_json::{Value, json};

const TENANT: &str = "bench";
const CUSTOMERS: usize = 200;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn call(host: &Host, plugin: &str, op: &str, input: Value) -> Value {
    try_call(host, plugin, op, &input).unwrap_or_else(|e| panic!("{plugin} {op} failed: {e}"))
}

fn try_call(host: &Host, plugin: &str, op: &str, input: &Value) -> Result<Value, String> {
    host.invoke(TENANT, plugin, op, &input.to_string(), &Principal::system())
        .map_err(|e| format!("{e:#}"))
}

fn rate(n: usize, d: Duration) -> String {
    format!(
        "{n} in {:.1} s: {:.0}/s, {:.2} ms each",
        d.as_secs_f64(),
        n as f64 / d.as_secs_f64(),
        d.as_secs_f64() * 1e3 / n as f64
    )
}

fn main() {
    let stack = Limits::default().native_stack_bytes();
    backoffice_host::runtime::stack::on_thread_with(stack, run).unwrap();
}

fn install(host: &Host) {
    for name in ["ledger", "contacts", "invoicing", "banking"] {
        let mut plan = host.inspect(backoffice_tests::wasm(name)).unwrap();
        plan.allow_unsigned = true;
        host.install(plan).unwrap();
    }
    host.create_tenant(TENANT, None, Some("Europe/London"))
        .unwrap();
    for name in ["ledger", "contacts", "invoicing", "banking"] {
        host.enable(name, TENANT).unwrap();
    }
}

fn books(host: &Host) -> (Vec<String>, String) {
    call(
        host,
        "invoicing",
        "set-tax-code",
        json!({"code": "UK-VAT20", "rate-bp": 2000, "account": "liabilities:vat"}),
    );
    call(host, "invoicing", "setup-ledger", json!({}));
    call(
        host,
        "ledger",
        "create-account",
        json!({"name": "assets:bank:current", "type": "asset"}),
    );
    let acct = call(
        host,
        "banking",
        "add-account",
        json!({"name": "Current account", "iban": "GB29NWBK60161331926819",
               "currency": "GBP", "ledger-account": "assets:bank:current"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        host,
        "banking",
        "save-csv-mapping",
        json!({"name": "plain", "date-column": 1, "date-format": "YYYY-MM-DD",
               "amount-column": 2, "reference-column": 3, "counterparty-column": 4,
               "bank-reference-column": 5}),
    );
    let customers = (0..CUSTOMERS)
        .map(|c| {
            call(
                host,
                "contacts",
                "create",
                json!({"name": format!("Customer {c:03}"), "kind": "customer",
                       "payment-terms-days": 30, "default-currency": "GBP"}),
            )["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (customers, acct)
}

/// Invoice `i`: one line of 10.00 to 109.99 plus VAT, dated over the 200 days before
/// the end of January 2026 so that ageing fills every bucket.
fn invoice(host: &Host, customers: &[String], i: usize) -> (String, i64) {
    let price = 1000 + (i * 37 % 10_000) as i64;
    let d = call(
        host,
        "invoicing",
        "create-document",
        json!({"kind": "invoice", "contact": customers[i % customers.len()], "lines": [
            {"description": "Goods", "unit-price": price, "tax-code": "UK-VAT20"}]}),
    );
    let day = 200 - (i * 7919 % 200) as i64;
    let date = date_before_2026_02_01(day);
    let issued = call(
        host,
        "invoicing",
        "issue",
        json!({"id": d["id"], "date": date}),
    );
    (
        issued["number"].as_str().unwrap().to_owned(),
        issued["total"].as_i64().unwrap(),
    )
}

fn date_before_2026_02_01(days: i64) -> String {
    let d = time::Date::from_calendar_date(2026, time::Month::February, 1).unwrap()
        - time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn reports(host: &Host, open: usize, customers: &[String]) {
    let as_of = json!({"as-of": "2026-01-31"});
    let started = Instant::now();
    match try_call(host, "invoicing", "ageing", &as_of) {
        Ok(a) => println!(
            "  ageing over {open} open items: {:.0} ms ({} rows; total {})",
            started.elapsed().as_secs_f64() * 1e3,
            a["rows"].as_array().map_or(0, Vec::len),
            a["totals"][0]["total"]
        ),
        Err(e) => println!(
            "  ageing over {open} open items FAILED after {:.0} ms: {e}",
            started.elapsed().as_secs_f64() * 1e3
        ),
    }
    let one = json!({"as-of": "2026-01-31", "contact": customers[0]});
    let started = Instant::now();
    match try_call(host, "invoicing", "open-items", &one) {
        Ok(a) => println!(
            "  open items of one customer ({} items): {:.0} ms",
            a["items"].as_array().map_or(0, Vec::len),
            started.elapsed().as_secs_f64() * 1e3
        ),
        Err(e) => println!(
            "  open items of one customer FAILED after {:.0} ms: {e}",
            started.elapsed().as_secs_f64() * 1e3
        ),
    }
    let st = json!({"contact": customers[0], "to": "2026-01-31"});
    let started = Instant::now();
    match try_call(host, "invoicing", "statement", &st) {
        Ok(a) => println!(
            "  statement of one customer ({} lines): {:.0} ms",
            a["currencies"][0]["lines"].as_array().map_or(0, Vec::len),
            started.elapsed().as_secs_f64() * 1e3
        ),
        Err(e) => println!(
            "  statement of one customer FAILED after {:.0} ms: {e}",
            started.elapsed().as_secs_f64() * 1e3
        ),
    }
}

/// Open items written by an earlier run kept in `BOOKS_DIR`: upgrade invoicing to
/// the build in the wasm directory (its migration over every document), then the
/// reports again.
fn rerun(host: &Host, dir: &std::path::Path) {
    let customers: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("customers.json")).unwrap())
            .unwrap();
    // Written at the end of a full run; a run stopped early is counted here.
    let open: usize = match std::fs::read_to_string(dir.join("open-items")) {
        Ok(n) => n.trim().parse().unwrap(),
        Err(_) => customers
            .iter()
            .map(|c| {
                call(
                    host,
                    "invoicing",
                    "open-items",
                    json!({"contact": c, "as-of": "2026-01-31"}),
                )["items"]
                    .as_array()
                    .map_or(0, Vec::len)
            })
            .sum(),
    };
    let started = Instant::now();
    match host
        .upgrade_plan_checked(backoffice_tests::wasm("invoicing"), None, true)
        .and_then(|plan| host.upgrade(plan))
    {
        Ok(info) => println!(
            "upgrade invoicing to {} over {open} open items: {:.1} s",
            info.version,
            started.elapsed().as_secs_f64()
        ),
        Err(e) => println!("no upgrade: {e:#}"),
    }
    reports(host, open, &customers);
}

/// `BOOKS_FILL=copy`: add `n` open items without issuing them, for the reports' figure
/// at a volume issuing would take hours to reach on a shared machine. Each is a copy of
/// an `open/` index record the plugin wrote for an issued invoice (same contact, dates,
/// amounts and settlements), under a new document id; the reports read only these
/// records, never a document, so they see `n` more open items. Written in the tenant's
/// file with SQLite, between calls.
fn copy_open_items(dir: &std::path::Path, n: usize) -> i64 {
    let mut db =
        rusqlite::Connection::open(dir.join("tenants").join(format!("{TENANT}.db"))).unwrap();
    db.busy_timeout(Duration::from_secs(30)).unwrap();
    let tx = db.transaction().unwrap();
    let records: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT key, value FROM kv WHERE tenant = ?1 AND plugin = 'invoicing' AND key LIKE 'open/%' ORDER BY key")
        .unwrap()
        .query_map([TENANT], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!records.is_empty(), "no open items to copy");
    let mut added = 0;
    {
        let mut put = tx
            .prepare("INSERT INTO kv (tenant, plugin, key, value) VALUES (?1, 'invoicing', ?2, ?3)")
            .unwrap();
        for k in 0..n {
            let (key, value) = &records[k % records.len()];
            let mut r: Value = serde_json::from_slice(value).unwrap();
            added += r["open"].as_i64().unwrap();
            // Ids above any the plugin gives here (d-9…), numbers in their own series.
            let id = format!("d-9{k:011}");
            r["id"] = json!(id);
            r["number"] = json!(format!("COPY-{k:06}"));
            let contact = key.split('/').nth(1).unwrap();
            put.execute(rusqlite::params![
                TENANT,
                format!("open/{contact}/{id}"),
                serde_json::to_vec(&r).unwrap()
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    added
}

fn run() {
    let invoices = count("BOOKS_INVOICES", 10_000);
    let open_items = count("BOOKS_OPEN_ITEMS", 100_000).max(invoices);
    let temp = tempfile::tempdir().unwrap();
    let kept = std::env::var_os("BOOKS_DIR").map(std::path::PathBuf::from);
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_owned());
    let mut config = HostConfig::new(&dir);
    config.clock = std::sync::Arc::new(backoffice_host::clock::TestClock::at_rfc3339(
        "2026-01-31T12:00:00Z",
    ));
    // BOOKS_DURABILITY=full: every call's commit synced to disk before it returns.
    if std::env::var("BOOKS_DURABILITY").as_deref() != Ok("full") {
        config.durability = backoffice_host::store::Durability::Normal;
    }
    // BOOKS_DEADLINE_MS: the deadline of every call (default 2 s, the host's); a
    // longer one measures how long a report over the kept data takes.
    if let Some(ms) = std::env::var("BOOKS_DEADLINE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.limits.call_deadline = Duration::from_millis(ms);
    }
    let host = Host::open(config).unwrap();
    if dir.join("customers.json").exists() {
        return rerun(&host, &dir);
    }
    install(&host);
    let (customers, acct) = books(&host);
    if kept.is_some() {
        std::fs::write(dir.join("customers.json"), json!(customers).to_string()).unwrap();
    }

    // 1. Issue invoices: create the draft, then issue it (number, ledger entry, event).
    let started = Instant::now();
    let issued: Vec<(String, i64)> = (0..invoices)
        .map(|i| invoice(&host, &customers, i))
        .collect();
    println!(
        "issue invoices (create-document + issue, 2 calls): {}",
        rate(invoices, started.elapsed())
    );
    reports(&host, invoices, &customers);

    // 2. A statement paying half of each invoice, its number in the reference.
    let mut csv = String::from("date,amount,reference,counterparty,bank-ref\n");
    for (i, (number, total)) in issued.iter().enumerate() {
        let half = total / 2;
        csv.push_str(&format!(
            "2026-01-31,{}.{:02},Payment {number},Customer {:03},BR-{i:06}\n",
            half / 100,
            half % 100,
            i % customers.len()
        ));
    }
    let started = Instant::now();
    let mut imported = 0;
    // As `backoffice banking import` does: chunks under the 1 MiB input.
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    for (n, chunk) in body.chunks(5_000).enumerate() {
        let content = format!("{header}\n{}\n", chunk.join("\n"));
        let out = call(
            &host,
            "banking",
            "import-csv",
            json!({"account": acct, "mapping": "plain", "content": content,
                   "statement-id": format!("BENCH-{n}")}),
        );
        imported += out["statements"][0]["imported"].as_u64().unwrap();
    }
    let import = started.elapsed();
    assert_eq!(imported as usize, invoices);
    println!(
        "import a {invoices}-line CSV statement ({} bytes): {}",
        csv.len(),
        rate(invoices, import)
    );

    let mut suggest_time = Duration::ZERO;
    let mut confirm_time = Duration::ZERO;
    let mut matched = 0;
    loop {
        let started = Instant::now();
        let s = call(
            &host,
            "banking",
            "suggest",
            json!({"account": acct, "limit": 5000}),
        );
        suggest_time += started.elapsed();
        let list = s["suggestions"].as_array().unwrap();
        if list.is_empty() {
            break;
        }
        let started = Instant::now();
        for line in list {
            let best = &line["candidates"][0];
            assert_eq!(best["kind"], "invoice", "{line}");
            call(
                &host,
                "banking",
                "confirm-match",
                json!({"line": line["line"], "document": best["document"]}),
            );
            matched += 1;
        }
        confirm_time += started.elapsed();
    }
    assert_eq!(matched, invoices);
    println!(
        "auto-match: suggest {:.1} s in total; confirm the best candidate (payment recorded and posted): {}",
        suggest_time.as_secs_f64(),
        rate(matched, confirm_time)
    );
    println!(
        "import and match {invoices} lines: {:.1} s",
        (import + suggest_time + confirm_time).as_secs_f64()
    );

    // 3. More open items, then the reports over all of them.
    if std::env::var("BOOKS_FILL").as_deref() == Ok("copy") && open_items > invoices {
        let total = |host: &Host| {
            let a = call(host, "invoicing", "ageing", json!({"as-of": "2026-01-31"}));
            a["totals"][0]["total"].as_i64().unwrap()
        };
        let before = total(&host);
        let started = Instant::now();
        let added = copy_open_items(&dir, open_items - invoices);
        println!(
            "copy {} open-item index records in the tenant's file: {:.1} s",
            open_items - invoices,
            started.elapsed().as_secs_f64()
        );
        reports(&host, open_items, &customers);
        let started = Instant::now();
        assert_eq!(
            total(&host),
            before + added,
            "ageing counts every open item"
        );
        println!(
            "  ageing again (checked: its total is the {invoices} issued items' plus the copies'): {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        return;
    }
    let started = Instant::now();
    for i in invoices..open_items {
        invoice(&host, &customers, i);
        if (i + 1) % 10_000 == 0 {
            println!(
                "  {} issued ({:.0}/s overall)",
                i + 1,
                (i + 1 - invoices) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    if open_items > invoices {
        println!(
            "issue {} more invoices: {}",
            open_items - invoices,
            rate(open_items - invoices, started.elapsed())
        );
    }
    reports(&host, open_items, &customers);
    if kept.is_some() {
        std::fs::write(dir.join("open-items"), open_items.to_string()).unwrap();
    }
}
