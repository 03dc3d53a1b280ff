//! `backoffice tenant ...`

use clap::Subcommand;

use crate::Host;
use crate::error::HostError;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Tenant id: lowercase letters, digits and '-'.
        id: String,
        /// Display name (defaults to the id).
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone for schedules and business dates.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    /// List tenants.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(host: &Host, cmd: &TenantCommand) -> Result<(), HostError> {
    match cmd {
        TenantCommand::Create {
            id,
            name,
            time_zone,
        } => {
            let t = host.create_tenant(id, name.as_deref(), Some(time_zone))?;
            println!(
                "created tenant '{}' ({}, time zone {})",
                t.id, t.name, t.time_zone
            );
        }
        TenantCommand::List { json } => {
            let tenants = host.tenants()?;
            if *json {
                super::print_json(&tenants)?;
            } else if tenants.is_empty() {
                println!("no tenants; create one with `backoffice tenant create <id>`");
            } else {
                println!("{:<24} {:<32} {:<20} CREATED", "ID", "NAME", "TIME ZONE");
                for t in tenants {
                    println!(
                        "{:<24} {:<32} {:<20} {}",
                        t.id, t.name, t.time_zone, t.created_at
                    );
                }
            }
        }
    }
    Ok(())
}
