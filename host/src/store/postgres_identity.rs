//! PostgreSQL tables and statements for users, roles, tokens, the audit log and
//! failed sign-ins, called from the [`Transaction`](super::Transaction) impl in
//! `postgres.rs`.

use super::sql;
use postgres::Row;
use postgres::types::ToSql;

use super::postgres::{Conn, conflict_on_unique, retry_on_unique};
use super::{
    AuditAnchor, AuditQuery, AuditRecord, LoginThrottle, Result, RoleRecord, TokenRecord,
    UserRecord,
};

fn u(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

const USER_COLUMNS: &str =
    "tenant, username, display_name, password_hash, system_admin, created_at, disabled_at";

fn row_to_user(r: &Row) -> UserRecord {
    UserRecord {
        tenant: r.get(0),
        username: r.get(1),
        display_name: r.get(2),
        password_hash: r.get(3),
        system_admin: r.get::<_, i64>(4) != 0,
        created_at: r.get(5),
        disabled_at: r.get(6),
    }
}

const TOKEN_COLUMNS: &str =
    "id, tenant, username, kind, name, hash, created_at, expires_at, last_used_at, revoked_at";

fn row_to_token(r: &Row) -> TokenRecord {
    TokenRecord {
        id: r.get(0),
        tenant: r.get(1),
        username: r.get(2),
        kind: r.get(3),
        name: r.get(4),
        hash: r.get(5),
        created_at: r.get(6),
        expires_at: r.get(7),
        last_used_at: r.get(8),
        revoked_at: r.get(9),
    }
}

const AUDIT_COLUMNS: &str =
    "tenant, seq, at, actor, action, target, outcome, detail, duration_us, prev_hash, hash";

fn row_to_audit(r: &Row) -> AuditRecord {
    AuditRecord {
        tenant: r.get(0),
        seq: r.get::<_, i64>(1).max(0) as u64,
        at: r.get(2),
        actor: r.get(3),
        action: r.get(4),
        target: r.get(5),
        outcome: r.get(6),
        detail: r.get(7),
        duration_us: r.get::<_, Option<i64>>(8).map(|d| d.max(0) as u64),
        prev_hash: r.get(9),
        hash: r.get(10),
    }
}

fn role_permissions(c: &mut Conn, tenant: &str, role: &str) -> Result<Vec<String>> {
    Ok(c.query(sql::ROLE_PERMISSIONS.pg, &[&tenant, &role])?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub(super) fn user_insert(c: &mut Conn, u: &UserRecord) -> Result<()> {
    c.exec_raw(
        &format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &[
            &u.tenant,
            &u.username,
            &u.display_name,
            &u.password_hash,
            &i64::from(u.system_admin),
            &u.created_at,
            &u.disabled_at,
        ],
    )?
    .map_err(|e| conflict_on_unique(e, || format!("user '{}' already exists", u.username)))?;
    Ok(())
}

pub(super) fn user_get(c: &mut Conn, tenant: &str, username: &str) -> Result<Option<UserRecord>> {
    Ok(c.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 AND username = $2"),
        &[&tenant, &username],
    )?
    .as_ref()
    .map(row_to_user))
}

pub(super) fn user_list(c: &mut Conn, tenant: &str) -> Result<Vec<UserRecord>> {
    Ok(c.query(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE tenant = $1 ORDER BY username"),
        &[&tenant],
    )?
    .iter()
    .map(row_to_user)
    .collect())
}

pub(super) fn user_update(c: &mut Conn, u: &UserRecord) -> Result<()> {
    c.exec(
        sql::USER_UPDATE.pg,
        &[
            &u.tenant,
            &u.username,
            &u.display_name,
            &u.password_hash,
            &u.disabled_at,
        ],
    )?;
    Ok(())
}

pub(super) fn role_insert(c: &mut Conn, role: &RoleRecord) -> Result<()> {
    c.exec_raw(
        sql::ROLE_INSERT.pg,
        &[&role.tenant, &role.name, &role.description],
    )?
    .map_err(|e| conflict_on_unique(e, || format!("role '{}' already exists", role.name)))?;
    for p in &role.permissions {
        role_grant(c, &role.tenant, &role.name, p)?;
    }
    Ok(())
}

pub(super) fn role_get(c: &mut Conn, tenant: &str, name: &str) -> Result<Option<RoleRecord>> {
    let Some(row) = c.query_opt(sql::ROLE_GET.pg, &[&tenant, &name])? else {
        return Ok(None);
    };
    Ok(Some(RoleRecord {
        tenant: tenant.to_string(),
        name: name.to_string(),
        description: row.get(0),
        permissions: role_permissions(c, tenant, name)?,
    }))
}

pub(super) fn role_list(c: &mut Conn, tenant: &str) -> Result<Vec<RoleRecord>> {
    let rows: Vec<(String, String)> = c
        .query(sql::ROLE_LIST.pg, &[&tenant])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
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

pub(super) fn role_grant(c: &mut Conn, tenant: &str, role: &str, permission: &str) -> Result<bool> {
    Ok(c.exec(
        "INSERT INTO role_permissions (tenant, role, permission) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        &[&tenant, &role, &permission],
    )? > 0)
}

pub(super) fn role_revoke(
    c: &mut Conn,
    tenant: &str,
    role: &str,
    permission: &str,
) -> Result<bool> {
    Ok(c.exec(sql::ROLE_REVOKE.pg, &[&tenant, &role, &permission])? > 0)
}

pub(super) fn user_role_add(
    c: &mut Conn,
    tenant: &str,
    username: &str,
    role: &str,
) -> Result<bool> {
    Ok(c.exec(
        "INSERT INTO user_roles (tenant, username, role) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        &[&tenant, &username, &role],
    )? > 0)
}

pub(super) fn user_role_remove(
    c: &mut Conn,
    tenant: &str,
    username: &str,
    role: &str,
) -> Result<bool> {
    Ok(c.exec(sql::USER_ROLE_REMOVE.pg, &[&tenant, &username, &role])? > 0)
}

pub(super) fn user_access(
    c: &mut Conn,
    tenant: &str,
    username: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let roles = c
        .query(sql::USER_ROLES.pg, &[&tenant, &username])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let permissions = c
        .query(sql::USER_PERMISSIONS.pg, &[&tenant, &username])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok((roles, permissions))
}

pub(super) fn token_insert(c: &mut Conn, t: &TokenRecord) -> Result<()> {
    c.exec_raw(
        &format!(
            "INSERT INTO tokens ({TOKEN_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[
            &t.id,
            &t.tenant,
            &t.username,
            &t.kind,
            &t.name,
            &t.hash,
            &t.created_at,
            &t.expires_at,
            &t.last_used_at,
            &t.revoked_at,
        ],
    )?
    .map_err(|e| conflict_on_unique(e, || format!("token id '{}' is taken", t.id)))?;
    Ok(())
}

pub(super) fn token_get(c: &mut Conn, id: &str) -> Result<Option<TokenRecord>> {
    Ok(c.query_opt(
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"),
        &[&id],
    )?
    .as_ref()
    .map(row_to_token))
}

pub(super) fn token_list(c: &mut Conn, tenant: &str) -> Result<Vec<TokenRecord>> {
    Ok(c.query(
        &format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant = $1 ORDER BY created_at DESC, id"
        ),
        &[&tenant],
    )?
    .iter()
    .map(row_to_token)
    .collect())
}

pub(super) fn token_revoke(c: &mut Conn, id: &str, at: &str) -> Result<bool> {
    Ok(c.exec(sql::TOKEN_REVOKE.pg, &[&id, &at])? > 0)
}

pub(super) fn token_touch(c: &mut Conn, id: &str, at: &str) -> Result<()> {
    c.exec(sql::TOKEN_TOUCH.pg, &[&id, &at])?;
    Ok(())
}

pub(super) fn audit_head(c: &mut Conn, tenant: &str) -> Result<Option<(u64, String)>> {
    Ok(c.query_opt(sql::AUDIT_HEAD.pg, &[&tenant])?
        .map(|r| (r.get::<_, i64>(0).max(0) as u64, r.get(1))))
}

pub(super) fn audit_append(c: &mut Conn, a: &AuditRecord, anchor: &AuditAnchor) -> Result<()> {
    let seq = i64::try_from(a.seq).unwrap_or(i64::MAX);
    let duration = a.duration_us.map(|d| i64::try_from(d).unwrap_or(i64::MAX));
    c.exec_raw(
        &format!(
            "INSERT INTO audit ({AUDIT_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        &[
            &a.tenant,
            &seq,
            &a.at,
            &a.actor,
            &a.action,
            &a.target,
            &a.outcome,
            &a.detail,
            &duration,
            &a.prev_hash,
            &a.hash,
        ],
    )?
    .map_err(|e| {
        retry_on_unique(e, || {
            format!(
                "audit link {} of chain '{}' was written by a concurrent transaction",
                a.seq, a.tenant
            )
        })
    })?;
    let (seq, keyed_from) = anchor_numbers(anchor);
    c.exec(
        "INSERT INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
              VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant) DO UPDATE
                 SET seq = $2, hash = $3, keyed_from = $4, mac = $5",
        &[&anchor.tenant, &seq, &anchor.hash, &keyed_from, &anchor.mac],
    )?;
    Ok(())
}

fn anchor_numbers(a: &AuditAnchor) -> (i64, i64) {
    (
        i64::try_from(a.seq).unwrap_or(i64::MAX),
        i64::try_from(a.keyed_from).unwrap_or(i64::MAX),
    )
}

pub(super) fn audit_anchor(c: &mut Conn, tenant: &str) -> Result<Option<AuditAnchor>> {
    Ok(c.query_opt(sql::AUDIT_ANCHOR.pg, &[&tenant])?
        .map(|r| AuditAnchor {
            tenant: r.get(0),
            seq: r.get::<_, i64>(1).max(0) as u64,
            hash: r.get(2),
            keyed_from: r.get::<_, i64>(3).max(0) as u64,
            mac: r.get(4),
        }))
}

pub(super) fn audit_anchor_create(c: &mut Conn, anchor: &AuditAnchor) -> Result<bool> {
    let (seq, keyed_from) = anchor_numbers(anchor);
    Ok(c.exec(
        "INSERT INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
              VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant) DO NOTHING",
        &[&anchor.tenant, &seq, &anchor.hash, &keyed_from, &anchor.mac],
    )? > 0)
}

