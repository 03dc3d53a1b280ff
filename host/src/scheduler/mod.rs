//! Durable work: cron and one-off jobs, and delivery of events to subscribers.
//!
//! Everything lives in storage (`store::work`), so nothing is lost by a crash. One
//! pass of [`Host::run_due`] does, at the clock's now:
//!
//! ```text
//! 1. fan out: each new outbox event -> one pending delivery per subscriber
//!    (plugins enabled for the tenant whose manifest subscribes to the topic)
//! 2. claim due deliveries and jobs (lease + attempt, committed), then run each as
//!    its own plugin call and transaction as the plugin itself (`plugin:<id>`),
//!    holding only the permissions its manifest declares under `[background]`
//! 3. finish: done (cron: next occurrence strictly after now), or retry with
//!    exponential backoff, or dead letter after `max_attempts`
//! ```
//!
//! A worker that dies mid-run leaves its lease; once it expires the work is claimed
//! again (at least once). Deliveries of one tenant and topic reach each subscriber in
//! emit order: the next waits until the previous is done or dead.
//!
//! Missed cron windows: a job whose time passed while the host was down is due, runs
//! once, and its next run is the first occurrence after that run, so a long outage
//! gives one catch-up run, not one per missed tick.

/// Cron schedules live in `backoffice-core`; the old path keeps working.
pub use backoffice_core::cron;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::auth::Principal;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::optimistic::OptimisticTx;
use crate::runtime::Action;
use crate::store::{
    DeliveryRecord, EventFilter, EventRecord, Finish, JobFilter, JobRecord, JobRun, Lease,
    StoreError, Transaction,
};

pub use cron::Cron;

/// Leases, retries and backoff of jobs and deliveries.
#[derive(Debug, Clone)]
pub struct WorkConfig {
    /// How long a claimed job or delivery stays leased to its worker; after that a
    /// worker that died is presumed dead and the work is claimed again. Must exceed
    /// [`crate::runtime::Limits::background_deadline`] (checked by the CLI).
    pub lease: Duration,
    /// Attempts before a job run or delivery is dead-lettered.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled on each further attempt.
    pub backoff: Duration,
    /// Largest delay between retries.
    pub max_backoff: Duration,
    /// How often `serve` looks for due work when nothing wakes it.
    pub poll: Duration,
}

impl Default for WorkConfig {
    fn default() -> Self {
        WorkConfig {
            lease: Duration::from_secs(120),
            max_attempts: 5,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            poll: Duration::from_millis(500),
        }
    }
}

impl WorkConfig {
    /// Delay before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff_after(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(20);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

static WORKERS: AtomicU64 = AtomicU64::new(0);

/// The host's worker identity and the signal that wakes the background loop.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) config: WorkConfig,
    pub(crate) owner: String,
    wake: Arc<(Mutex<bool>, Condvar)>,
}

impl Worker {
    pub(crate) fn new(config: WorkConfig) -> Self {
        let n = WORKERS.fetch_add(1, Ordering::Relaxed);
        Worker {
            config,
            owner: format!("{}-{n}-{:x}", std::process::id(), rand_suffix()),
            wake: Arc::new((Mutex::new(false), Condvar::new())),
        }
    }

    /// A handle that wakes the background loop, for a commit made elsewhere.
    pub(crate) fn waker(&self) -> Box<dyn Fn() + Send> {
        let wake = self.wake.clone();
        Box::new(move || {
            let (flag, cv) = &*wake;
            if let Ok(mut f) = flag.lock() {
                *f = true;
                cv.notify_all();
            }
        })
    }

    /// Wake the background loop (after a commit that may have produced work).
    pub(crate) fn wake(&self) {
        let (flag, cv) = &*self.wake;
        if let Ok(mut f) = flag.lock() {
            *f = true;
            cv.notify_all();
        }
    }

    fn wait(&self, timeout: Duration) {
        let (flag, cv) = &*self.wake;
        if let Ok(f) = flag.lock() {
            let Ok((mut f, _)) = cv.wait_timeout_while(f, timeout, |woken| !*woken) else {
                return;
            };
            *f = false;
        }
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos().into())
        .unwrap_or(0)
}

