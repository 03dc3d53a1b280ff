//! One SQLite database file in WAL mode: the host's main file or one tenant's.
//!
//! [`Db`] keeps a small pool of connections; each [`FileTx`] owns one connection for
//! its lifetime. A writing one first takes the file's in-process write gate and then
//! `BEGIN IMMEDIATE`, so writers queue instead of failing half way with
//! `SQLITE_BUSY`. [`super::sqlite_tenants`] routes each part of a transaction to the
//! file that holds it.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, params};

use super::sql_conn::Backend;
use super::{AuditAnchor, Result, StoreError, Transaction};

/// What [`observe_commits`] registered.
static COMMIT_OBSERVER: OnceLock<fn(usize)> = OnceLock::new();

/// Have `observer` called after every commit of a SQLite file with the number of
/// writing calls the commit made durable (group commit; the host counts them in a
/// metric). The first observer registered stays; later calls change nothing.
pub fn observe_commits(observer: fn(usize)) {
    let _ = COMMIT_OBSERVER.set(observer);
}

/// Tell the observer of commits, if there is one, that a commit made `writers` calls
/// durable.
fn commits_observed(writers: usize) {
    if let Some(observer) = COMMIT_OBSERVER.get() {
        observer(writers);
    }
}

/// How hard a commit works to survive a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before the call returns.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the host, may lose the last commits on
    /// a power cut. Faster on slow disks.
    Normal,
}

/// The storage layout this host writes; raised whenever a change would make an older
/// host misread a file. Generation 1: one file per tenant. Generation 2: keyed audit
/// links whose chain anchor (`audit_anchors`) moves with every link; an older host
/// would append unkeyed links behind the anchor, breaking every chain it wrote to.
pub(super) const STORAGE_GENERATION: i64 = 2;

/// The columns that lease a row to a worker, in every SQLite table of rows a worker
/// claims (`deliveries`, `webhook_deliveries`, `notifications`, `http_requests`),
/// spliced into their schema text by `concat!`.
macro_rules! lease_columns {
    () => {
        "    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    lease_owner TEXT,
"
    };
}
pub(super) use lease_columns;

/// The start of the SQLite table `table` of the attempts of a queue's rows (see
/// `queue.rs`): each attempt names its row of `rows` in `row_id`, then its own
/// columns follow.
macro_rules! attempt_table {
    ($table:literal, $row_id:literal, $rows:literal) => {
        concat!(
            "CREATE TABLE IF NOT EXISTS ",
            $table,
            " (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    ",
            $row_id,
            " INTEGER NOT NULL REFERENCES ",
            $rows,
            "(id),
    attempt INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
"
        )
    };
}
pub(super) use attempt_table;

/// Which generation wrote the file, in every file.
const META_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS backoffice_meta (generation INTEGER NOT NULL);
INSERT INTO backoffice_meta (generation) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM backoffice_meta);";

/// Host tables of the main file.
pub(super) const HOST_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest TEXT NOT NULL,
    digest TEXT NOT NULL,
    component BLOB NOT NULL,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
-- Every call reads the current version's head (`package_head`); its last column lies
-- behind the component's bytes in the row, so without this covering index each read
-- walks the component's overflow pages (measured: the largest cost of a call).
CREATE INDEX IF NOT EXISTS packages_head ON packages (id, version, digest, installed_at);
CREATE TABLE IF NOT EXISTS plugins (
    id TEXT PRIMARY KEY,
    current_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    plugin TEXT NOT NULL,
    capability TEXT NOT NULL,
    PRIMARY KEY (plugin, capability)
);
CREATE TABLE IF NOT EXISTS enablements (
    tenant TEXT NOT NULL REFERENCES tenants(id),
    plugin TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    data_version TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (tenant, plugin)
);
"#;

