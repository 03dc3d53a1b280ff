//! The plugin registry: install once per host, enable per tenant.
//!
//! Install is two steps so an admin sees what a plugin asks for before granting it:
//! [`Host::inspect`] validates a package without changing anything, and
//! [`Host::install`] records it with the grants the admin approved.

use serde::Serialize;

use crate::error::{HostError, HostResult};
use crate::host::{Host, now_rfc3339};
use crate::manifest::Manifest;
use crate::store::{Enablement, PackageRecord, Transaction};
use crate::trust::SignatureStatus;

/// A validated package, ready to install.
#[derive(Debug)]
pub struct InstallPlan {
    /// The embedded manifest.
    pub manifest: Manifest,
    /// SHA-256 of the component.
    pub digest: String,
    /// Interfaces the component imports.
    pub imports: Vec<String>,
    /// What the signature check found.
    pub signature: SignatureStatus,
    /// Install even if the package is unsigned or signed by an untrusted key (never
    /// when the signature is invalid). False unless the admin asked explicitly.
    pub allow_unsigned: bool,
    /// Keys of data kept under this plugin id by an earlier install that was removed
    /// without `--purge`; the new package inherits them.
    pub kept_keys: u64,
    /// The vendor of the earlier install whose data is kept, as the host audit log
    /// recorded it (none if it is not recorded). Meaningful when `kept_keys > 0`.
    pub kept_vendor: Option<String>,
    /// Install even though the kept data was written by another vendor's plugin.
    /// False unless the admin asked explicitly.
    pub allow_vendor_change: bool,
    pub(crate) bytes: Vec<u8>,
    pub(crate) code: Vec<u8>,
}

/// What `plugin list` and `plugin info` show.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    /// Plugin id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Installed version.
    pub version: String,
    /// What it does.
    pub description: String,
    /// SHA-256 of the component.
    pub digest: String,
    /// When this version was installed.
    pub installed_at: String,
    /// Capabilities the manifest requests.
    pub capabilities: Vec<String>,
    /// Capabilities the admin granted.
    pub granted: Vec<String>,
    /// Dependencies and their version requirements.
    pub dependencies: std::collections::BTreeMap<String, String>,
    /// Operations with their permissions.
    pub operations: Vec<OperationInfo>,
    /// Permissions its background work (jobs, event handlers) runs with, as
    /// `plugin:<id>`.
    pub background_permissions: Vec<String>,
    /// Extension interfaces it calls.
    pub uses: Vec<String>,
    /// Tenants the plugin is enabled for.
    pub enabled_for: Vec<String>,
    /// What install found about the package's signature.
    pub signature: SignatureStatus,
    /// Every installed version, oldest first (the current one last unless rolled back).
    pub versions: Vec<String>,
    /// Usage against each quota in the tenants asked for ([`Host::plugin_usage`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<QuotaUsage>,
    /// The memory cap and default call deadline its calls get.
    pub limits: LimitsInfo,
}

/// The limits a plugin's calls get: its `[limits]` within the admin's policy, or the
/// host's defaults.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsInfo {
    /// Memory cap of one instance, all memories together.
    pub memory_bytes: u64,
    /// Deadline of a call of an operation declaring no `deadline-ms` of its own.
    pub call_deadline_ms: u64,
    /// Whether the values come from the plugin's `[limits]` (else the defaults).
    pub declared: bool,
    /// The most memory one instance of this version held at the end of a call, over
    /// the calls this process made since it loaded the plugin (the runtime's
    /// high-water mark, in memory only): what to size `[limits] memory` on. None when
    /// this process has not called the plugin (a CLI command that made no call; ask
    /// the running server's admin API).
    pub memory_high_water_bytes: Option<u64>,
}

