//! Notifications to people by email (`backoffice:notify@0.1.0`).
//!
//! Ask the host to email a user or every user holding a role in the tenant the call
//! runs for. The message is queued in the call's transaction and sent through the
//! host's SMTP relay only after the call commits: if the operation then fails,
//! nothing is sent. Needs the `notify` capability in `plugin.toml`:
//!
//! ```toml
//! capabilities = ["storage", "notify"]
//! ```
//!
//! ```no_run
//! use backoffice_sdk::notify::{self, Recipient};
//!
//! # fn remind() -> backoffice_sdk::Result<()> {
//! let queued = notify::send(
//!     &Recipient::Role("hr".into()),
//!     "Fire safety expires on 2027-01-31",
//!     "Ana Lima's Fire safety certificate expires in 30 days.",
//! )?;
//! assert!(queued >= 1);
//! # Ok(())
//! # }
//! ```
//!
//! Errors: `not-found` for an unknown user or role, `invalid-input` for a user
//! without an email address (or a role none of whose members has one) and for a
//! subject that is empty, longer than 200 characters or not one line, or a body
//! over 64 KiB; `forbidden` without the capability or in a read-only operation.

use crate::Result;

/// The WIT interface a notifying plugin imports.
pub const NOTIFY_INTERFACE: &str = "backoffice:notify/notify@0.1.0";

/// Who receives a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// One user of the tenant, by login name.
    User(String),
    /// Every enabled user of the tenant holding this role who has an address.
    Role(String),
}

/// Queue an email with `subject` and plain-text `body` for `to`; how many messages
/// were queued (one per recipient).
pub fn send(to: &Recipient, subject: &str, body: &str) -> Result<u32> {
    use crate::__private::notify_bindings::backoffice::notify::notify as wit;
    let to = match to {
        Recipient::User(u) => wit::Recipient::User(u.clone()),
        Recipient::Role(r) => wit::Recipient::Role(r.clone()),
    };
    let message = wit::Message {
        subject: subject.to_string(),
        body: body.to_string(),
    };
    Ok(wit::send(&to, &message)?)
}
