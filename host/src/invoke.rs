//! One plugin call, start to finish: checks, a fresh instance, one transaction.
//!
//! ```text
//! tenant exists -> plugin installed -> enabled for tenant -> operation declared
//!   -> caller holds its permission -> input parses and fits its schema
//!   -> instance runs with deadline + memory cap, its writes in one transaction
//!   -> Ok: output checked against its schema, transaction committed
//!   -> anything else: transaction dropped (rolled back), error names the plugin
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::audit;
use crate::auth::Principal;
use crate::capabilities::{CallInfo, CallState, Nesting, invocation_id};
use crate::dry_run::{DryRun, Recorder};
use crate::error::{HostError, HostResult};
use crate::host::{Host, Loaded};
use crate::optimistic::OptimisticTx;
use crate::plan::{Caller, Plan, RegistryRows};
use crate::runtime::{Action, Failure, inline, schema_errors};
use crate::store::{PackageRecord, Scope, Tenant, Transaction};

/// How [`Host::invoke_uncommitted`] runs a call that may write.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// Batch work may run on a snapshot first (see `optimistic`).
    Optimistic,
    /// Under the tenant's writer from the start.
    Locked,
    /// Under the writer, recording its effects; the caller rolls it back.
    DryRun(&'a Recorder),
}

/// What an operation answered: its text as the plugin wrote it, and parsed.
struct Output {
    text: String,
    value: serde_json::Value,
}

impl Host {
    /// Invoke `operation` of `plugin` for `tenant` as `principal` with JSON `input`.
    ///
    /// Every invocation leaves an audit link in the tenant's chain: a successful one in
    /// the same transaction as its writes, a refused or failed one in a transaction of
    /// its own after the call's writes were rolled back.
    pub fn invoke(
        &self,
        tenant: &str,
        plugin: &str,
        operation: &str,
        input: &str,
        principal: &Principal,
    ) -> HostResult<serde_json::Value> {
        self.perform(tenant, plugin, operation, input, principal, None, None)
            .map(|(output, _)| output.value)
    }

    /// A call from outside made with a bearer token: the token authenticated, the
    /// caller's access to `tenant` checked, then [`Host::invoke`], answering the
    /// output as the plugin wrote it (checked to be JSON that fits the operation's
    /// output schema): what the HTTP API sends on, without encoding it again. The
    /// stamps both steps check their kept rows against are read once, together.
    pub fn invoke_text_with_token(
        &self,
        token: &str,
        tenant: &str,
        plugin: &str,
        operation: &str,
        input: &str,
    ) -> HostResult<String> {
        let stamps = self.storage.stamps()?;
        let caller = self.authenticate_at(token, Some(stamps.identity))?;
        if !caller.can_access(tenant) {
            return Err(HostError::Forbidden(format!(
                "this token belongs to tenant '{}' and cannot be used for tenant '{tenant}'",
                caller.tenant.as_deref().unwrap_or_default()
            )));
        }
        self.perform(
            tenant,
            plugin,
            operation,
            input,
            &caller,
            None,
            Some(stamps.registry),
        )
        .map(|(output, _)| output.text)
    }

    /// Run `operation` as [`Host::invoke`] does, then roll everything back: the
    /// output and what the call would have done (nested calls, events, scheduled
    /// runs, storage changes), with nothing kept but an audit link `dry-run`.
    /// A read-only operation runs as usual and reports no effects; a refused or
    /// failed call fails as [`Host::invoke`] would.
    pub fn dry_run(
        &self,
        tenant: &str,
        plugin: &str,
        operation: &str,
        input: &str,
        principal: &Principal,
    ) -> HostResult<DryRun> {
        let recorder = Recorder::default();
        let (output, version) = self.perform(
            tenant,
            plugin,
            operation,
            input,
            principal,
            Some(&recorder),
            None,
        )?;
        Ok(DryRun {
            dry_run: true,
            version,
            output: output.value,
            effects: recorder.take(),
        })
    }

