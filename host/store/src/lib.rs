//! Storage: the one place that knows how host tables and plugin data are kept.
//!
//! The rest of the host talks to a [`Storage`] and the [`Transaction`]s it opens; no
//! other module writes SQL. Every plugin call runs in exactly one transaction that the
//! runtime commits or drops, so the trait is shaped around "open, work, commit", which
//! a PostgreSQL backend can implement with the same meaning (one database transaction
//! per call).
//!
//! Plugin key-value data is addressed through a [`Scope`]: the host fills it from the
//! call's tenant and plugin, so a plugin has no way to name anybody else's data.
//!
//! The crate `backoffice-store` holds the traits and both backends and knows nothing
//! of the host (which names it `backoffice_host::store`). The PostgreSQL backend and
//! `migrate_sqlite_to_postgres` come with the cargo feature `postgres` (on by
//! default).

mod events;
pub mod fsperm;
mod http;
mod http_sql;
mod identity;
mod kv;
#[cfg(feature = "postgres")]
mod migrate;
mod notify;
mod notify_sql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_http;
#[cfg(feature = "postgres")]
mod postgres_notify;
#[cfg(feature = "postgres")]
mod postgres_schema;
#[cfg(feature = "postgres")]
mod postgres_webhooks;
#[cfg(feature = "postgres")]
mod postgres_work;
mod queue;
mod registry;
mod sql;
mod sql_conn;
mod sqlite;
mod sqlite_backup;
mod sqlite_events;
mod sqlite_http;
mod sqlite_identity;
mod sqlite_notify;
mod sqlite_split;
mod sqlite_tenants;
mod sqlite_trust;
mod sqlite_webhooks;
mod sqlite_work;
mod webhooks;
mod work;

pub use events::{EventFilter, EventRecord, NewEvent};
pub use http::{HttpAttempt, HttpQueue, HttpRequest, NewHttpRequest};
pub use identity::{
    AuditAnchor, AuditQuery, AuditRecord, HOST_SCOPE, LoginThrottle, RoleRecord, TokenRecord,
    UserRecord,
};
#[cfg(feature = "postgres")]
pub use migrate::{MigrationReport, migrate_sqlite_to_postgres};
pub use notify::{NewNotification, Notification, NotifyAttempt, NotifyQueue, NotifyStore};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStorage, redact as redact_url};
pub use queue::{QueueKind, QueueStore};
pub use sql_conn::Lease;
pub use sqlite::{Durability, observe_commits};
pub use sqlite_backup::{RestoreSummary, TenantFileError, TenantFileSummary};
pub use sqlite_tenants::{SqliteStorage, TENANTS_DIR, tenant_file};
pub use webhooks::{
    ClaimRoom, ClaimedWebhook, WebhookAttempt, WebhookDelivery, WebhookEndpoint, topic_matches,
};
pub use work::{ClaimedDelivery, DeliveryRecord, Finish, JobFilter, JobRecord, JobRun, WorkDepth};

/// The storage traits in one import, for a backend or a wrapper that implements
/// [`Transaction`] (one trait per concern), or code that calls them on a concrete
/// transaction type. Calls through `dyn Transaction` need no import.
pub mod prelude {
    pub use super::{
        AuditStore, HttpQueue, IdentityStore, KvStore, NotifyQueue, NotifyStore, QueueStore,
        RegistryStore, Storage, Transaction, WebhookStore, WorkStore,
    };
}

use serde::Serialize;

