//! The sender of the feature `http-client`: reqwest's blocking client, with the
//! address guard as its resolver (see the parent module).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use super::{Answer, Failure, MAX_BODY, MAX_HEAD, Outgoing, Reply};
use crate::webhooks::WebhookPolicy;
use crate::webhooks::guard;

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
