//! The host: storage, the sandbox runtime and the loaded plugins, behind one handle
//! that the CLI, the HTTP API and tests share.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::capabilities::{CallInfo, HostFault};
use crate::clock::{Clock, SystemClock};
use crate::error::{HostError, HostResult};
use crate::manifest::{Manifest, check_ident};
use crate::plan::{Caller, Plan};
use crate::runtime::{Limits, Refusal, Resolved, Runtime};
use crate::scheduler::{WorkConfig, Worker};
#[cfg(feature = "postgres")]
use crate::store::PostgresStorage;
use crate::store::{
    Durability, NoProgress, PackageRecord, Progress, SqliteStorage, Storage, StoreError, Tenant,
    Transaction,
};

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "backoffice.db";

/// How to open a host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Directory holding the database and the compiled-code cache.
    pub data_dir: PathBuf,
    /// Commit durability of the SQLite database.
    pub durability: Durability,
    /// A PostgreSQL URL (`postgres://user:password@host:port/db`): keep every piece of
    /// state there, shared with the other hosts naming it, instead of in the SQLite
    /// file of `data_dir` (which then holds only the compiled-code cache).
    pub database: Option<String>,
    /// Sandbox limits for every call.
    pub limits: Limits,
    /// Where business time and the scheduler read "now".
    pub clock: Arc<dyn Clock>,
    /// Leases, retries and backoff of jobs and event deliveries.
    pub work: WorkConfig,
    /// How long a session token from `login` stays valid.
    pub session_ttl: std::time::Duration,
    /// Who admin actions of this process are recorded as in the audit log
    /// (`cli:<os user>` for the command line).
    pub operator: String,
    /// Where long copies at open (splitting an older data directory per tenant)
    /// report progress; the command line draws a bar.
    pub progress: Arc<dyn Progress>,
    /// The file holding the key that seals the audit chains (`<data_dir>/audit.key`
    /// when absent); every host sharing a PostgreSQL database needs the same one.
    pub audit_key_file: Option<PathBuf>,
    /// Where outbound webhooks may go and how they are retried (from the
    /// `BACKOFFICE_WEBHOOK_*` environment variables by default).
    pub webhooks: crate::webhooks::WebhookPolicy,
    /// The SMTP relay of notifications and how they are retried (no relay and the
    /// `BACKOFFICE_NOTIFY_*` environment variables by default).
    pub notify: crate::notify::NotifyPolicy,
    /// How plugins' outbound HTTP requests are retried and capped (the
    /// `BACKOFFICE_HTTP_*` environment variables by default; where they may go is
    /// `webhooks.allow_private`).
    pub http: crate::outbound::HttpPolicy,
}

impl HostConfig {
    /// Defaults for `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        HostConfig {
            data_dir: data_dir.into(),
            durability: Durability::default(),
            database: None,
            limits: Limits::default(),
            clock: Arc::new(SystemClock),
            work: WorkConfig::default(),
            session_ttl: std::time::Duration::from_secs(8 * 3600),
            operator: "system".into(),
            progress: Arc::new(NoProgress),
            audit_key_file: None,
            webhooks: crate::webhooks::WebhookPolicy::from_env(),
            notify: crate::notify::NotifyPolicy::from_env(),
            http: crate::outbound::HttpPolicy::from_env(),
        }
    }
}

/// A plugin's version loaded into the runtime (the runtime's [`Loaded`](crate::runtime::Loaded)).
pub(crate) use crate::runtime::Loaded;

/// The runtime and the plugins loaded into it: the part of the host a running call
/// needs to call another plugin (`plugins.call`), as the runtime's
/// [`Plugins`](crate::runtime::Plugins). Shared as `Arc<Loader>`.
#[derive(Clone)]
pub(crate) struct Loader {
    pub(crate) runtime: Arc<Runtime>,
    /// Seals the audit links of nested calls (and every other link of the host).
    pub(crate) audit_key: Arc<crate::audit::AuditKey>,
    /// Loaded plugins by component digest.
    loaded: Arc<Mutex<HashMap<String, Arc<Loaded>>>>,
    /// `(component, engine key, code SHA-256)` of cache files written while loading,
    /// to record in the database at the next safe point (a load happens inside other
    /// transactions, which must not wait for the main file's writer).
    pending_digests: Arc<Mutex<Vec<(String, String, String)>>>,
    /// Plugins' HTTP requests may go to private addresses and plain HTTP
    /// (`BACKOFFICE_WEBHOOK_ALLOW_PRIVATE`), checked when a request is queued.
    pub(crate) allow_private: bool,
}

