//! `backoffice settings ...`: the values a tenant gives the settings plugins declare.

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::settings::SettingView;

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// List a plugin's settings with the tenant's values and the defaults.
    List {
        /// The tenant (company).
        #[arg(long)]
        tenant: String,
        /// Plugin id.
        plugin: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set a value; it must pass the setting's JSON Schema. Takes effect on the
    /// plugin's next call.
    Set {
        /// The tenant (company).
        #[arg(long)]
        tenant: String,
        /// Plugin id.
        plugin: String,
        /// The setting's key.
        key: String,
        /// The value as JSON (`30`, `true`, `["a","b"]`, `"text"`); text that is not
        /// JSON is taken as a string.
        value: String,
        /// Print the setting as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Clear the tenant's value: the declared default applies again.
    Unset {
        /// The tenant (company).
        #[arg(long)]
        tenant: String,
        /// Plugin id.
        plugin: String,
        /// The setting's key.
        key: String,
    },
}

/// A command-line value: JSON when it parses, else the text as a JSON string.
fn parse_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

fn shown(v: &Option<serde_json::Value>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |v| v.to_string())
}

pub fn run(host: &Host, cmd: &SettingsCommand) -> Result<(), HostError> {
    match cmd {
        SettingsCommand::List {
            tenant,
            plugin,
            json,
        } => {
            let settings = host.settings(tenant, plugin)?;
            let empty = format!("plugin '{plugin}' declares no settings");
            let header = format!(
                "{:<28} {:<24} {:<24} DESCRIPTION",
                "KEY", "VALUE", "DEFAULT"
            );
            super::print_list(&settings, *json, Some(&empty), &header, |s| {
                format!(
                    "{:<28} {:<24} {:<24} {}",
                    s.key,
                    shown(&s.value),
                    shown(&s.default),
                    s.description
                )
            })
        }
        SettingsCommand::Set {
            tenant,
            plugin,
            key,
            value,
            json,
        } => {
            let view = host.set_setting(tenant, plugin, key, parse_value(value))?;
            report(&view, *json, tenant, plugin)
        }
        SettingsCommand::Unset {
            tenant,
            plugin,
            key,
        } => {
            let view = host.unset_setting(tenant, plugin, key)?;
            report(&view, false, tenant, plugin)
        }
    }
}

fn report(view: &SettingView, json: bool, tenant: &str, plugin: &str) -> Result<(), HostError> {
    super::print_report(view, json, |view| {
        println!(
            "{plugin} {} for tenant '{tenant}': {} (default {})",
            view.key,
            shown(&view.effective),
            shown(&view.default)
        );
    })
}
