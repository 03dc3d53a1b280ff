//! PostgreSQL tables of outbound HTTP requests (rows and the methods both backends
//! run in `http.rs`, statements in `http_sql.rs`).

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
