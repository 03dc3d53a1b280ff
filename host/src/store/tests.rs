//! The storage suite (`suite.rs`) on SQLite, plus what only SQLite has: reopening the file.

use super::suite::CASES;
use super::*;

fn sqlite() -> (tempfile::TempDir, SqliteStorage) {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open(&dir.path().join("db.sqlite"), Durability::Normal)
        .expect("open storage");
    (dir, storage)
}

#[test]
fn sqlite_passes_the_storage_suite() {
    for (name, case) in CASES {
        let (_dir, s) = sqlite();
        eprintln!("storage suite on SQLite: {name}");
        case(&s);
    }
}

#[test]
fn sqlite_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let scope = Scope {
        tenant: "acme".into(),
        plugin: "notes".into(),
    };
    {
        let s = SqliteStorage::open(&path, Durability::Full).unwrap();
        let mut tx = s.begin().unwrap();
        tx.kv_put(&scope, "k", b"v").unwrap();
        tx.commit().unwrap();
    }
    let s = SqliteStorage::open(&path, Durability::Full).unwrap();
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.kv_get(&scope, "k").unwrap().as_deref(), Some(&b"v"[..]));
}
