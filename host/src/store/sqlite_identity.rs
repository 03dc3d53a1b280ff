//! SQLite tables and statements for users, roles, tokens and the audit log.
//!
//! [`super::sqlite`] delegates the identity part of its [`super::Transaction`]
//! implementation here, so each table group keeps its SQL in one file.

use super::sql;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    AuditAnchor, AuditQuery, AuditRecord, LoginThrottle, Result, RoleRecord, StoreError,
    TokenRecord, UserRecord,
};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    system_admin INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS roles (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS role_permissions (
    tenant TEXT NOT NULL,
    role TEXT NOT NULL,
    permission TEXT NOT NULL,
    PRIMARY KEY (tenant, role, permission),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS user_roles (
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (tenant, username, role),
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT,
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username)
);
CREATE INDEX IF NOT EXISTS tokens_by_tenant ON tokens (tenant, created_at);
CREATE TABLE IF NOT EXISTS audit (
    tenant TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    duration_us INTEGER,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE TABLE IF NOT EXISTS audit_anchors (
    tenant TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    keyed_from INTEGER NOT NULL,
    mac TEXT NOT NULL
) WITHOUT ROWID;
DROP TABLE IF EXISTS login_failures;
CREATE TABLE IF NOT EXISTS login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_ms INTEGER NOT NULL,
    next_allowed_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS login_throttle_by_age ON login_throttle (last_failure_ms);
"#;

fn conflict(e: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    super::sqlite::conflict_on_unique(e, what)
}

const USER_COLUMNS: &str =
    "tenant, username, display_name, password_hash, system_admin, created_at, disabled_at";

fn row_to_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        tenant: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        password_hash: r.get(3)?,
        system_admin: r.get(4)?,
        created_at: r.get(5)?,
        disabled_at: r.get(6)?,
    })
}

pub(super) fn user_insert(c: &Connection, u: &UserRecord) -> Result<()> {
    c.execute(
        &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![
            u.tenant,
            u.username,
            u.display_name,
            u.password_hash,
            u.system_admin,
            u.created_at,
            u.disabled_at
        ],
    )
    .map_err(|e| conflict(e, || format!("user '{}' already exists", u.username)))?;
    Ok(())
}

pub(super) fn user_get(c: &Connection, tenant: &str, username: &str) -> Result<Option<UserRecord>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant = ?1 AND username = ?2"
    ))?;
    Ok(stmt
        .query_row(params![tenant, username], row_to_user)
        .optional()?)
}

pub(super) fn user_list(c: &Connection, tenant: &str) -> Result<Vec<UserRecord>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant = ?1 ORDER BY username"
    ))?;
    let rows = stmt.query_map(params![tenant], row_to_user)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn user_update(c: &Connection, u: &UserRecord) -> Result<()> {
    c.execute(
        sql::USER_UPDATE.lite,
        params![
            u.tenant,
            u.username,
            u.display_name,
            u.password_hash,
            u.disabled_at
        ],
    )?;
    Ok(())
}

fn role_permissions(c: &Connection, tenant: &str, role: &str) -> Result<Vec<String>> {
    let mut stmt = c.prepare_cached(sql::ROLE_PERMISSIONS.lite)?;
    let rows = stmt.query_map(params![tenant, role], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn role_insert(c: &Connection, role: &RoleRecord) -> Result<()> {
    c.execute(
        sql::ROLE_INSERT.lite,
        params![role.tenant, role.name, role.description],
    )
    .map_err(|e| conflict(e, || format!("role '{}' already exists", role.name)))?;
    for p in &role.permissions {
        role_grant(c, &role.tenant, &role.name, p)?;
    }
    Ok(())
}

pub(super) fn role_get(c: &Connection, tenant: &str, name: &str) -> Result<Option<RoleRecord>> {
    let row = c
        .query_row(sql::ROLE_GET.lite, params![tenant, name], |r| {
            r.get::<_, String>(0)
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some(description) => Ok(Some(RoleRecord {
            tenant: tenant.to_string(),
            name: name.to_string(),
            description,
            permissions: role_permissions(c, tenant, name)?,
        })),
    }
}

pub(super) fn role_list(c: &Connection, tenant: &str) -> Result<Vec<RoleRecord>> {
    let mut stmt = c.prepare(sql::ROLE_LIST.lite)?;
    let rows = stmt
        .query_map(params![tenant], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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

pub(super) fn role_grant(
    c: &Connection,
    tenant: &str,
    role: &str,
    permission: &str,
) -> Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO role_permissions (tenant, role, permission) VALUES (?1, ?2, ?3)",
        params![tenant, role, permission],
    )? > 0)
}

pub(super) fn role_revoke(
    c: &Connection,
    tenant: &str,
    role: &str,
    permission: &str,
) -> Result<bool> {
    Ok(c.execute(sql::ROLE_REVOKE.lite, params![tenant, role, permission])? > 0)
}

pub(super) fn user_role_add(c: &Connection, tenant: &str, user: &str, role: &str) -> Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO user_roles (tenant, username, role) VALUES (?1, ?2, ?3)",
        params![tenant, user, role],
    )? > 0)
}

