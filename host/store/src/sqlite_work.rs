//! SQLite side of durable work: the tables of jobs, job runs and event deliveries,
//! and how a claim picks its rows (the rest of [`WorkStore`](super::WorkStore) is in
//! `work.rs`, for both backends).

use rusqlite::{Connection, OptionalExtension, params};

use super::sql;
use super::sql_conn::{Lease, SqlConn, args};
use super::sqlite::lease_columns;
use super::work::{WorkClaims, delivery, job, lease_delivery, lease_job};
use super::{ClaimedDelivery, DeliveryRecord, JobRecord, Result};

pub(super) const SCHEMA: &str = concat!(
    r#"
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
"#,
    lease_columns!(),
    r#"    last_error TEXT,
    done_ms INTEGER,
    UNIQUE (event_id, subscriber)
);
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (tenant, topic, subscriber, state, event_id);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, event_id);
CREATE INDEX IF NOT EXISTS deliveries_heads ON deliveries (state, tenant, topic, subscriber, event_id);
"#
);

/// One file has one writer: the due rows are simply the oldest.
impl WorkClaims for Connection {
    fn claim_jobs(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<(JobRecord, i64)>> {
        let args = args![lease.now_ms, limit];
        let due = self.query_rows(sql::JOB_DUE, &args, |r| job(r))?;
        let mut claimed = Vec::with_capacity(due.len());
        for job in due {
            claimed.push(lease_job(self, job, lease)?);
        }
        Ok(claimed)
    }

    fn claim_deliveries(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<ClaimedDelivery>> {
        // Only the oldest pending delivery of each (tenant, topic, subscriber) may run.
        // The groups are walked by a loose index scan (a few index seeks per group) and
        // each group's head is one more seek, so a long backlog costs nothing per claim;
        // filtering every pending row instead made draining a backlog quadratic.
        let mut heads: Vec<DeliveryRecord> = Vec::new();
        let mut group = next_pending_group(self, None)?;
        while let Some(g) = group {
            if let Some((d, lease_until)) = pending_head(self, &g)?
                && d.next_attempt_ms <= lease.now_ms
                && lease_until.is_none_or(|l| l <= lease.now_ms)
            {
                heads.push(d);
            }
            group = next_pending_group(self, Some(g))?;
        }
        heads.sort_by_key(|d| d.event_id);
        heads.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(heads.len());
        for d in heads {
            claimed.push(lease_delivery(self, d, lease)?);
        }
        Ok(claimed)
    }
}

type Group = (String, String, String);

/// The oldest pending delivery of a group, with its lease's expiry.
fn pending_head(conn: &Connection, group: &Group) -> Result<Option<(DeliveryRecord, Option<i64>)>> {
    let (tenant, topic, subscriber) = group;
    let mut stmt = conn.prepare_cached(
        "SELECT id, event_id, tenant, topic, subscriber, state, attempts, next_attempt_ms,
                last_error, done_ms, lease_until_ms FROM deliveries
         WHERE state = 'pending' AND tenant = ?1 AND topic = ?2 AND subscriber = ?3
         ORDER BY event_id LIMIT 1",
    )?;
    let mut rows = stmt.query(params![tenant, topic, subscriber])?;
    match rows.next()? {
        Some(r) => Ok(Some((delivery(r)?, r.get(10)?))),
        None => Ok(None),
    }
}

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
