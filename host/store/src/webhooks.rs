//! Rows of outbound webhooks: the endpoints a tenant subscribed to event topics, and
//! one delivery per (event, endpoint).
//!
//! Deliveries are created by the scheduler's fan-out, in the same transaction that
//! expands an event into plugin deliveries: an event exists only once the call that
//! emitted it committed, so a rolled-back call sends nothing, and the fan-out marks
//! the event expanded in that transaction, so no event gets two deliveries to one
//! endpoint. A delivery keeps its `msg_id` (the `webhook-id` header) for every
//! attempt and every replay, so receivers can deduplicate on it.
//!
//! [`WebhookStore`] is implemented here once for both backends; which deliveries a
//! claim finds due is each backend's [`WebhookClaims`].

use serde::Serialize;

use super::events::{EventRecord, event};
use super::sql;
use super::sql_conn::{
    Backend, Lease, RowGet, SqlConn, args, exists, from_row, revive, status_of, u32_of,
};
use super::{Finish, Result, StoreError, WebhookStore};

/// An endpoint a tenant subscribed to event topics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookEndpoint {
    /// Public id, `wh_` and 24 hex digits.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Topic patterns: an exact topic, `prefix.*` or `*`.
    pub topics: Vec<String>,
    /// The signing key, sealed by the host (see `webhooks::seal`); never shown.
    #[serde(skip)]
    pub secret_sealed: Vec<u8>,
    /// Rotations so far: the generation the secret is sealed under.
    #[serde(skip)]
    pub secret_generation: u32,
    /// The secret before the last rotation (generation - 1), sealed; it still signs,
    /// beside the new one, until `previous_secret_until_ms`.
    #[serde(skip)]
    pub previous_secret_sealed: Option<Vec<u8>>,
    /// End of the overlap after a rotation, ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_until_ms: Option<i64>,
    /// When it was added, ms since the epoch.
    pub created_ms: i64,
}

impl WebhookEndpoint {
    /// Whether `topic` matches one of the endpoint's patterns.
    pub fn wants(&self, topic: &str) -> bool {
        self.topics.iter().any(|p| topic_matches(p, topic))
    }
}

/// `*` matches every topic, `a.*` every topic under `a.`, anything else itself.
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) if prefix.ends_with('.') => topic.starts_with(prefix),
        _ => pattern == topic,
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookDelivery {
    /// Row id.
    pub id: i64,
    /// Tenant.
    pub tenant: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: i64,
    /// The `webhook-id` header: the same for every attempt and replay.
    pub msg_id: String,
    /// Topic of the event.
    pub topic: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due, ms since the epoch.
    pub next_attempt_ms: i64,
    /// HTTP status of the last attempt that got an answer.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_ms: i64,
    /// When it was delivered.
    pub done_ms: Option<i64>,
}

/// A leased delivery, its endpoint and the event it delivers.
pub type ClaimedWebhook = (WebhookDelivery, WebhookEndpoint, EventRecord);

/// How an attempt ended, as the worker records it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAttempt {
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    /// What went wrong, if it failed.
    pub error: Option<String>,
}

/// How many deliveries a claim may lease, and how many of them per endpoint.
///
/// The sender pool gives each endpoint at most `per_endpoint` attempts in flight, so a
/// slow or hanging endpoint of a tenant holds only its share of the tenant's senders
/// and the tenant's other endpoints keep being served. `busy` counts the attempts
/// already in flight per endpoint id: an endpoint at its share is not claimed from,
/// one below it gets at most the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRoom {
    /// Deliveries leased at most, over every endpoint.
    pub limit: u32,
    /// Attempts in flight per endpoint at most.
    pub per_endpoint: u32,
    /// Attempts in flight now, per endpoint id.
    pub busy: std::collections::HashMap<String, u32>,
    /// Set by the claim: due deliveries it read and left for want of `limit` (of
    /// endpoints with room): the backlog the sender pool grows a tenant's share for.
    pub left_behind: u32,
}

impl ClaimRoom {
    /// Up to `limit`, no share per endpoint.
    pub fn any(limit: u32) -> Self {
        ClaimRoom {
            limit,
            per_endpoint: u32::MAX,
            busy: std::collections::HashMap::new(),
            left_behind: 0,
        }
    }

