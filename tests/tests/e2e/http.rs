//! The real server on loopback: sign-in, tokens, permissions, tenant isolation,
//! problem-details errors, the audit chain and the OpenAPI document.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, Server, wasm_path};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// Two tenants with contacts (and the probe for acme), a clerk who may only read
/// contacts, a tenant admin, and a system administrator.
fn setup() -> Cli {
    let cli = Cli::new();
    for t in ["acme", "globex"] {
        cli.run(&["tenant", "create", t]).ok();
    }
    for p in ["contacts", "probe"] {
        cli.run(&[
            "plugin",
            "install",
            &wasm_path(p).display().to_string(),
            "--yes",
            "--allow-unsigned",
        ])
        .ok();
    }
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    cli.run(&["plugin", "enable", "contacts", "--tenant", "globex"])
        .ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    cli.run(&[
        "role",
        "create",
        "clerk",
        "--tenant",
        "acme",
        "--permission",
        "contacts.read",
    ])
    .ok();
    for (user, role) in [("alice", "clerk"), ("bob", "admin")] {
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
    cli
}

fn api_token(cli: &Cli, user: &str, tenant: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "token", "create", "--user", user, "--tenant", tenant, "--name", "test",
    ];
    args.extend_from_slice(extra);
    let out = cli.run(&args).ok();
    let token = out.trim().to_string();
    assert!(token.starts_with("bo_"), "{out}");
    token
}

fn login(server: &Server, body: Value) -> backoffice_tests::Response {
    server.request("POST", "/v1/login", None, &body.to_string())
}

