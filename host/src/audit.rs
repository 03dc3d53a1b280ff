//! The audit log: one hash chain per tenant (and one for host administration).
//!
//! Each link stores what happened and `hash = SHA-256(prev_hash, fields)`; a link is
//! written in the same transaction as the change it records, so a change without its
//! link (or a link without its change) cannot be committed. `verify` recomputes every
//! chain and reports the first link that does not match: an edited, deleted or
//! inserted row breaks the chain from that point.
//!
//! What a chain cannot show on its own: removal of the newest links. Exporting the
//! head hash elsewhere (`audit verify` prints it) closes that gap.

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

use crate::Host;
use crate::error::{HostError, HostResult};
use crate::store::{AuditQuery, AuditRecord, HOST_SCOPE, Transaction};

/// How long listing or verifying the log waits for read links still queued.
const FLUSH_WAIT: Duration = Duration::from_secs(5);
/// How long a change (or a refused call) waits for the read links queued before it,
/// so that one caller's actions are chained in the order they happened.
pub(crate) const ORDER_WAIT: Duration = Duration::from_secs(5);

/// `prev_hash` of the first link of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Fixed-width UTC timestamps, so text order is time order.
const AT_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Format a time the way audit links store it.
pub fn format_at(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(AT_FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".into())
}

/// Parse a `--since` value: an RFC 3339 time or a date (midnight UTC).
pub fn parse_since(text: &str) -> HostResult<String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(format_at(t));
    }
    let date_format = format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(text, date_format) {
        return Ok(format_at(d.midnight().assume_utc()));
    }
    Err(HostError::InvalidInput(format!(
        "'{text}' is not a date (2026-01-31) or an RFC 3339 time (2026-01-31T09:00:00Z)"
    )))
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Tenant id, or [`HOST_SCOPE`].
    pub tenant: String,
    /// Who acted.
    pub actor: String,
    /// What was done (`invoke`, `plugin.enable`, ...).
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// `ok` or an error code.
    pub outcome: String,
    /// Further facts.
    pub detail: serde_json::Value,
    /// How long it took, for invocations.
    pub duration: Option<Duration>,
}

