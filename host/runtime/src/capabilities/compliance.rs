//! `backoffice:compliance/registry`: the checks contributed by plugins enabled for
//! the tenant (the typed extension point `backoffice:compliance/checks`), listed and
//! evaluated on the shared path of [`super::extension`].

use super::WitResult;
use crate::Failure;
use crate::bindings::compliance::consumer::backoffice::compliance::registry::{
    Contributed, Host as RegistryHost,
};
use crate::bindings::compliance::types::{self, Error, Finding, Subject};
use crate::extensions::COMPLIANCE_CHECKS;

use super::CallState;
use super::extension::{exported, trap};

impl types::Host for CallState {}

fn failed(plugin: &str, what: &str, f: Failure) -> Error {
    match f {
        Failure::Plugin(e) => e,
        other => Error::Internal(format!("check plugin {plugin} ({what}): {other}")),
    }
}

impl RegistryHost for CallState {
    fn checks(&mut self) -> WitResult<Vec<Contributed>, Error> {
        let nesting =
            try_wit!(self.extension_nesting("compliance checks", COMPLIANCE_CHECKS.interface));
        let mut out = Vec::new();
        for (loaded, record) in self.providers_of(&nesting, COMPLIANCE_CHECKS.interface)? {
            let declared: Vec<String> = loaded
                .manifest
                .provides
                .iter()
                .filter(|p| p.interface == COMPLIANCE_CHECKS.interface)
                .flat_map(|p| p.keys.clone())
                .collect();
            let provider = self.provider(loaded, record)?;
            let listed = self.run_provider(
                &nesting,
                &provider,
                "compliance list-checks",
                |store, prepared, instance| {
                    let indices = exported(prepared.checks.as_ref(), COMPLIANCE_CHECKS.interface)?;
                    indices
                        .load(&mut *store, instance)?
                        .backoffice_compliance_checks()
                        .call_list_checks(store)
                },
            )?;
            let listed = match listed {
                Ok(l) => l,
                Err(Failure::Storage(e)) => return Err(trap(e)),
                Err(f) => return Ok(Err(failed(&provider.plugin, "list-checks", f))),
            };
            // Only the checks its manifest declares count: what an admin saw at install.
            for check in listed {
                if declared.contains(&check.name) {
                    out.push(Contributed {
                        plugin: provider.plugin.clone(),
                        check,
                    });
                }
            }
        }
        Ok(Ok(out))
    }

    fn evaluate(
        &mut self,
        plugin: String,
        check: String,
        subject: Subject,
    ) -> WitResult<Vec<Finding>, Error> {
        let nesting =
            try_wit!(self.extension_nesting("compliance checks", COMPLIANCE_CHECKS.interface));
        let found = self
            .providers_of(&nesting, COMPLIANCE_CHECKS.interface)?
            .into_iter()
            .find(|(l, r)| {
                r.id == plugin
                    && l.manifest.provides.iter().any(|p| {
                        p.interface == COMPLIANCE_CHECKS.interface && p.keys.contains(&check)
                    })
            });
        let Some((loaded, record)) = found else {
            return Ok(Err(Error::NotFound(format!(
                "no plugin '{plugin}' enabled for tenant '{}' provides the compliance check '{check}'",
                self.info.scope.tenant
            ))));
        };
        let provider = self.provider(loaded, record)?;
        let label = format!("compliance check {check}");
        let result =
            self.run_provider(&nesting, &provider, &label, |store, prepared, instance| {
                let indices = exported(prepared.checks.as_ref(), COMPLIANCE_CHECKS.interface)?;
                indices
                    .load(&mut *store, instance)?
                    .backoffice_compliance_checks()
                    .call_evaluate(store, &check, &subject)
            })?;
        Ok(match result {
            Ok(r) => r,
            // The host's storage failed under the check: the caller's call fails whole.
            Err(Failure::Storage(e)) => return Err(trap(e)),
            Err(f) => Err(failed(&provider.plugin, &label, f)),
        })
    }
}

consumer_linker!(
    /// Add the `backoffice:compliance` imports to `linker`.
    crate::bindings::compliance::consumer::ChecksConsumer
);
