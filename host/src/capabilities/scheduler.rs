//! `backoffice:host/scheduler`: one-off job runs.
//!
//! The durable scheduler lands with its own work item; until then scheduling is
//! refused clearly so no plugin relies on a run that will never happen.

use crate::bindings::backoffice::host::scheduler::Host;
use crate::bindings::{Instant, WitError};

use super::CallState;

impl Host for CallState {
    fn schedule_at(
        &mut self,
        _at: Instant,
        job: String,
        _payload: String,
    ) -> wasmtime::Result<Result<String, WitError>> {
        if let Err(e) = self.require("scheduler") {
            return Ok(Err(e));
        }
        Ok(Err(WitError::Unsupported(format!(
            "the scheduler is not available in this host version yet; job '{job}' was not scheduled"
        ))))
    }

    fn cancel(&mut self, _id: String) -> wasmtime::Result<Result<bool, WitError>> {
        if let Err(e) = self.require("scheduler") {
            return Ok(Err(e));
        }
        Ok(Err(WitError::Unsupported(
            "the scheduler is not available in this host version yet".into(),
        )))
    }
}
