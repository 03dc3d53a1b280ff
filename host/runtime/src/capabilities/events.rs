//! `backoffice:host/events`: the transactional outbox.
//!
//! `emit` appends the event to the outbox through the call's own transaction, so the
//! event exists exactly when the call's other writes do: a rollback (error, trap,
//! limit) drops it. Delivery to subscribers happens after commit (the host's `events`).
//!
//! A plugin may emit only topics its manifest lists under `emits`, and of those only
//! topics under its own `<id>.` prefix unless an admin granted the topic
//! (capability `emit:<topic>`, see `backoffice events grant`).

use super::WitResult;
use crate::bindings::WitError;
use crate::bindings::backoffice::host::events::Host;
use crate::store::NewEvent;

use super::quota::Queued;
use super::{CallState, tx_of};

/// Largest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 << 10;

/// The grant that lets a plugin emit `topic` outside its own prefix.
pub fn foreign_topic_grant(topic: &str) -> String {
    format!("emit:{topic}")
}

impl CallState {
    fn check_emit(&self, topic: &str, payload: &str) -> Result<(), WitError> {
        self.require_write("events")?;
        let m = &self.info.manifest;
        if !m.emits.iter().any(|t| t == topic) {
            return Err(WitError::Forbidden(format!(
                "plugin '{}' may not emit '{topic}': the topic is not declared under `emits` in its plugin.toml (declared: [{}])",
                m.id,
                m.emits.join(", ")
            )));
        }
        if !m.owns_topic(topic)
            && !self
                .info
                .grants
                .iter()
                .any(|g| *g == foreign_topic_grant(topic))
        {
            return Err(WitError::Forbidden(format!(
                "plugin '{}' may not emit '{topic}': it may emit only topics under '{}.' unless an admin grants the topic with `backoffice events grant {} {topic}`",
                m.id, m.id, m.id
            )));
        }
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(WitError::InvalidInput(format!(
                "event payload of {} bytes exceeds the {MAX_PAYLOAD_BYTES} byte limit",
                payload.len()
            )));
        }
        serde_json::from_str::<serde::de::IgnoredAny>(payload).map_err(|e| {
            WitError::InvalidInput(format!("event payload for '{topic}' is not JSON: {e}"))
        })?;
        Ok(())
    }
}

impl Host for CallState {
    fn emit(&mut self, topic: String, payload: String) -> WitResult<()> {
        try_wit!(self.check_emit(&topic, &payload));
        self.check_per_call(Queued::Event)?;
        self.effect(|e| {
            e.events.push(crate::dry_run::EventEffect {
                plugin: self.info.scope.plugin.clone(),
                topic: topic.clone(),
                payload: crate::dry_run::json_or_text(&payload),
            });
        });
        let event = NewEvent {
            tenant: self.info.scope.tenant.clone(),
            topic,
            payload,
            plugin: self.info.scope.plugin.clone(),
            version: self.info.version.clone(),
            created_at_ms: unix_ms(self.info.now),
        };
        // A storage failure is the host's problem: trap, so the call rolls back.
        tx_of(&mut self.tx)?
            .event_append(&event)
            .map_err(|e| wasmtime::Error::msg(e.to_string()))?;
        self.count_today(Queued::Event)?;
        self.queued_work = true;
        Ok(Ok(()))
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
