//! Tenants in time: how long one company's calls wait while another's long writing
//! calls run, and how many durable writing calls per second the host completes with
//! 1, 4 and 16 concurrent callers over 1 and 4 tenants (`synchronous=FULL`), and how
//! long a tenant's own writes wait while it runs batch work.
//!
//! Needs the test fixtures: `bash scripts/build-wasm.sh`. Run with
//! `cargo bench -p backoffice-host --bench tenants`; it prints figures, asserts none.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backoffice_host::auth::Principal;
use backoffice_host::store::Durability;
use backoffice_host::{Host, HostConfig};

fn probe_path() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("wasm/wasm32-wasip2/release/probe.wasm")
}

/// A host with the probe enabled for `tenants` companies named t0, t1, ...
fn host(tenants: usize) -> (tempfile::TempDir, Arc<Host>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = HostConfig::new(dir.path());
    config.durability = Durability::Full;
    let host = Host::open(config).expect("open host");
    let bytes = std::fs::read(probe_path())
        .expect("probe.wasm missing: run `bash scripts/build-wasm.sh` first");
    let mut plan = host.inspect(bytes).expect("inspect");
    plan.allow_unsigned = true;
    host.install(plan).expect("install");
    for t in 0..tenants {
        let id = format!("t{t}");
        host.create_tenant(&id, None, None).expect("tenant");
        host.enable("probe", &id).expect("enable");
    }
    (dir, Arc::new(host))
}

fn touch(host: &Host, tenant: &str, key: &str) {
    let input = format!(r#"{{"key":"{key}"}}"#);
    host.invoke(tenant, "probe", "touch", &input, &Principal::system())
        .expect("touch");
}

/// A thread making calls, with the stack they need so they run on it in place, as on
/// a server's threads (see `runtime::stack`).
fn caller<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
    let stack = backoffice_host::runtime::Limits::default().native_stack_bytes();
    backoffice_host::runtime::stack::spawn(stack, f).expect("start a caller thread")
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.50), at(0.99))
}

/// Tenant t1's touch calls (one read, one write each), timed one by one.
fn tenant_b_calls(host: &Host, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            touch(host, "t1", &format!("b{}", i % 16));
            t.elapsed()
        })
        .collect()
}

fn fairness() {
    let (_dir, host) = host(2);
    let principal = Principal::system();
    // Calibrate `busy` to about 0.8 s, under the 2 s deadline.
    let probe = 50_000_000u64;
    let t = Instant::now();
    host.invoke(
        "t0",
        "probe",
        "busy",
        &format!(r#"{{"iterations":{probe}}}"#),
        &principal,
    )
    .expect("busy");
    let per = t.elapsed().as_secs_f64() / probe as f64;
    let iterations = (0.8 / per) as u64;
    let alone = tenant_b_calls(&host, 500);
    let (p50, p99) = percentiles(alone);
    println!("fairness: tenant B alone: p50 {p50:?}  p99 {p99:?}");
    let stop = Arc::new(AtomicBool::new(false));
    let long = {
        let (host, stop) = (host.clone(), stop.clone());
        caller(move || {
            let mut calls = 0;
            let input = format!(r#"{{"iterations":{iterations}}}"#);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                host.invoke("t0", "probe", "busy", &input, &Principal::system())
                    .expect("busy");
                calls += 1;
                if calls == 1 {
                    println!("fairness: tenant A's writing call takes {:?}", t.elapsed());
                }
            }
            calls
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    // For about three of tenant A's calls (at least 500 of B's).
    let start = Instant::now();
    let mut contended = Vec::new();
    while contended.len() < 500 || start.elapsed() < Duration::from_secs(3) {
        contended.extend(tenant_b_calls(&host, 50));
    }
    stop.store(true, Ordering::Relaxed);
    let calls = long.join().expect("long calls");
    let n = contended.len();
    let (p50, p99) = percentiles(contended);
    println!(
        "fairness: tenant B ({n} calls) while tenant A runs writing calls back to back ({calls} of them): p50 {p50:?}  p99 {p99:?}"
    );
}

/// Tenant t0's touch calls while t0 itself runs batch work back to back: `batch`
/// (an operation declaring a 10 s deadline) reads a counter, waits 0.8 s, writes it.
fn batch_beside() {
    let (_dir, host) = host(1);
    let stop = Arc::new(AtomicBool::new(false));
    let batch = {
        let (host, stop) = (host.clone(), stop.clone());
        caller(move || {
            let mut calls = 0;
            while !stop.load(Ordering::Relaxed) {
                host.invoke(
                    "t0",
                    "probe",
                    "batch",
                    r#"{"key":"batch","ms":800}"#,
                    &Principal::system(),
                )
                .expect("batch");
                calls += 1;
            }
            calls
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < 500 || start.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        touch(&host, "t0", &format!("b{}", times.len() % 16));
        times.push(t.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let calls = batch.join().expect("batch calls");
    let n = times.len();
    let (p50, p99) = percentiles(times);
    println!(
        "batch work: the tenant's own writes ({n} calls) while it runs 0.8 s batch calls back to back ({calls} of them): p50 {p50:?}  p99 {p99:?}"
    );
}

/// CPU time this process has used so far (user and system, all threads), from
/// `/proc/self/stat` in clock ticks of 10 ms; `None` where there is no procfs.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn throughput(callers: usize, tenants: usize) {
    let (_dir, host) = host(tenants);
    let run_for = Duration::from_secs(3);
    let cpu_before = process_cpu();
    let start = Instant::now();
    let threads: Vec<_> = (0..callers)
        .map(|c| {
            let host = host.clone();
            caller(move || {
                let tenant = format!("t{}", c % tenants);
                let key = format!("k{c}");
                let mut times = Vec::new();
                while start.elapsed() < run_for {
                    let t = Instant::now();
                    touch(&host, &tenant, &key);
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let times: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("caller"))
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    let n = times.len();
    // CPU per call is steadier than calls/s on a machine shared with other work.
    let cpu = match (cpu_before, process_cpu()) {
        (Some(before), Some(after)) => format!(
            "  CPU {:.0} µs/call",
            (after - before).as_secs_f64() * 1e6 / n as f64
        ),
        _ => String::new(),
    };
    let (p50, p99) = percentiles(times);
    println!(
        "durable writes: {callers:>2} callers over {tenants} tenant(s): {:.0} calls/s  p50 {p50:?}  p99 {p99:?}{cpu}",
        n as f64 / elapsed
    );
}

// On a thread with the stack plugin calls need, so that calls run in place as on a
// server's threads (see `runtime::stack`).
fn main() {
    let stack = backoffice_host::runtime::Limits::default().native_stack_bytes();
    backoffice_host::runtime::stack::on_thread_with(stack, run)
        .expect("start the benchmark thread");
}

fn run() {
    // `cargo bench` passes `--bench`; other words pick sections:
    // `cargo bench -p backoffice-host --bench tenants -- batch`.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |section: &str| only.is_empty() || only.iter().any(|o| o == section);
    if run("fairness") {
        fairness();
    }
    if run("batch") {
        batch_beside();
    }
    if run("throughput") {
        for tenants in [1, 4] {
            for callers in [1, 4, 16] {
                throughput(callers, tenants);
            }
        }
    }
}
