//! Reading a plugin package (one `.wasm` component) without running it: its manifest,
//! its imports and exports, and whether it fits this host.

use sha2::{Digest, Sha256};
use wasmparser::{Parser, Payload};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::bindings::HOST_API_VERSION;
use crate::capabilities::ALLOWED_WASI;
use crate::manifest::{self, Manifest, ManifestError};

/// Interfaces of `backoffice:host` a plugin may import.
const HOST_INTERFACES: &[&str] = &[
    "types",
    "storage",
    "context",
    "events",
    "scheduler",
    "plugins",
    "log",
];

/// The interface every plugin exports.
pub const HANDLER: &str = "backoffice:host/handler";

/// Why a package was refused. Each message says what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Not WebAssembly at all.
    #[error(
        "the file is not a WebAssembly binary (it does not start with the '\\0asm' header); pass the .wasm file your plugin build produced"
    )]
    NotWasm,
    /// A core module, not a component.
    #[error(
        "the file is a core WebAssembly module, not a component; build the plugin with `cargo build --target wasm32-wasip2` (the SDK's default) so it becomes a component"
    )]
    CoreModule,
    /// The bytes do not parse.
    #[error("the component is malformed: {0}")]
    Malformed(String),
    /// No manifest section.
    #[error(
        "the component has no '{}' custom section; build it with the backoffice SDK and its `export_plugin!` macro, which embeds plugin.toml",
        manifest::SECTION
    )]
    NoManifest,
    /// More than one manifest section.
    #[error("the component has {0} '{section}' custom sections; a package must embed exactly one manifest", section = manifest::SECTION)]
    ManyManifests(usize),
    /// The manifest is not valid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The component needs a host API this host does not provide.
    #[error(
        "the plugin needs host API {required}, but this host provides {HOST_API_VERSION}; use a plugin version built for host API {HOST_API_VERSION}"
    )]
    HostApi { required: semver::VersionReq },
    /// The component does not export our handler.
    #[error(
        "the component does not target the backoffice:host/plugin world: it does not export {HANDLER}@0.1.x (it exports: {exports}); build it against the WIT in this host's wit/ folder"
    )]
    WrongWorld { exports: String },
    /// The component was built against a newer host API than this host provides.
    #[error(
        "the plugin was built against host API {required} (it imports '{import}'), but this host provides {HOST_API_VERSION}; upgrade the host to one that provides backoffice:host {required}, or use a plugin version built for {HOST_API_VERSION}"
    )]
    NeedsNewerHost {
        /// The host API version the import names.
        required: semver::Version,
        /// The import.
        import: String,
    },
    /// The component imports something we do not offer.
    #[error(
        "the component imports '{0}', which this host does not offer: plugins get no filesystem, network or other ambient access; use the backoffice:host interfaces (storage, context, events, scheduler, plugins, log) instead"
    )]
    ForbiddenImport(String),
    /// The manifest's `[limits]` ask for more than the admin's policy allows.
    #[error("{0}")]
    OverPolicy(String),
    /// Linking failed for another reason (a type mismatch, for example).
    #[error("the component does not link against this host: {0}")]
    Link(String),
}

/// SHA-256 of a package, lowercase hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Read and validate the embedded manifest, checking the file is a component first.
pub fn read_manifest(bytes: &[u8]) -> Result<Manifest, PackageError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(PackageError::NotWasm);
    }
    if Parser::is_core_wasm(bytes) {
        return Err(PackageError::CoreModule);
    }
    if !Parser::is_component(bytes) {
        return Err(PackageError::Malformed(
            "unknown WebAssembly encoding version".into(),
        ));
    }
    let mut found = Vec::new();
    // `parse_all` walks nested modules and components too: the SDK's section ends up
    // inside the core module that the component wraps.
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| PackageError::Malformed(e.to_string()))?;
        if let Payload::CustomSection(section) = payload
            && section.name() == manifest::SECTION
        {
            found.push(section.data().to_vec());
        }
    }
    let text = match found.as_slice() {
        [] => return Err(PackageError::NoManifest),
        [one] => String::from_utf8(one.clone())
            .map_err(|_| ManifestError::Syntax("the manifest section is not UTF-8 text".into()))?,
        many => return Err(PackageError::ManyManifests(many.len())),
    };
    let manifest = Manifest::parse(&text)?;
    if !manifest.host_api.matches(&HOST_API_VERSION) {
        return Err(PackageError::HostApi {
            required: manifest.host_api.clone(),
        });
    }
    Ok(manifest)
}

