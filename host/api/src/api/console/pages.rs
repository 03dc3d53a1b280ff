//! The console's general pages: tenants, modules, a plugin's operations with their
//! generated forms, jobs and events, and the audit trail.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};

use super::{
    ConsoleError, Fields, Page, Session, TenantForm, TenantSession, forms, html, pct, render, ser,
    work,
};
use crate::api::ApiState;
use backoffice_host::admin::{AUDIT_READ, PLUGINS_MANAGE, WORK_READ, WORK_RETRY};
use backoffice_host::auth::Principal;
use backoffice_host::error::HostError;
use backoffice_host::manifest::Manifest;
use backoffice_host::registry::PluginInfo;

/// A link of the navigation.
#[derive(Serialize)]
pub(crate) struct Nav {
    label: String,
    href: String,
}

/// What every page of a tenant shows around its content.
#[derive(Serialize)]
pub(crate) struct Base {
    pub(crate) tenant: String,
    pub(crate) tenants: Vec<String>,
    pub(crate) user: String,
    pub(crate) csrf: String,
    nav: Vec<Nav>,
}

/// The tenant's facts a page needs: checked access, the installed plugins as this
/// tenant sees them and the navigation.
pub(crate) struct Tenant {
    pub(crate) base: Base,
    pub(crate) plugins: Vec<PluginInfo>,
    pub(crate) manifests: Vec<Manifest>,
}

impl Tenant {
    pub(crate) fn enabled(&self, plugin: &str) -> bool {
        self.plugins
            .iter()
            .any(|p| p.id == plugin && !p.enabled_for.is_empty())
    }

    pub(crate) fn manifest(&self, plugin: &str) -> Option<&Manifest> {
        self.manifests.iter().find(|m| m.id == plugin)
    }
}

/// Whether `principal` holds any permission of `manifest`'s operations.
fn uses(principal: &Principal, manifest: &Manifest) -> bool {
    manifest
        .operations
        .iter()
        .any(|o| principal.has_permission(&o.permission))
}

/// Load what every tenant page needs, refusing other tenants' users and unknown
/// tenants.
pub(crate) async fn tenant(cx: &TenantSession) -> Result<Tenant, ConsoleError> {
    let (session, tenant) = (&cx.session, cx.tenant.as_str());
    if !session.principal.can_access(tenant) {
        return Err(ConsoleError(HostError::Forbidden(format!(
            "you are signed in to company '{}' and cannot open pages of company '{tenant}'",
            session.principal.tenant.as_deref().unwrap_or_default()
        ))));
    }
    let (t, principal) = (tenant.to_string(), session.principal.clone());
    let (tenants, plugins, manifests) = work(&cx.state, move |host| {
        let tenants: Vec<String> = host
            .tenants()?
            .into_iter()
            .map(|x| x.id)
            .filter(|id| principal.can_access(id))
            .collect();
        if !tenants.contains(&t) {
            return Err(HostError::NotFound(format!("there is no company '{t}'")));
        }
        let plugins = host
            .plugins()?
            .into_iter()
            .map(|mut p| {
                // A company sees its own enablement only, not which others exist.
                p.enabled_for.retain(|x| *x == t);
                p
            })
            .collect::<Vec<_>>();
        Ok((tenants, plugins, host.manifests()?))
    })
    .await?;
    let p = &session.principal;
    let root = format!("/console/t/{tenant}");
    let mut nav = vec![Nav {
        label: "Modules".into(),
        href: format!("{root}/"),
    }];
    for info in plugins.iter().filter(|i| !i.enabled_for.is_empty()) {
        let Some(m) = manifests.iter().find(|m| m.id == info.id) else {
            continue;
        };
        if !uses(p, m) {
            continue;
        }
        for (label, path) in super::views::links(&info.id, m, p) {
            nav.push(Nav {
                label,
                href: format!("{root}/{path}"),
            });
        }
        nav.push(Nav {
            label: info.name.clone(),
            href: format!("{root}/p/{}/", info.id),
        });
    }
    if p.has_permission(WORK_READ) {
        nav.push(Nav {
            label: "Jobs and events".into(),
            href: format!("{root}/jobs"),
        });
    }
    if super::outbound::linked(p) {
        nav.push(Nav {
            label: "Outbound requests".into(),
            href: format!("{root}/outbound"),
        });
    }
    if p.has_permission(AUDIT_READ) {
        nav.push(Nav {
            label: "Audit".into(),
            href: format!("{root}/audit"),
        });
    }
    Ok(Tenant {
        base: Base {
            tenant: tenant.to_string(),
            tenants,
            user: p.actor(),
            csrf: session.csrf.clone(),
            nav,
        },
        plugins,
        manifests,
    })
}