pub(super) fn audit_list(c: &mut Conn, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE true");
    let after = q.after_seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    let limit = i64::from(q.limit);
    let mut args: Vec<&(dyn ToSql + Sync)> = Vec::new();
    if let Some(t) = &q.tenant {
        args.push(t);
        sql.push_str(&format!(" AND tenant = ${}", args.len()));
    }
    if let Some(since) = &q.since {
        args.push(since);
        sql.push_str(&format!(" AND at >= ${}", args.len()));
    }
    if let Some(after) = &after {
        args.push(after);
        sql.push_str(&format!(" AND seq > ${}", args.len()));
    }
    args.push(&limit);
    let order = if q.tenant.is_some() {
        "seq"
    } else {
        "at, tenant, seq"
    };
    sql.push_str(&format!(" ORDER BY {order} LIMIT ${}", args.len()));
    Ok(c.query(&sql, &args)?.iter().map(row_to_audit).collect())
}

pub(super) fn audit_chains(c: &mut Conn) -> Result<Vec<String>> {
    Ok(c.query(sql::AUDIT_CHAINS.pg, &[])?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub(super) fn login_throttle_get(c: &mut Conn, key: &str) -> Result<Option<LoginThrottle>> {
    Ok(c.query_opt(sql::LOGIN_THROTTLE_GET.pg, &[&key])?
        .map(|r| LoginThrottle {
            failures: u(r.get(0)),
            last_failure_ms: r.get(1),
            next_allowed_ms: r.get(2),
        }))
}

pub(super) fn login_throttle_put(c: &mut Conn, key: &str, row: &LoginThrottle) -> Result<()> {
    c.exec(
        sql::LOGIN_THROTTLE_PUT.pg,
        &[
            &key,
            &i64::from(row.failures),
            &row.last_failure_ms,
            &row.next_allowed_ms,
        ],
    )?;
    Ok(())
}

pub(super) fn login_throttle_clear(c: &mut Conn, key: Option<&str>, before_ms: i64) -> Result<()> {
    if let Some(key) = key {
        c.exec(sql::LOGIN_THROTTLE_CLEAR_KEY.pg, &[&key])?;
    }
    c.exec(sql::LOGIN_THROTTLE_CLEAR_BEFORE.pg, &[&before_ms])?;
    Ok(())
}
