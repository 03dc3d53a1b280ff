//! `backoffice:payroll/engine`: payroll calculations routed to the tenant's country
//! rules plugins (the typed extension point `backoffice:payroll/rules`).
//!
//! ```text
//! capability `plugins` granted -> depth below MAX_DEPTH -> provider of the country:
//!   the plugin enabled for the tenant whose manifest lists the country under
//!   [[provides]] backoffice:payroll/rules@0.1.0 (looked up once per call, then cached)
//!   -> fresh instance of the provider, read-only, in the caller's transaction, with the
//!      caller's principal, business time and remaining deadline
//!   -> `rules.calculate` -> the payslip checked (gross, currency, net = gross minus
//!      employee lines) before the caller sees it
//! ```
//!
//! Calculations are pure: the provider runs read-only (its storage reads work, writes
//! are refused), so no savepoint is needed, and no audit link is written per payslip:
//! the consumer's own call is audited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bindings::WitError;
use crate::bindings::payroll::consumer::backoffice::payroll::engine::Host as EngineHost;
use crate::bindings::payroll::types::{self, CalcInput, Error, LineKind, Payslip, Support};
use crate::extensions::{self, PAYROLL_RULES};
use crate::host::Loaded;
use crate::runtime::Failure;
use crate::store::Scope;

use super::plugins::MAX_DEPTH;
use super::{CallInfo, CallState, Nesting, tx_of};

/// A rules plugin resolved for one country during a call.
pub(crate) struct Provider {
    loaded: Arc<Loaded>,
    plugin: String,
    version: String,
    grants: Vec<String>,
}

fn to_payroll(e: WitError) -> Error {
    match e {
        WitError::InvalidInput(m) => Error::InvalidInput(m),
        WitError::NotFound(m) => Error::NotFound(m),
        WitError::Conflict(m) => Error::Conflict(m),
        WitError::Forbidden(m) => Error::Forbidden(m),
        WitError::Internal(m) => Error::Internal(m),
        WitError::Unsupported(m) => Error::Unsupported(m),
    }
}

fn trap(e: impl std::fmt::Display) -> wasmtime::Error {
    wasmtime::Error::msg(e.to_string())
}

impl types::Host for CallState {}

impl CallState {
    /// The plugins enabled for this call's tenant that provide payroll rules, with
    /// the countries each serves.
    fn rules_plugins(
        &mut self,
        nesting: &Nesting,
    ) -> wasmtime::Result<Vec<(Arc<Loaded>, crate::store::PackageRecord)>> {
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
            let loaded = nesting.loader.load(tx, &record).map_err(trap)?;
            if loaded
                .manifest
                .provides
                .iter()
                .any(|p| p.interface == PAYROLL_RULES.interface)
            {
                found.push((loaded, record));
            }
        }
        Ok(found)
    }

    /// The enabled provider of `country`, from the call's cache or the registry.
    fn provider(
        &mut self,
        nesting: &Nesting,
        country: &str,
    ) -> wasmtime::Result<Result<Arc<Provider>, Error>> {
        if let Some(p) = self.providers.get(country) {
            return Ok(Ok(p.clone()));
        }
        let serving = self.rules_plugins(nesting)?.into_iter().find(|(l, _)| {
            l.manifest.provides.iter().any(|p| {
                p.interface == PAYROLL_RULES.interface && p.keys.iter().any(|k| k == country)
            })
        });
        let Some((loaded, record)) = serving else {
            return Ok(Err(Error::NotFound(extensions::missing_provider(
                &PAYROLL_RULES,
                country,
                &self.info.scope.tenant,
            ))));
        };
        let grants = tx_of(&mut self.tx)?.grants_get(&record.id).map_err(trap)?;
        let provider = Arc::new(Provider {
            loaded,
            plugin: record.id,
            version: record.version,
            grants,
        });
        self.providers.insert(country.to_string(), provider.clone());
        Ok(Ok(provider))
    }

    /// Run `f` on the rules export of the provider of `country`.
    fn with_rules<T>(
        &mut self,
        country: &str,
        what: &str,
        f: impl FnOnce(
            &mut wasmtime::Store<CallState>,
            &crate::bindings::payroll::provider::RulesProvider,
        ) -> wasmtime::Result<T>,
    ) -> wasmtime::Result<Result<T, Error>> {
        if let Err(e) = self.require("plugins") {
            return Ok(Err(to_payroll(e)));
        }
        let Some(nesting) = self.nesting.clone() else {
            return Ok(Err(Error::Unsupported(
                "payroll calculations are not available in this context".into(),
            )));
        };
        let caller = self.info.scope.plugin.clone();
        if nesting.depth + 1 >= MAX_DEPTH {
            return Ok(Err(Error::Forbidden(format!(
                "plugin '{caller}' cannot compute payroll for {country}: calls nest at most \
                 {MAX_DEPTH} deep"
            ))));
        }
        let provider = match self.provider(&nesting, country)? {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let Some(tx) = self.tx.take() else {
            return Err(trap("the call's transaction is in use by a nested call"));
        };
        let info = CallInfo {
            scope: Scope {
                tenant: self.info.scope.tenant.clone(),
                plugin: provider.plugin.clone(),
            },
            version: provider.version.clone(),
            action: format!("payroll rules ({what}) called by '{caller}'"),
            principal: self.info.principal.clone(),
            now: self.info.now,
            time_zone: self.info.time_zone.clone(),
            grants: provider.grants.clone(),
            invocation_id: self.info.invocation_id.clone(),
            manifest: provider.loaded.manifest.clone(),
            read_only: true,
        };
        let limits = nesting.loader.runtime.limits().clone();
        let mut state = CallState::new(info, tx, limits);
        state.nesting = Some(Nesting {
            depth: nesting.depth + 1,
            ..nesting.clone()
        });
        let remaining = nesting
            .deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let (result, state) =
            nesting
                .loader
                .runtime
                .call_rules(&provider.loaded.prepared, state, remaining, f);
        let Some(tx) = state.into_tx() else {
            return Err(trap(
                "the payroll rules call did not hand the transaction back",
            ));
        };
        self.tx = Some(tx);
        Ok(result.map_err(|failure| match failure {
            Failure::Plugin(e) => to_payroll(e),
            other => Error::Internal(format!(
                "payroll rules plugin {} {} ({what} for {country}, called by '{caller}'): {other}",
                provider.plugin, provider.version
            )),
        }))
    }
}

