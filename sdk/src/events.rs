//! Events to other plugins, delivered after the emitting call commits.
//!
//! Requires the `events` capability; the topic must be listed under `emits` in
//! `plugin.toml`. Subscribers receive it through [`Plugin::on_event`](crate::Plugin::on_event).

use serde::Serialize;

use crate::__private::bindings::backoffice::host::events as wit;
use crate::{Error, Result};

/// Queue an event with `payload` encoded as JSON. It is delivered to subscribed
/// plugins only if this call commits. A plugin may emit only topics under its own
/// id, such as `ledger.entry-posted`.
pub fn emit<T: Serialize + ?Sized>(topic: &str, payload: &T) -> Result<()> {
    let payload = serde_json::to_string(payload)
        .map_err(|e| Error::internal(format!("cannot encode the payload: {e}")))?;
    Ok(wit::emit(topic, &payload)?)
}
