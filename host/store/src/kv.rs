//! Plugins' key-value data, usage, day quotas and setting values: the [`KvStore`]
//! methods both backends run, once for every [`Backend`] (statements in `sql.rs`,
//! tables in each backend's schema).

use super::sql::{self, Sql, statement};
use super::sql_conn::{Backend, Column, Param, RowGet, SqlConn, args, from_row, u64_of};
use super::{DayUsage, KvStore, KvUsage, Result, ScanPage, ScanQuery, Scope};

/// Both backends' transactions, in their tenant's file (SQLite) or the database.
impl<B: Backend> KvStore for B {
    fn kv_get(&mut self, scope: &Scope, key: &str) -> Result<Option<Vec<u8>>> {
        KV.get(self.sql_conn()?, scope, key)
    }

    fn kv_put(&mut self, scope: &Scope, key: &str, value: &[u8]) -> Result<()> {
        KV.put(self.sql_conn()?, scope, key, value.into())
    }

    fn kv_delete(&mut self, scope: &Scope, key: &str) -> Result<bool> {
        KV.delete(self.sql_conn()?, scope, key)
    }

    fn kv_scan(&mut self, scope: &Scope, query: &ScanQuery) -> Result<ScanPage> {
        let (fetch, limit, budget) = query.sizes();
        let mut args: Vec<Param<'_>> = vec![(&scope.tenant).into(), (&scope.plugin).into()];
        args.extend(query.bounds().into_iter().map(Param::from));
        args.extend(args![fetch, limit, budget]);
        // A few fixed shapes, each prepared once per connection.
        let mut rows = 0i64;
        let entries = self.sql_conn()?.query_rows_text(&query.sql(), &args, |r| {
            rows = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?))
        })?;
        let more = usize::try_from(rows).unwrap_or(usize::MAX) > entries.len();
        Ok(ScanPage { entries, more })
    }

    fn kv_purge_plugin(&mut self, plugin: &str) -> Result<u64> {
        let c = self.sql_conn()?;
        // The tenants' setting values go with the data (not counted as keys).
        c.execute(sql::SETTINGS_PURGE_PLUGIN, &args![plugin])?;
        c.execute(sql::KV_PURGE_PLUGIN, &args![plugin])
    }

    fn kv_count_plugin(&mut self, plugin: &str) -> Result<u64> {
        let n = self
            .sql_conn()?
            .query_one(sql::KV_COUNT_PLUGIN, &args![plugin], |r| r.get(0))?;
        Ok(u64_of(n))
    }

    fn kv_usage(&mut self, scope: &Scope) -> Result<KvUsage> {
        let args = args![&scope.tenant, &scope.plugin];
        let row = self.sql_conn()?.query_opt(sql::KV_USAGE, &args, |r| {
            Ok(from_row!(r => KvUsage { keys: u64_of, bytes: u64_of }))
        })?;
        Ok(row.unwrap_or_default())
    }

    fn quota_day_add(&mut self, scope: &Scope, day: i64, add: DayUsage) -> Result<DayUsage> {
        let args = args![&scope.tenant, &scope.plugin, day, add.events, add.runs];
        self.sql_conn()?
            .query_one(sql::QUOTA_DAY_ADD, &args, |r| day_usage(r))
    }

    fn quota_day_get(&mut self, scope: &Scope, day: i64) -> Result<DayUsage> {
        let args = args![&scope.tenant, &scope.plugin, day];
        let row = self
            .sql_conn()?
            .query_opt(sql::QUOTA_DAY_GET, &args, |r| day_usage(r))?;
        Ok(row.unwrap_or_default())
    }

    fn setting_get(&mut self, scope: &Scope, key: &str) -> Result<Option<String>> {
        SETTINGS.get(self.sql_conn()?, scope, key)
    }

    fn setting_list(&mut self, scope: &Scope) -> Result<Vec<(String, String)>> {
        let args = args![&scope.tenant, &scope.plugin];
        self.sql_conn()?
            .query_rows(sql::SETTING_LIST, &args, |r| Ok((r.get(0)?, r.get(1)?)))
    }

    fn setting_put(&mut self, scope: &Scope, key: &str, value: &str) -> Result<()> {
        SETTINGS.put(self.sql_conn()?, scope, key, value.into())
    }

    fn setting_delete(&mut self, scope: &Scope, key: &str) -> Result<bool> {
        SETTINGS.delete(self.sql_conn()?, scope, key)
    }
}

/// A plugin's values by key in a tenant: the statements of one such table, each
/// taking the tenant, plugin and key as `$1` to `$3` (and `put` the value as `$4`).
struct Keyed {
    get: Sql,
    put: Sql,
    delete: Sql,
}

/// The [`Keyed`] statements of `table`, of columns `tenant, plugin, key, value`.
macro_rules! keyed {
    ($table:literal) => {
        Keyed {
            get: statement!(concat!(
                "SELECT value FROM ",
                $table,
                " WHERE tenant = $1 AND plugin = $2 AND key = $3"
            )),
            put: statement!(concat!(
                "INSERT INTO ",
                $table,
                " (tenant, plugin, key, value) VALUES ($1, $2, $3, $4)
        ON CONFLICT (tenant, plugin, key) DO UPDATE SET value = excluded.value"
            )),
            delete: statement!(concat!(
                "DELETE FROM ",
                $table,
                " WHERE tenant = $1 AND plugin = $2 AND key = $3"
            )),
        }
    };
}

/// Plugins' key-value data.
const KV: Keyed = keyed!("kv");

/// Plugins' setting values.
const SETTINGS: Keyed = keyed!("plugin_settings");

impl Keyed {
    /// The value under `key` in `scope`, if there is one.
    fn get<T: Column>(&self, c: &mut impl SqlConn, scope: &Scope, key: &str) -> Result<Option<T>> {
        let args = args![&scope.tenant, &scope.plugin, key];
        c.query_opt(self.get, &args, |r| r.get(0))
    }

    /// Set (insert or replace) the value under `key` in `scope`.
    fn put(&self, c: &mut impl SqlConn, scope: &Scope, key: &str, value: Param<'_>) -> Result<()> {
        let args = args![&scope.tenant, &scope.plugin, key, value];
        c.execute(self.put, &args)?;
        Ok(())
    }

    /// Remove the value under `key` in `scope`: whether there was one.
    fn delete(&self, c: &mut impl SqlConn, scope: &Scope, key: &str) -> Result<bool> {
        let args = args![&scope.tenant, &scope.plugin, key];
        Ok(c.execute(self.delete, &args)? > 0)
    }
}

/// A row of `events, runs`.
fn day_usage(r: &impl RowGet) -> Result<DayUsage> {
    Ok(from_row!(r => DayUsage { events: u64_of, runs: u64_of }))
}