/// What went wrong in the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A row with the same identity already exists.
    #[error("{0}")]
    Conflict(String),
    /// The database could not be opened, read or written.
    #[error("storage failure: {0}")]
    Backend(String),
    /// A concurrent transaction (on this host or another sharing the database)
    /// changed what this one read or wrote: nothing was committed, and running the
    /// whole unit of work again will see the new state. PostgreSQL only.
    #[error("a concurrent change got in the way, nothing was committed; retry: {0}")]
    Retry(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Tables with rows of one tenant, in an order that deletes referencing rows first.
pub(crate) const TENANT_ROWS: &[&str] = &[
    "http_attempts",
    "http_requests",
    "notification_attempts",
    "notifications",
    "user_emails",
    "webhook_deliveries",
    "webhook_endpoints",
    "deliveries",
    "events",
    "job_runs",
    "jobs",
    "kv",
    "plugin_settings",
    "tokens",
    "user_roles",
    "role_permissions",
    "roles",
    "users",
    "audit",
    "audit_anchors",
];

/// Where a long copy (splitting a data directory per tenant, `migrate-storage`)
/// reports how far it is: the command line draws a progress bar.
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// A copy of `total` rows, described by `what`, begins.
    fn begin(&self, what: &str, total: u64);
    /// `rows` more rows were copied.
    fn advance(&self, rows: u64);
    /// The copy begun last is done.
    fn end(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// Result of a storage operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The (tenant, plugin) pair that owns a key-value space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Tenant id.
    pub tenant: String,
    /// Plugin id.
    pub plugin: String,
}

/// A key range scan inside one scope.
#[derive(Debug, Clone, Default)]
pub struct ScanQuery {
    /// Smallest key included.
    pub start: Option<String>,
    /// First key excluded.
    pub end: Option<String>,
    /// Continue past this key (exclusive) in the scan's direction.
    pub after: Option<String>,
    /// Descending key order.
    pub reverse: bool,
    /// Maximum number of entries returned.
    pub limit: u32,
    /// Stop once the keys and values returned add up to more than this many bytes
    /// (the first entry always comes back). The database applies it, so a scan never
    /// brings more than about this much into the host's memory.
    pub max_bytes: Option<u64>,
}

impl ScanQuery {
    /// The one statement of this scan for both backends, with `$N` placeholders
    /// (SQLite reads them too): tenant, plugin, the bounds that are present, the row
    /// limit, the byte budget. Each row is `key, value, rows`, where `rows` counts the
    /// entries the page could have had (more than returned: another page follows).
    pub(crate) fn sql(&self) -> String {
        let mut n = 2;
        let mut next = || {
            n += 1;
            n
        };
        let mut bounds = String::new();
        if self.start.is_some() {
            bounds.push_str(&format!(" AND key >= ${}", next()));
        }
        if self.end.is_some() {
            bounds.push_str(&format!(" AND key < ${}", next()));
        }
        if self.after.is_some() {
            let op = if self.reverse { "<" } else { ">" };
            bounds.push_str(&format!(" AND key {op} ${}", next()));
        }
        let (fetch, limit, budget) = (next(), next(), next());
        let order = if self.reverse { "DESC" } else { "ASC" };
        // Innermost: one row more than asked tells whether another page follows.
        // Then a running total of bytes in scan order; keep rows within the budget.
        format!(
            "SELECT key, value, rows FROM (
               SELECT key, value, count(*) OVER () AS rows, row_number() OVER w AS n,
                      sum(octet_length(key) + octet_length(value)) OVER w AS upto
                 FROM (SELECT key, value FROM kv WHERE tenant = $1 AND plugin = $2{bounds}
                        ORDER BY key {order} LIMIT ${fetch}) AS page
               WINDOW w AS (ORDER BY key {order} ROWS UNBOUNDED PRECEDING)) AS sized
             WHERE n <= ${limit} AND (n = 1 OR upto <= ${budget})
             ORDER BY key {order}"
        )
    }

    /// The values bound after tenant and plugin, in the order of [`ScanQuery::sql`].
    pub(crate) fn bounds(&self) -> Vec<&String> {
        [&self.start, &self.end, &self.after]
            .into_iter()
            .flatten()
            .collect()
    }

    /// `(fetch, limit, budget)`: the last three values bound.
    pub(crate) fn sizes(&self) -> (i64, i64, i64) {
        let budget = self
            .max_bytes
            .map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        (i64::from(self.limit) + 1, i64::from(self.limit), budget)
    }
}

/// One page of scan results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanPage {
    /// Entries in scan order.
    pub entries: Vec<(String, Vec<u8>)>,
    /// Whether more entries follow in the range.
    pub more: bool,
}

/// What a plugin keeps in one tenant: its keys, and their bytes (key plus value).
/// The database keeps it exact, in the same transaction as every write of `kv`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KvUsage {
    /// Keys held.
    pub keys: u64,
    /// Bytes of keys and values held.
    pub bytes: u64,
}

/// Events a plugin emitted and one-off runs it scheduled in one tenant on one UTC
/// day (days since the Unix epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DayUsage {
    /// Events emitted.
    pub events: u64,
    /// One-off runs scheduled.
    pub runs: u64,
}

