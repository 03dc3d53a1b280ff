//! Rows of plugins' outbound HTTP requests (issue 20, item 3): the queue of requests
//! a plugin asked for through `backoffice:http/outbound`, and every attempt to send
//! one.
//!
//! A plugin's `send` inserts one row through the call's own transaction, so a request
//! exists only if the call committed; the delivery worker claims due rows with a
//! lease, like notifications, and records each attempt. The answer goes back to the
//! plugin as an `http.response` event appended in the same transaction that finishes
//! the row, so a response is recorded and delivered together or not at all.
//!
//! The methods live in [`HttpStore`], a trait of its own that every
//! [`Transaction`](super::Transaction) also implements; its SQL is in `http_sql.rs`,
//! and both backends run the one implementation below (through
//! [`Backend`](super::sql_conn::Backend)).

use serde::Serialize;

use super::http_sql as sql;
use super::sql_conn::{
    Backend, Lease, RowGet, SqlConn, args, lease_due, revive, status_of, u32_of,
};
use super::{Finish, Result, StoreError};

/// A request queued by a plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpRequest {
    /// Row id, unique in the tenant; the `request` of the `http.response` event.
    pub id: i64,
    /// Tenant.
    pub tenant: String,
    /// The plugin that asked for it, and receives the answer.
    pub plugin: String,
    /// HTTP method.
    pub method: String,
    /// Destination.
    pub url: String,
    /// Header names and values as the plugin gave them (never listed: they may hold
    /// credentials).
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
    /// The body (never listed).
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The body's size.
    pub body_bytes: usize,
    /// One attempt's time limit.
    pub timeout_ms: u32,
    /// `pending`, `answered` or `dead`.
    pub state: String,
    /// Attempts since it was queued or last retried by hand.
    pub attempts: u32,
    /// When the next attempt is due, ms since the epoch.
    pub next_attempt_ms: i64,
    /// The status of the last answer, if any.
    pub status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_ms: i64,
    /// When it was answered, or given up.
    pub done_ms: Option<i64>,
}

/// What a call queues: an [`HttpRequest`] before it has an id and a state.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHttpRequest {
    /// Tenant.
    pub tenant: String,
    /// The plugin asking.
    pub plugin: String,
    /// HTTP method, uppercase.
    pub method: String,
    /// Destination.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// One attempt's time limit.
    pub timeout_ms: u32,
    /// When it was queued (and is first due), ms since the epoch.
    pub created_ms: i64,
}

/// One attempt to send a request, as the worker records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpAttempt {
    /// Which attempt (1 for the first since queued or retried).
    pub attempt: u32,
    /// When it ended, ms since the epoch.
    pub at_ms: i64,
    /// How long it took, ms.
    pub took_ms: i64,
    /// The answer's status, when there was one.
    pub status: Option<u16>,
    /// What went wrong; none when the answer was accepted.
    pub error: Option<String>,
}

/// Request states a list may be filtered by.
pub const HTTP_STATES: &[&str] = &["pending", "answered", "dead"];

/// Storage of outbound HTTP requests. Both backends implement every method; the
/// defaults serve only transactions that never hold tenant rows.
pub trait HttpStore {
    /// Queue a request; its id.
    fn http_insert(&mut self, r: &NewHttpRequest) -> Result<i64> {
        let _ = r;
        Err(unsupported())
    }
    /// Lease up to `limit` due requests to `owner`, counting an attempt.
    fn http_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        let _ = (now_ms, lease_until_ms, owner, limit);
        Ok(Vec::new())
    }
    /// Record an attempt of a request of `tenant` leased by `owner` and its outcome
    /// (`Done`: answered); false (nothing written) when the lease was lost meanwhile.
    fn http_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &HttpAttempt,
        finish: &Finish,
    ) -> Result<bool> {
        let _ = (tenant, id, owner, attempt, finish);
        Err(unsupported())
    }
    /// Give back a request of `tenant` leased by `owner` without sending it: the
    /// claim's attempt is not counted, the request is due again at `next_ms` and
    /// `reason` is its `last_error`. False when the lease was lost meanwhile.
    fn http_hold(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        next_ms: i64,
        reason: &str,
    ) -> Result<bool> {
        let _ = (tenant, id, owner, next_ms, reason);
        Err(unsupported())
    }
    /// A tenant's requests, newest first, optionally in one state.
    fn http_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        let _ = (tenant, state, limit);
        Err(unsupported())
    }
    /// Every attempt of one request, oldest first.
    fn http_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<HttpAttempt>> {
        let _ = (tenant, id);
        Err(unsupported())
    }
    /// Send a dead request again now with a fresh count of attempts: true; false when
    /// there is no such request; [`StoreError::Conflict`] when it is pending or was
    /// answered.
    fn http_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        let _ = (tenant, id, now_ms);
        Err(unsupported())
    }
}

