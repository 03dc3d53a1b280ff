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
//!   queue) takes the tenant's lock and nothing host-wide: the writers of one tenant
//!   run one at a time across every host (as on SQLite), writers of different
//!   tenants run side by side, and no admin action can make them wait for another
//!   tenant.
//! - [`Storage::begin_for`] (admin actions on tenants: enable, users, tokens,
//!   sign-in, upgrades that migrate tenants' data...) takes those tenants' locks in
//!   one order, then the host-wide lock: it never races their writers, and holds
//!   the host-wide lock only once it has them.
//! - [`Storage::begin`] (admin actions on host data alone: trust, host users) takes
//!   the host-wide lock. An action that touches a tenant's rows without its lock
//!   (removing a plugin's jobs everywhere) may meet a serialization failure, which
//!   surfaces as [`StoreError::Retry`] and is run again (`Host::retrying`).
//! - [`Storage::begin_read`] takes no lock: `REPEATABLE READ, READ ONLY`.
//!
//! Jobs and deliveries are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`; a row
//! another host claimed meanwhile is skipped (its savepoint rolled back), so each
//! runs once per lease whichever host picks it.

use super::sql;
use crate::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use super::postgres_schema::SCHEMA;
use super::{Result, Storage, StoreError, Transaction};

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
pub(super) struct Conn {
    pub(super) client: Client,
    statements: HashMap<String, Statement>,
}

pub(super) fn is_retryable(e: &postgres::Error) -> bool {
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
            StoreError::Retry(describe(&e))
        } else {
            StoreError::Backend(describe(&e))
        }
    }
}

/// An insert found a row with the same key and did nothing.
pub(super) struct Duplicate;

impl Conn {
    pub(super) fn prepare(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// `run` on the client with the prepared statement of `sql`.
    fn prepared<T>(
        &mut self,
        sql: &str,
        run: impl FnOnce(&mut Client, &Statement) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let s = self.prepare(sql)?;
        Ok(run(&mut self.client, &s)?)
    }

    pub(super) fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.prepared(sql, |c, s| c.query(s, params))
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        self.prepared(sql, |c, s| c.query_opt(s, params))
    }

    pub(super) fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        self.prepared(sql, |c, s| c.query_one(s, params))
    }

    pub(super) fn exec(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.prepared(sql, |c, s| c.execute(s, params))
    }

    /// Run an `INSERT` with `ON CONFLICT DO NOTHING` appended: a duplicate key leaves
    /// the transaction usable (a failed statement would abort it in PostgreSQL, unlike
    /// SQLite) and is reported as [`Duplicate`].
    pub(super) fn exec_raw(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<std::result::Result<u64, Duplicate>> {
        let n = self.exec(&format!("{sql} ON CONFLICT DO NOTHING"), params)?;
        Ok(if n == 0 { Err(Duplicate) } else { Ok(n) })
    }
}

