//! SQL text both backends run, written once (issue 15, item 5).
//!
//! Each statement is written with PostgreSQL's `$N` parameters; [`Sql::lite`] is the
//! same text with SQLite's `?N`, made at compile time. A few statements that each
//! backend words its own way (an upsert, an insert that skips a taken key) give both
//! texts side by side. What differs between the backends beyond the text (claims with
//! `SKIP LOCKED`, locks, sequences, type casts, schema) stays in each backend's own
//! files.

/// One statement in each backend's parameter syntax.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sql {
    /// With `$N` parameters (PostgreSQL).
    pub(super) pg: &'static str,
    /// With `?N` parameters (SQLite).
    pub(super) lite: &'static str,
}

/// `q` with every `$` turned into `?`: `$3` becomes `?3`.
pub(super) const fn to_lite<const N: usize>(q: &str) -> [u8; N] {
    let bytes = q.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = if bytes[i] == b'$' { b'?' } else { bytes[i] };
        i += 1;
    }
    out
}

/// The [`Sql`] of a constant text written with `$N` parameters (a literal, or a
/// `concat!` of literals).
macro_rules! statement {
    ($q:expr) => {{
        const STATEMENT: $crate::sql::Sql = $crate::sql::Sql {
            pg: $q,
            lite: match std::str::from_utf8(&$crate::sql::to_lite::<{ $q.len() }>($q)) {
                Ok(text) => text,
                Err(_) => panic!("SQL text is ASCII"),
            },
        };
        STATEMENT
    }};
}

