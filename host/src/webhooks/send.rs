//! One attempt: a blocking HTTP/1.1 POST over a socket connected to a checked address.
//!
//! Why not a client crate: the guard must choose the address the socket connects to
//! (after checking it), redirects must never be followed, and only the status line
//! matters. A std `TcpStream` plus rustls (ring provider, Mozilla roots from
//! `webpki-roots`) does exactly that, with `httparse` (already built for hyper) for
//! the response head; reqwest would bring a second HTTP stack, its own resolver hook
//! and redirect policy to turn off, and tower layers the worker does not need.
//!
//! Limits: connecting to each address takes at most `connect_timeout`; the whole
//! attempt (connect, TLS, send, the response head) at most `timeout`. Only the head of
//! the answer is read, at most [`MAX_HEAD`] bytes; the body is never read, so an
//! oversized or endless answer costs nothing. A 2xx status delivers; any other status
//! (a redirect included: never followed) or failure is retried.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::guard::Target;

/// Largest response head read.
pub const MAX_HEAD: usize = 16 * 1024;

/// How an attempt went: the status, if the endpoint answered, and whether it
/// delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: Option<u16>,
    /// Why it did not deliver; none when it did.
    pub error: Option<String>,
}

/// Sends attempts; cheap to share.
#[derive(Clone)]
pub struct Sender {
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Sender {
    /// A sender with these timeouts that trusts Mozilla's root certificates and
    /// `extra_roots` (DER).
    pub fn new(
        connect_timeout: Duration,
        timeout: Duration,
        extra_roots: &[Vec<u8>],
    ) -> Result<Sender, String> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for der in extra_roots {
            roots
                .add(rustls::pki_types::CertificateDer::from(der.clone()))
                .map_err(|e| format!("an extra root certificate: {e}"))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Sender {
            tls: Arc::new(tls),
            connect_timeout,
            timeout,
        })
    }

    /// POST `body` with `headers` to `target`.
    pub fn post(&self, target: &Target, headers: &[(&str, String)], body: &[u8]) -> Answer {
        match self.exchange(target, headers, body) {
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

    fn exchange(
        &self,
        target: &Target,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
        let deadline = Instant::now() + self.timeout;
        let mut last = String::from("no address to connect to");
        let mut socket = None;
        for addr in &target.addrs {
            let wait = self.connect_timeout.min(left(deadline)?);
            match TcpStream::connect_timeout(addr, wait) {
                Ok(s) => {
                    socket = Some(s);
                    break;
                }
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        let socket = socket.ok_or(last)?;
        let wait = left(deadline)?;
        socket
            .set_read_timeout(Some(wait))
            .and_then(|()| socket.set_write_timeout(Some(wait)))
            .map_err(|e| format!("socket: {e}"))?;
        let request = request(target, headers, body);
        if target.https {
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| format!("'{}' is not a TLS server name: {e}", target.host))?;
            let conn = rustls::ClientConnection::new(self.tls.clone(), name)
                .map_err(|e| format!("TLS: {e}"))?;
            let mut stream = rustls::StreamOwned::new(conn, socket);
            exchange_on(&mut stream, &request, deadline)
        } else {
            let mut stream = socket;
            exchange_on(&mut stream, &request, deadline)
        }
    }
}

fn left(deadline: Instant) -> Result<Duration, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err("timed out".into())
    } else {
        Ok(left)
    }
}

fn request(target: &Target, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let url = &target.url;
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let host = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: backoffice-webhooks/{}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        if path.is_empty() { "/" } else { path },
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Write the request, read the final response head; its status.
fn exchange_on<S: Read + Write>(
    stream: &mut S,
    request: &[u8],
    deadline: Instant,
) -> Result<u16, String> {
    stream
        .write_all(request)
        .and_then(|()| stream.flush())
        .map_err(|e| io_error("sending", &e))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        left(deadline)?;
        let n = stream
            .read(&mut chunk)
            .map_err(|e| io_error("reading the answer", &e))?;
        if n == 0 {
            return Err("the connection closed before an answer".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = response.code.unwrap_or(0);
                    if (100..200).contains(&status) {
                        // An interim answer (100 Continue): the real one follows.
                        buf.drain(..len);
                        continue;
                    }
                    return Ok(status);
                }
                Ok(httparse::Status::Partial) => break,
                Err(e) => return Err(format!("the answer is not HTTP: {e}")),
            }
        }
        if buf.len() > MAX_HEAD {
            return Err(format!(
                "the answer's head is larger than {} KiB",
                MAX_HEAD / 1024
            ));
        }
    }
}

fn io_error(what: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("timed out {what}")
        }
        _ => format!("{what}: {e}"),
    }
}
