//! Tenant settings of plugins: the values each company gives the `[[settings]]` a
//! plugin declares in its `plugin.toml`.
//!
//! ```text
//! admin: settings set --tenant T PLUGIN KEY VALUE
//!   -> tenant exists, plugin installed and enabled for T, KEY declared
//!   -> VALUE is JSON and passes the declared schema
//!   -> stored in T's data with an audit link in T's chain, one transaction
//! plugin: context.setting(KEY) -> the stored value, else the declared default, else none
//! ```
//!
//! The call reads the value in its own transaction, so a change takes effect on the
//! next call and a call never sees half of one.

use serde::Serialize;

use crate::admin::TenantAdmin;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::manifest::{Manifest, Setting};
use crate::registry::manifest_of;
use crate::store::{Scope, Transaction};

/// Set and clear the tenant's plugin settings.
pub const SETTINGS_MANAGE: &str = "settings.manage";

/// One declared setting with the tenant's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingView {
    /// The setting's key.
    pub key: String,
    /// What it changes.
    pub description: String,
    /// The JSON Schema its values pass.
    pub schema: serde_json::Value,
    /// The declared default, if any.
    pub default: Option<serde_json::Value>,
    /// The value the tenant set, if any.
    pub value: Option<serde_json::Value>,
    /// What `context.setting` answers: the value, else the default.
    pub effective: Option<serde_json::Value>,
}

impl SettingView {
    fn new(decl: &Setting, stored: Option<&str>) -> SettingView {
        // Values are stored only after passing the schema, as JSON text.
        let value = stored.and_then(|s| serde_json::from_str(s).ok());
        SettingView {
            key: decl.key.clone(),
            description: decl.description.clone(),
            schema: decl.schema.clone(),
            default: decl.default.clone(),
            effective: value.clone().or_else(|| decl.default.clone()),
            value,
        }
    }
}

impl Host {
    /// The plugin's declared settings with the tenant's values, in declaration order.
    pub fn settings(&self, tenant: &str, plugin: &str) -> HostResult<Vec<SettingView>> {
        let mut tx = self.begin_for(Some(tenant))?;
        let manifest = enabled_manifest(tx.as_mut(), tenant, plugin)?;
        let stored = tx.setting_list(&scope(tenant, plugin))?;
        Ok(manifest
            .settings
            .iter()
            .map(|decl| {
                let value = stored.iter().find(|(k, _)| *k == decl.key);
                SettingView::new(decl, value.map(|(_, v)| v.as_str()))
            })
            .collect())
    }

    /// Set a tenant's value of a plugin's setting; `value` must pass its schema.
    pub fn set_setting(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
        value: serde_json::Value,
    ) -> HostResult<SettingView> {
        self.set_setting_by(tenant, plugin, key, Some(value), self.operator())
    }

    /// Clear a tenant's value of a plugin's setting: the default applies again.
    pub fn unset_setting(&self, tenant: &str, plugin: &str, key: &str) -> HostResult<SettingView> {
        self.set_setting_by(tenant, plugin, key, None, self.operator())
    }

    fn set_setting_by(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
        value: Option<serde_json::Value>,
        actor: &str,
    ) -> HostResult<SettingView> {
        let mut views = self.change_settings(tenant, plugin, &[(key.to_string(), value)], actor)?;
        views
            .pop()
            .ok_or_else(|| HostError::Internal("a setting change answered nothing".into()))
    }

    /// `changes` in one transaction: all stored, or none.
    fn change_settings(
        &self,
        tenant: &str,
        plugin: &str,
        changes: &[(String, Option<serde_json::Value>)],
        actor: &str,
    ) -> HostResult<Vec<SettingView>> {
        let mut tx = self.begin_for(Some(tenant))?;
        let manifest = enabled_manifest(tx.as_mut(), tenant, plugin)?;
        let mut views = Vec::with_capacity(changes.len());
        for (key, value) in changes {
            views.push(self.change_setting(
                tx.as_mut(),
                &manifest,
                tenant,
                plugin,
                key,
                value.clone(),
                actor,
            )?);
        }
        tx.commit()?;
        Ok(views)
    }

    /// Check, store and audit one change in `tx`.
    #[allow(clippy::too_many_arguments, reason = "one change's coordinates")]
    fn change_setting(
        &self,
        tx: &mut dyn Transaction,
        manifest: &Manifest,
        tenant: &str,
        plugin: &str,
        key: &str,
        value: Option<serde_json::Value>,
        actor: &str,
    ) -> HostResult<SettingView> {
        let Some(decl) = manifest.setting(key) else {
            return Err(HostError::NotFound(if manifest.settings.is_empty() {
                format!("plugin '{plugin}' declares no settings")
            } else {
                format!(
                    "plugin '{plugin}' has no setting '{key}'; its settings are: {}",
                    manifest.setting_keys()
                )
            }));
        };
        let scope = scope(tenant, plugin);
        let (action, text) = match &value {
            Some(v) => {
                decl.check(v).map_err(HostError::InvalidInput)?;
                tx.setting_put(&scope, key, &v.to_string())?;
                ("settings.set", Some(v.to_string()))
            }
            None => {
                tx.setting_delete(&scope, key)?;
                ("settings.unset", None)
            }
        };
        self.audit_admin_as(
            tx,
            Some(tenant),
            actor,
            action,
            format!("plugin:{plugin}/setting:{key}"),
            serde_json::json!({ "value": value }),
        )?;
        Ok(SettingView::new(decl, text.as_deref()))
    }
}

fn scope(tenant: &str, plugin: &str) -> Scope {
    Scope {
        tenant: tenant.to_string(),
        plugin: plugin.to_string(),
    }
}

/// The manifest of `plugin` as installed, once it is enabled for `tenant`.
fn enabled_manifest(tx: &mut dyn Transaction, tenant: &str, plugin: &str) -> HostResult<Manifest> {
    Host::require_tenant(tx, tenant)?;
    let record = Host::require_package(tx, plugin)?;
    if !tx
        .enablement_get(tenant, plugin)?
        .is_some_and(|e| e.enabled)
    {
        return Err(HostError::Conflict(format!(
            "plugin '{plugin}' is not enabled for tenant '{tenant}'; enable it first (`backoffice plugin enable {plugin} --tenant {tenant}`)"
        )));
    }
    manifest_of(&record)
}

impl TenantAdmin<'_> {
    /// [`Host::settings`] for a principal of the tenant holding `settings.manage`.
    pub fn settings(&self, plugin: &str) -> HostResult<Vec<SettingView>> {
        let host = self.check(SETTINGS_MANAGE)?;
        host.settings(self.tenant, plugin)
    }

    /// [`Host::set_setting`] (`Some`) or [`Host::unset_setting`] (`None`) for a
    /// principal of the tenant holding `settings.manage`, audited as done by them.
    pub fn set_setting(
        &self,
        plugin: &str,
        key: &str,
        value: Option<serde_json::Value>,
    ) -> HostResult<SettingView> {
        let host = self.check(SETTINGS_MANAGE)?;
        host.set_setting_by(self.tenant, plugin, key, value, &self.principal.actor())
    }

    /// Several settings of one plugin at once, in one transaction (a console form):
    /// `Some` sets, `None` clears. All pass their schemas or nothing changes; each
    /// change is audited as done by the principal.
    pub fn set_settings(
        &self,
        plugin: &str,
        changes: &[(String, Option<serde_json::Value>)],
    ) -> HostResult<Vec<SettingView>> {
        let host = self.check(SETTINGS_MANAGE)?;
        host.change_settings(self.tenant, plugin, changes, &self.principal.actor())
    }
}
