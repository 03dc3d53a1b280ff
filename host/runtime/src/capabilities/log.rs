//! `backoffice:host/log`: plugin logs, attributed to plugin, version and tenant.

use crate::bindings::backoffice::host::log::{Host, Level};

use super::CallState;

/// Longest message kept; the rest is cut at a character boundary.
const MAX_MESSAGE_BYTES: usize = 4096;

impl Host for CallState {
    fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if matches!(level, Level::Error) {
            let mut end = message.len().min(512);
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            self.last_error_log = Some(message[..end].to_string());
        }
        self.log_records += 1;
        if self.log_records > self.limits.max_log_records {
            if self.log_records == self.limits.max_log_records + 1 {
                tracing::warn!(
                    plugin = %self.info.scope.plugin,
                    tenant = %self.info.scope.tenant,
                    "log limit of {} records per call reached; further records dropped",
                    self.limits.max_log_records
                );
            }
            return Ok(());
        }
        let mut end = message.len().min(MAX_MESSAGE_BYTES);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let msg = &message[..end];
        let info = &self.info;
        let (plugin, version, tenant) = (&info.scope.plugin, &info.version, &info.scope.tenant);
        let action = &info.action;
        match level {
            Level::Trace => {
                tracing::trace!(target: "plugin", %plugin, %version, %tenant, %action, "{msg}")
            }
            Level::Debug => {
                tracing::debug!(target: "plugin", %plugin, %version, %tenant, %action, "{msg}")
            }
            Level::Info => {
                tracing::info!(target: "plugin", %plugin, %version, %tenant, %action, "{msg}")
            }
            Level::Warn => {
                tracing::warn!(target: "plugin", %plugin, %version, %tenant, %action, "{msg}")
            }
            Level::Error => {
                tracing::error!(target: "plugin", %plugin, %version, %tenant, %action, "{msg}")
            }
        }
        Ok(())
    }
}
