//! Compliance end to end through the real host with every bundled plugin enabled:
//! hire employees (payroll), assign training, run and approve payroll, post ledger
//! entries, let time pass with the test clock, and check exactly which findings and
//! reminders appear; a third party's check plugin contributes a check that shows up
//! in the report. Plus the bad input the issue lists for compliance.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use backoffice_host::auth::Principal;
use backoffice_host::clock::TestClock;
use backoffice_host::store::EventFilter;
use backoffice_tests::{TestHost, user};
use serde_json::{Value, json};

const PLUGINS: [(&str, &str); 8] = [
    ("ledger", "ledger"),
    ("payroll-us", "payroll_us"),
    ("payroll-gb", "payroll_gb"),
    ("payroll-de", "payroll_de"),
    ("payroll", "payroll"),
    ("training", "training"),
    ("compliance", "compliance"),
    ("vendor-checks", "vendor_checks"),
];

fn setup() -> (Arc<TestClock>, TestHost) {
    // Monday 5 January 2026, 09:00 in London.
    let clock = Arc::new(TestClock::at_rfc3339("2026-01-05T09:00:00Z"));
    let t = TestHost::with_config(|c| {
        c.clock = clock.clone();
        c.limits.call_deadline = Duration::from_secs(10);
    });
    for (_, file) in PLUGINS {
        t.install(file);
    }
    t.host
        .create_tenant("acme", None, Some("Europe/London"))
        .unwrap();
    for (id, _) in PLUGINS {
        t.host.enable(id, "acme").unwrap();
    }
    (clock, t)
}

fn person(name: &str) -> Principal {
    user(
        name,
        &["payroll.*", "ledger.*", "training.*", "compliance.*"],
    )
}

fn call(t: &TestHost, who: &Principal, plugin: &str, op: &str, input: Value) -> Value {
    t.call_as("acme", plugin, op, input, who)
        .unwrap_or_else(|e| panic!("{plugin}.{op} failed: {e}"))
}

