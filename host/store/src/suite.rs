//! The storage contract, written against the trait so every backend runs the same
//! suite: `host/src/store/tests.rs` runs it on SQLite, `tests/tests/e2e/postgres.rs` on a
//! throwaway PostgreSQL server. Each case expects an empty database.
#![allow(
    clippy::unwrap_used,
    reason = "a failed storage call fails the suite loudly"
)]

use super::*;

/// One case: it gets an empty database.
pub type Case = fn(&dyn Storage);

/// Every case of the suite, by name.
pub const CASES: &[(&str, Case)] = &[
    (
        "kv_is_scoped_and_transactional",
        kv_is_scoped_and_transactional,
    ),
    (
        "scans_ranges_in_both_directions",
        scans_ranges_in_both_directions,
    ),
    ("registry_rows", registry_rows),
    (
        "outbox_is_transactional_and_sequenced",
        outbox_is_transactional_and_sequenced,
    ),
    ("trust_and_package_versions", trust_and_package_versions),
    (
        "savepoints_undo_or_keep_a_nested_calls_writes",
        savepoints_undo_or_keep_a_nested_calls_writes,
    ),
    (
        "jobs_are_leased_once_and_taken_over_after_expiry",
        jobs_are_leased_once_and_taken_over_after_expiry,
    ),
    (
        "deliveries_run_in_emit_order_per_subscriber",
        deliveries_run_in_emit_order_per_subscriber,
    ),
    ("identity_and_audit_rows", identity_and_audit_rows),
    (
        "the_identity_stamp_moves_on_every_identity_change",
        the_identity_stamp_moves_on_every_identity_change,
    ),
    (
        "the_registry_stamp_moves_on_every_registry_change",
        the_registry_stamp_moves_on_every_registry_change,
    ),
    (
        "login_throttle_rows_are_kept_per_key",
        login_throttle_rows_are_kept_per_key,
    ),
    (
        "deleting_a_tenant_removes_its_rows_only",
        deleting_a_tenant_removes_its_rows_only,
    ),
    (
        "quota_counters_stay_exact_through_every_write_path",
        quota_counters_stay_exact_through_every_write_path,
    ),
    (
        "settings_are_kept_per_tenant_and_plugin",
        settings_are_kept_per_tenant_and_plugin,
    ),
    (
        "webhook_deliveries_fan_out_once_and_keep_their_id",
        webhook_deliveries_fan_out_once_and_keep_their_id,
    ),
    (
        "webhook_claims_keep_each_endpoint_to_its_share",
        webhook_claims_keep_each_endpoint_to_its_share,
    ),
    ("work_depth_counts_what_waits", work_depth_counts_what_waits),
    (
        "notifications_are_leased_recorded_and_retried",
        super::suite_notify::notifications_are_leased_recorded_and_retried,
    ),
    (
        "http_requests_are_leased_recorded_and_retried",
        super::suite_http::http_requests_are_leased_recorded_and_retried,
    ),
];

/// An event of acme's ledger on `topic`, emitted at time 0.
fn ledger_event(topic: &str) -> NewEvent {
    NewEvent {
        tenant: "acme".into(),
        topic: topic.into(),
        payload: "{}".into(),
        plugin: "ledger".into(),
        version: "1.0.0".into(),
        created_at_ms: 0,
    }
}

/// The companies "acme" and "globex": tenant rows come first, as a host creates them.
pub(super) fn given_tenants(storage: &dyn Storage) {
    let mut tx = storage.begin().unwrap();
    for id in ["acme", "globex"] {
        tx.tenant_insert(&Tenant {
            id: id.into(),
            name: id.into(),
            time_zone: "UTC".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        })
        .unwrap();
    }
    tx.commit().unwrap();
}

/// The first dead row of acme's queue of `K`, once no row is pending any more and
/// the attempts of row `id` were `attempts`.
pub(super) fn the_dead_row<K: QueueKind>(
    storage: &dyn Storage,
    id: i64,
    attempts: &[K::Attempt],
) -> K
where
    for<'a> dyn Transaction + 'a: QueueStore<K>,
    K::Attempt: PartialEq + std::fmt::Debug,
{
    let mut tx = storage.begin_read().unwrap();
    let mut list = |state| QueueStore::<K>::queue_list(tx.as_mut(), "acme", Some(state), 10);
    assert!(list("pending").unwrap().is_empty());
    let row = list("dead").unwrap().remove(0);
    let recorded = QueueStore::<K>::queue_attempts(tx.as_mut(), "acme", id).unwrap();
    assert_eq!(recorded, attempts);
    row
}

/// The dead row `id` of acme's queue of `K` is retried by hand at `now_ms`; retried
/// again (it is pending now) it conflicts, and an id of no row (`unknown`) is not
/// retried.
pub(super) fn dead_row_is_retried_by_hand<K: QueueKind>(
    storage: &dyn Storage,
    id: i64,
    unknown: i64,
    now_ms: i64,
) where
    for<'a> dyn Transaction + 'a: QueueStore<K>,
{
    let mut tx = storage.begin_scoped("acme").unwrap();
    let mut retry = |id| QueueStore::<K>::queue_retry(tx.as_mut(), "acme", id, now_ms);
    assert!(retry(id).unwrap());
    assert!(matches!(retry(id), Err(StoreError::Conflict(_))));
    assert!(!retry(unknown).unwrap());
    tx.commit().unwrap();
}

fn scope(tenant: &str, plugin: &str) -> Scope {
    Scope {
        tenant: tenant.into(),
        plugin: plugin.into(),
    }
}

fn keys(page: &ScanPage) -> Vec<&str> {
    page.entries.iter().map(|(k, _)| k.as_str()).collect()
}

pub fn kv_is_scoped_and_transactional(storage: &dyn Storage) {
    given_tenants(storage);
    let a = scope("acme", "notes");
    let b = scope("globex", "notes");
    let c = scope("acme", "other");

    let mut tx = storage.begin().unwrap();
    tx.kv_put(&a, "k", b"acme").unwrap();
    tx.kv_put(&b, "k", b"globex").unwrap();
    assert_eq!(tx.kv_get(&a, "k").unwrap().as_deref(), Some(&b"acme"[..]));
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    assert_eq!(tx.kv_get(&b, "k").unwrap().as_deref(), Some(&b"globex"[..]));
    assert_eq!(
        tx.kv_get(&c, "k").unwrap(),
        None,
        "other plugin sees nothing"
    );
    tx.kv_put(&a, "k", b"changed").unwrap();
    tx.kv_put(&a, "new", b"x").unwrap();
    drop(tx); // rollback

    let mut tx = storage.begin().unwrap();
    assert_eq!(tx.kv_get(&a, "k").unwrap().as_deref(), Some(&b"acme"[..]));
    assert_eq!(tx.kv_get(&a, "new").unwrap(), None);
    assert!(tx.kv_delete(&a, "k").unwrap());
    assert!(!tx.kv_delete(&a, "k").unwrap());
    tx.commit().unwrap();
    let mut tx = storage.begin().unwrap();
    assert_eq!(tx.kv_get(&a, "k").unwrap(), None);
    assert_eq!(tx.kv_get(&b, "k").unwrap().as_deref(), Some(&b"globex"[..]));
}

