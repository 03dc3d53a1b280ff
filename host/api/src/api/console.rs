//! The web console: server-rendered HTML under `/console/` for company admins and
//! back-office staff, served by the same router as the API.
//!
//! It is a client of the same checks as the API, never a side door: sign-in is
//! [`Host::login`], every request turns the session cookie into a [`Principal`] with
//! [`Host::authenticate`], pages call [`Host::invoke`] and the `*_as` functions of
//! [`backoffice_host::admin`] with that principal, and a tenant-bound user only reaches its own
//! tenant's URLs.
//!
//! - Session: the session token in the `bo_session` cookie (`HttpOnly`,
//!   `SameSite=Strict`, `Path=/console`, and `Secure` with `serve --secure-cookies`);
//!   an expired or revoked one sends the browser back to the sign-in page.
//! - CSRF: every state-changing form carries `_csrf`, the SHA-256 of a fixed label and
//!   the session token (so only a page rendered for this session knows it); the
//!   sign-in form uses a double-submit cookie instead.
//! - Templates are minijinja, compiled into the binary with the CSS and the small
//!   script (`include_str!`); charts are SVG drawn here. Nothing is fetched at run time.

mod forms;
mod outbound;
mod pages;
mod render;
mod settings;
mod views;

use std::sync::OnceLock;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiConfig, ApiState, ClientAddr};
use backoffice_host::Host;
use backoffice_host::admin::TenantAdmin;
use backoffice_host::auth::Principal;
use backoffice_host::error::HostError;

pub(super) const SESSION_COOKIE: &str = "bo_session";
const LOGIN_COOKIE: &str = "bo_login";

/// Add a console cookie to `r`: `HttpOnly`, `SameSite=Strict`, `Path=/console`, and
/// `Secure` when the console is served over HTTPS (`serve --secure-cookies`).
/// `None` clears the cookie.
fn set_cookie(r: &mut Response, config: &ApiConfig, name: &str, value: Option<&str>) {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = match value {
        Some(value) => format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/console; HttpOnly; SameSite=Strict{secure}; Max-Age=0"),
    };
    if let Ok(v) = HeaderValue::from_str(&text) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Submitted form fields, in order (repeated names kept).
type Fields = Vec<(String, String)>;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, text) in [
            ("layout.html", include_str!("console/assets/layout.html")),
            ("field.html", include_str!("console/assets/field.html")),
            ("login.html", include_str!("console/assets/login.html")),
            ("error.html", include_str!("console/assets/error.html")),
            ("tenants.html", include_str!("console/assets/tenants.html")),
            ("modules.html", include_str!("console/assets/modules.html")),
            ("plugin.html", include_str!("console/assets/plugin.html")),
            (
                "operation.html",
                include_str!("console/assets/operation.html"),
            ),
            ("report.html", include_str!("console/assets/report.html")),
            ("jobs.html", include_str!("console/assets/jobs.html")),
            ("audit.html", include_str!("console/assets/audit.html")),
            (
                "settings.html",
                include_str!("console/assets/settings.html"),
            ),
            (
                "outbound.html",
                include_str!("console/assets/outbound.html"),
            ),
        ] {
            if let Err(e) = env.add_template(name, text) {
                tracing::error!(template = name, error = %e, "console template does not compile");
            }
        }
        env
    })
}

