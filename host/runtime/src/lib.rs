//! The sandbox: one wasmtime engine, a linker offering only our imports, and one fresh
//! instance per call.
//!
//! Instances come from an [`InstancePre`](wasmtime::component::InstancePre) on the
//! pooling allocator, so a call costs microseconds. Each call's store gets an epoch
//! deadline, a memory limiter summing all memories, and a cap on bytes the guest may
//! copy into one host call.
//!
//! The crate `backoffice-runtime` holds the engine and its limits, the bindings of the
//! WIT worlds ([`bindings`]) and the capabilities, one module per imported interface
//! ([`capabilities`]). It knows nothing of the host (which names it
//! `backoffice_host::runtime`): what a call needs to reach other plugins, the host
//! gives it through the trait [`Plugins`].

pub mod bindings;
mod cache;
pub mod capabilities;
pub mod clock;
pub mod dry_run;
pub mod guard;
pub mod inline;
mod limits;
mod plugins;
pub mod stack;

// The vocabulary and storage traits, under the names the host gives them.
use backoffice_core::{extensions, manifest, principal as auth};
use backoffice_store as store;

pub use cache::{CacheOutcome, CodeCache, code_digest, engine_key};
pub use limits::{
    BASE_FRAMES, HOST_FRAMES_PER_LEVEL, Limits, MAX_DEPTH, MemoryLimitExceeded, MemoryLimiter,
    OverPolicy, PluginLimits, QuotaExceeded, Quotas,
};
pub use manifest::schema_errors;
pub use plugins::{Loaded, Plugins, Refusal, Resolved};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, Instance, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

use crate::bindings::compliance::provider::ChecksProviderIndices;
use crate::bindings::payroll::provider::RulesProviderIndices;
use crate::bindings::{Plugin, PluginIndices, WitError};
use crate::capabilities::CallState;

/// How often the epoch advances; deadlines are whole multiples of this.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// What a call asks the plugin to do.
#[derive(Debug, Clone)]
pub enum Action {
    /// `invoke(operation, input)`.
    Invoke { operation: String, input: String },
    /// `migrate(from)`.
    Migrate { from: Option<String> },
    /// `on-event(topic, payload)`.
    OnEvent { topic: String, payload: String },
    /// `run-job(job, payload)`.
    RunJob { job: String, payload: String },
}

/// How a call ended when it did not return normally.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The plugin returned one of the WIT error cases.
    #[error("{}", describe_wit_error(.0))]
    Plugin(WitError),
    /// The call ran past its deadline and was stopped.
    #[error("stopped after the {0:?} deadline")]
    Deadline(Duration),
    /// The instance tried to use more memory than allowed.
    #[error("{0}")]
    Memory(MemoryLimitExceeded),
    /// The call went past a quota of its tenant and plugin.
    #[error("{0}")]
    Quota(Box<QuotaExceeded>),
    /// The plugin trapped (a panic, an `unreachable`, a host-side fault).
    #[error("trapped: {0}")]
    Trap(String),
    /// The output is larger than the cap.
    #[error("returned {size} bytes of output, more than the {cap} byte limit")]
    OutputTooLarge { size: usize, cap: usize },
    /// The plugin could not be instantiated (pool exhausted, bad component).
    #[error("could not start an instance: {0}")]
    Instantiate(String),
    /// The host's storage failed under the call (a retryable conflict on a shared
    /// database, or a fault): not the plugin's doing.
    #[error("{0}")]
    Storage(crate::store::StoreError),
}

/// A host function refused to wait past the call's deadline. The runtime reports it
/// as [`Failure::Deadline`], like a runaway loop stopped by the epoch.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the plugin waited past the call's deadline")]
pub struct DeadlineExceeded;

/// Readable text of a WIT error.
pub fn describe_wit_error(e: &WitError) -> String {
    match e {
        WitError::InvalidInput(m) => format!("invalid input: {m}"),
        WitError::NotFound(m) => format!("not found: {m}"),
        WitError::Conflict(m) => format!("conflict: {m}"),
        WitError::Forbidden(m) => format!("forbidden: {m}"),
        WitError::Internal(m) => format!("internal error: {m}"),
        WitError::Unsupported(m) => format!("unsupported: {m}"),
    }
}

