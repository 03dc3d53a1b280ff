//! `backoffice events ...`: the event outbox and what was delivered to whom.

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::store::EventFilter;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events, newest first, with the delivery state per subscriber.
    List {
        /// Only this tenant's events.
        #[arg(long)]
        tenant: Option<String>,
        /// Only events of this topic.
        #[arg(long)]
        topic: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revive a dead delivery so it is attempted again.
    Retry {
        /// Delivery id from `events list --json`.
        id: i64,
    },
    /// Let a plugin emit a topic outside its own `<id>.` prefix that its manifest
    /// declares under `emits`.
    Grant {
        /// Plugin id.
        plugin: String,
        /// The topic, such as `ledger.entry-posted`.
        topic: String,
    },
}

pub fn run(host: &Host, cmd: &EventsCommand) -> Result<(), HostError> {
    match cmd {
        EventsCommand::List {
            tenant,
            topic,
            limit,
            json,
        } => {
            let filter = EventFilter {
                tenant: tenant.clone(),
                topic: topic.clone(),
                limit: *limit,
            };
            let events = host.event_views(&filter)?;
            let header = format!(
                "{:<8} {:<12} {:<6} {:<32} {:<16} DELIVERIES",
                "ID", "TENANT", "SEQ", "TOPIC", "EMITTER"
            );
            super::print_list(&events, *json, Some("no events"), &header, |e| {
                let deliveries: Vec<String> = e
                    .deliveries
                    .iter()
                    .map(|d| format!("{}={}({})", d.subscriber, d.state, d.attempts))
                    .collect();
                format!(
                    "{:<8} {:<12} {:<6} {:<32} {:<16} {}",
                    e.id,
                    e.tenant,
                    e.seq,
                    e.topic,
                    e.plugin,
                    if deliveries.is_empty() {
                        "-".into()
                    } else {
                        deliveries.join(" ")
                    }
                )
            })
        }
        EventsCommand::Retry { id } => {
            host.retry_delivery(*id)?;
            println!("delivery {id} will be attempted again now");
            Ok(())
        }
        EventsCommand::Grant { plugin, topic } => {
            host.grant_topic(plugin, topic)?;
            println!("granted '{plugin}' the right to emit '{topic}'");
            Ok(())
        }
    }
}
