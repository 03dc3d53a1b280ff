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
