//! Opening a data directory from before per-tenant files: each tenant's rows move
//! from the main file into its own file, counted on both sides, before the host
//! serves anything.
//!
//! ```text
//! main write lock held throughout (other processes wait at open)
//! 1. per tenant: a new file, rows copied with their ids, counts compared, committed
//! 2. one main transaction: register the files, index the tokens, drop the moved rows
//! ```
//!
//! A crash during step 1 leaves files no tenant is registered to; the next open
//! removes and copies them again. Step 2 is one transaction.

use rusqlite::{Connection, params};

use super::sqlite_tenants::{SqliteStorage, seed_ids, sqlite_files};
use super::{Progress, Result, StoreError};

/// Tables whose rows belong to a tenant, in an order that satisfies foreign keys.
pub(super) const TENANT_TABLES: &[&str] = &[
    "kv",
    "events",
    "deliveries",
    "jobs",
    "job_runs",
    "users",
    "roles",
    "role_permissions",
    "user_roles",
    "tokens",
    "audit",
];

/// Tables that only tenants have; identity and audit tables stay in the main file
/// for the host's own users and chain.
const TENANT_ONLY: &[&str] = &["kv", "events", "deliveries", "jobs", "job_runs"];

fn table_exists(conn: &Connection, schema: &str, table: &str) -> Result<bool> {
    let n: i64 = conn.query_row(
        &format!("SELECT count(*) FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?1"),
        params![table],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Column names of `table` in `schema`, in order.
fn columns(conn: &Connection, schema: &str, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA {schema}.table_info({table})"))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

fn count(conn: &Connection, schema: &str, table: &str, tenant: &str) -> Result<i64> {
    Ok(conn.query_row(
        &format!("SELECT count(*) FROM {schema}.{table} WHERE tenant = ?1"),
        params![tenant],
        |r| r.get(0),
    )?)
}

/// Split the main file if it still holds tenant rows, and give every tenant without
/// a file one.
pub(super) fn split_if_needed(storage: &SqliteStorage, progress: &dyn Progress) -> Result<()> {
    let main = storage.main_db();
    let conn = main.acquire()?;
    let missing = |conn: &Connection| -> Result<Vec<String>> {
        let mut stmt = conn.prepare(
            "SELECT id FROM tenants WHERE id NOT IN (SELECT tenant FROM tenant_files) ORDER BY id",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    };
    let legacy = table_exists(&conn, "main", "kv")?;
    if !legacy && missing(&conn)?.is_empty() {
        main.release(conn);
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let outcome = split(storage, &conn, legacy, missing(&conn)?, progress);
    match outcome {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            main.release(conn);
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The tenant rows the main file holds, all tenant tables together.
fn tenant_rows(main: &Connection) -> Result<i64> {
    let mut rows = 0i64;
    for table in TENANT_TABLES {
        if !table_exists(main, "main", table)? {
            continue;
        }
        rows += main.query_row(
            &format!("SELECT count(*) FROM main.{table} WHERE tenant != ''"),
            [],
            |r| r.get::<_, i64>(0),
        )?;
    }
    Ok(rows)
}

fn split(
    storage: &SqliteStorage,
    main: &Connection,
    legacy: bool,
    tenants: Vec<String>,
    progress: &dyn Progress,
) -> Result<()> {
    let left = if legacy { tenant_rows(main)? } else { 0 };
    progress.begin(
        "splitting the database into one file per tenant",
        u64::try_from(left).unwrap_or(0),
    );
    let outcome = split_counted(storage, main, legacy, tenants, left, progress);
    progress.end();
    outcome
}

fn split_counted(
    storage: &SqliteStorage,
    main: &Connection,
    legacy: bool,
    tenants: Vec<String>,
    left: i64,
    progress: &dyn Progress,
) -> Result<()> {
    let next: i64 = main.query_row(
        "SELECT coalesce(max(num), 0) + 1 FROM tenant_files",
        [],
        |r| r.get(0),
    )?;
    let mut moved = 0i64;
    for (num, tenant) in (next..).zip(&tenants) {
        let path = storage.tenant_path(tenant);
        for leftover in sqlite_files(&path) {
            let _ = std::fs::remove_file(leftover);
        }
        let db = storage.open_tenant(tenant, num, true)?;
        if legacy {
            let conn = db.db.acquire()?;
            let copied = copy_tenant(&conn, storage, tenant, progress);
            let _ = conn.execute_batch("DETACH DATABASE legacy");
            let copied = copied?;
            moved += copied;
            db.db.release(conn);
            tracing::info!(%tenant, rows = copied, file = %path.display(), "moved the tenant's rows into its own database");
        }
        seed_ids(&db.db, num)?;
        main.execute(
            "INSERT INTO tenant_files (num, tenant) VALUES (?1, ?2)",
            params![num, tenant],
        )?;
    }
    if legacy {
        if left != moved {
            return Err(StoreError::Backend(format!(
                "splitting the database into one file per tenant copied {moved} rows but the main file holds {left} tenant rows (rows of tenants that no longer exist?); nothing was changed in the main file. Keep a copy of {} and report this",
                storage.main_db().path().display()
            )));
        }
        main.execute_batch(
            "INSERT OR IGNORE INTO token_tenants (id, tenant)
               SELECT id, tenant FROM main.tokens WHERE tenant != ''",
        )?;
        for table in TENANT_TABLES.iter().rev() {
            if TENANT_ONLY.contains(table) {
                main.execute_batch(&format!("DROP TABLE IF EXISTS main.{table}"))?;
            } else {
                main.execute(&format!("DELETE FROM main.{table} WHERE tenant != ''"), [])?;
            }
        }
    }
    Ok(())
}

/// Copy tenant `tenant`'s rows of every tenant table from the main file into the
/// tenant's file (`conn`), in one transaction, checking the counts; rows copied.
fn copy_tenant(
    conn: &Connection,
    storage: &SqliteStorage,
    tenant: &str,
    progress: &dyn Progress,
) -> Result<i64> {
    let main_path = storage.main_db().path().display().to_string();
    conn.execute("ATTACH DATABASE ?1 AS legacy", params![main_path])?;
    // Deferred: `BEGIN IMMEDIATE` would also ask for the attached main file's write
    // lock, which the caller holds.
    conn.execute_batch("BEGIN")?;
    let result = (|| -> Result<i64> {
        let mut total = 0;
        for table in TENANT_TABLES {
            if !table_exists(conn, "legacy", table)? {
                continue;
            }
            let cols = columns(conn, "main", table)?.join(", ");
            conn.execute(
                &format!(
                    "INSERT INTO main.{table} ({cols}) SELECT {cols} FROM legacy.{table} WHERE tenant = ?1"
                ),
                params![tenant],
            )?;
            let (from, to) = (
                count(conn, "legacy", table, tenant)?,
                count(conn, "main", table, tenant)?,
            );
            if from != to {
                return Err(StoreError::Backend(format!(
                    "tenant '{tenant}', table {table}: {from} rows in the main file but {to} copied"
                )));
            }
            total += to;
            progress.advance(u64::try_from(to).unwrap_or(0));
        }
        Ok(total)
    })();
    match result {
        Ok(n) => {
            conn.execute_batch("COMMIT")?;
            Ok(n)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
