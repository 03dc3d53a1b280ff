//! The SDK for writing backoffice plugins: WebAssembly components that the
//! backoffice host runs in a sandbox.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2` with a `plugin.toml`
//! manifest next to its `Cargo.toml`. It implements [`Plugin`], lists its operations
//! as typed functions in [`Operations`], and registers itself with
//! [`export_plugin!`], which also embeds `plugin.toml` in the component.
//!
//! # A minimal plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "hello"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! backoffice-sdk = { path = "../../sdk" }
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! `plugin.toml`:
//!
//! ```toml
//! id = "hello"
//! name = "Hello"
//! vendor = "example"
//! version = "0.1.0"
//! description = "Greets people and counts the greetings."
//! host-api = "^0.1"
//! capabilities = ["storage"]
//!
//! [[operations]]
//! name = "greet"
//! permission = "hello.greet"
//! description = "Greet someone."
//! input = '''{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}, "additionalProperties": false}'''
//! output = '''{"type": "object", "required": ["text", "count"], "properties": {"text": {"type": "string"}, "count": {"type": "integer"}}}'''
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use backoffice_sdk::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn operations() -> Operations {
//!         Operations::new().op("greet", greet)
//!     }
//! }
//!
//! #[derive(Deserialize)]
//! struct GreetInput {
//!     name: String,
//! }
//!
//! #[derive(Serialize)]
//! struct Greeting {
//!     text: String,
//!     count: u64,
//! }
//!
//! fn greet(input: GreetInput) -> Result<Greeting> {
//!     if input.name.trim().is_empty() {
//!         return Err(Error::invalid("name must not be blank"));
//!     }
//!     let count = storage::get::<u64>("greetings")?.unwrap_or(0) + 1;
//!     storage::put("greetings", &count)?;
//!     log::info(format!("greeting #{count}"));
//!     Ok(Greeting { text: format!("Hello, {}!", input.name), count })
//! }
//!
//! # #[cfg(any())]
//! backoffice_sdk::export_plugin!(Hello);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the component is
//! `target/wasm32-wasip2/release/hello.wasm`.
//!
//! # What is where
//!
//! * [`Plugin`], [`Operations`], [`export_plugin!`]: the plugin's entry points.
//! * [`Error`] and [`Result`]: expected failures, mapped by the host to HTTP statuses.
//! * [`storage`]: transactional key-value storage with JSON values and scans.
//! * [`context`]: the caller, permissions, business time, time zone, settings.
//! * [`log`], [`events`], [`scheduler`], [`plugins`]: the other host interfaces.
//! * [`Money`], [`Currency`], [`Timestamp`]: exact business value types.
//!
//! Every call of an operation runs in one storage transaction: returning `Err` or
//! panicking rolls back all its writes.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod compliance;
pub mod context;
mod date;
mod error;
pub mod events;
pub mod http;
pub mod log;
mod money;
pub mod notify;
mod ops;
pub mod payroll;
pub mod plugins;
pub mod scheduler;
pub mod storage;
mod time;

pub use date::Date;
pub use error::{Error, Result};
pub use money::{Currency, MAX_EXPONENT, Money};
pub use ops::{Empty, Operations, Plugin};
pub use time::Timestamp;

/// The `wit-bindgen` this SDK is built with, so plugins need not depend on it.
pub use wit_bindgen;

/// The version of the host API (the WIT package `backoffice:host`) this SDK targets.
pub const HOST_API_VERSION: &str = "0.1.0";

/// The name of the custom section in which [`export_plugin!`] embeds `plugin.toml`.
pub const MANIFEST_SECTION: &str = "backoffice:manifest";

/// The usual imports for writing a plugin: `use backoffice_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::context::{self, Caller, PrincipalKind};
    pub use crate::{
        Currency, Date, Empty, Error, Money, Operations, Plugin, Result, Timestamp, events, log,
        plugins, scheduler, storage,
    };
}

/// Register `$plugin` (a type implementing [`Plugin`]) as the component's
/// implementation of the `handler` interface, and embed the crate's `plugin.toml`
/// (next to its `Cargo.toml`) verbatim in a custom section named
/// `backoffice:manifest`.
///
/// Use it once, at the top level of the plugin's `lib.rs`:
///
/// ```ignore
/// backoffice_sdk::export_plugin!(MyPlugin);
/// ```
///
/// Plugins may keep `#![forbid(unsafe_code)]` (or `unsafe_code = "forbid"` in their
/// lints): the attributes this macro needs come from the SDK, and lints do not fire
/// in code expanded from another crate's macro.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            type __BackofficePlugin = $crate::__private::Adapter<$plugin>;
            $crate::__private::__backoffice_export!(
                __BackofficePlugin with_types_in $crate::__private::bindings
            );
        };

        // On wasm, rustc emits a `link_section` static's bytes as a custom section by
        // itself. `#[used]` would also keep a second copy in linear memory, so it is
        // deliberately absent; the static is never referenced and never in memory.
        #[doc(hidden)]
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "backoffice:manifest")]
        static __BACKOFFICE_MANIFEST: [u8; ::core::include_bytes!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/plugin.toml"
        ))
        .len()] = *::core::include_bytes!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/plugin.toml"
        ));
    };
}

