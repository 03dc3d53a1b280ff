//! Principals and permission checks.
//!
//! A principal is who a call runs for. Users, roles and tokens arrive with the HTTP API;
//! this module already owns the one rule every layer shares: how a held permission
//! pattern matches a required permission.

use serde::Serialize;

/// How a principal authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person signed in.
    User,
    /// An integration with an API token.
    Token,
    /// The host itself or an admin at the CLI of the machine.
    System,
}

/// Who a call runs for, within one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    /// User or token id; none for the system principal.
    pub id: Option<String>,
    /// How the principal authenticated.
    pub kind: PrincipalKind,
    /// Role names held in the tenant.
    pub roles: Vec<String>,
    /// Permission patterns held through those roles, such as `ledger.*`.
    pub permissions: Vec<String>,
}

impl Principal {
    /// The host's own principal: holds every permission.
    pub fn system() -> Self {
        Principal {
            id: None,
            kind: PrincipalKind::System,
            roles: vec!["system".into()],
            permissions: vec!["*".into()],
        }
    }

    /// Whether any held pattern grants `permission`.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| pattern_matches(p, permission))
    }
}

/// `*` matches everything; `ledger.*` matches `ledger.post` and `ledger.admin.lock`;
/// anything else matches only itself.
pub fn pattern_matches(pattern: &str, permission: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => permission
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == permission,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(pattern_matches("*", "ledger.post"));
        assert!(pattern_matches("ledger.*", "ledger.post"));
        assert!(pattern_matches("ledger.*", "ledger.admin.lock"));
        assert!(!pattern_matches("ledger.*", "ledgers.post"));
        assert!(!pattern_matches("ledger.*", "ledger"));
        assert!(pattern_matches("ledger.post", "ledger.post"));
        assert!(!pattern_matches("ledger.post", "ledger.postx"));
    }

    #[test]
    fn principal_checks_all_patterns() {
        let p = Principal {
            id: Some("u1".into()),
            kind: PrincipalKind::User,
            roles: vec!["clerk".into()],
            permissions: vec!["contacts.read".into(), "ledger.*".into()],
        };
        assert!(p.has_permission("ledger.post"));
        assert!(p.has_permission("contacts.read"));
        assert!(!p.has_permission("contacts.write"));
        assert!(Principal::system().has_permission("anything.at-all"));
    }
}
