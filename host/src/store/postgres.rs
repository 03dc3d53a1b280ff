//! The shared backend: one PostgreSQL database that several stateless hosts use at
//! once (see `docs/scaling.md`).
//!
//! # Transactions and isolation
//!
//! Every [`Transaction`] is one PostgreSQL transaction at `REPEATABLE READ`: it sees
//! one snapshot, and a write that meets a row another transaction changed after that
//! snapshot fails with a serialization failure (SQLSTATE 40001) instead of
//! overwriting it. Such failures, deadlocks (40P01) and a lost race for the next
//! number of a per-tenant sequence (the audit chain, the event stream) surface as
//! [`StoreError::Retry`]; the host runs the whole invocation again (see
//! `Host::invoke`), so nothing half-done is ever committed.
//!
//! To keep those retries rare, write transactions are ordered by session-level
//! advisory locks taken *before* `BEGIN`, so the snapshot is taken after the lock:
//!
//! - [`Storage::begin_scoped`] (a plugin call, a job or delivery run, the audit
//!   queue) takes the tenant's lock exclusively and the host-wide lock shared: the
//!   writers of one tenant run one at a time across every host (as all writers do on
//!   SQLite), writers of different tenants run side by side.
//! - [`Storage::begin`] (admin actions: install, enable, users, tokens...) takes the
//!   host-wide lock exclusively, so it never races a tenant's writer.
//! - [`Storage::begin_read`] takes no lock: `REPEATABLE READ, READ ONLY`.
//!
//! Jobs and deliveries are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`; a row
//! another host claimed meanwhile is skipped (its savepoint rolled back), so each
//! runs once per lease whichever host picks it.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Row, Statement};

use super::{
    AuditQuery, AuditRecord, DeliveryRecord, Enablement, EventFilter, EventRecord, Finish,
    JobFilter, JobRecord, JobRun, NewEvent, PackageRecord, Result, RoleRecord, ScanPage, ScanQuery,
    Scope, Storage, StoreError, Tenant, TokenRecord, Transaction, TrustedKey, UserRecord,
};

