//! What a running call needs of the host to reach other plugins: the loaded form of a
//! plugin ([`Loaded`]) and the [`Plugins`] trait the host implements.
//!
//! A plugin calling another (`plugins.call`) and a consumer calling an extension's
//! providers (`backoffice:payroll/engine`, `backoffice:compliance/registry`) run the
//! target in the caller's call. The checks before such a call, loading a plugin and
//! the audit chain are the host's; the sandbox reaches them through [`Plugins`], held
//! as `Arc<dyn Plugins>` in the call's [`Nesting`](crate::capabilities::Nesting).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::WitError;
use crate::capabilities::CallInfo;
use crate::manifest::Manifest;
use crate::store::{PackageRecord, Transaction};
use crate::{PluginLimits, Prepared, Runtime, inline};

/// A plugin version compiled, linked and ready to instantiate, with what every call of
/// it checks.
pub struct Loaded {
    /// The compiled component.
    pub prepared: Prepared,
    /// The plugin's manifest.
    pub manifest: Arc<Manifest>,
    /// Memory cap and default call deadline: the plugin's `[limits]` or the host's
    /// defaults, within the admin's policy (the memory cap is also in `prepared`).
    pub limits: PluginLimits,
    /// Compiled input and output validators per operation.
    pub schemas: HashMap<String, (jsonschema::Validator, jsonschema::Validator)>,
    /// How the attempts in place of each operation went (see [`inline`]).
    pub in_place: HashMap<String, inline::Record>,
}

impl Loaded {
    /// Whether a call of `operation` may be tried in place (see [`inline`]).
    pub fn tried_in_place(&self, operation: &str) -> bool {
        self.in_place.get(operation).is_some_and(|r| r.may_try())
    }

    /// How an attempt of `operation` in place ended: answered, or gave up past the
    /// budget or at a wait.
    pub fn attempted_in_place(&self, operation: &str, answered: bool) {
        if let Some(record) = self.in_place.get(operation) {
            record.attempted(answered);
        }
    }
}

/// A nested call that passed every check: the target's current version, loaded.
pub struct Resolved {
    /// The version that runs.
    pub version: String,
    /// Its loaded form.
    pub loaded: Arc<Loaded>,
    /// The operation is declared `read-only`.
    pub read_only: bool,
}

/// Why a nested call does not run: `Ok` is the caller's problem, the WIT error the
/// calling plugin gets back (and may handle); `Err` the host's, a trap that fails the
/// calling plugin's whole call.
pub type Refusal = Result<WitError, wasmtime::Error>;

/// Loading and resolving other plugins, for a call running in the sandbox: what the
/// capabilities need of the host, which implements it. A failure of the host is a
/// trap ([`HostFault`](crate::capabilities::HostFault)): a storage failure stays
/// typed in it, so a conflict on a shared database runs the whole call again.
pub trait Plugins: Send + Sync {
    /// The runtime every call runs in.
    fn runtime(&self) -> &Runtime;

    /// The loaded form of the installed package `record`, compiling it or reading the
    /// code cache the first time it is needed in this process (an extension's
    /// providers are loaded this way).
    fn load(
        &self,
        tx: &mut dyn Transaction,
        record: &PackageRecord,
    ) -> wasmtime::Result<Arc<Loaded>>;

    /// Every check before the running call `caller` calls `operation` of `plugin`
    /// with `input`, in the same order and with the same messages as a call from
    /// outside: installed (within the caller's `[dependencies]` range), enabled for
    /// the tenant, operation declared, the caller's principal holds its permission,
    /// a read-only caller calls only read-only operations, input within the size
    /// limit, JSON, and fits the operation's input schema.
    fn resolve(
        &self,
        tx: &mut dyn Transaction,
        caller: &CallInfo,
        plugin: &str,
        operation: &str,
        input: &str,
    ) -> Result<Resolved, Refusal>;

    /// Append the audit link of a nested call of `operation` of `plugin` (at
    /// `version`) made by `caller` that succeeded after `duration`, to the tenant's
    /// chain in the caller's transaction.
    fn audit_nested(
        &self,
        tx: &mut dyn Transaction,
        caller: &CallInfo,
        plugin: &str,
        operation: &str,
        version: &str,
        duration: Duration,
    ) -> wasmtime::Result<()>;

    /// Whether plugins' HTTP requests may go to private addresses and plain HTTP
    /// (`BACKOFFICE_WEBHOOK_ALLOW_PRIVATE`), checked when a request is queued.
    fn allow_private(&self) -> bool;
}
