//! Issue 16: a hostile vendor, a curious user and an anonymous client each try what
//! the security review found possible, and get nothing.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

mod quotas;

use backoffice_tests::{Cli, Server};
use serde_json::json;

use crate::lifecycle::{audit_actions, get, put, version, versioned, write};

mod nested_stack;
mod sign_in;

/// Keys for `vendors` in `<data dir>/keys`, each trusted under its own name.
fn trusted_vendors(cli: &Cli, vendors: &[&str]) -> std::path::PathBuf {
    let keys = cli.dir.path().join("keys");
    let dir = keys.display().to_string();
    for v in vendors {
        cli.run(&["keygen", "--name", v, "--out", &dir]).ok();
        let public = keys.join(format!("{v}.pub")).display().to_string();
        cli.run(&["trust", "add", &public, "--name", v]).ok();
    }
    keys
}

/// `versioned` at `version` by `vendor` (storage only), signed with `vendor`'s key.
fn signed(cli: &Cli, keys: &std::path::Path, version: &str, vendor: &str) -> String {
    let file = write(
        cli,
        &format!("versioned-{version}-{vendor}.wasm"),
        &versioned(version, vendor, "\"storage\"", ""),
    );
    let key = keys.join(format!("{vendor}.key")).display().to_string();
    cli.run(&["plugin", "sign", "--key", &key, &file]).ok();
    file
}

