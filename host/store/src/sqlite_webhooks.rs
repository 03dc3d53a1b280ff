//! SQLite tables of outbound webhooks, in each tenant's file, and which deliveries a
//! claim finds due (rows and the methods both backends run in `webhooks.rs`).

use rusqlite::{Connection, params};

use super::sqlite::lease_columns;
use super::webhooks::{WebhookClaims, webhook_delivery};
use super::{ClaimRoom, Result, StoreError, WebhookDelivery};

pub(super) const SCHEMA: &str = concat!(
    r#"
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    url TEXT NOT NULL,
    topics TEXT NOT NULL,
    secret_sealed BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    secret_generation INTEGER NOT NULL DEFAULT 0,
    previous_secret_sealed BLOB,
    previous_secret_until_ms INTEGER
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_id INTEGER NOT NULL REFERENCES events(id),
    msg_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
"#,
    lease_columns!(),
    r#"    last_status INTEGER,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
-- The leased rows (attempts in flight, or of a worker that died), for the worker's
-- look for the next due work without reading the whole backlog.
CREATE INDEX IF NOT EXISTS webhook_deliveries_leased ON webhook_deliveries (lease_until_ms)
    WHERE state = 'pending' AND lease_until_ms IS NOT NULL;
"#
);

/// One file has one writer: the due rows are simply the oldest.
impl WebhookClaims for Connection {
    fn webhook_due(&mut self, now_ms: i64, room: &ClaimRoom) -> Result<Vec<WebhookDelivery>> {
        let full =
            serde_json::to_string(&room.full()).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut stmt = self.prepare_cached(
            "SELECT id, tenant, endpoint_id, event_id, msg_id, topic, state, attempts,
                    next_attempt_ms, last_status, last_error, created_ms, done_ms
               FROM webhook_deliveries
              WHERE state = 'pending' AND next_attempt_ms <= ?1
                AND (lease_until_ms IS NULL OR lease_until_ms <= ?1)
                AND endpoint_id NOT IN (SELECT value FROM json_each(?3))
              ORDER BY next_attempt_ms, id LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![now_ms, room.scan(), full])?;
        let mut due = Vec::new();
        while let Some(r) = rows.next()? {
            due.push(webhook_delivery(r)?);
        }
        Ok(due)
    }
}