/// Register `$rules` (a type implementing [`payroll::Rules`]) as the component's
/// implementation of `backoffice:payroll/rules@0.1.0`. Use it next to
/// [`export_plugin!`], and declare the countries under `[[provides]]` in `plugin.toml`.
#[macro_export]
macro_rules! export_payroll_rules {
    ($rules:ty) => {
        const _: () = {
            type __BackofficeRules = $crate::__private::RulesAdapter<$rules>;
            $crate::__private::__backoffice_export_rules!(
                __BackofficeRules with_types_in $crate::__private::payroll_rules_bindings
            );
        };
    };
}

/// Register `$checks` (a type implementing [`compliance::Checks`]) as the component's
/// implementation of `backoffice:compliance/checks@0.1.0`. Use it next to
/// [`export_plugin!`], and name the checks under `[[provides]]` in `plugin.toml`.
#[macro_export]
macro_rules! export_compliance_checks {
    ($checks:ty) => {
        const _: () = {
            type __BackofficeChecks = $crate::__private::ChecksAdapter<$checks>;
            $crate::__private::__backoffice_export_checks!(
                __BackofficeChecks with_types_in $crate::__private::compliance_checks_bindings
            );
        };
    };
}

/// A whole country rules plugin from a module of three functions: declares
/// `pub struct $name`, implements [`payroll::Rules`] with `$rules::support`,
/// `$rules::profile_schema` and `$rules::calculate`, gives it no operations, and
/// exports it with [`export_plugin!`] and [`export_payroll_rules!`].
///
/// ```ignore
/// pub mod rules; // fn support() -> Support, fn profile_schema() -> Value, fn calculate(&CalcInput) -> Result<Payslip>
/// backoffice_sdk::payroll_rules_plugin!(UsRules, rules);
/// ```
#[macro_export]
macro_rules! payroll_rules_plugin {
    ($name:ident, $rules:ident) => {
        /// The plugin: the country rules, registered with the host.
        pub struct $name;

        impl $crate::payroll::Rules for $name {
            fn support() -> $crate::payroll::Support {
                $rules::support()
            }

            fn profile_schema() -> $crate::__private::serde_json::Value {
                $rules::profile_schema()
            }

            fn calculate(
                input: &$crate::payroll::CalcInput,
            ) -> $crate::Result<$crate::payroll::Payslip> {
                $rules::calculate(input)
            }
        }

        impl $crate::Plugin for $name {
            fn operations() -> $crate::Operations {
                $crate::Operations::new()
            }
        }

        $crate::export_plugin!($name);
        $crate::export_payroll_rules!($name);
    };
}

