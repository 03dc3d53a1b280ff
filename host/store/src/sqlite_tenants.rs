//! The embedded default backend: one SQLite file for the host and one per tenant.
//!
//! ```text
//! <data dir>/backoffice.db          tenants, packages, grants, enablements, trust,
//!                                   host users and tokens, the host audit chain,
//!                                   sign-in failures, and two indexes:
//!                                   tenant_files (tenant -> number) and
//!                                   token_tenants (token id -> tenant)
//! <data dir>/tenants/<tenant>.db    that tenant's plugin data, outbox, deliveries,
//!                                   jobs and runs, users, roles, tokens, audit chain
//! ```
//!
//! Each file has its own write lock, so writers of different tenants run side by side
//! and a long call of one company never holds up another's. A [`RoutedTx`] opens the
//! files it touches lazily and sends each [`Transaction`] method to the file that holds
//! its rows; the SQL of each file is the one in `sqlite.rs` and its siblings.
//!
//! Lock order, which makes deadlocks impossible: a transaction scoped to a tenant
//! (`begin_scoped`) writes only that tenant's file and reads the main file on a
//! snapshot; an unscoped one (`begin`) takes the main file's lock first and then the
//! tenants' locks it needs, in the order it touches them, and no other unscoped writer
//! can hold a tenant lock at that time. A commit writes the tenant files first and the
//! main file last, so a crash between them leaves host rows that point at nothing new.
//!
//! Ids of events, deliveries, jobs and runs are unique across tenants: a tenant's file
//! numbers them from `number * 10^12`, so an id names its tenant (ids of a data
//! directory split from a single file keep their old values and are looked up in
//! every file).

use super::sql;
use crate::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{OptionalExtension, params};

use super::sqlite::{Db, FileTx, HOST_SCHEMA, KV_SCHEMA};
use super::sqlite_webhooks;
use super::{
    AuditAnchor, AuditQuery, AuditRecord, DeliveryRecord, Durability, Enablement, EventFilter,
    EventRecord, Finish, HOST_SCOPE, JobFilter, JobRecord, JobRun, LoginThrottle, NewEvent,
    PackageRecord, Result, RoleRecord, ScanPage, ScanQuery, Scope, Stamps, Storage, StoreError,
    Tenant, TokenRecord, Transaction, TrustedKey, UserRecord, sqlite_events, sqlite_identity,
    sqlite_trust, sqlite_work,
};
use super::{
    ClaimRoom, ClaimedDelivery, ClaimedWebhook, Lease, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint,
};
use super::{DayUsage, KvUsage};

/// Folder of the tenant files inside the data directory.
pub const TENANTS_DIR: &str = "tenants";

/// Ids of a tenant's events, deliveries, jobs and runs start at `number * ID_SPAN`.
pub(super) const ID_SPAN: i64 = 1_000_000_000_000;

/// Indexes of the main file that route to tenant files.
const ROUTING_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tenant_files (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS token_tenants (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_stamp (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT OR IGNORE INTO identity_stamp (id, n) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS registry_stamp (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT OR IGNORE INTO registry_stamp (id, n) VALUES (1, 0);
"#;

/// Triggers moving the registry stamp (`Storage::registry_stamp`) on every write to
/// the tables a call's resolution reads, in the writing transaction: no writer,
/// however it writes, can change them without moving it.
const REGISTRY_TRIGGERS: &str = r#"
CREATE TRIGGER IF NOT EXISTS registry_stamp_tenants_insert AFTER INSERT ON tenants
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_tenants_update AFTER UPDATE ON tenants
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_tenants_delete AFTER DELETE ON tenants
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_packages_insert AFTER INSERT ON packages
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_packages_update AFTER UPDATE ON packages
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_packages_delete AFTER DELETE ON packages
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_plugins_insert AFTER INSERT ON plugins
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_plugins_update AFTER UPDATE ON plugins
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_plugins_delete AFTER DELETE ON plugins
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_grants_insert AFTER INSERT ON grants
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_grants_update AFTER UPDATE ON grants
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_grants_delete AFTER DELETE ON grants
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_enablements_insert AFTER INSERT ON enablements
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_enablements_update AFTER UPDATE ON enablements
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS registry_stamp_enablements_delete AFTER DELETE ON enablements
    BEGIN UPDATE registry_stamp SET n = n + 1 WHERE id = 1; END;
"#;

/// The main file's DDL.
fn main_ddl() -> [&'static str; 5] {
    [
        HOST_SCHEMA,
        sqlite_identity::SCHEMA,
        sqlite_trust::SCHEMA,
        ROUTING_SCHEMA,
        REGISTRY_TRIGGERS,
    ]
}

/// A tenant file's DDL.
pub(super) fn tenant_ddl() -> [&'static str; 7] {
    [
        KV_SCHEMA,
        sqlite_events::SCHEMA,
        sqlite_work::SCHEMA,
        sqlite_webhooks::SCHEMA,
        sqlite_identity::SCHEMA,
        super::sqlite_notify::SCHEMA,
        super::sqlite_http::SCHEMA,
    ]
}

/// Idle connections kept per tenant file; the main file keeps more, as every call
/// reads it. A busy tenant has as many transactions open as the API has workers (8
/// on 2 cores) plus its writer and audit batch: with fewer kept, connections were
/// opened and closed under load (with their statement caches), about 7 % of a read
/// request's CPU (measured with perf on `benches/http.sh`). A tenant keeps only as
/// many as it ever had open at once.
const TENANT_POOL: usize = 16;
const MAIN_POOL: usize = 64;

/// SQLite storage: the main file and one file per tenant. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStorage {
    shared: Arc<Shared>,
}

struct Shared {
    dir: PathBuf,
    durability: Durability,
    main: Db,
    /// Open tenant files by tenant id, and tenant ids by number.
    tenants: RwLock<HashMap<String, Arc<TenantDb>>>,
    numbers: RwLock<HashMap<i64, String>>,
    /// What the scheduler last found per tenant (see [`Storage::work_scopes`]).
    work: Mutex<HashMap<String, WorkHint>>,
}

/// One tenant's file.
pub(super) struct TenantDb {
    pub(super) id: String,
    pub(super) num: i64,
    pub(super) db: Db,
}

/// When a tenant next has work, as of the file's state `stamp`.
#[derive(Clone, Copy)]
struct WorkHint {
    stamp: (Option<SystemTime>, u64, Option<SystemTime>),
    next_due_ms: Option<i64>,
    /// When the hint was read; older ones are read again, as two commits within the
    /// file system's time granularity can leave the stamp unchanged.
    read_at: Instant,
}

/// How long a hint is trusted while the stamp stays the same.
const HINT_TTL: Duration = Duration::from_secs(2);

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("main", &self.shared.main.path())
            .finish()
    }
}

/// Path of tenant `id`'s file in the data directory `dir`.
pub fn tenant_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(TENANTS_DIR).join(format!("{id}.db"))
}

