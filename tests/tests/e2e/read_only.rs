//! Operations declared `read-only` run on a snapshot beside other calls; any write
//! they try is refused and nothing is written; they are still audited.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_host::store::AuditQuery;
use backoffice_tests::TestHost;
use serde_json::json;

#[test]
fn read_only_operations_read_and_cannot_write() {
    let t = TestHost::new().with_plugin("probe", "probe", &["acme"]);
    t.call("acme", "probe", "put", json!({ "key": "k", "value": 1 }))
        .unwrap();
    let out = t
        .call("acme", "probe", "get", json!({ "key": "k" }))
        .unwrap();
    assert_eq!(out, json!({ "value": 1 }));

    let err = t
        .call(
            "acme",
            "probe",
            "put-read-only",
            json!({ "key": "k", "value": 2 }),
        )
        .unwrap_err();
    assert_eq!(err.code(), "forbidden", "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");
    let out = t
        .call("acme", "probe", "get", json!({ "key": "k" }))
        .unwrap();
    assert_eq!(out, json!({ "value": 1 }), "the refused write left nothing");

    let links = t
        .host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap();
    let outcomes: Vec<(&str, &str)> = links
        .iter()
        .filter(|l| l.action == "invoke")
        .map(|l| (l.target.as_str(), l.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("probe.put", "ok"),
            ("probe.get", "ok"),
            ("probe.put-read-only", "forbidden"),
            ("probe.get", "ok"),
        ]
    );
    assert!(t.host.audit_verify(Some("acme")).unwrap().ok);
}

#[test]
fn concurrent_read_only_calls_each_leave_one_audit_link() {
    let t = TestHost::new().with_plugin("probe", "probe", &["acme"]);
    t.call("acme", "probe", "put", json!({ "key": "k", "value": "v" }))
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    let out = t
                        .call("acme", "probe", "get", json!({ "key": "k" }))
                        .unwrap();
                    assert_eq!(out, json!({ "value": "v" }));
                }
            });
        }
    });
    let links = t
        .host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 1000,
            ..AuditQuery::default()
        })
        .unwrap();
    let reads = links.iter().filter(|l| l.target == "probe.get").count();
    assert_eq!(reads, 200);
    let report = t.host.audit_verify(Some("acme")).unwrap();
    assert!(report.ok, "{report:?}");
}

#[test]
fn reads_and_changes_of_one_caller_are_chained_in_the_order_they_were_answered() {
    let t = TestHost::new().with_plugin("probe", "probe", &["acme"]);
    let mut expected = Vec::new();
    for round in 0..10 {
        t.call("acme", "probe", "get", json!({ "key": "k" }))
            .unwrap();
        t.call("acme", "probe", "get", json!({ "key": "k" }))
            .unwrap();
        t.call(
            "acme",
            "probe",
            "put",
            json!({ "key": "k", "value": round }),
        )
        .unwrap();
        expected.extend(["probe.get", "probe.get", "probe.put"]);
    }
    let links = t
        .host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap();
    let targets: Vec<&str> = links
        .iter()
        .filter(|l| l.action == "invoke")
        .map(|l| l.target.as_str())
        .collect();
    assert_eq!(targets, expected);
    assert!(t.host.audit_verify(Some("acme")).unwrap().ok);
}

#[test]
fn the_links_of_reads_reach_the_database_without_anyone_asking_for_them() {
    let t = TestHost::new().with_plugin("probe", "probe", &["acme"]);
    for _ in 0..3 {
        t.call("acme", "probe", "get", json!({ "key": "k" }))
            .unwrap();
    }
    // Read the tenant's file directly: no listing flushes the queue for us.
    let db = rusqlite::Connection::open(backoffice_host::store::tenant_file(t.dir.path(), "acme"))
        .unwrap();
    let count = || -> i64 {
        db.query_row(
            "SELECT count(*) FROM audit WHERE target = 'probe.get'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let waited = std::time::Instant::now();
    while count() < 3 && waited.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(count(), 3);
}
