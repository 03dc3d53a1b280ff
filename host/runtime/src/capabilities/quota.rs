//! Quotas of a call's tenant and plugin: what it keeps (keys, bytes), what it queues
//! per call and per UTC day (events, one-off runs). Limits come from
//! [`crate::Quotas`]; usage is kept in the tenant's own database, in the
//! call's transaction, so a refused call (it traps) leaves nothing behind and counts
//! stay exact whatever rolls back.

use crate::QuotaExceeded;
use crate::store::DayUsage;

use super::{CallState, trap, tx_of};

/// Milliseconds in a UTC day.
const DAY_MS: i64 = 86_400_000;

/// The flag (and environment variable) setting each quota.
pub const FLAG_STORED_BYTES: &str = "--quota-stored-mib (BACKOFFICE_QUOTA_STORED_MIB)";
pub const FLAG_STORED_KEYS: &str = "--quota-stored-keys (BACKOFFICE_QUOTA_STORED_KEYS)";
pub const FLAG_EVENTS_PER_CALL: &str = "--quota-events-per-call (BACKOFFICE_QUOTA_EVENTS_PER_CALL)";
pub const FLAG_RUNS_PER_CALL: &str = "--quota-runs-per-call (BACKOFFICE_QUOTA_RUNS_PER_CALL)";
pub const FLAG_EVENTS_PER_DAY: &str = "--quota-events-per-day (BACKOFFICE_QUOTA_EVENTS_PER_DAY)";
pub const FLAG_RUNS_PER_DAY: &str = "--quota-runs-per-day (BACKOFFICE_QUOTA_RUNS_PER_DAY)";

/// Days since the Unix epoch of `t`, in UTC.
pub fn utc_day(t: time::OffsetDateTime) -> i64 {
    super::events::unix_ms(t).div_euclid(DAY_MS)
}

/// Which counted thing a call queues.
#[derive(Clone, Copy)]
pub(super) enum Queued {
    Event,
    Run,
}

impl CallState {
    fn exceeded(
        &self,
        quota: &'static str,
        usage: u64,
        limit: u64,
        flag: &'static str,
        hint: &'static str,
    ) -> wasmtime::Error {
        wasmtime::Error::new(QuotaExceeded {
            quota,
            tenant: self.info.scope.tenant.clone(),
            plugin: self.info.scope.plugin.clone(),
            usage,
            limit,
            flag,
            hint,
        })
    }

    /// After a storage write: trap when the scope now holds more keys or bytes than
    /// allowed (the write is in the transaction, which the trap rolls back).
    pub(super) fn check_stored(&mut self) -> wasmtime::Result<()> {
        let usage = tx_of(&mut self.tx)?
            .kv_usage(&self.info.scope)
            .map_err(trap)?;
        let q = &self.limits.quotas;
        let checks = [
            ("stored keys", usage.keys, q.stored_keys, FLAG_STORED_KEYS),
            (
                "stored bytes",
                usage.bytes,
                q.stored_bytes,
                FLAG_STORED_BYTES,
            ),
        ];
        for (quota, used, limit, flag) in checks {
            if used > limit {
                let hint = "Deleting keys the plugin no longer needs frees room. ";
                return Err(self.exceeded(quota, used, limit, flag, hint));
            }
        }
        Ok(())
    }

    /// Before queueing an event or a run: trap when the call already queued as many
    /// as one call may.
    pub(super) fn check_per_call(&mut self, what: Queued) -> wasmtime::Result<()> {
        let q = &self.limits.quotas;
        let (count, limit, quota, flag) = match what {
            Queued::Event => (
                &mut self.emitted,
                q.events_per_call,
                "events per call",
                FLAG_EVENTS_PER_CALL,
            ),
            Queued::Run => (
                &mut self.scheduled,
                q.runs_per_call,
                "scheduled runs per call",
                FLAG_RUNS_PER_CALL,
            ),
        };
        *count += 1;
        let count = *count;
        if count > limit {
            return Err(self.exceeded(
                quota,
                count,
                limit,
                flag,
                "Split the work over several calls. ",
            ));
        }
        Ok(())
    }

    /// After queueing an event or a run: count it for today (UTC, by the call's
    /// clock) and trap when the scope went past the day's quota.
    pub(super) fn count_today(&mut self, what: Queued) -> wasmtime::Result<()> {
        let day = utc_day(self.info.now);
        let add = match what {
            Queued::Event => DayUsage { events: 1, runs: 0 },
            Queued::Run => DayUsage { events: 0, runs: 1 },
        };
        let total = tx_of(&mut self.tx)?
            .quota_day_add(&self.info.scope, day, add)
            .map_err(trap)?;
        let q = &self.limits.quotas;
        let hint = "The count starts again at midnight UTC. ";
        match what {
            Queued::Event if total.events > q.events_per_day => Err(self.exceeded(
                "events per day",
                total.events,
                q.events_per_day,
                FLAG_EVENTS_PER_DAY,
                hint,
            )),
            Queued::Run if total.runs > q.runs_per_day => Err(self.exceeded(
                "scheduled runs per day",
                total.runs,
                q.runs_per_day,
                FLAG_RUNS_PER_DAY,
                hint,
            )),
            _ => Ok(()),
        }
    }
}
