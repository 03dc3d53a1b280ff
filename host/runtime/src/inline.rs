//! Reads answered on the async worker that received the request (issue 17).
//!
//! Every API request used to hand its call to the blocking pool and wait for the
//! answer: two thread hand-offs per request, about a quarter of the CPU a read costs.
//! Most reads finish in well under a millisecond, so the API first tries to answer
//! a request in place, as an *attempt*, and gives the request to the blocking pool
//! only when the attempt gives up. An attempt gives up, and what it did is thrown
//! away, when the call would:
//!
//! - write (an operation that is not read-only; a token's use recorded once a
//!   minute): the tenant's writer and the commit's fsync wait;
//! - wait (a `wasi:io/poll` wait or a blocking stream operation that is not ready at
//!   once, a retry after a conflict, compiling a plugin not loaded yet, an audit queue
//!   so full that the link would be written at once);
//! - run past [`BUDGET`] (the epoch stops it, as it stops a call at its deadline);
//! - fail in any way: a failure writes its audit link and counts against the
//!   caller's hourly allowance, and both happen once, on the blocking pool, where the
//!   call runs again from the start.
//!
//! Running again is safe because what an attempt may do has no effect outside it: a
//! read-only call reads one snapshot, its audit link is queued only when it answers,
//! and a plugin's log lines are kept only from the run that counts. An operation
//! whose calls gave up [`STRIKES`] times in a row (past the budget or at a wait) is not
//! tried in place again for [`COOL_OFF_MS`], so slow reads cost the worker their budget
//! a few times, not on every request. A single give-up does not count alone: the
//! budget is wall time, and a fast call whose thread the kernel preempted under load
//! may run past it once.
//!
//! An async worker may not block (wasmtime-wasi's synchronous WASI waits by
//! `Handle::block_on`, which panics there), so the WASI the host links waits through
//! [`block_on`]: on a worker it polls once and gives the attempt up when the future is
//! not ready, elsewhere it waits as before. Only a backend whose reads never wait on
//! another runtime or the network is read in place (SQLite; the PostgreSQL client
//! blocks on a runtime of its own).

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How long an attempt may run in place: two epoch ticks at most, so between one and
/// two ticks of the epoch once the call starts.
pub const BUDGET: Duration = Duration::from_millis(10);

/// How long an operation whose calls gave up [`STRIKES`] times in a row runs only on
/// the blocking pool.
pub const COOL_OFF_MS: u64 = 30_000;

/// Give-ups in a row (past the budget or at a wait) that send an operation to the
/// pool for [`COOL_OFF_MS`].
pub const STRIKES: u32 = 3;

/// How the attempts in place of one operation went.
#[derive(Debug, Default)]
pub struct Record {
    /// Give-ups since the last answer in place.
    strikes: AtomicU32,
    /// Until when ([`now_ms`]) the operation is not tried in place.
    off_until: AtomicU64,
}

impl Record {
    /// Whether the operation may be tried in place now.
    pub fn may_try(&self) -> bool {
        self.off_until.load(Ordering::Relaxed) <= now_ms()
    }

    /// An attempt answered in place, or gave up past the budget or at a wait.
    pub fn attempted(&self, answered: bool) {
        if answered {
            // Read first: a write on every answer would bounce the line between cores.
            if self.strikes.load(Ordering::Relaxed) != 0 {
                self.strikes.store(0, Ordering::Relaxed);
            }
            return;
        }
        if self.strikes.fetch_add(1, Ordering::Relaxed) + 1 >= STRIKES {
            self.strikes.store(0, Ordering::Relaxed);
            self.off_until
                .store(now_ms().saturating_add(COOL_OFF_MS), Ordering::Relaxed);
        }
    }
}

thread_local! {
    /// When the attempt running on this thread must give up; `None` outside one.
    static ATTEMPT: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The attempt gave up: its result is thrown away.
    static GAVE_UP: Cell<bool> = const { Cell::new(false) };
}

/// The error a host function answers when an attempt gives up there. It never
/// reaches a caller: the attempt's result is thrown away.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the call needs a thread that may wait; it runs again on the blocking pool")]
pub struct GaveUp;

/// Run `f` as an attempt (see the module docs): `None` when it gave up, and `f`
/// must run again where it may wait.
pub fn attempt<T>(f: impl FnOnce() -> T) -> Option<T> {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ATTEMPT.set(None);
            GAVE_UP.set(false);
        }
    }
    let _reset = Reset;
    ATTEMPT.set(Some(Instant::now() + BUDGET));
    GAVE_UP.set(false);
    let out = f();
    (!GAVE_UP.get()).then_some(out)
}

/// Whether an attempt runs on this thread.
pub fn active() -> bool {
    ATTEMPT.get().is_some()
}

/// When the attempt on this thread must give up.
pub fn deadline() -> Option<Instant> {
    ATTEMPT.get()
}

/// Whether the attempt on this thread gave up.
pub fn gave_up() -> bool {
    GAVE_UP.get()
}

/// Give up the attempt on this thread (when one runs): whatever it answers is thrown
/// away. Answers the error to end it with.
pub fn give_up() -> GaveUp {
    if active() {
        GAVE_UP.set(true);
    }
    GaveUp
}

/// [`give_up`] as the caller's error (the host's `HostError::Internal` with the
/// text of [`GaveUp`]).
pub fn refuse<E: From<GaveUp>>() -> E {
    give_up().into()
}

/// Wait for `fut` from a synchronous host function: in an attempt, poll it once and
/// give up when it is not ready; elsewhere wait for it on the async runtime, as
/// wasmtime-wasi's synchronous bindings do.
pub fn block_on<F: Future>(fut: F) -> wasmtime::Result<F::Output> {
    if !active() {
        return Ok(wasmtime_wasi::runtime::in_tokio(fut));
    }
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => Err(wasmtime::Error::new(give_up())),
    }
}

/// Milliseconds on a clock that only moves forward, for [`COOL_OFF_MS`].
pub fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_answers_unless_it_gave_up_and_leaves_the_thread_clean() {
        assert_eq!(attempt(|| 7), Some(7));
        assert!(!active());
        assert_eq!(
            attempt(|| {
                assert!(active());
                assert!(deadline().is_some_and(|d| d > Instant::now()));
                let _ = give_up();
                8
            }),
            None
        );
        assert!(!active() && !gave_up());
        // Outside an attempt, giving up marks nothing.
        let _ = give_up();
        assert!(!gave_up());
    }

    #[test]
    fn a_wait_that_is_not_ready_gives_the_attempt_up() {
        let ready = attempt(|| block_on(async { 5 }).unwrap());
        assert_eq!(ready, Some(5));
        let pending = attempt(|| block_on(std::future::pending::<()>()).is_err());
        assert_eq!(pending, None);
    }

    #[test]
    fn an_operation_goes_to_the_pool_after_strikes_in_a_row_only() {
        let record = Record::default();
        for _ in 0..STRIKES - 1 {
            record.attempted(false);
        }
        record.attempted(true);
        // An answer in between: the count starts again.
        for _ in 0..STRIKES - 1 {
            record.attempted(false);
            assert!(record.may_try());
        }
        record.attempted(false);
        assert!(!record.may_try());
    }

    #[test]
    fn a_panic_inside_an_attempt_does_not_leave_it_active() {
        let caught = std::panic::catch_unwind(|| attempt(|| panic!("inside")));
        assert!(caught.is_err());
        assert!(!active());
    }
}
