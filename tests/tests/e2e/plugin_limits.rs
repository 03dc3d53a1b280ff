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
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "bob",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        password,
    )
    .ok();
    cli.run(&["user", "assign-role", "bob", "admin", "--tenant", "acme"])
        .ok();
    let bob = cli
        .run(&[
            "token", "create", "--user", "bob", "--tenant", "acme", "--name", "t",
        ])
        .ok()
        .trim()
        .to_string();
    let server = Server::start(&cli, &[]);
    let login = json!({ "username": "root", "password": password }).to_string();
    let token = server.request("POST", "/v1/login", None, &login).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let view = server
        .request("GET", "/v1/admin/plugins/probe", Some(&token), "")
        .json();
    // No call in the server yet: no high-water mark.
    assert_eq!(
        view["limits"],
        json!({ "memory_bytes": 128u64 << 20, "call_deadline_ms": 2000, "declared": true,
                "memory_high_water_bytes": null })
    );
    // After a call holding 96 MiB, the server reports what one instance held at
    // most: at least the 96 MiB, within the 128 MiB cap.
    let out = server
        .request(
            "POST",
            "/v1/tenants/acme/plugins/probe/alloc",
            Some(&bob),
            &json!({ "mib": 96 }).to_string(),
        )
        .json();
    assert_eq!(out, json!({ "allocated-mib": 96 }));
    let view = server
        .request("GET", "/v1/admin/plugins/probe", Some(&token), "")
        .json();
    let peak = view["limits"]["memory_high_water_bytes"].as_u64().unwrap();
    assert!((96u64 << 20..=128u64 << 20).contains(&peak), "{view}");
    drop(server);
    // A CLI process that made no call has no mark to show, and says where to look.
    let info = cli.run(&["plugin", "info", "probe", "--json"]).json();
    assert_eq!(
        info["limits"]["memory_high_water_bytes"],
        json!(null),
        "{info}"
    );
    let text = cli.run(&["plugin", "info", "probe"]).ok();
    assert!(
        text.contains("memory peak:   not measured: no call in this process"),
        "{text}"
    );

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

/// Migrations, job runs and event deliveries have deadlines of their own
/// (`--migration-timeout-ms`, `--background-timeout-ms`, 60 s each by default),
/// separate from an operation's: the probe sleeps past them when asked.
#[test]
fn migrations_jobs_and_event_handlers_have_their_own_deadlines() {
    let cli = Cli::new();
    cli.install_unsigned("probe").ok();
    enable_probe(&cli);
    let short = ["--background-timeout-ms", "500"];
    let sleepy = json!({ "sleep-ms": 1500 }).to_string();

    // An event whose handler sleeps 1.5 s: its delivery stops at 500 ms. The call
    // that emitted it (an operation, 2 s deadline) is not concerned.
    let mut args = vec![
        "call",
        "--tenant",
        "acme",
        "probe",
        "emit",
        "--input",
        r#"{"topic": "probe.happened", "payload": {"sleep-ms": 1500}}"#,
    ];
    args.extend_from_slice(&short);
    cli.run(&args).ok();
    // A job sleeping as long stops at the same deadline (run here, in this process).
    let mut args = vec![
        "jobs",
        "run",
        "probe",
        "once",
        "--tenant",
        "acme",
        "--payload",
        &sleepy,
    ];
    args.extend_from_slice(&short);
    let runs = cli.run(&args).json();
    assert_ne!(runs[0]["outcome"], "ok", "{runs}");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap()
            .contains("stopped after the 500ms deadline"),
        "{runs}"
    );
    let events = cli
        .run(&["events", "list", "--tenant", "acme", "--json"])
        .json();
    assert!(
        events
            .to_string()
            .contains("stopped after the 500ms deadline"),
        "{events}"
    );
    // An operation sleeping 1 s keeps its own 2 s deadline under the short policy.
    let mut args = vec![
        "call",
        "--tenant",
        "acme",
        "probe",
        "sleep",
        "--input",
        r#"{"ms": 1000}"#,
    ];
    args.extend_from_slice(&short);
    cli.run(&args).ok();
    // With the default background deadline the same job finishes.
    let runs = cli
        .run(&[
            "jobs",
            "run",
            "probe",
            "once",
            "--tenant",
            "acme",
            "--payload",
            &sleepy,
        ])
        .json();
    assert_eq!(runs[0]["outcome"], "ok", "{runs}");

    // A migration sleeping 1.5 s (the probe's migrate when enabled again) stops at
    // a 500 ms migration deadline: the plugin stays disabled, nothing half-done.
    call(
        &cli,
        "put",
        &json!({ "key": "migrate-sleep-ms", "value": 1500 }),
    )
    .ok();
    cli.run(&["plugin", "disable", "probe", "--tenant", "acme"])
        .ok();
    let refused = cli.run(&[
        "plugin",
        "enable",
        "probe",
        "--tenant",
        "acme",
        "--migration-timeout-ms",
        "500",
    ]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("stopped after the 500ms deadline"),
        "{}",
        refused.stderr
    );
    let info = cli.run(&["plugin", "info", "probe", "--json"]).json();
    assert_eq!(info["enabled_for"], json!([]), "{info}");
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();

    // A lease shorter than the background deadline is warned about: another worker
    // could run the same work again while it is still running.
    let warned = cli.run(&[
        "jobs",
        "list",
        "--background-timeout-ms",
        "200000",
        "--lease-ms",
        "120000",
    ]);
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    assert!(
        warned.stderr.contains(
            "--lease-ms (120000 ms) is not longer than --background-timeout-ms (200000 ms)"
        ),
        "{}",
        warned.stderr
    );
}
