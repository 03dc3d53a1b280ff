//! PostgreSQL side of the event outbox and of durable work (jobs, job runs,
//! deliveries), called from the [`Transaction`](super::Transaction) impl in
//! `postgres.rs`. Claims lock each row with `FOR UPDATE SKIP LOCKED`.

use super::sql;
use postgres::Row;

use super::postgres::{Conn, Duplicate, is_retryable, retry_on_unique};
use super::{
    DeliveryRecord, EventFilter, EventRecord, Finish, JobFilter, JobRecord, JobRun, NewEvent,
    Result,
};

fn u(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

const EVENT_COLUMNS: &str = "id, tenant, seq, topic, payload, plugin, version, created_at_ms";

fn row_to_event(r: &Row) -> EventRecord {
    EventRecord {
        id: r.get(0),
        tenant: r.get(1),
        seq: r.get(2),
        topic: r.get(3),
        payload: r.get(4),
        plugin: r.get(5),
        version: r.get(6),
        created_at_ms: r.get(7),
    }
}

const JOB_COLUMNS: &str = "id, tenant, plugin, job, cron, payload, state, next_run_ms, attempts, \
                           lease_until_ms, lease_owner, last_error";

fn row_to_job(r: &Row) -> JobRecord {
    JobRecord {
        id: r.get(0),
        tenant: r.get(1),
        plugin: r.get(2),
        job: r.get(3),
        cron: r.get(4),
        payload: r.get(5),
        state: r.get(6),
        next_run_ms: r.get(7),
        attempts: u(r.get(8)),
        lease_until_ms: r.get(9),
        lease_owner: r.get(10),
        last_error: r.get(11),
    }
}

const RUN_COLUMNS: &str =
    "id, job_id, tenant, plugin, job, attempt, started_ms, duration_ms, outcome, error";

fn row_to_run(r: &Row) -> JobRun {
    JobRun {
        id: r.get(0),
        job_id: r.get(1),
        tenant: r.get(2),
        plugin: r.get(3),
        job: r.get(4),
        attempt: u(r.get(5)),
        started_ms: r.get(6),
        duration_ms: r.get(7),
        outcome: r.get(8),
        error: r.get(9),
    }
}

const DELIVERY_COLUMNS: &str = "id, event_id, tenant, topic, subscriber, state, attempts, \
                                next_attempt_ms, last_error, done_ms";

fn row_to_delivery(r: &Row) -> DeliveryRecord {
    DeliveryRecord {
        id: r.get(0),
        event_id: r.get(1),
        tenant: r.get(2),
        topic: r.get(3),
        subscriber: r.get(4),
        state: r.get(5),
        attempts: u(r.get(6)),
        next_attempt_ms: r.get(7),
        last_error: r.get(8),
        done_ms: r.get(9),
    }
}

/// Lock row `id` of `table` if `condition` still holds and no other worker has it
/// locked. A row another transaction changed after this one's snapshot counts as
/// taken: its savepoint is rolled back and the transaction goes on.
fn try_lock(c: &mut Conn, table: &str, id: i64, condition: &str, now_ms: i64) -> Result<bool> {
    c.client.batch_execute("SAVEPOINT claim_row")?;
    let sql = format!(
        "SELECT id FROM {table} WHERE id = $1 AND {condition}
           AND (lease_until_ms IS NULL OR lease_until_ms <= $2)
         FOR UPDATE SKIP LOCKED"
    );
    let stmt = c.prepare(&sql)?;
    match c.client.query_opt(&stmt, &[&id, &now_ms]) {
        Ok(row) => {
            c.client.batch_execute("RELEASE claim_row")?;
            Ok(row.is_some())
        }
        Err(e) if is_retryable(&e) => {
            c.client
                .batch_execute("ROLLBACK TO claim_row; RELEASE claim_row")?;
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn event_append(c: &mut Conn, e: &NewEvent) -> Result<EventRecord> {
    let seq: i64 = c.query_one(sql::EVENT_APPEND.pg, &[&e.tenant])?.get(0);
    let row = c.query_opt(
        "INSERT INTO events (tenant, seq, topic, payload, plugin, version, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, seq) DO NOTHING RETURNING id",
        &[
            &e.tenant,
            &seq,
            &e.topic,
            &e.payload,
            &e.plugin,
            &e.version,
            &e.created_at_ms,
        ],
    )?;
    let Some(row) = row else {
        return Err(retry_on_unique(Duplicate, || {
            format!(
                "event {seq} of tenant '{}' was taken by a concurrent call",
                e.tenant
            )
        }));
    };
    let id: i64 = row.get(0);
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

pub(super) fn event_list(c: &mut Conn, f: &EventFilter) -> Result<Vec<EventRecord>> {
    Ok(c.query(
        &format!(
            "SELECT {EVENT_COLUMNS} FROM events
                     WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR topic = $2)
                     ORDER BY id DESC LIMIT $3"
        ),
        &[&f.tenant, &f.topic, &i64::from(f.limit)],
    )?
    .iter()
    .map(row_to_event)
    .collect())
}

pub(super) fn job_upsert_cron(
    c: &mut Conn,
    tenant: &str,
    plugin: &str,
    job: &str,
    cron: &str,
    next_run_ms: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
             VALUES ($1, $2, $3, $4, 'null', 'scheduled', $5)
             ON CONFLICT (tenant, plugin, job) WHERE cron IS NOT NULL DO UPDATE SET
                cron = excluded.cron, next_run_ms = excluded.next_run_ms,
                state = CASE WHEN jobs.state = 'failed' THEN 'failed' ELSE 'scheduled' END,
                lease_until_ms = NULL, lease_owner = NULL",
        &[&tenant, &plugin, &job, &cron, &next_run_ms],
    )?;
    Ok(())
}

pub(super) fn job_insert_once(
    c: &mut Conn,
    tenant: &str,
    plugin: &str,
    job: &str,
    payload: &str,
    at_ms: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
                 VALUES ($1, $2, $3, NULL, $4, 'scheduled', $5) RETURNING id",
        &[&tenant, &plugin, &job, &payload, &at_ms],
    )?
    .get(0))
}

pub(super) fn job_pause(c: &mut Conn, tenant: &str, plugin: &str) -> Result<()> {
    c.exec(sql::JOB_PAUSE.pg, &[&tenant, &plugin])?;
    Ok(())
}

pub(super) fn job_resume_once(c: &mut Conn, tenant: &str, plugin: &str) -> Result<()> {
    c.exec(sql::JOB_RESUME_ONCE.pg, &[&tenant, &plugin])?;
    Ok(())
}

pub(super) fn job_delete_plugin(c: &mut Conn, plugin: &str) -> Result<()> {
    c.exec(sql::JOB_DELETE_PLUGIN.pg, &[&plugin])?;
    Ok(())
}

pub(super) fn job_cancel(c: &mut Conn, tenant: &str, plugin: &str, id: i64) -> Result<bool> {
    Ok(c.exec(sql::JOB_CANCEL.pg, &[&id, &tenant, &plugin])? > 0)
}

pub(super) fn job_claim(
    c: &mut Conn,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    limit: u32,
) -> Result<Vec<(JobRecord, i64)>> {
    // Candidates beyond `limit`: some may turn out to be taken by another host.
    let due: Vec<JobRecord> = c
        .query(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs
                     WHERE state = 'scheduled' AND next_run_ms <= $1
                       AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
                     ORDER BY next_run_ms, id LIMIT $2"
            ),
            &[&now_ms, &(i64::from(limit) * 4)],
        )?
        .iter()
        .map(row_to_job)
        .collect();
    let mut claimed = Vec::new();
    for mut job in due {
        if claimed.len() >= limit as usize {
            break;
        }
        if !try_lock(c, "jobs", job.id, "state = 'scheduled'", now_ms)? {
            continue;
        }
        c.exec(sql::JOB_LEASE.pg, &[&job.id, &lease_until_ms, &owner])?;
        c.exec(sql::JOB_RUNS_ABANDON.pg, &[&job.id])?;
        job.attempts += 1;
        job.lease_until_ms = Some(lease_until_ms);
        job.lease_owner = Some(owner.to_string());
        let run_id: i64 = c
            .query_one(
                "INSERT INTO job_runs (job_id, tenant, plugin, job, attempt, started_ms, outcome)
                     VALUES ($1, $2, $3, $4, $5, $6, 'running') RETURNING id",
                &[
                    &job.id,
                    &job.tenant,
                    &job.plugin,
                    &job.job,
                    &i64::from(job.attempts),
                    &now_ms,
                ],
            )?
            .get(0);
        claimed.push((job, run_id));
    }
    Ok(claimed)
}