/// A company served by the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    /// Short stable id, used in URLs and on the command line.
    pub id: String,
    /// Display name.
    pub name: String,
    /// IANA time zone name.
    pub time_zone: String,
    /// RFC 3339 UTC timestamp.
    pub created_at: String,
}

/// One installed version of a plugin package.
#[derive(Debug, Clone)]
pub struct PackageRecord {
    /// Plugin id from the manifest.
    pub id: String,
    /// Semver version from the manifest.
    pub version: String,
    /// The manifest as JSON (normalised form of the embedded plugin.toml).
    pub manifest_json: String,
    /// SHA-256 of the component bytes, lowercase hex.
    pub digest: String,
    /// The component itself, so any host sharing this database can load it; empty
    /// when read back through [`RegistryStore::package_current`] or `package_list`.
    pub component: Vec<u8>,
    /// RFC 3339 UTC timestamp.
    pub installed_at: String,
}

/// A vendor public key trusted to sign plugins of the vendor `name`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustedKey {
    /// Vendor name; must equal the `vendor` of the manifests the key signs.
    pub name: String,
    /// Ed25519 public key, lowercase hex.
    pub public_key: String,
    /// RFC 3339 UTC timestamp.
    pub added_at: String,
}

/// A plugin's state for one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enablement {
    /// Tenant id.
    pub tenant: String,
    /// Plugin id.
    pub plugin: String,
    /// Whether calls are currently allowed.
    pub enabled: bool,
    /// The plugin version whose `migrate` last ran for this tenant.
    pub data_version: String,
    /// RFC 3339 UTC timestamp of the last change.
    pub changed_at: String,
}

/// The identity and registry stamps, read together (see [`Storage::stamps`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    /// [`Storage::identity_stamp`].
    pub identity: i64,
    /// [`Storage::registry_stamp`].
    pub registry: i64,
}

/// Opens transactions. Cheap to clone and share between threads.
pub trait Storage: Send + Sync + 'static {
    /// Start a read-write transaction. Dropping it without [`Transaction::commit`]
    /// rolls everything back.
    fn begin(&self) -> Result<Box<dyn Transaction>>;

    /// Start a read-write transaction that writes only what belongs to `scope` (a
    /// tenant's data and audit chain, or one kind of background work). A backend
    /// shared by several hosts runs the writers of one scope one at a time, so they
    /// do not conflict; others may run beside them. SQLite has one writer anyway.
    fn begin_scoped(&self, scope: &str) -> Result<Box<dyn Transaction>> {
        let _ = scope;
        self.begin()
    }

    /// [`Storage::begin`] for an admin action that also writes what belongs to
    /// `tenants` (their users, tokens, enablement, jobs, data or audit chains). A
    /// backend shared by several hosts waits for those tenants' writers before it
    /// takes the host-wide lock, so the action never races them and never holds the
    /// host-wide lock while it waits. SQLite takes each tenant's writer when the
    /// action first touches that tenant's file.
    fn begin_for(&self, tenants: &[&str]) -> Result<Box<dyn Transaction>> {
        let _ = tenants;
        self.begin()
    }

    /// [`Storage::begin_scoped`] for batch work (a job run, an operation with a long
    /// deadline): a backend that shares commits between writers does not make the
    /// writers before it wait for their answer until this one is done.
    fn begin_scoped_long(&self, scope: &str) -> Result<Box<dyn Transaction>> {
        self.begin_scoped(scope)
    }

    /// Start a transaction for reading only. It does not wait for or block writers,
    /// and sees one consistent snapshot. Writing through it is a caller bug and may
    /// fail with a busy error.
    fn begin_read(&self) -> Result<Box<dyn Transaction>>;

    /// Whether reads (`begin_read` and what is read through it, the stamps) never
    /// wait on another async runtime or the network, so an async worker may read in
    /// place (see `runtime::inline`).
    fn reads_in_place(&self) -> bool {
        false
    }

    /// Whether the database answers a trivial query.
    fn ping(&self) -> Result<()>;

    /// A number that moves on whenever a user, role, permission or token changes
    /// anywhere (through any host or CLI): a host may keep authenticated principals
    /// while it reads the same number, and drops them when it moves. One small read.
    fn identity_stamp(&self) -> Result<i64>;

    /// A number that moves on whenever a tenant, package version, current version,
    /// grant or enablement changes anywhere (database triggers move it in the writing
    /// transaction): a host may keep what a call reads of the registry while it reads
    /// the same number. One small read.
    fn registry_stamp(&self) -> Result<i64>;

    /// [`Storage::identity_stamp`] and [`Storage::registry_stamp`] together, in one
    /// read: what a call from outside needs first.
    fn stamps(&self) -> Result<Stamps> {
        Ok(Stamps {
            identity: self.identity_stamp()?,
            registry: self.registry_stamp()?,
        })
    }

    /// The scopes in which the scheduler looks for due work, each claimed in a
    /// transaction of its own from [`Storage::begin_scoped`]: `Some(tenant)` for each
    /// tenant that may have work due at `now_ms` (SQLite keeps a file per tenant, and
    /// a claim must not wait for another tenant's writer), or `None` for one shared
    /// scope covering every tenant.
    fn work_scopes(&self, now_ms: i64) -> Result<Vec<Option<String>>> {
        let _ = now_ms;
        Ok(vec![None])
    }
}

