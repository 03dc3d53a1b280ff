//! The `backoffice` command line: one file per command group.
//!
//! Exit codes: 0 success, 1 host failure, 2 bad input or usage, 3 not found,
//! 4 conflict, 5 forbidden, not enabled or unauthenticated, 6 the plugin failed (trap,
//! limit, error), 7 an integrity check failed (`audit verify`).

mod audit;
mod call;
mod events;
mod http;
mod import;
mod jobs;
mod migrate;
mod notify;
mod outbound;
mod plugin;
mod progress;
mod serve;
mod settings;
mod tenant;
mod token;
mod trust;
mod user;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use backoffice_host::error::HostError;
use backoffice_host::runtime::{Limits, Quotas};
use backoffice_host::store::Durability;
use backoffice_host::{Host, HostConfig};

/// Run a company's back office as sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "backoffice", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command accepts.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Directory holding the database and compiled-code cache.
    /// [default: $XDG_DATA_HOME/backoffice or ~/.local/share/backoffice]
    #[arg(long, env = "BACKOFFICE_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Keep all state in this PostgreSQL database (postgres://user:password@host:port/db),
    /// shared by every host naming it, instead of SQLite in the data directory (which
    /// then holds only the compiled-code cache).
    #[arg(
        long,
        env = "BACKOFFICE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database: Option<String>,
    /// The file holding the key that seals the audit chains (32 random bytes as hex,
    /// mode 0600), made on first start; keep a copy with the database's backups. Every
    /// host sharing a PostgreSQL database needs the same file.
    /// [default: <data-dir>/audit.key]
    #[arg(long, env = "BACKOFFICE_AUDIT_KEY_FILE", global = true)]
    audit_key_file: Option<PathBuf>,
    /// Commit durability: `full` survives a power cut, `normal` only a host crash.
    #[arg(long, env = "BACKOFFICE_DURABILITY", value_enum, default_value_t = Durability::Full, global = true)]
    durability: Durability,
    /// Deadline of one plugin operation, in milliseconds.
    #[arg(
        long,
        env = "BACKOFFICE_CALL_TIMEOUT_MS",
        default_value_t = 2000,
        global = true
    )]
    call_timeout_ms: u64,
    /// Memory cap of one plugin instance, all memories together, in MiB.
    #[arg(
        long,
        env = "BACKOFFICE_MEMORY_LIMIT_MIB",
        default_value_t = 64,
        global = true
    )]
    memory_limit_mib: usize,
    /// Policy: the most memory a plugin may declare in its `[limits]`, in MiB; a
    /// plugin declaring more is refused at install. Pool slots are sized for it.
    #[arg(
        long,
        env = "BACKOFFICE_MAX_PLUGIN_MEMORY_MIB",
        default_value_t = 256,
        global = true
    )]
    max_plugin_memory_mib: usize,
    /// Policy: the longest default call deadline a plugin may declare in its
    /// `[limits]`, in milliseconds; a plugin declaring more is refused at install.
    #[arg(
        long,
        env = "BACKOFFICE_MAX_PLUGIN_DEADLINE_MS",
        default_value_t = 30_000,
        global = true
    )]
    max_plugin_deadline_ms: u64,
    /// Deadline of one tenant's migration of a plugin (run when it is enabled or
    /// upgraded), in milliseconds.
    #[arg(
        long,
        env = "BACKOFFICE_MIGRATION_TIMEOUT_MS",
        default_value_t = 60_000,
        global = true
    )]
    migration_timeout_ms: u64,
    /// Deadline of one job run or event delivery, in milliseconds; `--lease-ms` must
    /// be longer.
    #[arg(
        long,
        env = "BACKOFFICE_BACKGROUND_TIMEOUT_MS",
        default_value_t = 60_000,
        global = true
    )]
    background_timeout_ms: u64,
    #[command(flatten)]
    work: jobs::WorkArgs,
    #[command(flatten)]
    quotas: QuotaArgs,
}

