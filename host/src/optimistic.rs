//! Long work that does not hold its tenant's write lock: snapshot reads, deferred
//! writes, one short commit at the end.
//!
//! A batch operation (an operation declaring a longer `deadline-ms`) or a job may run
//! for seconds: a compliance scan over 100,000 ledger entries, a pay run for 10,000
//! employees. Holding the tenant's writer for all that time would make every
//! interactive write of the tenant wait. An [`OptimisticTx`] instead runs the call on
//! a read snapshot and keeps what the call writes in memory:
//!
//! - key-value writes go to an overlay that later reads and scans of the same call
//!   see (read your own writes), each remembering the value the snapshot had;
//! - events and audit links are queued in order, savepoints are marks in that queue,
//!   so a nested call that fails takes back exactly what it queued.
//!
//! At commit the transaction takes the tenant's writer ([`Storage::begin_scoped`]),
//! checks that no key it writes was changed by another call since its snapshot
//! (first committer wins, as in snapshot isolation), replays the queue, re-links the
//! audit records onto the chain's real head, and commits: the lock is held for the
//! replay only. A key written meanwhile by someone else fails the commit with
//! [`StoreError::Retry`]; the host then runs the whole call again holding the lock
//! from the start, so a busy tenant cannot starve batch work.
//!
//! What the check does not catch is write skew: two calls that each read what the
//! other writes, and write different keys. The bundled batch operations allocate
//! their ids from counter keys and update the records they read, so their conflicts
//! are write-write conflicts and caught. Anything the overlay cannot defer (a job
//! scheduled with its id returned to the plugin, an admin write) promotes the
//! transaction on the spot: the writer is taken, the queue checked and replayed, and
//! the rest of the call runs under the lock as usual.

use crate::store::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use crate::audit;
use crate::runtime::Quotas;
use crate::store::{
    AuditAnchor, AuditQuery, AuditRecord, ClaimedDelivery, DeliveryRecord, Enablement, EventFilter,
    EventRecord, Finish, JobFilter, JobRecord, JobRun, Lease, LoginThrottle, NewEvent,
    PackageRecord, QueueKind, Result, RoleRecord, ScanPage, ScanQuery, Scope, Storage, StoreError,
    Tenant, TokenRecord, Transaction, TrustedKey, UserRecord,
};
use crate::store::{DayUsage, KvUsage};

/// One deferred step, replayed in order at commit.
enum Op {
    Put {
        plugin: String,
        key: String,
        value: Vec<u8>,
    },
    Delete {
        plugin: String,
        key: String,
    },
    Event(NewEvent),
    Audit(AuditRecord),
    /// Events or runs counted for a plugin's quota of one UTC day.
    Day {
        plugin: String,
        day: i64,
        add: DayUsage,
    },
    Savepoint(String),
}

/// A tenant's call running on a snapshot with its writes deferred to commit; see the
/// module documentation.
pub(crate) struct OptimisticTx {
    storage: Arc<dyn Storage>,
    /// Seals the audit links replayed at commit.
    audit_key: Arc<audit::AuditKey>,
    tenant: String,
    /// The read snapshot, until the transaction is promoted.
    snapshot: Option<Box<dyn Transaction>>,
    /// The tenant's write transaction, once promoted.
    locked: Option<Box<dyn Transaction>>,
    log: Vec<Op>,
    /// Current value of every key the call wrote: `None` when deleted.
    overlay: BTreeMap<(String, String), Option<Vec<u8>>>,
    /// The snapshot's value of each key, taken before the call first wrote it.
    base: HashMap<(String, String), Option<Vec<u8>>>,
    /// Wakes the background worker once queued events are committed.
    wake: Option<Box<dyn Fn() + Send>>,
    /// Whether events were queued: the worker has work after the commit.
    queued_events: bool,
    /// Sequence number and hash of the last audit link queued, if any.
    audit_tail: Option<(u64, String)>,
    /// Stored keys and bytes per plugin as the snapshot has them, read once each.
    usage_base: HashMap<String, KvUsage>,
    /// What the overlay adds to them (keys, bytes), per plugin.
    usage_delta: HashMap<String, (i64, i64)>,
    /// Per plugin and day: the snapshot's counters, read once each.
    day_base: HashMap<(String, i64), DayUsage>,
    /// Per plugin and day: what the queue adds to them.
    day_pending: HashMap<(String, i64), DayUsage>,
    /// Quotas checked again once the writes are replayed under the lock.
    quotas: Option<Quotas>,
}

