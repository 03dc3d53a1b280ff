//! Notifications to people by email: users' addresses, and the delivery of the
//! messages plugins queue through `backoffice:notify/notify`.
//!
//! ```text
//! plugin call: notify.send ─▶ notifications rows (call's tx) ──commit──▶ tenant file
//! worker pass (only with a relay): notify_claim (lease + attempt, commit) ─▶ submit
//! sender thread: SMTP to the relay (smtp.rs) ─▶ notify_finish + attempt row (one tx)
//! finish: accepted = sent | retry at now + backoff (x4, jitter) | dead after N attempts
//! ```
//!
//! The promise is the webhooks' one: nothing before the call commits (the rows do not
//! exist before), every attempt recorded, a dead letter that an admin retries with
//! `backoffice notify retry`. A crash between the relay's acceptance and the finish
//! leaves the lease to expire and the message goes again with the same `Message-ID`.
//! Without a relay (`serve --smtp-url`) messages wait, pending, until there is one.

pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::admin::TenantAdmin;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::store::{Notification, NotifyAttempt};

pub use smtp::SmtpRelay;

/// Where notifications go and how hard the host tries.
#[derive(Debug, Clone)]
pub struct NotifyPolicy {
    /// The relay; none: messages stay pending.
    pub relay: Option<SmtpRelay>,
    /// Attempts before a message is dead (`BACKOFFICE_NOTIFY_MAX_ATTEMPTS`, 8).
    pub max_attempts: u32,
    /// Delay before the first retry, times 4 per further attempt
    /// (`BACKOFFICE_NOTIFY_BACKOFF_MS`, 30 s).
    pub backoff: Duration,
    /// Largest delay between attempts (6 h).
    pub max_backoff: Duration,
    /// Each network step of an attempt (`BACKOFFICE_NOTIFY_TIMEOUT_MS`, 30 s).
    pub timeout: Duration,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        NotifyPolicy {
            relay: None,
            max_attempts: 8,
            backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(6 * 3600),
            timeout: Duration::from_secs(30),
        }
    }
}

impl NotifyPolicy {
    /// The defaults, changed by the `BACKOFFICE_NOTIFY_*` environment variables (the
    /// relay itself comes from `serve --smtp-url`).
    pub fn from_env() -> Self {
        let mut p = NotifyPolicy::default();
        let (attempts, backoff) = (&mut p.max_attempts, &mut p.backoff);
        crate::outbox::retries_from_env("BACKOFFICE_NOTIFY", attempts, backoff);
        if let Some(ms) = crate::outbox::env("BACKOFFICE_NOTIFY_TIMEOUT_MS") {
            p.timeout = Duration::from_millis(std::cmp::max(ms, 1));
        }
        p
    }

    /// Delay after `attempts` failures: `backoff * 4^(attempts - 1)`, at most
    /// `max_backoff`. With the defaults: 30 s, 2 min, 8 min, 32 min, 2 h 8 min, 6 h.
    pub fn backoff_after(&self, attempts: u32) -> Duration {
        self.schedule().after(attempts)
    }

    /// The retry schedule (shared with the other senders, `crate::outbox`).
    pub fn schedule(&self) -> crate::outbox::Backoff {
        crate::outbox::Backoff {
            max_attempts: self.max_attempts,
            first: self.backoff,
            max: self.max_backoff,
        }
    }
}

/// The host's notification machinery: its policy and sender threads.
pub(crate) type Notifier = crate::outbox::Sender<NotifyPolicy>;

/// A message with every attempt made to send it, as `notify list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    /// The message.
    #[serde(flatten)]
    pub notification: Notification,
    /// Its attempts, oldest first.
    pub attempts_log: Vec<NotifyAttempt>,
}

/// Check an email address (RFC 5321 mailbox syntax, as lettre reads it).
pub fn check_address(address: &str) -> HostResult<()> {
    address.parse::<lettre::Address>().map(|_| ()).map_err(|e| {
        HostError::InvalidInput(format!(
            "'{address}' is not an email address ({e}); use the form name@example.com"
        ))
    })
}

/// How a dead notification is sent again ([`Host::notify_retry`]).
const RETRY: crate::admin::Resend = crate::admin::Resend {
    item: "notification",
    list: "notify list",
    only: "a dead notification can be retried",
    action: "notify.retry",
    target: "notification",
    permission: crate::outbound::OUTBOUND_MANAGE,
    revive: |tx, tenant, id, now| tx.notify_retry(tenant, id, now),
};

