//! `backoffice plugin ...`

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Subcommand;

use crate::Host;
use crate::error::HostError;
use crate::registry::PluginInfo;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Validate and install a plugin package, granting the capabilities it requests.
    Install {
        /// The plugin's .wasm component.
        file: PathBuf,
        /// Grant the requested capabilities without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// List installed plugins.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one installed plugin.
    Info {
        /// Plugin id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable a plugin for a tenant (runs its migration).
    Enable {
        /// Plugin id.
        id: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Disable a plugin for a tenant; its data is kept.
    Disable {
        /// Plugin id.
        id: String,
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Remove an installed plugin.
    Remove {
        /// Plugin id.
        id: String,
        /// Also delete the plugin's data in every tenant.
        #[arg(long)]
        purge: bool,
    },
}

pub fn run(host: &Host, cmd: &PluginCommand) -> Result<(), HostError> {
    match cmd {
        PluginCommand::Install { file, yes } => install(host, file, *yes),
        PluginCommand::List { json } => {
            let plugins = host.plugins()?;
            if *json {
                return super::print_json(&plugins);
            }
            if plugins.is_empty() {
                println!(
                    "no plugins installed; install one with `backoffice plugin install <file.wasm>`"
                );
                return Ok(());
            }
            println!(
                "{:<20} {:<10} {:<16} {:<24} ENABLED FOR",
                "ID", "VERSION", "VENDOR", "CAPABILITIES"
            );
            for p in plugins {
                println!(
                    "{:<20} {:<10} {:<16} {:<24} {}",
                    p.id,
                    p.version,
                    p.vendor,
                    p.granted.join(","),
                    p.enabled_for.join(",")
                );
            }
            Ok(())
        }
        PluginCommand::Info { id, json } => {
            let info = host.plugin_info(id)?;
            if *json {
                super::print_json(&info)
            } else {
                print_info(&info);
                Ok(())
            }
        }
        PluginCommand::Enable { id, tenant } => {
            let e = host.enable(id, tenant)?;
            println!("enabled '{id}' {} for tenant '{tenant}'", e.data_version);
            Ok(())
        }
        PluginCommand::Disable { id, tenant } => {
            host.disable(id, tenant)?;
            println!("disabled '{id}' for tenant '{tenant}'; its data is kept");
            Ok(())
        }
        PluginCommand::Remove { id, purge } => {
            let r = host.remove(id, *purge)?;
            if *purge {
                println!(
                    "removed '{id}' and deleted {} keys of its data",
                    r.purged_keys
                );
            } else {
                println!(
                    "removed '{id}'; kept {} keys of its data (reinstall to use them, or remove with --purge to delete them)",
                    r.kept_keys
                );
            }
            Ok(())
        }
    }
}

fn install(host: &Host, file: &PathBuf, yes: bool) -> Result<(), HostError> {
    let bytes = std::fs::read(file)
        .map_err(|e| HostError::InvalidInput(format!("cannot read {}: {e}", file.display())))?;
    let plan = host.inspect(bytes)?;
    let m = &plan.manifest;
    println!("{} {} by {} ({})", m.id, m.version, m.vendor, m.name);
    if m.capabilities.is_empty() {
        println!("requests no capabilities");
    } else {
        println!("requests capabilities:");
        for cap in &m.capabilities {
            println!("  - {cap}: {}", describe_capability(cap));
        }
        if !yes && !confirm()? {
            return Err(HostError::Forbidden(
                "installation cancelled: the requested capabilities were not granted".into(),
            ));
        }
    }
    let info = host.install(plan)?;
    println!(
        "installed '{}' {} (sha256 {})",
        info.id,
        info.version,
        &info.digest[..16]
    );
    println!(
        "enable it with `backoffice plugin enable {} --tenant <tenant>`",
        info.id
    );
    Ok(())
}

fn describe_capability(cap: &str) -> &'static str {
    match cap {
        "storage" => "read and write its own data in each tenant that enables it",
        "events" => "emit events to other plugins",
        "scheduler" => "schedule runs of its own jobs",
        "plugins" => "call operations of the plugins it depends on",
        _ => "unknown capability",
    }
}

fn confirm() -> Result<bool, HostError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(HostError::Forbidden(
            "the plugin requests capabilities and there is no terminal to confirm them; re-run with --yes to grant them".into(),
        ));
    }
    print!("grant these capabilities and install? [y/N] ");
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| HostError::InvalidInput(format!("cannot read answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn print_info(p: &PluginInfo) {
    println!("{} {} ({})", p.id, p.version, p.name);
    println!("vendor:        {}", p.vendor);
    if !p.description.is_empty() {
        println!("description:   {}", p.description);
    }
    println!("sha256:        {}", p.digest);
    println!("installed at:  {}", p.installed_at);
    println!(
        "capabilities:  requested [{}], granted [{}]",
        p.capabilities.join(", "),
        p.granted.join(", ")
    );
    if !p.dependencies.is_empty() {
        let deps: Vec<String> = p
            .dependencies
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("depends on:    {}", deps.join(", "));
    }
    println!(
        "enabled for:   {}",
        if p.enabled_for.is_empty() {
            "no tenant".into()
        } else {
            p.enabled_for.join(", ")
        }
    );
    println!("operations:");
    for op in &p.operations {
        println!(
            "  {:<20} needs {:<24} {}",
            op.name, op.permission, op.description
        );
    }
}