    /// One call, committed, or rolled back when `effects` is set (a dry run).
    /// Answers the output and the plugin version that ran. `stamp` is the registry
    /// stamp when the caller read it already.
    #[allow(clippy::too_many_arguments, reason = "internal plumbing of one call")]
    fn perform(
        &self,
        tenant: &str,
        plugin: &str,
        operation: &str,
        input: &str,
        principal: &Principal,
        effects: Option<&Recorder>,
        stamp: Option<i64>,
    ) -> HostResult<(Output, String)> {
        let started = Instant::now();
        let action = if effects.is_some() {
            "dry-run"
        } else {
            "invoke"
        };
        let entry = |outcome: &str, detail: serde_json::Value| audit::Entry {
            tenant: tenant.to_string(),
            actor: principal.actor(),
            action: action.into(),
            target: format!("{plugin}.{operation}"),
            outcome: outcome.into(),
            detail,
            duration: Some(started.elapsed()),
        };
        // A user whose calls keep failing is refused up front for the rest of the
        // hour, so the failures cannot flood the audit chain (see `throttle`).
        let user = principal.id.as_deref().map(|id| {
            let home = principal.tenant.as_deref().unwrap_or("*");
            (home, id)
        });
        if let Some((home, id)) = user {
            let limit = self.runtime.limits().quotas.failed_calls_per_hour;
            if inline::active()
                && !self
                    .failed_calls
                    .quiet(home, id, self.clock.now_ms(), limit)
            {
                // The gate would refuse or record: both happen once, on the pool.
                return Err(inline::refuse());
            }
            self.gate_failed_calls(home, id, tenant, plugin, operation, principal)?;
        }
        // On a shared database a concurrent writer may get in the way of the call's
        // transaction; it is then rolled back and the whole call runs again.
        // Batch work runs first on a snapshot (see `optimistic`); when another call
        // changed what it writes meanwhile, it runs again holding the lock.
        // A dry run holds the lock from the start: it never commits, so it cannot
        // find out at commit that its snapshot was stale.
        let mut attempt = 0u32;
        let outcome = self.retrying(|| {
            attempt += 1;
            if let Some(recorder) = effects {
                // A retried attempt reports only its own effects.
                recorder.take();
            }
            let mode = match effects {
                Some(recorder) => Mode::DryRun(recorder),
                None if attempt == 1 => Mode::Optimistic,
                None => Mode::Locked,
            };
            // A stamp read before the first attempt is too old for a second.
            let stamp = stamp.filter(|_| attempt == 1);
            let (output, mut tx, version, read_only) =
                self.invoke_uncommitted(tenant, plugin, operation, input, principal, mode, stamp)?;
            if read_only || effects.is_some() {
                // Dropped: a read snapshot has nothing to commit, a dry run's
                // writes are rolled back here.
                drop(tx);
                return Ok((output, version, true));
            }
            let link = entry("ok", serde_json::json!({ "version": version }));
            audit::append(tx.as_mut(), self.audit_key(), link)?;
            tx.commit()?;
            Ok((output, version, false))
        });
        if inline::active() && (outcome.is_err() || inline::gave_up()) {
            // The attempt in place is thrown away and the call runs again on the
            // blocking pool, which records its outcome (see `runtime::inline`).
            let _ = inline::give_up();
            return outcome.map(|(output, version, _)| (output, version));
        }
        match outcome {
            Ok((output, version, link_later)) => {
                if link_later {
                    // Nothing was committed: the link is chained with others by the
                    // audit writer, without keeping the caller.
                    let link = entry("ok", serde_json::json!({ "version": version }));
                    self.audit_queue.record_later(self, link)?;
                }
                Ok((output, version))
            }
            Err(err) => {
                // The call's writes are rolled back; the attempt is still recorded.
                if let Err(audit_err) = self
                    .audit_queue
                    .record(self, entry(err.code(), serde_json::json!({})))
                {
                    tracing::error!(%tenant, error = %audit_err, "cannot record a failed invocation in the audit log");
                }
                if let Some((home, id)) = user {
                    self.failed_calls.failed(home, id, self.clock.now_ms());
                }
                Err(err)
            }
        }
    }