/// Split `ns:pkg/iface@1.2.3` into its unversioned name and version.
fn split_version(name: &str) -> (&str, Option<semver::Version>) {
    match name.split_once('@') {
        Some((base, v)) => (base, semver::Version::parse(v).ok()),
        None => (name, None),
    }
}

/// Whether an import of `name` is one this host satisfies.
fn import_allowed(name: &str) -> bool {
    let (base, version) = split_version(name);
    if let Some(iface) = base.strip_prefix("backoffice:host/") {
        let compatible = version.is_some_and(|v| {
            v.major == HOST_API_VERSION.major
                && v.minor == HOST_API_VERSION.minor
                && v <= HOST_API_VERSION
        });
        return HOST_INTERFACES.contains(&iface) && compatible;
    }
    if crate::extensions::import_allowed(base, version.as_ref()) {
        return true;
    }
    ALLOWED_WASI.contains(&base) && version.is_some_and(|v| v.major == 0 && v.minor == 2)
}

/// Imports and exports of a compiled component, checked against what we offer.
pub fn check_interfaces(
    engine: &Engine,
    component: &Component,
) -> Result<(Vec<String>, Vec<String>), PackageError> {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    if !exports.iter().any(|e| split_version(e).0 == HANDLER) {
        return Err(PackageError::WrongWorld {
            exports: if exports.is_empty() {
                "nothing".into()
            } else {
                exports.join(", ")
            },
        });
    }
    if let Some(bad) = imports.iter().find(|i| !import_allowed(i)) {
        if let (base, Some(required)) = split_version(bad)
            && base.starts_with("backoffice:host/")
            && required > HOST_API_VERSION
        {
            return Err(PackageError::NeedsNewerHost {
                required,
                import: bad.clone(),
            });
        }
        return Err(PackageError::ForbiddenImport(bad.clone()));
    }
    Ok((imports, exports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_wasm_and_core_modules() {
        assert!(matches!(
            read_manifest(b"hello world"),
            Err(PackageError::NotWasm)
        ));
        let core = wat::parse_str("(module)").unwrap();
        assert!(matches!(
            read_manifest(&core),
            Err(PackageError::CoreModule)
        ));
        let empty = wat::parse_str("(component)").unwrap();
        assert!(matches!(
            read_manifest(&empty),
            Err(PackageError::NoManifest)
        ));
    }

    #[test]
    fn a_plugin_for_a_newer_host_names_the_version_it_needs() {
        let engine = Engine::default();
        let wat = |import: &str| {
            format!(
                r#"(component
                    (import "{import}" (instance))
                    (instance $h)
                    (export "backoffice:host/handler@0.1.0" (instance $h)))"#
            )
        };
        let newer = Component::new(&engine, wat("backoffice:host/log@0.2.0")).unwrap();
        let err = check_interfaces(&engine, &newer).unwrap_err().to_string();
        assert!(
            err.contains("built against host API 0.2.0") && err.contains("provides 0.1.0"),
            "{err}"
        );
        let same = Component::new(&engine, wat("backoffice:host/log@0.1.0")).unwrap();
        assert!(check_interfaces(&engine, &same).is_ok());
        let foreign = Component::new(&engine, wat("wasi:http/outgoing-handler@0.2.0")).unwrap();
        assert!(matches!(
            check_interfaces(&engine, &foreign),
            Err(PackageError::ForbiddenImport(_))
        ));
    }

    #[test]
    fn import_rules() {
        assert!(import_allowed("backoffice:host/storage@0.1.0"));
        assert!(!import_allowed("backoffice:host/storage@0.2.0"));
        assert!(!import_allowed("backoffice:host/storage@0.1.9"));
        assert!(!import_allowed("backoffice:host/secrets@0.1.0"));
        assert!(import_allowed("wasi:cli/environment@0.2.3"));
        // Linked empty, for toolchains that import them whether used or not.
        assert!(import_allowed("wasi:filesystem/types@0.2.0"));
        assert!(import_allowed("wasi:sockets/tcp@0.2.0"));
        assert!(!import_allowed("wasi:filesystem/types@0.3.0"));
        assert!(!import_allowed("wasi:http/outgoing-handler@0.2.0"));
        assert!(!import_allowed("wasi:keyvalue/store@0.2.0"));
        assert!(!import_allowed("wasi:cli/run@0.2.0"));
    }
}
