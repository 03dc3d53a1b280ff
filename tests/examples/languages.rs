//! Rust, Python and JavaScript plugins side by side, in one run: component size, install time
//! (validation and compilation), instantiation time, memory held by a fresh instance,
//! and p50/p99 of a trivial operation doing one storage read and one write through the
//! whole call path.
//!
//! Compared: the Rust `probe` fixture's `touch`, the Python `examples/counter`'s and
//! the JavaScript `examples/counter-js`'s `touch` (the same logic), plus the install of
//! the Python `examples/leave` and the JavaScript `examples/fixed-assets`. Needs
//! `bash scripts/build-wasm.sh`. Run with
//! `cargo run -p backoffice-tests --example languages` (the dev profile, whose
//! wasmtime and Cranelift are optimised by the workspace's Cargo.toml; our own host
//! code is not, which adds the same overhead to both languages). Prints figures and
//! asserts nothing: timings depend on the machine.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a measuring program: fail loudly, print figures"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use backoffice_host::auth::Principal;
use backoffice_host::{Host, HostConfig};

const CALLS: usize = 500;
const INSTANTIATIONS: u64 = 200;

fn wasm_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| backoffice_tests::root().join("target"))
        .join("wasm")
}

fn percentile(times: &mut [Duration], q: f64) -> Duration {
    times.sort();
    let i = ((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1));
    times.get(i).copied().unwrap_or_default()
}

fn measure(host: &Host, label: &str, file: PathBuf, id: &str, op: Option<&str>) {
    let bytes = std::fs::read(&file)
        .unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/build-wasm.sh`", file.display()));
    let size = bytes.len();
    let started = Instant::now();
    let mut plan = host.inspect(bytes).unwrap();
    plan.allow_unsigned = true;
    host.install(plan).unwrap();
    let install = started.elapsed();
    let started = Instant::now();
    host.enable(id, "bench").unwrap();
    let enable = started.elapsed();
    let mut inst = host
        .time_instantiation("bench", id, INSTANTIATIONS)
        .unwrap();
    let memory = host.instance_memory_bytes("bench", id).unwrap();
    print!(
        "{label:<24} {:>9.2} MB {:>9.2} s {:>8.0} ms {:>8.0} us {:>7.1} MiB",
        size as f64 / 1e6,
        install.as_secs_f64(),
        enable.as_secs_f64() * 1e3,
        percentile(&mut inst, 0.5).as_secs_f64() * 1e6,
        memory as f64 / (1024.0 * 1024.0),
    );
    if let Some(op) = op {
        let principal = Principal::system();
        let mut calls: Vec<Duration> = (0..CALLS)
            .map(|_| {
                let t = Instant::now();
                host.invoke("bench", id, op, r#"{"key":"counter"}"#, &principal)
                    .unwrap();
                t.elapsed()
            })
            .collect();
        let p50 = percentile(&mut calls, 0.5);
        let p99 = percentile(&mut calls, 0.99);
        println!(
            " {:>8.0} us {:>8.0} us",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    } else {
        println!();
    }
}

fn main() {
    let stack = backoffice_host::runtime::Limits::default().native_stack_bytes();
    backoffice_host::runtime::stack::on_thread_with(stack, run).unwrap();
}

fn run() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(HostConfig::new(dir.path())).unwrap();
    host.create_tenant("bench", None, None).unwrap();
    let wasm = wasm_dir();
    println!(
        "{:<24} {:>12} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "plugin", "size", "install", "enable", "inst. p50", "memory", "touch p50", "touch p99"
    );
    measure(
        &host,
        "rust probe (touch)",
        wasm.join("wasm32-wasip2/release/probe.wasm"),
        "probe",
        Some("touch"),
    );
    measure(
        &host,
        "python counter (touch)",
        wasm.join("examples/counter.wasm"),
        "counter",
        Some("touch"),
    );
    measure(
        &host,
        "python leave",
        wasm.join("examples/leave.wasm"),
        "leave",
        None,
    );
    measure(
        &host,
        "js counter-js (touch)",
        wasm.join("examples/counter-js.wasm"),
        "counter-js",
        Some("touch"),
    );
    // fixed-assets depends on the ledger.
    measure(
        &host,
        "rust ledger",
        wasm.join("wasm32-wasip2/release/ledger.wasm"),
        "ledger",
        None,
    );
    measure(
        &host,
        "js fixed-assets",
        wasm.join("examples/fixed-assets.wasm"),
        "fixed-assets",
        None,
    );
}