#[derive(Deserialize, Default)]
pub(crate) struct Switch {
    company: Option<String>,
}

pub(crate) async fn home(
    State(state): State<ApiState>,
    session: Session,
    Query(switch): Query<Switch>,
) -> Page {
    if let Some(c) = switch
        .company
        .filter(|c| backoffice_host::manifest::is_ident(c, 63))
    {
        return Ok(Redirect::to(&format!("/console/t/{c}/")).into_response());
    }
    if let Some(t) = &session.principal.tenant {
        return Ok(Redirect::to(&format!("/console/t/{t}/")).into_response());
    }
    let tenants = work(&state, |host| host.tenants()).await?;
    Ok(html(
        StatusCode::OK,
        "tenants.html",
        minijinja::context! { title => "Companies", tenants => ser(&tenants), user => session.principal.actor(), csrf => session.csrf },
    ))
}

#[derive(Deserialize, Default)]
pub(crate) struct Notice {
    done: Option<String>,
}

#[derive(Serialize)]
struct Module {
    id: String,
    name: String,
    vendor: String,
    version: String,
    description: String,
    signature: String,
    capabilities: Vec<String>,
    /// Memory cap and default call deadline, with where they come from.
    limits: String,
    dependencies: Vec<String>,
    dependents: Vec<String>,
    enabled: bool,
}

fn limits_text(l: &backoffice_host::registry::LimitsInfo) -> String {
    let memory = if l.memory_bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", l.memory_bytes >> 20)
    } else {
        format!("{} bytes", l.memory_bytes)
    };
    let source = if l.declared { "declared" } else { "default" };
    let peak = l
        .memory_high_water_bytes
        .map(|b| format!("; one instance held at most {} KiB so far", b >> 10))
        .unwrap_or_default();
    format!(
        "{memory}, {} ms per call ({source}){peak}",
        l.call_deadline_ms
    )
}

fn signature_text(s: &backoffice_host::trust::SignatureStatus) -> String {
    use backoffice_host::trust::SignatureStatus::*;
    match s {
        Unsigned => "unsigned".into(),
        Verified { signer, .. } => format!("verified ({signer})"),
        Untrusted { claimed, .. } => format!("signed by an untrusted key (claims {claimed})"),
        WrongVendor { signer, vendor } => format!("signed by {signer}, not {vendor}"),
        Invalid { reason } => format!("invalid: {reason}"),
    }
}

async fn modules_page(
    cx: &TenantSession,
    status: StatusCode,
    error: Option<String>,
    done: Option<String>,
) -> Page {
    let t = cx.page().await?;
    let modules: Vec<Module> = t
        .plugins
        .iter()
        .map(|p| Module {
            id: p.id.clone(),
            name: p.name.clone(),
            vendor: p.vendor.clone(),
            version: p.version.clone(),
            description: p.description.clone(),
            signature: signature_text(&p.signature),
            capabilities: p.capabilities.clone(),
            limits: limits_text(&p.limits),
            dependencies: p
                .dependencies
                .iter()
                .map(|(d, r)| format!("{d} {r}"))
                .collect(),
            dependents: t
                .plugins
                .iter()
                .filter(|o| o.dependencies.contains_key(&p.id))
                .map(|o| o.id.clone())
                .collect(),
            enabled: !p.enabled_for.is_empty(),
        })
        .collect();
    let admin = cx.session.principal.has_permission(PLUGINS_MANAGE);
    Ok(html(
        status,
        "modules.html",
        minijinja::context! { title => "Modules", base => ser(&t.base), modules => ser(&modules), admin, error, done },
    ))
}

