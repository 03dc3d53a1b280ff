//! Principals and permission checks.
//!
//! A principal is who a call runs for: the host itself, a signed-in user or an API
//! token, always bound to one tenant except for system administrators. This module
//! owns the rules every layer shares: how a held permission pattern matches a required
//! permission, and which tenants a principal may act in. The host's `identity` module turns
//! credentials into principals.

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
    /// A plugin's own background work (jobs, event deliveries, migrations), holding
    /// only the permissions its manifest declares under `[background]`.
    Plugin,
}

/// Who a call runs for, within one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    /// User name (or `cli:<os user>` for an operator at the command line); none for
    /// the host's own system principal.
    pub id: Option<String>,
    /// The tenant the principal belongs to; none for host-wide principals (the system,
    /// system administrators), which may act in every tenant.
    pub tenant: Option<String>,
    /// Public id of the token the request came with.
    pub token_id: Option<String>,
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
            tenant: None,
            token_id: None,
            kind: PrincipalKind::System,
            roles: vec!["system".into()],
            permissions: vec!["*".into()],
        }
    }

    /// An administrator working at the host's command line: every permission, named
    /// after the operating-system user in the audit log.
    pub fn operator(name: &str) -> Self {
        Principal {
            id: Some(format!("cli:{name}")),
            ..Principal::system()
        }
    }

    /// A plugin running its own background work in `tenant`: named `plugin:<id>` in
    /// the audit log, holding exactly `permissions` (its manifest's `[background]
    /// permissions`; none for a migration).
    pub fn plugin(plugin: &str, tenant: &str, permissions: &[String]) -> Self {
        Principal {
            id: Some(format!("plugin:{plugin}")),
            tenant: Some(tenant.to_string()),
            token_id: None,
            kind: PrincipalKind::Plugin,
            roles: Vec::new(),
            permissions: permissions.to_vec(),
        }
    }

    /// Whether the principal may act in `tenant` at all.
    pub fn can_access(&self, tenant: &str) -> bool {
        self.tenant.as_deref().is_none_or(|t| t == tenant)
    }

    /// Whether this is a host-wide administrator (or the host itself).
    pub fn is_system_admin(&self) -> bool {
        self.tenant.is_none()
    }

    /// How the principal appears in the audit log: `system`, `cli:root`,
    /// `user:alice`, `token:<id>(alice)`.
    pub fn actor(&self) -> String {
        match (&self.kind, &self.id, &self.token_id) {
            (PrincipalKind::Token, Some(user), Some(token)) => format!("token:{token}({user})"),
            (PrincipalKind::User, Some(user), _) => format!("user:{user}"),
            (_, Some(id), _) => id.clone(),
            (_, None, _) => "system".into(),
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
            tenant: Some("acme".into()),
            token_id: None,
            kind: PrincipalKind::User,
            roles: vec!["clerk".into()],
            permissions: vec!["contacts.read".into(), "ledger.*".into()],
        };
        assert!(p.has_permission("ledger.post"));
        assert!(p.has_permission("contacts.read"));
        assert!(!p.has_permission("contacts.write"));
        assert!(Principal::system().has_permission("anything.at-all"));
        assert!(p.can_access("acme"));
        assert!(!p.can_access("globex"));
        assert!(Principal::system().can_access("globex"));
        assert_eq!(p.actor(), "user:u1");
    }

    #[test]
    fn a_plugin_principal_holds_only_its_declared_permissions_in_its_tenant() {
        let p = Principal::plugin("training", "acme", &["ledger.read".to_string()]);
        assert_eq!(p.actor(), "plugin:training");
        assert!(p.has_permission("ledger.read"));
        assert!(!p.has_permission("ledger.post"));
        assert!(!p.has_permission("training.admin"));
        assert!(p.can_access("acme") && !p.can_access("globex"));
        assert!(!p.is_system_admin());
    }
}
