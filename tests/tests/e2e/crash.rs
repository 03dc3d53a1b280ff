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
/// 60 s `--background-timeout-ms` of jobs and deliveries.
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

/// Tenants whose writers run side by side when the host is killed.
const TENANTS: [&str; 3] = ["acme", "globex", "initech"];

/// Keys of the probe's rows in a tenant's file, and the number of successful
/// `probe.put` calls its audit chain records, read straight from the file.
fn committed_puts(cli: &Cli, tenant: &str) -> (BTreeSet<String>, usize) {
    let db = rusqlite::Connection::open_with_flags(
        backoffice_host::store::tenant_file(cli.dir.path(), tenant),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db
        .prepare("SELECT key FROM kv WHERE plugin = 'probe' AND key LIKE 'w/%'")
        .unwrap();
    let keys = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let links: i64 = db
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'invoke' AND target = 'probe.put' AND outcome = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (keys, links as usize)
}

#[test]
fn sigkill_during_writes_to_several_tenants_keeps_every_acknowledged_call_whole() {
    let cli = Cli::new();
    cli.run(&[
        "plugin",
        "install",
        &path("probe"),
        "--yes",
        "--allow-unsigned",
    ])
    .ok();
    let mut tokens = Vec::new();
    for tenant in TENANTS {
        cli.run(&["tenant", "create", tenant]).ok();
        cli.run(&["plugin", "enable", "probe", "--tenant", tenant])
            .ok();
        cli.run(&["user", "create", "erp", "--tenant", tenant]).ok();
        cli.run(&["user", "assign-role", "erp", "admin", "--tenant", tenant])
            .ok();
        let token = cli
            .run(&[
                "token", "create", "--user", "erp", "--tenant", tenant, "--name", "load",
            ])
            .ok();
        tokens.push((tenant, token.trim().to_string()));
    }
    let server = Server::start(&cli, &[]);
    let addr = server.addr.clone();

    // Three writers per tenant, each recording the calls the host acknowledged.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = tokens
        .iter()
        .flat_map(|(tenant, token)| (0..3).map(move |w| (tenant.to_string(), token.clone(), w)))
        .map(|(tenant, token, w)| {
            let (addr, stop) = (addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acknowledged = BTreeSet::new();
                let path = format!("/v1/tenants/{tenant}/plugins/probe/put");
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("w/{w}/{i}");
                    match backoffice_tests::try_post(
                        &addr,
                        &path,
                        &token,
                        &json!({ "key": key, "value": i }),
                    ) {
                        Some((200, _)) => {
                            acknowledged.insert(key);
                        }
                        Some((status, body)) => panic!("{tenant}: {status} {body}"),
                        // The host is gone.
                        None => break,
                    }
                }
                (tenant, acknowledged)
            })
        })
        .collect();
    wait_for("writes in every tenant", Duration::from_secs(60), || {
        TENANTS
            .iter()
            .all(|t| committed_puts(&cli, t).0.len() >= 20)
    });
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for w in writers {
        let (tenant, keys) = w.join().unwrap();
        acknowledged.entry(tenant).or_default().extend(keys);
    }

    for tenant in TENANTS {
        let (keys, links) = committed_puts(&cli, tenant);
        let acked = &acknowledged[tenant];
        let lost: Vec<_> = acked.difference(&keys).collect();
        assert!(lost.is_empty(), "{tenant}: acknowledged but lost: {lost:?}");
        // A call is whole: its row and its audit link committed together. Calls cut
        // off by the kill are either wholly there (committed, not yet answered) or
        // wholly gone.
        assert_eq!(keys.len(), links, "{tenant}: rows and audit links differ");
        assert!(
            keys.len() - acked.len() <= 3,
            "{tenant}: more unacknowledged calls kept than were in flight"
        );
        eprintln!(
            "{tenant}: {} calls acknowledged, {} kept",
            acked.len(),
            keys.len()
        );
    }
    // Every chain verifies after the restart, and the data is served.
    let report = cli.run(&["audit", "verify", "--json"]);
    assert_eq!(report.code, 0, "{report:?}");
    let got = cli.call("globex", "probe", "get", &json!({ "key": "w/0/0" }));
    assert_eq!(got["value"], 0, "{got}");
}