/// One unit of work. Everything done through it commits together or not at all.
pub trait Transaction:
    KvStore
    + RegistryStore
    + WorkStore
    + WebhookStore
    + NotifyStore
    + NotifyQueue
    + HttpQueue
    + IdentityStore
    + AuditStore
    + Send
{
    /// Make every change of this transaction durable.
    fn commit(self: Box<Self>) -> Result<()>;

    /// Open savepoint `name` (an identifier) inside this transaction.
    fn savepoint(&mut self, name: &str) -> Result<()>;

    /// Keep the changes since savepoint `name` in the transaction and close it.
    fn release(&mut self, name: &str) -> Result<()>;

    /// Undo every change since savepoint `name` and close it.
    fn rollback_to(&mut self, name: &str) -> Result<()>;
}

/// A plugin's data in a tenant: key-value entries, their usage, day quotas and the
/// tenant's setting values. Lives with the tenant (its own file on SQLite).
pub trait KvStore: Send {
    /// Value of `key`, if present.
    fn kv_get(&mut self, scope: &Scope, key: &str) -> Result<Option<Vec<u8>>>;

    /// Insert or replace `key`.
    fn kv_put(&mut self, scope: &Scope, key: &str, value: &[u8]) -> Result<()>;

    /// Remove `key`; whether it existed.
    fn kv_delete(&mut self, scope: &Scope, key: &str) -> Result<bool>;

    /// Keys of a range in order.
    fn kv_scan(&mut self, scope: &Scope, query: &ScanQuery) -> Result<ScanPage>;

    /// Remove all data of a plugin in every tenant (its keys and its tenants' setting
    /// values); the number of keys removed.
    fn kv_purge_plugin(&mut self, plugin: &str) -> Result<u64>;

    /// Number of keys a plugin holds across tenants.
    fn kv_count_plugin(&mut self, plugin: &str) -> Result<u64>;

    /// Keys and bytes the scope holds, as this transaction sees them (its own writes
    /// included): kept by the database beside `kv`, never counted on the fly.
    fn kv_usage(&mut self, scope: &Scope) -> Result<KvUsage>;

    /// Add `add` to the scope's counters of `day`; the totals after.
    fn quota_day_add(&mut self, scope: &Scope, day: i64, add: DayUsage) -> Result<DayUsage>;

    /// The scope's counters of `day`.
    fn quota_day_get(&mut self, scope: &Scope, day: i64) -> Result<DayUsage>;

    /// The value (JSON text) the scope's tenant set for its plugin's setting `key`.
    fn setting_get(&mut self, scope: &Scope, key: &str) -> Result<Option<String>>;

    /// Every value the scope's tenant set for its plugin, ordered by key.
    fn setting_list(&mut self, scope: &Scope) -> Result<Vec<(String, String)>>;

    /// Set or replace a value (JSON text).
    fn setting_put(&mut self, scope: &Scope, key: &str, value: &str) -> Result<()>;

    /// Remove a value; whether there was one.
    fn setting_delete(&mut self, scope: &Scope, key: &str) -> Result<bool>;
}

