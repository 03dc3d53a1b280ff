//! Rows of the identity tables (users, roles, tokens) and of the audit log, and the
//! methods both backends run on them: [`IdentityStore`] and [`AuditStore`], once for
//! every [`Backend`].

use serde::Serialize;

use super::sql;
use super::sql_conn::{
    Backend, Param, RowGet, SqlConn, args, bool_of, exists, from_row, u32_of, u64_of,
};
use super::{AuditStore, IdentityStore, Result, StoreError};

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

fn user(r: &impl RowGet) -> Result<UserRecord> {
    Ok(from_row!(r => UserRecord {
        tenant, username, display_name, password_hash,
        system_admin: bool_of,
        created_at, disabled_at,
    }))
}

fn token(r: &impl RowGet) -> Result<TokenRecord> {
    Ok(from_row!(r => TokenRecord {
        id, tenant, username, kind, name, hash, created_at, expires_at, last_used_at, revoked_at,
    }))
}

fn audit(r: &impl RowGet) -> Result<AuditRecord> {
    Ok(from_row!(r => AuditRecord {
        tenant,
        seq: u64_of,
        at, actor, action, target, outcome, detail,
        duration_us: |us: Option<i64>| us.map(u64_of),
        prev_hash, hash,
    }))
}

fn role_permissions(c: &mut impl SqlConn, tenant: &str, role: &str) -> Result<Vec<String>> {
    c.query_rows(sql::ROLE_PERMISSIONS, &args![tenant, role], |r| r.get(0))
}

fn role_grant(c: &mut impl SqlConn, tenant: &str, role: &str, permission: &str) -> Result<bool> {
    Ok(c.execute(sql::ROLE_GRANT, &args![tenant, role, permission])? > 0)
}