/// Plugin key-value data, in each tenant's file.
pub(super) const KV_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS kv (
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (tenant, plugin, key)
) WITHOUT ROWID;
-- Keys and bytes (key plus value) per plugin, kept exact by the triggers below in the
-- transaction (and savepoint) of each write, whichever path writes. Created and
-- filled from `kv` once, when a file written by an older host is first opened.
CREATE TABLE IF NOT EXISTS kv_usage (
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    keys INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (tenant, plugin)
) WITHOUT ROWID;
INSERT OR IGNORE INTO kv_usage (tenant, plugin, keys, bytes)
    SELECT tenant, plugin, count(*), sum(length(CAST(key AS BLOB)) + length(value))
      FROM kv GROUP BY tenant, plugin;
CREATE TRIGGER IF NOT EXISTS kv_usage_insert AFTER INSERT ON kv BEGIN
    INSERT INTO kv_usage (tenant, plugin, keys, bytes)
    VALUES (NEW.tenant, NEW.plugin, 1, length(CAST(NEW.key AS BLOB)) + length(NEW.value))
    ON CONFLICT (tenant, plugin) DO UPDATE SET keys = keys + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS kv_usage_update AFTER UPDATE OF value ON kv BEGIN
    UPDATE kv_usage SET bytes = bytes + length(NEW.value) - length(OLD.value)
     WHERE tenant = NEW.tenant AND plugin = NEW.plugin;
END;
CREATE TRIGGER IF NOT EXISTS kv_usage_delete AFTER DELETE ON kv BEGIN
    UPDATE kv_usage SET keys = keys - 1,
           bytes = bytes - length(CAST(OLD.key AS BLOB)) - length(OLD.value)
     WHERE tenant = OLD.tenant AND plugin = OLD.plugin;
END;
-- Events and one-off runs per plugin and UTC day (days since the epoch).
CREATE TABLE IF NOT EXISTS quota_day (
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    day INTEGER NOT NULL,
    events INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (tenant, plugin, day)
) WITHOUT ROWID;
-- Values of the settings plugins declare, per tenant; JSON text checked by the host.
CREATE TABLE IF NOT EXISTS plugin_settings (
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (tenant, plugin, key)
) WITHOUT ROWID;
"#;

/// A non-zero 31-bit fingerprint of the schema text, stored as `PRAGMA user_version`.
fn schema_fingerprint(parts: &[&str]) -> i32 {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let n = i32::from_be_bytes([digest[0] & 0x7f, digest[1], digest[2], digest[3]]);
    n.max(1)
}

/// One database file: its path, a pool of idle connections and its writer queue.
/// Cheap to clone.
#[derive(Clone)]
pub(super) struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: std::path::PathBuf,
    durability: Durability,
    idle: Mutex<Vec<Connection>>,
    /// Upper bound of idle connections kept for reuse. Opening a connection costs far
    /// more than a call (file, WAL index, schema).
    pool_size: usize,
    writer: Writer,
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// How long a writer waits for the write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A batch takes in further writers while it is younger than this and smaller than
/// [`MAX_BATCH`]; then it is committed. A writer that finished waits at most for the
/// writers queued behind it up to these bounds.
const MAX_BATCH_AGE: Duration = Duration::from_millis(4);
const MAX_BATCH: usize = 64;

/// The writers of one file: one at a time inside this process, sharing commits.
///
/// Group commit: a writer runs behind its own savepoint inside a batch transaction.
/// When it finishes and others are queued, it hands them the open transaction and
/// waits; the last writer of the batch commits (one fsync for all) and tells every
/// member the outcome. No writer returns before the batch that holds its changes is
/// durable, and a writer that fails rolls back its savepoint only. Queued writers
/// wait on a condition variable: SQLite's own busy handler polls with growing sleeps
/// (up to 100 ms), which under load makes every waiting writer late; writers of other
/// processes (a CLI beside `serve`) still meet that busy handler.
#[derive(Default)]
struct Writer {
    state: Mutex<WriterState>,
    turn: Condvar,
}

#[derive(Default)]
struct WriterState {
    /// A writer has the connection.
    held: bool,
    /// Writers queued for their turn.
    waiting: usize,
    /// A batch handed over between two writers.
    open: Option<(Connection, Arc<Batch>)>,
}

