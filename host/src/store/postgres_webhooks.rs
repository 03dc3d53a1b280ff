//! PostgreSQL side of outbound webhooks (rows in `webhooks.rs`); the same tables and
//! meaning as `sqlite_webhooks.rs`. Claims lock each row with `FOR UPDATE SKIP LOCKED`.

use super::sql;
use postgres::Row;

use super::postgres::{Conn, conflict_on_unique};
use super::{
    ClaimRoom, EventRecord, Finish, Result, StoreError, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint,
};

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

const ENDPOINT_COLUMNS: &str = "id, tenant, url, topics, secret_sealed, created_ms, \
                                secret_generation, previous_secret_sealed, previous_secret_until_ms";

fn row_to_endpoint(r: &Row) -> WebhookEndpoint {
    let topics: String = r.get(3);
    WebhookEndpoint {
        id: r.get(0),
        tenant: r.get(1),
        url: r.get(2),
        topics: serde_json::from_str(&topics).unwrap_or_default(),
        secret_sealed: r.get(4),
        created_ms: r.get(5),
        secret_generation: u32::try_from(r.get::<_, i64>(6)).unwrap_or(0),
        previous_secret_sealed: r.get(7),
        previous_secret_until_ms: r.get(8),
    }
}

const DELIVERY_COLUMNS: &str = "id, tenant, endpoint_id, event_id, msg_id, topic, state, \
                                attempts, next_attempt_ms, last_status, last_error, \
                                created_ms, done_ms";

fn row_to_delivery(r: &Row) -> WebhookDelivery {
    let attempts: i64 = r.get(7);
    let status: Option<i64> = r.get(9);
    WebhookDelivery {
        id: r.get(0),
        tenant: r.get(1),
        endpoint_id: r.get(2),
        event_id: r.get(3),
        msg_id: r.get(4),
        topic: r.get(5),
        state: r.get(6),
        attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
        next_attempt_ms: r.get(8),
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error: r.get(10),
        created_ms: r.get(11),
        done_ms: r.get(12),
    }
}

pub(super) fn endpoint_insert(c: &mut Conn, ep: &WebhookEndpoint) -> Result<()> {
    let topics = serde_json::to_string(&ep.topics).unwrap_or_else(|_| "[]".into());
    c.exec_raw(
        &format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        &[
            &ep.id,
            &ep.tenant,
            &ep.url,
            &topics,
            &ep.secret_sealed,
            &ep.created_ms,
            &i64::from(ep.secret_generation),
            &ep.previous_secret_sealed,
            &ep.previous_secret_until_ms,
        ],
    )?
    .map_err(|e| conflict_on_unique(e, || format!("webhook '{}' already exists", ep.id)))?;
    Ok(())
}

pub(super) fn endpoint_list(c: &mut Conn, tenant: &str) -> Result<Vec<WebhookEndpoint>> {
    Ok(c.query(
        &format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 ORDER BY created_ms, id"
        ),
        &[&tenant],
    )?
    .iter()
    .map(row_to_endpoint)
    .collect())
}

/// Replace an endpoint's secrets (a rotation); whether it exists.
pub(super) fn endpoint_set_secret(c: &mut Conn, ep: &WebhookEndpoint) -> Result<bool> {
    let n = c.exec(
        sql::WEBHOOK_ENDPOINT_SET_SECRET.pg,
        &[
            &ep.tenant,
            &ep.id,
            &ep.secret_sealed,
            &i64::from(ep.secret_generation),
            &ep.previous_secret_sealed,
            &ep.previous_secret_until_ms,
        ],
    )?;
    Ok(n > 0)
}

pub(super) fn endpoint_delete(c: &mut Conn, tenant: &str, id: &str, now_ms: i64) -> Result<bool> {
    let n = c.exec(sql::WEBHOOK_ENDPOINT_DELETE.pg, &[&tenant, &id])?;
    c.exec(
        sql::WEBHOOK_ENDPOINT_DELIVERIES_DEAD.pg,
        &[&tenant, &id, &now_ms],
    )?;
    Ok(n > 0)
}