    /// Refuse the call of user `id` (of tenant `home`) when the user had too many
    /// failed calls this hour; the first refusal of the hour, and the number refused
    /// in an earlier hour, each get one audit link in `tenant`'s chain.
    fn gate_failed_calls(
        &self,
        home: &str,
        id: &str,
        tenant: &str,
        plugin: &str,
        operation: &str,
        principal: &Principal,
    ) -> HostResult<()> {
        let limit = self.runtime.limits().quotas.failed_calls_per_hour;
        let gate = self.failed_calls.gate(home, id, self.clock.now_ms(), limit);
        let link = |outcome: &str, detail: serde_json::Value| audit::Entry {
            tenant: tenant.to_string(),
            actor: principal.actor(),
            action: "invoke".into(),
            target: format!("{plugin}.{operation}"),
            outcome: outcome.into(),
            detail,
            duration: None,
        };
        let record = |entry: audit::Entry| {
            if let Err(e) = self.audit_queue.record(self, entry) {
                tracing::error!(%tenant, error = %e, "cannot record refused calls in the audit log");
            }
        };
        if let Some((hour_ms, refused)) = gate.summary {
            record(link(
                "rate-limited",
                serde_json::json!({
                    "refused_calls": refused,
                    "hour": crate::clock::rfc3339_ms(hour_ms),
                }),
            ));
        }
        let Some(retry_after_secs) = gate.refuse else {
            return Ok(());
        };
        let err = HostError::RateLimited {
            reason: format!(
                "user '{id}' had {limit} failed calls this hour, the limit; further calls are refused until the hour ends (an admin can raise the limit with --quota-failed-calls-per-hour or BACKOFFICE_QUOTA_FAILED_CALLS_PER_HOUR)"
            ),
            retry_after_secs,
        };
        if gate.first_refusal {
            // One link for the hour; the calls refused after it are counted and
            // recorded together in one link once the hour is over.
            record(link(
                err.code(),
                serde_json::json!({ "failed_calls": limit, "per": "hour" }),
            ));
        }
        Err(err)
    }

