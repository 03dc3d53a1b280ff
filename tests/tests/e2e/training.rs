//! The bundled `training` plugin through the real host: what an HR team does (courses,
//! a roster fed by payroll's events, completions, status and reports), the daily
//! reminders as time passes on a test clock, the CSV import, and every kind of bad
//! input, each checked for its error and for leaving the records unchanged.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::sync::Arc;
use std::time::Duration;

use backoffice_host::clock::{Clock, TestClock};
use backoffice_host::runtime::Limits;
use backoffice_host::store::EventFilter;
use backoffice_tests::{Cli, TestHost, user};
use serde_json::{Value, json};

/// A host whose clock shows `now`, with the training plugin and the probe (which
/// stands in for payroll) enabled for tenant `acme` in `time_zone`.
fn host_at(now: &str, time_zone: &str) -> (Arc<TestClock>, TestHost) {
    let clock = Arc::new(TestClock::at_rfc3339(now));
    let t = TestHost::with_config(|c| {
        c.clock = clock.clone();
        c.limits = Limits {
            call_deadline: Duration::from_secs(5),
            ..Limits::default()
        };
        c.work.max_attempts = 3;
        c.work.backoff = Duration::from_secs(1);
    });
    t.install("training");
    t.install("probe");
    // The probe may emit payroll's topic, as an admin would allow a payroll plugin.
    t.host
        .grant_topic("probe", "payroll.employee-changed")
        .unwrap();
    t.host.create_tenant("acme", None, Some(time_zone)).unwrap();
    t.host.enable("training", "acme").unwrap();
    t.host.enable("probe", "acme").unwrap();
    (clock, t)
}

/// Monday 2 March 2026, 09:00 in Berlin.
fn host() -> (Arc<TestClock>, TestHost) {
    host_at("2026-03-02T08:00:00Z", "Europe/Berlin")
}

fn set_clock(clock: &TestClock, rfc3339: &str) {
    clock.set(TestClock::at_rfc3339(rfc3339).now());
}

fn call(t: &TestHost, op: &str, input: Value) -> Value {
    t.call("acme", "training", op, input)
        .unwrap_or_else(|e| panic!("{op} failed: {e}"))
}

/// The call fails with `status` and a message containing every fragment.
fn fails(t: &TestHost, op: &str, input: Value, status: u16, fragments: &[&str]) -> String {
    let err = t.call("acme", "training", op, input).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.http_status(), status, "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} lacks {f:?}");
    }
    msg
}

/// Payroll hires or changes an employee: the event, delivered.
fn payroll_sends(t: &TestHost, employee: Value) {
    t.call(
        "acme",
        "probe",
        "emit",
        json!({"topic": "payroll.employee-changed", "payload": employee}),
    )
    .unwrap();
    let report = t.host.run_due().unwrap();
    assert_eq!(report.deliveries, 1, "{report:?}");
}

fn ada() -> Value {
    json!({"id": "E1", "name": "Ada Lovelace", "department": "Finance", "job-role": "accountant",
           "country": "GB", "start-date": "2025-01-06", "end-date": null})
}

/// Anti money laundering for accountants (24 months, pass 80, due in 14 days) and fire
/// safety for the Finance department (12 months, pass 70, due in 30 days).
fn courses(t: &TestHost) {
    call(
        t,
        "set-course",
        json!({"code": "AML", "title": "Anti money laundering", "version": "2026.1", "validity-months": 24,
               "pass-mark": 80, "mandatory-roles": ["accountant"], "due-days": 14}),
    );
    call(
        t,
        "set-course",
        json!({"code": "FIRE", "title": "Fire safety", "validity-months": 12, "pass-mark": 70,
               "mandatory-departments": ["Finance"]}),
    );
}