/// Host-level records: tenants, installed packages and their signatures, grants,
/// enablements, trusted keys and the compiled-code index.
pub trait RegistryStore: Send {
    /// Create a tenant; [`StoreError::Conflict`] if the id is taken.
    fn tenant_insert(&mut self, tenant: &Tenant) -> Result<()>;

    /// A tenant by id.
    fn tenant_get(&mut self, id: &str) -> Result<Option<Tenant>>;

    /// All tenants ordered by id.
    fn tenant_list(&mut self) -> Result<Vec<Tenant>>;

    /// Remove a tenant and every row of it (plugin data, outbox, work, users, roles,
    /// tokens, audit chain, enablements); the number of rows removed. SQLite removes
    /// the tenant's file once the transaction commits.
    fn tenant_delete(&mut self, id: &str) -> Result<u64>;

    /// Record an installed package and make it the plugin's current version;
    /// [`StoreError::Conflict`] if this id and version are already installed.
    fn package_insert(&mut self, package: &PackageRecord) -> Result<()>;

    /// The current version of a plugin, without its component bytes (`component` is
    /// empty): calls need only the metadata once the code is loaded.
    fn package_current(&mut self, id: &str) -> Result<Option<PackageRecord>>;

    /// The current version of a plugin without its manifest or component bytes (both
    /// empty): what a call needs once the plugin is loaded, read on every call.
    fn package_head(&mut self, id: &str) -> Result<Option<PackageRecord>>;

    /// The manifest (JSON) of an installed plugin version.
    fn package_manifest(&mut self, id: &str, version: &str) -> Result<Option<String>>;

    /// The component bytes of an installed plugin version.
    fn package_component(&mut self, id: &str, version: &str) -> Result<Option<Vec<u8>>>;

    /// `(id, version, manifest_json, digest, installed_at)` of every plugin's current
    /// version, without the component bytes.
    fn package_list(&mut self) -> Result<Vec<PackageRecord>>;

    /// Forget a plugin: every installed version, grants and enablements.
    fn package_remove(&mut self, id: &str) -> Result<()>;

    /// Replace the capabilities granted to a plugin.
    fn grants_set(&mut self, plugin: &str, capabilities: &[String]) -> Result<()>;

    /// Capabilities granted to a plugin, sorted.
    fn grants_get(&mut self, plugin: &str) -> Result<Vec<String>>;

    /// Insert or update a plugin's state for a tenant.
    fn enablement_put(&mut self, enablement: &Enablement) -> Result<()>;

    /// A plugin's state for a tenant.
    fn enablement_get(&mut self, tenant: &str, plugin: &str) -> Result<Option<Enablement>>;

    /// Every tenant state of a plugin.
    fn enablement_for_plugin(&mut self, plugin: &str) -> Result<Vec<Enablement>>;

    /// Every plugin state of a tenant.
    fn enablement_for_tenant(&mut self, tenant: &str) -> Result<Vec<Enablement>>;

    /// Trust a vendor key; [`StoreError::Conflict`] if the key is already trusted.
    fn trust_insert(&mut self, key: &TrustedKey) -> Result<()>;

    /// Every trusted key, by name.
    fn trust_list(&mut self) -> Result<Vec<TrustedKey>>;

    /// Stop trusting every key of `name`; how many were removed.
    fn trust_remove(&mut self, name: &str) -> Result<u64>;

    /// Record what install found about a package version's signature (JSON text).
    fn package_signature_set(&mut self, id: &str, version: &str, signature: &str) -> Result<()>;

    /// The recorded signature status of a package version.
    fn package_signature_get(&mut self, id: &str, version: &str) -> Result<Option<String>>;

    /// Every installed version of a plugin, in no particular order, without bytes.
    fn package_versions(&mut self, id: &str) -> Result<Vec<PackageRecord>>;

    /// Make an installed version current; false if that version is not installed.
    fn package_set_current(&mut self, id: &str, version: &str) -> Result<bool>;

    /// Forget one installed version (not the current one) and its signature status.
    fn package_delete_version(&mut self, id: &str, version: &str) -> Result<()>;

    /// The SHA-256 of the compiled code this host wrote to its code cache for the
    /// component `component` under the engine key `engine`.
    fn code_digest_get(&mut self, component: &str, engine: &str) -> Result<Option<String>>;