/// One batch transaction and the writers whose changes it holds.
struct Batch {
    started: Instant,
    members: Mutex<usize>,
    /// The audit anchors the batch's members wrote, newest per chain: where each
    /// of these chains continues while the batch holds the turn (see
    /// [`AuditStore::audit_known_tip`]). Only the writer holding the turn touches it.
    tips: Mutex<Vec<AuditAnchor>>,
    outcome: Mutex<Option<std::result::Result<(), String>>>,
    done: Condvar,
}

impl Batch {
    fn new() -> Arc<Self> {
        Arc::new(Batch {
            started: Instant::now(),
            members: Mutex::new(0),
            tips: Mutex::new(Vec::new()),
            outcome: Mutex::new(None),
            done: Condvar::new(),
        })
    }

    fn members(&self) -> usize {
        self.members.lock().map_or(0, |m| *m)
    }

    fn join(&self) {
        if let Ok(mut m) = self.members.lock() {
            *m += 1;
        }
    }

    /// The tip of `chain` the batch's members left, if one wrote to it.
    fn tip(&self, chain: &str) -> Option<AuditAnchor> {
        let tips = self.tips.lock().ok()?;
        tips.iter().find(|a| a.tenant == chain).cloned()
    }

    /// A member's changes became part of the batch: what it wrote of the audit
    /// chains (`None`: unknown, as a savepoint inside it was rolled back) now
    /// stands for the batch.
    fn take_tips(&self, written: Option<Vec<AuditAnchor>>) {
        let Ok(mut tips) = self.tips.lock() else {
            return;
        };
        match written {
            None => tips.clear(),
            Some(written) => {
                for anchor in written {
                    tips.retain(|a| a.tenant != anchor.tenant);
                    tips.push(anchor);
                }
            }
        }
    }

    fn publish(&self, outcome: std::result::Result<(), String>) {
        if let Ok(mut o) = self.outcome.lock() {
            *o = Some(outcome);
        }
        self.done.notify_all();
    }

    /// Wait until the batch is committed or failed.
    fn wait(&self) -> Result<()> {
        let poisoned = || StoreError::Backend("commit batch poisoned".into());
        let outcome = self.outcome.lock().map_err(|_| poisoned())?;
        let outcome = self
            .done
            .wait_while(outcome, |o| o.is_none())
            .map_err(|_| poisoned())?;
        match outcome.as_ref() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(StoreError::Backend(format!(
                "the commit did not reach the disk, nothing of this call was kept: {e}"
            ))),
            None => Err(poisoned()),
        }
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("writer queue poisoned".into())
}

/// The savepoint each writer of a batch runs behind, and its ends.
const SAVEPOINT_MEMBER: &str = "SAVEPOINT batch_member";
const RELEASE_MEMBER: &str = "RELEASE batch_member";
const ROLLBACK_TO_MEMBER: &str = "ROLLBACK TO batch_member";

/// Run one statement without parameters, prepared once per connection: the
/// transaction control every writer runs.
fn run(conn: &Connection, statement: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(statement)?.execute([]).map(|_| ())
}

impl Writer {
    /// Wait for the turn; the batch to join, if one was handed over.
    fn acquire(&self, path: &Path) -> Result<Option<(Connection, Arc<Batch>)>> {
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        st.waiting += 1;
        let (mut st, _) = self
            .turn
            .wait_timeout_while(st, BUSY_TIMEOUT, |s| s.held)
            .map_err(|_| poisoned())?;
        st.waiting -= 1;
        if st.held {
            return Err(StoreError::Backend(format!(
                "another write kept {} busy for {} s; retry",
                path.display(),
                BUSY_TIMEOUT.as_secs()
            )));
        }
        st.held = true;
        Ok(st.open.take())
    }