pub fn scans_ranges_in_both_directions(storage: &dyn Storage) {
    given_tenants(storage);
    let s = scope("acme", "ledger");
    let mut tx = storage.begin().unwrap();
    for d in [
        "2026-01-05",
        "2026-01-10",
        "2026-02-01",
        "2026-02-15",
        "2026-03-01",
    ] {
        tx.kv_put(&s, &format!("bal/{d}"), d.as_bytes()).unwrap();
    }
    tx.kv_put(&s, "other", b"x").unwrap();
    tx.kv_put(&scope("globex", "ledger"), "bal/2026-01-07", b"no")
        .unwrap();

    let all = |reverse, limit, after: Option<&str>| ScanQuery {
        start: Some("bal/".into()),
        end: Some("bal0".into()),
        after: after.map(Into::into),
        reverse,
        limit,
        max_bytes: None,
    };
    let page = tx.kv_scan(&s, &all(false, 10, None)).unwrap();
    assert_eq!(page.entries.len(), 5);
    assert!(!page.more);
    assert_eq!(keys(&page)[0], "bal/2026-01-05");

    // Pages of two, following the continuation.
    let p1 = tx.kv_scan(&s, &all(false, 2, None)).unwrap();
    assert_eq!(keys(&p1), ["bal/2026-01-05", "bal/2026-01-10"]);
    assert!(p1.more);
    let p2 = tx
        .kv_scan(&s, &all(false, 2, Some("bal/2026-01-10")))
        .unwrap();
    assert_eq!(keys(&p2), ["bal/2026-02-01", "bal/2026-02-15"]);
    let p3 = tx
        .kv_scan(&s, &all(false, 2, Some("bal/2026-02-15")))
        .unwrap();
    assert_eq!(keys(&p3), ["bal/2026-03-01"]);
    assert!(!p3.more);

    // "Latest key at or before 2026-02-10" in one reverse scan.
    let latest = tx
        .kv_scan(
            &s,
            &ScanQuery {
                start: Some("bal/".into()),
                end: Some("bal/2026-02-10\u{10FFFF}".into()),
                after: None,
                reverse: true,
                limit: 1,
                max_bytes: None,
            },
        )
        .unwrap();
    assert_eq!(keys(&latest), ["bal/2026-02-01"]);
    let rev = tx
        .kv_scan(&s, &all(true, 2, Some("bal/2026-02-01")))
        .unwrap();
    assert_eq!(keys(&rev), ["bal/2026-01-10", "bal/2026-01-05"]);
    // The byte budget is applied by the database: 11 bytes an entry here.
    let b = scope("acme", "blobs");
    for k in ["a", "b", "c"] {
        tx.kv_put(&b, k, &[7u8; 10]).unwrap();
    }
    let budget = |max_bytes| ScanQuery {
        limit: 10,
        max_bytes: Some(max_bytes),
        ..ScanQuery::default()
    };
    let page = tx.kv_scan(&b, &budget(25)).unwrap();
    assert_eq!((keys(&page), page.more), (vec!["a", "b"], true));
    let page = tx.kv_scan(&b, &budget(5)).unwrap();
    assert_eq!(
        (keys(&page), page.more),
        (vec!["a"], true),
        "the first entry always"
    );
    let page = tx.kv_scan(&b, &budget(33)).unwrap();
    assert_eq!((keys(&page), page.more), (vec!["a", "b", "c"], false));
    drop(tx);
}

pub fn registry_rows(storage: &dyn Storage) {
    let mut tx = storage.begin().unwrap();
    let t = Tenant {
        id: "acme".into(),
        name: "Acme Ltd".into(),
        time_zone: "Europe/London".into(),
        created_at: "2026-11-23T00:00:00Z".into(),
    };
    tx.tenant_insert(&t).unwrap();
    assert!(matches!(tx.tenant_insert(&t), Err(StoreError::Conflict(_))));
    let pkg = PackageRecord {
        id: "notes".into(),
        version: "1.0.0".into(),
        manifest_json: "{}".into(),
        digest: "ab".into(),
        component: vec![0, 97, 115, 109],
        installed_at: "2026-11-23T00:00:00Z".into(),
    };
    tx.package_insert(&pkg).unwrap();
    let dup = tx.package_insert(&pkg).unwrap_err();
    assert!(dup.to_string().contains("already installed"), "{dup}");
    tx.grants_set("notes", &["storage".into(), "events".into()])
        .unwrap();
    tx.enablement_put(&Enablement {
        tenant: "acme".into(),
        plugin: "notes".into(),
        enabled: true,
        data_version: "1.0.0".into(),
        changed_at: "2026-11-23T00:00:00Z".into(),
    })
    .unwrap();
    tx.kv_put(&scope("acme", "notes"), "a", b"1").unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    assert_eq!(tx.tenant_list().unwrap(), vec![t]);
    let current = tx.package_current("notes").unwrap().unwrap();
    assert_eq!(current.digest, "ab");
    assert!(
        current.component.is_empty(),
        "metadata reads skip the bytes"
    );
    assert_eq!(
        tx.package_component("notes", "1.0.0").unwrap(),
        Some(vec![0, 97, 115, 109])
    );
    assert_eq!(tx.package_component("notes", "9.9.9").unwrap(), None);
    assert_eq!(tx.package_list().unwrap().len(), 1);
    assert_eq!(tx.grants_get("notes").unwrap(), ["events", "storage"]);
    assert!(tx.enablement_get("acme", "notes").unwrap().unwrap().enabled);
    assert_eq!(tx.enablement_for_tenant("acme").unwrap().len(), 1);
    assert_eq!(tx.kv_count_plugin("notes").unwrap(), 1);
    tx.package_remove("notes").unwrap();
    assert_eq!(tx.kv_purge_plugin("notes").unwrap(), 1);
    tx.commit().unwrap();
    let mut tx = storage.begin().unwrap();
    assert!(tx.package_current("notes").unwrap().is_none());
    assert!(tx.enablement_for_plugin("notes").unwrap().is_empty());
    assert!(tx.grants_get("notes").unwrap().is_empty());
}

