//! SQLite side of durable work: jobs, job runs and event deliveries. Called from the
//! [`Transaction`](super::Transaction) impl in `sqlite.rs`.

use super::sql;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    DeliveryRecord, EventRecord, Finish, JobFilter, JobRecord, JobRun, Result, sqlite_events,
};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    job TEXT NOT NULL,
    cron TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    next_run_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until_ms INTEGER,
    lease_owner TEXT,
    last_error TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_cron ON jobs (tenant, plugin, job) WHERE cron IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_run_ms);
CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    plugin TEXT NOT NULL,
    job TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    duration_ms INTEGER,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL REFERENCES events(id),
    tenant TEXT NOT NULL,
    topic TEXT NOT NULL,
    subscriber TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms INTEGER,
    lease_owner TEXT,
    last_error TEXT,
    done_ms INTEGER,
    UNIQUE (event_id, subscriber)
);
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (tenant, topic, subscriber, state, event_id);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, event_id);
CREATE INDEX IF NOT EXISTS deliveries_heads ON deliveries (state, tenant, topic, subscriber, event_id);
"#;

const JOB_COLUMNS: &str = "id, tenant, plugin, job, cron, payload, state, next_run_ms, attempts, \
                           lease_until_ms, lease_owner, last_error";

fn row_to_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        plugin: r.get(2)?,
        job: r.get(3)?,
        cron: r.get(4)?,
        payload: r.get(5)?,
        state: r.get(6)?,
        next_run_ms: r.get(7)?,
        attempts: r.get(8)?,
        lease_until_ms: r.get(9)?,
        lease_owner: r.get(10)?,
        last_error: r.get(11)?,
    })
}

const RUN_COLUMNS: &str =
    "id, job_id, tenant, plugin, job, attempt, started_ms, duration_ms, outcome, error";

fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRun> {
    Ok(JobRun {
        id: r.get(0)?,
        job_id: r.get(1)?,
        tenant: r.get(2)?,
        plugin: r.get(3)?,
        job: r.get(4)?,
        attempt: r.get(5)?,
        started_ms: r.get(6)?,
        duration_ms: r.get(7)?,
        outcome: r.get(8)?,
        error: r.get(9)?,
    })
}

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, d.tenant, d.topic, d.subscriber, d.state, \
                                d.attempts, d.next_attempt_ms, d.last_error, d.done_ms";

fn row_to_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: r.get(0)?,
        event_id: r.get(1)?,
        tenant: r.get(2)?,
        topic: r.get(3)?,
        subscriber: r.get(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        next_attempt_ms: r.get(7)?,
        last_error: r.get(8)?,
        done_ms: r.get(9)?,
    })
}

// --- jobs ---

pub(super) fn job_upsert_cron(
    conn: &Connection,
    tenant: &str,
    plugin: &str,
    job: &str,
    cron: &str,
    next_run_ms: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
         VALUES (?1, ?2, ?3, ?4, 'null', 'scheduled', ?5)
         ON CONFLICT (tenant, plugin, job) WHERE cron IS NOT NULL DO UPDATE SET
            cron = excluded.cron, next_run_ms = excluded.next_run_ms,
            state = CASE WHEN state = 'failed' THEN 'failed' ELSE 'scheduled' END,
            lease_until_ms = NULL, lease_owner = NULL",
        params![tenant, plugin, job, cron, next_run_ms],
    )?;
    Ok(())
}

