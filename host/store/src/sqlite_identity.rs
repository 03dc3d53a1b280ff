//! SQLite tables of users, roles, tokens, the audit log and the sign-in throttle (the
//! methods both backends run on them are in `identity.rs`).

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    system_admin INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    PRIMARY KEY (tenant, username)
);
CREATE TABLE IF NOT EXISTS roles (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS role_permissions (
    tenant TEXT NOT NULL,
    role TEXT NOT NULL,
    permission TEXT NOT NULL,
    PRIMARY KEY (tenant, role, permission),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS user_roles (
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (tenant, username, role),
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username),
    FOREIGN KEY (tenant, role) REFERENCES roles (tenant, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT,
    FOREIGN KEY (tenant, username) REFERENCES users (tenant, username)
);
CREATE INDEX IF NOT EXISTS tokens_by_tenant ON tokens (tenant, created_at);
CREATE TABLE IF NOT EXISTS audit (
    tenant TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    duration_us INTEGER,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE TABLE IF NOT EXISTS audit_anchors (
    tenant TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    keyed_from INTEGER NOT NULL,
    mac TEXT NOT NULL
) WITHOUT ROWID;
DROP TABLE IF EXISTS login_failures;
CREATE TABLE IF NOT EXISTS login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_ms INTEGER NOT NULL,
    next_allowed_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS login_throttle_by_age ON login_throttle (last_failure_ms);
"#;
