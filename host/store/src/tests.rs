//! The storage suite (`suite.rs`) on SQLite, plus what only SQLite has: reopening the file.

use super::suite::CASES;
use super::*;

fn sqlite() -> (tempfile::TempDir, SqliteStorage) {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open(&dir.path().join("db.sqlite"), Durability::Normal)
        .expect("open storage");
    (dir, storage)
}

#[test]
fn sqlite_passes_the_storage_suite() {
    for (name, case) in CASES {
        let (_dir, s) = sqlite();
        eprintln!("storage suite on SQLite: {name}");
        case(&s);
    }
}

#[test]
fn sqlite_data_survives_reopen() {
    let (_dir, path) = data_dir();
    let scope = scope_of("acme");
    acme_with_notes(&path, Durability::Full, &[("k", b"v")]);
    let s = SqliteStorage::open(&path, Durability::Full).unwrap();
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.kv_get(&scope, "k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_tenant_file_from_before_quotas_gets_its_usage_counted_on_open() {
    let (dir, path) = data_dir();
    let notes = scope_of("acme");
    acme_with_notes(&path, Durability::Normal, &[("a", b"xyz"), ("b", b"12")]);
    // As an older host left it: no usage table, no triggers, another schema.
    {
        let conn = rusqlite::Connection::open(tenant_file(dir.path(), "acme")).unwrap();
        conn.execute_batch("DROP TABLE kv_usage; DROP TABLE quota_day; PRAGMA user_version = 1;")
            .unwrap();
    }
    let s = SqliteStorage::open(&path, Durability::Normal).unwrap();
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), KvUsage { keys: 2, bytes: 7 });
    // And kept from then on.
    tx.kv_delete(&notes, "a").unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), KvUsage { keys: 1, bytes: 3 });
}

/// A temporary data directory and the path of its main file.
fn data_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    (dir, path)
}

/// Create the storage at `path` with tenant `acme` holding the keys `kv` of plugin
/// `notes`, and close it.
fn acme_with_notes(path: &std::path::Path, durability: Durability, kv: &[(&str, &[u8])]) {
    let s = SqliteStorage::open(path, durability).unwrap();
    let mut tx = s.begin().unwrap();
    tx.tenant_insert(&tenant("acme")).unwrap();
    for (key, value) in kv {
        tx.kv_put(&scope_of("acme"), key, value).unwrap();
    }
    tx.commit().unwrap();
}

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: id.into(),
        time_zone: "UTC".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn with_tenants(ids: &[&str]) -> (tempfile::TempDir, SqliteStorage) {
    let (dir, s) = sqlite();
    let mut tx = s.begin().unwrap();
    for id in ids {
        tx.tenant_insert(&tenant(id)).unwrap();
    }
    tx.commit().unwrap();
    (dir, s)
}

