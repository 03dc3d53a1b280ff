//! Attempts go out on a pool of their own, so the worker's pass never waits for an
//! endpoint: a slow or hanging endpoint holds some sender threads, never the
//! scheduler, and never more than its tenant's share.
//!
//! ```text
//! worker pass: room(tenant) ─▶ webhook_claim(room) ─▶ adapt(tenant, backlog) ─▶ submit
//! sender thread: attempt (guard, POST) ─▶ outcome recorded (webhooks: in batches)
//! ```
//!
//! Claims never exceed the free threads, so a claimed delivery starts at once and its
//! lease (`--lease-ms`, 120 s) outlasts the attempt (15 s): it is never sent twice
//! while the first attempt runs. `Host::run_due` waits for the pool to be idle after
//! each pass (tests and `jobs run` stay synchronous); `serve`'s loop does not.
//!
//! **Shares** ([`Limits`]). Notifications and plugins' HTTP requests use fixed shares
//! ([`THREADS`] threads, [`PER_TENANT`] per tenant). Webhooks ([`Limits::WEBHOOKS`])
//! let a tenant's share grow with its backlog: it starts at `per_tenant`, doubles
//! after each claim that left due deliveries behind for want of room (up to
//! `per_tenant_max`) and halves back after a claim that left none. Within the tenant,
//! one endpoint has at most `per_endpoint` attempts in flight, so a slow endpoint
//! cannot take every sender of its tenant and starve the others.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use crate::store::ClaimRoom;

/// Sender threads of the fixed pools (notifications, plugins' HTTP requests).
pub const THREADS: usize = 8;
/// Attempts of one tenant in flight at most, in the fixed pools; where a webhook
/// tenant's share starts.
pub const PER_TENANT: usize = 4;

/// How many attempts may be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sender threads.
    pub threads: usize,
    /// A tenant's share without a backlog.
    pub per_tenant: usize,
    /// A tenant's share at most, with a backlog.
    pub per_tenant_max: usize,
    /// Attempts to one destination (a webhook endpoint) in flight at most.
    pub per_endpoint: usize,
}

impl Limits {
    /// The notification and HTTP-request pools: 8 threads, 4 per tenant.
    pub const FIXED: Limits = Limits {
        threads: THREADS,
        per_tenant: PER_TENANT,
        per_tenant_max: PER_TENANT,
        per_endpoint: usize::MAX,
    };
    /// Webhooks: 32 threads; a tenant's share grows from 4 to 16 with its backlog;
    /// 8 per endpoint.
    pub const WEBHOOKS: Limits = Limits {
        threads: 32,
        per_tenant: PER_TENANT,
        per_tenant_max: 16,
        per_endpoint: 8,
    };
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    in_flight: usize,
    per_tenant: HashMap<String, usize>,
    /// Attempts in flight per endpoint (webhooks).
    per_endpoint: HashMap<String, usize>,
    /// A tenant's share now, where it grew past `per_tenant`.
    share: HashMap<String, usize>,
}

/// The pool; threads start with the first attempt.
pub(crate) struct Pool {
    limits: Limits,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool(..)")
    }
}

impl Pool {
    /// A pool with the fixed shares ([`Limits::FIXED`]).
    pub(crate) fn new() -> Self {
        Pool::with_limits(Limits::FIXED)
    }

    /// A pool with `limits`.
    pub(crate) fn with_limits(limits: Limits) -> Self {
        Pool {
            limits,
            queue: Mutex::new(None),
            state: Arc::default(),
        }
    }

    /// How many more attempts of `tenant` (or of anybody, when `None`) may be claimed.
    pub(crate) fn capacity(&self, tenant: Option<&str>) -> u32 {
        let Ok(s) = self.state.0.lock() else { return 0 };
        u32::try_from(self.free(&s, tenant)).unwrap_or(0)
    }

    fn free(&self, s: &State, tenant: Option<&str>) -> usize {
        let free = self.limits.threads.saturating_sub(s.in_flight);
        match tenant {
            Some(t) => {
                let share = s.share.get(t).copied().unwrap_or(self.limits.per_tenant);
                free.min(share.saturating_sub(s.per_tenant.get(t).copied().unwrap_or(0)))
            }
            None => free,
        }
    }

    /// What a claim of `tenant` (or of anybody, when `None`) may lease now: the free
    /// threads of its share, and per endpoint what is left of `per_endpoint`.
    pub(crate) fn room(&self, tenant: Option<&str>) -> ClaimRoom {
        let Ok(s) = self.state.0.lock() else {
            return ClaimRoom::any(0);
        };
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        ClaimRoom {
            limit: to_u32(self.free(&s, tenant)),
            per_endpoint: to_u32(self.limits.per_endpoint),
            busy: s
                .per_endpoint
                .iter()
                .map(|(e, n)| (e.clone(), to_u32(*n)))
                .collect(),
            left_behind: 0,
        }
    }

