//! The PostgreSQL backend: the storage suite that SQLite passes, the CLI against a
//! database, and `migrate-storage` from a SQLite installation.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::store::suite::CASES;
use backoffice_host::store::{PostgresStorage, Storage};
use backoffice_tests::{Cli, PgServer};
use serde_json::json;

#[test]
fn storage_suite_passes_on_postgres() {
    let pg = PgServer::start();
    for (name, case) in CASES {
        eprintln!("storage suite on PostgreSQL: {name}");
        let storage = PostgresStorage::open(&pg.database()).unwrap();
        case(&storage);
    }
}

#[test]
fn writers_of_one_tenant_wait_for_each_other_and_lose_nothing() {
    // Eight threads increment one counter through scoped transactions: the tenant's
    // lock orders them, so no increment is lost and none has to be retried.
    let pg = PgServer::start();
    let storage = PostgresStorage::open(&pg.database()).unwrap();
    let scope = backoffice_host::store::Scope {
        tenant: "acme".into(),
        plugin: "counter".into(),
    };
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    let mut tx = storage.begin_scoped("acme").unwrap();
                    let n = tx
                        .kv_get(&scope, "n")
                        .unwrap()
                        .map_or(0, |v| String::from_utf8(v).unwrap().parse::<u64>().unwrap());
                    tx.kv_put(&scope, "n", (n + 1).to_string().as_bytes())
                        .unwrap();
                    tx.commit().unwrap();
                }
            });
        }
    });
    let mut tx = storage.begin_read().unwrap();
    assert_eq!(
        tx.kv_get(&scope, "n").unwrap().as_deref(),
        Some(&b"200"[..])
    );
}

/// Run `work` on its own thread; fail the test if it has not finished within 30 s (it
/// is waiting for a lock it should not need).
fn finishes<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(work()));
    result
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} is still waiting after 30 s"))
}

#[test]
fn an_admin_action_waiting_for_one_tenant_holds_up_no_other() {
    // Tenant A's writer is busy (a call in flight). An admin action on A (a new user,
    // a token, an enablement) waits for it; meanwhile tenant B's writers and admin
    // actions on host data go on: the call path takes nothing host-wide, and the
    // admin action takes the host-wide lock only once it has A's.
    let pg = PgServer::start();
    let storage = PostgresStorage::open(&pg.database()).unwrap();
    let scope = |tenant: &str| backoffice_host::store::Scope {
        tenant: tenant.into(),
        plugin: "counter".into(),
    };
    let mut busy = storage.begin_scoped("a").unwrap();
    busy.kv_put(&scope("a"), "n", b"1").unwrap();

    let (admin_started, admin_has_lock) = std::sync::mpsc::channel();
    let admin = {
        let storage = storage.clone();
        std::thread::spawn(move || {
            admin_started.send("asking").unwrap();
            let mut tx = storage.begin_for(&["a"]).unwrap();
            admin_started.send("granted").unwrap();
            // It sees what A's writer committed before it was let in.
            let seen = tx.kv_get(&scope("a"), "n").unwrap();
            tx.commit().unwrap();
            seen
        })
    };
    assert_eq!(admin_has_lock.recv().unwrap(), "asking");
    // Give the admin action time to queue for A's lock.
    std::thread::sleep(std::time::Duration::from_millis(300));

    let s = storage.clone();
    finishes("tenant B's writer", move || {
        let mut tx = s.begin_scoped("b").unwrap();
        tx.kv_put(&scope("b"), "n", b"1").unwrap();
        tx.commit().unwrap();
    });
    let s = storage.clone();
    finishes("an admin action on host data", move || {
        s.begin().unwrap().commit().unwrap();
    });
    assert!(
        admin_has_lock.try_recv().is_err(),
        "the admin action on tenant A ran while A's writer was busy"
    );

    busy.commit().unwrap();
    let seen = finishes("the admin action on tenant A", move || {
        admin.join().unwrap()
    });
    assert_eq!(seen.as_deref(), Some(&b"1"[..]));
}

