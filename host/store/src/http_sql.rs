//! The statements of outbound HTTP requests (rows in `http.rs`), written once for
//! both backends with PostgreSQL's `$N` placeholders; the SQLite side uses
//! [`Sql::lite`](super::sql::Sql) (`?N`, made at compile time).

use super::queue::{Statements, queue_statements};
use super::sql::sql;

sql! {
    INSERT = "INSERT INTO http_requests
       (tenant, plugin, method, url, headers, body, timeout_ms, state, next_attempt_ms,
        created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)
     RETURNING id";
}

/// The rest of the life cycle; a row lists the columns of an
/// [`HttpRequest`](super::HttpRequest) in the order `http.rs` reads them, and an
/// attempt's end also sets the answer's status.
pub(super) const QUEUE: Statements = queue_statements! {
    table: "http_requests",
    row: "id, tenant, plugin, method, url, headers, body, timeout_ms, state, attempts,
        next_attempt_ms, status, last_error, created_ms, done_ms",
    finish_sets: ", status = $8",
    attempt_table: "http_attempts",
    row_id: "request_id",
    attempt: "attempt, at_ms, took_ms, status, error",
    attempt_values: "$3, $4, $5, $6, $7",
};
