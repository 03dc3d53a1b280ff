//! The `backoffice` binary driven as an admin would, including every kind of bad input:
//! each must fail with a clear message and a proper exit code and change nothing.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, Run, wasm, wasm_path, with_custom_section};
use serde_json::json;

fn path(name: &str) -> String {
    wasm_path(name).display().to_string()
}

/// `backoffice call --tenant <tenant> contacts <operation> --input <input>`.
fn call(cli: &Cli, tenant: &str, operation: &str, input: &str) -> Run {
    cli.run(&[
        "call", "--tenant", tenant, "contacts", operation, "--input", input,
    ])
}

/// The manifest-less fixture with `manifest` embedded, written to `name`.
fn with_manifest(cli: &Cli, name: &str, manifest: &str) -> String {
    let bytes = with_custom_section(
        wasm("no_manifest"),
        "backoffice:manifest",
        manifest.as_bytes(),
    );
    write(cli, name, &bytes)
}

fn write(cli: &Cli, name: &str, bytes: &[u8]) -> String {
    let p = cli.dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

#[test]
fn admin_tour_install_enable_call_disable_remove() {
    let cli = Cli::new();
    cli.run(&[
        "tenant",
        "create",
        "acme",
        "--name",
        "Acme Ltd",
        "--time-zone",
        "Europe/London",
    ])
    .ok();
    let out = cli
        .run(&[
            "plugin",
            "install",
            &path("contacts"),
            "--yes",
            "--allow-unsigned",
        ])
        .ok();
    assert!(
        out.contains("requests capabilities") && out.contains("storage"),
        "{out}"
    );
    assert!(out.contains("installed 'contacts' 0.1.0"), "{out}");

    let list = cli.run(&["plugin", "list", "--json"]).json();
    assert_eq!(list[0]["id"], "contacts");
    assert_eq!(list[0]["granted"], json!(["storage"]));
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();

    let created = call(
        &cli,
        "acme",
        "create",
        r#"{"name":"Ada Lovelace","kind":"customer","email":"ada@example.com"}"#,
    )
    .json();
    let id = created["id"].as_str().unwrap().to_string();
    // JSON on stdin works too.
    let got = cli
        .run_with_stdin(
            &["call", "--tenant", "acme", "contacts", "get"],
            &format!(r#"{{"id":"{id}"}}"#),
        )
        .json();
    assert_eq!(got["name"], "Ada Lovelace");
    let dup = call(
        &cli,
        "acme",
        "create",
        r#"{"name":"Ada again","kind":"customer","email":"ADA@example.com"}"#,
    );
    dup.fails(
        4,
        &["plugin contacts 0.1.0, operation 'create'", "conflict"],
    );

    let info = cli.run(&["plugin", "info", "contacts"]).ok();
    assert!(info.contains("enabled for:   acme"), "{info}");
    assert!(info.contains("contacts.write"), "{info}");

    cli.run(&["plugin", "remove", "contacts"])
        .fails(4, &["still enabled for tenant(s) acme"]);
    cli.run(&["plugin", "disable", "contacts", "--tenant", "acme"])
        .ok();
    call(&cli, "acme", "get", &format!(r#"{{"id":"{id}"}}"#)).fails(
        5,
        &[
            "not enabled for tenant 'acme'",
            "backoffice plugin enable contacts --tenant acme",
        ],
    );
    // Disabling keeps data: enabling again finds the contact.
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    let again = call(&cli, "acme", "get", &format!(r#"{{"id":"{id}"}}"#)).json();
    assert_eq!(again["name"], "Ada Lovelace");
    cli.run(&["plugin", "disable", "contacts", "--tenant", "acme"])
        .ok();
    let removed = cli.run(&["plugin", "remove", "contacts"]).ok();
    assert!(removed.contains("kept"), "{removed}");
    assert_eq!(cli.run(&["plugin", "list", "--json"]).json(), json!([]));
}

#[test]
fn bad_packages_are_refused_clearly_and_change_nothing() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let before = cli.state();

    let not_wasm = write(&cli, "notes.txt", b"just some text");
    cli.run(&["plugin", "install", &not_wasm, "--yes", "--allow-unsigned"])
        .fails(2, &["not a WebAssembly binary"]);

    let core = write(
        &cli,
        "core.wasm",
        &wat::parse_str("(module (func (export \"f\")))").unwrap(),
    );
    cli.run(&["plugin", "install", &core, "--yes", "--allow-unsigned"])
        .fails(
            2,
            &["core WebAssembly module, not a component", "wasm32-wasip2"],
        );

    cli.install_unsigned("other_world").fails(
        2,
        &[
            "does not target the backoffice:host/plugin world",
            "it exports: run",
        ],
    );

    cli.install_unsigned("no_manifest").fails(
        2,
        &["no 'backoffice:manifest' custom section", "export_plugin!"],
    );

    let broken = with_manifest(&cli, "broken.wasm", "id = \"x\"\nversion = ");
    cli.run(&["plugin", "install", &broken, "--yes", "--allow-unsigned"])
        .fails(2, &["plugin.toml is not valid"]);

    let future = with_manifest(
        &cli,
        "future.wasm",
        "id = \"future\"\nname = \"F\"\nvendor = \"v\"\nversion = \"1.0.0\"\nhost-api = \"^2.0\"\n",
    );
    cli.run(&["plugin", "install", &future, "--yes", "--allow-unsigned"])
        .fails(2, &["needs host API ^2.0", "provides 0.1.0"]);

    // WASI beyond the linked list (here wasi:http) is refused; the filesystem and
    // sockets are linked empty (see `filesystem_and_network_give_nothing`).
    let http = wat::parse_str(
        r#"(component
            (import "wasi:http/outgoing-handler@0.2.0" (instance))
            (instance $h)
            (export "backoffice:host/handler@0.1.0" (instance $h)))"#,
    )
    .unwrap();
    let http = with_custom_section(
        http,
        "backoffice:manifest",
        b"id = \"fetcher\"\nname = \"F\"\nvendor = \"v\"\nversion = \"0.1.0\"\nhost-api = \"^0.1\"\n",
    );
    let http = write(&cli, "http.wasm", &http);
    cli.run(&["plugin", "install", &http, "--yes", "--allow-unsigned"])
        .fails(
            2,
            &["imports 'wasi:http/outgoing-handler", "does not offer"],
        );

    cli.install_unsigned("needs_contacts")
        .fails(4, &["depends on 'contacts' ^0.1, which is not installed"]);

    let missing = cli.dir.path().join("nope.wasm").display().to_string();
    cli.run(&["plugin", "install", &missing, "--yes", "--allow-unsigned"])
        .fails(2, &["cannot read"]);

    // Capabilities are never granted silently.
    cli.run(&["plugin", "install", &path("contacts"), "--allow-unsigned"])
        .fails(5, &["re-run with --yes"]);
    // Unsigned packages are never installed silently either.
    cli.run(&["plugin", "install", &path("contacts"), "--yes"])
        .fails(5, &["refusing plugin 'contacts'", "--allow-unsigned"]);

    assert_eq!(cli.state(), before, "a refused install changed state");
}

#[test]
fn filesystem_and_network_give_nothing() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("rogue_fs").ok();
    cli.run(&["plugin", "enable", "rogue-fs", "--tenant", "acme"])
        .ok();
    let attempt = |op: &str, input: serde_json::Value| {
        let out = cli.call("acme", "rogue-fs", op, &input);
        assert_eq!(out["ok"], false, "{op} got through: {out}");
        out["error"].as_str().unwrap_or_default().to_owned()
    };
    let empty = serde_json::json!({});
    attempt("read", empty.clone());
    attempt("list-root", empty);
    let refused = attempt("connect", serde_json::json!({"address": "127.0.0.1:9"}));
    assert!(
        refused.contains("denied")
            || refused.contains("not permitted")
            || refused.contains("ermission"),
        "{refused}"
    );
    attempt("resolve", serde_json::json!({"address": "localhost:80"}));
}

#[test]
fn installing_the_same_version_twice_is_a_conflict() {
    let cli = Cli::new();
    cli.install_unsigned("contacts").ok();
    let before = cli.state();
    cli.install_unsigned("contacts")
        .fails(4, &["'contacts' version 0.1.0 is already installed"]);
    assert_eq!(cli.state(), before);
}

#[test]
fn bad_calls_are_refused_clearly_and_change_nothing() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["tenant", "create", "globex"]).ok();
    cli.install_unsigned("contacts").ok();
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    call(
        &cli,
        "acme",
        "create",
        r#"{"name": "Existing Ltd", "kind": "supplier"}"#,
    )
    .ok();
    let before = cli.state();
    let list = |t: &str| call(&cli, t, "list", "{}");
    let count_before = list("acme").json()["items"].as_array().map(Vec::len);
    assert_eq!(count_before, Some(1));

    call(&cli, "nobody", "list", "{}").fails(
        3,
        &["unknown tenant 'nobody'", "backoffice tenant create nobody"],
    );
    cli.run(&["plugin", "enable", "contacts", "--tenant", "nobody"])
        .fails(3, &["unknown tenant 'nobody'"]);
    cli.run(&["call", "--tenant", "acme", "ghost", "list", "--input", "{}"])
        .fails(3, &["plugin 'ghost' is not installed"]);
    cli.run(&["plugin", "info", "ghost"])
        .fails(3, &["plugin 'ghost' is not installed"]);
    call(&cli, "globex", "list", "{}").fails(5, &["not enabled for tenant 'globex'"]);
    call(&cli, "acme", "explode", "{}").fails(3, &["has no operation 'explode'", "create"]);
    call(&cli, "acme", "create", "{\"name\": ").fails(2, &["input is not valid JSON"]);
    call(
        &cli,
        "acme",
        "create",
        r#"{"name": 42, "kind": "customer"}"#,
    )
    .fails(
        2,
        &["does not match the schema of contacts.create", "/name"],
    );
    call(
        &cli,
        "acme",
        "create",
        r#"{"name": "X", "kind": "customer", "colour": "red"}"#,
    )
    .fails(2, &["does not match the schema"]);
    cli.run(&["tenant", "create", "Bad Name!"])
        .fails(2, &["tenant id 'Bad Name!'"]);
    cli.run(&["tenant", "create", "acme"])
        .fails(4, &["tenant 'acme' already exists"]);
    cli.run(&["tenant", "create", "zed", "--time-zone", "Mars/Olympus"])
        .fails(2, &["unknown time zone"]);
    cli.run(&["call", "--tenant", "acme", "contacts", "list"])
        .fails(2, &["no input"]);

    assert_eq!(cli.state(), before);
    assert_eq!(
        list("acme").json()["items"].as_array().map(Vec::len),
        count_before
    );
}

