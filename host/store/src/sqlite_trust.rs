//! SQLite tables of plugin lifecycle rows: trusted vendor keys, the signature status
//! of each installed package version and the compiled-code index (the methods both
//! backends run on them are in `registry.rs`).

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
