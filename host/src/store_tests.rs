//! Tests of the storage layer (`backoffice-store`) that need the host's audit chain:
//! they stay with the host, as the store knows nothing of it.

use crate::audit::{self, AuditKey, Entry};
use crate::store::{AuditQuery, Durability, SqliteStorage, Storage, Tenant};

/// SQLite storage in a new directory, with the tenants `ids`.
fn with_tenants(ids: &[&str]) -> (tempfile::TempDir, SqliteStorage) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStorage::open(&dir.path().join("db.sqlite"), Durability::Normal)
        .expect("open storage");
    let mut tx = s.begin().unwrap();
    for id in ids {
        tx.tenant_insert(&Tenant {
            id: (*id).into(),
            name: (*id).into(),
            time_zone: "UTC".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        })
        .unwrap();
    }
    tx.commit().unwrap();
    (dir, s)
}

/// Writers of one batch continue the audit chain from where the writers before them
/// left it (without reading it again), also when some of them roll back entirely or
/// in part: the chain stays contiguous and every link's keyed hash holds.
#[test]
fn concurrent_writers_keep_one_unbroken_audit_chain() {
    let (_dir, s) = with_tenants(&["acme"]);
    let key = AuditKey::for_tests();
    let entry = |what: String| Entry {
        tenant: "acme".into(),
        actor: "test".into(),
        action: "invoke".into(),
        target: what,
        outcome: "ok".into(),
        detail: serde_json::json!({}),
        duration: None,
    };
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            let key = key.clone();
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                for j in 0..25 {
                    let mut tx = s.begin_scoped("acme").unwrap();
                    audit::append(tx.as_mut(), &key, entry(format!("{i}/{j}/a"))).unwrap();
                    match j % 5 {
                        // The whole call fails.
                        3 => drop(tx),
                        // A nested call fails after linking; the outer one links again.
                        4 => {
                            tx.savepoint("nested").unwrap();
                            audit::append(tx.as_mut(), &key, entry(format!("{i}/{j}/gone")))
                                .unwrap();
                            tx.rollback_to("nested").unwrap();
                            audit::append(tx.as_mut(), &key, entry(format!("{i}/{j}/b"))).unwrap();
                            tx.commit().unwrap();
                            kept.extend([format!("{i}/{j}/a"), format!("{i}/{j}/b")]);
                        }
                        _ => {
                            tx.commit().unwrap();
                            kept.push(format!("{i}/{j}/a"));
                        }
                    }
                }
                kept
            })
        })
        .collect();
    let mut kept: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let mut tx = s.begin_read().unwrap();
    let links = tx
        .audit_list(&AuditQuery {
            tenant: Some("acme".into()),
            since: None,
            after_seq: None,
            limit: 10_000,
        })
        .unwrap();
    let mut prev = audit::GENESIS.to_string();
    for (n, link) in links.iter().enumerate() {
        assert_eq!(link.seq, n as u64 + 1, "links are numbered without gaps");
        assert_eq!(
            link.prev_hash, prev,
            "link {} follows the one before",
            link.seq
        );
        assert_eq!(link.hash, audit::keyed_link_hash(&key, link));
        prev = link.hash.clone();
    }
    let anchor = tx.audit_anchor("acme").unwrap().expect("anchor");
    assert_eq!((anchor.seq, &anchor.hash), (links.len() as u64, &prev));
    let mut linked: Vec<String> = links.into_iter().map(|l| l.target).collect();
    linked.sort();
    kept.sort();
    assert_eq!(linked, kept, "exactly the committed links are in the chain");
}