impl OptimisticTx {
    /// Wrap `snapshot`, a transaction from [`Storage::begin_read`], for a call of
    /// `tenant`.
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        audit_key: Arc<audit::AuditKey>,
        tenant: &str,
        snapshot: Box<dyn Transaction>,
    ) -> Self {
        OptimisticTx {
            storage,
            audit_key,
            tenant: tenant.to_string(),
            snapshot: Some(snapshot),
            locked: None,
            log: Vec::new(),
            overlay: BTreeMap::new(),
            base: HashMap::new(),
            wake: None,
            queued_events: false,
            audit_tail: None,
            usage_base: HashMap::new(),
            usage_delta: HashMap::new(),
            day_base: HashMap::new(),
            day_pending: HashMap::new(),
            quotas: None,
        }
    }

    /// Check `quotas` again when the deferred writes are replayed under the tenant's
    /// lock: calls committed since the snapshot count too. Past a quota the commit
    /// fails with [`StoreError::Retry`], and the call runs again holding the lock,
    /// where the quota refuses it at the write that crosses it.
    pub(crate) fn guarding(mut self, quotas: Quotas) -> Self {
        self.quotas = Some(quotas);
        self
    }

    /// Call `wake` after a commit that made queued events visible (the worker that
    /// delivers them looked before and found nothing).
    pub(crate) fn waking(mut self, wake: Box<dyn Fn() + Send>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Whether the transaction took its tenant's writer before commit.
    #[cfg(test)]
    pub(crate) fn promoted(&self) -> bool {
        self.locked.is_some()
    }

    /// Where reads go: the write transaction once promoted, else the snapshot.
    fn reader(&mut self) -> Result<&mut dyn Transaction> {
        if let Some(tx) = self.locked.as_mut() {
            return Ok(tx.as_mut());
        }
        match self.snapshot.as_mut() {
            Some(tx) => Ok(tx.as_mut()),
            None => Err(StoreError::Backend("transaction already finished".into())),
        }
    }

    /// Whether a scope's writes can be deferred: the call's own tenant, before
    /// promotion.
    fn defers(&self, scope: &Scope) -> bool {
        self.locked.is_none() && scope.tenant == self.tenant
    }

    /// Take the tenant's writer, check the deferred writes against what was committed
    /// since the snapshot, and replay them; from now on everything goes straight to
    /// the write transaction.
    fn promote(&mut self) -> Result<&mut dyn Transaction> {
        if self.locked.is_none() {
            let mut tx = self.storage.begin_scoped(&self.tenant)?;
            self.check(tx.as_mut())?;
            self.replay(tx.as_mut())?;
            self.snapshot = None;
            self.locked = Some(tx);
        }
        match self.locked.as_mut() {
            Some(tx) => Ok(tx.as_mut()),
            None => Err(StoreError::Backend("transaction already finished".into())),
        }
    }

    /// First committer wins: every key this call writes must still hold the value the
    /// call's snapshot saw.
    fn check(&self, tx: &mut dyn Transaction) -> Result<()> {
        for (plugin, key) in self.overlay.keys() {
            let scope = Scope {
                tenant: self.tenant.clone(),
                plugin: plugin.clone(),
            };
            let base = self.base.get(&(plugin.clone(), key.clone())).cloned();
            let now = tx.kv_get(&scope, key)?;
            if base.flatten() != now {
                return Err(StoreError::Retry(format!(
                    "another call of tenant '{}' changed key '{key}' of plugin '{plugin}' while this one ran on its snapshot",
                    self.tenant
                )));
            }
        }
        Ok(())
    }

    /// Write the deferred steps into `tx`, in order; audit links are chained onto
    /// the real head of their chain and sealed there, moving its anchor.
    fn replay(&mut self, tx: &mut dyn Transaction) -> Result<()> {
        for op in std::mem::take(&mut self.log) {
            match op {
                Op::Put { plugin, key, value } => {
                    tx.kv_put(&self.scope(plugin), &key, &value)?;
                }
                Op::Delete { plugin, key } => {
                    tx.kv_delete(&self.scope(plugin), &key)?;
                }
                Op::Event(event) => {
                    tx.event_append(&event)?;
                }
                Op::Audit(mut record) => {
                    audit::chain(tx, &self.audit_key, &mut record)?;
                }
                Op::Day { plugin, day, add } => {
                    let total = tx.quota_day_add(&self.scope(plugin.clone()), day, add)?;
                    if let Some(q) = &self.quotas
                        && ((add.events > 0 && total.events > q.events_per_day)
                            || (add.runs > 0 && total.runs > q.runs_per_day))
                    {
                        return Err(self.over_quota(&plugin, "events or runs per day"));
                    }
                }
                Op::Savepoint(name) => tx.savepoint(&name)?,
            }
        }
        if let Some(q) = self.quotas.clone() {
            let grown: Vec<String> = self
                .usage_delta
                .iter()
                .filter(|(_, (keys, bytes))| *keys > 0 || *bytes > 0)
                .map(|(plugin, _)| plugin.clone())
                .collect();
            for plugin in grown {
                let usage = tx.kv_usage(&self.scope(plugin.clone()))?;
                if usage.keys > q.stored_keys || usage.bytes > q.stored_bytes {
                    return Err(self.over_quota(&plugin, "stored keys or bytes"));
                }
            }
        }
        Ok(())
    }

    /// The commit would take a plugin past a quota, counting what other calls
    /// committed since the snapshot: run again under the lock.
    fn over_quota(&self, plugin: &str, what: &str) -> StoreError {
        StoreError::Retry(format!(
            "with the calls committed since its snapshot, this call would take plugin '{plugin}' of tenant '{}' past its quota of {what}",
            self.tenant
        ))
    }

    /// Account for the overlay's value of `(plugin, key)` becoming `new` (its
    /// length), before the overlay is changed.
    fn track(&mut self, plugin: &str, key: &str, new: Option<usize>) {
        let id = (plugin.to_string(), key.to_string());
        let old = match self.overlay.get(&id) {
            Some(current) => current.as_ref().map(Vec::len),
            None => self.base.get(&id).and_then(|v| v.as_ref().map(Vec::len)),
        };
        let size = |v: Option<usize>| v.map_or((0i64, 0i64), |n| (1, (key.len() + n) as i64));
        let ((old_keys, old_bytes), (new_keys, new_bytes)) = (size(old), size(new));
        let delta = self.usage_delta.entry(plugin.to_string()).or_default();
        delta.0 += new_keys - old_keys;
        delta.1 += new_bytes - old_bytes;
    }

    fn scope(&self, plugin: String) -> Scope {
        Scope {
            tenant: self.tenant.clone(),
            plugin,
        }
    }

    /// Remember the snapshot's value of a key before its first write.
    fn remember_base(&mut self, scope: &Scope, key: &str) -> Result<()> {
        let id = (scope.plugin.clone(), key.to_string());
        if !self.base.contains_key(&id) {
            let value = self.reader()?.kv_get(scope, key)?;
            self.base.insert(id, value);
        }
        Ok(())
    }

    /// The overlay and the audit tail as the log leaves them (after a rollback to a
    /// savepoint).
    fn rebuild_overlay(&mut self) {
        self.audit_tail = self.log.iter().rev().find_map(|op| match op {
            Op::Audit(r) => Some((r.seq, r.hash.clone())),
            _ => None,
        });
        self.overlay.clear();
        for op in &self.log {
            match op {
                Op::Put { plugin, key, value } => {
                    self.overlay
                        .insert((plugin.clone(), key.clone()), Some(value.clone()));
                }
                Op::Delete { plugin, key } => {
                    self.overlay.insert((plugin.clone(), key.clone()), None);
                }
                _ => {}
            }
        }
        self.usage_delta.clear();
        for ((plugin, key), value) in &self.overlay {
            let size =
                |v: Option<&Vec<u8>>| v.map_or((0i64, 0i64), |v| (1, (key.len() + v.len()) as i64));
            let base = self
                .base
                .get(&(plugin.clone(), key.clone()))
                .and_then(Option::as_ref);
            let ((bk, bb), (nk, nb)) = (size(base), size(value.as_ref()));
            let delta = self.usage_delta.entry(plugin.clone()).or_default();
            delta.0 += nk - bk;
            delta.1 += nb - bb;
        }
        self.day_pending.clear();
        for op in &self.log {
            if let Op::Day { plugin, day, add } = op {
                let pending = self.day_pending.entry((plugin.clone(), *day)).or_default();
                pending.events += add.events;
                pending.runs += add.runs;
            }
        }
    }

    fn last_savepoint(&self, name: &str) -> Result<usize> {
        self.log
            .iter()
            .rposition(|op| matches!(op, Op::Savepoint(n) if n == name))
            .ok_or_else(|| StoreError::Backend(format!("no such savepoint: {name}")))
    }

    /// Whether anything would be written at commit.
    fn writes(&self) -> bool {
        self.log.iter().any(|op| !matches!(op, Op::Savepoint(_)))
    }

    /// A scan of the snapshot merged with the call's own writes in its range.
    fn scan_merged(&mut self, scope: &Scope, q: &ScanQuery) -> Result<ScanPage> {
        let in_range = |k: &str| {
            q.start.as_deref().is_none_or(|s| k >= s)
                && q.end.as_deref().is_none_or(|e| k < e)
                && q.after
                    .as_deref()
                    .is_none_or(|a| if q.reverse { k < a } else { k > a })
        };
        let mine: Vec<(String, Option<Vec<u8>>)> = match overlay_bounds(&scope.plugin, q) {
            Some(bounds) => self
                .overlay
                .range(bounds)
                .take_while(|((plugin, _), _)| *plugin == scope.plugin)
                .filter(|((_, key), _)| in_range(key))
                .map(|((_, key), value)| (key.clone(), value.clone()))
                .collect(),
            None => Vec::new(),
        };
        if mine.is_empty() {
            return self.reader()?.kv_scan(scope, q);
        }
        // Each key of the overlay may hide one row of the page: ask for that many
        // more, so a full page remains.
        let extra = u32::try_from(mine.len()).unwrap_or(u32::MAX);
        let mut query = q.clone();
        query.limit = q.limit.saturating_add(extra);
        loop {
            let page = self.reader()?.kv_scan(scope, &query)?;
            // Past the last row of a partial page the snapshot was not read: only
            // own writes up to there can be placed in order.
            let frontier = page
                .more
                .then(|| page.entries.last().map(|(k, _)| k.clone()))
                .flatten();
            let before_frontier = |k: &str| {
                frontier
                    .as_deref()
                    .is_none_or(|f| if q.reverse { k >= f } else { k <= f })
            };
            let mut merged: BTreeMap<String, Vec<u8>> = page
                .entries
                .into_iter()
                .filter(|(k, _)| {
                    !self
                        .overlay
                        .contains_key(&(scope.plugin.clone(), k.clone()))
                })
                .collect();
            for (key, value) in &mine {
                if let Some(value) = value
                    && before_frontier(key)
                {
                    merged.insert(key.clone(), value.clone());
                }
            }
            if merged.is_empty() && page.more {
                // Every row of this page was deleted or rewritten by the call.
                query.after = frontier;
                continue;
            }
            let ordered: Vec<(String, Vec<u8>)> = if q.reverse {
                merged.into_iter().rev().collect()
            } else {
                merged.into_iter().collect()
            };
            let total = ordered.len();
            let budget = q.max_bytes.unwrap_or(u64::MAX);
            let mut used = 0u64;
            let mut entries = Vec::new();
            for (key, value) in ordered {
                if entries.len() >= q.limit as usize {
                    break;
                }
                used = used.saturating_add((key.len() + value.len()) as u64);
                if !entries.is_empty() && used > budget {
                    break;
                }
                entries.push((key, value));
            }
            let more = entries.len() < total || page.more;
            return Ok(ScanPage { entries, more });
        }
    }
}

