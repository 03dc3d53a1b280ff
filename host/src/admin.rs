//! Tenant administration on behalf of a principal: what a company's own admins may do
//! to their company through the HTTP API and the web console.
//!
//! The host-wide functions ([`Host::enable`], [`Host::retry_job`], ...) trust their
//! caller (the CLI operator). [`TenantAdmin`] wraps them for a principal: each method
//! first checks that the principal belongs to the tenant and holds the permission
//! below, then records the principal as the actor.
//!
//! | permission | allows |
//! |---|---|
//! | [`PLUGINS_MANAGE`] `plugins.manage` | enable and disable installed plugins for the tenant |
//! | [`WORK_READ`] `work.read` | see the tenant's scheduled jobs, their runs and its events |
//! | [`WORK_RETRY`] `work.retry` | retry the tenant's dead-lettered jobs and deliveries |
//! | [`AUDIT_READ`] `audit.read` | read the tenant's audit chain and its verification |
//! | [`crate::settings::SETTINGS_MANAGE`] `settings.manage` | list, set and clear the tenant's plugin settings |
//! | [`crate::webhooks::WEBHOOKS_MANAGE`] `webhooks.manage` | add, list, remove and rotate the tenant's webhooks, read and replay their deliveries |
//! | [`crate::outbound::OUTBOUND_MANAGE`] `outbound.manage` | list and retry the tenant's plugins' outbound HTTP requests and email notifications |
//!
//! A tenant's `admin` role holds `*` and so all of them; system administrators hold
//! them in every tenant.

use crate::audit::VerifyReport;
use crate::auth::Principal;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::scheduler::EventView;
use crate::store::{
    AuditQuery, AuditRecord, Enablement, EventFilter, JobFilter, JobRecord, JobRun,
};

/// Enable and disable plugins for the tenant.
pub const PLUGINS_MANAGE: &str = "plugins.manage";
/// See the tenant's jobs, job runs and events.
pub const WORK_READ: &str = "work.read";
/// Retry the tenant's dead-lettered jobs and event deliveries.
pub const WORK_RETRY: &str = "work.retry";
/// Read the tenant's audit chain.
pub const AUDIT_READ: &str = "audit.read";

/// An item of outbound work sent again on an operator's or admin's word (a dead HTTP
/// request or notification, a webhook delivery): how, and what to call it in errors
/// and audit.
pub(crate) struct Resend {
    /// The item in an error: `notification`, `HTTP request`, ...
    pub(crate) item: &'static str,
    /// The command listing the tenant's items, after `backoffice `.
    pub(crate) list: &'static str,
    /// Which items may be sent again, after "only ".
    pub(crate) only: &'static str,
    /// The audit action.
    pub(crate) action: &'static str,
    /// The audit target's kind, before `:{id}`.
    pub(crate) target: &'static str,
    /// The permission a tenant's admin needs ([`TenantAdmin::resend`]).
    pub(crate) permission: &'static str,
    /// Move item `id` of `tenant` back to pending at `now_ms` (the store's retry):
    /// false when there is no such item, a conflict when it is in a state that may
    /// not be sent again.
    pub(crate) revive:
        fn(&mut dyn crate::store::Transaction, &str, i64, i64) -> crate::store::Result<bool>,
}

impl Host {
    /// Send item `id` of `tenant` again as `actor`: `what.revive` moves it back to
    /// pending in the tenant's transaction, audited in the same transaction; the
    /// worker is woken.
    pub(crate) fn resend_by(
        &self,
        tenant: &str,
        id: i64,
        actor: &str,
        what: &Resend,
    ) -> HostResult<()> {
        let mut tx = self.write_tenant(tenant)?;
        match (what.revive)(tx.as_mut(), tenant, id, self.clock.now_ms()) {
            Ok(true) => {}
            Ok(false) => {
                return Err(HostError::NotFound(format!(
                    "tenant '{tenant}' has no {} {id}; see `backoffice {} --tenant {tenant}`",
                    what.item, what.list
                )));
            }
            Err(crate::store::StoreError::Conflict(why)) => {
                return Err(HostError::Conflict(format!("{why}: only {}", what.only)));
            }
            Err(e) => return Err(e.into()),
        }
        self.audit_admin_as(
            tx.as_mut(),
            Some(tenant),
            actor,
            what.action,
            format!("{}:{id}", what.target),
            serde_json::json!({}),
        )?;
        tx.commit()?;
        self.worker.wake();
        Ok(())
    }
}

/// A tenant's administration on behalf of a principal ([`Host::tenant_admin`]): what
/// the HTTP API and the console do for a company's own admins. Every method first
/// checks that the principal may act in the tenant and holds the permission it needs
/// (the table above), then acts with the principal as the audited actor. The methods
/// live beside what they wrap: enablement, jobs, events and audit here, settings in
/// `settings`, webhooks in `webhooks`, HTTP requests in `outbound`, notifications in
/// `notify`.
#[derive(Clone, Copy)]
pub struct TenantAdmin<'a> {
    pub(crate) host: &'a Host,
    pub(crate) principal: &'a Principal,
    pub(crate) tenant: &'a str,
}

