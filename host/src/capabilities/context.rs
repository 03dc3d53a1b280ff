//! `backoffice:host/context`: the caller, business time and tenant settings.

use crate::bindings::Instant;
use crate::bindings::backoffice::host::context::{Host, Principal, PrincipalKind};

use super::CallState;

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

    fn setting(&mut self, _name: String) -> wasmtime::Result<Option<String>> {
        // Tenant settings arrive with the admin API; until then every setting is unset.
        Ok(None)
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
