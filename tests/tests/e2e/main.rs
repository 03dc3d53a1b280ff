//! The end-to-end suite: the real binary, the HTTP API, the sandbox and the bundled
//! plugins, driven as a user would.
//!
//! Every area is a module of this one test binary rather than a binary of its own:
//! each test binary links the whole host with wasmtime and Cranelift (about 80 MB),
//! so twenty of them cost CI gigabytes of disk and minutes of linking. Run one area
//! with a filter, e.g. `cargo test -p backoffice-tests --test e2e payroll::`.

mod audit_chain;
mod background;
mod banking;
mod banking_clear;
mod batch;
mod big_import;
mod busy;
mod cli;
mod compliance;
mod console;
mod contacts;
mod crash;
mod dry_run;
mod events;
mod http;
mod http_limits;
mod in_place;
mod invoicing;
mod invoicing_fx;
mod js_plugin;
mod ledger;
mod ledger_close;
mod ledger_hledger;
mod ledger_journal;
mod ledger_revalue;
mod ledger_tags;
mod lifecycle;
mod metrics;
mod multihost;
mod notify;
mod outbound;
mod pack;
mod payroll;
mod plugin_limits;
mod plugins_call;
mod postgres;
mod python_plugin;
mod read_only;
mod sandbox;
mod scaffold;
mod scheduler;
mod security;
mod settings;
mod tenant_files;
mod training;
mod waits;
mod webhooks;
