//! Host capabilities: one file per imported WIT interface.
//!
//! Each file implements the generated `Host` trait of its interface for [`CallState`],
//! the per-call state held in the wasmtime store. A capability the admin did not grant
//! answers `forbidden`; a limit broken by the guest is an expected error where the
//! plugin can recover (oversized key) and a trap where it cannot.

/// `?` for the error a plugin sees: the value of an `Ok`, or, for an `Err(e)`, return
/// `Ok(Err(e.into()))` from the host function (the guest gets the error and runs on; a
/// trap is the outer `Err`).
macro_rules! try_wit {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(e) => return Ok(Err(From::from(e))),
        }
    };
}

/// `pub fn add_to_linker` over the generated `add_to_linker` of each named import
/// (a world or an interface), all implemented by [`CallState`] itself (`HasSelf`).
macro_rules! consumer_linker {
    ($(#[$doc:meta])* $($($import:ident)::+),+ $(,)?) => {
        $(#[$doc])*
        pub fn add_to_linker(
            linker: &mut wasmtime::component::Linker<CallState>,
        ) -> wasmtime::Result<()> {
            $(
                $($import)::+::add_to_linker::<CallState, wasmtime::component::HasSelf<CallState>>(
                    linker,
                    |state| state,
                )?;
            )+
            Ok(())
        }
    };
}

mod compliance;
mod context;
mod events;
mod extension;
mod http;
mod log;
mod notify;
mod payroll;
mod plugins;
mod quota;
mod scheduler;
mod storage;
mod wasi;

pub use events::{MAX_PAYLOAD_BYTES, foreign_topic_grant};
pub use http::{
    DEFAULT_TIMEOUT_MS, MAX_HEADER_BYTES, MAX_HEADERS, MAX_REQUEST_BODY, MAX_REQUESTS_PER_CALL,
    MAX_TIMEOUT_MS,
};
pub use notify::{MAX_BODY_BYTES, MAX_RECIPIENTS, MAX_SUBJECT_CHARS};
pub use quota::{
    FLAG_EVENTS_PER_CALL, FLAG_EVENTS_PER_DAY, FLAG_RUNS_PER_CALL, FLAG_RUNS_PER_DAY,
    FLAG_STORED_BYTES, FLAG_STORED_KEYS, utc_day,
};
pub use wasi::{ALLOWED_WASI, add_wasi_to_linker};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::auth::Principal;
use crate::bindings::{self, WitError};
use crate::manifest::Manifest;
use crate::store::{Scope, Transaction};
use crate::{Limits, MemoryLimiter, Plugins};

/// What a host function returns: a trap (the outer `Err`, which ends the call) or what
/// the plugin sees, a value or an error it can handle.
type WitResult<T, E = WitError> = wasmtime::Result<Result<T, E>>;

/// Bytes of stdout and stderr kept per call; the rest is dropped.
const CAPTURE_BYTES: usize = 16 << 10;

/// Who and what a call is about. Filled by the host before the plugin runs.
#[derive(Debug, Clone)]
pub struct CallInfo {
    /// Tenant and plugin owning the data this call touches.
    pub scope: Scope,
    /// Plugin version.
    pub version: String,
    /// Operation, job or event being run, for logs and errors.
    pub action: String,
    /// Who is calling.
    pub principal: Principal,
    /// Business time of the call, fixed at its start.
    pub now: OffsetDateTime,
    /// The tenant's IANA time zone.
    pub time_zone: String,
    /// Capabilities granted to the plugin.
    pub grants: Vec<String>,
    /// Unique id of the call.
    pub invocation_id: String,
    /// The plugin's manifest: what it may emit, schedule and call.
    pub manifest: Arc<Manifest>,
    /// The call runs a `read-only` operation: every write is refused.
    pub read_only: bool,
}

/// What a running call needs to call another plugin in its transaction.
#[derive(Clone)]
pub struct Nesting {
    /// Loads and resolves the target (the host).
    pub plugins: Arc<dyn Plugins>,
    /// 0 for a call from outside, 1 for a call made by a plugin, ...
    pub depth: u32,
    /// When the outermost call's deadline passes; nested calls get what is left.
    pub deadline: std::time::Instant,
    /// Set for a dry run: what the call and its nested calls ask for is recorded.
    pub effects: Option<crate::dry_run::Recorder>,
}

/// Process-wide counter making invocation ids unique together with the start time.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// A unique id for a call starting at `now`.
pub fn invocation_id(now: OffsetDateTime) -> String {
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:x}-{}-{n:x}",
        now.unix_timestamp_nanos(),
        std::process::id()
    )
}

