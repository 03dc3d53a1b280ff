//! Every sandbox limit, driven with the purpose-built `probe` component through the
//! real host in process.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::time::{Duration, Instant};

use backoffice_host::HostError;
use backoffice_host::bindings::WitError;
use backoffice_host::runtime::{Failure, Limits};
use backoffice_tests::TestHost;
use serde_json::json;

fn probe(tenants: &[&str]) -> TestHost {
    TestHost::new().with_plugin("probe", "probe", tenants)
}

fn put(t: &TestHost, tenant: &str, key: &str, value: serde_json::Value) {
    let out = t.call(tenant, "probe", "put", json!({"key": key, "value": value}));
    assert_eq!(out.unwrap(), json!({}));
}

fn get(t: &TestHost, tenant: &str, key: &str) -> serde_json::Value {
    t.call(tenant, "probe", "get", json!({"key": key})).unwrap()["value"].clone()
}

fn failure(result: backoffice_host::HostResult<serde_json::Value>) -> (Failure, String) {
    match result {
        Err(e @ HostError::Call { .. }) => {
            let text = e.to_string();
            let HostError::Call { failure, .. } = e else {
                unreachable!()
            };
            (failure, text)
        }
        other => panic!("expected a failed plugin call, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_is_stopped_at_the_deadline_and_the_host_keeps_serving() {
    let t = probe(&["acme"]);
    let started = Instant::now();
    let (f, text) = failure(t.call("acme", "probe", "spin", json!({})));
    let took = started.elapsed();
    assert!(matches!(f, Failure::Deadline(_)), "{f:?}");
    assert!(
        text.contains("plugin probe 0.1.0, operation 'spin'"),
        "{text}"
    );
    // Stopped near the 300 ms deadline, not after seconds (coarse bound: not a timing test).
    assert!(took < Duration::from_secs(5), "took {took:?}");
    put(&t, "acme", "after", json!(1));
}

#[test]
fn unbounded_memory_growth_is_stopped_at_the_cap() {
    let t = probe(&["acme"]);
    let (f, text) = failure(t.call("acme", "probe", "grow", json!({})));
    match f {
        Failure::Memory(m) => assert_eq!(m.cap, 32 << 20),
        other => panic!("expected the memory cap, got {other:?}: {text}"),
    }
    assert!(text.contains("memory limit exceeded"), "{text}");
    put(&t, "acme", "k", json!("v"));
}

#[test]
fn a_trap_or_error_after_writes_leaves_no_writes_behind() {
    let t = probe(&["acme"]);
    let (f, text) = failure(t.call("acme", "probe", "write-then-trap", json!({"key": "ghost"})));
    assert!(matches!(f, Failure::Trap(_)), "{f:?}");
    assert!(text.contains("probe 0.1.0"), "{text}");
    // The panic message reaches the admin with the trap.
    assert!(text.contains("trapping after writing ghost"), "{text}");
    let (f, _) = failure(t.call("acme", "probe", "write-then-fail", json!({"key": "ghost2"})));
    assert!(matches!(f, Failure::Plugin(WitError::Conflict(_))), "{f:?}");
    for key in ["ghost", "ghost2"] {
        assert_eq!(
            get(&t, "acme", key),
            json!(null),
            "{key} must have been rolled back"
        );
    }
}

#[test]
fn an_oversized_result_is_refused() {
    let t = TestHost::with_limits(Limits {
        max_output_bytes: 64 << 10,
        ..Limits::default()
    })
    .with_plugin("probe", "probe", &["acme"]);
    let small = t
        .call("acme", "probe", "big-output", json!({"bytes": 1000}))
        .unwrap();
    assert_eq!(small["data"].as_str().map(str::len), Some(1000));
    let (f, text) = failure(t.call("acme", "probe", "big-output", json!({"bytes": 100_000})));
    assert!(
        matches!(f, Failure::OutputTooLarge { cap: 65536, .. }),
        "{f:?}"
    );
    assert!(text.contains("byte limit"), "{text}");
}

#[test]
fn tenants_cannot_read_each_others_data_under_the_same_key() {
    let t = probe(&["acme", "globex"]);
    put(&t, "acme", "salary", json!(1000));
    assert_eq!(get(&t, "globex", "salary"), json!(null));
    put(&t, "globex", "salary", json!(2));
    assert_eq!(get(&t, "acme", "salary"), json!(1000));
}

#[test]
fn capabilities_not_granted_are_refused() {
    let t = probe(&["acme"]);
    let input = json!({"plugin": "contacts", "operation": "list"});
    let (f, _) = failure(t.call("acme", "probe", "call", input));
    match f {
        Failure::Plugin(WitError::Forbidden(m)) => {
            assert!(m.contains("'plugins' capability"), "{m}")
        }
        other => panic!("expected forbidden, got {other:?}"),
    }
}

#[test]
fn the_plugin_sees_its_caller_and_a_frozen_business_time() {
    let t = probe(&["acme"]);
    let who = t.call("acme", "probe", "whoami", json!({})).unwrap();
    assert_eq!(who["caller"]["tenant"], "acme");
    assert_eq!(who["time-zone"], "Europe/Berlin");
    assert_eq!(who["has-permission"], true);
    assert!(
        who["now"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{who}"
    );
}

#[test]
fn scans_page_through_the_plugins_own_keys() {
    let t = probe(&["acme", "globex"]);
    for i in 0..5 {
        put(&t, "acme", &format!("item/{i}"), json!(i));
    }
    put(&t, "globex", "item/9", json!(9));
    let fwd = t
        .call(
            "acme",
            "probe",
            "scan",
            json!({"prefix": "item/", "reverse": false, "limit": 10}),
        )
        .unwrap();
    let keys: Vec<&str> = fwd["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["key"].as_str())
        .collect();
    assert_eq!(keys, ["item/0", "item/1", "item/2", "item/3", "item/4"]);
    let latest = t
        .call(
            "acme",
            "probe",
            "scan",
            json!({"prefix": "item/", "reverse": true, "limit": 1}),
        )
        .unwrap();
    assert_eq!(latest["entries"][0]["key"], "item/4");
}

#[test]
fn input_is_checked_against_the_operation_schema_before_the_plugin_runs() {
    let t = probe(&["acme"]);
    let ok = t
        .call("acme", "probe", "echo", json!({"text": "hi"}))
        .unwrap();
    assert_eq!(ok, json!({"text": "hi"}));
    let err = t
        .call(
            "acme",
            "probe",
            "echo",
            json!({"text": "far too long for the schema"}),
        )
        .unwrap_err();
    assert!(matches!(err, HostError::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("/text"), "{err}");
}
