//! `tenant backup`, `tenant restore` and `tenant export` through the real binary: a
//! restore brings back exactly the backed-up state of one tenant and nothing else,
//! bad input changes nothing, and an export carries the data but no secrets.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::path::{Path, PathBuf};

use backoffice_tests::Cli;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple\n";

/// Tenants acme and beta with the probe fixture enabled in both.
fn two_tenants() -> Cli {
    let cli = Cli::new();
    for t in ["acme", "beta"] {
        cli.run(&["tenant", "create", t]).ok();
    }
    cli.install_unsigned("probe").ok();
    for t in ["acme", "beta"] {
        cli.run(&["plugin", "enable", "probe", "--tenant", t]).ok();
    }
    cli
}

fn put(cli: &Cli, tenant: &str, key: &str, value: Value) {
    cli.call(
        tenant,
        "probe",
        "put",
        &json!({ "key": key, "value": value }),
    );
}

fn get(cli: &Cli, tenant: &str, key: &str) -> Value {
    cli.call(tenant, "probe", "get", &json!({ "key": key }))["value"].clone()
}

fn file(cli: &Cli, name: &str) -> PathBuf {
    cli.dir.path().join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every chain verifies.
fn audit_ok(cli: &Cli) {
    let report = cli.run(&["audit", "verify", "--json"]).json();
    assert_eq!(report["ok"], true, "{report}");
}

/// Actions recorded in the host's audit chain.
fn host_actions(cli: &Cli) -> Vec<String> {
    let links = cli.run(&["audit", "list", "--tenant", "", "--json"]).json();
    links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap().to_string())
        .collect()
}

/// The files of the tenants folder, to show a refused restore left nothing behind.
fn tenant_folder(cli: &Cli) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cli.dir.path().join("tenants"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    names.sort();
    names
}

#[test]
fn restore_brings_back_the_backed_up_state_of_one_tenant() {
    let cli = two_tenants();
    put(&cli, "acme", "early", json!({ "n": 1 }));
    put(&cli, "acme", "changed", json!("before"));
    put(&cli, "beta", "mine", json!(1));

    let backup = file(&cli, "acme.backup");
    let report = cli
        .run(&[
            "tenant",
            "backup",
            "--tenant",
            "acme",
            "--out",
            s(&backup),
            "--json",
        ])
        .json();
    assert_eq!(report["tenant"], "acme");
    assert_eq!(report["rows"]["kv"], 2, "{report}");
    assert!(report["audit_head"].is_string(), "{report}");
    assert!(backup.is_file());

    // Later work in both tenants.
    put(&cli, "acme", "late", json!(2));
    put(&cli, "acme", "changed", json!("after"));
    put(&cli, "beta", "later", json!(2));

    let restored = cli
        .run(&[
            "tenant",
            "restore",
            "--tenant",
            "acme",
            "--from",
            s(&backup),
            "--json",
        ])
        .json();
    assert_eq!(restored["audit_ok"], true, "{restored}");
    assert_eq!(
        restored["restored"]["audit_head"], report["audit_head"],
        "{restored}"
    );
    assert!(
        restored["replaced_audit_seq"].as_u64().unwrap() > report["audit_seq"].as_u64().unwrap(),
        "{restored}"
    );

    assert_eq!(get(&cli, "acme", "early"), json!({ "n": 1 }));
    assert_eq!(get(&cli, "acme", "changed"), json!("before"));
    assert_eq!(get(&cli, "acme", "late"), Value::Null);
    // The other tenant kept everything, including what it wrote after the backup.
    assert_eq!(get(&cli, "beta", "mine"), json!(1));
    assert_eq!(get(&cli, "beta", "later"), json!(2));
    // The restored tenant works as before.
    put(&cli, "acme", "after-restore", json!(3));
    assert_eq!(get(&cli, "acme", "after-restore"), json!(3));

    audit_ok(&cli);
    let actions = host_actions(&cli);
    assert!(
        actions.contains(&"tenant.backup".to_string())
            && actions.contains(&"tenant.restore".to_string()),
        "{actions:?}"
    );
}

