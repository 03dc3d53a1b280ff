//! The Rust side of statements both backends run, written once (issue 18).
//!
//! [`SqlConn`] is a connection inside a transaction of either backend: it runs a
//! [`Sql`] statement in its own parameter syntax with [`Param`] values and hands each
//! row to a closure through [`RowGet`]. [`Backend`] is a transaction that has such a
//! connection; a store trait whose methods do the same on both backends is
//! implemented once for every `Backend`. What really differs between the backends
//! stays in [`SqlConn`]'s two implementations (claims lock their rows with `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL only; an insert meeting a taken key) or in hooks of
//! [`Backend`].

#[cfg(feature = "postgres")]
use postgres::types::ToSql;

#[cfg(feature = "postgres")]
use super::postgres::Conn;
use super::sql::Sql;
use super::{AuditAnchor, Result, StoreError};

/// One value bound to a statement, borrowed from the caller. Integers are bound as
/// 64-bit on both backends (PostgreSQL's columns are `BIGINT`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Param<'a> {
    /// An integer.
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// Text.
    Text(&'a str),
    /// Text or NULL.
    OptText(Option<&'a str>),
    /// Bytes.
    Blob(&'a [u8]),
    /// Bytes or NULL.
    OptBlob(Option<&'a [u8]>),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<u32> for Param<'_> {
    fn from(v: u32) -> Self {
        Param::Int(i64::from(v))
    }
}

/// Numbers past `i64::MAX` are bound as `i64::MAX`.
impl From<u64> for Param<'_> {
    fn from(v: u64) -> Self {
        Param::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<Option<u64>> for Param<'_> {
    fn from(v: Option<u64>) -> Self {
        Param::OptInt(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
    }
}

impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Int(i64::from(v))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Param::OptInt(v)
    }
}

impl From<Option<u16>> for Param<'_> {
    fn from(v: Option<u16>) -> Self {
        Param::OptInt(v.map(i64::from))
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Param::OptText(v)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::OptText(v.as_deref())
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Blob(v)
    }
}

impl<'a> From<&'a Option<Vec<u8>>> for Param<'a> {
    fn from(v: &'a Option<Vec<u8>>) -> Self {
        Param::OptBlob(v.as_deref())
    }
}

impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Param::Blob(v)
    }
}

/// `[Param; N]` of the values given, in order: `args![tenant, id, now_ms]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        [$($crate::sql_conn::Param::from($value)),*]
    };
}
pub(super) use args;

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Int(v) | Param::OptInt(Some(v)) => ValueRef::Integer(v),
            Param::Text(v) | Param::OptText(Some(v)) => ValueRef::Text(v.as_bytes()),
            Param::Blob(v) | Param::OptBlob(Some(v)) => ValueRef::Blob(v),
            Param::OptInt(None) | Param::OptText(None) | Param::OptBlob(None) => ValueRef::Null,
        }))
    }
}

/// The values as PostgreSQL's client binds them.
#[cfg(feature = "postgres")]
fn pg_args<'p>(params: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &'p (dyn ToSql + Sync) {
            match p {
                Param::Int(v) => v,
                Param::OptInt(v) => v,
                Param::Text(v) => v,
                Param::OptText(v) => v,
                Param::Blob(v) => v,
                Param::OptBlob(v) => v,
            }
        })
        .collect()
}

/// A Rust type a column is read into on both backends.
#[cfg(feature = "postgres")]
pub(super) trait Column:
    rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>
{
}

/// A Rust type a column is read into (SQLite alone: built without PostgreSQL).
#[cfg(not(feature = "postgres"))]
pub(super) trait Column: rusqlite::types::FromSql {}

impl Column for i64 {}
impl Column for Option<i64> {}
impl Column for String {}
impl Column for Option<String> {}
impl Column for Vec<u8> {}
impl Column for Option<Vec<u8>> {}

/// One row of a result, of either backend.
pub(super) trait RowGet {
    /// Column `i` (from 0).
    fn get<T: Column>(&self, i: usize) -> Result<T>;
}

impl RowGet for rusqlite::Row<'_> {
    fn get<T: Column>(&self, i: usize) -> Result<T> {
        Ok(rusqlite::Row::get(self, i)?)
    }
}

#[cfg(feature = "postgres")]
impl RowGet for postgres::Row {
    fn get<T: Column>(&self, i: usize) -> Result<T> {
        Ok(self.try_get(i)?)
    }
}

/// A row's columns, read one after the other (see [`from_row!`]).
pub(super) struct Columns<'r, R> {
    row: &'r R,
    next: usize,
}

impl<'r, R: RowGet> Columns<'r, R> {
    /// The columns of `row`, from the first.
    pub(super) fn of(row: &'r R) -> Self {
        Columns { row, next: 0 }
    }

    /// The next column.
    pub(super) fn next<T: Column>(&mut self) -> Result<T> {
        let value = self.row.get(self.next);
        self.next += 1;
        value
    }
}

