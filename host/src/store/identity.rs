//! Rows of the identity tables (users, roles, tokens) and of the audit log.

use serde::Serialize;

/// Tenant column value of host-level rows: system administrators, their tokens and
/// the host's own audit chain.
pub const HOST_SCOPE: &str = "";

/// A person (or service account) who can act in one tenant, or a system administrator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRecord {
    /// Tenant the user belongs to; [`HOST_SCOPE`] for system administrators.
    pub tenant: String,
    /// Login name, unique in the tenant.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// PHC string of the Argon2id hash; none for service accounts that only use API
    /// tokens.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Whether the user administers the host.
    pub system_admin: bool,
    /// RFC 3339 UTC timestamp.
    pub created_at: String,
    /// Set when the user was disabled; disabled users cannot sign in or use tokens.
    pub disabled_at: Option<String>,
}

/// How a sign-in key (an account or a client address) stands in the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Attempts counted since the count last started again (see `identity::throttle`).
    pub failures: u32,
    /// When the last one was counted, in ms since the Unix epoch.
    pub last_failure_ms: i64,
    /// No attempt of the key is checked before this time (ms since the epoch).
    pub next_allowed_ms: i64,
}

/// A named set of permission patterns in one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleRecord {
    /// Tenant id.
    pub tenant: String,
    /// Role name, unique in the tenant.
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// Permission patterns such as `ledger.*`, sorted.
    pub permissions: Vec<String>,
}

/// A bearer token: a session from a login or a long-lived API token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRecord {
    /// Public id, part of the token text; used to list and revoke.
    pub id: String,
    /// Tenant of the owning user; [`HOST_SCOPE`] for system administrators.
    pub tenant: String,
    /// Owning user.
    pub username: String,
    /// `session` or `api`.
    pub kind: String,
    /// Label given at creation (`erp-sync`), or `login` for sessions.
    pub name: String,
    /// SHA-256 of the whole token text, lowercase hex. The token itself is never stored.
    #[serde(skip)]
    pub hash: String,
    /// RFC 3339 UTC timestamps.
    pub created_at: String,
    /// When the token stops working, if ever.
    pub expires_at: Option<String>,
    /// Last successful use, updated at most once a minute.
    pub last_used_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// One link of a tenant's audit chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Chain: a tenant id, or [`HOST_SCOPE`] for host administration.
    pub tenant: String,
    /// Position in the chain, from 1 without gaps.
    pub seq: u64,
    /// RFC 3339 UTC timestamp with sub-second precision.
    pub at: String,
    /// Who acted: `user:alice`, `token:3f2a...`, `cli:root`, `system`.
    pub actor: String,
    /// What was done: `invoke`, `plugin.install`, `token.create`, ...
    pub action: String,
    /// What it was done to: `ledger.post-entry@1.2.0`, `user:alice`, ...
    pub target: String,
    /// `ok`, or the stable error code (`forbidden`, `invalid-input`, ...).
    pub outcome: String,
    /// Further facts as a JSON object text.
    pub detail: String,
    /// How long the invocation took, in microseconds; none for admin actions.
    pub duration_us: Option<u64>,
    /// Hash of the previous link (64 zeros for the first).
    pub prev_hash: String,
    /// HMAC-SHA256 under the host's audit key over this link's fields and
    /// `prev_hash` (plain SHA-256 for links written before the chain was keyed),
    /// lowercase hex.
    pub hash: String,
}

/// The anchor of one audit chain: where its head is, signed with the audit key. It
/// moves in the same transaction as every link appended, so deleting the newest links
/// (or the whole chain) leaves an anchor that points past them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditAnchor {
    /// Chain: a tenant id, or [`HOST_SCOPE`].
    pub tenant: String,
    /// Sequence number of the head (0 for a chain without links).
    pub seq: u64,
    /// Hash of the head (64 zeros for a chain without links).
    pub hash: String,
    /// The first link hashed with the key; older links are plain SHA-256 (written
    /// before the host had an audit key).
    pub keyed_from: u64,
    /// HMAC-SHA256 under the audit key over the fields above, lowercase hex.
    pub mac: String,
}

/// Which audit rows to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// One chain only.
    pub tenant: Option<String>,
    /// Rows at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Rows of one chain after this sequence number (for paging a chain in order).
    pub after_seq: Option<u64>,
    /// Maximum rows.
    pub limit: u32,
}