/// The schema; the same tables and columns as SQLite's, so `migrate-storage` can copy
/// them one to one. Every text column uses the "C" collation: keys compare by bytes,
/// as in SQLite, whatever the database's locale.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, time_zone TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    id TEXT NOT NULL, version TEXT NOT NULL, manifest TEXT NOT NULL, digest TEXT NOT NULL,
    component BYTEA NOT NULL, installed_at TEXT NOT NULL, PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS plugins (id TEXT PRIMARY KEY, current_version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grants (
    plugin TEXT NOT NULL, capability TEXT NOT NULL, PRIMARY KEY (plugin, capability)
);
CREATE TABLE IF NOT EXISTS enablements (
    tenant TEXT NOT NULL REFERENCES tenants(id), plugin TEXT NOT NULL, enabled BIGINT NOT NULL,
    data_version TEXT NOT NULL, changed_at TEXT NOT NULL, PRIMARY KEY (tenant, plugin)
);
CREATE TABLE IF NOT EXISTS kv (
    tenant TEXT NOT NULL, plugin TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL,
    PRIMARY KEY (tenant, plugin, key)
);
CREATE TABLE IF NOT EXISTS events (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, seq BIGINT NOT NULL, topic TEXT NOT NULL,
    payload TEXT NOT NULL, plugin TEXT NOT NULL, version TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL, fanned_out BIGINT NOT NULL DEFAULT 0, UNIQUE (tenant, seq)
);
CREATE INDEX IF NOT EXISTS events_pending_fanout ON events (fanned_out, id);
CREATE INDEX IF NOT EXISTS events_by_topic ON events (tenant, topic, id);
CREATE TABLE IF NOT EXISTS jobs (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, plugin TEXT NOT NULL, job TEXT NOT NULL,
    cron TEXT, payload TEXT NOT NULL, state TEXT NOT NULL, next_run_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0, lease_until_ms BIGINT, lease_owner TEXT, last_error TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_cron ON jobs (tenant, plugin, job) WHERE cron IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_run_ms);
CREATE TABLE IF NOT EXISTS job_runs (
    id BIGSERIAL PRIMARY KEY, job_id BIGINT NOT NULL, tenant TEXT NOT NULL, plugin TEXT NOT NULL,
    job TEXT NOT NULL, attempt BIGINT NOT NULL, started_ms BIGINT NOT NULL, duration_ms BIGINT,
    outcome TEXT NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id BIGSERIAL PRIMARY KEY, event_id BIGINT NOT NULL REFERENCES events(id),
    tenant TEXT NOT NULL, topic TEXT NOT NULL, subscriber TEXT NOT NULL, state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0, next_attempt_ms BIGINT NOT NULL, lease_until_ms BIGINT,
    lease_owner TEXT, last_error TEXT, done_ms BIGINT, UNIQUE (event_id, subscriber)
);
CREATE INDEX IF NOT EXISTS deliveries_heads ON deliveries (state, tenant, topic, subscriber, event_id);
CREATE TABLE IF NOT EXISTS users (
    tenant TEXT NOT NULL, username TEXT NOT NULL, display_name TEXT NOT NULL, password_hash TEXT,
    system_admin BIGINT NOT NULL, created_at TEXT NOT NULL, disabled_at TEXT,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS roles (
    tenant TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS role_permissions (
    tenant TEXT NOT NULL, role TEXT NOT NULL, permission TEXT NOT NULL,
    PRIMARY KEY (tenant, role, permission),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS user_roles (
    tenant TEXT NOT NULL, username TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (tenant, username, role),
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT,
    last_used_at TEXT, revoked_at TEXT,
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username)
);
CREATE INDEX IF NOT EXISTS tokens_by_tenant ON tokens (tenant, created_at);
CREATE TABLE IF NOT EXISTS audit (
    tenant TEXT NOT NULL, seq BIGINT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,
    duration_us BIGINT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (tenant, seq)
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE TABLE IF NOT EXISTS trusted_keys (
    public_key TEXT PRIMARY KEY, name TEXT NOT NULL, added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trusted_keys_by_name ON trusted_keys (name);
CREATE TABLE IF NOT EXISTS package_signatures (
    id TEXT NOT NULL, version TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL, at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_key ON login_failures (key, at_ms);
"#;

/// Tables in an order that satisfies the foreign keys, for copying and counting.
pub const TABLES: &[&str] = &[
    "tenants",
    "packages",
    "plugins",
    "grants",
    "enablements",
    "kv",
    "events",
    "jobs",
    "job_runs",
    "deliveries",
    "users",
    "roles",
    "role_permissions",
    "user_roles",
    "tokens",
    "audit",
    "trusted_keys",
    "package_signatures",
    "login_failures",
];

/// Advisory lock classes (the first key of `pg_advisory_lock(int, int)`).
const LOCK_HOST: i32 = 0x626f_0001;
const LOCK_SCOPE: i32 = 0x626f_0002;
const LOCK_SCHEMA: i32 = 0x626f_0003;

/// Connections one host keeps open at most; further transactions wait for one.
const DEFAULT_MAX_CONNECTIONS: usize = 16;
/// How long a transaction waits for a free connection.
const CONNECTION_WAIT: Duration = Duration::from_secs(30);

/// PostgreSQL storage shared by every host that names the same database.
#[derive(Clone)]
pub struct PostgresStorage {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    pool: Mutex<Pool>,
    free: Condvar,
    max: usize,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    open: usize,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("url", &redact(&self.inner.url))
            .finish()
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// One connection and its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

thread_local! {
    static CONFLICT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a storage operation on this thread failed with a retryable conflict since
/// the last call; clears the mark. Plugin calls turn storage errors into traps, so
/// the host asks this to know that a failed call is worth running again.
pub fn take_conflict() -> bool {
    CONFLICT.with(|c| c.replace(false))
}

fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        if is_retryable(&e) {
            CONFLICT.with(|c| c.set(true));
            StoreError::Retry(describe(&e))
        } else {
            StoreError::Backend(describe(&e))
        }
    }
}

/// An insert found a row with the same key and did nothing.
struct Duplicate;

/// A duplicate key is a conflict the caller reports.
fn conflict_on_unique(_: Duplicate, what: impl FnOnce() -> String) -> StoreError {
    StoreError::Conflict(what())
}

/// A duplicate of a number this transaction derived from the rows it saw (the next
/// audit link) means a concurrent writer took it first: retry.
fn retry_on_unique(_: Duplicate, what: impl FnOnce() -> String) -> StoreError {
    CONFLICT.with(|c| c.set(true));
    StoreError::Retry(what())
}

impl Conn {
    fn prepare(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let s = self.prepare(sql)?;
        Ok(self.client.query(&s, params)?)
    }

    fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        let s = self.prepare(sql)?;
        Ok(self.client.query_opt(&s, params)?)
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        let s = self.prepare(sql)?;
        Ok(self.client.query_one(&s, params)?)
    }

    fn exec(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.prepare(sql)?;
        Ok(self.client.execute(&s, params)?)
    }

    /// Run an `INSERT` with `ON CONFLICT DO NOTHING` appended: a duplicate key leaves
    /// the transaction usable (a failed statement would abort it in PostgreSQL, unlike
    /// SQLite) and is reported as [`Duplicate`].
    fn exec_raw(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<std::result::Result<u64, Duplicate>> {
        let n = self.exec(&format!("{sql} ON CONFLICT DO NOTHING"), params)?;
        Ok(if n == 0 { Err(Duplicate) } else { Ok(n) })
    }
}

impl PostgresStorage {
    /// Connect to `url` (`postgres://user:password@host:port/database`) and bring the
    /// schema up to date.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, DEFAULT_MAX_CONNECTIONS)
    }

    /// [`PostgresStorage::open`] with at most `max_connections` connections.
    pub fn open_with(url: &str, max_connections: usize) -> Result<Self> {
        let storage = PostgresStorage {
            inner: Arc::new(Inner {
                url: url.to_string(),
                pool: Mutex::new(Pool::default()),
                free: Condvar::new(),
                max: max_connections.max(2),
            }),
        };
        let mut conn = storage.connect()?;
        // Hosts starting together must not run the DDL at once.
        let ddl = SCHEMA.replace(" TEXT", " TEXT COLLATE \"C\"");
        conn.client
            .execute("SELECT pg_advisory_lock($1, 0)", &[&LOCK_SCHEMA])?;
        let applied = conn.client.batch_execute(&ddl);
        conn.client
            .execute("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_SCHEMA])?;
        applied?;
        if let Ok(mut pool) = storage.inner.pool.lock() {
            pool.open += 1;
        }
        storage.release(conn);
        Ok(storage)
    }

    fn connect(&self) -> Result<Conn> {
        let client = Client::connect(&self.inner.url, NoTls).map_err(|e| {
            StoreError::Backend(format!(
                "cannot connect to PostgreSQL at {}: {}; check --database / BACKOFFICE_DATABASE_URL and that the server is running",
                redact(&self.inner.url),
                describe(&e)
            ))
        })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn acquire(&self) -> Result<Conn> {
        let poisoned = || StoreError::Backend("connection pool poisoned".into());
        let mut pool = self.inner.pool.lock().map_err(|_| poisoned())?;
        let deadline = std::time::Instant::now() + CONNECTION_WAIT;
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(conn);
            }
            if pool.open < self.inner.max {
                pool.open += 1;
                drop(pool);
                return self.connect().inspect_err(|_| self.forget());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Backend(format!(
                    "all {} database connections stayed busy for {} s; retry",
                    self.inner.max,
                    CONNECTION_WAIT.as_secs()
                )));
            }
            pool = self
                .inner
                .free
                .wait_timeout(pool, left)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    fn release(&self, conn: Conn) {
        if let Ok(mut pool) = self.inner.pool.lock() {
            pool.idle.push(conn);
        }
        self.inner.free.notify_one();
    }

    /// A connection was closed instead of returned.
    fn forget(&self) {
        if let Ok(mut pool) = self.inner.pool.lock() {
            pool.open = pool.open.saturating_sub(1);
        }
        self.inner.free.notify_one();
    }

    fn start(&self, locks: &[(&str, i32, i32)], begin: &str) -> Result<Box<dyn Transaction>> {
        let mut conn = self.acquire()?;
        // All locks in one round trip (the keys are integers of our own), then BEGIN
        // on its own: in one multi-statement query the lock's statement would start
        // the transaction, and take its snapshot before the lock was granted.
        let mut started = || -> Result<()> {
            if !locks.is_empty() {
                let calls: Vec<String> = locks
                    .iter()
                    .map(|(function, class, key)| format!("{function}({class}, {key})"))
                    .collect();
                conn.client
                    .batch_execute(&format!("SELECT {}", calls.join(", ")))?;
            }
            conn.client.batch_execute(begin)?;
            Ok(())
        };
        if let Err(e) = started() {
            // Locks may be held: a fresh connection is the simplest clean state.
            drop(conn);
            self.forget();
            return Err(e);
        }
        Ok(Box::new(PgTx {
            storage: self.clone(),
            conn: Some(conn),
            locked: !locks.is_empty(),
        }))
    }

    /// Run `sql` (one statement without parameters) outside any transaction; for
    /// `migrate-storage`.
    pub fn client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut conn = self.acquire()?;
        let out = f(&mut conn.client);
        self.release(conn);
        out
    }
}

/// A stable 32-bit key of a text, for advisory locks.
fn lock_key(text: &str) -> i32 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(text.as_bytes());
    i32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

impl Storage for PostgresStorage {
    fn begin(&self) -> Result<Box<dyn Transaction>> {
        self.start(
            &[("pg_advisory_lock", LOCK_HOST, 0)],
            "BEGIN ISOLATION LEVEL REPEATABLE READ",
        )
    }

    fn begin_scoped(&self, scope: &str) -> Result<Box<dyn Transaction>> {
        self.start(
            &[
                ("pg_advisory_lock_shared", LOCK_HOST, 0),
                ("pg_advisory_lock", LOCK_SCOPE, lock_key(scope)),
            ],
            "BEGIN ISOLATION LEVEL REPEATABLE READ",
        )
    }

    fn begin_read(&self) -> Result<Box<dyn Transaction>> {
        self.start(&[], "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    fn ping(&self) -> Result<()> {
        let mut conn = self.acquire()?;
        match conn.client.query_one("SELECT count(*) FROM plugins", &[]) {
            Ok(_) => {
                self.release(conn);
                Ok(())
            }
            Err(e) => {
                drop(conn);
                self.forget();
                Err(e.into())
            }
        }
    }
}

struct PgTx {
    storage: PostgresStorage,
    conn: Option<Conn>,
    /// Whether session advisory locks were taken before `BEGIN`.
    locked: bool,
}

impl PgTx {
    fn c(&mut self) -> Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))
    }

    /// End the transaction with `end` (COMMIT or ROLLBACK), drop the locks and return
    /// the connection; a connection that failed to do so is closed.
    fn finish(&mut self, end: &str) -> Result<()> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        // End and unlock in one round trip; if the end fails the unlock is skipped
        // (a multi-statement query stops at the first error) and done below.
        let sql = if self.locked {
            format!("{end}; SELECT pg_advisory_unlock_all()")
        } else {
            end.to_string()
        };
        match conn.client.batch_execute(&sql) {
            Ok(()) => {
                self.storage.release(conn);
                Ok(())
            }
            Err(e) => {
                // A failed COMMIT rolled back; keep the connection if it is usable.
                if conn
                    .client
                    .batch_execute("ROLLBACK; SELECT pg_advisory_unlock_all()")
                    .is_ok()
                {
                    self.storage.release(conn);
                } else {
                    drop(conn);
                    self.storage.forget();
                }
                Err(e.into())
            }
        }
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let _ = self.finish("ROLLBACK");
    }
}

fn u(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn row_to_tenant(r: &Row) -> Tenant {
    Tenant {
        id: r.get(0),
        name: r.get(1),
        time_zone: r.get(2),
        created_at: r.get(3),
    }
}

fn row_to_enablement(r: &Row) -> Enablement {
    Enablement {
        tenant: r.get(0),
        plugin: r.get(1),
        enabled: r.get::<_, i64>(2) != 0,
        data_version: r.get(3),
        changed_at: r.get(4),
    }
}

fn row_to_package(r: &Row) -> PackageRecord {
    PackageRecord {
        id: r.get(0),
        version: r.get(1),
        manifest_json: r.get(2),
        digest: r.get(3),
        component: Vec::new(),
        installed_at: r.get(4),
    }
}

const EVENT_COLUMNS: &str = "id, tenant, seq, topic, payload, plugin, version, created_at_ms";

fn row_to_event(r: &Row) -> EventRecord {
    EventRecord {
        id: r.get(0),
        tenant: r.get(1),
        seq: r.get(2),
        topic: r.get(3),
        payload: r.get(4),
        plugin: r.get(5),
        version: r.get(6),
        created_at_ms: r.get(7),
    }
}

const JOB_COLUMNS: &str = "id, tenant, plugin, job, cron, payload, state, next_run_ms, attempts, \
                           lease_until_ms, lease_owner, last_error";

fn row_to_job(r: &Row) -> JobRecord {
    JobRecord {
        id: r.get(0),
        tenant: r.get(1),
        plugin: r.get(2),
        job: r.get(3),
        cron: r.get(4),
        payload: r.get(5),
        state: r.get(6),
        next_run_ms: r.get(7),
        attempts: u(r.get(8)),
        lease_until_ms: r.get(9),
        lease_owner: r.get(10),
        last_error: r.get(11),
    }
}

const RUN_COLUMNS: &str =
    "id, job_id, tenant, plugin, job, attempt, started_ms, duration_ms, outcome, error";

fn row_to_run(r: &Row) -> JobRun {
    JobRun {
        id: r.get(0),
        job_id: r.get(1),
        tenant: r.get(2),
        plugin: r.get(3),
        job: r.get(4),
        attempt: u(r.get(5)),
        started_ms: r.get(6),
        duration_ms: r.get(7),
        outcome: r.get(8),
        error: r.get(9),
    }
}

const DELIVERY_COLUMNS: &str = "id, event_id, tenant, topic, subscriber, state, attempts, \
                                next_attempt_ms, last_error, done_ms";

fn row_to_delivery(r: &Row) -> DeliveryRecord {
    DeliveryRecord {
        id: r.get(0),
        event_id: r.get(1),
        tenant: r.get(2),
        topic: r.get(3),
        subscriber: r.get(4),
        state: r.get(5),
        attempts: u(r.get(6)),
        next_attempt_ms: r.get(7),
        last_error: r.get(8),
        done_ms: r.get(9),
    }
}

const USER_COLUMNS: &str =
    "tenant, username, display_name, password_hash, system_admin, created_at, disabled_at";

fn row_to_user(r: &Row) -> UserRecord {
    UserRecord {
        tenant: r.get(0),
        username: r.get(1),
        display_name: r.get(2),
        password_hash: r.get(3),
        system_admin: r.get::<_, i64>(4) != 0,
        created_at: r.get(5),
        disabled_at: r.get(6),
    }
}

const TOKEN_COLUMNS: &str =
    "id, tenant, username, kind, name, hash, created_at, expires_at, last_used_at, revoked_at";

fn row_to_token(r: &Row) -> TokenRecord {
    TokenRecord {
        id: r.get(0),
        tenant: r.get(1),
        username: r.get(2),
        kind: r.get(3),
        name: r.get(4),
        hash: r.get(5),
        created_at: r.get(6),
        expires_at: r.get(7),
        last_used_at: r.get(8),
        revoked_at: r.get(9),
    }
}

const AUDIT_COLUMNS: &str =
    "tenant, seq, at, actor, action, target, outcome, detail, duration_us, prev_hash, hash";

fn row_to_audit(r: &Row) -> AuditRecord {
    AuditRecord {
        tenant: r.get(0),
        seq: r.get::<_, i64>(1).max(0) as u64,
        at: r.get(2),
        actor: r.get(3),
        action: r.get(4),
        target: r.get(5),
        outcome: r.get(6),
        detail: r.get(7),
        duration_us: r.get::<_, Option<i64>>(8).map(|d| d.max(0) as u64),
        prev_hash: r.get(9),
        hash: r.get(10),
    }
}

fn role_permissions(c: &mut Conn, tenant: &str, role: &str) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT permission FROM role_permissions WHERE tenant = $1 AND role = $2 ORDER BY 1",
        &[&tenant, &role],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

impl PgTx {
    /// Lock row `id` of `table` if `condition` still holds and no other worker has it
    /// locked. A row another transaction changed after this one's snapshot counts as
    /// taken: its savepoint is rolled back and the transaction goes on.
    fn try_lock(&mut self, table: &str, id: i64, condition: &str, now_ms: i64) -> Result<bool> {
        let c = self.c()?;
        c.client.batch_execute("SAVEPOINT claim_row")?;
        let sql = format!(
            "SELECT id FROM {table} WHERE id = $1 AND {condition}
               AND (lease_until_ms IS NULL OR lease_until_ms <= $2)
             FOR UPDATE SKIP LOCKED"
        );
        let stmt = c.prepare(&sql)?;
        match c.client.query_opt(&stmt, &[&id, &now_ms]) {
            Ok(row) => {
                c.client.batch_execute("RELEASE claim_row")?;
                Ok(row.is_some())
            }
            Err(e) if is_retryable(&e) => {
                c.client
                    .batch_execute("ROLLBACK TO claim_row; RELEASE claim_row")?;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Transaction for PgTx {
    fn commit(mut self: Box<Self>) -> Result<()> {
        if self.conn.is_none() {
            return Err(StoreError::Backend("transaction already finished".into()));
        }
        self.finish("COMMIT")
    }

    fn savepoint(&mut self, name: &str) -> Result<()> {
        Ok(self
            .c()?
            .client
            .batch_execute(&format!("SAVEPOINT {name}"))?)
    }

    fn release(&mut self, name: &str) -> Result<()> {
        Ok(self.c()?.client.batch_execute(&format!("RELEASE {name}"))?)
    }

    fn rollback_to(&mut self, name: &str) -> Result<()> {
        Ok(self
            .c()?
            .client
            .batch_execute(&format!("ROLLBACK TO {name}; RELEASE {name}"))?)
    }

    fn kv_get(&mut self, scope: &Scope, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT value FROM kv WHERE tenant = $1 AND plugin = $2 AND key = $3",
                &[&scope.tenant, &scope.plugin, &key],
            )?
            .map(|r| r.get(0)))
    }

    fn kv_put(&mut self, scope: &Scope, key: &str, value: &[u8]) -> Result<()> {
        self.c()?.exec(
            "INSERT INTO kv (tenant, plugin, key, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, plugin, key) DO UPDATE SET value = excluded.value",
            &[&scope.tenant, &scope.plugin, &key, &value],
        )?;
        Ok(())
    }

    fn kv_delete(&mut self, scope: &Scope, key: &str) -> Result<bool> {
        Ok(self.c()?.exec(
            "DELETE FROM kv WHERE tenant = $1 AND plugin = $2 AND key = $3",
            &[&scope.tenant, &scope.plugin, &key],
        )? > 0)
    }

    fn kv_scan(&mut self, scope: &Scope, query: &ScanQuery) -> Result<ScanPage> {
        let mut sql = String::from("SELECT key, value FROM kv WHERE tenant = $1 AND plugin = $2");
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&scope.tenant, &scope.plugin];
        if let Some(start) = &query.start {
            args.push(start);
            sql.push_str(&format!(" AND key >= ${}", args.len()));
        }
        if let Some(end) = &query.end {
            args.push(end);
            sql.push_str(&format!(" AND key < ${}", args.len()));
        }
        if let Some(after) = &query.after {
            args.push(after);
            let op = if query.reverse { "<" } else { ">" };
            sql.push_str(&format!(" AND key {op} ${}", args.len()));
        }
        let fetch = i64::from(query.limit) + 1;
        args.push(&fetch);
        let order = if query.reverse { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY key {order} LIMIT ${}", args.len()));
        let rows = self.c()?.query(&sql, &args)?;
        let mut entries: Vec<(String, Vec<u8>)> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let more = entries.len() > query.limit as usize;
        entries.truncate(query.limit as usize);
        Ok(ScanPage { entries, more })
    }

    fn kv_purge_plugin(&mut self, plugin: &str) -> Result<u64> {
        self.c()?
            .exec("DELETE FROM kv WHERE plugin = $1", &[&plugin])
    }

    fn kv_count_plugin(&mut self, plugin: &str) -> Result<u64> {
        let n: i64 = self
            .c()?
            .query_one("SELECT count(*) FROM kv WHERE plugin = $1", &[&plugin])?
            .get(0);
        Ok(n.max(0) as u64)
    }

    fn tenant_insert(&mut self, t: &Tenant) -> Result<()> {
        self.c()?
            .exec_raw(
                "INSERT INTO tenants (id, name, time_zone, created_at) VALUES ($1, $2, $3, $4)",
                &[&t.id, &t.name, &t.time_zone, &t.created_at],
            )?
            .map_err(|e| conflict_on_unique(e, || format!("tenant '{}' already exists", t.id)))?;
        Ok(())
    }

    fn tenant_get(&mut self, id: &str) -> Result<Option<Tenant>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT id, name, time_zone, created_at FROM tenants WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(row_to_tenant))
    }

    fn tenant_list(&mut self) -> Result<Vec<Tenant>> {
        Ok(self
            .c()?
            .query(
                "SELECT id, name, time_zone, created_at FROM tenants ORDER BY id",
                &[],
            )?
            .iter()
            .map(row_to_tenant)
            .collect())
    }

    fn package_insert(&mut self, p: &PackageRecord) -> Result<()> {
        let c = self.c()?;
        c.exec_raw(
            "INSERT INTO packages (id, version, manifest, digest, component, installed_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &p.id,
                &p.version,
                &p.manifest_json,
                &p.digest,
                &p.component,
                &p.installed_at,
            ],
        )?
        .map_err(|e| {
            conflict_on_unique(e, || {
                format!(
                    "plugin '{}' version {} is already installed",
                    p.id, p.version
                )
            })
        })?;
        c.exec(
            "INSERT INTO plugins (id, current_version) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET current_version = excluded.current_version",
            &[&p.id, &p.version],
        )?;
        Ok(())
    }

    fn package_current(&mut self, id: &str) -> Result<Option<PackageRecord>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT p.id, p.version, p.manifest, p.digest, p.installed_at
                 FROM plugins c JOIN packages p ON p.id = c.id AND p.version = c.current_version
                 WHERE c.id = $1",
                &[&id],
            )?
            .as_ref()
            .map(row_to_package))
    }

    fn package_head(&mut self, id: &str) -> Result<Option<PackageRecord>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT p.id, p.version, '', p.digest, p.installed_at
                 FROM plugins c JOIN packages p ON p.id = c.id AND p.version = c.current_version
                 WHERE c.id = $1",
                &[&id],
            )?
            .as_ref()
            .map(row_to_package))
    }

    fn package_manifest(&mut self, id: &str, version: &str) -> Result<Option<String>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT manifest FROM packages WHERE id = $1 AND version = $2",
                &[&id, &version],
            )?
            .map(|r| r.get(0)))
    }

    fn package_component(&mut self, id: &str, version: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT component FROM packages WHERE id = $1 AND version = $2",
                &[&id, &version],
            )?
            .map(|r| r.get(0)))
    }

    fn package_list(&mut self) -> Result<Vec<PackageRecord>> {
        Ok(self
            .c()?
            .query(
                "SELECT p.id, p.version, p.manifest, p.digest, p.installed_at
                 FROM plugins c JOIN packages p ON p.id = c.id AND p.version = c.current_version
                 ORDER BY p.id",
                &[],
            )?
            .iter()
            .map(row_to_package)
            .collect())
    }

    fn package_remove(&mut self, id: &str) -> Result<()> {
        let c = self.c()?;
        for table in [
            "DELETE FROM enablements WHERE plugin = $1",
            "DELETE FROM grants WHERE plugin = $1",
            "DELETE FROM plugins WHERE id = $1",
            "DELETE FROM packages WHERE id = $1",
            "DELETE FROM package_signatures WHERE id = $1",
        ] {
            c.exec(table, &[&id])?;
        }
        Ok(())
    }

    fn grants_set(&mut self, plugin: &str, capabilities: &[String]) -> Result<()> {
        let c = self.c()?;
        c.exec("DELETE FROM grants WHERE plugin = $1", &[&plugin])?;
        for cap in capabilities {
            c.exec(
                "INSERT INTO grants (plugin, capability) VALUES ($1, $2)",
                &[&plugin, cap],
            )?;
        }
        Ok(())
    }

    fn grants_get(&mut self, plugin: &str) -> Result<Vec<String>> {
        Ok(self
            .c()?
            .query(
                "SELECT capability FROM grants WHERE plugin = $1 ORDER BY 1",
                &[&plugin],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn enablement_put(&mut self, e: &Enablement) -> Result<()> {
        self.c()?.exec(
            "INSERT INTO enablements (tenant, plugin, enabled, data_version, changed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, plugin) DO UPDATE SET enabled = excluded.enabled,
                data_version = excluded.data_version, changed_at = excluded.changed_at",
            &[
                &e.tenant,
                &e.plugin,
                &i64::from(e.enabled),
                &e.data_version,
                &e.changed_at,
            ],
        )?;
        Ok(())
    }

    fn enablement_get(&mut self, tenant: &str, plugin: &str) -> Result<Option<Enablement>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT tenant, plugin, enabled, data_version, changed_at FROM enablements
                 WHERE tenant = $1 AND plugin = $2",
                &[&tenant, &plugin],
            )?
            .as_ref()
            .map(row_to_enablement))
    }

    fn enablement_for_plugin(&mut self, plugin: &str) -> Result<Vec<Enablement>> {
        Ok(self
            .c()?
            .query(
                "SELECT tenant, plugin, enabled, data_version, changed_at FROM enablements
                 WHERE plugin = $1 ORDER BY tenant",
                &[&plugin],
            )?
            .iter()
            .map(row_to_enablement)
            .collect())
    }

    fn enablement_for_tenant(&mut self, tenant: &str) -> Result<Vec<Enablement>> {
        Ok(self
            .c()?
            .query(
                "SELECT tenant, plugin, enabled, data_version, changed_at FROM enablements
                 WHERE tenant = $1 ORDER BY plugin",
                &[&tenant],
            )?
            .iter()
            .map(row_to_enablement)
            .collect())
    }

    fn event_append(&mut self, e: &NewEvent) -> Result<EventRecord> {
        let c = self.c()?;
        let seq: i64 = c
            .query_one(
                "SELECT coalesce(max(seq), 0) + 1 FROM events WHERE tenant = $1",
                &[&e.tenant],
            )?
            .get(0);
        let row = c.query_opt(
            "INSERT INTO events (tenant, seq, topic, payload, plugin, version, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, seq) DO NOTHING RETURNING id",
            &[
                &e.tenant,
                &seq,
                &e.topic,
                &e.payload,
                &e.plugin,
                &e.version,
                &e.created_at_ms,
            ],
        )?;
        let Some(row) = row else {
            return Err(retry_on_unique(Duplicate, || {
                format!(
                    "event {seq} of tenant '{}' was taken by a concurrent call",
                    e.tenant
                )
            }));
        };
        let id: i64 = row.get(0);
        Ok(EventRecord {
            id,
            tenant: e.tenant.clone(),
            seq,
            topic: e.topic.clone(),
            payload: e.payload.clone(),
            plugin: e.plugin.clone(),
            version: e.version.clone(),
            created_at_ms: e.created_at_ms,
        })
    }

    fn event_list(&mut self, f: &EventFilter) -> Result<Vec<EventRecord>> {
        Ok(self
            .c()?
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR topic = $2)
                     ORDER BY id DESC LIMIT $3"
                ),
                &[&f.tenant, &f.topic, &i64::from(f.limit)],
            )?
            .iter()
            .map(row_to_event)
            .collect())
    }

    fn job_upsert_cron(
        &mut self,
        tenant: &str,
        plugin: &str,
        job: &str,
        cron: &str,
        next_run_ms: i64,
    ) -> Result<()> {
        self.c()?.exec(
            "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
             VALUES ($1, $2, $3, $4, 'null', 'scheduled', $5)
             ON CONFLICT (tenant, plugin, job) WHERE cron IS NOT NULL DO UPDATE SET
                cron = excluded.cron, next_run_ms = excluded.next_run_ms,
                state = CASE WHEN jobs.state = 'failed' THEN 'failed' ELSE 'scheduled' END,
                lease_until_ms = NULL, lease_owner = NULL",
            &[&tenant, &plugin, &job, &cron, &next_run_ms],
        )?;
        Ok(())
    }

    fn job_insert_once(
        &mut self,
        tenant: &str,
        plugin: &str,
        job: &str,
        payload: &str,
        at_ms: i64,
    ) -> Result<i64> {
        Ok(self
            .c()?
            .query_one(
                "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
                 VALUES ($1, $2, $3, NULL, $4, 'scheduled', $5) RETURNING id",
                &[&tenant, &plugin, &job, &payload, &at_ms],
            )?
            .get(0))
    }

    fn job_pause(&mut self, tenant: &str, plugin: &str) -> Result<()> {
        self.c()?.exec(
            "UPDATE jobs SET state = 'paused' WHERE tenant = $1 AND plugin = $2 AND state = 'scheduled'",
            &[&tenant, &plugin],
        )?;
        Ok(())
    }

    fn job_resume_once(&mut self, tenant: &str, plugin: &str) -> Result<()> {
        self.c()?.exec(
            "UPDATE jobs SET state = 'scheduled'
             WHERE tenant = $1 AND plugin = $2 AND state = 'paused' AND cron IS NULL",
            &[&tenant, &plugin],
        )?;
        Ok(())
    }

    fn job_delete_plugin(&mut self, plugin: &str) -> Result<()> {
        self.c()?
            .exec("DELETE FROM jobs WHERE plugin = $1", &[&plugin])?;
        Ok(())
    }

    fn job_cancel(&mut self, tenant: &str, plugin: &str, id: i64) -> Result<bool> {
        Ok(self.c()?.exec(
            "UPDATE jobs SET state = 'cancelled'
             WHERE id = $1 AND tenant = $2 AND plugin = $3 AND cron IS NULL
               AND state IN ('scheduled', 'paused') AND lease_owner IS NULL",
            &[&id, &tenant, &plugin],
        )? > 0)
    }

    fn job_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<(JobRecord, i64)>> {
        // Candidates beyond `limit`: some may turn out to be taken by another host.
        let due: Vec<JobRecord> = self
            .c()?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs
                     WHERE state = 'scheduled' AND next_run_ms <= $1
                       AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
                     ORDER BY next_run_ms, id LIMIT $2"
                ),
                &[&now_ms, &(i64::from(limit) * 4)],
            )?
            .iter()
            .map(row_to_job)
            .collect();
        let mut claimed = Vec::new();
        for mut job in due {
            if claimed.len() >= limit as usize {
                break;
            }
            if !self.try_lock("jobs", job.id, "state = 'scheduled'", now_ms)? {
                continue;
            }
            let c = self.c()?;
            c.exec(
                "UPDATE jobs SET lease_until_ms = $2, lease_owner = $3, attempts = attempts + 1
                 WHERE id = $1",
                &[&job.id, &lease_until_ms, &owner],
            )?;
            c.exec(
                "UPDATE job_runs SET outcome = 'abandoned', error = 'the worker running it stopped'
                 WHERE job_id = $1 AND outcome = 'running'",
                &[&job.id],
            )?;
            job.attempts += 1;
            job.lease_until_ms = Some(lease_until_ms);
            job.lease_owner = Some(owner.to_string());
            let run_id: i64 = c
                .query_one(
                    "INSERT INTO job_runs (job_id, tenant, plugin, job, attempt, started_ms, outcome)
                     VALUES ($1, $2, $3, $4, $5, $6, 'running') RETURNING id",
                    &[
                        &job.id,
                        &job.tenant,
                        &job.plugin,
                        &job.job,
                        &i64::from(job.attempts),
                        &now_ms,
                    ],
                )?
                .get(0);
            claimed.push((job, run_id));
        }
        Ok(claimed)
    }

    fn job_finish(
        &mut self,
        id: i64,
        run_id: i64,
        owner: &str,
        duration_ms: i64,
        finish: &Finish,
    ) -> Result<bool> {
        let (outcome, error) = match finish {
            Finish::Done { .. } => ("ok", None),
            Finish::Retry { error, .. } | Finish::Dead { error } => ("error", Some(error.as_str())),
            Finish::Skipped { reason } => ("skipped", Some(reason.as_str())),
        };
        let c = self.c()?;
        c.exec(
            "UPDATE job_runs SET outcome = $2, error = $3, duration_ms = $4
             WHERE id = $1 AND outcome = 'running'",
            &[&run_id, &outcome, &error, &duration_ms],
        )?;
        const RELEASE: &str = "lease_until_ms = NULL, lease_owner = NULL";
        const MINE: &str = "WHERE id = $1 AND lease_owner = $2";
        let n = match finish {
            Finish::Done {
                next_ms: Some(next),
            } => c.exec(
                &format!(
                    "UPDATE jobs SET state = 'scheduled', next_run_ms = $3, attempts = 0,
                       last_error = NULL, {RELEASE} {MINE}"
                ),
                &[&id, &owner, next],
            )?,
            Finish::Done { next_ms: None } => c.exec(
                &format!("UPDATE jobs SET state = 'done', last_error = NULL, {RELEASE} {MINE}"),
                &[&id, &owner],
            )?,
            Finish::Retry { at_ms, error } => c.exec(
                &format!("UPDATE jobs SET next_run_ms = $3, last_error = $4, {RELEASE} {MINE}"),
                &[&id, &owner, at_ms, error],
            )?,
            Finish::Dead { error } => c.exec(
                &format!("UPDATE jobs SET state = 'failed', last_error = $3, {RELEASE} {MINE}"),
                &[&id, &owner, error],
            )?,
            Finish::Skipped { reason } => c.exec(
                &format!(
                    "UPDATE jobs SET state = CASE WHEN cron IS NULL THEN 'paused' ELSE state END,
                       last_error = $3, {RELEASE} {MINE}"
                ),
                &[&id, &owner, reason],
            )?,
        };
        Ok(n > 0)
    }

    fn job_get(&mut self, id: i64) -> Result<Option<JobRecord>> {
        Ok(self
            .c()?
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[&id],
            )?
            .as_ref()
            .map(row_to_job))
    }

    fn job_list(&mut self, f: &JobFilter) -> Result<Vec<JobRecord>> {
        Ok(self
            .c()?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs
                     WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR plugin = $2)
                     ORDER BY tenant, plugin, job, id"
                ),
                &[&f.tenant, &f.plugin],
            )?
            .iter()
            .map(row_to_job)
            .collect())
    }

    fn job_runs(&mut self, job_id: Option<i64>, limit: u32) -> Result<Vec<JobRun>> {
        Ok(self
            .c()?
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM job_runs WHERE ($1::bigint IS NULL OR job_id = $1)
                     ORDER BY id DESC LIMIT $2"
                ),
                &[&job_id, &i64::from(limit)],
            )?
            .iter()
            .map(row_to_run)
            .collect())
    }

    fn job_retry(&mut self, id: i64, now_ms: i64) -> Result<bool> {
        Ok(self.c()?.exec(
            "UPDATE jobs SET state = 'scheduled', attempts = 0, next_run_ms = $2,
                lease_until_ms = NULL, lease_owner = NULL
             WHERE id = $1 AND state = 'failed'",
            &[&id, &now_ms],
        )? > 0)
    }

    fn event_unfanned(&mut self, limit: u32) -> Result<Vec<EventRecord>> {
        Ok(self
            .c()?
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE fanned_out = 0 ORDER BY id LIMIT $1"
                ),
                &[&i64::from(limit)],
            )?
            .iter()
            .map(row_to_event)
            .collect())
    }

    fn event_fan_out(
        &mut self,
        event: &EventRecord,
        subscribers: &[String],
        now_ms: i64,
    ) -> Result<()> {
        let c = self.c()?;
        for s in subscribers {
            c.exec(
                "INSERT INTO deliveries (event_id, tenant, topic, subscriber, state, next_attempt_ms)
                 VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT DO NOTHING",
                &[&event.id, &event.tenant, &event.topic, s, &now_ms],
            )?;
        }
        c.exec(
            "UPDATE events SET fanned_out = 1 WHERE id = $1",
            &[&event.id],
        )?;
        Ok(())
    }

    fn delivery_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<(DeliveryRecord, EventRecord)>> {
        // Only the oldest pending delivery of each (tenant, topic, subscriber) may run,
        // so each subscriber sees a topic in emit order.
        let heads: Vec<(DeliveryRecord, Option<i64>)> = self
            .c()?
            .query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS}, lease_until_ms FROM (
                       SELECT DISTINCT ON (tenant, topic, subscriber) *
                       FROM deliveries WHERE state = 'pending'
                       ORDER BY tenant, topic, subscriber, event_id
                     ) heads ORDER BY event_id"
                ),
                &[],
            )?
            .iter()
            .map(|r| (row_to_delivery(r), r.get(10)))
            .collect();
        let mut claimed = Vec::new();
        for (mut d, lease_until) in heads {
            if claimed.len() >= limit as usize {
                break;
            }
            if d.next_attempt_ms > now_ms || lease_until.is_some_and(|l| l > now_ms) {
                continue;
            }
            if !self.try_lock("deliveries", d.id, "state = 'pending'", now_ms)? {
                continue;
            }
            let c = self.c()?;
            c.exec(
                "UPDATE deliveries SET lease_until_ms = $2, lease_owner = $3,
                    attempts = attempts + 1 WHERE id = $1",
                &[&d.id, &lease_until_ms, &owner],
            )?;
            d.attempts += 1;
            let event = c.query_one(
                &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1"),
                &[&d.event_id],
            )?;
            claimed.push((d, row_to_event(&event)));
        }
        Ok(claimed)
    }

    fn delivery_finish(
        &mut self,
        id: i64,
        owner: &str,
        now_ms: i64,
        finish: &Finish,
    ) -> Result<bool> {
        let (state, next, error): (&str, Option<i64>, Option<&str>) = match finish {
            Finish::Done { .. } => ("done", None, None),
            Finish::Retry { at_ms, error } => ("pending", Some(*at_ms), Some(error.as_str())),
            Finish::Dead { error } => ("dead", None, Some(error.as_str())),
            Finish::Skipped { reason } => ("skipped", None, Some(reason.as_str())),
        };
        Ok(self.c()?.exec(
            "UPDATE deliveries SET state = $3, next_attempt_ms = coalesce($4, next_attempt_ms),
                last_error = coalesce($5, last_error),
                done_ms = CASE WHEN $3 = 'done' THEN $6 ELSE done_ms END,
                lease_until_ms = NULL, lease_owner = NULL
             WHERE id = $1 AND lease_owner = $2",
            &[&id, &owner, &state, &next, &error, &now_ms],
        )? > 0)
    }

    fn delivery_list(&mut self, event_id: i64) -> Result<Vec<DeliveryRecord>> {
        Ok(self
            .c()?
            .query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE event_id = $1 ORDER BY subscriber"
                ),
                &[&event_id],
            )?
            .iter()
            .map(row_to_delivery)
            .collect())
    }

    fn delivery_retry(&mut self, id: i64, now_ms: i64) -> Result<bool> {
        Ok(self.c()?.exec(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $2,
                lease_until_ms = NULL, lease_owner = NULL
             WHERE id = $1 AND state = 'dead'",
            &[&id, &now_ms],
        )? > 0)
    }

    fn user_insert(&mut self, u: &UserRecord) -> Result<()> {
        self.c()?
            .exec_raw(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
                &[
                    &u.tenant,
                    &u.username,
                    &u.display_name,
                    &u.password_hash,
                    &i64::from(u.system_admin),
                    &u.created_at,
                    &u.disabled_at,
                ],
            )?
            .map_err(|e| {
                conflict_on_unique(e, || format!("user '{}' already exists", u.username))
            })?;
        Ok(())
    }

    fn user_get(&mut self, tenant: &str, username: &str) -> Result<Option<UserRecord>> {
        Ok(self
            .c()?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND username = $2"),
                &[&tenant, &username],
            )?
            .as_ref()
            .map(row_to_user))
    }

    fn user_list(&mut self, tenant: &str) -> Result<Vec<UserRecord>> {
        Ok(self
            .c()?
            .query(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 ORDER BY username"),
                &[&tenant],
            )?
            .iter()
            .map(row_to_user)
            .collect())
    }

    fn user_update(&mut self, u: &UserRecord) -> Result<()> {
        self.c()?.exec(
            "UPDATE users SET display_name = $3, password_hash = $4, disabled_at = $5
             WHERE tenant = $1 AND username = $2",
            &[
                &u.tenant,
                &u.username,
                &u.display_name,
                &u.password_hash,
                &u.disabled_at,
            ],
        )?;
        Ok(())
    }

    fn role_insert(&mut self, role: &RoleRecord) -> Result<()> {
        self.c()?
            .exec_raw(
                "INSERT INTO roles (tenant, name, description) VALUES ($1, $2, $3)",
                &[&role.tenant, &role.name, &role.description],
            )?
            .map_err(|e| {
                conflict_on_unique(e, || format!("role '{}' already exists", role.name))
            })?;
        for p in &role.permissions {
            self.role_grant(&role.tenant, &role.name, p)?;
        }
        Ok(())
    }

    fn role_get(&mut self, tenant: &str, name: &str) -> Result<Option<RoleRecord>> {
        let c = self.c()?;
        let Some(row) = c.query_opt(
            "SELECT description FROM roles WHERE tenant = $1 AND name = $2",
            &[&tenant, &name],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(RoleRecord {
            tenant: tenant.to_string(),
            name: name.to_string(),
            description: row.get(0),
            permissions: role_permissions(c, tenant, name)?,
        }))
    }

    fn role_list(&mut self, tenant: &str) -> Result<Vec<RoleRecord>> {
        let c = self.c()?;
        let rows: Vec<(String, String)> = c
            .query(
                "SELECT name, description FROM roles WHERE tenant = $1 ORDER BY name",
                &[&tenant],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        rows.into_iter()
            .map(|(name, description)| {
                Ok(RoleRecord {
                    permissions: role_permissions(c, tenant, &name)?,
                    tenant: tenant.to_string(),
                    name,
                    description,
                })
            })
            .collect()
    }

    fn role_grant(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool> {
        Ok(self.c()?.exec(
            "INSERT INTO role_permissions (tenant, role, permission) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&tenant, &role, &permission],
        )? > 0)
    }

    fn role_revoke(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool> {
        Ok(self.c()?.exec(
            "DELETE FROM role_permissions WHERE tenant = $1 AND role = $2 AND permission = $3",
            &[&tenant, &role, &permission],
        )? > 0)
    }

    fn user_role_add(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool> {
        Ok(self.c()?.exec(
            "INSERT INTO user_roles (tenant, username, role) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&tenant, &username, &role],
        )? > 0)
    }

    fn user_role_remove(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool> {
        Ok(self.c()?.exec(
            "DELETE FROM user_roles WHERE tenant = $1 AND username = $2 AND role = $3",
            &[&tenant, &username, &role],
        )? > 0)
    }

    fn user_access(&mut self, tenant: &str, username: &str) -> Result<(Vec<String>, Vec<String>)> {
        let c = self.c()?;
        let roles = c
            .query(
                "SELECT role FROM user_roles WHERE tenant = $1 AND username = $2 ORDER BY 1",
                &[&tenant, &username],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let permissions = c
            .query(
                "SELECT DISTINCT p.permission FROM user_roles u
                 JOIN role_permissions p ON p.tenant = u.tenant AND p.role = u.role
                 WHERE u.tenant = $1 AND u.username = $2 ORDER BY 1",
                &[&tenant, &username],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok((roles, permissions))
    }

    fn token_insert(&mut self, t: &TokenRecord) -> Result<()> {
        self.c()?
            .exec_raw(
                &format!(
                    "INSERT INTO tokens ({TOKEN_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                &[
                    &t.id,
                    &t.tenant,
                    &t.username,
                    &t.kind,
                    &t.name,
                    &t.hash,
                    &t.created_at,
                    &t.expires_at,
                    &t.last_used_at,
                    &t.revoked_at,
                ],
            )?
            .map_err(|e| conflict_on_unique(e, || format!("token id '{}' is taken", t.id)))?;
        Ok(())
    }

    fn token_get(&mut self, id: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .c()?
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"),
                &[&id],
            )?
            .as_ref()
            .map(row_to_token))
    }

    fn token_list(&mut self, tenant: &str) -> Result<Vec<TokenRecord>> {
        Ok(self
            .c()?
            .query(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant = $1 ORDER BY created_at DESC, id"
                ),
                &[&tenant],
            )?
            .iter()
            .map(row_to_token)
            .collect())
    }

    fn token_revoke(&mut self, id: &str, at: &str) -> Result<bool> {
        Ok(self.c()?.exec(
            "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &at],
        )? > 0)
    }

    fn token_touch(&mut self, id: &str, at: &str) -> Result<()> {
        self.c()?.exec(
            "UPDATE tokens SET last_used_at = $2 WHERE id = $1",
            &[&id, &at],
        )?;
        Ok(())
    }

    fn audit_head(&mut self, tenant: &str) -> Result<Option<(u64, String)>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT seq, hash FROM audit WHERE tenant = $1 ORDER BY seq DESC LIMIT 1",
                &[&tenant],
            )?
            .map(|r| (r.get::<_, i64>(0).max(0) as u64, r.get(1))))
    }

    fn audit_append(&mut self, a: &AuditRecord) -> Result<()> {
        let seq = i64::try_from(a.seq).unwrap_or(i64::MAX);
        let duration = a.duration_us.map(|d| i64::try_from(d).unwrap_or(i64::MAX));
        self.c()?
            .exec_raw(
                &format!(
                    "INSERT INTO audit ({AUDIT_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ),
                &[
                    &a.tenant,
                    &seq,
                    &a.at,
                    &a.actor,
                    &a.action,
                    &a.target,
                    &a.outcome,
                    &a.detail,
                    &duration,
                    &a.prev_hash,
                    &a.hash,
                ],
            )?
            .map_err(|e| {
                retry_on_unique(e, || {
                    format!(
                        "audit link {} of chain '{}' was written by a concurrent transaction",
                        a.seq, a.tenant
                    )
                })
            })?;
        Ok(())
    }

    fn audit_list(&mut self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE true");
        let after = q.after_seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        let limit = i64::from(q.limit);
        let mut args: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(t) = &q.tenant {
            args.push(t);
            sql.push_str(&format!(" AND tenant = ${}", args.len()));
        }
        if let Some(since) = &q.since {
            args.push(since);
            sql.push_str(&format!(" AND at >= ${}", args.len()));
        }
        if let Some(after) = &after {
            args.push(after);
            sql.push_str(&format!(" AND seq > ${}", args.len()));
        }
        args.push(&limit);
        let order = if q.tenant.is_some() {
            "seq"
        } else {
            "at, tenant, seq"
        };
        sql.push_str(&format!(" ORDER BY {order} LIMIT ${}", args.len()));
        Ok(self
            .c()?
            .query(&sql, &args)?
            .iter()
            .map(row_to_audit)
            .collect())
    }

    fn audit_chains(&mut self) -> Result<Vec<String>> {
        Ok(self
            .c()?
            .query("SELECT DISTINCT tenant FROM audit ORDER BY 1", &[])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn trust_insert(&mut self, key: &TrustedKey) -> Result<()> {
        self.c()?
            .exec_raw(
                "INSERT INTO trusted_keys (public_key, name, added_at) VALUES ($1, $2, $3)",
                &[&key.public_key, &key.name, &key.added_at],
            )?
            .map_err(|e| {
                conflict_on_unique(e, || format!("key {} is already trusted", key.public_key))
            })?;
        Ok(())
    }

    fn trust_list(&mut self) -> Result<Vec<TrustedKey>> {
        Ok(self
            .c()?
            .query(
                "SELECT name, public_key, added_at FROM trusted_keys ORDER BY name, added_at",
                &[],
            )?
            .iter()
            .map(|r| TrustedKey {
                name: r.get(0),
                public_key: r.get(1),
                added_at: r.get(2),
            })
            .collect())
    }

    fn trust_remove(&mut self, name: &str) -> Result<u64> {
        self.c()?
            .exec("DELETE FROM trusted_keys WHERE name = $1", &[&name])
    }

    fn package_signature_set(&mut self, id: &str, version: &str, signature: &str) -> Result<()> {
        self.c()?.exec(
            "INSERT INTO package_signatures (id, version, signature) VALUES ($1, $2, $3)
             ON CONFLICT (id, version) DO UPDATE SET signature = excluded.signature",
            &[&id, &version, &signature],
        )?;
        Ok(())
    }

    fn package_signature_get(&mut self, id: &str, version: &str) -> Result<Option<String>> {
        Ok(self
            .c()?
            .query_opt(
                "SELECT signature FROM package_signatures WHERE id = $1 AND version = $2",
                &[&id, &version],
            )?
            .map(|r| r.get(0)))
    }

    fn package_versions(&mut self, id: &str) -> Result<Vec<PackageRecord>> {
        Ok(self
            .c()?
            .query(
                "SELECT id, version, manifest, digest, installed_at FROM packages WHERE id = $1",
                &[&id],
            )?
            .iter()
            .map(row_to_package)
            .collect())
    }

    fn package_set_current(&mut self, id: &str, version: &str) -> Result<bool> {
        Ok(self.c()?.exec(
            "UPDATE plugins SET current_version = $2
             WHERE id = $1 AND EXISTS (SELECT 1 FROM packages WHERE id = $1 AND version = $2)",
            &[&id, &version],
        )? == 1)
    }

    fn package_delete_version(&mut self, id: &str, version: &str) -> Result<()> {
        let c = self.c()?;
        c.exec(
            "DELETE FROM packages WHERE id = $1 AND version = $2",
            &[&id, &version],
        )?;
        c.exec(
            "DELETE FROM package_signatures WHERE id = $1 AND version = $2",
            &[&id, &version],
        )?;
        Ok(())
    }

    fn login_failure_add(&mut self, key: &str, at_ms: i64) -> Result<()> {
        self.c()?.exec(
            "INSERT INTO login_failures (key, at_ms) VALUES ($1, $2)",
            &[&key, &at_ms],
        )?;
        Ok(())
    }

    fn login_failures(&mut self, key: &str, since_ms: i64) -> Result<(u32, Option<i64>)> {
        let row = self.c()?.query_one(
            "SELECT count(*), min(at_ms) FROM login_failures WHERE key = $1 AND at_ms > $2",
            &[&key, &since_ms],
        )?;
        Ok((u(row.get(0)), row.get(1)))
    }

    fn login_failures_clear(&mut self, key: &str, before_ms: i64) -> Result<()> {
        let c = self.c()?;
        c.exec("DELETE FROM login_failures WHERE key = $1", &[&key])?;
        c.exec(
            "DELETE FROM login_failures WHERE at_ms <= $1",
            &[&before_ms],
        )?;
        Ok(())
    }
}

/// The SQL type of each column of `table`, in order, for copying rows.
pub(crate) fn column_types(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<(String, Type)>> {
    let stmt = client.prepare(&format!("SELECT * FROM {table} LIMIT 0"))?;
    Ok(stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect())
}
