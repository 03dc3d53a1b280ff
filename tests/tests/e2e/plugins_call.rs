//! `plugins.call`: a plugin calls an operation of a declared dependency enabled for
//! the same tenant, inside the caller's transaction, as the caller's principal.
//! Driven with the `needs-contacts` fixture (depends on `contacts`).

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::HostError;
use backoffice_host::auth::{Principal, PrincipalKind};
use backoffice_host::bindings::WitError;
use backoffice_host::runtime::Failure;
use backoffice_tests::TestHost;
use serde_json::{Value, json};

/// Tenant `acme` with contacts, probe and needs-contacts enabled.
fn host() -> TestHost {
    let t = TestHost::new().with_plugin("contacts", "contacts", &["acme"]);
    t.install("probe");
    t.host.enable("probe", "acme").unwrap();
    t.install("needs_contacts");
    t.host.enable("needs-contacts", "acme").unwrap();
    t
}

fn relay(t: &TestHost, input: Value) -> backoffice_host::HostResult<Value> {
    t.call("acme", "needs-contacts", "relay", input)
}

fn contact_names(t: &TestHost) -> Vec<String> {
    let page = t.call("acme", "contacts", "list", json!({})).unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn key(t: &TestHost, key: &str) -> Value {
    t.call("acme", "needs-contacts", "get", json!({ "key": key }))
        .unwrap()["value"]
        .clone()
}

fn create(name: &str) -> Value {
    json!({ "plugin": "contacts", "operation": "create",
            "input": { "name": name, "kind": "customer" } })
}

/// The WIT error a failed call of needs-contacts ended with.
fn plugin_error(result: backoffice_host::HostResult<Value>) -> WitError {
    match result {
        Err(HostError::Call {
            failure: Failure::Plugin(e),
            ..
        }) => e,
        other => panic!("expected a plugin error, got {other:?}"),
    }
}

#[test]
fn writes_of_caller_and_callee_commit_together() {
    let t = host();
    let mut input = create("Ada");
    input["key"] = json!("k1");
    let out = relay(&t, input).unwrap();
    assert!(
        out["output"]["id"].as_str().unwrap().starts_with("c-"),
        "{out}"
    );
    assert_eq!(contact_names(&t), ["Ada"]);
    assert_eq!(key(&t, "k1"), json!("written by relay"));
    // The fixture's original use: read through the dependency.
    let count = t
        .call("acme", "needs-contacts", "count", json!({}))
        .unwrap();
    assert_eq!(count, json!({ "count": 1 }));
    // The nested call is in the audit chain, next to the outer one.
    let query = backoffice_host::store::AuditQuery {
        tenant: Some("acme".into()),
        limit: 100,
        ..Default::default()
    };
    let audit = t.host.audit_list(&query).unwrap();
    let targets: Vec<&str> = audit.iter().map(|a| a.target.as_str()).collect();
    assert!(targets.contains(&"contacts.create"), "{targets:?}");
    assert!(targets.contains(&"needs-contacts.relay"), "{targets:?}");
    assert!(t.host.audit_verify(Some("acme")).unwrap().ok);
}

#[test]
fn a_caller_failing_after_a_successful_nested_call_rolls_back_both() {
    let t = host();
    let mut input = create("Grace");
    input["key"] = json!("k2");
    input["fail"] = json!(true);
    assert!(matches!(
        plugin_error(relay(&t, input)),
        WitError::Conflict(_)
    ));
    assert!(contact_names(&t).is_empty());
    assert_eq!(key(&t, "k2"), json!(null));
}

#[test]
fn a_nested_error_reaches_the_caller_which_may_handle_it() {
    let t = host();
    // Input that breaks the target's schema: refused before the target runs.
    let mut input = json!({ "plugin": "contacts", "operation": "create",
                            "input": { "name": "" }, "key": "k3", "catch": true });
    let out = relay(&t, input.clone()).unwrap();
    let error = out["error"].as_str().unwrap();
    assert!(
        error.contains("invalid") && error.contains("contacts.create"),
        "{out}"
    );
    // The caller handled it and committed its own write.
    assert_eq!(key(&t, "k3"), json!("written by relay"));
    assert!(contact_names(&t).is_empty());
    // Not handled: the caller fails with the target's error and writes nothing.
    input["catch"] = json!(false);
    input["key"] = json!("k4");
    assert!(matches!(
        plugin_error(relay(&t, input)),
        WitError::InvalidInput(_)
    ));
    assert_eq!(key(&t, "k4"), json!(null));
    // An operation the target does not have.
    let out = relay(
        &t,
        json!({ "plugin": "contacts", "operation": "nope", "catch": true }),
    )
    .unwrap();
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("no operation 'nope'"),
        "{out}"
    );
}

