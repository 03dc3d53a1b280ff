//! One outbound queue, written once for every kind of row it holds (issue 18):
//! plugins' HTTP requests (`http.rs`) and email notifications (`notify.rs`).
//!
//! Every kind has the same life cycle: a call inserts a row through its own
//! transaction, so the row exists only if the call committed; the delivery worker
//! claims due rows with a lease that counts an attempt, finishes each with an attempt
//! row, or holds it (gives it back uncounted); an admin lists the rows and their
//! attempts and retries a dead one. [`QueueStore`] is that life cycle for the rows of
//! one [`QueueKind`], implemented here once for both backends (through [`Backend`])
//! and for SQLite's routing transaction; a kind's own file keeps only what is its
//! own: its row, attempt and new-row types, how they are read and bound, and its
//! column lists ([`queue_statements!`] puts its statements together).
//!
//! Callers use each kind's methods under its own names (`http_claim`,
//! `notify_claim`): the traits [`queue_names!`] declares, implemented for every
//! [`QueueStore`] of the kind.

use super::sql::Sql;
use super::sql_conn::{Backend, Lease, Param, RowGet, SqlConn, args, lease_due, revive};
use super::sqlite_tenants::{RoutedTx, route};
use super::{Finish, Result};

/// A kind of outbound queue, named by the type of its rows.
pub trait QueueKind: Sized {
    /// What a call queues: a row before it has an id and a state.
    type New;
    /// One attempt, as the worker records it.
    type Attempt;
    /// The rows in words, for errors: "HTTP requests".
    const ROWS: &'static str;
    /// The state of a row whose attempt was accepted (`sent`, `answered`).
    const DONE: &'static str;
    /// The states a row may be in, which a list may be filtered by.
    const STATES: [&'static str; 3] = ["pending", Self::DONE, "dead"];

    /// The row's id, unique in its tenant.
    fn id(&self) -> i64;
}

/// Storage of the outbound queue of rows `K`. Both backends implement every method;
/// by default the worker's find nothing to claim and refuse to finish or hold, for
/// the transactions of plugin calls, which never run the worker.
pub trait QueueStore<K: QueueKind> {
    /// Queue a row; its id.
    fn queue_insert(&mut self, new: &K::New) -> Result<i64>;

    /// Lease up to `limit` due rows by `lease`'s terms, counting an attempt.
    fn queue_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<K>> {
        let _ = (lease, limit);
        Ok(Vec::new())
    }

    /// Record an attempt of a row of `tenant` leased by `owner` and its outcome
    /// (`Done`: the kind's accepted state); false (nothing written) when the lease
    /// was lost meanwhile.
    fn queue_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &K::Attempt,
        finish: &Finish,
    ) -> Result<bool> {
        let _ = (tenant, id, owner, attempt, finish);
        Err(unsupported::<K>())
    }

    /// Give back a row of `tenant` leased by `owner` without attempting it: the
    /// claim's attempt is not counted, the row is due again at `next_ms` and `reason`
    /// is its `last_error`. False when the lease was lost meanwhile.
    fn queue_hold(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        next_ms: i64,
        reason: &str,
    ) -> Result<bool> {
        let _ = (tenant, id, owner, next_ms, reason);
        Err(unsupported::<K>())
    }

    /// A tenant's rows, newest first, optionally in one state.
    fn queue_list(&mut self, tenant: &str, state: Option<&str>, limit: u32) -> Result<Vec<K>>;

    /// Every attempt of one row, oldest first.
    fn queue_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<K::Attempt>>;

    /// Send a dead row again now with a fresh count of attempts: true; false when
    /// there is no such row; [`StoreError::Conflict`](super::StoreError::Conflict)
    /// when it is pending or was accepted.
    fn queue_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool>;
}

fn unsupported<K: QueueKind>() -> super::StoreError {
    super::unsupported(K::ROWS)
}

