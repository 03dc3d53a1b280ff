//! `backoffice migrate-storage --from sqlite:PATH --to postgres://...`

use std::path::PathBuf;

use backoffice_host::error::HostError;
use backoffice_host::store::{PostgresStorage, migrate_sqlite_to_postgres, redact_url};
use backoffice_host::{Host, HostConfig};

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The installation to copy: `sqlite:PATH` of its backoffice.db (stop its hosts
    /// first, or the copy misses what they write afterwards).
    #[arg(long)]
    from: String,
    /// The PostgreSQL database to copy into; it must be empty (`createdb` a new one).
    #[arg(long)]
    to: String,
}

pub fn run(mut config: HostConfig, args: &MigrateArgs) -> Result<(), HostError> {
    let Some(path) = args.from.strip_prefix("sqlite:") else {
        return Err(HostError::InvalidInput(format!(
            "--from '{}' must name a SQLite database as sqlite:PATH, such as sqlite:/var/lib/backoffice/backoffice.db",
            args.from
        )));
    };
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        return Err(HostError::InvalidInput(format!(
            "--to '{}' must be a PostgreSQL URL: postgres://user:password@host:port/database",
            redact_url(&args.to)
        )));
    }
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(HostError::NotFound(format!(
            "no SQLite database at {}; pass the backoffice.db of the installation's data directory",
            path.display()
        )));
    }
    let target = PostgresStorage::open(&args.to)?;
    let report = migrate_sqlite_to_postgres(&path, &target, &super::progress::Bar::default())?;
    drop(target);
    // Verify through a host on the copy, exactly as `audit verify` would, with the
    // audit key of the copied chains: the one beside the source database unless
    // --audit-key-file names another.
    config.database = Some(args.to.clone());
    if config.audit_key_file.is_none() {
        let dir = path.parent().unwrap_or_else(|| std::path::Path::new("."));
        config.audit_key_file = Some(dir.join(backoffice_host::audit::KEY_FILE));
    }
    let host = Host::open(config)?;
    let audit = host.audit_verify(None)?;
    let links: u64 = audit.chains.iter().map(|c| c.links).sum();
    let out = serde_json::json!({
        "from": path,
        "to": redact_url(&args.to),
        "tables": report.tables.iter().map(|(t, n)| serde_json::json!({"table": t, "rows": n})).collect::<Vec<_>>(),
        "audit": { "ok": audit.ok, "chains": audit.chains.len(), "links": links },
    });
    super::print_json(&out)?;
    if !audit.ok {
        let broken: Vec<String> = audit
            .chains
            .iter()
            .filter_map(|c| c.broken_at.map(|at| format!("'{}' at link {at}", c.tenant)))
            .collect();
        return Err(HostError::Integrity(format!(
            "the copied audit log does not verify: {}; the source is unchanged, check it with `backoffice audit verify`",
            broken.join(", ")
        )));
    }
    Ok(())
}