#[test]
fn writers_of_different_tenants_do_not_wait_for_each_other() {
    let (_dir, s) = with_tenants(&["acme", "globex"]);
    let a = scope_of("acme");
    let b = scope_of("globex");
    // acme's writer stays open (a long call) while globex writes and commits.
    let mut long = s.begin_scoped("acme").unwrap();
    long.kv_put(&a, "k", b"slow").unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let other = s.clone();
    std::thread::spawn(move || {
        let mut tx = other.begin_scoped("globex").unwrap();
        tx.kv_put(&b, "k", b"fast").unwrap();
        tx.commit().unwrap();
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("globex's write finished while acme's writer was open");
    long.commit().unwrap();
    let mut tx = s.begin_read().unwrap();
    assert_eq!(tx.kv_get(&a, "k").unwrap().as_deref(), Some(&b"slow"[..]));
    assert_eq!(
        tx.kv_get(&scope_of("globex"), "k").unwrap().as_deref(),
        Some(&b"fast"[..])
    );
    // Each tenant has its own file.
    assert!(s.tenant_path("acme").is_file());
    assert!(s.tenant_path("globex").is_file());
}

fn scope_of(tenant: &str) -> Scope {
    Scope {
        tenant: tenant.into(),
        plugin: "notes".into(),
    }
}

#[test]
fn ids_of_work_name_their_tenant() {
    let (_dir, s) = with_tenants(&["acme", "globex"]);
    let mut tx = s.begin().unwrap();
    let a = tx.job_insert_once("acme", "p", "j", "{}", 10).unwrap();
    let g = tx.job_insert_once("globex", "p", "j", "{}", 10).unwrap();
    tx.commit().unwrap();
    assert_ne!(a, g);
    assert_ne!(a / sqlite_tenants::ID_SPAN, g / sqlite_tenants::ID_SPAN);
    let mut tx = s.begin_read().unwrap();
    assert_eq!(tx.job_get(a).unwrap().unwrap().tenant, "acme");
    assert_eq!(tx.job_get(g).unwrap().unwrap().tenant, "globex");
    assert_eq!(tx.job_list(&JobFilter::default()).unwrap().len(), 2);
    // The scheduler looks only at tenants with work due.
    assert!(s.work_scopes(5).unwrap().is_empty());
    let mut due = s.work_scopes(10).unwrap();
    due.sort();
    assert_eq!(due, vec![Some("acme".into()), Some("globex".into())]);
}

#[test]
fn a_broken_tenant_file_names_the_tenant_and_spares_the_others() {
    let (dir, path) = data_dir();
    {
        let s = SqliteStorage::open(&path, Durability::Full).unwrap();
        let mut tx = s.begin().unwrap();
        for id in ["acme", "globex", "initech"] {
            tx.tenant_insert(&tenant(id)).unwrap();
        }
        tx.commit().unwrap();
    }
    // A new process finds one file gone and one overwritten.
    let missing = tenant_file(dir.path(), "globex");
    std::fs::remove_file(&missing).unwrap();
    std::fs::write(tenant_file(dir.path(), "initech"), vec![7u8; 8192]).unwrap();
    let s = SqliteStorage::open(&path, Durability::Full).unwrap();
    let refusal = |id: &str| s.begin_scoped(id).err().expect("refused").to_string();
    let err = refusal("globex");
    assert!(
        err.contains("tenant 'globex'") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains("backoffice tenant restore"), "{err}");
    let err = refusal("initech");
    assert!(
        err.contains("tenant 'initech'") && err.contains("cannot be opened"),
        "{err}"
    );
    let mut tx = s.begin_scoped("acme").unwrap();
    tx.kv_put(&scope_of("acme"), "still", b"works").unwrap();
    tx.commit().unwrap();
    // The scheduler skips the broken tenants instead of failing.
    assert!(s.work_scopes(0).unwrap().is_empty());
}

/// Records what a copy reports.
#[derive(Debug, Default)]
struct Recorded(std::sync::Mutex<Vec<String>>);

impl Progress for Recorded {
    fn begin(&self, _: &str, total: u64) {
        self.0.lock().unwrap().push(format!("begin {total}"));
    }
    fn advance(&self, rows: u64) {
        self.0.lock().unwrap().push(format!("advance {rows}"));
    }
    fn end(&self) {
        self.0.lock().unwrap().push("end".into());
    }
}

#[test]
fn a_single_file_data_directory_is_split_per_tenant() {
    let (_dir, path) = data_dir();
    // The layout before per-tenant files: every table in one file.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for ddl in [
            sqlite::HOST_SCHEMA,
            sqlite::KV_SCHEMA,
            sqlite_events::SCHEMA,
            sqlite_work::SCHEMA,
            sqlite_identity::SCHEMA,
            sqlite_trust::SCHEMA,
        ] {
            conn.execute_batch(ddl).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO tenants VALUES ('acme', 'Acme', 'UTC', 't'), ('globex', 'Globex', 'UTC', 't');
             INSERT INTO kv VALUES ('acme', 'notes', 'a', x'01'), ('acme', 'notes', 'b', x'02'),
                                   ('globex', 'notes', 'a', x'03');
             INSERT INTO events (id, tenant, seq, topic, payload, plugin, version, created_at_ms)
                 VALUES (7, 'acme', 1, 't.x', '{}', 'notes', '1.0.0', 1);
             INSERT INTO jobs (id, tenant, plugin, job, payload, state, next_run_ms)
                 VALUES (3, 'globex', 'notes', 'j', '{}', 'scheduled', 5);
             INSERT INTO users VALUES ('', 'root', 'Root', NULL, 1, 't', NULL),
                                      ('acme', 'ada', 'Ada', NULL, 0, 't', NULL);
             INSERT INTO tokens VALUES ('tok1', 'acme', 'ada', 'api', 'n', 'h', 't', NULL, NULL, NULL);
             INSERT INTO audit VALUES ('acme', 1, 't', 'a', 'x', 'y', 'ok', '{}', NULL, '', 'h1'),
                                      ('', 1, 't', 'a', 'x', 'y', 'ok', '{}', NULL, '', 'h2');",
        )
        .unwrap();
    }
    let progress = Recorded::default();
    let s = SqliteStorage::open_with(&path, Durability::Full, &progress).unwrap();
    // The copy reported its size first, then every row it moved, then its end.
    let log = progress.0.lock().unwrap().clone();
    assert_eq!(log.first(), Some(&"begin 8".to_string()), "{log:?}");
    assert_eq!(log.last(), Some(&"end".to_string()), "{log:?}");
    let advanced: u64 = log
        .iter()
        .filter_map(|l| l.strip_prefix("advance ")?.parse::<u64>().ok())
        .sum();
    assert_eq!(advanced, 8, "{log:?}");
    let mut tx = s.begin_read().unwrap();
    assert_eq!(tx.kv_count_plugin("notes").unwrap(), 3);
    // The usage of quotas is counted as the rows arrive in the tenant files.
    let acme_notes = scope_of("acme");
    assert_eq!(
        tx.kv_usage(&acme_notes).unwrap(),
        KvUsage { keys: 2, bytes: 4 }
    );
    assert_eq!(
        tx.kv_get(&scope_of("globex"), "a").unwrap().as_deref(),
        Some(&[3u8][..])
    );
    assert_eq!(tx.job_get(3).unwrap().unwrap().tenant, "globex");
    assert_eq!(tx.token_get("tok1").unwrap().unwrap().username, "ada");
    assert!(tx.user_get("", "root").unwrap().is_some());
    assert!(tx.user_get("acme", "ada").unwrap().is_some());
    assert_eq!(
        tx.audit_chains().unwrap(),
        vec!["".to_string(), "acme".into()]
    );
    let events = tx
        .event_list(&EventFilter {
            tenant: None,
            topic: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), vec![7]);
    drop(tx);
    // The moved rows are gone from the main file, whose host rows stay.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let kv: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'kv'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kv, 0);
    let users: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 1);
    // New rows of a split tenant get ids of its own range, after the old ones.
    let mut tx = s.begin_scoped("acme").unwrap();
    let id = tx.job_insert_once("acme", "notes", "j", "{}", 1).unwrap();
    tx.commit().unwrap();
    assert!(id > sqlite_tenants::ID_SPAN, "{id}");
    // Opening again does nothing more.
    drop(SqliteStorage::open(&path, Durability::Full).unwrap());
}