/// The running host.
pub struct Host {
    pub(crate) storage: Arc<dyn Storage>,
    /// The same storage when it is SQLite: file-level operations (tenant backup and
    /// restore) exist only there.
    pub(crate) sqlite: Option<SqliteStorage>,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) loader: Arc<Loader>,
    data_dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) worker: Worker,
    pub(crate) audit_queue: crate::audit::Queue,
    /// Principals of recently authenticated tokens (see `identity::PrincipalCache`).
    pub(crate) principals: crate::identity::PrincipalCache,
    /// What calls read of the registry (see `plan::RegistryCache`).
    pub(crate) registry: crate::plan::RegistryCache,
    /// Where Argon2 runs: bounded, so sign-ins cannot take every core.
    pub(crate) passwords: crate::identity::PasswordPool,
    pub(crate) session_ttl: std::time::Duration,
    operator: String,
    /// Failed calls per user in the current hour (see `throttle`).
    pub(crate) failed_calls: crate::throttle::FailedCalls,
    /// Outbound webhooks: policy, sender, the key sealing their secrets.
    pub(crate) webhooks: Arc<crate::webhooks::Webhooks>,
    /// Notifications by email: the relay, retries, sender threads.
    pub(crate) notifier: Arc<crate::notify::Notifier>,
    /// Plugins' outbound HTTP requests: retries, caps, sender threads.
    pub(crate) outbound: Arc<crate::outbound::Outbound>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// Now, as RFC 3339 UTC text.
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

