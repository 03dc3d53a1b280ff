//! `backoffice notify ...`: the email notifications plugins queued for a tenant's
//! people, every attempt to send them, and retrying a dead one.

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::webhooks::rfc3339_ms;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// List a tenant's notifications, newest first, with their attempts.
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Only those in this state: pending, sent or dead.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send a dead notification again now (same Message-ID).
    Retry {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// The notification's id, from `notify list`.
        id: i64,
    },
}

pub fn run(host: &Host, cmd: &NotifyCommand) -> Result<(), HostError> {
    match cmd {
        NotifyCommand::List {
            tenant,
            state,
            limit,
            json,
        } => {
            let list = host.notify_list(tenant, state.as_deref(), *limit)?;
            let header = format!(
                "{:<16} {:<8} {:<8} {:<20} {:<32} {:<24} LAST ERROR",
                "ID", "STATE", "ATTEMPTS", "CREATED", "TO", "SUBJECT"
            );
            super::print_list(&list, *json, None, &header, |v| {
                let n = &v.notification;
                format!(
                    "{:<16} {:<8} {:<8} {:<20} {:<32} {:<24} {}",
                    n.id,
                    n.state,
                    n.attempts,
                    rfc3339_ms(n.created_ms),
                    format!("{} <{}>", n.recipient, n.address),
                    n.subject.chars().take(24).collect::<String>(),
                    n.last_error.as_deref().unwrap_or("-")
                )
            })
        }
        NotifyCommand::Retry { tenant, id } => {
            host.notify_retry(tenant, *id)?;
            println!("notification {id} of tenant '{tenant}' will be sent again");
            Ok(())
        }
    }
}