/// What one pass of [`Host::run_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkReport {
    /// Events expanded into deliveries.
    pub fanned_out: u32,
    /// Deliveries attempted.
    pub deliveries: u32,
    /// Job runs attempted.
    pub jobs: u32,
    /// Webhook deliveries attempted.
    pub webhooks: u32,
    /// Notifications handed to the SMTP relay.
    pub notifications: u32,
    /// Plugins' outbound HTTP requests attempted.
    pub http_requests: u32,
}

impl std::ops::AddAssign for WorkReport {
    fn add_assign(&mut self, pass: WorkReport) {
        self.fanned_out += pass.fanned_out;
        self.deliveries += pass.deliveries;
        self.jobs += pass.jobs;
        self.webhooks += pass.webhooks;
        self.notifications += pass.notifications;
        self.http_requests += pass.http_requests;
    }
}

impl WorkReport {
    fn is_idle(&self) -> bool {
        *self == WorkReport::default()
    }
}

/// An event with its delivery state per subscriber, as `events list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// The event.
    #[serde(flatten)]
    pub event: EventRecord,
    /// One per subscriber.
    pub deliveries: Vec<DeliveryRecord>,
}

impl std::ops::Deref for EventView {
    type Target = EventRecord;
    fn deref(&self) -> &EventRecord {
        &self.event
    }
}

const BATCH: u32 = 32;

impl Host {
    /// Process everything due at the clock's now, synchronously, until nothing is left
    /// due: fan out new events, run due deliveries and jobs. Tests call this after
    /// moving a [`TestClock`](crate::clock::TestClock); `serve` calls it in a loop.
    pub fn run_due(&self) -> HostResult<WorkReport> {
        self.run_due_waiting(true)
    }

    /// [`Host::run_due`]; `wait` for webhook attempts to end after each pass (the
    /// background loop does not: attempts finish on their own threads).
    fn run_due_waiting(&self, wait: bool) -> HostResult<WorkReport> {
        let mut total = WorkReport::default();
        loop {
            let pass = self.run_due_once()?;
            if wait {
                self.wait_for_webhooks();
                self.notifier.wait_idle();
                self.outbound.wait_idle();
            }
            if pass.is_idle() {
                return Ok(total);
            }
            total += pass;
        }
    }

    fn run_due_once(&self) -> HostResult<WorkReport> {
        let mut report = WorkReport::default();
        let now = self.clock.now_ms();
        // Each tenant (on SQLite, which keeps a file per tenant) or all at once (on a
        // shared database) is claimed in a transaction of its own, so one tenant's
        // busy writer never delays another's work.
        for scope in self.storage.work_scopes(now)? {
            let pass = self.run_due_in(scope.as_deref())?;
            report += pass;
        }
        Ok(report)
    }

