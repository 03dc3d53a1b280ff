//! What `backoffice http ...` and `backoffice notify ...` share: the messages plugins
//! queued for a tenant's outbound workers, listed with every attempt to send them,
//! and the retry of a dead one. Each kind of message ([`Kind`]) says what its
//! commands print.

use std::marker::PhantomData;

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;

/// A kind of queued message: the words of its two commands, how to list and retry
/// one, and how a list prints.
pub trait Kind: std::fmt::Debug {
    /// What `list` does.
    const LIST: &'static str;
    /// The states `list --state` takes.
    const STATE: &'static str;
    /// What `retry` does.
    const RETRY: &'static str;
    /// Where `retry` takes its id from.
    const ID: &'static str;
    /// A message as listed, with its attempts.
    type View: serde::Serialize;

    /// The tenant's messages, newest first, in `state` if given, at most `limit`.
    fn list(
        host: &Host,
        tenant: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Self::View>, HostError>;
    /// Send the dead message `id` again.
    fn retry(host: &Host, tenant: &str, id: i64) -> Result<(), HostError>;
    /// The header of the list's table.
    fn header() -> String;
    /// A message's line in the table.
    fn line(view: &Self::View) -> String;
    /// What `retry` prints once `id` is pending again.
    fn retried(tenant: &str, id: i64) -> String;
}

/// The commands of a kind of message: `list` and `retry`.
#[derive(Debug, Subcommand)]
pub enum OutboundCommand<K: Kind> {
    #[command(about = K::LIST)]
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        #[arg(long, help = K::STATE)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[arg(skip)]
        kind: PhantomData<K>,
    },
    #[command(about = K::RETRY)]
    Retry {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        #[arg(help = K::ID)]
        id: i64,
    },
}

/// Run a command of a kind of message.
pub fn run<K: Kind>(host: &Host, cmd: &OutboundCommand<K>) -> Result<(), HostError> {
    match cmd {
        OutboundCommand::List {
            tenant,
            state,
            limit,
            json,
            ..
        } => {
            let list = K::list(host, tenant, state.as_deref(), *limit)?;
            super::print_list(&list, *json, None, &K::header(), K::line)
        }
        OutboundCommand::Retry { tenant, id } => {
            K::retry(host, tenant, *id)?;
            println!("{}", K::retried(tenant, *id));
            Ok(())
        }
    }
}
