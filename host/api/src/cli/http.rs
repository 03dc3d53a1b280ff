//! `backoffice http ...`: the outbound HTTP requests plugins queued for a tenant,
//! every attempt to send them, and retrying a dead one.

use super::outbound::ListFn;
use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::outbound::HttpRequestView;
use backoffice_host::webhooks::rfc3339_ms;

/// The plugins' outbound HTTP requests.
#[derive(Debug)]
pub struct Http;

impl super::outbound::Kind for Http {
    const LIST_ABOUT: &'static str = "List a tenant's requests, newest first, with their attempts (header values and bodies are never shown)";
    const STATE_HELP: &'static str = "Only those in this state: pending, answered or dead";
    const RETRY_ABOUT: &'static str =
        "Send a dead request again now, with a fresh count of attempts";
    const ID_HELP: &'static str = "The request's id, from `http list`";
    type View = HttpRequestView;
    const LIST: ListFn<HttpRequestView> = Host::http_list;
    const RETRY: fn(&Host, &str, i64) -> Result<(), HostError> = Host::http_retry;

    const COLUMNS: &'static [(&'static str, usize)] = &[
        ("ID", 16),
        ("PLUGIN", 12),
        ("STATE", 9),
        ("ATTEMPTS", 8),
        ("STATUS", 6),
        ("CREATED", 20),
        ("METHOD", 7),
        ("URL", 40),
    ];

    fn cells(v: &HttpRequestView) -> Vec<String> {
        let r = &v.request;
        vec![
            r.id.to_string(),
            r.plugin.clone(),
            r.state.clone(),
            r.attempts.to_string(),
            r.status.map_or("-".to_string(), |s| s.to_string()),
            rfc3339_ms(r.created_ms),
            r.method.clone(),
            r.url.chars().take(40).collect(),
            r.last_error.as_deref().unwrap_or("-").to_string(),
        ]
    }

    fn retried(tenant: &str, id: i64) -> String {
        format!("HTTP request {id} of tenant '{tenant}' will be sent again")
    }
}
