//! Outbound HTTP requests (`backoffice:http@0.1.0`).
//!
//! Queue a request to a host your `plugin.toml` lists; the host sends it only after
//! the call commits (a call that fails sends nothing), retries it as documented, and
//! brings the answer back later as an event with topic [`RESPONSE_TOPIC`] to your
//! plugin's `on_event`, in a transaction of its own. Keep what you need to match the
//! answer under the id [`send`] returns.
//!
//! ```toml
//! capabilities = ["storage", "http"]
//! allowed-outbound-hosts = ["https://data-api.ecb.europa.eu"]
//! ```
//!
//! ```no_run
//! use backoffice_sdk::http::{self, Request};
//!
//! # fn fetch() -> backoffice_sdk::Result<()> {
//! let id = http::send(
//!     &Request::get("https://data-api.ecb.europa.eu/service/data/EXR/D.USD.EUR.SP00.A?lastNObservations=1")
//!         .header("accept", "application/json")
//!         .timeout_ms(10_000),
//! )?;
//! backoffice_sdk::storage::put(&format!("pending/{id}"), "usd-rate")?;
//! # Ok(())
//! # }
//! ```
//!
//! In `on_event`, [`Response::from_event`] reads the answer:
//!
//! ```no_run
//! use backoffice_sdk::http::{RESPONSE_TOPIC, Response};
//!
//! # fn on_event(topic: &str, payload: serde_json::Value) -> backoffice_sdk::Result<()> {
//! if topic == RESPONSE_TOPIC {
//!     let r = Response::from_event(&payload)?;
//!     if r.ok() { /* r.status, r.text() */ } else { /* r.error */ }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Errors of [`send`]: `invalid-input` for a malformed request (method, header, a
//! body over 1 MiB, a timeout over 60 s), `forbidden` without the capability, for a
//! URL whose scheme, host and port are not listed, for plain HTTP or a private
//! address (unless the host allows them), or in a read-only operation.

use crate::{Error, Result};

/// The WIT interface a plugin making requests imports.
pub const HTTP_INTERFACE: &str = "backoffice:http/outbound@0.1.0";

/// The topic of the event that carries an answer.
pub const RESPONSE_TOPIC: &str = "http.response";

/// A request to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE` or `OPTIONS`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body; empty for none.
    pub body: Vec<u8>,
    /// One attempt's time limit in ms (host default 15 000, at most 60 000).
    pub timeout_ms: Option<u32>,
}

impl Request {
    /// A request with `method` to `url`, no headers and no body.
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: None,
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// A `POST` of `body` as JSON to `url`.
    pub fn post_json(url: &str, body: &serde_json::Value) -> Request {
        Request::new("POST", url)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
    }

    /// With one more header.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// With this body.
    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = body;
        self
    }

    /// With this time limit per attempt.
    pub fn timeout_ms(mut self, ms: u32) -> Request {
        self.timeout_ms = Some(ms);
        self
    }
}

/// Queue `req`, sent after the call commits; the request's id, which the answer's
/// event carries as `request`.
pub fn send(req: &Request) -> Result<i64> {
    use crate::__private::http_bindings::backoffice::http::outbound as wit;
    let r = wit::Request {
        method: req.method.clone(),
        url: req.url.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
        timeout_ms: req.timeout_ms,
    };
    Ok(wit::send(&r)?)
}

/// An answer (or the final failure) of a queued request, from an `http.response`
/// event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Response {
    /// The id [`send`] returned.
    pub request: i64,
    /// The method sent.
    pub method: String,
    /// The URL sent to.
    pub url: String,
    /// The last answer's status, if there was one.
    pub status: Option<u16>,
    /// The last answer's headers (names lowercase).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body when it is UTF-8 text.
    pub body: Option<String>,
    /// The body in base64 when it is not UTF-8.
    pub body_base64: Option<String>,
    /// Why the request failed, if it did: no answer after the last attempt, a refused
    /// destination, an answer over the size cap, or a 5xx / 429 status.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: u32,
}

impl Response {
    /// Read the payload of an `http.response` event.
    pub fn from_event(payload: &serde_json::Value) -> Result<Response> {
        serde_json::from_value(payload.clone())
            .map_err(|e| Error::InvalidInput(format!("not an http.response payload: {e}")))
    }

    /// Whether an answer came and it is not a failure.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.status.is_some()
    }

    /// The body as text, when it is text.
    pub fn text(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
