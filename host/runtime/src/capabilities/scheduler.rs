//! `backoffice:host/scheduler`: one-off runs of the plugin's own declared jobs.
//!
//! `schedule-at` writes the run through the call's transaction, so it exists only if
//! the call commits; the host's scheduler (`scheduler`) runs it when due.

use super::WitResult;
use crate::bindings::backoffice::host::scheduler::Host;
use crate::bindings::{Instant, WitError};

use super::quota::Queued;
use super::{CallState, tx_of};

use super::trap;

impl Host for CallState {
    fn schedule_at(&mut self, at: Instant, job: String, payload: String) -> WitResult<String> {
        try_wit!(self.require_write("scheduler"));
        let m = &self.info.manifest;
        if !m.jobs.iter().any(|j| j.name == job) {
            return Ok(Err(WitError::NotFound(format!(
                "plugin '{}' declares no job '{job}' in its plugin.toml; declared jobs: [{}]",
                m.id,
                m.job_names()
            ))));
        }
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&payload) {
            return Ok(Err(WitError::InvalidInput(format!(
                "job payload is not JSON: {e}"
            ))));
        }
        if payload.len() > super::MAX_PAYLOAD_BYTES {
            return Ok(Err(WitError::InvalidInput(format!(
                "job payload of {} bytes exceeds the {} byte limit",
                payload.len(),
                super::MAX_PAYLOAD_BYTES
            ))));
        }
        let at_ms = at
            .seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(at.nanoseconds / 1_000_000));
        self.check_per_call(Queued::Run)?;
        let scope = &self.info.scope;
        let id = tx_of(&mut self.tx)?
            .job_insert_once(&scope.tenant, &scope.plugin, &job, &payload, at_ms)
            .map_err(trap)?;
        self.count_today(Queued::Run)?;
        self.queued_work = true;
        self.effect(|e| {
            e.runs.push(crate::dry_run::RunEffect {
                plugin: self.info.scope.plugin.clone(),
                job: job.clone(),
                at: crate::clock::rfc3339_ms(at_ms),
                payload: crate::dry_run::json_or_text(&payload),
            });
        });
        Ok(Ok(id.to_string()))
    }

    fn cancel(&mut self, id: String) -> WitResult<bool> {
        try_wit!(self.require_write("scheduler"));
        let Ok(id) = id.parse::<i64>() else {
            return Ok(Ok(false));
        };
        let scope = &self.info.scope;
        let cancelled = tx_of(&mut self.tx)?
            .job_cancel(&scope.tenant, &scope.plugin, id)
            .map_err(trap)?;
        self.effect(|e| {
            e.cancelled_runs.push(crate::dry_run::CancelEffect {
                plugin: self.info.scope.plugin.clone(),
                run: id.to_string(),
                cancelled,
            });
        });
        Ok(Ok(cancelled))
    }
}
