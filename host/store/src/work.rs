//! Rows of durable work: scheduled jobs, their run history and event deliveries.
//!
//! Both kinds of work follow one protocol: a worker *claims* due rows, which sets a
//! lease (owner and expiry) and counts an attempt, commits, runs the plugin in a
//! separate transaction, then *finishes* the row. A worker that dies leaves the lease
//! to expire; the row is then due again. Times are ms since the Unix epoch.
//!
//! [`WorkStore`] is implemented here once for both backends; what differs (how
//! claims pick and lock their rows) is each backend's [`WorkClaims`].

use serde::Serialize;

use super::events::{EventFilter, EventRecord, NewEvent, event};
use super::sql;
use super::sql_conn::{Backend, Lease, RowGet, SqlConn, args, from_row, u32_of};
use super::{Result, StoreError, WorkStore};

/// What to do with a claimed row after its attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Succeeded. A cron job is rescheduled at `next_ms`; other work is done.
    Done {
        /// Next cron occurrence, for cron jobs.
        next_ms: Option<i64>,
    },
    /// Failed; try again at `at_ms`.
    Retry {
        /// When.
        at_ms: i64,
        /// Why it failed.
        error: String,
    },
    /// Failed for the last time: dead letter, until an admin retries it.
    Dead {
        /// Why it failed.
        error: String,
    },
    /// No longer applicable (the plugin was disabled or removed for the tenant).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl Finish {
    /// `(state, next_attempt_ms, done_ms)` of an outbound row (a webhook delivery, a
    /// notification, an HTTP request) whose attempt ended so at `now_ms`; `done` is
    /// the state of an accepted one.
    pub(super) fn outcome(
        &self,
        done: &'static str,
        now_ms: i64,
    ) -> (&'static str, Option<i64>, Option<i64>) {
        match self {
            Finish::Done { .. } => (done, None, Some(now_ms)),
            Finish::Retry { at_ms, .. } => ("pending", Some(*at_ms), None),
            Finish::Dead { .. } | Finish::Skipped { .. } => ("dead", None, Some(now_ms)),
        }
    }
}

/// A scheduled job of one plugin in one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// Id.
    pub id: i64,
    /// Tenant.
    pub tenant: String,
    /// Plugin.
    pub plugin: String,
    /// Job name from the manifest.
    pub job: String,
    /// Cron expression, or none for a one-off run.
    pub cron: Option<String>,
    /// JSON payload passed to `run-job`.
    pub payload: String,
    /// `scheduled`, `paused`, `done`, `failed` (dead letter) or `cancelled`.
    pub state: String,
    /// When it runs next.
    pub next_run_ms: i64,
    /// Attempts of the current run so far.
    pub attempts: u32,
    /// Lease expiry while a worker runs it.
    pub lease_until_ms: Option<i64>,
    /// The worker holding the lease.
    pub lease_owner: Option<String>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
}

/// One attempt of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRun {
    /// Id.
    pub id: i64,
    /// The job row.
    pub job_id: i64,
    /// Tenant.
    pub tenant: String,
    /// Plugin.
    pub plugin: String,
    /// Job name.
    pub job: String,
    /// Attempt number of this run, from 1.
    pub attempt: u32,
    /// When it started.
    pub started_ms: i64,
    /// How long it took, once finished.
    pub duration_ms: Option<i64>,
    /// `running`, `ok`, `error` or `abandoned` (its worker died).
    pub outcome: String,
    /// The error, if it failed.
    pub error: Option<String>,
}

/// A leased delivery and the event it delivers.
pub type ClaimedDelivery = (DeliveryRecord, EventRecord);

/// The delivery of one event to one subscriber.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRecord {
    /// Id.
    pub id: i64,
    /// The event.
    pub event_id: i64,
    /// Tenant of the event.
    pub tenant: String,
    /// Topic of the event.
    pub topic: String,
    /// Subscribing plugin.
    pub subscriber: String,
    /// `pending`, `done`, `dead` or `skipped`.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_ms: i64,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it succeeded.
    pub done_ms: Option<i64>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only this plugin's.
    pub plugin: Option<String>,
}

/// How much durable work is waiting, summed over every tenant (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkDepth {
    /// Scheduled jobs whose time has come and that no worker has claimed yet.
    pub jobs_due: u64,
    /// Jobs a worker has claimed and not finished (their lease holds).
    pub jobs_running: u64,
    /// Jobs that failed every attempt (dead letters).
    pub jobs_failed: u64,
    /// Events not yet expanded into deliveries.
    pub events_unfanned: u64,
    /// Event deliveries to subscribing plugins still to be made.
    pub deliveries_pending: u64,
    /// Event deliveries that failed every attempt.
    pub deliveries_dead: u64,
    /// Webhook deliveries still to be sent.
    pub webhooks_pending: u64,
    /// Webhook deliveries that failed every attempt.
    pub webhooks_dead: u64,
    /// Plugins' outbound HTTP requests still to be sent.
    pub http_pending: u64,
    /// Plugins' outbound HTTP requests that failed for good.
    pub http_dead: u64,
}

