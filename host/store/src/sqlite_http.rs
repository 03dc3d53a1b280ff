//! SQLite tables of outbound HTTP requests, in each tenant's file, and the routing of
//! their methods to that file (rows and the methods both backends run in `http.rs`,
//! statements in `http_sql.rs`).

use super::http::{HttpAttempt, HttpRequest, NewHttpRequest};
use super::{Finish, Result};

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