/// A serializable value for a template context.
fn ser<T: Serialize>(v: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// Render `template` with `ctx` as an HTML response.
fn html(status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
    let body = env().get_template(template).and_then(|t| t.render(ctx));
    match body {
        Ok(body) => {
            let mut r = (status, axum::response::Html(body)).into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            r
        }
        Err(e) => {
            tracing::error!(template, error = %e, "console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render; the error was logged",
            )
                .into_response()
        }
    }
}

/// An error shown as a page, or a redirect to sign in when the session is gone.
#[derive(Debug)]
pub(crate) struct ConsoleError(HostError);

impl From<HostError> for ConsoleError {
    fn from(e: HostError) -> Self {
        ConsoleError(e)
    }
}

impl From<super::ApiError> for ConsoleError {
    fn from(e: super::ApiError) -> Self {
        ConsoleError(match e.status.as_u16() {
            504 => HostError::Internal("the request did not finish in time".into()),
            _ => HostError::Internal(e.detail),
        })
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let e = self.0;
        if let HostError::Unauthenticated(_) = e {
            return Redirect::to("/console/login?expired=1").into_response();
        }
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = if status.is_server_error() {
            tracing::error!(error = %e, "console request failed");
            "the host failed to answer; the error was logged".to_string()
        } else {
            e.to_string()
        };
        html(
            status,
            "error.html",
            minijinja::context! { title => status.canonical_reason().unwrap_or("Error"), status => status.as_u16(), detail },
        )
    }
}

type Page = Result<Response, ConsoleError>;

/// Run blocking host work from a console handler.
/// What a retry button retries: the path segment before `/{id}/retry`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Retried {
    Jobs,
    Deliveries,
    HttpRequests,
    Notifications,
}

/// A retry button's form (`POST /console/t/{tenant}/{kind}/{id}/retry`): checked
/// against the session, the retry run as the signed-in user (the `*_as` functions
/// check the permission and audit), then back to the page listing it, saying what
/// was done.
async fn retry(form: TenantForm<(String, Retried, i64)>) -> Page {
    let TenantForm {
        cx,
        path: (_, kind, id),
        ..
    } = form;
    cx.admin(move |admin| match kind {
        Retried::Jobs => admin.retry_job(id).map(drop),
        Retried::Deliveries => admin.retry_delivery(id).map(drop),
        Retried::HttpRequests => admin.http_retry(id),
        Retried::Notifications => admin.notify_retry(id),
    })
    .await?;
    let (back, done) = match kind {
        Retried::Jobs => ("jobs", format!("job {id} will run again")),
        Retried::Deliveries => ("jobs", format!("delivery {id} will be attempted again")),
        Retried::HttpRequests => ("outbound", format!("HTTP request {id} will be sent again")),
        Retried::Notifications => ("outbound", format!("notification {id} will be sent again")),
    };
    let tenant = &cx.tenant;
    Ok(Redirect::to(&format!("/console/t/{tenant}/{back}?done={}", pct(&done))).into_response())
}

async fn work<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&Host) -> Result<T, HostError> + Send + 'static,
) -> Result<T, ConsoleError> {
    super::blocking(state, f).await.map_err(|e| {
        // Keep the host's own error (status and message) when there is one.
        ConsoleError(match e.code {
            "invalid-input" => HostError::InvalidInput(e.detail),
            "not-found" => HostError::NotFound(e.detail),
            "conflict" => HostError::Conflict(e.detail),
            "forbidden" => HostError::Forbidden(e.detail),
            "unauthenticated" => HostError::Unauthenticated(e.detail),
            "rate-limited" => HostError::RateLimited {
                reason: e
                    .detail
                    .rsplit_once("; try again")
                    .map_or(e.detail.as_str(), |(reason, _)| reason)
                    .to_string(),
                retry_after_secs: e.retry_after.unwrap_or(60),
            },
            _ => HostError::Internal(e.detail),
        })
    })
}

/// The value of the request's cookie `name`, if it sent one.
pub(super) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn csrf_of(token: &str) -> String {
    hex::encode(Sha256::digest(format!("backoffice console csrf\0{token}")))
}

/// The signed-in user of a console request.
pub(crate) struct Session {
    pub(crate) principal: Principal,
    pub(crate) csrf: String,
}

impl Session {
    /// Refuse a state-changing form without this session's CSRF token.
    pub(crate) fn check(&self, fields: &Fields) -> Result<(), ConsoleError> {
        let sent = fields
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map_or("", |(_, v)| v.as_str());
        if bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(ConsoleError(HostError::Forbidden(
                "this form did not come from your current session (missing or wrong CSRF token); reload the page and submit it again".into(),
            )))
        }
    }
}

