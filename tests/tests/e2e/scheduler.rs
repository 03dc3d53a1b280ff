//! The durable scheduler: cron jobs per tenant in its time zone, one-off runs from
//! plugins, retries, dead letters and missed windows, driven by a test clock.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::sync::Arc;
use std::time::Duration;

use backoffice_host::HostError;
use backoffice_host::bindings::WitError;
use backoffice_host::clock::{TestClock, rfc3339_ms};
use backoffice_host::runtime::Failure;
use backoffice_host::store::{JobFilter, JobRecord};
use backoffice_tests::{TestHost, wasm, with_custom_section};
use serde_json::json;

/// A host at 08:10 UTC on a Monday with the probe enabled for two tenants.
fn clocked() -> (Arc<TestClock>, TestHost) {
    let clock = Arc::new(TestClock::at_rfc3339("2026-03-02T08:10:00Z"));
    let t = TestHost::with_clock(clock.clone());
    t.install("probe");
    t.host
        .create_tenant("acme", None, Some("Europe/Berlin"))
        .unwrap();
    t.host
        .create_tenant("nyc", None, Some("America/New_York"))
        .unwrap();
    t.host.enable("probe", "acme").unwrap();
    t.host.enable("probe", "nyc").unwrap();
    (clock, t)
}

fn count(t: &TestHost, tenant: &str, job: &str) -> u64 {
    t.call(tenant, "probe", "get", json!({"key": format!("job:{job}")}))
        .unwrap()["value"]
        .as_u64()
        .unwrap_or(0)
}

fn job(t: &TestHost, tenant: &str, name: &str) -> JobRecord {
    t.host
        .jobs(&JobFilter {
            tenant: Some(tenant.into()),
            plugin: Some("probe".into()),
        })
        .unwrap()
        .into_iter()
        .rev()
        .find(|j| j.job == name)
        .unwrap()
}

#[test]
fn cron_jobs_run_per_tenant_and_a_missed_window_runs_once() {
    let (clock, t) = clocked();
    let hourly = job(&t, "acme", "hourly");
    assert_eq!(hourly.state, "scheduled");
    assert_eq!(rfc3339_ms(hourly.next_run_ms), "2026-03-02T09:00:00Z");
    assert_eq!(t.host.run_due().unwrap().jobs, 0, "nothing due yet");

    clock.advance(Duration::from_secs(50 * 60));
    assert_eq!(t.host.run_due().unwrap().jobs, 2, "one per tenant");
    assert_eq!(count(&t, "acme", "hourly"), 1);
    assert_eq!(count(&t, "nyc", "hourly"), 1);
    assert_eq!(
        rfc3339_ms(job(&t, "acme", "hourly").next_run_ms),
        "2026-03-02T10:00:00Z"
    );

    // Ten hours of downtime: one catch-up run, then the next hour after now.
    clock.advance(Duration::from_secs(10 * 3600 + 15 * 60));
    assert_eq!(t.host.run_due().unwrap().jobs, 2);
    assert_eq!(count(&t, "acme", "hourly"), 2);
    assert_eq!(
        rfc3339_ms(job(&t, "acme", "hourly").next_run_ms),
        "2026-03-02T20:00:00Z"
    );
    let history = t
        .host
        .job_history(Some(job(&t, "acme", "hourly").id), 10)
        .unwrap();
    assert_eq!(history.len(), 2);
    assert!(
        history
            .iter()
            .all(|r| r.outcome == "ok" && r.duration_ms.is_some())
    );

    // Disabled: paused; enabled again: re-armed from now, no backlog.
    t.host.disable("probe", "nyc").unwrap();
    assert_eq!(job(&t, "nyc", "hourly").state, "paused");
    clock.advance(Duration::from_secs(3 * 3600));
    assert_eq!(t.host.run_due().unwrap().jobs, 1, "only acme's");
    t.host.enable("probe", "nyc").unwrap();
    assert_eq!(job(&t, "nyc", "hourly").state, "scheduled");
    assert_eq!(t.host.run_due().unwrap().jobs, 0);
}