pub fn outbox_is_transactional_and_sequenced(storage: &dyn Storage) {
    given_tenants(storage);
    let event = |tenant: &str, topic: &str| NewEvent {
        tenant: tenant.into(),
        topic: topic.into(),
        payload: "{}".into(),
        plugin: "ledger".into(),
        version: "1.0.0".into(),
        created_at_ms: 1_700_000_000_000,
    };
    let mut tx = storage.begin().unwrap();
    let a1 = tx.event_append(&event("acme", "ledger.posted")).unwrap();
    let g1 = tx.event_append(&event("globex", "ledger.posted")).unwrap();
    let a2 = tx.event_append(&event("acme", "ledger.closed")).unwrap();
    tx.commit().unwrap();
    assert_eq!((a1.seq, g1.seq, a2.seq), (1, 1, 2));
    // Ids are unique and grow within a tenant; across tenants they need not be in
    // emit order (SQLite numbers each tenant's file from its own range).
    assert!(a1.id < a2.id && a1.id != g1.id && a2.id != g1.id);

    let mut tx = storage.begin().unwrap();
    tx.event_append(&event("acme", "ledger.posted")).unwrap();
    drop(tx); // rollback: the event never existed

    let mut tx = storage.begin().unwrap();
    let all = tx
        .event_list(&EventFilter {
            tenant: Some("acme".into()),
            topic: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(
        all,
        vec![a2.clone(), a1.clone()],
        "newest first, rollback gone"
    );
    let posted = tx
        .event_list(&EventFilter {
            tenant: None,
            topic: Some("ledger.posted".into()),
            limit: 10,
        })
        .unwrap();
    assert_eq!(posted, vec![g1, a1]);
    let next = tx.event_append(&event("acme", "ledger.posted")).unwrap();
    assert_eq!(next.seq, 3, "a rolled-back number is reused, never skipped");
}

pub fn trust_and_package_versions(storage: &dyn Storage) {
    let key = |name: &str, hex: &str| TrustedKey {
        name: name.into(),
        public_key: hex.into(),
        added_at: "2026-11-23T00:00:00Z".into(),
    };
    let mut tx = storage.begin().unwrap();
    tx.trust_insert(&key("acme", "aa")).unwrap();
    tx.trust_insert(&key("acme", "bb")).unwrap();
    tx.trust_insert(&key("globex", "cc")).unwrap();
    assert!(matches!(
        tx.trust_insert(&key("other", "aa")),
        Err(StoreError::Conflict(_))
    ));
    let pkg = |version: &str| PackageRecord {
        id: "notes".into(),
        version: version.into(),
        manifest_json: "{}".into(),
        digest: version.into(),
        component: vec![1],
        installed_at: "2026-11-23T00:00:00Z".into(),
    };
    tx.package_insert(&pkg("1.0.0")).unwrap();
    tx.package_signature_set("notes", "1.0.0", "{\"status\":\"unsigned\"}")
        .unwrap();
    tx.package_insert(&pkg("1.1.0")).unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    assert_eq!(tx.trust_list().unwrap().len(), 3);
    assert_eq!(tx.trust_remove("acme").unwrap(), 2);
    assert_eq!(tx.trust_list().unwrap(), vec![key("globex", "cc")]);
    assert_eq!(
        tx.package_current("notes").unwrap().unwrap().version,
        "1.1.0"
    );
    let head = tx.package_head("notes").unwrap().unwrap();
    assert_eq!(
        (head.version.as_str(), head.digest.as_str()),
        ("1.1.0", "1.1.0")
    );
    assert!(head.manifest_json.is_empty() && head.component.is_empty());
    assert_eq!(
        tx.package_manifest("notes", "1.0.0").unwrap().as_deref(),
        Some("{}")
    );
    assert!(tx.package_head("nothing").unwrap().is_none());
    assert_eq!(tx.package_manifest("notes", "9.9.9").unwrap(), None);
    let mut versions: Vec<String> = tx
        .package_versions("notes")
        .unwrap()
        .into_iter()
        .map(|p| p.version)
        .collect();
    versions.sort();
    assert_eq!(versions, ["1.0.0", "1.1.0"]);
    assert!(tx.package_set_current("notes", "1.0.0").unwrap());
    assert!(!tx.package_set_current("notes", "9.0.0").unwrap());
    tx.package_delete_version("notes", "1.1.0").unwrap();
    assert_eq!(
        tx.package_current("notes").unwrap().unwrap().version,
        "1.0.0"
    );
    assert_eq!(tx.package_versions("notes").unwrap().len(), 1);
    assert_eq!(
        tx.package_signature_get("notes", "1.0.0")
            .unwrap()
            .as_deref(),
        Some("{\"status\":\"unsigned\"}")
    );
    drop(tx);
    // Rolled back: both versions and the acme keys are still there.
    let mut tx = storage.begin().unwrap();
    assert_eq!(tx.package_versions("notes").unwrap().len(), 2);
    assert_eq!(tx.trust_list().unwrap().len(), 3);
    tx.package_remove("notes").unwrap();
    assert_eq!(tx.package_signature_get("notes", "1.0.0").unwrap(), None);
}

pub fn savepoints_undo_or_keep_a_nested_calls_writes(storage: &dyn Storage) {
    given_tenants(storage);
    let a = scope("acme", "caller");
    let b = scope("acme", "callee");
    let mut tx = storage.begin_scoped("acme").unwrap();
    tx.kv_put(&a, "before", b"1").unwrap();
    tx.savepoint("nested_call").unwrap();
    tx.kv_put(&b, "undone", b"2").unwrap();
    tx.rollback_to("nested_call").unwrap();
    tx.savepoint("nested_call").unwrap();
    tx.kv_put(&b, "kept", b"3").unwrap();
    tx.release("nested_call").unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin_read().unwrap();
    assert!(tx.kv_get(&a, "before").unwrap().is_some());
    assert!(tx.kv_get(&b, "undone").unwrap().is_none());
    assert!(tx.kv_get(&b, "kept").unwrap().is_some());
}

pub fn jobs_are_leased_once_and_taken_over_after_expiry(storage: &dyn Storage) {
    given_tenants(storage);
    let mut tx = storage.begin().unwrap();
    let once = tx
        .job_insert_once("acme", "payroll", "close", "{\"m\":1}", 1_000)
        .unwrap();
    tx.job_upsert_cron("acme", "payroll", "nightly", "0 2 * * *", 500)
        .unwrap();
    tx.job_upsert_cron("acme", "payroll", "nightly", "0 3 * * *", 900)
        .unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    let jobs = tx.job_list(&JobFilter::default()).unwrap();
    assert_eq!(
        jobs.len(),
        2,
        "re-arming a cron job keeps one row: {jobs:?}"
    );
    assert!(
        tx.job_claim(&Lease::new(100, 10_000, "a"), 10)
            .unwrap()
            .is_empty(),
        "nothing due yet"
    );
    let claimed = tx.job_claim(&Lease::new(1_000, 5_000, "a"), 10).unwrap();
    tx.commit().unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].0.job, "nightly", "earliest due first");
    assert!(
        claimed
            .iter()
            .all(|(j, _)| j.attempts == 1 && j.lease_owner.as_deref() == Some("a"))
    );

    // Another worker finds nothing while the lease holds, and takes over after.
    let mut tx = storage.begin().unwrap();
    assert!(
        tx.job_claim(&Lease::new(4_999, 9_000, "b"), 10)
            .unwrap()
            .is_empty()
    );
    let taken = tx.job_claim(&Lease::new(5_000, 9_000, "b"), 1).unwrap();
    tx.commit().unwrap();
    assert_eq!(taken.len(), 1, "limit respected");
    let (job, run) = &taken[0];
    assert_eq!((job.attempts, job.lease_owner.as_deref()), (2, Some("b")));

    let mut tx = storage.begin().unwrap();
    let (first, first_run) = &claimed[0];
    assert!(
        !tx.job_finish(
            first.id,
            *first_run,
            "a",
            5,
            &Finish::Done {
                next_ms: Some(86_400_000)
            }
        )
        .unwrap(),
        "the first worker lost its lease"
    );
    assert!(
        tx.job_finish(
            job.id,
            *run,
            "b",
            7,
            &Finish::Done {
                next_ms: Some(86_400_000)
            }
        )
        .unwrap()
    );
    let runs = tx.job_runs(Some(job.id), 10).unwrap();
    assert_eq!(
        runs.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
        ["ok", "abandoned"],
        "newest first: the takeover's run, then the dead worker's"
    );
    // A lease that expired but was not taken over can still be finished by its owner.
    let (close, close_run) = &claimed[1];
    assert_eq!(close.id, once);
    assert!(
        tx.job_finish(once, *close_run, "a", 3, &Finish::Done { next_ms: None })
            .unwrap()
    );
    let later = tx
        .job_insert_once("acme", "payroll", "close", "{}", 50_000)
        .unwrap();
    assert!(tx.job_cancel("acme", "payroll", later).unwrap());
    assert!(
        !tx.job_cancel("acme", "payroll", later).unwrap(),
        "only pending runs"
    );
    assert!(
        !tx.job_cancel("globex", "payroll", once).unwrap(),
        "another tenant's job"
    );
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    let after = tx.job_get(job.id).unwrap().unwrap();
    assert_eq!(
        (after.state.as_str(), after.next_run_ms),
        ("scheduled", 86_400_000)
    );
    assert_eq!(after.lease_owner, None);
}