impl FromRequestParts<ApiState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/console/", |p| p.as_str())
            .to_string();
        let to_login = |expired: bool| {
            let mut r = Redirect::to(&format!(
                "/console/login?next={}{}",
                pct(&next),
                if expired { "&expired=1" } else { "" }
            ))
            .into_response();
            if expired {
                set_cookie(&mut r, &state.config, SESSION_COOKIE, None);
            }
            r
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(false));
        };
        let t = token.to_string();
        match super::blocking(state, move |host| host.authenticate(&t)).await {
            Ok(principal) => Ok(Session {
                principal,
                csrf: csrf_of(token),
            }),
            Err(e) if e.code == "unauthenticated" => Err(to_login(true)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A console request to a tenant's pages (`/console/t/{tenant}/...`): the signed-in
/// user and the tenant the route names, extracted in that order. Nothing is checked
/// yet: [`TenantSession::page`] loads the tenant for a user allowed there, and the
/// host checks every action again.
pub(crate) struct TenantSession {
    pub(crate) state: ApiState,
    pub(crate) session: Session,
    /// The route's `{tenant}`.
    pub(crate) tenant: String,
}

/// The tenant's parameter of a route; the other parameters are the handler's.
#[derive(Deserialize)]
struct TenantParam {
    tenant: String,
}

impl FromRequestParts<ApiState> for TenantSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state).await?;
        let Path(TenantParam { tenant }) = Path::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(TenantSession {
            state: state.clone(),
            session,
            tenant,
        })
    }
}

impl TenantSession {
    /// What every page of the tenant shows, refusing other tenants' users and
    /// unknown tenants.
    pub(crate) async fn page(&self) -> Result<pages::Tenant, ConsoleError> {
        pages::tenant(self).await
    }

    /// Run `f` off the async workers as what the signed-in user may do in the tenant
    /// (each action checks its permission and is audited).
    pub(crate) async fn admin<T: Send + 'static>(
        &self,
        f: impl FnOnce(&TenantAdmin<'_>) -> Result<T, HostError> + Send + 'static,
    ) -> Result<T, ConsoleError> {
        let (principal, tenant) = (self.session.principal.clone(), self.tenant.clone());
        work(&self.state, move |host| {
            f(&host.tenant_admin(&principal, &tenant))
        })
        .await
    }
}

/// A form posted to a tenant's pages: the [`TenantSession`], the route's parameters
/// `P` and the fields (extracted in that order), refused unless the fields carry this
/// session's CSRF token.
pub(crate) struct TenantForm<P> {
    pub(crate) cx: TenantSession,
    pub(crate) path: P,
    pub(crate) fields: Fields,
}

impl<P: serde::de::DeserializeOwned + Send> FromRequest<ApiState> for TenantForm<P> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let cx = TenantSession::from_request_parts(&mut parts, state).await?;
        let Path(path) = Path::<P>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Form(fields) = Form::<Fields>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        cx.session
            .check(&fields)
            .map_err(IntoResponse::into_response)?;
        Ok(TenantForm { cx, path, fields })
    }
}

/// Percent-encode for a query value.
pub(crate) fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// Only same-console targets: never an open redirect.
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/console/")
        .to_string()
}

#[derive(Serialize)]
struct LoginForm {
    tenant: String,
    username: String,
    next: String,
}

fn login_page(
    config: &ApiConfig,
    status: StatusCode,
    form: LoginForm,
    error: Option<String>,
    notice: Option<&str>,
) -> Response {
    let mut nonce = [0u8; 16];
    if getrandom::fill(&mut nonce).is_err() {
        return ConsoleError(HostError::Internal(
            "no randomness for the sign-in form".into(),
        ))
        .into_response();
    }
    let nonce = hex::encode(nonce);
    let mut r = html(
        status,
        "login.html",
        minijinja::context! { title => "Sign in", form => ser(&form), error, notice, csrf => nonce.clone() },
    );
    set_cookie(&mut r, config, LOGIN_COOKIE, Some(&nonce));
    r
}

