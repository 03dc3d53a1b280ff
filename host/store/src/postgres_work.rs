//! PostgreSQL side of durable work: how a claim picks its rows, locking each with
//! `FOR UPDATE SKIP LOCKED` so hosts claiming side by side never lease one row twice
//! (the rest of [`WorkStore`](super::WorkStore) is in `work.rs`, for both backends).

use super::postgres::{Conn, is_retryable};
use super::sql;
use super::sql_conn::{Lease, RowGet, SqlConn, args};
use super::work::{WorkClaims, delivery, job, lease_delivery, lease_job};
use super::{ClaimedDelivery, JobRecord, Result};

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

impl WorkClaims for Conn {
    fn claim_jobs(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<(JobRecord, i64)>> {
        let now_ms = lease.now_ms;
        // Candidates beyond `limit`: some may turn out to be taken by another host.
        let candidates = args![now_ms, i64::from(limit) * 4];
        let due = self.query_rows(sql::JOB_DUE, &candidates, job)?;
        let mut claimed = Vec::new();
        for job in due {
            if claimed.len() >= limit as usize {
                break;
            }
            if !try_lock(self, "jobs", job.id, "state = 'scheduled'", now_ms)? {
                continue;
            }
            claimed.push(lease_job(self, job, lease)?);
        }
        Ok(claimed)
    }

    fn claim_deliveries(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<ClaimedDelivery>> {
        let (now_ms, limit) = (lease.now_ms, limit as usize);
        // Only the oldest pending delivery of each (tenant, topic, subscriber) may run,
        // so each subscriber sees a topic in emit order.
        let heads = self.query_rows_text(
            "SELECT id, event_id, tenant, topic, subscriber, state, attempts, next_attempt_ms,
                    last_error, done_ms, lease_until_ms FROM (
                       SELECT DISTINCT ON (tenant, topic, subscriber) *
                       FROM deliveries WHERE state = 'pending'
                       ORDER BY tenant, topic, subscriber, event_id
                     ) heads ORDER BY event_id",
            &[],
            |r| Ok((delivery(r)?, RowGet::get::<Option<i64>>(r, 10)?)),
        )?;
        let mut claimed = Vec::new();
        for (d, lease_until) in heads {
            if claimed.len() >= limit {
                break;
            }
            if d.next_attempt_ms > now_ms || lease_until.is_some_and(|l| l > now_ms) {
                continue;
            }
            if !try_lock(self, "deliveries", d.id, "state = 'pending'", now_ms)? {
                continue;
            }
            claimed.push(lease_delivery(self, d, lease)?);
        }
        Ok(claimed)
    }
}
