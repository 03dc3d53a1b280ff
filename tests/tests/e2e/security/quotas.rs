//! Finding 7: without quotas one plugin (or one user) could fill a tenant's database,
//! its outbox and job table, or its audit chain. Each test pushes past one quota and
//! checks the refusal, what was kept, and what was not.

use std::sync::Arc;
use std::time::Duration;

use backoffice_host::HostError;
use backoffice_host::clock::TestClock;
use backoffice_host::runtime::{Failure, Quotas};
use backoffice_host::store::{AuditQuery, EventFilter};
use backoffice_tests::{Cli, TestHost, user};
use serde_json::json;

/// A host with the probe enabled for `acme`, these quotas and a clock standing at
/// 22:00 UTC (two hours before the UTC day ends).
fn probe_with(quotas: Quotas) -> (Arc<TestClock>, TestHost) {
    let clock = Arc::new(TestClock::at_rfc3339("2026-03-02T22:00:00Z"));
    let shared = clock.clone();
    let t = TestHost::with_config(move |c| {
        c.clock = shared;
        c.limits.quotas = quotas;
    })
    .with_plugin("probe", "probe", &["acme"]);
    (clock, t)
}

/// The quota refusal inside a failed call, with its message.
fn refused(result: backoffice_host::HostResult<serde_json::Value>) -> (HostError, String) {
    let err = result.unwrap_err();
    let HostError::Call {
        failure: Failure::Quota(q),
        ..
    } = &err
    else {
        panic!("expected a quota refusal, got: {err}");
    };
    let text = q.to_string();
    (err, text)
}

fn get(t: &TestHost, key: &str) -> serde_json::Value {
    t.call("acme", "probe", "get", json!({ "key": key }))
        .unwrap()["value"]
        .clone()
}

fn put(
    t: &TestHost,
    key: &str,
    value: serde_json::Value,
) -> backoffice_host::HostResult<serde_json::Value> {
    t.call(
        "acme",
        "probe",
        "put",
        json!({ "key": key, "value": value }),
    )
}

#[test]
fn a_plugin_writing_past_its_key_and_byte_quotas_is_refused_and_the_refused_call_keeps_nothing() {
    let (_clock, t) = probe_with(Quotas {
        stored_keys: 3,
        stored_bytes: 100,
        ..Quotas::default()
    });
    for k in ["k1", "k2", "k3"] {
        put(&t, k, json!(k)).unwrap();
    }
    // A fourth key is one too many.
    let (err, text) = refused(put(&t, "k4", json!("k4")));
    assert_eq!(err.http_status(), 429);
    assert_eq!(err.code(), "quota-exceeded");
    for fragment in [
        "stored keys",
        "'probe'",
        "'acme'",
        "would reach 4",
        "limit of 3",
        "--quota-stored-keys",
        "BACKOFFICE_QUOTA_STORED_KEYS",
        "nothing of this call was kept",
    ] {
        assert!(text.contains(fragment), "{fragment:?} missing in: {text}");
    }
    assert_eq!(get(&t, "k4"), serde_json::Value::Null);
    // Rewriting a key adds none: still allowed at the limit.
    put(&t, "k1", json!("k1 again")).unwrap();
    // A value that takes the plugin past 100 bytes is refused; the old one stays.
    let (_, text) = refused(put(&t, "k2", json!("x".repeat(90))));
    assert!(
        text.contains("stored bytes")
            && text.contains("limit of 100")
            && text.contains("--quota-stored-mib"),
        "{text}"
    );
    assert_eq!(get(&t, "k1"), json!("k1 again"));
    assert_eq!(get(&t, "k2"), json!("k2"));
    assert_eq!(get(&t, "k3"), json!("k3"));
    // The usage the host shows is that of the data kept: three keys, their bytes.
    let info = t.host.plugin_usage("probe", Some("acme")).unwrap();
    let usage = &info.usage[0];
    assert_eq!((usage.stored_keys.used, usage.stored_keys.limit), (3, 3));
    // Keys are 2 bytes each; values are the JSON text of each value.
    let values = [json!("k1 again"), json!("k2"), json!("k3")];
    let bytes: usize = values.iter().map(|v| 2 + v.to_string().len()).sum();
    assert_eq!(usage.stored_bytes.used, bytes as u64);
}

