//! Backup and restore of one tenant's SQLite file.
//!
//! A backup is `VACUUM INTO` on a read connection of the tenant's file: it reads one
//! snapshot, so it is consistent while writers of that tenant go on, and it writes a
//! compact standalone file (no WAL beside it). A restore checks a copy of the backup
//! inside `tenants/` (integrity, tables, every row of this tenant, ids numbered for
//! this tenant) and only then renames it over the tenant's file, so a refused or
//! failed restore leaves the tenant as it was.

use super::sql;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use super::StoreError;
use super::sqlite_split::TENANT_TABLES;
use super::sqlite_tenants::{ID_SPAN, NUMBERED_TABLES, SqliteStorage, sqlite_files};

/// Tables without which a file is not a tenant database.
const REQUIRED_TABLES: &[&str] = &["kv", "events", "jobs", "users", "audit"];

/// Tenant tables of a tenant file beyond those of the legacy single file
/// (`TENANT_TABLES`, which the split copies): counted and checked for rows of other
/// tenants like them.
const FILE_ONLY_TABLES: &[&str] = &[
    "webhook_endpoints",
    "webhook_deliveries",
    "plugin_settings",
    "user_emails",
    "notifications",
    "notification_attempts",
    "http_requests",
    "http_attempts",
];

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TenantFileError {
    /// The file given is not a usable backup of this tenant; nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// The output file already exists; nothing was written.
    #[error("{0}")]
    Exists(String),
    /// The database or the file system failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for TenantFileError {
    fn from(e: rusqlite::Error) -> Self {
        TenantFileError::Store(e.into())
    }
}

type Result<T> = std::result::Result<T, TenantFileError>;

fn io(what: String) -> TenantFileError {
    TenantFileError::Store(StoreError::Backend(what))
}

/// What a tenant database file holds.
#[derive(Debug, Clone, Serialize)]
pub struct TenantFileSummary {
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Rows per tenant table.
    pub rows: BTreeMap<String, i64>,
    /// Sequence number of the newest link of the tenant's audit chain.
    pub audit_seq: Option<u64>,
    /// Hash of that link.
    pub audit_head: Option<String>,
    /// Tenant numbers the file's ids were drawn for (empty for a fresh file or ids
    /// kept from a single-file data directory).
    #[serde(skip)]
    numbers: BTreeSet<i64>,
}

/// What a restore replaced.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    /// What the restored file holds.
    pub restored: TenantFileSummary,
    /// The replaced file's audit head `(seq, hash)`, when it could be read: the links
    /// after the backup's head are gone from the tenant chain, and the host chain
    /// records which they were.
    pub replaced_audit_seq: Option<u64>,
    /// Hash of the replaced head.
    pub replaced_audit_head: Option<String>,
}

/// Remove a file and its `-wal`/`-shm` companions, ignoring ones that do not exist.
fn remove_db_files(path: &Path) -> std::io::Result<()> {
    for f in sqlite_files(path) {
        match std::fs::remove_file(&f) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Make a file's content and its directory entry durable.
fn sync_file_and_dir(path: &Path) -> Result<()> {
    let sync = |p: &Path| std::fs::File::open(p).and_then(|f| f.sync_all());
    sync(path).map_err(|e| io(format!("cannot flush {} to disk: {e}", path.display())))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directories cannot be opened for syncing on every platform; the rename or
        // create is still done, only its durability across a power cut is weaker.
        if let Err(e) = sync(dir) {
            tracing::debug!(dir = %dir.display(), "cannot sync directory: {e}");
        }
    }
    Ok(())
}

/// Deletes a temporary database file (and companions) unless disarmed.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = remove_db_files(&p);
        }
    }
}

/// The tables of the database open on `conn`.
fn tables(conn: &Connection) -> rusqlite::Result<BTreeSet<String>> {
    conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect()
}

