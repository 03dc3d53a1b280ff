//! What every outbound sender shares (webhooks, notifications, plugins' HTTP
//! requests): the retry schedule after a failed attempt.
//!
//! Each sender claims a row with a lease, makes one attempt off the scheduler's
//! thread and records the outcome with [`after_failure`]: retry after
//! `first * 4^(attempts - 1)` (at most `max`) plus up to a quarter more at random, so
//! destinations that failed together are not all retried in the same instant, or the
//! dead letter once `max_attempts` attempts failed. Notifications and HTTP requests
//! also share their [`Sender`] (a policy and a pool of sender threads) and how an
//! admin lists a queue ([`crate::Host::queue_log`]).

use std::time::Duration;

use crate::error::{HostError, HostResult};
use crate::store::{Finish, QueueKind, QueueStore, Transaction};
use crate::webhooks::pool::Pool;

/// A sender's retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts before the work is dead.
    pub max_attempts: u32,
    /// Delay before the first retry, times 4 per further attempt.
    pub first: Duration,
    /// Largest delay between attempts.
    pub max: Duration,
}

impl Backoff {
    /// Delay after `attempts` failures, without jitter: `first * 4^(attempts - 1)`, at
    /// most `max`.
    pub fn after(&self, attempts: u32) -> Duration {
        let factor = 4u32.saturating_pow(attempts.saturating_sub(1).min(15));
        self.first.saturating_mul(factor).min(self.max)
    }

    /// The outcome of attempt number `attempts` that ended at `now_ms`, accepted or
    /// failed with `error` (then as [`Backoff::after_failure`], never final at once).
    pub fn outcome(&self, attempts: u32, now_ms: i64, error: Option<&str>) -> Finish {
        match error {
            None => Finish::Done { next_ms: None },
            Some(error) => self.after_failure(attempts, now_ms, error.to_string(), false),
        }
    }

    /// The outcome of attempt number `attempts` that failed with `error` at `now_ms`:
    /// retry at a jittered backoff, or dead after the last attempt (or at once when
    /// `final_` says another attempt cannot go better).
    pub fn after_failure(&self, attempts: u32, now_ms: i64, error: String, final_: bool) -> Finish {
        if final_ || attempts >= self.max_attempts {
            Finish::Dead { error }
        } else {
            Finish::Retry {
                at_ms: now_ms.saturating_add(jittered(self.after(attempts))),
                error,
            }
        }
    }
}

/// The environment variable `name` read as a `T`; none when it is unset, empty or
/// not a `T`.
pub(crate) fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
}

/// A sender's `max_attempts` and `backoff` as `{prefix}_MAX_ATTEMPTS` (at least 1)
/// and `{prefix}_BACKOFF_MS` change them, when set (`prefix`: `BACKOFFICE_NOTIFY`).
pub(crate) fn retries_from_env(prefix: &str, max_attempts: &mut u32, backoff: &mut Duration) {
    if let Some(n) = env::<u32>(&format!("{prefix}_MAX_ATTEMPTS")) {
        *max_attempts = std::cmp::max(n, 1);
    }
    if let Some(ms) = env(&format!("{prefix}_BACKOFF_MS")) {
        *backoff = Duration::from_millis(ms);
    }
}

/// `delay` plus up to a quarter more, at random, in ms.
pub(crate) fn jittered(delay: Duration) -> i64 {
    let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
    let mut b = [0u8; 4];
    let r = if getrandom::fill(&mut b).is_ok() {
        i64::from(u32::from_le_bytes(b))
    } else {
        0
    };
    ms.saturating_add(ms / 4 * r / i64::from(u32::MAX))
}

