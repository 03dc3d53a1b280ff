//! SQLite tables of the event outbox (the methods both backends run on them are in
//! `work.rs`).

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
