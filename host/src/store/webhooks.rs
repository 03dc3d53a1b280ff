//! Rows of outbound webhooks: the endpoints a tenant subscribed to event topics, and
//! one delivery per (event, endpoint).
//!
//! Deliveries are created by the scheduler's fan-out, in the same transaction that
//! expands an event into plugin deliveries: an event exists only once the call that
//! emitted it committed, so a rolled-back call sends nothing, and the fan-out marks
//! the event expanded in that transaction, so no event gets two deliveries to one
//! endpoint. A delivery keeps its `msg_id` (the `webhook-id` header) for every
//! attempt and every replay, so receivers can deduplicate on it.

use serde::Serialize;

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