macro_rules! sql {
    ($($(#[$doc:meta])* $name:ident = $q:literal;)*) => {$(
        $(#[$doc])*
        pub(super) const $name: $crate::sql::Sql = $crate::sql::statement!($q);
    )*};
}

/// For the statements of concerns kept in files of their own (`notify_sql.rs`), and
/// those a macro puts together (`queue.rs`, `kv.rs`).
pub(super) use {sql, statement};

sql! {
    /// Used by `audit_anchor`.
    AUDIT_ANCHOR = "SELECT tenant, seq, hash, keyed_from, mac FROM audit_anchors WHERE tenant = $1";
    /// Used by `audit_chains`.
    AUDIT_CHAINS = "SELECT DISTINCT tenant FROM audit ORDER BY 1";
    /// Used by `audit_head`.
    AUDIT_HEAD = "SELECT seq, hash FROM audit WHERE tenant = $1 ORDER BY seq DESC LIMIT 1";
    /// Used by `code_digest_get`.
    CODE_DIGEST_GET = "SELECT sha256 FROM code_digests WHERE component = $1 AND engine = $2";
    /// Used by `code_digest_set`.
    CODE_DIGEST_SET = "INSERT INTO code_digests (component, engine, sha256) VALUES ($1, $2, $3)
        ON CONFLICT (component, engine) DO UPDATE SET sha256 = excluded.sha256";
    /// Used by `delivery_finish`.
    DELIVERY_FINISH = "UPDATE deliveries SET state = $3, next_attempt_ms = coalesce($4, next_attempt_ms),
        last_error = coalesce($5, last_error),
        done_ms = CASE WHEN $3 = 'done' THEN $6 ELSE done_ms END,
        lease_until_ms = NULL, lease_owner = NULL
        WHERE id = $1 AND lease_owner = $2";
    /// Used by `event_fan_out`.
    DELIVERY_INSERT = "INSERT INTO deliveries (event_id, tenant, topic, subscriber, state, next_attempt_ms)
        VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT DO NOTHING";
    /// Used by `delivery_claim`.
    DELIVERY_LEASE = "UPDATE deliveries SET lease_until_ms = $2, lease_owner = $3,
        attempts = attempts + 1 WHERE id = $1";
    /// Used by `delivery_retry`.
    DELIVERY_RETRY = "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $2,
        lease_until_ms = NULL, lease_owner = NULL
        WHERE id = $1 AND state = 'dead'";
    /// Used by `enablement_put`.
    ENABLEMENT_PUT = "INSERT INTO enablements (tenant, plugin, enabled, data_version, changed_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (tenant, plugin) DO UPDATE SET enabled = excluded.enabled,
        data_version = excluded.data_version, changed_at = excluded.changed_at";
    /// Used by `enablement_get`.
    ENABLEMENT_GET = "SELECT tenant, plugin, enabled, data_version, changed_at FROM enablements
        WHERE tenant = $1 AND plugin = $2";
    /// Used by `enablement_for_plugin`.
    ENABLEMENT_FOR_PLUGIN = "SELECT tenant, plugin, enabled, data_version, changed_at
        FROM enablements WHERE plugin = $1 ORDER BY tenant";
    /// Used by `enablement_for_tenant`.
    ENABLEMENT_FOR_TENANT = "SELECT tenant, plugin, enabled, data_version, changed_at
        FROM enablements WHERE tenant = $1 ORDER BY plugin";
    /// Used by `event_append`.
    EVENT_APPEND = "SELECT coalesce(max(seq), 0) + 1 FROM events WHERE tenant = $1";
    /// Used by `event_fan_out`.
    EVENT_MARK_FANNED = "UPDATE events SET fanned_out = 1 WHERE id = $1";
    /// Used by `grants_get`.
    GRANTS_GET = "SELECT capability FROM grants WHERE plugin = $1 ORDER BY 1";
    /// Used by `grants_set`.
    GRANTS_SET = "INSERT INTO grants (plugin, capability) VALUES ($1, $2)";
    /// Used by `identity_changed`.
    IDENTITY_CHANGED = "UPDATE identity_stamp SET n = n + 1 WHERE id = 1";
    /// Used by `identity_stamp`.
    IDENTITY_STAMP = "SELECT n FROM identity_stamp WHERE id = 1";
    /// Used by `registry_stamp`.
    REGISTRY_STAMP = "SELECT n FROM registry_stamp WHERE id = 1";
    /// Used by `stamps`.
    STAMPS = "SELECT (SELECT n FROM identity_stamp WHERE id = 1), (SELECT n FROM registry_stamp WHERE id = 1)";
    /// Used by `job_cancel`.
    JOB_CANCEL = "UPDATE jobs SET state = 'cancelled'
        WHERE id = $1 AND tenant = $2 AND plugin = $3 AND cron IS NULL
        AND state IN ('scheduled', 'paused') AND lease_owner IS NULL";
    /// Used by `job_delete_plugin`.
    JOB_DELETE_PLUGIN = "DELETE FROM jobs WHERE plugin = $1";
    /// Used by `job_finish`.
    JOB_FINISH = "UPDATE job_runs SET outcome = $2, error = $3, duration_ms = $4
        WHERE id = $1 AND outcome = 'running'";
    /// Used by `job_claim`.
    JOB_LEASE = "UPDATE jobs SET lease_until_ms = $2, lease_owner = $3, attempts = attempts + 1
        WHERE id = $1";
    /// Used by `job_pause`.
    JOB_PAUSE = "UPDATE jobs SET state = 'paused' WHERE tenant = $1 AND plugin = $2 AND state = 'scheduled'";
    /// Used by `job_resume_once`.
    JOB_RESUME_ONCE = "UPDATE jobs SET state = 'scheduled'
        WHERE tenant = $1 AND plugin = $2 AND state = 'paused' AND cron IS NULL";
    /// Used by `job_retry`.
    JOB_RETRY = "UPDATE jobs SET state = 'scheduled', attempts = 0, next_run_ms = $2,
        lease_until_ms = NULL, lease_owner = NULL
        WHERE id = $1 AND state = 'failed'";
    /// Used by `job_claim`.
    JOB_RUNS_ABANDON = "UPDATE job_runs SET outcome = 'abandoned', error = 'the worker running it stopped'
        WHERE job_id = $1 AND outcome = 'running'";
    /// Used by `job_claim`: the due jobs, oldest due first.
    JOB_DUE = "SELECT id, tenant, plugin, job, cron, payload, state, next_run_ms, attempts,
        lease_until_ms, lease_owner, last_error FROM jobs
        WHERE state = 'scheduled' AND next_run_ms <= $1
          AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
        ORDER BY next_run_ms, id LIMIT $2";
    /// Used by `job_finish` (`Finish::Done` with a next run).
    JOB_FINISH_NEXT = "UPDATE jobs SET state = 'scheduled', next_run_ms = $3, attempts = 0,
        last_error = NULL, lease_until_ms = NULL, lease_owner = NULL
        WHERE id = $1 AND lease_owner = $2";
    /// Used by `job_finish` (`Finish::Done` without a next run).
    JOB_FINISH_DONE = "UPDATE jobs SET state = 'done', last_error = NULL,
        lease_until_ms = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2";
    /// Used by `job_finish` (`Finish::Retry`).
    JOB_FINISH_RETRY = "UPDATE jobs SET next_run_ms = $3, last_error = $4,
        lease_until_ms = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2";
    /// Used by `job_finish` (`Finish::Dead`).
    JOB_FINISH_DEAD = "UPDATE jobs SET state = 'failed', last_error = $3,
        lease_until_ms = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2";
    /// Used by `job_finish` (`Finish::Skipped`).
    JOB_FINISH_SKIPPED = "UPDATE jobs SET state = CASE WHEN cron IS NULL THEN 'paused' ELSE state END,
        last_error = $3, lease_until_ms = NULL, lease_owner = NULL
        WHERE id = $1 AND lease_owner = $2";
    /// Used by `job_get`.
    JOB_GET = "SELECT id, tenant, plugin, job, cron, payload, state, next_run_ms, attempts,
        lease_until_ms, lease_owner, last_error FROM jobs WHERE id = $1";
    /// Used by `job_insert_once`.
    JOB_INSERT_ONCE = "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
        VALUES ($1, $2, $3, NULL, $4, 'scheduled', $5) RETURNING id";
    /// Used by `job_claim`: the run a lease opens.
    JOB_RUN_INSERT = "INSERT INTO job_runs (job_id, tenant, plugin, job, attempt, started_ms, outcome)
        VALUES ($1, $2, $3, $4, $5, $6, 'running') RETURNING id";
    /// Used by `delivery_list`.
    DELIVERY_LIST = "SELECT id, event_id, tenant, topic, subscriber, state, attempts,
        next_attempt_ms, last_error, done_ms FROM deliveries WHERE event_id = $1 ORDER BY subscriber";
    /// Used by `delivery_get`.
    DELIVERY_GET = "SELECT id, event_id, tenant, topic, subscriber, state, attempts,
        next_attempt_ms, last_error, done_ms FROM deliveries WHERE id = $1";
    /// Used by `delivery_claim`: the event a delivery carries.
    EVENT_GET = "SELECT id, tenant, seq, topic, payload, plugin, version, created_at_ms
        FROM events WHERE id = $1";
    /// Used by `event_unfanned`.
    EVENT_UNFANNED = "SELECT id, tenant, seq, topic, payload, plugin, version, created_at_ms
        FROM events WHERE fanned_out = 0 ORDER BY id LIMIT $1";
    /// Used by `webhook_insert`.
    WEBHOOK_ENDPOINT_INSERT = "INSERT INTO webhook_endpoints (id, tenant, url, topics, secret_sealed,
        created_ms, secret_generation, previous_secret_sealed, previous_secret_until_ms)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    /// Used by `webhook_list` and `webhook_fan_out`.
    WEBHOOK_ENDPOINT_LIST = "SELECT id, tenant, url, topics, secret_sealed, created_ms,
        secret_generation, previous_secret_sealed, previous_secret_until_ms
        FROM webhook_endpoints WHERE tenant = $1 ORDER BY created_ms, id";
    /// Used by `webhook_claim`.
    WEBHOOK_ENDPOINT_GET = "SELECT id, tenant, url, topics, secret_sealed, created_ms,
        secret_generation, previous_secret_sealed, previous_secret_until_ms
        FROM webhook_endpoints WHERE tenant = $1 AND id = $2";
    /// Used by `kv_count_plugin`.
    KV_COUNT_PLUGIN = "SELECT count(*) FROM kv WHERE plugin = $1";
    /// Used by `kv_purge_plugin`.
    KV_PURGE_PLUGIN = "DELETE FROM kv WHERE plugin = $1";
    /// Used by `kv_usage`.
    KV_USAGE = "SELECT keys, bytes FROM kv_usage WHERE tenant = $1 AND plugin = $2";
    /// Used by `login_throttle_clear`.
    LOGIN_THROTTLE_CLEAR_BEFORE = "DELETE FROM login_throttle WHERE last_failure_ms <= $1";
    /// Used by `login_throttle_clear`.
    LOGIN_THROTTLE_CLEAR_KEY = "DELETE FROM login_throttle WHERE key = $1";
    /// Used by `login_throttle_get`.
    LOGIN_THROTTLE_GET = "SELECT failures, last_failure_ms, next_allowed_ms FROM login_throttle WHERE key = $1";
    /// Used by `login_throttle_put`.
    LOGIN_THROTTLE_PUT = "INSERT INTO login_throttle (key, failures, last_failure_ms, next_allowed_ms)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
        last_failure_ms = excluded.last_failure_ms, next_allowed_ms = excluded.next_allowed_ms";
    /// Used by `package_component`.
    PACKAGE_COMPONENT = "SELECT component FROM packages WHERE id = $1 AND version = $2";
    /// Used by `package_current`.
    PACKAGE_CURRENT = "SELECT p.id, p.version, p.manifest, p.digest, p.installed_at
        FROM plugins c JOIN packages p ON p.id = c.id AND p.version = c.current_version
        WHERE c.id = $1";
    /// Used by `package_delete_version`.
    PACKAGE_DELETE_VERSION = "DELETE FROM packages WHERE id = $1 AND version = $2";
    /// Used by `package_head`.
    PACKAGE_HEAD = "SELECT p.id, p.version, '', p.digest, p.installed_at
        FROM plugins c JOIN packages p ON p.id = c.id AND p.version = c.current_version
        WHERE c.id = $1";
    /// Used by `package_insert`.
    PACKAGE_INSERT = "INSERT INTO packages (id, version, manifest, digest, component, installed_at)
        VALUES ($1, $2, $3, $4, $5, $6)";
    /// Used by `package_list`.
    PACKAGE_LIST = "SELECT p.id, p.version, p.manifest, p.digest, p.installed_at
        FROM plugins c JOIN packages p ON p.id = c.id AND p.version = c.current_version
        ORDER BY p.id";
    /// Used by `package_manifest`.
    PACKAGE_MANIFEST = "SELECT manifest FROM packages WHERE id = $1 AND version = $2";
    /// Used by `package_remove`.
    PACKAGE_REMOVE_ENABLEMENTS = "DELETE FROM enablements WHERE plugin = $1";
    /// Used by `package_remove`.
    PACKAGE_REMOVE_GRANTS = "DELETE FROM grants WHERE plugin = $1";
    /// Used by `package_remove`.
    PACKAGE_REMOVE_PLUGIN = "DELETE FROM plugins WHERE id = $1";
    /// Used by `package_remove`.
    PACKAGE_REMOVE_SIGNATURES = "DELETE FROM package_signatures WHERE id = $1";
    /// Used by `package_remove`.
    PACKAGE_REMOVE_VERSIONS = "DELETE FROM packages WHERE id = $1";
    /// Used by `package_set_current`.
    PACKAGE_SET_CURRENT = "UPDATE plugins SET current_version = $2
        WHERE id = $1 AND EXISTS (SELECT 1 FROM packages WHERE id = $1 AND version = $2)";
    /// Used by `package_delete_version`.
    PACKAGE_SIGNATURE_DELETE_VERSION = "DELETE FROM package_signatures WHERE id = $1 AND version = $2";
    /// Used by `package_signature_get`.
    PACKAGE_SIGNATURE_GET = "SELECT signature FROM package_signatures WHERE id = $1 AND version = $2";
    /// Used by `package_signature_set`.
    PACKAGE_SIGNATURE_SET = "INSERT INTO package_signatures (id, version, signature) VALUES ($1, $2, $3)
        ON CONFLICT (id, version) DO UPDATE SET signature = excluded.signature";
    /// Used by `package_versions`.
    PACKAGE_VERSIONS = "SELECT id, version, manifest, digest, installed_at FROM packages WHERE id = $1";
    /// Used by `ping`.
    PING = "SELECT count(*) FROM plugins";
    /// Used by `package_insert`.
    PLUGIN_SET_CURRENT_INSERT = "INSERT INTO plugins (id, current_version) VALUES ($1, $2)
        ON CONFLICT (id) DO UPDATE SET current_version = excluded.current_version";
    /// Used by `quota_day_get`.
    QUOTA_DAY_GET = "SELECT events, runs FROM quota_day WHERE tenant = $1 AND plugin = $2 AND day = $3";
    /// Used by `role_get`.
    ROLE_GET = "SELECT description FROM roles WHERE tenant = $1 AND name = $2";
    /// Used by `role_insert`.
    ROLE_INSERT = "INSERT INTO roles (tenant, name, description) VALUES ($1, $2, $3)";
    /// Used by `role_list`.
    ROLE_LIST = "SELECT name, description FROM roles WHERE tenant = $1 ORDER BY name";
    /// Used by `role_permissions`.
    ROLE_PERMISSIONS = "SELECT permission FROM role_permissions WHERE tenant = $1 AND role = $2 ORDER BY 1";
    /// Used by `role_revoke`.
    ROLE_REVOKE = "DELETE FROM role_permissions WHERE tenant = $1 AND role = $2 AND permission = $3";
    /// Used by `kv_purge_plugin`.
    SETTINGS_PURGE_PLUGIN = "DELETE FROM plugin_settings WHERE plugin = $1";
    /// Used by `setting_list`.
    SETTING_LIST = "SELECT key, value FROM plugin_settings WHERE tenant = $1 AND plugin = $2 ORDER BY key";
    /// Used by `tenant_get`.
    TENANT_GET = "SELECT id, name, time_zone, created_at FROM tenants WHERE id = $1";
    /// Used by `tenant_insert`.
    TENANT_INSERT = "INSERT INTO tenants (id, name, time_zone, created_at) VALUES ($1, $2, $3, $4)";
    /// Used by `tenant_list`.
    TENANT_LIST = "SELECT id, name, time_zone, created_at FROM tenants ORDER BY id";
    /// Used by `token_revoke`.
    TOKEN_REVOKE = "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    /// Used by `token_touch`.
    TOKEN_TOUCH = "UPDATE tokens SET last_used_at = $2 WHERE id = $1";
    /// Used by `trust_insert`.
    TRUST_INSERT = "INSERT INTO trusted_keys (public_key, name, added_at) VALUES ($1, $2, $3)";
    /// Used by `trust_list`.
    TRUST_LIST = "SELECT name, public_key, added_at FROM trusted_keys ORDER BY name, added_at";
    /// Used by `trust_remove`.
    TRUST_REMOVE = "DELETE FROM trusted_keys WHERE name = $1";
    /// Used by `audit_append`.
    AUDIT_INSERT = "INSERT INTO audit
        (tenant, seq, at, actor, action, target, outcome, detail, duration_us, prev_hash, hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    /// Used by `audit_list`, followed by its conditions.
    AUDIT_LIST = "SELECT tenant, seq, at, actor, action, target, outcome, detail, duration_us,
        prev_hash, hash FROM audit WHERE true";
    /// Used by `token_insert`.
    TOKEN_INSERT = "INSERT INTO tokens
        (id, tenant, username, kind, name, hash, created_at, expires_at, last_used_at, revoked_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    /// Used by `token_get`.
    TOKEN_GET = "SELECT id, tenant, username, kind, name, hash, created_at, expires_at,
        last_used_at, revoked_at FROM tokens WHERE id = $1";
    /// Used by `token_list`.
    TOKEN_LIST = "SELECT id, tenant, username, kind, name, hash, created_at, expires_at,
        last_used_at, revoked_at FROM tokens WHERE tenant = $1 ORDER BY created_at DESC, id";
    /// Used by `user_get`.
    USER_GET = "SELECT tenant, username, display_name, password_hash, system_admin, created_at,
        disabled_at FROM users WHERE tenant = $1 AND username = $2";
    /// Used by `user_insert`.
    USER_INSERT = "INSERT INTO users
        (tenant, username, display_name, password_hash, system_admin, created_at, disabled_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)";
    /// Used by `user_list`.
    USER_LIST = "SELECT tenant, username, display_name, password_hash, system_admin, created_at,
        disabled_at FROM users WHERE tenant = $1 ORDER BY username";
    /// Used by `user_access`.
    USER_PERMISSIONS = "SELECT DISTINCT p.permission FROM user_roles u
        JOIN role_permissions p ON p.tenant = u.tenant AND p.role = u.role
        WHERE u.tenant = $1 AND u.username = $2 ORDER BY 1";
    /// Used by `user_access`.
    USER_ROLES = "SELECT role FROM user_roles WHERE tenant = $1 AND username = $2 ORDER BY 1";
    /// Used by `user_role_remove`.
    USER_ROLE_REMOVE = "DELETE FROM user_roles WHERE tenant = $1 AND username = $2 AND role = $3";
    /// Used by `user_update`.
    USER_UPDATE = "UPDATE users SET display_name = $3, password_hash = $4, disabled_at = $5
        WHERE tenant = $1 AND username = $2";
    /// Used by `replay`.
    WEBHOOK_DELIVERY_EXISTS = "SELECT 1 FROM webhook_deliveries WHERE tenant = $1 AND id = $2";
    /// Used by `finish`.
    WEBHOOK_DELIVERY_FINISH = "UPDATE webhook_deliveries SET state = $3,
        next_attempt_ms = coalesce($4, next_attempt_ms), done_ms = $5,
        last_status = coalesce($6, last_status), last_error = $7,
        lease_until_ms = NULL, lease_owner = NULL
        WHERE id = $1 AND lease_owner = $2";
    /// Used by `claim`.
    WEBHOOK_DELIVERY_LEASE = "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until_ms = $2,
        lease_owner = $3 WHERE id = $1";
    /// Used by `claim`.
    WEBHOOK_DELIVERY_ORPHANED = "UPDATE webhook_deliveries SET state = 'dead', last_error = 'the endpoint was removed',
        lease_until_ms = NULL, lease_owner = NULL WHERE id = $1";
    /// Used by `endpoint_delete`.
    WEBHOOK_ENDPOINT_DELETE = "DELETE FROM webhook_endpoints WHERE tenant = $1 AND id = $2";
    /// Used by `endpoint_delete`.
    WEBHOOK_ENDPOINT_DELIVERIES_DEAD = "UPDATE webhook_deliveries SET state = 'dead', last_error = 'the endpoint was removed',
        lease_until_ms = NULL, lease_owner = NULL, done_ms = $3
        WHERE tenant = $1 AND endpoint_id = $2 AND state = 'pending'";
    /// Used by `endpoint_set_secret`.
    WEBHOOK_ENDPOINT_SET_SECRET = "UPDATE webhook_endpoints SET secret_sealed = $3, secret_generation = $4,
        previous_secret_sealed = $5, previous_secret_until_ms = $6
        WHERE tenant = $1 AND id = $2";
}

/// Used by `audit_append`: the chain's anchor moves to the new link (insert or replace).
pub(super) const AUDIT_ANCHOR_PUT: Sql = Sql {
    pg: "INSERT INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
              VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant) DO UPDATE
                 SET seq = $2, hash = $3, keyed_from = $4, mac = $5",
    lite: "INSERT OR REPLACE INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
         VALUES (?1, ?2, ?3, ?4, ?5)",
};

/// Used by `audit_anchor_create`: a chain that has an anchor keeps it.
pub(super) const AUDIT_ANCHOR_CREATE: Sql = Sql {
    pg: "INSERT INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
              VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant) DO NOTHING",
    lite: "INSERT OR IGNORE INTO audit_anchors (tenant, seq, hash, keyed_from, mac)
         VALUES (?1, ?2, ?3, ?4, ?5)",
};

/// Used by `event_append`. Two writers of a tenant cannot race for a number on
/// SQLite (one writer per file); on PostgreSQL the loser inserts nothing.
pub(super) const EVENT_INSERT: Sql = Sql {
    pg: "INSERT INTO events (tenant, seq, topic, payload, plugin, version, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, seq) DO NOTHING RETURNING id",
    lite: "INSERT INTO events (tenant, seq, topic, payload, plugin, version, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
};

/// Used by `event_list`: PostgreSQL needs the type of a parameter that may be NULL.
pub(super) const EVENT_LIST: Sql = Sql {
    pg: "SELECT id, tenant, seq, topic, payload, plugin, version, created_at_ms FROM events
                     WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR topic = $2)
                     ORDER BY id DESC LIMIT $3",
    lite: "SELECT id, tenant, seq, topic, payload, plugin, version, created_at_ms FROM events
         WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR topic = ?2)
         ORDER BY id DESC LIMIT ?3",
};

