//! Reads answered on the thread that received the request (`runtime::inline`): a
//! read that prints, waits, runs long or fails is handed to the blocking pool and
//! answers there exactly as before, with one audit link and one log line per call.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::time::{Duration, Instant};

use backoffice_tests::{Cli, Server};
use serde_json::{Value, json};

/// The value of the sample `name{labels}` in an OpenMetrics text (0 when absent).
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    let head = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&head))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// A data directory with tenant acme, the probe enabled, and tokens of an acme
/// administrator and of a system administrator (for /metrics).
fn setup() -> (Cli, String, String) {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    cli.run(&["user", "create", "erp", "--tenant", "acme"]).ok();
    cli.run(&["user", "assign-role", "erp", "admin", "--tenant", "acme"])
        .ok();
    cli.run(&["user", "create", "root", "--system-admin"]).ok();
    let token = |args: &[&str]| {
        let mut all = vec!["token", "create", "--name", "in-place"];
        all.extend_from_slice(args);
        cli.run(&all).ok().trim().to_string()
    };
    let erp = token(&["--user", "erp", "--tenant", "acme"]);
    let root = token(&["--user", "root", "--system-admin"]);
    (cli, erp, root)
}

/// `(target, outcome)` of acme's invocation links, oldest first, once `count` are
/// written (read links are written by the audit writer a few milliseconds later).
fn invocations(cli: &Cli, count: usize) -> Vec<(String, String)> {
    let started = Instant::now();
    loop {
        let links = cli
            .run(&["audit", "list", "--tenant", "acme", "--json"])
            .json();
        let found: Vec<(String, String)> = links
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["action"] == "invoke")
            .map(|l| {
                (
                    l["target"].as_str().unwrap().to_string(),
                    l["outcome"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        if found.len() >= count || started.elapsed() > Duration::from_secs(20) {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `POST /v1/tenants/acme/plugins/probe/{op}` with `erp`'s token.
fn call(server: &Server, token: &str, op: &str, body: Value) -> backoffice_tests::Response {
    server.request(
        "POST",
        &format!("/v1/tenants/acme/plugins/probe/{op}"),
        Some(token),
        &body.to_string(),
    )
}

/// `answered` and `handed-on` of `backoffice_calls_in_place_total`.
fn in_place_counts(server: &Server, root: &str) -> (f64, f64) {
    let metrics = server.request("GET", "/metrics", Some(root), "");
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let count = |outcome: &str| {
        sample(
            &metrics.body,
            "backoffice_calls_in_place_total",
            &format!(r#"outcome="{outcome}""#),
        )
    };
    (count("answered"), count("handed-on"))
}

fn links(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(t, o)| (t.to_string(), o.to_string()))
        .collect()
}

#[test]
fn reads_that_print_wait_or_fail_answer_as_on_the_pool_and_are_recorded_once() {
    let (cli, erp, root) = setup();
    let server = Server::start(&cli, &[]);
    let call = |op: &str, body: Value| call(&server, &erp, op, body);
    let r = call("put", json!({"key": "k", "value": 41}));
    assert_eq!(r.status, 200, "{r:?}");

    // A plain read, and one that prints: both answer in place.
    assert_eq!(
        call("get", json!({"key": "k"})).json(),
        json!({"value": 41})
    );
    let r = call("look", json!({"key": "k", "print": "printed-in-place"}));
    assert_eq!(r.json(), json!({"value": 41}));
    // A read that prints, then sleeps 30 ms: its wait is not ready at once, so it is
    // handed to the pool, and answers there.
    let r = call(
        "look",
        json!({"key": "k", "sleep-ms": 30, "print": "slept"}),
    );
    assert_eq!(r.json(), json!({"value": 41}));
    assert_eq!(
        call("get", json!({"key": "k"})).json(),
        json!({"value": 41})
    );
    // A read whose write is refused, and a write: answered on the pool.
    call("put-read-only", json!({"key": "k", "value": 2})).problem(403, "forbidden");
    let r = call("put", json!({"key": "k", "value": 42}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        call("get", json!({"key": "k"})).json(),
        json!({"value": 42})
    );
    // A bad token, and a token of acme used for another tenant.
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/probe/get",
        Some(
            "bo_0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000",
        ),
        r#"{"key":"k"}"#,
    );
    r.problem(401, "unauthenticated");
    cli.run(&["tenant", "create", "globex"]).ok();
    let r = server.request(
        "POST",
        "/v1/tenants/globex/plugins/probe/get",
        Some(&erp),
        r#"{"key":"k"}"#,
    );
    r.problem(403, "forbidden");

    // One link per call, in the order the calls were answered.
    let expected = links(&[
        ("probe.put", "ok"),
        ("probe.get", "ok"),
        ("probe.look", "ok"),
        ("probe.look", "ok"),
        ("probe.get", "ok"),
        ("probe.put-read-only", "forbidden"),
        ("probe.put", "ok"),
        ("probe.get", "ok"),
    ]);
    assert_eq!(invocations(&cli, expected.len()), expected);
    let verify = cli.run(&["audit", "verify", "--tenant", "acme"]);
    assert_eq!(verify.code, 0, "{verify:?}");

    // Each printed line is logged once: by the run whose answer counted.
    let log = server.log();
    for line in ["printed-in-place", "slept"] {
        assert_eq!(log.matches(line).count(), 1, "{line} in the log:\n{log}");
    }
    // In place: the three gets and the look that only printed. Handed on: the
    // writes, the sleep, the refused write and the two refused requests.
    assert_eq!(in_place_counts(&server, &root), (4.0, 6.0));
}

#[test]
fn reads_past_the_budget_answer_from_the_pool_and_their_operation_cools_off() {
    let (cli, erp, root) = setup();
    let server = Server::start(&cli, &[]);
    let call = |op: &str, body: Value| call(&server, &erp, op, body);
    let r = call("put", json!({"key": "k", "value": 7}));
    assert_eq!(r.status, 200, "{r:?}");
    // Tens of milliseconds of work: past the 10 ms budget, well within the deadline.
    // Three in a row, each tried in place first.
    for _ in 0..3 {
        let r = call("look", json!({"key": "k", "iterations": 50_000_000u64}));
        assert_eq!(r.json(), json!({"value": 7}));
    }
    // `look` now runs on the pool for a while, even when quick; `get` still in place.
    let r = call("look", json!({"key": "k"}));
    assert_eq!(r.json(), json!({"value": 7}));
    assert_eq!(call("get", json!({"key": "k"})).json(), json!({"value": 7}));
    assert_eq!(in_place_counts(&server, &root), (1.0, 5.0));
    let expected = links(&[
        ("probe.put", "ok"),
        ("probe.look", "ok"),
        ("probe.look", "ok"),
        ("probe.look", "ok"),
        ("probe.look", "ok"),
        ("probe.get", "ok"),
    ]);
    assert_eq!(invocations(&cli, expected.len()), expected);
}

#[test]
fn with_reads_in_place_off_every_call_runs_on_the_pool() {
    let (cli, erp, root) = setup();
    let server = Server::start(&cli, &["--reads-in-place", "off"]);
    let r = call(&server, &erp, "put", json!({"key": "k", "value": 1}));
    assert_eq!(r.status, 200, "{r:?}");
    for _ in 0..3 {
        let r = call(
            &server,
            &erp,
            "look",
            json!({"key": "k", "print": "pool-only"}),
        );
        assert_eq!(r.json(), json!({"value": 1}));
    }
    assert_eq!(in_place_counts(&server, &root), (0.0, 0.0));
    assert_eq!(server.log().matches("pool-only").count(), 3);
    // An unknown value is refused at start, naming the choices.
    let bad = cli.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--reads-in-place",
        "maybe",
    ]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("[possible values: on, off]"), "{bad:?}");
}
