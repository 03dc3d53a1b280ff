//! A dry run of a pay-run approval (issue 17, "dry run of any call"): the approver
//! sees the ledger entry the approval would post, the event it would emit and the
//! data it would change, and nothing of it is kept; the real approval then posts
//! exactly the entry that was previewed.

use serde_json::json;

use super::{call, clerk, hire, host};

#[test]
fn a_dry_run_of_an_approval_shows_the_entry_it_would_post_and_keeps_nothing() {
    let t = host();
    let (alice, bob) = (clerk("alice"), clerk("bob"));
    call(&t, &alice, "setup-ledger", json!({}));
    hire(&t, &alice);
    let run = call(
        &t,
        &alice,
        "create-run",
        json!({"frequency": "monthly", "period-start": "2026-03-01", "period-end": "2026-03-31",
               "pay-date": "2026-03-31"}),
    );
    let id = run["id"].as_str().unwrap();
    let input = json!({"id": id}).to_string();

    let preview = t
        .host
        .dry_run("acme", "payroll", "approve-run", &input, &bob)
        .unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.output["status"], "posted", "{:?}", preview.output);
    let effects = &preview.effects;
    // The one nested call: the ledger entry, with its balanced postings and the id
    // the ledger gave it.
    assert_eq!(effects.calls.len(), 1, "{effects:?}");
    let post = &effects.calls[0];
    assert_eq!(
        (
            post.depth,
            post.caller.as_str(),
            post.plugin.as_str(),
            post.operation.as_str()
        ),
        (1, "payroll", "ledger", "post-entry")
    );
    assert!(post.error.is_none(), "{post:?}");
    let postings = post.input["postings"].as_array().unwrap();
    assert!(!postings.is_empty());
    let entry_id = post.output.as_ref().unwrap()["id"].clone();
    assert_eq!(preview.output["ledger-entry"], entry_id);
    // The events the posting and the approval emit, and the data of both plugins
    // they change.
    let topics: Vec<(&str, &str)> = effects
        .events
        .iter()
        .map(|e| (e.plugin.as_str(), e.topic.as_str()))
        .collect();
    assert_eq!(
        topics,
        vec![
            ("ledger", "ledger.entry-posted"),
            ("payroll", "payroll.run-approved")
        ],
        "{effects:?}"
    );
    assert_eq!(effects.events[1].payload["run"], id);
    assert_eq!(effects.events[1].payload["ledger-entry"], entry_id);
    let writers: Vec<&str> = effects.writes.iter().map(|w| w.plugin.as_str()).collect();
    assert!(
        writers.contains(&"payroll") && writers.contains(&"ledger"),
        "{writers:?}"
    );
    assert!(effects.runs.is_empty() && effects.cancelled_runs.is_empty());

    // Nothing was kept: the run is a draft, the ledger has no such entry, no event.
    assert_eq!(
        call(&t, &bob, "get-run", json!({"id": id}))["status"],
        "draft"
    );
    let missing = t
        .call("acme", "ledger", "get-entry", json!({"id": entry_id}))
        .expect_err("the previewed entry must not exist");
    assert_eq!(missing.http_status(), 404, "{missing}");
    let events = t
        .host
        .events(&backoffice_host::store::EventFilter {
            tenant: Some("acme".into()),
            topic: Some("payroll.run-approved".into()),
            limit: 100,
        })
        .unwrap();
    assert!(events.is_empty());

    // The approval itself posts what was previewed.
    let posted = call(&t, &bob, "approve-run", json!({"id": id}));
    assert_eq!(posted["ledger-entry"], entry_id);
    let entry = t
        .call("acme", "ledger", "get-entry", json!({"id": entry_id}))
        .unwrap();
    let amounts = |list: &[serde_json::Value]| -> Vec<(String, String, i64)> {
        let mut v: Vec<_> = list
            .iter()
            .map(|p| {
                (
                    p["account"].as_str().unwrap().to_string(),
                    p["currency"].as_str().unwrap().to_string(),
                    p["amount"].as_i64().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        amounts(entry["postings"].as_array().unwrap()),
        amounts(postings)
    );

    // A dry run that the plugin refuses fails as the call would: a run already posted.
    let again = t
        .host
        .dry_run("acme", "payroll", "approve-run", &input, &bob)
        .expect_err("a posted run cannot be approved again");
    assert_eq!(again.http_status(), 409, "{again}");
}
