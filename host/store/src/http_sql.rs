//! The statements of outbound HTTP requests (rows in `http.rs`), written once for
//! both backends with PostgreSQL's `$N` placeholders; the SQLite side uses
//! [`Sql::lite`](super::sql::Sql) (`?N`, made at compile time).

use super::sql::sql;

sql! {
    INSERT = "INSERT INTO http_requests
       (tenant, plugin, method, url, headers, body, timeout_ms, state, next_attempt_ms,
        created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)
     RETURNING id";
    CLAIM_SELECT = "SELECT id, tenant, plugin, method, url, headers, body, timeout_ms, state,
        attempts, next_attempt_ms, status, last_error, created_ms, done_ms
       FROM http_requests
      WHERE state = 'pending' AND next_attempt_ms <= $1
        AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
      ORDER BY next_attempt_ms, id LIMIT $2";
    CLAIM_UPDATE = "UPDATE http_requests
        SET attempts = attempts + 1, lease_until_ms = $2, lease_owner = $3
      WHERE id = $1";
    FINISH = "UPDATE http_requests
        SET state = $4, next_attempt_ms = coalesce($5, next_attempt_ms), done_ms = $6,
            last_error = $7, status = $8, lease_until_ms = NULL, lease_owner = NULL
      WHERE tenant = $1 AND id = $2 AND lease_owner = $3";
    HOLD = "UPDATE http_requests
        SET attempts = attempts - 1, next_attempt_ms = $4, last_error = $5,
            lease_until_ms = NULL, lease_owner = NULL
      WHERE tenant = $1 AND id = $2 AND lease_owner = $3";
    ATTEMPT_INSERT = "INSERT INTO http_attempts
       (tenant, request_id, attempt, at_ms, took_ms, status, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
    LIST = "SELECT id, tenant, plugin, method, url, headers, body, timeout_ms, state,
        attempts, next_attempt_ms, status, last_error, created_ms, done_ms
       FROM http_requests
      WHERE tenant = $1 AND ($2 = '' OR state = $2)
      ORDER BY id DESC LIMIT $3";
    ATTEMPTS = "SELECT attempt, at_ms, took_ms, status, error FROM http_attempts
      WHERE tenant = $1 AND request_id = $2 ORDER BY id";
    RETRY = "UPDATE http_requests
        SET state = 'pending', attempts = 0, next_attempt_ms = $3, done_ms = NULL,
            lease_until_ms = NULL, lease_owner = NULL
      WHERE tenant = $1 AND id = $2 AND state = 'dead'";
    EXISTS = "SELECT 1 FROM http_requests WHERE tenant = $1 AND id = $2";
}