impl PostgresStorage {
    /// The one integer `statement` reads (the stamps).
    fn number(&self, statement: &str) -> Result<i64> {
        let mut conn = self.acquire()?;
        match conn.query_one(statement, &[]) {
            Ok(row) => {
                self.release(conn);
                Ok(row.get(0))
            }
            Err(e) => {
                drop(conn);
                self.forget();
                Err(e)
            }
        }
    }

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
        apply_schema(&mut conn.client)?;
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

/// Bring the schema up to date, once: the DDL's fingerprint is kept in
/// `backoffice_schema`, because `CREATE INDEX IF NOT EXISTS` locks its table even when
/// the index exists, which would wait for (or deadlock with) the transactions of hosts
/// already serving. Hosts starting together take turns on an advisory lock; a DDL
/// deadlock with serving hosts (a schema change during a rolling restart) is retried.
fn apply_schema(client: &mut Client) -> Result<()> {
    use sha2::{Digest, Sha256};
    let ddl = format!(
        "{SCHEMA}{}{}{}",
        super::postgres_webhooks::SCHEMA,
        super::postgres_notify::SCHEMA,
        super::postgres_http::SCHEMA
    )
    .replace(" TEXT", " TEXT COLLATE \"C\"");
    let fingerprint = hex::encode(Sha256::digest(ddl.as_bytes()));
    client.execute("SELECT pg_advisory_lock($1, 0)", &[&LOCK_SCHEMA])?;
    let mut attempt = 0;
    let applied = loop {
        attempt += 1;
        let result = (|| -> std::result::Result<(), postgres::Error> {
            client.batch_execute(
                "CREATE TABLE IF NOT EXISTS backoffice_schema (fingerprint TEXT NOT NULL)",
            )?;
            let current = client.query_opt("SELECT fingerprint FROM backoffice_schema", &[])?;
            if current.is_some_and(|r| r.get::<_, String>(0) == fingerprint) {
                return Ok(());
            }
            let mut tx = client.transaction()?;
            tx.batch_execute(&ddl)?;
            tx.execute("DELETE FROM backoffice_schema", &[])?;
            tx.execute(
                "INSERT INTO backoffice_schema (fingerprint) VALUES ($1)",
                &[&fingerprint],
            )?;
            tx.commit()
        })();
        match result {
            Err(e) if is_retryable(&e) && attempt < 5 => {
                std::thread::sleep(Duration::from_millis(50 * attempt));
            }
            other => break other,
        }
    };
    client.execute("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_SCHEMA])?;
    Ok(applied?)
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

    fn begin_for(&self, tenants: &[&str]) -> Result<Box<dyn Transaction>> {
        // The tenants' locks in one order (every admin action sorts them), then the
        // host-wide one: waiting for a tenant's writer never holds up the host.
        let mut keys: Vec<i32> = tenants.iter().map(|t| lock_key(t)).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut locks: Vec<(&str, i32, i32)> = keys
            .into_iter()
            .map(|k| ("pg_advisory_lock", LOCK_SCOPE, k))
            .collect();
        locks.push(("pg_advisory_lock", LOCK_HOST, 0));
        self.start(&locks, "BEGIN ISOLATION LEVEL REPEATABLE READ")
    }

    fn begin_scoped(&self, scope: &str) -> Result<Box<dyn Transaction>> {
        // Only the scope's own lock: nothing host-wide is taken on the call path, so
        // an admin action waiting for one tenant never makes other tenants wait.
        self.start(
            &[("pg_advisory_lock", LOCK_SCOPE, lock_key(scope))],
            "BEGIN ISOLATION LEVEL REPEATABLE READ",
        )
    }

    fn begin_read(&self) -> Result<Box<dyn Transaction>> {
        self.start(&[], "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    fn ping(&self) -> Result<()> {
        let mut conn = self.acquire()?;
        match conn.client.query_one(sql::PING.pg, &[]) {
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

    fn identity_stamp(&self) -> Result<i64> {
        self.number(sql::IDENTITY_STAMP.pg)
    }

    fn registry_stamp(&self) -> Result<i64> {
        self.number(sql::REGISTRY_STAMP.pg)
    }

    fn stamps(&self) -> Result<super::Stamps> {
        let mut conn = self.acquire()?;
        match conn.query_one(sql::STAMPS.pg, &[]) {
            Ok(row) => {
                self.release(conn);
                Ok(super::Stamps {
                    identity: row.get(0),
                    registry: row.get(1),
                })
            }
            Err(e) => {
                drop(conn);
                self.forget();
                Err(e)
            }
        }
    }
}

pub(super) struct PgTx {
    storage: PostgresStorage,
    conn: Option<Conn>,
    /// Whether session advisory locks were taken before `BEGIN`.
    locked: bool,
}

impl PgTx {
    pub(super) fn c(&mut self) -> Result<&mut Conn> {
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

impl super::sql_conn::Backend for PgTx {
    type Conn = Conn;

    fn sql_conn(&mut self) -> Result<&mut Conn> {
        self.c()
    }

    fn delete_tenant(&mut self, id: &str) -> Result<u64> {
        let c = self.c()?;
        let mut removed = 0;
        for table in super::TENANT_ROWS.iter().chain(&["enablements", "tenants"]) {
            let column = if *table == "tenants" { "id" } else { "tenant" };
            removed += c.exec(&format!("DELETE FROM {table} WHERE {column} = $1"), &[&id])?;
        }
        // The tenant's quota counters go with it (not counted as rows of its data).
        c.exec("DELETE FROM kv_usage WHERE tenant = $1", &[&id])?;
        c.exec("DELETE FROM quota_day WHERE tenant = $1", &[&id])?;
        self.identity_changed()?;
        Ok(removed)
    }

    fn identity_moved(&mut self) -> Result<()> {
        self.identity_changed()
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let _ = self.finish("ROLLBACK");
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
}
