//! Sandbox limits: how long a call may run, how much memory it may use and how much
//! data may cross the boundary. Every call gets all of them.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// Limits applied to every plugin call. Defaults are documented in
/// `docs/architecture.md`; every field can be set on the command line.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock deadline of one operation call.
    pub call_deadline: Duration,
    /// Wall-clock deadline of a migration, job or event delivery.
    pub long_deadline: Duration,
    /// Memory of one instance, summed over all its linear memories.
    pub memory_bytes: usize,
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            call_deadline: Duration::from_secs(2),
            long_deadline: Duration::from_secs(60),
            memory_bytes: 64 << 20,
            max_input_bytes: 1 << 20,
            max_output_bytes: 4 << 20,
            max_key_bytes: 512,
            max_value_bytes: 1 << 20,
            max_scan_entries: 1000,
            max_scan_bytes: 4 << 20,
            max_log_records: 256,
            max_instances: 64,
        }
    }
}

impl Limits {
    /// Bytes the guest may copy into one host call (wasmtime's "hostcall fuel"):
    /// enough for the largest storage value or operation output, with headroom for
    /// the key and list overhead.
    pub fn hostcall_fuel(&self) -> usize {
        self.max_value_bytes.max(self.max_output_bytes) + (64 << 10)
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
    fn growth_counts_only_the_increase() {
        let mut l = MemoryLimiter::new(100);
        l.memory_growing(0, 50, None).unwrap();
        l.memory_growing(50, 90, None).unwrap();
        assert_eq!(l.used(), 90);
    }
}