/// What a plugin uses of its quotas in one tenant (`backoffice plugin info`).
#[derive(Debug, Clone, Serialize)]
pub struct QuotaUsage {
    /// Tenant id.
    pub tenant: String,
    /// The UTC day the daily counters are of (YYYY-MM-DD).
    pub day: String,
    /// Keys kept.
    pub stored_keys: Meter,
    /// Bytes of keys and values kept.
    pub stored_bytes: Meter,
    /// Events emitted today.
    pub events_today: Meter,
    /// One-off runs scheduled today.
    pub runs_today: Meter,
    /// Events one call may emit.
    pub events_per_call: u64,
    /// One-off runs one call may schedule.
    pub runs_per_call: u64,
}

/// A count against its limit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Meter {
    /// Used now.
    pub used: u64,
    /// The quota.
    pub limit: u64,
}

/// An operation as listed.
#[derive(Debug, Clone, Serialize)]
pub struct OperationInfo {
    /// Operation name.
    pub name: String,
    /// Permission it needs.
    pub permission: String,
    /// What it does.
    pub description: String,
}

/// What removing a plugin did.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    /// Plugin id.
    pub id: String,
    /// Keys of plugin data deleted (with purge).
    pub purged_keys: u64,
    /// Keys of plugin data kept (without purge).
    pub kept_keys: u64,
}

impl InstallPlan {
    /// Whether this install would hand data kept from another vendor's plugin (or
    /// from a plugin whose vendor is not recorded) to this package's vendor.
    pub fn vendor_changed(&self) -> bool {
        self.kept_keys > 0 && self.kept_vendor.as_deref() != Some(self.manifest.vendor.as_str())
    }

    /// The vendor the kept data came from, for messages.
    pub fn kept_vendor_name(&self) -> &str {
        self.kept_vendor.as_deref().unwrap_or("(not recorded)")
    }

    /// The refusal of a vendor change the admin did not allow, if this is one.
    pub fn vendor_refusal(&self) -> Option<HostError> {
        (self.vendor_changed() && !self.allow_vendor_change).then(|| {
            kept_data_refusal(
                &self.manifest.id,
                self.kept_keys,
                self.kept_vendor.as_deref(),
                &self.manifest.vendor,
            )
        })
    }
}

fn kept_data_refusal(id: &str, kept_keys: u64, from: Option<&str>, to: &str) -> HostError {
    crate::lifecycle::vendor_change_refusal(
        id,
        &format!(
            "{kept_keys} keys of data kept from its earlier install (removed without --purge) were written"
        ),
        from.unwrap_or("(not recorded)"),
        to,
        "install",
    )
}

/// The vendor of plugin `id` as last recorded in the host audit chain by an install,
/// upgrade, rollback or removal of it: who wrote the data an earlier install left.
/// The keys plugin `id` left behind when it was removed with its data kept, and the
/// vendor recorded for it then (none when nothing was kept).
fn kept_data(tx: &mut dyn Transaction, id: &str) -> HostResult<(u64, Option<String>)> {
    let keys = tx.kv_count_plugin(id)?;
    let vendor = if keys > 0 {
        recorded_vendor(tx, id)?
    } else {
        None
    };
    Ok((keys, vendor))
}

pub(crate) fn recorded_vendor(tx: &mut dyn Transaction, id: &str) -> HostResult<Option<String>> {
    const PAGE: u32 = 1000;
    let exact = format!("plugin:{id}");
    let versioned = format!("plugin:{id}@");
    let mut vendor = None;
    let mut after = 0;
    loop {
        let page = tx.audit_list(&crate::store::AuditQuery {
            tenant: Some(crate::store::HOST_SCOPE.to_string()),
            after_seq: Some(after),
            limit: PAGE,
            ..Default::default()
        })?;
        for link in &page {
            after = link.seq;
            let ours = link.target == exact || link.target.starts_with(&versioned);
            let lifecycle = matches!(
                link.action.as_str(),
                "plugin.install" | "plugin.upgrade" | "plugin.rollback" | "plugin.remove"
            );
            if ours
                && lifecycle
                && link.outcome == "ok"
                && let Ok(detail) = serde_json::from_str::<serde_json::Value>(&link.detail)
                && let Some(v) = detail.get("vendor").and_then(|v| v.as_str())
            {
                vendor = Some(v.to_string());
            }
        }
        if page.len() < PAGE as usize {
            return Ok(vendor);
        }
    }
}