/// `(employee, course, status)` of the `status` rows for `filter`.
fn statuses(t: &TestHost, filter: Value) -> Vec<(String, String, String)> {
    call(t, "status", filter)["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["employee"].as_str().unwrap().to_owned(),
                r["course"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn triples(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// The reminders the plugin emitted so far, in order: `(topic, employee, course)`, and
/// their payloads.
fn reminders(t: &TestHost) -> (Vec<(String, String, String)>, Vec<Value>) {
    let mut list = t
        .host
        .events(&EventFilter {
            tenant: Some("acme".into()),
            topic: None,
            limit: 1000,
        })
        .unwrap();
    list.reverse();
    let payloads: Vec<Value> = list
        .iter()
        .filter(|e| e.plugin == "training")
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect();
    let keys = list
        .iter()
        .filter(|e| e.plugin == "training")
        .zip(&payloads)
        .map(|(e, p)| {
            (
                e.topic.clone(),
                p["employee"].as_str().unwrap().to_owned(),
                p["course"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (keys, payloads)
}

#[test]
fn payroll_events_and_course_rules_assign_mandatory_training() {
    let (_clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    let e1 = &call(&t, "list-employees", json!({}))["employees"][0];
    assert_eq!(
        *e1,
        json!({"id": "E1", "name": "Ada Lovelace", "department": "Finance", "job-role": "accountant",
               "country": "GB", "start-date": "2025-01-06", "end-date": null, "active": true})
    );
    // Hired before today: assigned today, due after each course's due-days.
    let rows = call(&t, "status", json!({}))["rows"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["course"], "AML");
    assert_eq!(rows[0]["status"], "assigned");
    assert_eq!(rows[0]["assigned-on"], "2026-03-02");
    assert_eq!(rows[0]["due-date"], "2026-03-16");
    assert_eq!(rows[0]["days-left"], 14);
    assert_eq!(rows[1]["course"], "FIRE");
    assert_eq!(rows[1]["due-date"], "2026-04-01");

    // A new hire starting later is assigned from the start date.
    let out = call(
        &t,
        "set-employee",
        json!({"id": "E2", "name": "Grace Hopper", "department": "Finance", "job-role": "clerk",
               "start-date": "2026-04-01"}),
    );
    assert_eq!(out["assigned"], json!(["FIRE"]));
    let grace = statuses(&t, json!({"employee": "E2"}));
    assert_eq!(grace, triples(&[("E2", "FIRE", "assigned")]));
    assert_eq!(
        call(&t, "status", json!({"employee": "E2"}))["rows"][0]["due-date"],
        "2026-05-01"
    );

    // A course made mandatory for a role reaches everyone in it.
    let out = call(
        &t,
        "set-course",
        json!({"code": "GDPR", "title": "Data protection", "pass-mark": 50, "mandatory-roles": ["clerk"]}),
    );
    assert_eq!(out["assigned"], json!(["E2"]));
    assert_eq!(out["course"]["version"], "1");
    assert_eq!(out["course"]["validity-months"], Value::Null);

    // Payroll moves Ada to Sales as a clerk: FIRE and AML no longer apply, GDPR does.
    let mut moved = ada();
    moved["department"] = json!("Sales");
    moved["job-role"] = json!("clerk");
    payroll_sends(&t, moved);
    assert_eq!(
        statuses(&t, json!({"employee": "E1"})),
        triples(&[("E1", "GDPR", "assigned")])
    );

    // A manual assignment stays when the course is not mandatory.
    let out = call(
        &t,
        "assign",
        json!({"employee": "E1", "course": "FIRE", "due-date": "2026-03-31"}),
    );
    assert_eq!(out["created"], true);
    assert_eq!(out["assignment"]["origin"], "manual");
    assert_eq!(
        statuses(&t, json!({"course": "FIRE"})),
        triples(&[("E1", "FIRE", "assigned"), ("E2", "FIRE", "assigned")])
    );
    fails(
        &t,
        "unassign",
        json!({"employee": "E2", "course": "FIRE"}),
        409,
        &["mandatory for employee E2's role or department"],
    );
    call(&t, "unassign", json!({"employee": "E1", "course": "FIRE"}));

    // Leaving: nothing is required any more; every pair shows as not-required.
    let mut left = ada();
    left["department"] = json!("Sales");
    left["job-role"] = json!("clerk");
    left["end-date"] = json!("2026-03-01");
    payroll_sends(&t, left);
    assert!(statuses(&t, json!({"employee": "E1"})).is_empty());
    assert_eq!(
        statuses(&t, json!({"employee": "E1", "include-not-required": true})),
        triples(&[
            ("E1", "AML", "not-required"),
            ("E1", "FIRE", "not-required"),
            ("E1", "GDPR", "not-required"),
        ])
    );
    assert_eq!(
        call(&t, "list-employees", json!({}))["employees"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "only Grace is employed"
    );
    fails(
        &t,
        "assign",
        json!({"employee": "E1", "course": "AML"}),
        409,
        &["no longer employed"],
    );
}

#[test]
fn completions_are_immutable_history_and_the_latest_pass_counts() {
    let (clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());

    // A failed attempt is recorded but does not count.
    let out = call(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "AML", "date": "2026-03-02", "score": 79}),
    );
    assert_eq!(out["completion"]["id"], "c-000001");
    assert_eq!(out["completion"]["passed"], false);
    assert_eq!(out["completion"]["course-version"], "2026.1");
    assert_eq!(out["status"]["status"], "assigned");
    assert_eq!(out["status"]["last-completed"], Value::Null);

    let out = call(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "AML", "date": "2026-03-02", "score": 80, "certificate": "AML-0042"}),
    );
    assert_eq!(out["completion"]["passed"], true);
    let status = &out["status"];
    assert_eq!(status["status"], "valid");
    assert_eq!(status["expiry-date"], "2028-03-01");
    assert_eq!(status["due-date"], "2028-03-01");
    assert_eq!(status["certificate"], "AML-0042");
    assert_eq!(status["completion"], "c-000002");

    // A later pass supersedes it; a later failure does not undo it.
    clock.advance(Duration::from_secs(40 * 86_400));
    call(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "AML", "date": "2026-04-10", "score": 95, "certificate": "AML-0077"}),
    );
    let out = call(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "AML", "date": "2026-04-11", "score": 10}),
    );
    assert_eq!(out["status"]["status"], "valid");
    assert_eq!(out["status"]["expiry-date"], "2028-04-09");
    assert_eq!(out["status"]["certificate"], "AML-0077");
    assert_eq!(out["status"]["last-score"], 95);

    let history = call(&t, "list-completions", json!({"employee": "E1"}))["completions"].clone();
    let ids: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["score"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("c-000001", 79),
            ("c-000002", 80),
            ("c-000003", 95),
            ("c-000004", 10)
        ]
    );
    assert_eq!(history[0]["recorded-at"], "2026-03-02T08:00:00Z");
    assert_eq!(history[0]["source"], "manual");
    assert!(
        call(&t, "list-completions", json!({"course": "FIRE"}))["completions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // FIRE, never passed, was due on 1 April.
    assert_eq!(
        statuses(&t, json!({"course": "FIRE"})),
        triples(&[("E1", "FIRE", "overdue")])
    );
}

#[test]
fn dates_are_business_dates_in_the_tenants_time_zone() {
    // 23:30 UTC on 1 March is already 2 March in Berlin, still 1 March in New York.
    for (zone, today) in [
        ("Europe/Berlin", "2026-03-02"),
        ("America/New_York", "2026-03-01"),
    ] {
        let (_clock, t) = host_at("2026-03-01T23:30:00Z", zone);
        courses(&t);
        payroll_sends(&t, ada());
        assert_eq!(call(&t, "status", json!({}))["as-of"], today, "{zone}");
        let input = json!({"employee": "E1", "course": "FIRE", "date": "2026-03-02", "score": 90});
        if zone == "Europe/Berlin" {
            call(&t, "record-completion", input);
        } else {
            fails(
                &t,
                "record-completion",
                input,
                400,
                &["date 2026-03-02 is after today (2026-03-01)"],
            );
        }
    }
}

#[test]
fn the_daily_job_sends_each_reminder_once_per_interval() {
    let (clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    call(
        &t,
        "set-employee",
        json!({"id": "E2", "name": "Grace Hopper", "department": "Sales", "job-role": "clerk"}),
    );
    call(
        &t,
        "assign",
        json!({"employee": "E2", "course": "FIRE", "due-date": "2026-03-20"}),
    );
    // Ada's fire safety certificate from last year is valid until 19 March.
    let out = call(
        &t,
        "import-completions",
        json!({"csv": "employee,course,date,score,certificate\nE1,FIRE,2025-03-20,95,F-1\n"}),
    );
    assert_eq!(out["imported"], 1);
    assert_eq!(
        statuses(&t, json!({})),
        triples(&[
            ("E1", "AML", "assigned"),
            ("E1", "FIRE", "expiring"),
            ("E2", "FIRE", "assigned"),
        ])
    );

    // The job runs daily at 06:00 Berlin time (05:00 UTC in winter). `run` returns how
    // many times it has run so far (the probe's own hourly job runs too).
    let run = |at: &str| {
        set_clock(&clock, at);
        t.host.run_due().unwrap();
        reminder_runs(&t)
    };
    assert_eq!(run("2026-03-03T04:59:00Z"), 0, "not yet 06:00 in Berlin");
    assert_eq!(run("2026-03-03T05:00:00Z"), 1);
    let expected = vec![("training.expiring", "E1", "FIRE")];
    let (sent, payloads) = reminders(&t);
    assert_eq!(sent, triples(&expected));
    let p = &payloads[0];
    assert_eq!(p["status"], "expiring");
    assert_eq!(p["expiry-date"], "2026-03-19");
    assert_eq!(p["days-left"], 16);
    assert_eq!(p["as-of"], "2026-03-03");
    assert_eq!(p["employee-name"], "Ada Lovelace");
    assert_eq!(p["course-title"], "Fire safety");

    // Not repeated within 7 days; a missed week runs once.
    assert_eq!(run("2026-03-04T05:00:00Z"), 2);
    assert_eq!(reminders(&t).0, triples(&expected));
    assert_eq!(
        run("2026-03-10T05:00:00Z"),
        3,
        "one catch-up run for the missed days"
    );
    let mut expected = vec![
        ("training.expiring", "E1", "FIRE"),
        ("training.expiring", "E1", "FIRE"),
    ];
    assert_eq!(reminders(&t).0, triples(&expected));

    // AML was due on 16 March; FIRE is still expiring a week later.
    run("2026-03-17T05:00:00Z");
    expected.extend([
        ("training.overdue", "E1", "AML"),
        ("training.expiring", "E1", "FIRE"),
    ]);
    assert_eq!(reminders(&t).0, triples(&expected));
    call(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "AML", "date": "2026-03-17", "score": 88}),
    );

    // FIRE expired on 20 March: an overdue reminder, though an expiring one went out
    // three days before. Grace's FIRE is due that day, not yet overdue.
    run("2026-03-20T05:00:00Z");
    expected.push(("training.overdue", "E1", "FIRE"));
    let (sent, payloads) = reminders(&t);
    assert_eq!(sent, triples(&expected));
    assert_eq!(payloads.last().unwrap()["status"], "expired");
    run("2026-03-21T05:00:00Z");
    expected.push(("training.overdue", "E2", "FIRE"));
    let (sent, payloads) = reminders(&t);
    assert_eq!(sent, triples(&expected));
    assert_eq!(payloads.last().unwrap()["status"], "overdue");
    assert_eq!(payloads.last().unwrap()["due-date"], "2026-03-20");
    assert_eq!(payloads.last().unwrap()["days-left"], -1);

    // Grace leaves: no more reminders for her; Ada's expired FIRE is repeated a week on.
    call(
        &t,
        "set-employee",
        json!({"id": "E2", "name": "Grace Hopper", "department": "Sales", "job-role": "clerk",
               "end-date": "2026-03-21"}),
    );
    run("2026-03-29T05:00:00Z");
    expected.push(("training.overdue", "E1", "FIRE"));
    assert_eq!(reminders(&t).0, triples(&expected));

    assert_eq!(reminder_runs(&t), 7);
}

/// How many times the reminder job has run, each run checked for success.
fn reminder_runs(t: &TestHost) -> usize {
    let jobs = t
        .host
        .jobs(&backoffice_host::store::JobFilter {
            tenant: Some("acme".into()),
            plugin: Some("training".into()),
        })
        .unwrap();
    let job = jobs.iter().find(|j| j.job == "send-reminders").unwrap();
    assert_eq!(job.cron.as_deref(), Some("0 6 * * *"));
    let history = t.host.job_history(Some(job.id), 100).unwrap();
    assert!(history.iter().all(|r| r.outcome == "ok"), "{history:?}");
    history.len()
}

#[test]
fn tenant_settings_set_the_window_over_a_stored_configure() {
    let (_clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    call(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "FIRE", "date": "2025-05-01", "score": 70}),
    );
    let fire = json!({"course": "FIRE"});
    // Unset (the setting declares no default, see plugin.toml): the plugin's 90
    // days, so 59 days left is expiring.
    let listed = t.host.settings("acme", "training").unwrap();
    assert_eq!(listed[0].key, "expiring-window-days");
    assert_eq!(listed[0].effective, None);
    assert_eq!(call(&t, "status", fire.clone())["expiring-window-days"], 90);
    assert_eq!(statuses(&t, fire.clone())[0].2, "expiring");

    // The admin's setting applies from the next call.
    t.host
        .set_setting("acme", "training", "expiring-window-days", json!(30))
        .unwrap();
    assert_eq!(statuses(&t, fire.clone())[0].2, "valid");
    assert_eq!(call(&t, "status", fire.clone())["expiring-window-days"], 30);
    // Out of range: refused by the host with the schema's reason, nothing changed.
    let err = t
        .host
        .set_setting("acme", "training", "expiring-window-days", json!(5000))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expiring-window-days") && err.contains("5000"),
        "{err}"
    );
    assert_eq!(call(&t, "status", fire.clone())["expiring-window-days"], 30);

    // The deprecated `configure` no longer overrides the setting: what it stores
    // applies only while the setting is unset.
    call(&t, "configure", json!({"expiring-window-days": 60}));
    assert_eq!(call(&t, "status", fire.clone())["expiring-window-days"], 30);
    t.host
        .unset_setting("acme", "training", "expiring-window-days")
        .unwrap();
    assert_eq!(call(&t, "status", fire.clone())["expiring-window-days"], 60);
    // Its null clears the stored value: the default again.
    call(&t, "configure", json!({"expiring-window-days": null}));
    assert_eq!(call(&t, "status", fire)["expiring-window-days"], 90);
}

