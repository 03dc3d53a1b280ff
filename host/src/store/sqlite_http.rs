//! SQLite side of outbound HTTP requests (rows in `http.rs`, statements in
//! `http_sql.rs`), in each tenant's file.

use rusqlite::{Connection, params};

use super::http::{HttpAttempt, HttpRequest, NewHttpRequest, headers_from, headers_text, outcome};
use super::http_sql as sql;
use super::{Finish, Result, StoreError};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS http_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    timeout_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    lease_owner TEXT,
    status INTEGER,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS http_requests_due ON http_requests (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS http_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    request_id INTEGER NOT NULL REFERENCES http_requests(id),
    attempt INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    took_ms INTEGER NOT NULL,
    status INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS http_attempts_by_request ON http_attempts (request_id, id);
"#;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HttpRequest> {
    let headers: String = r.get(5)?;
    let body: Vec<u8> = r.get(6)?;
    Ok(HttpRequest {
        id: r.get(0)?,
        tenant: r.get(1)?,
        plugin: r.get(2)?,
        method: r.get(3)?,
        url: r.get(4)?,
        headers: headers_from(&headers),
        body_bytes: body.len(),
        body,
        timeout_ms: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get(9)?,
        next_attempt_ms: r.get(10)?,
        status: r.get(11)?,
        last_error: r.get(12)?,
        created_ms: r.get(13)?,
        done_ms: r.get(14)?,
    })
}

pub(super) fn insert(conn: &Connection, n: &NewHttpRequest) -> Result<i64> {
    Ok(conn.prepare_cached(sql::INSERT.lite)?.query_row(
        params![
            n.tenant,
            n.plugin,
            n.method,
            n.url,
            headers_text(&n.headers),
            n.body,
            n.timeout_ms,
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
) -> Result<Vec<HttpRequest>> {
    let mut due = conn
        .prepare_cached(sql::CLAIM_SELECT.lite)?
        .query_map(params![now_ms, limit], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for r in &mut due {
        conn.prepare_cached(sql::CLAIM_UPDATE.lite)?
            .execute(params![r.id, lease_until_ms, owner])?;
        r.attempts += 1;
    }
    Ok(due)
}

pub(super) fn finish(
    conn: &Connection,
    tenant: &str,
    id: i64,
    owner: &str,
    attempt: &HttpAttempt,
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
        attempt.error,
        attempt.status
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
            attempt.took_ms,
            attempt.status,
            attempt.error
        ])?;
    Ok(true)
}

pub(super) fn hold(
    conn: &Connection,
    tenant: &str,
    id: i64,
    owner: &str,
    next_ms: i64,
    reason: &str,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(sql::HOLD.lite)?
        .execute(params![tenant, id, owner, next_ms, reason])?
        > 0)
}

pub(super) fn list(
    conn: &Connection,
    tenant: &str,
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<HttpRequest>> {
    let rows = conn
        .prepare_cached(sql::LIST.lite)?
        .query_map(params![tenant, state.unwrap_or(""), limit], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn attempts(conn: &Connection, tenant: &str, id: i64) -> Result<Vec<HttpAttempt>> {
    let rows = conn
        .prepare_cached(sql::ATTEMPTS.lite)?
        .query_map(params![tenant, id], |r| {
            Ok(HttpAttempt {
                attempt: r.get(0)?,
                at_ms: r.get(1)?,
                took_ms: r.get(2)?,
                status: r.get(3)?,
                error: r.get(4)?,
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
            "HTTP request {id} is pending or was answered"
        )));
    }
    Ok(false)
}

impl super::HttpStore for super::sqlite::FileTx {
    fn http_insert(&mut self, r: &NewHttpRequest) -> Result<i64> {
        insert(self.conn()?, r)
    }
    fn http_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        claim(self.conn()?, now_ms, lease_until_ms, owner, limit)
    }
    fn http_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &HttpAttempt,
        outcome: &Finish,
    ) -> Result<bool> {
        finish(self.conn()?, tenant, id, owner, attempt, outcome)
    }
    fn http_hold(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        next_ms: i64,
        reason: &str,
    ) -> Result<bool> {
        hold(self.conn()?, tenant, id, owner, next_ms, reason)
    }
    fn http_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        list(self.conn()?, tenant, state, limit)
    }
    fn http_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<HttpAttempt>> {
        attempts(self.conn()?, tenant, id)
    }
    fn http_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        retry(self.conn()?, tenant, id, now_ms)
    }
}

/// Each method goes to the file of its tenant; claims gather over every tenant file.
impl super::HttpStore for super::sqlite_tenants::RoutedTx {
    fn http_insert(&mut self, r: &NewHttpRequest) -> Result<i64> {
        self.tenant_mut(&r.tenant)?.http_insert(r)
    }
    fn http_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        self.gather(limit, |tx, left| {
            tx.http_claim(now_ms, lease_until_ms, owner, left)
        })
    }
    fn http_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &HttpAttempt,
        outcome: &Finish,
    ) -> Result<bool> {
        self.tenant_mut(tenant)?
            .http_finish(tenant, id, owner, attempt, outcome)
    }
    fn http_hold(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        next_ms: i64,
        reason: &str,
    ) -> Result<bool> {
        self.tenant_mut(tenant)?
            .http_hold(tenant, id, owner, next_ms, reason)
    }
    fn http_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        self.tenant_mut(tenant)?.http_list(tenant, state, limit)
    }
    fn http_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<HttpAttempt>> {
        self.tenant_mut(tenant)?.http_attempts(tenant, id)
    }
    fn http_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        self.tenant_mut(tenant)?.http_retry(tenant, id, now_ms)
    }
}