impl Host {
    /// Open the host in `config.data_dir`, creating the directory and database if needed.
    pub fn open(config: HostConfig) -> HostResult<Host> {
        // The group-commit histogram of `/metrics`, from the first commit on.
        crate::store::observe_commits(crate::metrics::commit_batch);
        backoffice_store::fsperm::private_dir(&config.data_dir).map_err(|e| {
            HostError::Internal(format!(
                "cannot create data directory {}: {e}; choose another with --data-dir or BACKOFFICE_DATA_DIR",
                config.data_dir.display()
            ))
        })?;
        let (storage, sqlite): (Arc<dyn Storage>, _) = match &config.database {
            None => {
                let sqlite = SqliteStorage::open_with(
                    &config.data_dir.join(DATABASE_FILE),
                    config.durability,
                    config.progress.as_ref(),
                )?;
                (Arc::new(sqlite.clone()), Some(sqlite))
            }
            Some(url) => (open_postgres(url)?, None),
        };
        let key_file = config
            .audit_key_file
            .clone()
            .unwrap_or_else(|| config.data_dir.join(crate::audit::KEY_FILE));
        let audit_key = crate::audit::open_key(&key_file, storage.as_ref())?;
        let allow_private = config.webhooks.allow_private;
        let webhooks = Arc::new(crate::webhooks::Webhooks::new(
            config.webhooks,
            audit_key.derive("webhook-secrets"),
        ));
        let runtime = Runtime::new(config.limits, &config.data_dir.join("cache"))
            .map_err(|e| HostError::Internal(format!("cannot start the wasm runtime: {e:#}")))?;
        let runtime = Arc::new(runtime);
        Ok(Host {
            storage,
            sqlite,
            loader: Arc::new(Loader {
                runtime: runtime.clone(),
                audit_key: Arc::new(audit_key),
                loaded: Arc::default(),
                pending_digests: Arc::default(),
                allow_private,
            }),
            runtime,
            data_dir: config.data_dir,
            clock: config.clock,
            worker: Worker::new(config.work),
            audit_queue: crate::audit::Queue::default(),
            principals: crate::identity::PrincipalCache::default(),
            registry: crate::plan::RegistryCache::default(),
            passwords: crate::identity::PasswordPool::for_this_machine(),
            session_ttl: config.session_ttl,
            operator: config.operator,
            failed_calls: crate::throttle::FailedCalls::default(),
            webhooks,
            notifier: Arc::new(crate::notify::Notifier::new(config.notify)),
            outbound: Arc::new(crate::outbound::Outbound::new(config.http)),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The clock business time and the scheduler read.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Who admin actions of this process are recorded as.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The sandbox runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The storage behind every tenant, for the API's reads the host does not wrap.
    #[doc(hidden)]
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Wait until the audit links of every read queued so far are written (at most
    /// `timeout`): a server calls it before its process ends.
    pub fn flush_audit(&self, timeout: std::time::Duration) {
        self.audit_queue.flush(timeout);
    }

    /// Whether storage answers.
    pub fn ready(&self) -> HostResult<()> {
        Ok(self.storage.ping()?)
    }

    pub(crate) fn begin(&self) -> HostResult<Box<dyn Transaction>> {
        // Admin actions are chained after the read links queued before them.
        self.audit_queue.flush(crate::audit::ORDER_WAIT);
        Ok(self.storage.begin()?)
    }

    /// An admin transaction that also writes `tenant`'s data (none: host data only);
    /// see [`crate::store::Storage::begin_for`].
    pub(crate) fn begin_for(&self, tenant: Option<&str>) -> HostResult<Box<dyn Transaction>> {
        self.audit_queue.flush(crate::audit::ORDER_WAIT);
        Ok(match tenant {
            Some(t) => self.storage.begin_for(&[t])?,
            None => self.storage.begin()?,
        })
    }

    /// A write transaction that touches only `scope` (a tenant's data and chain).
    pub(crate) fn begin_scoped(&self, scope: &str) -> HostResult<Box<dyn Transaction>> {
        Ok(self.storage.begin_scoped(scope)?)
    }

    /// Run `work` (which opens, uses and commits its own transaction) again when a
    /// concurrent transaction on a shared database got in its way, up to
    /// [`MAX_ATTEMPTS`] times with a short random backoff. Whatever a failed attempt
    /// did was rolled back, so running it again is safe.
    /// Whether a call may be tried on the current thread in place (see
    /// `runtime::inline`): the storage reads without waiting, and the thread has the
    /// stack a call needs.
    pub fn answers_in_place(&self) -> bool {
        self.storage.reads_in_place()
            && crate::runtime::stack::marked_with(self.runtime.limits().native_stack_bytes())
    }

    pub(crate) fn retrying<T>(&self, work: impl FnMut() -> HostResult<T>) -> HostResult<T> {
        retrying(work)
    }

    /// Create a tenant with an `admin` role holding every permission of the tenant.
    /// `time_zone` is an IANA name; `UTC` when absent.
    pub fn create_tenant(
        &self,
        id: &str,
        name: Option<&str>,
        time_zone: Option<&str>,
    ) -> HostResult<Tenant> {
        check_ident("tenant id", id, 63).map_err(HostError::InvalidInput)?;
        let time_zone = time_zone.unwrap_or("UTC");
        jiff::tz::TimeZone::get(time_zone).map_err(|_| {
            HostError::InvalidInput(format!(
                "unknown time zone '{time_zone}'; use an IANA name such as Europe/Berlin or America/New_York"
            ))
        })?;
        let tenant = Tenant {
            id: id.to_string(),
            name: name.unwrap_or(id).to_string(),
            time_zone: time_zone.to_string(),
            created_at: now_rfc3339(),
        };
        let mut tx = self.begin_for(Some(id))?;
        tx.tenant_insert(&tenant)?;
        tx.role_insert(&crate::store::RoleRecord {
            tenant: tenant.id.clone(),
            name: "admin".into(),
            description: "Every permission in this tenant".into(),
            permissions: vec!["*".into()],
        })?;
        // The tenant's chain is anchored from the start: without its anchor (and links)
        // it would look dropped to `audit verify`.
        crate::audit::anchor_if_missing(tx.as_mut(), self.audit_key(), id)?;
        self.audit_admin(
            tx.as_mut(),
            None,
            "tenant.create",
            format!("tenant:{id}"),
            serde_json::json!({ "name": tenant.name, "time_zone": tenant.time_zone }),
        )?;
        tx.commit()?;
        Ok(tenant)
    }

    /// Every tenant.
    pub fn tenants(&self) -> HostResult<Vec<Tenant>> {
        Ok(self.storage.begin_read()?.tenant_list()?)
    }

    /// A read transaction, once tenant `id` is known to exist.
    pub(crate) fn read_tenant(&self, id: &str) -> HostResult<Box<dyn Transaction>> {
        self.read_scope(Some(id))
    }

    /// A read transaction, once `tenant`, if any, is known to exist (none: the
    /// host's own scope).
    pub(crate) fn read_scope(&self, tenant: Option<&str>) -> HostResult<Box<dyn Transaction>> {
        let mut tx = self.storage.begin_read()?;
        if let Some(id) = tenant {
            Host::require_tenant(tx.as_mut(), id)?;
        }
        Ok(tx)
    }

    /// A write transaction of tenant `id` ([`Host::begin_for`]), once it is known to
    /// exist.
    pub(crate) fn write_tenant(&self, id: &str) -> HostResult<Box<dyn Transaction>> {
        let mut tx = self.begin_for(Some(id))?;
        Host::require_tenant(tx.as_mut(), id)?;
        Ok(tx)
    }

    pub(crate) fn require_tenant(tx: &mut dyn Transaction, id: &str) -> HostResult<Tenant> {
        tx.tenant_get(id)?.ok_or_else(|| {
            HostError::NotFound(format!(
                "unknown tenant '{id}'; list tenants with `backoffice tenant list` or create it with `backoffice tenant create {id}`"
            ))
        })
    }

    pub(crate) fn require_package(tx: &mut dyn Transaction, id: &str) -> HostResult<PackageRecord> {
        tx.package_current(id)?.ok_or_else(|| not_installed(id))
    }
}

/// How often a unit of work runs at most when concurrent changes keep getting in its
/// way (PostgreSQL only; SQLite has one writer at a time).
pub(crate) const MAX_ATTEMPTS: u32 = 12;

/// [`Host::retrying`], for work that holds only the storage.
pub(crate) fn retrying<T>(mut work: impl FnMut() -> HostResult<T>) -> HostResult<T> {
    let mut attempt = 1u32;
    loop {
        match work() {
            // An attempt in place does not sleep: it gives up (see `runtime::inline`).
            Err(e) if is_retry(&e) && crate::runtime::inline::active() => {
                crate::runtime::inline::give_up();
                return Err(e);
            }
            Err(e) if attempt < MAX_ATTEMPTS && is_retry(&e) => {
                tracing::debug!(attempt, error = %e, "retrying after a concurrent change");
                let jitter = u64::from(rand_u8()) % (2 << attempt.min(6));
                std::thread::sleep(std::time::Duration::from_millis(1 + jitter));
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn is_retry(e: &HostError) -> bool {
    matches!(e, HostError::Storage(StoreError::Retry(_)))
}

fn rand_u8() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    b[0]
}

/// Open the PostgreSQL database of `url`, refusing what is not a PostgreSQL URL.
#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> HostResult<Arc<dyn Storage>> {
    if !is_postgres_url(url) {
        return Err(HostError::InvalidInput(format!(
            "--database '{}' is not a PostgreSQL URL; use postgres://user:password@host:port/database, or leave it out to keep the data in SQLite under --data-dir",
            crate::store::redact_url(url)
        )));
    }
    Ok(Arc::new(PostgresStorage::open(url)?))
}

/// Without the feature `postgres` there is no PostgreSQL backend: refuse every URL
/// (without echoing it: it may hold a password).
#[cfg(not(feature = "postgres"))]
fn open_postgres(url: &str) -> HostResult<Arc<dyn Storage>> {
    Err(HostError::InvalidInput(if is_postgres_url(url) {
        "this build of the host has no PostgreSQL support (the feature `postgres` of \
         backoffice-host is off); leave --database out to keep the data in SQLite under \
         --data-dir"
            .to_string()
    } else {
        "--database is not a PostgreSQL URL, and this build of the host has no PostgreSQL \
         support (the feature `postgres` of backoffice-host is off); leave it out to keep \
         the data in SQLite under --data-dir"
            .to_string()
    }))
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

pub(crate) fn not_installed(id: &str) -> HostError {
    HostError::NotFound(format!(
        "plugin '{id}' is not installed; see `backoffice plugin list`, or install it with `backoffice plugin install <file.wasm>`"
    ))
}

impl Host {
    /// The loaded form of an installed package, compiling or reading the code cache
    /// the first time it is needed in this process.
    /// Reads the manifest (when `record` came without it) and the component bytes
    /// through `tx` only on a miss, so a call does not pull the whole package out of
    /// the database each time.
    pub(crate) fn load(
        &self,
        tx: &mut dyn Transaction,
        record: &PackageRecord,
    ) -> HostResult<Arc<Loaded>> {
        self.loader.load(tx, record)
    }

    /// Record in `tx` the digests of compiled-code cache files written by loads since
    /// the last call, so later processes load those files instead of recompiling.
    pub(crate) fn record_code_digests_in(&self, tx: &mut dyn Transaction) -> HostResult<()> {
        let pending = match self.loader.pending_digests.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(()),
        };
        for (component, engine, sha) in &pending {
            tx.code_digest_set(component, engine, sha)?;
        }
        Ok(())
    }

    /// [`Host::record_code_digests_in`] in a transaction of its own; call it holding no
    /// other transaction. Does nothing when no cache file was written.
    pub fn record_code_digests(&self) -> HostResult<()> {
        let empty = self
            .loader
            .pending_digests
            .lock()
            .map(|p| p.is_empty())
            .unwrap_or(true);
        if empty {
            return Ok(());
        }
        let mut tx = self.begin()?;
        self.record_code_digests_in(tx.as_mut())?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the code of `digest` was read from the compiled-code cache when it was
    /// loaded into this process (none when not loaded yet).
    pub fn cache_outcome(&self, digest: &str) -> Option<crate::runtime::CacheOutcome> {
        self.loader
            .loaded
            .lock()
            .ok()?
            .get(digest)
            .map(|l| l.prepared.cache)
    }

    /// The memory high-water mark of the code of `digest` in this process (see
    /// [`crate::runtime::Prepared::memory_high_water`]); none when not loaded.
    pub(crate) fn memory_high_water_of(&self, digest: &str) -> Option<usize> {
        self.loader
            .loaded
            .lock()
            .ok()?
            .get(digest)
            .map(|l| l.prepared.memory_high_water())
    }
}

/// A package's `what`, read from the database: missing is the host's fault, as the
/// registry listed `record`.
fn stored<T>(found: Option<T>, what: &str, record: &PackageRecord) -> HostResult<T> {
    found.ok_or_else(|| {
        HostError::Internal(format!(
            "the database holds no {what} for {} {}",
            record.id, record.version
        ))
    })
}

impl Loader {
    /// See [`Host::load`].
    pub(crate) fn load(
        &self,
        tx: &mut dyn Transaction,
        record: &PackageRecord,
    ) -> HostResult<Arc<Loaded>> {
        if let Some(hit) = self
            .loaded
            .lock()
            .ok()
            .and_then(|m| m.get(&record.digest).cloned())
        {
            return Ok(hit);
        }
        if crate::runtime::inline::active() {
            // Compiling takes from milliseconds to seconds: not on an async worker.
            return Err(crate::runtime::inline::refuse());
        }
        // Records from `package_head` carry no manifest: read it now, on a miss only.
        let fetched;
        let manifest_json = if record.manifest_json.is_empty() {
            fetched = stored(
                tx.package_manifest(&record.id, &record.version)?,
                "manifest",
                record,
            )?;
            fetched.as_str()
        } else {
            record.manifest_json.as_str()
        };
        let manifest: Manifest = serde_json::from_str(manifest_json).map_err(|e| {
            HostError::Internal(format!(
                "stored manifest of {} {} is unreadable: {e}",
                record.id, record.version
            ))
        })?;
        let bytes = stored(
            tx.package_component(&record.id, &record.version)?,
            "component bytes",
            record,
        )?;
        let engine_key = self.runtime.cache().engine_key().to_string();
        let expected = tx.code_digest_get(&record.digest, &engine_key)?;
        let (prepared, written) = self
            .runtime
            .load(&record.digest, &bytes, expected.as_deref())
            .map_err(|e| {
                HostError::Internal(format!(
                    "cannot load plugin {} {}: {e:#}",
                    record.id, record.version
                ))
            })?;
        if let Some(sha) = written
            && let Ok(mut pending) = self.pending_digests.lock()
        {
            pending.push((record.digest.clone(), engine_key, sha));
        }
        tracing::debug!(plugin = %record.id, version = %record.version, cache = ?prepared.cache, "plugin loaded");
        let mut schemas = HashMap::new();
        for op in &manifest.operations {
            let compile = |schema: &serde_json::Value| {
                jsonschema::validator_for(schema).map_err(|e| {
                    HostError::Internal(format!(
                        "schema of {} operation '{}': {e}",
                        record.id, op.name
                    ))
                })
            };
            schemas.insert(op.name.clone(), (compile(&op.input)?, compile(&op.output)?));
        }
        let limits = self.runtime.limits().for_plugin(&manifest.limits);
        if self
            .runtime
            .limits()
            .check_policy(&record.id, &manifest.limits)
            .is_err()
        {
            tracing::warn!(plugin = %record.id, version = %record.version, ?limits,
                "the plugin's [limits] exceed the current policy; it runs with the policy's maximum");
        }
        let in_place = schemas
            .keys()
            .map(|op| (op.clone(), crate::runtime::inline::Record::default()))
            .collect();
        let loaded = Arc::new(Loaded {
            prepared: prepared.with_memory_cap(limits.memory_bytes),
            manifest: Arc::new(manifest),
            limits,
            schemas,
            in_place,
        });
        if let Ok(mut map) = self.loaded.lock() {
            map.insert(record.digest.clone(), loaded.clone());
        }
        Ok(loaded)
    }
}

/// What a running call needs of the host to reach other plugins: loading, the checks
/// of [`Plan`](crate::plan::Plan), the audit link of a nested call.
impl crate::runtime::Plugins for Loader {
    fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    fn load(
        &self,
        tx: &mut dyn Transaction,
        record: &PackageRecord,
    ) -> wasmtime::Result<Arc<Loaded>> {
        Loader::load(self, tx, record).map_err(HostFault::into_trap)
    }

    fn resolve(
        &self,
        tx: &mut dyn Transaction,
        caller: &CallInfo,
        plugin: &str,
        operation: &str,
        input: &str,
    ) -> Result<Resolved, Refusal> {
        let max_input_bytes = self.runtime.limits().max_input_bytes;
        Plan::resolve(
            self,
            tx,
            &caller.scope.tenant,
            plugin,
            operation,
            &caller.principal,
            Caller::Plugin(caller),
        )
        .and_then(|plan| {
            plan.check_input(max_input_bytes, operation, input)
                .map(|()| plan)
        })
        .map(|plan| Resolved {
            version: plan.record.version,
            loaded: plan.loaded,
            read_only: plan.read_only,
        })
        .map_err(crate::plan::Refusal::into_wit)
    }

    fn audit_nested(
        &self,
        tx: &mut dyn Transaction,
        caller: &CallInfo,
        plugin: &str,
        operation: &str,
        version: &str,
        duration: std::time::Duration,
    ) -> wasmtime::Result<()> {
        crate::audit::append(
            tx,
            &self.audit_key,
            crate::audit::Entry {
                tenant: caller.scope.tenant.clone(),
                actor: caller.principal.actor(),
                action: "invoke".into(),
                target: format!("{plugin}.{operation}"),
                outcome: "ok".into(),
                detail: serde_json::json!({ "version": version, "caller": caller.scope.plugin }),
                duration: Some(duration),
            },
        )
        .map(|_| ())
        .map_err(HostFault::into_trap)
    }

    fn allow_private(&self) -> bool {
        self.allow_private
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the feature `postgres`, a PostgreSQL URL is refused with a reason, and
    /// the URL (which may hold a password) is not echoed.
    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_urls_fail_clearly_without_the_feature() {
        let Err(e) = open_postgres("postgres://user:secret@localhost/db") else {
            panic!("a build without PostgreSQL opened a PostgreSQL URL");
        };
        let text = e.to_string();
        assert!(text.contains("no PostgreSQL support"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn postgres_urls_are_recognised() {
        assert!(is_postgres_url("postgres://h/db"));
        assert!(is_postgres_url("postgresql://h/db"));
        assert!(!is_postgres_url("sqlite:///tmp/x"));
    }
}
