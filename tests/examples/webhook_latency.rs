//! Commit-to-delivery latency of webhooks (issue 20, "Measured"): a tenant with three
//! webhook endpoints on loopback, the `probe` fixture emitting `probe.other` events at
//! a steady rate for a while, and three receivers that note when each delivery
//! arrives. Prints the latency from the commit of the emitting call to each arrival
//! (p50, p90, p99, max) and the deliveries per second.
//!
//! Run with `cargo run -p backoffice-tests --example webhook_latency` (the dev
//! profile; the components from `bash scripts/build-wasm.sh`). The host runs in this
//! process with its background worker (`Host::work_loop`) as `serve` runs it, on the
//! SQLite storage with `Durability::Normal` as the tests use; loopback destinations
//! are allowed as with `BACKOFFICE_WEBHOOK_ALLOW_PRIVATE=1`.
//!
//! `LATENCY_RATE` events per second (default 1,000), `LATENCY_SECS` seconds of
//! emitting (default 10), `LATENCY_BATCH` events per committing call (default 10: a
//! call every 10 ms at the default rate). Each event's payload carries the number of
//! its call and its index in the call; the emitter notes the instant each call
//! returned, just after its commit, and a delivery's latency is its arrival at a
//! receiver minus that instant (an arrival noted before the return counts as 0).
//! Prints figures; asserts nothing.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a measuring program: fail loudly, print figures"
)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backoffice_tests::TestHost;
use serde_json::{Value, json};

/// A delivery as a receiver saw it: (receiver, call, index in the call, arrival).
type Arrival = (usize, u64, u64, Instant);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An HTTP/1.1 receiver on a loopback port: answers every request 204 at once
/// (keeping the connection open when the sender does) and notes its arrival.
fn receiver(which: usize, arrivals: Arc<Mutex<Vec<Arrival>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let arrivals = arrivals.clone();
            std::thread::spawn(move || serve(which, stream, &arrivals));
        }
    });
    url
}

fn serve(which: usize, stream: std::net::TcpStream, arrivals: &Mutex<Vec<Arrival>>) {
    let _ = stream.set_nodelay(true);
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut close) = (0usize, false);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((n, v)) = h.trim_end().split_once(':') {
                let (n, v) = (n.trim().to_ascii_lowercase(), v.trim());
                if n == "content-length" {
                    length = v.parse().unwrap_or(0);
                } else if n == "connection" && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let at = Instant::now();
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            let data = &v["data"];
            if let (Some(call), Some(n)) = (data["call"].as_u64(), data["n"].as_u64()) {
                arrivals.lock().unwrap().push((which, call, n, at));
            }
        }
        let head = if close {
            "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
        } else {
            "HTTP/1.1 204 No Content\r\n\r\n"
        };
        if out.write_all(head.as_bytes()).is_err() || close {
            return;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let rate = env("LATENCY_RATE", 1000).max(1);
    let secs = env("LATENCY_SECS", 10).max(1);
    let batch = env("LATENCY_BATCH", 10).max(1);
    let calls = (rate * secs).div_ceil(batch);
    let interval = Duration::from_secs_f64(batch as f64 / rate as f64);

    let t = TestHost::with_config(|c| {
        c.limits.call_deadline = Duration::from_secs(5);
        c.webhooks.allow_private = true;
        c.work.poll = Duration::from_millis(100);
    })
    .with_plugin("probe", "probe", &["bench"]);
    let host = &t.host;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let endpoints = 3;
    for which in 0..endpoints {
        let url = receiver(which, arrivals.clone());
        host.webhook_add("bench", &url, &["probe.other".to_string()])
            .unwrap();
    }

    let stop = AtomicBool::new(false);
    let committed: Mutex<Vec<Option<Instant>>> = Mutex::new(vec![None; calls as usize]);
    let expected = calls * batch * endpoints as u64;
    let (emit_took, failed, drained) = std::thread::scope(|s| {
        s.spawn(|| host.work_loop(&stop));
        let start = Instant::now();
        let mut failed = 0u64;
        for call in 0..calls {
            let due = start + interval.mul_f64(call as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let input = json!({
                "topic": "probe.other",
                "payload": { "call": call },
                "count": batch,
                "number": true,
            });
            match t.call("bench", "probe", "emit", input) {
                Ok(_) => committed.lock().unwrap()[call as usize] = Some(Instant::now()),
                Err(e) => {
                    failed += 1;
                    eprintln!("call {call} failed: {e}");
                }
            }
        }
        let emit_took = start.elapsed();
        // Wait for every delivery (or give up after two minutes without progress).
        let mut last = (0, Instant::now());
        loop {
            let n = arrivals.lock().unwrap().len();
            if n as u64 >= expected - failed * batch * endpoints as u64 {
                break;
            }
            if n != last.0 {
                last = (n, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(120) {
                eprintln!("gave up waiting: {n} of {expected} deliveries arrived");
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let drained = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        host.wake_worker();
        (emit_took, failed, drained)
    });

    let committed = committed.into_inner().unwrap();
    let arrivals = arrivals.lock().unwrap().clone();
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    let mut early = 0;
    let mut latencies = Vec::with_capacity(arrivals.len());
    for (which, call, n, at) in &arrivals {
        if !seen.insert((*which, *call, *n)) {
            duplicates += 1;
            continue;
        }
        let Some(Some(commit)) = committed.get(*call as usize) else {
            continue;
        };
        match at.checked_duration_since(*commit) {
            Some(d) => latencies.push(d),
            None => {
                early += 1;
                latencies.push(Duration::ZERO);
            }
        }
    }
    latencies.sort();
    let first_commit = committed.iter().flatten().min().copied();
    let last_arrival = arrivals.iter().map(|a| a.3).max();
    let span = match (first_commit, last_arrival) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    let events = (calls - failed) * batch;
    println!("webhook commit-to-delivery latency (dev profile, SQLite, in-process host)");
    println!(
        "  load: {events} events in {calls} calls of {batch} over {:.2} s ({:.0} events/s offered, target {rate}/s), {failed} calls failed",
        emit_took.as_secs_f64(),
        events as f64 / emit_took.as_secs_f64()
    );
    println!(
        "  endpoints: {endpoints} on loopback; deliveries expected {}, arrived {} (+{duplicates} repeated), all done {:.2} s after the first emit",
        events * endpoints as u64,
        seen.len(),
        drained.as_secs_f64()
    );
    println!(
        "  latency: p50 {}, p90 {}, p99 {}, max {} ({early} arrived before the call returned, counted 0)",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "  throughput: {:.0} deliveries/s (first commit to last arrival, {:.2} s)",
        seen.len() as f64 / span.as_secs_f64().max(1e-9),
        span.as_secs_f64()
    );
}