impl Host {
    /// Set (or with `None` clear) the email address of a user of `tenant`.
    pub fn set_user_email(
        &self,
        tenant: &str,
        username: &str,
        email: Option<&str>,
    ) -> HostResult<()> {
        if let Some(a) = email {
            check_address(a)?;
        }
        let mut tx = self.write_tenant(tenant)?;
        if tx.user_get(tenant, username)?.is_none() {
            return Err(HostError::NotFound(format!(
                "tenant '{tenant}' has no user '{username}'; see `backoffice user list --tenant {tenant}`"
            )));
        }
        tx.user_email_set(tenant, username, email)?;
        self.audit_admin(
            tx.as_mut(),
            Some(tenant),
            "user.set-email",
            format!("user:{username}"),
            serde_json::json!({ "email": email }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The addresses of a tenant's users that have one, by username.
    pub fn user_emails(&self, tenant: &str) -> HostResult<Vec<(String, String)>> {
        let mut tx = self.read_tenant(tenant)?;
        Ok(tx.user_emails(tenant)?)
    }

    /// A tenant's notifications, newest first, optionally in one state, each with its
    /// attempts.
    pub fn notify_list(
        &self,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> HostResult<Vec<NotificationView>> {
        let what = "a notification state";
        self.queue_log::<Notification, _>(
            tenant,
            (state, limit),
            what,
            |_, notification, attempts_log| {
                Ok(NotificationView {
                    notification,
                    attempts_log,
                })
            },
        )
    }

    /// Send a dead notification again now, with the same `Message-ID`.
    pub fn notify_retry(&self, tenant: &str, id: i64) -> HostResult<()> {
        self.resend_by(tenant, id, self.operator(), &RETRY)
    }

    /// How many more messages of `tenant` (all tenants when `None`) may be claimed
    /// now: the free sender threads, none without a relay.
    pub(crate) fn mail_capacity(&self, tenant: Option<&str>) -> u32 {
        if self.notifier.policy.relay.is_none() {
            return 0;
        }
        self.notifier.capacity(tenant)
    }

    /// Start the attempt of a claimed message on the sender pool; its outcome is
    /// recorded in a transaction of its tenant when it ends.
    pub(crate) fn submit_mail(&self, n: Notification) {
        let attempt = MailAttempt {
            rec: self.recording(),
            notifier: self.notifier.clone(),
        };
        let (tenant, id) = (n.tenant.clone(), n.id);
        // Not recorded: the message is attempted again, same `Message-ID`.
        self.notifier
            .submit(&tenant, "a notification", id, move || attempt.run(&n));
    }
}

/// What an attempt needs, owned, for a sender thread.
struct MailAttempt {
    rec: crate::outbox::Recording,
    notifier: Arc<Notifier>,
}

impl MailAttempt {
    fn run(&self, n: &Notification) -> HostResult<()> {
        let policy = &self.notifier.policy;
        let outcome = match &policy.relay {
            Some(relay) => smtp::send(
                relay,
                &smtp::Mail {
                    to: &n.address,
                    subject: &n.subject,
                    body: &n.body,
                    token: &n.message_id,
                },
                policy.timeout,
            ),
            None => smtp::Outcome {
                code: None,
                error: Some("the host has no SMTP relay; start it with --smtp-url".into()),
            },
        };
        let now = self.rec.clock.now_ms();
        let finish = policy
            .schedule()
            .outcome(n.attempts, now, outcome.error.as_deref());
        if let Some(error) = &outcome.error {
            tracing::warn!(tenant = %n.tenant, notification = n.id, attempt = n.attempts, "notification attempt failed: {error}");
        }
        let attempt = NotifyAttempt {
            attempt: n.attempts,
            at_ms: now,
            code: outcome.code,
            error: outcome.error,
        };
        let mut tx = self.rec.storage.begin_scoped(&n.tenant)?;
        tx.notify_finish(&n.tenant, n.id, &self.rec.owner, &attempt, &finish)?;
        tx.commit()?;
        Ok(())
    }
}

impl TenantAdmin<'_> {
    /// [`Host::notify_list`] for a principal holding `outbound.manage` in the tenant.
    pub fn notify_list(
        &self,
        state: Option<&str>,
        limit: u32,
    ) -> HostResult<Vec<NotificationView>> {
        let host = self.check(crate::outbound::OUTBOUND_MANAGE)?;
        host.notify_list(self.tenant, state, limit)
    }

    /// [`Host::notify_retry`] for a principal holding `outbound.manage` in the tenant,
    /// audited with the principal as the actor.
    pub fn notify_retry(&self, id: i64) -> HostResult<()> {
        self.resend(id, &RETRY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_four_and_is_capped() {
        let p = NotifyPolicy::default();
        let secs: Vec<u64> = (1..=7).map(|n| p.backoff_after(n).as_secs()).collect();
        assert_eq!(secs, [30, 120, 480, 1920, 7680, 21600, 21600]);
    }

    #[test]
    fn addresses_are_checked() {
        assert!(check_address("ana@example.com").is_ok());
        for bad in ["", "ana", "ana@", "@example.com", "a b@example.com"] {
            let e = check_address(bad).unwrap_err().to_string();
            assert!(e.contains("not an email address"), "{bad}: {e}");
        }
    }
}
