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
//! The messages are a [`QueueStore`](super::QueueStore) of [`Notification`]s, run by the one queue of
//! `queue.rs` (every [`Transaction`](super::Transaction) is one); callers use its
//! methods under their names in [`NotifyQueue`]. Users' addresses live in
//! [`NotifyStore`], a trait of its own that every transaction also implements; both
//! backends run its one implementation below (through
//! [`Backend`](super::sql_conn::Backend)). The SQL is in `notify_sql.rs`.

use serde::Serialize;

use super::Result;
use super::notify_sql as sql;
use super::queue::{QueueKind, QueueSql, queue_names};
use super::sql_conn::{Backend, Param, RowGet, SqlConn, args, from_row, status_of, u32_of};

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

impl QueueKind for Notification {
    type New = NewNotification;
    type Attempt = NotifyAttempt;
    const ROWS: &'static str = "notifications";
    const DONE: &'static str = "sent";

    fn id(&self) -> i64 {
        self.id
    }
}

queue_names! {
    /// The queue of notifications ([`QueueStore`](super::QueueStore) of
    /// [`Notification`]s) under the names its callers use; `notify_finish`'s `Done` is
    /// `sent`, and a retried message keeps its `Message-ID`.
    pub trait NotifyQueue for Notification {
        notify_insert, notify_claim, notify_finish, notify_hold, notify_list,
        notify_attempts, notify_retry
    }
}

/// Users' addresses.
pub trait NotifyStore {
    /// Set (or with `None` clear) the address of a user of `tenant`.
    fn user_email_set(&mut self, tenant: &str, username: &str, email: Option<&str>) -> Result<()>;
    /// The addresses of a tenant's users that have one, by username.
    fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>>;
    /// `(username, address)` of each enabled user holding `role` in `tenant`, with
    /// the address empty for those without one, by username.
    fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>>;
}

impl QueueSql for Notification {
    const SQL: super::queue::Statements = sql::QUEUE;

    fn tenant(new: &NewNotification) -> &str {
        &new.tenant
    }

    fn insert(c: &mut impl SqlConn, n: &NewNotification) -> Result<i64> {
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
        c.query_one(sql::INSERT, &args, |r| r.get(0))
    }

    /// A notification row of `notify_sql.rs`'s column list.
    fn row(r: &impl RowGet) -> Result<Notification> {
        Ok(from_row!(r => Notification {
            id, tenant, plugin, recipient, address, subject, body, message_id, state,
            attempts: u32_of,
            next_attempt_ms, last_error, created_ms, done_ms,
        }))
    }

    fn leased(&mut self) -> (i64, &mut u32) {
        (self.id, &mut self.attempts)
    }

    fn attempt(r: &impl RowGet) -> Result<NotifyAttempt> {
        Ok(from_row!(r => NotifyAttempt {
            attempt: u32_of,
            at_ms,
            code: status_of,
            error,
        }))
    }

    /// The error alone.
    fn finished(a: &NotifyAttempt) -> (i64, Vec<Param<'_>>) {
        (a.at_ms, args![&a.error].to_vec())
    }

    fn attempt_values(a: &NotifyAttempt) -> Vec<Param<'_>> {
        args![a.attempt, a.at_ms, a.code, &a.error].to_vec()
    }

    fn busy(id: i64) -> String {
        format!("notification {id} is pending or was sent")
    }
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
}