/// Run `q`, a change to users, roles, permissions or tokens, and move the identity
/// stamp on ([`Backend::identity_moved`]): whether it changed a row.
fn change(tx: &mut impl Backend, q: sql::Sql, args: &[Param<'_>]) -> Result<bool> {
    let changed = tx.sql_conn()?.execute(q, args)? > 0;
    tx.identity_moved()?;
    Ok(changed)
}

/// Both backends' transactions: a tenant's file or the main file (SQLite, routed by
/// `sqlite_tenants.rs`), or the database.
impl<B: Backend> IdentityStore for B {
    fn user_insert(&mut self, u: &UserRecord) -> Result<()> {
        let args = args![
            &u.tenant,
            &u.username,
            &u.display_name,
            &u.password_hash,
            u.system_admin,
            &u.created_at,
            &u.disabled_at
        ];
        self.sql_conn()?
            .insert_unique(sql::USER_INSERT, &args, exists("user", &u.username))
    }

    fn user_get(&mut self, tenant: &str, username: &str) -> Result<Option<UserRecord>> {
        self.sql_conn()?
            .query_opt(sql::USER_GET, &args![tenant, username], |r| user(r))
    }

    fn user_list(&mut self, tenant: &str) -> Result<Vec<UserRecord>> {
        self.sql_conn()?
            .query_rows(sql::USER_LIST, &args![tenant], |r| user(r))
    }

    fn user_update(&mut self, u: &UserRecord) -> Result<()> {
        let args = args![
            &u.tenant,
            &u.username,
            &u.display_name,
            &u.password_hash,
            &u.disabled_at
        ];
        change(self, sql::USER_UPDATE, &args)?;
        Ok(())
    }

    fn role_insert(&mut self, role: &RoleRecord) -> Result<()> {
        let c = self.sql_conn()?;
        let args = args![&role.tenant, &role.name, &role.description];
        c.insert_unique(sql::ROLE_INSERT, &args, exists("role", &role.name))?;
        for p in &role.permissions {
            role_grant(c, &role.tenant, &role.name, p)?;
        }
        Ok(())
    }

    fn role_get(&mut self, tenant: &str, name: &str) -> Result<Option<RoleRecord>> {
        let c = self.sql_conn()?;
        let Some(description) = c.query_opt(sql::ROLE_GET, &args![tenant, name], |r| r.get(0))?
        else {
            return Ok(None);
        };
        Ok(Some(RoleRecord {
            tenant: tenant.to_string(),
            name: name.to_string(),
            description,
            permissions: role_permissions(c, tenant, name)?,
        }))
    }

    fn role_list(&mut self, tenant: &str) -> Result<Vec<RoleRecord>> {
        let c = self.sql_conn()?;
        let rows: Vec<(String, String)> = c.query_rows(sql::ROLE_LIST, &args![tenant], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.into_iter()
            .map(|(name, description)| {
                Ok(RoleRecord {
                    permissions: role_permissions(c, tenant, &name)?,
                    tenant: tenant.to_string(),
                    name,
                    description,
                })
            })
            .collect()
    }

    fn role_grant(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool> {
        change(self, sql::ROLE_GRANT, &args![tenant, role, permission])
    }

    fn role_revoke(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool> {
        change(self, sql::ROLE_REVOKE, &args![tenant, role, permission])
    }

    fn user_role_add(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool> {
        change(self, sql::USER_ROLE_ADD, &args![tenant, username, role])
    }

    fn user_role_remove(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool> {
        change(self, sql::USER_ROLE_REMOVE, &args![tenant, username, role])
    }

    fn user_access(&mut self, tenant: &str, username: &str) -> Result<(Vec<String>, Vec<String>)> {
        let c = self.sql_conn()?;
        let args = args![tenant, username];
        let roles = c.query_rows(sql::USER_ROLES, &args, |r| r.get(0))?;
        let permissions = c.query_rows(sql::USER_PERMISSIONS, &args, |r| r.get(0))?;
        Ok((roles, permissions))
    }

    fn token_insert(&mut self, t: &TokenRecord) -> Result<()> {
        let args = args![
            &t.id,
            &t.tenant,
            &t.username,
            &t.kind,
            &t.name,
            &t.hash,
            &t.created_at,
            &t.expires_at,
            &t.last_used_at,
            &t.revoked_at
        ];
        self.sql_conn()?
            .insert_unique(sql::TOKEN_INSERT, &args, || {
                format!("token id '{}' is taken", t.id)
            })
    }

    fn token_get(&mut self, id: &str) -> Result<Option<TokenRecord>> {
        self.sql_conn()?
            .query_opt(sql::TOKEN_GET, &args![id], |r| token(r))
    }

    fn token_list(&mut self, tenant: &str) -> Result<Vec<TokenRecord>> {
        self.sql_conn()?
            .query_rows(sql::TOKEN_LIST, &args![tenant], |r| token(r))
    }

    fn token_revoke(&mut self, id: &str, at: &str) -> Result<bool> {
        change(self, sql::TOKEN_REVOKE, &args![id, at])
    }

    fn token_touch(&mut self, id: &str, at: &str) -> Result<()> {
        self.sql_conn()?.execute(sql::TOKEN_TOUCH, &args![id, at])?;
        Ok(())
    }

    fn identity_changed(&mut self) -> Result<()> {
        self.sql_conn()?.execute(sql::IDENTITY_CHANGED, &[])?;
        Ok(())
    }

    fn login_throttle_get(&mut self, key: &str) -> Result<Option<LoginThrottle>> {
        self.sql_conn()?
            .query_opt(sql::LOGIN_THROTTLE_GET, &args![key], |r| {
                Ok(LoginThrottle {
                    failures: u32_of(r.get(0)?),
                    last_failure_ms: r.get(1)?,
                    next_allowed_ms: r.get(2)?,
                })
            })
    }

    fn login_throttle_put(&mut self, key: &str, row: &LoginThrottle) -> Result<()> {
        let args = args![key, row.failures, row.last_failure_ms, row.next_allowed_ms];
        self.sql_conn()?.execute(sql::LOGIN_THROTTLE_PUT, &args)?;
        Ok(())
    }

    fn login_throttle_clear(&mut self, key: Option<&str>, before_ms: i64) -> Result<()> {
        let c = self.sql_conn()?;
        if let Some(key) = key {
            c.execute(sql::LOGIN_THROTTLE_CLEAR_KEY, &args![key])?;
        }
        c.execute(sql::LOGIN_THROTTLE_CLEAR_BEFORE, &args![before_ms])?;
        Ok(())
    }
}

/// Both backends' transactions: a chain's file (SQLite) or the database. A SQLite
/// writer also keeps the tips of the chains it wrote (`Backend::audit_linked`).
impl<B: Backend> AuditStore for B {
    fn audit_head(&mut self, tenant: &str) -> Result<Option<(u64, String)>> {
        self.sql_conn()?
            .query_opt(sql::AUDIT_HEAD, &args![tenant], |r| {
                Ok((u64_of(r.get(0)?), r.get(1)?))
            })
    }

    fn audit_append(&mut self, a: &AuditRecord, anchor: &AuditAnchor) -> Result<()> {
        audit_append(self.sql_conn()?, a, anchor)?;
        self.audit_linked(anchor);
        Ok(())
    }

    fn audit_anchor(&mut self, tenant: &str) -> Result<Option<AuditAnchor>> {
        self.sql_conn()?
            .query_opt(sql::AUDIT_ANCHOR, &args![tenant], |r| {
                Ok(AuditAnchor {
                    tenant: r.get(0)?,
                    seq: u64_of(r.get(1)?),
                    hash: r.get(2)?,
                    keyed_from: u64_of(r.get(3)?),
                    mac: r.get(4)?,
                })
            })
    }

    fn audit_known_tip(&mut self, chain: &str) -> Option<AuditAnchor> {
        self.audit_tip(chain)
    }

    fn audit_anchor_create(&mut self, anchor: &AuditAnchor) -> Result<bool> {
        Ok(self
            .sql_conn()?
            .execute(sql::AUDIT_ANCHOR_CREATE, &anchor_args(anchor))?
            > 0)
    }

    fn audit_list(&mut self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut text = sql::AUDIT_LIST.pg.to_string();
        let mut args: Vec<Param<'_>> = Vec::with_capacity(4);
        if let Some(t) = &q.tenant {
            args.push(t.into());
            text.push_str(&format!(" AND tenant = ${}", args.len()));
        }
        if let Some(since) = &q.since {
            args.push(since.into());
            text.push_str(&format!(" AND at >= ${}", args.len()));
        }
        if let Some(after) = q.after_seq {
            args.push(after.into());
            text.push_str(&format!(" AND seq > ${}", args.len()));
        }
        args.push(q.limit.into());
        let order = if q.tenant.is_some() {
            "seq"
        } else {
            "at, tenant, seq"
        };
        text.push_str(&format!(" ORDER BY {order} LIMIT ${}", args.len()));
        self.sql_conn()?.query_rows_text(&text, &args, |r| audit(r))
    }

    fn audit_chains(&mut self) -> Result<Vec<String>> {
        self.sql_conn()?
            .query_rows(sql::AUDIT_CHAINS, &[], |r| r.get(0))
    }
}

/// Append a link and move the chain's anchor to it. A taken sequence number is a
/// conflict, or on a database other hosts write at once, a lost race to retry.
fn audit_append<C: SqlConn>(c: &mut C, a: &AuditRecord, anchor: &AuditAnchor) -> Result<()> {
    let link = args![
        &a.tenant,
        a.seq,
        &a.at,
        &a.actor,
        &a.action,
        &a.target,
        &a.outcome,
        &a.detail,
        a.duration_us,
        &a.prev_hash,
        &a.hash
    ];
    if !c.insert_new(sql::AUDIT_INSERT, &link)? {
        return Err(if C::SHARED {
            StoreError::Retry(format!(
                "audit link {} of chain '{}' was written by a concurrent transaction",
                a.seq, a.tenant
            ))
        } else {
            StoreError::Conflict(format!(
                "audit link {} of chain '{}' already exists",
                a.seq, a.tenant
            ))
        });
    }
    c.execute(sql::AUDIT_ANCHOR_PUT, &anchor_args(anchor))?;
    Ok(())
}

fn anchor_args(a: &AuditAnchor) -> [Param<'_>; 5] {
    args![&a.tenant, a.seq, &a.hash, a.keyed_from, &a.mac]
}