fn unsupported() -> StoreError {
    super::unsupported("HTTP requests")
}

/// Headers as stored: a JSON array of `[name, value]` pairs.
pub(super) fn headers_text(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())
}

/// Headers read back from their stored text.
pub(super) fn headers_from(text: &str) -> Vec<(String, String)> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A request row of `http_sql.rs`'s column list.
fn request(r: &impl RowGet) -> Result<HttpRequest> {
    let body: Vec<u8> = r.get(6)?;
    Ok(HttpRequest {
        id: r.get(0)?,
        tenant: r.get(1)?,
        plugin: r.get(2)?,
        method: r.get(3)?,
        url: r.get(4)?,
        headers: headers_from(&r.get::<String>(5)?),
        body_bytes: body.len(),
        body,
        timeout_ms: u32_of(r.get(7)?),
        state: r.get(8)?,
        attempts: u32_of(r.get(9)?),
        next_attempt_ms: r.get(10)?,
        status: status_of(r.get(11)?),
        last_error: r.get(12)?,
        created_ms: r.get(13)?,
        done_ms: r.get(14)?,
    })
}

/// Both backends' transactions, in their tenant's file (SQLite) or the database.
impl<B: Backend> HttpStore for B {
    fn http_insert(&mut self, n: &NewHttpRequest) -> Result<i64> {
        let headers = headers_text(&n.headers);
        let args = args![
            &n.tenant,
            &n.plugin,
            &n.method,
            &n.url,
            headers.as_str(),
            &n.body,
            n.timeout_ms,
            n.created_ms
        ];
        self.sql_conn()?.query_one(sql::INSERT, &args, |r| r.get(0))
    }

    fn http_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        lease_due(
            self.sql_conn()?,
            (sql::CLAIM_SELECT, sql::CLAIM_UPDATE),
            &Lease::new(now_ms, lease_until_ms, owner, limit),
            |r| request(r),
            |r| (r.id, &mut r.attempts),
        )
    }

    fn http_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &HttpAttempt,
        finish: &Finish,
    ) -> Result<bool> {
        let (state, next, done) = finish.outcome("answered", attempt.at_ms);
        let c = self.sql_conn()?;
        let finished = args![
            tenant,
            id,
            owner,
            state,
            next,
            done,
            &attempt.error,
            attempt.status
        ];
        if c.execute(sql::FINISH, &finished)? == 0 {
            return Ok(false);
        }
        let attempt = args![
            tenant,
            id,
            attempt.attempt,
            attempt.at_ms,
            attempt.took_ms,
            attempt.status,
            &attempt.error
        ];
        c.execute(sql::ATTEMPT_INSERT, &attempt)?;
        Ok(true)
    }

    fn http_hold(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        next_ms: i64,
        reason: &str,
    ) -> Result<bool> {
        let args = args![tenant, id, owner, next_ms, reason];
        Ok(self.sql_conn()?.execute(sql::HOLD, &args)? > 0)
    }

    fn http_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        let args = args![tenant, state.unwrap_or(""), limit];
        self.sql_conn()?
            .query_rows(sql::LIST, &args, |r| request(r))
    }

    fn http_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<HttpAttempt>> {
        self.sql_conn()?
            .query_rows(sql::ATTEMPTS, &args![tenant, id], |r| {
                Ok(HttpAttempt {
                    attempt: u32_of(r.get(0)?),
                    at_ms: r.get(1)?,
                    took_ms: r.get(2)?,
                    status: status_of(r.get(3)?),
                    error: r.get(4)?,
                })
            })
    }

    fn http_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        revive(
            self.sql_conn()?,
            sql::RETRY,
            sql::EXISTS,
            (tenant, id, now_ms),
            || format!("HTTP request {id} is pending or was answered"),
        )
    }
}
