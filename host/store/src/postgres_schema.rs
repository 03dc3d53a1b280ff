//! The PostgreSQL schema: the tables `postgres.rs` and `migrate-storage` use.

use postgres::types::Type;

use super::Result;

/// The triggers that move the registry stamp on every write to each of `tables`.
macro_rules! registry_triggers {
    ($($table:literal),+) => {
        concat!($(
            "DROP TRIGGER IF EXISTS registry_changed ON ", $table, ";\n",
            "CREATE TRIGGER registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ",
            $table,
            "\n    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();\n",
        )+)
    };
}

/// The schema; the same tables and columns as SQLite's, so `migrate-storage` can copy
/// them one to one. Every text column uses the "C" collation: keys compare by bytes,
/// as in SQLite, whatever the database's locale.
pub(super) const SCHEMA: &str = concat!(
    r#"
CREATE TABLE IF NOT EXISTS identity_stamp (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO identity_stamp (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS registry_stamp (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO registry_stamp (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, time_zone TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    id TEXT NOT NULL, version TEXT NOT NULL, manifest TEXT NOT NULL, digest TEXT NOT NULL,
    component BYTEA NOT NULL, installed_at TEXT NOT NULL, PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS plugins (id TEXT PRIMARY KEY, current_version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grants (
    plugin TEXT NOT NULL, capability TEXT NOT NULL, PRIMARY KEY (plugin, capability)
);
CREATE TABLE IF NOT EXISTS enablements (
    tenant TEXT NOT NULL REFERENCES tenants(id), plugin TEXT NOT NULL, enabled BIGINT NOT NULL,
    data_version TEXT NOT NULL, changed_at TEXT NOT NULL, PRIMARY KEY (tenant, plugin)
);
CREATE TABLE IF NOT EXISTS kv (
    tenant TEXT NOT NULL, plugin TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL,
    PRIMARY KEY (tenant, plugin, key)
);
CREATE TABLE IF NOT EXISTS kv_usage (
    tenant TEXT NOT NULL, plugin TEXT NOT NULL, keys BIGINT NOT NULL, bytes BIGINT NOT NULL,
    PRIMARY KEY (tenant, plugin)
);
CREATE OR REPLACE FUNCTION kv_usage_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO kv_usage (tenant, plugin, keys, bytes)
        VALUES (NEW.tenant, NEW.plugin, 1, octet_length(NEW.key) + octet_length(NEW.value))
        ON CONFLICT (tenant, plugin) DO UPDATE
            SET keys = kv_usage.keys + 1, bytes = kv_usage.bytes + excluded.bytes;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE kv_usage SET bytes = bytes + octet_length(NEW.value) - octet_length(OLD.value)
         WHERE tenant = NEW.tenant AND plugin = NEW.plugin;
    ELSE
        UPDATE kv_usage SET keys = keys - 1,
               bytes = bytes - octet_length(OLD.key) - octet_length(OLD.value)
         WHERE tenant = OLD.tenant AND plugin = OLD.plugin;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS kv_usage_track ON kv;
CREATE TRIGGER kv_usage_track AFTER INSERT OR UPDATE OR DELETE ON kv
    FOR EACH ROW EXECUTE FUNCTION kv_usage_track();
-- Filled once from `kv` (the trigger, created first, holds writers off until the DDL
-- commits, so nothing is counted twice or missed); rows already kept stay.
INSERT INTO kv_usage (tenant, plugin, keys, bytes)
    SELECT tenant, plugin, count(*), sum(octet_length(key) + octet_length(value))
      FROM kv GROUP BY tenant, plugin
    ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS quota_day (
    tenant TEXT NOT NULL, plugin TEXT NOT NULL, day BIGINT NOT NULL, events BIGINT NOT NULL,
    runs BIGINT NOT NULL, PRIMARY KEY (tenant, plugin, day)
);
CREATE TABLE IF NOT EXISTS plugin_settings (
    tenant TEXT NOT NULL, plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (tenant, plugin, key)
);
CREATE TABLE IF NOT EXISTS events (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, seq BIGINT NOT NULL, topic TEXT NOT NULL,
    payload TEXT NOT NULL, plugin TEXT NOT NULL, version TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL, fanned_out BIGINT NOT NULL DEFAULT 0, UNIQUE (tenant, seq)
);
CREATE INDEX IF NOT EXISTS events_pending_fanout ON events (fanned_out, id);
CREATE INDEX IF NOT EXISTS events_by_topic ON events (tenant, topic, id);
CREATE TABLE IF NOT EXISTS jobs (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, plugin TEXT NOT NULL, job TEXT NOT NULL,
    cron TEXT, payload TEXT NOT NULL, state TEXT NOT NULL, next_run_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0, lease_until_ms BIGINT, lease_owner TEXT, last_error TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_cron ON jobs (tenant, plugin, job) WHERE cron IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_run_ms);
CREATE TABLE IF NOT EXISTS job_runs (
    id BIGSERIAL PRIMARY KEY, job_id BIGINT NOT NULL, tenant TEXT NOT NULL, plugin TEXT NOT NULL,
    job TEXT NOT NULL, attempt BIGINT NOT NULL, started_ms BIGINT NOT NULL, duration_ms BIGINT,
    outcome TEXT NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id BIGSERIAL PRIMARY KEY, event_id BIGINT NOT NULL REFERENCES events(id),
    tenant TEXT NOT NULL, topic TEXT NOT NULL, subscriber TEXT NOT NULL, state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0, next_attempt_ms BIGINT NOT NULL, lease_until_ms BIGINT,
    lease_owner TEXT, last_error TEXT, done_ms BIGINT, UNIQUE (event_id, subscriber)
);
CREATE INDEX IF NOT EXISTS deliveries_heads ON deliveries (state, tenant, topic, subscriber, event_id);
CREATE TABLE IF NOT EXISTS users (
    tenant TEXT NOT NULL, username TEXT NOT NULL, display_name TEXT NOT NULL, password_hash TEXT,
    system_admin BIGINT NOT NULL, created_at TEXT NOT NULL, disabled_at TEXT,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS roles (
    tenant TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS role_permissions (
    tenant TEXT NOT NULL, role TEXT NOT NULL, permission TEXT NOT NULL,
    PRIMARY KEY (tenant, role, permission),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS user_roles (
    tenant TEXT NOT NULL, username TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (tenant, username, role),
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT,
    last_used_at TEXT, revoked_at TEXT,
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username)
);
CREATE INDEX IF NOT EXISTS tokens_by_tenant ON tokens (tenant, created_at);
CREATE TABLE IF NOT EXISTS audit (
    tenant TEXT NOT NULL, seq BIGINT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,
    duration_us BIGINT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (tenant, seq)
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE TABLE IF NOT EXISTS audit_anchors (
    tenant TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL,
    keyed_from BIGINT NOT NULL, mac TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trusted_keys (
    public_key TEXT PRIMARY KEY, name TEXT NOT NULL, added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trusted_keys_by_name ON trusted_keys (name);
CREATE TABLE IF NOT EXISTS package_signatures (
    id TEXT NOT NULL, version TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS code_digests (
    component TEXT NOT NULL, engine TEXT NOT NULL, sha256 TEXT NOT NULL,
    PRIMARY KEY (component, engine)
);
DROP TABLE IF EXISTS login_failures;
CREATE TABLE IF NOT EXISTS login_throttle (
    key TEXT PRIMARY KEY, failures BIGINT NOT NULL, last_failure_ms BIGINT NOT NULL,
    next_allowed_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_throttle_by_age ON login_throttle (last_failure_ms);
-- The registry stamp moves with every write to the tables a call's resolution reads,
-- in the writing transaction, however the write is made (`Storage::registry_stamp`).
CREATE OR REPLACE FUNCTION registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_stamp SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END $$;
"#,
    registry_triggers!("tenants", "packages", "plugins", "grants", "enablements")
);

/// Tables in an order that satisfies the foreign keys, for copying and counting.
pub const TABLES: &[&str] = &[
    "tenants",
    "packages",
    "plugins",
    "grants",
    "enablements",
    "kv",
    "plugin_settings",
    "events",
    "jobs",
    "job_runs",
    "deliveries",
    "webhook_endpoints",
    "webhook_deliveries",
    "users",
    "roles",
    "role_permissions",
    "user_roles",
    "tokens",
    "user_emails",
    "notifications",
    "notification_attempts",
    "http_requests",
    "http_attempts",
    "audit",
    "audit_anchors",
    "trusted_keys",
    "package_signatures",
    "login_throttle",
];

/// The SQL type of each column of `table`, in order, for copying rows.
pub(crate) fn column_types(
    client: &mut impl postgres::GenericClient,
    table: &str,
) -> Result<Vec<(String, Type)>> {
    let stmt = client.prepare(&format!("SELECT * FROM {table} LIMIT 0"))?;
    Ok(stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect())
}
