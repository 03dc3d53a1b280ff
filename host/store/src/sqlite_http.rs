//! SQLite tables of outbound HTTP requests, in each tenant's file (rows in `http.rs`,
//! statements in `http_sql.rs`, and the methods both backends run, with their
//! routing to the tenant's file, in `queue.rs`).

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