#[test]
fn sign_in_tokens_and_permissions() {
    let cli = setup();
    let server = Server::start(&cli, &[]);

    assert_eq!(server.request("GET", "/healthz", None, "").status, 200);
    assert_eq!(server.request("GET", "/readyz", None, "").status, 200);

    // No token: 401 with a challenge.
    let r = server.request("GET", "/v1/tenants/acme/plugins", None, "");
    r.problem(401, "unauthenticated");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    server
        .request("GET", "/v1/tenants/acme/plugins", Some("bo_nonsense"), "")
        .problem(401, "unauthenticated");

    // Bob signs in and writes; the session token works like any token.
    let r = login(
        &server,
        json!({ "tenant": "acme", "username": "bob", "password": PASSWORD }),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let bob = r.json()["token"].as_str().unwrap().to_string();
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/contacts/create",
        Some(&bob),
        r#"{"name":"Grace Hopper","kind":"supplier"}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let id = r.json()["id"].as_str().unwrap().to_string();
    let me = server.request("GET", "/v1/me", Some(&bob), "").json();
    assert_eq!(me["id"], "bob");
    assert_eq!(me["tenant"], "acme");

    // Alice may read but not write.
    let alice = login(
        &server,
        json!({ "tenant": "acme", "username": "alice", "password": PASSWORD }),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/contacts/get",
        Some(&alice),
        &json!({ "id": id }).to_string(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["name"], "Grace Hopper");
    let denied = server
        .request(
            "POST",
            "/v1/tenants/acme/plugins/contacts/create",
            Some(&alice),
            r#"{"name":"Mallory"}"#,
        )
        .problem(403, "forbidden");
    assert!(
        denied["detail"]
            .as_str()
            .unwrap()
            .contains("contacts.write"),
        "{denied}"
    );

    // The tenant's module list shows versions and operations, and no other tenant.
    let plugins = server
        .request("GET", "/v1/tenants/acme/plugins", Some(&alice), "")
        .json();
    let contacts = &plugins["plugins"][0];
    assert_eq!(contacts["id"], "contacts");
    assert!(contacts["version"].is_string());
    assert!(
        contacts["operations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "create" && o["permission"] == "contacts.write")
    );
    assert_eq!(contacts["enabled_for"], json!(["acme"]));

    // A token of acme never reaches globex, whatever the URL says.
    for (method, path) in [
        ("POST", "/v1/tenants/globex/plugins/contacts/list"),
        ("GET", "/v1/tenants/globex/plugins"),
        ("POST", "/v1/tenants/nope/plugins/contacts/list"),
    ] {
        server
            .request(method, path, Some(&bob), "{}")
            .problem(403, "forbidden");
    }
    // ... nor the admin routes.
    server
        .request("GET", "/v1/admin/tenants", Some(&bob), "")
        .problem(403, "forbidden");

    // A system administrator administers the host and reaches every tenant.
    let root = login(&server, json!({ "username": "root", "password": PASSWORD })).json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let tenants = server
        .request("GET", "/v1/admin/tenants", Some(&root), "")
        .json();
    assert_eq!(tenants["tenants"].as_array().unwrap().len(), 2);
    let plugins = server
        .request("GET", "/v1/admin/plugins", Some(&root), "")
        .json();
    assert_eq!(plugins["plugins"].as_array().unwrap().len(), 2);
    let r = server.request(
        "POST",
        "/v1/tenants/globex/plugins/contacts/list",
        Some(&root),
        "{}",
    );
    assert_eq!(r.status, 200, "{r:?}");
    server
        .request(
            "POST",
            "/v1/tenants/nope/plugins/contacts/list",
            Some(&root),
            "{}",
        )
        .problem(404, "not-found");

    // Logging out ends the session.
    assert_eq!(
        server.request("POST", "/v1/logout", Some(&bob), "").status,
        204
    );
    server
        .request("GET", "/v1/me", Some(&bob), "")
        .problem(401, "unauthenticated");
}

#[test]
fn api_tokens_are_shown_once_revocable_and_expire() {
    let cli = setup();
    let token = api_token(&cli, "alice", "acme", &[]);
    let short = api_token(&cli, "alice", "acme", &["--expires-in", "1s"]);
    let server = Server::start(&cli, &[]);

    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/contacts/list",
        Some(&token),
        "{}",
    );
    assert_eq!(r.status, 200, "{r:?}");

    // Only hashes are stored: the token text appears nowhere in the database.
    let secret = token.rsplit('_').next().unwrap();
    let tenant_db = backoffice_host::store::tenant_file(cli.dir.path(), "acme");
    for file in [cli.dir.path().join("backoffice.db"), tenant_db] {
        let db = std::fs::read(&file).unwrap();
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "token stored in clear in {}",
            file.display()
        );
    }
    let listed = cli
        .run(&["token", "list", "--tenant", "acme", "--json"])
        .json();
    let first = &listed.as_array().unwrap()[1];
    assert!(first.get("hash").is_none() && first.get("token").is_none());
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["last_used_at"].is_string()),
        "last use recorded: {listed}"
    );

    // Expired.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let problem = server
        .request(
            "POST",
            "/v1/tenants/acme/plugins/contacts/list",
            Some(&short),
            "{}",
        )
        .problem(401, "unauthenticated");
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );

    // Revoked: refused at once.
    let id = token.split('_').nth(1).unwrap();
    cli.run(&["token", "revoke", id]).ok();
    let problem = server
        .request(
            "POST",
            "/v1/tenants/acme/plugins/contacts/list",
            Some(&token),
            "{}",
        )
        .problem(401, "unauthenticated");
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
    cli.run(&["token", "revoke", id])
        .fails(4, &["already revoked"]);

    // A token whose secret was altered is refused like an unknown one.
    let mut forged = short.clone();
    forged.pop();
    forged.push(if short.ends_with('0') { '1' } else { '0' });
    server
        .request("GET", "/v1/me", Some(&forged), "")
        .problem(401, "unauthenticated");
}