fn backend(what: String) -> StoreError {
    StoreError::Backend(what)
}

impl SqliteStorage {
    /// Open (creating if needed) the main database at `path`, whose folder also holds
    /// the tenant files, and bring the schemas up to date. A main file that still holds
    /// tenant rows (a data directory from before the split) is split first.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        Self::open_with(path, durability, &super::NoProgress)
    }

    /// [`SqliteStorage::open`], reporting the copy of a split to `progress`.
    pub fn open_with(
        path: &Path,
        durability: Durability,
        progress: &dyn super::Progress,
    ) -> Result<Self> {
        let main = Db::open(path, durability, &main_ddl(), true, MAIN_POOL)?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let storage = SqliteStorage {
            shared: Arc::new(Shared {
                dir,
                durability,
                main,
                tenants: RwLock::new(HashMap::new()),
                numbers: RwLock::new(HashMap::new()),
                work: Mutex::new(HashMap::new()),
            }),
        };
        super::sqlite_split::split_if_needed(&storage, progress)?;
        Ok(storage)
    }

    pub(super) fn main_db(&self) -> &Db {
        &self.shared.main
    }

    /// Path of tenant `id`'s file.
    pub fn tenant_path(&self, id: &str) -> PathBuf {
        tenant_file(&self.shared.dir, id)
    }

    /// Tenant `id`'s number in `tenant_files`, whether or not its file exists.
    pub(super) fn tenant_number(&self, id: &str) -> Result<Option<i64>> {
        let conn = self.shared.main.acquire()?;
        let num = conn
            .prepare_cached("SELECT num FROM tenant_files WHERE tenant = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional();
        self.shared.main.release(conn);
        Ok(num?)
    }

    /// Every tenant with a file, by id, with its number.
    pub(super) fn registered(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.shared.main.acquire()?;
        let rows = conn
            .prepare_cached("SELECT tenant, num FROM tenant_files ORDER BY tenant")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<(String, i64)>>>();
        self.shared.main.release(conn);
        Ok(rows?)
    }

    /// The open file of tenant `id`; `None` when the host has no such tenant file.
    pub(super) fn tenant(&self, id: &str) -> Result<Option<Arc<TenantDb>>> {
        if id == HOST_SCOPE {
            return Ok(None);
        }
        if let Some(t) = self
            .shared
            .tenants
            .read()
            .ok()
            .and_then(|m| m.get(id).cloned())
        {
            return Ok(Some(t));
        }
        // Another process (a CLI beside `serve`) may have created it since.
        let conn = self.shared.main.acquire()?;
        let num: Option<i64> = conn
            .prepare_cached("SELECT num FROM tenant_files WHERE tenant = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?;
        self.shared.main.release(conn);
        let Some(num) = num else {
            return Ok(None);
        };
        self.open_tenant(id, num, false).map(Some)
    }

    /// Open tenant `id`'s file (creating it if `create`) and remember it.
    pub(super) fn open_tenant(&self, id: &str, num: i64, create: bool) -> Result<Arc<TenantDb>> {
        let path = self.tenant_path(id);
        if !create && !path.is_file() {
            return Err(backend(format!(
                "the database of tenant '{id}' is missing: {} does not exist; restore it from a backup (`backoffice tenant restore --tenant {id} --from FILE`), or remove the tenant",
                path.display()
            )));
        }
        if create && let Some(parent) = path.parent() {
            crate::fsperm::private_dir(parent)
                .map_err(|e| backend(format!("cannot create folder {}: {e}", parent.display())))?;
        }
        let db = Db::open(
            &path,
            self.shared.durability,
            &tenant_ddl(),
            create,
            TENANT_POOL,
        )
        .map_err(|e| {
            backend(format!(
                "the database of tenant '{id}' ({}) cannot be opened: {e}; other tenants are not affected. Restore it from a backup with `backoffice tenant restore --tenant {id} --from FILE`",
                path.display()
            ))
        })?;
        if create {
            seed_ids(&db, num)?;
        }
        let tenant = Arc::new(TenantDb {
            id: id.to_string(),
            num,
            db,
        });
        if let Ok(mut map) = self.shared.tenants.write() {
            map.insert(id.to_string(), tenant.clone());
        }
        if let Ok(mut map) = self.shared.numbers.write() {
            map.insert(num, id.to_string());
        }
        Ok(tenant)
    }

    /// Forget an open tenant file (it is being replaced or removed).
    pub(super) fn forget_tenant(&self, id: &str) {
        let removed = self
            .shared
            .tenants
            .write()
            .ok()
            .and_then(|mut m| m.remove(id));
        if let Some(t) = removed
            && let Ok(mut map) = self.shared.numbers.write()
        {
            map.remove(&t.num);
        }
        if let Ok(mut work) = self.shared.work.lock() {
            work.remove(id);
        }
    }

    /// The tenant an id of an event, delivery, job or run belongs to, when it names one.
    fn tenant_of_id(&self, id: i64) -> Option<String> {
        let num = id / ID_SPAN;
        if num <= 0 {
            return None;
        }
        if let Some(t) = self
            .shared
            .numbers
            .read()
            .ok()
            .and_then(|m| m.get(&num).cloned())
        {
            return Some(t);
        }
        self.registered()
            .ok()?
            .into_iter()
            .find(|(_, n)| *n == num)
            .map(|(t, _)| t)
    }

    /// When tenant `t` next has work, read from its file unless nothing changed there
    /// since the last look. Webhook deliveries are read in two index lookups (the
    /// first unleased one by due time, and the few leased ones), never the whole
    /// backlog: with tens of thousands pending, scanning them on every pass of the
    /// worker was most of its time.
    fn next_due(&self, tenant: &TenantDb) -> Result<Option<i64>> {
        let stamp = file_stamp(tenant.db.path());
        if let Some(hint) = self
            .shared
            .work
            .lock()
            .ok()
            .and_then(|w| w.get(&tenant.id).copied())
            && hint.stamp == stamp
            && hint.read_at.elapsed() < HINT_TTL
        {
            return Ok(hint.next_due_ms);
        }
        let conn = tenant.db.acquire()?;
        let next: Option<i64> = conn
            .prepare_cached(
                "SELECT min(t) FROM (
                   SELECT CASE WHEN EXISTS (SELECT 1 FROM events WHERE fanned_out = 0)
                          THEN 0 END AS t
                   UNION ALL
                   SELECT min(max(next_run_ms, coalesce(lease_until_ms, 0))) FROM jobs
                    WHERE state = 'scheduled'
                   UNION ALL
                   SELECT min(max(next_attempt_ms, coalesce(lease_until_ms, 0))) FROM deliveries
                    WHERE state = 'pending'
                   UNION ALL
                   SELECT * FROM (SELECT next_attempt_ms FROM webhook_deliveries
                     WHERE state = 'pending' AND lease_until_ms IS NULL
                     ORDER BY next_attempt_ms LIMIT 1)
                   UNION ALL
                   SELECT min(max(next_attempt_ms, lease_until_ms))
                     FROM webhook_deliveries INDEXED BY webhook_deliveries_leased
                    WHERE state = 'pending' AND lease_until_ms IS NOT NULL
                   UNION ALL
                   SELECT min(max(next_attempt_ms, coalesce(lease_until_ms, 0)))
                     FROM notifications WHERE state = 'pending'
                   UNION ALL
                   SELECT min(max(next_attempt_ms, coalesce(lease_until_ms, 0)))
                     FROM http_requests WHERE state = 'pending')",
            )?
            .query_row([], |r| r.get(0))?;
        tenant.db.release(conn);
        if let Ok(mut work) = self.shared.work.lock() {
            work.insert(
                tenant.id.clone(),
                WorkHint {
                    stamp,
                    next_due_ms: next,
                    read_at: Instant::now(),
                },
            );
        }
        Ok(next)
    }
}

