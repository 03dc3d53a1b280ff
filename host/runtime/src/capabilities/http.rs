//! `backoffice:http/outbound`: a plugin queues an HTTP request to a host its manifest
//! lists; the host sends it after the call commits (the host's `outbound`).
//!
//! ```text
//! send(request) ─▶ grant + write check ─▶ method, headers, body, timeout checked
//!               ─▶ URL: https (or the allow setting), no credentials, a literal
//!                  address not private ─▶ scheme, host and port in
//!                  `allowed-outbound-hosts` ─▶ one `http_requests` row (call's tx)
//! commit ─▶ the delivery worker sends it; the answer comes back as `http.response`
//! ```
//!
//! The row is written through the call's transaction, so a call that fails, traps or
//! is rolled back (a dry run too) sends nothing. Names are resolved (and checked
//! again) only when the request is sent: a lookup here would hold the tenant's writer
//! for as long as DNS takes, and the answer could change before the send anyway.

use super::WitResult;
use crate::bindings::WitError;
use crate::bindings::http::backoffice::http::outbound::{Host, Request};
use crate::store::NewHttpRequest;

use super::{CallState, tx_of};

/// Largest request body.
pub const MAX_REQUEST_BODY: usize = 1 << 20;
/// Most headers of one request.
pub const MAX_HEADERS: usize = 64;
/// Largest total of header names and values.
pub const MAX_HEADER_BYTES: usize = 16 << 10;
/// Longest URL.
pub const MAX_URL: usize = 8 << 10;
/// An attempt's time limit when the plugin gives none, ms.
pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;
/// The longest time limit a plugin may give, ms.
pub const MAX_TIMEOUT_MS: u32 = 60_000;
/// Most requests one call may queue.
pub const MAX_REQUESTS_PER_CALL: u32 = 100;

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Headers the host (or the HTTP client) sets itself.
const HOST_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-connection",
];

fn invalid(msg: String) -> WitError {
    WitError::InvalidInput(msg)
}

/// Check the request's form; its timeout.
fn check_form(r: &Request) -> Result<u32, WitError> {
    if !METHODS.contains(&r.method.as_str()) {
        return Err(invalid(format!(
            "HTTP method '{}' is not one the host sends; use one of {}",
            r.method,
            METHODS.join(", ")
        )));
    }
    if r.url.len() > MAX_URL {
        return Err(invalid(format!(
            "the URL has {} bytes, more than the {MAX_URL} allowed",
            r.url.len()
        )));
    }
    if r.body.len() > MAX_REQUEST_BODY {
        return Err(invalid(format!(
            "the request body has {} bytes, more than the {MAX_REQUEST_BODY} allowed",
            r.body.len()
        )));
    }
    if r.headers.len() > MAX_HEADERS {
        return Err(invalid(format!(
            "the request has {} headers, more than the {MAX_HEADERS} allowed",
            r.headers.len()
        )));
    }
    let total: usize = r.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    if total > MAX_HEADER_BYTES {
        return Err(invalid(format!(
            "the request's headers have {total} bytes, more than the {MAX_HEADER_BYTES} allowed"
        )));
    }
    for (name, value) in &r.headers {
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            return Err(invalid(format!(
                "'{name}' is not a header name (letters, digits and !#$%&'*+-.^_`|~)"
            )));
        }
        if HOST_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(invalid(format!(
                "header '{name}' is set by the host; leave it out"
            )));
        }
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(invalid(format!(
                "the value of header '{name}' contains a line break or control character"
            )));
        }
    }
    match r.timeout_ms {
        None => Ok(DEFAULT_TIMEOUT_MS),
        Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(ms),
        Some(ms) => Err(invalid(format!(
            "timeout-ms {ms} must be between 1 and {MAX_TIMEOUT_MS}"
        ))),
    }
}

impl CallState {
    /// Whether the URL may be queued by this plugin: form, literal addresses and the
    /// manifest's list.
    fn check_destination(&self, url: &str) -> Result<(), WitError> {
        let plugin = &self.info.scope.plugin;
        let allow_private = self
            .nesting
            .as_ref()
            .is_some_and(|n| n.plugins.allow_private());
        let parsed = crate::guard::check_before_send(url, allow_private)
            .map_err(|e| WitError::Forbidden(format!("plugin '{plugin}': request refused: {e}")))?;
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port_or_known_default().unwrap_or(0);
        let listed = &self.info.manifest.allowed_outbound_hosts;
        let allowed = listed.iter().any(|entry| {
            backoffice_core::outbound::HostPattern::parse(entry)
                .is_ok_and(|p| p.matches(parsed.scheme(), host, port))
        });
        if !allowed {
            return Err(WitError::Forbidden(format!(
                "plugin '{plugin}' may send requests only to {}, as its allowed-outbound-hosts lists; \
                 '{}://{host}:{port}' is not among them (add it to plugin.toml and reinstall, granting it)",
                if listed.is_empty() {
                    "no host".to_string()
                } else {
                    listed.join(", ")
                },
                parsed.scheme()
            )));
        }
        Ok(())
    }
}

impl Host for CallState {
    fn send(&mut self, req: Request) -> WitResult<i64> {
        try_wit!(self.require_write("http"));
        let timeout_ms = try_wit!(check_form(&req));
        try_wit!(self.check_destination(&req.url));
        if self.http_requests >= MAX_REQUESTS_PER_CALL {
            return Ok(Err(WitError::InvalidInput(format!(
                "one call may queue at most {MAX_REQUESTS_PER_CALL} HTTP requests"
            ))));
        }
        let row = NewHttpRequest {
            tenant: self.info.scope.tenant.clone(),
            plugin: self.info.scope.plugin.clone(),
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
            timeout_ms,
            created_ms: super::events::unix_ms(self.info.now),
        };
        self.effect(|e| {
            e.http_requests.push(crate::dry_run::HttpEffect {
                plugin: row.plugin.clone(),
                method: row.method.clone(),
                url: row.url.clone(),
            });
        });
        let tx = tx_of(&mut self.tx)?;
        // A storage failure is the host's problem: trap, so the call rolls back.
        let id = tx.http_insert(&row).map_err(super::trap)?;
        self.http_requests += 1;
        self.queued_work = true;
        Ok(Ok(id))
    }
}

consumer_linker!(
    /// Add the `backoffice:http` import to `linker`.
    crate::bindings::http::HttpConsumer
);

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, headers: &[(&str, &str)], timeout: Option<u32>) -> Request {
        Request {
            method: method.into(),
            url: "https://api.example.com/".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            timeout_ms: timeout,
        }
    }

    #[test]
    fn requests_are_checked_with_clear_errors() {
        assert_eq!(
            check_form(&req("GET", &[("accept", "application/json")], None)).ok(),
            Some(15_000)
        );
        for (r, why) in [
            (req("get", &[], None), "is not one the host sends"),
            (req("CONNECT", &[], None), "is not one the host sends"),
            (req("GET", &[("Host", "x")], None), "set by the host"),
            (req("GET", &[("a b", "x")], None), "not a header name"),
            (req("GET", &[("x-a", "1\r\nx-b: 2")], None), "line break"),
            (req("GET", &[], Some(0)), "between 1 and 60000"),
            (req("GET", &[], Some(60_001)), "between 1 and 60000"),
        ] {
            let e = check_form(&r)
                .err()
                .map(|e| format!("{e:?}"))
                .unwrap_or_default();
            assert!(e.contains(why), "{why}: {e}");
        }
        let mut big = req("POST", &[], None);
        big.body = vec![0; MAX_REQUEST_BODY + 1];
        assert!(check_form(&big).is_err());
    }
}