pub(crate) fn manifest_of(record: &PackageRecord) -> HostResult<Manifest> {
    serde_json::from_str(&record.manifest_json).map_err(|e| {
        HostError::Internal(format!(
            "stored manifest of {} is unreadable: {e}",
            record.id
        ))
    })
}

impl Host {
    /// Validate an unsigned package without installing it; see [`Host::inspect_signed`].
    pub fn inspect(&self, bytes: Vec<u8>) -> HostResult<InstallPlan> {
        self.inspect_signed(bytes, None)
    }

    /// Validate a package and its signature (the `.sig` text, if any) without
    /// installing it: a component of our world, with a valid manifest, importing only
    /// what we offer, for our host API, with its dependencies installed and not
    /// installed already. A signature that does not match is refused here; whether an
    /// unsigned package may be installed is decided by [`InstallPlan::allow_unsigned`].
    pub fn inspect_signed(
        &self,
        bytes: Vec<u8>,
        signature: Option<&str>,
    ) -> HostResult<InstallPlan> {
        let mut plan = self.install_plan(bytes, signature, true)?;
        plan.allow_unsigned = false;
        Ok(plan)
    }

    /// [`Host::inspect_signed`] for an admin who did (`allow_unsigned`) or did not
    /// accept unsigned packages: the signature is judged before the component is
    /// compiled, so a package refused for its signature never reaches the compiler.
    /// The plan carries `allow_unsigned`.
    pub fn install_plan(
        &self,
        bytes: Vec<u8>,
        signature: Option<&str>,
        allow_unsigned: bool,
    ) -> HostResult<InstallPlan> {
        let checked = self.check_package(bytes, signature, Some(allow_unsigned))?;
        let manifest = checked.manifest;
        let mut tx = self.storage.begin_read()?;
        if let Some(current) = tx.package_current(&manifest.id)? {
            return Err(HostError::Conflict(
                if current.version == manifest.version.to_string() {
                    format!(
                        "plugin '{}' version {} is already installed; nothing to do",
                        manifest.id, manifest.version
                    )
                } else {
                    format!(
                        "plugin '{}' is already installed at version {}; use `backoffice plugin upgrade <file.wasm>` to change versions",
                        manifest.id, current.version
                    )
                },
            ));
        }
        check_dependencies(tx.as_mut(), &manifest)?;
        let (kept_keys, kept_vendor) = kept_data(tx.as_mut(), &manifest.id)?;
        Ok(InstallPlan {
            digest: checked.digest,
            manifest,
            imports: checked.imports,
            signature: checked.signature,
            allow_unsigned,
            kept_keys,
            kept_vendor,
            allow_vendor_change: false,
            bytes: checked.bytes,
            code: checked.code,
        })
    }
    /// Install a validated package, granting it all the capabilities it requested
    /// (the caller has shown them to the admin and had them approved).
    pub fn install(&self, plan: InstallPlan) -> HostResult<PluginInfo> {
        if let Some(err) = plan
            .signature
            .refusal(&plan.manifest.id, plan.allow_unsigned)
        {
            return Err(err);
        }
        if let Some(err) = plan.vendor_refusal() {
            return Err(err);
        }
        let manifest_json = serde_json::to_string(&plan.manifest)
            .map_err(|e| HostError::Internal(format!("cannot encode manifest: {e}")))?;
        let record = PackageRecord {
            id: plan.manifest.id.clone(),
            version: plan.manifest.version.to_string(),
            manifest_json,
            digest: plan.digest.clone(),
            component: plan.bytes,
            installed_at: now_rfc3339(),
        };
        let mut tx = self.begin()?;
        // Checked again inside the write transaction: another admin may have raced us.
        if tx.package_current(&record.id)?.is_some() {
            return Err(HostError::Conflict(format!(
                "plugin '{}' is already installed",
                record.id
            )));
        }
        // Checked again under the write lock: data may have been kept meanwhile.
        let (kept_keys, kept_vendor) = kept_data(tx.as_mut(), &record.id)?;
        let vendor_changed =
            kept_keys > 0 && kept_vendor.as_deref() != Some(plan.manifest.vendor.as_str());
        if vendor_changed && !plan.allow_vendor_change {
            return Err(kept_data_refusal(
                &record.id,
                kept_keys,
                kept_vendor.as_deref(),
                &plan.manifest.vendor,
            ));
        }
        tx.package_insert(&record)?;
        tx.package_signature_set(
            &record.id,
            &record.version,
            &signature_json(&plan.signature)?,
        )?;
        tx.grants_set(&record.id, &plan.manifest.capabilities)?;
        tx.code_digest_set(
            &plan.digest,
            self.runtime.cache().engine_key(),
            &crate::runtime::code_digest(&plan.code),
        )?;
        self.record_code_digests_in(tx.as_mut())?;
        self.audit_admin(
            tx.as_mut(),
            None,
            "plugin.install",
            format!("plugin:{}@{}", record.id, record.version),
            serde_json::json!({
                "digest": record.digest,
                "vendor": plan.manifest.vendor,
                "granted": plan.manifest.capabilities,
                "signature": plan.signature,
                "kept_keys": kept_keys,
            }),
        )?;
        if vendor_changed {
            self.audit_admin(
                tx.as_mut(),
                None,
                "plugin.vendor-change",
                format!("plugin:{}@{}", record.id, record.version),
                serde_json::json!({
                    "from_vendor": kept_vendor,
                    "to_vendor": plan.manifest.vendor,
                    "kept_keys": kept_keys,
                    "by": "install",
                    "signature": plan.signature,
                }),
            )?;
        }
        tx.commit()?;
        self.runtime.cache().store(&plan.digest, &plan.code);
        self.plugin_info(&record.id)
    }

