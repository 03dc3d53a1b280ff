//! Read-only CLI commands work while another process holds the database's write lock
//! (an admin looking at a busy `serve`).

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, wasm_path};

#[test]
fn listings_do_not_wait_for_a_writer() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&[
        "plugin",
        "install",
        &wasm_path("contacts").display().to_string(),
        "--yes",
        "--allow-unsigned",
    ])
    .ok();
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();

    // Another process takes the write lock and keeps it.
    let db = rusqlite::Connection::open(cli.dir.path().join("backoffice.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();

    for args in [
        vec!["tenant", "list", "--json"],
        vec!["plugin", "list", "--json"],
        vec!["audit", "list", "--json"],
        vec!["events", "list", "--json"],
        vec!["jobs", "list", "--json"],
        vec!["token", "list", "--tenant", "acme", "--json"],
        vec!["audit", "verify"],
    ] {
        let run = cli
            .command(&args)
            .env("BACKOFFICE_LOG", "error")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{args:?} failed while a writer held the lock: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    db.execute_batch("ROLLBACK").unwrap();
    // Once the writer is gone, writes go through again.
    cli.run(&["tenant", "create", "globex"]).ok();
}