#[test]
fn audit_chains_on_postgres_are_keyed_and_anchored() {
    // Issue 16, finding 5, on the shared database: a cut tail and a dropped chain are
    // caught, and a host without the installation's key file does not start.
    let pg = PgServer::start();
    let url = pg.database();
    let cli = Cli::postgres(&url);
    for t in ["acme", "beta"] {
        cli.run(&["tenant", "create", t]).ok();
    }
    for u in ["ada", "bob", "cy"] {
        cli.run(&["user", "create", u, "--tenant", "acme"]).ok();
    }
    assert_eq!(cli.run(&["audit", "verify", "--json"]).json()["ok"], true);
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute(
        "DELETE FROM audit WHERE tenant = 'acme' AND seq = 3;
         DELETE FROM audit WHERE tenant = 'beta'; DELETE FROM audit_anchors WHERE tenant = 'beta';",
    )
    .unwrap();
    let run = cli
        .run(&["audit", "verify"])
        .fails(7, &["audit chain acme is broken at link 3"]);
    assert!(
        run.stdout.contains(
            "chain acme: BROKEN at link 3: link 3 is missing: the anchor says the head is link 3"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("chain beta: BROKEN at link 1: the chain and its anchor are gone"),
        "{run:?}"
    );
    // A second host with a key file of its own would seal links nobody can verify.
    let mut other = Cli::postgres(&url);
    other.audit_key_file = Some(other.dir.path().join("audit.key"));
    other.run(&["tenant", "list"]).fails(
        7,
        &[
            "audit key file",
            "is missing",
            "every host sharing a database needs the same file",
        ],
    );
}

#[test]
fn a_bad_database_url_is_refused_with_the_fix() {
    let cli = Cli::postgres("mysql://localhost/x");
    cli.run(&["tenant", "list"]).fails(
        2,
        &["not a PostgreSQL URL", "postgres://user:password@host"],
    );
    // Nothing listens on port 1: the error names the server and how to fix it.
    let cli = Cli::postgres("postgres://bo:secret@127.0.0.1:1/none");
    let run = cli
        .run(&["tenant", "list"])
        .fails(1, &["cannot connect to PostgreSQL"]);
    assert!(!run.stderr.contains("secret"), "password leaked: {run:?}");
}

#[test]
fn migrate_storage_copies_an_installation_and_verifies_it() {
    let pg = PgServer::start();
    // A single-machine installation with a plugin, data, users, tokens and audit links.
    let sqlite = Cli::new();
    sqlite
        .run(&["tenant", "create", "acme", "--time-zone", "Europe/Berlin"])
        .ok();
    sqlite.install_unsigned("contacts").ok();
    sqlite
        .run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    for name in ["Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"] {
        sqlite
            .run(&[
                "call",
                "--tenant",
                "acme",
                "contacts",
                "create",
                "--input",
                &json!({ "name": name, "kind": "customer" }).to_string(),
            ])
            .ok();
    }
    sqlite
        .run(&["user", "create", "erp", "--tenant", "acme"])
        .ok();
    sqlite
        .run(&["user", "assign-role", "erp", "admin", "--tenant", "acme"])
        .ok();
    sqlite
        .run(&[
            "token", "create", "--user", "erp", "--tenant", "acme", "--name", "sync",
        ])
        .ok();
    // A public address literal: allowed without BACKOFFICE_WEBHOOK_ALLOW_PRIVATE.
    sqlite
        .run(&[
            "webhook",
            "add",
            "--tenant",
            "acme",
            "--topic",
            "contacts.*",
            "--url",
            "https://93.184.215.14/hook",
        ])
        .ok();
    let source_audit = sqlite.run(&["audit", "verify", "--json"]).json();

    let url = pg.database();
    let db = sqlite
        .dir
        .path()
        .join(backoffice_host::DATABASE_FILE)
        .display()
        .to_string();
    let report = sqlite
        .run(&[
            "migrate-storage",
            "--from",
            &format!("sqlite:{db}"),
            "--to",
            &url,
        ])
        .json();
    assert_eq!(report["audit"]["ok"], true, "{report}");
    let rows = |table: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == table)
            .unwrap_or_else(|| panic!("no {table} in {report}"))["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rows("tenants"), 1);
    assert_eq!(rows("packages"), 1);
    assert!(rows("kv") >= 3, "{report}");
    assert!(rows("audit") >= 6, "{report}");
    assert_eq!(rows("webhook_endpoints"), 1);

    // A host on PostgreSQL alone (a fresh data directory: no SQLite, no code cache)
    // sees the same audit chains and serves the copied installation.
    let mut shared = Cli::postgres(&url);
    // The copied chains are sealed with the source installation's audit key.
    shared.audit_key_file = Some(sqlite.dir.path().join("audit.key"));
    let copied_audit = shared.run(&["audit", "verify", "--json"]).json();
    assert_eq!(copied_audit["ok"], true);
    for chain in source_audit["chains"].as_array().unwrap() {
        let copy = copied_audit["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tenant"] == chain["tenant"])
            .unwrap();
        assert_eq!(copy["head"], chain["head"], "the chain head moved: {copy}");
    }
    let list = shared
        .run(&[
            "call", "--tenant", "acme", "contacts", "list", "--input", "{}",
        ])
        .json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3), "{list}");
    assert_eq!(
        shared
            .run(&["token", "list", "--tenant", "acme", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let hooks = shared
        .run(&["webhook", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(hooks[0]["url"], "https://93.184.215.14/hook", "{hooks}");

    // A second copy into the now non-empty database is refused, and nothing changes.
    sqlite
        .run(&[
            "migrate-storage",
            "--from",
            &format!("sqlite:{db}"),
            "--to",
            &url,
        ])
        .fails(4, &["already has", "empty database"]);
    sqlite
        .run(&["migrate-storage", "--from", "/tmp/x.db", "--to", &url])
        .fails(2, &["sqlite:PATH"]);
}
