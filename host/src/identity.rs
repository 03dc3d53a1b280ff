//! Users, roles and bearer tokens, and how a token becomes a [`Principal`].
//!
//! - Passwords are hashed with Argon2id at the OWASP Password Storage Cheat Sheet
//!   parameters (19 MiB memory, 2 iterations, 1 lane) and stored as PHC strings;
//!   hashing runs on a bounded pool (`identity/passwords.rs`).
//! - Tokens read `bo_<id>_<secret>`: a public id (to list and revoke) and 256 random
//!   bits. Only SHA-256 of the whole text is stored (a slow hash adds nothing to a
//!   256-bit random secret); the check compares hashes in constant time.
//! - Session tokens come from `login` and expire; API tokens are created by an admin,
//!   shown once, and expire only if asked to.
//! - Sign-in attempts are counted per account and per client address; past a few
//!   failures each further one makes the next attempt wait longer, up to a minute
//!   ([`throttle`]).

mod passwords;
pub mod throttle;

pub(crate) use passwords::PasswordPool;
pub use passwords::hash_password;

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Host;
use crate::auth::{Principal, PrincipalKind};
use crate::error::{HostError, HostResult};
use crate::host::now_rfc3339;
use crate::manifest::{check_ident, is_ident};
use crate::store::{HOST_SCOPE, RoleRecord, TokenRecord, Transaction, UserRecord};

/// Token kinds.
pub const SESSION: &str = "session";
/// Long-lived integration tokens.
pub const API: &str = "api";

/// Prefix that makes tokens recognisable to people and secret scanners.
const TOKEN_PREFIX: &str = "bo_";

fn random_bytes<const N: usize>() -> HostResult<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| HostError::Internal(format!("the system random source failed: {e}")))?;
    Ok(buf)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Split `bo_<id>_<secret>` into its id; none when malformed.
fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some(id)
}