/// Check that the file at `path` (a file this process owns: it is switched to
/// rollback-journal mode, so it stands alone) is a sound database of tenant `tenant`,
/// and summarise it. `shown` names the file in messages.
fn inspect(path: &Path, shown: &Path, tenant: &str) -> Result<TenantFileSummary> {
    let not_db = |e: rusqlite::Error| {
        TenantFileError::Refused(format!(
            "{} is not a SQLite database ({e}); give a file written by `backoffice tenant backup`",
            shown.display()
        ))
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(not_db)?;
    // The first statement reads the header: a file that is not a database fails here.
    let _: String = conn
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .map_err(not_db)?;
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check(5)")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(not_db)?;
    if problems != ["ok"] {
        return Err(TenantFileError::Refused(format!(
            "{} is damaged (integrity check: {}); use another backup",
            shown.display(),
            problems.join("; ")
        )));
    }
    let present = tables(&conn).map_err(not_db)?;
    let missing: Vec<&str> = REQUIRED_TABLES
        .iter()
        .copied()
        .filter(|t| !present.contains(*t))
        .collect();
    if !missing.is_empty() {
        return Err(TenantFileError::Refused(format!(
            "{} is a SQLite database but not a tenant's: it lacks the table(s) {}; give a file written by `backoffice tenant backup`",
            shown.display(),
            missing.join(", ")
        )));
    }
    let mut rows = BTreeMap::new();
    let mut foreign = BTreeMap::<String, Vec<String>>::new();
    for table in TENANT_TABLES
        .iter()
        .chain(FILE_ONLY_TABLES)
        .filter(|t| present.contains(**t))
    {
        // Table names come from a fixed list, never from the file.
        let others: Vec<String> = conn
            .prepare(&format!(
                "SELECT DISTINCT tenant FROM {table} WHERE tenant <> ?1 LIMIT 5"
            ))?
            .query_map(params![tenant], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for other in others {
            foreign.entry(other).or_default().push((*table).to_string());
        }
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        rows.insert((*table).to_string(), n);
    }
    if !foreign.is_empty() {
        let list: Vec<String> = foreign
            .iter()
            .map(|(t, tables)| format!("'{t}' (in {})", tables.join(", ")))
            .collect();
        return Err(TenantFileError::Refused(format!(
            "{} holds data of tenant {}, not only of '{tenant}': it is another tenant's backup; restore it to its own tenant",
            shown.display(),
            list.join(", ")
        )));
    }
    if rows.values().all(|n| *n == 0) {
        // Every tenant has at least its admin role; an empty file cannot be told apart
        // from any other tenant's.
        return Err(TenantFileError::Refused(format!(
            "{} holds no row of tenant '{tenant}', so nothing shows it is this tenant's backup; use another backup",
            shown.display()
        )));
    }
    let head: Option<(i64, String)> = conn
        .query_row(sql::AUDIT_HEAD.lite, params![tenant], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let mut numbers = BTreeSet::new();
    if present.contains("sqlite_sequence") {
        let mut stmt = conn.prepare("SELECT name, seq FROM sqlite_sequence")?;
        let seqs = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (name, seq) in seqs {
            if NUMBERED_TABLES.contains(&name.as_str()) && seq >= ID_SPAN {
                numbers.insert(seq / ID_SPAN);
            }
        }
    }
    drop(conn);
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(TenantFileSummary {
        bytes,
        rows,
        audit_seq: head.as_ref().and_then(|(s, _)| u64::try_from(*s).ok()),
        audit_head: head.map(|(_, h)| h),
        numbers,
    })
}

impl SqliteStorage {
    /// Write a consistent copy of tenant `id`'s file to `out`, which must not exist.
    pub fn backup_tenant(&self, id: &str, out: &Path) -> Result<TenantFileSummary> {
        if out.symlink_metadata().is_ok() {
            return Err(TenantFileError::Exists(format!(
                "{} already exists; a backup never overwrites a file: choose a new name or move the old one away",
                out.display()
            )));
        }
        let out = std::path::absolute(out)
            .map_err(|e| io(format!("cannot resolve {}: {e}", out.display())))?;
        if let Some(parent) = out.parent()
            && !parent.is_dir()
        {
            return Err(TenantFileError::Refused(format!(
                "folder {} does not exist; create it first",
                parent.display()
            )));
        }
        // An absolute path never reads as a `file:` URI, which the connections allow.
        let Some(target) = out.to_str() else {
            return Err(TenantFileError::Refused(format!(
                "{} is not valid UTF-8; choose a plain file name",
                out.display()
            )));
        };
        let Some(tenant) = self.tenant(id)? else {
            return Err(io(format!("tenant '{id}' has no database file")));
        };
        let conn = tenant.db.acquire()?;
        let copied = conn.execute("VACUUM INTO ?1", params![target]);
        tenant.db.release(conn);
        // From here `out` is ours (it did not exist): remove it on any failure, so a
        // half-written file is never mistaken for a backup.
        let mut guard = TempFile(Some(out.clone()));
        copied.map_err(|e| io(format!("cannot write the backup to {target}: {e}")))?;
        #[cfg(unix)]
        {
            // The copy holds password and token hashes: readable by the owner only.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(format!("cannot restrict access to {target}: {e}")))?;
        }
        let summary = inspect(&out, &out, id).map_err(|e| {
            io(format!(
                "the backup written to {target} does not check out, it was removed: {e}"
            ))
        })?;
        sync_file_and_dir(&out)?;
        guard.0 = None;
        Ok(summary)
    }

    /// Remove a backup this process wrote (its audit link could not be recorded).
    pub fn discard_backup(&self, out: &Path) {
        let _ = remove_db_files(out);
    }

    /// Replace tenant `id`'s file with the backup `from`, after checking it. Nobody
    /// else may have the tenant's file open (`serve` stopped).
    pub fn restore_tenant(&self, id: &str, from: &Path) -> Result<RestoreSummary> {
        let Some(num) = self.tenant_number(id)? else {
            return Err(io(format!("tenant '{id}' has no database file entry")));
        };
        match std::fs::metadata(from) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(TenantFileError::Refused(format!(
                    "{} is not a file; give a file written by `backoffice tenant backup`",
                    from.display()
                )));
            }
            Err(e) => {
                return Err(TenantFileError::Refused(format!(
                    "cannot read {}: {e}",
                    from.display()
                )));
            }
        }
        let mut wal = from.as_os_str().to_owned();
        wal.push("-wal");
        if std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0) {
            return Err(TenantFileError::Refused(format!(
                "{} has a write-ahead log beside it: it is a live database whose last changes are not in the file, not a backup; make one with `backoffice tenant backup`",
                from.display()
            )));
        }
        let target = self.tenant_path(id);
        let dir = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&dir)
            .map_err(|e| io(format!("cannot create folder {}: {e}", dir.display())))?;
        // The copy is checked where it will live, so the final step is one rename on
        // the same file system.
        let temp = dir.join(format!(".{id}.restore-{}.db", std::process::id()));
        remove_db_files(&temp).map_err(|e| io(format!("cannot remove {}: {e}", temp.display())))?;
        let mut guard = TempFile(Some(temp.clone()));
        std::fs::copy(from, &temp).map_err(|e| {
            io(format!(
                "cannot copy {} to {}: {e}",
                from.display(),
                temp.display()
            ))
        })?;
        let restored = inspect(&temp, from, id)?;
        if let Some(other) = restored.numbers.iter().find(|n| **n != num) {
            return Err(TenantFileError::Refused(format!(
                "{} numbers its events and jobs as tenant number {other}, but this data directory numbers '{id}' as {num}: the backup comes from another data directory, and its ids would collide with another tenant's; restore it in the data directory it was made in",
                from.display()
            )));
        }
        sync_file_and_dir(&temp)?;
        let (replaced_audit_seq, replaced_audit_head) = audit_head_of(&target, id);

        // Close this process's connections to the old file, then take away its WAL
        // and shared memory before the new file arrives: a WAL left beside the new
        // file would be replayed onto it.
        self.forget_tenant(id);
        for stale in sqlite_files(&target).into_iter().skip(1) {
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io(format!("cannot remove {}: {e}", stale.display())));
                }
                _ => {}
            }
        }
        std::fs::rename(&temp, &target).map_err(|e| {
            io(format!(
                "cannot move {} to {}: {e}",
                temp.display(),
                target.display()
            ))
        })?;
        guard.0 = None;
        sync_file_and_dir(&target)?;
        // Open it now, so a problem shows here and not on the next call.
        self.tenant(id)?;
        Ok(RestoreSummary {
            restored,
            replaced_audit_seq,
            replaced_audit_head,
        })
    }
}

/// The newest audit link of `tenant` in the file at `path`, if it can be read.
fn audit_head_of(path: &Path, tenant: &str) -> (Option<u64>, Option<String>) {
    let read = || -> rusqlite::Result<Option<(i64, String)>> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.query_row(sql::AUDIT_HEAD.lite, params![tenant], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
    };
    match read() {
        Ok(Some((seq, hash))) => (u64::try_from(seq).ok(), Some(hash)),
        _ => (None, None),
    }
}
