//! The statements of notifications (rows in `notify.rs`), written once for both
//! backends with PostgreSQL's `$N` placeholders; the SQLite side uses
//! [`Sql::lite`](super::sql::Sql) (`?N`, made at compile time: SQLite would number
//! `$N` by first appearance, not by N).

use super::queue::{Statements, queue_statements};
use super::sql::sql;

sql! {
    EMAIL_SET = "INSERT INTO user_emails (tenant, username, email)
     VALUES ($1, $2, $3)
     ON CONFLICT (tenant, username) DO UPDATE SET email = excluded.email";
    EMAIL_CLEAR = "DELETE FROM user_emails WHERE tenant = $1 AND username = $2";
    EMAILS = "SELECT username, email FROM user_emails WHERE tenant = $1 ORDER BY username";
    ROLE_MEMBERS = "SELECT u.username, coalesce(e.email, '')
       FROM user_roles r
       JOIN users u ON u.tenant = r.tenant AND u.username = r.username
       LEFT JOIN user_emails e ON e.tenant = u.tenant AND e.username = u.username
      WHERE r.tenant = $1 AND r.role = $2 AND u.disabled_at IS NULL
      ORDER BY u.username";
    INSERT = "INSERT INTO notifications
       (tenant, plugin, recipient, address, subject, body, message_id, state,
        next_attempt_ms, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)
     RETURNING id";
}

/// The rest of the life cycle; a row lists the columns of a
/// [`Notification`](super::Notification) in the order `notify.rs` reads them.
pub(super) const QUEUE: Statements = queue_statements! {
    table: "notifications",
    row: "id, tenant, plugin, recipient, address, subject, body, message_id, state,
        attempts, next_attempt_ms, last_error, created_ms, done_ms",
    finish_sets: "",
    attempt_table: "notification_attempts",
    row_id: "notification_id",
    attempt: "attempt, at_ms, code, error",
    attempt_values: "$3, $4, $5, $6",
};
