//! SQLite tables of notifications, in each tenant's file, and the routing of users'
//! addresses to that file (rows and the methods both backends run in `notify.rs`, the
//! queue's in `queue.rs`, statements in `notify_sql.rs`).

use super::Result;
use super::sqlite_tenants::route;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS user_emails (
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    recipient TEXT NOT NULL,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    lease_owner TEXT,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS notification_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    attempt INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    code INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS notification_attempts_by_id
    ON notification_attempts (notification_id, id);
"#;

/// Each method goes to the file of its tenant.
impl super::NotifyStore for super::sqlite_tenants::RoutedTx {
    route! {
        fn user_email_set(
            &mut self, tenant: &str, username: &str, email: Option<&str>
        ) -> Result<()> => tenant_mut(tenant);
        fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>>
            => tenant_mut(tenant);
        fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>>
            => tenant_mut(tenant);
    }
}
