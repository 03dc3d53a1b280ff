//! SQLite tables of outbound HTTP requests, in each tenant's file (rows in `http.rs`,
//! statements in `http_sql.rs`, and the methods both backends run, with their
//! routing to the tenant's file, in `queue.rs`).

use super::sqlite::{attempt_table, lease_columns};

pub(super) const SCHEMA: &str = concat!(
    r#"
CREATE TABLE IF NOT EXISTS http_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    timeout_ms INTEGER NOT NULL,
"#,
    lease_columns!(),
    r#"    status INTEGER,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS http_requests_due ON http_requests (state, next_attempt_ms);
"#,
    attempt_table!("http_attempts", "request_id", "http_requests"),
    r#"    took_ms INTEGER NOT NULL,
    status INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS http_attempts_by_request ON http_attempts (request_id, id);
"#
);
