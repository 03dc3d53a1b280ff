//! The bottom layer of the backoffice host: the words every other layer uses, with
//! no WebAssembly runtime, no database and no HTTP in its dependency tree.
//!
//! - [`manifest`]: `plugin.toml`, parsed and checked;
//! - [`extensions`]: the typed extension points the host routes;
//! - [`outbound`]: the hosts a plugin may send HTTP requests to;
//! - [`principal`]: who calls (users, tokens, plugins, the system) and their permissions;
//! - [`cron`]: schedules in a tenant's time zone.
//!
//! `backoffice-host` re-exports each module under its old path
//! (`backoffice_host::manifest`, `backoffice_host::auth`, ...).

pub mod cron;
pub mod extensions;
pub mod manifest;
pub mod outbound;
pub mod principal;
