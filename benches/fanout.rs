//! Event fan-out: 10,000 events emitted by `probe` to three subscribers (`probe`,
//! `listener`, `needs-contacts`), delivered by driving `Host::run_due()` until drained,
//! on a real host (system clock, SQLite in a temporary directory).
//!
//! Needs the test fixtures: `bash scripts/build-wasm.sh`. Run with
//! `cargo bench -p backoffice-host --bench fanout` (set `FANOUT_EVENTS` for another
//! count). Prints deliveries per second and the commit-to-delivery delay p50/p99
//! (event `created_at_ms` to delivery `done_ms`, as stored).

use std::time::Instant;

use backoffice_host::auth::Principal;
use backoffice_host::store::{Durability, EventFilter};
use backoffice_host::{Host, HostConfig};

/// Events emitted per call.
const BATCH: u32 = 250;

fn wasm(name: &str) -> Vec<u8> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join(format!("wasm/wasm32-wasip2/release/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `bash scripts/build-wasm.sh` first",
            path.display()
        )
    })
}

// On a thread with the stack plugin calls need, so that calls run in place as on a
// server's threads (see `runtime::stack`).
fn main() {
    let stack = backoffice_host::runtime::Limits::default().native_stack_bytes();
    backoffice_host::runtime::stack::on_thread_with(stack, run)
        .expect("start the benchmark thread");
}

fn run() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let events: u32 = std::env::var("FANOUT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = HostConfig::new(dir.path());
    config.durability = Durability::Normal;
    let host = Host::open(config).expect("open host");
    host.create_tenant("bench", None, None).expect("tenant");
    for (id, file) in [
        ("probe", "probe"),
        ("listener", "listener"),
        ("contacts", "contacts"),
        ("needs-contacts", "needs_contacts"),
    ] {
        let mut plan = host.inspect(wasm(file)).expect("inspect");
        plan.allow_unsigned = true; // test fixtures are not signed
        host.install(plan).expect("install");
        host.enable(id, "bench").expect("enable");
    }

    let principal = Principal::system();
    let started = Instant::now();
    let mut left = events;
    while left > 0 {
        let count = left.min(BATCH);
        // `tally`: subscribers count events instead of keeping every payload.
        let input =
            format!(r#"{{"topic":"probe.happened","payload":{{"tally":true}},"count":{count}}}"#);
        host.invoke("bench", "probe", "emit", &input, &principal)
            .expect("emit");
        left -= count;
    }
    let emitted = started.elapsed();

    let started = Instant::now();
    let mut delivered = 0u64;
    loop {
        let report = host.run_due().expect("run_due");
        delivered += u64::from(report.deliveries);
        if report.deliveries == 0 && report.fanned_out == 0 && report.jobs == 0 {
            break;
        }
    }
    let drained = started.elapsed();

    let views = host
        .event_views(&EventFilter {
            tenant: Some("bench".into()),
            topic: None,
            limit: events + 10,
        })
        .expect("events");
    let mut delays: Vec<i64> = views
        .iter()
        .flat_map(|v| {
            v.deliveries
                .iter()
                .filter(|d| d.state == "done")
                .filter_map(|d| d.done_ms.map(|done| done - v.created_at_ms))
                .collect::<Vec<_>>()
        })
        .collect();
    delays.sort_unstable();
    let expected = u64::from(events) * 3;
    assert_eq!(
        delays.len() as u64,
        expected,
        "not every delivery is done ({delivered} delivered by run_due)"
    );
    let at = |q: f64| delays[((delays.len() as f64 * q) as usize).min(delays.len() - 1)];
    println!(
        "fan-out: {events} events to 3 subscribers, emitted in {emitted:?} ({BATCH} per call)"
    );
    println!(
        "delivered {expected} in {drained:?}: {:.0} deliveries/s",
        expected as f64 / drained.as_secs_f64()
    );
    println!(
        "commit-to-delivery delay: p50 {} ms  p99 {} ms  max {} ms",
        at(0.50),
        at(0.99),
        at(1.0)
    );
}