/// Whether a payslip from a rules plugin adds up.
fn check_payslip(input: &CalcInput, slip: &Payslip, plugin: &str) -> Result<(), Error> {
    let deducted: i64 = slip
        .lines
        .iter()
        .filter(|l| !matches!(l.kind, LineKind::EmployerContribution))
        .map(|l| l.amount)
        .sum();
    let problem = if slip.gross != input.gross {
        Some(format!(
            "gross {} for an input of {}",
            slip.gross, input.gross
        ))
    } else if slip.currency != input.currency {
        Some(format!(
            "currency {} for an input in {}",
            slip.currency, input.currency
        ))
    } else if slip.country != input.country {
        Some(format!(
            "country {} for an input of {}",
            slip.country, input.country
        ))
    } else if slip.gross.checked_sub(deducted) != Some(slip.net) {
        Some(format!(
            "net {} where gross {} minus employee lines {deducted} gives {}",
            slip.net,
            slip.gross,
            slip.gross - deducted
        ))
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::Internal(format!(
            "payroll rules plugin '{plugin}' returned an inconsistent payslip: {p}"
        ))),
        None => Ok(()),
    }
}

impl EngineHost for CallState {
    fn calculate(&mut self, input: CalcInput) -> wasmtime::Result<Result<Payslip, Error>> {
        let country = input.country.clone();
        let sent = input.clone();
        let result = self.with_rules(&country, "calculate", move |store, rules| {
            rules
                .backoffice_payroll_rules()
                .call_calculate(store, &sent)
        })?;
        Ok(result.and_then(|r| r).and_then(|slip| {
            let plugin = self
                .providers
                .get(&country)
                .map(|p| p.plugin.clone())
                .unwrap_or_default();
            check_payslip(&input, &slip, &plugin).map(|()| slip)
        }))
    }

    fn describe(&mut self, country: String) -> wasmtime::Result<Result<Support, Error>> {
        self.with_rules(&country, "describe", |store, rules| {
            rules.backoffice_payroll_rules().call_describe(store)
        })
    }

    fn profile_schema(&mut self, country: String) -> wasmtime::Result<Result<String, Error>> {
        self.with_rules(&country, "profile-schema", |store, rules| {
            rules.backoffice_payroll_rules().call_profile_schema(store)
        })
    }

    fn countries(&mut self) -> wasmtime::Result<Vec<String>> {
        if self.require("plugins").is_err() {
            return Ok(Vec::new());
        }
        let Some(nesting) = self.nesting.clone() else {
            return Ok(Vec::new());
        };
        let mut countries: Vec<String> = self
            .rules_plugins(&nesting)?
            .iter()
            .flat_map(|(l, _)| {
                l.manifest
                    .provides
                    .iter()
                    .filter(|p| p.interface == PAYROLL_RULES.interface)
                    .flat_map(|p| p.keys.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        countries.sort();
        countries.dedup();
        Ok(countries)
    }
}

/// Add the `backoffice:payroll` imports to `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    crate::bindings::payroll::consumer::RulesConsumer::add_to_linker::<
        CallState,
        wasmtime::component::HasSelf<CallState>,
    >(linker, |state| state)
}
