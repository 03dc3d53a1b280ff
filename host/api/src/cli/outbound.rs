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
    const LIST_ABOUT: &'static str;
    /// The states `list --state` takes.
    const STATE_HELP: &'static str;
    /// What `retry` does.
    const RETRY_ABOUT: &'static str;
    /// Where `retry` takes its id from.
    const ID_HELP: &'static str;
    /// A message as listed, with its attempts.
    type View: serde::Serialize;
    /// The tenant's messages, newest first, in a state if given, at most so many
    /// ([`Host::http_list`] and its kin).
    const LIST: ListFn<Self::View>;
    /// Send a tenant's dead message again ([`Host::http_retry`] and its kin).
    const RETRY: fn(&Host, &str, i64) -> Result<(), HostError>;

    /// The list's columns but the last, each name with its width.
    const COLUMNS: &'static [(&'static str, usize)];
    /// A message's cells: one per column, then the last (`LAST ERROR`).
    fn cells(view: &Self::View) -> Vec<String>;
    /// What `retry` prints once `id` is pending again.
    fn retried(tenant: &str, id: i64) -> String;
}

/// What lists a kind of message: the host, the tenant, the state to filter by and the
/// most messages to list.
pub type ListFn<V> = fn(&Host, &str, Option<&str>, u32) -> Result<Vec<V>, HostError>;

/// The commands of a kind of message: `list` and `retry`.
#[derive(Debug, Subcommand)]
pub enum OutboundCommand<K: Kind> {
    #[command(about = K::LIST_ABOUT)]
    List {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        #[arg(long, help = K::STATE_HELP)]
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
    #[command(about = K::RETRY_ABOUT)]
    Retry {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        #[arg(help = K::ID_HELP)]
        id: i64,
    },
}

/// A line of the list's table: each of `cells` padded to its column's width, then
/// `last`.
fn padded(
    columns: &[(&str, usize)],
    cells: impl IntoIterator<Item = impl std::fmt::Display>,
    last: &str,
) -> String {
    let mut line = String::new();
    for ((_, width), cell) in columns.iter().zip(cells) {
        line.push_str(&format!("{cell:<width$} "));
    }
    line + last
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
            let list = (K::LIST)(host, tenant, state.as_deref(), *limit)?;
            let header = padded(
                K::COLUMNS,
                K::COLUMNS.iter().map(|(name, _)| *name),
                "LAST ERROR",
            );
            super::print_list(&list, *json, None, &header, |view| {
                let mut cells = K::cells(view);
                let last = cells.pop().unwrap_or_default();
                padded(K::COLUMNS, cells, &last)
            })
        }
        OutboundCommand::Retry { tenant, id } => {
            (K::RETRY)(host, tenant, *id)?;
            println!("{}", K::retried(tenant, *id));
            Ok(())
        }
    }
}