    /// Everything of [`Host::invoke`] but the commit: the output, the open
    /// transaction, the plugin version that ran and whether the operation is
    /// read-only (then the transaction is a read snapshot with nothing to commit).
    #[allow(clippy::too_many_arguments, reason = "internal plumbing of one call")]
    fn invoke_uncommitted(
        &self,
        tenant: &str,
        plugin: &str,
        operation: &str,
        input: &str,
        principal: &Principal,
        mode: Mode<'_>,
        stamp: Option<i64>,
    ) -> HostResult<(Output, Box<dyn Transaction>, String, bool)> {
        let (optimistic, effects) = match mode {
            Mode::Optimistic => (true, None),
            Mode::Locked => (false, None),
            Mode::DryRun(recorder) => (false, Some(recorder)),
        };
        if !principal.can_access(tenant) {
            return Err(HostError::Forbidden(format!(
                "the caller belongs to tenant '{}' and cannot act in tenant '{tenant}'",
                principal.tenant.as_deref().unwrap_or_default()
            )));
        }
        // Checks run on a read snapshot; read-only operations also run on it, beside
        // other calls. Anything that may write takes its tenant's write lock and checks
        // again under it. The input is checked before the lock is taken, and again only
        // if the plugin changed meanwhile: the lock is held for the call's own work.
        // What the checks read of the registry is kept while its stamp stands; the
        // stamp is read before the snapshot starts, so rows kept with it are never
        // older than it. A write the kept rows plan reads the stamp once, under the
        // lock (see `write_planned_ahead`).
        let max_input = self.runtime.limits().max_input_bytes;
        let resolve = |tx: &mut dyn Transaction, rows: &RegistryRows| -> HostResult<Plan> {
            Ok(Plan::for_record(
                &self.loader,
                tx,
                rows.record.clone(),
                tenant,
                plugin,
                operation,
                principal,
                Caller::Outside,
            )?)
        };
        // Batch work (an operation or plugin declaring a longer deadline) does not
        // hold the tenant's writer while it runs: it reads on this snapshot and writes
        // at the end, in one short step (see `optimistic`).
        let long = |plan: &Plan| {
            call_deadline(&plan.loaded, operation, self.runtime.limits().call_deadline)
                > self.runtime.limits().call_deadline
        };
        let check =
            |plan: &Plan| -> HostResult<()> { Ok(plan.check_input(max_input, operation, input)?) };
        let ahead = self.write_planned_ahead(tenant, plugin, &resolve, &check, &|plan| {
            if long(plan) && optimistic {
                None
            } else {
                Some(long(plan))
            }
        })?;
        let (tx, rows, plan) = match ahead {
            Some(planned) => planned,
            None => {
                let stamp = match stamp {
                    Some(stamp) => stamp,
                    None => self.storage.registry_stamp()?,
                };
                let mut tx = self.storage.begin_read()?;
                let mut rows = self.registry_rows(tx.as_mut(), stamp, tenant, plugin)?;
                let mut plan = resolve(tx.as_mut(), &rows)?;
                check(&plan)?;
                let read_only = plan.read_only;
                if inline::active() && !(read_only && plan.loaded.tried_in_place(operation)) {
                    // A write waits for the tenant's writer and the commit; a plugin
                    // that ran past the budget lately runs on the pool.
                    return Err(inline::refuse());
                }
                let long = long(&plan);
                if !read_only {
                    // A change is chained after the read links queued before it (by
                    // this caller too); waited for before any lock is taken, as the
                    // audit writer needs the tenant's writer.
                    self.audit_queue.flush(crate::audit::ORDER_WAIT);
                }
                if !read_only && long && optimistic {
                    tx = Box::new(
                        OptimisticTx::new(
                            self.storage.clone(),
                            self.loader.audit_key.clone(),
                            tenant,
                            tx,
                        )
                        .waking(self.worker.waker())
                        .guarding(self.runtime.limits().quotas.clone()),
                    );
                } else if !read_only {
                    drop(tx);
                    // Run again under the lock, batch work does not keep the tenant's
                    // earlier writers waiting for their commit while it runs.
                    tx = if long {
                        self.storage.begin_scoped_long(tenant)?
                    } else {
                        self.begin_scoped(tenant)?
                    };
                    // Under the lock: when the registry changed since the checks,
                    // check again.
                    if self.storage.registry_stamp()? != stamp {
                        (rows, plan) =
                            replan(tx.as_mut(), tenant, plugin, &resolve, &check, &plan)?;
                    }
                }
                (tx, rows, plan)
            }
        };
        let read_only = plan.read_only;
        let tenant_row = &rows.tenant;
        let Plan { record, loaded, .. } = plan;
        let limits = self.runtime.limits().clone();
        let (_, output_schema) = loaded.schemas.get(operation).ok_or_else(|| {
            HostError::Internal(format!("no compiled schema for {plugin}.{operation}"))
        })?;

        let action = Action::Invoke {
            operation: operation.to_string(),
            input: input.to_string(),
        };
        let label = format!("operation '{operation}'");
        let deadline = call_deadline(&loaded, operation, limits.call_deadline);
        let (output, tx) = self.run(
            tx,
            tenant_row,
            &record,
            &loaded,
            principal,
            action,
            &label,
            deadline,
            effects.cloned(),
            Some(rows.grants.clone()),
        )?;
        let text = output;
        let output: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            call_error(
                &record,
                &label,
                Failure::Trap(format!("returned output that is not JSON: {e}")),
            )
        })?;
        if let Some(errors) = schema_errors(output_schema, &output) {
            return Err(call_error(
                &record,
                &label,
                Failure::Trap(format!(
                    "returned output that does not match its declared schema: {errors}"
                )),
            ));
        }
        let output = Output {
            text,
            value: output,
        };
        Ok((output, tx, record.version.clone(), read_only))
    }

    /// A write planned from the registry rows kept last for `plugin` in `tenant`,
    /// without reading the registry stamp first: when those rows give a writing
    /// operation whose input `check` accepts and that `lock` says runs under the
    /// tenant's writer (`Some(long)`), the writer is taken, and the stamp is read
    /// once, under it. When it still is the stamp the rows were kept under, nothing
    /// the checks depend on changed since they were read; otherwise the call is
    /// planned again from rows read under the writer. `None` when the kept rows do
    /// not give such a write (nothing kept, a refusal, a read-only operation, batch
    /// work that runs on a snapshot first): the caller plans from the start, as a
    /// refusal from rows that may be out of date means nothing.
    fn write_planned_ahead(
        &self,
        tenant: &str,
        plugin: &str,
        resolve: &dyn Fn(&mut dyn Transaction, &RegistryRows) -> HostResult<Plan>,
        check: &dyn Fn(&Plan) -> HostResult<()>,
        lock: &dyn Fn(&Plan) -> Option<bool>,
    ) -> HostResult<Option<Planned>> {
        let Some((kept, rows)) = self.registry.latest(tenant, plugin) else {
            return Ok(None);
        };
        // Loading the plugin's code may read the registry; the rows say which version.
        let mut snapshot = self.storage.begin_read()?;
        let Ok(plan) = resolve(snapshot.as_mut(), &rows) else {
            return Ok(None);
        };
        drop(snapshot);
        let long = match lock(&plan) {
            Some(long) if !plan.read_only && check(&plan).is_ok() => long,
            _ => return Ok(None),
        };
        if inline::active() {
            // A write: not on an async worker (see `runtime::inline`).
            return Err(inline::refuse());
        }
        // See `perform`: chained after the read links queued before it.
        self.audit_queue.flush(crate::audit::ORDER_WAIT);
        let mut tx = if long {
            self.storage.begin_scoped_long(tenant)?
        } else {
            self.begin_scoped(tenant)?
        };
        if self.storage.registry_stamp()? == kept {
            return Ok(Some((tx, rows, plan)));
        }
        let (rows, plan) = replan(tx.as_mut(), tenant, plugin, resolve, check, &plan)?;
        Ok(Some((tx, rows, plan)))
    }

    /// The registry rows a call of `plugin` in `tenant` depends on, kept while the
    /// registry stamp is `stamp` (read before `tx` started); refused as
    /// [`Plan::resolve`] refuses when the tenant is unknown or the plugin not
    /// installed or not enabled.
    fn registry_rows(
        &self,
        tx: &mut dyn Transaction,
        stamp: i64,
        tenant: &str,
        plugin: &str,
    ) -> HostResult<Arc<RegistryRows>> {
        if let Some(rows) = self.registry.get(stamp, tenant, plugin) {
            return Ok(rows);
        }
        let rows = Arc::new(read_registry_rows(tx, tenant, plugin)?);
        self.registry.put(stamp, tenant, plugin, rows.clone());
        Ok(rows)
    }

    /// Time `iterations` bare instantiations of an enabled plugin (no call, no
    /// commit): the instantiation cost alone, for benchmarks.
    #[doc(hidden)]
    pub fn time_instantiation(
        &self,
        tenant: &str,
        plugin: &str,
        iterations: u64,
    ) -> HostResult<Vec<Duration>> {
        Ok(self.instantiations(tenant, plugin, iterations)?.0)
    }

    /// Bytes of linear memory a fresh instance of an enabled plugin holds before any
    /// call (what counts against the memory cap from the start), for benchmarks.
    #[doc(hidden)]
    pub fn instance_memory_bytes(&self, tenant: &str, plugin: &str) -> HostResult<usize> {
        Ok(self.instantiations(tenant, plugin, 1)?.1)
    }

    /// The most memory one instance of `plugin`'s current version held at the end
    /// of a call since this host loaded it (see `Prepared::memory_high_water`), for
    /// measuring what a plugin's `[limits] memory` must be.
    #[doc(hidden)]
    pub fn memory_high_water(&self, plugin: &str) -> HostResult<usize> {
        let mut tx = self.begin()?;
        let record = Host::require_package(tx.as_mut(), plugin)?;
        let loaded = self.load(tx.as_mut(), &record)?;
        Ok(loaded.prepared.memory_high_water())
    }

    fn instantiations(
        &self,
        tenant: &str,
        plugin: &str,
        iterations: u64,
    ) -> HostResult<(Vec<Duration>, usize)> {
        let mut tx = self.begin()?;
        let tenant_row = Host::require_tenant(tx.as_mut(), tenant)?;
        let record = Host::require_package(tx.as_mut(), plugin)?;
        let loaded = self.load(tx.as_mut(), &record)?;
        let info = call_info(
            self.clock.now(),
            &tenant_row,
            &record,
            &loaded,
            &Principal::system(),
            "benchmark",
            Vec::new(),
        );
        let state = CallState::new(info, tx, self.runtime.limits().clone());
        let (times, memory, _state) = self
            .runtime
            .time_instantiation(&loaded.prepared, state, iterations)
            .map_err(|e| HostError::Internal(format!("instantiation failed: {e:#}")))?;
        Ok((times, memory))
    }

    /// Run `migrate(from)` of a plugin for a tenant inside `tx`, as the plugin itself
    /// holding no permission; the caller commits.
    pub(crate) fn migrate_in(
        &self,
        mut tx: Box<dyn Transaction>,
        tenant: &Tenant,
        record: &PackageRecord,
        from: Option<String>,
    ) -> HostResult<Box<dyn Transaction>> {
        let loaded = self.load(tx.as_mut(), record)?;
        let deadline = self.runtime.limits().migration_deadline;
        // A migration only rewrites the plugin's own data: it runs as the plugin,
        // with no permission to call other plugins' operations.
        let principal = Principal::plugin(&record.id, &tenant.id, &[]);
        let (_, tx) = self.run(
            tx,
            tenant,
            record,
            &loaded,
            &principal,
            Action::Migrate { from },
            "migration",
            deadline,
            None,
            None,
        )?;
        Ok(tx)
    }

    /// Run one action in a fresh instance; on success hand back the output and the
    /// still-open transaction, on failure drop (roll back) the transaction.
    #[allow(clippy::too_many_arguments, reason = "internal plumbing of one call")]
    pub(crate) fn run(
        &self,
        mut tx: Box<dyn Transaction>,
        tenant: &Tenant,
        record: &PackageRecord,
        loaded: &Arc<Loaded>,
        principal: &Principal,
        action: Action,
        label: &str,
        deadline: Duration,
        effects: Option<Recorder>,
        grants: Option<Vec<String>>,
    ) -> HostResult<(String, Box<dyn Transaction>)> {
        // The granted capabilities, unless the caller read them with the registry.
        let grants = match grants {
            Some(grants) => grants,
            None => tx.grants_get(&record.id)?,
        };
        let info = call_info(
            self.clock.now(),
            tenant,
            record,
            loaded,
            principal,
            label,
            grants,
        );
        let mut info = info;
        info.read_only = match &action {
            Action::Invoke { operation, .. } => loaded
                .manifest
                .operation(operation)
                .is_some_and(|o| o.read_only),
            _ => false,
        };
        let mut state = CallState::new(info, tx, self.runtime.limits().clone());
        state.set_nesting(Nesting {
            plugins: self.loader.clone(),
            depth: 0,
            deadline: Instant::now() + deadline,
            effects,
        });
        let (result, state) = self
            .runtime
            .call(&loaded.prepared, state, &action, deadline);
        if let (true, Action::Invoke { operation, .. }) = (inline::active(), &action) {
            // An operation that keeps running past the budget of an attempt in place,
            // or waiting, runs on the pool for a while.
            let answered = result.is_ok() && !inline::gave_up();
            if answered || inline::gave_up() {
                loaded.attempted_in_place(operation, answered);
            }
        }
        // An attempt in place that fails runs again on the pool: its log lines and
        // warnings are those of the run that counts.
        let counts = !inline::active() || (result.is_ok() && !inline::gave_up());
        let (stdout, stderr) = state.captured_output();
        for (stream, text) in [("stdout", stdout), ("stderr", stderr)] {
            if counts && !text.is_empty() {
                tracing::info!(target: "plugin", plugin = %record.id, version = %record.version,
                    tenant = %tenant.id, stream, "{}", text.trim_end());
            }
        }
        match result {
            Ok(output) => {
                if state.queued_work() {
                    // Events or runs were queued: wake the background worker. Its
                    // write transaction waits for this call's commit (or rollback),
                    // so it sees exactly what was committed.
                    self.worker.wake();
                }
                let tx = state.into_tx().ok_or_else(|| {
                    HostError::Internal("a call did not hand its transaction back".into())
                })?;
                Ok((output, tx))
            }
            Err(failure) => {
                let failure = match (failure, state.last_error_log()) {
                    (Failure::Trap(trap), Some(logged)) => {
                        Failure::Trap(format!("{trap}; the plugin last logged: {logged}"))
                    }
                    (other, _) => other,
                };
                // Dropping the state drops the transaction: nothing the call wrote stays.
                drop(state);
                if let Failure::Storage(e) = failure {
                    return Err(HostError::Storage(e));
                }
                let err = call_error(record, label, failure);
                if counts && err.http_status() >= 500 {
                    tracing::warn!(tenant = %tenant.id, "{err}");
                }
                Err(err)
            }
        }
    }
}

