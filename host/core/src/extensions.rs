//! Typed extension points: WIT interfaces besides `backoffice:host` that plugins
//! export for other plugins to use, routed by the host.
//!
//! A provider declares in `plugin.toml` what it exports and for which keys:
//!
//! ```toml
//! [[provides]]
//! interface = "backoffice:payroll/rules@0.1.0"
//! keys = ["US"]
//! ```
//!
//! Install checks that the component really exports the interface with the right
//! types; enabling refuses a second enabled provider of the same key for a tenant.
//! A consumer imports the interface's host side (`backoffice:payroll/engine`, at 0.1.0
//! or 0.2.0, which also names the provider of each payslip), which
//! needs the `plugins` capability; the host finds the tenant's enabled provider of
//! the key and calls it in the consumer's transaction (see `capabilities/payroll.rs`).

use crate::manifest::Manifest;

/// One extension interface this host routes.
#[derive(Debug, Clone, Copy)]
pub struct Extension {
    /// The exported interface, with its version: `backoffice:payroll/rules@0.1.0`.
    pub interface: &'static str,
    /// What a key names, for messages: "country".
    pub key_name: &'static str,
    /// Whether `key` is well formed; `Err` says what is expected.
    pub check_key: fn(&str) -> Result<(), String>,
    /// Bundled plugins providing it, for "install and enable ..." hints.
    pub bundled: &'static [(&'static str, &'static str)],
}

fn country_code(key: &str) -> Result<(), String> {
    if key.len() == 2 && key.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!(
            "'{key}' is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. US, GB, DE)"
        ))
    }
}

/// Payroll country rules.
pub const PAYROLL_RULES: Extension = Extension {
    interface: "backoffice:payroll/rules@0.1.0",
    key_name: "country",
    check_key: country_code,
    bundled: &[
        ("US", "payroll-us"),
        ("GB", "payroll-gb"),
        ("DE", "payroll-de"),
    ],
};

fn check_name(key: &str) -> Result<(), String> {
    crate::manifest::check_ident("check name", key, 64)
}

/// Compliance checks contributed by any plugin.
pub const COMPLIANCE_CHECKS: Extension = Extension {
    interface: "backoffice:compliance/checks@0.1.0",
    key_name: "check",
    check_key: check_name,
    bundled: &[],
};

/// Every extension interface this host knows.
pub const KNOWN: &[Extension] = &[PAYROLL_RULES, COMPLIANCE_CHECKS];

/// Interfaces of extension packages a plugin may import (consumer sides and shared
/// types), without version, with the `0.minor` versions this host serves. Each
/// published package stays served when a newer one is added: `engine@0.1.0` keeps
/// working next to `engine@0.2.0`, which reuses the 0.1.0 `types`.
pub const IMPORTABLE: &[(&str, &[u64])] = &[
    ("backoffice:payroll/types", &[1]),
    ("backoffice:payroll/engine", &[1, 2]),
    ("backoffice:compliance/types", &[1]),
    ("backoffice:compliance/registry", &[1]),
    // Not an extension point: the host itself serves it (`capabilities/notify.rs`);
    // listed here because it is imported like the consumer sides above.
    ("backoffice:notify/notify", &[1]),
    // The same for outbound HTTP (`capabilities/http.rs`).
    ("backoffice:http/outbound", &[1]),
];

/// The extension of `interface`, if this host knows it.
pub fn find(interface: &str) -> Option<&'static Extension> {
    KNOWN.iter().find(|e| e.interface == interface)
}

/// Whether an import of `base` (no version) at `version` is an extension import this
/// host satisfies: the major.minor of a package here (a patch release of it links to
/// the same definitions).
pub fn import_allowed(base: &str, version: Option<&semver::Version>) -> bool {
    IMPORTABLE.iter().any(|(name, minors)| {
        *name == base && version.is_some_and(|v| v.major == 0 && minors.contains(&v.minor))
    })
}

/// Check a manifest's `provides` against the component's exports.
pub fn check_exports(manifest: &Manifest, exports: &[String]) -> Result<(), String> {
    for p in &manifest.provides {
        if !exports.iter().any(|e| e == &p.interface) {
            return Err(format!(
                "plugin.toml declares that the plugin provides {} but the component does not \
                 export it (it exports {}); export it (backoffice_sdk::export_payroll_rules! \
                 or export_compliance_checks!) or remove the [[provides]] entry",
                p.interface,
                exports.join(", ")
            ));
        }
    }
    Ok(())
}

/// Why a plugin is not there to serve `key` of `ext`, with what to do.
pub fn missing_provider(ext: &Extension, key: &str, tenant: &str) -> String {
    let hint = ext
        .bundled
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, plugin)| {
            format!(
                "install and enable the bundled plugin '{plugin}' (`backoffice plugin enable {plugin} --tenant {tenant}`)"
            )
        })
        .unwrap_or_else(|| {
            format!(
                "install and enable a plugin that provides {} for {key}",
                ext.interface
            )
        });
    format!(
        "no plugin enabled for tenant '{tenant}' provides {} for {} {key}; {hint}",
        ext.interface, ext.key_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_payroll_engines_are_importable_over_the_0_1_types() {
        for (name, allowed) in [
            ("backoffice:payroll/engine@0.1.0", true),
            ("backoffice:payroll/engine@0.2.0", true),
            ("backoffice:payroll/types@0.1.0", true),
            // 0.2.0 publishes no types of its own, and nothing newer exists.
            ("backoffice:payroll/types@0.2.0", false),
            ("backoffice:payroll/engine@0.3.0", false),
            ("backoffice:payroll/engine@1.0.0", false),
            ("backoffice:payroll/engine", false),
            ("backoffice:compliance/registry@0.2.0", false),
            ("backoffice:compliance/registry@0.1.0", true),
            // The provider side is exported, never imported.
            ("backoffice:payroll/rules@0.1.0", false),
        ] {
            let (base, version) = name.split_once('@').unwrap_or((name, ""));
            let version = semver::Version::parse(version).ok();
            assert_eq!(import_allowed(base, version.as_ref()), allowed, "{name}");
        }
    }
}