impl Entry {
    /// A successful admin action.
    pub fn admin(
        tenant: &str,
        actor: &str,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> Entry {
        Entry {
            tenant: tenant.to_string(),
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.into(),
            outcome: "ok".into(),
            detail,
            duration: None,
        }
    }
}

/// The hash of a link from its fields and its predecessor's hash.
pub fn link_hash(r: &AuditRecord) -> String {
    // A JSON array is an unambiguous encoding of the fields: no separator games.
    let canonical = serde_json::json!([
        r.tenant,
        r.seq,
        r.at,
        r.actor,
        r.action,
        r.target,
        r.outcome,
        r.detail,
        r.duration_us,
        r.prev_hash
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Append `entry` to its chain inside `tx`.
pub fn append(tx: &mut dyn Transaction, entry: Entry) -> HostResult<AuditRecord> {
    let (seq, prev_hash) = match tx.audit_head(&entry.tenant)? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let mut record = AuditRecord {
        tenant: entry.tenant,
        seq,
        at: format_at(OffsetDateTime::now_utc()),
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        detail: entry.detail.to_string(),
        duration_us: entry
            .duration
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        prev_hash,
        hash: String::new(),
    };
    record.hash = link_hash(&record);
    tx.audit_append(&record)?;
    Ok(record)
}

/// The verification result of one chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Tenant id; empty for the host chain.
    pub tenant: String,
    /// Links checked.
    pub links: u64,
    /// Hash of the newest link; keep it elsewhere to detect truncation later.
    pub head: Option<String>,
    /// The first link that does not match, if any.
    pub broken_at: Option<u64>,
    /// What does not match there.
    pub problem: Option<String>,
}

/// The verification result of every chain.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Whether every chain is intact.
    pub ok: bool,
    /// Per chain.
    pub chains: Vec<ChainReport>,
}

const PAGE: u32 = 1000;

pub(crate) fn verify_chain(tx: &mut dyn Transaction, tenant: &str) -> HostResult<ChainReport> {
    let mut report = ChainReport {
        tenant: tenant.to_string(),
        links: 0,
        head: None,
        broken_at: None,
        problem: None,
    };
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1u64;
    let mut after = 0u64;
    loop {
        let page = tx.audit_list(&AuditQuery {
            tenant: Some(tenant.to_string()),
            since: None,
            after_seq: Some(after),
            limit: PAGE,
        })?;
        for link in &page {
            let problem = if link.seq != expected_seq {
                Some(format!(
                    "link {expected_seq} is missing (next stored link is {})",
                    link.seq
                ))
            } else if link.prev_hash != expected_prev {
                Some("its previous-hash does not match the link before it".to_string())
            } else if link_hash(link) != link.hash {
                Some("its content does not match its hash (the row was edited)".to_string())
            } else {
                None
            };
            if let Some(problem) = problem {
                report.broken_at = Some(expected_seq);
                report.problem = Some(problem);
                return Ok(report);
            }
            report.links += 1;
            expected_seq += 1;
            expected_prev = link.hash.clone();
            report.head = Some(link.hash.clone());
            after = link.seq;
        }
        if page.len() < PAGE as usize {
            return Ok(report);
        }
    }
}

impl Host {
    /// Audit links, oldest first.
    pub fn audit_list(&self, query: &AuditQuery) -> HostResult<Vec<AuditRecord>> {
        self.audit_queue.flush(FLUSH_WAIT);
        let mut tx = self.storage.begin_read()?;
        Ok(tx.audit_list(query)?)
    }

    /// Recompute every chain (or one tenant's).
    pub fn audit_verify(&self, tenant: Option<&str>) -> HostResult<VerifyReport> {
        self.audit_queue.flush(FLUSH_WAIT);
        let mut tx = self.storage.begin_read()?;
        let chains = match tenant {
            Some(t) => vec![t.to_string()],
            None => tx.audit_chains()?,
        };
        let mut reports = Vec::new();
        for chain in chains {
            reports.push(verify_chain(tx.as_mut(), &chain)?);
        }
        Ok(VerifyReport {
            ok: reports.iter().all(|r| r.broken_at.is_none()),
            chains: reports,
        })
    }

    /// Record an admin action of this process's operator in `tx`.
    pub(crate) fn audit_admin(
        &self,
        tx: &mut dyn Transaction,
        tenant: Option<&str>,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> HostResult<()> {
        let operator = self.operator().to_string();
        self.audit_admin_as(tx, tenant, &operator, action, target, detail)
    }

    /// Record an admin action of `actor` (a signed-in user of the console) in `tx`.
    pub(crate) fn audit_admin_as(
        &self,
        tx: &mut dyn Transaction,
        tenant: Option<&str>,
        actor: &str,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> HostResult<()> {
        append(
            tx,
            Entry::admin(tenant.unwrap_or(HOST_SCOPE), actor, action, target, detail),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_and_times() {
        assert_eq!(
            parse_since("2026-01-31").unwrap(),
            "2026-01-31T00:00:00.000000Z"
        );
        assert_eq!(
            parse_since("2026-01-31T10:00:00+01:00").unwrap(),
            "2026-01-31T09:00:00.000000Z"
        );
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn hash_covers_every_field() {
        let base = AuditRecord {
            tenant: "acme".into(),
            seq: 1,
            at: "2026-01-01T00:00:00.000000Z".into(),
            actor: "user:ada".into(),
            action: "invoke".into(),
            target: "ledger.post-entry".into(),
            outcome: "ok".into(),
            detail: "{}".into(),
            duration_us: Some(10),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        };
        let h = link_hash(&base);
        let mut changed = base.clone();
        changed.outcome = "forbidden".into();
        assert_ne!(h, link_hash(&changed));
        let mut changed = base.clone();
        changed.duration_us = None;
        assert_ne!(h, link_hash(&changed));
        assert_eq!(h, link_hash(&base.clone()));
    }
}

/// Group commit for audit links that are not part of a change of their own (read-only
/// invocations, refused and failed calls): concurrent callers queue their links, one of
/// them writes the whole queue in one transaction, and each caller returns once its
/// link is committed. Under load this turns many small commits (one disk sync each)
/// into a few larger ones.
///
/// The links of successful reads ([`Queue::record_later`]) do not make their caller
/// wait: a writer thread chains them in batches within milliseconds, and listing or
/// verifying the log first waits for it ([`Queue::flush`]). A crash can lose the links
/// of the reads answered in those last milliseconds, never a link of a change (it is
/// part of the change's transaction) nor of a refused or failed call (written before
/// the answer).
#[derive(Default)]
pub(crate) struct Queue {
    pending: std::sync::Mutex<Vec<(Entry, std::sync::Arc<Slot>)>>,
    leader: std::sync::Mutex<()>,
    later: std::sync::Arc<Later>,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Read links waiting for the writer thread.
#[derive(Default)]
struct Later {
    state: std::sync::Mutex<LaterState>,
    /// Wakes the writer (links queued, or closing) and those waiting for a flush.
    signal: std::sync::Condvar,
}

#[derive(Default)]
struct LaterState {
    entries: Vec<Entry>,
    /// Links ever queued, and ever handled (written or reported lost).
    queued: u64,
    handled: u64,
    closing: bool,
}

/// Read links queued at most; past this a reader writes its own link (and waits), so
/// a slow disk slows readers down instead of filling memory.
const MAX_LATER: usize = 16_384;

#[derive(Default)]
struct Slot {
    done: std::sync::Mutex<Option<Result<(), String>>>,
    signal: std::sync::Condvar,
}

impl Slot {
    fn finish(&self, result: Result<(), String>) {
        if let Ok(mut done) = self.done.lock() {
            *done = Some(result);
        }
        self.signal.notify_all();
    }
}

impl Queue {
    /// Append `entry` to its chain; returns once it is committed. Entries for tenants
    /// that do not exist are logged instead of chained.
    pub(crate) fn record(&self, host: &Host, entry: Entry) -> HostResult<()> {
        // After the read links queued before it, so a caller's actions stay in order.
        self.flush(ORDER_WAIT);
        let slot = std::sync::Arc::new(Slot::default());
        self.pending
            .lock()
            .map_err(|_| HostError::Internal("audit queue poisoned".into()))?
            .push((entry, slot.clone()));
        loop {
            if let Ok(_leader) = self.leader.try_lock() {
                // Write batches until the queue is empty: entries queued while one
                // batch commits go out with the next.
                loop {
                    let batch = self
                        .pending
                        .lock()
                        .map(|mut p| std::mem::take(&mut *p))
                        .unwrap_or_default();
                    if batch.is_empty() {
                        break;
                    }
                    let entries: Vec<&Entry> = batch.iter().map(|(e, _)| e).collect();
                    let result =
                        write_batch(host.storage.as_ref(), &entries).map_err(|e| e.to_string());
                    for (_, s) in &batch {
                        s.finish(result.clone());
                    }
                }
            }
            let done = slot
                .done
                .lock()
                .map_err(|_| HostError::Internal("audit queue poisoned".into()))?;
            // Wait briefly for the current leader; if it took its batch before our
            // entry arrived, we become the leader on the next turn.
            let (mut done, _) = slot
                .signal
                .wait_timeout_while(done, Duration::from_millis(2), |d| d.is_none())
                .map_err(|_| HostError::Internal("audit queue poisoned".into()))?;
            if let Some(result) = done.take() {
                return result.map_err(HostError::Internal);
            }
        }
    }

    /// Queue the link of a successful read for the writer thread and return at once
    /// (see the type's documentation); when the queue is full, [`Queue::record`] it.
    pub(crate) fn record_later(&self, host: &Host, entry: Entry) -> HostResult<()> {
        let mut state = self
            .later
            .state
            .lock()
            .map_err(|_| HostError::Internal("audit queue poisoned".into()))?;
        if state.closing || state.entries.len() >= MAX_LATER {
            drop(state);
            return self.record(host, entry);
        }
        state.entries.push(entry);
        state.queued += 1;
        drop(state);
        self.later.signal.notify_all();
        self.start_writer(host);
        Ok(())
    }

    fn start_writer(&self, host: &Host) {
        let Ok(mut writer) = self.writer.lock() else {
            return;
        };
        if writer.is_some() {
            return;
        }
        let later = self.later.clone();
        let storage = host.storage.clone();
        match std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_later(&later, storage.as_ref()))
        {
            Ok(handle) => *writer = Some(handle),
            Err(e) => tracing::error!("cannot start the audit writer thread: {e}"),
        }
    }

    /// Wait until every read link queued so far is written (at most `timeout`). Never
    /// called while holding a tenant's writer: the audit writer needs it.
    pub(crate) fn flush(&self, timeout: Duration) {
        let Ok(state) = self.later.state.lock() else {
            return;
        };
        let target = state.queued;
        if state.handled >= target {
            return;
        }
        let _ = self
            .later
            .signal
            .wait_timeout_while(state, timeout, |s| s.handled < target);
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Write what is queued before the host goes.
        if let Ok(mut state) = self.later.state.lock() {
            state.closing = true;
        }
        self.later.signal.notify_all();
        if let Some(handle) = self.writer.get_mut().ok().and_then(Option::take) {
            let _ = handle.join();
        }
    }
}

/// The writer thread: chain queued read links in batches until the queue closes.
fn write_later(later: &Later, storage: &dyn crate::store::Storage) {
    loop {
        let batch = {
            let Ok(state) = later.state.lock() else {
                return;
            };
            let Ok(mut state) = later
                .signal
                .wait_while(state, |s| s.entries.is_empty() && !s.closing)
            else {
                return;
            };
            if state.entries.is_empty() {
                return;
            }
            std::mem::take(&mut state.entries)
        };
        let entries: Vec<&Entry> = batch.iter().collect();
        if let Err(e) = write_batch(storage, &entries) {
            tracing::error!(
                links = batch.len(),
                "cannot chain the audit links of reads: {e}"
            );
        }
        if let Ok(mut state) = later.state.lock() {
            state.handled += batch.len() as u64;
        }
        later.signal.notify_all();
    }
}

fn write_batch(storage: &dyn crate::store::Storage, batch: &[&Entry]) -> HostResult<()> {
    // One transaction per chain, scoped to its tenant: on a shared database it then
    // never races the tenant's other writers (see `store::postgres`).
    let mut chains: std::collections::BTreeMap<&str, Vec<&Entry>> = Default::default();
    for entry in batch {
        chains.entry(entry.tenant.as_str()).or_default().push(entry);
    }
    for (tenant, entries) in chains {
        crate::host::retrying(|| {
            let mut tx = storage.begin_scoped(tenant)?;
            if tenant != HOST_SCOPE && tx.tenant_get(tenant)?.is_none() {
                for entry in &entries {
                    tracing::info!(tenant = %entry.tenant, actor = %entry.actor, target = %entry.target,
                        "request for an unknown tenant");
                }
                return Ok(());
            }
            for entry in &entries {
                append(tx.as_mut(), (*entry).clone())?;
            }
            tx.commit()?;
            Ok(())
        })?;
    }
    Ok(())
}