pub(super) fn job_insert_once(
    conn: &Connection,
    tenant: &str,
    plugin: &str,
    job: &str,
    payload: &str,
    at_ms: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
         VALUES (?1, ?2, ?3, NULL, ?4, 'scheduled', ?5)",
        params![tenant, plugin, job, payload, at_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn job_pause(conn: &Connection, tenant: &str, plugin: &str) -> Result<()> {
    conn.execute(sql::JOB_PAUSE.lite, params![tenant, plugin])?;
    Ok(())
}

pub(super) fn job_resume_once(conn: &Connection, tenant: &str, plugin: &str) -> Result<()> {
    conn.execute(sql::JOB_RESUME_ONCE.lite, params![tenant, plugin])?;
    Ok(())
}

pub(super) fn job_delete_plugin(conn: &Connection, plugin: &str) -> Result<()> {
    conn.execute(sql::JOB_DELETE_PLUGIN.lite, params![plugin])?;
    Ok(())
}

pub(super) fn job_cancel(conn: &Connection, tenant: &str, plugin: &str, id: i64) -> Result<bool> {
    let n = conn.execute(sql::JOB_CANCEL.lite, params![id, tenant, plugin])?;
    Ok(n > 0)
}

pub(super) fn job_claim(
    conn: &Connection,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    limit: u32,
) -> Result<Vec<(JobRecord, i64)>> {
    let due: Vec<JobRecord> = conn
        .prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE state = 'scheduled' AND next_run_ms <= ?1
               AND (lease_until_ms IS NULL OR lease_until_ms <= ?1)
             ORDER BY next_run_ms, id LIMIT ?2"
        ))?
        .query_map(params![now_ms, limit], row_to_job)?
        .collect::<rusqlite::Result<_>>()?;
    let mut claimed = Vec::with_capacity(due.len());
    for mut job in due {
        conn.prepare_cached(sql::JOB_LEASE.lite)?.execute(params![
            job.id,
            lease_until_ms,
            owner
        ])?;
        conn.prepare_cached(sql::JOB_RUNS_ABANDON.lite)?
            .execute(params![job.id])?;
        job.attempts += 1;
        job.lease_until_ms = Some(lease_until_ms);
        job.lease_owner = Some(owner.to_string());
        conn.prepare_cached(
            "INSERT INTO job_runs (job_id, tenant, plugin, job, attempt, started_ms, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
        )?
        .execute(params![
            job.id,
            job.tenant,
            job.plugin,
            job.job,
            job.attempts,
            now_ms
        ])?;
        claimed.push((job, conn.last_insert_rowid()));
    }
    Ok(claimed)
}

pub(super) fn job_finish(
    conn: &Connection,
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
    conn.prepare_cached(sql::JOB_FINISH.lite)?.execute(params![
        run_id,
        outcome,
        error,
        duration_ms
    ])?;
    const RELEASE: &str = "lease_until_ms = NULL, lease_owner = NULL";
    const MINE: &str = "WHERE id = ?1 AND lease_owner = ?2";
    let n = match finish {
        Finish::Done {
            next_ms: Some(next),
        } => conn.execute(
            &format!(
                "UPDATE jobs SET state = 'scheduled', next_run_ms = ?3, attempts = 0,
                   last_error = NULL, {RELEASE} {MINE}"
            ),
            params![id, owner, next],
        )?,
        Finish::Done { next_ms: None } => conn.execute(
            &format!("UPDATE jobs SET state = 'done', last_error = NULL, {RELEASE} {MINE}"),
            params![id, owner],
        )?,
        Finish::Retry { at_ms, error } => conn.execute(
            &format!("UPDATE jobs SET next_run_ms = ?3, last_error = ?4, {RELEASE} {MINE}"),
            params![id, owner, at_ms, error],
        )?,
        Finish::Dead { error } => conn.execute(
            &format!("UPDATE jobs SET state = 'failed', last_error = ?3, {RELEASE} {MINE}"),
            params![id, owner, error],
        )?,
        Finish::Skipped { reason } => conn.execute(
            &format!(
                "UPDATE jobs SET state = CASE WHEN cron IS NULL THEN 'paused' ELSE state END,
                   last_error = ?3, {RELEASE} {MINE}"
            ),
            params![id, owner, reason],
        )?,
    };
    Ok(n > 0)
}

pub(super) fn job_get(conn: &Connection, id: i64) -> Result<Option<JobRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
            params![id],
            row_to_job,
        )
        .optional()?)
}

pub(super) fn job_list(conn: &Connection, f: &JobFilter) -> Result<Vec<JobRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs
         WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR plugin = ?2)
         ORDER BY tenant, plugin, job, id"
    ))?;
    let rows = stmt.query_map(params![f.tenant, f.plugin], row_to_job)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn job_runs(conn: &Connection, job_id: Option<i64>, limit: u32) -> Result<Vec<JobRun>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RUN_COLUMNS} FROM job_runs WHERE (?1 IS NULL OR job_id = ?1)
         ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![job_id, limit], row_to_run)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn job_retry(conn: &Connection, id: i64, now_ms: i64) -> Result<bool> {
    let n = conn.execute(sql::JOB_RETRY.lite, params![id, now_ms])?;
    Ok(n > 0)
}

// --- deliveries ---

pub(super) fn event_unfanned(conn: &Connection, limit: u32) -> Result<Vec<EventRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM events WHERE fanned_out = 0 ORDER BY id LIMIT ?1",
        sqlite_events::EVENT_COLUMNS
    ))?;
    let rows = stmt.query_map(params![limit], sqlite_events::row_to_event)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn event_fan_out(
    conn: &Connection,
    event: &EventRecord,
    subscribers: &[String],
    now_ms: i64,
) -> Result<()> {
    for s in subscribers {
        conn.prepare_cached(sql::DELIVERY_INSERT.lite)?
            .execute(params![event.id, event.tenant, event.topic, s, now_ms])?;
    }
    conn.prepare_cached(sql::EVENT_MARK_FANNED.lite)?
        .execute(params![event.id])?;
    Ok(())
}