    /// How many more attempts to `endpoint` may be claimed.
    pub fn room(&self, endpoint: &str) -> u32 {
        self.per_endpoint
            .saturating_sub(self.busy.get(endpoint).copied().unwrap_or(0))
    }

    /// The endpoints that may not be claimed from at all (at their share).
    pub fn full(&self) -> Vec<String> {
        self.busy
            .iter()
            .filter(|(_, n)| **n >= self.per_endpoint)
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// How many due rows a claim reads: more than `limit`, since rows of an endpoint
    /// past its share are passed over and rows beyond `limit` tell of a backlog.
    pub fn scan(&self) -> u32 {
        self.limit.saturating_mul(4).max(64)
    }

    /// Take rows of `due` (in claim order) while the endpoints' shares and `limit`
    /// allow; `limit` and the shares are counted down by what was taken.
    pub fn take<T>(&mut self, due: Vec<T>, endpoint: impl Fn(&T) -> &str) -> Vec<T> {
        let mut out = Vec::new();
        for row in due {
            let e = endpoint(&row);
            if self.room(e) == 0 {
                continue;
            }
            if self.limit == 0 {
                self.left_behind = self.left_behind.saturating_add(1);
                continue;
            }
            *self.busy.entry(e.to_string()).or_default() += 1;
            self.limit -= 1;
            out.push(row);
        }
        out
    }
}

/// An endpoint row of `sql::WEBHOOK_ENDPOINT_LIST`'s column list.
fn endpoint(r: &impl RowGet) -> Result<WebhookEndpoint> {
    Ok(from_row!(r => WebhookEndpoint {
        id, tenant, url,
        topics: |t: String| serde_json::from_str(&t).unwrap_or_default(),
        secret_sealed, created_ms,
        secret_generation: |g: i64| u32::try_from(g).unwrap_or(0),
        previous_secret_sealed, previous_secret_until_ms,
    }))
}

/// A delivery row of `id, tenant, endpoint_id, event_id, msg_id, topic, state,
/// attempts, next_attempt_ms, last_status, last_error, created_ms, done_ms`.
pub(super) fn webhook_delivery(r: &impl RowGet) -> Result<WebhookDelivery> {
    Ok(from_row!(r => WebhookDelivery {
        id, tenant, endpoint_id, event_id, msg_id, topic, state,
        attempts: u32_of,
        next_attempt_ms,
        last_status: status_of,
        last_error, created_ms, done_ms,
    }))
}

/// How each backend finds the deliveries a claim may lease.
pub(super) trait WebhookClaims: SqlConn {
    /// Up to `room.scan()` pending deliveries due at `now_ms`, oldest due first, of
    /// endpoints not at their share (`room.full()`); on PostgreSQL each is locked, and
    /// rows another host holds are skipped.
    fn webhook_due(&mut self, now_ms: i64, room: &ClaimRoom) -> Result<Vec<WebhookDelivery>>;
}

/// Both backends' transactions, in their tenant's file (SQLite) or the database.
impl<B: Backend> WebhookStore for B
where
    B::Conn: WebhookClaims,
{
    fn webhook_insert(&mut self, ep: &WebhookEndpoint) -> Result<()> {
        let topics = serde_json::to_string(&ep.topics)
            .map_err(|e| StoreError::Backend(format!("webhook topics: {e}")))?;
        let args = args![
            &ep.id,
            &ep.tenant,
            &ep.url,
            topics.as_str(),
            &ep.secret_sealed,
            ep.created_ms,
            ep.secret_generation,
            &ep.previous_secret_sealed,
            ep.previous_secret_until_ms
        ];
        self.sql_conn()?.insert_unique(
            sql::WEBHOOK_ENDPOINT_INSERT,
            &args,
            exists("webhook", &ep.id),
        )
    }

    fn webhook_list(&mut self, tenant: &str) -> Result<Vec<WebhookEndpoint>> {
        self.sql_conn()?
            .query_rows(sql::WEBHOOK_ENDPOINT_LIST, &args![tenant], |r| endpoint(r))
    }

    fn webhook_set_secret(&mut self, ep: &WebhookEndpoint) -> Result<bool> {
        let args = args![
            &ep.tenant,
            &ep.id,
            &ep.secret_sealed,
            ep.secret_generation,
            &ep.previous_secret_sealed,
            ep.previous_secret_until_ms
        ];
        Ok(self
            .sql_conn()?
            .execute(sql::WEBHOOK_ENDPOINT_SET_SECRET, &args)?
            > 0)
    }

    fn webhook_delete(&mut self, tenant: &str, id: &str, now_ms: i64) -> Result<bool> {
        let c = self.sql_conn()?;
        let n = c.execute(sql::WEBHOOK_ENDPOINT_DELETE, &args![tenant, id])?;
        c.execute(
            sql::WEBHOOK_ENDPOINT_DELIVERIES_DEAD,
            &args![tenant, id, now_ms],
        )?;
        Ok(n > 0)
    }

    fn webhook_fan_out(&mut self, event: &EventRecord, now_ms: i64) -> Result<u32> {
        let c = self.sql_conn()?;
        let endpoints = c.query_rows(sql::WEBHOOK_ENDPOINT_LIST, &args![&event.tenant], |r| {
            endpoint(r)
        })?;
        let mut n = 0;
        for ep in endpoints {
            if !ep.wants(&event.topic) {
                continue;
            }
            let args = args![&event.tenant, &ep.id, event.id, &event.topic, now_ms];
            n += c.execute(sql::WEBHOOK_FAN_OUT, &args)?;
        }
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn webhook_claim(
        &mut self,
        lease: &Lease<'_>,
        room: &mut ClaimRoom,
    ) -> Result<Vec<ClaimedWebhook>> {
        if room.limit == 0 {
            return Ok(Vec::new());
        }
        // Endpoints at their share are skipped in the query (a hanging endpoint's
        // backlog does not fill the scan); the rest are cut to their share by `take`.
        let c = self.sql_conn()?;
        let due = c.webhook_due(lease.now_ms, room)?;
        let due = room.take(due, |d| d.endpoint_id.as_str());
        let mut out = Vec::with_capacity(due.len());
        for mut d in due {
            c.execute(
                sql::WEBHOOK_DELIVERY_LEASE,
                &args![d.id, lease.until_ms, lease.owner],
            )?;
            d.attempts += 1;
            let ep = c.query_opt(
                sql::WEBHOOK_ENDPOINT_GET,
                &args![&d.tenant, &d.endpoint_id],
                |r| endpoint(r),
            )?;
            let Some(ep) = ep else {
                c.execute(sql::WEBHOOK_DELIVERY_ORPHANED, &args![d.id])?;
                continue;
            };
            let event = c
                .query_opt(sql::EVENT_GET, &args![d.event_id], |r| event(r))?
                .ok_or_else(|| {
                    StoreError::Backend(format!("webhook delivery {} names no event", d.id))
                })?;
            out.push((d, ep, event));
        }
        Ok(out)
    }

    fn webhook_finish(
        &mut self,
        _tenant: &str,
        id: i64,
        owner: &str,
        now_ms: i64,
        attempt: &WebhookAttempt,
        finish: &Finish,
    ) -> Result<bool> {
        let (state, next, done) = finish.outcome("delivered", now_ms);
        let args = args![id, owner, state, next, done, attempt.status, &attempt.error];
        Ok(self
            .sql_conn()?
            .execute(sql::WEBHOOK_DELIVERY_FINISH, &args)?
            > 0)
    }

    fn webhook_deliveries(
        &mut self,
        tenant: &str,
        endpoint: Option<&str>,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let args = args![tenant, endpoint, limit, state];
        self.sql_conn()?
            .query_rows(sql::WEBHOOK_DELIVERIES, &args, |r| webhook_delivery(r))
    }

    fn webhook_replay(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        revive(
            self.sql_conn()?,
            sql::WEBHOOK_REPLAY,
            sql::WEBHOOK_DELIVERY_EXISTS,
            (tenant, id, now_ms),
            || format!("delivery {id} is pending or its endpoint was removed"),
        )
    }
}
