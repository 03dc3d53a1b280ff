//! Password hashing, and the bounded pool it runs on (issue 16, finding 4).
//!
//! Argon2id at the OWASP Password Storage Cheat Sheet parameters costs 19 MiB and
//! tens of milliseconds of one core per hash, on purpose. Run on the threads that
//! serve the API, a flood of sign-ins (each costs the caller nothing) would take every
//! core and worker. So hashing and checking go through a [`PasswordPool`]: at most
//! half the cores hash at once, a few more requests per slot may wait, and the next
//! one is refused at once ([`HostError::Busy`], 503 with `Retry-After`) instead of
//! queueing without bound. The HTTP sign-in routes do not take the API's general
//! worker permits either, so requests with a token are served beside a flood.

use std::sync::{Condvar, Mutex, MutexGuard};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{HostError, HostResult};

use super::random_bytes;

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password for storage, on the caller's thread (the host itself goes
/// through its password pool).
pub fn hash_password(password: &str) -> HostResult<String> {
    if password.chars().count() < 12 {
        return Err(HostError::InvalidInput(
            "passwords need at least 12 characters".into(),
        ));
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| HostError::Internal(format!("cannot encode salt: {e}")))?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| HostError::Internal(format!("cannot hash password: {e}")))?
        .to_string())
}

/// Whether `password` matches a stored PHC hash.
pub(super) fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash to check against when the user does not exist, so that a missing account
/// takes as long to refuse as a wrong password.
pub(super) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-at-all").unwrap_or_default())
}

/// Seconds a refused caller is told to wait.
const BUSY_RETRY_SECS: u64 = 1;

/// Bounds the Argon2 work of a host: `slots` hashes at once, `queue` more callers
/// waiting, the rest refused at once.
#[derive(Debug)]
pub(crate) struct PasswordPool {
    slots: usize,
    queue: usize,
    counts: Mutex<Counts>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct Counts {
    /// Callers holding a [`Ticket`]: hashing or waiting to.
    admitted: usize,
    /// Callers hashing now.
    running: usize,
}

impl PasswordPool {
    /// A pool of `slots` (at least one) with `queue` waiting places.
    pub(crate) fn new(slots: usize, queue: usize) -> Self {
        PasswordPool {
            slots: slots.max(1),
            queue,
            counts: Mutex::default(),
            freed: Condvar::new(),
        }
    }

    /// Half the cores (at least one) hash at once, leaving the rest to the API; eight
    /// callers per slot may wait, about a quarter of a second of hashing each.
    pub(crate) fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let slots = (cores / 2).max(1);
        PasswordPool::new(slots, slots * 8)
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place in the pool, or [`HostError::Busy`] at once when every slot and
    /// waiting place is taken.
    pub(crate) fn admit(&self) -> HostResult<Ticket<'_>> {
        let mut counts = self.counts();
        if counts.admitted >= self.slots + self.queue {
            return Err(HostError::Busy {
                retry_after_secs: BUSY_RETRY_SECS,
            });
        }
        counts.admitted += 1;
        Ok(Ticket { pool: self })
    }
}

/// A place in a [`PasswordPool`]; given back when dropped.
#[derive(Debug)]
pub(crate) struct Ticket<'a> {
    pool: &'a PasswordPool,
}

impl Ticket<'_> {
    /// Run `work` (hashing) once a slot is free.
    pub(crate) fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        let pool = self.pool;
        let mut counts = pool.counts();
        while counts.running >= pool.slots {
            counts = pool.freed.wait(counts).unwrap_or_else(|p| p.into_inner());
        }
        counts.running += 1;
        drop(counts);
        // Gives the slot back even if `work` panics.
        struct Slot<'a>(&'a PasswordPool);
        impl Drop for Slot<'_> {
            fn drop(&mut self) {
                self.0.counts().running -= 1;
                self.0.freed.notify_one();
            }
        }
        let _slot = Slot(pool);
        work()
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.pool.counts().admitted -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn passwords_round_trip_and_refuse_short_ones() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse battery!", &h));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn past_the_slots_and_queue_callers_are_refused_at_once() {
        let pool = PasswordPool::new(1, 2);
        let tickets: Vec<_> = (0..3).map(|_| pool.admit().unwrap()).collect();
        assert!(matches!(pool.admit(), Err(HostError::Busy { .. })));
        drop(tickets);
        assert!(pool.admit().is_ok());
    }

    #[test]
    fn no_more_than_the_slots_run_at_once() {
        let pool = PasswordPool::new(2, 10);
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let ticket = pool.admit().unwrap();
                    ticket.run(|| {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        now.fetch_sub(1, Ordering::SeqCst);
                    });
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(pool.counts().admitted, 0);
        assert_eq!(pool.counts().running, 0);
    }
}
