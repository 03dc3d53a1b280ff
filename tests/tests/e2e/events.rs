//! Events between plugins: the transactional outbox, topic rules, delivery to
//! subscribers with retries and dead letters, driven through the host in process.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::HostError;
use backoffice_host::bindings::WitError;
use backoffice_host::clock::TestClock;
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

fn clocked() -> (std::sync::Arc<TestClock>, TestHost) {
    let clock = std::sync::Arc::new(TestClock::at_rfc3339("2026-03-02T08:00:00Z"));
    let t = TestHost::with_clock(clock.clone());
    t.install("probe");
    t.install("listener");
    t.host
        .create_tenant("acme", None, Some("Europe/Berlin"))
        .unwrap();
    t.host.enable("probe", "acme").unwrap();
    t.host.enable("listener", "acme").unwrap();
    (clock, t)
}

fn seen(t: &TestHost, plugin: &str, topic: &str) -> Vec<serde_json::Value> {
    let out = if plugin == "probe" {
        t.call(
            "acme",
            "probe",
            "get",
            json!({"key": format!("seen:{topic}")}),
        )
        .unwrap()["value"]
            .clone()
    } else {
        t.call("acme", "listener", "seen", json!({"topic": topic}))
            .unwrap()["seen"]
            .clone()
    };
    out.as_array().cloned().unwrap_or_default()
}

#[test]
fn events_reach_every_subscriber_once_in_emit_order_after_commit() {
    let (_clock, t) = clocked();
    for n in 0..5 {
        let input = json!({"topic": "probe.happened", "payload": {"n": n}});
        t.call("acme", "probe", "emit", input).unwrap();
    }
    // Rolled back: never delivered.
    let input = json!({"topic": "probe.happened", "payload": {"n": 99}, "fail": true});
    t.call("acme", "probe", "emit", input).unwrap_err();
    // Only the listener subscribes to probe.other.
    t.call(
        "acme",
        "probe",
        "emit",
        json!({"topic": "probe.other", "payload": {"n": 7}}),
    )
    .unwrap();

    let report = t.host.run_due().unwrap();
    assert_eq!(report.fanned_out, 6);
    assert_eq!(report.deliveries, 11);
    let expected: Vec<_> = (0..5).map(|n| json!({"n": n})).collect();
    assert_eq!(seen(&t, "probe", "probe.happened"), expected);
    assert_eq!(seen(&t, "listener", "probe.happened"), expected);
    assert_eq!(seen(&t, "listener", "probe.other"), vec![json!({"n": 7})]);
    assert!(seen(&t, "probe", "probe.other").is_empty());

    // Nothing is delivered twice.
    assert_eq!(t.host.run_due().unwrap().deliveries, 0);
    let views = t.host.event_views(&EventFilter {
        tenant: Some("acme".into()),
        topic: None,
        limit: 100,
    });
    let views = views.unwrap();
    assert_eq!(views.len(), 6);
    for v in &views {
        assert!(
            v.deliveries
                .iter()
                .all(|d| d.state == "done" && d.attempts == 1),
            "{v:?}"
        );
    }
}

#[test]
fn a_trapping_subscriber_is_retried_then_dead_lettered_without_blocking_others() {
    let (clock, t) = clocked();
    let trap = json!({"topic": "probe.happened", "payload": {"trap": true}});
    t.call("acme", "probe", "emit", trap).unwrap();
    let ok = json!({"topic": "probe.happened", "payload": {"n": 1}});
    t.call("acme", "probe", "emit", ok).unwrap();

    t.host.run_due().unwrap();
    // The listener got both; the probe trapped on the first and waits to retry it,
    // holding back its second event (emit order per subscriber).
    assert_eq!(seen(&t, "listener", "probe.happened").len(), 2);
    assert!(seen(&t, "probe", "probe.happened").is_empty());

    // Backoff 1 s, then 2 s; the third attempt is the last (max 3).
    clock.advance(std::time::Duration::from_secs(1));
    t.host.run_due().unwrap();
    clock.advance(std::time::Duration::from_secs(2));
    t.host.run_due().unwrap();

    let views = t
        .host
        .event_views(&EventFilter {
            tenant: Some("acme".into()),
            topic: None,
            limit: 10,
        })
        .unwrap();
    let first = views.last().unwrap();
    let probe = first
        .deliveries
        .iter()
        .find(|d| d.subscriber == "probe")
        .unwrap();
    assert_eq!(probe.state, "dead");
    assert_eq!(probe.attempts, 3);
    assert!(
        probe
            .last_error
            .as_deref()
            .unwrap()
            .contains("trapping on event"),
        "{probe:?}"
    );
    // Once the first is dead, the second reaches the probe.
    assert_eq!(seen(&t, "probe", "probe.happened"), vec![json!({"n": 1})]);

    // A tenant's administration revives only that tenant's deliveries: to another
    // tenant the id is not found. Revived, it traps again, and is dead again after
    // its attempts.
    t.host.create_tenant("globex", None, None).unwrap();
    let system = backoffice_host::auth::Principal::system();
    let err = t
        .host
        .tenant_admin(&system, "globex")
        .retry_delivery(probe.id)
        .unwrap_err();
    assert!(
        matches!(&err, HostError::NotFound(m) if m.contains("no event delivery")),
        "{err}"
    );
    t.host
        .tenant_admin(&system, "acme")
        .retry_delivery(probe.id)
        .unwrap();
    t.host.run_due().unwrap();
    let err = t.host.retry_delivery(probe.id).unwrap_err();
    assert!(err.to_string().contains("not dead"), "{err}");
}