/// The host chain's links of `action`, with their detail parsed.
fn host_links(cli: &Cli, action: &str) -> Vec<(serde_json::Value, serde_json::Value)> {
    cli.run(&["audit", "list", "--tenant", "", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == action)
        .map(|l| {
            let detail = serde_json::from_str(l["detail"].as_str().unwrap()).unwrap();
            (l.clone(), detail)
        })
        .collect()
}

fn vendor(cli: &Cli) -> String {
    cli.run(&["plugin", "info", "versioned", "--json"]).json()["vendor"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Finding 1: globex, whose key the admin trusts, signs a package claiming acme's
/// plugin id. The upgrade is refused and the data stays acme's plugin's; only with
/// `--allow-vendor-change`, after a prompt naming both vendors, does it go through,
/// and the audit log records the change.
#[test]
fn a_second_trusted_vendor_cannot_take_over_an_installed_plugin_by_upgrade() {
    let cli = Cli::new();
    let keys = trusted_vendors(&cli, &["acme", "globex"]);
    let genuine = signed(&cli, &keys, "0.1.0", "acme");
    cli.run(&["plugin", "install", &genuine, "--yes"]).ok();
    for t in ["a", "b"] {
        cli.run(&["tenant", "create", t]).ok();
        cli.run(&["plugin", "enable", "versioned", "--tenant", t])
            .ok();
        put(&cli, t, "note", &format!("payroll of {t}"));
    }

    let takeover = signed(&cli, &keys, "0.1.1", "globex");
    let report = cli.run(&["plugin", "inspect", &takeover, "--json"]).json();
    assert_eq!(
        report["signature"]["status"], "verified",
        "the attack uses a validly signed package of a trusted vendor: {report}"
    );
    let refused = cli.run(&["plugin", "upgrade", &takeover, "--yes"]).fails(
        4,
        &[
            "refusing to upgrade 'versioned'",
            "vendor 'acme'",
            "vendor 'globex'",
            "--allow-vendor-change",
        ],
    );
    assert!(refused.stdout.contains("'acme' -> 'globex'"), "{refused:?}");
    assert_eq!(version(&cli), "0.1.0");
    assert_eq!(vendor(&cli), "acme");
    for t in ["a", "b"] {
        assert_eq!(get(&cli, t, "note"), format!("payroll of {t}"));
        assert_eq!(
            get(&cli, t, "migrated-from"),
            json!(null),
            "no migration ran"
        );
    }
    assert!(!audit_actions(&cli).iter().any(|a| a == "plugin.upgrade"));

    // The flag alone is not consent: the prompt names both vendors, and without a
    // terminal to answer it nothing happens.
    let unanswered = cli
        .run(&["plugin", "upgrade", &takeover, "--allow-vendor-change"])
        .fails(5, &["'acme'", "'globex'", "re-run with --yes"]);
    assert!(
        unanswered.stdout.contains("VENDOR CHANGE"),
        "{unanswered:?}"
    );
    assert_eq!(version(&cli), "0.1.0");

    let out = cli
        .run(&[
            "plugin",
            "upgrade",
            &takeover,
            "--yes",
            "--allow-vendor-change",
        ])
        .ok();
    assert!(out.contains("'acme' -> 'globex'"), "{out}");
    assert!(out.contains("upgraded 'versioned' to 0.1.1"), "{out}");
    assert_eq!(version(&cli), "0.1.1");
    assert_eq!(vendor(&cli), "globex");
    assert_eq!(get(&cli, "a", "migrated-from"), "0.1.0");
    let changes = host_links(&cli, "plugin.vendor-change");
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (link, detail) = &changes[0];
    assert_eq!(link["target"], "plugin:versioned@0.1.1");
    assert_eq!(detail["from_vendor"], "acme");
    assert_eq!(detail["to_vendor"], "globex");
    assert_eq!(detail["by"], "upgrade");
    let upgrades = host_links(&cli, "plugin.upgrade");
    assert_eq!(upgrades[0].1["vendor"], "globex");
    let verify = cli.run(&["audit", "verify", "--json"]).json();
    assert_eq!(verify["ok"], true, "{verify}");
}

/// Finding 1, second door: acme's plugin is removed without `--purge`, so its data
/// stays; globex's package claiming the same id may not install onto that data
/// without the flag. acme's own package may.
#[test]
fn a_second_vendor_cannot_inherit_kept_data_by_reinstalling() {
    let cli = Cli::new();
    let keys = trusted_vendors(&cli, &["acme", "globex"]);
    let genuine = signed(&cli, &keys, "0.1.0", "acme");
    cli.run(&["plugin", "install", &genuine, "--yes"]).ok();
    cli.run(&["tenant", "create", "a"]).ok();
    cli.run(&["plugin", "enable", "versioned", "--tenant", "a"])
        .ok();
    put(&cli, "a", "note", "salaries");
    cli.run(&["plugin", "disable", "versioned", "--tenant", "a"])
        .ok();
    cli.run(&["plugin", "remove", "versioned"]).ok();

    let takeover = signed(&cli, &keys, "0.1.0", "globex");
    cli.run(&["plugin", "install", &takeover, "--yes"]).fails(
        4,
        &[
            "refusing to install 'versioned'",
            "kept from its earlier install",
            "vendor 'acme'",
            "vendor 'globex'",
            "--allow-vendor-change",
        ],
    );
    assert_eq!(cli.run(&["plugin", "list", "--json"]).json(), json!([]));
    assert!(host_links(&cli, "plugin.vendor-change").is_empty());

    // The same vendor reinstalls onto its data without any flag.
    let out = cli.run(&["plugin", "install", &genuine, "--yes"]).ok();
    assert!(out.contains("kept from an earlier install"), "{out}");
    assert!(!out.contains("VENDOR CHANGE"), "{out}");
    cli.run(&["plugin", "remove", "versioned"]).ok();

    // The prompt names both vendors; with the flag and --yes globex gets the data.
    cli.run(&["plugin", "install", &takeover, "--allow-vendor-change"])
        .fails(5, &["from vendor 'acme' to vendor 'globex'", "--yes"]);
    let out = cli
        .run(&[
            "plugin",
            "install",
            &takeover,
            "--yes",
            "--allow-vendor-change",
        ])
        .ok();
    assert!(out.contains("VENDOR CHANGE"), "{out}");
    assert_eq!(vendor(&cli), "globex");
    cli.run(&["plugin", "enable", "versioned", "--tenant", "a"])
        .ok();
    assert_eq!(get(&cli, "a", "note"), "salaries");
    let changes = host_links(&cli, "plugin.vendor-change");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].1["from_vendor"], "acme");
    assert_eq!(changes[0].1["to_vendor"], "globex");
    assert_eq!(changes[0].1["by"], "install");
    assert!(changes[0].1["kept_keys"].as_u64().unwrap() >= 1);
}

/// Finding 1, the prompt: an upgrade that adds no capability but a dependency, a
/// subscription, a job and an emitted topic lists each and asks before applying.
#[test]
fn the_upgrade_prompt_lists_new_dependencies_subscriptions_jobs_and_topics() {
    let cli = Cli::new();
    let helper = write(
        &cli,
        "helper.wasm",
        &backoffice_tests::with_custom_section(
            backoffice_tests::wasm("versioned"),
            "backoffice:manifest",
            br#"
id = "helper"
name = "Helper"
vendor = "acme"
version = "0.1.0"
host-api = "^0.1"
"#,
        ),
    );
    cli.run(&["plugin", "install", &helper, "--yes", "--allow-unsigned"])
        .ok();
    let caps = "\"storage\", \"events\"";
    let v010 = write(&cli, "v010.wasm", &versioned("0.1.0", "acme", caps, ""));
    cli.run(&["plugin", "install", &v010, "--yes", "--allow-unsigned"])
        .ok();
    let extra = r#"
emits = ["versioned.changed"]
subscriptions = ["helper.pinged"]

[dependencies]
helper = "^0.1"

[[jobs]]
name = "nightly"
cron = "0 3 * * *"
"#;
    let v011 = write(&cli, "v011.wasm", &versioned("0.1.1", "acme", caps, extra));
    let asked = cli
        .run(&["plugin", "upgrade", &v011, "--allow-unsigned"])
        .fails(5, &["re-run with --yes"]);
    for line in [
        "+ dependency helper ^0.1",
        "+ subscription helper.pinged",
        "+ job nightly (cron 0 3 * * *)",
        "+ emits versioned.changed",
    ] {
        assert!(asked.stdout.contains(line), "lacks '{line}': {asked:?}");
    }
    assert!(!asked.stdout.contains("+ storage"), "{asked:?}");
    assert_eq!(version(&cli), "0.1.0");

    cli.run(&["plugin", "upgrade", &v011, "--yes", "--allow-unsigned"])
        .ok();
    assert_eq!(version(&cli), "0.1.1");
    let upgrades = host_links(&cli, "plugin.upgrade");
    let detail = &upgrades[0].1;
    assert_eq!(detail["added_jobs"], json!(["nightly (cron 0 3 * * *)"]));
    assert_eq!(detail["added_subscriptions"], json!(["helper.pinged"]));
    assert_eq!(detail["added_emits"], json!(["versioned.changed"]));
    assert_eq!(detail["added_dependencies"], json!(["helper ^0.1"]));
    assert_eq!(detail["added_capabilities"], json!([]));
}

/// The code-cache file of `plugin` (named by its component digest).
fn cache_file(cli: &Cli, plugin: &str) -> std::path::PathBuf {
    let digest = cli.run(&["plugin", "info", plugin, "--json"]).json()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let files: Vec<_> = std::fs::read_dir(cli.dir.path().join("cache"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&digest)
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Finding 9a: someone who can write the cache directory puts valid compiled code of
/// another component (here: another plugin's, compiled by this very host) under the
/// file name of `contacts`. It is not loaded: the digest recorded at install does not
/// match, so `contacts` is compiled afresh from the package in the database, a warning
/// is logged, and the file is rewritten with the genuine code.
#[test]
fn a_swapped_code_cache_file_is_recompiled_never_loaded() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for p in ["contacts", "probe"] {
        cli.install_unsigned(p).ok();
    }
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    let genuine_file = cache_file(&cli, "contacts");
    let genuine = std::fs::read(&genuine_file).unwrap();
    let intruder = std::fs::read(cache_file(&cli, "probe")).unwrap();
    assert_ne!(genuine, intruder);
    std::fs::write(&genuine_file, &intruder).unwrap();

    let run = cli
        .command(&[
            "call",
            "--tenant",
            "acme",
            "contacts",
            "create",
            "--input",
            r#"{"name":"Ada","kind":"customer"}"#,
        ])
        .env("BACKOFFICE_LOG", "backoffice=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("does not match the digest recorded"),
        "a warning names the mismatch: {stderr}"
    );
    assert!(stderr.contains("cache=Compiled"), "{stderr}");
    let created: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        created["id"].is_string(),
        "contacts' own code answered: {created}"
    );
    assert_eq!(
        std::fs::read(&genuine_file).unwrap(),
        genuine,
        "the file holds the genuine code again"
    );

    // The next process loads the rewritten file from the cache.
    let run = cli
        .command(&[
            "call", "--tenant", "acme", "contacts", "list", "--input", "{}",
        ])
        .env("BACKOFFICE_LOG", "backoffice=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("cache=Hit"), "{stderr}");
}

/// Finding 9b: the data directory is owner-only (0700) and so are the database files
/// in it (0600), the tenants' files included; a directory and files left readable by
/// others (an older version, a careless copy) are tightened when the host opens them.
#[cfg(unix)]
#[test]
fn the_data_directory_and_databases_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let cli = Cli::new();
    let data = cli.dir.path().join("fresh").join("data");
    let run = |args: &[&str]| {
        let out = cli
            .command(args)
            .env("BACKOFFICE_DATA_DIR", &data)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    run(&["tenant", "create", "acme"]);
    // Let the tenant's file get a WAL: a write through a plugin call.
    let file = backoffice_tests::wasm_path("contacts")
        .display()
        .to_string();
    run(&["plugin", "install", &file, "--yes", "--allow-unsigned"]);
    run(&["plugin", "enable", "contacts", "--tenant", "acme"]);

    assert_eq!(mode(&data), 0o700, "data directory");
    let mut databases = Vec::new();
    for dir in [data.clone(), data.join("tenants")] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
            } else if path.to_string_lossy().contains(".db") {
                databases.push(path);
            }
        }
    }
    let names: Vec<String> = databases
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "backoffice.db"), "{names:?}");
    assert!(
        databases
            .iter()
            .any(|p| p.parent().unwrap().ends_with("tenants")),
        "a tenant file: {names:?}"
    );
    for db in &databases {
        assert_eq!(mode(db), 0o600, "{}", db.display());
    }

    // Loosened by someone else: tightened on the next open.
    let main = data.join("backoffice.db");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&main, std::fs::Permissions::from_mode(0o644)).unwrap();
    run(&["tenant", "list"]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&main), 0o600);

    // While a server runs, SQLite's -wal and -shm files exist: owner-only too.
    let served = Cli::new();
    served.run(&["tenant", "create", "acme"]).ok();
    let server = Server::start(&served, &[]);
    assert_eq!(server.request("GET", "/readyz", None, "").status, 200);
    let mut side_files = Vec::new();
    for dir in [
        served.dir.path().to_path_buf(),
        served.dir.path().join("tenants"),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with("-wal") || name.ends_with("-shm") {
                assert_eq!(mode(&entry.path()), 0o600, "{name}");
                side_files.push(name);
            }
        }
    }
    assert!(side_files.len() >= 2, "{side_files:?}");
}

