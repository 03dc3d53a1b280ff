//! Batch work (an operation declaring a longer `deadline-ms`, a job) runs on a
//! snapshot and writes in one short step at its end: the tenant's interactive writes
//! go on meanwhile, and a batch call that lost a race with them runs again, so no
//! update is lost.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backoffice_host::runtime::Limits;
use backoffice_tests::TestHost;
use serde_json::json;

/// The 300 ms deadline of interactive calls; `probe.batch` declares 10 s.
fn host() -> TestHost {
    TestHost::with_limits(Limits {
        call_deadline: Duration::from_millis(300),
        ..Limits::default()
    })
    .with_plugin("probe", "probe", &["acme"])
}

#[test]
fn a_tenants_interactive_writes_go_through_while_its_batch_work_runs() {
    let t = host();
    let batch_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        // The batch call reads, then works for 3 s before it writes.
        let batch = s.spawn(|| {
            let out = t.call("acme", "probe", "batch", json!({"key": "b", "ms": 3000}));
            batch_done.store(true, Ordering::SeqCst);
            out
        });
        std::thread::sleep(Duration::from_millis(200));
        // The same tenant's writes are done before it is (a few writes against
        // seconds of margin): none waits for the batch call's end.
        for _ in 0..3 {
            t.call("acme", "probe", "touch", json!({"key": "t"}))
                .unwrap();
        }
        assert!(
            !batch_done.load(Ordering::SeqCst),
            "the tenant's writes waited for its batch call"
        );
        assert_eq!(batch.join().unwrap().unwrap(), json!({"count": 1}));
    });
    let get = |key: &str| {
        t.call("acme", "probe", "get", json!({ "key": key }))
            .unwrap()
    };
    assert_eq!(get("b")["value"], 1);
    assert_eq!(get("t")["value"], 3);
}

#[test]
fn batch_work_that_lost_a_race_runs_again_under_the_lock_and_no_update_is_lost() {
    let t = host();
    std::thread::scope(|s| {
        // The batch call reads the counter (0), then waits 1.5 s.
        let batch = s.spawn(|| t.call("acme", "probe", "batch", json!({"key": "n", "ms": 1500})));
        std::thread::sleep(Duration::from_millis(200));
        // Meanwhile three interactive calls increment the same counter.
        for n in 1..=3 {
            let out = t
                .call("acme", "probe", "touch", json!({"key": "n"}))
                .unwrap();
            assert_eq!(out["count"], n);
        }
        // Its write (1) would undo theirs: it runs again, reads 3 and writes 4.
        assert_eq!(batch.join().unwrap().unwrap(), json!({"count": 4}));
    });
    let out = t.call("acme", "probe", "get", json!({"key": "n"})).unwrap();
    assert_eq!(out["value"], 4);
    // Once in the audit chain: the attempt that lost was never committed.
    let links = t
        .host
        .audit_list(&backoffice_host::store::AuditQuery {
            tenant: Some("acme".into()),
            since: None,
            after_seq: None,
            limit: 100,
        })
        .unwrap();
    let batches = links
        .iter()
        .filter(|l| l.target == "probe.batch" && l.outcome == "ok")
        .count();
    assert_eq!(batches, 1, "{links:#?}");
    assert!(t.host.audit_verify(Some("acme")).unwrap().ok);
}
