//! `backoffice notify ...`: the email notifications plugins queued for a tenant's
//! people, every attempt to send them, and retrying a dead one.

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::notify::NotificationView;
use backoffice_host::webhooks::rfc3339_ms;

/// The email notifications plugins queued.
#[derive(Debug)]
pub struct Notify;

impl super::outbound::Kind for Notify {
    const LIST: &'static str = "List a tenant's notifications, newest first, with their attempts";
    const STATE: &'static str = "Only those in this state: pending, sent or dead";
    const RETRY: &'static str = "Send a dead notification again now (same Message-ID)";
    const ID: &'static str = "The notification's id, from `notify list`";
    type View = NotificationView;

    fn list(
        host: &Host,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NotificationView>, HostError> {
        host.notify_list(tenant, state, limit)
    }

    fn retry(host: &Host, tenant: &str, id: i64) -> Result<(), HostError> {
        host.notify_retry(tenant, id)
    }

    fn header() -> String {
        format!(
            "{:<16} {:<8} {:<8} {:<20} {:<32} {:<24} LAST ERROR",
            "ID", "STATE", "ATTEMPTS", "CREATED", "TO", "SUBJECT"
        )
    }

    fn line(v: &NotificationView) -> String {
        let n = &v.notification;
        format!(
            "{:<16} {:<8} {:<8} {:<20} {:<32} {:<24} {}",
            n.id,
            n.state,
            n.attempts,
            rfc3339_ms(n.created_ms),
            format!("{} <{}>", n.recipient, n.address),
            n.subject.chars().take(24).collect::<String>(),
            n.last_error.as_deref().unwrap_or("-")
        )
    }

    fn retried(tenant: &str, id: i64) -> String {
        format!("notification {id} of tenant '{tenant}' will be sent again")
    }
}