/// Implementation details of [`export_plugin!`]; not a stable API.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;

    use crate::Plugin;
    use bindings::backoffice::host::types::{Error as WitError, Json};
    use bindings::exports::backoffice::host::handler::Guest;

    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../wit/host@0.1.0",
            world: "backoffice:host/plugin",
            pub_export_macro: true,
            export_macro_name: "__backoffice_export",
            default_bindings_module: "$crate::__private::bindings",
        });
    }

    #[doc(hidden)]
    pub use bindings::__backoffice_export;
    #[doc(hidden)]
    pub use serde_json;

    /// The `engine` import of `backoffice:payroll` (world `rules-consumer`). Only the
    /// functions a plugin calls end up as imports of its component.
    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod payroll_bindings {
        wit_bindgen::generate!({
            path: "../wit/payroll@0.1.0",
            with: { "backoffice:host/types@0.1.0": crate::__private::bindings::backoffice::host::types },
            world: "backoffice:payroll/rules-consumer",
        });
    }

    /// The `engine` import of `backoffice:payroll@0.2.0` (world `rules-consumer`):
    /// 0.1.0's engine whose `calculate` also names the rules plugin that answered.
    /// Its types are 0.1.0's, mapped onto [`payroll_bindings`]' so the conversions are
    /// shared. As above, only the functions a plugin calls become imports.
    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod payroll_v0_2_bindings {
        wit_bindgen::generate!({
            path: "../wit/payroll@0.2.0",
            with: {
                "backoffice:host/types@0.1.0": crate::__private::bindings::backoffice::host::types,
                "backoffice:payroll/types@0.1.0": crate::__private::payroll_bindings::backoffice::payroll::types,
            },
            world: "backoffice:payroll/rules-consumer@0.2.0",
        });
    }

    /// The `rules` export of `backoffice:payroll` (world `rules-provider`), used by
    /// [`export_payroll_rules!`](crate::export_payroll_rules).
    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod payroll_rules_bindings {
        wit_bindgen::generate!({
            path: "../wit/payroll@0.1.0",
            with: { "backoffice:host/types@0.1.0": crate::__private::bindings::backoffice::host::types },
            world: "backoffice:payroll/rules-provider",
            pub_export_macro: true,
            export_macro_name: "__backoffice_export_rules",
            default_bindings_module: "$crate::__private::payroll_rules_bindings",
        });
    }

    #[doc(hidden)]
    pub use crate::payroll::RulesAdapter;
    #[doc(hidden)]
    pub use payroll_rules_bindings::__backoffice_export_rules;

    /// The `notify` import of `backoffice:notify` (world `notify-consumer`): only
    /// plugins that call [`crate::notify::send`] import it.
    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod notify_bindings {
        wit_bindgen::generate!({
            path: "../wit/notify@0.1.0",
            with: { "backoffice:host/types@0.1.0": crate::__private::bindings::backoffice::host::types },
            world: "backoffice:notify/notify-consumer",
        });
    }

    /// The `outbound` import of `backoffice:http` (world `http-consumer`): only
    /// plugins that call [`crate::http::send`] import it.
    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod http_bindings {
        wit_bindgen::generate!({
            path: "../wit/http@0.1.0",
            with: { "backoffice:host/types@0.1.0": crate::__private::bindings::backoffice::host::types },
            world: "backoffice:http/http-consumer",
        });
    }

    /// The `registry` import of `backoffice:compliance` (world `checks-consumer`).
    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod compliance_bindings {
        wit_bindgen::generate!({
            path: "../wit/compliance@0.1.0",
            with: { "backoffice:host/types@0.1.0": crate::__private::bindings::backoffice::host::types },
            world: "backoffice:compliance/checks-consumer",
        });
    }

    /// The `checks` export of `backoffice:compliance` (world `checks-provider`), used
    /// by [`export_compliance_checks!`](crate::export_compliance_checks).
    #[allow(missing_docs, unsafe_code, unused, clippy::all)]
    pub mod compliance_checks_bindings {
        wit_bindgen::generate!({
            path: "../wit/compliance@0.1.0",
            with: { "backoffice:host/types@0.1.0": crate::__private::bindings::backoffice::host::types },
            world: "backoffice:compliance/checks-provider",
            pub_export_macro: true,
            export_macro_name: "__backoffice_export_checks",
            default_bindings_module: "$crate::__private::compliance_checks_bindings",
        });
    }

    #[doc(hidden)]
    pub use crate::compliance::ChecksAdapter;
    #[doc(hidden)]
    pub use compliance_checks_bindings::__backoffice_export_checks;

    /// Adapts a [`Plugin`] to the generated `handler` trait.
    pub struct Adapter<P>(PhantomData<P>);

    fn parse(what: &str, json: &str) -> Result<serde_json::Value, WitError> {
        serde_json::from_str(json)
            .map_err(|e| WitError::InvalidInput(format!("{what} is not JSON: {e}")))
    }

    /// Route panic messages to the host log (level error) instead of stderr, so the
    /// host attributes them to the plugin and the call. Panics still trap.
    fn install_panic_hook() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| crate::log::error(format!("panic: {info}"))));
        });
    }

    impl<P: Plugin> Guest for Adapter<P> {
        fn invoke(operation: String, input: Json) -> Result<Json, WitError> {
            install_panic_hook();
            Ok(P::operations().invoke(&operation, &input)?)
        }

        fn on_event(topic: String, payload: Json) -> Result<(), WitError> {
            install_panic_hook();
            Ok(P::on_event(&topic, parse("the event payload", &payload)?)?)
        }

        fn run_job(job: String, payload: Json) -> Result<(), WitError> {
            install_panic_hook();
            Ok(P::run_job(&job, parse("the job payload", &payload)?)?)
        }

        fn migrate(from: Option<String>) -> Result<(), WitError> {
            install_panic_hook();
            Ok(P::migrate(from.as_deref())?)
        }
    }
}
