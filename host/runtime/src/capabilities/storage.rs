//! `backoffice:host/storage`: ordered key-value data scoped to (tenant, plugin).
//!
//! The scope comes from the call, never from the guest, so isolation between tenants
//! and plugins holds by construction. Reads and writes go through the call's one
//! transaction.

use super::WitResult;
use crate::bindings::WitError;
use crate::bindings::backoffice::host::storage::{Entry, Host, KeyRange, Page};
use crate::store::ScanQuery;

use super::{CallState, tx_of};

// A storage failure is the host's problem, not the plugin's: trap, so the call rolls
// back and the error is reported with the plugin's name.
use super::trap;

impl CallState {
    fn check_key(&self, key: &str) -> Result<(), WitError> {
        if key.is_empty() || key.len() > self.limits.max_key_bytes {
            return Err(WitError::InvalidInput(format!(
                "storage keys must be 1 to {} bytes; got {} bytes",
                self.limits.max_key_bytes,
                key.len()
            )));
        }
        Ok(())
    }
}

impl Host for CallState {
    fn get(&mut self, key: String) -> WitResult<Option<Vec<u8>>> {
        try_wit!(self.require("storage"));
        try_wit!(self.check_key(&key));
        let value = tx_of(&mut self.tx)?
            .kv_get(&self.info.scope, &key)
            .map_err(trap)?;
        Ok(Ok(value))
    }

    fn put(&mut self, key: String, value: Vec<u8>) -> WitResult<()> {
        try_wit!(self.require_write("storage"));
        try_wit!(self.check_key(&key));
        if value.len() > self.limits.max_value_bytes {
            return Ok(Err(WitError::InvalidInput(format!(
                "storage value of {} bytes for key '{key}' exceeds the {} byte limit",
                value.len(),
                self.limits.max_value_bytes
            ))));
        }
        tx_of(&mut self.tx)?
            .kv_put(&self.info.scope, &key, &value)
            .map_err(trap)?;
        // Past a stored-data quota the call traps: this write and the rest of the
        // call are rolled back.
        self.check_stored()?;
        self.effect(|e| e.write(&self.info.scope.plugin, &key, false));
        Ok(Ok(()))
    }

    fn delete(&mut self, key: String) -> WitResult<bool> {
        try_wit!(self.require_write("storage"));
        try_wit!(self.check_key(&key));
        let existed = tx_of(&mut self.tx)?
            .kv_delete(&self.info.scope, &key)
            .map_err(trap)?;
        if existed {
            self.effect(|e| e.write(&self.info.scope.plugin, &key, true));
        }
        Ok(Ok(existed))
    }

    fn scan(
        &mut self,
        range: KeyRange,
        reverse: bool,
        limit: u32,
        after: Option<String>,
    ) -> WitResult<Page> {
        try_wit!(self.require("storage"));
        let query = ScanQuery {
            start: range.start,
            end: range.end,
            after,
            reverse,
            limit: limit.clamp(1, self.limits.max_scan_entries),
            max_bytes: u64::try_from(self.limits.max_scan_bytes).ok(),
        };
        let page = tx_of(&mut self.tx)?
            .kv_scan(&self.info.scope, &query)
            .map_err(trap)?;
        let more = page.more;
        let entries: Vec<Entry> = page
            .entries
            .into_iter()
            .map(|(key, value)| Entry { key, value })
            .collect();
        let next = if more {
            entries.last().map(|e| e.key.clone())
        } else {
            None
        };
        Ok(Ok(Page { entries, next }))
    }
}
