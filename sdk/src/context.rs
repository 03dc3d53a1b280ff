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

/// A tenant setting declared under `[[settings]]` in `plugin.toml`, as JSON text: the
/// value the tenant's admin set, else the declared default, else `None`. A name the
/// manifest does not declare is always `None`.
pub fn setting(name: &str) -> Option<String> {
    wit::setting(name)
}

/// [`setting`] decoded into `T` (the host has already checked the value against the
/// setting's schema, so a decoding failure means `T` does not match the schema).
pub fn setting_as<T: serde::de::DeserializeOwned>(name: &str) -> crate::Result<Option<T>> {
    setting(name)
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| {
                crate::Error::internal(format!(
                    "setting '{name}' does not decode into the type the plugin expects: {e}"
                ))
            })
        })
        .transpose()
}

/// A unique id of this call, for correlating logs.
pub fn invocation_id() -> String {
    wit::invocation_id()
}

/// Today's business date: [`now`] in the tenant's [`time_zone`] (UTC if the zone is
/// unknown to the compiled-in database).
pub fn today() -> crate::Date {
    date_in_zone(now().seconds(), &time_zone())
}

/// The calendar date in IANA zone `zone` at `seconds` since the Unix epoch.
pub fn date_in_zone(seconds: i64, zone: &str) -> crate::Date {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let date = jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(tz)
        .date();
    let fallback = || crate::Date::new(1970, 1, 1).expect("a valid date");
    match (
        u16::try_from(date.year()),
        u8::try_from(date.month()),
        u8::try_from(date.day()),
    ) {
        (Ok(y), Ok(m), Ok(d)) => crate::Date::new(y, m, d).unwrap_or_else(fallback),
        _ => fallback(),
    }
}

#[cfg(test)]
mod zone_tests {
    #[test]
    fn dates_follow_the_zone() {
        // 2025-03-30T23:30:00Z
        let t = 1_743_377_400;
        assert_eq!(super::date_in_zone(t, "UTC").to_string(), "2025-03-30");
        assert_eq!(
            super::date_in_zone(t, "Europe/Berlin").to_string(),
            "2025-03-31"
        );
        assert_eq!(
            super::date_in_zone(t, "America/New_York").to_string(),
            "2025-03-30"
        );
        assert_eq!(
            super::date_in_zone(t, "Nowhere/Else").to_string(),
            "2025-03-30"
        );
    }
}