/// A component ready to instantiate.
pub struct Prepared {
    pre: InstancePre<CallState>,
    handler: PluginIndices,
    /// Set when the component exports `backoffice:payroll/rules`.
    pub(crate) rules: Option<RulesProviderIndices>,
    /// Set when the component exports `backoffice:compliance/checks`.
    pub(crate) checks: Option<ChecksProviderIndices>,
    /// Whether the code came from the cache.
    pub cache: CacheOutcome,
    /// Memory cap of each instance: the host's default until the loader sets the
    /// plugin's own (see [`Prepared::with_memory_cap`]).
    memory_bytes: usize,
    /// The most memory one instance held at the end of a call, over all calls since
    /// the plugin was loaded (memories only grow, so the end is the peak).
    high_water: std::sync::atomic::AtomicUsize,
}

impl Prepared {
    /// Instances get `bytes` of memory instead of the host's default (at most what
    /// the pool's slots hold, which the caller checked against the policy).
    pub fn with_memory_cap(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Memory cap of each instance.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// The most memory one instance held, over all its calls since it was loaded
    /// (calls that trapped on the cap included, at what they held before the growth
    /// that was refused): what to size a plugin's `[limits] memory` on.
    pub fn memory_high_water(&self) -> usize {
        self.high_water.load(Ordering::Relaxed)
    }
}

/// The engine and linker shared by all calls.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    limits: Arc<Limits>,
    cache: CodeCache,
    _ticker: Ticker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Linear memories the pool holds for `component_slots` component instances.
pub fn memory_slots(component_slots: u64) -> u64 {
    component_slots * 2
}

/// Slot decommits batched together (see `Runtime::new`); when the pool runs out of
/// slots, wasmtime flushes the batch first, so no call is refused for it.
const DECOMMIT_BATCH: usize = 16;

/// Bytes of each memory and table slot kept resident between instances where
/// `PAGEMAP_SCAN` is available (without it, resetting them would mean a `memset` of
/// the whole region, which measured slower than `madvise`).
const KEEP_RESIDENT: usize = 1 << 20;

impl Runtime {
    /// A runtime keeping compiled code under `cache_dir`.
    pub fn new(limits: Limits, cache_dir: &Path) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Each nested call gets this much again: threads running calls are sized for
        // all levels together (see `stack`).
        config.max_wasm_stack(limits.max_wasm_stack);
        let mut pool = PoolingAllocationConfig::default();
        let slots = limits.max_instances;
        pool.total_component_instances(slots);
        // A Rust component has a handful of core instances (the program and the
        // canonical-ABI shims) and one or two memories.
        pool.total_core_instances(slots * 16);
        pool.max_core_instances_per_component(32);
        pool.total_memories(memory_slots(u64::from(slots)) as u32);
        pool.max_memories_per_component(4);
        pool.total_tables(slots * 8);
        pool.max_tables_per_component(16);
        // A slot holds the largest memory the admin's policy lets a plugin declare.
        pool.max_memory_size(limits.pool_memory_bytes());
        pool.table_elements(100_000);
        // A slot's memory is given back (`madvise`) when its instance ends: with other
        // cores running calls, each is a TLB shootdown across them. They are batched,
        // and where Linux's `PAGEMAP_SCAN` can tell which pages a call touched, the
        // first MiB stays resident and only those pages are reset to the module's
        // image. Measured with `benches/http.sh` (`probe.get`, 64 connections, two
        // run pairs): 4,418 and 5,037 requests/s before, 5,499 and 6,733 after.
        pool.decommit_batch_size(DECOMMIT_BATCH);
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(wasmtime::Enabled::Yes);
            pool.linear_memory_keep_resident(KEEP_RESIDENT);
            pool.table_keep_resident(KEEP_RESIDENT);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        capabilities::add_host_to_linker(&mut linker)?;
        capabilities::add_wasi_to_linker(&mut linker)?;

        let ticker = Ticker::start(engine.clone());
        let cache = CodeCache::new(cache_dir, &engine);
        Ok(Runtime {
            engine,
            linker,
            limits: Arc::new(limits),
            cache,
            _ticker: ticker,
        })
    }

