//! The sign-in throttle: progressive delays per account and per client address
//! (issue 16, finding 4; OWASP ASVS 2.2.1).
//!
//! ```text
//! attempt on key (account "account:<tenant>/<user>", client "client:<address>")
//!   -> the key's wait not over yet            -> 429, Retry-After: what is left
//!   -> otherwise counted at once, as a failure, with the next wait:
//!        failures 1..=free    no wait
//!        failure  free + n    2^(n-1) s, at most MAX_DELAY
//!   -> password checked (Argon2)
//!   -> wrong: nothing more to record          -> 401
//!   -> right: the account's count is cleared, the client's attempt is taken back
//! ```
//!
//! Counting before checking is what makes the throttle hold under concurrency: the
//! check and the count are one write transaction in a scope of their own (one
//! writer at a time, on SQLite and across PostgreSQL hosts), so of N guesses sent at
//! once at most `free + 1` reach the password check before the first wait starts.
//! A count starts again once [`WINDOW`] has passed since the key's last failure.
//! There is no lock-out: whoever waits out the delay is checked again, and the right
//! password gets in.

use std::time::Duration;

use crate::error::{HostError, HostResult};
use crate::store::{LoginThrottle, Transaction};

/// A key's count starts again when its last failure is this old.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures per account before the first wait.
pub const ACCOUNT_FREE: u32 = 5;
/// Failures per client address before the first wait (many people may share one
/// address, an office's NAT).
pub const CLIENT_FREE: u32 = 20;
/// The first wait; each further failure doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait: at most 60 checked attempts an hour on one account once the
/// delays have grown, below the 100 of ASVS 2.2.1.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The storage scope of throttle transactions: its writers take turns, whichever
/// host they run on. Not a tenant id (those have no `:`).
pub(crate) const SCOPE: &str = "sign-in:throttle";

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The wait after the `failures`-th failure of a key allowed `free` without one.
pub fn delay_after(failures: u32, free: u32) -> Duration {
    match failures.checked_sub(free) {
        None | Some(0) => Duration::ZERO,
        Some(beyond) => {
            let factor = 1u32 << (beyond - 1).min(16);
            FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
        }
    }
}

/// A key's row after one more attempt at `now_ms`, or the whole seconds to wait.
fn attempt(row: Option<LoginThrottle>, free: u32, now_ms: i64) -> Result<LoginThrottle, u64> {
    let counted = match row {
        Some(r) if now_ms < r.next_allowed_ms => {
            let left = u64::try_from(r.next_allowed_ms - now_ms).unwrap_or(1);
            return Err(left.div_ceil(1000).max(1));
        }
        Some(r) if now_ms - r.last_failure_ms <= ms(WINDOW) => r.failures,
        _ => 0,
    };
    let failures = counted.saturating_add(1);
    Ok(LoginThrottle {
        failures,
        last_failure_ms: now_ms,
        next_allowed_ms: now_ms.saturating_add(ms(delay_after(failures, free))),
    })
}

/// One key's share of an attempt: how it stood before and after being counted.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    key: String,
    before: Option<LoginThrottle>,
    after: LoginThrottle,
}

/// Check every `(key, free)` and, if none has a wait left, count the attempt for each
/// (in `tx`, which the caller commits). A refusal counts nothing and names the
/// longest wait.
pub(crate) fn count_attempt(
    tx: &mut dyn Transaction,
    keys: &[(&str, u32)],
    now_ms: i64,
) -> HostResult<Vec<Counted>> {
    let mut counted = Vec::with_capacity(keys.len());
    let mut wait = None;
    for (key, free) in keys {
        let before = tx.login_throttle_get(key)?;
        match attempt(before, *free, now_ms) {
            Ok(after) => counted.push(Counted {
                key: (*key).to_string(),
                before,
                after,
            }),
            Err(secs) => wait = wait.max(Some(secs)),
        }
    }
    if let Some(retry_after_secs) = wait {
        return Err(HostError::RateLimited {
            reason: "too many failed sign-in attempts".into(),
            retry_after_secs,
        });
    }
    for c in &counted {
        if c.before.is_none() {
            // A new row: drop the ones whose count has lapsed, so invented user
            // names do not pile up.
            tx.login_throttle_clear(None, now_ms - ms(WINDOW))?;
        }
        tx.login_throttle_put(&c.key, &c.after)?;
    }
    Ok(counted)
}

/// The password was right: clear the account's count (`clear`) and take the
/// attempt back from the others. A key counted again meanwhile by a concurrent
/// attempt keeps that attempt's wait and loses only this one from its count.
pub(crate) fn succeeded(
    tx: &mut dyn Transaction,
    counted: &[Counted],
    clear: &str,
    now_ms: i64,
) -> HostResult<()> {
    for c in counted {
        if c.key == clear {
            tx.login_throttle_clear(Some(&c.key), now_ms - ms(WINDOW))?;
            continue;
        }
        let Some(current) = tx.login_throttle_get(&c.key)? else {
            continue;
        };
        let back = if current == c.after {
            c.before
        } else {
            Some(LoginThrottle {
                failures: current.failures.saturating_sub(1),
                ..current
            })
        };
        match back {
            Some(row) => tx.login_throttle_put(&c.key, &row)?,
            None => tx.login_throttle_clear(Some(&c.key), now_ms - ms(WINDOW))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_the_cap() {
        let secs: Vec<u64> = (1..=14).map(|n| delay_after(n, 5).as_secs()).collect();
        assert_eq!(secs, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(delay_after(u32::MAX, 5), MAX_DELAY);
        assert_eq!(delay_after(20, CLIENT_FREE), Duration::ZERO);
        assert_eq!(delay_after(21, CLIENT_FREE), FIRST_DELAY);
    }

    #[test]
    fn an_attempt_before_the_wait_is_over_is_refused_and_not_counted() {
        let mut row = None;
        let mut t = 1_000_000;
        for _ in 0..5 {
            row = Some(attempt(row, 5, t).unwrap());
        }
        // The sixth is checked, and sets the first wait.
        let sixth = attempt(row, 5, t).unwrap();
        assert_eq!(sixth.failures, 6);
        assert_eq!(sixth.next_allowed_ms, t + 1000);
        assert_eq!(attempt(Some(sixth), 5, t), Err(1));
        assert_eq!(attempt(Some(sixth), 5, t + 999), Err(1));
        // Once it is over, the next attempt is checked and doubles the wait.
        t += 1000;
        let seventh = attempt(Some(sixth), 5, t).unwrap();
        assert_eq!(seventh.failures, 7);
        assert_eq!(attempt(Some(seventh), 5, t + 1), Err(2));
    }

    #[test]
    fn a_count_starts_again_after_the_window() {
        let row = LoginThrottle {
            failures: 12,
            last_failure_ms: 0,
            next_allowed_ms: 60_000,
        };
        let later = ms(WINDOW) + 1;
        assert_eq!(attempt(Some(row), 5, later).unwrap().failures, 1);
        assert_eq!(attempt(Some(row), 5, later - 1).unwrap().failures, 13);
    }
}