#[test]
fn emitting_past_the_per_call_limit_is_refused_and_none_of_the_calls_events_is_kept() {
    let (_clock, t) = probe_with(Quotas {
        events_per_call: 5,
        ..Quotas::default()
    });
    let emit = |count: u32| {
        t.call(
            "acme",
            "probe",
            "emit",
            json!({ "topic": "probe.other", "payload": {}, "count": count, "number": true }),
        )
    };
    emit(5).unwrap();
    let (_, text) = refused(emit(6));
    assert!(
        text.contains("events per call")
            && text.contains("would reach 6")
            && text.contains("limit of 5")
            && text.contains("--quota-events-per-call"),
        "{text}"
    );
    // The five events of the refused call emitted before the sixth are gone too.
    let events = t
        .host
        .events(&EventFilter {
            tenant: Some("acme".into()),
            topic: Some("probe.other".into()),
            limit: 100,
        })
        .unwrap();
    assert_eq!(events.len(), 5);
}

#[test]
fn the_daily_quotas_refuse_until_the_next_utc_day() {
    let (clock, t) = probe_with(Quotas {
        events_per_day: 4,
        runs_per_day: 2,
        ..Quotas::default()
    });
    let emit = |count: u32| {
        t.call(
            "acme",
            "probe",
            "emit",
            json!({ "topic": "probe.other", "payload": {}, "count": count, "number": true }),
        )
    };
    let schedule = || {
        t.call(
            "acme",
            "probe",
            "schedule",
            json!({ "job": "once", "at": "2027-01-01T00:00:00Z" }),
        )
    };
    emit(3).unwrap();
    let (_, text) = refused(emit(2));
    assert!(
        text.contains("events per day")
            && text.contains("would reach 5")
            && text.contains("limit of 4")
            && text.contains("midnight UTC")
            && text.contains("--quota-events-per-day"),
        "{text}"
    );
    // The refused call counted nothing: one more still fits, then none.
    emit(1).unwrap();
    refused(emit(1));
    schedule().unwrap();
    schedule().unwrap();
    let (_, text) = refused(schedule());
    assert!(
        text.contains("scheduled runs per day") && text.contains("--quota-runs-per-day"),
        "{text}"
    );
    let info = t.host.plugin_usage("probe", None).unwrap();
    let usage = &info.usage[0];
    assert_eq!((usage.events_today.used, usage.runs_today.used), (4, 2));
    assert_eq!(usage.day, "2026-03-02");

    // At midnight UTC the counts start again.
    clock.advance(Duration::from_secs(2 * 3600));
    emit(4).unwrap();
    schedule().unwrap();
    let usage = &t.host.plugin_usage("probe", None).unwrap().usage[0];
    assert_eq!((usage.events_today.used, usage.runs_today.used), (4, 1));
    assert_eq!(usage.day, "2026-03-03");
    let events = t
        .host
        .events(&EventFilter {
            tenant: Some("acme".into()),
            topic: Some("probe.other".into()),
            limit: 100,
        })
        .unwrap();
    assert_eq!(events.len(), 3 + 1 + 4);
}

fn chain_length(t: &TestHost) -> usize {
    t.host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            since: None,
            after_seq: None,
            limit: 100_000,
        })
        .unwrap()
        .len()
}

