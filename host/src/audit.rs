//! The audit log: one keyed hash chain per tenant (and one for host administration).
//!
//! Each link stores what happened and `hash = HMAC-SHA256(key, fields, prev_hash)`,
//! under the host's audit key ([`AuditKey`], a file outside the database). A link is
//! written in the same transaction as the change it records, so a change without its
//! link (or a link without its change) cannot be committed.
//!
//! Every chain also has an anchor ([`AuditAnchor`]): its head `(seq, hash)` and the
//! first keyed link, MACed with the same key and moved in the same transaction as each
//! link, in the same database as the chain (no host-wide write per tenant commit).
//! `verify` recomputes every chain against its anchor: an edited link fails its MAC
//! (which cannot be recomputed without the key), a link deleted in the middle leaves a
//! gap, a cut tail leaves the anchor pointing past the last link, an edited anchor
//! fails its MAC, and a chain dropped with its anchor is missed for every tenant the
//! tenants table or the host chain says exists.
//!
//! Links written before the host had a key are plain SHA-256 and still verify as such
//! up to `keyed_from`; the first keyed link (or the anchor) pins them.
//!
//! What the chain cannot show: someone holding the key file and write access, or who
//! puts back an older copy of a chain together with its anchor (a whole older database
//! file, or a saved anchor row after cutting the links behind it). Exporting the heads
//! `audit verify` prints closes that gap.

use std::path::Path;
use std::time::Duration;

use hmac::{Hmac, Mac};

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

use crate::Host;
use crate::error::{HostError, HostResult};
use crate::store::{AuditAnchor, AuditQuery, AuditRecord, HOST_SCOPE, Storage, Transaction};

/// How long listing or verifying the log waits for read links still queued.
const FLUSH_WAIT: Duration = Duration::from_secs(5);
/// How long a change (or a refused call) waits for the read links queued before it,
/// so that one caller's actions are chained in the order they happened.
pub(crate) const ORDER_WAIT: Duration = Duration::from_secs(5);

/// `prev_hash` of the first link of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Fixed-width UTC timestamps, so text order is time order.
const AT_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Format a time the way audit links store it.
pub fn format_at(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(AT_FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".into())
}

/// Parse a `--since` value: an RFC 3339 time or a date (midnight UTC).
pub fn parse_since(text: &str) -> HostResult<String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(format_at(t));
    }
    let date_format = format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(text, date_format) {
        return Ok(format_at(d.midnight().assume_utc()));
    }
    Err(HostError::InvalidInput(format!(
        "'{text}' is not a date (2026-01-31) or an RFC 3339 time (2026-01-31T09:00:00Z)"
    )))
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Tenant id, or [`HOST_SCOPE`].
    pub tenant: String,
    /// Who acted.
    pub actor: String,
    /// What was done (`invoke`, `plugin.enable`, ...).
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// `ok` or an error code.
    pub outcome: String,
    /// Further facts.
    pub detail: serde_json::Value,
    /// How long it took, for invocations.
    pub duration: Option<Duration>,
}

impl Entry {
    /// A successful admin action.
    pub fn admin(
        tenant: &str,
        actor: &str,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> Entry {
        Entry {
            tenant: tenant.to_string(),
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.into(),
            outcome: "ok".into(),
            detail,
            duration: None,
        }
    }
}

/// Name of the audit key file in the data directory, unless `--audit-key-file` names
/// another.
pub const KEY_FILE: &str = "audit.key";

/// The secret that seals audit links and anchors: 32 random bytes, kept in a file
/// outside the database (64 hex digits, mode 0600). Whoever can write the database
/// but not read this file cannot rewrite a chain without `verify` noticing.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// A new random key.
    pub fn generate() -> HostResult<AuditKey> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            HostError::Internal(format!("cannot draw random bytes for the audit key: {e}"))
        })?;
        Ok(AuditKey(bytes))
    }

    /// A fixed key for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests() -> AuditKey {
        AuditKey([7; 32])
    }

    /// HMAC-SHA256 of `text` in the domain `what` (links and anchors never share one).
    fn mac(&self, what: &str, text: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"backoffice audit ");
        mac.update(what.as_bytes());
        mac.update(b" v1\n");
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A key for another purpose (`what`), derived from this one: one key file
    /// protects several kinds of host secrets without them sharing a key.
    pub(crate) fn derive(&self, what: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"backoffice derive ");
        mac.update(what.as_bytes());
        mac.update(b" v1");
        mac.finalize().into_bytes().into()
    }

    /// Read the key file at `path`.
    fn read(path: &Path) -> HostResult<AuditKey> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            HostError::Internal(format!(
                "cannot read the audit key file {}: {e}",
                path.display()
            ))
        })?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| {
            HostError::InvalidInput(format!(
                "{} is not an audit key: it must hold 64 hexadecimal digits (32 bytes); restore the key file this host wrote, or point --audit-key-file at it",
                path.display()
            ))
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                return Err(HostError::InvalidInput(format!(
                    "the audit key file {} can be read by other users (mode {:o}); make it private with `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                )));
            }
        }
        Ok(AuditKey(bytes))
    }

    /// Write the key to a new file at `path` (mode 0600), failing if it exists.
    fn write_new(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        file.write_all(format!("{}\n", hex::encode(self.0)).as_bytes())?;
        file.sync_all()
    }
}

