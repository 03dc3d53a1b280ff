//! `backoffice serve`: the HTTP API, with the scheduler and event delivery beside it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::api::ApiConfig;
use crate::error::HostError;
use crate::identity::parse_duration;
use crate::{Host, HostConfig};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. The API speaks plain HTTP: put a TLS-terminating proxy in
    /// front of it for anything beyond loopback.
    #[arg(long, env = "BACKOFFICE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Lifetime of session tokens from /v1/login, such as 8h or 30m.
    #[arg(long, env = "BACKOFFICE_SESSION_TTL", default_value = "8h")]
    session_ttl: String,
    /// Longest time one request may take, in milliseconds, before it is answered 504.
    #[arg(long, env = "BACKOFFICE_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// Mark the web console's cookies Secure, so browsers send them over HTTPS only.
    /// Set it when users reach the console through a TLS-terminating proxy.
    #[arg(long, env = "BACKOFFICE_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Longest time a client may take to send a request's headers, in milliseconds,
    /// before its connection is closed (slow clients holding connections open).
    #[arg(long, env = "BACKOFFICE_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// Longest time a client may take to send a request's body once its headers are
    /// in, in milliseconds, before the request is answered 408.
    #[arg(long, env = "BACKOFFICE_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    body_timeout_ms: u64,
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, env = "BACKOFFICE_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Requests a second allowed per token (per client address for requests without
    /// one); beyond it requests are answered 429 with Retry-After. 0 turns it off.
    #[arg(long, env = "BACKOFFICE_RATE_LIMIT", default_value_t = 100.0)]
    rate_limit: f64,
    /// Requests a token may make in a burst beyond the rate limit.
    #[arg(long, env = "BACKOFFICE_RATE_BURST", default_value_t = 200)]
    rate_burst: u32,
}

pub fn run(mut config: HostConfig, args: &ServeArgs) -> Result<(), HostError> {
    config.session_ttl = parse_duration(&args.session_ttl)?;
    let host = Host::open(config)?;
    if !args.listen.ip().is_loopback() {
        tracing::warn!(listen = %args.listen, "serving plain HTTP beyond loopback; terminate TLS in a proxy in front of the host");
    }
    // Compile (or read from the cache) every plugin before taking traffic.
    if let Err(e) = host.load_all() {
        tracing::error!(error = %e, "a plugin could not be loaded; /readyz reports not ready");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HostError::Internal(format!("cannot start the async runtime: {e}")))?;
    let host = Arc::new(host);
    // The scheduler and event delivery run beside the API on a blocking thread
    // (storage and plugin calls are synchronous) until the server stops.
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (host, stop) = (host.clone(), stop.clone());
        runtime.spawn_blocking(move || host.work_loop(&stop))
    };
    let api = ApiConfig {
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(1)),
        secure_cookies: args.secure_cookies,
        header_timeout: Duration::from_millis(args.header_timeout_ms.max(1)),
        body_timeout: Duration::from_millis(args.body_timeout_ms.max(1)),
        max_connections: args.max_connections.max(1),
        rate_limit: args.rate_limit.max(0.0),
        rate_burst: args.rate_burst.max(1),
    };
    let served = runtime.block_on(crate::api::serve(host.clone(), args.listen, api));
    stop.store(true, Ordering::Relaxed);
    host.wake_worker();
    let _ = runtime.block_on(worker);
    // The links of the last reads go to the log before the process ends.
    host.audit_queue.flush(Duration::from_secs(5));
    served
}
