//! Leveled logging, attributed by the host to the plugin, its version and the tenant.
//!
//! Always available. The host truncates messages over 4 KiB.

use crate::__private::bindings::backoffice::host::log as wit;

/// Severity of a log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Developer diagnostics.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the plugin handled.
    Warn,
    /// A failure.
    Error,
}

/// Write one record at `level`.
pub fn write(level: Level, message: &str) {
    let level = match level {
        Level::Trace => wit::Level::Trace,
        Level::Debug => wit::Level::Debug,
        Level::Info => wit::Level::Info,
        Level::Warn => wit::Level::Warn,
        Level::Error => wit::Level::Error,
    };
    wit::write(level, message);
}

/// Write a [`Level::Trace`] record.
pub fn trace(message: impl AsRef<str>) {
    write(Level::Trace, message.as_ref());
}

/// Write a [`Level::Debug`] record.
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message.as_ref());
}

/// Write a [`Level::Info`] record.
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message.as_ref());
}

/// Write a [`Level::Warn`] record.
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message.as_ref());
}

/// Write a [`Level::Error`] record.
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message.as_ref());
}