pub fn deliveries_run_in_emit_order_per_subscriber(storage: &dyn Storage) {
    given_tenants(storage);
    let event = ledger_event;
    let mut tx = storage.begin_scoped("acme").unwrap();
    let e1 = tx.event_append(&event("ledger.posted")).unwrap();
    let e2 = tx.event_append(&event("ledger.posted")).unwrap();
    let e3 = tx.event_append(&event("ledger.closed")).unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    let unfanned = tx.event_unfanned(10).unwrap();
    assert_eq!(unfanned, vec![e1.clone(), e2.clone(), e3.clone()]);
    for e in &unfanned {
        tx.event_fan_out(e, &["reports".into(), "audit".into()], 10)
            .unwrap();
    }
    tx.event_fan_out(&e1, &["reports".into()], 10).unwrap();
    assert!(tx.event_unfanned(10).unwrap().is_empty());
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    let claimed = tx.delivery_claim(&Lease::new(10, 1_000, "a"), 10).unwrap();
    tx.commit().unwrap();
    let got: Vec<(i64, &str)> = claimed
        .iter()
        .map(|(d, e)| (e.id, d.subscriber.as_str()))
        .collect();
    // e2 waits behind e1 for each subscriber; e3 is another topic.
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.iter().all(|(id, _)| *id != e2.id), "{got:?}");

    let mut tx = storage.begin().unwrap();
    assert!(
        tx.delivery_claim(&Lease::new(10, 1_000, "b"), 10)
            .unwrap()
            .is_empty(),
        "all leased"
    );
    for (d, _) in &claimed {
        let finish = if d.subscriber == "audit" && d.event_id == e1.id {
            Finish::Dead {
                error: "boom".into(),
            }
        } else {
            Finish::Done { next_ms: None }
        };
        assert!(tx.delivery_finish(d.id, "a", 20, &finish).unwrap());
    }
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    let next = tx.delivery_claim(&Lease::new(30, 1_000, "b"), 10).unwrap();
    // e1 is done for reports and dead for audit: neither blocks e2 any longer.
    let mut ids: Vec<(i64, String)> = next
        .iter()
        .map(|(d, _)| (d.event_id, d.subscriber.clone()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![(e2.id, "audit".to_string()), (e2.id, "reports".to_string())]
    );
    let dead = tx
        .delivery_list(e1.id)
        .unwrap()
        .into_iter()
        .find(|d| d.subscriber == "audit")
        .unwrap();
    assert_eq!(
        (dead.state.as_str(), dead.last_error.as_deref()),
        ("dead", Some("boom"))
    );
    assert_eq!(tx.delivery_get(dead.id).unwrap().as_ref(), Some(&dead));
    assert!(tx.delivery_retry(dead.id, 40).unwrap());
    assert!(!tx.delivery_retry(dead.id, 40).unwrap(), "only dead ones");
    assert_eq!(tx.delivery_get(dead.id).unwrap().unwrap().state, "pending");
    assert_eq!(tx.delivery_get(i64::MAX).unwrap(), None);
    tx.commit().unwrap();
}

pub fn work_depth_counts_what_waits(storage: &dyn Storage) {
    given_tenants(storage);
    let depth = |now: i64| storage.begin_read().unwrap().work_depth(now).unwrap();
    assert_eq!(depth(0), WorkDepth::default(), "nothing waits yet");

    let mut tx = storage.begin().unwrap();
    let due = tx
        .job_insert_once("acme", "payroll", "close", "{}", 1_000)
        .unwrap();
    tx.job_insert_once("acme", "payroll", "close", "{}", 50_000)
        .unwrap();
    tx.job_insert_once("globex", "payroll", "close", "{}", 500)
        .unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_scoped("acme").unwrap();
    let event = tx.event_append(&ledger_event("ledger.posted")).unwrap();
    tx.commit().unwrap();
    let before = depth(2_000);
    assert_eq!(
        (before.jobs_due, before.events_unfanned),
        (2, 1),
        "two runs are due at 2 s (one per tenant), one is later: {before:?}"
    );
    assert_eq!(depth(100).jobs_due, 0, "{:?}", depth(100));

    // Fanned out to two subscribers: two deliveries wait; one dies.
    let mut tx = storage.begin().unwrap();
    tx.event_fan_out(&event, &["reports".into(), "audit".into()], 10)
        .unwrap();
    tx.commit().unwrap();
    let fanned = depth(2_000);
    assert_eq!(
        (fanned.events_unfanned, fanned.deliveries_pending),
        (0, 2),
        "{fanned:?}"
    );
    let mut tx = storage.begin().unwrap();
    let claimed = tx.delivery_claim(&Lease::new(20, 1_000, "a"), 1).unwrap();
    let (delivery, _) = &claimed[0];
    let dead = Finish::Dead {
        error: "boom".into(),
    };
    assert!(tx.delivery_finish(delivery.id, "a", 30, &dead).unwrap());
    // The due acme run fails for good: a dead letter, no longer due.
    let jobs = tx.job_claim(&Lease::new(2_000, 10_000, "a"), 10).unwrap();
    let (job, run) = jobs.iter().find(|(j, _)| j.id == due).unwrap();
    assert!(tx.job_finish(job.id, *run, "a", 1, &dead).unwrap());
    tx.commit().unwrap();
    let after = depth(2_000);
    assert_eq!(
        (
            after.deliveries_pending,
            after.deliveries_dead,
            after.jobs_due,
            after.jobs_running,
            after.jobs_failed
        ),
        (1, 1, 0, 1, 1),
        "globex's run is leased until 10 s: {after:?}"
    );
    assert_eq!(
        depth(10_000).jobs_due,
        1,
        "a run whose lease ran out is due again"
    );
}

/// User `ada` of acme, with `password_hash`.
fn ada(password_hash: Option<&str>) -> UserRecord {
    UserRecord {
        tenant: "acme".into(),
        username: "ada".into(),
        display_name: "Ada".into(),
        password_hash: password_hash.map(Into::into),
        system_admin: false,
        created_at: "2026-11-23T00:00:00Z".into(),
        disabled_at: None,
    }
}