/// Used by `job_list`: PostgreSQL needs the type of a parameter that may be NULL.
pub(super) const JOB_LIST: Sql = Sql {
    pg: "SELECT id, tenant, plugin, job, cron, payload, state, next_run_ms, attempts,
                lease_until_ms, lease_owner, last_error FROM jobs
                     WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR plugin = $2)
                     ORDER BY tenant, plugin, job, id",
    lite: "SELECT id, tenant, plugin, job, cron, payload, state, next_run_ms, attempts,
                lease_until_ms, lease_owner, last_error FROM jobs
         WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR plugin = ?2)
         ORDER BY tenant, plugin, job, id",
};

/// Used by `job_runs`: PostgreSQL needs the type of a parameter that may be NULL.
pub(super) const JOB_RUNS: Sql = Sql {
    pg: "SELECT id, job_id, tenant, plugin, job, attempt, started_ms, duration_ms, outcome, error
            FROM job_runs WHERE ($1::bigint IS NULL OR job_id = $1)
                     ORDER BY id DESC LIMIT $2",
    lite: "SELECT id, job_id, tenant, plugin, job, attempt, started_ms, duration_ms, outcome, error
            FROM job_runs WHERE (?1 IS NULL OR job_id = ?1)
         ORDER BY id DESC LIMIT ?2",
};