    /// Record (insert or replace) what [`RegistryStore::code_digest_get`] returns.
    fn code_digest_set(&mut self, component: &str, engine: &str, sha256: &str) -> Result<()>;
}

/// Durable work: the event outbox, event deliveries to plugins, jobs and their runs
/// (see `work.rs` for the protocol).
pub trait WorkStore: Send {
    /// Append an event to the outbox; it is visible to others only once this
    /// transaction commits, and gone if it rolls back. Assigns the next id and the
    /// next per-tenant sequence number.
    fn event_append(&mut self, event: &NewEvent) -> Result<EventRecord>;

    /// Events matching `filter`, newest first.
    fn event_list(&mut self, filter: &EventFilter) -> Result<Vec<EventRecord>>;

    /// Create or re-arm the cron schedule of a job; a dead-lettered one stays failed.
    fn job_upsert_cron(
        &mut self,
        tenant: &str,
        plugin: &str,
        job: &str,
        cron: &str,
        next_run_ms: i64,
    ) -> Result<()>;

    /// Schedule a one-off run; its id.
    fn job_insert_once(
        &mut self,
        tenant: &str,
        plugin: &str,
        job: &str,
        payload: &str,
        at_ms: i64,
    ) -> Result<i64>;

    /// Pause every scheduled job of a plugin in a tenant (the plugin was disabled).
    fn job_pause(&mut self, tenant: &str, plugin: &str) -> Result<()>;

    /// Resume paused one-off runs of a plugin in a tenant (it was enabled again).
    fn job_resume_once(&mut self, tenant: &str, plugin: &str) -> Result<()>;

    /// Forget every job of a plugin (it was removed).
    fn job_delete_plugin(&mut self, plugin: &str) -> Result<()>;

    /// Cancel a pending one-off run of this tenant and plugin; whether it was pending.
    fn job_cancel(&mut self, tenant: &str, plugin: &str, id: i64) -> Result<bool>;

    /// Lease up to `limit` due jobs by `lease`'s terms, counting an attempt and
    /// opening a `running` history row each; returns the jobs and their run ids.
    fn job_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<(JobRecord, i64)>>;

    /// Record the outcome (and duration) of run `run_id` of job `id` leased by
    /// `owner`; false when the lease was lost meanwhile.
    fn job_finish(
        &mut self,
        id: i64,
        run_id: i64,
        owner: &str,
        duration_ms: i64,
        finish: &Finish,
    ) -> Result<bool>;

    /// One job.
    fn job_get(&mut self, id: i64) -> Result<Option<JobRecord>>;

    /// Jobs matching `filter`.
    fn job_list(&mut self, filter: &JobFilter) -> Result<Vec<JobRecord>>;

    /// Run history, newest first, of one job or all.
    fn job_runs(&mut self, job_id: Option<i64>, limit: u32) -> Result<Vec<JobRun>>;

    /// Revive a failed (dead-lettered) job to run at `now_ms`; whether it was failed.
    fn job_retry(&mut self, id: i64, now_ms: i64) -> Result<bool>;

    /// How much durable work waits at `now_ms`, over every tenant this transaction
    /// covers (a tenant-bound one: that tenant's).
    fn work_depth(&mut self, now_ms: i64) -> Result<WorkDepth>;

    /// Events not yet expanded into deliveries, oldest first.
    fn event_unfanned(&mut self, limit: u32) -> Result<Vec<EventRecord>>;

    /// Create a pending delivery of `event` per subscriber and mark it expanded.
    fn event_fan_out(
        &mut self,
        event: &EventRecord,
        subscribers: &[String],
        now_ms: i64,
    ) -> Result<()>;

    /// Lease up to `limit` due deliveries by `lease`'s terms, counting an attempt;
    /// never one whose subscriber still has an earlier pending event of the same
    /// tenant and topic, so each subscriber sees a topic in emit order.
    fn delivery_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<ClaimedDelivery>>;

    /// Record the outcome of a delivery leased by `owner`; false when the lease was lost.
    fn delivery_finish(
        &mut self,
        id: i64,
        owner: &str,
        now_ms: i64,
        finish: &Finish,
    ) -> Result<bool>;

    /// One delivery by id.
    fn delivery_get(&mut self, id: i64) -> Result<Option<DeliveryRecord>>;