#[test]
fn configured_window_and_interval_change_status_and_reminders() {
    let (clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    call(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "FIRE", "date": "2025-05-01", "score": 70}),
    );
    // Valid until 30 April: 59 days left, expiring within the default 90.
    let fire = json!({"course": "FIRE"});
    assert_eq!(statuses(&t, fire.clone())[0].2, "expiring");
    let out = call(&t, "configure", json!({"expiring-window-days": 30}));
    assert_eq!(
        out,
        json!({"expiring-window-days": 30, "reminder-interval-days": 7})
    );
    assert_eq!(statuses(&t, fire.clone())[0].2, "valid");
    assert_eq!(call(&t, "status", fire.clone())["expiring-window-days"], 30);
    // Thirty days before: expiring.
    assert_eq!(
        statuses(&t, json!({"course": "FIRE", "as-of": "2026-03-31"}))[0].2,
        "expiring"
    );
    assert_eq!(
        statuses(&t, json!({"course": "FIRE", "as-of": "2026-03-30"}))[0].2,
        "valid"
    );

    // Daily reminders with an interval of 1 day; null restores the default window.
    let out = call(
        &t,
        "configure",
        json!({"expiring-window-days": null, "reminder-interval-days": 1}),
    );
    assert_eq!(
        out,
        json!({"expiring-window-days": 90, "reminder-interval-days": 1})
    );
    assert_eq!(
        call(&t, "send-reminders", json!({}))["sent"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        call(&t, "send-reminders", json!({}))["sent"],
        json!([]),
        "not twice on one day"
    );
    clock.advance(Duration::from_secs(86_400));
    let sent = call(&t, "send-reminders", json!({}))["sent"].clone();
    assert_eq!(sent.as_array().unwrap().len(), 1);
    assert_eq!(sent[0]["topic"], "training.expiring");
    assert_eq!(sent[0]["as-of"], "2026-03-03");
    assert_eq!(reminders(&t).0.len(), 2);
}

