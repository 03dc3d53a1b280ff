//! Rows of durable work: scheduled jobs, their run history and event deliveries.
//!
//! Both kinds of work follow one protocol: a worker *claims* due rows, which sets a
//! lease (owner and expiry) and counts an attempt, commits, runs the plugin in a
//! separate transaction, then *finishes* the row. A worker that dies leaves the lease
//! to expire; the row is then due again. Times are ms since the Unix epoch.

use serde::Serialize;

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

    /// From the counts of [`WORK_DEPTH_SQL`], in its column order.
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

/// The counts of [`WorkDepth`] at `$1` (now, ms), one statement for both backends
/// (SQLite reads `$1` as the first parameter too).
pub(super) const WORK_DEPTH_SQL: &str = "SELECT
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
