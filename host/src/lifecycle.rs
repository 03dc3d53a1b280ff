//! Plugin lifecycle beyond install: inspecting a package file, upgrading to a newer
//! version with per-tenant migrations, and rolling back to the previous version.
//!
//! An upgrade is one write transaction: the new version is recorded and made
//! current, then its `migrate(from)` runs for every tenant that has the plugin
//! enabled, one tenant after the other, each scoped to that tenant's data. If any
//! migration fails the transaction is dropped, so every tenant keeps the old version
//! *and* its old data; nothing is half-upgraded. Calls that started before the
//! upgrade finish on the old version (they hold the old code, and read-only calls
//! read the snapshot they started on); writers that arrive during the upgrade queue
//! behind it and then run on the new version. No call fails because of the switch.

use serde::Serialize;

use crate::Host;
use crate::bindings::HOST_API_VERSION;
use crate::error::{HostError, HostResult};
use crate::host::now_rfc3339;
use crate::manifest::Manifest;
use crate::package::{self, PackageError};
use crate::registry::{PluginInfo, manifest_of, signature_json, version_matches};
use crate::store::{Enablement, PackageRecord};
use crate::trust::SignatureStatus;

/// A package read, compiled and checked against this host, not yet judged against
/// what is installed.
pub(crate) struct Checked {
    pub(crate) manifest: Manifest,
    pub(crate) digest: String,
    pub(crate) imports: Vec<String>,
    pub(crate) exports: Vec<String>,
    pub(crate) signature: SignatureStatus,
    pub(crate) bytes: Vec<u8>,
    pub(crate) code: Vec<u8>,
}

/// What `backoffice plugin inspect` shows about a package file.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    /// The embedded manifest.
    pub manifest: Manifest,
    /// SHA-256 of the component.
    pub digest: String,
    /// Interfaces the component imports.
    pub imports: Vec<String>,
    /// Interfaces the component exports.
    pub exports: Vec<String>,
    /// The host API range the plugin declares.
    pub host_api_required: String,
    /// The host API this host provides.
    pub host_api_provided: String,
    /// Signature status against the keys trusted now.
    pub signature: SignatureStatus,
    /// The installed version of this plugin, if any.
    pub installed_version: Option<String>,
}

/// A validated upgrade, ready to apply.
#[derive(Debug)]
pub struct UpgradePlan {
    /// The new manifest.
    pub manifest: Manifest,
    /// The version installed now.
    pub from_version: String,
    /// SHA-256 of the new component.
    pub digest: String,
    /// Capabilities granted now that the new version no longer requests.
    pub dropped_capabilities: Vec<String>,
    /// The vendor of the installed version.
    pub from_vendor: String,
    /// What the new version asks for that the installed one did not have.
    pub added: Additions,
    /// Whether this is a breaking (major) version change under semver.
    pub major: bool,
    /// Tenants whose data `migrate` will bring up to the new version.
    pub tenants: Vec<String>,
    /// What the signature check found.
    pub signature: SignatureStatus,
    /// Accept an unsigned or untrusted package (never an invalid signature).
    pub allow_unsigned: bool,
    /// Accept a breaking version change.
    pub allow_major: bool,
    /// Accept a new version published by another vendor than the installed one.
    /// False unless the admin asked explicitly: the new vendor's code would take over
    /// every tenant's data of this plugin.
    pub allow_vendor_change: bool,
    bytes: Vec<u8>,
    code: Vec<u8>,
}

impl UpgradePlan {
    /// Whether the new version comes from another vendor than the installed one.
    pub fn vendor_changed(&self) -> bool {
        self.from_vendor != self.manifest.vendor
    }

    /// Whether the new version asks for anything the installed one did not have.
    pub fn requests_more(&self) -> bool {
        self.added.lists().iter().any(|(_, list)| !list.is_empty())
    }

    /// The refusal of a vendor change the admin did not allow, if this is one.
    pub fn vendor_refusal(&self) -> Option<HostError> {
        (self.vendor_changed() && !self.allow_vendor_change).then(|| {
            vendor_change_refusal(
                &self.manifest.id,
                &format!("installed version {} is", self.from_version),
                &self.from_vendor,
                &self.manifest.vendor,
                "upgrade",
            )
        })
    }
}

/// The error for a package of `id` by `to` replacing what `from` published.
pub(crate) fn vendor_change_refusal(
    id: &str,
    what: &str,
    from: &str,
    to: &str,
    verb: &str,
) -> HostError {
    HostError::Conflict(format!(
        "refusing to {verb} '{id}': the {what} by vendor '{from}', this package is by vendor '{to}'; \
         a plugin id belongs to its vendor, and '{to}' would take over every tenant's data of '{id}'. \
         If '{to}' really took over '{id}' from '{from}', re-run with --allow-vendor-change \
         (the change is recorded in the audit log); otherwise ask '{to}' to publish under its own id"
    ))
}

