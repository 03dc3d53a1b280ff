//! Rows of email notifications to people (issue 20, item 2): users' addresses, the
//! queue of messages a plugin asked for, and every attempt to hand one to the relay.
//!
//! A plugin's `notify` call inserts one row per recipient through the call's own
//! transaction, so a notification exists only if the call committed; the delivery
//! worker claims due rows with a lease, like webhook deliveries, and records each
//! attempt. A message keeps its `Message-ID` for every attempt and retry, so a
//! mailbox that got a message twice (a crash after the relay accepted it) shows
//! one conversation.
//!
//! The methods live in [`NotifyStore`], a trait of its own that every
//! [`Transaction`](super::Transaction) also implements: its SQL is in
//! `notify_sql.rs`, and both backends run the one implementation below (through
//! [`Backend`](super::sql_conn::Backend)).

use serde::Serialize;

use super::notify_sql as sql;
use super::sql_conn::{
    Backend, Lease, Param, RowGet, SqlConn, args, lease_due, revive, status_of, u32_of,
};
use super::{Finish, Result, StoreError};

/// A message queued by a plugin for one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Row id, unique in the tenant.
    pub id: i64,
    /// Tenant.
    pub tenant: String,
    /// The plugin that asked for it.
    pub plugin: String,
    /// The user it is for.
    pub recipient: String,
    /// The user's address when it was queued.
    pub address: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The `Message-ID` header: the same for every attempt.
    pub message_id: String,
    /// `pending`, `sent` or `dead`.
    pub state: String,
    /// Attempts since it was queued or last retried by hand.
    pub attempts: u32,
    /// When the next attempt is due, ms since the epoch.
    pub next_attempt_ms: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_ms: i64,
    /// When it was sent, or given up.
    pub done_ms: Option<i64>,
}

/// What a call queues: a [`Notification`] before it has an id and a state.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// Tenant.
    pub tenant: String,
    /// The plugin asking.
    pub plugin: String,
    /// The user it is for.
    pub recipient: String,
    /// Where it goes.
    pub address: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The `Message-ID` header value.
    pub message_id: String,
    /// When it was queued (and is first due), ms since the epoch.
    pub created_ms: i64,
}

/// One attempt to hand a message to the relay, as the worker records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotifyAttempt {
    /// Which attempt (1 for the first since queued or retried).
    pub attempt: u32,
    /// When it ended, ms since the epoch.
    pub at_ms: i64,
    /// The SMTP reply code, when the relay answered.
    pub code: Option<u16>,
    /// What went wrong; none when the relay accepted the message.
    pub error: Option<String>,
}

/// Notification states a list may be filtered by.
pub const NOTIFY_STATES: &[&str] = &["pending", "sent", "dead"];

/// Storage of notifications and users' addresses. Both backends implement every
/// method; the defaults serve only transactions that never hold tenant rows.
pub trait NotifyStore {
    /// Set (or with `None` clear) the address of a user of `tenant`.
    fn user_email_set(&mut self, tenant: &str, username: &str, email: Option<&str>) -> Result<()> {
        let _ = (tenant, username, email);
        Err(unsupported())
    }
    /// The addresses of a tenant's users that have one, by username.
    fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>> {
        let _ = tenant;
        Err(unsupported())
    }
    /// `(username, address)` of each enabled user holding `role` in `tenant`, with
    /// the address empty for those without one, by username.
    fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>> {
        let _ = (tenant, role);
        Err(unsupported())
    }
    /// Queue a message; its id.
    fn notify_insert(&mut self, n: &NewNotification) -> Result<i64> {
        let _ = n;
        Err(unsupported())
    }
    /// Lease up to `limit` due messages to `owner`, counting an attempt.
    fn notify_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        let _ = (now_ms, lease_until_ms, owner, limit);
        Ok(Vec::new())
    }
    /// Record an attempt of a message of `tenant` leased by `owner` and its outcome;
    /// false (nothing written) when the lease was lost meanwhile.
    fn notify_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &NotifyAttempt,
        finish: &Finish,
    ) -> Result<bool> {
        let _ = (tenant, id, owner, attempt, finish);
        Err(unsupported())
    }
    /// A tenant's messages, newest first, optionally in one state.
    fn notify_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        let _ = (tenant, state, limit);
        Err(unsupported())
    }
    /// Every attempt of one message, oldest first.
    fn notify_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<NotifyAttempt>> {
        let _ = (tenant, id);
        Err(unsupported())
    }
    /// Send a dead message again now, same `Message-ID`, with a fresh count of
    /// attempts: true; false when there is no such message; [`StoreError::Conflict`]
    /// when it is pending or was sent.
    fn notify_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        let _ = (tenant, id, now_ms);
        Err(unsupported())
    }
}