#[test]
fn reports_count_per_employee_course_and_department() {
    let (_clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    for (id, name, dept, role) in [
        ("E2", "Grace Hopper", "Finance", "clerk"),
        ("E3", "Alan Turing", "Finance", "accountant"),
        ("E4", "Hedy Lamarr", "Sales", "accountant"),
    ] {
        call(
            &t,
            "set-employee",
            json!({"id": id, "name": name, "department": dept, "job-role": role}),
        );
    }
    // E1: AML valid, FIRE expiring. E2: FIRE expired. E3: AML failed (assigned),
    // FIRE valid. E4: AML valid.
    let csv = "employee,course,date,score,certificate\n\
               E1,AML,2026-01-10,90,A-1\n\
               E1,FIRE,2025-04-15,80,F-1\n\
               E2,FIRE,2025-01-15,99,F-2\n\
               E3,AML,2026-02-01,50,\n\
               E3,FIRE,2026-02-01,70,F-3\n\
               E4,AML,2026-02-20,85,A-2\n";
    let out = call(&t, "import-completions", json!({"csv": csv}));
    assert_eq!(
        out,
        json!({"imported": 6, "passed": 5, "failed": 1, "first-id": "c-000001", "last-id": "c-000006"})
    );

    let report = call(&t, "report", json!({"by": "department"}));
    assert_eq!(report["as-of"], "2026-03-02");
    assert_eq!(
        report["groups"],
        json!([
            {"key": "Finance", "name": "Finance", "required": 5, "valid": 2, "expiring": 1, "expired": 1,
             "overdue": 0, "assigned": 1, "compliance-percent": 60.0},
            {"key": "Sales", "name": "Sales", "required": 1, "valid": 1, "expiring": 0, "expired": 0,
             "overdue": 0, "assigned": 0, "compliance-percent": 100.0},
        ])
    );
    assert_eq!(
        report["total"],
        json!({"required": 6, "valid": 3, "expiring": 1, "expired": 1, "overdue": 0, "assigned": 1,
               "compliance-percent": 66.7})
    );

    let by_course = call(&t, "report", json!({"by": "course"}));
    let summary: Vec<_> = by_course["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap(),
                g["name"].as_str().unwrap(),
                g["required"].as_u64().unwrap(),
                g["compliance-percent"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("AML", "Anti money laundering", 3, 66.7),
            ("FIRE", "Fire safety", 3, 66.7)
        ]
    );

    let by_employee = call(
        &t,
        "report",
        json!({"by": "employee", "department": "Finance"}),
    );
    let summary: Vec<_> = by_employee["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["compliance-percent"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("E1", json!(100.0)),
            ("E2", json!(0.0)),
            ("E3", json!(50.0))
        ]
    );
    // Nothing required: no percentage rather than a made-up one.
    let none = call(&t, "report", json!({"by": "course", "department": "Legal"}));
    assert_eq!(none["groups"], json!([]));
    assert_eq!(none["total"]["compliance-percent"], Value::Null);
}

