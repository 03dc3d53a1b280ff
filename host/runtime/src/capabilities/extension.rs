//! Shared path of the extension imports (`backoffice:payroll/engine`,
//! `backoffice:compliance/registry`): find the tenant's enabled providers of an
//! interface and run one in a fresh instance inside the caller's call.
//!
//! ```text
//! interface listed under `uses` -> capability `plugins` granted -> depth below
//!   MAX_DEPTH -> providers: plugins enabled for the tenant whose manifest lists the
//!   interface under [[provides]]
//!   -> fresh instance of the provider, read-only, in the caller's transaction, with
//!      the caller's principal, business time and remaining deadline
//! ```
//!
//! Providers run read-only (their storage reads work, writes are refused), so no
//! savepoint is needed, and no audit link is written per call: the consumer's own
//! call is audited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::Instance;

use crate::store::{PackageRecord, Scope};
use crate::{Failure, Loaded, MAX_DEPTH, Prepared};

use super::{CallInfo, CallState, Nesting, tx_of};

/// A provider plugin resolved during a call.
pub(crate) struct Provider {
    pub(crate) loaded: Arc<Loaded>,
    pub(crate) plugin: String,
    pub(crate) version: String,
    /// SHA-256 of the installed package ([`PackageRecord::digest`]).
    pub(crate) digest: String,
    grants: Vec<String>,
}

pub(crate) use super::trap;

/// The export indices of an extension `interface` a provider's component was
/// prepared with; a trap when it does not export it (its manifest said it would).
pub(crate) fn exported<'a, T>(indices: Option<&'a T>, interface: &str) -> wasmtime::Result<&'a T> {
    indices.ok_or_else(|| trap(format!("the component does not export {interface}")))
}

/// The extension packages share the host's `error` variant (`use
/// backoffice:host/types.{error}`), so a refusal converts once for all of them.
impl From<Refused> for crate::bindings::WitError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Capability(m) => Self::Forbidden(m),
            Refused::Context(m) => Self::Unsupported(m),
        }
    }
}

/// Why an extension call cannot start: a message for the caller.
pub(crate) enum Refused {
    /// The plugin lacks the `plugins` capability or did not declare the interface
    /// under `uses`.
    Capability(String),
    /// Not in a context that can nest calls, or nested too deep.
    Context(String),
}

impl CallState {
    /// The nesting of this call, if it may call a provider of `interface` now: the
    /// caller's manifest lists the interface under `uses` (what the admin saw at
    /// install), it holds the `plugins` capability, and it runs where calls can nest.
    pub(crate) fn extension_nesting(
        &self,
        what: &str,
        interface: &str,
    ) -> Result<Nesting, Refused> {
        if !self.info.manifest.uses_extension(interface) {
            return Err(Refused::Capability(format!(
                "plugin '{}' called {what} ({interface}) without declaring it: add \
                 uses = [\"{interface}\"] to its plugin.toml (the admin approves it at \
                 install or upgrade)",
                self.info.scope.plugin
            )));
        }
        if let Err(e) = self.require("plugins") {
            let text = match e {
                crate::bindings::WitError::InvalidInput(m)
                | crate::bindings::WitError::NotFound(m)
                | crate::bindings::WitError::Conflict(m)
                | crate::bindings::WitError::Forbidden(m)
                | crate::bindings::WitError::Internal(m)
                | crate::bindings::WitError::Unsupported(m) => m,
            };
            return Err(Refused::Capability(text));
        }
        let Some(nesting) = self.nesting.clone() else {
            return Err(Refused::Context(format!(
                "{what} is not available in this context"
            )));
        };
        if nesting.depth + 1 >= MAX_DEPTH {
            return Err(Refused::Context(format!(
                "plugin '{}' cannot call {what}: calls nest at most {MAX_DEPTH} deep",
                self.info.scope.plugin
            )));
        }
        Ok(nesting)
    }

    /// The plugins enabled for this call's tenant that provide `interface`.
    pub(crate) fn providers_of(
        &mut self,
        nesting: &Nesting,
        interface: &str,
    ) -> wasmtime::Result<Vec<(Arc<Loaded>, PackageRecord)>> {
        let tenant = self.info.scope.tenant.clone();
        let tx = tx_of(&mut self.tx)?;
        let mut found = Vec::new();
        for e in tx.enablement_for_tenant(&tenant).map_err(trap)? {
            if !e.enabled {
                continue;
            }
            let Some(record) = tx.package_head(&e.plugin).map_err(trap)? else {
                continue;
            };
            let loaded = nesting.plugins.load(tx, &record)?;
            if loaded
                .manifest
                .provides
                .iter()
                .any(|p| p.interface == interface)
            {
                found.push((loaded, record));
            }
        }
        Ok(found)
    }

    /// A provider ready to run, with its grants.
    pub(crate) fn provider(
        &mut self,
        loaded: Arc<Loaded>,
        record: PackageRecord,
    ) -> wasmtime::Result<Arc<Provider>> {
        let grants = tx_of(&mut self.tx)?.grants_get(&record.id).map_err(trap)?;
        Ok(Arc::new(Provider {
            loaded,
            plugin: record.id,
            version: record.version,
            digest: record.digest,
            grants,
        }))
    }

    /// Run `f` on a fresh, read-only instance of `provider` in this call's
    /// transaction. `what` names the call in errors and logs.
    pub(crate) fn run_provider<T>(
        &mut self,
        nesting: &Nesting,
        provider: &Provider,
        what: &str,
        f: impl FnOnce(&mut Store<CallState>, &Prepared, &Instance) -> wasmtime::Result<T>,
    ) -> wasmtime::Result<Result<T, Failure>> {
        let Some(tx) = self.tx.take() else {
            return Err(trap("the call's transaction is in use by a nested call"));
        };
        let info = CallInfo {
            scope: Scope {
                tenant: self.info.scope.tenant.clone(),
                plugin: provider.plugin.clone(),
            },
            version: provider.version.clone(),
            action: format!("{what} called by '{}'", self.info.scope.plugin),
            principal: self.info.principal.clone(),
            now: self.info.now,
            time_zone: self.info.time_zone.clone(),
            grants: provider.grants.clone(),
            invocation_id: self.info.invocation_id.clone(),
            manifest: provider.loaded.manifest.clone(),
            read_only: true,
        };
        let limits = nesting.plugins.runtime().limits().clone();
        let mut state = CallState::new(info, tx, limits);
        state.nesting = Some(Nesting {
            depth: nesting.depth + 1,
            ..nesting.clone()
        });
        let remaining = nesting
            .deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let prepared = &provider.loaded.prepared;
        let (result, state) =
            nesting
                .plugins
                .runtime()
                .call_with(prepared, state, remaining, |store, instance| {
                    f(store, prepared, instance)
                });
        let Some(tx) = state.into_tx() else {
            return Err(trap("an extension call did not hand the transaction back"));
        };
        self.tx = Some(tx);
        Ok(result)
    }
}
