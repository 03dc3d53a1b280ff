//! Background work runs as the plugin itself (issue 16, finding 6): jobs and event
//! deliveries hold only the permissions the manifest declares under `[background]`,
//! never the system's `*`, and extension calls must be declared under `uses`.
//!
//! Driven with the `needs-contacts` fixture: a low-privilege operation of it schedules
//! the job `relay`, and its handler of `probe.happened` relays a call, both to any
//! operation of its dependencies. It declares `contacts.read` for background work.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::HostError;
use backoffice_host::bindings::WitError;
use backoffice_host::runtime::Failure;
use backoffice_host::store::{AuditQuery, EventFilter, JobFilter, JobRecord};
use backoffice_tests::{Cli, TestHost, user, wasm};
use serde_json::{Value, json};

use crate::lifecycle::{versioned, write};

/// Tenant `acme` with contacts, probe and needs-contacts enabled, and one contact.
fn host() -> (TestHost, String) {
    let t = TestHost::new().with_plugin("contacts", "contacts", &["acme"]);
    t.install("probe");
    t.host.enable("probe", "acme").unwrap();
    t.install("needs_contacts");
    t.host.enable("needs-contacts", "acme").unwrap();
    let ada = t
        .call(
            "acme",
            "contacts",
            "create",
            json!({"name": "Ada", "kind": "customer"}),
        )
        .unwrap();
    (t, ada["id"].as_str().unwrap().to_string())
}

fn archived(t: &TestHost, id: &str) -> bool {
    t.call("acme", "contacts", "get", json!({ "id": id }))
        .unwrap()["archived"]
        .as_bool()
        .unwrap()
}

fn key(t: &TestHost, key: &str) -> Value {
    t.call("acme", "needs-contacts", "get", json!({ "key": key }))
        .unwrap()["value"]
        .clone()
}

fn relay_job(t: &TestHost) -> JobRecord {
    t.host
        .jobs(&JobFilter {
            tenant: Some("acme".into()),
            plugin: Some("needs-contacts".into()),
        })
        .unwrap()
        .into_iter()
        .find(|j| j.job == "relay")
        .unwrap()
}

/// What a refused background call of `contacts.archive` says.
fn assert_refusal_names_the_permission(error: &str) {
    for part in [
        "needs the permission 'contacts.write'",
        "background work (jobs, event handlers) of plugin 'needs-contacts'",
        "[background] permissions",
    ] {
        assert!(error.contains(part), "lacks '{part}': {error}");
    }
}

#[test]
fn a_job_scheduled_by_a_low_privilege_caller_cannot_archive_a_contact() {
    let (t, ada) = host();
    let clerk = user("clerk", &["needs-contacts.read"]);
    let archive = json!({"plugin": "contacts", "operation": "archive", "input": {"id": ada}});
    // The clerk may not archive, directly or through the plugin's own relay.
    let direct = t.call_as("acme", "contacts", "archive", json!({"id": ada}), &clerk);
    assert!(matches!(direct, Err(HostError::Forbidden(_))), "{direct:?}");
    let relayed = t.call_as("acme", "needs-contacts", "relay", archive.clone(), &clerk);
    assert!(
        matches!(relayed, Err(HostError::Forbidden(_))),
        "{relayed:?}"
    );

    // So it asks the plugin's background work, which used to run with `*`.
    t.call_as("acme", "needs-contacts", "relay-later", archive, &clerk)
        .unwrap();
    assert_eq!(t.host.run_due().unwrap().jobs, 1);

    assert!(!archived(&t, &ada), "the contact was archived");
    assert_eq!(key(&t, "job:relay"), Value::Null);
    let job = relay_job(&t);
    assert_eq!(job.attempts, 1);
    assert_refusal_names_the_permission(job.last_error.as_deref().unwrap());
    let runs = t.host.job_history(Some(job.id), 10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "error");
    // No archive reached the audit chain, not even as refused: the job failed whole.
    let audit = t
        .host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(
        !audit
            .iter()
            .any(|a| a.target == "contacts.archive" && a.outcome == "ok"),
        "{audit:?}"
    );
}

#[test]
fn an_event_handler_cannot_archive_what_the_emitter_could_not() {
    let (t, ada) = host();
    // Holds only the probe's permission: may emit probe.happened, which
    // needs-contacts subscribes to.
    let emitter = user("emitter", &["probe.run"]);
    let payload = json!({"relay": {"plugin": "contacts", "operation": "archive",
                                   "input": {"id": ada}}});
    t.call_as(
        "acme",
        "probe",
        "emit",
        json!({"topic": "probe.happened", "payload": payload}),
        &emitter,
    )
    .unwrap();
    t.host.run_due().unwrap();

    assert!(!archived(&t, &ada), "the contact was archived");
    assert_eq!(key(&t, "event:probe.happened"), Value::Null);
    let views = t
        .host
        .event_views(&EventFilter {
            tenant: Some("acme".into()),
            topic: Some("probe.happened".into()),
            limit: 10,
        })
        .unwrap();
    let deliveries = &views[0].deliveries;
    let ours = deliveries
        .iter()
        .find(|d| d.subscriber == "needs-contacts")
        .unwrap();
    assert_eq!(ours.attempts, 1);
    assert_ne!(ours.state, "done");
    assert_refusal_names_the_permission(ours.last_error.as_deref().unwrap());
    // The probe's own handler, which calls nothing, was delivered as before.
    let probe = deliveries.iter().find(|d| d.subscriber == "probe").unwrap();
    assert_eq!(probe.state, "done");
}