pub(crate) async fn modules(cx: TenantSession, Query(n): Query<Notice>) -> Page {
    modules_page(&cx, StatusCode::OK, None, n.done).await
}

pub(crate) async fn module_action(form: TenantForm<(String, String, String)>) -> Page {
    let TenantForm {
        cx,
        path: (_, plugin, action),
        ..
    } = form;
    let p = plugin.clone();
    let result = match action.as_str() {
        "enable" => cx.admin(move |admin| admin.enable(&p).map(drop)).await,
        "disable" => cx.admin(move |admin| admin.disable(&p)).await,
        other => Err(ConsoleError(HostError::NotFound(format!(
            "no module action '{other}'; use enable or disable"
        )))),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/console/t/{}/?done={}",
            cx.tenant,
            pct(&format!("{plugin} {action}d"))
        ))
        .into_response()),
        // A refusal (dependencies, permission) is shown on the page it came from.
        Err(ConsoleError(e))
            if e.http_status() < 500 && !matches!(e, HostError::Unauthenticated(_)) =>
        {
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            modules_page(&cx, status, Some(e.to_string()), None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Serialize)]
struct OpLink {
    name: String,
    description: String,
    permission: String,
    read_only: bool,
}

pub(crate) async fn plugin(cx: TenantSession, Path((_, plugin)): Path<(String, String)>) -> Page {
    let t = cx.page().await?;
    let session = &cx.session;
    let m = enabled_manifest(&t, &plugin)?;
    let ops: Vec<OpLink> = m
        .operations
        .iter()
        .filter(|o| session.principal.has_permission(&o.permission))
        .map(|o| OpLink {
            name: o.name.clone(),
            description: o.description.clone(),
            permission: o.permission.clone(),
            read_only: o.read_only,
        })
        .collect();
    let views: Vec<(String, String)> = super::views::links(&plugin, m, &session.principal);
    // Settings are the company admin's: shown to those who may change them.
    let settings = !m.settings.is_empty()
        && session
            .principal
            .has_permission(backoffice_host::settings::SETTINGS_MANAGE);
    Ok(html(
        StatusCode::OK,
        "plugin.html",
        minijinja::context! { title => m.name.clone(), base => ser(&t.base), plugin => m.id.clone(), description => m.description.clone(), version => m.version.to_string(), ops => ser(&ops), views => ser(&views), settings },
    ))
}

pub(crate) fn enabled_manifest<'a>(
    t: &'a Tenant,
    plugin: &str,
) -> Result<&'a Manifest, ConsoleError> {
    match t.manifest(plugin) {
        Some(m) if t.enabled(plugin) => Ok(m),
        Some(_) => Err(ConsoleError(HostError::Forbidden(format!(
            "module '{plugin}' is not enabled for company '{}'; an admin can enable it on the Modules page",
            t.base.tenant
        )))),
        None => Err(ConsoleError(HostError::NotFound(format!(
            "there is no module '{plugin}'"
        )))),
    }
}

/// Everything the operation page shows.
struct OpPage<'a> {
    t: Tenant,
    plugin: &'a str,
    operation: &'a str,
    values: forms::Values,
    errors: HashMap<String, String>,
    error: Option<String>,
    /// The operation's output, rendered (on the blocking pool, bounded in size).
    output: Option<String>,
    /// The "Preview" button was pressed: a dry run, nothing kept.
    preview: bool,
    status: StatusCode,
}