    /// Give up the turn without a batch (it could not be started).
    fn release(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.held = false;
        }
        self.turn.notify_one();
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Db {
    /// Open the database at `path` and bring its schema (`ddl`) up to date. With
    /// `create` false a missing file is an error instead of a new empty database.
    pub(super) fn open(
        path: &Path,
        durability: Durability,
        ddl: &[&str],
        create: bool,
        pool_size: usize,
    ) -> Result<Self> {
        let db = Db {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                durability,
                idle: Mutex::new(Vec::new()),
                pool_size,
                writer: Writer::default(),
            }),
        };
        crate::fsperm::private_database(path, create);
        let conn = db.connect(create)?;
        // The schema is (re)applied only when it changed: DDL needs the write lock,
        // and a CLI command opening the database beside a busy `serve` must not
        // queue behind it just to start. `user_version` holds a fingerprint of the DDL.
        let fingerprint = schema_fingerprint(ddl);
        let applied: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if applied != fingerprint {
            // A file a newer host wrote may have a layout this host does not know:
            // refuse it before touching its schema.
            let written_by: Option<i64> = conn
                .query_row("SELECT max(generation) FROM backoffice_meta", [], |r| {
                    r.get(0)
                })
                .ok()
                .flatten();
            if let Some(generation) = written_by.filter(|g| *g > STORAGE_GENERATION) {
                return Err(StoreError::Backend(format!(
                    "{} was written by a newer version of backoffice (storage generation {generation}; this host knows up to {STORAGE_GENERATION}): run that version, or restore a backup made with this one",
                    path.display()
                )));
            }
            conn.execute_batch("BEGIN IMMEDIATE")?;
            for part in ddl {
                conn.execute_batch(part)?;
            }
            conn.execute_batch(META_SCHEMA)?;
            conn.execute(
                "UPDATE backoffice_meta SET generation = max(generation, ?1)",
                params![STORAGE_GENERATION],
            )?;
            conn.pragma_update(None, "user_version", fingerprint)?;
            conn.execute_batch("COMMIT")?;
        }
        db.release(conn);
        Ok(db)
    }

    /// The file's path.
    pub(super) fn path(&self) -> &Path {
        &self.inner.path
    }

    fn connect(&self, create: bool) -> Result<Connection> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(&self.inner.path, flags).map_err(|e| {
            StoreError::Backend(format!(
                "cannot open database {}: {e}",
                self.inner.path.display()
            ))
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // rusqlite keeps 16 prepared statements by default; one call's path (checks,
        // key-value, audit, events) uses more, and re-parsing the evicted ones cost
        // about 4 % of a request (perf, `benches/http.sh`).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let sync = match self.inner.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; \
             PRAGMA mmap_size=268435456;"
        ))
        .map_err(|e| {
            StoreError::Backend(format!(
                "database {} cannot be used: {e}",
                self.inner.path.display()
            ))
        })?;
        Ok(conn)
    }

    /// A pooled connection, or a new one.
    pub(super) fn acquire(&self) -> Result<Connection> {
        let reused = self.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
        match reused {
            Some(conn) => Ok(conn),
            None => self.connect(false),
        }
    }

    /// Give a connection (outside any transaction) back to the pool.
    pub(super) fn release(&self, conn: Connection) {
        if let Ok(mut idle) = self.inner.idle.lock()
            && idle.len() < self.inner.pool_size
        {
            idle.push(conn);
        }
    }

    /// Start a writing transaction: wait for the turn, then join the batch handed
    /// over or start one with `BEGIN IMMEDIATE`, and open this writer's savepoint.
    ///
    /// A `long` writer (batch work with a long deadline) first commits a batch it is
    /// handed, so the writers in it are not kept waiting for their answer for as long
    /// as its own work takes.
    pub(super) fn begin_write(&self, long: bool) -> Result<FileTx> {
        let writer = &self.inner.writer;
        let handed = writer.acquire(&self.inner.path)?;
        let handed = match handed {
            Some((conn, batch)) if long => self.settle(conn, &batch).map(|()| None),
            other => Ok(other),
        };
        let handed = match handed {
            Ok(handed) => handed,
            Err(e) => {
                writer.release();
                return Err(e);
            }
        };
        let joined = handed.is_some();
        let (conn, batch) = match handed {
            Some(open) => open,
            None => {
                let started = self.acquire().and_then(|conn| {
                    run(&conn, "BEGIN IMMEDIATE")?;
                    Ok(conn)
                });
                match started {
                    Ok(conn) => (conn, Batch::new()),
                    Err(e) => {
                        writer.release();
                        return Err(e);
                    }
                }
            }
        };
        // From here the transaction owns the turn: dropping it ends the turn.
        let tx = FileTx {
            db: self.clone(),
            conn: Some(conn),
            batch: Some(batch),
            tips: Some(Vec::new()),
            joined,
        };
        // Only a writer that joins others' changes needs a savepoint to undo its own:
        // the first writer of a batch holds the transaction alone and undoes it
        // whole. A savepoint costs a copy of every page the writer changes (SQLite's
        // statement journal, a temporary file): a 5,000-entry ledger import spent a
        // third of its time writing it (perf, `benches/ledger.rs`).
        if joined {
            run(tx.conn()?, SAVEPOINT_MEMBER)?;
        }
        Ok(tx)
    }

    /// Commit a batch (roll it back when it holds nobody's changes) and tell its
    /// members, keeping the turn; the connection goes back to the pool.
    fn settle(&self, conn: Connection, batch: &Batch) -> Result<()> {
        let outcome = if conn.is_autocommit() {
            Err("the transaction was ended by an earlier error".to_string())
        } else if batch.members() == 0 {
            run(&conn, "ROLLBACK").map_err(|e| e.to_string())
        } else {
            let committed = run(&conn, "COMMIT").map_err(|e| e.to_string());
            if committed.is_ok() {
                commits_observed(batch.members());
            }
            committed
        };
        match &outcome {
            Ok(()) => self.release(conn),
            // A connection whose transaction ended in an error is not reused.
            Err(_) => {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        batch.publish(outcome.clone());
        outcome.map_err(StoreError::Backend)
    }

    /// End a writer's turn. Its savepoint is closed (released when `member`, its
    /// changes then being part of the batch; rolled back otherwise). Hand the batch to
    /// a queued writer while it is young and small, or commit it (roll back when it
    /// holds nobody's changes); a member returns once its batch is durable.
    fn end_turn(&self, conn: Connection, batch: Arc<Batch>, member: bool) -> Result<()> {
        let writer = &self.inner.writer;
        if member {
            batch.join();
        }
        // A failed statement may have ended the whole transaction (SQLite does that
        // on I/O errors): then nothing of the batch may be committed.
        let broken = conn.is_autocommit();
        let mut st = writer.state.lock().map_err(|_| poisoned())?;
        let young = batch.started.elapsed() < MAX_BATCH_AGE && batch.members() < MAX_BATCH;
        if !broken && st.waiting > 0 && young {
            st.open = Some((conn, batch.clone()));
            st.held = false;
            drop(st);
            writer.turn.notify_one();
            return if member { batch.wait() } else { Ok(()) };
        }
        drop(st);
        // A member learns the outcome from the batch below.
        let _ = self.settle(conn, &batch);
        writer.release();
        if member { batch.wait() } else { Ok(()) }
    }

    /// Start a read snapshot that neither waits for nor blocks writers.
    pub(super) fn begin_read(&self) -> Result<FileTx> {
        let conn = self.acquire()?;
        run(&conn, "BEGIN DEFERRED")?;
        Ok(FileTx {
            db: self.clone(),
            conn: Some(conn),
            batch: None,
            tips: None,
            joined: false,
        })
    }
}

/// A transaction on one file. Dropping it without [`Transaction::commit`] rolls back.
pub(super) struct FileTx {
    db: Db,
    /// Taken on commit; present while the transaction is open.
    conn: Option<Connection>,
    /// The batch of a writer (which holds the file's turn); none for a reader.
    batch: Option<Arc<Batch>>,
    /// A writer's audit anchors written so far, newest per chain; `None` for a
    /// reader, or once a savepoint inside the writer was rolled back (what it
    /// undid is not tracked: the chains are then read from the file).
    tips: Option<Vec<AuditAnchor>>,
    /// A writer that joined a batch holding others' changes, behind its own
    /// savepoint; the first writer of a batch has none (it holds the transaction
    /// alone).
    joined: bool,
}

impl Drop for FileTx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        match self.batch.take() {
            Some(_) if !self.joined => {
                // The first writer of its batch: the transaction holds its changes
                // only, and nobody joined it yet.
                match run(&conn, "ROLLBACK") {
                    Ok(()) => self.db.release(conn),
                    Err(e) => {
                        tracing::error!(db = %self.db.path().display(), "rolling back a writer: {e}");
                    }
                }
                self.db.inner.writer.release();
            }
            Some(batch) => {
                // Undo this writer's changes only; the batch may hold others'
                // (and the tips it knows stay true).
                let undone =
                    run(&conn, ROLLBACK_TO_MEMBER).and_then(|()| run(&conn, RELEASE_MEMBER));
                if undone.is_err() {
                    // The batch cannot be trusted any more: end it for everyone.
                    let _ = conn.execute_batch("ROLLBACK");
                }
                if let Err(e) = self.db.end_turn(conn, batch, false) {
                    tracing::error!(db = %self.db.path().display(), "ending a rolled-back writer's turn: {e}");
                }
            }
            None => {
                // A connection whose rollback failed is in an unknown state: do not reuse it.
                if run(&conn, "ROLLBACK").is_ok() {
                    self.db.release(conn);
                }
            }
        }
    }
}

