//! Several stateless hosts on one PostgreSQL database: an install on one host is used
//! through another, a load split between two hosts loses no update and keeps one
//! audit chain, and a host killed with SIGKILL mid-load leaves its leased jobs and
//! deliveries to the other, which finishes them, each once, in emit order.
//!
//! Only completion is polled for (with generous timeouts); nothing here asserts how
//! long anything took.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use backoffice_tests::{Cli, PgServer, Server, try_post, wasm_path};
use serde_json::{Value, json};

/// Short leases so a surviving host takes over a dead host's claims quickly.
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

fn install(cli: &Cli, plugin: &str) {
    cli.run(&[
        "plugin",
        "install",
        &wasm_path(plugin).display().to_string(),
        "--yes",
        "--allow-unsigned",
    ])
    .ok();
    cli.run(&["plugin", "enable", plugin, "--tenant", "acme"])
        .ok();
}

fn admin_token(cli: &Cli) -> String {
    cli.run(&["user", "create", "erp", "--tenant", "acme"]).ok();
    cli.run(&["user", "assign-role", "erp", "admin", "--tenant", "acme"])
        .ok();
    cli.run(&[
        "token", "create", "--user", "erp", "--tenant", "acme", "--name", "load",
    ])
    .ok()
    .trim()
    .to_string()
}