#[test]
fn failed_sign_ins_are_rate_limited() {
    let cli = setup();
    let server = Server::start(&cli, &[]);
    // Five failures are free; the sixth is checked and makes the next attempt wait.
    for _ in 0..6 {
        login(
            &server,
            json!({ "tenant": "acme", "username": "alice", "password": "wrong password!" }),
        )
        .problem(401, "unauthenticated");
    }
    // Even the right password is refused until then, before it is checked.
    let r = login(
        &server,
        json!({ "tenant": "acme", "username": "alice", "password": PASSWORD }),
    );
    r.problem(429, "rate-limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry, 1, "{r:?}");
    // Other accounts are not locked out by alice's failures.
    let r = login(
        &server,
        json!({ "tenant": "acme", "username": "bob", "password": PASSWORD }),
    );
    assert_eq!(r.status, 200, "{r:?}");
    // Unknown users get the same answer as wrong passwords.
    login(
        &server,
        json!({ "tenant": "acme", "username": "nobody", "password": PASSWORD }),
    )
    .problem(401, "unauthenticated");
    // After the wait, the right password gets in: no lock-out.
    std::thread::sleep(std::time::Duration::from_secs(retry));
    let r = login(
        &server,
        json!({ "tenant": "acme", "username": "alice", "password": PASSWORD }),
    );
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn bad_requests_and_plugin_errors_map_to_problem_details() {
    let cli = setup();
    let bob = api_token(&cli, "bob", "acme", &[]);
    let server = Server::start(&cli, &["--call-timeout-ms", "300"]);
    let call = |op: &str, body: &str| {
        server.request(
            "POST",
            &format!("/v1/tenants/acme/plugins/{op}"),
            Some(&bob),
            body,
        )
    };

    call("contacts/create", "{not json").problem(400, "invalid-input");
    call("contacts/create", r#"{"name": 1}"#).problem(400, "invalid-input");
    login(&server, json!({ "username": 1 })).problem(400, "invalid-input");
    let big = vec![b'x'; 2 << 20];
    server
        .raw_request(
            "POST",
            "/v1/tenants/acme/plugins/contacts/create",
            Some(&bob),
            &big,
        )
        .problem(413, "payload-too-large");
    server
        .request("GET", "/v2/nothing", Some(&bob), "")
        .problem(404, "not-found");
    server
        .request("GET", "/v1/login", None, "")
        .problem(405, "method-not-allowed");
    call("contacts/no-such-op", "{}").problem(404, "not-found");
    call("nothing/create", "{}").problem(404, "not-found");

    // The plugin's typed error keeps its meaning.
    let p = call("contacts/get", r#"{"id":"c-999999"}"#).problem(404, "not-found");
    assert!(p["detail"].as_str().unwrap().contains("no contact"), "{p}");
    // Traps and deadlines are 500 and 504 without internals.
    let p =
        call("probe/write-then-trap", r#"{"key":"k","value":"v"}"#).problem(500, "plugin-failed");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        !detail.contains("wasm") && !detail.contains("panicked"),
        "{p}"
    );
    call("probe/spin", "{}").problem(504, "deadline-exceeded");
    // The host survives all of it.
    assert_eq!(call("contacts/list", "{}").status, 200);
}

#[test]
fn audit_chain_records_calls_and_admin_actions_and_detects_edits() {
    let cli = setup();
    let bob = api_token(&cli, "bob", "acme", &[]);
    let alice = api_token(&cli, "alice", "acme", &[]);
    {
        let server = Server::start(&cli, &[]);
        let r = server.request(
            "POST",
            "/v1/tenants/acme/plugins/contacts/create",
            Some(&bob),
            r#"{"name":"Ada","kind":"customer"}"#,
        );
        assert_eq!(r.status, 200, "{r:?}");
        server
            .request(
                "POST",
                "/v1/tenants/acme/plugins/contacts/create",
                Some(&alice),
                r#"{"name":"Eve","kind":"customer"}"#,
            )
            .problem(403, "forbidden");
    }
    let links = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .json();
    let links = links.as_array().unwrap();
    let actions: Vec<&str> = links
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    for expected in [
        "plugin.enable",
        "role.create",
        "user.create",
        "user.assign-role",
        "token.create",
        "invoke",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let invokes: Vec<&Value> = links.iter().filter(|l| l["action"] == "invoke").collect();
    assert_eq!(invokes.len(), 2, "{invokes:?}");
    assert_eq!(invokes[0]["outcome"], "ok");
    assert_eq!(invokes[0]["target"], "contacts.create");
    assert!(invokes[0]["actor"].as_str().unwrap().ends_with("(bob)"));
    assert!(invokes[0]["duration_us"].is_u64());
    assert!(invokes[0]["detail"].as_str().unwrap().contains("version"));
    assert_eq!(invokes[1]["outcome"], "forbidden");
    let host_links = cli.run(&["audit", "list", "--json"]).json();
    assert!(
        host_links
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["action"] == "plugin.install" && l["tenant"] == "")
    );
    let since = cli
        .run(&["audit", "list", "--since", "2999-01-01", "--json"])
        .json();
    assert_eq!(since, json!([]));

    let out = cli.run(&["audit", "verify"]).ok();
    assert!(out.contains("chain acme: ok"), "{out}");

    // Someone edits a row behind the host's back: verify names the link.
    let seq = invokes[1]["seq"].as_u64().unwrap();
    let db =
        rusqlite::Connection::open(backoffice_host::store::tenant_file(cli.dir.path(), "acme"))
            .unwrap();
    db.execute(
        "UPDATE audit SET outcome = 'ok' WHERE tenant = 'acme' AND seq = ?1",
        [seq as i64],
    )
    .unwrap();
    drop(db);
    let run = cli.run(&["audit", "verify"]).fails(7, &["broken at link"]);
    assert!(
        run.stdout
            .contains(&format!("chain acme: BROKEN at link {seq}")),
        "{run:?}"
    );
    assert!(run.stdout.contains("edited"), "{run:?}");
    // A deleted row is caught too.
    let db = rusqlite::Connection::open(cli.dir.path().join("backoffice.db")).unwrap();
    db.execute("DELETE FROM audit WHERE tenant = '' AND seq = 2", [])
        .unwrap();
    drop(db);
    let run = cli.run(&["audit", "verify", "--json"]);
    assert_eq!(run.code, 7);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let host_chain = report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant"] == "")
        .unwrap();
    assert_eq!(host_chain["broken_at"], 2);
}

#[test]
fn openapi_document_is_valid_openapi_3_1() {
    let cli = setup();
    let server = Server::start(&cli, &[]);
    // Plugin operations are listed to a signed-in caller only (see security.rs).
    let bob = login(
        &server,
        json!({ "tenant": "acme", "username": "bob", "password": PASSWORD }),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = server.request("GET", "/openapi.json", Some(&bob), "");
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let create = &doc["paths"]["/v1/tenants/{tenant}/plugins/contacts/create"]["post"];
    assert_eq!(create["x-permission"], "contacts.write");
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["name", "kind"])
    );
    assert!(doc["paths"]["/v1/tenants/{tenant}/plugins/probe/spin"].is_object());

    let file = cli.dir.path().join("openapi.json");
    std::fs::write(&file, &r.body).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 is needed to validate the OpenAPI document");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "install the validator: pip install openapi-spec-validator ({stderr})"
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
}

/// A host keeps the principals of tokens it has seen (issue 17): a change made through
/// another process (here the CLI) to what a token may do applies to its very next
/// request all the same.
#[test]
fn changes_made_elsewhere_apply_to_a_known_tokens_next_request() {
    let cli = setup();
    let token = api_token(&cli, "alice", "acme", &[]);
    let server = Server::start(&cli, &[]);
    let me = || {
        let r = server.request("GET", "/v1/me", Some(&token), "");
        assert_eq!(r.status, 200, "{r:?}");
        r.json()
    };
    let list = || {
        server.request(
            "POST",
            "/v1/tenants/acme/plugins/contacts/list",
            Some(&token),
            "{}",
        )
    };
    for _ in 0..3 {
        assert_eq!(me()["permissions"], json!(["contacts.read"]));
        assert_eq!(list().status, 200);
    }

    cli.run(&[
        "role",
        "revoke",
        "clerk",
        "contacts.read",
        "--tenant",
        "acme",
    ])
    .ok();
    assert_eq!(me()["permissions"], json!([]));
    list().problem(403, "forbidden");

    cli.run(&["role", "grant", "clerk", "contacts.*", "--tenant", "acme"])
        .ok();
    assert_eq!(me()["permissions"], json!(["contacts.*"]));
    assert_eq!(list().status, 200);

    cli.run(&[
        "user",
        "unassign-role",
        "alice",
        "clerk",
        "--tenant",
        "acme",
    ])
    .ok();
    assert_eq!(me()["roles"], json!([]));
    list().problem(403, "forbidden");

    cli.run(&["user", "assign-role", "alice", "clerk", "--tenant", "acme"])
        .ok();
    assert_eq!(list().status, 200);
    cli.run(&["user", "update", "alice", "--tenant", "acme", "--disable"])
        .ok();
    list().problem(401, "unauthenticated");
}

/// A running server keeps what calls read of the registry only while nothing changed
/// it: a plugin disabled or enabled through the CLI (another process) applies to the
/// server's next call, reading and writing alike.
#[test]
fn registry_changes_made_elsewhere_apply_to_the_next_call() {
    let cli = setup();
    let token = api_token(&cli, "bob", "acme", &[]);
    let server = Server::start(&cli, &[]);
    let call = |op: &str, body: &str| {
        server.request(
            "POST",
            &format!("/v1/tenants/acme/plugins/contacts/{op}"),
            Some(&token),
            body,
        )
    };
    let list = || call("list", "{}");
    let create = || call("create", r#"{"name":"Ada","kind":"customer"}"#);
    for _ in 0..3 {
        assert_eq!(list().status, 200);
        assert_eq!(create().status, 200);
    }

    cli.run(&["plugin", "disable", "contacts", "--tenant", "acme"])
        .ok();
    let refused = list().problem(403, "forbidden");
    assert!(
        refused["detail"].as_str().unwrap().contains("not enabled"),
        "{refused}"
    );
    create().problem(403, "forbidden");

    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    assert_eq!(create().status, 200);
    let listed = list();
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.json()["items"].as_array().map(Vec::len), Some(4));
}

#[test]
fn cli_manages_users_roles_and_tokens_with_clear_errors() {
    let cli = setup();
    cli.run(&["role", "grant", "clerk", "contacts.*", "--tenant", "acme"])
        .ok();
    let roles = cli
        .run(&["role", "list", "--tenant", "acme", "--json"])
        .json();
    let clerk = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "clerk")
        .unwrap();
    assert_eq!(clerk["permissions"], json!(["contacts.*", "contacts.read"]));
    cli.run(&[
        "role",
        "revoke",
        "clerk",
        "contacts.read",
        "--tenant",
        "acme",
    ])
    .ok();
    cli.run(&["role", "grant", "clerk", "Contacts", "--tenant", "acme"])
        .fails(2, &["not a permission pattern"]);
    cli.run(&[
        "role",
        "grant",
        "nobody",
        "contacts.read",
        "--tenant",
        "acme",
    ])
    .fails(3, &["no role 'nobody'"]);
    cli.run(&["user", "assign-role", "zed", "clerk", "--tenant", "acme"])
        .fails(3, &["no user 'zed'"]);
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "carol",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        "short",
    )
    .fails(2, &["at least 12 characters"]);
    cli.run(&["user", "create", "alice", "--tenant", "acme"])
        .fails(4, &["already exists"]);
    cli.run(&["user", "create", "dave", "--tenant", "nope"])
        .fails(3, &["unknown tenant"]);
    cli.run(&["user", "create", "erin"]).fails(2, &["--tenant"]);
    cli.run(&[
        "token",
        "create",
        "--user",
        "alice",
        "--tenant",
        "acme",
        "--name",
        "x",
        "--expires-in",
        "soon",
    ])
    .fails(2, &["not a duration"]);

    // A disabled user's tokens stop working.
    let token = api_token(&cli, "alice", "acme", &[]);
    cli.run(&["user", "update", "alice", "--tenant", "acme", "--disable"])
        .ok();
    let server = Server::start(&cli, &[]);
    server
        .request("GET", "/v1/me", Some(&token), "")
        .problem(401, "unauthenticated");
    let users = cli
        .run(&["user", "list", "--tenant", "acme", "--json"])
        .json();
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("password_hash").is_none())
    );
}

#[test]
fn sigterm_lets_calls_in_flight_finish() {
    let cli = setup();
    let bob = api_token(&cli, "bob", "acme", &[]);
    let mut server = Server::start(&cli, &["--call-timeout-ms", "20000"]);
    let addr = server.addr.clone();
    let slow = std::thread::spawn(move || {
        backoffice_tests::http_request(
            &addr,
            "POST",
            "/v1/tenants/acme/plugins/probe/busy",
            Some(&bob),
            br#"{"iterations": 400000000}"#,
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let response = slow.join().unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json()["done"], 400_000_000u64);
    let status = server.child.wait().unwrap();
    assert!(status.success(), "server exit: {status:?}");
}
