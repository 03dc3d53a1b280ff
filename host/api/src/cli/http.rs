//! `backoffice http ...`: the outbound HTTP requests plugins queued for a tenant,
//! every attempt to send them, and retrying a dead one.

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::webhooks::rfc3339_ms;

#[derive(Debug, Subcommand)]
pub enum HttpCommand {
    /// List a tenant's requests, newest first, with their attempts (header values and
    /// bodies are never shown).
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Only those in this state: pending, answered or dead.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send a dead request again now, with a fresh count of attempts.
    Retry {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// The request's id, from `http list`.
        id: i64,
    },
}

pub fn run(host: &Host, cmd: &HttpCommand) -> Result<(), HostError> {
    match cmd {
        HttpCommand::List {
            tenant,
            state,
            limit,
            json,
        } => {
            let list = host.http_list(tenant, state.as_deref(), *limit)?;
            let header = format!(
                "{:<16} {:<12} {:<9} {:<8} {:<6} {:<20} {:<7} {:<40} LAST ERROR",
                "ID", "PLUGIN", "STATE", "ATTEMPTS", "STATUS", "CREATED", "METHOD", "URL"
            );
            super::print_list(&list, *json, None, &header, |v| {
                let r = &v.request;
                format!(
                    "{:<16} {:<12} {:<9} {:<8} {:<6} {:<20} {:<7} {:<40} {}",
                    r.id,
                    r.plugin,
                    r.state,
                    r.attempts,
                    r.status.map_or("-".to_string(), |s| s.to_string()),
                    rfc3339_ms(r.created_ms),
                    r.method,
                    r.url.chars().take(40).collect::<String>(),
                    r.last_error.as_deref().unwrap_or("-")
                )
            })
        }
        HttpCommand::Retry { tenant, id } => {
            host.http_retry(tenant, *id)?;
            println!("HTTP request {id} of tenant '{tenant}' will be sent again");
            Ok(())
        }
    }
}
