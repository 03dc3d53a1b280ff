//! PostgreSQL side of outbound HTTP requests (rows in `http.rs`, statements in
//! `http_sql.rs`); claims lock each row with `FOR UPDATE SKIP LOCKED`.

use postgres::Row;

use super::http::{HttpAttempt, HttpRequest, NewHttpRequest, headers_from, headers_text, outcome};
use super::http_sql as sql;
use super::postgres::Conn;
use super::{Finish, Result, StoreError};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS http_requests (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, plugin TEXT NOT NULL,
    method TEXT NOT NULL, url TEXT NOT NULL, headers TEXT NOT NULL, body BYTEA NOT NULL,
    timeout_ms BIGINT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL, lease_until_ms BIGINT, lease_owner TEXT,
    status BIGINT, last_error TEXT, created_ms BIGINT NOT NULL, done_ms BIGINT
);
CREATE INDEX IF NOT EXISTS http_requests_due ON http_requests (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS http_requests_log ON http_requests (tenant, id);
CREATE TABLE IF NOT EXISTS http_attempts (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL,
    request_id BIGINT NOT NULL REFERENCES http_requests(id), attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL, took_ms BIGINT NOT NULL, status BIGINT, error TEXT
);
CREATE INDEX IF NOT EXISTS http_attempts_by_request ON http_attempts (request_id, id);
"#;

fn small(v: Option<i64>) -> Option<u16> {
    v.and_then(|v| u16::try_from(v).ok())
}

fn row(r: &Row) -> HttpRequest {
    let body: Vec<u8> = r.get(6);
    HttpRequest {
        id: r.get(0),
        tenant: r.get(1),
        plugin: r.get(2),
        method: r.get(3),
        url: r.get(4),
        headers: headers_from(&r.get::<_, String>(5)),
        body_bytes: body.len(),
        body,
        timeout_ms: u32::try_from(r.get::<_, i64>(7)).unwrap_or(u32::MAX),
        state: r.get(8),
        attempts: u32::try_from(r.get::<_, i64>(9)).unwrap_or(u32::MAX),
        next_attempt_ms: r.get(10),
        status: small(r.get(11)),
        last_error: r.get(12),
        created_ms: r.get(13),
        done_ms: r.get(14),
    }
}

pub(super) fn insert(c: &mut Conn, n: &NewHttpRequest) -> Result<i64> {
    Ok(c.query_one(
        sql::INSERT.pg,
        &[
            &n.tenant,
            &n.plugin,
            &n.method,
            &n.url,
            &headers_text(&n.headers),
            &n.body,
            &i64::from(n.timeout_ms),
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
) -> Result<Vec<HttpRequest>> {
    // Rows another host holds are skipped, not waited for.
    let select = format!("{} FOR UPDATE SKIP LOCKED", sql::CLAIM_SELECT.pg);
    let mut due: Vec<HttpRequest> = c
        .query(&select, &[&now_ms, &i64::from(limit)])?
        .iter()
        .map(row)
        .collect();
    for r in &mut due {
        c.exec(sql::CLAIM_UPDATE.pg, &[&r.id, &lease_until_ms, &owner])?;
        r.attempts += 1;
    }
    Ok(due)
}

pub(super) fn finish(
    c: &mut Conn,
    tenant: &str,
    id: i64,
    owner: &str,
    attempt: &HttpAttempt,
    finish: &Finish,
) -> Result<bool> {
    let (state, next, done) = outcome(finish, attempt.at_ms);
    let status = attempt.status.map(i64::from);
    let n = c.exec(
        sql::FINISH.pg,
        &[
            &tenant,
            &id,
            &owner,
            &state,
            &next,
            &done,
            &attempt.error,
            &status,
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    c.exec(
        sql::ATTEMPT_INSERT.pg,
        &[
            &tenant,
            &id,
            &i64::from(attempt.attempt),
            &attempt.at_ms,
            &attempt.took_ms,
            &status,
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
) -> Result<Vec<HttpRequest>> {
    let state = state.unwrap_or("");
    Ok(
        c.query(sql::LIST.pg, &[&tenant, &state, &i64::from(limit)])?
            .iter()
            .map(row)
            .collect(),
    )
}

pub(super) fn attempts(c: &mut Conn, tenant: &str, id: i64) -> Result<Vec<HttpAttempt>> {
    Ok(c.query(sql::ATTEMPTS.pg, &[&tenant, &id])?
        .iter()
        .map(|r| HttpAttempt {
            attempt: u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
            at_ms: r.get(1),
            took_ms: r.get(2),
            status: small(r.get(3)),
            error: r.get(4),
        })
        .collect())
}

pub(super) fn hold(
    c: &mut Conn,
    tenant: &str,
    id: i64,
    owner: &str,
    next_ms: i64,
    reason: &str,
) -> Result<bool> {
    Ok(c.exec(sql::HOLD.pg, &[&tenant, &id, &owner, &next_ms, &reason])? > 0)
}

pub(super) fn retry(c: &mut Conn, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
    if c.exec(sql::RETRY.pg, &[&tenant, &id, &now_ms])? > 0 {
        return Ok(true);
    }
    if c.query_opt(sql::EXISTS.pg, &[&tenant, &id])?.is_some() {
        return Err(StoreError::Conflict(format!(
            "HTTP request {id} is pending or was answered"
        )));
    }
    Ok(false)
}

impl super::HttpStore for super::postgres::PgTx {
    fn http_insert(&mut self, r: &NewHttpRequest) -> Result<i64> {
        insert(self.c()?, r)
    }
    fn http_claim(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        claim(self.c()?, now_ms, lease_until_ms, owner, limit)
    }
    fn http_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &HttpAttempt,
        outcome: &Finish,
    ) -> Result<bool> {
        finish(self.c()?, tenant, id, owner, attempt, outcome)
    }
    fn http_hold(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        next_ms: i64,
        reason: &str,
    ) -> Result<bool> {
        hold(self.c()?, tenant, id, owner, next_ms, reason)
    }
    fn http_list(
        &mut self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HttpRequest>> {
        list(self.c()?, tenant, state, limit)
    }
    fn http_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<HttpAttempt>> {
        attempts(self.c()?, tenant, id)
    }
    fn http_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        retry(self.c()?, tenant, id, now_ms)
    }
}
