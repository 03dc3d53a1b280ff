//! One resolution of a call, whoever makes it: a call from outside the sandbox
//! ([`Host::invoke`](crate::Host::invoke): HTTP, CLI, console) and a plugin's call of
//! another plugin (`plugins.call`) run the same checks, in the same order, with the
//! same messages.
//!
//! ```text
//! plugin installed -> (nested: version within the caller's [dependencies] range)
//!   -> enabled for the tenant -> operation declared -> principal holds its permission
//!   -> (nested: a read-only caller calls only read-only operations)
//! then, before running: input within the size limit, JSON, fits the input schema
//! ```
//!
//! A [`Refusal`] says whose problem it is: [`Refusal::Refused`] is the caller's (an
//! HTTP 4xx, or the WIT error a calling plugin gets back and may handle), and
//! [`Refusal::Failed`] the host's (storage or compiling failed: a 5xx, or a trap that
//! rolls the calling plugin's whole call back).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::Principal;
use crate::bindings::WitError;
use crate::capabilities::CallInfo;
use crate::error::HostError;
use crate::host::{Loaded, Loader};
use crate::runtime::schema_errors;
use crate::store::{PackageRecord, Tenant, Transaction};

/// Who makes a call, besides its principal.
#[derive(Clone, Copy)]
pub(crate) enum Caller<'a> {
    /// From outside the sandbox.
    Outside,
    /// A running plugin, calling another in its own call.
    Plugin(&'a CallInfo),
}

/// Why a call does not run.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The caller asked for something it may not have, or that does not exist or fit.
    Refused(HostError),
    /// The host failed while checking.
    Failed(HostError),
}

impl From<Refusal> for HostError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Refused(e) | Refusal::Failed(e) => e,
        }
    }
}

impl From<HostError> for Refusal {
    fn from(e: HostError) -> Self {
        Refusal::Failed(e)
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        Refusal::Failed(e.into())
    }
}

impl Refusal {
    /// For a calling plugin: the WIT error it gets back, or the trap (`Err`) that
    /// fails its call.
    pub(crate) fn into_wit(self) -> Result<WitError, wasmtime::Error> {
        use crate::capabilities::HostFault;
        match self {
            Refusal::Refused(e) => Ok(match e {
                HostError::InvalidInput(m) => WitError::InvalidInput(m),
                HostError::NotFound(m) => WitError::NotFound(m),
                HostError::Conflict(m) => WitError::Conflict(m),
                HostError::Forbidden(m) => WitError::Forbidden(m),
                other => return Err(other.into_trap()),
            }),
            Refusal::Failed(e) => Err(e.into_trap()),
        }
    }
}

fn refuse<T>(e: HostError) -> Result<T, Refusal> {
    Err(Refusal::Refused(e))
}

/// A call that may run: the plugin's current version, loaded, and whether the
/// operation is declared read-only.
pub(crate) struct Plan {
    pub(crate) record: PackageRecord,
    pub(crate) loaded: Arc<Loaded>,
    pub(crate) read_only: bool,
}

impl Plan {
    /// Every check before `operation` of `plugin` runs in `tenant` for `principal`,
    /// reading through `tx` (the tenant itself is the caller's to check).
    #[allow(clippy::too_many_arguments, reason = "one call's coordinates")]
    pub(crate) fn resolve(
        loader: &Loader,
        tx: &mut dyn Transaction,
        tenant: &str,
        plugin: &str,
        operation: &str,
        principal: &Principal,
        caller: Caller<'_>,
    ) -> Result<Plan, Refusal> {
        let record = Plan::registry(tx, tenant, plugin, caller)?;
        Plan::for_record(
            loader, tx, record, tenant, plugin, operation, principal, caller,
        )
    }

    /// The registry's part of [`Plan::resolve`]: the plugin's current version, if it
    /// is installed (within a calling plugin's range) and enabled for `tenant`. What
    /// it reads moves the registry stamp when it changes (see [`RegistryCache`]).
    pub(crate) fn registry(
        tx: &mut dyn Transaction,
        tenant: &str,
        plugin: &str,
        caller: Caller<'_>,
    ) -> Result<PackageRecord, Refusal> {
        let Some(record) = tx.package_head(plugin)? else {
            return refuse(crate::host::not_installed(plugin));
        };
        if let Caller::Plugin(info) = caller {
            let req = info.manifest.callable(plugin);
            if !semver::Version::parse(&record.version)
                .is_ok_and(|v| req.is_some_and(|req| req.matches(&v)))
            {
                return refuse(HostError::Conflict(format!(
                    "plugin '{}' needs '{plugin}' {}, but {} is installed",
                    info.scope.plugin,
                    req.map(ToString::to_string).unwrap_or_default(),
                    record.version
                )));
            }
        }
        if !tx
            .enablement_get(tenant, plugin)?
            .is_some_and(|e| e.enabled)
        {
            return refuse(HostError::Forbidden(format!(
                "plugin '{plugin}' is not enabled for tenant '{tenant}'; an admin can enable it with `backoffice plugin enable {plugin} --tenant {tenant}`"
            )));
        }
        Ok(record)
    }

