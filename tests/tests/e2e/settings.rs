//! Tenant settings of plugins: declared in `plugin.toml`, set by a tenant's admins
//! from the CLI and over HTTP, checked against their schema, audited, and read by the
//! plugin through `context.setting` from its next call on.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, Server};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// What the probe reads for `name` in `tenant`.
fn read(cli: &Cli, tenant: &str, name: &str) -> Value {
    cli.call(tenant, "probe", "setting", &json!({ "name": name }))["value"].clone()
}

/// acme and globex with the probe enabled.
fn setup() -> Cli {
    let cli = Cli::new();
    for t in ["acme", "globex"] {
        cli.run(&["tenant", "create", t]).ok();
    }
    cli.install_unsigned("probe").ok();
    for t in ["acme", "globex"] {
        cli.run(&["plugin", "enable", "probe", "--tenant", t]).ok();
    }
    cli
}

#[test]
fn the_cli_sets_settings_per_tenant_and_the_plugin_reads_them() {
    let cli = setup();
    // Defaults first; a declared setting without a default, and an undeclared name,
    // read as nothing.
    assert_eq!(read(&cli, "acme", "greeting"), json!("hello"));
    assert_eq!(read(&cli, "acme", "limit"), Value::Null);
    assert_eq!(read(&cli, "acme", "not-declared"), Value::Null);

    let set = cli
        .run(&[
            "settings", "set", "--tenant", "acme", "probe", "greeting", "bonjour", "--json",
        ])
        .json();
    assert_eq!(set["value"], json!("bonjour"));
    assert_eq!(set["default"], json!("hello"));
    cli.run(&[
        "settings", "set", "--tenant", "acme", "probe", "limit", "42",
    ])
    .ok();
    // The next call sees the values; the other tenant keeps the defaults.
    assert_eq!(read(&cli, "acme", "greeting"), json!("bonjour"));
    assert_eq!(read(&cli, "acme", "limit"), json!(42));
    assert_eq!(read(&cli, "globex", "greeting"), json!("hello"));

    let listed = cli
        .run(&["settings", "list", "--tenant", "acme", "probe", "--json"])
        .json();
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["greeting", "limit"]);
    assert_eq!(listed[1]["effective"], json!(42));
    let table = cli
        .run(&["settings", "list", "--tenant", "acme", "probe"])
        .ok();
    assert!(
        table.contains("greeting") && table.contains("\"bonjour\""),
        "{table}"
    );

    // Bad input: refused with what is wrong, exit code of invalid input, nothing
    // changed.
    cli.run(&[
        "settings", "set", "--tenant", "acme", "probe", "limit", "500",
    ])
    .fails(2, &["setting 'limit' does not accept 500", "maximum"]);
    cli.run(&[
        "settings", "set", "--tenant", "acme", "probe", "limit", "many",
    ])
    .fails(2, &["setting 'limit'", "\"many\""]);
    cli.run(&[
        "settings", "set", "--tenant", "acme", "probe", "colour", "red",
    ])
    .fails(3, &["no setting 'colour'", "greeting, limit"]);
    cli.run(&[
        "settings", "set", "--tenant", "nobody", "probe", "limit", "1",
    ])
    .fails(3, &["nobody"]);
    assert_eq!(read(&cli, "acme", "limit"), json!(42));

    // A company leaving the service takes its values along.
    let out = cli.dir.path().join("acme-export");
    let report = cli
        .run(&[
            "tenant",
            "export",
            "--tenant",
            "acme",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .json();
    assert_eq!(
        report["plugins"][0]["settings"],
        json!({ "greeting": "bonjour", "limit": 42 }),
        "{report}"
    );

    // Unset: the default applies again.
    cli.run(&["settings", "unset", "--tenant", "acme", "probe", "greeting"])
        .ok();
    assert_eq!(read(&cli, "acme", "greeting"), json!("hello"));

    // Each change is a link in the tenant's audit chain, with the value.
    let links = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .json();
    let actions: Vec<(String, String)> = links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"].as_str().unwrap_or("").starts_with("settings."))
        .map(|l| {
            (
                l["action"].as_str().unwrap().to_string(),
                l["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            (
                "settings.set".into(),
                "plugin:probe/setting:greeting".into()
            ),
            ("settings.set".into(), "plugin:probe/setting:limit".into()),
            (
                "settings.unset".into(),
                "plugin:probe/setting:greeting".into()
            ),
        ]
    );
    cli.run(&["audit", "verify"]).ok();

    // A plugin not enabled for the tenant has no settings there.
    cli.run(&["plugin", "disable", "probe", "--tenant", "globex"])
        .ok();
    cli.run(&["settings", "list", "--tenant", "globex", "probe"])
        .fails(4, &["not enabled for tenant 'globex'"]);
}

#[test]
fn tenant_admins_manage_settings_over_http() {
    let cli = setup();
    for (user, role) in [("bob", "admin"), ("alice", "clerk")] {
        if role == "clerk" {
            cli.run(&[
                "role",
                "create",
                "clerk",
                "--tenant",
                "acme",
                "--permission",
                "probe.run",
            ])
            .ok();
        }
        cli.run_with_stdin(
            &[
                "user",
                "create",
                user,
                "--tenant",
                "acme",
                "--password-stdin",
            ],
            PASSWORD,
        )
        .ok();
        cli.run(&["user", "assign-role", user, role, "--tenant", "acme"])
            .ok();
    }
    let token = |user: &str| {
        let out = cli
            .run(&[
                "token", "create", "--user", user, "--tenant", "acme", "--name", "t",
            ])
            .ok();
        out.trim().to_string()
    };
    let (admin, clerk) = (token("bob"), token("alice"));
    let server = Server::start(&cli, &[]);
    let path = "/v1/tenants/acme/settings/probe";

    let listed = server.request("GET", path, Some(&admin), "");
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["settings"][0]["effective"], json!("hello"));

    let put = server.request("PUT", &format!("{path}/greeting"), Some(&admin), "\"hi\"");
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["value"], json!("hi"));
    let seen = server.request(
        "POST",
        "/v1/tenants/acme/plugins/probe/setting",
        Some(&clerk),
        r#"{"name":"greeting"}"#,
    );
    assert_eq!(seen.json()["value"], json!("hi"));

    // Bad bodies and values are 400 problems; nothing changes.
    server
        .request("PUT", &format!("{path}/greeting"), Some(&admin), "hi")
        .problem(400, "invalid-input");
    let too_long = server.request(
        "PUT",
        &format!("{path}/greeting"),
        Some(&admin),
        "\"a greeting far longer than twenty\"",
    );
    let problem = too_long.problem(400, "invalid-input");
    assert!(
        problem["detail"].as_str().unwrap().contains("greeting"),
        "{problem}"
    );
    server
        .request("PUT", &format!("{path}/colour"), Some(&admin), "1")
        .problem(404, "not-found");
    // A user without settings.manage may read the plugin but not its settings.
    server
        .request("GET", path, Some(&clerk), "")
        .problem(403, "forbidden");
    server
        .request("PUT", &format!("{path}/greeting"), Some(&clerk), "\"x\"")
        .problem(403, "forbidden");
    // Another tenant's settings are out of reach.
    server
        .request("GET", "/v1/tenants/globex/settings/probe", Some(&admin), "")
        .problem(403, "forbidden");

    let cleared = server.request("DELETE", &format!("{path}/greeting"), Some(&admin), "");
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.json()["effective"], json!("hello"));
    assert_eq!(read(&cli, "acme", "greeting"), json!("hello"));
    // The admin's changes are audited as theirs.
    let links = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .json();
    assert!(
        links
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["action"] == "settings.set"
                && l["actor"].as_str().unwrap_or("").contains("bob")),
        "{links}"
    );
}