    /// Deliveries of one event.
    fn delivery_list(&mut self, event_id: i64) -> Result<Vec<DeliveryRecord>>;

    /// Revive a dead delivery; whether it was dead.
    fn delivery_retry(&mut self, id: i64, now_ms: i64) -> Result<bool>;
}

/// Outbound webhooks (see `webhooks.rs`). Both backends implement every method; the
/// defaults serve wrappers that never touch webhooks (batch work).
pub trait WebhookStore: Send {
    // defaults only serve wrappers that never touch webhooks (batch work) ---
    /// Subscribe an endpoint; [`StoreError::Conflict`] if the id is taken.
    fn webhook_insert(&mut self, endpoint: &WebhookEndpoint) -> Result<()> {
        let _ = endpoint;
        Err(webhooks_unsupported())
    }

    /// A tenant's endpoints, oldest first.
    fn webhook_list(&mut self, tenant: &str) -> Result<Vec<WebhookEndpoint>> {
        let _ = tenant;
        Err(webhooks_unsupported())
    }

    /// Replace an endpoint's secret fields (a rotation); whether it exists.
    fn webhook_set_secret(&mut self, endpoint: &WebhookEndpoint) -> Result<bool> {
        let _ = endpoint;
        Err(webhooks_unsupported())
    }

    /// Remove an endpoint (its pending deliveries become dead); whether it existed.
    fn webhook_delete(&mut self, tenant: &str, id: &str, now_ms: i64) -> Result<bool> {
        let _ = (tenant, id, now_ms);
        Err(webhooks_unsupported())
    }

    /// Create a pending delivery of `event` per endpoint of its tenant that wants its
    /// topic, in the transaction that fans the event out; how many. A backend that
    /// cannot hold endpoints has none to deliver to.
    fn webhook_fan_out(&mut self, event: &EventRecord, now_ms: i64) -> Result<u32> {
        let _ = (event, now_ms);
        Ok(0)
    }

    /// Lease due deliveries by `lease`'s terms, counting an attempt: oldest due first,
    /// up to `room.limit` and each endpoint's share ([`ClaimRoom`]), which are counted
    /// down by what was leased.
    fn webhook_claim(
        &mut self,
        lease: &Lease<'_>,
        room: &mut ClaimRoom,
    ) -> Result<Vec<ClaimedWebhook>> {
        let _ = (lease, room);
        Ok(Vec::new())
    }

    /// Record an attempt of a delivery of `tenant` leased by `owner`; false when the
    /// lease was lost meanwhile.
    fn webhook_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        now_ms: i64,
        attempt: &WebhookAttempt,
        finish: &Finish,
    ) -> Result<bool> {
        let _ = (tenant, id, owner, now_ms, attempt, finish);
        Err(webhooks_unsupported())
    }

    /// A tenant's delivery log, newest first: one endpoint's or all.
    fn webhook_deliveries(
        &mut self,
        tenant: &str,
        endpoint: Option<&str>,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let _ = (tenant, endpoint, state, limit);
        Err(webhooks_unsupported())
    }

    /// Send a dead or delivered delivery again, same `webhook-id`: true; false when
    /// there is no such delivery; [`StoreError::Conflict`] when it is pending or its
    /// endpoint was removed.
    fn webhook_replay(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        let _ = (tenant, id, now_ms);
        Err(webhooks_unsupported())
    }
}

/// Users, roles, API tokens, the identity stamp and the sign-in throttle.
pub trait IdentityStore: Send {
    /// Create a user; [`StoreError::Conflict`] if the name is taken in the tenant.
    fn user_insert(&mut self, user: &UserRecord) -> Result<()>;

    /// A user by tenant and name.
    fn user_get(&mut self, tenant: &str, username: &str) -> Result<Option<UserRecord>>;

    /// Users of a tenant ([`HOST_SCOPE`] for system administrators), by name.
    fn user_list(&mut self, tenant: &str) -> Result<Vec<UserRecord>>;

    /// Replace a user's password hash and disabled mark.
    fn user_update(&mut self, user: &UserRecord) -> Result<()>;

    /// Create a role; [`StoreError::Conflict`] if it exists.
    fn role_insert(&mut self, role: &RoleRecord) -> Result<()>;