#[test]
fn a_failing_target_has_its_writes_undone_and_the_caller_may_go_on() {
    let t = host();
    let probe_key = |key: &str| {
        t.call("acme", "probe", "get", json!({ "key": key }))
            .unwrap()["value"]
            .clone()
    };
    // The target writes, then returns an error: its write is rolled back to the
    // savepoint, the caller's stays and commits.
    let out = relay(
        &t,
        json!({ "plugin": "probe", "operation": "write-then-fail",
                "input": { "key": "p1" }, "key": "k5", "catch": true }),
    )
    .unwrap();
    assert!(
        out["error"].as_str().unwrap().starts_with("conflict"),
        "{out}"
    );
    assert_eq!(probe_key("p1"), json!(null));
    assert_eq!(key(&t, "k5"), json!("written by relay"));
    // The target traps after writing: the caller gets `internal`, same rollback.
    let out = relay(
        &t,
        json!({ "plugin": "probe", "operation": "write-then-trap",
                "input": { "key": "p2" }, "key": "k6", "catch": true }),
    )
    .unwrap();
    let error = out["error"].as_str().unwrap();
    assert!(
        error.starts_with("internal") && error.contains("trapped"),
        "{out}"
    );
    assert_eq!(probe_key("p2"), json!(null));
    assert_eq!(key(&t, "k6"), json!("written by relay"));
    // The target succeeds: its write commits with the caller's.
    relay(
        &t,
        json!({ "plugin": "probe", "operation": "put",
                "input": { "key": "p3", "value": 3 }, "key": "k7" }),
    )
    .unwrap();
    assert_eq!(probe_key("p3"), json!(3));
    assert_eq!(key(&t, "k7"), json!("written by relay"));
}

#[test]
fn a_nested_call_runs_as_the_callers_principal_at_the_callers_time() {
    let t = host();
    let clerk = clerk(&["needs-contacts.*", "probe.run"]);
    let input = json!({ "plugin": "probe", "operation": "whoami", "input": {} });
    let out = t
        .host
        .invoke(
            "acme",
            "needs-contacts",
            "relay",
            &input.to_string(),
            &clerk,
        )
        .unwrap();
    let inner = &out["output"];
    assert_eq!(inner["caller"]["id"], "clerk", "{out}");
    assert_eq!(inner["caller"]["tenant"], "acme", "{out}");
    assert_eq!(inner["caller"]["roles"], json!(["clerk"]), "{out}");
    assert_eq!(inner["time-zone"], "Europe/Berlin");
    assert_eq!(inner["has-permission"], true);
}

#[test]
fn a_plugin_not_listed_as_a_dependency_is_refused() {
    let t = host();
    t.install("listener");
    t.host.enable("listener", "acme").unwrap();
    let input = json!({ "plugin": "listener", "operation": "seen", "input": { "topic": "x" } });
    match plugin_error(relay(&t, input)) {
        WitError::Forbidden(m) => assert!(m.contains("[dependencies]"), "{m}"),
        other => panic!("expected forbidden, got {other:?}"),
    }
}

#[test]
fn a_dependency_not_enabled_for_the_tenant_is_refused() {
    let t = host();
    // The admin commands keep a dependency enabled while a dependent is; simulate a
    // state where it is not (an interrupted change, a manual fix) in the database.
    let db = rusqlite::Connection::open(t.dir.path().join(backoffice_host::DATABASE_FILE)).unwrap();
    db.execute(
        "UPDATE enablements SET enabled = 0 WHERE tenant = 'acme' AND plugin = 'contacts'",
        [],
    )
    .unwrap();
    drop(db);
    match plugin_error(relay(&t, create("Linus"))) {
        WitError::Forbidden(m) => assert!(m.contains("not enabled for tenant 'acme'"), "{m}"),
        other => panic!("expected forbidden, got {other:?}"),
    }
}

/// A user of `acme` holding `permissions`.
fn clerk(permissions: &[&str]) -> Principal {
    Principal {
        id: Some("clerk".into()),
        tenant: Some("acme".into()),
        token_id: None,
        kind: PrincipalKind::User,
        roles: vec!["clerk".into()],
        permissions: permissions.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn the_callers_principal_needs_the_targets_permission() {
    let t = host();
    let input = create("Barbara").to_string();
    let result = t.host.invoke(
        "acme",
        "needs-contacts",
        "relay",
        &input,
        &clerk(&["needs-contacts.*"]),
    );
    match plugin_error(result) {
        WitError::Forbidden(m) => assert!(m.contains("'contacts.write'"), "{m}"),
        other => panic!("expected forbidden, got {other:?}"),
    }
    assert!(contact_names(&t).is_empty());
    // With the permission the same principal succeeds.
    t.host
        .invoke(
            "acme",
            "needs-contacts",
            "relay",
            &input,
            &clerk(&["needs-contacts.*", "contacts.write"]),
        )
        .unwrap();
    assert_eq!(contact_names(&t), ["Barbara"]);
}
