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

use std::time::Duration;

#[cfg(feature = "http-client")]
mod client;
#[cfg(feature = "http-client")]
pub use client::Sender;
#[cfg(not(feature = "http-client"))]
mod none;
#[cfg(not(feature = "http-client"))]
pub use none::Sender;

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
