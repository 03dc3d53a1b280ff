//! Host bindings of the `backoffice:host` WIT package, generated once from `wit/`.
//!
//! Every import is trappable: a host function returns `wasmtime::Result<..>` whose
//! `Err` traps the guest (host bug or limit), while the WIT `result<_, error>` inside
//! carries expected failures back to the plugin.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "backoffice:host/plugin",
    imports: { default: trappable },
});

pub use backoffice::host::types::{Error as WitError, Instant};
pub use exports::backoffice::host::handler;

/// The version of the host API this build implements.
pub const HOST_API_VERSION: semver::Version = semver::Version::new(0, 1, 0);