impl SqliteStorage {
    /// The one integer a statement reads from the main file (the stamps).
    fn main_number(&self, statement: &str) -> Result<i64> {
        let conn = self.shared.main.acquire()?;
        let n = conn
            .prepare_cached(statement)?
            .query_row([], |r| r.get(0))?;
        self.shared.main.release(conn);
        Ok(n)
    }

    /// A writer of tenant `scope` (see [`Storage::begin_scoped`]); `long` for batch work.
    fn scoped(&self, scope: &str, long: bool) -> Result<Box<dyn Transaction>> {
        match self.tenant(scope)? {
            Some(tenant) => {
                let mut tx = RoutedTx::new(self.clone(), true, Some(tenant.id.clone()), None);
                let file = tenant.db.begin_write(long)?;
                tx.tenants.insert(tenant.id.clone(), file);
                Ok(Box::new(tx))
            }
            // Host data (the host audit chain, host sign-ins) or a shared scope.
            None => self.begin(),
        }
    }
}

/// What changes when any process commits to the file: the WAL's time and size, and
/// the database file's time (after a checkpoint).
fn file_stamp(path: &Path) -> (Option<SystemTime>, u64, Option<SystemTime>) {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::fs::metadata(PathBuf::from(wal)).ok();
    let db = std::fs::metadata(path).ok();
    (
        wal.as_ref().and_then(|m| m.modified().ok()),
        wal.map_or(0, |m| m.len()),
        db.and_then(|m| m.modified().ok()),
    )
}

/// Tables whose AUTOINCREMENT ids are numbered per tenant (see [`seed_ids`]).
pub(super) const NUMBERED_TABLES: &[&str] = &[
    "events",
    "deliveries",
    "jobs",
    "job_runs",
    "webhook_deliveries",
    "notifications",
    "notification_attempts",
    "http_requests",
    "http_attempts",
];

/// Make a new tenant file number its rows from `num * ID_SPAN`.
pub(super) fn seed_ids(db: &Db, num: i64) -> Result<()> {
    let conn = db.acquire()?;
    let base = num.saturating_mul(ID_SPAN);
    let result = (|| -> Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        for table in NUMBERED_TABLES {
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2
                  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
                params![table, base],
            )?;
            conn.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1",
                params![table, base],
            )?;
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    } else {
        db.release(conn);
    }
    result
}

impl Storage for SqliteStorage {
    fn begin(&self) -> Result<Box<dyn Transaction>> {
        let main = self.shared.main.begin_write(false)?;
        Ok(Box::new(RoutedTx::new(
            self.clone(),
            true,
            None,
            Some(main),
        )))
    }

    fn begin_scoped(&self, scope: &str) -> Result<Box<dyn Transaction>> {
        self.scoped(scope, false)
    }

    fn begin_scoped_long(&self, scope: &str) -> Result<Box<dyn Transaction>> {
        self.scoped(scope, true)
    }

    fn begin_read(&self) -> Result<Box<dyn Transaction>> {
        Ok(Box::new(RoutedTx::new(self.clone(), false, None, None)))
    }

    fn reads_in_place(&self) -> bool {
        // Reads take an idle connection or open one; they never wait for a writer.
        true
    }

    fn ping(&self) -> Result<()> {
        let conn = self.shared.main.acquire()?;
        conn.query_row(sql::PING.lite, [], |_| Ok(()))?;
        self.shared.main.release(conn);
        Ok(())
    }

    fn identity_stamp(&self) -> Result<i64> {
        self.main_number(sql::IDENTITY_STAMP.lite)
    }

    fn registry_stamp(&self) -> Result<i64> {
        self.main_number(sql::REGISTRY_STAMP.lite)
    }

