//! The backoffice host's HTTP API, web console and command line.
//!
//! The host itself (`backoffice-host`: plugins, storage, identity, scheduling, events)
//! knows nothing of HTTP; this crate serves it over axum ([`api`]) and drives it from
//! the `backoffice` binary ([`cli`]). See `docs/architecture.md` for the crate graph.

pub mod api;
pub mod cli;
