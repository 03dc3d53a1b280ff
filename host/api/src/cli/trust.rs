//! `backoffice keygen` and `backoffice trust ...`: vendor keys.

use std::path::PathBuf;

use clap::Subcommand;

use backoffice_host::Host;
use backoffice_host::error::HostError;

/// `backoffice keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Vendor name: the `vendor` of the plugins this key signs.
    #[arg(long)]
    name: String,
    /// Directory to write `<name>.key` (secret, mode 0600) and `<name>.pub` into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust a vendor's public key for plugins whose manifest names that vendor.
    Add {
        /// The `<vendor>.pub` file.
        file: PathBuf,
        /// Vendor name the key signs for.
        #[arg(long)]
        name: String,
    },
    /// List trusted keys.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting every key of a vendor (installed plugins stay installed).
    Remove {
        /// Vendor name.
        name: String,
    },
}

pub fn keygen(args: &KeygenArgs) -> Result<(), HostError> {
    let files = backoffice_host::trust::keygen(&args.name, &args.out)?;
    println!(
        "wrote {} (secret: keep it private) and {} (give it to admins)",
        files.secret.display(),
        files.public.display()
    );
    println!("public key: {}", files.public_key);
    Ok(())
}

pub fn run(host: &Host, cmd: &TrustCommand) -> Result<(), HostError> {
    match cmd {
        TrustCommand::Add { file, name } => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                HostError::InvalidInput(format!("cannot read {}: {e}", file.display()))
            })?;
            let key = host.trust_add(name, &text)?;
            println!("trusting key {} for vendor '{name}'", key.public_key);
            Ok(())
        }
        TrustCommand::List { json } => {
            let keys = host.trusted_keys()?;
            let empty =
                "no trusted keys; add one with `backoffice trust add <vendor.pub> --name <vendor>`";
            let header = format!("{:<20} {:<66} ADDED", "NAME", "KEY");
            super::print_list(&keys, *json, Some(empty), &header, |k| {
                format!("{:<20} {:<66} {}", k.name, k.public_key, k.added_at)
            })
        }
        TrustCommand::Remove { name } => {
            let n = host.trust_remove(name)?;
            println!("no longer trusting {n} key(s) of '{name}'");
            Ok(())
        }
    }
}