    /// After a claim of `tenant`: with a `backlog` (due deliveries left behind for
    /// want of room) its share doubles, up to `per_tenant_max`; without, it halves,
    /// down to `per_tenant`. The share of `None` (a claim over every tenant) is the
    /// whole pool and does not change.
    pub(crate) fn adapt(&self, tenant: Option<&str>, backlog: bool) {
        let (Some(t), Ok(mut s)) = (tenant, self.state.0.lock()) else {
            return;
        };
        let l = self.limits;
        let now = s.share.get(t).copied().unwrap_or(l.per_tenant);
        let next = if backlog {
            now.saturating_mul(2).min(l.per_tenant_max)
        } else {
            (now / 2).max(l.per_tenant)
        };
        if next <= l.per_tenant {
            s.share.remove(t);
        } else {
            s.share.insert(t.to_string(), next);
        }
    }

    /// A tenant's share now (tests, metrics).
    #[cfg(test)]
    pub(crate) fn share(&self, tenant: &str) -> usize {
        self.state
            .0
            .lock()
            .map(|s| {
                s.share
                    .get(tenant)
                    .copied()
                    .unwrap_or(self.limits.per_tenant)
            })
            .unwrap_or(0)
    }

    /// Run `attempt` for `tenant` on a sender thread.
    pub(crate) fn submit(&self, tenant: &str, attempt: impl FnOnce() + Send + 'static) {
        self.submit_then(tenant, None, attempt, || {});
    }

    /// Run `attempt` for `tenant` (to `endpoint`, counted against its share) on a
    /// sender thread, then `freed` once its thread counts as free again (to wake the
    /// worker, whose next claim sees the room).
    pub(crate) fn submit_then(
        &self,
        tenant: &str,
        endpoint: Option<&str>,
        attempt: impl FnOnce() + Send + 'static,
        freed: impl FnOnce() + Send + 'static,
    ) {
        if let Ok(mut s) = self.state.0.lock() {
            s.in_flight += 1;
            *s.per_tenant.entry(tenant.to_string()).or_default() += 1;
            if let Some(e) = endpoint {
                *s.per_endpoint.entry(e.to_string()).or_default() += 1;
            }
        }
        let state = self.state.clone();
        let tenant = tenant.to_string();
        let endpoint = endpoint.map(str::to_string);
        let job: Job = Box::new(move || {
            attempt();
            let (lock, idle) = &*state;
            if let Ok(mut s) = lock.lock() {
                s.in_flight = s.in_flight.saturating_sub(1);
                release(&mut s.per_tenant, &tenant);
                if let Some(e) = &endpoint {
                    release(&mut s.per_endpoint, e);
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
            for n in 0..self.limits.threads {
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

/// One attempt fewer in flight for `key`.
fn release(counts: &mut HashMap<String, usize>, key: &str) {
    if let Some(n) = counts.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_share_grows_with_its_backlog_and_shrinks_back() {
        let pool = Pool::with_limits(Limits::WEBHOOKS);
        assert_eq!(pool.capacity(Some("acme")), 4);
        for want in [8, 16, 16] {
            pool.adapt(Some("acme"), true);
            assert_eq!(pool.share("acme"), want);
        }
        assert_eq!(pool.capacity(Some("acme")), 16);
        assert_eq!(pool.capacity(Some("globex")), 4, "per tenant");
        for want in [8, 4, 4] {
            pool.adapt(Some("acme"), false);
            assert_eq!(pool.share("acme"), want);
        }
        pool.adapt(None, true);
        assert_eq!(pool.capacity(None), 32);
    }

    #[test]
    fn an_endpoint_in_flight_counts_against_its_share_until_its_attempt_ends() {
        let pool = Pool::with_limits(Limits::WEBHOOKS);
        let (go, wait) = mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        for _ in 0..3 {
            let wait = wait.clone();
            pool.submit_then(
                "acme",
                Some("wh_slow"),
                move || {
                    let _ = wait.lock().map(|w| w.recv());
                },
                || {},
            );
        }
        let room = pool.room(Some("acme"));
        assert_eq!(room.limit, 1, "4 - 3 in flight");
        assert_eq!(room.room("wh_slow"), 8 - 3);
        assert_eq!(room.room("wh_other"), 8);
        for _ in 0..3 {
            go.send(()).unwrap();
        }
        pool.wait_idle();
        let room = pool.room(Some("acme"));
        assert_eq!((room.limit, room.room("wh_slow")), (4, 8));
    }
}