pub(super) fn delivery_claim(
    conn: &Connection,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    limit: u32,
) -> Result<Vec<(DeliveryRecord, EventRecord)>> {
    // Only the oldest pending delivery of each (tenant, topic, subscriber) may run.
    // The groups are walked by a loose index scan (a few index seeks per group) and
    // each group's head is one more seek, so a long backlog costs nothing per claim;
    // filtering every pending row instead made draining a backlog quadratic.
    let mut heads: Vec<DeliveryRecord> = Vec::new();
    let mut group = next_pending_group(conn, None)?;
    while let Some((tenant, topic, subscriber)) = group {
        let head = conn
            .prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS}, d.lease_until_ms FROM deliveries d
                 WHERE d.state = 'pending' AND d.tenant = ?1 AND d.topic = ?2
                   AND d.subscriber = ?3
                 ORDER BY d.event_id LIMIT 1"
            ))?
            .query_row(params![tenant, topic, subscriber], |r| {
                Ok((row_to_delivery(r)?, r.get::<_, Option<i64>>(10)?))
            })
            .optional()?;
        if let Some((d, lease_until)) = head
            && d.next_attempt_ms <= now_ms
            && lease_until.is_none_or(|l| l <= now_ms)
        {
            heads.push(d);
        }
        group = next_pending_group(conn, Some((tenant, topic, subscriber)))?;
    }
    heads.sort_by_key(|d| d.event_id);
    heads.truncate(limit as usize);
    let due = heads;
    let mut claimed = Vec::with_capacity(due.len());
    for mut d in due {
        conn.prepare_cached(sql::DELIVERY_LEASE.lite)?
            .execute(params![d.id, lease_until_ms, owner])?;
        d.attempts += 1;
        let event = conn
            .prepare_cached(&format!(
                "SELECT {} FROM events WHERE id = ?1",
                sqlite_events::EVENT_COLUMNS
            ))?
            .query_row(params![d.event_id], sqlite_events::row_to_event)?;
        claimed.push((d, event));
    }
    Ok(claimed)
}

type Group = (String, String, String);

/// The next (tenant, topic, subscriber) with pending deliveries after `after`, in
/// index order; each step is an index seek on `deliveries_heads`.
fn next_pending_group(conn: &Connection, after: Option<Group>) -> Result<Option<Group>> {
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
    let Some((tenant, topic, subscriber)) = after else {
        return Ok(conn
            .prepare_cached(
                "SELECT tenant, topic, subscriber FROM deliveries WHERE state = 'pending'
                 ORDER BY tenant, topic, subscriber LIMIT 1",
            )?
            .query_row([], row)
            .optional()?);
    };
    let same_topic = conn
        .prepare_cached(
            "SELECT tenant, topic, subscriber FROM deliveries
             WHERE state = 'pending' AND tenant = ?1 AND topic = ?2 AND subscriber > ?3
             ORDER BY subscriber LIMIT 1",
        )?
        .query_row(params![tenant, topic, subscriber], row)
        .optional()?;
    if same_topic.is_some() {
        return Ok(same_topic);
    }
    let same_tenant = conn
        .prepare_cached(
            "SELECT tenant, topic, subscriber FROM deliveries
             WHERE state = 'pending' AND tenant = ?1 AND topic > ?2
             ORDER BY topic, subscriber LIMIT 1",
        )?
        .query_row(params![tenant, topic], row)
        .optional()?;
    if same_tenant.is_some() {
        return Ok(same_tenant);
    }
    Ok(conn
        .prepare_cached(
            "SELECT tenant, topic, subscriber FROM deliveries
             WHERE state = 'pending' AND tenant > ?1
             ORDER BY tenant, topic, subscriber LIMIT 1",
        )?
        .query_row(params![tenant], row)
        .optional()?)
}

pub(super) fn delivery_finish(
    conn: &Connection,
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
    let n = conn
        .prepare_cached(sql::DELIVERY_FINISH.lite)?
        .execute(params![id, owner, state, next, error, now_ms])?;
    Ok(n > 0)
}

pub(super) fn delivery_list(conn: &Connection, event_id: i64) -> Result<Vec<DeliveryRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.event_id = ?1 ORDER BY d.subscriber"
    ))?;
    let rows = stmt.query_map(params![event_id], row_to_delivery)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn delivery_retry(conn: &Connection, id: i64, now_ms: i64) -> Result<bool> {
    let n = conn.execute(sql::DELIVERY_RETRY.lite, params![id, now_ms])?;
    Ok(n > 0)
}