/// `state`, if given, is one of `states`: the states of a queue listing (`what` names
/// its items, "a notification state").
pub(crate) fn check_state(state: Option<&str>, states: &[&str], what: &str) -> HostResult<()> {
    match state {
        Some(state) if !states.contains(&state) => Err(HostError::InvalidInput(format!(
            "'{state}' is not {what}; use one of {}",
            states.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// The sender of an outbound queue (notifications, HTTP requests): its policy `P`
/// and the threads its attempts run on.
#[derive(Debug)]
pub(crate) struct Sender<P> {
    pub(crate) policy: P,
    pool: Pool,
}

impl<P> Sender<P> {
    pub(crate) fn new(policy: P) -> Self {
        Sender {
            policy,
            pool: Pool::new(),
        }
    }

    /// How many more rows of `tenant` (all tenants when `None`) may be claimed now:
    /// the free sender threads.
    pub(crate) fn capacity(&self, tenant: Option<&str>) -> u32 {
        self.pool.capacity(tenant)
    }

    /// Start `attempt` of row `id` of `tenant` (`what`: "a notification") on a sender
    /// thread; it records its outcome in a transaction of the tenant. When recording
    /// fails the lease expires and the row is attempted again.
    pub(crate) fn submit(
        &self,
        tenant: &str,
        what: &'static str,
        id: i64,
        attempt: impl FnOnce() -> HostResult<()> + Send + 'static,
    ) {
        let owner = tenant.to_string();
        self.pool.submit(tenant, move || {
            if let Err(e) = attempt() {
                tracing::error!(tenant = %owner, id, "recording {what} attempt failed: {e}");
            }
        });
    }

    /// Wait until no attempt is in flight.
    pub(crate) fn wait_idle(&self) {
        self.pool.wait_idle();
    }
}

impl crate::Host {
    /// A tenant's rows of the queue of `K`, newest first, optionally in one state
    /// (`what` names the states in an error: "a request state"), each made with its
    /// attempts into what the list shows by `view`, in the same read transaction.
    pub(crate) fn queue_log<K: QueueKind, V>(
        &self,
        tenant: &str,
        (state, limit): (Option<&str>, u32),
        what: &str,
        mut view: impl FnMut(&mut dyn Transaction, K, Vec<K::Attempt>) -> HostResult<V>,
    ) -> HostResult<Vec<V>>
    where
        for<'a> dyn Transaction + 'a: QueueStore<K>,
    {
        check_state(state, &K::STATES, what)?;
        let mut tx = self.read_tenant(tenant)?;
        let mut out = Vec::new();
        for row in QueueStore::<K>::queue_list(tx.as_mut(), tenant, state, limit)? {
            let attempts = QueueStore::<K>::queue_attempts(tx.as_mut(), tenant, row.id())?;
            out.push(view(tx.as_mut(), row, attempts)?);
        }
        Ok(out)
    }
}

/// What a sender thread needs of the host to record its attempt, owned: the storage,
/// the clock and the worker's lease owner.
pub(crate) struct Recording {
    pub(crate) storage: std::sync::Arc<dyn crate::store::Storage>,
    pub(crate) clock: std::sync::Arc<dyn crate::clock::Clock>,
    pub(crate) owner: String,
}

impl crate::Host {
    /// The host's [`Recording`] for a sender thread.
    pub(crate) fn recording(&self) -> Recording {
        Recording {
            storage: self.storage.clone(),
            clock: self.clock.clone(),
            owner: self.worker.owner.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_times_longer_each_time_capped_then_dead() {
        let b = Backoff {
            max_attempts: 3,
            first: Duration::from_secs(5),
            max: Duration::from_secs(100),
        };
        let secs: Vec<u64> = (1..=5).map(|n| b.after(n).as_secs()).collect();
        assert_eq!(secs, [5, 20, 80, 100, 100]);
        let j = jittered(Duration::from_secs(8));
        assert!((8000..=10000).contains(&j), "{j}");
        assert!(matches!(
            b.after_failure(2, 1_000, "x".into(), false),
            Finish::Retry { at_ms, .. } if (21_000..=26_000).contains(&at_ms)
        ));
        assert!(matches!(
            b.after_failure(3, 0, "x".into(), false),
            Finish::Dead { .. }
        ));
        assert!(matches!(
            b.after_failure(1, 0, "x".into(), true),
            Finish::Dead { .. }
        ));
    }
}