    fn stamps(&self) -> Result<Stamps> {
        let conn = self.shared.main.acquire()?;
        let stamps = conn.prepare_cached(sql::STAMPS.lite)?.query_row([], |r| {
            Ok(Stamps {
                identity: r.get(0)?,
                registry: r.get(1)?,
            })
        })?;
        self.shared.main.release(conn);
        Ok(stamps)
    }

    fn work_scopes(&self, now_ms: i64) -> Result<Vec<Option<String>>> {
        let mut due = Vec::new();
        for (id, _) in self.registered()? {
            // A tenant whose file cannot be opened must not stop the others' work.
            let next = match self.tenant(&id) {
                Ok(Some(t)) => self.next_due(&t),
                Ok(None) => continue,
                Err(e) => Err(e),
            };
            match next {
                Ok(Some(at)) if at <= now_ms => due.push(Some(id)),
                Ok(_) => {}
                Err(e) => tracing::error!(tenant = %id, "cannot look for due work: {e}"),
            }
        }
        Ok(due)
    }
}

/// One transaction over the files it touches.
pub(super) struct RoutedTx {
    storage: SqliteStorage,
    write: bool,
    /// The tenant a scoped transaction writes; it writes nothing else.
    bound: Option<String>,
    main: Option<FileTx>,
    tenants: BTreeMap<String, FileTx>,
    /// Open savepoints, replayed on files opened after them.
    savepoints: Vec<String>,
    /// Tenants deleted by this transaction: their files go after the commit.
    doomed: Vec<String>,
}

impl RoutedTx {
    fn new(
        storage: SqliteStorage,
        write: bool,
        bound: Option<String>,
        main: Option<FileTx>,
    ) -> Self {
        RoutedTx {
            storage,
            write,
            bound,
            main,
            tenants: BTreeMap::new(),
            savepoints: Vec::new(),
            doomed: Vec::new(),
        }
    }

    fn replay(&self, tx: &mut FileTx) -> Result<()> {
        for name in &self.savepoints {
            tx.savepoint(name)?;
        }
        Ok(())
    }

    /// Run `f` on every file this transaction has open.
    fn each_open(&mut self, mut f: impl FnMut(&mut FileTx) -> Result<()>) -> Result<()> {
        for tx in self.main.iter_mut().chain(self.tenants.values_mut()) {
            f(tx)?;
        }
        Ok(())
    }

    /// Savepoint `name` and the ones after it are no longer replayed on files opened
    /// later.
    fn forget_savepoint(&mut self, name: &str) {
        if let Some(i) = self.savepoints.iter().rposition(|s| s == name) {
            self.savepoints.truncate(i);
        }
    }

    /// The main file, for reading.
    fn main(&mut self) -> Result<&mut FileTx> {
        if self.main.is_none() {
            // A scoped writer reads host rows on a snapshot and never waits for the
            // main file's lock (see the lock order above).
            let mut tx = self.storage.shared.main.begin_read()?;
            self.replay(&mut tx)?;
            self.main = Some(tx);
        }
        self.main
            .as_mut()
            .ok_or_else(|| backend("main database not open".into()))
    }

    /// The main file, for writing.
    fn main_mut(&mut self) -> Result<&mut FileTx> {
        if let Some(t) = &self.bound {
            return Err(backend(format!(
                "internal error: a transaction of tenant '{t}' tried to write host data"
            )));
        }
        self.main()
    }

    /// Tenant `id`'s file; `None` for a tenant the host does not have.
    fn tenant(&mut self, id: &str) -> Result<Option<&mut FileTx>> {
        if !self.tenants.contains_key(id) {
            if self.write && self.bound.as_deref().is_some_and(|b| b != id) {
                // Reading another tenant is harmless; writing it would break the
                // lock order, and then fails like any write on a snapshot.
                tracing::debug!(tenant = %id, "a scoped transaction reads another tenant");
            }
            let Some(t) = self.storage.tenant(id)? else {
                return Ok(None);
            };
            let mut tx = if self.write && self.bound.as_deref().is_none_or(|b| b == id) {
                t.db.begin_write(false)?
            } else {
                t.db.begin_read()?
            };
            self.replay(&mut tx)?;
            self.tenants.insert(id.to_string(), tx);
        }
        Ok(self.tenants.get_mut(id))
    }

    /// Tenant `id`'s file, which must exist.
    pub(super) fn tenant_mut(&mut self, id: &str) -> Result<&mut FileTx> {
        self.tenant(id)?.ok_or_else(|| {
            backend(format!(
                "tenant '{id}' has no database; create the tenant first"
            ))
        })
    }

    /// Where rows of users, roles, tokens and the audit chain `tenant` live.
    fn identity(&mut self, tenant: &str) -> Result<Option<&mut FileTx>> {
        if tenant == HOST_SCOPE {
            self.main().map(Some)
        } else {
            self.tenant(tenant)
        }
    }

    fn identity_mut(&mut self, tenant: &str) -> Result<&mut FileTx> {
        if tenant == HOST_SCOPE {
            self.main_mut()
        } else {
            self.tenant_mut(tenant)
        }
    }

    /// Make `change` in the file holding `tenant`'s identity rows, then move the
    /// identity stamp.
    fn change_identity<T>(
        &mut self,
        tenant: &str,
        change: impl FnOnce(&mut FileTx) -> Result<T>,
    ) -> Result<T> {
        let changed = change(self.identity_mut(tenant)?)?;
        self.identity_changed()?;
        Ok(changed)
    }

    /// The tenants a cross-tenant method covers: the bound one, or all.
    fn all_tenants(&mut self) -> Result<Vec<String>> {
        Ok(match &self.bound {
            Some(t) => vec![t.clone()],
            None => self
                .storage
                .registered()?
                .into_iter()
                .map(|(t, _)| t)
                .collect(),
        })
    }

    /// The tenants a method filtered by `tenant` covers: that one, or all.
    fn tenant_or_all(&mut self, tenant: &Option<String>) -> Result<Vec<String>> {
        match tenant {
            Some(t) => Ok(vec![t.clone()]),
            None => self.all_tenants(),
        }
    }

