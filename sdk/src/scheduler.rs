//! One-off runs of jobs the plugin declares in its manifest.
//!
//! Requires the `scheduler` capability; the job must be declared under `[[jobs]]` in
//! `plugin.toml`. The run calls [`Plugin::run_job`](crate::Plugin::run_job).

use serde::Serialize;

use crate::__private::bindings::backoffice::host::scheduler as wit;
use crate::__private::bindings::backoffice::host::types::Instant;
use crate::{Error, Result, Timestamp};

/// Schedule job `job` to run at `at` with `payload` encoded as JSON; returns the
/// run's id. The run exists only if this call commits.
pub fn schedule_at<T: Serialize + ?Sized>(at: Timestamp, job: &str, payload: &T) -> Result<String> {
    let payload = serde_json::to_string(payload)
        .map_err(|e| Error::internal(format!("cannot encode the payload: {e}")))?;
    let at = Instant {
        seconds: at.seconds(),
        nanoseconds: at.nanos(),
    };
    Ok(wit::schedule_at(at, job, &payload)?)
}

/// Cancel a pending run this plugin scheduled; returns whether it was pending.
pub fn cancel(id: &str) -> Result<bool> {
    Ok(wit::cancel(id)?)
}
