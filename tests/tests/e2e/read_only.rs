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