pub(super) fn user_role_remove(
    c: &Connection,
    tenant: &str,
    user: &str,
    role: &str,
) -> Result<bool> {
    Ok(c.execute(sql::USER_ROLE_REMOVE.lite, params![tenant, user, role])? > 0)
}

pub(super) fn user_access(
    c: &Connection,
    tenant: &str,
    user: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut stmt = c.prepare_cached(sql::USER_ROLES.lite)?;
    let roles = stmt
        .query_map(params![tenant, user], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let mut stmt = c.prepare_cached(sql::USER_PERMISSIONS.lite)?;
    let permissions = stmt
        .query_map(params![tenant, user], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok((roles, permissions))
}

const TOKEN_COLUMNS: &str =
    "id, tenant, username, kind, name, hash, created_at, expires_at, last_used_at, revoked_at";

fn row_to_token(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        username: r.get(2)?,
        kind: r.get(3)?,
        name: r.get(4)?,
        hash: r.get(5)?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        last_used_at: r.get(8)?,
        revoked_at: r.get(9)?,
    })
}

pub(super) fn token_insert(c: &Connection, t: &TokenRecord) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            t.id,
            t.tenant,
            t.username,
            t.kind,
            t.name,
            t.hash,
            t.created_at,
            t.expires_at,
            t.last_used_at,
            t.revoked_at
        ],
    )
    .map_err(|e| conflict(e, || format!("token id '{}' is taken", t.id)))?;
    Ok(())
}

pub(super) fn token_get(c: &Connection, id: &str) -> Result<Option<TokenRecord>> {
    let mut stmt =
        c.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))?;
    Ok(stmt.query_row(params![id], row_to_token).optional()?)
}

pub(super) fn token_list(c: &Connection, tenant: &str) -> Result<Vec<TokenRecord>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant = ?1 ORDER BY created_at DESC, id"
    ))?;
    let rows = stmt.query_map(params![tenant], row_to_token)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn token_revoke(c: &Connection, id: &str, at: &str) -> Result<bool> {
    Ok(c.execute(sql::TOKEN_REVOKE.lite, params![id, at])? > 0)
}

pub(super) fn token_touch(c: &Connection, id: &str, at: &str) -> Result<()> {
    c.prepare_cached(sql::TOKEN_TOUCH.lite)?
        .execute(params![id, at])?;
    Ok(())
}

const AUDIT_COLUMNS: &str =
    "tenant, seq, at, actor, action, target, outcome, detail, duration_us, prev_hash, hash";

fn row_to_audit(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        tenant: r.get(0)?,
        seq: r.get::<_, i64>(1)?.max(0) as u64,
        at: r.get(2)?,
        actor: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        outcome: r.get(6)?,
        detail: r.get(7)?,
        duration_us: r.get::<_, Option<i64>>(8)?.map(|d| d.max(0) as u64),
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

pub(super) fn audit_head(c: &Connection, tenant: &str) -> Result<Option<(u64, String)>> {
    let mut stmt = c.prepare_cached(sql::AUDIT_HEAD.lite)?;
    Ok(stmt
        .query_row(params![tenant], |r| {
            Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?))
        })
        .optional()?)
}