    /// The tenants that may hold the row with `id`.
    fn tenants_of_id(&mut self, id: i64) -> Result<Vec<String>> {
        match (&self.bound, self.storage.tenant_of_id(id)) {
            (Some(b), Some(t)) if *b != t => Ok(Vec::new()),
            (_, Some(t)) => Ok(vec![t]),
            (_, None) => self.all_tenants(),
        }
    }

    /// Run `f` on every tenant file in `tenants` that exists; the results in order.
    fn each<T>(
        &mut self,
        tenants: Vec<String>,
        mut f: impl FnMut(&mut FileTx) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(tenants.len());
        for t in tenants {
            if let Some(tx) = self.tenant(&t)? {
                out.push(f(tx)?);
            }
        }
        Ok(out)
    }

    /// Run `f` on every tenant file a cross-tenant method covers; the results in
    /// tenant order.
    fn each_tenant<T>(&mut self, f: impl FnMut(&mut FileTx) -> Result<T>) -> Result<Vec<T>> {
        let all = self.all_tenants()?;
        self.each(all, f)
    }

    /// Up to `limit` rows from the tenants a cross-tenant method covers, in tenant
    /// order; `f` gets a file and how many rows are still wanted.
    pub(super) fn gather<T>(
        &mut self,
        limit: u32,
        mut f: impl FnMut(&mut FileTx, u32) -> Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        let mut rows = Vec::new();
        for t in self.all_tenants()? {
            let left = limit.saturating_sub(u32::try_from(rows.len()).unwrap_or(u32::MAX));
            if left == 0 {
                break;
            }
            if let Some(tx) = self.tenant(&t)? {
                rows.extend(f(tx, left)?);
            }
        }
        Ok(rows)
    }