fn render_operation(session: &Session, p: OpPage<'_>) -> Page {
    let m = enabled_manifest(&p.t, p.plugin)?;
    let op = m.operation(p.operation).ok_or_else(|| {
        ConsoleError(HostError::NotFound(format!(
            "module '{}' has no operation '{}'",
            p.plugin, p.operation
        )))
    })?;
    if !session.principal.has_permission(&op.permission) {
        return Err(ConsoleError(HostError::Forbidden(format!(
            "'{}' needs the permission '{}', which you do not hold",
            op.name, op.permission
        ))));
    }
    let fields = forms::fields(&op.input, &p.values, &p.errors);
    let field_errors = p.errors.len();
    let output_html = p.output;
    Ok(html(
        p.status,
        "operation.html",
        minijinja::context! {
            title => format!("{} · {}", m.name, op.name),
            base => ser(&p.t.base),
            plugin => m.id.clone(),
            plugin_name => m.name.clone(),
            op => op.name.clone(),
            description => op.description.clone(),
            read_only => op.read_only,
            fields => ser(&fields),
            error => p.error,
            field_errors,
            output => output_html.map(minijinja::Value::from_safe_string),
            preview => p.preview,
        },
    ))
}

fn values_of(fields: &Fields) -> forms::Values {
    fields
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .cloned()
        .collect()
}

pub(crate) async fn operation_get(
    cx: TenantSession,
    Path((_, plugin, operation)): Path<(String, String, String)>,
    Query(query): Query<Fields>,
) -> Page {
    let t = cx.page().await?;
    let values = values_of(&query);
    // A read-only operation runs from the query string (`_run=1`): bookmarkable, and
    // a read needs no CSRF token.
    let read_only = t
        .manifest(&plugin)
        .and_then(|m| m.operation(&operation))
        .is_some_and(|o| o.read_only);
    let run = read_only && query.iter().any(|(k, _)| k == "_run");
    let page = OpPage {
        t,
        plugin: &plugin,
        operation: &operation,
        values,
        errors: HashMap::new(),
        error: None,
        output: None,
        preview: false,
        status: StatusCode::OK,
    };
    if run {
        submit(&cx, page).await
    } else {
        render_operation(&cx.session, page)
    }
}

pub(crate) async fn operation_post(form: TenantForm<(String, String, String)>) -> Page {
    let TenantForm {
        cx,
        path: (_, plugin, operation),
        fields,
    } = form;
    let t = cx.page().await?;
    let page = OpPage {
        t,
        plugin: &plugin,
        operation: &operation,
        values: values_of(&fields),
        errors: HashMap::new(),
        error: None,
        output: None,
        preview: fields.iter().any(|(k, _)| k == "_preview"),
        status: StatusCode::OK,
    };
    submit(&cx, page).await
}

/// Convert the form, place conversion and schema errors on their fields, then call
/// the operation through [`backoffice_host::Host::invoke`] (which checks everything again).
async fn submit(cx: &TenantSession, mut p: OpPage<'_>) -> Page {
    let session = &cx.session;
    let schema =
        p.t.manifest(p.plugin)
            .and_then(|m| m.operation(p.operation))
            .map(|o| o.input.clone());
    let Some(schema) = schema else {
        return render_operation(session, p);
    };
    let (input, mut errors) = forms::parse(&schema, &p.values);
    if errors.is_empty() {
        errors = forms::schema_errors(&schema, &input);
    }
    if !errors.is_empty() {
        p.error = errors.get("").cloned();
        p.errors = errors.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        p.status = StatusCode::BAD_REQUEST;
        return render_operation(session, p);
    }
    let (tenant, plugin, operation) = (
        p.t.base.tenant.clone(),
        p.plugin.to_string(),
        p.operation.to_string(),
    );
    let principal = session.principal.clone();
    let text = input.to_string();
    let preview = p.preview;
    // The output is rendered where the call ran: a large one takes time, which
    // belongs to the blocking pool and not to the async workers.
    match work(&cx.state, move |host| {
        if preview {
            // A dry run: the output, then what the call would have done.
            let run = host.dry_run(&tenant, &plugin, &operation, &text, &principal)?;
            let effects = serde_json::to_value(&run.effects)
                .map_err(|e| HostError::Internal(e.to_string()))?;
            return Ok(format!(
                "{}<h3>What it would do</h3>{}",
                render::output(&run.output),
                render::output(&effects)
            ));
        }
        host.invoke(&tenant, &plugin, &operation, &text, &principal)
            .map(|output| render::output(&output))
    })
    .await
    {
        Ok(html) => p.output = Some(html),
        Err(ConsoleError(e)) if matches!(e, HostError::Unauthenticated(_)) => {
            return Err(ConsoleError(e));
        }
        Err(ConsoleError(e)) => {
            p.status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            p.error = Some(if p.status.is_server_error() {
                tracing::error!(error = %e, "console call failed");
                "the module failed; the error was logged".to_string()
            } else {
                e.to_string()
            });
        }
    }
    render_operation(session, p)
}