    /// One pass over the work of `scope` (a tenant, or every tenant when `None`).
    fn run_due_in(&self, scope: Option<&str>) -> HostResult<WorkReport> {
        let mut report = WorkReport {
            fanned_out: self.fan_out(scope)?,
            ..WorkReport::default()
        };
        let now = self.clock.now_ms();
        let owner = self.worker.owner.clone();
        let lease = Lease::new(now, now + ms(self.worker.config.lease), &owner);
        // Hosts sharing a database claim one at a time (each row once per lease).
        let mut tx = self.begin_scoped(scope.unwrap_or("work:claim"))?;
        let deliveries = tx.delivery_claim(&lease, BATCH)?;
        let jobs = tx.job_claim(&lease, BATCH)?;
        // Never more than the free sender threads of the tenant's share, nor more to
        // one endpoint than its share: a claimed attempt starts at once. A claim that
        // leaves due deliveries behind grows the tenant's share (`webhooks/pool.rs`).
        let mut room = self.webhook_room(scope);
        let webhooks = if room.limit > 0 {
            let claimed = tx.webhook_claim(&lease, &mut room)?;
            self.webhook_adapt(scope, room.left_behind > 0);
            claimed
        } else {
            Vec::new()
        };
        let free = self.mail_capacity(scope);
        let mails = if free > 0 {
            tx.notify_claim(&lease, free)?
        } else {
            Vec::new()
        };
        let free = self.outbound.capacity(scope);
        let requests = if free > 0 {
            tx.http_claim(&lease, free)?
        } else {
            Vec::new()
        };
        tx.commit()?;
        for (d, event) in deliveries {
            self.deliver(&d, &event)?;
            report.deliveries += 1;
        }
        for (job, run_id) in jobs {
            self.run_job(&job, run_id)?;
            report.jobs += 1;
        }
        // Attempts run on the sender pool: the pass never waits for an endpoint.
        report.webhooks = u32::try_from(webhooks.len()).unwrap_or(u32::MAX);
        for (d, endpoint, event) in webhooks {
            self.submit_webhook(d, endpoint, event);
        }
        report.notifications = u32::try_from(mails.len()).unwrap_or(u32::MAX);
        for n in mails {
            self.submit_mail(n);
        }
        let requests = self.hold_disabled(requests)?;
        report.http_requests = u32::try_from(requests.len()).unwrap_or(u32::MAX);
        for r in requests {
            self.submit_http(r);
        }
        Ok(report)
    }

    fn fan_out(&self, scope: Option<&str>) -> HostResult<u32> {
        // One host fans out at a time, in event order, so deliveries of a topic are
        // created in emit order.
        let mut tx = self.begin_scoped(scope.unwrap_or("work:fan-out"))?;
        let events = tx.event_unfanned(256)?;
        let now = self.clock.now_ms();
        let mut subscribers: std::collections::HashMap<(String, String), Vec<String>> =
            std::collections::HashMap::new();
        for e in &events {
            let key = (e.tenant.clone(), e.topic.clone());
            if !subscribers.contains_key(&key) {
                let list = self.subscribers(tx.as_mut(), &e.tenant, &e.topic)?;
                subscribers.insert(key.clone(), list);
            }
            let list = subscribers.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            // Webhook deliveries are created in the same transaction that marks the
            // event expanded: each endpoint gets each event once, never twice.
            tx.webhook_fan_out(e, now)?;
            tx.event_fan_out(e, list, now)?;
        }
        tx.commit()?;
        Ok(u32::try_from(events.len()).unwrap_or(u32::MAX))
    }

    /// Plugins enabled for `tenant` whose manifest subscribes to `topic`.
    fn subscribers(
        &self,
        tx: &mut dyn Transaction,
        tenant: &str,
        topic: &str,
    ) -> HostResult<Vec<String>> {
        let mut out = Vec::new();
        for e in tx
            .enablement_for_tenant(tenant)?
            .into_iter()
            .filter(|e| e.enabled)
        {
            if let Some(record) = tx.package_current(&e.plugin)? {
                let loaded = self.load(tx, &record)?;
                if loaded.manifest.subscriptions.iter().any(|s| s == topic) {
                    out.push(e.plugin);
                }
            }
        }
        Ok(out)
    }

    /// Outcome of a failed attempt: retry later or dead letter.
    fn failed(&self, attempts: u32, error: String) -> Finish {
        if attempts >= self.worker.config.max_attempts {
            Finish::Dead { error }
        } else {
            Finish::Retry {
                at_ms: self.clock.now_ms() + ms(self.worker.config.backoff_after(attempts)),
                error,
            }
        }
    }

