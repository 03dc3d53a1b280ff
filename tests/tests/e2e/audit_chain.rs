//! Issue 16, finding 5: someone who can write the database files (but cannot read the
//! audit key file) edits, deletes, cuts and drops audit chains behind the host's
//! back; `backoffice audit verify` names the chain and the link and exits with 7.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::audit::{GENESIS, link_hash};
use backoffice_host::store::{AuditRecord, tenant_file};
use backoffice_tests::{Cli, Run};
use serde_json::Value;

/// Two tenants with a few links each (`acme` 4, `beta` 1) and a host chain.
fn setup() -> Cli {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["tenant", "create", "beta"]).ok();
    for user in ["ada", "bob", "cy", "dee"] {
        cli.run(&["user", "create", user, "--tenant", "acme"]).ok();
    }
    cli.run(&["user", "create", "eve", "--tenant", "beta"]).ok();
    cli
}

/// The attacker's handle on a tenant's file.
fn open(cli: &Cli, tenant: &str) -> rusqlite::Connection {
    rusqlite::Connection::open(tenant_file(cli.dir.path(), tenant)).unwrap()
}

fn links(db: &rusqlite::Connection, tenant: &str) -> Vec<AuditRecord> {
    let mut stmt = db
        .prepare(
            "SELECT tenant, seq, at, actor, action, target, outcome, detail, duration_us,
                    prev_hash, hash FROM audit WHERE tenant = ?1 ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([tenant], |r| {
        Ok(AuditRecord {
            tenant: r.get(0)?,
            seq: r.get::<_, i64>(1)? as u64,
            at: r.get(2)?,
            actor: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            outcome: r.get(6)?,
            detail: r.get(7)?,
            duration_us: r.get::<_, Option<i64>>(8)?.map(|d| d as u64),
            prev_hash: r.get(9)?,
            hash: r.get(10)?,
        })
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Rewrite every link of `chain` from `from` on as plain SHA-256 links, each after the
/// one before: what an attacker who knows the algorithm but not the key can compute.
fn rehash_from(db: &rusqlite::Connection, chain: &str, from: u64) {
    let mut prev = GENESIS.to_string();
    for mut link in links(db, chain) {
        if link.seq >= from {
            link.prev_hash = prev.clone();
            link.hash = link_hash(&link);
            db.execute(
                "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE tenant = ?3 AND seq = ?4",
                rusqlite::params![link.prev_hash, link.hash, chain, link.seq as i64],
            )
            .unwrap();
        }
        prev = link.hash;
    }
}

/// `audit verify` fails with exit code 7, naming `chain` broken at `link` on stdout
/// with every fragment in its problem; the JSON report says the same.
fn broken(cli: &Cli, chain: &str, link: u64, fragments: &[&str]) -> Run {
    let run = cli
        .run(&["audit", "verify"])
        .fails(7, &[&format!("audit chain {chain} is broken at link")]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("chain {chain}: ")))
        .unwrap_or_else(|| panic!("no line for chain {chain}: {run:?}"))
        .to_string();
    assert!(
        line.starts_with(&format!("chain {chain}: BROKEN at link {link}: ")),
        "{run:?}"
    );
    for f in fragments {
        assert!(line.contains(f), "'{line}' lacks '{f}'");
    }
    let json = cli.run(&["audit", "verify", "--json"]);
    assert_eq!(json.code, 7, "{json:?}");
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let name = if chain == "(host)" { "" } else { chain };
    let entry = report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant"] == name)
        .unwrap()
        .clone();
    assert_eq!(entry["broken_at"], link, "{entry}");
    run
}

fn verifies(cli: &Cli) -> String {
    let out = cli.run(&["audit", "verify"]).ok();
    assert!(!out.contains("BROKEN"), "{out}");
    out
}

#[test]
fn an_untouched_data_directory_verifies_clean_with_a_private_key_file() {
    let cli = setup();
    let out = verifies(&cli);
    assert!(out.contains("chain (host): ok"), "{out}");
    assert!(out.contains("chain acme: ok, 4 links, head "), "{out}");
    assert!(out.contains("chain beta: ok, 1 links, head "), "{out}");
    let key = cli.dir.path().join("audit.key");
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.trim().len(), 64, "32 bytes as hex");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn an_edited_link_resealed_without_the_key_is_detected() {
    let cli = setup();
    let db = open(&cli, "acme");
    db.execute(
        "UPDATE audit SET actor = 'cli:someone-else' WHERE tenant = 'acme' AND seq = 2",
        [],
    )
    .unwrap();
    // Before keying this passed: the edited link and every later one rehashed.
    rehash_from(&db, "acme", 2);
    drop(db);
    broken(
        &cli,
        "acme",
        2,
        &["does not match its keyed hash", "edited"],
    );
    verifies_other_chains(&cli, "acme");
}

/// Every chain but `broken` still verifies.
fn verifies_other_chains(cli: &Cli, broken: &str) {
    let report: Value =
        serde_json::from_str(&cli.run(&["audit", "verify", "--json"]).stdout).unwrap();
    for chain in report["chains"].as_array().unwrap() {
        if chain["tenant"] != broken {
            assert!(chain["broken_at"].is_null(), "{chain}");
        }
    }
}

#[test]
fn a_link_deleted_in_the_middle_is_detected() {
    let cli = setup();
    open(&cli, "acme")
        .execute("DELETE FROM audit WHERE tenant = 'acme' AND seq = 2", [])
        .unwrap();
    broken(&cli, "acme", 2, &["link 2 is missing", "deleted"]);
}

#[test]
fn a_cut_tail_is_detected_and_stays_detected_after_new_links() {
    let cli = setup();
    open(&cli, "acme")
        .execute("DELETE FROM audit WHERE tenant = 'acme' AND seq >= 3", [])
        .unwrap();
    broken(
        &cli,
        "acme",
        3,
        &[
            "links 3 to 4 are missing",
            "the anchor says the head is link 4",
        ],
    );
    // The tenant's next link continues from the anchor, so the gap is not covered up.
    cli.run(&["user", "create", "fay", "--tenant", "acme"]).ok();
    broken(
        &cli,
        "acme",
        3,
        &["link 3 is missing", "next stored link is 5"],
    );
}

#[test]
fn a_cut_tail_with_the_anchor_moved_back_is_detected() {
    let cli = setup();
    let db = open(&cli, "acme");
    let head = links(&db, "acme")[1].clone();
    db.execute("DELETE FROM audit WHERE tenant = 'acme' AND seq >= 3", [])
        .unwrap();
    // The attacker points the anchor at the new head; its MAC cannot be recomputed.
    db.execute(
        "UPDATE audit_anchors SET seq = ?1, hash = ?2 WHERE tenant = 'acme'",
        rusqlite::params![head.seq as i64, head.hash],
    )
    .unwrap();
    drop(db);
    broken(&cli, "acme", 3, &["anchor does not match its MAC"]);
    // Deleting the anchor instead is no better.
    open(&cli, "acme")
        .execute("DELETE FROM audit_anchors WHERE tenant = 'acme'", [])
        .unwrap();
    broken(&cli, "acme", 3, &["has no anchor"]);
    // Nor is letting the next link write a new anchor: it counts the keyed links
    // before it as unkeyed, which they are not.
    cli.run(&["user", "create", "fay", "--tenant", "acme"]).ok();
    broken(
        &cli,
        "acme",
        1,
        &["it is keyed, but", "anchor was deleted or forged"],
    );
}

#[test]
fn a_rollback_to_a_saved_anchor_shows_only_against_an_exported_head() {
    // The documented limit: an anchor row saved earlier is genuine, so putting it
    // back after cutting the links written since verifies. The head `audit verify`
    // printed before, kept elsewhere, shows the rollback.
    let cli = setup();
    let exported = head_of(&cli, "beta");
    let db = open(&cli, "beta");
    let saved: (i64, String, i64, String) = db
        .query_row(
            "SELECT seq, hash, keyed_from, mac FROM audit_anchors WHERE tenant = 'beta'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    drop(db);
    cli.run(&["user", "create", "gus", "--tenant", "beta"]).ok();
    let later = head_of(&cli, "beta");
    let db = open(&cli, "beta");
    db.execute(
        "DELETE FROM audit WHERE tenant = 'beta' AND seq > ?1",
        [saved.0],
    )
    .unwrap();
    db.execute(
        "UPDATE audit_anchors SET seq = ?1, hash = ?2, keyed_from = ?3, mac = ?4 WHERE tenant = 'beta'",
        rusqlite::params![saved.0, saved.1, saved.2, saved.3],
    )
    .unwrap();
    drop(db);
    verifies(&cli);
    let now = head_of(&cli, "beta");
    assert_eq!(now, exported);
    assert_ne!(now, later, "the exported head shows the rollback");
}

fn head_of(cli: &Cli, chain: &str) -> String {
    let report = cli.run(&["audit", "verify", "--json"]).json();
    report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant"] == chain)
        .unwrap()["head"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_dropped_chain_is_detected() {
    let cli = setup();
    let db = open(&cli, "beta");
    db.execute_batch("DELETE FROM audit; DELETE FROM audit_anchors;")
        .unwrap();
    drop(db);
    broken(&cli, "beta", 1, &["the chain and its anchor are gone"]);
    verifies_other_chains(&cli, "beta");
}

#[test]
fn a_tenant_dropped_with_its_row_is_detected_through_the_host_chain() {
    let cli = setup();
    let file = tenant_file(cli.dir.path(), "beta");
    std::fs::remove_file(&file).unwrap();
    let main = rusqlite::Connection::open(cli.dir.path().join("backoffice.db")).unwrap();
    main.execute_batch(
        "DELETE FROM tenants WHERE id = 'beta'; DELETE FROM tenant_files WHERE tenant = 'beta';",
    )
    .unwrap();
    drop(main);
    broken(
        &cli,
        "beta",
        1,
        &[
            "tenant 'beta' was created (host chain link",
            "never deleted",
        ],
    );
}

#[test]
fn a_deleted_tenant_is_not_reported() {
    let cli = setup();
    cli.run(&["tenant", "delete", "--tenant", "beta", "--purge"])
        .ok();
    let out = verifies(&cli);
    assert!(!out.contains("chain beta"), "{out}");
}

#[test]
fn a_missing_or_readable_key_file_stops_the_host_with_a_clear_message() {
    let cli = setup();
    let key = cli.dir.path().join("audit.key");
    let saved = cli.dir.path().join("audit.key.saved");
    std::fs::rename(&key, &saved).unwrap();
    cli.run(&["audit", "verify"])
        .fails(7, &["audit key file", "is missing", "restore the file"]);
    assert!(!key.exists(), "no new key was made");
    std::fs::rename(&saved, &key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        cli.run(&["audit", "verify"])
            .fails(2, &["can be read by other users", "chmod 600"]);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    verifies(&cli);
    // Another key (a copy from elsewhere) fails every chain instead of passing.
    std::fs::remove_file(&key).unwrap();
    let other = Cli::new();
    other.run(&["tenant", "list"]).ok();
    std::fs::copy(other.dir.path().join("audit.key"), &key).unwrap();
    broken(&cli, "(host)", 1, &["written with another audit key"]);
}

#[test]
fn chains_written_before_audit_keys_verify_and_are_pinned_by_the_first_keyed_link() {
    // A data directory of an older host: plain SHA-256 links, no anchors, no key.
    let cli = setup();
    for (file, chain) in [
        (cli.dir.path().join("backoffice.db"), ""),
        (tenant_file(cli.dir.path(), "acme"), "acme"),
        (tenant_file(cli.dir.path(), "beta"), "beta"),
    ] {
        let db = rusqlite::Connection::open(file).unwrap();
        rehash_from(&db, chain, 1);
        db.execute("DELETE FROM audit_anchors", []).unwrap();
    }
    std::fs::remove_file(cli.dir.path().join("audit.key")).unwrap();
    // The first start makes a key and anchors every chain at its head.
    let out = verifies(&cli);
    assert!(
        out.contains("chain acme: ok, 4 links (1 to 4 from before audit keys: plain SHA-256)"),
        "{out}"
    );
    assert!(cli.dir.path().join("audit.key").exists());
    // A cut tail of an old chain is caught by its anchor.
    let db = open(&cli, "beta");
    db.execute("DELETE FROM audit WHERE tenant = 'beta'", [])
        .unwrap();
    drop(db);
    broken(&cli, "beta", 1, &["link 1 is missing"]);
    // New links are keyed; an edit of an old link, rehashed up to the first keyed
    // one, no longer matches what that keyed link sealed.
    cli.run(&["user", "create", "fay", "--tenant", "acme"]).ok();
    verifies_other_chains(&cli, "beta");
    let db = open(&cli, "acme");
    db.execute(
        "UPDATE audit SET target = 'user:mallory' WHERE tenant = 'acme' AND seq = 2",
        [],
    )
    .unwrap();
    let old: Vec<AuditRecord> = links(&db, "acme").into_iter().take(4).collect();
    let mut prev = GENESIS.to_string();
    for mut link in old {
        link.prev_hash = prev;
        link.hash = link_hash(&link);
        db.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE tenant = 'acme' AND seq = ?3",
            rusqlite::params![link.prev_hash, link.hash, link.seq as i64],
        )
        .unwrap();
        prev = link.hash;
    }
    drop(db);
    broken(&cli, "acme", 5, &["previous-hash does not match link 4"]);
}

#[test]
fn a_backup_from_before_audit_keys_is_anchored_when_restored() {
    let cli = setup();
    let backup = cli.dir.path().join("acme.backup");
    let out = backup.display().to_string();
    cli.run(&["tenant", "backup", "--tenant", "acme", "--out", &out])
        .ok();
    // Make it a backup of an older host: plain SHA-256 links, no anchors.
    let db = rusqlite::Connection::open(&backup).unwrap();
    rehash_from(&db, "acme", 1);
    db.execute_batch(
        "DROP TABLE audit_anchors; UPDATE backoffice_meta SET generation = 1; PRAGMA user_version = 0;",
    )
    .unwrap();
    drop(db);
    let restored = cli
        .run(&[
            "tenant", "restore", "--tenant", "acme", "--from", &out, "--json",
        ])
        .json();
    assert_eq!(restored["audit_ok"], true, "{restored}");
    let out = verifies(&cli);
    assert!(
        out.contains("chain acme: ok, 4 links (1 to 4 from before audit keys: plain SHA-256)"),
        "{out}"
    );
    let host = cli.run(&["audit", "list", "--tenant", "", "--json"]).json();
    let last = host.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "tenant.restore", "{last}");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("\"anchored\":true"),
        "{last}"
    );
}