    /// Every installed plugin.
    pub fn plugins(&self) -> HostResult<Vec<PluginInfo>> {
        let mut tx = self.storage.begin_read()?;
        let records = tx.package_list()?;
        records
            .iter()
            .map(|r| info_of(tx.as_mut(), r, self.runtime.limits(), self.high_water(r)))
            .collect()
    }

    /// One installed plugin.
    pub fn plugin_info(&self, id: &str) -> HostResult<PluginInfo> {
        let mut tx = self.storage.begin_read()?;
        let record = Host::require_package(tx.as_mut(), id)?;
        info_of(
            tx.as_mut(),
            &record,
            self.runtime.limits(),
            self.high_water(&record),
        )
    }

    /// The memory high-water mark of `record`'s code in this process, once a call
    /// has run (see [`LimitsInfo::memory_high_water_bytes`]).
    fn high_water(&self, record: &PackageRecord) -> Option<u64> {
        self.memory_high_water_of(&record.digest)
            .filter(|&bytes| bytes > 0)
            .map(|bytes| u64::try_from(bytes).unwrap_or(u64::MAX))
    }

    /// [`Host::plugin_info`] with the plugin's usage against its quotas in `tenant`,
    /// or in every tenant it is enabled for.
    pub fn plugin_usage(&self, id: &str, tenant: Option<&str>) -> HostResult<PluginInfo> {
        let mut tx = self.storage.begin_read()?;
        let record = Host::require_package(tx.as_mut(), id)?;
        let mut info = info_of(
            tx.as_mut(),
            &record,
            self.runtime.limits(),
            self.high_water(&record),
        )?;
        let tenants: Vec<String> = match tenant {
            Some(t) => {
                Host::require_tenant(tx.as_mut(), t)?;
                vec![t.to_string()]
            }
            None => info.enabled_for.clone(),
        };
        let q = self.runtime.limits().quotas.clone();
        let now = self.clock.now();
        let day = crate::capabilities::utc_day(now);
        for t in tenants {
            let scope = crate::store::Scope {
                tenant: t.clone(),
                plugin: id.to_string(),
            };
            let kv = tx.kv_usage(&scope)?;
            let today = tx.quota_day_get(&scope, day)?;
            let meter = |used, limit| Meter { used, limit };
            info.usage.push(QuotaUsage {
                tenant: t,
                day: now.date().to_string(),
                stored_keys: meter(kv.keys, q.stored_keys),
                stored_bytes: meter(kv.bytes, q.stored_bytes),
                events_today: meter(today.events, q.events_per_day),
                runs_today: meter(today.runs, q.runs_per_day),
                events_per_call: q.events_per_call,
                runs_per_call: q.runs_per_call,
            });
        }
        Ok(info)
    }

