//! `backoffice plugin pack`: a component from any toolchain gets its manifest embedded
//! by the CLI and then installs like an SDK-built plugin.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, wasm_path};

const PING: &str = r#"id = "pinger"
name = "Pinger"
vendor = "example"
version = "0.1.0"
host-api = "^0.1"

[[operations]]
name = "ping"
permission = "pinger.ping"
"#;

fn file(cli: &Cli, name: &str, text: &str) -> String {
    let path = cli.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn out(cli: &Cli, name: &str) -> String {
    cli.dir.path().join(name).display().to_string()
}

#[test]
fn a_component_without_a_manifest_is_packed_then_installed_and_called() {
    let cli = Cli::new();
    let bare = wasm_path("no_manifest").display().to_string();
    let manifest = file(&cli, "plugin.toml", PING);
    let packed = out(&cli, "pinger.wasm");
    let said = cli
        .run(&[
            "plugin",
            "pack",
            &bare,
            "--manifest",
            &manifest,
            "--out",
            &packed,
        ])
        .ok();
    assert!(said.contains("packed pinger 0.1.0"), "{said}");

    // Packing a packed component replaces its manifest instead of adding a second.
    let v2 = file(&cli, "v2.toml", &PING.replace("0.1.0", "0.2.0"));
    let repacked = out(&cli, "pinger-0.2.0.wasm");
    cli.run(&[
        "plugin",
        "pack",
        &packed,
        "--manifest",
        &v2,
        "--out",
        &repacked,
    ])
    .ok();
    let inspected = cli.run(&["plugin", "inspect", &repacked, "--json"]).json();
    assert_eq!(inspected["manifest"]["version"], "0.2.0", "{inspected}");

    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["plugin", "install", &packed, "--yes", "--allow-unsigned"])
        .ok();
    cli.run(&["plugin", "enable", "pinger", "--tenant", "acme"])
        .ok();
    let answer = cli.call("acme", "pinger", "ping", &serde_json::json!({}));
    assert_eq!(answer, serde_json::json!({ "pong": true }));
}

#[test]
fn pack_refuses_what_is_not_a_component_or_not_a_valid_manifest_and_writes_nothing() {
    let cli = Cli::new();
    let bare = wasm_path("no_manifest").display().to_string();
    let good = file(&cli, "plugin.toml", PING);
    let target = out(&cli, "out.wasm");
    let pack = |component: &str, manifest: &str| {
        cli.run(&[
            "plugin",
            "pack",
            component,
            "--manifest",
            manifest,
            "--out",
            &target,
        ])
    };

    let text = file(&cli, "notes.txt", "not wasm");
    pack(&text, &good).fails(2, &["not a WebAssembly binary"]);
    let core = out(&cli, "core.wasm");
    std::fs::write(&core, wat::parse_str("(module)").unwrap()).unwrap();
    pack(&core, &good).fails(2, &["core WebAssembly module, not a component"]);

    let syntax = file(&cli, "syntax.toml", "id = \"x\"\nversion = ");
    pack(&bare, &syntax).fails(2, &["plugin.toml is not valid"]);
    let rules = file(
        &cli,
        "rules.toml",
        &PING.replace("\"pinger\"", "\"Pinger!\""),
    );
    pack(&bare, &rules).fails(2, &["plugin.toml: ", "Pinger!"]);
    let future = file(&cli, "future.toml", &PING.replace("^0.1", "^2.0"));
    pack(&bare, &future).fails(2, &["needs host API ^2.0"]);
    let missing = out(&cli, "missing.toml");
    pack(&bare, &missing).fails(2, &["cannot read", "missing.toml"]);

    let left: Vec<_> = std::fs::read_dir(cli.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("out.wasm"))
        .collect();
    assert!(left.is_empty(), "a refused pack wrote {left:?}");
}
