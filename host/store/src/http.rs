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
//! The requests are a [`QueueStore`](super::QueueStore) of [`HttpRequest`]s, run by the one queue of
//! `queue.rs` (every [`Transaction`](super::Transaction) is one); callers use its
//! methods under their names in [`HttpQueue`]. What is the requests' own is here:
//! the rows, how they are read and bound, and their statements (`http_sql.rs`).

use serde::Serialize;

use super::Result;
use super::http_sql as sql;
use super::queue::{QueueKind, QueueSql, queue_names};
use super::sql_conn::{Param, RowGet, SqlConn, args, from_row, status_of, u32_of};

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

impl QueueKind for HttpRequest {
    type New = NewHttpRequest;
    type Attempt = HttpAttempt;
    const ROWS: &'static str = "HTTP requests";
    const DONE: &'static str = "answered";

    fn id(&self) -> i64 {
        self.id
    }
}

queue_names! {
    /// The queue of outbound HTTP requests ([`QueueStore`](super::QueueStore) of
    /// [`HttpRequest`]s) under the names its callers use; `http_finish`'s `Done` is
    /// `answered`.
    pub trait HttpQueue for HttpRequest {
        http_insert, http_claim, http_finish, http_hold, http_list, http_attempts, http_retry
    }
}

/// Headers as stored: a JSON array of `[name, value]` pairs.
pub(super) fn headers_text(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())
}

/// Headers read back from their stored text.
pub(super) fn headers_from(text: &str) -> Vec<(String, String)> {
    serde_json::from_str(text).unwrap_or_default()
}

impl QueueSql for HttpRequest {
    const SQL: super::queue::Statements = sql::QUEUE;

    fn tenant(new: &NewHttpRequest) -> &str {
        &new.tenant
    }

    fn insert(c: &mut impl SqlConn, n: &NewHttpRequest) -> Result<i64> {
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
        c.query_one(sql::INSERT, &args, |r| r.get(0))
    }

    /// A request row of `http_sql.rs`'s column list.
    fn row(r: &impl RowGet) -> Result<HttpRequest> {
        let mut request = from_row!(r => HttpRequest {
            id, tenant, plugin, method, url,
            headers: |h: String| headers_from(&h),
            body,
            timeout_ms: u32_of,
            state,
            attempts: u32_of,
            next_attempt_ms,
            status: status_of,
            last_error, created_ms, done_ms;
            body_bytes: 0,
        });
        request.body_bytes = request.body.len();
        Ok(request)
    }

    fn leased(&mut self) -> (i64, &mut u32) {
        (self.id, &mut self.attempts)
    }

    fn attempt(r: &impl RowGet) -> Result<HttpAttempt> {
        Ok(from_row!(r => HttpAttempt {
            attempt: u32_of,
            at_ms, took_ms,
            status: status_of,
            error,
        }))
    }

    /// The error, and the answer's status.
    fn finished(a: &HttpAttempt) -> (i64, Vec<Param<'_>>) {
        (a.at_ms, args![&a.error, a.status].to_vec())
    }

    fn attempt_values(a: &HttpAttempt) -> Vec<Param<'_>> {
        args![a.attempt, a.at_ms, a.took_ms, a.status, &a.error].to_vec()
    }

    fn busy(id: i64) -> String {
        format!("HTTP request {id} is pending or was answered")
    }
}
