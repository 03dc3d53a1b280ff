//! What memory cap and call deadline each language's plugins need: the Rust `probe`
//! fixture, the Python `examples/leave` and the JavaScript `examples/fixed-assets`
//! (with the Rust ledger it posts to) run a realistic workload through the whole call
//! path on a host with a generous cap (256 MiB) and deadline (30 s), then print, per
//! plugin, the memory a fresh instance holds, the most memory one instance held at
//! the end of a call (the runtime's high-water mark: linear memories only grow) and
//! the slowest call of each operation.
//!
//! Needs `bash scripts/build-wasm.sh`. Run with
//! `cargo run -p backoffice-tests --example plugin_limits` (the dev profile, as
//! `languages`). Prints figures and asserts nothing but that the calls succeed.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a measuring program: fail loudly, print figures"
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use backoffice_host::auth::Principal;
use backoffice_host::runtime::Limits;
use backoffice_host::{Host, HostConfig};
use backoffice_tests::{example_path, user, wasm};
use serde_json::{Value, json};

const MIB: f64 = 1024.0 * 1024.0;

/// Slowest call per plugin and operation.
#[derive(Default)]
struct Slowest(BTreeMap<(String, String), (Duration, usize)>);

impl Slowest {
    fn call(
        &mut self,
        host: &Host,
        plugin: &str,
        op: &str,
        input: Value,
        who: &Principal,
    ) -> Value {
        let started = Instant::now();
        let out = host
            .invoke("bench", plugin, op, &input.to_string(), who)
            .unwrap_or_else(|e| panic!("{plugin}.{op}: {e}"));
        let took = started.elapsed();
        let slot = self
            .0
            .entry((plugin.to_owned(), op.to_owned()))
            .or_default();
        slot.0 = slot.0.max(took);
        slot.1 += 1;
        out
    }
}

fn install(host: &Host, bytes: Vec<u8>, id: &str) {
    let mut plan = host.inspect(bytes).unwrap();
    plan.allow_unsigned = true;
    host.install(plan).unwrap();
    host.enable(id, "bench").unwrap();
}

fn asset(code: &str, cost: i64, life: u32) -> Value {
    json!({
        "code": code, "name": format!("{code} asset"), "cost": cost, "salvage": 0,
        "currency": "EUR", "life-months": life, "in-service": "2026-01-10",
        "asset-account": "Assets:Equipment",
        "accumulated-account": "Assets:Accumulated Depreciation",
        "expense-account": "Expenses:Depreciation",
    })
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = HostConfig::new(dir.path());
    config.limits = Limits {
        memory_bytes: 256 << 20,
        call_deadline: Duration::from_secs(30),
        ..Limits::default()
    };
    config.durability = backoffice_host::store::Durability::Normal;
    let host = Host::open(config).unwrap();
    host.create_tenant("bench", None, Some("Europe/Berlin"))
        .unwrap();
    let system = Principal::system();
    let mut slowest = Slowest::default();

    // Rust: the probe's storage round trip and a 1,000-row output.
    install(&host, wasm("probe"), "probe");
    for i in 0..200 {
        slowest.call(
            &host,
            "probe",
            "touch",
            json!({ "key": format!("k{}", i % 20) }),
            &system,
        );
    }
    slowest.call(&host, "probe", "rows", json!({ "n": 1000 }), &system);

    // Python: a leave register with 100 requests, half approved, listed and totalled.
    install(
        &host,
        std::fs::read(example_path("leave")).unwrap(),
        "leave",
    );
    slowest.call(
        &host,
        "leave",
        "create-type",
        json!({"code": "annual", "name": "Annual leave", "annual-days": 366}),
        &system,
    );
    let ann = user("ann", &["leave.request", "leave.read"]);
    let bob = user("bob", &["leave.request", "leave.read", "leave.approve"]);
    let mut day = time::Date::from_calendar_date(2026, time::Month::January, 5).unwrap();
    for n in 0..100 {
        let out = slowest.call(
            &host,
            "leave",
            "request",
            json!({"type": "annual", "start": day.to_string(), "end": day.to_string(), "note": "bench"}),
            &ann,
        );
        if n % 2 == 0 {
            slowest.call(&host, "leave", "approve", json!({ "id": out["id"] }), &bob);
        }
        day = day.next_day().unwrap();
        while matches!(
            day.weekday(),
            time::Weekday::Saturday | time::Weekday::Sunday
        ) {
            day = day.next_day().unwrap();
        }
    }
    slowest.call(&host, "leave", "list-requests", json!({}), &system);
    slowest.call(&host, "leave", "balance", json!({"year": 2026}), &ann);

    // JavaScript: 50 fixed assets depreciated for 12 months into the ledger.
    install(&host, wasm("ledger"), "ledger");
    for (name, kind) in [
        ("Assets:Equipment", "asset"),
        ("Assets:Accumulated Depreciation", "asset"),
        ("Expenses:Depreciation", "expense"),
        ("Expenses:Loss on Disposal", "expense"),
    ] {
        slowest.call(
            &host,
            "ledger",
            "create-account",
            json!({"name": name, "type": kind}),
            &system,
        );
    }
    install(
        &host,
        std::fs::read(example_path("fixed-assets")).unwrap(),
        "fixed-assets",
    );
    for i in 0..50 {
        let code = format!("asset-{i}");
        slowest.call(
            &host,
            "fixed-assets",
            "add",
            asset(&code, 100_000 + i * 1_000, 36),
            &system,
        );
    }
    for month in 1..=12 {
        slowest.call(
            &host,
            "fixed-assets",
            "depreciate",
            json!({ "period": format!("2026-{month:02}") }),
            &system,
        );
    }
    slowest.call(
        &host,
        "fixed-assets",
        "schedule",
        json!({"code": "asset-0"}),
        &system,
    );
    slowest.call(&host, "fixed-assets", "list", json!({}), &system);

    println!(
        "{:<14} {:>14} {:>14}",
        "plugin", "fresh instance", "high-water"
    );
    for id in ["probe", "leave", "ledger", "fixed-assets"] {
        let fresh = host.instance_memory_bytes("bench", id).unwrap();
        let peak = host.memory_high_water(id).unwrap();
        println!(
            "{id:<14} {:>10.1} MiB {:>10.1} MiB",
            fresh as f64 / MIB,
            peak as f64 / MIB
        );
    }
    println!();
    println!("{:<30} {:>6} {:>12}", "operation", "calls", "slowest");
    for ((plugin, op), (took, calls)) in &slowest.0 {
        println!(
            "{:<30} {calls:>6} {:>9.1} ms",
            format!("{plugin}.{op}"),
            took.as_secs_f64() * 1e3
        );
    }
}