pub(super) fn job_finish(
    c: &mut Conn,
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
    c.exec(
        sql::JOB_FINISH.pg,
        &[&run_id, &outcome, &error, &duration_ms],
    )?;
    const RELEASE: &str = "lease_until_ms = NULL, lease_owner = NULL";
    const MINE: &str = "WHERE id = $1 AND lease_owner = $2";
    let n = match finish {
        Finish::Done {
            next_ms: Some(next),
        } => c.exec(
            &format!(
                "UPDATE jobs SET state = 'scheduled', next_run_ms = $3, attempts = 0,
                       last_error = NULL, {RELEASE} {MINE}"
            ),
            &[&id, &owner, next],
        )?,
        Finish::Done { next_ms: None } => c.exec(
            &format!("UPDATE jobs SET state = 'done', last_error = NULL, {RELEASE} {MINE}"),
            &[&id, &owner],
        )?,
        Finish::Retry { at_ms, error } => c.exec(
            &format!("UPDATE jobs SET next_run_ms = $3, last_error = $4, {RELEASE} {MINE}"),
            &[&id, &owner, at_ms, error],
        )?,
        Finish::Dead { error } => c.exec(
            &format!("UPDATE jobs SET state = 'failed', last_error = $3, {RELEASE} {MINE}"),
            &[&id, &owner, error],
        )?,
        Finish::Skipped { reason } => c.exec(
            &format!(
                "UPDATE jobs SET state = CASE WHEN cron IS NULL THEN 'paused' ELSE state END,
                       last_error = $3, {RELEASE} {MINE}"
            ),
            &[&id, &owner, reason],
        )?,
    };
    Ok(n > 0)
}

