//! Plugin lifecycle through the real binary: keys, signing, trust, inspect, upgrades
//! with per-tenant migrations, rollback, and every bad input of each.
//!
//! The `versioned` fixture has no embedded manifest; each test appends one with the
//! version, vendor and capabilities it needs, so "0.2.0" is the same code with a
//! different manifest. Its `migrate` records `migrated-from` and fails for a tenant
//! that stored the key `fail-migration`.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, TestHost, wasm, with_custom_section};
use serde_json::json;

/// The `versioned` fixture with a manifest of `version` by `vendor`.
pub(crate) fn versioned(version: &str, vendor: &str, capabilities: &str, extra: &str) -> Vec<u8> {
    let manifest = format!(
        r#"
id = "versioned"
name = "Versioned"
vendor = "{vendor}"
version = "{version}"
host-api = "^0.1"
capabilities = [{capabilities}]
{extra}

[[operations]]
name = "put"
permission = "versioned.write"

[[operations]]
name = "get"
permission = "versioned.read"
read-only = true
"#
    );
    with_custom_section(
        wasm("versioned"),
        "backoffice:manifest",
        manifest.as_bytes(),
    )
}

pub(crate) fn write(cli: &Cli, name: &str, bytes: &[u8]) -> String {
    let p = cli.dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// Write `versioned` at `version` (storage only, vendor acme) to a file.
pub(crate) fn version_file(cli: &Cli, version: &str, extra: &str) -> String {
    write(
        cli,
        &format!("versioned-{version}.wasm"),
        &versioned(version, "acme", "\"storage\"", extra),
    )
}

pub(crate) fn get(cli: &Cli, tenant: &str, key: &str) -> serde_json::Value {
    cli.run(&[
        "call",
        "--tenant",
        tenant,
        "versioned",
        "get",
        "--input",
        &json!({ "key": key }).to_string(),
    ])
    .json()["value"]
        .clone()
}

pub(crate) fn put(cli: &Cli, tenant: &str, key: &str, value: &str) {
    cli.run(&[
        "call",
        "--tenant",
        tenant,
        "versioned",
        "put",
        "--input",
        &json!({ "key": key, "value": value }).to_string(),
    ])
    .ok();
}

pub(crate) fn version(cli: &Cli) -> String {
    cli.run(&["plugin", "info", "versioned", "--json"]).json()["version"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) fn audit_actions(cli: &Cli) -> Vec<String> {
    cli.run(&["audit", "list", "--tenant", "", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn signed_packages_install_only_with_a_trusted_key_of_their_vendor() {
    let cli = Cli::new();
    let keys = cli.dir.path().join("keys");
    let keys_dir = keys.display().to_string();
    cli.run(&["keygen", "--name", "acme", "--out", &keys_dir])
        .ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join("acme.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key is private");
    }
    let acme_key = keys.join("acme.key").display().to_string();
    let acme_pub = keys.join("acme.pub").display().to_string();
    let file = version_file(&cli, "0.1.0", "");
    let out = cli.run(&["plugin", "sign", "--key", &acme_key, &file]).ok();
    assert!(out.contains(".sig"), "{out}");

    // Inspect shows everything without installing.
    let report = cli.run(&["plugin", "inspect", &file, "--json"]).json();
    assert_eq!(report["manifest"]["id"], "versioned");
    assert_eq!(report["signature"]["status"], "untrusted");
    assert_eq!(report["host_api_required"], "^0.1");
    assert!(
        report["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("backoffice:host/storage"))
    );
    assert!(!report["exports"].as_array().unwrap().is_empty());
    let text = cli.run(&["plugin", "inspect", &file]).ok();
    assert!(
        text.contains("host API:") && text.contains("untrusted"),
        "{text}"
    );
    assert_eq!(
        cli.run(&["plugin", "list", "--json"]).json(),
        json!([]),
        "inspect installs nothing"
    );

    // Not trusted yet: refused.
    cli.run(&["plugin", "install", &file, "--yes"])
        .fails(5, &["not trusted", "trust add"]);
    cli.run(&["trust", "add", &acme_pub, "--name", "acme"]).ok();
    let trusted = cli.run(&["trust", "list", "--json"]).json();
    assert_eq!(trusted[0]["name"], "acme");
    cli.run(&["trust", "add", &acme_pub, "--name", "globex"])
        .fails(2, &["made for vendor 'acme'"]);

    // A tampered copy is always refused, even with --allow-unsigned.
    let tampered = write(
        &cli,
        "tampered.wasm",
        &with_custom_section(std::fs::read(&file).unwrap(), "extra", b"x"),
    );
    std::fs::copy(format!("{file}.sig"), format!("{tampered}.sig")).unwrap();
    cli.run(&["plugin", "install", &tampered, "--yes", "--allow-unsigned"])
        .fails(7, &["signature is invalid", "changed after signing"]);
    let inspected = cli.run(&["plugin", "inspect", &tampered, "--json"]).json();
    assert_eq!(inspected["signature"]["status"], "invalid");

    // A key trusted for another vendor cannot sign acme's plugin.
    cli.run(&["keygen", "--name", "globex", "--out", &keys_dir])
        .ok();
    cli.run(&[
        "trust",
        "add",
        &keys.join("globex.pub").display().to_string(),
        "--name",
        "globex",
    ])
    .ok();
    let impostor = keys.join("impostor.key");
    let globex_secret = std::fs::read_to_string(keys.join("globex.key")).unwrap();
    std::fs::write(
        &impostor,
        globex_secret.replace("vendor: globex", "vendor: acme"),
    )
    .unwrap();
    let forged = version_file(&cli, "0.1.0-forged", "");
    cli.run(&[
        "plugin",
        "sign",
        "--key",
        &impostor.display().to_string(),
        &forged,
    ])
    .ok();
    cli.run(&["plugin", "install", &forged, "--yes", "--allow-unsigned"])
        .fails(5, &["key of 'globex'", "vendor 'acme'"]);
    // Signing with a key of another vendor than the manifest's is refused up front.
    cli.run(&[
        "plugin",
        "sign",
        "--key",
        &keys.join("globex.key").display().to_string(),
        &file,
    ])
    .fails(2, &["belongs to vendor 'globex'"]);

    // The genuine package installs, and says so.
    let out = cli.run(&["plugin", "install", &file, "--yes"]).ok();
    assert!(out.contains("signed by trusted key 'acme'"), "{out}");
    let list = cli.run(&["plugin", "list", "--json"]).json();
    assert_eq!(list[0]["signature"]["status"], "verified");
    assert!(cli.run(&["plugin", "list"]).ok().contains("verified"));

    cli.run(&["trust", "remove", "globex"]).ok();
    cli.run(&["trust", "remove", "globex"])
        .fails(3, &["no trusted key is named 'globex'"]);
    let actions = audit_actions(&cli);
    for a in ["trust.add", "trust.remove", "plugin.install"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing: {actions:?}");
    }
}

/// A host with `versioned` 0.1.0 enabled for tenants a, b and c, each with data.
fn three_tenants() -> Cli {
    let cli = Cli::new();
    let file = version_file(&cli, "0.1.0", "");
    cli.run(&["plugin", "install", &file, "--yes", "--allow-unsigned"])
        .ok();
    for t in ["a", "b", "c"] {
        cli.run(&["tenant", "create", t]).ok();
        cli.run(&["plugin", "enable", "versioned", "--tenant", t])
            .ok();
        put(&cli, t, "note", &format!("hello {t}"));
    }
    cli
}

#[test]
fn upgrades_refuse_downgrades_same_versions_and_unannounced_majors() {
    let cli = three_tenants();
    let same = version_file(&cli, "0.1.0", "");
    cli.run(&["plugin", "upgrade", &same, "--yes", "--allow-unsigned"])
        .fails(4, &["version 0.1.0 is already installed", "higher version"]);
    let older = version_file(&cli, "0.0.9", "");
    cli.run(&["plugin", "upgrade", &older, "--yes", "--allow-unsigned"])
        .fails(4, &["refusing to downgrade", "0.1.0 to 0.0.9", "rollback"]);
    let major = version_file(&cli, "0.2.0", "");
    cli.run(&["plugin", "upgrade", &major, "--yes", "--allow-unsigned"])
        .fails(4, &["major", "--allow-major"]);
    // Unsigned needs the flag on upgrades too.
    let minor = version_file(&cli, "0.1.1", "");
    cli.run(&["plugin", "upgrade", &minor, "--yes"])
        .fails(5, &["unsigned"]);
    // Not installed at all.
    let other = write(
        &cli,
        "other.wasm",
        &with_custom_section(
            wasm("no_manifest"),
            "backoffice:manifest",
            br#"
id = "ghost"
name = "Ghost"
vendor = "acme"
version = "1.0.0"
host-api = "^0.1"
"#,
        ),
    );
    cli.run(&["plugin", "upgrade", &other, "--yes", "--allow-unsigned"])
        .fails(3, &["'ghost' is not installed"]);
    assert_eq!(version(&cli), "0.1.0");
    assert!(!audit_actions(&cli).iter().any(|a| a == "plugin.upgrade"));
}

#[test]
fn an_upgrade_migrates_every_tenant_or_none() {
    let cli = three_tenants();

    // Added capabilities are shown and need approval.
    let v011 = write(
        &cli,
        "v011.wasm",
        &versioned("0.1.1", "acme", "\"storage\", \"events\"", ""),
    );
    cli.run(&["plugin", "upgrade", &v011, "--allow-unsigned"])
        .fails(5, &["re-run with --yes"]);
    let out = cli
        .run(&["plugin", "upgrade", &v011, "--yes", "--allow-unsigned"])
        .ok();
    assert!(out.contains("+ events"), "{out}");
    assert!(out.contains("upgraded 'versioned' to 0.1.1"), "{out}");
    let info = cli.run(&["plugin", "info", "versioned", "--json"]).json();
    assert_eq!(info["granted"], json!(["events", "storage"]));
    assert_eq!(info["versions"], json!(["0.1.0", "0.1.1"]));
    for t in ["a", "b", "c"] {
        assert_eq!(get(&cli, t, "migrated-from"), "0.1.0", "tenant {t}");
        assert_eq!(get(&cli, t, "note"), format!("hello {t}"));
    }

    // The migration fails for tenant b: all three keep 0.1.1 and their data.
    put(&cli, "b", "fail-migration", "yes");
    let v012 = version_file(&cli, "0.1.2", "");
    cli.run(&["plugin", "upgrade", &v012, "--yes", "--allow-unsigned"])
        .fails(
            4,
            &[
                "migration failed for tenant 'b'",
                "fails for this tenant as asked",
                "every tenant keeps version 0.1.1",
            ],
        );
    assert_eq!(version(&cli), "0.1.1");
    for t in ["a", "b", "c"] {
        assert_eq!(
            get(&cli, t, "migrated-from"),
            "0.1.0",
            "tenant {t} kept its data"
        );
    }
    let info = cli.run(&["plugin", "info", "versioned", "--json"]).json();
    assert_eq!(
        info["versions"],
        json!(["0.1.0", "0.1.1"]),
        "0.1.2 left no trace"
    );
    let audit = cli
        .run(&["audit", "list", "--tenant", "a", "--json"])
        .json();
    let last = audit.as_array().unwrap().last().unwrap().clone();
    let detail: serde_json::Value = serde_json::from_str(last["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["version"], "0.1.1", "still served by 0.1.1: {last}");
    let actions = audit_actions(&cli);
    assert_eq!(
        actions.iter().filter(|a| *a == "plugin.upgrade").count(),
        1,
        "{actions:?}"
    );
}

#[test]
fn upgrades_and_rollbacks_respect_dependents_and_reversibility() {
    let cli = three_tenants();
    // Nothing to roll back to yet.
    cli.run(&["plugin", "rollback", "versioned"])
        .fails(4, &["no earlier version", "only 0.1.0 is installed"]);
    cli.run(&["plugin", "rollback", "ghost"])
        .fails(3, &["'ghost' is not installed"]);

    // A dependent that accepts ^0.1 blocks 0.2.0.
    let dependent = write(
        &cli,
        "dependent.wasm",
        &with_custom_section(
            wasm("no_manifest"),
            "backoffice:manifest",
            br#"
id = "reporting"
name = "Reporting"
vendor = "acme"
version = "1.0.0"
host-api = "^0.1"

[dependencies]
versioned = "^0.1"
"#,
        ),
    );
    cli.run(&["plugin", "install", &dependent, "--yes", "--allow-unsigned"])
        .ok();
    let v020 = version_file(&cli, "0.2.0", "reversible-migrations = true");
    cli.run(&[
        "plugin",
        "upgrade",
        &v020,
        "--yes",
        "--allow-unsigned",
        "--allow-major",
    ])
    .fails(4, &["plugin 'reporting' 1.0.0 depends on 'versioned' ^0.1"]);
    cli.run(&["plugin", "remove", "reporting"]).ok();

    // 0.1.1 does not declare its migration reversible: no way back from it.
    let v011 = version_file(&cli, "0.1.1", "");
    cli.run(&["plugin", "upgrade", &v011, "--yes", "--allow-unsigned"])
        .ok();
    // 0.2.0 does, so rollback from it is allowed.
    cli.run(&[
        "plugin",
        "upgrade",
        &v020,
        "--yes",
        "--allow-unsigned",
        "--allow-major",
    ])
    .ok();
    assert_eq!(version(&cli), "0.2.0");
    assert_eq!(get(&cli, "a", "migrated-from"), "0.1.1");
    let out = cli.run(&["plugin", "rollback", "versioned"]).ok();
    assert!(out.contains("from 0.2.0 to 0.1.1"), "{out}");
    assert_eq!(version(&cli), "0.1.1");
    assert_eq!(get(&cli, "c", "note"), "hello c", "data is kept");
    cli.run(&["plugin", "rollback", "versioned"]).fails(
        4,
        &[
            "cannot roll back 'versioned' from 0.1.1 to 0.1.0",
            "tenant(s) a, b, c",
            "not reversible",
        ],
    );
    assert_eq!(version(&cli), "0.1.1");
    // The rolled-back version can be upgraded to again.
    cli.run(&[
        "plugin",
        "upgrade",
        &v020,
        "--yes",
        "--allow-unsigned",
        "--allow-major",
    ])
    .ok();
    let actions = audit_actions(&cli);
    assert!(
        actions.iter().any(|a| a == "plugin.rollback"),
        "{actions:?}"
    );
}

#[test]
fn calls_during_an_upgrade_never_fail() {
    let t = TestHost::new();
    t.install_bytes(versioned("0.1.0", "acme", "\"storage\"", ""));
    for tenant in ["a", "b", "c"] {
        t.host.create_tenant(tenant, None, None).unwrap();
        t.host.enable("versioned", tenant).unwrap();
    }
    let t = std::sync::Arc::new(t);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|tenant| {
            let (t, stop) = (t.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut calls = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || calls < 5 {
                    t.call(
                        tenant,
                        "versioned",
                        "put",
                        json!({"key": "k", "value": "v"}),
                    )
                    .unwrap();
                    t.call(tenant, "versioned", "get", json!({"key": "k"}))
                        .unwrap();
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    for v in ["0.1.1", "0.1.2", "0.1.3"] {
        let mut plan = t
            .host
            .upgrade_plan(versioned(v, "acme", "\"storage\"", ""), None)
            .unwrap();
        plan.allow_unsigned = true;
        t.host.upgrade(plan).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        assert!(w.join().unwrap() >= 5);
    }
    assert_eq!(t.host.plugin_info("versioned").unwrap().version, "0.1.3");
    assert_eq!(
        t.call("a", "versioned", "get", json!({"key": "migrated-from"}))
            .unwrap()["value"],
        "0.1.2"
    );
}
