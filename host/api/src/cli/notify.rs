//! `backoffice notify ...`: the email notifications plugins queued for a tenant's
//! people, every attempt to send them, and retrying a dead one.

use super::outbound::ListFn;
use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::notify::NotificationView;
use backoffice_host::webhooks::rfc3339_ms;

/// The email notifications plugins queued.
#[derive(Debug)]
pub struct Notify;

impl super::outbound::Kind for Notify {
    const LIST_ABOUT: &'static str =
        "List a tenant's notifications, newest first, with their attempts";
    const STATE_HELP: &'static str = "Only those in this state: pending, sent or dead";
    const RETRY_ABOUT: &'static str = "Send a dead notification again now (same Message-ID)";
    const ID_HELP: &'static str = "The notification's id, from `notify list`";
    type View = NotificationView;
    const LIST: ListFn<NotificationView> = Host::notify_list;
    const RETRY: fn(&Host, &str, i64) -> Result<(), HostError> = Host::notify_retry;

    const COLUMNS: &'static [(&'static str, usize)] = &[
        ("ID", 16),
        ("STATE", 8),
        ("ATTEMPTS", 8),
        ("CREATED", 20),
        ("TO", 32),
        ("SUBJECT", 24),
    ];

    fn cells(v: &NotificationView) -> Vec<String> {
        let n = &v.notification;
        vec![
            n.id.to_string(),
            n.state.clone(),
            n.attempts.to_string(),
            rfc3339_ms(n.created_ms),
            format!("{} <{}>", n.recipient, n.address),
            n.subject.chars().take(24).collect(),
            n.last_error.as_deref().unwrap_or("-").to_string(),
        ]
    }

    fn retried(tenant: &str, id: i64) -> String {
        format!("notification {id} of tenant '{tenant}' will be sent again")
    }
}
