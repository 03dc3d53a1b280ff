//! Sandbox limits: how long a call may run, how much memory and stack it may use and
//! how much data may cross the boundary. Every call gets all of them.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// Deepest chain of plugin-to-plugin calls (`plugins.call`, payroll and compliance
/// extension calls): a plugin called from outside is depth 0, so at most this many
/// stores are on one thread's stack at once.
pub const MAX_DEPTH: u32 = 6;

/// Native stack one nesting level uses besides its wasm: wasmtime's trampolines, the
/// host import that makes the nested call, its checks and the next store's
/// instantiation. About 40 KiB in a debug build (measured with the `deep-stack`
/// fixtures); kept generous, since only address space is reserved.
pub const HOST_FRAMES_PER_LEVEL: usize = 256 << 10;

/// Native stack outside the chain of calls: the frames of whatever starts the
/// outermost call (an HTTP handler, the scheduler loop, a command), and the host
/// functions the deepest level calls.
pub const BASE_FRAMES: usize = 1 << 20;

/// Limits applied to every plugin call. Defaults are documented in
/// `docs/architecture.md`; every field can be set on the command line.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock deadline of one operation call.
    pub call_deadline: Duration,
    /// Wall-clock deadline of one tenant's migration of a plugin (`migrate`, run at
    /// enable and upgrade): `--migration-timeout-ms`.
    pub migration_deadline: Duration,
    /// Wall-clock deadline of a job run or an event delivery (`run-job`, `on-event`):
    /// `--background-timeout-ms`. A worker's lease must outlast it.
    pub background_deadline: Duration,
    /// Memory of one instance, summed over all its linear memories, for a plugin
    /// that declares none in its `[limits]`.
    pub memory_bytes: usize,
    /// The admin's policy: the most memory a plugin may declare in `[limits]`
    /// (`--max-plugin-memory-mib`). The pool's memory slots hold this much.
    pub max_plugin_memory_bytes: usize,
    /// The admin's policy: the longest default call deadline a plugin may declare
    /// in `[limits]` (`--max-plugin-deadline-ms`).
    pub max_plugin_deadline: Duration,
    /// Native stack the wasm of one call may use (wasmtime's `max_wasm_stack`); past
    /// it the call traps with "call stack exhausted". Each nested call has its own.
    pub max_wasm_stack: usize,
    /// Largest JSON input accepted for an operation.
    pub max_input_bytes: usize,
    /// Largest JSON output accepted from an operation.
    pub max_output_bytes: usize,
    /// Largest storage key.
    pub max_key_bytes: usize,
    /// Largest storage value.
    pub max_value_bytes: usize,
    /// Most entries one storage scan returns.
    pub max_scan_entries: u32,
    /// Most bytes of values one storage scan returns (at least one entry is returned).
    pub max_scan_bytes: usize,
    /// Most log records one call may write; further records are counted and dropped.
    pub max_log_records: u32,
    /// Instances that can run at the same time (pooling allocator slots).
    pub max_instances: u32,
    /// Quotas on what a plugin keeps and queues in a tenant (see [`Quotas`]).
    pub quotas: Quotas,
}

/// Quotas per tenant and plugin, and on failing calls per user. Each names the flag
/// that sets it, so a refusal can say how to raise it; see `docs/security.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// Bytes (keys plus values) a plugin may keep in one tenant.
    pub stored_bytes: u64,
    /// Keys a plugin may keep in one tenant.
    pub stored_keys: u64,
    /// Events one call may emit.
    pub events_per_call: u64,
    /// One-off runs one call may schedule.
    pub runs_per_call: u64,
    /// Events a plugin may emit in one tenant per UTC day.
    pub events_per_day: u64,
    /// One-off runs a plugin may schedule in one tenant per UTC day.
    pub runs_per_day: u64,
    /// Failed calls (each adding an audit link) one user may make per hour before
    /// further calls are refused up front; 0 turns the throttle off.
    pub failed_calls_per_hour: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            stored_bytes: 1 << 30,
            stored_keys: 1_000_000,
            events_per_call: 10_000,
            runs_per_call: 1_000,
            events_per_day: 1_000_000,
            runs_per_day: 100_000,
            failed_calls_per_hour: 1_000,
        }
    }
}