impl WorkDepth {
    /// Add another scope's counts (one tenant file's) to these.
    pub fn add(&mut self, other: &WorkDepth) {
        self.jobs_due += other.jobs_due;
        self.jobs_running += other.jobs_running;
        self.jobs_failed += other.jobs_failed;
        self.events_unfanned += other.events_unfanned;
        self.deliveries_pending += other.deliveries_pending;
        self.deliveries_dead += other.deliveries_dead;
        self.webhooks_pending += other.webhooks_pending;
        self.webhooks_dead += other.webhooks_dead;
        self.http_pending += other.http_pending;
        self.http_dead += other.http_dead;
    }

    /// From the counts of [`WORK_DEPTH`], in its column order.
    pub(super) fn from_counts(c: [i64; 10]) -> WorkDepth {
        let n = |i: usize| u64::try_from(c[i]).unwrap_or(0);
        WorkDepth {
            jobs_due: n(0),
            jobs_running: n(1),
            jobs_failed: n(2),
            events_unfanned: n(3),
            deliveries_pending: n(4),
            deliveries_dead: n(5),
            webhooks_pending: n(6),
            webhooks_dead: n(7),
            http_pending: n(8),
            http_dead: n(9),
        }
    }
}

super::sql::sql! {
    /// The counts of [`WorkDepth`] at `$1` (now, ms).
    WORK_DEPTH = "SELECT
    (SELECT count(*) FROM jobs WHERE state = 'scheduled' AND next_run_ms <= $1
        AND (lease_until_ms IS NULL OR lease_until_ms <= $1)),
    (SELECT count(*) FROM jobs WHERE state = 'scheduled' AND lease_until_ms > $1),
    (SELECT count(*) FROM jobs WHERE state = 'failed'),
    (SELECT count(*) FROM events WHERE fanned_out = 0),
    (SELECT count(*) FROM deliveries WHERE state = 'pending'),
    (SELECT count(*) FROM deliveries WHERE state = 'dead'),
    (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'),
    (SELECT count(*) FROM webhook_deliveries WHERE state = 'dead'),
    (SELECT count(*) FROM http_requests WHERE state = 'pending'),
    (SELECT count(*) FROM http_requests WHERE state = 'dead')";
}

/// A job row of `sql::JOB_DUE`'s column list.
pub(super) fn job(r: &impl RowGet) -> Result<JobRecord> {
    Ok(from_row!(r => JobRecord {
        id, tenant, plugin, job, cron, payload, state, next_run_ms,
        attempts: u32_of,
        lease_until_ms, lease_owner, last_error,
    }))
}

fn run(r: &impl RowGet) -> Result<JobRun> {
    Ok(from_row!(r => JobRun {
        id, job_id, tenant, plugin, job,
        attempt: u32_of,
        started_ms, duration_ms, outcome, error,
    }))
}

/// A delivery row of `id, event_id, tenant, topic, subscriber, state, attempts,
/// next_attempt_ms, last_error, done_ms`.
pub(super) fn delivery(r: &impl RowGet) -> Result<DeliveryRecord> {
    Ok(from_row!(r => DeliveryRecord {
        id, event_id, tenant, topic, subscriber, state,
        attempts: u32_of,
        next_attempt_ms, last_error, done_ms,
    }))
}

/// Lease a claimed job to `owner`: count the attempt, mark runs a dead worker left
/// behind as abandoned and open this attempt's `running` run; the job and the run's
/// id.
pub(super) fn lease_job(
    c: &mut impl SqlConn,
    mut job: JobRecord,
    lease: &Lease<'_>,
) -> Result<(JobRecord, i64)> {
    c.execute(sql::JOB_LEASE, &args![job.id, lease.until_ms, lease.owner])?;
    c.execute(sql::JOB_RUNS_ABANDON, &args![job.id])?;
    job.attempts += 1;
    job.lease_until_ms = Some(lease.until_ms);
    job.lease_owner = Some(lease.owner.to_string());
    let run = args![
        job.id,
        &job.tenant,
        &job.plugin,
        &job.job,
        job.attempts,
        lease.now_ms
    ];
    let run_id = c.query_one(sql::JOB_RUN_INSERT, &run, |r| r.get(0))?;
    Ok((job, run_id))
}

/// Lease a claimed delivery to `owner`, counting an attempt; the delivery and its
/// event.
pub(super) fn lease_delivery(
    c: &mut impl SqlConn,
    mut d: DeliveryRecord,
    lease: &Lease<'_>,
) -> Result<ClaimedDelivery> {
    c.execute(
        sql::DELIVERY_LEASE,
        &args![d.id, lease.until_ms, lease.owner],
    )?;
    d.attempts += 1;
    let event = c.query_one(sql::EVENT_GET, &args![d.event_id], |r| event(r))?;
    Ok((d, event))
}

/// How each backend picks the due jobs and deliveries a claim leases (with
/// [`lease_job`] and [`lease_delivery`]): a SQLite file has one writer; PostgreSQL
/// hosts claim side by side and skip rows another holds.
pub(super) trait WorkClaims: SqlConn {
    /// See [`WorkStore::job_claim`].
    fn claim_jobs(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<(JobRecord, i64)>>;

    /// See [`WorkStore::delivery_claim`].
    fn claim_deliveries(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<ClaimedDelivery>>;
}

/// Both backends' transactions, in their tenant's file (SQLite) or the database.
impl<B: Backend> WorkStore for B
where
    B::Conn: WorkClaims,
{
    fn event_append(&mut self, e: &NewEvent) -> Result<EventRecord> {
        let c = self.sql_conn()?;
        let seq = c.query_one(sql::EVENT_APPEND, &args![&e.tenant], |r| r.get(0))?;
        let row = args![
            &e.tenant,
            seq,
            &e.topic,
            &e.payload,
            &e.plugin,
            &e.version,
            e.created_at_ms
        ];
        let Some(id) = c.query_opt(sql::EVENT_INSERT, &row, |r| r.get(0))? else {
            return Err(StoreError::Retry(format!(
                "event {seq} of tenant '{}' was taken by a concurrent call",
                e.tenant
            )));
        };
        Ok(EventRecord {
            id,
            tenant: e.tenant.clone(),
            seq,
            topic: e.topic.clone(),
            payload: e.payload.clone(),
            plugin: e.plugin.clone(),
            version: e.version.clone(),
            created_at_ms: e.created_at_ms,
        })
    }

    fn event_list(&mut self, f: &EventFilter) -> Result<Vec<EventRecord>> {
        let args = args![f.tenant.as_deref(), f.topic.as_deref(), f.limit];
        self.sql_conn()?
            .query_rows(sql::EVENT_LIST, &args, |r| event(r))
    }

    fn job_upsert_cron(
        &mut self,
        tenant: &str,
        plugin: &str,
        job: &str,
        cron: &str,
        next_run_ms: i64,
    ) -> Result<()> {
        let args = args![tenant, plugin, job, cron, next_run_ms];
        self.sql_conn()?.execute(sql::JOB_UPSERT_CRON, &args)?;
        Ok(())
    }

    fn job_insert_once(
        &mut self,
        tenant: &str,
        plugin: &str,
        job: &str,
        payload: &str,
        at_ms: i64,
    ) -> Result<i64> {
        let args = args![tenant, plugin, job, payload, at_ms];
        self.sql_conn()?
            .query_one(sql::JOB_INSERT_ONCE, &args, |r| r.get(0))
    }

    fn job_pause(&mut self, tenant: &str, plugin: &str) -> Result<()> {
        self.sql_conn()?
            .execute(sql::JOB_PAUSE, &args![tenant, plugin])?;
        Ok(())
    }

    fn job_resume_once(&mut self, tenant: &str, plugin: &str) -> Result<()> {
        self.sql_conn()?
            .execute(sql::JOB_RESUME_ONCE, &args![tenant, plugin])?;
        Ok(())
    }

    fn job_delete_plugin(&mut self, plugin: &str) -> Result<()> {
        self.sql_conn()?
            .execute(sql::JOB_DELETE_PLUGIN, &args![plugin])?;
        Ok(())
    }

    fn job_cancel(&mut self, tenant: &str, plugin: &str, id: i64) -> Result<bool> {
        let args = args![id, tenant, plugin];
        Ok(self.sql_conn()?.execute(sql::JOB_CANCEL, &args)? > 0)
    }

    fn job_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<(JobRecord, i64)>> {
        self.sql_conn()?.claim_jobs(lease, limit)
    }

    fn job_finish(
        &mut self,
        id: i64,
        run_id: i64,
        owner: &str,
        duration_ms: i64,
        finish: &Finish,
    ) -> Result<bool> {
        let (outcome, error) = match finish {
            Finish::Done { .. } => ("ok", None),
            Finish::Retry { error, .. } | Finish::Dead { error } => ("error", Some(error.as_str())),
            Finish::Skipped { reason } => ("skipped", Some(reason.as_str())),
        };
        let c = self.sql_conn()?;
        c.execute(sql::JOB_FINISH, &args![run_id, outcome, error, duration_ms])?;
        let n = match finish {
            Finish::Done {
                next_ms: Some(next),
            } => c.execute(sql::JOB_FINISH_NEXT, &args![id, owner, *next])?,
            Finish::Done { next_ms: None } => c.execute(sql::JOB_FINISH_DONE, &args![id, owner])?,
            Finish::Retry { at_ms, error } => {
                c.execute(sql::JOB_FINISH_RETRY, &args![id, owner, *at_ms, error])?
            }
            Finish::Dead { error } => c.execute(sql::JOB_FINISH_DEAD, &args![id, owner, error])?,
            Finish::Skipped { reason } => {
                c.execute(sql::JOB_FINISH_SKIPPED, &args![id, owner, reason])?
            }
        };
        Ok(n > 0)
    }

    fn job_get(&mut self, id: i64) -> Result<Option<JobRecord>> {
        self.sql_conn()?
            .query_opt(sql::JOB_GET, &args![id], |r| job(r))
    }

    fn job_list(&mut self, f: &JobFilter) -> Result<Vec<JobRecord>> {
        let args = args![f.tenant.as_deref(), f.plugin.as_deref()];
        self.sql_conn()?
            .query_rows(sql::JOB_LIST, &args, |r| job(r))
    }

    fn job_runs(&mut self, job_id: Option<i64>, limit: u32) -> Result<Vec<JobRun>> {
        self.sql_conn()?
            .query_rows(sql::JOB_RUNS, &args![job_id, limit], |r| run(r))
    }

    fn job_retry(&mut self, id: i64, now_ms: i64) -> Result<bool> {
        Ok(self
            .sql_conn()?
            .execute(sql::JOB_RETRY, &args![id, now_ms])?
            > 0)
    }

    fn work_depth(&mut self, now_ms: i64) -> Result<WorkDepth> {
        let counts = self
            .sql_conn()?
            .query_one(WORK_DEPTH, &args![now_ms], |r| {
                let mut counts = [0i64; 10];
                for (i, count) in counts.iter_mut().enumerate() {
                    *count = r.get(i)?;
                }
                Ok(counts)
            })?;
        Ok(WorkDepth::from_counts(counts))
    }

    fn event_unfanned(&mut self, limit: u32) -> Result<Vec<EventRecord>> {
        self.sql_conn()?
            .query_rows(sql::EVENT_UNFANNED, &args![limit], |r| event(r))
    }

    fn event_fan_out(
        &mut self,
        event: &EventRecord,
        subscribers: &[String],
        now_ms: i64,
    ) -> Result<()> {
        let c = self.sql_conn()?;
        for s in subscribers {
            let args = args![event.id, &event.tenant, &event.topic, s, now_ms];
            c.execute(sql::DELIVERY_INSERT, &args)?;
        }
        c.execute(sql::EVENT_MARK_FANNED, &args![event.id])?;
        Ok(())
    }

    fn delivery_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<ClaimedDelivery>> {
        self.sql_conn()?.claim_deliveries(lease, limit)
    }

    fn delivery_finish(
        &mut self,
        id: i64,
        owner: &str,
        now_ms: i64,
        finish: &Finish,
    ) -> Result<bool> {
        let (state, next, error): (&str, Option<i64>, Option<&str>) = match finish {
            Finish::Done { .. } => ("done", None, None),
            Finish::Retry { at_ms, error } => ("pending", Some(*at_ms), Some(error.as_str())),
            Finish::Dead { error } => ("dead", None, Some(error.as_str())),
            Finish::Skipped { reason } => ("skipped", None, Some(reason.as_str())),
        };
        let args = args![id, owner, state, next, error, now_ms];
        Ok(self.sql_conn()?.execute(sql::DELIVERY_FINISH, &args)? > 0)
    }

    fn delivery_get(&mut self, id: i64) -> Result<Option<DeliveryRecord>> {
        self.sql_conn()?
            .query_opt(sql::DELIVERY_GET, &args![id], |r| delivery(r))
    }

    fn delivery_list(&mut self, event_id: i64) -> Result<Vec<DeliveryRecord>> {
        self.sql_conn()?
            .query_rows(sql::DELIVERY_LIST, &args![event_id], |r| delivery(r))
    }

    fn delivery_retry(&mut self, id: i64, now_ms: i64) -> Result<bool> {
        Ok(self
            .sql_conn()?
            .execute(sql::DELIVERY_RETRY, &args![id, now_ms])?
            > 0)
    }
}
