//! Dry runs through the CLI and over HTTP (issue 17): `backoffice call --dry-run`
//! and `?dry-run=true` run the operation, roll it back, and answer its output with
//! what it would have done (storage changes, events, scheduled runs); the audit log
//! records each dry run as such; refused calls and bad queries fail as usual.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, Server};
use serde_json::{Value, json};

/// Tenant acme with the probe enabled and an API token holding `probe.run`.
fn setup() -> (Cli, String) {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    cli.run(&[
        "role",
        "create",
        "runner",
        "--tenant",
        "acme",
        "--permission",
        "probe.run",
    ])
    .ok();
    cli.run(&["user", "create", "ann", "--tenant", "acme"]).ok();
    cli.run(&["user", "assign-role", "ann", "runner", "--tenant", "acme"])
        .ok();
    let token = cli
        .run(&[
            "token", "create", "--user", "ann", "--tenant", "acme", "--name", "t",
        ])
        .ok()
        .trim()
        .to_string();
    (cli, token)
}

fn get(cli: &Cli, key: &str) -> Value {
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "probe",
        "get",
        "--input",
        &json!({"key": key}).to_string(),
    ])
    .json()["value"]
        .clone()
}

#[test]
fn http_dry_runs_report_effects_and_keep_nothing() {
    let (cli, token) = setup();
    let server = Server::start(&cli, &[]);
    let post =
        |path: &str, body: Value| server.request("POST", path, Some(&token), &body.to_string());
    let base = "/v1/tenants/acme/plugins/probe";

    // A write: the report names the key; the value is not stored.
    let r = post(
        &format!("{base}/put?dry-run=true"),
        json!({"key": "k", "value": {"n": 1}}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let report = r.json();
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["output"], json!({}));
    assert_eq!(
        report["effects"]["writes"],
        json!([{"plugin": "probe", "puts": 1, "deletes": 0, "keys": ["k"]}])
    );
    assert_eq!(get(&cli, "k"), Value::Null);

    // Events and a scheduled run are reported, and neither exists afterwards.
    let r = post(
        &format!("{base}/emit?dry-run=true"),
        json!({"topic": "probe.happened", "payload": {"n": 7}, "count": 2}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let events = r.json()["effects"]["events"].clone();
    assert_eq!(
        events,
        json!([
            {"plugin": "probe", "topic": "probe.happened", "payload": {"n": 7}},
            {"plugin": "probe", "topic": "probe.happened", "payload": {"n": 7}}
        ])
    );
    let r = post(
        &format!("{base}/schedule?dry-run=true"),
        json!({"job": "once", "at": "2030-01-02T03:04:05Z", "payload": {"x": 1}}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let runs = r.json()["effects"]["runs"].clone();
    assert_eq!(
        runs,
        json!([{"plugin": "probe", "job": "once", "at": "2030-01-02T03:04:05Z",
                "payload": {"x": 1}}])
    );
    let listed = cli.run(&["events", "list", "--json"]).json();
    assert_eq!(listed, json!([]), "{listed}");
    let jobs = cli.run(&["jobs", "list", "--json"]).json();
    let pending: Vec<&Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["job"] == "once")
        .collect();
    assert!(pending.is_empty(), "{jobs}");

    // `dry-run=false` is an ordinary call; a read-only operation reports no effects.
    let r = post(
        &format!("{base}/put?dry-run=false"),
        json!({"key": "k", "value": 2}),
    );
    assert_eq!((r.status, r.json()), (200, json!({})));
    let r = post(&format!("{base}/get?dry-run=true"), json!({"key": "k"}));
    assert_eq!(r.status, 200, "{r:?}");
    let report = r.json();
    assert_eq!(report["output"], json!({"value": 2}));
    assert_eq!(
        report["effects"],
        json!({"calls": [], "events": [], "runs": [], "cancelled_runs": [], "writes": []})
    );

    // A call the plugin fails, and a bad query, fail as usual; nothing is written.
    post(
        &format!("{base}/write-then-fail?dry-run=true"),
        json!({"key": "w"}),
    )
    .problem(409, "conflict");
    let bad = post(
        &format!("{base}/put?dry-run=maybe"),
        json!({"key": "k", "value": 3}),
    );
    let problem = bad.problem(400, "invalid-input");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("dry-run=true|false"),
        "{problem}"
    );
    assert_eq!(get(&cli, "k"), json!(2));
    assert_eq!(get(&cli, "w"), Value::Null);
    drop(server);

    // The audit log tells dry runs from calls.
    let links = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .json();
    let dry: Vec<(String, String)> = links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == "dry-run")
        .map(|l| {
            (
                l["target"].as_str().unwrap().to_string(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("probe.put", "ok"),
        ("probe.emit", "ok"),
        ("probe.schedule", "ok"),
        ("probe.get", "ok"),
        ("probe.write-then-fail", "conflict"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(dry, want);
    let out = cli.run(&["audit", "verify"]).ok();
    assert!(out.contains("chain acme: ok"), "{out}");
}

#[test]
fn the_cli_previews_a_call_with_dry_run() {
    let (cli, _) = setup();
    let report = cli
        .run(&[
            "call",
            "--tenant",
            "acme",
            "probe",
            "put",
            "--dry-run",
            "--input",
            r#"{"key":"a","value":true}"#,
        ])
        .json();
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(report["effects"]["writes"][0]["keys"], json!(["a"]));
    assert_eq!(get(&cli, "a"), Value::Null);
    // The same call without the flag keeps its write.
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "probe",
        "put",
        "--input",
        r#"{"key":"a","value":true}"#,
    ])
    .ok();
    assert_eq!(get(&cli, "a"), json!(true));
}