/// The bundled plugins' old `configure` operations became settings: the admin sets
/// them with the CLI and the next call behaves accordingly. A configuration stored by
/// the deprecated `configure` (as every version before this one did) keeps applying
/// to each key the tenant has not set.
#[test]
fn bundled_plugins_take_their_configuration_from_settings() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for p in ["compliance", "training"] {
        cli.install_unsigned(p).ok();
        cli.run(&["plugin", "enable", p, "--tenant", "acme"]).ok();
    }
    let set = |plugin: &str, key: &str, value: &str| {
        cli.run(&["settings", "set", "--tenant", "acme", plugin, key, value])
            .ok();
    };
    let unset = |plugin: &str, key: &str| {
        cli.run(&["settings", "unset", "--tenant", "acme", plugin, key])
            .ok();
    };

    // Compliance: nothing set, nothing stored: the defaults.
    let config = cli.call("acme", "compliance", "get-config", &json!({}));
    assert_eq!(config["approval-thresholds"], json!({}));
    assert_eq!(config["disabled-checks"], json!([]));
    let default_wages = config["minimum-wages"].as_array().unwrap().len();
    assert!(default_wages >= 5, "{config}");
    // A configuration stored the old way applies.
    let stored = cli.call(
        "acme",
        "compliance",
        "configure",
        &json!({"approval-thresholds": {"GBP": 500_000}}),
    );
    assert_eq!(stored["approval-thresholds"], json!({"GBP": 500_000}));
    // The setting comes first, from the next call on; the other keys keep theirs.
    set("compliance", "approval-thresholds", r#"{"EUR": 1000000}"#);
    set(
        "compliance",
        "minimum-wages",
        r#"[{"country": "DE", "from": "2025-01-01", "hourly-rate": 1282, "currency": "EUR", "source": "Vierte Mindestlohnanpassungsverordnung"}]"#,
    );
    let config = cli.call("acme", "compliance", "get-config", &json!({}));
    assert_eq!(config["approval-thresholds"], json!({"EUR": 1_000_000}));
    assert_eq!(config["minimum-wages"][0]["country"], "DE");
    assert_eq!(config["minimum-wages"].as_array().unwrap().len(), 1);
    // Disabling a check through its setting shows in list-checks.
    let enabled = |name: &str| {
        let checks = cli.call("acme", "compliance", "list-checks", &json!({}));
        checks["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["enabled"]
            .as_bool()
            .unwrap()
    };
    assert!(enabled("ledger-integrity"));
    set("compliance", "disabled-checks", r#"["ledger-integrity"]"#);
    assert!(!enabled("ledger-integrity"));
    // A bad value is refused by the schema, naming the setting; nothing changes.
    cli.run(&[
        "settings",
        "set",
        "--tenant",
        "acme",
        "compliance",
        "approval-thresholds",
        r#"{"GBP": -1}"#,
    ])
    .fails(2, &["approval-thresholds", "minimum"]);
    // Unset: the stored configuration applies again, then the default.
    unset("compliance", "approval-thresholds");
    unset("compliance", "minimum-wages");
    let config = cli.call("acme", "compliance", "get-config", &json!({}));
    assert_eq!(config["approval-thresholds"], json!({"GBP": 500_000}));
    assert_eq!(
        config["minimum-wages"].as_array().unwrap().len(),
        default_wages
    );

    // Training: the expiring window through its setting, over a stored value.
    let window =
        || cli.call("acme", "training", "status", &json!({}))["expiring-window-days"].clone();
    assert_eq!(window(), json!(90));
    let out = cli.call(
        "acme",
        "training",
        "configure",
        &json!({"expiring-window-days": 60}),
    );
    assert_eq!(out["expiring-window-days"], json!(60));
    assert_eq!(window(), json!(60));
    set("training", "expiring-window-days", "30");
    assert_eq!(window(), json!(30));
    unset("training", "expiring-window-days");
    assert_eq!(window(), json!(60));
    let listed = cli
        .run(&["settings", "list", "--tenant", "acme", "training", "--json"])
        .json();
    assert_eq!(listed[0]["key"], "expiring-window-days");
    assert_eq!(listed[0]["effective"], Value::Null);
}
