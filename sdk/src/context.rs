//! Who is calling, what time it is for the business, and tenant settings.
//!
//! Always available: needs no capability.

use serde::Serialize;

use crate::__private::bindings::backoffice::host::context as wit;
use crate::Timestamp;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person signed in.
    User,
    /// An integration using an API token.
    Token,
    /// The host itself: scheduled jobs, event delivery, migrations, the admin CLI.
    System,
}

/// The principal on whose behalf the current call runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// The tenant (company) the call belongs to.
    pub tenant: String,
    /// The user or token id; `None` for the system principal.
    pub id: Option<String>,
    /// How the caller authenticated.
    pub kind: PrincipalKind,
    /// Role names the caller holds in this tenant.
    pub roles: Vec<String>,
}

/// The caller of the current call.
pub fn caller() -> Caller {
    let p = wit::caller();
    Caller {
        tenant: p.tenant,
        id: p.id,
        kind: match p.kind {
            wit::PrincipalKind::User => PrincipalKind::User,
            wit::PrincipalKind::Token => PrincipalKind::Token,
            wit::PrincipalKind::System => PrincipalKind::System,
        },
        roles: p.roles,
    }
}

/// Whether the caller holds `permission` (for example `ledger.post`) in this tenant.
pub fn has_permission(permission: &str) -> bool {
    wit::has_permission(permission)
}

/// The business time of this call: fixed when the call starts, the same for every
/// read within it.
///
/// # Panics
///
/// If the host returns nanoseconds over 999 999 999 or a time outside years
/// 0000–9999, which the contract rules out.
pub fn now() -> Timestamp {
    let i = wit::now();
    match Timestamp::new(i.seconds, i.nanoseconds) {
        Ok(t) => t,
        Err(e) => panic!("the host returned an invalid time: {e}"),
    }
}

/// The tenant's IANA time zone name, for example `Europe/Berlin`.
pub fn time_zone() -> String {
    wit::time_zone()
}

/// A tenant setting by name, or `None` when unset.
pub fn setting(name: &str) -> Option<String> {
    wit::setting(name)
}

/// A unique id of this call, for correlating logs.
pub fn invocation_id() -> String {
    wit::invocation_id()
}
