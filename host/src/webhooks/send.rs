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
//!
//! Plugins' outbound HTTP requests (`crate::outbound`) go through the same client and
//! the same guard with [`Sender::send`]: any method, the plugin's headers, a time
//! limit per request, and the answer's status, headers and body (up to a cap) back.
//!
//! The client is the host's feature `http-client` (on by default). A build without it
//! (the test kit's default) has no [`Sender`]: [`Sender::new`] fails with
//! [`NO_CLIENT`], which every attempt then records.

#[cfg(feature = "http-client")]
use std::io::Read;
#[cfg(feature = "http-client")]
use std::sync::Arc;
use std::time::Duration;

use super::WebhookPolicy;
#[cfg(feature = "http-client")]
use super::guard;

/// Why a build without the feature `http-client` sends nothing.
pub const NO_CLIENT: &str = "this build of the host has no HTTP client: build \
     backoffice-host with its feature `http-client` (backoffice-testkit: its feature `http`)";

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

/// A request of a plugin (`crate::outbound`).
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// Method, uppercase.
    pub method: &'a str,
    /// Destination.
    pub url: &'a str,
    /// Header names and values.
    pub headers: &'a [(String, String)],
    /// Body.
    pub body: &'a [u8],
    /// The whole attempt, connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Largest answer body accepted.
    pub max_body: usize,
}

/// An answer to an [`Outgoing`] request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lowercase) and values, values lossily decoded.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `max_body`.
    pub body: Vec<u8>,
}

/// Why an [`Outgoing`] request got no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The address guard refused the destination: trying again cannot help.
    Refused(String),
    /// No connection was made, so nothing was sent: safe to try again for any method.
    Connect(String),
    /// The answer broke a limit (head or body too large): trying again cannot help.
    TooLarge(String),
    /// Anything else (a timeout, a reset mid-answer): the request may have arrived.
    Other(String),
}

impl Failure {
    /// The words of the failure.
    pub fn message(&self) -> &str {
        match self {
            Failure::Refused(m)
            | Failure::Connect(m)
            | Failure::TooLarge(m)
            | Failure::Other(m) => m,
        }
    }
}

/// Resolves names for the client, and lets through only addresses the guard allows.
#[cfg(feature = "http-client")]
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
}

#[cfg(feature = "http-client")]
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
#[cfg(feature = "http-client")]
#[derive(Clone)]
pub struct Sender {
    client: reqwest::blocking::Client,
    allow_private: bool,
}

/// No sender can be made without the feature `http-client`.
#[cfg(not(feature = "http-client"))]
#[derive(Clone)]
pub struct Sender {
    never: std::convert::Infallible,
}

#[cfg(not(feature = "http-client"))]
impl Sender {
    /// Always [`NO_CLIENT`].
    pub fn new(_policy: &WebhookPolicy) -> Result<Sender, String> {
        Err(NO_CLIENT.to_string())
    }

    /// Never called: there is no sender.
    pub fn post(&self, _url: &str, _headers: &[(&str, String)], _body: &[u8]) -> Answer {
        match self.never {}
    }

    /// Never called: there is no sender.
    pub fn send(&self, _out: &Outgoing<'_>) -> Result<Reply, Failure> {
        match self.never {}
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

#[cfg(feature = "http-client")]
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
        let client = builder.build().map_err(|e| {
            let roots = match policy.extra_roots.len() {
                0 => String::new(),
                n => format!(" with {n} extra root certificate(s) (BACKOFFICE_WEBHOOK_CA_FILE)"),
            };
            format!("HTTP client{roots}: {}", causes(&e).join(": "))
        })?;
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
        let mut all = vec![("content-type".to_string(), "application/json".to_string())];
        all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.clone())));
        let mut response = self
            .start(reqwest::Method::POST, url, &all, body, None)
            .map_err(|f| f.message().to_string())?;
        // Read a bounded part of the body: a small one lets the connection be reused;
        // a large one is cut off (the status already decided).
        let mut sink = Vec::new();
        let _ = (&mut response).take(MAX_BODY).read_to_end(&mut sink);
        Ok(response.status().as_u16())
    }

    /// Send a plugin's request and read its answer, the body up to `max_body`.
    pub fn send(&self, out: &Outgoing<'_>) -> Result<Reply, Failure> {
        let method = reqwest::Method::from_bytes(out.method.as_bytes())
            .map_err(|e| Failure::Refused(format!("method '{}': {e}", out.method)))?;
        let response = self.start(method, out.url, out.headers, out.body, Some(out.timeout))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = u64::try_from(out.max_body).unwrap_or(u64::MAX);
        let mut body = Vec::new();
        response
            .take(cap.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| Failure::Other(format!("reading the answer's body: {e}")))?;
        if body.len() > out.max_body {
            return Err(Failure::TooLarge(format!(
                "the answer's body is larger than {} bytes, the most a plugin receives; \
                 ask the server for less (a page, a range, a filter)",
                out.max_body
            )));
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Check the destination, send, and check the answer's head.
    fn start(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
        timeout: Option<Duration>,
    ) -> Result<reqwest::blocking::Response, Failure> {
        let parsed = guard::check_before_send(url, self.allow_private)
            .map_err(|e| Failure::Refused(format!("destination refused: {e}")))?;
        let mut request = self.client.request(method, parsed);
        if !body.is_empty() {
            request = request.body(body.to_vec());
        }
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().map_err(|e| {
            let text = describe(&e);
            if text.starts_with("destination refused") {
                Failure::Refused(text)
            } else if e.is_connect() {
                Failure::Connect(text)
            } else {
                Failure::Other(text)
            }
        })?;
        let head = 16
            + response
                .headers()
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len() + 4)
                .sum::<usize>();
        if head > MAX_HEAD {
            return Err(Failure::TooLarge(format!(
                "the answer's head is larger than {} KiB",
                MAX_HEAD / 1024
            )));
        }
        Ok(response)
    }
}

/// What went wrong, in words: the kind, then the causes (reqwest's own message names
/// only the URL).
#[cfg(feature = "http-client")]
fn describe(e: &reqwest::Error) -> String {
    let mut causes = causes(e);
    causes.remove(0);
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

/// An error's message and its sources' after it, each once.
#[cfg(feature = "http-client")]
fn causes(e: &dyn std::error::Error) -> Vec<String> {
    let mut causes = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    causes
}
