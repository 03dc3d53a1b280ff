//! Host bindings of the `backoffice:host` WIT package, generated once from
//! `wit/host@0.1.0/`, and of the extension packages next to it.
//!
//! Every import is trappable: a host function returns `wasmtime::Result<..>` whose
//! `Err` traps the guest (host bug or limit), while the WIT `result<_, error>` inside
//! carries expected failures back to the plugin.

wasmtime::component::bindgen!({
    path: "../../wit/host@0.1.0",
    world: "backoffice:host/plugin",
    imports: { default: trappable },
});

pub use backoffice::host::types::{Error as WitError, Instant};
pub use exports::backoffice::host::handler;

/// The version of the host API this build implements.
pub const HOST_API_VERSION: semver::Version = semver::Version::new(0, 1, 0);

/// `bindgen!` for a world of an extension package beside `wit/host@0.1.0/`: its
/// uses of `backoffice:host/types` are the host's own types, and any further
/// `"package/interface" => path` pairs map other shared types. A `consumer` world
/// holds imports the host implements, all trappable; a `provider` world holds the
/// exports the host calls.
macro_rules! extension_bindings {
    (consumer $path:tt, $world:tt $(, $iface:tt => $($seg:ident)::+)*) => {
        wasmtime::component::bindgen!({
            path: $path,
            world: $world,
            imports: { default: trappable },
            with: {
                "backoffice:host/types": crate::bindings::backoffice::host::types,
                $($iface: $($seg)::+,)*
            },
        });
    };
    (provider $path:tt, $world:tt $(, $iface:tt => $($seg:ident)::+)*) => {
        wasmtime::component::bindgen!({
            path: $path,
            world: $world,
            with: {
                "backoffice:host/types": crate::bindings::backoffice::host::types,
                $($iface: $($seg)::+,)*
            },
        });
    };
}

/// Host bindings of the `backoffice:payroll` extension packages (`wit/payroll@0.1.0/`
/// and `wit/payroll@0.2.0/`); the host links both consumer sides.
pub mod payroll {
    /// The provider side: calling a country rules plugin's `rules` export.
    pub mod provider {
        extension_bindings!(
            provider "../../wit/payroll@0.1.0",
            "backoffice:payroll/rules-provider"
        );
    }

    /// The consumer side: the `engine` import the host implements.
    pub mod consumer {
        extension_bindings!(
            consumer "../../wit/payroll@0.1.0",
            "backoffice:payroll/rules-consumer",
            "backoffice:payroll/types" => crate::bindings::payroll::provider::backoffice::payroll::types
        );
    }

    /// The consumer side of `wit/payroll@0.2.0/`: the same `engine` whose
    /// `calculate` also names the rules plugin that answered. The package uses the
    /// 0.1.0 `types`, mapped here onto the Rust types above, so both engines share
    /// every record and conversion; only `provider` and `calculation` are new.
    pub mod consumer_v0_2 {
        extension_bindings!(
            consumer "../../wit/payroll@0.2.0",
            "backoffice:payroll/rules-consumer@0.2.0",
            "backoffice:payroll/types" => crate::bindings::payroll::provider::backoffice::payroll::types
        );
    }

    pub use provider::backoffice::payroll::types;
}

/// Host bindings of the `backoffice:compliance` extension package (`wit/compliance@0.1.0/`).
pub mod compliance {
    /// The provider side: calling a plugin's `checks` export.
    pub mod provider {
        extension_bindings!(
            provider "../../wit/compliance@0.1.0",
            "backoffice:compliance/checks-provider"
        );
    }

    /// The consumer side: the `registry` import the host implements.
    pub mod consumer {
        extension_bindings!(
            consumer "../../wit/compliance@0.1.0",
            "backoffice:compliance/checks-consumer",
            "backoffice:compliance/types" => crate::bindings::compliance::provider::backoffice::compliance::types
        );
    }

    pub use provider::backoffice::compliance::types;
}

/// Host bindings of the `backoffice:notify` package (`wit/notify@0.1.0/`): the
/// `notify` import the host implements (`capabilities/notify.rs`).
pub mod notify {
    extension_bindings!(consumer "../../wit/notify@0.1.0", "backoffice:notify/notify-consumer");
}

/// Host bindings of the `backoffice:http` package (`wit/http@0.1.0/`): the
/// `outbound` import the host implements (`capabilities/http.rs`).
pub mod http {
    extension_bindings!(consumer "../../wit/http@0.1.0", "backoffice:http/http-consumer");
}