/// The part of the overlay a scan of `plugin` covers, as bounds for
/// `BTreeMap::range`; none when the range is empty (which `range` would not accept).
fn overlay_bounds(plugin: &str, q: &ScanQuery) -> Option<(Bound<OverlayKey>, Bound<OverlayKey>)> {
    let at = |key: &str| (plugin.to_string(), key.to_string());
    // `after` narrows the side the scan moves away from.
    let lower = match (&q.start, &q.after) {
        (Some(s), Some(a)) if !q.reverse && a.as_str() >= s.as_str() => Bound::Excluded(at(a)),
        (None, Some(a)) if !q.reverse => Bound::Excluded(at(a)),
        (Some(s), _) => Bound::Included(at(s)),
        (None, _) => Bound::Included(at("")),
    };
    let upper = match (&q.end, &q.after) {
        (Some(e), Some(a)) if q.reverse && a.as_str() <= e.as_str() => Bound::Excluded(at(a)),
        (None, Some(a)) if q.reverse => Bound::Excluded(at(a)),
        (Some(e), _) => Bound::Excluded(at(e)),
        (None, _) => Bound::Unbounded,
    };
    let (Bound::Included(lo) | Bound::Excluded(lo)) = &lower else {
        return None;
    };
    match &upper {
        Bound::Excluded(hi) if lo >= hi => None,
        _ => Some((lower, upper)),
    }
}

/// A key of the overlay: plugin, key.
type OverlayKey = (String, String);

