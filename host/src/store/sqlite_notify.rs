//! SQLite side of notifications (rows in `notify.rs`, statements in `notify_sql.rs`),
//! in each tenant's file.

use rusqlite::{Connection, params};

use super::notify::{NewNotification, Notification, NotifyAttempt, outcome};
use super::notify_sql as sql;
use super::{Finish, Result, StoreError};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS user_emails (
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    recipient TEXT NOT NULL,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    lease_owner TEXT,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS notification_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    attempt INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    code INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS notification_attempts_by_id
    ON notification_attempts (notification_id, id);
"#;

/// A statement of `notify_sql.rs` with SQLite's numbered placeholders: `?N` binds
/// the N-th value wherever it appears, while SQLite numbers `$N` by first appearance.
fn numbered(statement: impl AsRef<str>) -> String {
    statement.as_ref().replace('$', "?")
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        tenant: r.get(1)?,
        plugin: r.get(2)?,
        recipient: r.get(3)?,
        address: r.get(4)?,
        subject: r.get(5)?,
        body: r.get(6)?,
        message_id: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get(9)?,
        next_attempt_ms: r.get(10)?,
        last_error: r.get(11)?,
        created_ms: r.get(12)?,
        done_ms: r.get(13)?,
    })
}

pub(super) fn email_set(
    conn: &Connection,
    tenant: &str,
    username: &str,
    email: Option<&str>,
) -> Result<()> {
    match email {
        Some(email) => conn
            .prepare_cached(sql::EMAIL_SET.lite)?
            .execute(params![tenant, username, email])?,
        None => conn
            .prepare_cached(sql::EMAIL_CLEAR.lite)?
            .execute(params![tenant, username])?,
    };
    Ok(())
}

fn pairs(conn: &Connection, statement: &str, args: &[&str]) -> Result<Vec<(String, String)>> {
    let rows = conn
        .prepare_cached(statement)?
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn emails(conn: &Connection, tenant: &str) -> Result<Vec<(String, String)>> {
    pairs(conn, sql::EMAILS.lite, &[tenant])
}

pub(super) fn role_members(
    conn: &Connection,
    tenant: &str,
    role: &str,
) -> Result<Vec<(String, String)>> {
    pairs(conn, sql::ROLE_MEMBERS.lite, &[tenant, role])
}

pub(super) fn insert(conn: &Connection, n: &NewNotification) -> Result<i64> {
    Ok(conn.prepare_cached(sql::INSERT.lite)?.query_row(
        params![
            n.tenant,
            n.plugin,
            n.recipient,
            n.address,
            n.subject,
            n.body,
            n.message_id,
            n.created_ms
        ],
        |r| r.get(0),
    )?)
}

pub(super) fn claim(
    conn: &Connection,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    limit: u32,
) -> Result<Vec<Notification>> {
    let mut due = conn
        .prepare_cached(&numbered(sql::claim_select()))?
        .query_map(params![now_ms, limit], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for n in &mut due {
        conn.prepare_cached(sql::CLAIM_UPDATE.lite)?
            .execute(params![n.id, lease_until_ms, owner])?;
        n.attempts += 1;
    }
    Ok(due)
}

pub(super) fn finish(
    conn: &Connection,
    tenant: &str,
    id: i64,
    owner: &str,
    attempt: &NotifyAttempt,
    finish: &Finish,
) -> Result<bool> {
    let (state, next, done) = outcome(finish, attempt.at_ms);
    let n = conn.prepare_cached(sql::FINISH.lite)?.execute(params![
        tenant,
        id,
        owner,
        state,
        next,
        done,
        attempt.error
    ])?;
    if n == 0 {
        return Ok(false);
    }
    conn.prepare_cached(sql::ATTEMPT_INSERT.lite)?
        .execute(params![
            tenant,
            id,
            attempt.attempt,
            attempt.at_ms,
            attempt.code,
            attempt.error
        ])?;
    Ok(true)
}

pub(super) fn list(
    conn: &Connection,
    tenant: &str,
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<Notification>> {
    let rows = conn
        .prepare_cached(&numbered(sql::list()))?
        .query_map(params![tenant, state.unwrap_or(""), limit], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn attempts(conn: &Connection, tenant: &str, id: i64) -> Result<Vec<NotifyAttempt>> {
    let rows = conn
        .prepare_cached(sql::ATTEMPTS.lite)?
        .query_map(params![tenant, id], |r| {
            Ok(NotifyAttempt {
                attempt: r.get(0)?,
                at_ms: r.get(1)?,
                code: r.get(2)?,
                error: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn retry(conn: &Connection, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
    if conn
        .prepare_cached(sql::RETRY.lite)?
        .execute(params![tenant, id, now_ms])?
        > 0
    {
        return Ok(true);
    }
    if conn
        .prepare_cached(sql::EXISTS.lite)?
        .exists(params![tenant, id])?
    {
        return Err(StoreError::Conflict(format!(
            "notification {id} is pending or was sent"
        )));
    }
    Ok(false)
}

impl super::NotifyStore for super::sqlite::FileTx {
    fn user_email_set(&mut self, tenant: &str, username: &str, email: Option<&str>) -> Result<()> {
        email_set(self.conn()?, tenant, username, email)
    }
    fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>> {
        emails(self.conn()?, tenant)
    }
    fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>> {
        role_members(self.conn()?, tenant, role)
    }
    fn notify_insert(&mut self, n: &NewNotification) -> Result<i64> {
        insert(self.conn()?, n)
    }
    fn notify_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        claim(self.conn()?, now_ms, lease_until_ms, owner, limit)
    }
    fn notify_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &NotifyAttempt,
        outcome: &Finish,
    ) -> Result<bool> {
        finish(self.conn()?, tenant, id, owner, attempt, outcome)
    }
    fn notify_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        list(self.conn()?, tenant, state, limit)
    }
    fn notify_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<NotifyAttempt>> {
        attempts(self.conn()?, tenant, id)
    }
    fn notify_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        retry(self.conn()?, tenant, id, now_ms)
    }
}

/// Each method goes to the file of its tenant; claims gather over every tenant file.
impl super::NotifyStore for super::sqlite_tenants::RoutedTx {
    fn user_email_set(&mut self, tenant: &str, username: &str, email: Option<&str>) -> Result<()> {
        self.tenant_mut(tenant)?
            .user_email_set(tenant, username, email)
    }
    fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>> {
        self.tenant_mut(tenant)?.user_emails(tenant)
    }
    fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>> {
        self.tenant_mut(tenant)?.role_members(tenant, role)
    }
    fn notify_insert(&mut self, n: &NewNotification) -> Result<i64> {
        self.tenant_mut(&n.tenant)?.notify_insert(n)
    }
    fn notify_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        self.gather(limit, |tx, left| {
            tx.notify_claim(now_ms, lease_until_ms, owner, left)
        })
    }
    fn notify_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &NotifyAttempt,
        outcome: &Finish,
    ) -> Result<bool> {
        self.tenant_mut(tenant)?
            .notify_finish(tenant, id, owner, attempt, outcome)
    }
    fn notify_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        self.tenant_mut(tenant)?.notify_list(tenant, state, limit)
    }
    fn notify_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<NotifyAttempt>> {
        self.tenant_mut(tenant)?.notify_attempts(tenant, id)
    }
    fn notify_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        self.tenant_mut(tenant)?.notify_retry(tenant, id, now_ms)
    }
}