fn unsupported() -> StoreError {
    super::unsupported("notifications")
}

/// A notification row of `notify_sql.rs`'s column list.
fn notification(r: &impl RowGet) -> Result<Notification> {
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
        attempts: u32_of(r.get(9)?),
        next_attempt_ms: r.get(10)?,
        last_error: r.get(11)?,
        created_ms: r.get(12)?,
        done_ms: r.get(13)?,
    })
}

/// The `(text, text)` rows of a query.
fn pairs(
    c: &mut impl SqlConn,
    q: super::sql::Sql,
    args: &[Param<'_>],
) -> Result<Vec<(String, String)>> {
    c.query_rows(q, args, |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Both backends' transactions, in their tenant's file (SQLite) or the database.
impl<B: Backend> NotifyStore for B {
    fn user_email_set(&mut self, tenant: &str, username: &str, email: Option<&str>) -> Result<()> {
        let c = self.sql_conn()?;
        match email {
            Some(email) => c.execute(sql::EMAIL_SET, &args![tenant, username, email])?,
            None => c.execute(sql::EMAIL_CLEAR, &args![tenant, username])?,
        };
        Ok(())
    }

    fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>> {
        pairs(self.sql_conn()?, sql::EMAILS, &args![tenant])
    }

    fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>> {
        pairs(self.sql_conn()?, sql::ROLE_MEMBERS, &args![tenant, role])
    }

    fn notify_insert(&mut self, n: &NewNotification) -> Result<i64> {
        let args = args![
            &n.tenant,
            &n.plugin,
            &n.recipient,
            &n.address,
            &n.subject,
            &n.body,
            &n.message_id,
            n.created_ms
        ];
        self.sql_conn()?.query_one(sql::INSERT, &args, |r| r.get(0))
    }

    fn notify_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        lease_due(
            self.sql_conn()?,
            (sql::CLAIM_SELECT, sql::CLAIM_UPDATE),
            &Lease::new(now_ms, lease_until_ms, owner, limit),
            |r| notification(r),
            |n| (n.id, &mut n.attempts),
        )
    }

    fn notify_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &NotifyAttempt,
        finish: &Finish,
    ) -> Result<bool> {
        let (state, next, done) = finish.outcome("sent", attempt.at_ms);
        let c = self.sql_conn()?;
        let finished = args![tenant, id, owner, state, next, done, &attempt.error];
        if c.execute(sql::FINISH, &finished)? == 0 {
            return Ok(false);
        }
        let attempt = args![
            tenant,
            id,
            attempt.attempt,
            attempt.at_ms,
            attempt.code,
            &attempt.error
        ];
        c.execute(sql::ATTEMPT_INSERT, &attempt)?;
        Ok(true)
    }

    fn notify_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        let args = args![tenant, state.unwrap_or(""), limit];
        self.sql_conn()?
            .query_rows(sql::LIST, &args, |r| notification(r))
    }

    fn notify_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<NotifyAttempt>> {
        self.sql_conn()?
            .query_rows(sql::ATTEMPTS, &args![tenant, id], |r| {
                Ok(NotifyAttempt {
                    attempt: u32_of(r.get(0)?),
                    at_ms: r.get(1)?,
                    code: status_of(r.get(2)?),
                    error: r.get(3)?,
                })
            })
    }

    fn notify_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        revive(
            self.sql_conn()?,
            sql::RETRY,
            sql::EXISTS,
            (tenant, id, now_ms),
            || format!("notification {id} is pending or was sent"),
        )
    }
}
