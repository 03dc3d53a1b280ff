//! The statements of notifications (rows in `notify.rs`), written once for both
//! backends with PostgreSQL's `$N` placeholders; the SQLite side uses
//! [`Sql::lite`](super::sql::Sql) (`?N`, made at compile time: SQLite would number
//! `$N` by first appearance, not by N). The two that read whole rows list the columns
//! of a [`Notification`](super::Notification) in the order `notify.rs` reads them.

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

sql! {
    /// Due rows, oldest due first; PostgreSQL appends `FOR UPDATE SKIP LOCKED`.
    CLAIM_SELECT = "SELECT id, tenant, plugin, recipient, address, subject, body,
        message_id, state, attempts, next_attempt_ms, last_error, created_ms, done_ms
       FROM notifications
      WHERE state = 'pending' AND next_attempt_ms <= $1
        AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
      ORDER BY next_attempt_ms, id LIMIT $2";
    CLAIM_UPDATE = "UPDATE notifications
        SET attempts = attempts + 1, lease_until_ms = $2, lease_owner = $3
      WHERE id = $1";
    FINISH = "UPDATE notifications
        SET state = $4, next_attempt_ms = coalesce($5, next_attempt_ms), done_ms = $6,
            last_error = $7, lease_until_ms = NULL, lease_owner = NULL
      WHERE tenant = $1 AND id = $2 AND lease_owner = $3";
    ATTEMPT_INSERT = "INSERT INTO notification_attempts
       (tenant, notification_id, attempt, at_ms, code, error)
     VALUES ($1, $2, $3, $4, $5, $6)";
}

sql! {
    LIST = "SELECT id, tenant, plugin, recipient, address, subject, body,
        message_id, state, attempts, next_attempt_ms, last_error, created_ms, done_ms
       FROM notifications
      WHERE tenant = $1 AND ($2 = '' OR state = $2)
      ORDER BY id DESC LIMIT $3";
    ATTEMPTS = "SELECT attempt, at_ms, code, error FROM notification_attempts
      WHERE tenant = $1 AND notification_id = $2 ORDER BY id";
    RETRY = "UPDATE notifications
        SET state = 'pending', attempts = 0, next_attempt_ms = $3, done_ms = NULL,
            lease_until_ms = NULL, lease_owner = NULL
      WHERE tenant = $1 AND id = $2 AND state = 'dead'";
    EXISTS = "SELECT 1 FROM notifications WHERE tenant = $1 AND id = $2";
}
