//! Invocation cost: a trivial operation doing one storage read and one write, through
//! the whole path (checks, schema validation, fresh instance, transaction, commit), and
//! bare instantiation alone.
//!
//! Needs the test fixtures: `bash scripts/build-wasm.sh`. Run with
//! `cargo bench -p backoffice-host --bench invoke`. Besides criterion's estimates it
//! prints p50/p99 and calls per second from a separate timed pass.

use std::time::{Duration, Instant};

use backoffice_host::auth::Principal;
use backoffice_host::store::Durability;
use backoffice_host::{Host, HostConfig};
use criterion::{Criterion, criterion_group};

fn probe_path() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("wasm/wasm32-wasip2/release/probe.wasm")
}

fn host(durability: Durability) -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = HostConfig::new(dir.path());
    config.durability = durability;
    let host = Host::open(config).expect("open host");
    let bytes = std::fs::read(probe_path())
        .expect("probe.wasm missing: run `bash scripts/build-wasm.sh` first");
    let mut plan = host.inspect(bytes).expect("inspect");
    plan.allow_unsigned = true;
    host.install(plan).expect("install");
    host.create_tenant("bench", None, None).expect("tenant");
    host.enable("probe", "bench").expect("enable");
    (dir, host)
}

fn touch(host: &Host, principal: &Principal) {
    host.invoke("bench", "probe", "touch", r#"{"key":"counter"}"#, principal)
        .expect("touch");
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration, f64) {
    times.sort();
    let total: Duration = times.iter().sum();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.50), at(0.99), times.len() as f64 / total.as_secs_f64())
}

fn report(label: &str, times: Vec<Duration>) {
    let (p50, p99, rate) = percentiles(times);
    println!("{label}: p50 {p50:?}  p99 {p99:?}  {rate:.0} calls/s");
}

fn benches(c: &mut Criterion) {
    let principal = Principal::system();
    for (name, durability) in [("normal", Durability::Normal), ("full", Durability::Full)] {
        let (_dir, host) = host(durability);
        c.bench_function(&format!("invoke touch (synchronous={name})"), |b| {
            b.iter(|| touch(&host, &principal))
        });
        let times: Vec<Duration> = (0..5000)
            .map(|_| {
                let t = Instant::now();
                touch(&host, &principal);
                t.elapsed()
            })
            .collect();
        report(&format!("invoke touch, synchronous={name}"), times);
    }
    let (_dir, host) = host(Durability::Normal);
    c.bench_function("instantiate only", |b| {
        b.iter_custom(|iters| {
            host.time_instantiation("bench", "probe", iters)
                .expect("instantiate")
                .iter()
                .sum()
        })
    });
    report(
        "instantiate only",
        host.time_instantiation("bench", "probe", 20_000)
            .expect("instantiate"),
    );
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
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