    /// Enable a plugin for a tenant, running its migration; refused until every
    /// dependency is enabled for the tenant.
    pub fn enable(&self, id: &str, tenant: &str) -> HostResult<Enablement> {
        self.enable_by(id, tenant, self.operator())
    }

    /// [`Host::enable`], recorded in the audit log as done by `actor`.
    pub(crate) fn enable_by(&self, id: &str, tenant: &str, actor: &str) -> HostResult<Enablement> {
        let mut tx = self.begin_for(Some(tenant))?;
        let tenant_row = Host::require_tenant(tx.as_mut(), tenant)?;
        let record = Host::require_package(tx.as_mut(), id)?;
        let previous = tx.enablement_get(tenant, id)?;
        if let Some(e) = previous.as_ref().filter(|e| e.enabled) {
            return Ok(e.clone());
        }
        let manifest = manifest_of(&record)?;
        for (dep, req) in &manifest.dependencies {
            let dep_on = tx.enablement_get(tenant, dep)?.filter(|e| e.enabled);
            let dep_record = tx.package_current(dep)?;
            match (dep_on, dep_record) {
                (Some(_), Some(r)) if version_matches(req, &r.version) => {}
                _ => {
                    return Err(HostError::Conflict(format!(
                        "plugin '{id}' needs '{dep}' {req} enabled for tenant '{tenant}'; run `backoffice plugin enable {dep} --tenant {tenant}` first"
                    )));
                }
            }
        }
        if !manifest.provides.is_empty() {
            for other in tx
                .enablement_for_tenant(tenant)?
                .into_iter()
                .filter(|o| o.enabled && o.plugin != id)
            {
                let Some(r) = tx.package_current(&other.plugin)? else {
                    continue;
                };
                let theirs = manifest_of(&r)?;
                for mine in &manifest.provides {
                    for p in theirs
                        .provides
                        .iter()
                        .filter(|p| p.interface == mine.interface)
                    {
                        if let Some(key) = mine.keys.iter().find(|k| p.keys.contains(k)) {
                            return Err(HostError::Conflict(format!(
                                "plugin '{id}' provides {} for {key}, and so does '{}', already enabled for tenant '{tenant}'; a tenant uses one provider per key: disable '{}' first (`backoffice plugin disable {} --tenant {tenant}`)",
                                mine.interface, other.plugin, other.plugin, other.plugin
                            )));
                        }
                    }
                }
            }
        }
        let from = previous.map(|e| e.data_version);
        let mut tx = self.migrate_in(tx, &tenant_row, &record, from)?;
        self.arm_schedules(tx.as_mut(), tenant, &tenant_row.time_zone, id, &manifest)?;
        let enablement = Enablement {
            tenant: tenant.to_string(),
            plugin: id.to_string(),
            enabled: true,
            data_version: record.version.clone(),
            changed_at: now_rfc3339(),
        };
        tx.enablement_put(&enablement)?;
        self.audit_admin_as(
            tx.as_mut(),
            Some(tenant),
            actor,
            "plugin.enable",
            format!("plugin:{id}@{}", record.version),
            serde_json::json!({}),
        )?;
        tx.commit()?;
        Ok(enablement)
    }

