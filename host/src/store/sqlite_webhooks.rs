//! SQLite side of outbound webhooks (rows in `webhooks.rs`), in each tenant's file.

use super::sql;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    ClaimRoom, EventRecord, Finish, Result, StoreError, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint,
};

pub(super) const SCHEMA: &str = r#"
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
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    lease_owner TEXT,
    last_status INTEGER,
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
"#;

const ENDPOINT_COLUMNS: &str = "id, tenant, url, topics, secret_sealed, created_ms, \
                                secret_generation, previous_secret_sealed, previous_secret_until_ms";

fn row_to_endpoint(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookEndpoint> {
    let topics: String = r.get(3)?;
    Ok(WebhookEndpoint {
        id: r.get(0)?,
        tenant: r.get(1)?,
        url: r.get(2)?,
        topics: serde_json::from_str(&topics).unwrap_or_default(),
        secret_sealed: r.get(4)?,
        created_ms: r.get(5)?,
        secret_generation: r.get(6)?,
        previous_secret_sealed: r.get(7)?,
        previous_secret_until_ms: r.get(8)?,
    })
}

const DELIVERY_COLUMNS: &str = "id, tenant, endpoint_id, event_id, msg_id, topic, state, \
                                attempts, next_attempt_ms, last_status, last_error, \
                                created_ms, done_ms";

fn row_to_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: r.get(0)?,
        tenant: r.get(1)?,
        endpoint_id: r.get(2)?,
        event_id: r.get(3)?,
        msg_id: r.get(4)?,
        topic: r.get(5)?,
        state: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_ms: r.get(8)?,
        last_status: r.get(9)?,
        last_error: r.get(10)?,
        created_ms: r.get(11)?,
        done_ms: r.get(12)?,
    })
}

pub(super) fn endpoint_insert(conn: &Connection, ep: &WebhookEndpoint) -> Result<()> {
    let topics = serde_json::to_string(&ep.topics)
        .map_err(|e| StoreError::Backend(format!("webhook topics: {e}")))?;
    conn.execute(
        &format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        params![
            ep.id,
            ep.tenant,
            ep.url,
            topics,
            ep.secret_sealed,
            ep.created_ms,
            ep.secret_generation,
            ep.previous_secret_sealed,
            ep.previous_secret_until_ms
        ],
    )
    .map_err(|e| {
        super::sqlite::conflict_on_unique(e, || format!("webhook '{}' already exists", ep.id))
    })?;
    Ok(())
}

pub(super) fn endpoint_list(conn: &Connection, tenant: &str) -> Result<Vec<WebhookEndpoint>> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = ?1 ORDER BY created_ms, id"
        ))?
        .query_map(params![tenant], row_to_endpoint)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn endpoint_get(
    conn: &Connection,
    tenant: &str,
    id: &str,
) -> Result<Option<WebhookEndpoint>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = ?1 AND id = ?2"
        ))?
        .query_row(params![tenant, id], row_to_endpoint)
        .optional()?)
}

/// Replace an endpoint's secrets (a rotation); whether it exists.
pub(super) fn endpoint_set_secret(conn: &Connection, ep: &WebhookEndpoint) -> Result<bool> {
    let n = conn.execute(
        sql::WEBHOOK_ENDPOINT_SET_SECRET.lite,
        params![
            ep.tenant,
            ep.id,
            ep.secret_sealed,
            ep.secret_generation,
            ep.previous_secret_sealed,
            ep.previous_secret_until_ms
        ],
    )?;
    Ok(n > 0)
}

/// Remove an endpoint; its pending deliveries die with it (kept in the log as `dead`).
pub(super) fn endpoint_delete(
    conn: &Connection,
    tenant: &str,
    id: &str,
    now_ms: i64,
) -> Result<bool> {
    let n = conn.execute(sql::WEBHOOK_ENDPOINT_DELETE.lite, params![tenant, id])?;
    conn.execute(
        sql::WEBHOOK_ENDPOINT_DELIVERIES_DEAD.lite,
        params![tenant, id, now_ms],
    )?;
    Ok(n > 0)
}

