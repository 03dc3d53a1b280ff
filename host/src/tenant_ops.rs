//! Whole-tenant operations: backup, restore, export and deletion.
//!
//! Backup and restore work on the tenant's SQLite file (see
//! `store/sqlite_backup.rs`); on PostgreSQL the database's own tools do that job.
//! Export reads through the storage traits on one snapshot, so it works on both
//! backends: it is what a company leaving the service takes with it.
//!
//! Each operation records a link in the host's audit chain: the tenant's own chain is
//! part of what a restore replaces, so it cannot be where the restore is recorded.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::Host;
use crate::error::{HostError, HostResult};
use crate::host::now_rfc3339;
use crate::store::{
    AuditQuery, EventFilter, JobFilter, RestoreSummary, ScanQuery, Scope, SqliteStorage,
    TenantFileError, TenantFileSummary, Transaction,
};

/// Format name written into `tenant.json` of an export.
pub const EXPORT_FORMAT: &str = "backoffice-tenant-export/1";

/// Keys per page when exporting plugin data, links per page of the audit chain.
const PAGE: u32 = 500;

impl From<TenantFileError> for HostError {
    fn from(e: TenantFileError) -> Self {
        match e {
            TenantFileError::Refused(m) => HostError::InvalidInput(m),
            TenantFileError::Exists(m) => HostError::Conflict(m),
            TenantFileError::Store(e) => HostError::Storage(e),
        }
    }
}

/// The outcome of `tenant backup`.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// Tenant id.
    pub tenant: String,
    /// The file written.
    pub file: PathBuf,
    /// What it holds.
    #[serde(flatten)]
    pub summary: TenantFileSummary,
}

/// The outcome of `tenant restore`.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// Tenant id.
    pub tenant: String,
    /// The backup restored.
    pub from: PathBuf,
    /// What was restored and what it replaced.
    #[serde(flatten)]
    pub summary: RestoreSummary,
    /// Whether the tenant's audit chain verifies after the restore.
    pub audit_ok: bool,
}

/// The outcome of `tenant delete --purge`.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteReport {
    /// Tenant id.
    pub tenant: String,
    /// Rows removed (plugin data, outbox, work, users, roles, tokens, audit links,
    /// enablements, the tenant itself).
    pub rows: u64,
    /// The last link of the tenant's audit chain when it was deleted, kept in the
    /// host chain as evidence of what was removed.
    pub audit_seq: Option<u64>,
    /// That link's hash.
    pub audit_head: Option<String>,
}

/// One file of an export and how many lines it holds.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFile {
    /// Path relative to the export folder.
    pub file: String,
    /// JSON lines written.
    pub lines: u64,
}

/// The outcome of `tenant export`; also written as `tenant.json` into the folder.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The tenant.
    pub tenant: crate::store::Tenant,
    /// RFC 3339 UTC time of the export.
    pub exported_at: String,
    /// The export folder.
    pub folder: PathBuf,
    /// Plugins of the tenant: id, whether enabled, data version and file.
    pub plugins: Vec<Value>,
    /// Every file written, with its line count.
    pub files: Vec<ExportFile>,
}

/// `rows` written to `name` in the export `folder`, one JSON line each.
fn write_lines(
    folder: &Path,
    name: &str,
    rows: impl IntoIterator<Item = HostResult<Value>>,
) -> HostResult<ExportFile> {
    let mut lines = Lines::create(folder.join(name))?;
    for row in rows {
        lines.write(&row?)?;
    }
    lines.finish(folder)
}

/// A row as JSON, for an export line; `what` and `id` name it in an error.
fn encoded(what: &str, id: impl std::fmt::Display, row: &impl Serialize) -> HostResult<Value> {
    serde_json::to_value(row)
        .map_err(|e| HostError::Internal(format!("cannot encode {what} {id}: {e}")))
}

/// A JSON-lines file being written.
struct Lines {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    count: u64,
}

impl Lines {
    fn create(path: PathBuf) -> HostResult<Self> {
        let file = std::fs::File::create(&path)
            .map_err(|e| HostError::Internal(format!("cannot create {}: {e}", path.display())))?;
        Ok(Lines {
            path,
            out: std::io::BufWriter::new(file),
            count: 0,
        })
    }