    /// The limits every call gets.
    pub fn limits(&self) -> &Arc<Limits> {
        &self.limits
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled-code cache.
    pub fn cache(&self) -> &CodeCache {
        &self.cache
    }

    /// Compile `bytes` (not cached) for inspection at install.
    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<(Component, Vec<u8>)> {
        let code = self.engine.precompile_component(bytes)?;
        #[allow(
            unsafe_code,
            reason = "bytes produced by this engine's precompile just above"
        )]
        // SAFETY: `code` is the output of `precompile_component` of this very engine.
        let component = unsafe { Component::deserialize(&self.engine, &code)? };
        Ok((component, code))
    }

    /// Link `component` against our imports and check it exports the handler.
    pub fn prepare(
        &self,
        component: &Component,
        cache: CacheOutcome,
    ) -> wasmtime::Result<Prepared> {
        let pre = self.linker.instantiate_pre(component)?;
        let handler = PluginIndices::new(&pre)?;
        let exports = |interface: &str| component.get_export_index(None, interface).is_some();
        let mismatch = |interface: &'static str| {
            move |e: wasmtime::Error| {
                e.context(format!(
                    "the component exports {interface} with types that do not match this host's"
                ))
            }
        };
        let rules = match exports(crate::extensions::PAYROLL_RULES.interface) {
            true => Some(
                RulesProviderIndices::new(&pre)
                    .map_err(mismatch(crate::extensions::PAYROLL_RULES.interface))?,
            ),
            false => None,
        };
        let checks = match exports(crate::extensions::COMPLIANCE_CHECKS.interface) {
            true => Some(
                ChecksProviderIndices::new(&pre)
                    .map_err(mismatch(crate::extensions::COMPLIANCE_CHECKS.interface))?,
            ),
            false => None,
        };
        Ok(Prepared {
            pre,
            handler,
            rules,
            checks,
            cache,
            memory_bytes: self.limits.memory_bytes,
            high_water: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Load an installed component from the cache (compiling if needed) and link it.
    /// `expected` is the SHA-256 recorded for its cache file; a new one to record is
    /// returned when the file was (re)written with other code.
    pub fn load(
        &self,
        digest: &str,
        bytes: &[u8],
        expected: Option<&str>,
    ) -> wasmtime::Result<(Prepared, Option<String>)> {
        let (component, outcome, written) =
            self.cache.load(&self.engine, digest, bytes, expected)?;
        Ok((self.prepare(&component, outcome)?, written))
    }

    /// A store for one call of `prepared`: memory limiter with its cap, hostcall fuel
    /// and epoch deadline set, and the same deadline for waits inside host functions,
    /// which the epoch cannot stop.
    fn store(
        &self,
        prepared: &Prepared,
        mut state: CallState,
        deadline: Duration,
    ) -> Store<CallState> {
        state.limiter = MemoryLimiter::new(prepared.memory_bytes);
        let now = std::time::Instant::now();
        // An attempt in place (see `inline`) runs only until its budget is spent.
        let deadline = match inline::deadline() {
            Some(at) => deadline.min(at.saturating_duration_since(now)),
            None => deadline,
        };
        state
            .waits
            .set_deadline(now.checked_add(deadline).unwrap_or(now));
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(self.limits.hostcall_fuel());
        let ticks = deadline.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        store
    }

    /// Run one call in a fresh instance. The state (with its transaction) is handed
    /// back whatever happened, so the caller decides to commit or drop it.
    ///
    /// The call runs on a thread with [`Limits::native_stack_bytes`] of stack: in
    /// place on a thread marked with that much (see [`stack`]), which is where every
    /// nested call runs, else on a thread started for it.
    pub fn call(
        &self,
        prepared: &Prepared,
        state: CallState,
        action: &Action,
        deadline: Duration,
    ) -> (Result<String, Failure>, CallState) {
        // Lent to the call's thread, and still here if that thread could not start.
        let mut slot = Some(state);
        let slot_ref = &mut slot;
        let ran = stack::with_stack(self.limits.native_stack_bytes(), move || {
            slot_ref
                .take()
                .map(|state| self.call_in_place(prepared, state, action, deadline))
        });
        match (ran, slot) {
            (Ok(Some(done)), _) => done,
            (Err(e), Some(state)) => (
                Err(Failure::Instantiate(format!(
                    "cannot start a thread with {} bytes of stack for the call: {e}",
                    self.limits.native_stack_bytes()
                ))),
                state,
            ),
            // The state is taken only by the closure, which then answers.
            (Ok(None), _) | (Err(_), None) => unreachable!("the call's state was lost"),
        }
    }

    /// [`Runtime::call`] on the current thread, whatever its stack.
    fn call_in_place(
        &self,
        prepared: &Prepared,
        state: CallState,
        action: &Action,
        deadline: Duration,
    ) -> (Result<String, Failure>, CallState) {
        let (result, state) = self.call_with(prepared, state, deadline, |store, instance| {
            let plugin: Plugin = prepared.handler.load(&mut *store, instance)?;
            let handler = plugin.backoffice_host_handler();
            match action {
                Action::Invoke { operation, input } => {
                    handler.call_invoke(&mut *store, operation, input)
                }
                Action::Migrate { from } => handler
                    .call_migrate(&mut *store, from.as_deref())
                    .map(|r| r.map(|()| String::new())),
                Action::OnEvent { topic, payload } => handler
                    .call_on_event(&mut *store, topic, payload)
                    .map(|r| r.map(|()| String::new())),
                Action::RunJob { job, payload } => handler
                    .call_run_job(&mut *store, job, payload)
                    .map(|r| r.map(|()| String::new())),
            }
        });
        let result = match result {
            Ok(Ok(output)) if output.len() > self.limits.max_output_bytes => {
                Err(Failure::OutputTooLarge {
                    size: output.len(),
                    cap: self.limits.max_output_bytes,
                })
            }
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => Err(Failure::Plugin(e)),
            Err(f) => Err(f),
        };
        (result, state)
    }

    /// Instantiate `prepared` in a store set up for one call and run `f` on it (to
    /// call an extension export). The state is handed back whatever happened. Runs on
    /// the current thread: for calls nested in one [`Runtime::call`] started, whose
    /// thread has the stack for them.
    pub fn call_with<T>(
        &self,
        prepared: &Prepared,
        state: CallState,
        deadline: Duration,
        f: impl FnOnce(&mut Store<CallState>, &Instance) -> wasmtime::Result<T>,
    ) -> (Result<T, Failure>, CallState) {
        let mut store = self.store(prepared, state, deadline);
        let result = match prepared.pre.instantiate(&mut store) {
            Err(e) => Err(classify(e, deadline)),
            Ok(instance) => f(&mut store, &instance).map_err(|e| classify(e, deadline)),
        };
        // Written only when it rises: every call of the plugin reads this one word,
        // and a write on each would bounce its cache line between the cores.
        let used = store.data().limiter.used();
        if used > prepared.high_water.load(Ordering::Relaxed) {
            prepared.high_water.fetch_max(used, Ordering::Relaxed);
        }
        (result, store.into_data())
    }
}

impl Runtime {
    /// Instantiate `prepared` `iterations` times with the per-call store setup (limits,
    /// fuel, deadline) but without calling it; the time of each, for benchmarks.
    #[doc(hidden)]
    pub fn time_instantiation(
        &self,
        prepared: &Prepared,
        mut state: CallState,
        iterations: u64,
    ) -> wasmtime::Result<(Vec<Duration>, usize, CallState)> {
        let mut times = Vec::with_capacity(usize::try_from(iterations).unwrap_or(0));
        let mut memory = 0;
        for _ in 0..iterations {
            let started = std::time::Instant::now();
            let mut store = self.store(prepared, state, self.limits.call_deadline);
            prepared.pre.instantiate(&mut store)?;
            state = store.into_data();
            memory = state.limiter.used();
            times.push(started.elapsed());
        }
        Ok((times, memory, state))
    }
}

/// Turn a wasmtime error into the failure a person can act on.
fn classify(e: wasmtime::Error, deadline: Duration) -> Failure {
    if e.downcast_ref::<DeadlineExceeded>().is_some() {
        // In an attempt, the deadline reached may be the attempt's budget.
        let _ = inline::give_up();
        return Failure::Deadline(deadline);
    }
    if e.downcast_ref::<inline::GaveUp>().is_some() {
        return Failure::Deadline(deadline);
    }
    if let Some(store) = e.downcast_ref::<crate::store::StoreError>() {
        return Failure::Storage(store.clone());
    }
    if let Some(quota) = e.downcast_ref::<QuotaExceeded>() {
        return Failure::Quota(Box::new(quota.clone()));
    }
    if let Some(limit) = e.downcast_ref::<MemoryLimitExceeded>() {
        return Failure::Memory(MemoryLimitExceeded {
            requested: limit.requested,
            cap: limit.cap,
        });
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            let _ = inline::give_up();
            Failure::Deadline(deadline)
        }
        Some(trap) => Failure::Trap(trap.to_string()),
        None => {
            let text = format!("{e:#}");
            if text.contains("maximum concurrent") || text.contains("pooling") {
                Failure::Instantiate(text)
            } else {
                Failure::Trap(text)
            }
        }
    }
}

/// Advances the engine's epoch on a background thread until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        Ticker { stop, thread }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub use bindings::HOST_API_VERSION;

#[cfg(test)]
mod storage_failure_tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn a_storage_failure_stays_typed_through_the_trap() {
        // wasmtime wraps a host function's error in context (the wasm backtrace).
        let trapped = crate::capabilities::trap(StoreError::Retry("serialization".into()))
            .context("wasm backtrace");
        match classify(trapped, Duration::from_secs(2)) {
            Failure::Storage(StoreError::Retry(m)) => assert_eq!(m, "serialization"),
            other => panic!("classified as {other:?}"),
        }
        let fault = crate::capabilities::trap("a plain fault");
        assert!(matches!(
            classify(fault, Duration::from_secs(2)),
            Failure::Trap(_)
        ));
    }
}