fn ms_text(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

#[derive(Serialize)]
struct JobRow {
    id: i64,
    plugin: String,
    job: String,
    cron: String,
    state: String,
    next_run: String,
    attempts: u32,
    last_error: String,
}

#[derive(Serialize)]
struct EventRow {
    id: i64,
    seq: String,
    topic: String,
    at: String,
    deliveries: Vec<(i64, String, String, u32, String)>,
}

pub(crate) async fn jobs(cx: TenantSession, Query(n): Query<Notice>) -> Page {
    let t = cx.page().await?;
    let (jobs, runs, events) = cx
        .admin(|admin| {
            let (jobs, runs) = admin.jobs(100)?;
            Ok((jobs, runs, admin.events(100)?))
        })
        .await?;
    let jobs: Vec<JobRow> = jobs
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            plugin: j.plugin,
            job: j.job,
            cron: j.cron.unwrap_or_else(|| "once".into()),
            state: j.state,
            next_run: ms_text(j.next_run_ms),
            attempts: j.attempts,
            last_error: j.last_error.unwrap_or_default(),
        })
        .collect();
    let runs: Vec<BTreeMap<&str, String>> = runs
        .into_iter()
        .map(|r| {
            BTreeMap::from([
                ("job", format!("{} {} (#{})", r.plugin, r.job, r.job_id)),
                ("attempt", r.attempt.to_string()),
                ("started", ms_text(r.started_ms)),
                (
                    "duration",
                    r.duration_ms.map(|d| format!("{d} ms")).unwrap_or_default(),
                ),
                ("outcome", r.outcome),
                ("error", r.error.unwrap_or_default()),
            ])
        })
        .collect();
    let events: Vec<EventRow> = events
        .into_iter()
        .map(|e| EventRow {
            id: e.event.id,
            seq: e.event.seq.to_string(),
            topic: e.event.topic.clone(),
            at: ms_text(e.event.created_at_ms),
            deliveries: e
                .deliveries
                .iter()
                .map(|d| {
                    (
                        d.id,
                        d.subscriber.clone(),
                        d.state.clone(),
                        d.attempts,
                        d.last_error.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect();
    let can_retry = cx.session.principal.has_permission(WORK_RETRY);
    Ok(html(
        StatusCode::OK,
        "jobs.html",
        minijinja::context! { title => "Jobs and events", base => ser(&t.base), jobs => ser(&jobs), runs => ser(&runs), events => ser(&events), can_retry, done => n.done },
    ))
}

#[derive(Deserialize, Default, Serialize)]
pub(crate) struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    limit: Option<u32>,
}

pub(crate) async fn audit(cx: TenantSession, Query(filter): Query<AuditFilter>) -> Page {
    let t = cx.page().await?;
    let limit = filter.limit.unwrap_or(500).clamp(1, 10_000);
    let (links, report) = cx.admin(move |admin| admin.audit(limit)).await?;
    let has = |hay: &str, needle: &str| needle.is_empty() || hay.contains(needle);
    let rows: Vec<_> = links
        .into_iter()
        .filter(|l| has(&l.actor, filter.actor.trim()))
        .filter(|l| has(&format!("{} {}", l.action, l.target), filter.action.trim()))
        .filter(|l| filter.outcome.is_empty() || l.outcome == filter.outcome)
        .collect();
    let chain = report.chains.into_iter().next();
    Ok(html(
        StatusCode::OK,
        "audit.html",
        minijinja::context! { title => "Audit", base => ser(&t.base), rows => ser(&rows), chain => ser(&chain), ok => report.ok, filter => ser(&filter), limit },
    ))
}
