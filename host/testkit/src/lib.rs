//! A real backoffice host in-process, on SQLite, for plugin vendors' own `cargo test`.
//!
//! Add this crate as a native-only dev-dependency of a plugin crate and test the built
//! component exactly as an installed plugin runs: manifest checks, schemas,
//! permissions, the sandbox and one transaction per call. It is the host library
//! (`backoffice-host`) without its PostgreSQL backend and outbound HTTP client, and
//! without the HTTP API, web console and command line (those are `backoffice-api`), so
//! a plugin's tests build none of them. With the feature `http` the kit delivers the
//! plugin's outbound HTTP requests and webhooks for real; without it, each attempt is
//! recorded as failed with a message naming that feature.
//!
//! ```no_run
//! use backoffice_testkit::{TestKit, build_component};
//! let wasm = build_component(env!("CARGO_MANIFEST_DIR"))?;
//! let kit = TestKit::new()?;
//! kit.install_file(&wasm)?;
//! kit.tenant("test")?;
//! kit.enable("hello", "test")?;
//! let out = kit.call("test", "hello", "greet", serde_json::json!({ "name": "Ada" }))?;
//! assert_eq!(out["text"], "Hello, Ada!");
//! # Ok::<(), backoffice_testkit::HostError>(())
//! ```

pub use backoffice_host::testkit::*;
/// The host, for anything the kit does not wrap ([`TestKit::host`]).
pub use backoffice_host::{Host, HostError, HostResult};