#[test]
fn import_is_all_or_nothing_with_line_numbers_and_fields() {
    let (_clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    let csv = "employee,course,date,score,certificate\n\
               E1,AML,2026-01-10,90,A-1\n\
               E9,AML,2026-01-10,90,\n\
               E1,NOPE,2026-01-10,90,\n\
               E1,FIRE,2026-13-01,90,\n\
               E1,FIRE,2026-01-10,101,\n\
               E1,FIRE,2026-01-10\n\
               E1,FIRE,2027-01-10,90,\n";
    // Form errors first: every malformed row, by line and field.
    let msg = fails(
        &t,
        "import-completions",
        json!({"csv": csv}),
        400,
        &[
            "nothing was imported",
            "line 5, field date: \"2026-13-01\" is not a valid calendar date",
            "line 6, field score: \"101\" is not a whole number from 0 to 100",
            "line 7: 3 fields where the header has 5",
        ],
    );
    assert!(!msg.contains("line 2"), "{msg}");
    // Then the records: unknown employees and courses, dates in the future.
    let csv: String = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| ![4, 5, 6].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    fails(
        &t,
        "import-completions",
        json!({"csv": csv}),
        400,
        &[
            "line 3, field employee: no employee E9; add them with set-employee first",
            "line 4, field course: no course NOPE; create it with set-course first",
            "line 5, field date: 2027-01-10 is after today (2026-03-02)",
        ],
    );
    // A broken quote and a wrong header.
    fails(
        &t,
        "import-completions",
        json!({"csv": "employee,course,date,score,certificate\nE1,AML,2026-01-10,90,\"A-1\n"}),
        400,
        &["line 2: a quoted field is not closed"],
    );
    fails(
        &t,
        "import-completions",
        json!({"csv": "employee;course;date;score;certificate\nE1;AML;2026-01-10;90;\n"}),
        400,
        &[
            "line 1: unknown column \"employee;course;date;score;certificate\"",
            "the header lacks the column employee",
        ],
    );
    assert!(
        call(&t, "list-completions", json!({}))["completions"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was written"
    );

    // Quoted fields, CRLF line ends and any column order.
    let csv = "score,certificate,employee,course,date\r\n88,\"CERT \"\"A\"\", 2026\",E1,AML,2026-02-01\r\n";
    assert_eq!(
        call(&t, "import-completions", json!({"csv": csv}))["imported"],
        1
    );
    let c = &call(&t, "list-completions", json!({}))["completions"][0];
    assert_eq!(c["certificate"], "CERT \"A\", 2026");
    assert_eq!(c["source"], "import");
}

#[test]
fn bad_input_is_refused_with_what_to_fix() {
    let (_clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    let record = |employee: &str, course: &str, score: i64| json!({"employee": employee, "course": course, "date": "2026-03-01", "score": score});
    fails(
        &t,
        "record-completion",
        record("E9", "AML", 90),
        404,
        &["no employee E9; add them with set-employee"],
    );
    fails(
        &t,
        "record-completion",
        record("E1", "NOPE", 90),
        404,
        &["no course NOPE; create it with set-course"],
    );
    fails(
        &t,
        "record-completion",
        record("E1", "AML", 101),
        400,
        &["/score", "101 is greater than the maximum of 100"],
    );
    fails(
        &t,
        "record-completion",
        record("E1", "AML", -1),
        400,
        &["/score", "-1 is less than the minimum of 0"],
    );
    fails(
        &t,
        "record-completion",
        json!({"employee": "E1", "course": "AML", "date": "2026-02-30", "score": 90}),
        400,
        &["\"2026-02-30\" is not a valid calendar date"],
    );
    fails(
        &t,
        "set-course",
        json!({"code": "BAD CODE", "title": "x", "pass-mark": 50}),
        400,
        &["/code"],
    );
    fails(
        &t,
        "set-course",
        json!({"code": "X", "title": "  ", "pass-mark": 50}),
        400,
        &["title must not be blank"],
    );
    fails(
        &t,
        "set-employee",
        json!({"id": "E5", "name": "A", "department": "B", "job-role": "C",
               "start-date": "2026-03-01", "end-date": "2026-02-01"}),
        400,
        &["end-date 2026-02-01 is before start-date 2026-03-01"],
    );
    fails(
        &t,
        "assign",
        json!({"employee": "E1", "course": "NOPE"}),
        404,
        &["no course NOPE"],
    );
    fails(
        &t,
        "configure",
        json!({"expiring-window-days": -5}),
        400,
        &["/expiring-window-days"],
    );
    assert!(
        call(&t, "list-completions", json!({}))["completions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A payroll event this plugin cannot read fails its delivery (retried, then a
    // dead letter an admin can see) and changes nothing.
    t.call(
        "acme",
        "probe",
        "emit",
        json!({"topic": "payroll.employee-changed", "payload": {"id": "E7"}}),
    )
    .unwrap();
    t.host.run_due().unwrap();
    let views = t
        .host
        .event_views(&EventFilter {
            tenant: Some("acme".into()),
            topic: Some("payroll.employee-changed".into()),
            limit: 1,
        })
        .unwrap();
    let delivery = &views[0].deliveries[0];
    assert_eq!(delivery.subscriber, "training");
    assert!(
        delivery
            .last_error
            .as_deref()
            .unwrap()
            .contains("a payroll.employee-changed event that this plugin cannot read"),
        "{delivery:?}"
    );
    assert_eq!(
        call(&t, "list-employees", json!({"include-inactive": true}))["employees"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn permissions_separate_reading_recording_and_administration() {
    let (_clock, t) = host();
    courses(&t);
    payroll_sends(&t, ada());
    let reader = user("rita", &["training.read"]);
    let recorder = user("rob", &["training.read", "training.record"]);
    let as_user = |who, op: &str, input: Value| t.call_as("acme", "training", op, input, who);
    as_user(&reader, "status", json!({})).unwrap();
    as_user(&reader, "report", json!({"by": "course"})).unwrap();
    let completion = json!({"employee": "E1", "course": "AML", "date": "2026-03-01", "score": 90});
    let err = as_user(&reader, "record-completion", completion.clone()).unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    assert!(err.to_string().contains("training.record"), "{err}");
    let out = as_user(&recorder, "record-completion", completion).unwrap();
    assert_eq!(out["completion"]["recorded-by"], "rob");
    let err = as_user(
        &recorder,
        "set-course",
        json!({"code": "X", "title": "X", "pass-mark": 1}),
    )
    .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    assert!(err.to_string().contains("training.admin"), "{err}");
}

#[test]
fn the_cli_imports_a_file_and_reports_bad_rows_with_exit_codes() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme", "--time-zone", "Europe/London"])
        .ok();
    cli.install_unsigned("training").ok();
    cli.run(&["plugin", "enable", "training", "--tenant", "acme"])
        .ok();
    let run = |op: &str, input: &str| {
        cli.run(&["call", "--tenant", "acme", "training", op, "--input", input])
    };
    run(
        "set-course",
        r#"{"code": "FIRE", "title": "Fire safety", "pass-mark": 70, "mandatory-departments": ["Finance"]}"#,
    )
    .ok();
    run(
        "set-employee",
        r#"{"id": "E1", "name": "Ada Lovelace", "department": "Finance", "job-role": "accountant"}"#,
    )
    .ok();

    // A file from a learning system, piped in as the operation's input.
    let bad = json!({"csv": "employee,course,date,score,certificate\nE1,FIRE,2020-01-05,95,F-1\nE1,FIRE,2020-01-06,abc,\n"});
    cli.run_with_stdin(
        &["call", "--tenant", "acme", "training", "import-completions"],
        &bad.to_string(),
    )
    .fails(
        2,
        &[
            "plugin training 0.1.1, operation 'import-completions'",
            "nothing was imported: line 3, field score: \"abc\" is not a whole number from 0 to 100",
        ],
    );
    run(
        "record-completion",
        r#"{"employee": "E9", "course": "FIRE", "date": "2020-01-05", "score": 90}"#,
    )
    .fails(3, &["no employee E9"]);
    run(
        "record-completion",
        r#"{"employee": "E1", "course": "FIRE", "date": "2020-01-05", "score": 250}"#,
    )
    .fails(2, &["/score: 250 is greater than the maximum of 100"]);
    assert_eq!(
        run("list-completions", "{}").json(),
        json!({"completions": []})
    );

    let good =
        json!({"csv": "employee,course,date,score,certificate\nE1,FIRE,2020-01-05,95,F-1\n"});
    let out = cli
        .run_with_stdin(
            &["call", "--tenant", "acme", "training", "import-completions"],
            &good.to_string(),
        )
        .json();
    assert_eq!(out["imported"], 1);
    let status = run("status", r#"{"employee": "E1"}"#).json();
    assert_eq!(status["rows"][0]["status"], "valid");
    // The CLI runs on the real clock: a course without validity never expires.
    assert_eq!(status["rows"][0]["expiry-date"], Value::Null);
    assert_eq!(status["rows"][0]["last-completed"], "2020-01-05");
}

#[test]
fn status_reads_page_by_page_and_filters_by_status() {
    let (_clock, t) = host();
    courses(&t);
    for n in 1..=5 {
        call(
            &t,
            "set-employee",
            json!({"id": format!("E{n}"), "name": format!("Employee {n}"), "department": "Finance",
                   "job-role": "accountant", "start-date": "2025-01-06"}),
        );
    }
    call(
        &t,
        "record-completion",
        json!({"employee": "E3", "course": "AML", "date": "2026-02-20", "score": 95}),
    );
    let all = statuses(&t, json!({}));
    assert_eq!(all.len(), 10, "{all:?}");

    // Three rows a page: four pages, the same rows in the same order.
    let mut paged = Vec::new();
    let mut input = json!({"limit": 3});
    let mut pages = 0;
    loop {
        let page = call(&t, "status", input.clone());
        pages += 1;
        for r in page["rows"].as_array().unwrap() {
            paged.push((
                r["employee"].as_str().unwrap().to_owned(),
                r["course"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next-cursor"].as_str() {
            Some(cursor) => input["cursor"] = json!(cursor),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(paged, all);
    // A page that ends exactly at the last row says so.
    let last = call(&t, "status", json!({"limit": 10}));
    assert_eq!(last["next-cursor"], Value::Null);

    let valid = statuses(&t, json!({"status": ["valid", "expiring"]}));
    assert_eq!(valid, triples(&[("E3", "AML", "valid")]));
    let open = statuses(&t, json!({"status": ["assigned"], "course": "AML"}));
    assert_eq!(open.len(), 4, "{open:?}");

    fails(&t, "status", json!({"limit": 0}), 400, &["limit"]);
    fails(&t, "status", json!({"limit": 5001}), 400, &["limit"]);
    fails(
        &t,
        "status",
        json!({"cursor": "nonsense"}),
        400,
        &["cursor"],
    );
    fails(&t, "status", json!({"status": ["lost"]}), 400, &["status"]);
}
