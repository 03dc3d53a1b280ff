//! `backoffice serve`: the HTTP API, with the scheduler and event delivery beside it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::api::ApiConfig;
use backoffice_host::error::HostError;
use backoffice_host::identity::parse_duration;
use backoffice_host::{Host, HostConfig};

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
    /// A reverse proxy (an address or CIDR block, such as 10.0.0.0/8) whose
    /// X-Forwarded-For names the client, for the sign-in throttle and the rate limit.
    /// Repeat it for several; the environment variable takes a comma-separated list.
    /// From any other peer the header is ignored: clients could write anything in it.
    #[arg(
        long = "trusted-proxy",
        env = "BACKOFFICE_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ',',
        value_parser = crate::api::parse_trusted_proxy
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// A file holding the token Prometheus sends to GET /metrics (as a bearer token);
    /// the host keeps only its SHA-256. Without it only system administrators'
    /// tokens may read /metrics.
    #[arg(long, env = "BACKOFFICE_METRICS_TOKEN_FILE", value_name = "PATH")]
    metrics_token_file: Option<std::path::PathBuf>,
    /// Also serve GET /metrics, without a token, on this separate address (for a
    /// scraper on a private network; keep it off the public one).
    #[arg(long, env = "BACKOFFICE_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Answer read-only calls on the thread that received the request, before handing
    /// them to the pool of threads that may wait (`on`, the default), or always on
    /// that pool (`off`). See "Reads in place" in docs/admin-guide.md.
    #[arg(long, env = "BACKOFFICE_READS_IN_PLACE", value_name = "on|off", default_value = "on", value_parser = ["on", "off"])]
    reads_in_place: String,
    /// The SMTP relay notifications go through: smtp://[USER@]HOST[:PORT] (STARTTLS
    /// when the relay offers it) or smtps://[USER@]HOST[:PORT] (TLS). Without it,
    /// notifications plugins queue wait, pending, until the host has a relay.
    #[arg(
        long,
        env = "BACKOFFICE_SMTP_URL",
        value_name = "URL",
        requires = "smtp_from"
    )]
    smtp_url: Option<String>,
    /// The From address of notifications, such as 'Back office <alerts@example.com>'.
    #[arg(long, env = "BACKOFFICE_SMTP_FROM", value_name = "ADDRESS")]
    smtp_from: Option<String>,
    /// A file holding the password of the user named in --smtp-url (or set
    /// BACKOFFICE_SMTP_PASSWORD).
    #[arg(long, env = "BACKOFFICE_SMTP_PASSWORD_FILE", value_name = "PATH")]
    smtp_password_file: Option<std::path::PathBuf>,
}

/// The relay of `--smtp-url`, `--smtp-from` and the password, if a URL was given.
fn smtp_relay(args: &ServeArgs) -> Result<Option<backoffice_host::notify::SmtpRelay>, HostError> {
    let Some(url) = &args.smtp_url else {
        return Ok(None);
    };
    let from = args.smtp_from.as_deref().unwrap_or_default();
    let password = match &args.smtp_password_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| {
                    HostError::InvalidInput(format!(
                        "cannot read the SMTP password file {}: {e}",
                        path.display()
                    ))
                })?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        ),
        None => std::env::var("BACKOFFICE_SMTP_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty()),
    };
    backoffice_host::notify::SmtpRelay::parse(url, from, password)
        .map(Some)
        .map_err(|e| HostError::InvalidInput(format!("--smtp-url: {e}")))
}

/// The SHA-256 of the token in `path` (surrounding white space ignored).
fn metrics_token(path: &std::path::Path) -> Result<[u8; 32], HostError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        HostError::InvalidInput(format!(
            "cannot read the metrics token file {}: {e}",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.len() < 16 {
        return Err(HostError::InvalidInput(format!(
            "the metrics token in {} is {} characters long; use at least 16 random characters (for example `openssl rand -hex 32`)",
            path.display(),
            token.len()
        )));
    }
    Ok(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()).into())
}

pub fn run(mut config: HostConfig, args: &ServeArgs) -> Result<(), HostError> {
    config.session_ttl = parse_duration(&args.session_ttl)?;
    let metrics_token = args
        .metrics_token_file
        .as_deref()
        .map(metrics_token)
        .transpose()?;
    // Every thread of the runtime may run plugin calls (the blocking pool, the
    // worker): each gets the stack a chain of nested calls needs (`runtime::stack`).
    let stack = config.limits.native_stack_bytes();
    if let Some(relay) = smtp_relay(args)? {
        tracing::info!(relay = %relay.describe(), "notifications go through the SMTP relay");
        config.notify.relay = Some(relay);
    }
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
        .thread_stack_size(stack)
        .on_thread_start(move || backoffice_host::runtime::stack::mark_thread(stack))
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
        trusted_proxies: args.trusted_proxies.clone(),
        metrics_token,
        reads_in_place: args.reads_in_place == "on",
    };
    if !api.trusted_proxies.is_empty() {
        let proxies: Vec<String> = api
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        tracing::info!(proxies = %proxies.join(", "), "taking client addresses from X-Forwarded-For of these proxies");
    }
    if let Some(addr) = args.metrics_listen {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|e| {
                HostError::Internal(format!("cannot listen on {addr} for metrics: {e}"))
            })?;
        let addr = listener.local_addr().unwrap_or(addr);
        eprintln!("backoffice metrics on http://{addr}/metrics");
        let app = crate::api::metrics_app(host.clone());
        // Ends with the runtime, when the API server has stopped.
        runtime.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let served = runtime.block_on(crate::api::serve(host.clone(), args.listen, api));
    stop.store(true, Ordering::Relaxed);
    host.wake_worker();
    let _ = runtime.block_on(worker);
    // The links of the last reads go to the log before the process ends.
    host.flush_audit(Duration::from_secs(5));
    served
}
