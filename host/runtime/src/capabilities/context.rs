//! `backoffice:host/context`: the caller, business time and tenant settings.

use crate::bindings::Instant;
use crate::bindings::backoffice::host::context::{Host, Principal, PrincipalKind};

use super::{CallState, tx_of};

impl Host for CallState {
    fn caller(&mut self) -> wasmtime::Result<Principal> {
        let p = &self.info.principal;
        Ok(Principal {
            tenant: self.info.scope.tenant.clone(),
            id: p.id.clone(),
            kind: match p.kind {
                crate::auth::PrincipalKind::User => PrincipalKind::User,
                crate::auth::PrincipalKind::Token => PrincipalKind::Token,
                // The WIT enum has no plugin kind (a new case would break every
                // installed component): background work reads as the system, with
                // the id `plugin:<id>`.
                crate::auth::PrincipalKind::System | crate::auth::PrincipalKind::Plugin => {
                    PrincipalKind::System
                }
            },
            roles: p.roles.clone(),
        })
    }

    fn has_permission(&mut self, permission: String) -> wasmtime::Result<bool> {
        Ok(self.info.principal.has_permission(&permission))
    }

    fn now(&mut self) -> wasmtime::Result<Instant> {
        Ok(to_instant(self.info.now))
    }

    fn time_zone(&mut self) -> wasmtime::Result<String> {
        Ok(self.info.time_zone.clone())
    }

    fn setting(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        // Only declared settings exist: any other name reads as unset. The value is
        // read in the call's transaction: a change applies from the next call on.
        let Some(decl) = self.info.manifest.setting(&name) else {
            return Ok(None);
        };
        let default = decl.default.as_ref().map(|v| v.to_string());
        let stored = tx_of(&mut self.tx)?
            .setting_get(&self.info.scope, &name)
            .map_err(super::trap)?;
        Ok(stored.or(default))
    }

    fn invocation_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.info.invocation_id.clone())
    }
}

/// WIT instant of a UTC date-time.
pub(crate) fn to_instant(t: time::OffsetDateTime) -> Instant {
    Instant {
        seconds: t.unix_timestamp(),
        nanoseconds: t.nanosecond(),
    }
}