/// Open the audit key of `storage` at `path`, keying the database on its first start.
///
/// - `path` exists: its key.
/// - `path` is missing but the host chain has an anchor (the chains are keyed): refused,
///   since a new key would make every existing chain fail `verify`.
/// - Otherwise (a new database, or one written before audit keys): a new key is made,
///   every chain without an anchor gets one at its current head (older links stay
///   plain SHA-256 and verify as such), then the key file appears. The key waits in
///   `<path>.new` meanwhile, so a crash part-way resumes with the same key.
pub(crate) fn open_key(path: &Path, storage: &dyn Storage) -> HostResult<AuditKey> {
    if path.exists() {
        let key = AuditKey::read(path)?;
        check_host_anchor(storage, &key, path);
        return Ok(key);
    }
    let pending = {
        let mut name = path.as_os_str().to_owned();
        name.push(".new");
        std::path::PathBuf::from(name)
    };
    let key = if pending.exists() {
        AuditKey::read(&pending)?
    } else {
        if storage.begin_read()?.audit_anchor(HOST_SCOPE)?.is_some() {
            // Another process starting at the same moment may have just finished.
            if path.exists() {
                return AuditKey::read(path);
            }
            return Err(HostError::Integrity(format!(
                "the audit key file {} is missing, but this database's audit chains are keyed: restore the file from a backup (every host sharing a database needs the same file; see --audit-key-file or BACKOFFICE_AUDIT_KEY_FILE). Without it no link written since keying can be verified, so the host does not start with a new key",
                path.display()
            )));
        }
        let key = AuditKey::generate()?;
        // Made under a private name, then linked into place: another process starting
        // at the same moment either wins (and we read its key) or loses.
        let own = {
            let mut name = pending.as_os_str().to_owned();
            name.push(format!(".{}", std::process::id()));
            std::path::PathBuf::from(name)
        };
        let _ = std::fs::remove_file(&own);
        key.write_new(&own).map_err(|e| {
            HostError::Internal(format!(
                "cannot write the audit key file {}: {e}",
                own.display()
            ))
        })?;
        let linked = std::fs::hard_link(&own, &pending);
        let _ = std::fs::remove_file(&own);
        match linked {
            Ok(()) => key,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => AuditKey::read(&pending)?,
            Err(e) => {
                return Err(HostError::Internal(format!(
                    "cannot write the audit key file {}: {e}",
                    pending.display()
                )));
            }
        }
    };
    anchor_every_chain(storage, &key)?;
    match std::fs::rename(&pending, path) {
        Ok(()) => {}
        // Another process starting at the same moment moved it first.
        Err(_) if path.exists() => {}
        Err(e) => {
            return Err(HostError::Internal(format!(
                "cannot move the audit key file {} to {}: {e}",
                pending.display(),
                path.display()
            )));
        }
    }
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    tracing::info!(file = %path.display(), "audit chains keyed; keep a copy of this file with the backups of the database");
    AuditKey::read(path)
}

/// Log loudly when the host chain's anchor does not verify with `key`: the key file is
/// not the one the chains were written with (or the anchor was edited). The host still
/// starts, so `audit verify` can show what is wrong.
fn check_host_anchor(storage: &dyn Storage, key: &AuditKey, path: &Path) {
    let anchor = storage
        .begin_read()
        .and_then(|mut tx| tx.audit_anchor(HOST_SCOPE));
    if let Ok(Some(anchor)) = anchor
        && anchor_mac(key, &anchor) != anchor.mac
    {
        tracing::error!(file = %path.display(),
            "the host audit chain's anchor does not verify with this audit key: the key file is not the one the chains were written with, or the database was edited; run `backoffice audit verify`");
    }
}

