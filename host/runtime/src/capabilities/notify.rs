//! `backoffice:notify/notify`: a plugin asks the host to email a user or a role of
//! its own tenant.
//!
//! ```text
//! send(to, message) ─▶ grant + write check ─▶ resolve to (user, address) pairs in the
//!                      call's transaction ─▶ one `notifications` row each (same tx)
//! commit ─▶ the delivery worker hands each row to the SMTP relay (the host's `notify`)
//! ```
//!
//! The rows are written through the call's transaction, so a call that fails, traps
//! or is rolled back queues nothing and nothing is sent. The plugin cannot name
//! another tenant: recipients are looked up in the caller's tenant only.

use super::WitResult;
use crate::bindings::WitError;
use crate::bindings::notify::backoffice::notify::notify::{Host, Message, Recipient};
use crate::store::NewNotification;

use super::{CallState, tx_of};

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Largest body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 << 10;
/// Most recipients one `send` may reach (a role with more members is refused).
pub const MAX_RECIPIENTS: usize = 500;

/// Check a message before anything is looked up.
fn check_message(m: &Message) -> Result<(), WitError> {
    let subject = m.subject.trim();
    if subject.is_empty() {
        return Err(WitError::InvalidInput(
            "the notification's subject is empty; give it a one-line subject".into(),
        ));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(WitError::InvalidInput(format!(
            "the notification's subject has {} characters, more than the {MAX_SUBJECT_CHARS} allowed; shorten it and put details in the body",
            subject.chars().count()
        )));
    }
    if subject.chars().any(char::is_control) {
        return Err(WitError::InvalidInput(
            "the notification's subject contains a line break or control character; it must be one line".into(),
        ));
    }
    if m.body.len() > MAX_BODY_BYTES {
        return Err(WitError::InvalidInput(format!(
            "the notification's body has {} bytes, more than the {MAX_BODY_BYTES} allowed",
            m.body.len()
        )));
    }
    Ok(())
}

/// A random token naming a message for its `Message-ID`.
fn message_token() -> wasmtime::Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| wasmtime::Error::msg(format!("no randomness: {e}")))?;
    Ok(hex::encode(b))
}

impl CallState {
    /// `(username, address)` of each recipient, or why there are none.
    fn recipients(&mut self, to: &Recipient) -> WitResult<Vec<(String, String)>> {
        let tenant = self.info.scope.tenant.clone();
        let plugin = self.info.scope.plugin.clone();
        let tx = tx_of(&mut self.tx)?;
        let storage = |e: crate::store::StoreError| super::trap(e);
        match to {
            Recipient::User(name) => {
                let Some(user) = tx.user_get(&tenant, name).map_err(storage)? else {
                    return Ok(Err(WitError::NotFound(format!(
                        "plugin '{plugin}' asked to notify user '{name}', but tenant '{tenant}' has no such user; see `backoffice user list --tenant {tenant}`"
                    ))));
                };
                if user.disabled_at.is_some() {
                    return Ok(Err(WitError::InvalidInput(format!(
                        "user '{name}' of tenant '{tenant}' is disabled and is not notified"
                    ))));
                }
                let address = tx
                    .user_emails(&tenant)
                    .map_err(storage)?
                    .into_iter()
                    .find(|(u, _)| u == name)
                    .map(|(_, a)| a);
                match address {
                    Some(a) => Ok(Ok(vec![(name.clone(), a)])),
                    None => Ok(Err(WitError::InvalidInput(format!(
                        "user '{name}' of tenant '{tenant}' has no email address; set one with `backoffice user set-email --tenant {tenant} {name} ADDRESS`"
                    )))),
                }
            }
            Recipient::Role(role) => {
                if tx.role_get(&tenant, role).map_err(storage)?.is_none() {
                    return Ok(Err(WitError::NotFound(format!(
                        "plugin '{plugin}' asked to notify role '{role}', but tenant '{tenant}' has no such role; see `backoffice role list --tenant {tenant}`"
                    ))));
                }
                let members: Vec<(String, String)> = tx
                    .role_members(&tenant, role)
                    .map_err(storage)?
                    .into_iter()
                    .filter(|(_, a)| !a.is_empty())
                    .collect();
                if members.is_empty() {
                    return Ok(Err(WitError::InvalidInput(format!(
                        "no enabled user holding role '{role}' in tenant '{tenant}' has an email address; set one with `backoffice user set-email --tenant {tenant} USER ADDRESS`"
                    ))));
                }
                if members.len() > MAX_RECIPIENTS {
                    return Ok(Err(WitError::InvalidInput(format!(
                        "role '{role}' has {} members with an address, more than the {MAX_RECIPIENTS} one notification may reach",
                        members.len()
                    ))));
                }
                Ok(Ok(members))
            }
        }
    }
}

impl Host for CallState {
    fn send(&mut self, to: Recipient, message: Message) -> WitResult<u32> {
        try_wit!(self.require_write("notify"));
        try_wit!(check_message(&message));
        let recipients = try_wit!(self.recipients(&to)?);
        let created_ms = super::events::unix_ms(self.info.now);
        let tenant = self.info.scope.tenant.clone();
        let plugin = self.info.scope.plugin.clone();
        let subject = message.subject.trim().to_string();
        let tx = tx_of(&mut self.tx)?;
        let mut queued = 0u32;
        for (recipient, address) in recipients {
            let row = NewNotification {
                tenant: tenant.clone(),
                plugin: plugin.clone(),
                recipient,
                address,
                subject: subject.clone(),
                body: message.body.clone(),
                message_id: message_token()?,
                created_ms,
            };
            // A storage failure is the host's problem: trap, so the call rolls back.
            tx.notify_insert(&row).map_err(super::trap)?;
            queued += 1;
        }
        self.queued_work = true;
        Ok(Ok(queued))
    }
}

consumer_linker!(
    /// Add the `backoffice:notify` import to `linker`.
    crate::bindings::notify::NotifyConsumer
);