    /// The first answer of `f` over the tenants that may hold `id`.
    fn find_by_id<T>(
        &mut self,
        id: i64,
        mut f: impl FnMut(&mut FileTx) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        for t in self.tenants_of_id(id)? {
            if let Some(tx) = self.tenant(&t)?
                && let Some(found) = f(tx)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Whether `f` is true in one of the tenants that may hold `id`.
    fn any_by_id(
        &mut self,
        id: i64,
        mut f: impl FnMut(&mut FileTx) -> Result<bool>,
    ) -> Result<bool> {
        Ok(self
            .find_by_id(id, |tx| Ok(f(tx)?.then_some(())))?
            .is_some())
    }

    /// The tenant of a token, from the main file's index.
    fn token_tenant(&mut self, id: &str) -> Result<Option<String>> {
        let main = self.main()?;
        Ok(main
            .conn()?
            .prepare_cached("SELECT tenant FROM token_tenants WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?)
    }

    /// Where token `id` lives: its tenant's file, or the main file (host tokens).
    fn token_file(&mut self, id: &str) -> Result<Option<&mut FileTx>> {
        match self.token_tenant(id)? {
            Some(t) => self.tenant(&t),
            None => self.main().map(Some),
        }
    }
}

/// Store methods that each go to one file: every entry is the method as its trait
/// declares it, then `=>` and the [`RoutedTx`] method that finds the file by a key:
/// - `main()`, `tenant_mut(key)`, ...: the file, which must exist, runs the method;
/// - `tenant(key) or_default`: the file runs it, or the answer is the default
///   (nothing) when the tenant has no file;
/// - `find_by_id(id) |tx|`, ...: the finder runs the method as a closure on the
///   file(s) it picks; `gather(limit) |tx, limit|` passes each file how many rows
///   are still wanted as the method's own `limit`.
///
/// A block that starts with `for Trait;` calls the file's methods as that trait's
/// (for a trait a file has more than once, such as `QueueStore<K>`).
macro_rules! route {
    (@with $tr:tt $(
        fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty
            => $route:ident($($key:expr)?) $(|$tx:ident $(, $more:ident)*|)? $($mode:ident)?;
    )*) => {
        $(
            fn $name(&mut self $(, $arg: $ty)*) -> $ret {
                route!(
                    @ $tr self.$route($($key)?) $(|$tx $(, $more)*|)? $($mode)?,
                    $name($($arg),*)
                )
            }
        )*
    };
    (@ $tr:tt $s:ident.$route:ident($($key:expr)?), $name:ident $args:tt) => {
        route!(@call $tr $s.$route($($key)?)?, $name $args)
    };
    (@ $tr:tt $s:ident.$route:ident($($key:expr)?) or_default, $name:ident $args:tt) => {
        match $s.$route($($key)?)? {
            Some(tx) => route!(@call $tr tx, $name $args),
            None => Ok(Default::default()),
        }
    };
    (
        @ $tr:tt $s:ident.$route:ident($($key:expr)?) |$tx:ident $(, $more:ident)*|,
        $name:ident $args:tt
    ) => {
        $s.$route($($key,)? |$tx $(, $more)*| route!(@call $tr $tx, $name $args))
    };
    (@call [] $file:expr, $name:ident($($arg:ident),*)) => {
        $file.$name($($arg),*)
    };
    (@call [$tr:path] $file:expr, $name:ident($($arg:ident),*)) => {
        <_ as $tr>::$name($file, $($arg),*)
    };
    (for $tr:path; $($methods:tt)*) => {
        route!(@with [$tr] $($methods)*);
    };
    ($($methods:tt)*) => {
        route!(@with [] $($methods)*);
    };
}
pub(super) use route;

impl Transaction for RoutedTx {
    fn commit(mut self: Box<Self>) -> Result<()> {
        // Tenant files first, the main file last (see the module doc).
        let tenants = std::mem::take(&mut self.tenants);
        for (_, tx) in tenants {
            Box::new(tx).commit()?;
        }
        if let Some(main) = self.main.take() {
            Box::new(main).commit()?;
        }
        for id in std::mem::take(&mut self.doomed) {
            self.storage.forget_tenant(&id);
            for file in sqlite_files(&self.storage.tenant_path(&id)) {
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::error!(tenant = %id, file = %file.display(), "cannot remove a deleted tenant's file: {e}")
                    }
                }
            }
        }
        Ok(())
    }

    fn savepoint(&mut self, name: &str) -> Result<()> {
        self.each_open(|tx| tx.savepoint(name))?;
        self.savepoints.push(name.to_string());
        Ok(())
    }

    fn release(&mut self, name: &str) -> Result<()> {
        self.each_open(|tx| tx.release(name))?;
        self.forget_savepoint(name);
        Ok(())
    }

    fn rollback_to(&mut self, name: &str) -> Result<()> {
        self.each_open(|tx| tx.rollback_to(name))?;
        self.forget_savepoint(name);
        Ok(())
    }
}

impl KvStore for RoutedTx {
    route! {
        fn kv_get(&mut self, scope: &Scope, key: &str) -> Result<Option<Vec<u8>>>
            => tenant(&scope.tenant) or_default;
        fn kv_put(&mut self, scope: &Scope, key: &str, value: &[u8]) -> Result<()>
            => tenant_mut(&scope.tenant);
        fn kv_delete(&mut self, scope: &Scope, key: &str) -> Result<bool>
            => tenant_mut(&scope.tenant);
        fn kv_scan(&mut self, scope: &Scope, query: &ScanQuery) -> Result<ScanPage>
            => tenant(&scope.tenant) or_default;
        fn kv_usage(&mut self, scope: &Scope) -> Result<KvUsage>
            => tenant(&scope.tenant) or_default;
        fn quota_day_add(&mut self, scope: &Scope, day: i64, add: DayUsage) -> Result<DayUsage>
            => tenant_mut(&scope.tenant);
        fn setting_get(&mut self, scope: &Scope, key: &str) -> Result<Option<String>>
            => tenant(&scope.tenant) or_default;
        fn setting_list(&mut self, scope: &Scope) -> Result<Vec<(String, String)>>
            => tenant(&scope.tenant) or_default;
        fn setting_put(&mut self, scope: &Scope, key: &str, value: &str) -> Result<()>
            => tenant_mut(&scope.tenant);
        fn setting_delete(&mut self, scope: &Scope, key: &str) -> Result<bool>
            => tenant_mut(&scope.tenant);
        fn quota_day_get(&mut self, scope: &Scope, day: i64) -> Result<DayUsage>
            => tenant(&scope.tenant) or_default;
    }

    fn kv_purge_plugin(&mut self, plugin: &str) -> Result<u64> {
        Ok(self
            .each_tenant(|tx| tx.kv_purge_plugin(plugin))?
            .into_iter()
            .sum())
    }

    fn kv_count_plugin(&mut self, plugin: &str) -> Result<u64> {
        Ok(self
            .each_tenant(|tx| tx.kv_count_plugin(plugin))?
            .into_iter()
            .sum())
    }
}

impl RegistryStore for RoutedTx {
    route! {
        fn tenant_get(&mut self, id: &str) -> Result<Option<Tenant>> => main();
        fn tenant_list(&mut self) -> Result<Vec<Tenant>> => main();
        fn package_insert(&mut self, package: &PackageRecord) -> Result<()> => main_mut();
        fn package_current(&mut self, id: &str) -> Result<Option<PackageRecord>> => main();
        fn package_head(&mut self, id: &str) -> Result<Option<PackageRecord>> => main();
        fn package_manifest(&mut self, id: &str, version: &str) -> Result<Option<String>>
            => main();
        fn package_component(&mut self, id: &str, version: &str) -> Result<Option<Vec<u8>>>
            => main();
        fn package_list(&mut self) -> Result<Vec<PackageRecord>> => main();
        fn package_remove(&mut self, id: &str) -> Result<()> => main_mut();
        fn grants_set(&mut self, plugin: &str, capabilities: &[String]) -> Result<()>
            => main_mut();
        fn grants_get(&mut self, plugin: &str) -> Result<Vec<String>> => main();
        fn enablement_put(&mut self, enablement: &Enablement) -> Result<()> => main_mut();
        fn enablement_get(&mut self, tenant: &str, plugin: &str) -> Result<Option<Enablement>>
            => main();
        fn enablement_for_plugin(&mut self, plugin: &str) -> Result<Vec<Enablement>> => main();
        fn enablement_for_tenant(&mut self, tenant: &str) -> Result<Vec<Enablement>> => main();
        fn trust_insert(&mut self, key: &TrustedKey) -> Result<()> => main_mut();
        fn trust_list(&mut self) -> Result<Vec<TrustedKey>> => main();
        fn trust_remove(&mut self, name: &str) -> Result<u64> => main_mut();
        fn package_signature_set(&mut self, id: &str, version: &str, signature: &str) -> Result<()>
            => main_mut();
        fn package_signature_get(&mut self, id: &str, version: &str) -> Result<Option<String>>
            => main();
        fn code_digest_get(&mut self, component: &str, engine: &str) -> Result<Option<String>>
            => main();
        fn code_digest_set(&mut self, component: &str, engine: &str, sha256: &str) -> Result<()>
            => main_mut();
        fn package_versions(&mut self, id: &str) -> Result<Vec<PackageRecord>> => main();
        fn package_set_current(&mut self, id: &str, version: &str) -> Result<bool> => main_mut();
        fn package_delete_version(&mut self, id: &str, version: &str) -> Result<()>
            => main_mut();
    }

    fn tenant_insert(&mut self, tenant: &Tenant) -> Result<()> {
        let main = self.main_mut()?;
        main.tenant_insert(tenant)?;
        let num: i64 = main
            .conn()?
            .prepare_cached("INSERT INTO tenant_files (tenant) VALUES (?1) RETURNING num")?
            .query_row(params![tenant.id], |r| r.get(0))?;
        // A file left by a creation that never committed is not this tenant's.
        let path = self.storage.tenant_path(&tenant.id);
        self.storage.forget_tenant(&tenant.id);
        for leftover in sqlite_files(&path) {
            let _ = std::fs::remove_file(leftover);
        }
        let db = self.storage.open_tenant(&tenant.id, num, true)?;
        let mut tx = db.db.begin_write(false)?;
        self.replay(&mut tx)?;
        self.tenants.insert(tenant.id.clone(), tx);
        Ok(())
    }

    fn tenant_delete(&mut self, id: &str) -> Result<u64> {
        // The tenant's rows are counted in its file, which goes once the host rows
        // are gone (after commit); its writers are waited for first.
        let in_file = match self.tenant(id)? {
            Some(tx) => tx.tenant_delete(id)?,
            None => 0,
        };
        let main = self.main_mut()?;
        let removed = main.tenant_delete(id)?;
        let conn = main.conn()?;
        conn.execute("DELETE FROM tenant_files WHERE tenant = ?1", params![id])?;
        conn.execute("DELETE FROM token_tenants WHERE tenant = ?1", params![id])?;
        main.identity_changed()?;
        self.doomed.push(id.to_string());
        Ok(in_file + removed)
    }
}

impl WorkStore for RoutedTx {
    route! {
        fn event_append(&mut self, event: &NewEvent) -> Result<EventRecord>
            => tenant_mut(&event.tenant);
        fn job_upsert_cron(
            &mut self, tenant: &str, plugin: &str, job: &str, cron: &str, next_run_ms: i64
        ) -> Result<()> => tenant_mut(tenant);
        fn job_insert_once(
            &mut self, tenant: &str, plugin: &str, job: &str, payload: &str, at_ms: i64
        ) -> Result<i64> => tenant_mut(tenant);
        fn job_pause(&mut self, tenant: &str, plugin: &str) -> Result<()>
            => tenant(tenant) or_default;
        fn job_resume_once(&mut self, tenant: &str, plugin: &str) -> Result<()>
            => tenant(tenant) or_default;
        fn job_cancel(&mut self, tenant: &str, plugin: &str, id: i64) -> Result<bool>
            => tenant(tenant) or_default;
        fn job_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<(JobRecord, i64)>>
            => gather(limit) |tx, limit|;
        fn event_unfanned(&mut self, limit: u32) -> Result<Vec<EventRecord>>
            => gather(limit) |tx, limit|;
        fn delivery_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<ClaimedDelivery>>
            => gather(limit) |tx, limit|;
        fn job_get(&mut self, id: i64) -> Result<Option<JobRecord>> => find_by_id(id) |tx|;
        fn job_finish(
            &mut self, id: i64, run_id: i64, owner: &str, duration_ms: i64, finish: &Finish
        ) -> Result<bool> => any_by_id(id) |tx|;
        fn job_retry(&mut self, id: i64, now_ms: i64) -> Result<bool> => any_by_id(id) |tx|;
        fn event_fan_out(
            &mut self, event: &EventRecord, subscribers: &[String], now_ms: i64
        ) -> Result<()> => tenant_mut(&event.tenant);
        fn delivery_finish(
            &mut self, id: i64, owner: &str, now_ms: i64, finish: &Finish
        ) -> Result<bool> => any_by_id(id) |tx|;
        fn delivery_get(&mut self, id: i64) -> Result<Option<DeliveryRecord>>
            => find_by_id(id) |tx|;
        fn delivery_retry(&mut self, id: i64, now_ms: i64) -> Result<bool> => any_by_id(id) |tx|;
    }

    fn event_list(&mut self, filter: &EventFilter) -> Result<Vec<EventRecord>> {
        let tenants = self.tenant_or_all(&filter.tenant)?;
        let lists = self.each(tenants, |tx| tx.event_list(filter))?;
        Ok(newest(lists, filter.limit, |e| (e.created_at_ms, e.id)))
    }

    fn job_delete_plugin(&mut self, plugin: &str) -> Result<()> {
        self.each_tenant(|tx| tx.job_delete_plugin(plugin))?;
        Ok(())
    }

    fn job_list(&mut self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        let tenants = self.tenant_or_all(&filter.tenant)?;
        // Each file answers in (tenant, plugin, job, id) order, and tenants in order.
        Ok(self
            .each(tenants, |tx| tx.job_list(filter))?
            .into_iter()
            .flatten()
            .collect())
    }

    fn job_runs(&mut self, job_id: Option<i64>, limit: u32) -> Result<Vec<JobRun>> {
        let tenants = match job_id {
            Some(id) => self.tenants_of_id(id)?,
            None => self.all_tenants()?,
        };
        let lists = self.each(tenants, |tx| tx.job_runs(job_id, limit))?;
        Ok(newest(lists, limit, |r| (r.started_ms, r.id)))
    }

    fn work_depth(&mut self, now_ms: i64) -> Result<super::WorkDepth> {
        let mut total = super::WorkDepth::default();
        for depth in self.each_tenant(|tx| tx.work_depth(now_ms))? {
            total.add(&depth);
        }
        Ok(total)
    }

    fn delivery_list(&mut self, event_id: i64) -> Result<Vec<DeliveryRecord>> {
        Ok(self
            .find_by_id(event_id, |tx| {
                let list = tx.delivery_list(event_id)?;
                Ok((!list.is_empty()).then_some(list))
            })?
            .unwrap_or_default())
    }
}

impl WebhookStore for RoutedTx {
    route! {
        fn webhook_insert(&mut self, endpoint: &WebhookEndpoint) -> Result<()>
            => tenant_mut(&endpoint.tenant);
        fn webhook_list(&mut self, tenant: &str) -> Result<Vec<WebhookEndpoint>>
            => tenant_mut(tenant);
        fn webhook_set_secret(&mut self, endpoint: &WebhookEndpoint) -> Result<bool>
            => tenant_mut(&endpoint.tenant);
        fn webhook_delete(&mut self, tenant: &str, id: &str, now_ms: i64) -> Result<bool>
            => tenant_mut(tenant);
        fn webhook_fan_out(&mut self, event: &EventRecord, now_ms: i64) -> Result<u32>
            => tenant_mut(&event.tenant);
        fn webhook_finish(
            &mut self, tenant: &str, id: i64, owner: &str, now_ms: i64,
            attempt: &WebhookAttempt, finish: &Finish
        ) -> Result<bool> => tenant_mut(tenant);
        fn webhook_deliveries(
            &mut self, tenant: &str, endpoint: Option<&str>, state: Option<&str>,
            limit: u32
        ) -> Result<Vec<WebhookDelivery>> => tenant_mut(tenant);
        fn webhook_replay(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool>
            => tenant_mut(tenant);
    }

    fn webhook_claim(
        &mut self,
        lease: &Lease<'_>,
        room: &mut ClaimRoom,
    ) -> Result<Vec<ClaimedWebhook>> {
        let mut rows = Vec::new();
        for t in self.all_tenants()? {
            if room.limit == 0 {
                break;
            }
            if let Some(tx) = self.tenant(&t)? {
                rows.extend(tx.webhook_claim(lease, room)?);
            }
        }
        Ok(rows)
    }
}

impl IdentityStore for RoutedTx {
    route! {
        fn user_insert(&mut self, user: &UserRecord) -> Result<()> => identity_mut(&user.tenant);
        fn user_get(&mut self, tenant: &str, username: &str) -> Result<Option<UserRecord>>
            => identity(tenant) or_default;
        fn user_list(&mut self, tenant: &str) -> Result<Vec<UserRecord>>
            => identity(tenant) or_default;
        fn user_update(&mut self, user: &UserRecord) -> Result<()>
            => change_identity(&user.tenant) |tx|;
        fn role_insert(&mut self, role: &RoleRecord) -> Result<()> => identity_mut(&role.tenant);
        fn role_get(&mut self, tenant: &str, name: &str) -> Result<Option<RoleRecord>>
            => identity(tenant) or_default;
        fn role_list(&mut self, tenant: &str) -> Result<Vec<RoleRecord>>
            => identity(tenant) or_default;
        fn role_grant(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool>
            => change_identity(tenant) |tx|;
        fn role_revoke(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool>
            => change_identity(tenant) |tx|;
        fn user_role_add(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool>
            => change_identity(tenant) |tx|;
        fn user_role_remove(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool>
            => change_identity(tenant) |tx|;
        fn user_access(
            &mut self, tenant: &str, username: &str
        ) -> Result<(Vec<String>, Vec<String>)> => identity(tenant) or_default;
        fn token_get(&mut self, id: &str) -> Result<Option<TokenRecord>>
            => token_file(id) or_default;
        fn token_list(&mut self, tenant: &str) -> Result<Vec<TokenRecord>>
            => identity(tenant) or_default;
        fn login_throttle_get(&mut self, key: &str) -> Result<Option<LoginThrottle>> => main();
        fn login_throttle_put(&mut self, key: &str, row: &LoginThrottle) -> Result<()>
            => main_mut();
        fn login_throttle_clear(&mut self, key: Option<&str>, before_ms: i64) -> Result<()>
            => main_mut();
    }

    fn token_insert(&mut self, token: &TokenRecord) -> Result<()> {
        if token.tenant != HOST_SCOPE {
            // The index row goes first: a token id taken anywhere is a conflict.
            self.main_mut()?
                .conn()?
                .prepare_cached("INSERT INTO token_tenants (id, tenant) VALUES (?1, ?2)")?
                .execute(params![token.id, token.tenant])
                .map_err(|e| {
                    super::sqlite::conflict_on_unique(e, || {
                        format!("token id {} is taken", token.id)
                    })
                })?;
        }
        self.identity_mut(&token.tenant)?.token_insert(token)
    }

    fn token_revoke(&mut self, id: &str, at: &str) -> Result<bool> {
        let tenant = self.token_tenant(id)?;
        let revoked = match tenant {
            Some(t) => self.tenant_mut(&t)?.token_revoke(id, at)?,
            None => self.main_mut()?.token_revoke(id, at)?,
        };
        self.identity_changed()?;
        Ok(revoked)
    }

    fn identity_changed(&mut self) -> Result<()> {
        // The stamp lives in the main file, whichever file the change went to.
        self.main_mut()?.identity_changed()
    }

    fn token_touch(&mut self, id: &str, at: &str) -> Result<()> {
        let tenant = self.token_tenant(id)?;
        match tenant {
            Some(t) => self.tenant_mut(&t)?.token_touch(id, at),
            None => self.main_mut()?.token_touch(id, at),
        }
    }
}

impl AuditStore for RoutedTx {
    route! {
        fn audit_head(&mut self, tenant: &str) -> Result<Option<(u64, String)>>
            => identity(tenant) or_default;
        fn audit_append(&mut self, record: &AuditRecord, anchor: &AuditAnchor) -> Result<()>
            => identity_mut(&record.tenant);
        fn audit_anchor(&mut self, tenant: &str) -> Result<Option<AuditAnchor>>
            => identity(tenant) or_default;
        fn audit_anchor_create(&mut self, anchor: &AuditAnchor) -> Result<bool>
            => identity_mut(&anchor.tenant);
    }

    fn audit_known_tip(&mut self, chain: &str) -> Option<AuditAnchor> {
        let tx = if chain == HOST_SCOPE {
            self.main.as_mut()
        } else {
            self.tenants.get_mut(chain)
        };
        tx?.audit_known_tip(chain)
    }

    fn audit_list(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        if let Some(t) = &query.tenant {
            return match self.identity(t)? {
                Some(tx) => tx.audit_list(query),
                None => Ok(Vec::new()),
            };
        }
        let mut rows = self.main()?.audit_list(query)?;
        rows.extend(
            self.each_tenant(|tx| tx.audit_list(query))?
                .into_iter()
                .flatten(),
        );
        rows.sort_by(|a, b| (&a.at, &a.tenant, a.seq).cmp(&(&b.at, &b.tenant, b.seq)));
        rows.truncate(query.limit as usize);
        Ok(rows)
    }

    fn audit_chains(&mut self) -> Result<Vec<String>> {
        let mut chains = self.main()?.audit_chains()?;
        chains.extend(
            self.each_tenant(|tx| tx.audit_chains())?
                .into_iter()
                .flatten(),
        );
        chains.sort();
        chains.dedup();
        Ok(chains)
    }
}

/// The `limit` newest of the rows several files answered, newest first by `key`
/// (time, then id).
fn newest<T, K: Ord>(lists: Vec<Vec<T>>, limit: u32, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut rows: Vec<T> = lists.into_iter().flatten().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    rows.truncate(limit as usize);
    rows
}

/// A database file and the WAL and shared-memory files beside it.
pub(super) fn sqlite_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        files.push(PathBuf::from(p));
    }
    files
}