#[test]
fn dependencies_must_be_installed_and_enabled_first() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for dependency in ["contacts", "probe"] {
        cli.install_unsigned(dependency).ok();
    }
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    cli.install_unsigned("needs_contacts").ok();
    cli.run(&["plugin", "enable", "needs-contacts", "--tenant", "acme"])
        .fails(
            4,
            &[
                "needs 'contacts' ^0.1 enabled for tenant 'acme'",
                "backoffice plugin enable contacts --tenant acme",
            ],
        );
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    cli.run(&["plugin", "enable", "needs-contacts", "--tenant", "acme"])
        .ok();
    cli.run(&["plugin", "disable", "contacts", "--tenant", "acme"])
        .fails(4, &["'needs-contacts' depends on 'contacts'"]);
    cli.run(&["plugin", "disable", "needs-contacts", "--tenant", "acme"])
        .ok();
    cli.run(&["plugin", "disable", "contacts", "--tenant", "acme"])
        .ok();
    cli.run(&["plugin", "remove", "contacts"])
        .fails(4, &["'needs-contacts' depends on 'contacts'"]);
}

#[test]
fn a_restart_loads_compiled_code_from_the_cache() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("contacts").ok();
    let cache_dir = cli.dir.path().join("cache");
    let files: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "install writes one compiled artifact: {files:?}"
    );
    let mtime = std::fs::metadata(&files[0]).unwrap().modified().unwrap();

    // Each CLI run is a fresh process: a restart. It must read the cache, not compile.
    let run = cli
        .command(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .env("BACKOFFICE_LOG", "backoffice=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("cache=Hit"),
        "expected a cache hit: {stderr}"
    );
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
        mtime
    );

    // A file from another wasmtime build or a corrupted one is replaced, not trusted.
    std::fs::write(&files[0], b"stale code from another wasmtime").unwrap();
    let run = cli
        .command(&[
            "call", "--tenant", "acme", "contacts", "list", "--input", "{}",
        ])
        .env("BACKOFFICE_LOG", "backoffice=debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("recompiling") && stderr.contains("cache=Compiled"),
        "{stderr}"
    );
}

