//! SQLite side of the event outbox: tables and statements, called from the
//! [`Transaction`](super::Transaction) impl in `sqlite.rs`.

use super::sql;
use rusqlite::{Connection, params};

use super::{EventFilter, EventRecord, NewEvent, Result};

/// Tables of the outbox. `seq` numbers a tenant's events from 1; the
/// `(tenant, seq)` key makes two writers that raced for a number fail loudly
/// instead of sharing it (they cannot race under `BEGIN IMMEDIATE`).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    plugin TEXT NOT NULL,
    version TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    fanned_out INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant, seq)
);
CREATE INDEX IF NOT EXISTS events_pending_fanout ON events (fanned_out, id);
CREATE INDEX IF NOT EXISTS events_by_topic ON events (tenant, topic, id);
"#;

pub(super) const EVENT_COLUMNS: &str =
    "id, tenant, seq, topic, payload, plugin, version, created_at_ms";

pub(super) fn row_to_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRecord> {
    Ok(EventRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        seq: r.get(2)?,
        topic: r.get(3)?,
        payload: r.get(4)?,
        plugin: r.get(5)?,
        version: r.get(6)?,
        created_at_ms: r.get(7)?,
    })
}

pub(super) fn append(conn: &Connection, e: &NewEvent) -> Result<EventRecord> {
    let seq: i64 = conn
        .prepare_cached(sql::EVENT_APPEND.lite)?
        .query_row(params![e.tenant], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO events (tenant, seq, topic, payload, plugin, version, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.tenant,
        seq,
        e.topic,
        e.payload,
        e.plugin,
        e.version,
        e.created_at_ms
    ])?;
    Ok(EventRecord {
        id: conn.last_insert_rowid(),
        tenant: e.tenant.clone(),
        seq,
        topic: e.topic.clone(),
        payload: e.payload.clone(),
        plugin: e.plugin.clone(),
        version: e.version.clone(),
        created_at_ms: e.created_at_ms,
    })
}

pub(super) fn list(conn: &Connection, f: &EventFilter) -> Result<Vec<EventRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events
         WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR topic = ?2)
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![f.tenant, f.topic, i64::from(f.limit)], row_to_event)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