/// The first writer of a batch runs without a savepoint of its own: failing, it undoes
/// the whole transaction, and the next writer starts clean on the same file.
#[test]
fn a_lone_writer_that_fails_leaves_nothing_and_the_next_one_starts_clean() {
    let (_dir, s) = with_tenants(&["acme"]);
    for round in 0..3 {
        let mut tx = s.begin_scoped("acme").unwrap();
        tx.kv_put(&scope_of("acme"), &format!("gone{round}"), b"x")
            .unwrap();
        drop(tx);
        let mut tx = s.begin_scoped("acme").unwrap();
        tx.kv_put(&scope_of("acme"), &format!("kept{round}"), b"y")
            .unwrap();
        tx.commit().unwrap();
    }
    let mut tx = s.begin_read().unwrap();
    for round in 0..3 {
        let gone = tx
            .kv_get(&scope_of("acme"), &format!("gone{round}"))
            .unwrap();
        let kept = tx
            .kv_get(&scope_of("acme"), &format!("kept{round}"))
            .unwrap();
        assert_eq!((gone, kept), (None, Some(b"y".to_vec())), "round {round}");
    }
}

#[test]
fn concurrent_writers_of_one_tenant_share_commits_and_fail_alone() {
    let (_dir, s) = with_tenants(&["acme"]);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                for j in 0..20 {
                    let mut tx = s.begin_scoped("acme").unwrap();
                    let key = format!("{i}/{j}");
                    tx.kv_put(&scope_of("acme"), &key, b"kept").unwrap();
                    if j % 5 == 4 {
                        // A call that fails: only its own writes go.
                        drop(tx);
                    } else {
                        tx.commit().unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut tx = s.begin_read().unwrap();
    for i in 0..16 {
        for j in 0..20 {
            let got = tx.kv_get(&scope_of("acme"), &format!("{i}/{j}")).unwrap();
            assert_eq!(got.is_some(), j % 5 != 4, "{i}/{j}");
        }
    }
}

#[test]
fn a_tenant_file_from_a_newer_version_is_refused_by_name() {
    let (dir, path) = data_dir();
    {
        let s = SqliteStorage::open(&path, Durability::Full).unwrap();
        let mut tx = s.begin().unwrap();
        tx.tenant_insert(&tenant("acme")).unwrap();
        tx.tenant_insert(&tenant("globex")).unwrap();
        tx.commit().unwrap();
    }
    // A newer host changed globex's layout and marked it.
    let conn = rusqlite::Connection::open(tenant_file(dir.path(), "globex")).unwrap();
    conn.execute_batch(
        "UPDATE backoffice_meta SET generation = 99; CREATE TABLE newer (x); PRAGMA user_version = 7;",
    )
    .unwrap();
    drop(conn);
    let s = SqliteStorage::open(&path, Durability::Full).unwrap();
    let err = s.begin_scoped("globex").err().expect("refused").to_string();
    assert!(
        err.contains("tenant 'globex'") && err.contains("newer version"),
        "{err}"
    );
    assert!(err.contains("generation 99"), "{err}");
    // Its schema was not touched, and the other tenant works.
    let conn = rusqlite::Connection::open(tenant_file(dir.path(), "globex")).unwrap();
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 7);
    let mut tx = s.begin_scoped("acme").unwrap();
    tx.kv_put(&scope_of("acme"), "k", b"v").unwrap();
    tx.commit().unwrap();
}
