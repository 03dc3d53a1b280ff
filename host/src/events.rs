//! Events between plugins: the outbox that `events.emit` writes, and what admins see
//! of it.
//!
//! ```text
//! plugin call --emit--> outbox row (same transaction as the call's writes)
//!   commit --> event exists; rollback --> it never did
//! ```

use crate::capabilities::foreign_topic_grant;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::store::{EventFilter, EventRecord};

impl Host {
    /// Events matching `filter`, newest first.
    pub fn events(&self, filter: &EventFilter) -> HostResult<Vec<EventRecord>> {
        let mut tx = self.storage.begin_read()?;
        Ok(tx.event_list(filter)?)
    }

    /// Let `plugin` emit `topic`, a topic outside its own `<id>.` prefix that its
    /// manifest declares under `emits`.
    pub fn grant_topic(&self, plugin: &str, topic: &str) -> HostResult<()> {
        let mut tx = self.begin()?;
        let record = Host::require_package(tx.as_mut(), plugin)?;
        let loaded = self.load(tx.as_mut(), &record)?;
        if !loaded.manifest.emits.iter().any(|t| t == topic) {
            return Err(HostError::InvalidInput(format!(
                "plugin '{plugin}' does not declare '{topic}' under `emits` in its plugin.toml; declared: [{}]",
                loaded.manifest.emits.join(", ")
            )));
        }
        let mut grants = tx.grants_get(plugin)?;
        let grant = foreign_topic_grant(topic);
        if !grants.contains(&grant) {
            grants.push(grant);
            grants.sort();
            tx.grants_set(plugin, &grants)?;
        }
        tx.commit()?;
        Ok(())
    }
}