/// The deadline of a call of `operation`: its own `deadline-ms` for batch work (the
/// host's `default` when that is longer), else the plugin's `[limits]` deadline, else
/// `default`; the plugin's part was resolved when it was loaded.
fn call_deadline(loaded: &Loaded, operation: &str, default: Duration) -> Duration {
    loaded
        .manifest
        .operation(operation)
        .and_then(|o| o.deadline_ms)
        .map_or(loaded.limits.call_deadline, |ms| {
            default.max(Duration::from_millis(ms))
        })
}

/// A call planned: its transaction (a writer's once it may write), the registry
/// rows it was planned from and the plan.
type Planned = (Box<dyn Transaction>, Arc<RegistryRows>, Plan);

/// Plan a call again from registry rows read through `tx`, a writer that started
/// after the registry changed since `before` was planned; the input is checked again
/// when another version of the plugin now runs. The rows are not kept: `tx` may have
/// started before the stamp was read.
fn replan(
    tx: &mut dyn Transaction,
    tenant: &str,
    plugin: &str,
    resolve: &dyn Fn(&mut dyn Transaction, &RegistryRows) -> HostResult<Plan>,
    check: &dyn Fn(&Plan) -> HostResult<()>,
    before: &Plan,
) -> HostResult<(Arc<RegistryRows>, Plan)> {
    let rows = Arc::new(read_registry_rows(tx, tenant, plugin)?);
    let plan = resolve(tx, &rows)?;
    if plan.record.digest != before.record.digest {
        check(&plan)?;
    }
    Ok((rows, plan))
}

