//! Attempts go out on a pool of their own, so the worker's pass never waits for an
//! endpoint: a slow or hanging endpoint of one tenant holds one sender thread, never
//! the scheduler, and never more than [`PER_TENANT`] threads.
//!
//! ```text
//! worker pass: free = capacity(tenant) ─▶ webhook_claim(limit = free) ─▶ submit
//! sender thread: attempt (guard, POST) ─▶ finish in a tenant transaction ─▶ done
//! ```
//!
//! Claims never exceed the free threads, so a claimed delivery starts at once and its
//! lease (`--lease-ms`, 120 s) outlasts the attempt (15 s): it is never sent twice
//! while the first attempt runs. `Host::run_due` waits for the pool to be idle after
//! each pass (tests and `jobs run` stay synchronous); `serve`'s loop does not.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

/// Sender threads.
pub const THREADS: usize = 8;
/// Attempts of one tenant in flight at most.
pub const PER_TENANT: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    in_flight: usize,
    per_tenant: HashMap<String, usize>,
}

/// The pool; threads start with the first attempt.
pub(crate) struct Pool {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool(..)")
    }
}

impl Pool {
    pub(crate) fn new() -> Self {
        Pool {
            queue: Mutex::new(None),
            state: Arc::default(),
        }
    }

    /// How many more attempts of `tenant` (or of anybody, when `None`) may be claimed.
    pub(crate) fn capacity(&self, tenant: Option<&str>) -> u32 {
        let Ok(s) = self.state.0.lock() else { return 0 };
        let free = THREADS.saturating_sub(s.in_flight);
        let free = match tenant {
            Some(t) => {
                free.min(PER_TENANT.saturating_sub(s.per_tenant.get(t).copied().unwrap_or(0)))
            }
            None => free,
        };
        u32::try_from(free).unwrap_or(0)
    }

    /// Run `attempt` for `tenant` on a sender thread.
    pub(crate) fn submit(&self, tenant: &str, attempt: impl FnOnce() + Send + 'static) {
        self.submit_then(tenant, attempt, || {});
    }

    /// Run `attempt` for `tenant` on a sender thread, then `freed` once its thread
    /// counts as free again (to wake the worker, whose next claim sees the room).
    pub(crate) fn submit_then(
        &self,
        tenant: &str,
        attempt: impl FnOnce() + Send + 'static,
        freed: impl FnOnce() + Send + 'static,
    ) {
        if let Ok(mut s) = self.state.0.lock() {
            s.in_flight += 1;
            *s.per_tenant.entry(tenant.to_string()).or_default() += 1;
        }
        let state = self.state.clone();
        let tenant = tenant.to_string();
        let job: Job = Box::new(move || {
            attempt();
            let (lock, idle) = &*state;
            if let Ok(mut s) = lock.lock() {
                s.in_flight = s.in_flight.saturating_sub(1);
                if let Some(n) = s.per_tenant.get_mut(&tenant) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        s.per_tenant.remove(&tenant);
                    }
                }
                idle.notify_all();
            }
            freed();
        });
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        let sender = queue.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for n in 0..THREADS {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("webhook-{n}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!("cannot start a webhook sender thread: {e}");
                }
            }
            tx
        });
        if let Err(mpsc::SendError(job)) = sender.send(job) {
            // No thread left to take it: run it here rather than lose the count.
            job();
        }
    }

    /// Wait until no attempt is in flight.
    pub(crate) fn wait_idle(&self) {
        let (lock, idle) = &*self.state;
        if let Ok(s) = lock.lock() {
            drop(idle.wait_while(s, |s| s.in_flight > 0));
        }
    }
}
