//! `backoffice:payroll/engine`: payroll calculations routed to the tenant's country
//! rules plugin (the typed extension point `backoffice:payroll/rules`), on the shared
//! path of [`super::extension`].
//!
//! Both published engines are linked: `engine@0.1.0` answers the payslip,
//! `engine@0.2.0` the payslip and the provider that computed it (plugin id, installed
//! version, package digest). Both run [`CallState::calculate_traced`]; the types are
//! 0.1.0's in both, so there is one set of records.
//!
//! The provider of a country is the enabled plugin whose manifest lists it under
//! `[[provides]] backoffice:payroll/rules@0.1.0`; it is looked up once per call and
//! then cached (a pay run computes thousands of payslips in one call). Every payslip
//! is checked (gross, currency, country, net = gross minus employee lines) before the
//! caller sees it.

use super::WitResult;
use std::sync::Arc;

use crate::Failure;
use crate::bindings::payroll::consumer::backoffice::payroll::engine::Host as EngineHost;
use crate::bindings::payroll::consumer_v0_2::backoffice::payroll0_2_0::engine::{
    Calculation, Host as EngineV02Host, Provider as RulesProviderV02,
};
use crate::bindings::payroll::types::{self, CalcInput, Error, LineKind, Payslip, Support};
use crate::extensions::{self, PAYROLL_RULES};

use super::CallState;
use super::extension::{Provider, exported, trap};

impl types::Host for CallState {}

impl CallState {
    /// The enabled provider of `country`, from the call's cache or the registry.
    fn rules_provider(
        &mut self,
        nesting: &super::Nesting,
        country: &str,
    ) -> WitResult<Arc<Provider>, Error> {
        if let Some(p) = self.providers.get(country) {
            return Ok(Ok(p.clone()));
        }
        let serving = self
            .providers_of(nesting, PAYROLL_RULES.interface)?
            .into_iter()
            .find(|(l, _)| {
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
        let provider = self.provider(loaded, record)?;
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
        ) -> WitResult<T, Error>,
    ) -> WitResult<T, Error> {
        let nesting = try_wit!(self.extension_nesting("payroll rules", PAYROLL_RULES.interface));
        let provider = try_wit!(self.rules_provider(&nesting, country)?);
        let label = format!("payroll rules {what} for {country}");
        let result =
            self.run_provider(&nesting, &provider, &label, |store, prepared, instance| {
                let indices = exported(prepared.rules.as_ref(), PAYROLL_RULES.interface)?;
                let rules = indices.load(&mut *store, instance)?;
                f(store, &rules)
            })?;
        Ok(match result {
            Ok(r) => r,
            Err(Failure::Plugin(e)) => Err(e),
            // The host's storage failed under the rules: the caller's call fails whole.
            Err(Failure::Storage(e)) => return Err(trap(e)),
            Err(other) => Err(Error::Internal(format!(
                "payroll rules plugin {} {} ({what} for {country}, called by '{}'): {other}",
                provider.plugin, provider.version, self.info.scope.plugin
            ))),
        })
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

impl CallState {
    /// Compute one payslip with the rules enabled for `input.country`, checked, with
    /// the provider that computed it: the one routing behind both engines (0.1.0
    /// drops the provider, 0.2.0 returns it).
    fn calculate_traced(&mut self, input: CalcInput) -> WitResult<(Payslip, Arc<Provider>), Error> {
        let country = input.country.clone();
        let sent = input.clone();
        let result = self.with_rules(&country, "calculate", move |store, rules| {
            rules
                .backoffice_payroll_rules()
                .call_calculate(store, &sent)
        })?;
        let slip = try_wit!(result);
        // `with_rules` cached the provider it called; the cache lives as long as this
        // call, so it is the plugin, version and package that just answered.
        let Some(provider) = self.providers.get(&country).cloned() else {
            return Err(trap(format!(
                "the payroll rules provider for {country} left the call's cache"
            )));
        };
        Ok(check_payslip(&input, &slip, &provider.plugin).map(|()| (slip, provider)))
    }
}

impl EngineHost for CallState {
    fn calculate(&mut self, input: CalcInput) -> WitResult<Payslip, Error> {
        Ok(self.calculate_traced(input)?.map(|(slip, _)| slip))
    }

    fn describe(&mut self, country: String) -> WitResult<Support, Error> {
        self.with_rules(&country, "describe", |store, rules| {
            rules
                .backoffice_payroll_rules()
                .call_describe(store)
                .map(Ok)
        })
    }

    fn profile_schema(&mut self, country: String) -> WitResult<String, Error> {
        self.with_rules(&country, "profile-schema", |store, rules| {
            rules
                .backoffice_payroll_rules()
                .call_profile_schema(store)
                .map(Ok)
        })
    }

    fn countries(&mut self) -> wasmtime::Result<Vec<String>> {
        let Ok(nesting) = self.extension_nesting("payroll rules", PAYROLL_RULES.interface) else {
            return Ok(Vec::new());
        };
        let mut countries: Vec<String> = self
            .providers_of(&nesting, PAYROLL_RULES.interface)?
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

/// `backoffice:payroll/engine@0.2.0`: the 0.1.0 engine's routing, with the provider
/// of each payslip. `describe`, `profile-schema` and `countries` are 0.1.0's.
impl EngineV02Host for CallState {
    fn calculate(&mut self, input: CalcInput) -> WitResult<Calculation, Error> {
        Ok(self
            .calculate_traced(input)?
            .map(|(payslip, provider)| Calculation {
                payslip,
                provider: RulesProviderV02 {
                    plugin: provider.plugin.clone(),
                    version: provider.version.clone(),
                    digest: provider.digest.clone(),
                },
            }))
    }

    fn describe(&mut self, country: String) -> WitResult<Support, Error> {
        EngineHost::describe(self, country)
    }

    fn profile_schema(&mut self, country: String) -> WitResult<String, Error> {
        EngineHost::profile_schema(self, country)
    }

    fn countries(&mut self) -> wasmtime::Result<Vec<String>> {
        EngineHost::countries(self)
    }
}

consumer_linker!(
    /// Add the `backoffice:payroll` imports to `linker`: the `engine` of 0.1.0 and of
    /// 0.2.0 (a component imports either, or both), over one shared `types@0.1.0`.
    crate::bindings::payroll::consumer::RulesConsumer,
    crate::bindings::payroll::consumer_v0_2::backoffice::payroll0_2_0::engine,
);