    /// Disable a plugin for a tenant, keeping its data; refused while an enabled
    /// plugin of the tenant depends on it.
    pub fn disable(&self, id: &str, tenant: &str) -> HostResult<()> {
        self.disable_by(id, tenant, self.operator())
    }

    /// [`Host::disable`], recorded in the audit log as done by `actor`.
    pub(crate) fn disable_by(&self, id: &str, tenant: &str, actor: &str) -> HostResult<()> {
        let mut tx = self.write_tenant(tenant)?;
        Host::require_package(tx.as_mut(), id)?;
        let Some(mut e) = tx.enablement_get(tenant, id)?.filter(|e| e.enabled) else {
            return Err(HostError::Conflict(format!(
                "plugin '{id}' is not enabled for tenant '{tenant}'"
            )));
        };
        for other in tx
            .enablement_for_tenant(tenant)?
            .into_iter()
            .filter(|o| o.enabled)
        {
            if let Some(r) = tx.package_current(&other.plugin)?
                && manifest_of(&r)?.dependencies.contains_key(id)
            {
                return Err(HostError::Conflict(format!(
                    "plugin '{}' depends on '{id}' in tenant '{tenant}'; disable '{}' first",
                    other.plugin, other.plugin
                )));
            }
        }
        e.enabled = false;
        e.changed_at = now_rfc3339();
        tx.enablement_put(&e)?;
        tx.job_pause(tenant, id)?;
        self.audit_admin_as(
            tx.as_mut(),
            Some(tenant),
            actor,
            "plugin.disable",
            format!("plugin:{id}"),
            serde_json::json!({}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Remove an installed plugin. Refused while it is enabled for a tenant or another
    /// plugin depends on it. Its data is kept unless `purge`.
    pub fn remove(&self, id: &str, purge: bool) -> HostResult<Removal> {
        // It writes the plugin's jobs and data in every tenant without their locks (it
        // is disabled everywhere): a race with a tenant's writer is run again.
        self.retrying(|| self.remove_once(id, purge))
    }

    fn remove_once(&self, id: &str, purge: bool) -> HostResult<Removal> {
        let mut tx = self.begin()?;
        let vendor = manifest_of(&Host::require_package(tx.as_mut(), id)?)?.vendor;
        let enabled: Vec<String> = tx
            .enablement_for_plugin(id)?
            .into_iter()
            .filter(|e| e.enabled)
            .map(|e| e.tenant)
            .collect();
        if !enabled.is_empty() {
            return Err(HostError::Conflict(format!(
                "plugin '{id}' is still enabled for tenant(s) {}; disable it there first with `backoffice plugin disable {id} --tenant <tenant>`",
                enabled.join(", ")
            )));
        }
        for other in tx.package_list()? {
            if other.id != id && manifest_of(&other)?.dependencies.contains_key(id) {
                return Err(HostError::Conflict(format!(
                    "plugin '{}' depends on '{id}'; remove '{}' first",
                    other.id, other.id
                )));
            }
        }
        tx.package_remove(id)?;
        tx.job_delete_plugin(id)?;
        let (purged_keys, kept_keys) = if purge {
            (tx.kv_purge_plugin(id)?, 0)
        } else {
            (0, tx.kv_count_plugin(id)?)
        };
        self.audit_admin(
            tx.as_mut(),
            None,
            "plugin.remove",
            format!("plugin:{id}"),
            serde_json::json!({ "purge": purge, "purged_keys": purged_keys, "kept_keys": kept_keys, "vendor": vendor }),
        )?;
        tx.commit()?;
        Ok(Removal {
            id: id.to_string(),
            purged_keys,
            kept_keys,
        })
    }
}

/// Every dependency of `manifest` is installed at a version its range accepts.
pub(crate) fn check_dependencies(tx: &mut dyn Transaction, manifest: &Manifest) -> HostResult<()> {
    for (dep, req) in &manifest.dependencies {
        match tx.package_current(dep)? {
            None => {
                return Err(HostError::Conflict(format!(
                    "plugin '{}' depends on '{dep}' {req}, which is not installed; install '{dep}' first",
                    manifest.id
                )));
            }
            Some(installed) if !version_matches(req, &installed.version) => {
                return Err(HostError::Conflict(format!(
                    "plugin '{}' depends on '{dep}' {req}, but version {} is installed",
                    manifest.id, installed.version
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub(crate) fn signature_json(status: &SignatureStatus) -> HostResult<String> {
    serde_json::to_string(status)
        .map_err(|e| HostError::Internal(format!("cannot encode signature status: {e}")))
}

pub(crate) fn version_matches(req: &semver::VersionReq, version: &str) -> bool {
    semver::Version::parse(version).is_ok_and(|v| req.matches(&v))
}

fn info_of(
    tx: &mut dyn Transaction,
    record: &PackageRecord,
    limits: &crate::runtime::Limits,
    memory_high_water_bytes: Option<u64>,
) -> HostResult<PluginInfo> {
    let m = manifest_of(record)?;
    let effective = limits.for_plugin(&m.limits);
    Ok(PluginInfo {
        limits: LimitsInfo {
            memory_bytes: u64::try_from(effective.memory_bytes).unwrap_or(u64::MAX),
            call_deadline_ms: u64::try_from(effective.call_deadline.as_millis())
                .unwrap_or(u64::MAX),
            declared: !m.limits.is_empty(),
            memory_high_water_bytes,
        },
        id: record.id.clone(),
        name: m.name.clone(),
        vendor: m.vendor.clone(),
        version: record.version.clone(),
        description: m.description.clone(),
        digest: record.digest.clone(),
        installed_at: record.installed_at.clone(),
        capabilities: m.capabilities.clone(),
        granted: tx.grants_get(&record.id)?,
        dependencies: m
            .dependencies
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        operations: m
            .operations
            .iter()
            .map(|o| OperationInfo {
                name: o.name.clone(),
                permission: o.permission.clone(),
                description: o.description.clone(),
            })
            .collect(),
        background_permissions: m.background.permissions.clone(),
        uses: m.uses.clone(),
        enabled_for: tx
            .enablement_for_plugin(&record.id)?
            .into_iter()
            .filter(|e| e.enabled)
            .map(|e| e.tenant)
            .collect(),
        signature: tx
            .package_signature_get(&record.id, &record.version)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(SignatureStatus::Unsigned),
        versions: {
            let mut versions: Vec<semver::Version> = tx
                .package_versions(&record.id)?
                .iter()
                .filter_map(|p| semver::Version::parse(&p.version).ok())
                .collect();
            versions.sort();
            versions.iter().map(ToString::to_string).collect()
        },
        usage: Vec::new(),
    })
}

impl Host {
    /// The manifest of every installed plugin's current version, by id.
    pub fn manifests(&self) -> HostResult<Vec<Manifest>> {
        let mut tx = self.storage.begin_read()?;
        tx.package_list()?.iter().map(manifest_of).collect()
    }

    /// Load (compile or read from the code cache) every installed plugin, so the
    /// first call of each does not pay for it; fails naming the first that cannot load.
    pub fn load_all(&self) -> HostResult<()> {
        let mut tx = self.storage.begin_read()?;
        for record in tx.package_list()? {
            self.load(tx.as_mut(), &record)?;
        }
        drop(tx);
        self.record_code_digests()
    }
}
