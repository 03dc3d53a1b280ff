//! Rows of the event outbox and its per-subscriber deliveries.
//!
//! Times are whole milliseconds since the Unix epoch (UTC): every backend can store
//! and compare them as plain integers.

use serde::Serialize;

use super::Result;
use super::sql_conn::{RowGet, from_row};

/// An event as a plugin call emits it, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Tenant of the emitting call.
    pub tenant: String,
    /// Dotted topic, such as `ledger.entry-posted`.
    pub topic: String,
    /// JSON text.
    pub payload: String,
    /// Emitting plugin.
    pub plugin: String,
    /// Emitting plugin's version.
    pub version: String,
    /// Business time of the emitting call, ms since the epoch.
    pub created_at_ms: i64,
}

/// An event in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    /// Host-wide id, increasing in emit (commit) order.
    pub id: i64,
    /// Tenant of the emitting call.
    pub tenant: String,
    /// Position in the tenant's event stream, from 1.
    pub seq: i64,
    /// Dotted topic.
    pub topic: String,
    /// JSON text.
    pub payload: String,
    /// Emitting plugin.
    pub plugin: String,
    /// Emitting plugin's version.
    pub version: String,
    /// Business time of the emitting call, ms since the epoch.
    pub created_at_ms: i64,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only this topic.
    pub topic: Option<String>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// An event row of `id, tenant, seq, topic, payload, plugin, version, created_at_ms`.
pub(super) fn event(r: &impl RowGet) -> Result<EventRecord> {
    Ok(from_row!(r => EventRecord {
        id, tenant, seq, topic, payload, plugin, version, created_at_ms,
    }))
}
