//! The host: storage, the sandbox runtime and the loaded plugins, behind one handle
//! that the CLI, the HTTP API and tests share.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::clock::{Clock, SystemClock};
use crate::error::{HostError, HostResult};
use crate::manifest::{Manifest, is_ident};
use crate::runtime::{Limits, Prepared, Runtime};
use crate::scheduler::{WorkConfig, Worker};
use crate::store::{Durability, PackageRecord, SqliteStorage, Storage, Tenant, Transaction};

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "backoffice.db";

/// How to open a host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Directory holding the database and the compiled-code cache.
    pub data_dir: PathBuf,
    /// Commit durability of the SQLite database.
    pub durability: Durability,
    /// Sandbox limits for every call.
    pub limits: Limits,
    /// Where business time and the scheduler read "now".
    pub clock: Arc<dyn Clock>,
    /// Leases, retries and backoff of jobs and event deliveries.
    pub work: WorkConfig,
}

impl HostConfig {
    /// Defaults for `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        HostConfig {
            data_dir: data_dir.into(),
            durability: Durability::default(),
            limits: Limits::default(),
            clock: Arc::new(SystemClock),
            work: WorkConfig::default(),
        }
    }
}

/// A plugin version compiled, linked and ready to instantiate.
pub(crate) struct Loaded {
    pub(crate) prepared: Prepared,
    pub(crate) manifest: Arc<Manifest>,
    /// Compiled input and output validators per operation.
    pub(crate) schemas: HashMap<String, (jsonschema::Validator, jsonschema::Validator)>,
}

/// The running host.
pub struct Host {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) runtime: Runtime,
    /// Loaded plugins by component digest.
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
    data_dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) worker: Worker,
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
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            HostError::Internal(format!(
                "cannot create data directory {}: {e}; choose another with --data-dir or BACKOFFICE_DATA_DIR",
                config.data_dir.display()
            ))
        })?;
        let storage = SqliteStorage::open(&config.data_dir.join(DATABASE_FILE), config.durability)?;
        let runtime = Runtime::new(config.limits, &config.data_dir.join("cache"))
            .map_err(|e| HostError::Internal(format!("cannot start the wasm runtime: {e:#}")))?;
        Ok(Host {
            storage: Arc::new(storage),
            runtime,
            loaded: Mutex::new(HashMap::new()),
            data_dir: config.data_dir,
            clock: config.clock,
            worker: Worker::new(config.work),
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

    /// The sandbox runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Whether storage answers.
    pub fn ready(&self) -> HostResult<()> {
        Ok(self.storage.ping()?)
    }

    pub(crate) fn begin(&self) -> HostResult<Box<dyn Transaction>> {
        Ok(self.storage.begin()?)
    }

    /// Create a tenant. `time_zone` is an IANA name; `UTC` when absent.
    pub fn create_tenant(
        &self,
        id: &str,
        name: Option<&str>,
        time_zone: Option<&str>,
    ) -> HostResult<Tenant> {
        if !is_ident(id, 63) {
            return Err(HostError::InvalidInput(format!(
                "tenant id '{id}' must be lowercase letters, digits and '-', starting with a letter, at most 63 characters"
            )));
        }
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
        let mut tx = self.begin()?;
        tx.tenant_insert(&tenant)?;
        tx.commit()?;
        Ok(tenant)
    }

    /// Every tenant.
    pub fn tenants(&self) -> HostResult<Vec<Tenant>> {
        Ok(self.begin()?.tenant_list()?)
    }

    pub(crate) fn require_tenant(tx: &mut dyn Transaction, id: &str) -> HostResult<Tenant> {
        tx.tenant_get(id)?.ok_or_else(|| {
            HostError::NotFound(format!(
                "unknown tenant '{id}'; list tenants with `backoffice tenant list` or create it with `backoffice tenant create {id}`"
            ))
        })
    }

    pub(crate) fn require_package(tx: &mut dyn Transaction, id: &str) -> HostResult<PackageRecord> {
        tx.package_current(id)?.ok_or_else(|| {
            HostError::NotFound(format!(
                "plugin '{id}' is not installed; see `backoffice plugin list`, or install it with `backoffice plugin install <file.wasm>`"
            ))
        })
    }

    /// The loaded form of an installed package, compiling or reading the code cache
    /// the first time it is needed in this process.
    /// Reads the component bytes through `tx` only on a miss, so a call does not pull
    /// the whole package out of the database each time.
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
        let manifest: Manifest = serde_json::from_str(&record.manifest_json).map_err(|e| {
            HostError::Internal(format!(
                "stored manifest of {} {} is unreadable: {e}",
                record.id, record.version
            ))
        })?;
        let bytes = tx
            .package_component(&record.id, &record.version)?
            .ok_or_else(|| {
                HostError::Internal(format!(
                    "component bytes of {} {} are missing from the database",
                    record.id, record.version
                ))
            })?;
        let prepared = self.runtime.load(&record.digest, &bytes).map_err(|e| {
            HostError::Internal(format!(
                "cannot load plugin {} {}: {e:#}",
                record.id, record.version
            ))
        })?;
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
        let loaded = Arc::new(Loaded {
            prepared,
            manifest: Arc::new(manifest),
            schemas,
        });
        if let Ok(mut map) = self.loaded.lock() {
            map.insert(record.digest.clone(), loaded.clone());
        }
        Ok(loaded)
    }

    /// Whether the code of `digest` was read from the compiled-code cache when it was
    /// loaded into this process (none when not loaded yet).
    pub fn cache_outcome(&self, digest: &str) -> Option<crate::runtime::CacheOutcome> {
        self.loaded
            .lock()
            .ok()?
            .get(digest)
            .map(|l| l.prepared.cache)
    }
}
