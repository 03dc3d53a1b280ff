//! The backoffice host: runs a company's back office as sandboxed WebAssembly plugins.
//!
//! The host owns storage, identity, scheduling and events; every business function is a
//! plugin component targeting the `backoffice:host/plugin` world in `wit/`. The HTTP API,
//! web console and command line are the crate `backoffice-api`. See
//! `docs/architecture.md` for the picture and the flow of one call.
//!
//! ```no_run
//! use backoffice_host::{Host, HostConfig, auth::Principal};
//! let host = Host::open(HostConfig::new("/var/lib/backoffice"))?;
//! host.create_tenant("acme", Some("Acme Ltd"), Some("Europe/London"))?;
//! let mut plan = host.inspect(std::fs::read("contacts.wasm")?)?;
//! plan.allow_unsigned = true; // or pass the `.sig` text: `inspect_signed`
//! host.install(plan)?;
//! host.enable("contacts", "acme")?;
//! let out = host.invoke("acme", "contacts", "create", r#"{"name":"Ada"}"#, &Principal::system())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod admin;
pub mod audit;
/// Principals and permissions (`backoffice_core::principal`).
pub use backoffice_core::principal as auth;
/// The sandbox's pieces (the crate `backoffice-runtime`).
pub use backoffice_runtime::{bindings, capabilities, clock, dry_run};
pub mod error;
mod events;
pub use backoffice_core::extensions;
#[cfg(test)]
mod fuzz;
mod host;
pub mod identity;
mod invoke;
pub mod lifecycle;
pub mod metrics;
pub mod notify;
pub mod outbound;
pub mod outbox;
pub use backoffice_core::manifest;
mod optimistic;
pub mod pack;
pub mod package;
mod plan;
pub mod registry;
/// The sandbox: engine, limits, code cache (the crate `backoffice-runtime`).
pub use backoffice_runtime as runtime;
pub mod scaffold;
pub mod scaffold_script;
pub mod scheduler;
pub mod settings;
/// Storage: the traits and both backends (the crate `backoffice-store`).
pub use backoffice_store as store;
#[cfg(test)]
mod store_tests;
pub mod tenant_ops;
pub mod testkit;
mod throttle;
pub mod trust;
pub mod webhooks;

pub use error::{HostError, HostResult};
pub use host::{DATABASE_FILE, Host, HostConfig};