    fn write(&mut self, value: &Value) -> HostResult<()> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| {
                HostError::Internal(format!("cannot write {}: {e}", self.path.display()))
            })?;
        self.count += 1;
        Ok(())
    }

    fn finish(mut self, folder: &Path) -> HostResult<ExportFile> {
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().sync_all())
            .map_err(|e| {
                HostError::Internal(format!("cannot write {}: {e}", self.path.display()))
            })?;
        let file = self
            .path
            .strip_prefix(folder)
            .unwrap_or(&self.path)
            .display()
            .to_string();
        Ok(ExportFile {
            file,
            lines: self.count,
        })
    }
}

/// JSON text as a JSON value; text that is not JSON stays a string.
fn json_or_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// One key-value entry as an export line: the value as JSON when it is JSON (what
/// the SDK stores), else its bytes in hex.
fn kv_line(key: &str, value: &[u8]) -> Value {
    match std::str::from_utf8(value)
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        Some(v) => json!({ "key": key, "value": v }),
        None => json!({ "key": key, "value_hex": hex::encode(value) }),
    }
}

impl Host {
    /// Remove tenant `id` and every trace of its data, on either backend; the host
    /// audit chain records the deletion with the tenant chain's last link. Refused
    /// without `purge`, which the caller sets only on the admin's explicit request.
    pub fn delete_tenant(&self, id: &str, purge: bool) -> HostResult<DeleteReport> {
        if !purge {
            return Err(HostError::InvalidInput(format!(
                "deleting tenant '{id}' removes all of its data, users and audit chain for good; export it first (`backoffice tenant export --tenant {id} --out DIR`), then confirm with `backoffice tenant delete --tenant {id} --purge`"
            )));
        }
        let mut tx = self.write_tenant(id)?;
        let head = tx.audit_head(id)?;
        let rows = tx.tenant_delete(id)?;
        let report = DeleteReport {
            tenant: id.to_string(),
            rows,
            audit_seq: head.as_ref().map(|(seq, _)| *seq),
            audit_head: head.map(|(_, hash)| hash),
        };
        self.audit_admin(
            tx.as_mut(),
            None,
            "tenant.delete",
            format!("tenant:{id}"),
            json!({
                "rows": report.rows,
                "audit_seq": report.audit_seq,
                "audit_head": report.audit_head,
            }),
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// The SQLite storage, or the error saying what to use on PostgreSQL instead.
    fn sqlite_only(&self, what: &str) -> HostResult<&SqliteStorage> {
        self.sqlite.as_ref().ok_or_else(|| {
            HostError::InvalidInput(format!(
                "`tenant {what}` works on the SQLite backend, where each tenant has its own file; this host keeps its state in PostgreSQL (--database): use pg_dump and pg_restore on that database instead"
            ))
        })
    }

    fn require_tenant_read(&self, id: &str) -> HostResult<crate::store::Tenant> {
        let mut tx = self.storage.begin_read()?;
        Host::require_tenant(tx.as_mut(), id)
    }

    /// Write an online, consistent copy of tenant `id`'s database to `out`.
    pub fn backup_tenant(&self, id: &str, out: &Path) -> HostResult<BackupReport> {
        let sqlite = self.sqlite_only("backup")?;
        self.require_tenant_read(id)?;
        let summary = sqlite.backup_tenant(id, out)?;
        let file = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
        let recorded = (|| -> HostResult<()> {
            let mut tx = self.begin()?;
            self.audit_admin(
                tx.as_mut(),
                None,
                "tenant.backup",
                format!("tenant:{id}"),
                json!({
                    "file": file.display().to_string(),
                    "bytes": summary.bytes,
                    "audit_seq": summary.audit_seq,
                    "audit_head": summary.audit_head,
                }),
            )?;
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = recorded {
            // A copy of a company's data that the audit log does not know of must not
            // stay behind.
            sqlite.discard_backup(&file);
            return Err(HostError::Internal(format!(
                "the backup could not be recorded in the audit log and was removed: {e}"
            )));
        }
        Ok(BackupReport {
            tenant: id.to_string(),
            file,
            summary,
        })
    }

    /// Replace tenant `id`'s database with the backup `from`. `serve` must be stopped.
    pub fn restore_tenant(&self, id: &str, from: &Path) -> HostResult<RestoreReport> {
        let sqlite = self.sqlite_only("restore")?;
        self.require_tenant_read(id)?;
        let summary = sqlite.restore_tenant(id, from)?;
        let from = std::path::absolute(from).unwrap_or_else(|_| from.to_path_buf());
        // A backup made before the host had an audit key holds no anchor: its chain
        // is anchored at the restored head (its links stay plain SHA-256).
        let anchored = self.retrying(|| {
            let mut tx = self.storage.begin_scoped(id)?;
            let anchored = crate::audit::anchor_if_missing(tx.as_mut(), self.audit_key(), id)?;
            tx.commit()?;
            Ok(anchored)
        })?;
        let mut tx = self.begin()?;
        // Its users, roles and tokens are now those of the backup: hosts drop the
        // principals they cached.
        tx.identity_changed()?;
        self.audit_admin(
            tx.as_mut(),
            None,
            "tenant.restore",
            format!("tenant:{id}"),
            json!({
                "from": from.display().to_string(),
                "bytes": summary.restored.bytes,
                "audit_seq": summary.restored.audit_seq,
                "audit_head": summary.restored.audit_head,
                "replaced_audit_seq": summary.replaced_audit_seq,
                "replaced_audit_head": summary.replaced_audit_head,
                "anchored": anchored,
            }),
        )
        .and_then(|()| Ok(tx.commit()?))
        .map_err(|e| {
            HostError::Internal(format!(
                "tenant '{id}' was restored from {}, but the host audit log could not record it: {e}",
                from.display()
            ))
        })?;
        let audit_ok = self.audit_verify(Some(id))?.ok;
        Ok(RestoreReport {
            tenant: id.to_string(),
            from,
            summary,
            audit_ok,
        })
    }

    /// Write all of tenant `id`'s data into the new folder `out` as JSON lines: one
    /// file per plugin under `plugins/`, plus users, roles, tokens (no secrets),
    /// events, jobs, webhook endpoints (no secrets) and their delivery log, and the audit
    /// chain, and `tenant.json` describing them.
    pub fn export_tenant(&self, id: &str, out: &Path) -> HostResult<ExportReport> {
        let mut tx = self.storage.begin_read()?;
        let tenant = Host::require_tenant(tx.as_mut(), id)?;
        match std::fs::read_dir(out) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(HostError::Conflict(format!(
                        "{} exists and is not empty; export into a new folder",
                        out.display()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(HostError::InvalidInput(format!(
                    "cannot use {} as the export folder: {e}",
                    out.display()
                )));
            }
        }
        let folder = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
        let mkdir = |p: &Path| {
            std::fs::create_dir_all(p)
                .map_err(|e| HostError::Internal(format!("cannot create {}: {e}", p.display())))
        };
        mkdir(&folder.join("plugins"))?;
        #[cfg(unix)]
        {
            // The export is the company's data: readable by the owner only.
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700));
        }

        let mut files = Vec::new();
        let mut plugins = Vec::new();
        for en in tx.enablement_for_tenant(id)? {
            let name = format!("plugins/{}.jsonl", en.plugin);
            let mut lines = Lines::create(folder.join(&name))?;
            export_kv(tx.as_mut(), id, &en.plugin, &mut lines)?;
            // The tenant's setting values, as the JSON they were set to.
            let scope = crate::store::Scope {
                tenant: id.to_string(),
                plugin: en.plugin.clone(),
            };
            let settings: serde_json::Map<String, serde_json::Value> = tx
                .setting_list(&scope)?
                .into_iter()
                .map(|(k, v)| {
                    let value = serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
                    (k, value)
                })
                .collect();
            plugins.push(json!({
                "settings": settings,
                "plugin": en.plugin,
                "enabled": en.enabled,
                "data_version": en.data_version,
                "file": name,
                "keys": lines.count,
            }));
            files.push(lines.finish(&folder)?);
        }

        let users = tx.user_list(id)?.into_iter().map(|u| {
            let (roles, _) = tx.user_access(id, &u.username)?;
            // Spelled out field by field: a password hash never leaves the host.
            Ok(json!({
                "username": u.username,
                "display_name": u.display_name,
                "created_at": u.created_at,
                "disabled_at": u.disabled_at,
                "has_password": u.password_hash.is_some(),
                "roles": roles,
            }))
        });
        files.push(write_lines(&folder, "users.jsonl", users)?);

        let roles = tx.role_list(id)?.into_iter().map(|r| {
            Ok(json!({
                "name": r.name,
                "description": r.description,
                "permissions": r.permissions,
            }))
        });
        files.push(write_lines(&folder, "roles.jsonl", roles)?);

        // Which tokens existed, never their hashes (nor, as ever, the tokens).
        let tokens = tx.token_list(id)?.into_iter().map(|t| {
            Ok(json!({
                "id": t.id,
                "username": t.username,
                "kind": t.kind,
                "name": t.name,
                "created_at": t.created_at,
                "expires_at": t.expires_at,
                "last_used_at": t.last_used_at,
                "revoked_at": t.revoked_at,
            }))
        });
        files.push(write_lines(&folder, "tokens.jsonl", tokens)?);

        let events = tx.event_list(&EventFilter {
            tenant: Some(id.to_string()),
            topic: None,
            limit: u32::MAX,
        })?;
        let events = events.into_iter().rev().map(|e| {
            Ok(json!({
                "id": e.id,
                "seq": e.seq,
                "topic": e.topic,
                "payload": json_or_text(&e.payload),
                "plugin": e.plugin,
                "version": e.version,
                "created_at_ms": e.created_at_ms,
            }))
        });
        files.push(write_lines(&folder, "events.jsonl", events)?);

        let jobs = tx.job_list(&JobFilter {
            tenant: Some(id.to_string()),
            plugin: None,
        })?;
        let jobs = jobs.into_iter().map(|j| {
            let mut line = encoded("job", j.id, &j)?;
            line["payload"] = json_or_text(&j.payload);
            Ok(line)
        });
        files.push(write_lines(&folder, "jobs.jsonl", jobs)?);

        // Webhook endpoints without their secrets (sealed, and useless without this
        // host's audit key), and the delivery log, oldest first.
        let webhooks = tx.webhook_list(id)?.into_iter().map(|w| {
            Ok(json!({
                "id": w.id,
                "url": w.url,
                "topics": w.topics,
                "created_ms": w.created_ms,
                "secret_generation": w.secret_generation,
                "previous_secret_until_ms": w.previous_secret_until_ms,
            }))
        });
        files.push(write_lines(&folder, "webhooks.jsonl", webhooks)?);
        let log = tx.webhook_deliveries(id, None, None, u32::MAX)?;
        let log = log
            .into_iter()
            .rev()
            .map(|d| encoded("webhook delivery", d.id, &d));
        files.push(write_lines(&folder, "webhook_deliveries.jsonl", log)?);

        let mut audit = Lines::create(folder.join("audit.jsonl"))?;
        let mut after = 0;
        loop {
            let page = tx.audit_list(&AuditQuery {
                tenant: Some(id.to_string()),
                since: None,
                after_seq: Some(after),
                limit: PAGE,
            })?;
            for link in &page {
                // Hashes of the chain are not secrets: with them the company can check
                // its audit trail without this host.
                let mut line = encoded("audit link", link.seq, link)?;
                line["detail"] = json_or_text(&link.detail);
                line["detail_text"] = Value::String(link.detail.clone());
                audit.write(&line)?;
                after = link.seq;
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        files.push(audit.finish(&folder)?);
        drop(tx);

        let report = ExportReport {
            format: EXPORT_FORMAT.to_string(),
            tenant,
            exported_at: now_rfc3339(),
            folder: folder.clone(),
            plugins,
            files,
        };
        // `tenant.json` last: its presence says the export is complete.
        let manifest = folder.join("tenant.json");
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| HostError::Internal(format!("cannot encode the export summary: {e}")))?;
        std::fs::write(&manifest, text + "\n").map_err(|e| {
            HostError::Internal(format!("cannot write {}: {e}", manifest.display()))
        })?;

        let mut tx = self.begin()?;
        self.audit_admin(
            tx.as_mut(),
            None,
            "tenant.export",
            format!("tenant:{id}"),
            json!({
                "folder": folder.display().to_string(),
                "files": report.files.iter().map(|f| json!({"file": f.file, "lines": f.lines})).collect::<Vec<_>>(),
            }),
        )?;
        tx.commit()?;
        Ok(report)
    }
}

/// Every key of one plugin in one tenant, in key order, page by page.
fn export_kv(
    tx: &mut dyn Transaction,
    tenant: &str,
    plugin: &str,
    lines: &mut Lines,
) -> HostResult<()> {
    let scope = Scope {
        tenant: tenant.to_string(),
        plugin: plugin.to_string(),
    };
    let mut after: Option<String> = None;
    loop {
        let page = tx.kv_scan(
            &scope,
            &ScanQuery {
                after: after.clone(),
                limit: PAGE,
                ..ScanQuery::default()
            },
        )?;
        for (key, value) in &page.entries {
            lines.write(&kv_line(key, value))?;
        }
        match page.entries.last() {
            Some((key, _)) if page.more => after = Some(key.clone()),
            _ => return Ok(()),
        }
    }
}