/// The registry rows of an outside call, read through `tx`.
fn read_registry_rows(
    tx: &mut dyn Transaction,
    tenant: &str,
    plugin: &str,
) -> HostResult<RegistryRows> {
    Ok(RegistryRows {
        tenant: Host::require_tenant(tx, tenant)?,
        record: Plan::registry(tx, tenant, plugin, Caller::Outside)?,
        grants: tx.grants_get(plugin)?,
    })
}

/// Who and what one call is about, with the business time fixed now.
fn call_info(
    now: OffsetDateTime,
    tenant: &Tenant,
    record: &PackageRecord,
    loaded: &Loaded,
    principal: &Principal,
    label: &str,
    grants: Vec<String>,
) -> CallInfo {
    CallInfo {
        scope: Scope {
            tenant: tenant.id.clone(),
            plugin: record.id.clone(),
        },
        version: record.version.clone(),
        action: label.to_string(),
        principal: principal.clone(),
        now,
        time_zone: tenant.time_zone.clone(),
        grants,
        invocation_id: invocation_id(now),
        manifest: loaded.manifest.clone(),
        read_only: false,
    }
}

fn call_error(record: &PackageRecord, label: &str, failure: Failure) -> HostError {
    HostError::Call {
        plugin: record.id.clone(),
        version: record.version.clone(),
        action: label.to_string(),
        failure,
    }
}
