//! `backoffice:host/events`: the outbox of events delivered after commit.
//!
//! Delivery lands with the scheduler and events work; until then `emit` refuses
//! clearly instead of dropping events, so no plugin believes an event went out.

use crate::bindings::WitError;
use crate::bindings::backoffice::host::events::Host;

use super::CallState;

impl Host for CallState {
    fn emit(&mut self, topic: String, _payload: String) -> wasmtime::Result<Result<(), WitError>> {
        if let Err(e) = self.require("events") {
            return Ok(Err(e));
        }
        Ok(Err(WitError::Unsupported(format!(
            "events are not available in this host version yet; '{topic}' was not emitted"
        ))))
    }
}
