//! Plugins' key-value data, usage, day quotas and setting values: the [`KvStore`]
//! methods both backends run, once for every [`Backend`] (statements in `sql.rs`,
//! tables in each backend's schema).

use super::sql;
use super::sql_conn::{Backend, Param, RowGet, SqlConn, args, from_row, u64_of};
use super::{DayUsage, KvStore, KvUsage, Result, ScanPage, ScanQuery, Scope};

/// Both backends' transactions, in their tenant's file (SQLite) or the database.
impl<B: Backend> KvStore for B {
    fn kv_get(&mut self, scope: &Scope, key: &str) -> Result<Option<Vec<u8>>> {
        let args = args![&scope.tenant, &scope.plugin, key];
        self.sql_conn()?.query_opt(sql::KV_GET, &args, |r| r.get(0))
    }

    fn kv_put(&mut self, scope: &Scope, key: &str, value: &[u8]) -> Result<()> {
        let args = args![&scope.tenant, &scope.plugin, key, value];
        self.sql_conn()?.execute(sql::KV_PUT, &args)?;
        Ok(())
    }

    fn kv_delete(&mut self, scope: &Scope, key: &str) -> Result<bool> {
        let args = args![&scope.tenant, &scope.plugin, key];
        Ok(self.sql_conn()?.execute(sql::KV_DELETE, &args)? > 0)
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
            Ok(KvUsage {
                keys: u64_of(r.get(0)?),
                bytes: u64_of(r.get(1)?),
            })
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
        let args = args![&scope.tenant, &scope.plugin, key];
        self.sql_conn()?
            .query_opt(sql::SETTING_GET, &args, |r| r.get(0))
    }

    fn setting_list(&mut self, scope: &Scope) -> Result<Vec<(String, String)>> {
        let args = args![&scope.tenant, &scope.plugin];
        self.sql_conn()?
            .query_rows(sql::SETTING_LIST, &args, |r| Ok((r.get(0)?, r.get(1)?)))
    }

    fn setting_put(&mut self, scope: &Scope, key: &str, value: &str) -> Result<()> {
        let args = args![&scope.tenant, &scope.plugin, key, value];
        self.sql_conn()?.execute(sql::SETTING_PUT, &args)?;
        Ok(())
    }

    fn setting_delete(&mut self, scope: &Scope, key: &str) -> Result<bool> {
        let args = args![&scope.tenant, &scope.plugin, key];
        Ok(self.sql_conn()?.execute(sql::SETTING_DELETE, &args)? > 0)
    }
}

/// A row of `events, runs`.
fn day_usage(r: &impl RowGet) -> Result<DayUsage> {
    Ok(from_row!(r => DayUsage { events: u64_of, runs: u64_of }))
}