pub(super) fn fan_out(c: &mut Conn, event: &EventRecord, now_ms: i64) -> Result<u32> {
    let mut n = 0;
    for ep in endpoint_list(c, &event.tenant)? {
        if !ep.wants(&event.topic) {
            continue;
        }
        n += c.exec(
            "INSERT INTO webhook_deliveries
               (tenant, endpoint_id, event_id, msg_id, topic, state, next_attempt_ms, created_ms)
             VALUES ($1, $2, $3, 'msg_' || replace(gen_random_uuid()::text, '-', ''), $4,
                     'pending', $5, $5)
             ON CONFLICT DO NOTHING",
            &[&event.tenant, &ep.id, &event.id, &event.topic, &now_ms],
        )?;
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

pub(super) fn claim(
    c: &mut Conn,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    room: &mut ClaimRoom,
) -> Result<Vec<(WebhookDelivery, WebhookEndpoint, EventRecord)>> {
    if room.limit == 0 {
        return Ok(Vec::new());
    }
    // Rows another host holds are skipped, not waited for; so are endpoints at their
    // share, and the rest are cut to their share by `take` (rows read and not taken
    // stay locked only until this claim commits).
    let full = room.full();
    let due: Vec<WebhookDelivery> = c
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
                  WHERE state = 'pending' AND next_attempt_ms <= $1
                    AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
                    AND NOT (endpoint_id = ANY($3))
                  ORDER BY next_attempt_ms, id LIMIT $2
                  FOR UPDATE SKIP LOCKED"
            ),
            &[&now_ms, &i64::from(room.scan()), &full],
        )?
        .iter()
        .map(row_to_delivery)
        .collect();
    let due = room.take(due, |d| d.endpoint_id.as_str());
    let mut out = Vec::with_capacity(due.len());
    for mut d in due {
        c.exec(
            sql::WEBHOOK_DELIVERY_LEASE.pg,
            &[&d.id, &lease_until_ms, &owner],
        )?;
        d.attempts += 1;
        let ep = c.query_opt(
            &format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 AND id = $2"
            ),
            &[&d.tenant, &d.endpoint_id],
        )?;
        let Some(ep) = ep.as_ref().map(row_to_endpoint) else {
            c.exec(sql::WEBHOOK_DELIVERY_ORPHANED.pg, &[&d.id])?;
            continue;
        };
        let event = c.query_one(
            "SELECT id, tenant, seq, topic, payload, plugin, version, created_at_ms
               FROM events WHERE id = $1",
            &[&d.event_id],
        )?;
        let event = EventRecord {
            id: event.get(0),
            tenant: event.get(1),
            seq: event.get(2),
            topic: event.get(3),
            payload: event.get(4),
            plugin: event.get(5),
            version: event.get(6),
            created_at_ms: event.get(7),
        };
        out.push((d, ep, event));
    }
    Ok(out)
}

pub(super) fn finish(
    c: &mut Conn,
    id: i64,
    owner: &str,
    now_ms: i64,
    attempt: &WebhookAttempt,
    finish: &Finish,
) -> Result<bool> {
    let (state, next, done): (&str, Option<i64>, Option<i64>) = match finish {
        Finish::Done { .. } => ("delivered", None, Some(now_ms)),
        Finish::Retry { at_ms, .. } => ("pending", Some(*at_ms), None),
        Finish::Dead { .. } | Finish::Skipped { .. } => ("dead", None, Some(now_ms)),
    };
    let status = attempt.status.map(i64::from);
    let n = c.exec(
        sql::WEBHOOK_DELIVERY_FINISH.pg,
        &[&id, &owner, &state, &next, &done, &status, &attempt.error],
    )?;
    Ok(n > 0)
}

pub(super) fn deliveries(
    c: &mut Conn,
    tenant: &str,
    endpoint: Option<&str>,
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<WebhookDelivery>> {
    Ok(c.query(
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
              WHERE tenant = $1 AND ($2::TEXT IS NULL OR endpoint_id = $2)
                AND ($4::TEXT IS NULL OR state = $4)
              ORDER BY id DESC LIMIT $3"
        ),
        &[&tenant, &endpoint, &i64::from(limit), &state],
    )?
    .iter()
    .map(row_to_delivery)
    .collect())
}

pub(super) fn replay(c: &mut Conn, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
    let n = c.exec(
        "UPDATE webhook_deliveries d SET state = 'pending', attempts = 0, next_attempt_ms = $3,
                done_ms = NULL, lease_until_ms = NULL, lease_owner = NULL
          WHERE d.tenant = $1 AND d.id = $2 AND d.state IN ('dead', 'delivered')
            AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id)",
        &[&tenant, &id, &now_ms],
    )?;
    if n > 0 {
        return Ok(true);
    }
    let exists = !c
        .query(sql::WEBHOOK_DELIVERY_EXISTS.pg, &[&tenant, &id])?
        .is_empty();
    if exists {
        Err(StoreError::Conflict(format!(
            "delivery {id} is pending or its endpoint was removed"
        )))
    } else {
        Ok(false)
    }
}