async fn login_get(State(state): State<ApiState>, Query(q): Query<LoginQuery>) -> Response {
    let notice = q
        .expired
        .is_some()
        .then_some("Your session has ended. Sign in again to continue.");
    login_page(
        &state.config,
        StatusCode::OK,
        LoginForm {
            tenant: String::new(),
            username: String::new(),
            next: safe_next(q.next.as_deref()),
        },
        None,
        notice,
    )
}

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn login_post(
    State(state): State<ApiState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    let form = LoginForm {
        tenant: field(&fields, "tenant").trim().to_string(),
        username: field(&fields, "username").trim().to_string(),
        next: safe_next(Some(field(&fields, "next"))),
    };
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let sent = field(&fields, "_csrf");
    if nonce.is_empty() || !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
        return login_page(
            &state.config,
            StatusCode::FORBIDDEN,
            form,
            Some(
                "The sign-in form expired or did not come from this console; please sign in again."
                    .into(),
            ),
            None,
        );
    }
    if form.username.is_empty() {
        return login_page(
            &state.config,
            StatusCode::BAD_REQUEST,
            form,
            Some("Enter your user name.".into()),
            None,
        );
    }
    let password = field(&fields, "password").to_string();
    let (tenant, username) = (form.tenant.clone(), form.username.clone());
    let result = super::sign_in(&state, move |host| {
        let tenant = (!tenant.is_empty()).then_some(tenant.as_str());
        host.login(tenant, &username, &password, &client)
    })
    .await;
    match result {
        Ok(new) => {
            let mut r = Redirect::to(&form.next).into_response();
            set_cookie(&mut r, &state.config, SESSION_COOKIE, Some(&new.token));
            set_cookie(&mut r, &state.config, LOGIN_COOKIE, None);
            r
        }
        Err(e) => {
            let status = e.status;
            let message = match e.code {
                "unauthenticated" => {
                    "The company, user name or password is wrong, or the user is disabled."
                        .to_string()
                }
                _ => e.detail,
            };
            let mut page = login_page(&state.config, status, form, Some(message), None);
            if let Some(secs) = e.retry_after {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            page
        }
    }
}

async fn logout(
    State(state): State<ApiState>,
    session: Session,
    Form(fields): Form<Fields>,
) -> Page {
    session.check(&fields)?;
    let principal = session.principal.clone();
    work(&state, move |host| host.logout(&principal)).await?;
    let mut r = Redirect::to("/console/login").into_response();
    set_cookie(&mut r, &state.config, SESSION_COOKIE, None);
    Ok(r)
}

async fn asset_css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("console/assets/console.css"),
    )
}

async fn asset_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("console/assets/console.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The console's routes, merged into the API router.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(pages::home))
        .route("/console/login", get(login_get).post(login_post))
        .route("/console/logout", post(logout))
        .route("/console/assets/console.css", get(asset_css))
        .route("/console/assets/console.js", get(asset_js))
        .route("/console/t/{tenant}/", get(pages::modules))
        .route(
            "/console/t/{tenant}/modules/{plugin}/{action}",
            post(pages::module_action),
        )
        .route("/console/t/{tenant}/p/{plugin}/", get(pages::plugin))
        .route(
            "/console/t/{tenant}/p/{plugin}/{operation}",
            get(pages::operation_get).post(pages::operation_post),
        )
        .route(
            "/console/t/{tenant}/settings/{plugin}",
            get(settings::settings_get).post(settings::settings_post),
        )
        .route("/console/t/{tenant}/jobs", get(pages::jobs))
        // jobs, deliveries, http-requests, notifications
        .route("/console/t/{tenant}/{kind}/{id}/retry", post(retry))
        .route("/console/t/{tenant}/audit", get(pages::audit))
        .route("/console/t/{tenant}/outbound", get(outbound::outbound))
        .merge(views::routes())
}
