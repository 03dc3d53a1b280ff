//! Per-plugin `[limits]` in `plugin.toml`, bounded by the admin's policy, driven
//! through the `backoffice` binary: the `probe` fixture packed with a manifest that
//! declares more memory or a shorter deadline than the host's defaults (64 MiB,
//! 2000 ms).

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, Server, root, wasm_path};
use serde_json::json;

/// The probe fixture packed with its own `plugin.toml` plus `limits` (TOML lines of
/// a `[limits]` table); answers the packed file's path.
fn probe_with_limits(cli: &Cli, name: &str, limits: &str) -> String {
    let manifest = std::fs::read_to_string(root().join("tests/fixtures/probe/plugin.toml"))
        .unwrap()
        + "\n[limits]\n"
        + limits
        + "\n";
    let manifest_path = cli.dir.path().join(format!("{name}.toml"));
    std::fs::write(&manifest_path, manifest).unwrap();
    let out = cli.dir.path().join(format!("{name}.wasm"));
    let probe = wasm_path("probe").display().to_string();
    cli.run(&[
        "plugin",
        "pack",
        &probe,
        "--manifest",
        &manifest_path.display().to_string(),
        "--out",
        &out.display().to_string(),
    ])
    .ok();
    out.display().to_string()
}

fn install(cli: &Cli, file: &str, extra: &[&str]) -> backoffice_tests::Run {
    let mut args = vec!["plugin", "install", file, "--yes", "--allow-unsigned"];
    args.extend_from_slice(extra);
    cli.run(&args)
}

fn enable_probe(cli: &Cli) {
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
}

fn call(cli: &Cli, op: &str, input: &serde_json::Value) -> backoffice_tests::Run {
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "probe",
        op,
        "--input",
        &input.to_string(),
    ])
}

#[test]
fn a_plugin_declaring_more_memory_gets_it_and_no_more() {
    let cli = Cli::new();
    let file = probe_with_limits(&cli, "probe-128", "memory = \"128MiB\"");
    install(&cli, &file, &[]).ok();
    enable_probe(&cli);

    let info = cli.run(&["plugin", "info", "probe", "--json"]).json();
    assert_eq!(
        info["limits"]["memory_bytes"],
        json!(128u64 << 20),
        "{info}"
    );
    assert_eq!(info["limits"]["call_deadline_ms"], json!(2000), "{info}");
    assert_eq!(info["limits"]["declared"], json!(true), "{info}");
    let text = cli.run(&["plugin", "info", "probe"]).ok();
    assert!(
        text.contains(
            "limits:        128 MiB of memory, 2000 ms per call (declared in its [limits])"
        ),
        "{text}"
    );

    // The admin's plugin view over HTTP shows the same.
    let password = "correct horse battery staple";
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "root",
            "--system-admin",
            "--password-stdin",
        ],
        password,
    )
    .ok();
    let server = Server::start(&cli, &[]);
    let login = json!({ "username": "root", "password": password }).to_string();
    let token = server.request("POST", "/v1/login", None, &login).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let view = server
        .request("GET", "/v1/admin/plugins/probe", Some(&token), "")
        .json();
    assert_eq!(
        view["limits"],
        json!({ "memory_bytes": 128u64 << 20, "call_deadline_ms": 2000, "declared": true })
    );
    drop(server);

    // 96 MiB: more than the host's 64 MiB default, within the declared 128 MiB.
    let out = call(&cli, "alloc", &json!({ "mib": 96 })).json();
    assert_eq!(out, json!({ "allocated-mib": 96 }));

    // Past the declared cap the call traps with the documented error.
    call(&cli, "alloc", &json!({ "mib": 160 })).fails(
        6,
        &[
            "plugin probe 0.1.0, operation 'alloc'",
            "memory limit exceeded",
            &format!("the cap is {} bytes", 128u64 << 20),
        ],
    );
}

#[test]
fn a_plugin_declaring_nothing_keeps_the_host_defaults() {
    let cli = Cli::new();
    cli.install_unsigned("probe").ok();
    enable_probe(&cli);
    let info = cli.run(&["plugin", "info", "probe", "--json"]).json();
    assert_eq!(info["limits"]["memory_bytes"], json!(64u64 << 20), "{info}");
    assert_eq!(info["limits"]["call_deadline_ms"], json!(2000), "{info}");
    assert_eq!(info["limits"]["declared"], json!(false), "{info}");
    // The same 96 MiB is over the default cap.
    call(&cli, "alloc", &json!({ "mib": 96 })).fails(
        6,
        &[
            "memory limit exceeded",
            &format!("the cap is {} bytes", 64u64 << 20),
        ],
    );
    // The admin's default (--memory-limit-mib) still sets the cap of such a plugin.
    let out = cli
        .run(&[
            "call",
            "--tenant",
            "acme",
            "probe",
            "alloc",
            "--input",
            r#"{"mib": 96}"#,
            "--memory-limit-mib",
            "128",
        ])
        .json();
    assert_eq!(out, json!({ "allocated-mib": 96 }));
}

#[test]
fn an_install_over_the_admins_policy_is_refused_with_what_to_change() {
    let cli = Cli::new();
    let file = probe_with_limits(&cli, "probe-512", "memory = \"512MiB\"");
    install(&cli, &file, &[]).fails(
        2,
        &[
            "plugin 'probe' declares [limits] memory = 512MiB",
            "more than this host's policy of 256MiB",
            "--max-plugin-memory-mib",
        ],
    );
    // Nothing was installed.
    cli.run(&["plugin", "info", "probe"]).fails(3, &["probe"]);

    let slow = probe_with_limits(&cli, "probe-slow", "deadline = \"45s\"");
    install(&cli, &slow, &[]).fails(
        2,
        &[
            "declares [limits] deadline = 45000ms",
            "policy of 30000ms",
            "--max-plugin-deadline-ms",
        ],
    );
    // An admin may raise the policy; then the plugin installs and runs with it.
    install(&cli, &file, &["--max-plugin-memory-mib", "1024"]).ok();
    enable_probe(&cli);
    let info = cli
        .run(&[
            "plugin",
            "info",
            "probe",
            "--json",
            "--max-plugin-memory-mib",
            "1024",
        ])
        .json();
    assert_eq!(
        info["limits"]["memory_bytes"],
        json!(512u64 << 20),
        "{info}"
    );
    let out = cli
        .run(&[
            "call",
            "--tenant",
            "acme",
            "probe",
            "alloc",
            "--input",
            r#"{"mib": 300}"#,
            "--max-plugin-memory-mib",
            "1024",
        ])
        .json();
    assert_eq!(out, json!({ "allocated-mib": 300 }));
}

#[test]
fn a_declared_deadline_shorter_than_the_default_stops_a_slow_call() {
    let cli = Cli::new();
    let file = probe_with_limits(&cli, "probe-fast", "deadline = \"300ms\"");
    install(&cli, &file, &[]).ok();
    enable_probe(&cli);
    let info = cli.run(&["plugin", "info", "probe", "--json"]).json();
    assert_eq!(info["limits"]["call_deadline_ms"], json!(300), "{info}");

    call(&cli, "spin", &json!({})).fails(
        6,
        &[
            "plugin probe 0.1.0, operation 'spin'",
            "stopped after the 300ms deadline",
        ],
    );
    // A wait inside a host function is stopped at the same deadline.
    call(&cli, "sleep", &json!({ "ms": 1500 })).fails(6, &["stopped after the 300ms deadline"]);
    // A quick call still runs.
    let out = call(&cli, "busy", &json!({ "iterations": 10 })).json();
    assert_eq!(out, json!({ "done": 10 }));
}
