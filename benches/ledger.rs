//! The ledger plugin through the whole host path: posting throughput for two-posting
//! entries, and trial balance and balance sheet over a book of 100,000 entries.
//!
//! Needs the components: `bash scripts/build-wasm.sh --plugins-only`. Run with
//! `cargo bench -p backoffice-host --bench ledger`. Besides criterion's estimates it
//! prints entries per second and the p50/p99 of the reports from separate timed passes.

use std::time::{Duration, Instant};

use backoffice_host::auth::Principal;
use backoffice_host::runtime::Limits;
use backoffice_host::store::Durability;
use backoffice_host::{Host, HostConfig};
use criterion::{Criterion, criterion_group};

const BOOK: usize = 100_000;
const CHUNK: usize = 5_000;
const ACCOUNTS: &[&str] = &[
    "assets:bank:checking",
    "assets:bank:savings",
    "assets:cash",
    "assets:receivables",
    "liabilities:card",
    "liabilities:payables",
    "equity:opening",
    "income:sales:domestic",
    "income:sales:export",
    "income:interest",
    "expenses:rent",
    "expenses:salaries",
    "expenses:office:supplies",
    "expenses:office:software",
    "expenses:travel",
    "expenses:taxes",
];

fn ledger_path() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("wasm/wasm32-wasip2/release/ledger.wasm")
}

fn host() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = HostConfig::new(dir.path());
    config.durability = Durability::Normal;
    config.limits = Limits {
        call_deadline: Duration::from_secs(60),
        ..Limits::default()
    };
    let host = Host::open(config).expect("open host");
    let bytes = std::fs::read(ledger_path())
        .expect("ledger.wasm missing: run `bash scripts/build-wasm.sh --plugins-only` first");
    let mut plan = host.inspect(bytes).expect("inspect");
    plan.allow_unsigned = true; // the bundled build is not signed
    host.install(plan).expect("install");
    host.create_tenant("bench", None, None).expect("tenant");
    host.enable("ledger", "bench").expect("enable");
    (dir, host)
}

fn call(host: &Host, op: &str, input: &str) -> String {
    host.invoke("bench", "ledger", op, input, &Principal::system())
        .unwrap_or_else(|e| panic!("{op}: {e}"))
        .to_string()
}

/// A deterministic pseudo-random number (splitmix64).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A journal of `n` two-posting entries spread over 2020-2024.
fn journal(start: usize, n: usize) -> String {
    let mut out = String::with_capacity(n * 96);
    for i in start..start + n {
        let r = mix(i as u64);
        let a = ACCOUNTS[(r % 16) as usize];
        let b = ACCOUNTS[((r >> 8) % 16) as usize];
        let cents = (r >> 16) % 1_000_000 + 1;
        out.push_str(&format!(
            "{}-{:02}-{:02} Entry {i}\n    {a}  {}.{:02} EUR\n    {b}\n\n",
            2020 + (r >> 40) % 5,
            1 + (r >> 44) % 12,
            1 + (r >> 48) % 28,
            cents / 100,
            cents % 100
        ));
    }
    out
}

fn timed(label: &str, n: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    let times: Vec<Duration> = (0..n)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    let total: Duration = times.iter().sum();
    println!(
        "{label}: p50 {:?}  p99 {:?}  {:.0} calls/s",
        sorted[n / 2],
        sorted[(n * 99 / 100).min(n - 1)],
        n as f64 / total.as_secs_f64()
    );
    times
}

fn post_input(i: usize) -> String {
    format!(
        r#"{{"date": "2024-{:02}-{:02}", "description": "bench {i}", "postings": [{{"account": "expenses:rent", "amount": {}, "currency": "EUR"}}, {{"account": "assets:bank:checking", "currency": "EUR"}}]}}"#,
        1 + i % 12,
        1 + i % 28,
        100 + i % 1000
    )
}

fn benches(c: &mut Criterion) {
    let (_dir, host) = host();
    let import = Instant::now();
    for start in (0..BOOK).step_by(CHUNK) {
        let input = serde_json::json!({ "journal": journal(start, CHUNK) }).to_string();
        call(&host, "import-journal", &input);
    }
    let took = import.elapsed();
    println!(
        "import of a {BOOK}-entry book in {CHUNK}-entry journals: {took:?} ({:.0} entries/s)",
        BOOK as f64 / took.as_secs_f64()
    );

    let mut i = 0;
    c.bench_function("post-entry (2 postings)", |b| {
        b.iter(|| {
            i += 1;
            call(&host, "post-entry", &post_input(i))
        })
    });
    timed("post-entry, 2 postings (entries/s = calls/s)", 5000, |k| {
        call(&host, "post-entry", &post_input(1_000_000 + k));
    });

    for (op, input) in [
        ("trial-balance", r#"{}"#),
        ("balance-sheet", r#"{}"#),
        ("trial-balance", r#"{"as-of": "2023-06-15"}"#),
        ("balance-sheet", r#"{"as-of": "2022-02-27", "depth": 2}"#),
    ] {
        c.bench_function(&format!("{op} {input} over {BOOK} entries"), |b| {
            b.iter(|| call(&host, op, input))
        });
        timed(&format!("{op} {input} over {BOOK} entries"), 200, |_| {
            call(&host, op, input);
        });
    }
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = benches
}

// criterion_main!, on a thread with the stack plugin calls need, so that calls run
// in place as on a server's threads (see `runtime::stack`).
fn main() {
    let stack = backoffice_host::runtime::Limits::default().native_stack_bytes();
    backoffice_host::runtime::stack::on_thread_with(stack, || {
        group();
        Criterion::default().configure_from_args().final_summary();
    })
    .expect("start the benchmark thread");
}