    /// The rest of [`Plan::resolve`] for the current version `record`: the operation
    /// is declared, the principal holds its permission, a read-only caller calls only
    /// read-only operations.
    #[allow(clippy::too_many_arguments, reason = "one call's coordinates")]
    pub(crate) fn for_record(
        loader: &Loader,
        tx: &mut dyn Transaction,
        record: PackageRecord,
        tenant: &str,
        plugin: &str,
        operation: &str,
        principal: &Principal,
        caller: Caller<'_>,
    ) -> Result<Plan, Refusal> {
        let loaded = loader.load(tx, &record)?;
        let Some(op) = loaded.manifest.operation(operation) else {
            return refuse(HostError::NotFound(format!(
                "plugin {plugin} {} has no operation '{operation}'; its operations are: {}",
                record.version,
                loaded.manifest.operation_names()
            )));
        };
        if !principal.has_permission(&op.permission) {
            return refuse(HostError::Forbidden(missing_permission(
                principal,
                &format!("operation '{operation}' of plugin {plugin}"),
                &op.permission,
                tenant,
            )));
        }
        let read_only = op.read_only;
        if let Caller::Plugin(info) = caller
            && info.read_only
            && !read_only
        {
            return refuse(HostError::Forbidden(format!(
                "{} is read-only, so it may only call read-only operations; {plugin}.{operation} may write",
                info.action
            )));
        }
        Ok(Plan {
            record,
            loaded,
            read_only,
        })
    }

    /// Refuse an input over `max_bytes`, not JSON, or outside the operation's schema.
    pub(crate) fn check_input(
        &self,
        max_bytes: usize,
        operation: &str,
        input: &str,
    ) -> Result<(), Refusal> {
        let plugin = &self.record.id;
        if input.len() > max_bytes {
            return refuse(HostError::InvalidInput(format!(
                "input of {} bytes for {plugin}.{operation} exceeds the {max_bytes} byte limit",
                input.len()
            )));
        }
        let value: serde_json::Value = serde_json::from_str(input).map_err(|e| {
            Refusal::Refused(HostError::InvalidInput(format!(
                "input is not valid JSON for {plugin}.{operation}: {e}"
            )))
        })?;
        let Some((input_schema, _)) = self.loaded.schemas.get(operation) else {
            return Err(Refusal::Failed(HostError::Internal(format!(
                "no compiled schema for {plugin}.{operation}"
            ))));
        };
        if let Some(errors) = schema_errors(input_schema, &value) {
            return refuse(HostError::InvalidInput(format!(
                "input does not match the schema of {plugin}.{operation}: {errors}"
            )));
        }
        Ok(())
    }
}

/// Why `principal` may not do `what`, which needs `permission`. For a plugin's
/// background work, says where to declare the permission.
pub(crate) fn missing_permission(
    principal: &crate::auth::Principal,
    what: &str,
    permission: &str,
    tenant: &str,
) -> String {
    match (&principal.kind, &principal.id) {
        (crate::auth::PrincipalKind::Plugin, Some(id)) => {
            let plugin = id.strip_prefix("plugin:").unwrap_or(id);
            format!(
                "{what} needs the permission '{permission}', which the background work \
                 (jobs, event handlers) of plugin '{plugin}' does not hold in tenant '{tenant}': \
                 it runs with only the permissions its plugin.toml lists under [background] \
                 permissions; add '{permission}' there and upgrade the plugin"
            )
        }
        _ => format!(
            "{what} needs the permission '{permission}', which the caller does not hold in \
             tenant '{tenant}'"
        ),
    }
}

/// The registry rows an outside call of `plugin` in `tenant` depends on: the tenant,
/// the plugin's current version (installed and enabled) and its granted capabilities.
#[derive(Clone)]
pub(crate) struct RegistryRows {
    pub(crate) tenant: Tenant,
    pub(crate) record: PackageRecord,
    pub(crate) grants: Vec<String>,
}

/// [`RegistryRows`] kept per tenant and plugin while the registry stamp
/// ([`crate::store::Storage::registry_stamp`]) stands, so that a call reads one small
/// row instead of four. Every write to the tables they come from moves the stamp in
/// its own transaction (database triggers, so no writer can forget it), through this
/// host, another host or the CLI alike; the next call then reads them again.
#[derive(Default)]
pub(crate) struct RegistryCache {
    /// Tenant, then plugin: looked up by `&str` without allocating.
    entries: Mutex<HashMap<String, HashMap<String, Kept>>>,
}

/// Rows and the stamp they were read under.
pub(crate) type Kept = (i64, Arc<RegistryRows>);

/// Entries kept at most; past it the cache starts again empty.
const REGISTRY_CACHE_ENTRIES: usize = 10_000;

impl RegistryCache {
    /// The rows of `plugin` in `tenant` read while the stamp was `stamp`, if kept.
    pub(crate) fn get(&self, stamp: i64, tenant: &str, plugin: &str) -> Option<Arc<RegistryRows>> {
        let entries = self.entries.lock().ok()?;
        let (kept, rows) = entries.get(tenant)?.get(plugin)?;
        (*kept == stamp).then(|| rows.clone())
    }

    /// The rows of `plugin` in `tenant` kept last, and the stamp they were read
    /// under (which may have moved since).
    pub(crate) fn latest(&self, tenant: &str, plugin: &str) -> Option<Kept> {
        let entries = self.entries.lock().ok()?;
        entries.get(tenant)?.get(plugin).cloned()
    }

    /// Keep `rows`, read after the stamp `stamp` was read.
    pub(crate) fn put(&self, stamp: i64, tenant: &str, plugin: &str, rows: Arc<RegistryRows>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.values().map(HashMap::len).sum::<usize>() >= REGISTRY_CACHE_ENTRIES {
                entries.clear();
            }
            entries
                .entry(tenant.to_string())
                .or_default()
                .insert(plugin.to_string(), (stamp, rows));
        }
    }
}