#[test]
fn backup_never_overwrites_a_file() {
    let cli = two_tenants();
    put(&cli, "acme", "k", json!(1));
    let out = file(&cli, "taken");
    std::fs::write(&out, "keep me").unwrap();
    cli.run(&["tenant", "backup", "--tenant", "acme", "--out", s(&out)])
        .fails(4, &["already exists", "never overwrites"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");

    cli.run(&[
        "tenant",
        "backup",
        "--tenant",
        "nobody",
        "--out",
        s(&file(&cli, "x")),
    ])
    .fails(3, &["unknown tenant 'nobody'"]);
    assert!(!file(&cli, "x").exists());
    assert!(!host_actions(&cli).contains(&"tenant.backup".to_string()));
}

#[test]
fn restore_refuses_bad_files_and_changes_nothing() {
    let cli = two_tenants();
    put(&cli, "acme", "k", json!("acme data"));
    put(&cli, "beta", "k", json!("beta data"));
    let beta_backup = file(&cli, "beta.backup");
    cli.run(&[
        "tenant",
        "backup",
        "--tenant",
        "beta",
        "--out",
        s(&beta_backup),
    ])
    .ok();
    let before = tenant_folder(&cli);
    let acme_file = cli.dir.path().join("tenants/acme.db");
    let acme_size = std::fs::metadata(&acme_file).unwrap().len();

    // Another tenant's backup.
    cli.run(&[
        "tenant",
        "restore",
        "--tenant",
        "acme",
        "--from",
        s(&beta_backup),
    ])
    .fails(2, &["'beta'", "another tenant's backup"]);

    // Not a database at all.
    let garbage = file(&cli, "garbage.db");
    std::fs::write(&garbage, vec![0x5a_u8; 8192]).unwrap();
    cli.run(&[
        "tenant",
        "restore",
        "--tenant",
        "acme",
        "--from",
        s(&garbage),
    ])
    .fails(2, &["is not a SQLite database"]);

    // A SQLite database, but not a tenant's.
    let other = file(&cli, "other.db");
    rusqlite_free_database(&other);
    cli.run(&["tenant", "restore", "--tenant", "acme", "--from", s(&other)])
        .fails(2, &["not a tenant's", "kv"]);

    // A missing file.
    cli.run(&[
        "tenant",
        "restore",
        "--tenant",
        "acme",
        "--from",
        s(&file(&cli, "missing")),
    ])
    .fails(2, &["cannot read"]);

    assert_eq!(tenant_folder(&cli), before, "a temporary file was left");
    assert_eq!(std::fs::metadata(&acme_file).unwrap().len(), acme_size);
    assert_eq!(get(&cli, "acme", "k"), json!("acme data"));
    assert_eq!(get(&cli, "beta", "k"), json!("beta data"));
    assert!(!host_actions(&cli).contains(&"tenant.restore".to_string()));
    audit_ok(&cli);
}

/// A valid SQLite file without the tenant tables: a backup of the host's main file.
fn rusqlite_free_database(path: &Path) {
    // The main file of another data directory is a SQLite database that is not a
    // tenant's, and needs no SQLite library in the tests.
    let other = Cli::new();
    other.run(&["tenant", "create", "zeta"]).ok();
    std::fs::copy(other.dir.path().join("backoffice.db"), path).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let _ = std::fs::remove_file(PathBuf::from(wal));
}

#[test]
fn export_carries_the_data_and_no_secrets() {
    let cli = two_tenants();
    put(&cli, "acme", "customer/1", json!({ "name": "Ada" }));
    put(&cli, "acme", "count", json!(7));
    put(&cli, "beta", "secret-of-beta", json!("not for acme"));
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "alice",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        PASSWORD,
    )
    .ok();
    cli.run(&["user", "assign-role", "alice", "admin", "--tenant", "acme"])
        .ok();
    let token = cli
        .run(&[
            "token", "create", "--user", "alice", "--tenant", "acme", "--name", "erp",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(!token.is_empty());

    let out = file(&cli, "acme-export");
    let report = cli
        .run(&[
            "tenant",
            "export",
            "--tenant",
            "acme",
            "--out",
            s(&out),
            "--json",
        ])
        .json();
    assert_eq!(report["format"], "backoffice-tenant-export/1");
    assert_eq!(report["plugins"][0]["plugin"], "probe", "{report}");
    assert_eq!(report["plugins"][0]["keys"], 2, "{report}");

    let lines = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let kv = lines("plugins/probe.jsonl");
    assert_eq!(
        kv,
        vec![
            json!({ "key": "count", "value": 7 }),
            json!({ "key": "customer/1", "value": { "name": "Ada" } }),
        ]
    );
    let users = lines("users.jsonl");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[0]["roles"], json!(["admin"]));
    assert_eq!(users[0]["has_password"], true);
    let tokens = lines("tokens.jsonl");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["name"], "erp");
    assert!(tokens[0].get("hash").is_none(), "{}", tokens[0]);
    assert!(!lines("audit.jsonl").is_empty());
    assert!(out.join("tenant.json").is_file());

    // Nothing secret and nothing of the other tenant in any file.
    for entry in walk(&out) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for forbidden in ["argon2", "password_hash", &token, "secret-of-beta"] {
            assert!(
                !text.contains(forbidden),
                "{} contains '{forbidden}'",
                entry.display()
            );
        }
    }

    // An export never writes into a folder that holds something.
    cli.run(&["tenant", "export", "--tenant", "acme", "--out", s(&out)])
        .fails(4, &["not empty"]);
    assert!(host_actions(&cli).contains(&"tenant.export".to_string()));
    audit_ok(&cli);
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn delete_with_purge_removes_every_trace_of_one_tenant() {
    let cli = two_tenants();
    put(&cli, "acme", "books", json!("acme's"));
    put(&cli, "beta", "books", json!("beta's"));
    cli.run(&["user", "create", "ada", "--tenant", "acme"]).ok();

    // Without --purge nothing happens, and the message says how to keep the data.
    let refused = cli.run(&["tenant", "delete", "--tenant", "acme"]);
    let refused = refused.fails(2, &["--purge", "tenant export"]);
    assert!(refused.stderr.contains("acme"), "{refused:?}");
    assert_eq!(get(&cli, "acme", "books"), json!("acme's"));

    let report = cli
        .run(&["tenant", "delete", "--tenant", "acme", "--purge", "--json"])
        .json();
    assert_eq!(report["tenant"], "acme");
    assert!(report["rows"].as_u64().unwrap() >= 3, "{report}");
    assert!(report["audit_seq"].as_u64().unwrap() >= 1, "{report}");

    // Gone: the tenant, its file, its users, its calls.
    let tenants = cli.run(&["tenant", "list", "--json"]).json();
    let ids: Vec<&str> = tenants
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["beta"]);
    assert_eq!(tenant_folder(&cli), ["beta.db"]);
    cli.run(&["user", "list", "--tenant", "acme", "--json"])
        .fails(3, &["unknown tenant 'acme'"]);
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "probe",
        "get",
        "--input",
        r#"{"key":"books"}"#,
    ])
    .fails(3, &["unknown tenant 'acme'"]);
    // Kept: the other tenant, and the record of the deletion in the host chain.
    assert_eq!(get(&cli, "beta", "books"), json!("beta's"));
    assert!(host_actions(&cli).contains(&"tenant.delete".to_string()));
    audit_ok(&cli);
    // An unknown tenant is an error, not a silent success.
    cli.run(&["tenant", "delete", "--tenant", "acme", "--purge"])
        .fails(3, &["unknown tenant 'acme'"]);
    // The id is free again, for a company that starts empty.
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    assert_eq!(get(&cli, "acme", "books"), Value::Null);
}