/// Used by `job_upsert_cron`: a dead-lettered job stays failed.
pub(super) const JOB_UPSERT_CRON: Sql = Sql {
    pg: "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
             VALUES ($1, $2, $3, $4, 'null', 'scheduled', $5)
             ON CONFLICT (tenant, plugin, job) WHERE cron IS NOT NULL DO UPDATE SET
                cron = excluded.cron, next_run_ms = excluded.next_run_ms,
                state = CASE WHEN jobs.state = 'failed' THEN 'failed' ELSE 'scheduled' END,
                lease_until_ms = NULL, lease_owner = NULL",
    lite: "INSERT INTO jobs (tenant, plugin, job, cron, payload, state, next_run_ms)
         VALUES (?1, ?2, ?3, ?4, 'null', 'scheduled', ?5)
         ON CONFLICT (tenant, plugin, job) WHERE cron IS NOT NULL DO UPDATE SET
            cron = excluded.cron, next_run_ms = excluded.next_run_ms,
            state = CASE WHEN state = 'failed' THEN 'failed' ELSE 'scheduled' END,
            lease_until_ms = NULL, lease_owner = NULL",
};

/// Used by `quota_day_add`: the counters of the day grow by what is added.
pub(super) const QUOTA_DAY_ADD: Sql = Sql {
    pg: "INSERT INTO quota_day (tenant, plugin, day, events, runs) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, plugin, day) DO UPDATE
                 SET events = quota_day.events + excluded.events,
                     runs = quota_day.runs + excluded.runs
             RETURNING events, runs",
    lite: "INSERT INTO quota_day (tenant, plugin, day, events, runs) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant, plugin, day)
             DO UPDATE SET events = events + excluded.events, runs = runs + excluded.runs
             RETURNING events, runs",
};