pub(super) fn job_get(c: &mut Conn, id: i64) -> Result<Option<JobRecord>> {
    Ok(c.query_opt(
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
        &[&id],
    )?
    .as_ref()
    .map(row_to_job))
}

pub(super) fn job_list(c: &mut Conn, f: &JobFilter) -> Result<Vec<JobRecord>> {
    Ok(c.query(
        &format!(
            "SELECT {JOB_COLUMNS} FROM jobs
                     WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR plugin = $2)
                     ORDER BY tenant, plugin, job, id"
        ),
        &[&f.tenant, &f.plugin],
    )?
    .iter()
    .map(row_to_job)
    .collect())
}

pub(super) fn job_runs(c: &mut Conn, job_id: Option<i64>, limit: u32) -> Result<Vec<JobRun>> {
    Ok(c.query(
        &format!(
            "SELECT {RUN_COLUMNS} FROM job_runs WHERE ($1::bigint IS NULL OR job_id = $1)
                     ORDER BY id DESC LIMIT $2"
        ),
        &[&job_id, &i64::from(limit)],
    )?
    .iter()
    .map(row_to_run)
    .collect())
}

pub(super) fn job_retry(c: &mut Conn, id: i64, now_ms: i64) -> Result<bool> {
    Ok(c.exec(sql::JOB_RETRY.pg, &[&id, &now_ms])? > 0)
}

pub(super) fn event_unfanned(c: &mut Conn, limit: u32) -> Result<Vec<EventRecord>> {
    Ok(c.query(
        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE fanned_out = 0 ORDER BY id LIMIT $1"),
        &[&i64::from(limit)],
    )?
    .iter()
    .map(row_to_event)
    .collect())
}

pub(super) fn event_fan_out(
    c: &mut Conn,
    event: &EventRecord,
    subscribers: &[String],
    now_ms: i64,
) -> Result<()> {
    for s in subscribers {
        c.exec(
            sql::DELIVERY_INSERT.pg,
            &[&event.id, &event.tenant, &event.topic, s, &now_ms],
        )?;
    }
    c.exec(sql::EVENT_MARK_FANNED.pg, &[&event.id])?;
    Ok(())
}

pub(super) fn delivery_claim(
    c: &mut Conn,
    now_ms: i64,
    lease_until_ms: i64,
    owner: &str,
    limit: u32,
) -> Result<Vec<(DeliveryRecord, EventRecord)>> {
    // Only the oldest pending delivery of each (tenant, topic, subscriber) may run,
    // so each subscriber sees a topic in emit order.
    let heads: Vec<(DeliveryRecord, Option<i64>)> = c
        .query(
            &format!(
                "SELECT {DELIVERY_COLUMNS}, lease_until_ms FROM (
                       SELECT DISTINCT ON (tenant, topic, subscriber) *
                       FROM deliveries WHERE state = 'pending'
                       ORDER BY tenant, topic, subscriber, event_id
                     ) heads ORDER BY event_id"
            ),
            &[],
        )?
        .iter()
        .map(|r| (row_to_delivery(r), r.get(10)))
        .collect();
    let mut claimed = Vec::new();
    for (mut d, lease_until) in heads {
        if claimed.len() >= limit as usize {
            break;
        }
        if d.next_attempt_ms > now_ms || lease_until.is_some_and(|l| l > now_ms) {
            continue;
        }
        if !try_lock(c, "deliveries", d.id, "state = 'pending'", now_ms)? {
            continue;
        }
        c.exec(sql::DELIVERY_LEASE.pg, &[&d.id, &lease_until_ms, &owner])?;
        d.attempts += 1;
        let event = c.query_one(
            &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1"),
            &[&d.event_id],
        )?;
        claimed.push((d, row_to_event(&event)));
    }
    Ok(claimed)
}

pub(super) fn delivery_finish(
    c: &mut Conn,
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
    Ok(c.exec(
        sql::DELIVERY_FINISH.pg,
        &[&id, &owner, &state, &next, &error, &now_ms],
    )? > 0)
}

pub(super) fn delivery_list(c: &mut Conn, event_id: i64) -> Result<Vec<DeliveryRecord>> {
    Ok(c.query(
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE event_id = $1 ORDER BY subscriber"
        ),
        &[&event_id],
    )?
    .iter()
    .map(row_to_delivery)
    .collect())
}

pub(super) fn delivery_retry(c: &mut Conn, id: i64, now_ms: i64) -> Result<bool> {
    Ok(c.exec(sql::DELIVERY_RETRY.pg, &[&id, &now_ms])? > 0)
}