/// Everything one call's store holds.
pub struct CallState {
    pub(crate) info: CallInfo,
    /// The call's transaction; lent to a nested call (`plugins.call`) while it runs.
    pub(crate) tx: Option<Box<dyn Transaction>>,
    /// Set for calls run by the host (not for benchmarks' bare instantiation).
    pub(crate) nesting: Option<Nesting>,
    pub(crate) limiter: MemoryLimiter,
    /// Set when the call emitted an event or scheduled a run: the background worker
    /// has something to look at once the call commits.
    pub(crate) queued_work: bool,
    /// Events this call emitted and one-off runs it scheduled (per-call quotas).
    emitted: u64,
    scheduled: u64,
    /// HTTP requests this call queued (per-call cap).
    http_requests: u32,
    /// Payroll rules plugins resolved during this call, by country.
    pub(crate) providers: std::collections::HashMap<String, Arc<extension::Provider>>,
    limits: Arc<Limits>,
    log_records: u32,
    /// The last error-level record, shown with a trap (a panic message, typically).
    last_error_log: Option<String>,
    wasi: WasiCtx,
    /// The virtual monotonic clock and the deadline of the call's waits.
    pub(crate) waits: wasi::Waits,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl CallState {
    /// State for one call running in transaction `tx`.
    pub fn new(info: CallInfo, tx: Box<dyn Transaction>, limits: Arc<Limits>) -> Self {
        let stdout = MemoryOutputPipe::new(CAPTURE_BYTES);
        let stderr = MemoryOutputPipe::new(CAPTURE_BYTES);
        let wasi = wasi::context(&info, stdout.clone(), stderr.clone());
        CallState {
            limiter: MemoryLimiter::new(limits.memory_bytes),
            queued_work: false,
            emitted: 0,
            scheduled: 0,
            http_requests: 0,
            providers: std::collections::HashMap::new(),
            info,
            tx: Some(tx),
            nesting: None,
            limits,
            log_records: 0,
            last_error_log: None,
            wasi,
            waits: wasi::Waits::default(),
            table: ResourceTable::new(),
            stdout,
            stderr,
        }
    }

    /// Take the call's transaction back out of its state.
    pub fn into_tx(self) -> Option<Box<dyn Transaction>> {
        self.tx
    }

    /// Let the call nest others (set for calls run by the host).
    pub fn set_nesting(&mut self, nesting: Nesting) {
        self.nesting = Some(nesting);
    }

    /// Whether the call emitted an event or scheduled a run: the background worker
    /// has something to look at once the call commits.
    pub fn queued_work(&self) -> bool {
        self.queued_work
    }

    /// What the guest printed to stdout and stderr, lossily decoded.
    pub fn captured_output(&self) -> (String, String) {
        let text = |p: &MemoryOutputPipe| String::from_utf8_lossy(&p.contents()).into_owned();
        (text(&self.stdout), text(&self.stderr))
    }

    /// The last message the plugin logged at error level during this call.
    pub fn last_error_log(&self) -> Option<&str> {
        self.last_error_log.as_deref()
    }

    /// Record an effect when this call is (part of) a dry run.
    pub(crate) fn effect(&self, f: impl FnOnce(&mut crate::dry_run::Effects)) {
        if let Some(recorder) = self.nesting.as_ref().and_then(|n| n.effects.as_ref()) {
            recorder.with(f);
        }
    }

    /// [`CallState::require`] for imports that write: refused in read-only calls.
    fn require_write(&self, capability: &str) -> Result<(), WitError> {
        self.require(capability)?;
        if self.info.read_only {
            return Err(WitError::Forbidden(format!(
                "{} of plugin '{}' is declared `read-only` in plugin.toml, so it cannot write (storage put or delete, events, scheduler); remove `read-only` from the operation if it must write",
                self.info.action, self.info.scope.plugin
            )));
        }
        Ok(())
    }

    fn require(&self, capability: &str) -> Result<(), WitError> {
        if self.info.grants.iter().any(|g| g == capability) {
            Ok(())
        } else {
            Err(WitError::Forbidden(format!(
                "plugin '{}' was not granted the '{capability}' capability; add it to \
                 `capabilities` in plugin.toml and reinstall, granting it",
                self.info.scope.plugin
            )))
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::backoffice::host::types::Host for CallState {}

/// A host-side failure inside a call: the call traps and rolls back everything. The
/// host implements it for its own error.
pub trait HostFault {
    /// The trap.
    fn into_trap(self) -> wasmtime::Error;
}

/// A storage failure stays typed in the trap, so the runtime can tell a retryable
/// conflict on a shared database (the whole call runs again) from a fault.
impl HostFault for crate::store::StoreError {
    fn into_trap(self) -> wasmtime::Error {
        wasmtime::Error::new(self)
    }
}

impl HostFault for &str {
    fn into_trap(self) -> wasmtime::Error {
        wasmtime::Error::msg(self.to_string())
    }
}

impl HostFault for String {
    fn into_trap(self) -> wasmtime::Error {
        wasmtime::Error::msg(self)
    }
}

/// Trap on a host-side failure (see [`HostFault`]).
pub(crate) fn trap(e: impl HostFault) -> wasmtime::Error {
    e.into_trap()
}

/// A call's transaction (`&mut state.tx`, so other fields stay borrowable); a trap if
/// it is lent out, which cannot happen while the guest waits for the nested call that
/// borrowed it.
pub(crate) fn tx_of(
    tx: &mut Option<Box<dyn Transaction>>,
) -> wasmtime::Result<&mut dyn Transaction> {
    match tx.as_mut() {
        Some(tx) => Ok(tx.as_mut()),
        None => Err(wasmtime::Error::msg(
            "the call's transaction is in use by a nested call",
        )),
    }
}

/// Add every `backoffice:host` import to `linker`.
pub fn add_host_to_linker(
    linker: &mut wasmtime::component::Linker<CallState>,
) -> wasmtime::Result<()> {
    bindings::Plugin::add_to_linker::<CallState, wasmtime::component::HasSelf<CallState>>(
        linker,
        |state| state,
    )?;
    payroll::add_to_linker(linker)?;
    compliance::add_to_linker(linker)?;
    notify::add_to_linker(linker)?;
    http::add_to_linker(linker)
}
