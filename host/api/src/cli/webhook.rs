//! `backoffice webhook ...`: endpoints a tenant subscribed to event topics, and what
//! was sent to them.

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Subscribe an HTTPS endpoint to event topics; prints its id and its signing
    /// secret (`whsec_...`), which is shown only this once.
    Add {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// A topic (`ledger.entry-posted`), a prefix (`ledger.*`) or `*`; repeatable.
        #[arg(long = "topic", required = true)]
        topics: Vec<String>,
        /// Where deliveries are POSTed (https://...).
        #[arg(long)]
        url: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's endpoints.
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint; its pending deliveries are marked dead.
    Remove {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Endpoint id (`wh_...`).
        id: String,
    },
    /// Give an endpoint a new signing secret, printed only this once. During the
    /// overlap both secrets sign (`webhook-signature: v1,<new> v1,<old>`), so the
    /// receiver can switch without losing a delivery.
    Rotate {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Endpoint id (`wh_...`).
        id: String,
        /// How long the old secret keeps signing: 45s, 30m, 24h, 7d (at most 30d), or
        /// 0 to drop it at once.
        #[arg(long, default_value = "24h")]
        overlap: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The delivery log, newest first: state, attempts, last status and error.
    Deliveries {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Only this endpoint's deliveries.
        #[arg(long)]
        webhook: Option<String>,
        /// Only deliveries in this state: pending, delivered or dead.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send a dead or delivered delivery again now, with the same `webhook-id`.
    Replay {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Delivery id from `webhook deliveries`.
        id: i64,
    },
}

pub fn run(host: &Host, cmd: &WebhookCommand) -> Result<(), HostError> {
    match cmd {
        WebhookCommand::Add {
            tenant,
            topics,
            url,
            json,
        } => {
            let added = host.webhook_add(tenant, url, topics)?;
            super::print_report(&added, *json, |added| {
                println!("id      {}", added.endpoint.id);
                println!("secret  {}", added.secret);
                println!(
                    "(the secret is not shown again; the receiver verifies signatures with it)"
                );
            })
        }
        WebhookCommand::List { tenant, json } => {
            let list = host.webhook_list(tenant)?;
            let header = format!("{:<28} {:<40} TOPICS", "ID", "URL");
            super::print_list(&list, *json, Some("no webhooks"), &header, |w| {
                format!("{:<28} {:<40} {}", w.id, w.url, w.topics.join(" "))
            })
        }
        WebhookCommand::Remove { tenant, id } => {
            host.webhook_remove(tenant, id)?;
            println!("removed webhook {id}");
            Ok(())
        }
        WebhookCommand::Deliveries {
            tenant,
            webhook,
            state,
            limit,
            json,
        } => {
            let list = host.webhook_log(tenant, webhook.as_deref(), state.as_deref(), *limit)?;
            let header = format!(
                "{:<16} {:<28} {:<28} {:<10} {:<8} {:<6} ERROR",
                "ID", "WEBHOOK", "TOPIC", "STATE", "ATTEMPTS", "STATUS"
            );
            super::print_list(&list, *json, Some("no deliveries"), &header, |d| {
                format!(
                    "{:<16} {:<28} {:<28} {:<10} {:<8} {:<6} {}",
                    d.id,
                    d.endpoint_id,
                    d.topic,
                    d.state,
                    d.attempts,
                    d.last_status.map_or("-".into(), |s| s.to_string()),
                    d.last_error.as_deref().unwrap_or("-")
                )
            })
        }
        WebhookCommand::Rotate {
            tenant,
            id,
            overlap,
            json,
        } => {
            let overlap = match overlap.as_str() {
                "0" => std::time::Duration::ZERO,
                text => backoffice_host::identity::parse_duration(text)?,
            };
            let rotated = host.webhook_rotate(tenant, id, overlap)?;
            super::print_report(&rotated, *json, |rotated| {
                println!("id      {}", rotated.id);
                println!("secret  {}", rotated.secret);
                match rotated.previous_secret_until_ms {
                    Some(ms) => println!(
                        "the old secret also signs until {} (then only the new one)",
                        backoffice_host::webhooks::rfc3339_ms(ms)
                    ),
                    None => println!("the old secret no longer signs"),
                }
                println!("(the secret is not shown again)");
            })
        }
        WebhookCommand::Replay { tenant, id } => {
            host.webhook_replay(tenant, *id)?;
            println!("delivery {id} will be sent again now, with the same webhook-id");
            Ok(())
        }
    }
}
