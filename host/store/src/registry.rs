//! Host-level records (tenants, packages and their signatures, grants, enablements,
//! trusted keys, the compiled-code index): the [`RegistryStore`] methods both backends
//! run, once for every [`Backend`] (statements in `sql.rs`). Deleting a tenant is the
//! one that differs (`Backend::delete_tenant`).

use super::sql;
use super::sql_conn::{Backend, RowGet, SqlConn, args, bool_of, exists, from_row};
use super::{Enablement, PackageRecord, RegistryStore, Result, Tenant, TrustedKey};

fn tenant(r: &impl RowGet) -> Result<Tenant> {
    Ok(from_row!(r => Tenant { id, name, time_zone, created_at }))
}

fn enablement(r: &impl RowGet) -> Result<Enablement> {
    Ok(from_row!(r => Enablement {
        tenant, plugin,
        enabled: bool_of,
        data_version, changed_at,
    }))
}

/// A package row of `id, version, manifest, digest, installed_at`, without the bytes.
fn package(r: &impl RowGet) -> Result<PackageRecord> {
    Ok(from_row!(r => PackageRecord {
        id, version, manifest_json, digest, installed_at;
        component: Vec::new(),
    }))
}

/// Both backends' transactions: the main file (SQLite) or the database.
impl<B: Backend> RegistryStore for B {
    fn tenant_insert(&mut self, t: &Tenant) -> Result<()> {
        let args = args![&t.id, &t.name, &t.time_zone, &t.created_at];
        self.sql_conn()?
            .insert_unique(sql::TENANT_INSERT, &args, exists("tenant", &t.id))
    }

    fn tenant_get(&mut self, id: &str) -> Result<Option<Tenant>> {
        self.sql_conn()?
            .query_opt(sql::TENANT_GET, &args![id], |r| tenant(r))
    }

    fn tenant_list(&mut self) -> Result<Vec<Tenant>> {
        self.sql_conn()?
            .query_rows(sql::TENANT_LIST, &[], |r| tenant(r))
    }

    fn tenant_delete(&mut self, id: &str) -> Result<u64> {
        self.delete_tenant(id)
    }

    fn package_insert(&mut self, p: &PackageRecord) -> Result<()> {
        let c = self.sql_conn()?;
        let args = args![
            &p.id,
            &p.version,
            &p.manifest_json,
            &p.digest,
            &p.component,
            &p.installed_at
        ];
        c.insert_unique(sql::PACKAGE_INSERT, &args, || {
            format!(
                "plugin '{}' version {} is already installed",
                p.id, p.version
            )
        })?;
        c.execute(sql::PLUGIN_SET_CURRENT_INSERT, &args![&p.id, &p.version])?;
        Ok(())
    }

    fn package_current(&mut self, id: &str) -> Result<Option<PackageRecord>> {
        self.sql_conn()?
            .query_opt(sql::PACKAGE_CURRENT, &args![id], |r| package(r))
    }

    fn package_head(&mut self, id: &str) -> Result<Option<PackageRecord>> {
        self.sql_conn()?
            .query_opt(sql::PACKAGE_HEAD, &args![id], |r| package(r))
    }

    fn package_manifest(&mut self, id: &str, version: &str) -> Result<Option<String>> {
        self.sql_conn()?
            .query_opt(sql::PACKAGE_MANIFEST, &args![id, version], |r| r.get(0))
    }

    fn package_component(&mut self, id: &str, version: &str) -> Result<Option<Vec<u8>>> {
        self.sql_conn()?
            .query_opt(sql::PACKAGE_COMPONENT, &args![id, version], |r| r.get(0))
    }

    fn package_list(&mut self) -> Result<Vec<PackageRecord>> {
        self.sql_conn()?
            .query_rows(sql::PACKAGE_LIST, &[], |r| package(r))
    }

    fn package_remove(&mut self, id: &str) -> Result<()> {
        let c = self.sql_conn()?;
        for statement in [
            sql::PACKAGE_REMOVE_ENABLEMENTS,
            sql::PACKAGE_REMOVE_GRANTS,
            sql::PACKAGE_REMOVE_PLUGIN,
            sql::PACKAGE_REMOVE_VERSIONS,
            sql::PACKAGE_REMOVE_SIGNATURES,
        ] {
            c.execute(statement, &args![id])?;
        }
        Ok(())
    }