/// Used by `webhook_deliveries`: PostgreSQL needs the type of a parameter that may be
/// NULL.
pub(super) const WEBHOOK_DELIVERIES: Sql = Sql {
    pg: "SELECT id, tenant, endpoint_id, event_id, msg_id, topic, state, attempts,
                next_attempt_ms, last_status, last_error, created_ms, done_ms
               FROM webhook_deliveries
              WHERE tenant = $1 AND ($2::TEXT IS NULL OR endpoint_id = $2)
                AND ($4::TEXT IS NULL OR state = $4)
              ORDER BY id DESC LIMIT $3",
    lite: "SELECT id, tenant, endpoint_id, event_id, msg_id, topic, state, attempts,
                next_attempt_ms, last_status, last_error, created_ms, done_ms
               FROM webhook_deliveries
              WHERE tenant = ?1 AND (?2 IS NULL OR endpoint_id = ?2)
                AND (?4 IS NULL OR state = ?4)
              ORDER BY id DESC LIMIT ?3",
};

/// Used by `webhook_fan_out`: each backend makes the random `webhook-id` its own way.
pub(super) const WEBHOOK_FAN_OUT: Sql = Sql {
    pg: "INSERT INTO webhook_deliveries
               (tenant, endpoint_id, event_id, msg_id, topic, state, next_attempt_ms, created_ms)
             VALUES ($1, $2, $3, 'msg_' || replace(gen_random_uuid()::text, '-', ''), $4,
                     'pending', $5, $5)
             ON CONFLICT DO NOTHING",
    lite: "INSERT INTO webhook_deliveries
                   (tenant, endpoint_id, event_id, msg_id, topic, state, next_attempt_ms, created_ms)
                 VALUES (?1, ?2, ?3, 'msg_' || lower(hex(randomblob(16))), ?4, 'pending', ?5, ?5)
                 ON CONFLICT (event_id, endpoint_id) DO NOTHING",
};