    /// Run one plugin action for a tenant as the plugin's background principal in a fresh
    /// transaction; on success `finish` records the outcome in that same transaction.
    fn run_work(
        &self,
        tenant: &str,
        plugin: &str,
        action: Action,
        label: &str,
        finish: impl Fn(&mut dyn Transaction) -> HostResult<()>,
    ) -> Result<Option<()>, HostError> {
        // A job is batch work: it runs on a snapshot and writes in one short step at
        // the end (see `optimistic`); if another call changed a key it writes
        // meanwhile, it runs again holding the tenant's writer, without keeping the
        // tenant's earlier writers waiting for their commit (`begin_scoped_long`).
        if let Action::RunJob { .. } = action {
            let snapshot = Box::new(
                OptimisticTx::new(
                    self.storage.clone(),
                    self.loader.audit_key.clone(),
                    tenant,
                    self.storage.begin_read()?,
                )
                .waking(self.worker.waker())
                .guarding(self.runtime.limits().quotas.clone()),
            );
            match self.run_work_in(snapshot, tenant, plugin, action.clone(), label, &finish) {
                Err(HostError::Storage(StoreError::Retry(reason))) => {
                    tracing::debug!(%tenant, %plugin, "{label} runs again under the lock: {reason}");
                }
                other => return other,
            }
            let tx = self.storage.begin_scoped_long(tenant)?;
            return self.run_work_in(tx, tenant, plugin, action, label, &finish);
        }
        let tx = self.begin_scoped(tenant)?;
        self.run_work_in(tx, tenant, plugin, action, label, &finish)
    }

    /// [`Host::run_work`] in the transaction `tx`.
    fn run_work_in(
        &self,
        mut tx: Box<dyn Transaction>,
        tenant: &str,
        plugin: &str,
        action: Action,
        label: &str,
        finish: &dyn Fn(&mut dyn Transaction) -> HostResult<()>,
    ) -> Result<Option<()>, HostError> {
        let Some(tenant_row) = tx.tenant_get(tenant)? else {
            return Ok(None);
        };
        let enabled = tx
            .enablement_get(tenant, plugin)?
            .is_some_and(|e| e.enabled);
        let Some(record) = tx.package_current(plugin)?.filter(|_| enabled) else {
            return Ok(None);
        };
        let loaded = self.load(tx.as_mut(), &record)?;
        let deadline = self.runtime.limits().background_deadline;
        // Not the system: whoever queued the work (a user with few permissions, by
        // scheduling a job or emitting an event) must not gain more through it.
        let principal = Principal::plugin(plugin, tenant, &loaded.manifest.background.permissions);
        let (_, mut tx) = self.run(
            tx,
            &tenant_row,
            &record,
            &loaded,
            &principal,
            action,
            label,
            deadline,
            None,
            None,
        )?;
        finish(tx.as_mut())?;
        tx.commit()?;
        Ok(Some(()))
    }

    fn deliver(&self, d: &DeliveryRecord, event: &EventRecord) -> HostResult<()> {
        let owner = self.worker.owner.clone();
        if d.attempts > self.worker.config.max_attempts {
            return self.finish_delivery(
                d,
                Finish::Dead {
                    error: "its worker stopped during every attempt".into(),
                },
            );
        }
        let action = Action::OnEvent {
            topic: event.topic.clone(),
            payload: event.payload.clone(),
        };
        let label = format!("event '{}' #{}", event.topic, event.seq);
        let outcome = self.run_work(&d.tenant, &d.subscriber, action, &label, |tx| {
            let now = self.clock.now_ms();
            tx.delivery_finish(d.id, &owner, now, &Finish::Done { next_ms: None })?;
            Ok(())
        });
        match outcome {
            Ok(Some(())) => Ok(()),
            Ok(None) => self.finish_delivery(
                d,
                Finish::Skipped {
                    reason: format!("'{}' is not enabled for the tenant any more", d.subscriber),
                },
            ),
            Err(e @ HostError::Storage(_)) => Err(e),
            Err(e) => {
                tracing::warn!(tenant = %d.tenant, subscriber = %d.subscriber, attempt = d.attempts, "delivery failed: {e}");
                self.finish_delivery(d, self.failed(d.attempts, e.to_string()))
            }
        }
    }

    fn finish_delivery(&self, d: &DeliveryRecord, finish: Finish) -> HostResult<()> {
        let mut tx = self.begin_scoped(&d.tenant)?;
        tx.delivery_finish(d.id, &self.worker.owner, self.clock.now_ms(), &finish)?;
        tx.commit()?;
        Ok(())
    }