/// (check, key, status) of every finding.
fn findings(t: &TestHost, who: &Principal) -> BTreeSet<(String, String, String)> {
    call(t, who, "compliance", "list-findings", json!({}))["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

fn reminders(t: &TestHost, topic: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = t
        .host
        .events(&EventFilter {
            tenant: Some("acme".into()),
            topic: Some(topic.into()),
            limit: 1000,
        })
        .unwrap()
        .iter()
        .map(|e| {
            let p: Value = serde_json::from_str(&e.payload).unwrap();
            (
                p["employee"].as_str().unwrap().to_string(),
                p["course"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn findings_and_reminders_follow_what_happens() {
    let (clock, t) = setup();
    let (alice, bob, carol, dave) = (
        person("alice"),
        person("bob"),
        person("carol"),
        person("dave"),
    );
    call(
        &t,
        &alice,
        "compliance",
        "configure",
        json!({"approval-thresholds": {"GBP": 1_000_000}}),
    );
    call(&t, &alice, "payroll", "setup-ledger", json!({}));
    call(
        &t,
        &alice,
        "ledger",
        "create-account",
        json!({"name": "expenses:rent", "type": "expense"}),
    );
    call(
        &t,
        &alice,
        "ledger",
        "create-account",
        json!({"name": "assets:bank", "type": "asset"}),
    );
    // Training: anti-money-laundering for accountants, yearly, due 30 days after
    // assignment.
    call(
        &t,
        &alice,
        "training",
        "set-course",
        json!({"code": "AML", "title": "Anti-money laundering", "validity-months": 12,
               "pass-mark": 70, "mandatory-roles": ["accountant"], "due-days": 30}),
    );
    // Hire: two accountants and an hourly clerk paid below the National Living Wage.
    let gb = json!({"tax-code": "1257L", "ni-category": "A"});
    for (id, name, role, pay) in [
        (
            "GB1",
            "Ada Lovelace",
            "accountant",
            json!({"salary": 4_800_000}),
        ),
        (
            "GB3",
            "Mary Somerville",
            "accountant",
            json!({"salary": 4_200_000}),
        ),
        (
            "GB2",
            "Charles Babbage",
            "clerk",
            json!({"hourly-rate": 1_200}),
        ),
    ] {
        let mut input = json!({"id": id, "name": name, "country": "GB", "frequency": "monthly",
                               "department": "Finance", "job-role": role,
                               "start-date": "2025-12-01", "profile": gb});
        input
            .as_object_mut()
            .unwrap()
            .extend(pay.as_object().unwrap().clone());
        call(&t, &alice, "payroll", "set-employee", input);
    }
    t.host.run_due().unwrap();
    // The roster reached training through payroll.employee-changed.
    let roster = call(&t, &alice, "training", "list-employees", json!({}));
    assert_eq!(roster["employees"].as_array().unwrap().len(), 3, "{roster}");
    // Ada did the course last March: valid until March, so expiring soon.
    call(
        &t,
        &alice,
        "training",
        "record-completion",
        json!({"employee": "GB1", "course": "AML", "date": "2025-03-01", "score": 88,
               "certificate": "AML-2025-0042"}),
    );

    // December payroll: created by alice, approved by bob.
    let run = call(
        &t,
        &alice,
        "payroll",
        "create-run",
        json!({"frequency": "monthly", "period-start": "2025-12-01", "period-end": "2025-12-31",
               "pay-date": "2026-01-05", "hours": {"GB2": "160"}}),
    );
    call(&t, &bob, "payroll", "approve-run", json!({"id": run["id"]}));
    // Carol pays the annual rent: above the threshold, in round thousands.
    let rent = call(
        &t,
        &carol,
        "ledger",
        "post-entry",
        json!({"date": "2026-01-05", "description": "Annual rent",
               "postings": [{"account": "expenses:rent", "amount": 2_000_000, "currency": "GBP"},
                            {"account": "assets:bank", "amount": -2_000_000, "currency": "GBP"}]}),
    );
    let rent_id = rent["id"].as_str().unwrap().to_string();
    t.host.run_due().unwrap();
    let entry_key = format!("ledger-entry:{rent_id}");
    assert_eq!(
        findings(&t, &alice),
        set(&[
            ("minimum-wage", "employee:GB2", "open"),
            ("approval-threshold", &entry_key, "open"),
            (
                "vendor-checks:round-sums",
                &format!("entry:{rent_id}"),
                "open"
            ),
        ])
    );

    // Carol approves her own entry: segregation of duties. Dave's approval then
    // clears the threshold finding; the segregation finding stays.
    call(
        &t,
        &carol,
        "compliance",
        "approve-entry",
        json!({"entry": rent_id}),
    );
    call(
        &t,
        &dave,
        "compliance",
        "approve-entry",
        json!({"entry": rent_id}),
    );
    let now = findings(&t, &alice);
    assert!(now.contains(&(
        "approval-threshold".into(),
        entry_key.clone(),
        "resolved".into()
    )));
    assert!(now.contains(&(
        "segregation-of-duties".into(),
        entry_key.clone(),
        "open".into()
    )));

    // Five weeks later: Mary's course is overdue, Ada's expires within 90 days. The
    // daily reminders and the daily scan run once for the missed days.
    clock.advance(Duration::from_secs(35 * 86_400));
    t.host.run_due().unwrap();
    assert_eq!(
        reminders(&t, "training.overdue"),
        [("GB3".into(), "AML".into())]
    );
    assert_eq!(
        reminders(&t, "training.expiring"),
        [("GB1".into(), "AML".into())]
    );
    assert_eq!(
        findings(&t, &alice),
        set(&[
            ("minimum-wage", "employee:GB2", "open"),
            ("approval-threshold", &entry_key, "resolved"),
            ("segregation-of-duties", &entry_key, "open"),
            (
                "vendor-checks:round-sums",
                &format!("entry:{rent_id}"),
                "open"
            ),
            ("training", "training:GB3:AML", "open"),
        ])
    );
    // The vendor's check is listed beside the built-in ones.
    let checks = call(&t, &alice, "compliance", "list-checks", json!({}));
    assert!(
        checks["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "vendor-checks:round-sums" && c["source"] == "vendor-checks"),
        "{checks}"
    );

    // Seen again by a full scan, nothing is duplicated.
    let before = call(&t, &alice, "compliance", "list-findings", json!({}))["findings"]
        .as_array()
        .unwrap()
        .len();
    call(&t, &alice, "compliance", "run-scan", json!({}));
    let after = call(&t, &alice, "compliance", "list-findings", json!({}));
    assert_eq!(after["findings"].as_array().unwrap().len(), before);
    let wage = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "minimum-wage")
        .unwrap()
        .clone();
    assert!(wage["occurrences"].as_u64().unwrap() >= 2, "{wage}");
    assert_eq!(wage["evidence"]["minimum"], 1221);

    // Acknowledge needs a reason; with one, the finding is acknowledged.
    let err = t
        .call_as(
            "acme",
            "compliance",
            "acknowledge",
            json!({"id": wage["id"]}),
            &alice,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 400);
    assert!(err.to_string().contains("needs a reason"), "{err}");
    let err = t
        .call_as(
            "acme",
            "compliance",
            "acknowledge",
            json!({"id": wage["id"], "reason": "   "}),
            &alice,
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 400);
    let acked = call(
        &t,
        &alice,
        "compliance",
        "acknowledge",
        json!({"id": wage["id"], "reason": "apprentice rate agreed with HR; raise due in April"}),
    );
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledged-by"], "alice");

    // Mary completes the course: the next scan resolves her finding.
    call(
        &t,
        &alice,
        "training",
        "record-completion",
        json!({"employee": "GB3", "course": "AML", "date": "2026-02-09", "score": 91}),
    );
    call(&t, &alice, "compliance", "run-scan", json!({}));
    assert!(findings(&t, &alice).contains(&(
        "training".into(),
        "training:GB3:AML".into(),
        "resolved".into()
    )));

    // The report, as CSV, by status and severity.
    let report = call(
        &t,
        &alice,
        "compliance",
        "report",
        json!({"format": "csv", "status": ["open", "acknowledged"]}),
    );
    let csv = report["csv"].as_str().unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("id,check,key,severity,status"));
    assert_eq!(rows.len(), 1 + 3, "{csv}");
    assert!(csv.contains("vendor-checks:round-sums"));
    assert_eq!(report["counts"]["acknowledged"]["high"], 1, "{report}");
    // The books are intact: no ledger-integrity finding.
    assert!(
        !findings(&t, &alice)
            .iter()
            .any(|(check, _, _)| check == "ledger-integrity")
    );
}

#[test]
fn bad_input_is_refused() {
    let (_, t) = setup();
    let alice = person("alice");
    let reader = user("auditor", &["compliance.read"]);
    let fail = |who: &Principal, op: &str, input: Value, status: u16, fragment: &str| {
        let err = t.call_as("acme", "compliance", op, input, who).unwrap_err();
        assert_eq!(err.http_status(), status, "{err}");
        assert!(err.to_string().contains(fragment), "{err}");
    };
    fail(
        &alice,
        "get-finding",
        json!({"id": "f-000999"}),
        404,
        "f-000999 does not exist",
    );
    fail(
        &alice,
        "acknowledge",
        json!({"id": "f-000001"}),
        400,
        "needs a reason",
    );
    fail(
        &alice,
        "approve-entry",
        json!({"entry": "e-000042"}),
        404,
        "e-000042",
    );
    fail(&reader, "run-scan", json!({}), 403, "compliance.manage");
    fail(
        &alice,
        "configure",
        json!({"approval-thresholds": {"GBP": -5}}),
        400,
        "minimum",
    );
}