/// Parse a duration like `90d`, `12h`, `30m` or `45s`.
pub fn parse_duration(text: &str) -> HostResult<Duration> {
    let bad = || {
        HostError::InvalidInput(format!(
            "'{text}' is not a duration; write a number and a unit: 45s, 30m, 12h or 90d"
        ))
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn is_past(at: &str, now: OffsetDateTime) -> bool {
    OffsetDateTime::parse(at, &Rfc3339).map_or(true, |t| t <= now)
}

/// A permission pattern: `*`, `ledger.*`, or a dotted name like `ledger.post`.
fn check_permission_pattern(p: &str) -> HostResult<()> {
    let name = p.strip_suffix(".*").unwrap_or(p);
    let ok = p == "*"
        || (!name.is_empty()
            && name.split('.').all(|part| is_ident(part, 64))
            && (name.contains('.') || p.ends_with(".*")));
    if ok {
        Ok(())
    } else {
        Err(HostError::InvalidInput(format!(
            "'{p}' is not a permission pattern; use a name like 'ledger.post', a wildcard like 'ledger.*', or '*' for everything"
        )))
    }
}

/// A token just created: its text is shown once and never again.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    /// The bearer token text.
    pub token: String,
    /// What is stored about it.
    #[serde(flatten)]
    pub record: TokenRecord,
}

fn scope_of(tenant: Option<&str>) -> &str {
    tenant.unwrap_or(HOST_SCOPE)
}

fn describe_scope(tenant: Option<&str>) -> String {
    match tenant {
        Some(t) => format!("tenant '{t}'"),
        None => "the host (system administrators)".into(),
    }
}

impl Host {
    /// Hash a password for storage, on the host's password pool.
    fn hash_password(&self, password: &str) -> HostResult<String> {
        self.passwords
            .admit()?
            .run(|| passwords::hash_password(password))
    }

    fn require_user(
        tx: &mut dyn Transaction,
        tenant: Option<&str>,
        username: &str,
    ) -> HostResult<UserRecord> {
        tx.user_get(scope_of(tenant), username)?.ok_or_else(|| {
            HostError::NotFound(format!(
                "no user '{username}' in {}; create it with `backoffice user create {username}{}`",
                describe_scope(tenant),
                tenant
                    .map(|t| format!(" --tenant {t}"))
                    .unwrap_or_else(|| " --system-admin".into())
            ))
        })
    }

    fn require_role(tx: &mut dyn Transaction, tenant: &str, role: &str) -> HostResult<RoleRecord> {
        tx.role_get(tenant, role)?.ok_or_else(|| {
            HostError::NotFound(format!(
                "no role '{role}' in tenant '{tenant}'; see `backoffice role list --tenant {tenant}`"
            ))
        })
    }

    /// Create a user in `tenant`, or a system administrator when `tenant` is none.
    /// Without a password the user can only act through API tokens.
    pub fn create_user(
        &self,
        tenant: Option<&str>,
        username: &str,
        display_name: Option<&str>,
        password: Option<&str>,
    ) -> HostResult<UserRecord> {
        check_ident("user name", username, 64).map_err(HostError::InvalidInput)?;
        let password_hash = password.map(|p| self.hash_password(p)).transpose()?;
        let mut tx = self.begin_for(tenant)?;
        if let Some(t) = tenant {
            Host::require_tenant(tx.as_mut(), t)?;
        }
        let user = UserRecord {
            tenant: scope_of(tenant).to_string(),
            username: username.to_string(),
            display_name: display_name.unwrap_or(username).to_string(),
            password_hash,
            system_admin: tenant.is_none(),
            created_at: now_rfc3339(),
            disabled_at: None,
        };
        tx.user_insert(&user)?;
        self.audit_admin(
            tx.as_mut(),
            tenant,
            "user.create",
            format!("user:{username}"),
            serde_json::json!({ "system_admin": user.system_admin, "password": password.is_some() }),
        )?;
        tx.commit()?;
        Ok(user)
    }

    /// Set or clear a user's password, or disable the user (which also stops every
    /// token of the user from working). A new password ends every session the user
    /// signed in to before it (their session tokens are revoked); API tokens, which an
    /// administrator created on purpose, keep working until revoked.
    pub fn update_user(
        &self,
        tenant: Option<&str>,
        username: &str,
        password: Option<&str>,
        disable: bool,
    ) -> HostResult<UserRecord> {
        let password_hash = password.map(|p| self.hash_password(p)).transpose()?;
        let mut tx = self.begin_for(tenant)?;
        let mut user = Host::require_user(tx.as_mut(), tenant, username)?;
        if password_hash.is_some() {
            user.password_hash = password_hash;
        }
        if disable && user.disabled_at.is_none() {
            user.disabled_at = Some(now_rfc3339());
        }
        tx.user_update(&user)?;
        let mut ended_sessions = Vec::new();
        if password.is_some() {
            let now = now_rfc3339();
            for token in tx.token_list(scope_of(tenant))? {
                if token.username == user.username
                    && token.kind == SESSION
                    && token.revoked_at.is_none()
                    && tx.token_revoke(&token.id, &now)?
                {
                    ended_sessions.push(token.id);
                }
            }
        }
        self.audit_admin(
            tx.as_mut(),
            tenant,
            "user.update",
            format!("user:{username}"),
            serde_json::json!({
                "password_changed": password.is_some(),
                "disabled": disable,
                "ended_sessions": ended_sessions,
            }),
        )?;
        tx.commit()?;
        Ok(user)
    }

    /// Users of a tenant, or the system administrators.
    pub fn users(&self, tenant: Option<&str>) -> HostResult<Vec<UserRecord>> {
        let mut tx = self.read_scope(tenant)?;
        Ok(tx.user_list(scope_of(tenant))?)
    }

    /// Create a role in a tenant with initial permission patterns.
    pub fn create_role(
        &self,
        tenant: &str,
        name: &str,
        description: &str,
        permissions: &[String],
    ) -> HostResult<RoleRecord> {
        check_ident("role name", name, 64).map_err(HostError::InvalidInput)?;
        for p in permissions {
            check_permission_pattern(p)?;
        }
        let mut tx = self.write_tenant(tenant)?;
        let mut permissions = permissions.to_vec();
        permissions.sort();
        permissions.dedup();
        let role = RoleRecord {
            tenant: tenant.to_string(),
            name: name.to_string(),
            description: description.to_string(),
            permissions,
        };
        tx.role_insert(&role)?;
        self.audit_admin(
            tx.as_mut(),
            Some(tenant),
            "role.create",
            format!("role:{name}"),
            serde_json::json!({ "permissions": role.permissions }),
        )?;
        tx.commit()?;
        Ok(role)
    }

    /// Roles of a tenant.
    pub fn roles(&self, tenant: &str) -> HostResult<Vec<RoleRecord>> {
        let mut tx = self.read_tenant(tenant)?;
        Ok(tx.role_list(tenant)?)
    }

    /// Grant (or with `revoke`, take back) a permission pattern on a role.
    pub fn set_role_permission(
        &self,
        tenant: &str,
        role: &str,
        permission: &str,
        revoke: bool,
    ) -> HostResult<RoleRecord> {
        check_permission_pattern(permission)?;
        let mut tx = self.write_tenant(tenant)?;
        Host::require_role(tx.as_mut(), tenant, role)?;
        let changed = if revoke {
            tx.role_revoke(tenant, role, permission)?
        } else {
            tx.role_grant(tenant, role, permission)?
        };
        if changed {
            let action = if revoke { "role.revoke" } else { "role.grant" };
            self.audit_admin(
                tx.as_mut(),
                Some(tenant),
                action,
                format!("role:{role}"),
                serde_json::json!({ "permission": permission }),
            )?;
        }
        let updated = Host::require_role(tx.as_mut(), tenant, role)?;
        tx.commit()?;
        Ok(updated)
    }

    /// Give a user a role (or with `remove`, take it away).
    pub fn set_user_role(
        &self,
        tenant: &str,
        username: &str,
        role: &str,
        remove: bool,
    ) -> HostResult<Vec<String>> {
        let mut tx = self.write_tenant(tenant)?;
        Host::require_user(tx.as_mut(), Some(tenant), username)?;
        Host::require_role(tx.as_mut(), tenant, role)?;
        let changed = if remove {
            tx.user_role_remove(tenant, username, role)?
        } else {
            tx.user_role_add(tenant, username, role)?
        };
        if changed {
            let action = if remove {
                "user.unassign-role"
            } else {
                "user.assign-role"
            };
            self.audit_admin(
                tx.as_mut(),
                Some(tenant),
                action,
                format!("user:{username}"),
                serde_json::json!({ "role": role }),
            )?;
        }
        let (roles, _) = tx.user_access(tenant, username)?;
        tx.commit()?;
        Ok(roles)
    }

    fn issue_token(
        &self,
        tx: &mut dyn Transaction,
        user: &UserRecord,
        kind: &str,
        name: &str,
        ttl: Option<Duration>,
    ) -> HostResult<NewToken> {
        let id = hex::encode(random_bytes::<8>()?);
        let token = format!("{TOKEN_PREFIX}{id}_{}", hex::encode(random_bytes::<32>()?));
        let now = OffsetDateTime::now_utc();
        let record = TokenRecord {
            id,
            tenant: user.tenant.clone(),
            username: user.username.clone(),
            kind: kind.to_string(),
            name: name.to_string(),
            hash: token_hash(&token),
            created_at: rfc3339(now),
            expires_at: ttl.map(|d| rfc3339(now + d)),
            last_used_at: None,
            revoked_at: None,
        };
        tx.token_insert(&record)?;
        Ok(NewToken { token, record })
    }

    /// Create an API token for a user; the returned text is the only copy.
    pub fn create_token(
        &self,
        tenant: Option<&str>,
        username: &str,
        name: &str,
        ttl: Option<Duration>,
    ) -> HostResult<NewToken> {
        if name.trim().is_empty() || name.len() > 100 {
            return Err(HostError::InvalidInput(
                "give the token a name of 1 to 100 characters, such as the integration it is for"
                    .into(),
            ));
        }
        let mut tx = self.begin_for(tenant)?;
        let user = Host::require_user(tx.as_mut(), tenant, username)?;
        if user.disabled_at.is_some() {
            return Err(HostError::Conflict(format!(
                "user '{username}' is disabled; tokens cannot be created for it"
            )));
        }
        let new = self.issue_token(tx.as_mut(), &user, API, name, ttl)?;
        self.audit_admin(
            tx.as_mut(),
            tenant,
            "token.create",
            format!("token:{}", new.record.id),
            serde_json::json!({ "user": username, "name": name, "expires_at": new.record.expires_at }),
        )?;
        tx.commit()?;
        Ok(new)
    }

    /// Tokens of a tenant (or of system administrators), without their secrets.
    pub fn tokens(&self, tenant: Option<&str>) -> HostResult<Vec<TokenRecord>> {
        let mut tx = self.read_scope(tenant)?;
        Ok(tx.token_list(scope_of(tenant))?)
    }

    /// Revoke a token by its public id; it stops working at once.
    pub fn revoke_token(&self, id: &str) -> HostResult<TokenRecord> {
        let owner = self.storage.begin_read()?.token_get(id)?.map(|t| t.tenant);
        let mut tx = self.begin_for(owner.as_deref().filter(|t| *t != HOST_SCOPE))?;
        let token = tx.token_get(id)?.ok_or_else(|| {
            HostError::NotFound(format!(
                "no token with id '{id}'; see `backoffice token list`"
            ))
        })?;
        if !tx.token_revoke(id, &now_rfc3339())? {
            return Err(HostError::Conflict(format!(
                "token '{id}' is already revoked"
            )));
        }
        let tenant = (token.tenant != HOST_SCOPE).then_some(token.tenant.as_str());
        self.audit_admin(
            tx.as_mut(),
            tenant,
            "token.revoke",
            format!("token:{id}"),
            serde_json::json!({ "user": token.username, "kind": token.kind }),
        )?;
        let revoked = tx.token_get(id)?.unwrap_or(token);
        tx.commit()?;
        Ok(revoked)
    }

    /// Sign in with a password; returns a session token that expires after the
    /// configured session lifetime. `client` is the caller's address.
    ///
    /// An account or address still waiting out its delay is refused with
    /// [`HostError::RateLimited`] before the password is looked at, and every attempt
    /// is refused with [`HostError::Busy`] while the host's password pool is full
    /// (see [`throttle`] and `identity/passwords.rs`).
    pub fn login(
        &self,
        tenant: Option<&str>,
        username: &str,
        password: &str,
        client: &str,
    ) -> HostResult<NewToken> {
        let ticket = self.passwords.admit()?;
        let account_key = format!("account:{}/{username}", scope_of(tenant));
        let client_key = format!("client:{client}");
        let keys = [
            (account_key.as_str(), throttle::ACCOUNT_FREE),
            (client_key.as_str(), throttle::CLIENT_FREE),
        ];
        // Checked and counted in one write, so that concurrent guesses take turns.
        let counted = self.retrying(|| {
            let mut tx = self.begin_scoped(throttle::SCOPE)?;
            let counted = throttle::count_attempt(tx.as_mut(), &keys, self.clock.now_ms())?;
            tx.commit()?;
            Ok(counted)
        })?;
        let user = {
            let mut tx = self.storage.begin_read()?;
            tx.user_get(scope_of(tenant), username)?
        };
        let valid = ticket.run(|| match &user {
            Some(u) if u.disabled_at.is_none() => u
                .password_hash
                .as_deref()
                .is_some_and(|h| passwords::verify_password(password, h)),
            _ => {
                passwords::verify_password(password, passwords::dummy_hash());
                false
            }
        });
        drop(ticket);
        let Some(user) = user.filter(|_| valid) else {
            // The attempt is counted already; the refusal goes to the audit log.
            let mut tx = self.begin_for(tenant)?;
            let chain = tenant.filter(|t| tx.tenant_get(t).ok().flatten().is_some());
            if tenant.is_none() || chain.is_some() {
                crate::audit::append(
                    tx.as_mut(),
                    self.audit_key(),
                    crate::audit::Entry {
                        outcome: "unauthenticated".into(),
                        ..crate::audit::Entry::admin(
                            scope_of(chain),
                            &format!("client:{client}"),
                            "login",
                            format!("user:{username}"),
                            serde_json::json!({}),
                        )
                    },
                )?;
            }
            tx.commit()?;
            return Err(HostError::Unauthenticated(
                "user name or password is wrong, or the user is disabled".into(),
            ));
        };
        self.retrying(|| {
            let mut tx = self.begin_scoped(throttle::SCOPE)?;
            throttle::succeeded(tx.as_mut(), &counted, &account_key, self.clock.now_ms())?;
            tx.commit()?;
            Ok(())
        })?;
        // The session's token index is a host row: the main database is locked
        // first, then the tenant's (the storage's lock order).
        let mut tx = self.begin_for(tenant)?;
        let new = self.issue_token(tx.as_mut(), &user, SESSION, "login", Some(self.session_ttl))?;
        crate::audit::append(
            tx.as_mut(),
            self.audit_key(),
            crate::audit::Entry::admin(
                scope_of(tenant),
                &format!("user:{username}"),
                "login",
                format!("token:{}", new.record.id),
                serde_json::json!({ "client": client, "expires_at": new.record.expires_at }),
            ),
        )?;
        tx.commit()?;
        Ok(new)
    }

    /// End a session: revoke the token it was given.
    pub fn logout(&self, principal: &Principal) -> HostResult<()> {
        let Some(id) = &principal.token_id else {
            return Err(HostError::InvalidInput(
                "this request was not made with a token".into(),
            ));
        };
        let mut tx = self.begin_for(principal.tenant.as_deref())?;
        if tx.token_revoke(id, &now_rfc3339())? {
            crate::audit::append(
                tx.as_mut(),
                self.audit_key(),
                crate::audit::Entry::admin(
                    principal.tenant.as_deref().unwrap_or(HOST_SCOPE),
                    &principal.actor(),
                    "logout",
                    format!("token:{id}"),
                    serde_json::json!({}),
                ),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Turn a bearer token into the principal it stands for. Every failure is
    /// [`HostError::Unauthenticated`].
    pub fn authenticate(&self, token: &str) -> HostResult<Principal> {
        self.authenticate_at(token, None)
    }

    /// [`Host::authenticate`] with the identity stamp read just before, if it was
    /// (see [`crate::store::Storage::stamps`]).
    pub(crate) fn authenticate_at(&self, token: &str, stamp: Option<i64>) -> HostResult<Principal> {
        let refuse = |why: &str| HostError::Unauthenticated(why.to_string());
        let id = token_id(token).ok_or_else(|| {
            refuse("the bearer token is malformed; tokens look like bo_<16 hex>_<64 hex>")
        })?;
        let now = OffsetDateTime::now_utc();
        let hash = token_hash(token);
        // Read before the rows: a change committed after this read moves the stamp
        // again, so a principal cached below can only be stale by one request.
        let stamp = match stamp {
            Some(stamp) => stamp,
            None => self.storage.identity_stamp()?,
        };
        if let Some(principal) = self.principals.get(id, &hash, stamp, now) {
            return Ok(principal);
        }
        let (record, user, roles, permissions) = {
            let mut tx = self.storage.begin_read()?;
            let record = tx.token_get(id)?;
            // Compare even when the id is unknown, so both cases take the same time.
            let stored = record.as_ref().map_or("", |r| r.hash.as_str());
            let matches: bool = hash.as_bytes().ct_eq(stored.as_bytes()).into();
            let record = record
                .filter(|_| matches)
                .ok_or_else(|| refuse("the bearer token is not valid"))?;
            if record.revoked_at.is_some() {
                return Err(refuse("the bearer token was revoked"));
            }
            if record
                .expires_at
                .as_deref()
                .is_some_and(|at| is_past(at, now))
            {
                return Err(refuse(
                    "the bearer token has expired; sign in again or ask for a new token",
                ));
            }
            let user = tx
                .user_get(&record.tenant, &record.username)?
                .filter(|u| u.disabled_at.is_none())
                .ok_or_else(|| refuse("the user of this token is disabled or removed"))?;
            let (roles, permissions) = if user.system_admin {
                (vec!["system-admin".to_string()], vec!["*".to_string()])
            } else {
                tx.user_access(&record.tenant, &record.username)?
            };
            (record, user, roles, permissions)
        };
        // Record use at most once a minute: a write per request would serialise reads.
        let stale = record.last_used_at.as_deref().is_none_or(|at| {
            OffsetDateTime::parse(at, &Rfc3339).map_or(true, |t| now - t > time::Duration::MINUTE)
        });
        if stale {
            if crate::runtime::inline::active() {
                // A write: not on an async worker (see `runtime::inline`).
                return Err(crate::runtime::inline::refuse());
            }
            let mut tx = self.begin_scoped(&record.tenant)?;
            tx.token_touch(&record.id, &rfc3339(now))?;
            tx.commit()?;
        }
        let principal = Principal {
            id: Some(user.username),
            tenant: (!user.system_admin).then_some(record.tenant.clone()),
            token_id: Some(record.id.clone()),
            kind: if record.kind == SESSION {
                PrincipalKind::User
            } else {
                PrincipalKind::Token
            },
            roles,
            permissions,
        };
        self.principals.put(&record, hash, stamp, now, &principal);
        Ok(principal)
    }
}

/// Principals of recently seen tokens, so that a request with a known token costs one
/// small read (the identity stamp) instead of reading the token, the user and the
/// roles. An entry is used only while the stamp is unchanged (any revocation, role,
/// permission or user change anywhere moves it), before the token's expiry, and for
/// the very token it was made from (its hash is compared in constant time).
#[derive(Default)]
pub(crate) struct PrincipalCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedPrincipal>>,
}

struct CachedPrincipal {
    hash: String,
    stamp: i64,
    expires_at: Option<OffsetDateTime>,
    /// When the token's use was last recorded (`token_touch`).
    used_at: OffsetDateTime,
    principal: Principal,
}

/// Entries kept at most; when full, the cache starts again empty.
const PRINCIPAL_CACHE_SIZE: usize = 10_000;

impl PrincipalCache {
    /// The cached principal of token `id`, if it is still good at `now` under `stamp`.
    fn get(&self, id: &str, hash: &str, stamp: i64, now: OffsetDateTime) -> Option<Principal> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(id)?;
        let same: bool = entry.hash.as_bytes().ct_eq(hash.as_bytes()).into();
        let fresh = entry.stamp == stamp
            && entry.expires_at.is_none_or(|at| now < at)
            // Use is recorded once a minute, by the slow path.
            && now - entry.used_at <= time::Duration::MINUTE;
        (same && fresh).then(|| entry.principal.clone())
    }

    fn put(
        &self,
        record: &TokenRecord,
        hash: String,
        stamp: i64,
        now: OffsetDateTime,
        principal: &Principal,
    ) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= PRINCIPAL_CACHE_SIZE {
            entries.clear();
        }
        let expires_at = match record.expires_at.as_deref() {
            Some(at) => match OffsetDateTime::parse(at, &Rfc3339) {
                Ok(t) => Some(t),
                // An expiry that cannot be read is not cached: the slow path decides.
                Err(_) => return,
            },
            None => None,
        };
        let used_at = record
            .last_used_at
            .as_deref()
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
            .filter(|t| now - *t <= time::Duration::MINUTE)
            .unwrap_or(now);
        entries.insert(
            record.id.clone(),
            CachedPrincipal {
                hash,
                stamp,
                expires_at,
                used_at,
                principal: principal.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_parse_only_well_formed_tokens() {
        let t = format!("bo_{}_{}", "a".repeat(16), "b".repeat(64));
        assert_eq!(token_id(&t), Some("aaaaaaaaaaaaaaaa"));
        assert_eq!(token_id("bo_short_x"), None);
        assert_eq!(token_id(&t.replace("bo_", "xx_")), None);
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("90d").unwrap(),
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("0h").is_err());
    }

    #[test]
    fn permission_patterns() {
        for ok in ["*", "ledger.*", "ledger.post", "ledger.admin.lock"] {
            assert!(check_permission_pattern(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ledger",
            "Ledger.post",
            "ledger.",
            "*.post",
            "ledger.**",
        ] {
            assert!(check_permission_pattern(bad).is_err(), "{bad}");
        }
    }
}