/// A struct read from a row whose columns are its fields in the order listed (the
/// order of the statement's column list, named where the row reader is): `field`
/// takes its column as it is, `field: f` takes `f(column)` (`u32_of`, `bool_of`, a
/// closure, ...); after a `;`, `field: value` sets a field that no column holds.
macro_rules! from_row {
    (
        $row:expr => $ty:ident {
            $($field:ident $(: $conv:expr)?),+ $(; $($other:ident: $value:expr),+)? $(,)?
        }
    ) => {{
        let mut columns = $crate::sql_conn::Columns::of($row);
        $ty {
            $($field: from_row!(@ columns $(, $conv)?),)+
            $($($other: $value,)+)?
        }
    }};
    (@ $columns:ident) => {
        $columns.next()?
    };
    (@ $columns:ident, $conv:expr) => {
        ($conv)($columns.next()?)
    };
}
pub(super) use from_row;

/// A flag stored as an integer: set unless 0.
pub(super) fn bool_of(n: i64) -> bool {
    n != 0
}

/// A count stored as a 64-bit integer, as `u32` (the largest `u32` beyond it).
pub(super) fn u32_of(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A sequence number stored as a 64-bit integer, as `u64` (0 below 0).
pub(super) fn u64_of(n: i64) -> u64 {
    n.max(0) as u64
}

/// An HTTP status stored as a 64-bit integer; none when there is none or it is no
/// status.
pub(super) fn status_of(n: Option<i64>) -> Option<u16> {
    n.and_then(|n| u16::try_from(n).ok())
}

/// A connection inside a transaction of either backend.
pub(super) trait SqlConn {
    /// Whether other hosts write the same database at once (PostgreSQL): a taken
    /// number this transaction derived from what it read (the next audit link) is
    /// then a lost race to retry, not a conflict.
    const SHARED: bool;

    /// The row type [`SqlConn::query_opt`] and [`SqlConn::query_rows`] hand out.
    type Row<'r>: RowGet;

    /// Run a statement; the number of rows it changed.
    fn execute(&mut self, sql: Sql, params: &[Param<'_>]) -> Result<u64>;

    /// The first row of a query, mapped by `f`, if there is one.
    fn query_opt<T>(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        f: impl FnOnce(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Option<T>>;

    /// Every row of a query, each mapped by `f`, in order.
    fn query_rows<T>(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>>;

    /// [`SqlConn::query_rows`] of a `SELECT` of rows this transaction is about to
    /// lease: PostgreSQL locks each row and skips rows another host holds (`FOR UPDATE
    /// SKIP LOCKED`); a SQLite file has one writer, which needs no lock.
    fn claim_rows<T>(
        &mut self,
        select: Sql,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query_rows(select, params, f)
    }

    /// [`SqlConn::query_rows`] of a statement made at run time, written with `$N`
    /// parameters.
    fn query_rows_text<T>(
        &mut self,
        text: &str,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>>;

    /// Run an `INSERT` of a row whose key may be taken: false when it is, and then
    /// nothing was written and the transaction goes on (a failed statement would
    /// abort a PostgreSQL transaction, so there the insert does nothing instead).
    fn insert_new(&mut self, sql: Sql, params: &[Param<'_>]) -> Result<bool>;

    /// [`SqlConn::insert_new`] of a row whose key the caller chose: a taken key is
    /// [`StoreError::Conflict`] saying `taken`.
    fn insert_unique(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        taken: impl FnOnce() -> String,
    ) -> Result<()> {
        if self.insert_new(sql, params)? {
            Ok(())
        } else {
            Err(StoreError::Conflict(taken()))
        }
    }

    /// The one row a query always returns (an `INSERT ... RETURNING`), mapped by `f`.
    fn query_one<T>(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        f: impl FnOnce(&Self::Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| StoreError::Backend("query returned no rows".into()))
    }
}

impl SqlConn for rusqlite::Connection {
    const SHARED: bool = false;
    type Row<'r> = rusqlite::Row<'r>;

    fn execute(&mut self, sql: Sql, params: &[Param<'_>]) -> Result<u64> {
        let n = self
            .prepare_cached(sql.lite)?
            .execute(rusqlite::params_from_iter(params))?;
        Ok(n as u64)
    }

    fn query_opt<T>(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        f: impl FnOnce(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut stmt = self.prepare_cached(sql.lite)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        rows.next()?.map(f).transpose()
    }

    fn query_rows<T>(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        lite_rows(self, sql.lite, params, f)
    }

    fn query_rows_text<T>(
        &mut self,
        text: &str,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        // SQLite would number `$N` by first appearance; `?N` binds the N-th value.
        lite_rows(self, &text.replace('$', "?"), params, f)
    }

    fn insert_new(&mut self, sql: Sql, params: &[Param<'_>]) -> Result<bool> {
        match self
            .prepare_cached(sql.lite)?
            .execute(rusqlite::params_from_iter(params))
        {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Every row of `text` (with `?N` parameters), each mapped by `f`.
fn lite_rows<T>(
    conn: &rusqlite::Connection,
    text: &str,
    params: &[Param<'_>],
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(text)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

#[cfg(feature = "postgres")]
impl SqlConn for Conn {
    const SHARED: bool = true;
    type Row<'r> = postgres::Row;

    fn execute(&mut self, sql: Sql, params: &[Param<'_>]) -> Result<u64> {
        self.exec(sql.pg, &pg_args(params))
    }

    fn query_opt<T>(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        f: impl FnOnce(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        Conn::query_opt(self, sql.pg, &pg_args(params))?
            .as_ref()
            .map(f)
            .transpose()
    }

    fn query_rows<T>(
        &mut self,
        sql: Sql,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query_rows_text(sql.pg, params, f)
    }

    fn claim_rows<T>(
        &mut self,
        select: Sql,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        // Rows another host holds are skipped, not waited for.
        let select = format!("{} FOR UPDATE SKIP LOCKED", select.pg);
        self.query_rows_text(&select, params, f)
    }

    fn query_rows_text<T>(
        &mut self,
        text: &str,
        params: &[Param<'_>],
        f: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query(text, &pg_args(params))?.iter().map(f).collect()
    }

    fn insert_new(&mut self, sql: Sql, params: &[Param<'_>]) -> Result<bool> {
        Ok(self.exec_raw(sql.pg, &pg_args(params))?.is_ok())
    }
}

/// A transaction of either backend, through its connection.
pub(super) trait Backend: Send {
    /// The connection's type.
    type Conn: SqlConn;

    /// The transaction's connection; an error once the transaction is finished.
    fn sql_conn(&mut self) -> Result<&mut Self::Conn>;

    /// `RegistryStore::tenant_delete`: remove a tenant and every row of it; the
    /// number of rows removed. A SQLite file holds only some of the tables, and the
    /// routing transaction moves the identity stamp; PostgreSQL also drops the
    /// tenant's quota counters and moves the stamp itself.
    fn delete_tenant(&mut self, id: &str) -> Result<u64>;

    /// Called after a change to users, roles, permissions or tokens: PostgreSQL moves
    /// the identity stamp on (`IdentityStore::identity_changed`) in the same
    /// transaction; a SQLite file leaves that to the routing transaction, as the stamp
    /// lives in the main file.
    fn identity_moved(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called after an audit link and its chain's anchor were written: a SQLite
    /// writer remembers the anchor as where the chain continues (its commit batch
    /// hands it on, see `AuditStore::audit_known_tip`).
    fn audit_linked(&mut self, anchor: &AuditAnchor) {
        let _ = anchor;
    }

    /// What `AuditStore::audit_known_tip` answers: none unless the transaction
    /// knows the chain's tip without reading it.
    fn audit_tip(&mut self, chain: &str) -> Option<AuditAnchor> {
        let _ = chain;
        None
    }
}

/// What [`SqlConn::insert_unique`] says of a taken key: "`what` '`id`' already
/// exists".
pub(super) fn exists<'a>(what: &'a str, id: &'a str) -> impl FnOnce() -> String + 'a {
    move || format!("{what} '{id}' already exists")
}

/// A claim's lease: the rows it takes are due at `now_ms` and leased to `owner`
/// until `until_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    /// The claim's time, ms since the epoch.
    pub now_ms: i64,
    /// The end of the lease, ms since the epoch.
    pub until_ms: i64,
    /// The worker leasing the rows.
    pub owner: &'a str,
}

impl<'a> Lease<'a> {
    /// A lease taken at `now_ms` by `owner` until `until_ms`.
    pub fn new(now_ms: i64, until_ms: i64, owner: &'a str) -> Self {
        Lease {
            now_ms,
            until_ms,
            owner,
        }
    }
}

/// Lease up to `limit` rows `select` (parameters `now_ms, limit`) finds due, each
/// through `update` (parameters `id, until_ms, owner`), which counts an attempt: the
/// rows as `row` maps them, with the attempt that `leased` (the row's id and count of
/// attempts) counts too.
pub(super) fn lease_due<C: SqlConn, T>(
    c: &mut C,
    (select, update): (Sql, Sql),
    (lease, limit): (&Lease<'_>, u32),
    row: impl FnMut(&C::Row<'_>) -> Result<T>,
    leased: impl Fn(&mut T) -> (i64, &mut u32),
) -> Result<Vec<T>> {
    let mut due = c.claim_rows(select, &args![lease.now_ms, limit], row)?;
    for r in &mut due {
        let (id, attempts) = leased(r);
        c.execute(update, &args![id, lease.until_ms, lease.owner])?;
        *attempts += 1;
    }
    Ok(due)
}

/// Send a dead row of `tenant` again: true when `retry` (parameters `tenant, id,
/// now_ms`) revived it; false when `exists` (parameters `tenant, id`) finds no such
/// row; [`StoreError::Conflict`] saying `busy` when it is in another state.
pub(super) fn revive(
    c: &mut impl SqlConn,
    retry: Sql,
    exists: Sql,
    (tenant, id, now_ms): (&str, i64, i64),
    busy: impl FnOnce() -> String,
) -> Result<bool> {
    if c.execute(retry, &args![tenant, id, now_ms])? > 0 {
        return Ok(true);
    }
    if c.query_opt(exists, &args![tenant, id], |_| Ok(()))?
        .is_some()
    {
        return Err(StoreError::Conflict(busy()));
    }
    Ok(false)
}