/// A package with a readable manifest of `versioned` at `version` by acme whose code
/// does not compile (a function declared to return an i32 returns nothing): whether
/// the compiler ran shows in the error.
fn uncompilable(cli: &Cli, name: &str, version: &str) -> String {
    let component = wat::parse_str("(component (core module (func (result i32))))").unwrap();
    let manifest = format!(
        "id = \"versioned\"\nname = \"Versioned\"\nvendor = \"acme\"\nversion = \"{version}\"\nhost-api = \"^0.1\"\n"
    );
    write(
        cli,
        name,
        &backoffice_tests::with_custom_section(
            component,
            "backoffice:manifest",
            manifest.as_bytes(),
        ),
    )
}

/// Finding 9c: the signature is checked before the component is compiled. Packages
/// that fail to compile are refused for their signature (unsigned, untrusted key,
/// tampered), which shows the compiler never ran; only once the admin accepts an
/// unsigned package does compilation run and fail.
#[test]
fn signatures_are_checked_before_compiling() {
    let cli = Cli::new();
    let keys = cli.dir.path().join("keys");
    let dir = keys.display().to_string();
    for v in ["acme", "globex"] {
        cli.run(&["keygen", "--name", v, "--out", &dir]).ok();
    }
    let acme_pub = keys.join("acme.pub").display().to_string();
    cli.run(&["trust", "add", &acme_pub, "--name", "acme"]).ok();
    let broken = uncompilable(&cli, "broken.wasm", "0.1.0");

    // Control: allowed in, the compiler runs and refuses it (exit 2).
    let compiled = cli
        .run(&["plugin", "install", &broken, "--yes", "--allow-unsigned"])
        .fails(2, &[]);
    assert!(!compiled.stderr.contains("unsigned"), "{compiled:?}");

    // Unsigned, not allowed: refused for that, before compiling.
    cli.run(&["plugin", "install", &broken, "--yes"])
        .fails(5, &["unsigned", "--allow-unsigned"]);

    // Signed with a key nobody trusts (globex's own key, manifest says acme).
    let impostor = keys.join("impostor.key");
    let globex = std::fs::read_to_string(keys.join("globex.key")).unwrap();
    std::fs::write(&impostor, globex.replace("vendor: globex", "vendor: acme")).unwrap();
    let key = impostor.display().to_string();
    cli.run(&["plugin", "sign", "--key", &key, &broken]).ok();
    cli.run(&["plugin", "install", &broken, "--yes"])
        .fails(5, &["not trusted"]);

    // Signed by acme, then changed: refused as tampered even with --allow-unsigned.
    let acme_key = keys.join("acme.key").display().to_string();
    cli.run(&["plugin", "sign", "--key", &acme_key, &broken])
        .ok();
    let tampered = write(
        &cli,
        "tampered.wasm",
        &backoffice_tests::with_custom_section(std::fs::read(&broken).unwrap(), "x", b"y"),
    );
    std::fs::copy(format!("{broken}.sig"), format!("{tampered}.sig")).unwrap();
    cli.run(&["plugin", "install", &tampered, "--yes", "--allow-unsigned"])
        .fails(7, &["signature is invalid"]);

    // The same order on upgrade.
    let v010 = write(
        &cli,
        "v010.wasm",
        &versioned("0.1.0", "acme", "\"storage\"", ""),
    );
    cli.run(&["plugin", "install", &v010, "--yes", "--allow-unsigned"])
        .ok();
    let broken_upgrade = uncompilable(&cli, "broken-0.1.1.wasm", "0.1.1");
    cli.run(&["plugin", "upgrade", &broken_upgrade, "--yes"])
        .fails(5, &["unsigned"]);
    cli.run(&[
        "plugin",
        "upgrade",
        &broken_upgrade,
        "--yes",
        "--allow-unsigned",
    ])
    .fails(2, &[]);
    assert_eq!(version(&cli), "0.1.0");
}