#[test]
fn help_is_available_on_every_command() {
    let cli = Cli::new();
    for args in [
        vec!["--help"],
        vec!["tenant", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["plugin", "install", "--help"],
        vec!["plugin", "remove", "--help"],
        vec!["plugin", "inspect", "--help"],
        vec!["plugin", "sign", "--help"],
        vec!["plugin", "upgrade", "--help"],
        vec!["plugin", "rollback", "--help"],
        vec!["plugin", "new", "--help"],
        vec!["plugin", "pack", "--help"],
        vec!["keygen", "--help"],
        vec!["trust", "--help"],
        vec!["trust", "add", "--help"],
        vec!["call", "--help"],
        vec!["serve", "--help"],
    ] {
        let out = cli.run(&args).ok();
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    cli.run(&["plugin", "frobnicate"])
        .fails(2, &["unrecognized subcommand"]);
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    use std::process::Stdio;
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("contacts").ok();
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    // `backoffice ... | head`: the reader has gone before the command writes.
    let closed_early = |args: &[&str]| {
        let mut child = cli
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    };
    // JSON output (print_json) of a call that writes: the write still commits.
    closed_early(&[
        "call",
        "--tenant",
        "acme",
        "contacts",
        "create",
        "--input",
        r#"{"name":"Ada Lovelace","kind":"customer","email":"ada@example.com"}"#,
    ]);
    // Table output printed line by line.
    closed_early(&["plugin", "list"]);
    let listed = call(&cli, "acme", "list", "{}").json();
    assert_eq!(listed["items"][0]["name"], "Ada Lovelace", "{listed}");
}