/// A call went past a quota. The call traps: nothing it did is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "quota exceeded: {quota} of plugin '{plugin}' in tenant '{tenant}' would reach {usage}, over the limit of {limit}; nothing of this call was kept. {hint}An admin can raise the limit with {flag}"
)]
pub struct QuotaExceeded {
    /// What is counted: `stored bytes`, `events per call`, ...
    pub quota: &'static str,
    /// Tenant id.
    pub tenant: String,
    /// Plugin id.
    pub plugin: String,
    /// The count the call would have reached.
    pub usage: u64,
    /// The limit.
    pub limit: u64,
    /// The command-line flag (and environment variable) that sets the limit.
    pub flag: &'static str,
    /// What the plugin's user can do meanwhile, with a trailing space, or empty.
    pub hint: &'static str,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_deadline: Duration::from_secs(2),
            migration_deadline: Duration::from_secs(60),
            background_deadline: Duration::from_secs(60),
            memory_bytes: 64 << 20,
            max_plugin_memory_bytes: 256 << 20,
            max_plugin_deadline: Duration::from_secs(30),
            max_wasm_stack: 1 << 20,
            max_input_bytes: 1 << 20,
            max_output_bytes: 4 << 20,
            max_key_bytes: 512,
            max_value_bytes: 1 << 20,
            max_scan_entries: 1000,
            max_scan_bytes: 4 << 20,
            max_log_records: 256,
            max_instances: 64,
            quotas: Quotas::default(),
        }
    }
}

/// Memory and call deadline one plugin version gets: what its `[limits]` declare,
/// else the host's defaults. Resolved once, when the plugin is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// Memory cap of one instance.
    pub memory_bytes: usize,
    /// Deadline of a call of an operation declaring no `deadline-ms`.
    pub call_deadline: Duration,
}

/// A plugin's `[limits]` asks for more than the admin's policy allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "plugin '{plugin}' declares [limits] {what} = {declared}, more than this host's policy of {policy}; lower it in plugin.toml, or an admin can raise the policy with {flag}"
)]
pub struct OverPolicy {
    /// Plugin id.
    pub plugin: String,
    /// `memory` or `deadline`.
    pub what: &'static str,
    /// The declared value, readable.
    pub declared: String,
    /// The policy, readable.
    pub policy: String,
    /// The flag and environment variable that set the policy.
    pub flag: &'static str,
}