/// Ada's API token `t1`, never used nor revoked.
fn ada_token() -> TokenRecord {
    TokenRecord {
        id: "t1".into(),
        tenant: "acme".into(),
        username: "ada".into(),
        kind: "api".into(),
        name: "erp".into(),
        hash: "h".into(),
        created_at: "2026-11-23T00:00:00Z".into(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    }
}

pub fn identity_and_audit_rows(storage: &dyn Storage) {
    given_tenants(storage);
    let mut tx = storage.begin().unwrap();
    let user = ada(Some("$argon2id$x"));
    tx.user_insert(&user).unwrap();
    assert!(matches!(
        tx.user_insert(&user),
        Err(StoreError::Conflict(_))
    ));
    tx.role_insert(&RoleRecord {
        tenant: "acme".into(),
        name: "clerk".into(),
        description: "books".into(),
        permissions: vec!["ledger.read".into(), "contacts.*".into()],
    })
    .unwrap();
    assert!(tx.user_role_add("acme", "ada", "clerk").unwrap());
    assert!(!tx.user_role_add("acme", "ada", "clerk").unwrap());
    assert!(tx.role_grant("acme", "clerk", "ledger.post").unwrap());
    assert!(!tx.role_grant("acme", "clerk", "ledger.post").unwrap());
    let (roles, perms) = tx.user_access("acme", "ada").unwrap();
    assert_eq!(roles, ["clerk"]);
    assert_eq!(perms, ["contacts.*", "ledger.post", "ledger.read"]);
    let token = ada_token();
    tx.token_insert(&token).unwrap();
    tx.token_touch("t1", "2026-11-23T01:00:00Z").unwrap();
    assert!(tx.token_revoke("t1", "2026-11-23T02:00:00Z").unwrap());
    assert!(!tx.token_revoke("t1", "2026-11-23T03:00:00Z").unwrap());
    let got = tx.token_get("t1").unwrap().unwrap();
    assert_eq!(got.last_used_at.as_deref(), Some("2026-11-23T01:00:00Z"));
    assert_eq!(got.revoked_at.as_deref(), Some("2026-11-23T02:00:00Z"));
    assert_eq!(tx.user_list("acme").unwrap(), vec![user]);

    assert_eq!(tx.audit_head("acme").unwrap(), None);
    let link = |seq: u64, prev: &str| AuditRecord {
        tenant: "acme".into(),
        seq,
        at: format!("2026-11-23T00:00:0{seq}.000000Z"),
        actor: "user:ada".into(),
        action: "invoke".into(),
        target: "ledger.post".into(),
        outcome: "ok".into(),
        detail: "{}".into(),
        duration_us: Some(12),
        prev_hash: prev.into(),
        hash: format!("h{seq}"),
    };
    let anchor = |seq: u64, keyed_from: u64| AuditAnchor {
        tenant: "acme".into(),
        seq,
        hash: format!("h{seq}"),
        keyed_from,
        mac: format!("m{seq}"),
    };
    assert_eq!(tx.audit_anchor("acme").unwrap(), None);
    assert!(tx.audit_anchor_create(&anchor(0, 1)).unwrap());
    assert!(
        !tx.audit_anchor_create(&anchor(5, 6)).unwrap(),
        "an anchor is created once; appends move it"
    );
    tx.audit_append(&link(1, "0"), &anchor(1, 1)).unwrap();
    tx.audit_append(&link(2, "h1"), &anchor(2, 1)).unwrap();
    assert!(
        tx.audit_append(&link(2, "h1"), &anchor(2, 1)).is_err(),
        "a link number is taken once"
    );
    tx.commit().unwrap();
    let mut tx = storage.begin().unwrap();
    tx.audit_append(&link(3, "h2"), &anchor(3, 1)).unwrap();
    drop(tx);
    let mut tx = storage.begin_read().unwrap();
    assert_eq!(
        tx.audit_anchor("acme").unwrap(),
        Some(anchor(2, 1)),
        "the anchor moves with the committed links only"
    );
    assert_eq!(tx.audit_anchor("globex").unwrap(), None);
    assert_eq!(tx.audit_head("acme").unwrap(), Some((2, "h2".to_string())));
    let links = tx
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            since: None,
            after_seq: Some(1),
            limit: 10,
        })
        .unwrap();
    assert_eq!(links, vec![link(2, "h1")]);
    assert_eq!(tx.audit_chains().unwrap(), ["acme"]);
}

pub fn login_throttle_rows_are_kept_per_key(storage: &dyn Storage) {
    let row = |failures, last_failure_ms| LoginThrottle {
        failures,
        last_failure_ms,
        next_allowed_ms: last_failure_ms + 1000,
    };
    let mut tx = storage.begin().unwrap();
    tx.login_throttle_put("account:acme/ada", &row(1, 100))
        .unwrap();
    tx.login_throttle_put("account:acme/ada", &row(2, 300))
        .unwrap();
    tx.login_throttle_put("client:1.2.3.4", &row(1, 250))
        .unwrap();
    tx.login_throttle_put("client:5.6.7.8", &row(7, 400))
        .unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin().unwrap();
    assert_eq!(
        tx.login_throttle_get("account:acme/ada").unwrap(),
        Some(row(2, 300)),
        "replaced"
    );
    assert_eq!(tx.login_throttle_get("nobody").unwrap(), None);
    tx.login_throttle_clear(Some("account:acme/ada"), 0)
        .unwrap();
    assert_eq!(tx.login_throttle_get("account:acme/ada").unwrap(), None);
    tx.login_throttle_clear(None, 250).unwrap();
    assert_eq!(
        tx.login_throttle_get("client:1.2.3.4").unwrap(),
        None,
        "pruned by age"
    );
    assert_eq!(
        tx.login_throttle_get("client:5.6.7.8").unwrap(),
        Some(row(7, 400))
    );
}

pub fn deleting_a_tenant_removes_its_rows_only(storage: &dyn Storage) {
    given_tenants(storage);
    let mut tx = storage.begin().unwrap();
    for t in ["acme", "globex"] {
        tx.kv_put(&scope(t, "notes"), "k", t.as_bytes()).unwrap();
        tx.job_insert_once(t, "notes", "j", "{}", 1).unwrap();
        tx.user_insert(&UserRecord {
            tenant: t.into(),
            username: "ada".into(),
            display_name: "Ada".into(),
            password_hash: None,
            system_admin: false,
            created_at: "2026-01-01T00:00:00Z".into(),
            disabled_at: None,
        })
        .unwrap();
        tx.enablement_put(&Enablement {
            tenant: t.into(),
            plugin: "notes".into(),
            enabled: true,
            data_version: "1.0.0".into(),
            changed_at: "2026-01-01T00:00:00Z".into(),
        })
        .unwrap();
        tx.audit_anchor_create(&AuditAnchor {
            tenant: t.into(),
            seq: 0,
            hash: "0".into(),
            keyed_from: 1,
            mac: "m".into(),
        })
        .unwrap();
    }
    tx.commit().unwrap();
    let mut tx = storage.begin().unwrap();
    // Plugin data, a job, a user, the audit anchor and an enablement, and the tenant
    // row.
    assert_eq!(tx.tenant_delete("acme").unwrap(), 6);
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    assert!(tx.tenant_get("acme").unwrap().is_none());
    assert!(tx.kv_get(&scope("acme", "notes"), "k").unwrap().is_none());
    assert!(tx.user_get("acme", "ada").unwrap().is_none());
    assert!(tx.enablement_for_tenant("acme").unwrap().is_empty());
    assert_eq!(tx.audit_anchor("acme").unwrap(), None);
    assert!(tx.audit_anchor("globex").unwrap().is_some());
    let jobs = tx.job_list(&JobFilter::default()).unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.tenant.as_str()).collect::<Vec<_>>(),
        ["globex"]
    );
    assert_eq!(
        tx.kv_get(&scope("globex", "notes"), "k")
            .unwrap()
            .as_deref(),
        Some(&b"globex"[..])
    );
    assert!(tx.user_get("globex", "ada").unwrap().is_some());
    drop(tx);
    // The id can be used again, for a company that starts empty.
    let mut tx = storage.begin().unwrap();
    tx.tenant_insert(&Tenant {
        id: "acme".into(),
        name: "Acme again".into(),
        time_zone: "UTC".into(),
        created_at: "2026-02-01T00:00:00Z".into(),
    })
    .unwrap();
    assert!(tx.kv_get(&scope("acme", "notes"), "k").unwrap().is_none());
    tx.commit().unwrap();
}

