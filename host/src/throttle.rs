//! Failed calls per user: a user whose calls keep failing would add an audit link
//! with each one. After [`crate::runtime::Quotas::failed_calls_per_hour`] failures in
//! one clock hour (UTC, by the host's clock), further calls of that user in that
//! tenant are refused up front (429) until the hour ends. The first refusal of the
//! hour adds one audit link; the others are only counted, and their number goes into
//! one summary link when the user next calls after the hour.
//!
//! The counts live in the memory of each host process: a failing call already writes
//! its audit link, and a second row written per failure (or a shared row every host
//! updates) would cost each tenant a write for what is a brake, not a record. With
//! several hosts a user gets the allowance once per host; a restart starts the
//! counts again. Both bound the audit chain's growth per user and hour.

use std::collections::HashMap;
use std::sync::Mutex;

/// Milliseconds in an hour.
const HOUR_MS: i64 = 3_600_000;

/// Users tracked before the counts of past hours are dropped.
const PRUNE_AT: usize = 10_000;

/// One user's counts in one hour.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    hour: i64,
    failures: u64,
    refused: u64,
}

/// The counts of every user seen lately, keyed by tenant and actor.
#[derive(Debug, Default)]
pub(crate) struct FailedCalls {
    windows: Mutex<HashMap<(String, String), Window>>,
}

/// What [`FailedCalls::gate`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gate {
    /// `Some(seconds until the hour ends)` when the call is refused.
    pub(crate) refuse: Option<u64>,
    /// The refusal is the first of its hour: it gets an audit link.
    pub(crate) first_refusal: bool,
    /// Calls refused in an earlier hour, not yet recorded: `(hour start ms, count)`.
    pub(crate) summary: Option<(i64, u64)>,
}

impl FailedCalls {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(String, String), Window>) -> T) -> T {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut windows)
    }

    /// Whether `actor` of `tenant` may call now, at `now_ms`, with at most `limit`
    /// failures an hour (0: no limit).
    pub(crate) fn gate(&self, tenant: &str, actor: &str, now_ms: i64, limit: u64) -> Gate {
        let hour = now_ms.div_euclid(HOUR_MS);
        self.with(|windows| {
            let Some(w) = windows.get_mut(&(tenant.to_string(), actor.to_string())) else {
                return Gate {
                    refuse: None,
                    first_refusal: false,
                    summary: None,
                };
            };
            let mut summary = None;
            if w.hour != hour {
                if w.refused > 0 {
                    summary = Some((w.hour * HOUR_MS, w.refused));
                }
                *w = Window {
                    hour,
                    ..Window::default()
                };
            }
            if limit > 0 && w.failures >= limit {
                w.refused += 1;
                let left_ms = (hour + 1) * HOUR_MS - now_ms;
                return Gate {
                    refuse: Some(u64::try_from(left_ms.div_euclid(1000).max(1)).unwrap_or(1)),
                    first_refusal: w.refused == 1,
                    summary,
                };
            }
            Gate {
                refuse: None,
                first_refusal: false,
                summary,
            }
        })
    }

    /// Whether [`FailedCalls::gate`] would let `actor` of `tenant` call at `now_ms`
    /// with nothing to record: no refusal now, no summary of an earlier hour's.
    pub(crate) fn quiet(&self, tenant: &str, actor: &str, now_ms: i64, limit: u64) -> bool {
        let hour = now_ms.div_euclid(HOUR_MS);
        self.with(|windows| {
            windows
                .get(&(tenant.to_string(), actor.to_string()))
                .is_none_or(|w| match w.hour == hour {
                    true => limit == 0 || w.failures < limit,
                    false => w.refused == 0,
                })
        })
    }

    /// Count a failed call of `actor` of `tenant` at `now_ms`.
    pub(crate) fn failed(&self, tenant: &str, actor: &str, now_ms: i64) {
        let hour = now_ms.div_euclid(HOUR_MS);
        self.with(|windows| {
            if windows.len() >= PRUNE_AT {
                windows.retain(|_, w| w.hour == hour && w.failures > 0);
            }
            let w = windows
                .entry((tenant.to_string(), actor.to_string()))
                .or_insert(Window {
                    hour,
                    ..Window::default()
                });
            if w.hour != hour {
                // A summary of the old hour's refusals was taken by `gate` first.
                *w = Window {
                    hour,
                    ..Window::default()
                };
            }
            w.failures += 1;
        });
    }

    /// `(failures, refused)` of `actor` of `tenant` in the hour of `now_ms`.
    #[cfg(test)]
    fn counts(&self, tenant: &str, actor: &str, now_ms: i64) -> (u64, u64) {
        let hour = now_ms.div_euclid(HOUR_MS);
        self.with(|windows| {
            windows
                .get(&(tenant.to_string(), actor.to_string()))
                .filter(|w| w.hour == hour)
                .map_or((0, 0), |w| (w.failures, w.refused))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_until_the_hour_ends_then_summarises() {
        let f = FailedCalls::default();
        let t0 = 10 * HOUR_MS + 1000;
        for _ in 0..3 {
            assert_eq!(f.gate("t", "user:a", t0, 3).refuse, None);
            f.failed("t", "user:a", t0);
        }
        let first = f.gate("t", "user:a", t0, 3);
        assert!(first.refuse.is_some() && first.first_refusal);
        let second = f.gate("t", "user:a", t0, 3);
        assert!(second.refuse.is_some() && !second.first_refusal);
        // Another user and another tenant are not affected.
        assert_eq!(f.gate("t", "user:b", t0, 3).refuse, None);
        assert_eq!(f.gate("u", "user:a", t0, 3).refuse, None);
        assert_eq!(f.counts("t", "user:a", t0), (3, 2));
        let next = f.gate("t", "user:a", t0 + HOUR_MS, 3);
        assert_eq!(next.refuse, None);
        assert_eq!(next.summary, Some((10 * HOUR_MS, 2)));
        assert_eq!(f.gate("t", "user:a", t0 + HOUR_MS, 3).summary, None);
    }
}
