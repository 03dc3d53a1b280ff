//! PostgreSQL side of notifications (rows in `notify.rs`, statements in
//! `notify_sql.rs`); claims lock each row with `FOR UPDATE SKIP LOCKED`.

use postgres::Row;

use super::notify::{NewNotification, Notification, NotifyAttempt, outcome};
use super::notify_sql as sql;
use super::postgres::Conn;
use super::{Finish, Result, StoreError};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS user_emails (
    tenant TEXT NOT NULL, username TEXT NOT NULL, email TEXT NOT NULL,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS notifications (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, plugin TEXT NOT NULL,
    recipient TEXT NOT NULL, address TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL, lease_until_ms BIGINT, lease_owner TEXT, last_error TEXT,
    created_ms BIGINT NOT NULL, done_ms BIGINT
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS notifications_log ON notifications (tenant, id);
CREATE TABLE IF NOT EXISTS notification_attempts (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL,
    notification_id BIGINT NOT NULL REFERENCES notifications(id), attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL, code BIGINT, error TEXT
);
CREATE INDEX IF NOT EXISTS notification_attempts_by_id
    ON notification_attempts (notification_id, id);
"#;

fn row(r: &Row) -> Notification {
    Notification {
        id: r.get(0),
        tenant: r.get(1),
        plugin: r.get(2),
        recipient: r.get(3),
        address: r.get(4),
        subject: r.get(5),
        body: r.get(6),
        message_id: r.get(7),
        state: r.get(8),
        attempts: u32::try_from(r.get::<_, i64>(9)).unwrap_or(u32::MAX),
        next_attempt_ms: r.get(10),
        last_error: r.get(11),
        created_ms: r.get(12),
        done_ms: r.get(13),
    }
}

pub(super) fn email_set(
    c: &mut Conn,
    tenant: &str,
    username: &str,
    email: Option<&str>,
) -> Result<()> {
    match email {
        Some(email) => c.exec(sql::EMAIL_SET.pg, &[&tenant, &username, &email])?,
        None => c.exec(sql::EMAIL_CLEAR.pg, &[&tenant, &username])?,
    };
    Ok(())
}

pub(super) fn emails(c: &mut Conn, tenant: &str) -> Result<Vec<(String, String)>> {
    Ok(c.query(sql::EMAILS.pg, &[&tenant])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

pub(super) fn role_members(
    c: &mut Conn,
    tenant: &str,
    role: &str,
) -> Result<Vec<(String, String)>> {
    Ok(c.query(sql::ROLE_MEMBERS.pg, &[&tenant, &role])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

pub(super) fn insert(c: &mut Conn, n: &NewNotification) -> Result<i64> {
    Ok(c.query_one(
        sql::INSERT.pg,
        &[
            &n.tenant,
            &n.plugin,
            &n.recipient,
            &n.address,
            &n.subject,
            &n.body,
            &n.message_id,
            &n.created_ms,
        ],
    )?
    .get(0))
}

pub(super) fn claim(
    c: &mut Conn,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    limit: u32,
) -> Result<Vec<Notification>> {
    // Rows another host holds are skipped, not waited for.
    let select = format!("{} FOR UPDATE SKIP LOCKED", sql::claim_select());
    let mut due: Vec<Notification> = c
        .query(&select, &[&now_ms, &i64::from(limit)])?
        .iter()
        .map(row)
        .collect();
    for n in &mut due {
        c.exec(sql::CLAIM_UPDATE.pg, &[&n.id, &lease_until_ms, &owner])?;
        n.attempts += 1;
    }
    Ok(due)
}

pub(super) fn finish(
    c: &mut Conn,
    tenant: &str,
    id: i64,
    owner: &str,
    attempt: &NotifyAttempt,
    finish: &Finish,
) -> Result<bool> {
    let (state, next, done) = outcome(finish, attempt.at_ms);
    let n = c.exec(
        sql::FINISH.pg,
        &[&tenant, &id, &owner, &state, &next, &done, &attempt.error],
    )?;
    if n == 0 {
        return Ok(false);
    }
    let code = attempt.code.map(i64::from);
    c.exec(
        sql::ATTEMPT_INSERT.pg,
        &[
            &tenant,
            &id,
            &i64::from(attempt.attempt),
            &attempt.at_ms,
            &code,
            &attempt.error,
        ],
    )?;
    Ok(true)
}

pub(super) fn list(
    c: &mut Conn,
    tenant: &str,
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<Notification>> {
    let state = state.unwrap_or("");
    Ok(
        c.query(&sql::list(), &[&tenant, &state, &i64::from(limit)])?
            .iter()
            .map(row)
            .collect(),
    )
}

pub(super) fn attempts(c: &mut Conn, tenant: &str, id: i64) -> Result<Vec<NotifyAttempt>> {
    Ok(c.query(sql::ATTEMPTS.pg, &[&tenant, &id])?
        .iter()
        .map(|r| NotifyAttempt {
            attempt: u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
            at_ms: r.get(1),
            code: r
                .get::<_, Option<i64>>(2)
                .and_then(|c| u16::try_from(c).ok()),
            error: r.get(3),
        })
        .collect())
}

pub(super) fn retry(c: &mut Conn, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
    if c.exec(sql::RETRY.pg, &[&tenant, &id, &now_ms])? > 0 {
        return Ok(true);
    }
    if c.query_opt(sql::EXISTS.pg, &[&tenant, &id])?.is_some() {
        return Err(StoreError::Conflict(format!(
            "notification {id} is pending or was sent"
        )));
    }
    Ok(false)
}

impl super::NotifyStore for super::postgres::PgTx {
    fn user_email_set(&mut self, tenant: &str, username: &str, email: Option<&str>) -> Result<()> {
        email_set(self.c()?, tenant, username, email)
    }
    fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>> {
        emails(self.c()?, tenant)
    }
    fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>> {
        role_members(self.c()?, tenant, role)
    }
    fn notify_insert(&mut self, n: &NewNotification) -> Result<i64> {
        insert(self.c()?, n)
    }
    fn notify_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        claim(self.c()?, now_ms, lease_until_ms, owner, limit)
    }
    fn notify_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &NotifyAttempt,
        outcome: &Finish,
    ) -> Result<bool> {
        finish(self.c()?, tenant, id, owner, attempt, outcome)
    }
    fn notify_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        list(self.c()?, tenant, state, limit)
    }
    fn notify_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<NotifyAttempt>> {
        attempts(self.c()?, tenant, id)
    }
    fn notify_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        retry(self.c()?, tenant, id, now_ms)
    }
}