/// Quotas per tenant and plugin, and on failing calls per user (`docs/security.md`).
#[derive(Debug, clap::Args)]
struct QuotaArgs {
    /// Data (keys plus values) one plugin may keep in one tenant, in MiB.
    #[arg(
        long,
        env = "BACKOFFICE_QUOTA_STORED_MIB",
        default_value_t = 1024,
        global = true
    )]
    quota_stored_mib: u64,
    /// Keys one plugin may keep in one tenant.
    #[arg(
        long,
        env = "BACKOFFICE_QUOTA_STORED_KEYS",
        default_value_t = 1_000_000,
        global = true
    )]
    quota_stored_keys: u64,
    /// Events one call may emit.
    #[arg(
        long,
        env = "BACKOFFICE_QUOTA_EVENTS_PER_CALL",
        default_value_t = 10_000,
        global = true
    )]
    quota_events_per_call: u64,
    /// One-off runs one call may schedule.
    #[arg(
        long,
        env = "BACKOFFICE_QUOTA_RUNS_PER_CALL",
        default_value_t = 1_000,
        global = true
    )]
    quota_runs_per_call: u64,
    /// Events one plugin may emit in one tenant per UTC day.
    #[arg(
        long,
        env = "BACKOFFICE_QUOTA_EVENTS_PER_DAY",
        default_value_t = 1_000_000,
        global = true
    )]
    quota_events_per_day: u64,
    /// One-off runs one plugin may schedule in one tenant per UTC day.
    #[arg(
        long,
        env = "BACKOFFICE_QUOTA_RUNS_PER_DAY",
        default_value_t = 100_000,
        global = true
    )]
    quota_runs_per_day: u64,
    /// Failed calls one user may make per hour before further calls are refused until
    /// the hour ends (0: no limit).
    #[arg(
        long,
        env = "BACKOFFICE_QUOTA_FAILED_CALLS_PER_HOUR",
        default_value_t = 1_000,
        global = true
    )]
    quota_failed_calls_per_hour: u64,
}

