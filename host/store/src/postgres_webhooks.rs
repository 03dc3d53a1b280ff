//! PostgreSQL tables of outbound webhooks, the same tables and meaning as
//! `sqlite_webhooks.rs`, and which deliveries a claim finds due: each is locked with
//! `FOR UPDATE SKIP LOCKED` (rows and the methods both backends run in `webhooks.rs`).

use super::postgres::Conn;
use super::webhooks::{WebhookClaims, webhook_delivery};
use super::{ClaimRoom, Result, WebhookDelivery};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, url TEXT NOT NULL, topics TEXT NOT NULL,
    secret_sealed BYTEA NOT NULL, created_ms BIGINT NOT NULL,
    secret_generation BIGINT NOT NULL DEFAULT 0, previous_secret_sealed BYTEA,
    previous_secret_until_ms BIGINT
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_by_tenant ON webhook_endpoints (tenant);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, endpoint_id TEXT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events(id), msg_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL, lease_until_ms BIGINT, lease_owner TEXT,
    last_status BIGINT, last_error TEXT, created_ms BIGINT NOT NULL, done_ms BIGINT,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON webhook_deliveries (tenant, id);
"#;

impl WebhookClaims for Conn {
    fn webhook_due(&mut self, now_ms: i64, room: &ClaimRoom) -> Result<Vec<WebhookDelivery>> {
        // Rows another host holds are skipped, not waited for (rows read and not taken
        // stay locked only until this claim commits).
        let full = room.full();
        self.query(
            "SELECT id, tenant, endpoint_id, event_id, msg_id, topic, state, attempts,
                    next_attempt_ms, last_status, last_error, created_ms, done_ms
               FROM webhook_deliveries
              WHERE state = 'pending' AND next_attempt_ms <= $1
                AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
                AND NOT (endpoint_id = ANY($3))
              ORDER BY next_attempt_ms, id LIMIT $2
              FOR UPDATE SKIP LOCKED",
            &[&now_ms, &i64::from(room.scan()), &full],
        )?
        .iter()
        .map(webhook_delivery)
        .collect()
    }
}