/// Declares a trait of the methods of one kind's [`QueueStore`] under the names its
/// callers use, implemented for every store of that kind:
///
/// ```text
/// queue_names! {
///     /// Docs of the trait.
///     pub trait HttpQueue for HttpRequest {
///         http_insert, http_claim, http_finish, http_hold, http_list, http_attempts,
///         http_retry
///     }
/// }
/// ```
macro_rules! queue_names {
    (
        $(#[$doc:meta])*
        pub trait $name:ident for $row:ty {
            $insert:ident, $claim:ident, $finish:ident, $hold:ident, $list:ident,
            $attempts:ident, $retry:ident $(,)?
        }
    ) => {
        $(#[$doc])*
        pub trait $name: $crate::queue::QueueStore<$row> {
            /// [`QueueStore::queue_insert`](crate::QueueStore::queue_insert).
            fn $insert(
                &mut self,
                new: &<$row as $crate::queue::QueueKind>::New,
            ) -> $crate::Result<i64> {
                self.queue_insert(new)
            }
            /// [`QueueStore::queue_claim`](crate::QueueStore::queue_claim).
            fn $claim(
                &mut self,
                lease: &$crate::Lease<'_>,
                limit: u32,
            ) -> $crate::Result<Vec<$row>> {
                self.queue_claim(lease, limit)
            }
            /// [`QueueStore::queue_finish`](crate::QueueStore::queue_finish).
            fn $finish(
                &mut self,
                tenant: &str,
                id: i64,
                owner: &str,
                attempt: &<$row as $crate::queue::QueueKind>::Attempt,
                finish: &$crate::Finish,
            ) -> $crate::Result<bool> {
                self.queue_finish(tenant, id, owner, attempt, finish)
            }
            /// [`QueueStore::queue_hold`](crate::QueueStore::queue_hold).
            fn $hold(
                &mut self,
                tenant: &str,
                id: i64,
                owner: &str,
                next_ms: i64,
                reason: &str,
            ) -> $crate::Result<bool> {
                self.queue_hold(tenant, id, owner, next_ms, reason)
            }
            /// [`QueueStore::queue_list`](crate::QueueStore::queue_list).
            fn $list(
                &mut self,
                tenant: &str,
                state: Option<&str>,
                limit: u32,
            ) -> $crate::Result<Vec<$row>> {
                self.queue_list(tenant, state, limit)
            }
            /// [`QueueStore::queue_attempts`](crate::QueueStore::queue_attempts).
            fn $attempts(
                &mut self,
                tenant: &str,
                id: i64,
            ) -> $crate::Result<Vec<<$row as $crate::queue::QueueKind>::Attempt>> {
                self.queue_attempts(tenant, id)
            }
            /// [`QueueStore::queue_retry`](crate::QueueStore::queue_retry).
            fn $retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> $crate::Result<bool> {
                self.queue_retry(tenant, id, now_ms)
            }
        }

        impl<T: $crate::queue::QueueStore<$row> + ?Sized> $name for T {}
    };
}
pub(super) use queue_names;

/// The statements a queue runs, on both backends (see [`queue_statements!`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Statements {
    /// Due rows, oldest due first (parameters `now_ms, limit`); PostgreSQL appends
    /// `FOR UPDATE SKIP LOCKED`.
    pub claim_select: Sql,
    /// Lease one row, counting an attempt (`id, lease_until_ms, owner`).
    pub claim_update: Sql,
    /// End a leased row's attempt (`tenant, id, owner, state, next_attempt_ms,
    /// done_ms, last_error`, then the kind's own columns).
    pub finish: Sql,
    /// Give back a leased row uncounted (`tenant, id, owner, next_ms, reason`).
    pub hold: Sql,
    /// Record an attempt (`tenant, row id`, then the attempt's columns).
    pub attempt_insert: Sql,
    /// A tenant's rows, newest first (`tenant, state or '', limit`).
    pub list: Sql,
    /// A row's attempts, oldest first (`tenant, row id`).
    pub attempts: Sql,
    /// Revive a dead row (`tenant, id, now_ms`).
    pub retry: Sql,
    /// Whether a row exists (`tenant, id`).
    pub exists: Sql,
}

/// The [`Statements`] of a queue kept in `table`, whose rows are read as the columns
/// `row` (in the order the kind reads them); `finish_sets` adds the kind's own
/// columns to what an attempt's end sets (from `$8` on, after a comma); each attempt
/// is a row of `attempt_table` naming its row in `row_id`, of the columns `attempt`
/// (bound as `attempt_values`, from `$3` on).
macro_rules! queue_statements {
    (
        table: $table:literal,
        row: $row:literal,
        finish_sets: $sets:literal,
        attempt_table: $attempt_table:literal,
        row_id: $row_id:literal,
        attempt: $attempt:literal,
        attempt_values: $values:literal $(,)?
    ) => {
        $crate::queue::Statements {
            claim_select: $crate::sql::statement!(concat!(
                "SELECT ",
                $row,
                " FROM ",
                $table,
                " WHERE state = 'pending' AND next_attempt_ms <= $1
                    AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
                  ORDER BY next_attempt_ms, id LIMIT $2"
            )),
            claim_update: $crate::sql::statement!(concat!(
                "UPDATE ",
                $table,
                " SET attempts = attempts + 1, lease_until_ms = $2, lease_owner = $3
                  WHERE id = $1"
            )),
            finish: $crate::sql::statement!(concat!(
                "UPDATE ",
                $table,
                " SET state = $4, next_attempt_ms = coalesce($5, next_attempt_ms),
                      done_ms = $6, last_error = $7",
                $sets,
                ", lease_until_ms = NULL, lease_owner = NULL
                  WHERE tenant = $1 AND id = $2 AND lease_owner = $3"
            )),
            hold: $crate::sql::statement!(concat!(
                "UPDATE ",
                $table,
                " SET attempts = attempts - 1, next_attempt_ms = $4, last_error = $5,
                      lease_until_ms = NULL, lease_owner = NULL
                  WHERE tenant = $1 AND id = $2 AND lease_owner = $3"
            )),
            attempt_insert: $crate::sql::statement!(concat!(
                "INSERT INTO ",
                $attempt_table,
                " (tenant, ",
                $row_id,
                ", ",
                $attempt,
                ") VALUES ($1, $2, ",
                $values,
                ")"
            )),
            list: $crate::sql::statement!(concat!(
                "SELECT ",
                $row,
                " FROM ",
                $table,
                " WHERE tenant = $1 AND ($2 = '' OR state = $2) ORDER BY id DESC LIMIT $3"
            )),
            attempts: $crate::sql::statement!(concat!(
                "SELECT ",
                $attempt,
                " FROM ",
                $attempt_table,
                " WHERE tenant = $1 AND ",
                $row_id,
                " = $2 ORDER BY id"
            )),
            retry: $crate::sql::statement!(concat!(
                "UPDATE ",
                $table,
                " SET state = 'pending', attempts = 0, next_attempt_ms = $3, done_ms = NULL,
                      lease_until_ms = NULL, lease_owner = NULL
                  WHERE tenant = $1 AND id = $2 AND state = 'dead'"
            )),
            exists: $crate::sql::statement!(concat!(
                "SELECT 1 FROM ",
                $table,
                " WHERE tenant = $1 AND id = $2"
            )),
        }
    };
}
pub(super) use queue_statements;

/// What a kind gives the one implementation: its statements, its accepted state, and
/// how its rows are read and its values bound.
pub(super) trait QueueSql: QueueKind + Send {
    /// The kind's statements.
    const SQL: Statements;

    /// The tenant `new` is queued for.
    fn tenant(new: &Self::New) -> &str;
    /// Insert `new` (its own column list); its id.
    fn insert(c: &mut impl SqlConn, new: &Self::New) -> Result<i64>;
    /// A row of the columns `row` of [`queue_statements!`].
    fn row(r: &impl RowGet) -> Result<Self>;
    /// The row's id and count of attempts, which a claim counts up.
    fn leased(&mut self) -> (i64, &mut u32);
    /// An attempt of the columns `attempt` of [`queue_statements!`].
    fn attempt(r: &impl RowGet) -> Result<Self::Attempt>;
    /// When `a` ended, and the values [`Statements::finish`] binds from `$7` on: the
    /// error, then the kind's own columns.
    fn finished(a: &Self::Attempt) -> (i64, Vec<Param<'_>>);
    /// The values [`Statements::attempt_insert`] binds from `$3` on.
    fn attempt_values(a: &Self::Attempt) -> Vec<Param<'_>>;
    /// Why row `id` cannot be retried: it is pending or was accepted.
    fn busy(id: i64) -> String;
}

/// Both backends' transactions, in their tenant's file (SQLite) or the database.
impl<B: Backend, K: QueueSql> QueueStore<K> for B {
    fn queue_insert(&mut self, new: &K::New) -> Result<i64> {
        K::insert(self.sql_conn()?, new)
    }

    fn queue_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<K>> {
        lease_due(
            self.sql_conn()?,
            (K::SQL.claim_select, K::SQL.claim_update),
            (lease, limit),
            |r| K::row(r),
            K::leased,
        )
    }

    fn queue_finish(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        attempt: &K::Attempt,
        finish: &Finish,
    ) -> Result<bool> {
        let (at_ms, own) = K::finished(attempt);
        let (state, next, done) = finish.outcome(K::DONE, at_ms);
        let mut finished = args![tenant, id, owner, state, next, done].to_vec();
        finished.extend(own);
        let c = self.sql_conn()?;
        if c.execute(K::SQL.finish, &finished)? == 0 {
            return Ok(false);
        }
        let mut recorded = args![tenant, id].to_vec();
        recorded.extend(K::attempt_values(attempt));
        c.execute(K::SQL.attempt_insert, &recorded)?;
        Ok(true)
    }

    fn queue_hold(
        &mut self,
        tenant: &str,
        id: i64,
        owner: &str,
        next_ms: i64,
        reason: &str,
    ) -> Result<bool> {
        let args = args![tenant, id, owner, next_ms, reason];
        Ok(self.sql_conn()?.execute(K::SQL.hold, &args)? > 0)
    }

    fn queue_list(&mut self, tenant: &str, state: Option<&str>, limit: u32) -> Result<Vec<K>> {
        let args = args![tenant, state.unwrap_or(""), limit];
        self.sql_conn()?
            .query_rows(K::SQL.list, &args, |r| K::row(r))
    }

    fn queue_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<K::Attempt>> {
        self.sql_conn()?
            .query_rows(K::SQL.attempts, &args![tenant, id], |r| K::attempt(r))
    }

    fn queue_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool> {
        revive(
            self.sql_conn()?,
            K::SQL.retry,
            K::SQL.exists,
            (tenant, id, now_ms),
            || K::busy(id),
        )
    }
}

/// SQLite: each method goes to the file of its tenant; claims gather over every
/// tenant file.
impl<K: QueueSql> QueueStore<K> for RoutedTx {
    route! {
        for QueueStore<K>;
        fn queue_insert(&mut self, new: &K::New) -> Result<i64> => tenant_mut(K::tenant(new));
        fn queue_claim(&mut self, lease: &Lease<'_>, limit: u32) -> Result<Vec<K>>
            => gather(limit) |tx, limit|;
        fn queue_finish(
            &mut self, tenant: &str, id: i64, owner: &str, attempt: &K::Attempt, finish: &Finish
        ) -> Result<bool> => tenant_mut(tenant);
        fn queue_hold(
            &mut self, tenant: &str, id: i64, owner: &str, next_ms: i64, reason: &str
        ) -> Result<bool> => tenant_mut(tenant);
        fn queue_list(&mut self, tenant: &str, state: Option<&str>, limit: u32) -> Result<Vec<K>>
            => tenant_mut(tenant);
        fn queue_attempts(&mut self, tenant: &str, id: i64) -> Result<Vec<K::Attempt>>
            => tenant_mut(tenant);
        fn queue_retry(&mut self, tenant: &str, id: i64, now_ms: i64) -> Result<bool>
            => tenant_mut(tenant);
    }
}