/// Stored keys and bytes follow every put, overwrite, delete, rolled-back savepoint
/// and purge, per tenant and plugin; day counters add up per day.
pub fn quota_counters_stay_exact_through_every_write_path(storage: &dyn Storage) {
    given_tenants(storage);
    let notes = scope("acme", "notes");
    let usage = |keys, bytes| KvUsage { keys, bytes };
    let mut tx = storage.begin_scoped("acme").unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), usage(0, 0));
    tx.kv_put(&notes, "a", b"xyz").unwrap();
    // Bytes, not characters: "é" is two.
    tx.kv_put(&notes, "é", b"12345").unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), usage(2, 4 + 7));
    tx.kv_put(&notes, "a", b"x").unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), usage(2, 2 + 7));
    tx.savepoint("nested_call").unwrap();
    tx.kv_put(&notes, "undone", b"0123456789").unwrap();
    tx.kv_delete(&notes, "a").unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), usage(2, 16 + 7));
    tx.rollback_to("nested_call").unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), usage(2, 2 + 7));
    assert!(tx.kv_delete(&notes, "é").unwrap());
    assert!(!tx.kv_delete(&notes, "é").unwrap());
    tx.kv_put(&scope("globex", "notes"), "g", b"1").unwrap();
    tx.kv_put(&scope("acme", "other"), "o", b"1").unwrap();
    let day = 20_000;
    let add = |events, runs| DayUsage { events, runs };
    assert_eq!(tx.quota_day_add(&notes, day, add(3, 0)).unwrap(), add(3, 0));
    assert_eq!(tx.quota_day_add(&notes, day, add(1, 2)).unwrap(), add(4, 2));
    assert_eq!(
        tx.quota_day_add(&notes, day + 1, add(1, 0)).unwrap(),
        add(1, 0)
    );
    tx.commit().unwrap();
    // A transaction that rolls back leaves the counters as they were.
    let mut tx = storage.begin_scoped("acme").unwrap();
    tx.kv_put(&notes, "dropped", b"0123456789").unwrap();
    tx.quota_day_add(&notes, day, add(100, 100)).unwrap();
    drop(tx);

    let mut tx = storage.begin_read().unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), usage(1, 2));
    assert_eq!(tx.kv_usage(&scope("globex", "notes")).unwrap(), usage(1, 2));
    assert_eq!(tx.kv_usage(&scope("acme", "other")).unwrap(), usage(1, 2));
    assert_eq!(tx.kv_usage(&scope("acme", "none")).unwrap(), usage(0, 0));
    assert_eq!(tx.quota_day_get(&notes, day).unwrap(), add(4, 2));
    assert_eq!(tx.quota_day_get(&notes, day + 1).unwrap(), add(1, 0));
    assert_eq!(tx.quota_day_get(&notes, day - 1).unwrap(), add(0, 0));
    assert_eq!(
        tx.quota_day_get(&scope("globex", "notes"), day).unwrap(),
        add(0, 0)
    );
    drop(tx);
    let mut tx = storage.begin().unwrap();
    tx.kv_purge_plugin("notes").unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    assert_eq!(tx.kv_usage(&notes).unwrap(), usage(0, 0));
    assert_eq!(tx.kv_usage(&scope("globex", "notes")).unwrap(), usage(0, 0));
    assert_eq!(tx.kv_usage(&scope("acme", "other")).unwrap(), usage(1, 2));
}

