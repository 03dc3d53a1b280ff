//! `backoffice migrate-storage`: copy a single-machine SQLite installation into an
//! empty PostgreSQL database, table by table and row by row (ids kept), in one
//! PostgreSQL transaction, then compare the row counts of every table.
//!
//! The audit chains are verified afterwards by the caller through the host, reading
//! the PostgreSQL copy (`Host::audit_verify`).

use std::path::Path;

use postgres::types::{ToSql, Type};
use rusqlite::types::ValueRef;

use super::postgres_schema::{TABLES, column_types};
use super::{Durability, PostgresStorage, Progress, Result, SqliteStorage, StoreError};

/// What was copied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationReport {
    /// Rows per table, equal in source and destination.
    pub tables: Vec<(String, u64)>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Copy every table of the SQLite database at `from` into `to`, which must hold no
/// rows yet. Nothing is written to `to` unless everything was copied and the counts
/// match.
pub fn migrate_sqlite_to_postgres(
    from: &Path,
    to: &PostgresStorage,
    progress: &dyn Progress,
) -> Result<MigrationReport> {
    if !from.is_file() {
        return Err(StoreError::Backend(format!(
            "{} is not a SQLite database file; pass --from sqlite:PATH with the backoffice.db of the installation",
            from.display()
        )));
    }
    // Bring the source's schema up to date (adds tables newer than the installation,
    // splits a single-file installation into tenant files).
    let storage = SqliteStorage::open_with(from, Durability::Full, progress)?;
    let mut paths = vec![from.to_path_buf()];
    paths.extend(
        storage
            .registered()?
            .into_iter()
            .map(|(tenant, _)| storage.tenant_path(&tenant)),
    );
    drop(storage);
    // One snapshot of each source file for the whole copy, even if a host still
    // writes it; the main file and every tenant's file.
    let mut sources = Vec::with_capacity(paths.len());
    for path in &paths {
        let source = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        source.execute_batch("BEGIN DEFERRED")?;
        sources.push(source);
    }
    let mut total = 0u64;
    for table in TABLES {
        for source in &sources {
            total += rows_of(source, table)?;
        }
    }
    progress.begin("copying into PostgreSQL", total);
    let outcome = copy(&sources, to, progress);
    progress.end();
    outcome
}

/// Rows of `table` in one source file; none if the file has no such table.
fn rows_of(source: &rusqlite::Connection, table: &str) -> Result<u64> {
    let exists: i64 = source.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(0);
    }
    let n: i64 = source.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Copy every table from `sources` in one PostgreSQL transaction, counting rows.
fn copy(
    sources: &[rusqlite::Connection],
    to: &PostgresStorage,
    progress: &dyn Progress,
) -> Result<MigrationReport> {
    to.client(|client| {
        let mut tx = client.transaction()?;
        for table in TABLES {
            let n: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
                .get(0);
            if n > 0 {
                return Err(StoreError::Conflict(format!(
                    "the destination database already has {n} rows in table {table}; migrate into an empty database (create one with `createdb`)"
                )));
            }
        }
        let mut report = MigrationReport { tables: Vec::new() };
        for table in TABLES {
            let columns = column_types(&mut tx, table)?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
            let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
            let insert = tx.prepare(&format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                placeholders.join(", ")
            ))?;
            let mut copied = 0u64;
            let mut source_count = 0i64;
            for source in sources {
                let rows = rows_of(source, table)?;
                if rows == 0 {
                    continue;
                }
                source_count += i64::try_from(rows).unwrap_or(i64::MAX);
                let mut select =
                    source.prepare(&format!("SELECT {} FROM {table}", names.join(", ")))?;
                let mut rows = select.query([])?;
                while let Some(row) = rows.next()? {
                    let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(columns.len());
                    for (i, (name, ty)) in columns.iter().enumerate() {
                        values.push(convert(row.get_ref(i)?, ty).map_err(|what| {
                            StoreError::Backend(format!(
                                "table {table}, column {name}, row {}: {what}",
                                copied + 1
                            ))
                        })?);
                    }
                    let params: Vec<&(dyn ToSql + Sync)> =
                        values.iter().map(|v| v.as_ref()).collect();
                    tx.execute(&insert, &params)?;
                    copied += 1;
                    progress.advance(1);
                }
            }
            if columns.iter().any(|(n, t)| n == "id" && *t == Type::INT8) {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                       coalesce(max(id), 0) + 1, false) FROM {table}"
                    ),
                    &[],
                )?;
            }
            let copy_count: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
                .get(0);
            if source_count != copy_count || copy_count != copied as i64 {
                return Err(StoreError::Backend(format!(
                    "table {table}: {source_count} rows in SQLite but {copy_count} in PostgreSQL; nothing was committed"
                )));
            }
            report.tables.push(((*table).to_string(), copied));
        }
        tx.commit()?;
        Ok(report)
    })
}

/// One SQLite value as the PostgreSQL column type wants it.
fn convert(value: ValueRef<'_>, ty: &Type) -> std::result::Result<Box<dyn ToSql + Sync>, String> {
    Ok(match (value, ty) {
        (ValueRef::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (ValueRef::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (ValueRef::Null, _) => Box::new(None::<String>),
        (ValueRef::Integer(n), t) if *t == Type::INT8 => Box::new(n),
        (ValueRef::Text(s), t) if *t == Type::TEXT => {
            Box::new(std::str::from_utf8(s).map_err(backend_text)?.to_string())
        }
        (ValueRef::Blob(b), t) if *t == Type::BYTEA => Box::new(b.to_vec()),
        (ValueRef::Text(s), t) if *t == Type::BYTEA => Box::new(s.to_vec()),
        (other, t) => {
            return Err(format!(
                "a SQLite {:?} value cannot go into a {t} column",
                other.data_type()
            ));
        }
    })
}

fn backend_text(e: std::str::Utf8Error) -> String {
    format!("text that is not UTF-8: {}", backend(e))
}