#[test]
fn plugins_schedule_one_off_runs_of_declared_jobs_only() {
    let (clock, t) = clocked();
    let out = t
        .call(
            "acme",
            "probe",
            "schedule",
            json!({"job": "once", "at": "2026-03-02T12:00:00Z"}),
        )
        .unwrap();
    let id = out["id"].as_str().unwrap().to_string();
    // Scheduled inside a call that fails: never exists.
    let bad = t.call(
        "acme",
        "probe",
        "schedule",
        json!({"job": "nope", "at": "2026-03-02T12:00:00Z"}),
    );
    match bad {
        Err(HostError::Call {
            failure: Failure::Plugin(WitError::NotFound(m)),
            ..
        }) => assert!(m.contains("declares no job 'nope'"), "{m}"),
        other => panic!("expected not-found, got {other:?}"),
    }
    // A second run, cancelled before it is due.
    let out = t
        .call(
            "acme",
            "probe",
            "schedule",
            json!({"job": "once", "at": "2026-03-02T12:00:00Z"}),
        )
        .unwrap();
    let cancel = out["id"].as_str().unwrap().to_string();
    let out = t
        .call(
            "acme",
            "probe",
            "schedule",
            json!({"job": "once", "cancel": cancel}),
        )
        .unwrap();
    assert_eq!(out, json!({"cancelled": true}));

    clock.advance(Duration::from_secs(3 * 3600 + 49 * 60 + 59));
    t.host.run_due().unwrap();
    assert_eq!(count(&t, "acme", "once"), 0);
    clock.advance(Duration::from_secs(1));
    t.host.run_due().unwrap();
    assert_eq!(
        count(&t, "acme", "once"),
        1,
        "run {id} once, the cancelled not"
    );
    assert_eq!(job(&t, "acme", "once").state, "cancelled");
}

#[test]
fn a_failing_job_backs_off_then_is_dead_lettered_and_can_be_retried() {
    let (clock, t) = clocked();
    let id = t
        .host
        .run_job_now("acme", "probe", "once", r#"{"fail": true}"#)
        .unwrap();
    t.host.run_due().unwrap();
    let j = t.host.jobs(&JobFilter::default()).unwrap();
    let j = j.iter().find(|j| j.id == id).unwrap();
    assert_eq!((j.state.as_str(), j.attempts), ("scheduled", 1));
    assert!(
        j.last_error
            .as_deref()
            .unwrap()
            .contains("failing as asked")
    );
    clock.advance(Duration::from_secs(1));
    t.host.run_due().unwrap();
    clock.advance(Duration::from_secs(2));
    t.host.run_due().unwrap();
    let j = t.host.jobs(&JobFilter::default()).unwrap();
    let j = j.iter().find(|j| j.id == id).unwrap();
    assert_eq!((j.state.as_str(), j.attempts), ("failed", 3));
    let runs = t.host.job_history(Some(id), 10).unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.outcome == "error"));

    // A tenant's administration retries only that tenant's jobs.
    t.host.create_tenant("globex", None, None).unwrap();
    let system = backoffice_host::auth::Principal::system();
    let err = t
        .host
        .tenant_admin(&system, "globex")
        .retry_job(id)
        .unwrap_err();
    assert!(
        matches!(&err, HostError::NotFound(m) if m.contains("no job with id")),
        "{err}"
    );
    t.host.tenant_admin(&system, "acme").retry_job(id).unwrap();
    t.host.run_due().unwrap();
    assert_eq!(t.host.job_history(Some(id), 10).unwrap().len(), 4);
    let err = t
        .host
        .run_job_now("acme", "probe", "nope", "null")
        .unwrap_err();
    assert!(err.to_string().contains("declares no job 'nope'"), "{err}");
}

#[test]
fn an_invalid_cron_refuses_the_install_with_the_reason() {
    let toml =
        std::fs::read_to_string(backoffice_tests::root().join("tests/fixtures/probe/plugin.toml"))
            .unwrap()
            .replace("0 * * * *", "0 25 * * *");
    let bytes = with_custom_section(wasm("no_manifest"), "backoffice:manifest", toml.as_bytes());
    let t = TestHost::new();
    let err = t.host.inspect(bytes).unwrap_err().to_string();
    assert!(
        err.contains("job 'hourly'") && err.contains("hour: 25 is outside 0-23"),
        "{err}"
    );
}
