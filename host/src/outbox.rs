//! What every outbound sender shares (webhooks, notifications, plugins' HTTP
//! requests): the retry schedule after a failed attempt.
//!
//! Each sender claims a row with a lease, makes one attempt off the scheduler's
//! thread and records the outcome with [`after_failure`]: retry after
//! `first * 4^(attempts - 1)` (at most `max`) plus up to a quarter more at random, so
//! destinations that failed together are not all retried in the same instant, or the
//! dead letter once `max_attempts` attempts failed.

use std::time::Duration;

use crate::error::{HostError, HostResult};
use crate::store::Finish;

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