impl std::fmt::Debug for TenantAdmin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantAdmin")
            .field("actor", &self.principal.actor())
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl<'a> TenantAdmin<'a> {
    /// Send item `id` of the tenant again as `what` says, for a principal holding
    /// `what.permission` in the tenant, audited with the principal as the actor.
    pub(crate) fn resend(&self, id: i64, what: &Resend) -> HostResult<()> {
        let host = self.check(what.permission)?;
        host.resend_by(self.tenant, id, &self.principal.actor(), what)
    }

    /// The host, once the principal may act in the tenant and holds `permission`.
    pub(crate) fn check(&self, permission: &str) -> HostResult<&'a Host> {
        require(self.principal, self.tenant, permission)?;
        Ok(self.host)
    }
}

impl Host {
    /// Administration of `tenant` on behalf of `principal`: each action checks the
    /// permission it needs (see [`TenantAdmin`]).
    pub fn tenant_admin<'a>(
        &'a self,
        principal: &'a Principal,
        tenant: &'a str,
    ) -> TenantAdmin<'a> {
        TenantAdmin {
            host: self,
            principal,
            tenant,
        }
    }
}

/// Refuse unless `principal` may act in `tenant` and holds `permission` there.
pub fn require(principal: &Principal, tenant: &str, permission: &str) -> HostResult<()> {
    if !principal.can_access(tenant) {
        return Err(HostError::Forbidden(format!(
            "the caller belongs to tenant '{}' and cannot act in tenant '{tenant}'",
            principal.tenant.as_deref().unwrap_or_default()
        )));
    }
    if !principal.has_permission(permission) {
        return Err(HostError::Forbidden(format!(
            "this needs the permission '{permission}' in tenant '{tenant}', which the caller does not hold; an admin can grant it with `backoffice role create <role> --tenant {tenant} --permission {permission}`"
        )));
    }
    Ok(())
}

impl TenantAdmin<'_> {
    /// [`Host::enable`] for a tenant's admin holding `plugins.manage`.
    pub fn enable(&self, plugin: &str) -> HostResult<Enablement> {
        let host = self.check(PLUGINS_MANAGE)?;
        host.enable_by(plugin, self.tenant, &self.principal.actor())
    }

    /// [`Host::disable`] for a tenant's admin holding `plugins.manage`.
    pub fn disable(&self, plugin: &str) -> HostResult<()> {
        let host = self.check(PLUGINS_MANAGE)?;
        host.disable_by(plugin, self.tenant, &self.principal.actor())
    }

    /// The tenant's scheduled jobs and their latest runs (newest first, at most
    /// `runs`), for a principal holding `work.read`.
    pub fn jobs(&self, runs: u32) -> HostResult<(Vec<JobRecord>, Vec<JobRun>)> {
        let tenant = self.tenant;
        let host = self.check(WORK_READ)?;
        let jobs = host.jobs(&JobFilter {
            tenant: Some(tenant.to_string()),
            plugin: None,
        })?;
        // The run history is host-wide; keep this tenant's rows only.
        let history = host
            .job_history(None, runs.saturating_mul(4).max(runs))?
            .into_iter()
            .filter(|r| r.tenant == tenant)
            .take(runs as usize)
            .collect();
        Ok((jobs, history))
    }

    /// The tenant's latest events with their deliveries, for `work.read`.
    pub fn events(&self, limit: u32) -> HostResult<Vec<EventView>> {
        let host = self.check(WORK_READ)?;
        host.event_views(&EventFilter {
            tenant: Some(self.tenant.to_string()),
            topic: None,
            limit,
        })
    }

    /// Retry one of the tenant's failed jobs, for `work.retry`.
    pub fn retry_job(&self, id: i64) -> HostResult<JobRecord> {
        let host = self.check(WORK_RETRY)?;
        let job = host.read_scope(Some(self.tenant))?.job_get(id)?;
        self.owned(job.map(|j| j.tenant), "job", id)?;
        host.retry_job(id)
    }

    /// Retry one of the tenant's dead deliveries, for `work.retry`.
    pub fn retry_delivery(&self, id: i64) -> HostResult<()> {
        let host = self.check(WORK_RETRY)?;
        let delivery = host.read_scope(Some(self.tenant))?.delivery_get(id)?;
        self.owned(delivery.map(|d| d.tenant), "event delivery", id)?;
        host.retry_delivery(id)
    }

    /// Not found unless the row `what` `id` (of tenant `owner`, if it exists) is the
    /// tenant's: another tenant's rows are as good as absent.
    fn owned(&self, owner: Option<String>, what: &str, id: i64) -> HostResult<()> {
        if owner.as_deref() == Some(self.tenant) {
            Ok(())
        } else {
            Err(HostError::NotFound(format!(
                "tenant '{}' has no {what} with id {id}",
                self.tenant
            )))
        }
    }

    /// The newest `limit` links of the tenant's audit chain (newest first) and the
    /// chain's verification, for `audit.read`.
    pub fn audit(&self, limit: u32) -> HostResult<(Vec<AuditRecord>, VerifyReport)> {
        let tenant = self.tenant;
        let host = self.check(AUDIT_READ)?;
        let report = host.audit_verify(Some(tenant))?;
        let links = report.chains.first().map_or(0, |c| c.links);
        let mut rows = host.audit_list(&AuditQuery {
            tenant: Some(tenant.to_string()),
            since: None,
            after_seq: Some(links.saturating_sub(u64::from(limit))),
            limit,
        })?;
        rows.reverse();
        Ok((rows, report))
    }
}
