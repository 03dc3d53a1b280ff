//! The storage contract, written against the trait so every backend runs the same suite.

use super::*;

fn scope(tenant: &str, plugin: &str) -> Scope {
    Scope {
        tenant: tenant.into(),
        plugin: plugin.into(),
    }
}

fn sqlite() -> (tempfile::TempDir, SqliteStorage) {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open(&dir.path().join("db.sqlite"), Durability::Normal)
        .expect("open storage");
    (dir, storage)
}

fn keys(page: &ScanPage) -> Vec<&str> {
    page.entries.iter().map(|(k, _)| k.as_str()).collect()
}

pub(crate) fn kv_is_scoped_and_transactional(storage: &dyn Storage) {
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

pub(crate) fn scans_ranges_in_both_directions(storage: &dyn Storage) {
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
            },
        )
        .unwrap();
    assert_eq!(keys(&latest), ["bal/2026-02-01"]);
    let rev = tx
        .kv_scan(&s, &all(true, 2, Some("bal/2026-02-01")))
        .unwrap();
    assert_eq!(keys(&rev), ["bal/2026-01-10", "bal/2026-01-05"]);
}

pub(crate) fn registry_rows(storage: &dyn Storage) {
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

pub(crate) fn outbox_is_transactional_and_sequenced(storage: &dyn Storage) {
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
    assert!(a1.id < g1.id && g1.id < a2.id);

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

#[test]
fn sqlite_outbox_is_transactional_and_sequenced() {
    let (_dir, s) = sqlite();
    outbox_is_transactional_and_sequenced(&s);
}

#[test]
fn sqlite_kv_is_scoped_and_transactional() {
    let (_dir, s) = sqlite();
    kv_is_scoped_and_transactional(&s);
}

#[test]
fn sqlite_scans_ranges_in_both_directions() {
    let (_dir, s) = sqlite();
    scans_ranges_in_both_directions(&s);
}

#[test]
fn sqlite_registry_rows() {
    let (_dir, s) = sqlite();
    registry_rows(&s);
}

#[test]
fn sqlite_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let s = SqliteStorage::open(&path, Durability::Full).unwrap();
        let mut tx = s.begin().unwrap();
        tx.kv_put(&scope("acme", "notes"), "k", b"v").unwrap();
        tx.commit().unwrap();
    }
    let s = SqliteStorage::open(&path, Durability::Full).unwrap();
    let mut tx = s.begin().unwrap();
    assert_eq!(
        tx.kv_get(&scope("acme", "notes"), "k").unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn sqlite_savepoints_undo_or_keep_a_nested_calls_writes() {
    let (_dir, storage) = sqlite();
    let a = scope("acme", "caller");
    let b = scope("acme", "callee");
    let mut tx = storage.begin().unwrap();
    tx.kv_put(&a, "before", b"1").unwrap();
    tx.savepoint("nested_call").unwrap();
    tx.kv_put(&b, "undone", b"2").unwrap();
    tx.rollback_to("nested_call").unwrap();
    tx.savepoint("nested_call").unwrap();
    tx.kv_put(&b, "kept", b"3").unwrap();
    tx.release("nested_call").unwrap();
    tx.commit().unwrap();

    let mut tx = storage.begin().unwrap();
    assert!(tx.kv_get(&a, "before").unwrap().is_some());
    assert!(tx.kv_get(&b, "undone").unwrap().is_none());
    assert!(tx.kv_get(&b, "kept").unwrap().is_some());
}

pub(crate) fn trust_and_package_versions(storage: &dyn Storage) {
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

#[test]
fn sqlite_trust_and_package_versions() {
    let (_dir, s) = sqlite();
    trust_and_package_versions(&s);
}
