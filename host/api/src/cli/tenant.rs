//! `backoffice tenant ...`

use std::path::PathBuf;

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;

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
    /// Copy a tenant's database to a file, consistently, while the host may be serving.
    ///
    /// The copy is a standalone SQLite file (readable by its owner only: it holds
    /// password and token hashes). An existing FILE is never overwritten. The backup
    /// is recorded in the host's audit chain. SQLite only: on PostgreSQL use pg_dump.
    Backup {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// File to write; must not exist.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a tenant's data with a backup from `tenant backup`.
    ///
    /// STOP `backoffice serve` (every host process using this data directory) first:
    /// a running server keeps the old file open and would go on using it. The file is
    /// checked before anything changes: it must be a sound SQLite database with the
    /// tenant tables, holding rows of this tenant only, made in this data directory.
    /// Then it replaces the tenant's file in one atomic rename. Everything the tenant
    /// did after the backup is gone, including the newest links of its audit chain;
    /// the host's audit chain records the restore and the replaced chain head. Other
    /// tenants are not touched. SQLite only: on PostgreSQL use pg_restore.
    Restore {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Backup file written by `tenant backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write all of a tenant's data into a new folder as JSON lines, for a company
    /// taking its data elsewhere.
    ///
    /// DIR gets `plugins/<plugin>.jsonl` (one line per key: {"key", "value"} with the
    /// value as JSON, or {"key", "value_hex"} when it is not JSON), `users.jsonl`
    /// (with their roles; no password hashes), `roles.jsonl`, `tokens.jsonl` (which
    /// tokens exist; no hashes), `events.jsonl`, `jobs.jsonl`, `webhooks.jsonl`
    /// (endpoints; no secrets), `webhook_deliveries.jsonl`, `audit.jsonl` (the
    /// tenant's audit chain with its hashes, verifiable without this host) and,
    /// written last, `tenant.json` describing the export. DIR must not exist or be
    /// empty. Works on SQLite and PostgreSQL.
    Export {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Folder to create.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a tenant and all of its data for good: plugin data, events, jobs, users,
    /// roles, tokens and its audit chain (on SQLite, its file). The host audit chain
    /// records the deletion with the tenant chain's last link. Needs --purge; export
    /// the tenant first if its data must be kept.
    Delete {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Confirm that every trace of the tenant's data goes.
        #[arg(long)]
        purge: bool,
        /// Print JSON.
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
            let empty = "no tenants; create one with `backoffice tenant create <id>`";
            let header = format!("{:<24} {:<32} {:<20} CREATED", "ID", "NAME", "TIME ZONE");
            super::print_list(&tenants, *json, Some(empty), &header, |t| {
                format!(
                    "{:<24} {:<32} {:<20} {}",
                    t.id, t.name, t.time_zone, t.created_at
                )
            })?;
        }
        TenantCommand::Backup { tenant, out, json } => {
            let report = host.backup_tenant(tenant, out)?;
            super::print_report(&report, *json, |report| {
                println!(
                    "backed up tenant '{tenant}' to {} ({} bytes, audit chain at link {})",
                    report.file.display(),
                    report.summary.bytes,
                    report.summary.audit_seq.unwrap_or(0)
                );
            })?;
        }
        TenantCommand::Restore { tenant, from, json } => {
            let report = host.restore_tenant(tenant, from)?;
            super::print_report(&report, *json, |report| {
                println!(
                    "restored tenant '{tenant}' from {} (audit chain at link {}, was {}; {})",
                    report.from.display(),
                    report.summary.restored.audit_seq.unwrap_or(0),
                    report.summary.replaced_audit_seq.unwrap_or(0),
                    if report.audit_ok {
                        "chain verifies"
                    } else {
                        "chain DOES NOT verify: run `backoffice audit verify`"
                    }
                );
            })?;
        }
        TenantCommand::Delete {
            tenant,
            purge,
            json,
        } => {
            let report = host.delete_tenant(tenant, *purge)?;
            super::print_report(&report, *json, |report| {
                println!(
                    "deleted tenant '{tenant}' and its data ({} rows); the host audit chain records it",
                    report.rows
                );
            })?;
        }
        TenantCommand::Export { tenant, out, json } => {
            let report = host.export_tenant(tenant, out)?;
            super::print_report(&report, *json, |report| {
                println!("exported tenant '{tenant}' to {}:", report.folder.display());
                for f in &report.files {
                    println!("  {:<32} {} lines", f.file, f.lines);
                }
            })?;
        }
    }
    Ok(())
}