/// Reads: from the write transaction once promoted, else from the snapshot.
macro_rules! read {
    ($( fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        $( fn $name(&mut self $(, $arg: $ty)*) -> $ret { self.reader()?.$name($($arg),*) } )*
    };
}

/// Writes that cannot be deferred: promote, then write under the lock.
macro_rules! write {
    ($( fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        $( fn $name(&mut self $(, $arg: $ty)*) -> $ret { self.promote()?.$name($($arg),*) } )*
    };
}

impl Transaction for OptimisticTx {
    fn commit(mut self: Box<Self>) -> Result<()> {
        if self.locked.is_none() && !self.writes() {
            // Nothing to write: the snapshot ends, no lock is taken.
            return Ok(());
        }
        self.promote()?;
        let Some(tx) = self.locked.take() else {
            return Err(StoreError::Backend("transaction already finished".into()));
        };
        tx.commit()?;
        if self.queued_events
            && let Some(wake) = &self.wake
        {
            wake();
        }
        Ok(())
    }

    fn savepoint(&mut self, name: &str) -> Result<()> {
        if let Some(tx) = self.locked.as_mut() {
            return tx.savepoint(name);
        }
        self.log.push(Op::Savepoint(name.to_string()));
        Ok(())
    }

    fn release(&mut self, name: &str) -> Result<()> {
        if let Some(tx) = self.locked.as_mut() {
            return tx.release(name);
        }
        // Releasing a savepoint also releases the ones opened after it.
        let at = self.last_savepoint(name)?;
        let tail = self.log.split_off(at);
        self.log.extend(
            tail.into_iter()
                .filter(|op| !matches!(op, Op::Savepoint(_))),
        );
        Ok(())
    }

    fn rollback_to(&mut self, name: &str) -> Result<()> {
        if let Some(tx) = self.locked.as_mut() {
            return tx.rollback_to(name);
        }
        // As the backends do: undo everything since the savepoint and close it.
        let at = self.last_savepoint(name)?;
        self.log.truncate(at);
        self.rebuild_overlay();
        Ok(())
    }
}

impl KvStore for OptimisticTx {
    fn kv_get(&mut self, scope: &Scope, key: &str) -> Result<Option<Vec<u8>>> {
        if self.locked.is_none()
            && let Some(value) = self.overlay.get(&(scope.plugin.clone(), key.to_string()))
            && scope.tenant == self.tenant
        {
            return Ok(value.clone());
        }
        self.reader()?.kv_get(scope, key)
    }

    fn kv_put(&mut self, scope: &Scope, key: &str, value: &[u8]) -> Result<()> {
        if !self.defers(scope) {
            return self.promote()?.kv_put(scope, key, value);
        }
        self.remember_base(scope, key)?;
        self.track(&scope.plugin, key, Some(value.len()));
        self.overlay.insert(
            (scope.plugin.clone(), key.to_string()),
            Some(value.to_vec()),
        );
        self.log.push(Op::Put {
            plugin: scope.plugin.clone(),
            key: key.to_string(),
            value: value.to_vec(),
        });
        Ok(())
    }

    fn kv_delete(&mut self, scope: &Scope, key: &str) -> Result<bool> {
        if !self.defers(scope) {
            return self.promote()?.kv_delete(scope, key);
        }
        let existed = self.kv_get(scope, key)?.is_some();
        self.remember_base(scope, key)?;
        self.track(&scope.plugin, key, None);
        self.overlay
            .insert((scope.plugin.clone(), key.to_string()), None);
        self.log.push(Op::Delete {
            plugin: scope.plugin.clone(),
            key: key.to_string(),
        });
        Ok(existed)
    }

    fn kv_scan(&mut self, scope: &Scope, query: &ScanQuery) -> Result<ScanPage> {
        if !self.defers(scope) {
            return self.reader()?.kv_scan(scope, query);
        }
        self.scan_merged(scope, query)
    }

    fn kv_usage(&mut self, scope: &Scope) -> Result<KvUsage> {
        if !self.defers(scope) {
            return self.reader()?.kv_usage(scope);
        }
        let base = match self.usage_base.get(&scope.plugin) {
            Some(base) => *base,
            None => {
                let base = self.reader()?.kv_usage(scope)?;
                self.usage_base.insert(scope.plugin.clone(), base);
                base
            }
        };
        let (keys, bytes) = self
            .usage_delta
            .get(&scope.plugin)
            .copied()
            .unwrap_or_default();
        Ok(KvUsage {
            keys: base.keys.saturating_add_signed(keys),
            bytes: base.bytes.saturating_add_signed(bytes),
        })
    }

    fn quota_day_add(&mut self, scope: &Scope, day: i64, add: DayUsage) -> Result<DayUsage> {
        if !self.defers(scope) {
            return self.promote()?.quota_day_add(scope, day, add);
        }
        self.log.push(Op::Day {
            plugin: scope.plugin.clone(),
            day,
            add,
        });
        let pending = self
            .day_pending
            .entry((scope.plugin.clone(), day))
            .or_default();
        pending.events += add.events;
        pending.runs += add.runs;
        self.quota_day_get(scope, day)
    }

    fn quota_day_get(&mut self, scope: &Scope, day: i64) -> Result<DayUsage> {
        if !self.defers(scope) {
            return self.reader()?.quota_day_get(scope, day);
        }
        let id = (scope.plugin.clone(), day);
        let base = match self.day_base.get(&id) {
            Some(base) => *base,
            None => {
                let base = self.reader()?.quota_day_get(scope, day)?;
                self.day_base.insert(id.clone(), base);
                base
            }
        };
        let pending = self.day_pending.get(&id).copied().unwrap_or_default();
        Ok(DayUsage {
            events: base.events + pending.events,
            runs: base.runs + pending.runs,
        })
    }

    read! {
        fn setting_get(&mut self, scope: &Scope, key: &str) -> Result<Option<String>>;
        fn setting_list(&mut self, scope: &Scope) -> Result<Vec<(String, String)>>;
        fn kv_count_plugin(&mut self, plugin: &str) -> Result<u64>;
    }

    write! {
        fn setting_put(&mut self, scope: &Scope, key: &str, value: &str) -> Result<()>;
        fn setting_delete(&mut self, scope: &Scope, key: &str) -> Result<bool>;
        fn kv_purge_plugin(&mut self, plugin: &str) -> Result<u64>;
    }
}

impl RegistryStore for OptimisticTx {
    read! {
        fn tenant_get(&mut self, id: &str) -> Result<Option<Tenant>>;
        fn tenant_list(&mut self) -> Result<Vec<Tenant>>;
        fn package_current(&mut self, id: &str) -> Result<Option<PackageRecord>>;
        fn package_head(&mut self, id: &str) -> Result<Option<PackageRecord>>;
        fn package_manifest(&mut self, id: &str, version: &str) -> Result<Option<String>>;
        fn package_component(&mut self, id: &str, version: &str) -> Result<Option<Vec<u8>>>;
        fn package_list(&mut self) -> Result<Vec<PackageRecord>>;
        fn grants_get(&mut self, plugin: &str) -> Result<Vec<String>>;
        fn enablement_get(&mut self, tenant: &str, plugin: &str) -> Result<Option<Enablement>>;
        fn enablement_for_plugin(&mut self, plugin: &str) -> Result<Vec<Enablement>>;
        fn enablement_for_tenant(&mut self, tenant: &str) -> Result<Vec<Enablement>>;
        fn trust_list(&mut self) -> Result<Vec<TrustedKey>>;
        fn package_signature_get(&mut self, id: &str, version: &str) -> Result<Option<String>>;
        fn package_versions(&mut self, id: &str) -> Result<Vec<PackageRecord>>;
        fn code_digest_get(&mut self, component: &str, engine: &str) -> Result<Option<String>>;
    }

    write! {
        fn tenant_insert(&mut self, tenant: &Tenant) -> Result<()>;
        fn tenant_delete(&mut self, id: &str) -> Result<u64>;
        fn package_insert(&mut self, package: &PackageRecord) -> Result<()>;
        fn package_remove(&mut self, id: &str) -> Result<()>;
        fn grants_set(&mut self, plugin: &str, capabilities: &[String]) -> Result<()>;
        fn enablement_put(&mut self, enablement: &Enablement) -> Result<()>;
        fn trust_insert(&mut self, key: &TrustedKey) -> Result<()>;
        fn trust_remove(&mut self, name: &str) -> Result<u64>;
        fn package_signature_set(&mut self, id: &str, version: &str, signature: &str) -> Result<()>;
        fn package_set_current(&mut self, id: &str, version: &str) -> Result<bool>;
        fn package_delete_version(&mut self, id: &str, version: &str) -> Result<()>;
        fn code_digest_set(&mut self, component: &str, engine: &str, sha256: &str) -> Result<()>;
    }
}

impl WorkStore for OptimisticTx {
    fn event_append(&mut self, event: &NewEvent) -> Result<EventRecord> {
        if self.locked.is_some() || event.tenant != self.tenant {
            return self.promote()?.event_append(event);
        }
        self.log.push(Op::Event(event.clone()));
        self.queued_events = true;
        // The id and position are given at commit; callers in a plugin call do not
        // read them (the events capability answers nothing but success).
        Ok(EventRecord {
            id: 0,
            tenant: event.tenant.clone(),
            seq: 0,
            topic: event.topic.clone(),
            payload: event.payload.clone(),
            plugin: event.plugin.clone(),
            version: event.version.clone(),
            created_at_ms: event.created_at_ms,
        })
    }

    read! {
        fn event_list(&mut self, filter: &EventFilter) -> Result<Vec<EventRecord>>;
        fn job_get(&mut self, id: i64) -> Result<Option<JobRecord>>;
        fn job_list(&mut self, filter: &JobFilter) -> Result<Vec<JobRecord>>;
        fn job_runs(&mut self, job_id: Option<i64>, limit: u32) -> Result<Vec<JobRun>>;
        fn work_depth(&mut self, now_ms: i64) -> Result<crate::store::WorkDepth>;
        fn event_unfanned(&mut self, limit: u32) -> Result<Vec<EventRecord>>;
        fn delivery_get(&mut self, id: i64) -> Result<Option<DeliveryRecord>>;
        fn delivery_list(&mut self, event_id: i64) -> Result<Vec<DeliveryRecord>>;
    }

    write! {
        fn job_upsert_cron(&mut self, tenant: &str, plugin: &str, job: &str, cron: &str, next_run_ms: i64) -> Result<()>;
        fn job_insert_once(&mut self, tenant: &str, plugin: &str, job: &str, payload: &str, at_ms: i64) -> Result<i64>;
        fn job_pause(&mut self, tenant: &str, plugin: &str) -> Result<()>;
        fn job_resume_once(&mut self, tenant: &str, plugin: &str) -> Result<()>;
        fn job_delete_plugin(&mut self, plugin: &str) -> Result<()>;
        fn job_cancel(&mut self, tenant: &str, plugin: &str, id: i64) -> Result<bool>;
        fn job_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<(JobRecord, i64)>>;
        fn job_finish(&mut self, id: i64, run_id: i64, owner: &str, duration_ms: i64, finish: &Finish) -> Result<bool>;
        fn job_retry(&mut self, id: i64, now_ms: i64) -> Result<bool>;
        fn event_fan_out(&mut self, event: &EventRecord, subscribers: &[String], now_ms: i64) -> Result<()>;
        fn delivery_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<ClaimedDelivery>>;
        fn delivery_finish(&mut self, id: i64, owner: &str, now_ms: i64, finish: &Finish) -> Result<bool>;
        fn delivery_retry(&mut self, id: i64, now_ms: i64) -> Result<bool>;
    }
}

/// Batch work never touches webhooks (the defaults refuse).
impl WebhookStore for OptimisticTx {}

impl IdentityStore for OptimisticTx {
    read! {
        fn user_get(&mut self, tenant: &str, username: &str) -> Result<Option<UserRecord>>;
        fn user_list(&mut self, tenant: &str) -> Result<Vec<UserRecord>>;
        fn role_get(&mut self, tenant: &str, name: &str) -> Result<Option<RoleRecord>>;
        fn role_list(&mut self, tenant: &str) -> Result<Vec<RoleRecord>>;
        fn user_access(&mut self, tenant: &str, username: &str) -> Result<(Vec<String>, Vec<String>)>;
        fn token_get(&mut self, id: &str) -> Result<Option<TokenRecord>>;
        fn token_list(&mut self, tenant: &str) -> Result<Vec<TokenRecord>>;
        fn login_throttle_get(&mut self, key: &str) -> Result<Option<LoginThrottle>>;
    }

    write! {
        fn user_insert(&mut self, user: &UserRecord) -> Result<()>;
        fn user_update(&mut self, user: &UserRecord) -> Result<()>;
        fn role_insert(&mut self, role: &RoleRecord) -> Result<()>;
        fn role_grant(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool>;
        fn role_revoke(&mut self, tenant: &str, role: &str, permission: &str) -> Result<bool>;
        fn user_role_add(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool>;
        fn user_role_remove(&mut self, tenant: &str, username: &str, role: &str) -> Result<bool>;
        fn token_insert(&mut self, token: &TokenRecord) -> Result<()>;
        fn token_revoke(&mut self, id: &str, at: &str) -> Result<bool>;
        fn token_touch(&mut self, id: &str, at: &str) -> Result<()>;
        fn identity_changed(&mut self) -> Result<()>;
        fn login_throttle_put(&mut self, key: &str, row: &LoginThrottle) -> Result<()>;
        fn login_throttle_clear(&mut self, key: Option<&str>, before_ms: i64) -> Result<()>;
    }
}

impl AuditStore for OptimisticTx {
    fn audit_head(&mut self, tenant: &str) -> Result<Option<(u64, String)>> {
        if self.locked.is_none()
            && tenant == self.tenant
            && let Some(last) = &self.audit_tail
        {
            return Ok(Some(last.clone()));
        }
        self.reader()?.audit_head(tenant)
    }

    fn audit_append(&mut self, record: &AuditRecord, anchor: &AuditAnchor) -> Result<()> {
        if self.locked.is_some() || record.tenant != self.tenant {
            return self.promote()?.audit_append(record, anchor);
        }
        // The link (and its anchor) is sealed again onto the real head at commit.
        self.audit_tail = Some((record.seq, record.hash.clone()));
        self.log.push(Op::Audit(record.clone()));
        Ok(())
    }

    read! {
        fn audit_list(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>>;
        fn audit_chains(&mut self) -> Result<Vec<String>>;
        fn audit_anchor(&mut self, tenant: &str) -> Result<Option<AuditAnchor>>;
    }

    write! {
        fn audit_anchor_create(&mut self, anchor: &AuditAnchor) -> Result<bool>;
    }
}

/// Addresses and role members are read on the snapshot; setting one promotes.
impl crate::store::NotifyStore for OptimisticTx {
    read! {
        fn user_emails(&mut self, tenant: &str) -> Result<Vec<(String, String)>>;
        fn role_members(&mut self, tenant: &str, role: &str) -> Result<Vec<(String, String)>>;
    }
    write! {
        fn user_email_set(&mut self, tenant: &str, username: &str, email: Option<&str>) -> Result<()>;
    }
}

/// An outbound queue's rows (notifications, HTTP requests) are listed on the
/// snapshot; queuing or retrying one promotes, so it commits (or rolls back) with the
/// call's other writes. Claims, finishes and holds are the worker's (the defaults
/// refuse them).
impl<K: QueueKind> QueueStore<K> for OptimisticTx
where
    for<'a> dyn Transaction + 'a: QueueStore<K>,
{
    fn queue_insert(&mut self, new: &K::New) -> Result<i64> {
        QueueStore::<K>::queue_insert(self.promote()?, new)
    }

    fn queue_list(&mut self, tenant: &str, state: Option<&str>, limit: u32) -> Result<Vec<K>> {
        QueueStore::<K>::queue_list(self.reader()?, tenant, state, limit)
    }

    fn queue_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<K::Attempt>> {
        QueueStore::<K>::queue_attempts(self.reader()?, tenant, id)
    }

    fn queue_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        QueueStore::<K>::queue_retry(self.promote()?, tenant, id, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, SqliteStorage};

    const TENANT: &str = "acme";

    fn scope(plugin: &str) -> Scope {
        Scope {
            tenant: TENANT.into(),
            plugin: plugin.into(),
        }
    }

    /// A tenant with keys `k00`..`k39` of plugin `p` (values of 1 to 40 bytes) and a
    /// few keys of plugin `q` next to them.
    fn storage() -> (tempfile::TempDir, Arc<dyn Storage>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(&dir.path().join("db.sqlite"), Durability::Normal)
            .expect("open storage");
        let mut tx = storage.begin().unwrap();
        tx.tenant_insert(&Tenant {
            id: TENANT.into(),
            name: "Acme".into(),
            time_zone: "UTC".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        })
        .unwrap();
        tx.commit().unwrap();
        let mut tx = storage.begin_scoped(TENANT).unwrap();
        for i in 0..40usize {
            tx.kv_put(&scope("p"), &format!("k{i:02}"), &vec![b'a'; i + 1])
                .unwrap();
        }
        for key in ["k00", "k10", "k99"] {
            tx.kv_put(&scope("q"), key, b"other plugin").unwrap();
        }
        tx.commit().unwrap();
        (dir, Arc::new(storage))
    }

    fn optimistic(storage: &Arc<dyn Storage>) -> OptimisticTx {
        OptimisticTx::new(
            storage.clone(),
            Arc::new(audit::AuditKey::for_tests()),
            TENANT,
            storage.begin_read().unwrap(),
        )
    }

    /// xorshift64: a fixed sequence, so a failure replays.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn key(&mut self) -> String {
            format!("k{:02}", self.below(50))
        }
    }

    /// The whole range of a scan read page by page the way the storage capability
    /// pages (continuing after the last key of a page that says more follow), with
    /// every page checked against its row limit and byte budget.
    fn page_through(tx: &mut dyn Transaction, query: &ScanQuery) -> Vec<(String, Vec<u8>)> {
        let mut all = Vec::new();
        let mut query = query.clone();
        loop {
            let page = tx.kv_scan(&scope("p"), &query).unwrap();
            assert!(
                page.entries.len() <= query.limit as usize,
                "page over its limit"
            );
            let bytes: usize = page.entries.iter().map(|(k, v)| k.len() + v.len()).sum();
            if let Some(budget) = query.max_bytes {
                assert!(
                    page.entries.len() <= 1 || bytes as u64 <= budget,
                    "page of {bytes} bytes over its budget of {budget}"
                );
            }
            assert!(
                !(page.more && page.entries.is_empty()),
                "an empty page that says more follow would end the plugin's paging"
            );
            let last = page.entries.last().map(|(k, _)| k.clone());
            all.extend(page.entries);
            if !page.more {
                return all;
            }
            query.after = last;
        }
    }

    /// What the scan must list, from a model of the data.
    fn expected(model: &BTreeMap<String, Vec<u8>>, q: &ScanQuery) -> Vec<(String, Vec<u8>)> {
        let rows = model.iter().filter(|(k, _)| {
            q.start.as_deref().is_none_or(|s| k.as_str() >= s)
                && q.end.as_deref().is_none_or(|e| k.as_str() < e)
        });
        let rows: Vec<(String, Vec<u8>)> = rows.map(|(k, v)| (k.clone(), v.clone())).collect();
        if q.reverse {
            rows.into_iter().rev().collect()
        } else {
            rows
        }
    }

    #[test]
    fn reads_see_the_calls_own_writes_through_savepoints_like_a_real_transaction() {
        for seed in [
            0x9e37_79b9_7f4a_7c15,
            0x2545_f491_4f6c_dd1d,
            0xdead_beef_cafe_f00d,
        ] {
            model_run(seed);
        }
    }

    /// Commit `tx`, which fails with [`StoreError::Retry`] for a reason naming `why`.
    fn commit_is_retried(tx: impl Transaction + 'static, why: &str) {
        let err = Box::new(tx).commit().unwrap_err();
        assert!(
            matches!(&err, StoreError::Retry(m) if m.contains(why)),
            "{err}"
        );
    }

    /// Keys and bytes of a model of the data.
    fn usage_of(model: &BTreeMap<String, Vec<u8>>) -> KvUsage {
        KvUsage {
            keys: model.len() as u64,
            bytes: model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum(),
        }
    }

    #[test]
    fn a_quota_crossed_by_calls_committed_since_the_snapshot_fails_the_commit_with_retry() {
        let (_dir, storage) = storage();
        let quotas = Quotas {
            stored_keys: 41,
            events_per_day: 3,
            ..Quotas::default()
        };
        // Each of two batch calls adds one key: within the quota on its snapshot.
        let mut first = optimistic(&storage).guarding(quotas.clone());
        let mut second = optimistic(&storage).guarding(quotas.clone());
        first.kv_put(&scope("p"), "new-1", b"1").unwrap();
        second.kv_put(&scope("p"), "new-2", b"2").unwrap();
        assert_eq!(second.kv_usage(&scope("p")).unwrap().keys, 41);
        Box::new(first).commit().unwrap();
        commit_is_retried(second, "stored keys");
        let mut read = storage.begin_read().unwrap();
        assert_eq!(read.kv_usage(&scope("p")).unwrap().keys, 41);
        assert!(read.kv_get(&scope("p"), "new-2").unwrap().is_none());
        drop(read);

        // The same for the day's events: two calls of two each, three allowed.
        let (mut a, mut b) = (
            optimistic(&storage).guarding(quotas.clone()),
            optimistic(&storage).guarding(quotas),
        );
        let two = DayUsage { events: 2, runs: 0 };
        assert_eq!(a.quota_day_add(&scope("p"), 7, two).unwrap(), two);
        assert_eq!(b.quota_day_add(&scope("p"), 7, two).unwrap(), two);
        Box::new(a).commit().unwrap();
        commit_is_retried(b, "per day");
        let mut read = storage.begin_read().unwrap();
        assert_eq!(read.quota_day_get(&scope("p"), 7).unwrap(), two);
    }

    /// 1,500 random steps against a model of the data, then commit and compare.
    fn model_run(seed: u64) {
        let (_dir, storage) = storage();
        let mut model: BTreeMap<String, Vec<u8>> = (0..40usize)
            .map(|i| (format!("k{i:02}"), vec![b'a'; i + 1]))
            .collect();
        let mut saved: Vec<(String, BTreeMap<String, Vec<u8>>)> = Vec::new();
        let mut tx = optimistic(&storage);
        let mut rng = Rng(seed);
        for step in 0..1500 {
            match rng.below(10) {
                0..=2 => {
                    let key = rng.key();
                    let value = vec![b'b' + (step % 20) as u8; rng.below(60) as usize];
                    tx.kv_put(&scope("p"), &key, &value).unwrap();
                    model.insert(key, value);
                }
                3 => {
                    let key = rng.key();
                    let existed = tx.kv_delete(&scope("p"), &key).unwrap();
                    assert_eq!(existed, model.remove(&key).is_some(), "delete of {key}");
                }
                4 => {
                    let key = rng.key();
                    let got = tx.kv_get(&scope("p"), &key).unwrap();
                    assert_eq!(got.as_ref(), model.get(&key), "get of {key} at step {step}");
                    assert_eq!(
                        tx.kv_usage(&scope("p")).unwrap(),
                        usage_of(&model),
                        "usage at step {step}"
                    );
                }
                5 | 6 => {
                    let bound = |rng: &mut Rng| (rng.below(3) > 0).then(|| rng.key());
                    let query = ScanQuery {
                        start: bound(&mut rng),
                        end: bound(&mut rng),
                        after: None,
                        reverse: rng.below(2) == 0,
                        limit: 1 + rng.below(8) as u32,
                        max_bytes: (rng.below(2) == 0).then(|| 20 + rng.below(100)),
                    };
                    assert_eq!(
                        page_through(&mut tx, &query),
                        expected(&model, &query),
                        "scan {query:?} at step {step}"
                    );
                }
                7 => {
                    let name = format!("sp{}", saved.len());
                    tx.savepoint(&name).unwrap();
                    saved.push((name, model.clone()));
                }
                8 if !saved.is_empty() => {
                    let at = rng.below(saved.len() as u64) as usize;
                    tx.release(&saved[at].0).unwrap();
                    saved.truncate(at);
                }
                9 if !saved.is_empty() => {
                    let at = rng.below(saved.len() as u64) as usize;
                    tx.rollback_to(&saved[at].0).unwrap();
                    model = saved[at].1.clone();
                    saved.truncate(at);
                }
                _ => {}
            }
        }
        assert!(!tx.promoted(), "key-value work alone never takes the lock");
        Box::new(tx).commit().unwrap();
        let mut read = storage.begin_read().unwrap();
        let all = ScanQuery {
            limit: 1000,
            ..ScanQuery::default()
        };
        assert_eq!(page_through(read.as_mut(), &all), expected(&model, &all));
        // The counters the database kept through the replay match the call's view.
        assert_eq!(read.kv_usage(&scope("p")).unwrap(), usage_of(&model));
        let other = read.kv_scan(&scope("q"), &all).unwrap();
        assert_eq!(
            other.entries.len(),
            3,
            "another plugin's keys are untouched"
        );
    }

    #[test]
    fn other_writers_of_the_tenant_go_on_while_batch_work_runs() {
        let (_dir, storage) = storage();
        let mut batch = optimistic(&storage);
        batch.kv_put(&scope("p"), "batch", b"1").unwrap();
        // The tenant's writer is free: an interactive call commits right away (on one
        // thread this would wait for ever if the batch held the lock).
        let mut other = storage.begin_scoped(TENANT).unwrap();
        other.kv_put(&scope("p"), "interactive", b"2").unwrap();
        other.commit().unwrap();
        assert_eq!(
            batch.kv_get(&scope("p"), "interactive").unwrap(),
            None,
            "the batch reads its snapshot"
        );
        Box::new(batch).commit().unwrap();
        let mut read = storage.begin_read().unwrap();
        assert_eq!(read.kv_get(&scope("p"), "batch").unwrap().unwrap(), b"1");
        assert_eq!(
            read.kv_get(&scope("p"), "interactive").unwrap().unwrap(),
            b"2"
        );
    }

    #[test]
    fn a_key_changed_since_the_snapshot_fails_the_commit_with_retry_and_writes_nothing() {
        let (_dir, storage) = storage();
        for (written_by_other, deleted_by_batch) in [(true, false), (false, true)] {
            let mut batch = optimistic(&storage);
            batch.kv_put(&scope("p"), "fresh", b"batch").unwrap();
            if deleted_by_batch {
                batch.kv_delete(&scope("p"), "k05").unwrap();
            } else {
                batch.kv_put(&scope("p"), "k05", b"batch").unwrap();
            }
            let mut other = storage.begin_scoped(TENANT).unwrap();
            if written_by_other {
                other.kv_put(&scope("p"), "k05", b"other").unwrap();
            } else {
                other.kv_delete(&scope("p"), "k05").unwrap();
                other.kv_put(&scope("p"), "k05", b"aaaaaa").unwrap();
                other.kv_put(&scope("p"), "k05", b"again").unwrap();
            }
            other.commit().unwrap();
            commit_is_retried(batch, "'k05'");
            let mut read = storage.begin_read().unwrap();
            assert_eq!(read.kv_get(&scope("p"), "fresh").unwrap(), None);
            assert!(read.kv_get(&scope("p"), "k05").unwrap().is_some());
        }
    }

    #[test]
    fn events_and_audit_links_are_replayed_in_order_onto_the_real_chain_head() {
        let (_dir, storage) = storage();
        let link = |n: u32| audit::Entry {
            tenant: TENANT.into(),
            actor: "alice".into(),
            action: "invoke".into(),
            target: format!("p.op{n}"),
            outcome: "ok".into(),
            detail: serde_json::json!({}),
            duration: None,
        };
        let event = |topic: &str| NewEvent {
            tenant: TENANT.into(),
            topic: topic.into(),
            payload: "{}".into(),
            plugin: "p".into(),
            version: "1.0.0".into(),
            created_at_ms: 0,
        };
        let key = audit::AuditKey::for_tests();
        let mut batch = optimistic(&storage);
        audit::append(&mut batch, &key, link(1)).unwrap();
        batch.event_append(&event("p.kept")).unwrap();
        batch.savepoint("nested_call").unwrap();
        audit::append(&mut batch, &key, link(2)).unwrap();
        batch.event_append(&event("p.undone")).unwrap();
        batch.rollback_to("nested_call").unwrap();
        audit::append(&mut batch, &key, link(3)).unwrap();
        // Meanwhile two interactive calls extend the chain.
        for n in [10, 11] {
            let mut other = storage.begin_scoped(TENANT).unwrap();
            audit::append(other.as_mut(), &key, link(n)).unwrap();
            other.commit().unwrap();
        }
        Box::new(batch).commit().unwrap();
        let mut read = storage.begin_read().unwrap();
        let report = audit::verify_chain(read.as_mut(), &key, TENANT, true, |_| {}).unwrap();
        assert_eq!(report.broken_at, None, "{:?}", report.problem);
        let targets: Vec<String> = read
            .audit_list(&AuditQuery {
                tenant: Some(TENANT.into()),
                since: None,
                after_seq: None,
                limit: 10,
            })
            .unwrap()
            .into_iter()
            .map(|r| r.target)
            .collect();
        let mut sorted = targets.clone();
        sorted.sort();
        assert_eq!(sorted, ["p.op1", "p.op10", "p.op11", "p.op3"]);
        let topics: Vec<String> = read
            .event_list(&EventFilter {
                tenant: Some(TENANT.into()),
                topic: None,
                limit: 10,
            })
            .unwrap()
            .into_iter()
            .map(|e| e.topic)
            .collect();
        assert_eq!(topics, ["p.kept"]);
    }

    #[test]
    fn a_write_that_cannot_wait_promotes_the_call_under_the_lock_with_its_writes() {
        let (_dir, storage) = storage();
        let mut batch = optimistic(&storage);
        batch.kv_put(&scope("p"), "before", b"1").unwrap();
        let id = batch.job_insert_once(TENANT, "p", "once", "{}", 0).unwrap();
        assert!(batch.promoted());
        assert_eq!(batch.kv_get(&scope("p"), "before").unwrap().unwrap(), b"1");
        batch.kv_put(&scope("p"), "after", b"2").unwrap();
        Box::new(batch).commit().unwrap();
        let mut read = storage.begin_read().unwrap();
        assert!(read.job_get(id).unwrap().is_some());
        assert_eq!(read.kv_get(&scope("p"), "before").unwrap().unwrap(), b"1");
        assert_eq!(read.kv_get(&scope("p"), "after").unwrap().unwrap(), b"2");
    }
}