#[test]
fn a_users_flood_of_failing_calls_is_refused_with_429_and_the_audit_chain_stays_bounded() {
    let (clock, t) = probe_with(Quotas {
        failed_calls_per_hour: 5,
        ..Quotas::default()
    });
    let mallory = user("mallory", &["probe.*"]);
    let fail = |who: &backoffice_host::auth::Principal| {
        t.call_as(
            "acme",
            "probe",
            "write-then-fail",
            json!({ "key": "x" }),
            who,
        )
        .unwrap_err()
    };
    let before = chain_length(&t);
    let mut statuses = Vec::new();
    for _ in 0..100 {
        statuses.push(fail(&mallory).http_status());
    }
    // Five failures of the plugin's own (409), then refusals up front.
    assert_eq!(statuses[..5], [409; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let refusal = fail(&mallory);
    let text = refusal.to_string();
    assert!(
        text.contains("mallory")
            && text.contains("5 failed calls")
            && text.contains("--quota-failed-calls-per-hour")
            && text.contains("try again in 3600 s"),
        "{text}"
    );
    // One link per failure, one for the refusals: not one per refused call.
    assert_eq!(chain_length(&t), before + 5 + 1);
    // Refused up front: nothing ran, so a call that would succeed is refused too.
    let ok = t.call_as(
        "acme",
        "probe",
        "put",
        json!({ "key": "k", "value": 1 }),
        &mallory,
    );
    assert_eq!(ok.unwrap_err().http_status(), 429);
    // Another user of the tenant is not held back.
    let alice = user("alice", &["probe.*"]);
    t.call_as(
        "acme",
        "probe",
        "put",
        json!({ "key": "k", "value": 1 }),
        &alice,
    )
    .unwrap();
    assert_eq!(fail(&alice).http_status(), 409);

    // The next hour the user may call again; the refusals of the last hour are
    // recorded in one link with their number (100 - 5 + 1 + 1 refused calls).
    clock.advance(Duration::from_secs(3600));
    let before = chain_length(&t);
    t.call_as(
        "acme",
        "probe",
        "put",
        json!({ "key": "k", "value": 2 }),
        &mallory,
    )
    .unwrap();
    let links = t
        .host
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            since: None,
            after_seq: Some(u64::try_from(before).unwrap()),
            limit: 100,
        })
        .unwrap();
    assert_eq!(links.len(), 2, "{links:?}");
    let summary: serde_json::Value = serde_json::from_str(&links[0].detail).unwrap();
    assert_eq!(links[0].outcome, "rate-limited");
    assert_eq!(summary["refused_calls"], 97);
    assert_eq!(links[1].outcome, "ok");
}

#[test]
fn plugin_info_shows_usage_against_each_quota() {
    let cli = Cli::new();
    cli.install_unsigned("probe").ok();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    for k in ["a", "b"] {
        cli.call("acme", "probe", "put", &json!({ "key": k, "value": 1 }));
    }
    let limits = ["--quota-stored-keys", "10", "--quota-events-per-day", "50"];
    let mut args = vec!["plugin", "info", "probe", "--tenant", "acme", "--json"];
    args.extend(limits);
    let info = cli.run(&args).json();
    let usage = &info["usage"][0];
    assert_eq!(usage["tenant"], "acme");
    assert_eq!(usage["stored_keys"], json!({ "used": 2, "limit": 10 }));
    // Two keys of one byte, each holding the JSON text `1`.
    assert_eq!(
        usage["stored_bytes"],
        json!({ "used": 4, "limit": 1u64 << 30 })
    );
    assert_eq!(usage["events_today"], json!({ "used": 0, "limit": 50 }));
    assert_eq!(usage["runs_today"]["limit"], 100_000);
    assert_eq!(usage["events_per_call"], 10_000);
    let mut args = vec!["plugin", "info", "probe"];
    args.extend(limits);
    let text = cli.run(&args).ok();
    assert!(text.contains("quotas in tenant 'acme'"), "{text}");
    assert!(text.contains("stored keys    2 of 10 (20.0 %)"), "{text}");
    // An unknown tenant is named.
    cli.run(&["plugin", "info", "probe", "--tenant", "nobody"])
        .fails(3, &["nobody"]);
}

#[test]
fn on_postgresql_a_write_past_the_key_quota_is_refused_and_usage_is_shown() {
    let pg = backoffice_tests::PgServer::start();
    let cli = Cli::postgres(&pg.database());
    cli.install_unsigned("probe").ok();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    let put = |key: &str| {
        cli.run(&[
            "call",
            "--tenant",
            "acme",
            "probe",
            "put",
            "--input",
            &json!({ "key": key, "value": 1 }).to_string(),
            "--quota-stored-keys",
            "2",
        ])
    };
    put("a").ok();
    put("b").ok();
    put("c").fails(
        6,
        &[
            "stored keys",
            "would reach 3",
            "limit of 2",
            "--quota-stored-keys",
        ],
    );
    // Rewriting a kept key still works; the refused key is not there.
    put("a").ok();
    let got = cli.call("acme", "probe", "get", &json!({ "key": "c" }));
    assert_eq!(got["value"], serde_json::Value::Null);
    let info = cli
        .run(&["plugin", "info", "probe", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(info["usage"][0]["stored_keys"]["used"], 2);
    assert_eq!(info["usage"][0]["stored_bytes"]["used"], 4);
}
