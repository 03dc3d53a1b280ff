//! `backoffice serve`: the HTTP API on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Host;
use crate::error::HostError;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Only loopback addresses are accepted until the API has
    /// authentication.
    #[arg(long, env = "BACKOFFICE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

pub fn run(host: Host, args: &ServeArgs) -> Result<(), HostError> {
    if !args.listen.ip().is_loopback() {
        return Err(HostError::InvalidInput(format!(
            "refusing to listen on {}: this version of the API has no authentication yet, so it only listens on loopback (127.0.0.1 or ::1)",
            args.listen
        )));
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
    let served = runtime.block_on(crate::api::serve(host.clone(), args.listen));
    stop.store(true, Ordering::Relaxed);
    host.wake_worker();
    let _ = runtime.block_on(worker);
    served
}
