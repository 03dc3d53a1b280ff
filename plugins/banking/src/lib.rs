//! Banking: bank accounts mapped to ledger accounts, statements imported from CSV
//! (with a saved column mapping), ISO 20022 camt.053 or OFX, each line kept with its raw
//! data and duplicates skipped; lines matched to open invoices and bills of the
//! `invoicing` plugin or by rules to a ledger account, and statements reconciled
//! against the ledger's balance. See `docs/plugins/banking.md`.
//!
//! Pure logic, unit-tested natively: [`iban`], [`csv`], [`camt`], [`ofx`], [`matching`];
//! [`ops`] glues them to storage and to the ledger and invoicing plugins.

pub mod camt;
pub mod csv;
pub mod iban;
pub mod matching;
pub mod model;
pub mod ofx;
mod ops;
pub mod postings;

use backoffice_sdk::prelude::*;

/// The plugin.
pub struct Banking;

impl Plugin for Banking {
    fn operations() -> Operations {
        Operations::new()
            .op("add-account", ops::add_account)
            .op("list-accounts", ops::list_accounts)
            .op("save-csv-mapping", ops::save_mapping)
            .op("list-csv-mappings", ops::list_mappings)
            .op("import-csv", ops::import_csv)
            .op("import-camt053", ops::import_camt)
            .op("import-ofx", ops::import_ofx)
            .op("list-statements", ops::list_statements)
            .op("get-statement", ops::get_statement)
            .op("set-rule", ops::set_rule)
            .op("list-rules", ops::list_rules)
            .op("suggest", ops::suggest)
            .op("confirm-match", ops::confirm)
            .op("reconcile", ops::reconcile)
            .op("unreconciled", ops::unreconciled)
            .op("unmatch", postings::unmatch)
    }
}

backoffice_sdk::export_plugin!(Banking);