/// Entries of `new` missing from `old`.
fn added<T: PartialEq + Clone>(new: &[T], old: &[T]) -> Vec<T> {
    new.iter().filter(|x| !old.contains(x)).cloned().collect()
}

/// What a new version asks for that the installed one did not have, by kind.
#[derive(Debug, Default)]
pub struct Additions {
    /// Capabilities it requests that are not granted now.
    pub capabilities: Vec<String>,
    /// Entries of `allowed-outbound-hosts` the installed version did not list.
    pub outbound_hosts: Vec<String>,
    /// Dependencies (`id range`, optional ones marked).
    pub dependencies: Vec<String>,
    /// Event topics it subscribes to.
    pub subscriptions: Vec<String>,
    /// Jobs (`name` or `name (cron ...)`) it adds or reschedules.
    pub jobs: Vec<String>,
    /// Event topics it may emit.
    pub emits: Vec<String>,
    /// Permissions its background work (jobs, event handlers) holds.
    pub background_permissions: Vec<String>,
    /// Extension interfaces it calls.
    pub uses: Vec<String>,
}

impl Additions {
    /// What `new` asks for beyond `old`, whose version holds the capabilities `granted`.
    fn between(new: &Manifest, old: &Manifest, granted: &[String]) -> Additions {
        let mut dependencies: Vec<String> = new
            .dependencies
            .iter()
            .filter(|(k, v)| old.dependencies.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        dependencies.extend(
            new.optional_dependencies
                .iter()
                .filter(|(k, v)| old.optional_dependencies.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k} {v} (optional)")),
        );
        let jobs = new
            .jobs
            .iter()
            .filter(|j| !old.jobs.contains(j))
            .map(|j| match &j.cron {
                Some(cron) => format!("{} (cron {cron})", j.name),
                None => j.name.clone(),
            })
            .collect();
        Additions {
            capabilities: added(&new.capabilities, granted),
            outbound_hosts: added(&new.allowed_outbound_hosts, &old.allowed_outbound_hosts),
            dependencies,
            subscriptions: added(&new.subscriptions, &old.subscriptions),
            jobs,
            emits: added(&new.emits, &old.emits),
            background_permissions: added(&new.background.permissions, &old.background.permissions),
            uses: added(&new.uses, &old.uses),
        }
    }

    /// Each kind by its name in the audit record (`added_<kind>`).
    fn lists(&self) -> [(&'static str, &Vec<String>); 8] {
        [
            ("added_capabilities", &self.capabilities),
            ("added_outbound_hosts", &self.outbound_hosts),
            ("added_dependencies", &self.dependencies),
            ("added_subscriptions", &self.subscriptions),
            ("added_jobs", &self.jobs),
            ("added_emits", &self.emits),
            ("added_background_permissions", &self.background_permissions),
            ("added_uses", &self.uses),
        ]
    }
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct Rollback {
    /// Plugin id.
    pub id: String,
    /// The version that was current and is now forgotten.
    pub from_version: String,
    /// The version current now.
    pub to_version: String,
}

/// Whether `to` is a breaking change from `from`: a caret range on `from` rejects it
/// (1.x -> 2.0, and for 0.x versions 0.1 -> 0.2, as Cargo reads semver).
fn is_breaking(from: &semver::Version, to: &semver::Version) -> bool {
    let caret = semver::VersionReq::parse(&format!("^{from}"));
    caret.is_ok_and(|req| !req.matches(to))
}

fn parse_version(text: &str, id: &str) -> HostResult<semver::Version> {
    semver::Version::parse(text).map_err(|e| {
        HostError::Internal(format!(
            "installed version '{text}' of {id} is unreadable: {e}"
        ))
    })
}

impl Host {
    /// The tenants that have (or had) `plugin` enabled: those whose data and jobs an
    /// upgrade or rollback of it may write.
    fn plugin_tenants(&self, plugin: &str) -> HostResult<Vec<String>> {
        let mut tx = self.storage.begin_read()?;
        Ok(tx
            .enablement_for_plugin(plugin)?
            .into_iter()
            .map(|e| e.tenant)
            .collect())
    }

    /// Read, compile and check a package against this host and the trusted keys.
    ///
    /// With `allow_unsigned` given (install and upgrade), the signature is judged
    /// *before* compiling: compilation runs Cranelift over the vendor's bytes and is
    /// the expensive part, so a package that is refused anyway (a signature that does
    /// not match, a key of another vendor, and unless `allow_unsigned` an unsigned
    /// package or an untrusted key) never reaches it. `None` (`plugin inspect`) only
    /// reports the signature.
    pub(crate) fn check_package(
        &self,
        bytes: Vec<u8>,
        signature: Option<&str>,
        allow_unsigned: Option<bool>,
    ) -> HostResult<Checked> {
        let manifest = package::read_manifest(&bytes)?;
        self.runtime
            .limits()
            .check_policy(&manifest.id, &manifest.limits)
            .map_err(|e| PackageError::OverPolicy(e.to_string()))?;
        let signature = self.signature_status(&bytes, signature, &manifest.vendor)?;
        if let Some(allow) = allow_unsigned
            && let Some(err) = signature.refusal(&manifest.id, allow)
        {
            return Err(err);
        }
        let (component, code) = self
            .runtime
            .compile(&bytes)
            .map_err(|e| PackageError::Malformed(format!("{e:#}")))?;
        let (imports, exports) = package::check_interfaces(self.runtime.engine(), &component)?;
        crate::extensions::check_exports(&manifest, &exports).map_err(PackageError::Link)?;
        self.runtime
            .prepare(&component, crate::runtime::CacheOutcome::Compiled)
            .map_err(|e| PackageError::Link(format!("{e:#}")))?;
        Ok(Checked {
            digest: package::digest(&bytes),
            manifest,
            imports,
            exports,
            signature,
            bytes,
            code,
        })
    }

    /// Describe a package file without installing it.
    pub fn inspect_package(
        &self,
        bytes: Vec<u8>,
        signature: Option<&str>,
    ) -> HostResult<PackageReport> {
        let checked = self.check_package(bytes, signature, None)?;
        let installed_version = self
            .storage
            .begin_read()?
            .package_current(&checked.manifest.id)?
            .map(|r| r.version);
        Ok(PackageReport {
            host_api_required: checked.manifest.host_api.to_string(),
            host_api_provided: HOST_API_VERSION.to_string(),
            manifest: checked.manifest,
            digest: checked.digest,
            imports: checked.imports,
            exports: checked.exports,
            signature: checked.signature,
            installed_version,
        })
    }

    /// Validate an upgrade of an installed plugin to the package `bytes`: a higher
    /// version, its dependencies satisfied, and every plugin that depends on it still
    /// satisfied. A tampered signature is refused here, before compiling; whether an
    /// unsigned package may be applied is decided by [`UpgradePlan::allow_unsigned`]
    /// (see [`Host::upgrade_plan_checked`] to refuse it before compiling too).
    pub fn upgrade_plan(&self, bytes: Vec<u8>, signature: Option<&str>) -> HostResult<UpgradePlan> {
        let mut plan = self.upgrade_plan_checked(bytes, signature, true)?;
        plan.allow_unsigned = false;
        Ok(plan)
    }

    /// [`Host::upgrade_plan`] for an admin who did (`allow_unsigned`) or did not accept
    /// unsigned packages: a package refused for its signature is refused before it is
    /// compiled. The plan carries `allow_unsigned`.
    pub fn upgrade_plan_checked(
        &self,
        bytes: Vec<u8>,
        signature: Option<&str>,
        allow_unsigned: bool,
    ) -> HostResult<UpgradePlan> {
        let checked = self.check_package(bytes, signature, Some(allow_unsigned))?;
        let m = &checked.manifest;
        let mut tx = self.storage.begin_read()?;
        let current = tx.package_current(&m.id)?.ok_or_else(|| {
            HostError::NotFound(format!(
                "plugin '{}' is not installed, so there is nothing to upgrade; install it with `backoffice plugin install`",
                m.id
            ))
        })?;
        let from = parse_version(&current.version, &m.id)?;
        if m.version == from {
            return Err(HostError::Conflict(format!(
                "plugin '{}' version {} is already installed; an upgrade needs a higher version",
                m.id, m.version
            )));
        }
        if m.version < from {
            return Err(HostError::Conflict(format!(
                "refusing to downgrade plugin '{}' from {from} to {}; to return to the previous version use `backoffice plugin rollback {}`",
                m.id, m.version, m.id
            )));
        }
        crate::registry::check_dependencies(tx.as_mut(), m)?;
        for other in tx.package_list()? {
            if other.id == m.id {
                continue;
            }
            if let Some(req) = manifest_of(&other)?.dependencies.get(&m.id)
                && !req.matches(&m.version)
            {
                return Err(HostError::Conflict(format!(
                    "refusing to upgrade '{}' to {}: plugin '{}' {} depends on '{}' {req}; upgrade '{}' first",
                    m.id, m.version, other.id, other.version, m.id, other.id
                )));
            }
        }
        let granted = tx.grants_get(&m.id)?;
        let installed = manifest_of(&current)?;
        let tenants = tx
            .enablement_for_plugin(&m.id)?
            .into_iter()
            .filter(|e| e.enabled)
            .map(|e| e.tenant)
            .collect();
        Ok(UpgradePlan {
            added: Additions::between(m, &installed, &granted),
            dropped_capabilities: added(&granted, &m.capabilities),
            major: is_breaking(&from, &m.version),
            from_vendor: installed.vendor,
            from_version: current.version,
            tenants,
            digest: checked.digest,
            signature: checked.signature,
            allow_unsigned,
            allow_major: false,
            allow_vendor_change: false,
            manifest: checked.manifest,
            bytes: checked.bytes,
            code: checked.code,
        })
    }

    /// Apply an upgrade: the new version becomes current and its migration runs for
    /// every tenant that has the plugin enabled, all in one transaction. If one
    /// tenant's migration fails, nothing changes anywhere and the error names the
    /// tenant. The grants become what the new version requests (the caller showed the
    /// added capabilities and had them approved).
    pub fn upgrade(&self, plan: UpgradePlan) -> HostResult<PluginInfo> {
        let id = plan.manifest.id.clone();
        let to = plan.manifest.version.to_string();
        if let Some(err) = plan.signature.refusal(&id, plan.allow_unsigned) {
            return Err(err);
        }
        if plan.major && !plan.allow_major {
            return Err(HostError::Conflict(format!(
                "upgrading '{id}' from {} to {to} is a major (breaking) version change; read the vendor's release notes and pass --allow-major to go ahead",
                plan.from_version
            )));
        }
        if let Some(err) = plan.vendor_refusal() {
            return Err(err);
        }
        let vendor_changed = plan.vendor_changed();
        let manifest_json = serde_json::to_string(&plan.manifest)
            .map_err(|e| HostError::Internal(format!("cannot encode manifest: {e}")))?;
        let record = PackageRecord {
            id: id.clone(),
            version: to.clone(),
            manifest_json,
            digest: plan.digest.clone(),
            component: plan.bytes,
            installed_at: now_rfc3339(),
        };
        // The tenants whose data the migrations write are locked first; one enabled
        // meanwhile is caught by the transaction's snapshot (and run again).
        let tenants = self.plugin_tenants(&id)?;
        let tenants: Vec<&str> = tenants.iter().map(String::as_str).collect();
        let mut tx = self.storage.begin_for(&tenants)?;
        // Checked again under the write lock: another admin may have raced us.
        let current = Host::require_package(tx.as_mut(), &id)?;
        if current.version != plan.from_version || manifest_of(&current)?.vendor != plan.from_vendor
        {
            return Err(HostError::Conflict(format!(
                "plugin '{id}' changed to version {} while this upgrade was prepared; run it again",
                current.version
            )));
        }
        tx.package_insert(&record)?;
        tx.package_signature_set(&id, &to, &signature_json(&plan.signature)?)?;
        tx.grants_set(&id, &plan.manifest.capabilities)?;
        tx.code_digest_set(
            &plan.digest,
            self.runtime.cache().engine_key(),
            &crate::runtime::code_digest(&plan.code),
        )?;
        let enabled: Vec<Enablement> = tx
            .enablement_for_plugin(&id)?
            .into_iter()
            .filter(|e| e.enabled)
            .collect();
        let mut migrated = Vec::new();
        for mut e in enabled {
            let tenant = Host::require_tenant(tx.as_mut(), &e.tenant)?;
            tx = self
                .migrate_in(tx, &tenant, &record, Some(e.data_version.clone()))
                .map_err(|err| {
                    HostError::Conflict(format!(
                        "upgrade of '{id}' from {} to {to} failed and was undone: the migration failed for tenant '{}': {err}; every tenant keeps version {} and its data",
                        plan.from_version, e.tenant, plan.from_version
                    ))
                })?;
            self.arm_schedules(
                tx.as_mut(),
                &e.tenant,
                &tenant.time_zone,
                &id,
                &plan.manifest,
            )?;
            e.data_version = to.clone();
            e.changed_at = now_rfc3339();
            tx.enablement_put(&e)?;
            migrated.push(e.tenant);
        }
        self.audit_admin(
            tx.as_mut(),
            None,
            "plugin.upgrade",
            format!("plugin:{id}@{to}"),
            {
                let mut detail = serde_json::json!({
                    "from": plan.from_version,
                    "digest": plan.digest,
                    "vendor": plan.manifest.vendor,
                    "migrated_tenants": migrated,
                    "signature": plan.signature,
                });
                for (name, list) in plan.added.lists() {
                    detail[name] = serde_json::json!(list);
                }
                detail
            },
        )?;
        if vendor_changed {
            self.audit_admin(
                tx.as_mut(),
                None,
                "plugin.vendor-change",
                format!("plugin:{id}@{to}"),
                serde_json::json!({
                    "from_vendor": plan.from_vendor,
                    "to_vendor": plan.manifest.vendor,
                    "from_version": plan.from_version,
                    "by": "upgrade",
                    "signature": plan.signature,
                }),
            )?;
        }
        tx.commit()?;
        self.runtime.cache().store(&plan.digest, &plan.code);
        self.plugin_info(&id)
    }

    /// Return a plugin to its previously installed version and forget the current
    /// one. Refused when there is no earlier version, or when tenants hold data that
    /// the current version migrated and its manifest does not declare
    /// `reversible-migrations = true`.
    pub fn rollback(&self, id: &str) -> HostResult<Rollback> {
        let tenants = self.plugin_tenants(id)?;
        let tenants: Vec<&str> = tenants.iter().map(String::as_str).collect();
        let mut tx = self.storage.begin_for(&tenants)?;
        let current = Host::require_package(tx.as_mut(), id)?;
        let current_version = parse_version(&current.version, id)?;
        let mut earlier: Vec<(semver::Version, PackageRecord)> = tx
            .package_versions(id)?
            .into_iter()
            .filter_map(|r| Some((semver::Version::parse(&r.version).ok()?, r)))
            .filter(|(v, _)| *v < current_version)
            .collect();
        earlier.sort_by(|a, b| a.0.cmp(&b.0));
        let Some((target_version, target)) = earlier.pop() else {
            return Err(HostError::Conflict(format!(
                "plugin '{id}' has no earlier version to roll back to: only {} is installed",
                current.version
            )));
        };
        let manifest = manifest_of(&current)?;
        let target_manifest = manifest_of(&target)?;
        let migrated: Vec<Enablement> = tx
            .enablement_for_plugin(id)?
            .into_iter()
            .filter(|e| semver::Version::parse(&e.data_version).is_ok_and(|v| v > target_version))
            .collect();
        if !migrated.is_empty() && !manifest.reversible_migrations {
            let names: Vec<&str> = migrated.iter().map(|e| e.tenant.as_str()).collect();
            return Err(HostError::Conflict(format!(
                "cannot roll back '{id}' from {} to {target_version}: tenant(s) {} hold data migrated by {} and its migration is not reversible (its plugin.toml does not declare `reversible-migrations = true`); restore a backup or upgrade to a fixed version instead",
                current.version,
                names.join(", "),
                current.version
            )));
        }
        for other in tx.package_list()? {
            if other.id != id
                && let Some(req) = manifest_of(&other)?.dependencies.get(id)
                && !version_matches(req, &target.version)
            {
                return Err(HostError::Conflict(format!(
                    "cannot roll back '{id}' to {target_version}: plugin '{}' depends on '{id}' {req}",
                    other.id
                )));
            }
        }
        tx.package_set_current(id, &target.version)?;
        tx.package_delete_version(id, &current.version)?;
        tx.grants_set(id, &target_manifest.capabilities)?;
        for mut e in migrated {
            e.data_version = target.version.clone();
            e.changed_at = now_rfc3339();
            tx.enablement_put(&e)?;
        }
        for e in tx
            .enablement_for_plugin(id)?
            .into_iter()
            .filter(|e| e.enabled)
        {
            let tenant = Host::require_tenant(tx.as_mut(), &e.tenant)?;
            self.arm_schedules(
                tx.as_mut(),
                &e.tenant,
                &tenant.time_zone,
                id,
                &target_manifest,
            )?;
        }
        self.audit_admin(
            tx.as_mut(),
            None,
            "plugin.rollback",
            format!("plugin:{id}@{}", target.version),
            serde_json::json!({ "from": current.version, "vendor": target_manifest.vendor }),
        )?;
        tx.commit()?;
        Ok(Rollback {
            id: id.to_string(),
            from_version: current.version,
            to_version: target.version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaking_changes_follow_caret_rules() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert!(!is_breaking(&v("1.2.0"), &v("1.3.0")));
        assert!(is_breaking(&v("1.2.0"), &v("2.0.0")));
        assert!(!is_breaking(&v("0.1.0"), &v("0.1.5")));
        assert!(is_breaking(&v("0.1.0"), &v("0.2.0")));
    }
}