/// Give every chain that has none an anchor at its current head: the tenants', then
/// the host chain's (whose anchor marks the database as keyed).
fn anchor_every_chain(storage: &dyn Storage, key: &AuditKey) -> HostResult<()> {
    let mut chains = {
        let mut tx = storage.begin_read()?;
        let mut chains: Vec<String> = tx.tenant_list()?.into_iter().map(|t| t.id).collect();
        chains.extend(tx.audit_chains()?);
        chains
    };
    chains.retain(|c| c != HOST_SCOPE);
    chains.sort();
    chains.dedup();
    chains.push(HOST_SCOPE.to_string());
    for chain in &chains {
        crate::host::retrying(|| {
            let mut tx = storage.begin_scoped(chain)?;
            if anchor_if_missing(tx.as_mut(), key, chain)? {
                tx.commit()?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Give `chain` an anchor at its current head if it has none; true if it got one.
/// Its links so far count as written before keying (plain SHA-256).
pub(crate) fn anchor_if_missing(
    tx: &mut dyn Transaction,
    key: &AuditKey,
    chain: &str,
) -> HostResult<bool> {
    if tx.audit_anchor(chain)?.is_some() {
        return Ok(false);
    }
    let (seq, hash) = tx
        .audit_head(chain)?
        .unwrap_or_else(|| (0, GENESIS.to_string()));
    let anchor = seal_anchor(key, chain, seq, hash, seq + 1);
    Ok(tx.audit_anchor_create(&anchor)?)
}

/// An anchor of `chain` at `(seq, hash)`, MACed with `key`.
fn seal_anchor(
    key: &AuditKey,
    chain: &str,
    seq: u64,
    hash: String,
    keyed_from: u64,
) -> AuditAnchor {
    let mut anchor = AuditAnchor {
        tenant: chain.to_string(),
        seq,
        hash,
        keyed_from,
        mac: String::new(),
    };
    anchor.mac = anchor_mac(key, &anchor);
    anchor
}

fn anchor_mac(key: &AuditKey, a: &AuditAnchor) -> String {
    // A tuple is written as a JSON array, byte for byte as `json!([...])` would be,
    // without building a `Value` first.
    let text = serde_json::to_string(&(&a.tenant, a.seq, &a.hash, a.keyed_from))
        .expect("strings and numbers always encode");
    key.mac("anchor", &text)
}

/// A link's fields and predecessor's hash, encoded for hashing: a JSON array is
/// unambiguous, no separator games.
fn canonical(r: &AuditRecord) -> String {
    serde_json::to_string(&(
        &r.tenant,
        r.seq,
        &r.at,
        &r.actor,
        &r.action,
        &r.target,
        &r.outcome,
        &r.detail,
        r.duration_us,
        &r.prev_hash,
    ))
    .expect("strings and numbers always encode")
}

/// The plain SHA-256 hash of a link written before its chain was keyed.
pub fn link_hash(r: &AuditRecord) -> String {
    hex::encode(Sha256::digest(canonical(r).as_bytes()))
}

/// The keyed hash of a link: HMAC-SHA256 under the audit key.
pub fn keyed_link_hash(key: &AuditKey, r: &AuditRecord) -> String {
    key.mac("link", &canonical(r))
}

/// Append `entry` to its chain inside `tx`.
pub fn append(tx: &mut dyn Transaction, key: &AuditKey, entry: Entry) -> HostResult<AuditRecord> {
    let mut record = AuditRecord {
        tenant: entry.tenant,
        seq: 0,
        at: format_at(OffsetDateTime::now_utc()),
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        detail: entry.detail.to_string(),
        duration_us: entry
            .duration
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        prev_hash: String::new(),
        hash: String::new(),
    };
    chain(tx, key, &mut record)?;
    Ok(record)
}

/// Number `record` after the head of its chain, seal it and append it, moving the
/// chain's anchor in the same transaction.
///
/// The anchor is the authority on where the head is: when its MAC holds and it points
/// past the last stored link (the newest links were deleted), the link continues from
/// the anchor, so the gap stays visible to `verify` instead of being covered by the
/// new anchor. When the anchor is missing or forged, the link continues from the last
/// stored link and the new anchor counts every older link as unkeyed, so their keyed
/// hashes fail `verify` from then on.
pub(crate) fn chain(
    tx: &mut dyn Transaction,
    key: &AuditKey,
    record: &mut AuditRecord,
) -> crate::store::Result<()> {
    let (after, keyed_from) = match tx.audit_known_tip(&record.tenant) {
        // This transaction wrote the anchor: no need to read or check it.
        Some(tip) => ((tip.seq, tip.hash), tip.keyed_from),
        None => read_tip(tx, key, &record.tenant)?,
    };
    record.seq = after.0 + 1;
    record.prev_hash = after.1;
    record.hash = keyed_link_hash(key, record);
    let anchor = seal_anchor(
        key,
        &record.tenant,
        record.seq,
        record.hash.clone(),
        keyed_from,
    );
    tx.audit_append(record, &anchor)
}

/// Where a chain continues, from its stored head and anchor: `((seq, hash),
/// keyed_from)` of the link to continue from (see [`chain`]).
fn read_tip(
    tx: &mut dyn Transaction,
    key: &AuditKey,
    chain: &str,
) -> crate::store::Result<((u64, String), u64)> {
    let head = tx
        .audit_head(chain)?
        .unwrap_or_else(|| (0, GENESIS.to_string()));
    let anchor = tx
        .audit_anchor(chain)?
        .filter(|a| anchor_mac(key, a) == a.mac);
    let (after, keyed_from) = match anchor {
        Some(a) if a.seq >= head.0 => {
            if (a.seq, &a.hash) != (head.0, &head.1) {
                tracing::error!(chain = %chain, anchored = a.seq, stored = head.0,
                    "the audit chain ends before its anchor: links were deleted; the next link continues from the anchor, run `backoffice audit verify`");
            }
            ((a.seq, a.hash), a.keyed_from)
        }
        Some(a) => (head, a.keyed_from),
        None => {
            if head.0 > 0 {
                tracing::error!(chain = %chain,
                    "the audit chain has no valid anchor: it was deleted or edited; run `backoffice audit verify`");
            }
            let next = head.0 + 1;
            (head, next)
        }
    };
    Ok((after, keyed_from))
}

/// The verification result of one chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Tenant id; empty for the host chain.
    pub tenant: String,
    /// Links checked.
    pub links: u64,
    /// Hash of the newest link; keep it elsewhere to detect a rollback later.
    pub head: Option<String>,
    /// The first link hashed with the audit key (older ones are plain SHA-256).
    pub keyed_from: Option<u64>,
    /// The first link that does not match, if any (for a missing or forged anchor or a
    /// cut tail: the first link after the last intact one).
    pub broken_at: Option<u64>,
    /// What does not match there.
    pub problem: Option<String>,
}

/// The verification result of every chain.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Whether every chain is intact.
    pub ok: bool,
    /// Per chain.
    pub chains: Vec<ChainReport>,
}

const PAGE: u32 = 1000;

/// How a chain's anchor looked to `verify`.
enum Anchor {
    Missing,
    Forged,
    Valid(AuditAnchor),
}

/// Recompute `tenant`'s chain against its anchor. `required`: the chain must exist
/// (its tenant does, or it is the host chain), so a chain without links and without
/// an anchor was dropped. `each` sees every intact link, in order.
pub(crate) fn verify_chain(
    tx: &mut dyn Transaction,
    key: &AuditKey,
    tenant: &str,
    required: bool,
    mut each: impl FnMut(&AuditRecord),
) -> HostResult<ChainReport> {
    let mut report = ChainReport {
        tenant: tenant.to_string(),
        links: 0,
        head: None,
        keyed_from: None,
        broken_at: None,
        problem: None,
    };
    let anchor = match tx.audit_anchor(tenant)? {
        None => Anchor::Missing,
        Some(a) if anchor_mac(key, &a) != a.mac => Anchor::Forged,
        Some(a) => Anchor::Valid(a),
    };
    let keyed_from = match &anchor {
        Anchor::Valid(a) => Some(a.keyed_from),
        _ => None,
    };
    report.keyed_from = keyed_from;
    let broken = |mut report: ChainReport, at: u64, problem: String| {
        report.broken_at = Some(at);
        report.problem = Some(problem);
        Ok(report)
    };
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1u64;
    let mut after = 0u64;
    loop {
        let page = tx.audit_list(&AuditQuery {
            tenant: Some(tenant.to_string()),
            since: None,
            after_seq: Some(after),
            limit: PAGE,
        })?;
        for link in &page {
            // Each hash computed only when needed: a keyed chain costs one HMAC per link.
            let keyed = || keyed_link_hash(key, link) == link.hash;
            let plain = || link_hash(link) == link.hash;
            let problem = if link.seq != expected_seq {
                Some(format!(
                    "link {expected_seq} is missing (the next stored link is {}): links were deleted",
                    link.seq
                ))
            } else if link.prev_hash != expected_prev {
                Some(format!(
                    "its previous-hash does not match link {}: a link was replaced or removed",
                    expected_seq - 1
                ))
            } else {
                match keyed_from {
                    Some(from) if link.seq >= from && !keyed() => Some(
                        "its content does not match its keyed hash: the row was edited (or written with another audit key)"
                            .to_string(),
                    ),
                    Some(from) if link.seq < from && !plain() => Some(if keyed() {
                        format!(
                            "it is keyed, but the chain's anchor says keying began at link {from}: the anchor was deleted or forged before link {from} was written"
                        )
                    } else {
                        format!(
                            "its content does not match its hash (a link from before keying began at link {from}): the row was edited"
                        )
                    }),
                    None if !keyed() && !plain() => {
                        Some("its content does not match its hash: the row was edited (or written with another audit key)".to_string())
                    }
                    _ => None,
                }
            };
            if let Some(problem) = problem {
                return broken(report, expected_seq, problem);
            }
            each(link);
            report.links += 1;
            expected_seq += 1;
            expected_prev = link.hash.clone();
            report.head = Some(link.hash.clone());
            after = link.seq;
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    let last = report.links;
    match anchor {
        Anchor::Missing if last > 0 => broken(
            report,
            last + 1,
            "the chain has no anchor: its anchor row was deleted, so a cut tail cannot be ruled out".to_string(),
        ),
        Anchor::Missing if required => broken(
            report,
            1,
            "the chain and its anchor are gone, but the chain must exist: it was deleted".to_string(),
        ),
        Anchor::Missing => Ok(report),
        Anchor::Forged => broken(
            report,
            last + 1,
            "its anchor does not match its MAC: the anchor was edited (or this host's audit key is not the one that wrote it)".to_string(),
        ),
        Anchor::Valid(a) if a.seq > last => broken(
            report,
            last + 1,
            if a.seq == last + 1 {
                format!("link {} is missing: the anchor says the head is link {} (the newest links were deleted)", last + 1, a.seq)
            } else {
                format!("links {} to {} are missing: the anchor says the head is link {} (the newest links were deleted)", last + 1, a.seq, a.seq)
            },
        ),
        Anchor::Valid(a) if a.seq < last => broken(
            report,
            a.seq + 1,
            format!("the anchor says the head is link {}, but the chain goes on to link {last}: the anchor was rolled back", a.seq),
        ),
        Anchor::Valid(a) if Some(&a.hash) != report.head.as_ref() && last > 0 => broken(
            report,
            last,
            "the head does not match the anchor's hash: the newest link was replaced".to_string(),
        ),
        Anchor::Valid(_) => Ok(report),
    }
}

/// `(created, deleted)` tenant ids of a host-chain link, if it is one.
fn tenant_event(link: &AuditRecord) -> Option<(bool, &str)> {
    let id = link.target.strip_prefix("tenant:")?;
    match (link.action.as_str(), link.outcome.as_str()) {
        ("tenant.create", "ok") => Some((true, id)),
        ("tenant.delete", "ok") => Some((false, id)),
        _ => None,
    }
}

impl Host {
    /// The key sealing the audit chains.
    pub(crate) fn audit_key(&self) -> &AuditKey {
        &self.loader.audit_key
    }

    /// Audit links, oldest first.
    pub fn audit_list(&self, query: &AuditQuery) -> HostResult<Vec<AuditRecord>> {
        self.audit_queue.flush(FLUSH_WAIT);
        let mut tx = self.storage.begin_read()?;
        Ok(tx.audit_list(query)?)
    }

    /// Recompute every chain (or one tenant's) against its anchor. Every chain that
    /// should exist is checked: the host chain, every tenant of the tenants table, and
    /// every tenant the host chain records as created and not deleted.
    pub fn audit_verify(&self, tenant: Option<&str>) -> HostResult<VerifyReport> {
        self.audit_queue.flush(FLUSH_WAIT);
        let key = self.audit_key();
        let mut tx = self.storage.begin_read()?;
        let tenants: std::collections::BTreeSet<String> =
            tx.tenant_list()?.into_iter().map(|t| t.id).collect();
        let mut reports = std::collections::BTreeMap::new();
        let mut alive = std::collections::BTreeMap::<String, u64>::new();
        let mut host_intact = false;
        // The host chain is walked unless one existing tenant's chain is asked for
        // (the console's audit page): it also says which tenants should exist.
        if tenant.is_none_or(|t| t == HOST_SCOPE || !tenants.contains(t)) {
            let host = verify_chain(
                tx.as_mut(),
                key,
                HOST_SCOPE,
                true,
                |link| match tenant_event(link) {
                    Some((true, id)) => {
                        alive.insert(id.to_string(), link.seq);
                    }
                    Some((false, id)) => {
                        alive.remove(id);
                    }
                    None => {}
                },
            )?;
            host_intact = host.broken_at.is_none();
            if tenant.is_none_or(|t| t == HOST_SCOPE) {
                reports.insert(HOST_SCOPE.to_string(), host);
            }
        }
        let chains: Vec<String> = match tenant {
            Some(t) if t == HOST_SCOPE => Vec::new(),
            Some(t) => vec![t.to_string()],
            None => {
                let mut all = tx.audit_chains()?;
                all.extend(tenants.iter().cloned());
                all.retain(|c| c != HOST_SCOPE);
                all.sort();
                all.dedup();
                all
            }
        };
        for chain in chains {
            let required = tenants.contains(&chain);
            let report = verify_chain(tx.as_mut(), key, &chain, required, |_| {})?;
            reports.insert(chain, report);
        }
        // A tenant dropped together with its row in the tenants table: the host chain
        // (when intact) still says it was created and never deleted.
        if host_intact {
            for (id, created) in alive {
                if tenants.contains(&id) || tenant.is_some_and(|t| t != id) {
                    continue;
                }
                let report = reports.entry(id.clone()).or_insert_with(|| ChainReport {
                    tenant: id.clone(),
                    links: 0,
                    head: None,
                    keyed_from: None,
                    broken_at: None,
                    problem: None,
                });
                if report.broken_at.is_none() {
                    report.broken_at = Some(report.links + 1);
                    report.problem = Some(format!(
                        "tenant '{id}' was created (host chain link {created}) and never deleted, but it is gone from the tenants table: it was removed from the database"
                    ));
                }
            }
        }
        let chains: Vec<ChainReport> = reports.into_values().collect();
        Ok(VerifyReport {
            ok: chains.iter().all(|r| r.broken_at.is_none()),
            chains,
        })
    }

    /// Record an admin action of this process's operator in `tx`.
    pub(crate) fn audit_admin(
        &self,
        tx: &mut dyn Transaction,
        tenant: Option<&str>,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> HostResult<()> {
        let operator = self.operator().to_string();
        self.audit_admin_as(tx, tenant, &operator, action, target, detail)
    }

    /// Record an admin action of `actor` (a signed-in user of the console) in `tx`.
    pub(crate) fn audit_admin_as(
        &self,
        tx: &mut dyn Transaction,
        tenant: Option<&str>,
        actor: &str,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> HostResult<()> {
        append(
            tx,
            self.audit_key(),
            Entry::admin(tenant.unwrap_or(HOST_SCOPE), actor, action, target, detail),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_and_times() {
        assert_eq!(
            parse_since("2026-01-31").unwrap(),
            "2026-01-31T00:00:00.000000Z"
        );
        assert_eq!(
            parse_since("2026-01-31T10:00:00+01:00").unwrap(),
            "2026-01-31T09:00:00.000000Z"
        );
        assert!(parse_since("yesterday").is_err());
    }

    /// The first link of tenant acme's chain, not yet hashed.
    fn first_link(duration_us: Option<u64>) -> AuditRecord {
        AuditRecord {
            tenant: "acme".into(),
            seq: 1,
            at: "2026-01-01T00:00:00.000000Z".into(),
            actor: "user:ada".into(),
            action: "invoke".into(),
            target: "ledger.post-entry".into(),
            outcome: "ok".into(),
            detail: "{}".into(),
            duration_us,
            prev_hash: GENESIS.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn hash_covers_every_field() {
        let base = first_link(Some(10));
        let h = link_hash(&base);
        let mut changed = base.clone();
        changed.outcome = "forbidden".into();
        assert_ne!(h, link_hash(&changed));
        let mut changed = base.clone();
        changed.duration_us = None;
        assert_ne!(h, link_hash(&changed));
        assert_eq!(h, link_hash(&base.clone()));
    }

    /// Chains written before links were encoded from tuples must still verify: the
    /// encoding is byte for byte the JSON array it was.
    #[test]
    fn the_hashed_text_is_the_json_array_of_the_fields() {
        let r = AuditRecord {
            tenant: "acme \"ü\"\n".into(),
            seq: 42,
            detail: r#"{"version":"0.1.0"}"#.into(),
            ..first_link(None)
        };
        let array = serde_json::json!([
            r.tenant,
            r.seq,
            r.at,
            r.actor,
            r.action,
            r.target,
            r.outcome,
            r.detail,
            r.duration_us,
            r.prev_hash
        ]);
        assert_eq!(canonical(&r), array.to_string());
        let a = AuditAnchor {
            tenant: r.tenant.clone(),
            seq: 7,
            hash: "ab".into(),
            keyed_from: 3,
            mac: String::new(),
        };
        let key = AuditKey::for_tests();
        let text = serde_json::json!([a.tenant, a.seq, a.hash, a.keyed_from]).to_string();
        assert_eq!(anchor_mac(&key, &a), key.mac("anchor", &text));
    }

    #[test]
    fn keyed_hashes_and_anchor_macs_need_the_key() {
        let link = first_link(None);
        let key = AuditKey::for_tests();
        let other = AuditKey::generate().unwrap();
        let keyed = keyed_link_hash(&key, &link);
        assert_eq!(keyed.len(), 64);
        assert_ne!(keyed, link_hash(&link), "not the plain SHA-256");
        assert_ne!(
            keyed,
            keyed_link_hash(&other, &link),
            "another key, another hash"
        );
        let anchor = seal_anchor(&key, "acme", 1, keyed.clone(), 1);
        assert_eq!(anchor_mac(&key, &anchor), anchor.mac);
        assert_ne!(anchor_mac(&other, &anchor), anchor.mac);
        for changed in [
            seal_anchor(&key, "globex", 1, keyed.clone(), 1),
            seal_anchor(&key, "acme", 2, keyed.clone(), 1),
            seal_anchor(&key, "acme", 1, GENESIS.into(), 1),
            seal_anchor(&key, "acme", 1, keyed.clone(), 2),
        ] {
            assert_ne!(changed.mac, anchor.mac, "{changed:?}");
        }
        assert_eq!(
            format!("{key:?}"),
            "AuditKey(..)",
            "the key never reaches a log"
        );
    }
}

/// Group commit for audit links that are not part of a change of their own (read-only
/// invocations, refused and failed calls): concurrent callers queue their links, one of
/// them writes the whole queue in one transaction, and each caller returns once its
/// link is committed. Under load this turns many small commits (one disk sync each)
/// into a few larger ones.
///
/// The links of successful reads ([`Queue::record_later`]) do not make their caller
/// wait: a writer thread chains them in batches within milliseconds, and listing or
/// verifying the log first waits for it ([`Queue::flush`]). A crash can lose the links
/// of the reads answered in those last milliseconds, never a link of a change (it is
/// part of the change's transaction) nor of a refused or failed call (written before
/// the answer).
#[derive(Default)]
pub(crate) struct Queue {
    pending: std::sync::Mutex<Vec<(Entry, std::sync::Arc<Slot>)>>,
    leader: std::sync::Mutex<()>,
    later: std::sync::Arc<Later>,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Read links waiting for the writer thread.
#[derive(Default)]
struct Later {
    state: std::sync::Mutex<LaterState>,
    /// Wakes the writer (links queued, or closing) and those waiting for a flush.
    signal: std::sync::Condvar,
}

#[derive(Default)]
struct LaterState {
    entries: Vec<Entry>,
    /// Links ever queued, and ever handled (written or reported lost).
    queued: u64,
    handled: u64,
    closing: bool,
    /// The writer is gathering or writing a batch (it takes what was queued
    /// meanwhile before it waits again): queuing a link then needs no wake-up.
    writer_busy: bool,
    /// Callers waiting in [`Queue::flush`]: the writer then stops gathering.
    flushing: usize,
}

/// How long the writer gathers read links after the first before writing them: one
/// transaction and disk sync then serves the reads of these milliseconds. Measured
/// with `benches/http.sh` (64 connections reading): 5 ms took about a quarter off the
/// host's CPU time per read, against writing as soon as the last batch was done. A
/// flush (a change waiting for the read links before it) cuts the wait short.
const GATHER: Duration = Duration::from_millis(5);

/// Read links queued at most; past this a reader writes its own link (and waits), so
/// a slow disk slows readers down instead of filling memory.
const MAX_LATER: usize = 16_384;

#[derive(Default)]
struct Slot {
    done: std::sync::Mutex<Option<Result<(), String>>>,
    signal: std::sync::Condvar,
}

impl Slot {
    fn finish(&self, result: Result<(), String>) {
        if let Ok(mut done) = self.done.lock() {
            *done = Some(result);
        }
        self.signal.notify_all();
    }
}

impl Queue {
    /// Links waiting to be written: changes' links being chained now and read links
    /// queued for the writer thread (for `/metrics`).
    pub(crate) fn depth(&self) -> u64 {
        let pending = self.pending.lock().map_or(0, |p| p.len() as u64);
        let later = self
            .later
            .state
            .lock()
            .map_or(0, |s| s.queued.saturating_sub(s.handled));
        pending + later
    }

    /// Append `entry` to its chain; returns once it is committed. Entries for tenants
    /// that do not exist are logged instead of chained.
    pub(crate) fn record(&self, host: &Host, entry: Entry) -> HostResult<()> {
        // After the read links queued before it, so a caller's actions stay in order.
        self.flush(ORDER_WAIT);
        let slot = std::sync::Arc::new(Slot::default());
        self.pending
            .lock()
            .map_err(|_| HostError::Internal("audit queue poisoned".into()))?
            .push((entry, slot.clone()));
        loop {
            if let Ok(_leader) = self.leader.try_lock() {
                // Write batches until the queue is empty: entries queued while one
                // batch commits go out with the next.
                loop {
                    let batch = self
                        .pending
                        .lock()
                        .map(|mut p| std::mem::take(&mut *p))
                        .unwrap_or_default();
                    if batch.is_empty() {
                        break;
                    }
                    let entries: Vec<&Entry> = batch.iter().map(|(e, _)| e).collect();
                    let result = write_batch(host.storage.as_ref(), host.audit_key(), &entries)
                        .map_err(|e| e.to_string());
                    for (_, s) in &batch {
                        s.finish(result.clone());
                    }
                }
            }
            let done = slot
                .done
                .lock()
                .map_err(|_| HostError::Internal("audit queue poisoned".into()))?;
            // Wait briefly for the current leader; if it took its batch before our
            // entry arrived, we become the leader on the next turn.
            let (mut done, _) = slot
                .signal
                .wait_timeout_while(done, Duration::from_millis(2), |d| d.is_none())
                .map_err(|_| HostError::Internal("audit queue poisoned".into()))?;
            if let Some(result) = done.take() {
                return result.map_err(HostError::Internal);
            }
        }
    }

    /// Queue the link of a successful read for the writer thread and return at once
    /// (see the type's documentation); when the queue is full, [`Queue::record`] it.
    pub(crate) fn record_later(&self, host: &Host, entry: Entry) -> HostResult<()> {
        let mut state = self
            .later
            .state
            .lock()
            .map_err(|_| HostError::Internal("audit queue poisoned".into()))?;
        if state.closing || state.entries.len() >= MAX_LATER {
            drop(state);
            if crate::runtime::inline::active() {
                // Recording waits for a commit: not on an async worker.
                return Err(crate::runtime::inline::refuse());
            }
            return self.record(host, entry);
        }
        state.entries.push(entry);
        state.queued += 1;
        let wake = !state.writer_busy;
        if wake {
            state.writer_busy = true;
        }
        drop(state);
        if wake {
            self.later.signal.notify_all();
        }
        self.start_writer(host);
        Ok(())
    }

    fn start_writer(&self, host: &Host) {
        let Ok(mut writer) = self.writer.lock() else {
            return;
        };
        if writer.is_some() {
            return;
        }
        let later = self.later.clone();
        let storage = host.storage.clone();
        let key = host.loader.audit_key.clone();
        match std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_later(&later, storage.as_ref(), &key))
        {
            Ok(handle) => *writer = Some(handle),
            Err(e) => tracing::error!("cannot start the audit writer thread: {e}"),
        }
    }

    /// Wait until every read link queued so far is written (at most `timeout`). Never
    /// called while holding a tenant's writer: the audit writer needs it.
    pub(crate) fn flush(&self, timeout: Duration) {
        let Ok(mut state) = self.later.state.lock() else {
            return;
        };
        let target = state.queued;
        if state.handled >= target {
            return;
        }
        // The writer may be gathering: tell it to write now.
        state.flushing += 1;
        self.later.signal.notify_all();
        if let Ok((mut state, _)) = self
            .later
            .signal
            .wait_timeout_while(state, timeout, |s| s.handled < target)
        {
            state.flushing -= 1;
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Write what is queued before the host goes.
        if let Ok(mut state) = self.later.state.lock() {
            state.closing = true;
        }
        self.later.signal.notify_all();
        if let Some(handle) = self.writer.get_mut().ok().and_then(Option::take) {
            let _ = handle.join();
        }
    }
}

/// The writer thread: chain queued read links in batches until the queue closes.
fn write_later(later: &Later, storage: &dyn crate::store::Storage, key: &AuditKey) {
    loop {
        let batch = {
            let Ok(mut state) = later.state.lock() else {
                return;
            };
            state.writer_busy = false;
            let Ok(mut state) = later
                .signal
                .wait_while(state, |s| s.entries.is_empty() && !s.closing)
            else {
                return;
            };
            if state.entries.is_empty() {
                return;
            }
            state.writer_busy = true;
            let Ok((mut state, _)) = later
                .signal
                .wait_timeout_while(state, GATHER, |s| s.flushing == 0 && !s.closing)
            else {
                return;
            };
            std::mem::take(&mut state.entries)
        };
        let entries: Vec<&Entry> = batch.iter().collect();
        if let Err(e) = write_batch(storage, key, &entries) {
            tracing::error!(
                links = batch.len(),
                "cannot chain the audit links of reads: {e}"
            );
        }
        if let Ok(mut state) = later.state.lock() {
            state.handled += batch.len() as u64;
        }
        later.signal.notify_all();
    }
}

fn write_batch(
    storage: &dyn crate::store::Storage,
    key: &AuditKey,
    batch: &[&Entry],
) -> HostResult<()> {
    // One transaction per chain, scoped to its tenant: on a shared database it then
    // never races the tenant's other writers (see `store::postgres`).
    let mut chains: std::collections::BTreeMap<&str, Vec<&Entry>> = Default::default();
    for entry in batch {
        chains.entry(entry.tenant.as_str()).or_default().push(entry);
    }
    for (tenant, entries) in chains {
        crate::host::retrying(|| {
            let mut tx = storage.begin_scoped(tenant)?;
            if tenant != HOST_SCOPE && tx.tenant_get(tenant)?.is_none() {
                for entry in &entries {
                    tracing::info!(tenant = %entry.tenant, actor = %entry.actor, target = %entry.target,
                        "request for an unknown tenant");
                }
                return Ok(());
            }
            for entry in &entries {
                append(tx.as_mut(), key, (*entry).clone())?;
            }
            tx.commit()?;
            Ok(())
        })?;
    }
    Ok(())
}