/// Finding 9d: a password change ends the user's sessions. Alice signed in twice (two
/// browsers); after her password is changed, neither session works, the old password
/// does not sign in, the new one does, and her API token (made on purpose by an
/// administrator) still works.
#[test]
fn a_password_change_ends_the_users_sessions() {
    const OLD: &str = "correct horse battery staple";
    const NEW: &str = "a much longer passphrase now";
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for user in ["alice", "bob"] {
        cli.run_with_stdin(
            &[
                "user",
                "create",
                user,
                "--tenant",
                "acme",
                "--password-stdin",
            ],
            OLD,
        )
        .ok();
    }
    let api_token = cli
        .run(&[
            "token", "create", "--user", "alice", "--tenant", "acme", "--name", "sync",
        ])
        .ok()
        .trim()
        .to_string();
    let server = Server::start(&cli, &[]);
    let login = |user: &str, password: &str| {
        server.request(
            "POST",
            "/v1/login",
            None,
            &json!({ "tenant": "acme", "username": user, "password": password }).to_string(),
        )
    };
    let session = |user: &str| {
        let r = login(user, OLD);
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["token"].as_str().unwrap().to_string()
    };
    let (laptop, phone, bobs) = (session("alice"), session("alice"), session("bob"));
    for token in [&laptop, &phone, &bobs, &api_token] {
        assert_eq!(server.request("GET", "/v1/me", Some(token), "").status, 200);
    }

    cli.run_with_stdin(
        &[
            "user",
            "update",
            "alice",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        NEW,
    )
    .ok();

    for token in [&laptop, &phone] {
        server
            .request("GET", "/v1/me", Some(token), "")
            .problem(401, "unauthenticated");
    }
    assert_eq!(
        server.request("GET", "/v1/me", Some(&bobs), "").status,
        200,
        "another user's session is not touched"
    );
    assert_eq!(
        server.request("GET", "/v1/me", Some(&api_token), "").status,
        200,
        "API tokens are revoked explicitly, not by a password change"
    );
    login("alice", OLD).problem(401, "unauthenticated");
    let fresh = login("alice", NEW);
    assert_eq!(fresh.status, 200, "{fresh:?}");
    let fresh = fresh.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        server.request("GET", "/v1/me", Some(&fresh), "").status,
        200
    );
    let update = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "user.update")
        .cloned()
        .unwrap();
    let detail: serde_json::Value =
        serde_json::from_str(update["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        detail["ended_sessions"].as_array().unwrap().len(),
        2,
        "{detail}"
    );
}