/// Setting values are per tenant and plugin, replaced in place, undone with their
/// savepoint, and gone with their tenant.
pub fn settings_are_kept_per_tenant_and_plugin(storage: &dyn Storage) {
    given_tenants(storage);
    let acme = scope("acme", "training");
    let mut tx = storage.begin_scoped("acme").unwrap();
    assert_eq!(tx.setting_get(&acme, "reminder-days").unwrap(), None);
    tx.setting_put(&acme, "reminder-days", "30").unwrap();
    tx.setting_put(&acme, "reminder-days", "45").unwrap();
    tx.setting_put(&acme, "cc", r#"["hr@example.com"]"#)
        .unwrap();
    tx.setting_put(&scope("acme", "ledger"), "reminder-days", "1")
        .unwrap();
    tx.savepoint("call").unwrap();
    tx.setting_put(&acme, "undone", "true").unwrap();
    assert!(tx.setting_delete(&acme, "cc").unwrap());
    tx.rollback_to("call").unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_scoped("globex").unwrap();
    tx.setting_put(&scope("globex", "training"), "reminder-days", "7")
        .unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin_read().unwrap();
    assert_eq!(
        tx.setting_get(&acme, "reminder-days").unwrap().as_deref(),
        Some("45")
    );
    assert_eq!(
        tx.setting_list(&acme).unwrap(),
        vec![
            ("cc".to_string(), r#"["hr@example.com"]"#.to_string()),
            ("reminder-days".to_string(), "45".to_string()),
        ]
    );
    assert_eq!(
        tx.setting_get(&scope("globex", "training"), "reminder-days")
            .unwrap()
            .as_deref(),
        Some("7")
    );
    drop(tx);

    let mut tx = storage.begin_scoped("acme").unwrap();
    assert!(tx.setting_delete(&acme, "cc").unwrap());
    assert!(!tx.setting_delete(&acme, "cc").unwrap());
    tx.commit().unwrap();
    // Purging a removed plugin's data takes its values in every tenant.
    let mut tx = storage.begin().unwrap();
    tx.kv_purge_plugin("ledger").unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    assert!(
        tx.setting_list(&scope("acme", "ledger"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.setting_list(&acme).unwrap().len(), 1);
    drop(tx);
    let mut tx = storage.begin().unwrap();
    tx.tenant_delete("acme").unwrap();
    tx.commit().unwrap();
    let mut tx = storage.begin_read().unwrap();
    assert!(tx.setting_list(&acme).unwrap().is_empty());
    assert_eq!(
        tx.setting_list(&scope("globex", "training")).unwrap().len(),
        1
    );
}

/// Each change to who may do what moves the stamp on, once committed; reads, new
/// users, roles and tokens, sign-in bookkeeping and rolled-back changes do not.
pub fn the_identity_stamp_moves_on_every_identity_change(storage: &dyn Storage) {
    given_tenants(storage);
    let mut tx = storage.begin_for(&["acme"]).unwrap();
    let user = ada(None);
    tx.user_insert(&user).unwrap();
    tx.role_insert(&RoleRecord {
        tenant: "acme".into(),
        name: "clerk".into(),
        description: String::new(),
        permissions: vec!["ledger.read".into()],
    })
    .unwrap();
    tx.token_insert(&ada_token()).unwrap();
    tx.commit().unwrap();

    let stamp = storage.identity_stamp().unwrap();
    let mut tx = storage.begin_scoped("acme").unwrap();
    tx.token_touch("t1", "2026-11-23T01:00:00Z").unwrap();
    tx.commit().unwrap();
    assert_eq!(storage.identity_stamp().unwrap(), stamp, "touching a token");

    type Change = fn(&mut dyn Transaction);
    let changes: [(&str, Change); 7] = [
        ("role_grant", |tx| {
            tx.role_grant("acme", "clerk", "ledger.post").unwrap();
        }),
        ("user_role_add", |tx| {
            tx.user_role_add("acme", "ada", "clerk").unwrap();
        }),
        ("role_revoke", |tx| {
            tx.role_revoke("acme", "clerk", "ledger.post").unwrap();
        }),
        ("user_role_remove", |tx| {
            tx.user_role_remove("acme", "ada", "clerk").unwrap();
        }),
        ("user_update", |tx| {
            let mut user = tx.user_get("acme", "ada").unwrap().unwrap();
            user.disabled_at = Some("2026-11-23T02:00:00Z".into());
            tx.user_update(&user).unwrap();
        }),
        ("token_revoke", |tx| {
            tx.token_revoke("t1", "2026-11-23T03:00:00Z").unwrap();
        }),
        ("tenant_delete", |tx| {
            tx.tenant_delete("acme").unwrap();
        }),
    ];
    let mut last = stamp;
    for (name, change) in changes {
        // Rolled back: the stamp stays.
        let mut tx = storage.begin_for(&["acme"]).unwrap();
        change(tx.as_mut());
        drop(tx);
        assert_eq!(
            storage.identity_stamp().unwrap(),
            last,
            "{name} rolled back"
        );
        let mut tx = storage.begin_for(&["acme"]).unwrap();
        change(tx.as_mut());
        tx.commit().unwrap();
        let now = storage.identity_stamp().unwrap();
        assert!(now > last, "{name} did not move the identity stamp");
        last = now;
    }
}

/// Each committed change to what a call's resolution reads (tenants, package versions,
/// the current version, grants, enablements) moves the registry stamp on; reads,
/// other writes and rolled-back changes do not.
pub fn the_registry_stamp_moves_on_every_registry_change(storage: &dyn Storage) {
    let stamp = storage.registry_stamp().unwrap();
    given_tenants(storage);
    let mut last = storage.registry_stamp().unwrap();
    assert!(
        last > stamp,
        "creating tenants did not move the registry stamp"
    );

    let pkg = |version: &str| PackageRecord {
        id: "notes".into(),
        version: version.into(),
        manifest_json: "{}".into(),
        digest: version.into(),
        component: vec![1],
        installed_at: "2026-11-23T00:00:00Z".into(),
    };
    let enablement = |enabled: bool| Enablement {
        tenant: "acme".into(),
        plugin: "notes".into(),
        enabled,
        data_version: "1.0.0".into(),
        changed_at: "2026-11-23T00:00:00Z".into(),
    };
    type Change = Box<dyn Fn(&mut dyn Transaction)>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "package_insert",
            Box::new(move |tx| tx.package_insert(&pkg("1.0.0")).unwrap()),
        ),
        (
            "grants_set",
            Box::new(|tx| tx.grants_set("notes", &["storage".into()]).unwrap()),
        ),
        (
            "enablement_put",
            Box::new(move |tx| tx.enablement_put(&enablement(true)).unwrap()),
        ),
        (
            "enablement_put (disable)",
            Box::new(move |tx| tx.enablement_put(&enablement(false)).unwrap()),
        ),
        (
            "package_insert (upgrade)",
            Box::new(move |tx| tx.package_insert(&pkg("1.1.0")).unwrap()),
        ),
        (
            "package_set_current",
            Box::new(|tx| {
                assert!(tx.package_set_current("notes", "1.0.0").unwrap());
            }),
        ),
        (
            "package_delete_version",
            Box::new(|tx| tx.package_delete_version("notes", "1.1.0").unwrap()),
        ),
        (
            "tenant_insert",
            Box::new(|tx| {
                tx.tenant_insert(&Tenant {
                    id: "initech".into(),
                    name: "Initech".into(),
                    time_zone: "UTC".into(),
                    created_at: "2026-01-01T00:00:00Z".into(),
                })
                .unwrap()
            }),
        ),
        (
            "tenant_delete",
            Box::new(|tx| {
                tx.tenant_delete("initech").unwrap();
            }),
        ),
        (
            "package_remove",
            Box::new(|tx| tx.package_remove("notes").unwrap()),
        ),
    ];
    for (name, change) in changes {
        // Rolled back: the stamp stays.
        let mut tx = storage.begin().unwrap();
        change(tx.as_mut());
        drop(tx);
        assert_eq!(
            storage.registry_stamp().unwrap(),
            last,
            "{name} rolled back"
        );
        let mut tx = storage.begin().unwrap();
        change(tx.as_mut());
        tx.commit().unwrap();
        let now = storage.registry_stamp().unwrap();
        assert!(now > last, "{name} did not move the registry stamp");
        last = now;
    }

    // Reads and the tenants' own data leave it.
    let mut tx = storage.begin_scoped("acme").unwrap();
    assert!(tx.package_head("notes").unwrap().is_none());
    tx.tenant_get("acme").unwrap();
    tx.kv_put(&scope("acme", "notes"), "k", b"v").unwrap();
    tx.commit().unwrap();
    assert_eq!(storage.registry_stamp().unwrap(), last, "reads and data");
}

/// Webhook endpoints and deliveries: one delivery per (event, endpoint) whose topics
/// match, leased once, retried with the same `msg_id`, dead, replayed; removal.
pub fn webhook_deliveries_fan_out_once_and_keep_their_id(storage: &dyn Storage) {
    given_tenants(storage);
    let endpoint = |id: &str, tenant: &str, topics: &[&str]| WebhookEndpoint {
        id: id.into(),
        tenant: tenant.into(),
        url: "https://example.com/hook".into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        secret_sealed: vec![1, 2, 3],
        created_ms: 5,
        secret_generation: 0,
        previous_secret_sealed: None,
        previous_secret_until_ms: None,
    };
    let mut tx = storage.begin_for(&["acme", "globex"]).unwrap();
    tx.webhook_insert(&endpoint("wh_a", "acme", &["ledger.*"]))
        .unwrap();
    tx.webhook_insert(&endpoint("wh_b", "acme", &["payroll.run"]))
        .unwrap();
    tx.webhook_insert(&endpoint("wh_g", "globex", &["*"]))
        .unwrap();
    assert!(matches!(
        tx.webhook_insert(&endpoint("wh_a", "acme", &["x"])),
        Err(StoreError::Conflict(_))
    ));
    // A rotation replaces the secret fields and nothing else.
    let rotated = WebhookEndpoint {
        secret_sealed: vec![4, 5, 6],
        secret_generation: 1,
        previous_secret_sealed: Some(vec![1, 2, 3]),
        previous_secret_until_ms: Some(99),
        ..endpoint("wh_b", "acme", &["payroll.run"])
    };
    assert!(tx.webhook_set_secret(&rotated).unwrap());
    assert!(
        !tx.webhook_set_secret(&endpoint("wh_nope", "acme", &["x"]))
            .unwrap()
    );
    let listed = tx.webhook_list("acme").unwrap();
    assert_eq!(listed.iter().find(|e| e.id == "wh_b"), Some(&rotated));
    tx.commit().unwrap();

    let mut tx = storage.begin_read().unwrap();
    let listed = tx.webhook_list("acme").unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["wh_a", "wh_b"]
    );
    assert_eq!(listed[0].topics, ["ledger.*"]);
    assert_eq!(listed[0].secret_sealed, [1, 2, 3]);
    drop(tx);

    let mut tx = storage.begin_scoped("acme").unwrap();
    let e = tx.event_append(&ledger_event("ledger.posted")).unwrap();
    assert_eq!(tx.webhook_fan_out(&e, 10).unwrap(), 1, "only wh_a wants it");
    assert_eq!(tx.webhook_fan_out(&e, 10).unwrap(), 0, "never twice");
    tx.commit().unwrap();

    let mut tx = storage.begin_scoped("acme").unwrap();
    assert!(
        tx.webhook_claim(&Lease::new(9, 1_000, "a"), &mut ClaimRoom::any(10))
            .unwrap()
            .is_empty(),
        "not due"
    );
    let claimed = tx
        .webhook_claim(&Lease::new(10, 1_000, "a"), &mut ClaimRoom::any(10))
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(claimed.len(), 1);
    let (d, ep, event) = &claimed[0];
    assert_eq!((ep.id.as_str(), event.id, d.attempts), ("wh_a", e.id, 1));
    assert!(
        d.msg_id.starts_with("msg_") && d.msg_id.len() == 36,
        "{d:?}"
    );
    let mut tx = storage.begin_scoped("acme").unwrap();
    assert!(
        tx.webhook_claim(&Lease::new(500, 1_000, "b"), &mut ClaimRoom::any(10))
            .unwrap()
            .is_empty(),
        "leased"
    );
    let failed = WebhookAttempt {
        status: Some(500),
        error: Some("answered 500".into()),
    };
    let retry = Finish::Retry {
        at_ms: 2_000,
        error: "answered 500".into(),
    };
    assert!(
        !tx.webhook_finish("acme", d.id, "b", 20, &failed, &retry)
            .unwrap()
    );
    assert!(
        tx.webhook_finish("acme", d.id, "a", 20, &failed, &retry)
            .unwrap()
    );
    tx.commit().unwrap();

    let mut tx = storage.begin_scoped("acme").unwrap();
    let again = tx
        .webhook_claim(&Lease::new(2_000, 3_000, "b"), &mut ClaimRoom::any(10))
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0.msg_id, d.msg_id, "the same webhook-id");
    assert_eq!(again[0].0.attempts, 2);
    let dead = Finish::Dead {
        error: "answered 500".into(),
    };
    assert!(
        tx.webhook_finish("acme", d.id, "b", 2_100, &failed, &dead)
            .unwrap()
    );
    let log = tx.webhook_deliveries("acme", None, None, 10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].state.as_str(), log[0].last_status, log[0].done_ms),
        ("dead", Some(500), Some(2_100))
    );
    assert!(
        tx.webhook_deliveries("globex", None, None, 10)
            .unwrap()
            .is_empty()
    );
    assert!(tx.webhook_replay("acme", d.id, 3_000).unwrap());
    assert!(
        matches!(
            tx.webhook_replay("acme", d.id, 3_000),
            Err(StoreError::Conflict(_))
        ),
        "already pending"
    );
    assert!(
        !tx.webhook_replay("acme", 999_999, 3_000).unwrap(),
        "unknown"
    );
    tx.commit().unwrap();

    let mut tx = storage.begin_for(&["acme"]).unwrap();
    assert!(tx.webhook_delete("acme", "wh_a", 4_000).unwrap());
    assert!(!tx.webhook_delete("acme", "wh_a", 4_000).unwrap());
    let log = tx
        .webhook_deliveries("acme", Some("wh_a"), None, 10)
        .unwrap();
    assert_eq!(
        log[0].state, "dead",
        "pending deliveries die with their endpoint"
    );
    let dead = tx
        .webhook_deliveries("acme", Some("wh_a"), Some("dead"), 10)
        .unwrap();
    assert_eq!(dead.len(), log.iter().filter(|d| d.state == "dead").count());
    assert!(
        tx.webhook_deliveries("acme", Some("wh_a"), Some("pending"), 10)
            .unwrap()
            .is_empty(),
        "the state filter"
    );
    assert!(
        matches!(
            tx.webhook_replay("acme", d.id, 5_000),
            Err(StoreError::Conflict(_))
        ),
        "no endpoint"
    );
    tx.commit().unwrap();
}

