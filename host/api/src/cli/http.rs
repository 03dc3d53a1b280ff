//! `backoffice http ...`: the outbound HTTP requests plugins queued for a tenant,
//! every attempt to send them, and retrying a dead one.

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::outbound::HttpRequestView;
use backoffice_host::webhooks::rfc3339_ms;

/// The plugins' outbound HTTP requests.
#[derive(Debug)]
pub struct Http;

impl super::outbound::Kind for Http {
    const LIST: &'static str = "List a tenant's requests, newest first, with their attempts (header values and bodies are never shown)";
    const STATE: &'static str = "Only those in this state: pending, answered or dead";
    const RETRY: &'static str = "Send a dead request again now, with a fresh count of attempts";
    const ID: &'static str = "The request's id, from `http list`";
    type View = HttpRequestView;

    fn list(
        host: &Host,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HttpRequestView>, HostError> {
        host.http_list(tenant, state, limit)
    }

    fn retry(host: &Host, tenant: &str, id: i64) -> Result<(), HostError> {
        host.http_retry(tenant, id)
    }

    fn header() -> String {
        format!(
            "{:<16} {:<12} {:<9} {:<8} {:<6} {:<20} {:<7} {:<40} LAST ERROR",
            "ID", "PLUGIN", "STATE", "ATTEMPTS", "STATUS", "CREATED", "METHOD", "URL"
        )
    }

    fn line(v: &HttpRequestView) -> String {
        let r = &v.request;
        format!(
            "{:<16} {:<12} {:<9} {:<8} {:<6} {:<20} {:<7} {:<40} {}",
            r.id,
            r.plugin,
            r.state,
            r.attempts,
            r.status.map_or("-".to_string(), |s| s.to_string()),
            rfc3339_ms(r.created_ms),
            r.method,
            r.url.chars().take(40).collect::<String>(),
            r.last_error.as_deref().unwrap_or("-")
        )
    }

    fn retried(tenant: &str, id: i64) -> String {
        format!("HTTP request {id} of tenant '{tenant}' will be sent again")
    }
}
