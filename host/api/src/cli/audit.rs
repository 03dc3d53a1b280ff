//! `backoffice audit ...`: read and verify the audit chains.

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::audit::parse_since;
use backoffice_host::error::HostError;
use backoffice_host::store::AuditQuery;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit links, oldest first.
    List {
        /// Only this tenant's chain.
        #[arg(long)]
        tenant: Option<String>,
        /// Only links at or after this date (2026-01-31) or RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// At most this many links.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recompute every chain against its anchor and report the first broken link of
    /// each: an edited, deleted or cut link, or a chain deleted whole. Exits with 7
    /// when a chain is broken. Keep the printed heads elsewhere: a database rolled
    /// back to an older copy of a chain and its anchor verifies, but its head is older.
    Verify {
        /// Only this tenant's chain.
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn chain_name(tenant: &str) -> &str {
    if tenant.is_empty() { "(host)" } else { tenant }
}

pub fn run(host: &Host, cmd: &AuditCommand) -> Result<(), HostError> {
    match cmd {
        AuditCommand::List {
            tenant,
            since,
            limit,
            json,
        } => {
            let links = host.audit_list(&AuditQuery {
                tenant: tenant.clone(),
                since: since.as_deref().map(parse_since).transpose()?,
                after_seq: None,
                limit: (*limit).clamp(1, 100_000),
            })?;
            let header = format!(
                "{:<27} {:<12} {:>6} {:<28} {:<18} {:<36} OUTCOME",
                "AT", "CHAIN", "SEQ", "ACTOR", "ACTION", "TARGET"
            );
            super::print_list(&links, *json, None, &header, |l| {
                format!(
                    "{:<27} {:<12} {:>6} {:<28} {:<18} {:<36} {}",
                    l.at,
                    chain_name(&l.tenant),
                    l.seq,
                    l.actor,
                    l.action,
                    l.target,
                    l.outcome
                )
            })?;
        }
        AuditCommand::Verify { tenant, json } => {
            let report = host.audit_verify(tenant.as_deref())?;
            super::print_report(&report, *json, |report| {
                for c in &report.chains {
                    match (&c.broken_at, &c.problem) {
                        (Some(at), Some(problem)) => println!(
                            "chain {}: BROKEN at link {at}: {problem}",
                            chain_name(&c.tenant)
                        ),
                        _ => println!(
                            "chain {}: ok, {} links{}, head {}",
                            chain_name(&c.tenant),
                            c.links,
                            match c.keyed_from {
                                Some(from) if from > 1 && c.links > 0 => format!(
                                    " (1 to {} from before audit keys: plain SHA-256)",
                                    (from - 1).min(c.links)
                                ),
                                _ => String::new(),
                            },
                            c.head.as_deref().unwrap_or("-")
                        ),
                    }
                }
            })?;
            if let Some(bad) = report.chains.iter().find(|c| c.broken_at.is_some()) {
                return Err(HostError::Integrity(format!(
                    "audit chain {} is broken at link {}; investigate who changed the database",
                    chain_name(&bad.tenant),
                    bad.broken_at.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}