/// A claim leases the oldest due deliveries, but never more attempts to one endpoint
/// than its share ([`ClaimRoom`]): an endpoint whose share is in flight is passed
/// over, so the tenant's other endpoints get the senders.
pub fn webhook_claims_keep_each_endpoint_to_its_share(storage: &dyn Storage) {
    given_tenants(storage);
    let mut tx = storage.begin_for(&["acme"]).unwrap();
    for id in ["wh_slow", "wh_fast"] {
        tx.webhook_insert(&WebhookEndpoint {
            id: id.into(),
            tenant: "acme".into(),
            url: format!("https://example.com/{id}"),
            topics: vec!["*".into()],
            secret_sealed: vec![1],
            created_ms: 0,
            secret_generation: 0,
            previous_secret_sealed: None,
            previous_secret_until_ms: None,
        })
        .unwrap();
    }
    tx.commit().unwrap();
    // Six events: each endpoint gets six deliveries, interleaved by age.
    let mut tx = storage.begin_scoped("acme").unwrap();
    let mut events = Vec::new();
    for i in 0..6 {
        let e = tx.event_append(&ledger_event("ledger.posted")).unwrap();
        assert_eq!(tx.webhook_fan_out(&e, 10 + i).unwrap(), 2);
        events.push(e.id);
    }
    tx.commit().unwrap();
    let endpoints = |claimed: &[ClaimedWebhook]| {
        let mut ids: Vec<String> = claimed.iter().map(|c| c.1.id.clone()).collect();
        ids.sort();
        ids
    };
    // A claim by `owner` of up to `limit` with a share of 2 per endpoint, `slow` of
    // them in flight to wh_slow; what it leased, and the room it left.
    let claim = |owner: &str, limit: u32, slow: u32| {
        let mut room = ClaimRoom {
            limit,
            per_endpoint: 2,
            busy: [("wh_slow".to_string(), slow)].into(),
            left_behind: 0,
        };
        let mut tx = storage.begin_scoped("acme").unwrap();
        let claimed = tx
            .webhook_claim(&Lease::new(100, 1_000, owner), &mut room)
            .unwrap();
        tx.commit().unwrap();
        (claimed, room)
    };

    // wh_slow has its share (2) in flight: only wh_fast's are leased, 2 of them.
    let (claimed, room) = claim("a", 10, 2);
    assert_eq!(endpoints(&claimed), ["wh_fast", "wh_fast"]);
    assert_eq!(room.limit, 8, "the limit is counted down");
    assert_eq!(room.room("wh_fast"), 0, "so is the share");
    assert_eq!(room.left_behind, 0, "nothing left for want of room");

    // One slot left in all: the oldest due delivery of an endpoint with room.
    let (claimed, room) = claim("b", 1, 1);
    assert_eq!(endpoints(&claimed), ["wh_slow"]);
    assert_eq!(claimed[0].2.id, events[0], "the oldest");
    assert_eq!(
        room.left_behind, 4,
        "wh_fast's four are left for want of room; wh_slow has no share left"
    );

    // Without shares, everything due is leased, oldest first.
    let mut tx = storage.begin_scoped("acme").unwrap();
    let claimed = tx
        .webhook_claim(&Lease::new(100, 1_000, "c"), &mut ClaimRoom::any(100))
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(claimed.len(), 12 - 3);
}