/// `bytes` as MiB when whole, else bytes.
fn readable_bytes(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{}MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

impl Limits {
    /// The memory cap the pool's slots must hold: the larger of the default and the
    /// policy's maximum.
    pub fn pool_memory_bytes(&self) -> usize {
        self.memory_bytes.max(self.max_plugin_memory_bytes)
    }

    /// Refuse `[limits]` over the admin's policy, naming the declared value, the
    /// policy and the flag that raises it.
    pub fn check_policy(
        &self,
        plugin: &str,
        declared: &backoffice_core::manifest::PluginLimits,
    ) -> Result<(), OverPolicy> {
        let max_memory = u64::try_from(self.pool_memory_bytes()).unwrap_or(u64::MAX);
        if let Some(bytes) = declared.memory_bytes
            && bytes > max_memory
        {
            return Err(OverPolicy {
                plugin: plugin.to_string(),
                what: "memory",
                declared: readable_bytes(bytes),
                policy: readable_bytes(max_memory),
                flag: "--max-plugin-memory-mib (BACKOFFICE_MAX_PLUGIN_MEMORY_MIB)",
            });
        }
        let max_ms = u64::try_from(self.max_plugin_deadline.as_millis()).unwrap_or(u64::MAX);
        if let Some(ms) = declared.deadline_ms
            && ms > max_ms
        {
            return Err(OverPolicy {
                plugin: plugin.to_string(),
                what: "deadline",
                declared: format!("{ms}ms"),
                policy: format!("{max_ms}ms"),
                flag: "--max-plugin-deadline-ms (BACKOFFICE_MAX_PLUGIN_DEADLINE_MS)",
            });
        }
        Ok(())
    }

    /// What a plugin declaring `declared` gets: its values, else the defaults. A
    /// value over the policy (the admin lowered it after the install) is cut to it.
    pub fn for_plugin(&self, declared: &backoffice_core::manifest::PluginLimits) -> PluginLimits {
        let memory_bytes = declared.memory_bytes.map_or(self.memory_bytes, |bytes| {
            usize::try_from(bytes)
                .unwrap_or(usize::MAX)
                .min(self.pool_memory_bytes())
        });
        let call_deadline = declared.deadline_ms.map_or(self.call_deadline, |ms| {
            Duration::from_millis(ms).min(self.max_plugin_deadline.max(self.call_deadline))
        });
        PluginLimits {
            memory_bytes,
            call_deadline,
        }
    }

    /// Bytes the guest may copy into one host call (wasmtime's "hostcall fuel"):
    /// enough for the largest storage value or operation output, with headroom for
    /// the key and list overhead.
    pub fn hostcall_fuel(&self) -> usize {
        self.max_value_bytes.max(self.max_output_bytes) + (64 << 10)
    }

    /// Native stack a thread needs to run plugin calls: wasmtime counts
    /// [`Limits::max_wasm_stack`] per store from where the store is entered, and each
    /// nested call is a store of its own entered below its caller's frames, so the
    /// worst case is [`MAX_DEPTH`] full wasm stacks with the host's frames between
    /// them (see [`crate::stack`]). 8.5 MiB with the defaults.
    pub fn native_stack_bytes(&self) -> usize {
        let levels = usize::try_from(MAX_DEPTH).unwrap_or(usize::MAX);
        levels
            .saturating_mul(self.max_wasm_stack.saturating_add(HOST_FRAMES_PER_LEVEL))
            .saturating_add(BASE_FRAMES)
    }
}

/// Raised when an instance tries to grow its memories past [`Limits::memory_bytes`].
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded: the instance asked for {requested} bytes, the cap is {cap} bytes")]
pub struct MemoryLimitExceeded {
    /// Total bytes the instance would have held after the growth.
    pub requested: usize,
    /// The cap.
    pub cap: usize,
}

/// Counts the bytes of all linear memories of one instance against one cap, and traps
/// (rather than returning -1 to the guest) when it is exceeded, so a plugin cannot
/// keep running in a half-failed state.
#[derive(Debug)]
pub struct MemoryLimiter {
    cap: usize,
    used: usize,
}

impl MemoryLimiter {
    /// A limiter with nothing allocated yet.
    pub fn new(cap: usize) -> Self {
        MemoryLimiter { cap, used: 0 }
    }

    /// Bytes currently held by the instance's memories.
    pub fn used(&self) -> usize {
        self.used
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let requested = self.used - current.min(self.used) + desired;
        if requested > self.cap {
            return Err(MemoryLimitExceeded {
                requested,
                cap: self.cap,
            }
            .into());
        }
        self.used = requested;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables are bounded by the pooling allocator's per-table element limit.
        Ok(desired <= 100_000)
    }

    fn memories(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_all_memories_against_one_cap() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 60, None).unwrap());
        // A second memory of 40 fits, 41 would not.
        assert!(l.memory_growing(0, 40, None).unwrap());
        assert_eq!(l.used(), 100);
        let err = l.memory_growing(0, 1, None).unwrap_err();
        assert!(err.downcast_ref::<MemoryLimitExceeded>().is_some());
    }

    #[test]
    fn the_native_stack_covers_every_level_of_nesting() {
        let limits = Limits::default();
        assert_eq!(
            limits.native_stack_bytes(),
            6 * ((1 << 20) + (256 << 10)) + (1 << 20)
        );
        let bigger = Limits {
            max_wasm_stack: 2 << 20,
            ..Limits::default()
        };
        assert!(bigger.native_stack_bytes() >= 6 * (2 << 20));
    }

    #[test]
    fn plugin_limits_default_apply_and_are_bounded_by_the_policy() {
        use backoffice_core::manifest::PluginLimits as Declared;
        let limits = Limits::default();
        let none = Declared::default();
        assert!(limits.check_policy("p", &none).is_ok());
        let got = limits.for_plugin(&none);
        assert_eq!(got.memory_bytes, limits.memory_bytes);
        assert_eq!(got.call_deadline, limits.call_deadline);

        let declared = Declared {
            memory_bytes: Some(128 << 20),
            deadline_ms: Some(300),
        };
        assert!(limits.check_policy("p", &declared).is_ok());
        let got = limits.for_plugin(&declared);
        assert_eq!(got.memory_bytes, 128 << 20);
        assert_eq!(got.call_deadline, Duration::from_millis(300));

        let big = Declared {
            memory_bytes: Some(512 << 20),
            deadline_ms: None,
        };
        let err = limits.check_policy("p", &big).unwrap_err().to_string();
        assert!(
            err.contains("memory = 512MiB")
                && err.contains("policy of 256MiB")
                && err.contains("--max-plugin-memory-mib"),
            "{err}"
        );
        // Installed under a higher policy: cut to the current one.
        assert_eq!(limits.for_plugin(&big).memory_bytes, 256 << 20);
        let slow = Declared {
            memory_bytes: None,
            deadline_ms: Some(45_000),
        };
        let err = limits.check_policy("p", &slow).unwrap_err().to_string();
        assert!(
            err.contains("deadline = 45000ms") && err.contains("--max-plugin-deadline-ms"),
            "{err}"
        );
    }

    #[test]
    fn growth_counts_only_the_increase() {
        let mut l = MemoryLimiter::new(100);
        l.memory_growing(0, 50, None).unwrap();
        l.memory_growing(50, 90, None).unwrap();
        assert_eq!(l.used(), 90);
    }
}
