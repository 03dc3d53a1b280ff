//! Events between plugins: the transactional outbox, topic rules, delivery to
//! subscribers with retries and dead letters, driven through the host in process.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::HostError;
use backoffice_host::bindings::WitError;
use backoffice_host::runtime::Failure;
use backoffice_host::store::{EventFilter, EventRecord};
use backoffice_tests::TestHost;
use serde_json::json;

fn probe(tenants: &[&str]) -> TestHost {
    TestHost::new().with_plugin("probe", "probe", tenants)
}

fn events(t: &TestHost, tenant: &str) -> Vec<EventRecord> {
    let filter = EventFilter {
        tenant: Some(tenant.into()),
        topic: None,
        limit: 1000,
    };
    let mut list = t.host.events(&filter).unwrap();
    list.reverse();
    list
}

fn forbidden(result: backoffice_host::HostResult<serde_json::Value>) -> String {
    match result {
        Err(HostError::Call {
            failure: Failure::Plugin(WitError::Forbidden(m)),
            ..
        }) => m,
        other => panic!("expected a forbidden plugin error, got {other:?}"),
    }
}

#[test]
fn emit_writes_the_outbox_in_the_calls_transaction() {
    let t = probe(&["acme", "globex"]);
    let input = json!({"topic": "probe.happened", "payload": {"n": 1}, "count": 2});
    t.call("acme", "probe", "emit", input).unwrap();
    t.call("globex", "probe", "emit", json!({"topic": "probe.other"}))
        .unwrap();

    let acme = events(&t, "acme");
    assert_eq!(acme.len(), 2);
    assert_eq!(
        acme.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2],
        "per-tenant sequence"
    );
    assert_eq!(acme[0].topic, "probe.happened");
    assert_eq!(acme[0].plugin, "probe");
    assert_eq!(acme[0].version, "0.1.0");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&acme[0].payload).unwrap(),
        json!({"n": 1})
    );
    let globex = events(&t, "globex");
    assert_eq!(globex.len(), 1);
    assert_eq!(globex[0].seq, 1);
}

#[test]
fn a_rolled_back_call_leaves_no_event() {
    let t = probe(&["acme"]);
    let input = json!({"topic": "probe.happened", "count": 3, "fail": true});
    let err = t.call("acme", "probe", "emit", input).unwrap_err();
    assert!(err.to_string().contains("failing after emitting"), "{err}");
    assert!(events(&t, "acme").is_empty());
}

#[test]
fn undeclared_and_foreign_topics_are_refused() {
    let t = probe(&["acme"]);
    let m = forbidden(t.call(
        "acme",
        "probe",
        "emit",
        json!({"topic": "probe.undeclared"}),
    ));
    assert!(m.contains("not declared under `emits`"), "{m}");

    let m = forbidden(t.call(
        "acme",
        "probe",
        "emit",
        json!({"topic": "ledger.entry-posted"}),
    ));
    assert!(m.contains("only topics under 'probe.'"), "{m}");
    assert!(events(&t, "acme").is_empty());

    // An admin can grant a declared foreign topic; an undeclared one cannot be granted.
    let err = t.host.grant_topic("probe", "ledger.other").unwrap_err();
    assert!(err.to_string().contains("does not declare"), "{err}");
    t.host.grant_topic("probe", "ledger.entry-posted").unwrap();
    t.call(
        "acme",
        "probe",
        "emit",
        json!({"topic": "ledger.entry-posted"}),
    )
    .unwrap();
    assert_eq!(events(&t, "acme")[0].topic, "ledger.entry-posted");
}
