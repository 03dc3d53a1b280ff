//! Waits inside host functions (a plugin's `std::thread::sleep`, `wasi:io/poll`) are
//! bounded by the call's deadline: the epoch cannot interrupt a guest blocked in the
//! host, and a blocked writing call holds its tenant's write lock.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::time::{Duration, Instant};

use backoffice_host::HostError;
use backoffice_host::runtime::Failure;
use backoffice_tests::{Cli, Server, TestHost, wasm_path};
use serde_json::json;

/// Far past any deadline: the call must not wait for it.
const TEN_MINUTES_MS: u64 = 600_000;

/// Hang detector, not a timing assertion: a bounded wait ends within the 300 ms or
/// 2 s deadline, an unbounded one after ten minutes.
const HANG: Duration = Duration::from_secs(20);

#[test]
fn a_sleep_past_the_deadline_fails_leaves_nothing_and_frees_the_tenant_at_once() {
    let t = TestHost::new().with_plugin("probe", "probe", &["acme"]);
    let (sleeper, writer) = std::thread::scope(|s| {
        let sleeper = s.spawn(|| {
            let started = Instant::now();
            let result = t.call("acme", "probe", "sleep", json!({"ms": TEN_MINUTES_MS}));
            (result, started.elapsed())
        });
        // A writer of the same tenant arriving while the sleeper runs gets the lock
        // once the sleeper fails, not ten minutes later.
        std::thread::sleep(Duration::from_millis(50));
        let writer = s.spawn(|| {
            let started = Instant::now();
            let result = t.call("acme", "probe", "put", json!({"key": "during", "value": 1}));
            (result, started.elapsed())
        });
        (sleeper.join().unwrap(), writer.join().unwrap())
    });

    let (result, took) = sleeper;
    assert!(took < HANG, "the sleeping call took {took:?}");
    match result {
        Err(e @ HostError::Call { .. }) => {
            let text = e.to_string();
            assert_eq!(e.code(), "deadline-exceeded", "{text}");
            assert!(
                text.contains("plugin probe 0.1.0, operation 'sleep'"),
                "{text}"
            );
            let HostError::Call { failure, .. } = e else {
                unreachable!()
            };
            assert!(matches!(failure, Failure::Deadline(_)), "{failure:?}");
        }
        other => panic!("expected the deadline failure, got {other:?}"),
    }
    let (result, took) = writer;
    assert_eq!(result.unwrap(), json!({}));
    assert!(took < HANG, "the concurrent writer waited {took:?}");

    // The key written before the sleep was rolled back.
    let slept = t.call("acme", "probe", "get", json!({"key": "slept"}));
    assert_eq!(slept.unwrap(), json!({"value": null}));
    // The next writing call of the tenant runs at once.
    let started = Instant::now();
    let after = t.call("acme", "probe", "put", json!({"key": "after", "value": 2}));
    assert_eq!(after.unwrap(), json!({}));
    assert!(started.elapsed() < HANG, "took {:?}", started.elapsed());
}

#[test]
fn a_short_sleep_waits_and_the_plugin_sees_exactly_that_time_pass() {
    let t = TestHost::new().with_plugin("probe", "probe", &["acme"]);
    let started = Instant::now();
    let out = t.call("acme", "probe", "sleep", json!({"ms": 10})).unwrap();
    // The wait is real; the plugin's monotonic clock moved by what it asked for.
    assert!(started.elapsed() >= Duration::from_millis(10));
    assert_eq!(out, json!({"slept-ms": 10}));
    let slept = t.call("acme", "probe", "get", json!({"key": "slept"}));
    assert_eq!(slept.unwrap(), json!({"value": 10}));
}

#[test]
fn over_http_a_sleeping_call_times_out_and_the_next_calls_are_served() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&[
        "plugin",
        "install",
        &wasm_path("probe").display().to_string(),
        "--yes",
        "--allow-unsigned",
    ])
    .ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    cli.run(&["user", "create", "erp", "--tenant", "acme"]).ok();
    cli.run(&["user", "assign-role", "erp", "admin", "--tenant", "acme"])
        .ok();
    let token = cli
        .run(&[
            "token", "create", "--user", "erp", "--tenant", "acme", "--name", "erp",
        ])
        .ok()
        .trim()
        .to_string();
    // The default 2 s deadline, as in production.
    let server = Server::start(&cli, &[]);
    let call = |op: &str, body: &str| {
        server.request(
            "POST",
            &format!("/v1/tenants/acme/plugins/probe/{op}"),
            Some(&token),
            body,
        )
    };

    let (slept, during) = std::thread::scope(|s| {
        let sleeper = s.spawn(|| {
            let started = Instant::now();
            let r = call("sleep", &json!({"ms": TEN_MINUTES_MS}).to_string());
            (r, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        let writer = s.spawn(|| {
            let started = Instant::now();
            let r = call("put", r#"{"key":"during","value":1}"#);
            (r, started.elapsed())
        });
        (sleeper.join().unwrap(), writer.join().unwrap())
    });
    let (r, took) = slept;
    r.problem(504, "deadline-exceeded");
    assert!(took < HANG, "the sleeping request took {took:?}");
    let (r, took) = during;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(took < HANG, "the concurrent write took {took:?}");

    let r = call("get", r#"{"key":"slept"}"#);
    assert_eq!(r.json(), json!({"value": null}));
    let r = call("put", r#"{"key":"after","value":2}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call("sleep", r#"{"ms":10}"#);
    assert_eq!(r.json(), json!({"slept-ms": 10}));
}

#[test]
fn a_tenant_writes_while_another_tenants_writing_call_is_still_running() {
    let t = TestHost::with_limits(backoffice_host::runtime::Limits {
        call_deadline: Duration::from_secs(10),
        ..backoffice_host::runtime::Limits::default()
    })
    .with_plugin("probe", "probe", &["acme", "globex"]);
    let acme_done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        // acme's call writes, then waits 3 s inside the call (under its 10 s deadline),
        // holding acme's writer all that time.
        let slow = s.spawn(|| {
            let result = t.call("acme", "probe", "sleep", json!({"ms": 3000}));
            acme_done.store(true, std::sync::atomic::Ordering::SeqCst);
            result
        });
        std::thread::sleep(Duration::from_millis(200));
        // globex's writes go through meanwhile: they are done before acme's call is
        // (a few writes against seconds of margin, even on a loaded machine).
        for i in 0..3 {
            t.call(
                "globex",
                "probe",
                "put",
                json!({"key": format!("k{i}"), "value": i}),
            )
            .unwrap();
        }
        assert!(
            !acme_done.load(std::sync::atomic::Ordering::SeqCst),
            "globex's writes waited for acme's call"
        );
        let out = slow.join().unwrap().unwrap();
        assert_eq!(out["slept-ms"], 3000, "{out}");
    });
    assert_eq!(
        t.call("globex", "probe", "get", json!({"key": "k2"}))
            .unwrap()["value"],
        2
    );
}
