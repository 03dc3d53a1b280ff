//! PostgreSQL tables of notifications (rows and the methods both backends run in
//! `notify.rs`, statements in `notify_sql.rs`).

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS user_emails (
    tenant TEXT NOT NULL, username TEXT NOT NULL, email TEXT NOT NULL,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS notifications (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, plugin TEXT NOT NULL,
    recipient TEXT NOT NULL, address TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL, lease_until_ms BIGINT, lease_owner TEXT, last_error TEXT,
    created_ms BIGINT NOT NULL, done_ms BIGINT
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS notifications_log ON notifications (tenant, id);
CREATE TABLE IF NOT EXISTS notification_attempts (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL,
    notification_id BIGINT NOT NULL REFERENCES notifications(id), attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL, code BIGINT, error TEXT
);
CREATE INDEX IF NOT EXISTS notification_attempts_by_id
    ON notification_attempts (notification_id, id);
"#;