pub(super) fn audit_append(c: &Connection, a: &AuditRecord, anchor: &AuditAnchor) -> Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        a.tenant,
        a.seq as i64,
        a.at,
        a.actor,
        a.action,
        a.target,
        a.outcome,
        a.detail,
        a.duration_us.map(|d| d as i64),
        a.prev_hash,
        a.hash
    ])
    .map_err(|e| {
        conflict(e, || {
            format!(
                "audit link {} of chain '{}' already exists",
                a.seq, a.tenant
            )
        })
    })?;
    c.prepare_cached(
        "INSERT OR REPLACE INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        anchor.tenant,
        anchor.seq as i64,
        anchor.hash,
        anchor.keyed_from as i64,
        anchor.mac
    ])?;
    Ok(())
}

pub(super) fn audit_anchor(c: &Connection, tenant: &str) -> Result<Option<AuditAnchor>> {
    Ok(c.prepare_cached(sql::AUDIT_ANCHOR.lite)?
        .query_row(params![tenant], |r| {
            Ok(AuditAnchor {
                tenant: r.get(0)?,
                seq: r.get::<_, i64>(1)?.max(0) as u64,
                hash: r.get(2)?,
                keyed_from: r.get::<_, i64>(3)?.max(0) as u64,
                mac: r.get(4)?,
            })
        })
        .optional()?)
}

pub(super) fn audit_anchor_create(c: &Connection, anchor: &AuditAnchor) -> Result<bool> {
    Ok(c.prepare_cached(
        "INSERT OR IGNORE INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        anchor.tenant,
        anchor.seq as i64,
        anchor.hash,
        anchor.keyed_from as i64,
        anchor.mac
    ])? > 0)
}

pub(super) fn audit_list(c: &Connection, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE 1 = 1");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(t) = &q.tenant {
        args.push(Box::new(t.clone()));
        sql.push_str(&format!(" AND tenant = ?{}", args.len()));
    }
    if let Some(since) = &q.since {
        args.push(Box::new(since.clone()));
        sql.push_str(&format!(" AND at >= ?{}", args.len()));
    }
    if let Some(after) = q.after_seq {
        args.push(Box::new(after as i64));
        sql.push_str(&format!(" AND seq > ?{}", args.len()));
    }
    args.push(Box::new(i64::from(q.limit)));
    let order = if q.tenant.is_some() {
        "seq"
    } else {
        "at, tenant, seq"
    };
    sql.push_str(&format!(" ORDER BY {order} LIMIT ?{}", args.len()));
    let mut stmt = c.prepare_cached(&sql)?;
    let params: Vec<&dyn rusqlite::ToSql> = args.iter().map(|a| a.as_ref()).collect();
    let rows = stmt.query_map(params.as_slice(), row_to_audit)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn audit_chains(c: &Connection) -> Result<Vec<String>> {
    let mut stmt = c.prepare(sql::AUDIT_CHAINS.lite)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn login_throttle_get(c: &Connection, key: &str) -> Result<Option<LoginThrottle>> {
    Ok(c.prepare_cached(sql::LOGIN_THROTTLE_GET.lite)?
        .query_row(params![key], |r| {
            Ok(LoginThrottle {
                failures: u32::try_from(r.get::<_, i64>(0)?).unwrap_or(u32::MAX),
                last_failure_ms: r.get(1)?,
                next_allowed_ms: r.get(2)?,
            })
        })
        .optional()?)
}

pub(super) fn login_throttle_put(c: &Connection, key: &str, row: &LoginThrottle) -> Result<()> {
    c.prepare_cached(sql::LOGIN_THROTTLE_PUT.lite)?
        .execute(params![
            key,
            row.failures,
            row.last_failure_ms,
            row.next_allowed_ms
        ])?;
    Ok(())
}

pub(super) fn login_throttle_clear(
    c: &Connection,
    key: Option<&str>,
    before_ms: i64,
) -> Result<()> {
    if let Some(key) = key {
        c.prepare_cached(sql::LOGIN_THROTTLE_CLEAR_KEY.lite)?
            .execute(params![key])?;
    }
    c.prepare_cached(sql::LOGIN_THROTTLE_CLEAR_BEFORE.lite)?
        .execute(params![before_ms])?;
    Ok(())
}