#[test]
fn a_declared_background_permission_works_and_is_audited_as_the_plugin() {
    let (t, _) = host();
    let clerk = user("clerk", &["needs-contacts.read"]);
    let list = json!({"plugin": "contacts", "operation": "list", "input": {}});
    t.call_as("acme", "needs-contacts", "relay-later", list, &clerk)
        .unwrap();
    assert_eq!(t.host.run_due().unwrap().jobs, 1);

    let listed = key(&t, "job:relay");
    assert_eq!(listed["items"][0]["name"], "Ada", "{listed}");
    let job = relay_job(&t);
    assert_eq!(job.last_error, None);
    let audit = t
        .host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    let link = audit
        .iter()
        .find(|a| a.target == "contacts.list")
        .unwrap_or_else(|| panic!("no contacts.list link: {audit:?}"));
    assert_eq!(link.actor, "plugin:needs-contacts");
    assert_eq!(link.outcome, "ok");
    assert!(t.host.audit_verify(Some("acme")).unwrap().ok);
}

/// A bundled plugin's component whose embedded manifest has its `uses` line turned
/// into a comment (same length, so the component stays valid).
fn without_uses(name: &str) -> Vec<u8> {
    let mut component = wasm(name);
    let line = b"\nuses = [\"backoffice:";
    let found: Vec<usize> = component
        .windows(line.len())
        .enumerate()
        .filter(|(_, w)| *w == line)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(found.len(), 1, "one uses line in {name}'s manifest");
    component[found[0] + 1] = b'#';
    component
}

fn forbidden(result: backoffice_host::HostResult<Value>) -> String {
    match result {
        Err(HostError::Call {
            failure: Failure::Plugin(WitError::Forbidden(m)),
            ..
        }) => m,
        other => panic!("expected forbidden, got {other:?}"),
    }
}

#[test]
fn an_undeclared_extension_call_is_refused() {
    let t = TestHost::new();
    t.host.create_tenant("acme", None, None).unwrap();
    t.install_bytes(without_uses("payroll"));
    t.host.enable("payroll", "acme").unwrap();
    t.install("payroll_us");
    t.host.enable("payroll-us", "acme").unwrap();
    let refused = forbidden(t.call(
        "acme",
        "payroll",
        "describe-country",
        json!({"country": "US"}),
    ));
    assert!(
        refused.contains("plugin 'payroll' called payroll rules")
            && refused.contains("uses = [\"backoffice:payroll/rules@0.1.0\"]"),
        "{refused}"
    );

    t.install_bytes(without_uses("compliance"));
    t.host.enable("compliance", "acme").unwrap();
    let refused = forbidden(t.call("acme", "compliance", "list-checks", json!({})));
    assert!(
        refused.contains("uses = [\"backoffice:compliance/checks@0.1.0\"]"),
        "{refused}"
    );
}

#[test]
fn install_and_upgrade_show_background_permissions_and_ask_before_widening_them() {
    let cli = Cli::new();
    let caps = "\"storage\", \"plugins\"";
    let background = |permissions: &str| format!("\n[background]\npermissions = [{permissions}]\n");
    let v010 = write(
        &cli,
        "v010.wasm",
        &versioned("0.1.0", "acme", caps, &background("\"contacts.read\"")),
    );
    let asked = cli
        .run(&["plugin", "install", &v010, "--allow-unsigned"])
        .fails(5, &["re-run with --yes"]);
    assert!(
        asked
            .stdout
            .contains("runs as plugin:versioned with permissions:\n  - contacts.read"),
        "{asked:?}"
    );
    cli.run(&["plugin", "install", &v010, "--yes", "--allow-unsigned"])
        .ok();
    let info = cli.run(&["plugin", "info", "versioned"]).ok();
    assert!(
        info.contains("runs as plugin:versioned with permissions [contacts.read]"),
        "{info}"
    );
    let json = cli.run(&["plugin", "info", "versioned", "--json"]).json();
    assert_eq!(json["background_permissions"], json!(["contacts.read"]));

    // Widening them is an addition the admin approves, like a capability.
    let wider = background("\"contacts.read\", \"contacts.write\"");
    let v011 = write(&cli, "v011.wasm", &versioned("0.1.1", "acme", caps, &wider));
    let asked = cli
        .run(&["plugin", "upgrade", &v011, "--allow-unsigned"])
        .fails(5, &["re-run with --yes"]);
    assert!(
        asked
            .stdout
            .contains("+ background permission contacts.write"),
        "{asked:?}"
    );
    assert!(
        !asked
            .stdout
            .contains("+ background permission contacts.read"),
        "{asked:?}"
    );
    cli.run(&["plugin", "upgrade", &v011, "--yes", "--allow-unsigned"])
        .ok();
    let links = cli.run(&["audit", "list", "--tenant", "", "--json"]).json();
    let upgrade = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "plugin.upgrade")
        .unwrap();
    let detail: Value = serde_json::from_str(upgrade["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        detail["added_background_permissions"],
        json!(["contacts.write"])
    );

    // The same permissions again: nothing to approve.
    let v012 = write(&cli, "v012.wasm", &versioned("0.1.2", "acme", caps, &wider));
    cli.run(&["plugin", "upgrade", &v012, "--allow-unsigned"])
        .ok();

    // A wildcard is refused at install with what to write instead.
    let v020 = write(
        &cli,
        "v020.wasm",
        &versioned("0.2.0", "acme", caps, &background("\"contacts.*\"")),
    );
    cli.run(&["plugin", "inspect", &v020])
        .fails(2, &["'contacts.*' is a wildcard", "such as 'ledger.read'"]);
}
