//! Dry runs: a call that runs for real and is then rolled back.
//!
//! Every effect of a call lives in its transaction (storage, events, scheduled runs,
//! nested calls and their audit links, webhook and outbox rows), so running the call
//! and dropping the transaction shows exactly what it would have done without doing
//! any of it. While a dry run executes, the capabilities record what the call asked
//! for in an [`Effects`] log shared by the call and every call nested in it.
//!
//! ```text
//! same checks as a call -> call runs in its transaction, recording its effects
//!   -> output checked against its schema -> transaction dropped (nothing kept)
//!   -> audit link `dry-run` -> output + effects to the caller
//! ```

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Storage keys listed per plugin in a dry run's report; the counts are complete.
pub const MAX_KEYS_LISTED: usize = 100;

/// What a dry run would have done, in the order it happened.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Effects {
    /// Operations of other plugins the call made (at any depth), with their outcome.
    pub calls: Vec<CallEffect>,
    /// Events that would have been emitted.
    pub events: Vec<EventEffect>,
    /// One-off runs that would have been scheduled.
    pub runs: Vec<RunEffect>,
    /// Scheduled runs the call would have cancelled.
    pub cancelled_runs: Vec<CancelEffect>,
    /// Storage changes, per plugin whose data would have changed.
    pub writes: Vec<WriteEffect>,
    /// Outbound HTTP requests that would have been queued (and sent after commit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_requests: Vec<HttpEffect>,
}

/// One outbound HTTP request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HttpEffect {
    /// Plugin that queued it.
    pub plugin: String,
    pub method: String,
    pub url: String,
}

/// One nested call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallEffect {
    /// 1 for a call made by the called plugin, 2 for a call made by that one, ...
    pub depth: u32,
    /// Plugin that made the call.
    pub caller: String,
    pub plugin: String,
    pub operation: String,
    pub input: serde_json::Value,
    /// The output, when the call succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// The error the caller got, when it failed (its writes were undone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventEffect {
    /// Plugin that emitted it.
    pub plugin: String,
    pub topic: String,
    pub payload: serde_json::Value,
}

/// One scheduled run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunEffect {
    pub plugin: String,
    pub job: String,
    /// When it would have run (RFC 3339, UTC).
    pub at: String,
    pub payload: serde_json::Value,
}

/// One cancelled run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CancelEffect {
    pub plugin: String,
    pub run: String,
    /// Whether a pending run of that id existed.
    pub cancelled: bool,
}

/// Storage changes of one plugin.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WriteEffect {
    pub plugin: String,
    /// Values written (new or replaced).
    pub puts: u64,
    /// Keys deleted.
    pub deletes: u64,
    /// The first keys changed, in order, at most [`MAX_KEYS_LISTED`].
    pub keys: Vec<String>,
}

/// The effects log of one dry run, shared by its nested calls.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Effects>>);

impl Recorder {
    pub(crate) fn with(&self, f: impl FnOnce(&mut Effects)) {
        let mut effects = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut effects);
    }

    /// The log so far, emptied (a call retried after a conflict starts again).
    pub fn take(&self) -> Effects {
        let mut effects = self.0.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut effects)
    }
}

impl Effects {
    /// Count a storage change of `plugin`.
    pub(crate) fn write(&mut self, plugin: &str, key: &str, deleted: bool) {
        let entry = match self.writes.iter().position(|w| w.plugin == plugin) {
            Some(i) => &mut self.writes[i],
            None => {
                self.writes.push(WriteEffect {
                    plugin: plugin.to_string(),
                    puts: 0,
                    deletes: 0,
                    keys: Vec::new(),
                });
                self.writes.last_mut().expect("just pushed")
            }
        };
        if deleted {
            entry.deletes += 1;
        } else {
            entry.puts += 1;
        }
        if entry.keys.len() < MAX_KEYS_LISTED && !entry.keys.iter().any(|k| k == key) {
            entry.keys.push(key.to_string());
        }
    }
}

/// JSON text as a value; text that is not JSON (never, after the host's checks) as a
/// string.
pub(crate) fn json_or_text(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

/// The answer to a dry run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DryRun {
    /// Always true: nothing of this call was kept.
    pub dry_run: bool,
    /// The plugin version that ran.
    pub version: String,
    /// What the operation returned.
    pub output: serde_json::Value,
    /// What it would have done.
    pub effects: Effects,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_counted_per_plugin_and_keys_listed_once() {
        let mut e = Effects::default();
        e.write("ledger", "entry/1", false);
        e.write("ledger", "entry/1", false);
        e.write("payroll", "run/1", true);
        e.write("ledger", "entry/2", true);
        assert_eq!(e.writes.len(), 2);
        assert_eq!((e.writes[0].puts, e.writes[0].deletes), (2, 1));
        assert_eq!(e.writes[0].keys, vec!["entry/1", "entry/2"]);
        assert_eq!((e.writes[1].puts, e.writes[1].deletes), (0, 1));
    }

    #[test]
    fn key_list_is_capped_but_counts_are_not() {
        let mut e = Effects::default();
        for i in 0..(MAX_KEYS_LISTED + 20) {
            e.write("p", &format!("k{i}"), false);
        }
        assert_eq!(e.writes[0].keys.len(), MAX_KEYS_LISTED);
        assert_eq!(e.writes[0].puts, (MAX_KEYS_LISTED + 20) as u64);
    }
}