    fn run_job(&self, job: &JobRecord, run_id: i64) -> HostResult<()> {
        let owner = self.worker.owner.clone();
        if job.attempts > self.worker.config.max_attempts {
            return self.finish_job(
                job,
                run_id,
                0,
                Finish::Dead {
                    error: "its worker stopped during every attempt".into(),
                },
            );
        }
        let next_ms = self.next_occurrence(job)?;
        let action = Action::RunJob {
            job: job.job.clone(),
            payload: job.payload.clone(),
        };
        let label = format!("job '{}'", job.job);
        let started = Instant::now();
        let outcome = self.run_work(&job.tenant, &job.plugin, action, &label, |tx| {
            let took = ms(started.elapsed());
            tx.job_finish(job.id, run_id, &owner, took, &Finish::Done { next_ms })?;
            Ok(())
        });
        match outcome {
            Ok(Some(())) => Ok(()),
            Ok(None) => self.finish_job(
                job,
                run_id,
                0,
                Finish::Skipped {
                    reason: format!("'{}' is not enabled for the tenant", job.plugin),
                },
            ),
            Err(e @ HostError::Storage(_)) => Err(e),
            Err(e) => {
                tracing::warn!(tenant = %job.tenant, plugin = %job.plugin, job = %job.job, attempt = job.attempts, "job failed: {e}");
                let finish = self.failed(job.attempts, e.to_string());
                self.finish_job(job, run_id, ms(started.elapsed()), finish)
            }
        }
    }

    fn finish_job(
        &self,
        job: &JobRecord,
        run_id: i64,
        took_ms: i64,
        finish: Finish,
    ) -> HostResult<()> {
        let mut tx = self.begin_scoped(&job.tenant)?;
        tx.job_finish(job.id, run_id, &self.worker.owner, took_ms, &finish)?;
        tx.commit()?;
        Ok(())
    }

    /// The next cron occurrence strictly after now, in the tenant's zone; none for a
    /// one-off run.
    fn next_occurrence(&self, job: &JobRecord) -> HostResult<Option<i64>> {
        let Some(expr) = &job.cron else {
            return Ok(None);
        };
        let mut tx = self.storage.begin_read()?;
        let tenant = Host::require_tenant(tx.as_mut(), &job.tenant)?;
        drop(tx);
        next_cron_ms(expr, &tenant.time_zone, self.clock.now_ms()).map(Some)
    }

    /// Create or re-arm the cron schedules of a plugin's jobs for a tenant, and resume
    /// its paused one-off runs (called when the plugin is enabled).
    pub(crate) fn arm_schedules(
        &self,
        tx: &mut dyn Transaction,
        tenant: &str,
        time_zone: &str,
        plugin: &str,
        manifest: &crate::manifest::Manifest,
    ) -> HostResult<()> {
        let now = self.clock.now_ms();
        for job in &manifest.jobs {
            if let Some(expr) = &job.cron {
                let next = next_cron_ms(expr, time_zone, now)?;
                tx.job_upsert_cron(tenant, plugin, &job.name, expr, next)?;
            }
        }
        tx.job_resume_once(tenant, plugin)?;
        Ok(())
    }

    /// Jobs matching `filter`.
    pub fn jobs(&self, filter: &JobFilter) -> HostResult<Vec<JobRecord>> {
        Ok(self.storage.begin_read()?.job_list(filter)?)
    }

    /// Run history, newest first, of one job or of all.
    pub fn job_history(&self, job_id: Option<i64>, limit: u32) -> HostResult<Vec<JobRun>> {
        Ok(self.storage.begin_read()?.job_runs(job_id, limit)?)
    }