/// Used by `webhook_replay`.
pub(super) const WEBHOOK_REPLAY: Sql = Sql {
    pg: "UPDATE webhook_deliveries d SET state = 'pending', attempts = 0, next_attempt_ms = $3,
                done_ms = NULL, lease_until_ms = NULL, lease_owner = NULL
          WHERE d.tenant = $1 AND d.id = $2 AND d.state IN ('dead', 'delivered')
            AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id)",
    lite: "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_ms = ?3,
                done_ms = NULL, lease_until_ms = NULL, lease_owner = NULL
          WHERE tenant = ?1 AND id = ?2 AND state IN ('dead', 'delivered')
            AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = endpoint_id)",
};

/// Used by `role_grant`: a permission the role holds already is left alone.
pub(super) const ROLE_GRANT: Sql = Sql {
    pg: "INSERT INTO role_permissions (tenant, role, permission) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
    lite: "INSERT OR IGNORE INTO role_permissions (tenant, role, permission) VALUES (?1, ?2, ?3)",
};

/// Used by `user_role_add`: a role the user holds already is left alone.
pub(super) const USER_ROLE_ADD: Sql = Sql {
    pg: "INSERT INTO user_roles (tenant, username, role) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
    lite: "INSERT OR IGNORE INTO user_roles (tenant, username, role) VALUES (?1, ?2, ?3)",
};

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_text_numbers_parameters_as_postgres_does() {
        let q = super::USER_UPDATE;
        assert!(q.pg.contains("$3") && !q.pg.contains('?'));
        assert_eq!(q.lite, q.pg.replace('$', "?"));
    }
}