impl QuotaArgs {
    fn quotas(&self) -> Quotas {
        Quotas {
            stored_bytes: self.quota_stored_mib.saturating_mul(1 << 20),
            stored_keys: self.quota_stored_keys,
            events_per_call: self.quota_events_per_call,
            runs_per_call: self.quota_runs_per_call,
            events_per_day: self.quota_events_per_day,
            runs_per_day: self.quota_runs_per_day,
            failed_calls_per_hour: self.quota_failed_calls_per_hour,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, list, back up, restore and export tenants (companies).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Install, list, enable, disable and remove plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Invoke a plugin operation for a tenant and print its JSON output.
    Call(call::CallArgs),
    /// The ledger's helpers: import a journal of any size.
    #[command(subcommand)]
    Ledger(import::LedgerCommand),
    /// The banking plugin's helpers: import a statement of any size.
    #[command(subcommand)]
    Banking(import::BankingCommand),
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Scheduled jobs: list, history, run now, retry.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Events between plugins and their delivery.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Tenant settings of plugins: list, set, unset.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// Webhooks for integrators: subscribe endpoints to event topics, see and replay
    /// deliveries.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Email notifications plugins queued for a tenant's people: list them with
    /// every attempt, retry a dead one.
    #[command(subcommand)]
    Notify(outbound::OutboundCommand<notify::Notify>),
    /// Outbound HTTP requests plugins queued for a tenant: list them with every
    /// attempt, retry a dead one.
    #[command(subcommand)]
    Http(outbound::OutboundCommand<http::Http>),
    /// Create, update and list users; give them roles.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Create roles and grant or revoke their permissions.
    #[command(subcommand)]
    Role(user::RoleCommand),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// List and verify the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Create a vendor signing key pair (no host needed).
    Keygen(trust::KeygenArgs),
    /// Copy a single-machine SQLite installation into an empty PostgreSQL database,
    /// then verify row counts and every audit chain there.
    MigrateStorage(migrate::MigrateArgs),
    /// Trust, list and remove vendor keys that sign plugins.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
}

/// The operating-system user running the command, for the audit log.
fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

impl GlobalArgs {
    fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("backoffice")
    }

    fn limits(&self) -> Limits {
        Limits {
            call_deadline: Duration::from_millis(self.call_timeout_ms.max(1)),
            memory_bytes: self.memory_limit_mib.max(1) << 20,
            max_plugin_memory_bytes: self.max_plugin_memory_mib.max(1) << 20,
            max_plugin_deadline: Duration::from_millis(self.max_plugin_deadline_ms.max(1)),
            migration_deadline: Duration::from_millis(self.migration_timeout_ms.max(1)),
            background_deadline: Duration::from_millis(self.background_timeout_ms.max(1)),
            quotas: self.quotas.quotas(),
            ..Limits::default()
        }
    }

    /// The host's configuration, with a warning when a worker's lease would not
    /// outlast the deadline of the work it holds (another worker could take over work
    /// that is still running). A warning, not a refusal: hosts running only short
    /// jobs with a short lease keep starting.
    fn config(&self) -> Result<HostConfig, HostError> {
        let work = self.work.config();
        let limits = self.limits();
        if work.lease <= limits.background_deadline {
            tracing::warn!(
                "--lease-ms ({} ms) is not longer than --background-timeout-ms ({} ms): a job or event delivery still running when its lease ends could be run a second time by another worker; raise --lease-ms or lower --background-timeout-ms",
                work.lease.as_millis(),
                limits.background_deadline.as_millis()
            );
        }
        Ok(HostConfig {
            limits,
            work,
            durability: self.durability,
            database: self.database.clone(),
            audit_key_file: self.audit_key_file.clone(),
            operator: format!("cli:{}", os_user()),
            progress: std::sync::Arc::new(progress::Bar::default()),
            ..HostConfig::new(self.data_dir())
        })
    }

    fn open(&self) -> Result<Host, HostError> {
        Host::open(self.config()?)
    }
}

/// Print `value` as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), HostError> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| HostError::Internal(format!("cannot encode output: {e}")))?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        // The reader went away (`backoffice call ... | head`): the work is done and
        // committed, and nobody wants the rest of the output.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(HostError::Internal(format!("cannot write output: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// A command's answer: `value` as JSON with `--json`, else as `text` prints it.
fn print_report<T: serde::Serialize>(
    value: &T,
    json: bool,
    text: impl FnOnce(&T),
) -> Result<(), HostError> {
    if json {
        return print_json(value);
    }
    text(value);
    Ok(())
}

/// A list command's output: `list` as JSON with `--json`; else `empty` when there is
/// nothing to list (`None`: the header alone), or `header` and a line per item.
fn print_list<T: serde::Serialize>(
    list: &[T],
    json: bool,
    empty: Option<&str>,
    header: &str,
    line: impl Fn(&T) -> String,
) -> Result<(), HostError> {
    if json {
        return print_json(&list);
    }
    if let Some(empty) = empty
        && list.is_empty()
    {
        println!("{empty}");
        return Ok(());
    }
    println!("{header}");
    for item in list {
        println!("{}", line(item));
    }
    Ok(())
}

/// `println!` panics when stdout is a pipe whose reader has exited (Rust ignores
/// SIGPIPE). For a command-line tool that is the normal end of `... | head`: leave
/// quietly, as a C tool killed by SIGPIPE would, instead of printing a panic.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Parse the command line, run it and map the outcome to an exit code.
pub fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BACKOFFICE_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("warn,plugin=info,backoffice=info,tower_http=info")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Commands run plugin code (`call`, `plugin enable` runs migrations, `jobs run`...)
    // on their own thread: run them on one with the stack nested calls need, whatever
    // `ulimit -s` gave the main thread (see `runtime::stack`).
    let stack = cli.global.limits().native_stack_bytes();
    let result = backoffice_host::runtime::stack::on_thread_with(stack, || run(&cli))
        .unwrap_or_else(|e| {
            Err(HostError::Internal(format!(
                "cannot start a thread with {stack} bytes of stack for the command: {e}"
            )))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Run the parsed command.
fn run(cli: &Cli) -> Result<(), HostError> {
    match &cli.command {
        Command::Tenant(cmd) => cli.global.open().and_then(|h| tenant::run(&h, cmd)),
        Command::Plugin(plugin::PluginCommand::New(args)) => plugin::new(args),
        Command::Plugin(plugin::PluginCommand::Pack(args)) => plugin::pack(args),
        Command::Plugin(cmd) => cli.global.open().and_then(|h| plugin::run(&h, cmd)),
        Command::Call(args) => cli.global.open().and_then(|h| call::run(&h, args)),
        Command::Ledger(cmd) => cli.global.open().and_then(|h| import::run_ledger(&h, cmd)),
        Command::Banking(cmd) => cli.global.open().and_then(|h| import::run_banking(&h, cmd)),
        Command::Jobs(cmd) => cli.global.open().and_then(|h| jobs::run(&h, cmd)),
        Command::Events(cmd) => cli.global.open().and_then(|h| events::run(&h, cmd)),
        Command::Settings(cmd) => cli.global.open().and_then(|h| settings::run(&h, cmd)),
        Command::Webhook(cmd) => cli.global.open().and_then(|h| webhook::run(&h, cmd)),
        Command::Notify(cmd) => cli.global.open().and_then(|h| outbound::run(&h, cmd)),
        Command::Http(cmd) => cli.global.open().and_then(|h| outbound::run(&h, cmd)),
        Command::Serve(args) => cli.global.config().and_then(|c| serve::run(c, args)),
        Command::User(cmd) => cli.global.open().and_then(|h| user::run_user(&h, cmd)),
        Command::Role(cmd) => cli.global.open().and_then(|h| user::run_role(&h, cmd)),
        Command::Token(cmd) => cli.global.open().and_then(|h| token::run(&h, cmd)),
        Command::Audit(cmd) => cli.global.open().and_then(|h| audit::run(&h, cmd)),
        Command::Keygen(args) => trust::keygen(args),
        Command::MigrateStorage(args) => cli.global.config().and_then(|c| migrate::run(c, args)),
        Command::Trust(cmd) => cli.global.open().and_then(|h| trust::run(&h, cmd)),
    }
}
