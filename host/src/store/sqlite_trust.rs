//! SQLite side of plugin lifecycle rows: trusted vendor keys, the signature status of
//! each installed package version, and moving a plugin between its installed
//! versions. Called from the [`Transaction`](super::Transaction) impl in `sqlite.rs`.

use super::sql;
use rusqlite::{Connection, OptionalExtension, params};

use super::sqlite::conflict_on_unique;
use super::{PackageRecord, Result, TrustedKey};

/// `trusted_keys` holds vendor public keys (hex); one key belongs to one name.
/// `package_signatures` keeps, per installed version, what install found (JSON).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS trusted_keys (
    public_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trusted_keys_by_name ON trusted_keys (name);
CREATE TABLE IF NOT EXISTS package_signatures (
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS code_digests (
    component TEXT NOT NULL,
    engine TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (component, engine)
);
"#;

/// `code_digests`: the SHA-256 of each compiled-code cache file this host wrote,
/// checked before the file is deserialized.
pub(super) fn code_digest_get(
    conn: &Connection,
    component: &str,
    engine: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(sql::CODE_DIGEST_GET.lite)?
        .query_row(params![component, engine], |r| r.get(0))
        .optional()?)
}

pub(super) fn code_digest_set(
    conn: &Connection,
    component: &str,
    engine: &str,
    sha256: &str,
) -> Result<()> {
    conn.execute(
        sql::CODE_DIGEST_SET.lite,
        params![component, engine, sha256],
    )?;
    Ok(())
}

pub(super) fn trust_insert(conn: &Connection, key: &TrustedKey) -> Result<()> {
    conn.execute(
        sql::TRUST_INSERT.lite,
        params![key.public_key, key.name, key.added_at],
    )
    .map_err(|e| conflict_on_unique(e, || format!("key {} is already trusted", key.public_key)))?;
    Ok(())
}

pub(super) fn trust_list(conn: &Connection) -> Result<Vec<TrustedKey>> {
    let mut stmt = conn.prepare_cached(sql::TRUST_LIST.lite)?;
    let rows = stmt.query_map([], |r| {
        Ok(TrustedKey {
            name: r.get(0)?,
            public_key: r.get(1)?,
            added_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn trust_remove(conn: &Connection, name: &str) -> Result<u64> {
    let n = conn.execute(sql::TRUST_REMOVE.lite, params![name])?;
    Ok(n as u64)
}

pub(super) fn signature_set(conn: &Connection, id: &str, version: &str, sig: &str) -> Result<()> {
    conn.execute(sql::PACKAGE_SIGNATURE_SET.lite, params![id, version, sig])?;
    Ok(())
}

pub(super) fn signature_get(conn: &Connection, id: &str, version: &str) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached(sql::PACKAGE_SIGNATURE_GET.lite)?;
    Ok(stmt
        .query_row(params![id, version], |r| r.get(0))
        .optional()?)
}

pub(super) fn package_versions(conn: &Connection, id: &str) -> Result<Vec<PackageRecord>> {
    let mut stmt = conn.prepare_cached(sql::PACKAGE_VERSIONS.lite)?;
    let rows = stmt.query_map(params![id], |r| {
        Ok(PackageRecord {
            id: r.get(0)?,
            version: r.get(1)?,
            manifest_json: r.get(2)?,
            digest: r.get(3)?,
            component: Vec::new(),
            installed_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn package_set_current(conn: &Connection, id: &str, version: &str) -> Result<bool> {
    let n = conn.execute(sql::PACKAGE_SET_CURRENT.lite, params![id, version])?;
    Ok(n == 1)
}

pub(super) fn package_delete_version(conn: &Connection, id: &str, version: &str) -> Result<()> {
    conn.execute(sql::PACKAGE_DELETE_VERSION.lite, params![id, version])?;
    conn.execute(
        sql::PACKAGE_SIGNATURE_DELETE_VERSION.lite,
        params![id, version],
    )?;
    Ok(())
}

pub(super) fn package_forget_signatures(conn: &Connection, id: &str) -> Result<()> {
    conn.execute(sql::PACKAGE_REMOVE_SIGNATURES.lite, params![id])?;
    Ok(())
}