    /// A role with its permissions.
    fn role_get(&mut self, tenant: &str, name: &str) -> Result<Option<RoleRecord>>;

    /// Roles of a tenant with their permissions, by name.
    fn role_list(&mut self, tenant: &str) -> Result<Vec<RoleRecord>>;

    /// Add a permission pattern to a role; whether it was new.
    fn role_grant(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool>;

    /// Remove a permission pattern from a role; whether it was held.
    fn role_revoke(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool>;

    /// Give a user a role; whether it was new.
    fn user_role_add(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool>;

    /// Take a role from a user; whether it was held.
    fn user_role_remove(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool>;

    /// Role names of a user and the permission patterns they carry, each sorted.
    fn user_access(&mut self, tenant: &str, username: &str) -> Result<(Vec<String>, Vec<String>)>;

    /// Store a token (its hash only); [`StoreError::Conflict`] if the id is taken.
    fn token_insert(&mut self, token: &TokenRecord) -> Result<()>;

    /// A token by public id.
    fn token_get(&mut self, id: &str) -> Result<Option<TokenRecord>>;

    /// Tokens of a tenant, newest first.
    fn token_list(&mut self, tenant: &str) -> Result<Vec<TokenRecord>>;

    /// Mark a token revoked at `at`; whether it was active.
    fn token_revoke(&mut self, id: &str, at: &str) -> Result<bool>;

    /// Record a use of the token at `at`.
    fn token_touch(&mut self, id: &str, at: &str) -> Result<()>;

    /// Move the identity stamp on ([`Storage::identity_stamp`]): users, roles,
    /// permissions or tokens changed, so every host drops the principals it cached.
    /// The methods above that change them (updating a user, granting, revoking,
    /// assigning, revoking a token, deleting a tenant) call it themselves.
    fn identity_changed(&mut self) -> Result<()>;

    /// The throttle row of `key` (an account or a client address), if any.
    fn login_throttle_get(&mut self, key: &str) -> Result<Option<LoginThrottle>>;

    /// Insert or replace the throttle row of `key`.
    fn login_throttle_put(&mut self, key: &str, row: &LoginThrottle) -> Result<()>;

    /// Forget the row of `key` (if given), and every row whose last failure is at or
    /// before `before_ms`.
    fn login_throttle_clear(&mut self, key: Option<&str>, before_ms: i64) -> Result<()>;
}

/// The audit chains: links and their anchors.
pub trait AuditStore: Send {
    /// The last link of a chain: `(seq, hash)`.
    fn audit_head(&mut self, tenant: &str) -> Result<Option<(u64, String)>>;

    /// Append a link and move the chain's anchor to it (insert or replace) in the
    /// same transaction; [`StoreError::Conflict`] if the sequence number is taken.
    fn audit_append(&mut self, record: &AuditRecord, anchor: &AuditAnchor) -> Result<()>;

    /// The anchor of a chain, if it has one.
    fn audit_anchor(&mut self, tenant: &str) -> Result<Option<AuditAnchor>>;

    /// Where `chain` continues, when this transaction knows it without reading: the
    /// anchor it last wrote to the chain, or one a writer before it in the same
    /// commit batch wrote (those writers' changes are in this transaction). `None`:
    /// read the head and the anchor.
    fn audit_known_tip(&mut self, chain: &str) -> Option<AuditAnchor> {
        let _ = chain;
        None
    }

    /// Give a chain its first anchor; false (and nothing written) when it has one.
    fn audit_anchor_create(&mut self, anchor: &AuditAnchor) -> Result<bool>;

    /// Links matching a query, oldest first.
    fn audit_list(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>>;

    /// Every chain that has links.
    fn audit_chains(&mut self) -> Result<Vec<String>>;
}

/// What a store trait's default method answers on a transaction that cannot hold
/// `rows`.
fn unsupported(rows: &str) -> StoreError {
    StoreError::Backend(format!(
        "internal error: {rows} were used through a transaction that cannot hold them"
    ))
}

fn webhooks_unsupported() -> StoreError {
    unsupported("webhooks")
}

#[doc(hidden)]
pub mod suite;
#[doc(hidden)]
pub mod suite_http;
#[doc(hidden)]
pub mod suite_notify;
#[cfg(test)]
mod tests;
