//! One attempt: a POST through reqwest's blocking client (hyper, rustls on ring,
//! Mozilla's roots from `webpki-roots` plus `BACKOFFICE_WEBHOOK_CA_FILE`).
//!
//! Where the connection goes is decided by our resolver ([`GuardedResolver`]): it
//! resolves the name and runs the address guard on every address, and hands hyper
//! only addresses that passed, so the connection is made to a checked address and a
//! name rebound between a check and the connection cannot redirect the request. A URL
//! whose host is an IP address never reaches a resolver: [`guard::check_before_send`]
//! checks it before the request is made. Proxies from the environment (`HTTPS_PROXY`,
//! ...) are ignored: a proxy would connect on our behalf to an unchecked address.
//!
//! Redirects are never followed (`redirect::Policy::none()`): a 3xx is a failed
//! attempt recorded with its status. Limits: connecting takes at most
//! `connect_timeout`, the whole attempt (connect, TLS, request, answer) at most
//! `timeout`. An answer head larger than [`MAX_HEAD`] fails the attempt; of the body
//! at most [`MAX_BODY`] bytes are read, in chunks, and the rest is left unread (the
//! connection is then dropped instead of being reused): an oversized or endless body
//! costs nothing and the status alone decides.
//!
//! One client per host (per policy), built at the first attempt and shared by the
//! sender threads, so connections to an endpoint are pooled and reused.

use std::io::Read;
use std::sync::Arc;

use super::WebhookPolicy;
use super::guard;

/// Largest response head accepted (status line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Most of a response body read; the rest is left unread.
pub const MAX_BODY: u64 = 64 * 1024;

/// How an attempt went: the status, if the endpoint answered, and whether it
/// delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: Option<u16>,
    /// Why it did not deliver; none when it did.
    pub error: Option<String>,
}

/// Resolves names for the client, and lets through only addresses the guard allows.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            // getaddrinfo blocks: off the client's runtime thread.
            let found = tokio::task::spawn_blocking(move || {
                guard::resolve_name(&host, allow_private)
                    .map_err(|e| format!("destination refused: {e}"))
            })
            .await
            .map_err(|e| format!("resolving: {e}"))
            .and_then(|r| r);
            match found {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// Sends attempts; cheap to share (the client is reference counted).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::blocking::Client,
    allow_private: bool,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender for `policy`: its timeouts, its extra roots (DER) besides Mozilla's,
    /// its address rule. Must not be called on an async runtime's thread (the
    /// blocking client starts its own).
    pub fn new(policy: &WebhookPolicy) -> Result<Sender, String> {
        let mut builder = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: policy.allow_private,
            }))
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.timeout)
            .user_agent(concat!("backoffice-webhooks/", env!("CARGO_PKG_VERSION")));
        for der in &policy.extra_roots {
            let cert = reqwest::Certificate::from_der(der)
                .map_err(|e| format!("an extra root certificate: {e}"))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Sender {
            client,
            allow_private: policy.allow_private,
        })
    }

    /// POST `body` with `headers` to `url`.
    pub fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Answer {
        match self.exchange(url, headers, body) {
            Ok(status) if (200..300).contains(&status) => Answer {
                status: Some(status),
                error: None,
            },
            Ok(status) if (300..400).contains(&status) => Answer {
                status: Some(status),
                error: Some(format!(
                    "answered {status} (a redirect); webhooks do not follow redirects"
                )),
            },
            Ok(status) => Answer {
                status: Some(status),
                error: Some(format!("answered {status}")),
            },
            Err(e) => Answer {
                status: None,
                error: Some(e),
            },
        }
    }

    fn exchange(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<u16, String> {
        let parsed = guard::check_before_send(url, self.allow_private)
            .map_err(|e| format!("destination refused: {e}"))?;
        let mut request = self
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let mut response = request.send().map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let head = 16
            + response
                .headers()
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len() + 4)
                .sum::<usize>();
        if head > MAX_HEAD {
            return Err(format!(
                "the answer's head is larger than {} KiB",
                MAX_HEAD / 1024
            ));
        }
        // Read a bounded part of the body: a small one lets the connection be reused;
        // a large one is cut off (the status already decided).
        let mut sink = Vec::new();
        let _ = (&mut response).take(MAX_BODY).read_to_end(&mut sink);
        Ok(status)
    }
}

/// What went wrong, in words: the kind, then the causes (reqwest's own message names
/// only the URL).
fn describe(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    // Our resolver's refusal is the most useful cause; name it alone.
    if let Some(refused) = causes.iter().find(|c| c.starts_with("destination refused")) {
        return refused.clone();
    }
    let causes = causes.join(": ");
    if e.is_timeout() {
        format!("timed out: {causes}")
    } else if e.is_connect() {
        let host = e
            .url()
            .map(|u| u[url::Position::BeforeHost..url::Position::AfterPort].to_string())
            .unwrap_or_default();
        format!("cannot connect to {host}: {causes}")
    } else {
        format!("{e}: {causes}")
    }
}
