//! `backoffice token ...`: API tokens for integrations.

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;
use backoffice_host::identity::parse_duration;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user. The token is printed once, on standard output;
    /// only its hash is kept.
    Create {
        /// The user the token acts as; it gets that user's roles.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        scope: super::user::UserScope,
        /// A label, such as the integration it is for.
        #[arg(long)]
        name: String,
        /// Lifetime such as 90d, 12h, 30m; no expiry when absent.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        scope: super::user::UserScope,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke {
        /// Token id, as shown by `token list`.
        id: String,
    },
}

pub fn run(host: &Host, cmd: &TokenCommand) -> Result<(), HostError> {
    match cmd {
        TokenCommand::Create {
            user,
            scope,
            name,
            expires_in,
        } => {
            let ttl = expires_in.as_deref().map(parse_duration).transpose()?;
            let new = host.create_token(scope.tenant.as_deref(), user, name, ttl)?;
            eprintln!(
                "created token {} for user '{user}'{}; it is shown only now, store it safely:",
                new.record.id,
                new.record
                    .expires_at
                    .as_deref()
                    .map(|at| format!(", expires {at}"))
                    .unwrap_or_default()
            );
            println!("{}", new.token);
        }
        TokenCommand::List { scope, json } => {
            let tokens = host.tokens(scope.tenant.as_deref())?;
            let header = format!(
                "{:<18} {:<16} {:<8} {:<20} {:<22} {:<22} STATE",
                "ID", "USER", "KIND", "NAME", "EXPIRES", "LAST USED"
            );
            super::print_list(&tokens, *json, None, &header, |t| {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                format!(
                    "{:<18} {:<16} {:<8} {:<20} {:<22} {:<22} {state}",
                    t.id,
                    t.username,
                    t.kind,
                    t.name,
                    t.expires_at.as_deref().unwrap_or("never"),
                    t.last_used_at.as_deref().unwrap_or("never"),
                )
            })?;
        }
        TokenCommand::Revoke { id } => {
            host.revoke_token(id)?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}
