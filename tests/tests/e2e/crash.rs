//! The real `backoffice serve` killed with SIGKILL while jobs and event deliveries are
//! running: after a restart every event reaches every subscriber and the job runs.
//!
//! Only completion is polled for (with a generous overall timeout); nothing here
//! asserts how long anything took, so a slow, loaded machine only makes it slower.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use backoffice_tests::{Cli, Server, wasm_path};
use serde_json::{Value, json};

/// Events emitted before the host starts.
const EVENTS: u64 = 30;
/// Iterations the listener spins per event and the probe per job run, so work is
/// in flight when the host is killed: about 0.3 s each here, well below the
/// 60 s long deadline of jobs and deliveries.
const SPIN: u64 = 200_000_000;

/// Short leases so the restarted host takes over the dead host's claims quickly,
/// frequent polling and short backoff; a long call deadline so spinning never times out.
const SERVE: &[&str] = &[
    "--lease-ms",
    "1500",
    "--poll-ms",
    "100",
    "--backoff-ms",
    "100",
    "--max-attempts",
    "10",
    "--call-timeout-ms",
    "30000",
];

fn path(name: &str) -> String {
    wasm_path(name).display().to_string()
}

fn events(cli: &Cli) -> Vec<Value> {
    let list = cli
        .run(&[
            "events", "list", "--tenant", "acme", "--limit", "1000", "--json",
        ])
        .json();
    list.as_array().unwrap().clone()
}

fn deliveries(cli: &Cli) -> Vec<Value> {
    events(cli)
        .iter()
        .flat_map(|e| e["deliveries"].as_array().unwrap().clone())
        .collect()
}

fn once_job(cli: &Cli) -> Value {
    let jobs = cli
        .run(&["jobs", "list", "--tenant", "acme", "--json"])
        .json();
    jobs.as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "once")
        .cloned()
        .unwrap_or_else(|| panic!("no one-off job in {jobs}"))
}

fn call(cli: &Cli, plugin: &str, op: &str, input: Value) -> Value {
    cli.call("acme", plugin, op, &input)
}

/// (state, attempts) of every delivery, read straight from the database: a reader
/// never waits for the busy host's write transactions, while a CLI command (which
/// opens the host, writing) can wait for all of them.
fn delivery_states(cli: &Cli) -> Vec<(String, u32)> {
    let db = rusqlite::Connection::open_with_flags(
        backoffice_host::store::tenant_file(cli.dir.path(), "acme"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt = db
        .prepare("SELECT state, attempts FROM deliveries ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Poll every 200 ms until `done` holds or `timeout` passes.
fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < timeout,
            "gave up after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `n` of every payload in a list of received payloads.
fn numbers(seen: &Value) -> BTreeSet<u64> {
    seen.as_array()
        .unwrap_or_else(|| panic!("not a list: {seen}"))
        .iter()
        .map(|p| p["n"].as_u64().unwrap())
        .collect()
}

#[test]
fn sigkill_mid_work_loses_no_job_and_no_delivery() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for plugin in ["probe", "listener"] {
        cli.run(&[
            "plugin",
            "install",
            &path(plugin),
            "--yes",
            "--allow-unsigned",
        ])
        .ok();
        cli.run(&["plugin", "enable", plugin, "--tenant", "acme"])
            .ok();
    }
    // Work queued before the host runs: 30 distinct events (two subscribers each,
    // the listener spinning per event) and a slow one-off job run.
    cli.queue_spinning_work(EVENTS, SPIN);
    assert_eq!(events(&cli).len() as u64, EVENTS);

    // Let the host start on the work, then kill it while a claimed delivery is open.
    let mut server = Server::start(&cli, SERVE);
    wait_for("the first deliveries", Duration::from_secs(60), || {
        let all = delivery_states(&cli);
        let done = all.iter().filter(|(state, _)| state == "done").count();
        let claimed = all
            .iter()
            .any(|(state, attempts)| state == "pending" && *attempts > 0);
        done >= 2 && claimed || (!all.is_empty() && done == all.len())
    });
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let before = delivery_states(&cli);
    assert!(
        before.iter().any(|(state, _)| state != "done"),
        "all work finished before the kill; nothing was in flight"
    );

    // A restarted host takes over the expired leases and finishes everything.
    let _server = Server::start(&cli, SERVE);
    let expected = (EVENTS * 2) as usize;
    wait_for(
        "every delivery and the job to finish",
        Duration::from_secs(120),
        || {
            let all = delivery_states(&cli);
            all.len() == expected
                && all.iter().all(|(state, _)| state == "done")
                && once_job(&cli)["state"] == "done"
        },
    );

    let retried = delivery_states(&cli)
        .iter()
        .filter(|(_, attempts)| *attempts > 1)
        .count();
    eprintln!("deliveries attempted more than once after the restart: {retried}");
    assert_eq!(deliveries(&cli).len(), expected);

    // Every event reached both subscribers (at least once; the killed attempt's
    // writes were rolled back with its transaction, so in fact once).
    let all: BTreeSet<u64> = (0..EVENTS).collect();
    let listener = call(
        &cli,
        "listener",
        "seen",
        json!({ "topic": "probe.happened" }),
    );
    assert_eq!(numbers(&listener["seen"]), all, "listener got {listener}");
    let probe = call(
        &cli,
        "probe",
        "get",
        json!({ "key": "seen:probe.happened" }),
    );
    assert_eq!(numbers(&probe["value"]), all, "probe got {probe}");

    // The job ran, and its history shows a successful attempt.
    let runs = call(&cli, "probe", "get", json!({ "key": "job:once" }));
    assert!(runs["value"].as_u64() >= Some(1), "job runs: {runs}");
    let history = cli.run(&["jobs", "history", "--json"]).json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["job"] == "once" && r["outcome"] == "ok"),
        "{history}"
    );
}