fn call(cli: &Cli, plugin: &str, op: &str, input: Value) -> Value {
    cli.call("acme", plugin, op, &input)
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

fn db(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

#[test]
fn an_install_on_one_host_is_used_through_another_and_split_load_loses_nothing() {
    let pg = PgServer::start();
    let url = pg.database();
    let a = Cli::postgres(&url);
    let b = Cli::postgres(&url);
    a.run(&["tenant", "create", "acme"]).ok();
    let token = admin_token(&a);
    // B is running before anything is installed: it learns of the install from the
    // database, loads the component bytes from there and compiles them itself.
    let server_b = Server::start(&b, SERVE);
    install(&a, "contacts");
    install(&a, "probe");
    let server_a = Server::start(&a, SERVE);

    let (status, created) = try_post(
        &server_b.addr,
        "/v1/tenants/acme/plugins/contacts/create",
        &token,
        &json!({ "name": "Ada Lovelace", "kind": "customer" }),
    )
    .unwrap();
    assert_eq!(status, 200, "{created}");

    // Four clients, each alternating between the hosts, increment one counter and
    // create contacts: every acknowledged call must be there afterwards.
    const PER_CLIENT: u64 = 30;
    let addrs = [server_a.addr.clone(), server_b.addr.clone()];
    let acked: Vec<(u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|client| {
                let (addrs, token) = (&addrs, &token);
                s.spawn(move || {
                    let mut touched = 0;
                    let mut created = 0;
                    for i in 0..PER_CLIENT {
                        let addr = &addrs[((client + i) % 2) as usize];
                        let (status, out) = try_post(
                            addr,
                            "/v1/tenants/acme/plugins/probe/touch",
                            token,
                            &json!({ "key": "hits" }),
                        )
                        .unwrap();
                        assert_eq!(status, 200, "touch through {addr}: {out}");
                        touched += 1;
                        let (status, out) = try_post(
                            addr,
                            "/v1/tenants/acme/plugins/contacts/create",
                            token,
                            &json!({ "name": format!("c{client}-{i}"), "kind": "supplier" }),
                        )
                        .unwrap();
                        assert_eq!(status, 200, "create through {addr}: {out}");
                        created += 1;
                    }
                    (touched, created)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let touched: u64 = acked.iter().map(|(t, _)| t).sum();
    let created: u64 = acked.iter().map(|(_, c)| c).sum();
    let hits = call(&a, "probe", "get", json!({ "key": "hits" }));
    assert_eq!(
        hits["value"].as_u64(),
        Some(touched),
        "no increment lost: {hits}"
    );
    let list = call(&b, "contacts", "list", json!({ "limit": 500 }));
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(created as usize + 1),
        "every acknowledged contact is there"
    );

    // One audit chain for the tenant, intact, with a link per call.
    let audit = a.run(&["audit", "verify", "--json"]).json();
    assert_eq!(audit["ok"], true, "{audit}");
    let acme = audit["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant"] == "acme")
        .unwrap()
        .clone();
    assert!(
        acme["links"].as_u64().unwrap() > touched + created,
        "{acme}"
    );
    let mut client = db(&url);
    let invokes: i64 = client
        .query_one(
            "SELECT count(*) FROM audit WHERE tenant = 'acme' AND action = 'invoke'",
            &[],
        )
        .unwrap()
        .get(0);
    // The two `call`s above and the first create are invocations too.
    assert_eq!(invokes as u64, touched + created + 3);
}

#[test]
fn sigkill_of_one_host_mid_load_leaves_its_work_to_the_other() {
    const EVENTS: u64 = 24;
    const SPIN: u64 = 200_000_000;
    let pg = PgServer::start();
    let url = pg.database();
    let a = Cli::postgres(&url);
    let b = Cli::postgres(&url);
    a.run(&["tenant", "create", "acme"]).ok();
    let token = admin_token(&a);
    install(&a, "probe");
    install(&a, "listener");
    // Queued before the hosts start: events the listener spins on, and a slow job.
    a.queue_spinning_work(EVENTS, SPIN);

    let mut servers = [Server::start(&a, SERVE), Server::start(&b, SERVE)];
    let pids = servers.each_ref().map(|s| s.child.id().to_string());
    let mut client = db(&url);

    // A write load through both hosts while one of them dies.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let addrs = servers.each_ref().map(|s| s.addr.clone());
    let (acked, killed) = std::thread::scope(|s| {
        let load = s.spawn(|| {
            let mut acked = 0u64;
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 2000 {
                let addr = &addrs[i % 2];
                i += 1;
                if let Some((200, _)) = try_post(
                    addr,
                    "/v1/tenants/acme/plugins/probe/touch",
                    &token,
                    &json!({ "key": "hits" }),
                ) {
                    acked += 1;
                }
            }
            acked
        });
        // Kill a host while it holds a lease on a delivery or the job. Which host
        // leases first is a race between two pollers, so the victim is whichever
        // one is seen holding a lease.
        let mut victim = None;
        wait_for("a host to lease work", Duration::from_secs(120), || {
            let owners = client
                .query(
                    "SELECT lease_owner FROM deliveries
                      WHERE state = 'pending' AND lease_owner IS NOT NULL
                     UNION ALL
                     SELECT lease_owner FROM jobs
                      WHERE state = 'scheduled' AND lease_owner IS NOT NULL",
                    &[],
                )
                .unwrap();
            victim = owners.iter().find_map(|row| {
                let owner: String = row.get(0);
                let pid = owner.split('-').next()?;
                pids.iter().position(|p| p == pid)
            });
            victim.is_some()
        });
        let victim = victim.unwrap();
        servers[victim].child.kill().unwrap();
        servers[victim].child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (load.join().unwrap(), victim)
    });
    eprintln!("killed host {}", ["A", "B"][killed]);
    // Calls below run through the CLI on the shared database, as the surviving host
    // sees it.
    let survivor = [&b, &a][killed];

    // The survivor takes over the expired leases and finishes everything.
    wait_for(
        "every delivery and the job to finish on the surviving host",
        Duration::from_secs(240),
        || {
            let row = client
                .query_one(
                    "SELECT (SELECT count(*) FROM deliveries WHERE state = 'done'),
                            (SELECT count(*) FROM jobs WHERE job = 'once' AND state = 'done')",
                    &[],
                )
                .unwrap();
            row.get::<_, i64>(0) as u64 == EVENTS * 2 && row.get::<_, i64>(1) == 1
        },
    );
    let taken_over: i64 = client
        .query_one("SELECT count(*) FROM deliveries WHERE attempts > 1", &[])
        .unwrap()
        .get(0);
    let abandoned: i64 = client
        .query_one(
            "SELECT count(*) FROM job_runs WHERE outcome = 'abandoned'",
            &[],
        )
        .unwrap()
        .get(0);
    eprintln!(
        "deliveries attempted again after the kill: {taken_over}; abandoned job runs: {abandoned}"
    );

    // Each event reached the listener once (the killed attempt rolled back), and in
    // emit order although two hosts delivered them.
    let seen = call(
        survivor,
        "listener",
        "seen",
        json!({ "topic": "probe.happened" }),
    );
    let numbers: Vec<u64> = seen["seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["n"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (0..EVENTS).collect::<Vec<_>>(), "{seen}");
    let probe = call(
        survivor,
        "probe",
        "get",
        json!({ "key": "seen:probe.happened" }),
    );
    let probe_seen: BTreeSet<u64> = probe["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["n"].as_u64().unwrap())
        .collect();
    assert_eq!(probe_seen.len() as u64, EVENTS, "{probe}");
    // The job's effect committed once: one successful run, counted once.
    let runs = call(survivor, "probe", "get", json!({ "key": "job:once" }));
    assert_eq!(runs["value"].as_u64(), Some(1), "job ran once: {runs}");
    let ok_runs: i64 = client
        .query_one("SELECT count(*) FROM job_runs WHERE outcome = 'ok'", &[])
        .unwrap()
        .get(0);
    assert_eq!(ok_runs, 1);

    // No acknowledged call was lost; calls cut by the kill may or may not have committed.
    let hits = call(survivor, "probe", "get", json!({ "key": "hits" }));
    let hits = hits["value"].as_u64().unwrap_or(0);
    assert!(acked > 0, "the load made no call");
    assert!(
        hits >= acked,
        "{hits} increments stored, {acked} acknowledged"
    );
    let audit = survivor.run(&["audit", "verify", "--json"]).json();
    assert_eq!(audit["ok"], true, "{audit}");
}

/// The `versioned` fixture with a manifest of `version` (see `lifecycle.rs`).
fn versioned(dir: &std::path::Path, version: &str) -> String {
    let manifest = format!(
        r#"
id = "versioned"
name = "Versioned"
vendor = "acme"
version = "{version}"
host-api = "^0.1"
capabilities = ["storage"]

[[operations]]
name = "put"
permission = "versioned.write"

[[operations]]
name = "get"
permission = "versioned.read"
read-only = true
"#
    );
    let bytes = backoffice_tests::with_custom_section(
        backoffice_tests::wasm("versioned"),
        "backoffice:manifest",
        manifest.as_bytes(),
    );
    let path = dir.join(format!("versioned-{version}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[test]
fn an_upgrade_on_one_host_breaks_no_call_on_the_other() {
    let pg = PgServer::start();
    let url = pg.database();
    let a = Cli::postgres(&url);
    let b = Cli::postgres(&url);
    a.run(&["tenant", "create", "acme"]).ok();
    let token = admin_token(&a);
    let v010 = versioned(a.dir.path(), "0.1.0");
    a.run(&["plugin", "install", &v010, "--yes", "--allow-unsigned"])
        .ok();
    a.run(&["plugin", "enable", "versioned", "--tenant", "acme"])
        .ok();
    // Calls back to back for as long as the upgrade takes: past the per-token rate
    // limit (100 a second after a burst of 200), which this test is not about.
    let server_b = Server::start(&b, &[SERVE, &["--rate-limit", "0"]].concat());

    // Writes through host B while host A's CLI upgrades the plugin: every call is
    // answered 200, by one version or the other, and calls after the upgrade get the
    // new version without B being told.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let answered = std::thread::scope(|s| {
        let load = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 5000 {
                let (status, out) = try_post(
                    &server_b.addr,
                    "/v1/tenants/acme/plugins/versioned/put",
                    &token,
                    &json!({ "key": format!("k{n}"), "value": "v" }),
                )
                .unwrap();
                assert_eq!(status, 200, "call {n} during the upgrade: {out}");
                n += 1;
            }
            n
        });
        std::thread::sleep(Duration::from_millis(500));
        let v011 = versioned(a.dir.path(), "0.1.1");
        let out = a
            .run(&["plugin", "upgrade", &v011, "--yes", "--allow-unsigned"])
            .ok();
        assert!(out.contains("upgraded 'versioned' to 0.1.1"), "{out}");
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        load.join().unwrap()
    });
    assert!(answered > 0);

    let mut client = db(&url);
    let versions: Vec<String> = client
        .query(
            "SELECT detail FROM audit WHERE tenant = 'acme' AND action = 'invoke'
             AND target = 'versioned.put' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            let detail: Value = serde_json::from_str(&r.get::<_, String>(0)).unwrap();
            detail["version"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(versions.len() as u64, answered);
    let switch = versions.iter().position(|v| v == "0.1.1");
    let switch = switch.unwrap_or_else(|| panic!("no call reached 0.1.1: {versions:?}"));
    assert!(switch > 0, "the load started before the upgrade");
    assert!(
        versions[switch..].iter().all(|v| v == "0.1.1"),
        "once upgraded, every call runs the new version: {versions:?}"
    );
    let migrated = call(&b, "versioned", "get", json!({ "key": "migrated-from" }));
    assert_eq!(migrated["value"], "0.1.0");
}

#[test]
fn failed_sign_ins_are_counted_across_hosts() {
    const PASSWORD: &str = "correct horse battery staple";
    let pg = PgServer::start();
    let url = pg.database();
    let a = Cli::postgres(&url);
    let b = Cli::postgres(&url);
    a.run(&["tenant", "create", "acme"]).ok();
    a.run_with_stdin(
        &[
            "user",
            "create",
            "alice",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        PASSWORD,
    )
    .ok();
    let server_a = Server::start(&a, &[]);
    let server_b = Server::start(&b, &[]);
    let login = |server: &Server, password: &str| {
        server.request(
            "POST",
            "/v1/login",
            None,
            &json!({ "tenant": "acme", "username": "alice", "password": password }).to_string(),
        )
    };
    // Six failures spread over both hosts (five are free) make the account wait on
    // both.
    for i in 0..6 {
        let server = if i % 2 == 0 { &server_a } else { &server_b };
        login(server, "wrong password!").problem(401, "unauthenticated");
    }
    let sixth = std::time::Instant::now();
    for server in [&server_a, &server_b] {
        let r = login(server, PASSWORD);
        r.problem(429, "rate-limited");
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert_eq!(retry, 1, "{r:?}");
    }
    // A host started afterwards (or restarted) knows the count: once the first wait
    // is over, one more failure there makes the account wait again, where a fresh
    // count would have four more free failures.
    drop(server_a);
    let c = Cli::postgres(&url);
    let server_c = Server::start(&c, &[]);
    let first_wait = std::time::Duration::from_millis(1100);
    std::thread::sleep(first_wait.saturating_sub(sixth.elapsed()));
    login(&server_c, "wrong password!").problem(401, "unauthenticated");
    login(&server_c, PASSWORD).problem(429, "rate-limited");
}