/// Finding 9e: `/openapi.json` tells an anonymous client nothing about the plugins
/// installed, and a tenant's user only about its own tenant's enabled plugins.
#[test]
fn openapi_lists_plugins_only_to_whom_they_are_enabled() {
    const PASSWORD: &str = "correct horse battery staple";
    let cli = Cli::new();
    for t in ["acme", "globex"] {
        cli.run(&["tenant", "create", t]).ok();
    }
    for p in ["contacts", "probe"] {
        cli.install_unsigned(p).ok();
    }
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "globex"])
        .ok();
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "ada",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        PASSWORD,
    )
    .ok();
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "root",
            "--system-admin",
            "--password-stdin",
        ],
        PASSWORD,
    )
    .ok();
    let server = Server::start(&cli, &[]);
    let token = |tenant: Option<&str>, user: &str| {
        let mut body = json!({ "username": user, "password": PASSWORD });
        if let Some(t) = tenant {
            body["tenant"] = json!(t);
        }
        server
            .request("POST", "/v1/login", None, &body.to_string())
            .json()["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let plugin_paths = |doc: &serde_json::Value| -> Vec<String> {
        doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|p| p.starts_with("/v1/tenants/{tenant}/plugins/"))
            .cloned()
            .collect()
    };
    let tags = |doc: &serde_json::Value| -> Vec<String> {
        doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };

    let anonymous = server.request("GET", "/openapi.json", None, "");
    assert_eq!(anonymous.status, 200);
    let anonymous = anonymous.json();
    assert_eq!(
        plugin_paths(&anonymous),
        Vec::<String>::new(),
        "{anonymous}"
    );
    assert_eq!(tags(&anonymous), ["host", "admin", "webhooks", "outbound"]);
    assert!(anonymous["paths"]["/v1/login"].is_object());
    for secret in ["contacts", "probe"] {
        assert!(!anonymous.to_string().contains(secret), "{secret} leaked");
    }

    let ada = token(Some("acme"), "ada");
    let mine = server
        .request("GET", "/openapi.json", Some(&ada), "")
        .json();
    let paths = plugin_paths(&mine);
    assert!(!paths.is_empty());
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with("/v1/tenants/{tenant}/plugins/contacts/")),
        "{paths:?}"
    );
    assert!(tags(&mine).contains(&"contacts".to_string()));
    assert!(
        !mine.to_string().contains("probe"),
        "globex's plugin leaked"
    );

    let root = token(None, "root");
    let all = plugin_paths(
        &server
            .request("GET", "/openapi.json", Some(&root), "")
            .json(),
    );
    for p in ["contacts", "probe"] {
        assert!(
            all.iter()
                .any(|x| x.starts_with(&format!("/v1/tenants/{{tenant}}/plugins/{p}/"))),
            "{p}: {all:?}"
        );
    }
    server
        .request("GET", "/openapi.json", Some("bo_nonsense"), "")
        .problem(401, "unauthenticated");
}