impl FileTx {
    pub(super) fn conn(&self) -> Result<&Connection> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))
    }
}

impl Backend for FileTx {
    type Conn = Connection;

    fn sql_conn(&mut self) -> Result<&mut Connection> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))
    }

    fn delete_tenant(&mut self, id: &str) -> Result<u64> {
        let conn = self.conn()?;
        let mut removed = 0;
        for table in super::TENANT_ROWS.iter().chain(&["enablements", "tenants"]) {
            let exists: bool = conn.query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                params![table],
                |r| r.get(0),
            )?;
            if exists {
                let column = if *table == "tenants" { "id" } else { "tenant" };
                removed += conn.execute(
                    &format!("DELETE FROM {table} WHERE {column} = ?1"),
                    params![id],
                )?;
            }
        }
        Ok(removed as u64)
    }

    fn audit_linked(&mut self, anchor: &AuditAnchor) {
        if let Some(tips) = &mut self.tips {
            tips.retain(|a| a.tenant != anchor.tenant);
            tips.push(anchor.clone());
        }
    }

    fn audit_tip(&mut self, chain: &str) -> Option<AuditAnchor> {
        let tips = self.tips.as_ref()?;
        if let Some(own) = tips.iter().find(|a| a.tenant == chain) {
            return Some(own.clone());
        }
        self.batch.as_ref()?.tip(chain)
    }
}

pub(super) fn conflict_on_unique(e: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(what())
        }
        other => other.into(),
    }
}

impl Transaction for FileTx {
    fn commit(mut self: Box<Self>) -> Result<()> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))?;
        let Some(batch) = self.batch.take() else {
            // A reader: nothing to make durable.
            let result = run(&conn, "COMMIT");
            if result.is_ok() {
                self.db.release(conn);
            }
            return Ok(result?);
        };
        let released = if self.joined {
            run(&conn, RELEASE_MEMBER)
        } else {
            Ok(())
        };
        match released {
            Ok(()) => {
                batch.take_tips(self.tips.take());
                self.db.end_turn(conn, batch, true)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                self.db.end_turn(conn, batch, false)?;
                Err(e.into())
            }
        }
    }

    fn savepoint(&mut self, name: &str) -> Result<()> {
        Ok(self.conn()?.execute_batch(&format!("SAVEPOINT {name}"))?)
    }

    fn release(&mut self, name: &str) -> Result<()> {
        Ok(self.conn()?.execute_batch(&format!("RELEASE {name}"))?)
    }

    fn rollback_to(&mut self, name: &str) -> Result<()> {
        self.tips = None;
        Ok(self
            .conn()?
            .execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"))?)
    }
}
