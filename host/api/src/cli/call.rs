//! `backoffice call`: invoke an operation as the operator at the command line, who
//! holds every permission (the audit log names the operating-system user).

use std::io::Read;

use backoffice_host::Host;
use backoffice_host::auth::Principal;
use backoffice_host::error::HostError;

#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// Tenant to run the operation for.
    #[arg(long)]
    tenant: String,
    /// Plugin id.
    plugin: String,
    /// Operation name.
    operation: String,
    /// JSON input; read from stdin when absent.
    #[arg(long)]
    input: Option<String>,
    /// Run the operation and roll it back: print its output and what it would have
    /// done (nested calls, events, scheduled runs, storage changes); nothing is kept.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(host: &Host, args: &CallArgs) -> Result<(), HostError> {
    let input = match &args.input {
        Some(text) => text.clone(),
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                HostError::InvalidInput(format!("cannot read input from stdin: {e}"))
            })?;
            if text.trim().is_empty() {
                return Err(HostError::InvalidInput(
                    "no input: pass --input '<json>' or pipe JSON on stdin".into(),
                ));
            }
            text
        }
    };
    let principal = Principal::operator(&super::os_user());
    let (tenant, plugin, operation) = (&args.tenant, &args.plugin, &args.operation);
    let output = if args.dry_run {
        host.dry_run(tenant, plugin, operation, &input, &principal)
            .and_then(|d| serde_json::to_value(d).map_err(|e| HostError::Internal(e.to_string())))
    } else {
        host.invoke(tenant, plugin, operation, &input, &principal)
    };
    // A plugin compiled for this call wrote a cache file: record its digest so the
    // next process may load it.
    if let Err(e) = host.record_code_digests() {
        tracing::warn!(error = %e, "cannot record compiled-code cache digests");
    }
    super::print_json(&output?)
}
