//! SQLite tables of notifications, in each tenant's file, and the routing of users'
//! addresses to that file (rows and the methods both backends run in `notify.rs`, the
//! queue's in `queue.rs`, statements in `notify_sql.rs`).

use super::Result;
use super::sqlite::{attempt_table, lease_columns};
use super::sqlite_tenants::route;

pub(super) const SCHEMA: &str = concat!(
    r#"
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
"#,
    lease_columns!(),
    r#"    last_error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_ms);
"#,
    attempt_table!("notification_attempts", "notification_id", "notifications"),
    r#"    code INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS notification_attempts_by_id
    ON notification_attempts (notification_id, id);
"#
);

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