    /// Schedule a run of a declared job of an enabled plugin now; the worker (or the
    /// next [`Host::run_due`]) picks it up. Returns the run's job id.
    pub fn run_job_now(
        &self,
        tenant: &str,
        plugin: &str,
        job: &str,
        payload: &str,
    ) -> HostResult<i64> {
        let mut tx = self.write_tenant(tenant)?;
        let record = Host::require_package(tx.as_mut(), plugin)?;
        if !tx
            .enablement_get(tenant, plugin)?
            .is_some_and(|e| e.enabled)
        {
            return Err(HostError::Forbidden(format!(
                "plugin '{plugin}' is not enabled for tenant '{tenant}'"
            )));
        }
        let loaded = self.load(tx.as_mut(), &record)?;
        if !loaded.manifest.jobs.iter().any(|j| j.name == job) {
            return Err(HostError::NotFound(format!(
                "plugin {plugin} declares no job '{job}'; its jobs are: [{}]",
                loaded.manifest.job_names()
            )));
        }
        serde_json::from_str::<serde::de::IgnoredAny>(payload)
            .map_err(|e| HostError::InvalidInput(format!("payload is not JSON: {e}")))?;
        let id = tx.job_insert_once(tenant, plugin, job, payload, self.clock.now_ms())?;
        tx.commit()?;
        self.worker.wake();
        Ok(id)
    }

    /// Revive a failed (dead-lettered) job so it runs again now.
    pub fn retry_job(&self, id: i64) -> HostResult<JobRecord> {
        let owner = self.storage.begin_read()?.job_get(id)?.map(|j| j.tenant);
        let mut tx = self.begin_for(owner.as_deref())?;
        let job = tx.job_get(id)?.ok_or_else(|| {
            HostError::NotFound(format!("no job with id {id}; see `backoffice jobs list`"))
        })?;
        if !tx.job_retry(id, self.clock.now_ms())? {
            return Err(HostError::Conflict(format!(
                "job {id} ({} {} for {}) is '{}', not failed; only failed jobs can be retried",
                job.plugin, job.job, job.tenant, job.state
            )));
        }
        let job = tx.job_get(id)?.unwrap_or(job);
        tx.commit()?;
        self.worker.wake();
        Ok(job)
    }

    /// Revive a dead delivery so it is attempted again now.
    pub fn retry_delivery(&self, id: i64) -> HostResult<()> {
        // The delivery's tenant is known only once it is read: a race with that
        // tenant's writer is run again.
        self.retrying(|| {
            let mut tx = self.begin()?;
            if !tx.delivery_retry(id, self.clock.now_ms())? {
                return Err(HostError::Conflict(format!(
                    "delivery {id} is not dead (or does not exist); see `backoffice events list`"
                )));
            }
            tx.commit()?;
            Ok(())
        })?;
        self.worker.wake();
        Ok(())
    }

    /// Events matching `filter`, newest first, with their deliveries.
    pub fn event_views(&self, filter: &EventFilter) -> HostResult<Vec<EventView>> {
        let mut tx = self.storage.begin_read()?;
        let events = tx.event_list(filter)?;
        events
            .into_iter()
            .map(|event| {
                Ok(EventView {
                    deliveries: tx.delivery_list(event.id)?,
                    event,
                })
            })
            .collect()
    }

    /// Wake the background work loop now.
    pub fn wake_worker(&self) {
        self.worker.wake();
    }

    /// Run [`Host::run_due`] until `stop` is set, waking every `poll` interval or when
    /// a commit signals new work. Errors are logged and retried.
    pub fn work_loop(&self, stop: &std::sync::atomic::AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = self.run_due_waiting(false) {
                tracing::error!("scheduler pass failed: {e}");
            }
            self.worker.wait(self.worker.config.poll);
        }
    }
}

/// The first occurrence of `expr` strictly after `after_ms`, in zone `time_zone`.
pub fn next_cron_ms(expr: &str, time_zone: &str, after_ms: i64) -> HostResult<i64> {
    let cron = Cron::parse(expr).map_err(HostError::InvalidInput)?;
    let tz = jiff::tz::TimeZone::get(time_zone)
        .map_err(|e| HostError::Internal(format!("time zone '{time_zone}': {e}")))?;
    let after = jiff::Timestamp::from_millisecond(after_ms)
        .map_err(|e| HostError::Internal(format!("time out of range: {e}")))?;
    cron.next_after(after, &tz)
        .map(|t| t.as_millisecond())
        .ok_or_else(|| HostError::InvalidInput(format!("cron '{expr}' never fires")))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
