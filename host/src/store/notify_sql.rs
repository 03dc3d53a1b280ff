//! The statements of notifications (rows in `notify.rs`), written once for both
//! backends with PostgreSQL's `$N` placeholders; `sqlite_notify.rs` turns them into
//! SQLite's `?N` (SQLite would number `$N` by first appearance, not by N).

/// Columns of a [`Notification`](super::Notification), in the order the row
/// mappers of both backends read them.
pub(super) const COLUMNS: &str = "id, tenant, plugin, recipient, address, subject, body, \
                                  message_id, state, attempts, next_attempt_ms, last_error, \
                                  created_ms, done_ms";

pub(super) const EMAIL_SET: &str = "INSERT INTO user_emails (tenant, username, email)
     VALUES ($1, $2, $3)
     ON CONFLICT (tenant, username) DO UPDATE SET email = excluded.email";

pub(super) const EMAIL_CLEAR: &str = "DELETE FROM user_emails WHERE tenant = $1 AND username = $2";

pub(super) const EMAILS: &str =
    "SELECT username, email FROM user_emails WHERE tenant = $1 ORDER BY username";

pub(super) const ROLE_MEMBERS: &str = "SELECT u.username, coalesce(e.email, '')
       FROM user_roles r
       JOIN users u ON u.tenant = r.tenant AND u.username = r.username
       LEFT JOIN user_emails e ON e.tenant = u.tenant AND e.username = u.username
      WHERE r.tenant = $1 AND r.role = $2 AND u.disabled_at IS NULL
      ORDER BY u.username";

pub(super) const INSERT: &str = "INSERT INTO notifications
       (tenant, plugin, recipient, address, subject, body, message_id, state,
        next_attempt_ms, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)
     RETURNING id";

/// Due rows, oldest due first; PostgreSQL appends `FOR UPDATE SKIP LOCKED`.
pub(super) fn claim_select() -> String {
    format!(
        "SELECT {COLUMNS} FROM notifications
          WHERE state = 'pending' AND next_attempt_ms <= $1
            AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
          ORDER BY next_attempt_ms, id LIMIT $2"
    )
}

pub(super) const CLAIM_UPDATE: &str = "UPDATE notifications
        SET attempts = attempts + 1, lease_until_ms = $2, lease_owner = $3
      WHERE id = $1";

pub(super) const FINISH: &str = "UPDATE notifications
        SET state = $4, next_attempt_ms = coalesce($5, next_attempt_ms), done_ms = $6,
            last_error = $7, lease_until_ms = NULL, lease_owner = NULL
      WHERE tenant = $1 AND id = $2 AND lease_owner = $3";

pub(super) const ATTEMPT_INSERT: &str = "INSERT INTO notification_attempts
       (tenant, notification_id, attempt, at_ms, code, error)
     VALUES ($1, $2, $3, $4, $5, $6)";

pub(super) fn list() -> String {
    format!(
        "SELECT {COLUMNS} FROM notifications
          WHERE tenant = $1 AND ($2 = '' OR state = $2)
          ORDER BY id DESC LIMIT $3"
    )
}

pub(super) const ATTEMPTS: &str = "SELECT attempt, at_ms, code, error FROM notification_attempts
      WHERE tenant = $1 AND notification_id = $2 ORDER BY id";

pub(super) const RETRY: &str = "UPDATE notifications
        SET state = 'pending', attempts = 0, next_attempt_ms = $3, done_ms = NULL,
            lease_until_ms = NULL, lease_owner = NULL
      WHERE tenant = $1 AND id = $2 AND state = 'dead'";

pub(super) const EXISTS: &str = "SELECT 1 FROM notifications WHERE tenant = $1 AND id = $2";