/// One pending delivery of `event` per endpoint of its tenant that wants its topic.
pub(super) fn fan_out(conn: &Connection, event: &EventRecord, now_ms: i64) -> Result<u32> {
    let mut n = 0;
    for ep in endpoint_list(conn, &event.tenant)? {
        if !ep.wants(&event.topic) {
            continue;
        }
        n += conn
            .prepare_cached(
                "INSERT INTO webhook_deliveries
                   (tenant, endpoint_id, event_id, msg_id, topic, state, next_attempt_ms, created_ms)
                 VALUES (?1, ?2, ?3, 'msg_' || lower(hex(randomblob(16))), ?4, 'pending', ?5, ?5)
                 ON CONFLICT (event_id, endpoint_id) DO NOTHING",
            )?
            .execute(params![event.tenant, ep.id, event.id, event.topic, now_ms])?;
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Lease up to `limit` due deliveries, counting an attempt; each with its endpoint and
/// event.
pub(super) fn claim(
    conn: &Connection,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    room: &mut ClaimRoom,
) -> Result<Vec<(WebhookDelivery, WebhookEndpoint, EventRecord)>> {
    if room.limit == 0 {
        return Ok(Vec::new());
    }
    // Endpoints at their share are skipped in the query (a hanging endpoint's backlog
    // does not fill the scan); the rest are cut to their share by `take`.
    let full =
        serde_json::to_string(&room.full()).map_err(|e| StoreError::Backend(e.to_string()))?;
    let due: Vec<WebhookDelivery> = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
              WHERE state = 'pending' AND next_attempt_ms <= ?1
                AND (lease_until_ms IS NULL OR lease_until_ms <= ?1)
                AND endpoint_id NOT IN (SELECT value FROM json_each(?3))
              ORDER BY next_attempt_ms, id LIMIT ?2"
        ))?
        .query_map(params![now_ms, room.scan(), full], row_to_delivery)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let due = room.take(due, |d| d.endpoint_id.as_str());
    let mut out = Vec::with_capacity(due.len());
    for mut d in due {
        conn.prepare_cached(sql::WEBHOOK_DELIVERY_LEASE.lite)?
            .execute(params![d.id, lease_until_ms, owner])?;
        d.attempts += 1;
        let Some(ep) = endpoint_get(conn, &d.tenant, &d.endpoint_id)? else {
            conn.execute(sql::WEBHOOK_DELIVERY_ORPHANED.lite, params![d.id])?;
            continue;
        };
        let event = conn
            .prepare_cached(&format!(
                "SELECT {} FROM events WHERE id = ?1",
                super::sqlite_events::EVENT_COLUMNS
            ))?
            .query_row(params![d.event_id], super::sqlite_events::row_to_event)
            .optional()?
            .ok_or_else(|| {
                StoreError::Backend(format!("webhook delivery {} names no event", d.id))
            })?;
        out.push((d, ep, event));
    }
    Ok(out)
}

/// Record an attempt of a delivery leased by `owner`; false when the lease was lost.
pub(super) fn finish(
    conn: &Connection,
    id: i64,
    owner: &str,
    now_ms: i64,
    attempt: &WebhookAttempt,
    finish: &Finish,
) -> Result<bool> {
    let (state, next, done) = match finish {
        Finish::Done { .. } => ("delivered", None, Some(now_ms)),
        Finish::Retry { at_ms, .. } => ("pending", Some(*at_ms), None),
        Finish::Dead { .. } | Finish::Skipped { .. } => ("dead", None, Some(now_ms)),
    };
    let n = conn
        .prepare_cached(sql::WEBHOOK_DELIVERY_FINISH.lite)?
        .execute(params![
            id,
            owner,
            state,
            next,
            done,
            attempt.status,
            attempt.error
        ])?;
    Ok(n > 0)
}

/// The delivery log of a tenant, newest first: one endpoint's or all.
pub(super) fn deliveries(
    conn: &Connection,
    tenant: &str,
    endpoint: Option<&str>,
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<WebhookDelivery>> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
              WHERE tenant = ?1 AND (?2 IS NULL OR endpoint_id = ?2)
                AND (?4 IS NULL OR state = ?4)
              ORDER BY id DESC LIMIT ?3"
        ))?
        .query_map(params![tenant, endpoint, limit, state], row_to_delivery)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Send a delivery again (dead or delivered) with the same `webhook-id`, from a fresh
/// count of attempts; false when the tenant has no such delivery, a conflict when it
/// is pending or its endpoint was removed.
pub(super) fn replay(conn: &Connection, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
    let n = conn.execute(
        "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_ms = ?3,
                done_ms = NULL, lease_until_ms = NULL, lease_owner = NULL
          WHERE tenant = ?1 AND id = ?2 AND state IN ('dead', 'delivered')
            AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = endpoint_id)",
        params![tenant, id, now_ms],
    )?;
    if n > 0 {
        return Ok(true);
    }
    let exists = conn
        .prepare_cached(sql::WEBHOOK_DELIVERY_EXISTS.lite)?
        .exists(params![tenant, id])?;
    if exists {
        Err(StoreError::Conflict(format!(
            "delivery {id} is pending or its endpoint was removed"
        )))
    } else {
        Ok(false)
    }
}
