//! The Python example plugin (`examples/leave`, built with componentize-py and packed
//! by `plugin pack`) through the real binary and HTTP API: install, enable, calls by
//! two people, storage, an event, and bad input refused with nothing written.
//! Needs `bash scripts/build-wasm.sh` (it builds `target/wasm/examples/leave.wasm`).

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, Server, example_path};
use serde_json::{Value, json};

/// Tenant acme with the leave plugin enabled; users ann (employee) and bob (approver)
/// with a token each.
fn setup() -> (Cli, String, String) {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let file = example_path("leave").display().to_string();
    let said = cli
        .run(&["plugin", "install", &file, "--yes", "--allow-unsigned"])
        .ok();
    assert!(said.contains("leave 0.1.0"), "{said}");
    cli.run(&["plugin", "enable", "leave", "--tenant", "acme"])
        .ok();
    let role = |name: &str, permissions: &[&str]| {
        let mut args = vec!["role", "create", name, "--tenant", "acme"];
        for p in permissions {
            args.extend(["--permission", p]);
        }
        cli.run(&args).ok();
    };
    role("employee", &["leave.request", "leave.read"]);
    role(
        "approver",
        &["leave.request", "leave.read", "leave.approve"],
    );
    let token = |user: &str, role: &str| {
        cli.run(&["user", "create", user, "--tenant", "acme"]).ok();
        cli.run(&["user", "assign-role", user, role, "--tenant", "acme"])
            .ok();
        cli.run(&[
            "token", "create", "--user", user, "--tenant", "acme", "--name", "t",
        ])
        .ok()
        .trim()
        .to_string()
    };
    let ann = token("ann", "employee");
    let bob = token("bob", "approver");
    (cli, ann, bob)
}

fn requests(cli: &Cli) -> Value {
    cli.call("acme", "leave", "list-requests", &json!({}))["requests"].clone()
}

#[test]
fn a_python_plugin_keeps_a_leave_register_through_the_real_host() {
    let (cli, ann, bob) = setup();
    // The operator at the command line creates the leave type.
    let annual = cli.call(
        "acme",
        "leave",
        "create-type",
        &json!({"code": "annual", "name": "Annual leave", "annual-days": 10}),
    );
    assert_eq!(annual["annual-days"], 10);

    let server = Server::start(&cli, &[]);
    let post = |token: &str, op: &str, body: Value| {
        server.request(
            "POST",
            &format!("/v1/tenants/acme/plugins/leave/{op}"),
            Some(token),
            &body.to_string(),
        )
    };

    // Ann asks for Monday 6 to Friday 10 July 2026: five working days.
    let r = post(
        &ann,
        "request",
        json!({"type": "annual", "start": "2026-07-06", "end": "2026-07-10", "note": "summer"}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let asked = r.json();
    assert_eq!(asked["id"], "r-000001");
    assert_eq!(asked["employee"], "ann");
    assert_eq!(asked["days"], 5);
    assert_eq!(asked["status"], "pending");

    // She cannot approve her own request, even holding the permission through a
    // second role: the plugin's rule, not the host's permission check.
    cli.run(&["user", "assign-role", "ann", "approver", "--tenant", "acme"])
        .ok();
    let own = post(&ann, "approve", json!({"id": "r-000001"})).problem(403, "forbidden");
    assert!(
        own["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ann cannot decide their own request r-000001")),
        "{own}"
    );
    assert_eq!(requests(&cli)[0]["status"], "pending");

    // Bob approves it.
    let r = post(&bob, "approve", json!({"id": "r-000001"}));
    assert_eq!(r.status, 200, "{r:?}");
    let approved = r.json();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided-by"], "bob");
    // Deciding twice is a conflict.
    post(&bob, "approve", json!({"id": "r-000001"})).problem(409, "conflict");

    // The approval's event is in the outbox.
    let events = cli
        .run(&["events", "list", "--tenant", "acme", "--json"])
        .json();
    let approvals: Vec<Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["topic"] == "leave.approved")
        .map(|e| serde_json::from_str(e["payload"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        approvals,
        vec![
            json!({"id": "r-000001", "employee": "ann", "type": "annual",
                    "start": "2026-07-06", "end": "2026-07-10", "days": 5, "decided-by": "bob"})
        ]
    );

    // Ann's balance for 2026: 5 of 10 days taken.
    let r = post(&ann, "balance", json!({"year": 2026}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        json!({"employee": "ann", "year": 2026, "types": [
            {"type": "annual", "entitlement": 10, "approved": 5, "pending": 0, "remaining": 5}
        ]})
    );
    // Bob sees Ann's balance as an approver.
    let r = post(&bob, "balance", json!({"employee": "ann", "year": 2026}));
    assert_eq!(r.json()["types"][0]["remaining"], 5, "{r:?}");

    // Bad input is refused with the plugin's error and the right status, and writes
    // nothing. (One test with the approval above: compiling the 18 MB component at
    // install is the slow part, so it happens once.)
    let events_before = cli.run(&["events", "list", "--json"]).json();
    let request = |body: Value| post(&ann, "request", body);
    // A missing field: refused by the operation's input schema before Python runs.
    let missing =
        request(json!({"type": "annual", "start": "2026-08-03"})).problem(400, "invalid-input");
    assert!(
        missing["detail"]
            .as_str()
            .is_some_and(|d| d.contains("end")),
        "{missing}"
    );
    // A date the plugin cannot read: the plugin's own message.
    let bad = request(json!({"type": "annual", "start": "2026-08-03", "end": "14 August"}))
        .problem(400, "invalid-input");
    assert!(
        bad["detail"]
            .as_str()
            .is_some_and(|d| d.contains("'end' must be an ISO date")),
        "{bad}"
    );
    // Two weeks, ten working days, against the five left.
    let beyond = request(json!({"type": "annual", "start": "2026-08-03", "end": "2026-08-14"}))
        .problem(400, "invalid-input");
    assert!(
        beyond["detail"]
            .as_str()
            .is_some_and(|d| d.contains("10 working days")
                && d.contains("ann has 5 of 10 left in 2026 (5 approved, 0 pending)")),
        "{beyond}"
    );
    // A leave type that does not exist.
    request(json!({"type": "sabbatical", "start": "2026-08-03", "end": "2026-08-04"}))
        .problem(404, "not-found");
    // The same refusal at the command line: exit code 2 and the plugin's message.
    let input = json!({"type": "annual", "start": "2026-08-03", "end": "2026-08-14",
                       "employee": "ann"})
    .to_string();
    cli.run(&[
        "call", "--tenant", "acme", "leave", "request", "--input", &input,
    ])
    .fails(2, &["plugin leave 0.1.0", "ann has 5 of 10 left in 2026"]);

    // Nothing was written: one request, no new event, and the next number is 2.
    assert_eq!(requests(&cli).as_array().map(Vec::len), Some(1));
    assert_eq!(cli.run(&["events", "list", "--json"]).json(), events_before);
    let r = request(json!({"type": "annual", "start": "2026-08-03", "end": "2026-08-04"}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["id"], "r-000002");
}