    fn grants_set(&mut self, plugin: &str, capabilities: &[String]) -> Result<()> {
        let c = self.sql_conn()?;
        c.execute(sql::PACKAGE_REMOVE_GRANTS, &args![plugin])?;
        for cap in capabilities {
            c.execute(sql::GRANTS_SET, &args![plugin, cap])?;
        }
        Ok(())
    }

    fn grants_get(&mut self, plugin: &str) -> Result<Vec<String>> {
        self.sql_conn()?
            .query_rows(sql::GRANTS_GET, &args![plugin], |r| r.get(0))
    }

    fn enablement_put(&mut self, e: &Enablement) -> Result<()> {
        let args = args![
            &e.tenant,
            &e.plugin,
            e.enabled,
            &e.data_version,
            &e.changed_at
        ];
        self.sql_conn()?.execute(sql::ENABLEMENT_PUT, &args)?;
        Ok(())
    }

    fn enablement_get(&mut self, tenant: &str, plugin: &str) -> Result<Option<Enablement>> {
        self.sql_conn()?
            .query_opt(sql::ENABLEMENT_GET, &args![tenant, plugin], |r| {
                enablement(r)
            })
    }

    fn enablement_for_plugin(&mut self, plugin: &str) -> Result<Vec<Enablement>> {
        self.sql_conn()?
            .query_rows(sql::ENABLEMENT_FOR_PLUGIN, &args![plugin], |r| {
                enablement(r)
            })
    }

    fn enablement_for_tenant(&mut self, tenant: &str) -> Result<Vec<Enablement>> {
        self.sql_conn()?
            .query_rows(sql::ENABLEMENT_FOR_TENANT, &args![tenant], |r| {
                enablement(r)
            })
    }

    fn trust_insert(&mut self, key: &TrustedKey) -> Result<()> {
        let args = args![&key.public_key, &key.name, &key.added_at];
        self.sql_conn()?
            .insert_unique(sql::TRUST_INSERT, &args, || {
                format!("key {} is already trusted", key.public_key)
            })
    }

    fn trust_list(&mut self) -> Result<Vec<TrustedKey>> {
        self.sql_conn()?.query_rows(sql::TRUST_LIST, &[], |r| {
            Ok(TrustedKey {
                name: r.get(0)?,
                public_key: r.get(1)?,
                added_at: r.get(2)?,
            })
        })
    }

    fn trust_remove(&mut self, name: &str) -> Result<u64> {
        self.sql_conn()?.execute(sql::TRUST_REMOVE, &args![name])
    }

    fn package_signature_set(&mut self, id: &str, version: &str, signature: &str) -> Result<()> {
        let args = args![id, version, signature];
        self.sql_conn()?
            .execute(sql::PACKAGE_SIGNATURE_SET, &args)?;
        Ok(())
    }

    fn package_signature_get(&mut self, id: &str, version: &str) -> Result<Option<String>> {
        self.sql_conn()?
            .query_opt(sql::PACKAGE_SIGNATURE_GET, &args![id, version], |r| {
                r.get(0)
            })
    }

    fn package_versions(&mut self, id: &str) -> Result<Vec<PackageRecord>> {
        self.sql_conn()?
            .query_rows(sql::PACKAGE_VERSIONS, &args![id], |r| package(r))
    }

    fn package_set_current(&mut self, id: &str, version: &str) -> Result<bool> {
        let args = args![id, version];
        Ok(self.sql_conn()?.execute(sql::PACKAGE_SET_CURRENT, &args)? == 1)
    }

    fn package_delete_version(&mut self, id: &str, version: &str) -> Result<()> {
        let c = self.sql_conn()?;
        c.execute(sql::PACKAGE_DELETE_VERSION, &args![id, version])?;
        c.execute(sql::PACKAGE_SIGNATURE_DELETE_VERSION, &args![id, version])?;
        Ok(())
    }

    fn code_digest_get(&mut self, component: &str, engine: &str) -> Result<Option<String>> {
        self.sql_conn()?
            .query_opt(sql::CODE_DIGEST_GET, &args![component, engine], |r| {
                r.get(0)
            })
    }

    fn code_digest_set(&mut self, component: &str, engine: &str, sha256: &str) -> Result<()> {
        let args = args![component, engine, sha256];
        self.sql_conn()?.execute(sql::CODE_DIGEST_SET, &args)?;
        Ok(())
    }
}
