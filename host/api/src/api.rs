//! The HTTP API (axum on tokio).
//!
//! Every route but the health checks, `/v1/login` and `/openapi.json` needs
//! `Authorization: Bearer <token>`: a session token from `/v1/login` or an API token
//! from `backoffice token create`. A tenant principal may only touch its own tenant,
//! whatever the URL says; `/v1/admin/*` is for system administrators.
//!
//! Errors are RFC 9457 problem details (`application/problem+json`) with a stable
//! `code`; 5xx bodies never carry internals (the full error goes to the log).

mod client;
mod console;
mod limits;
mod openapi;

pub use client::parse_trusted_proxy;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use backoffice_host::Host;
use backoffice_host::admin::TenantAdmin;
use backoffice_host::audit::parse_since;
use backoffice_host::auth::Principal;
use backoffice_host::error::HostError;
use backoffice_host::store::AuditQuery;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Longest time a request may take before it is answered with 504. Plugin calls
    /// have their own, shorter deadline; this bounds everything else too.
    pub request_timeout: Duration,
    /// Mark the console's cookies `Secure`: browsers then send them over HTTPS only.
    /// Set it when users reach the host through a TLS-terminating proxy.
    pub secure_cookies: bool,
    /// Longest time a client may take to send a request's headers (from the
    /// connection's start or the previous response) before the connection is closed.
    pub header_timeout: Duration,
    /// Longest time a client may take to send a request's body once its headers are
    /// in; past it the request is answered 408 and the connection closed.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Requests a second allowed per token (per client address without one); 0
    /// turns the rate limit off.
    pub rate_limit: f64,
    /// Requests a token may make at once beyond the rate.
    pub rate_burst: u32,
    /// Proxies whose `X-Forwarded-For` names the client (see `api/client.rs`); from
    /// any other peer the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// SHA-256 of the token a scraper sends to `GET /metrics` (besides system
    /// administrators' tokens); none: only system administrators may scrape.
    pub metrics_token: Option<[u8; 32]>,
    /// Try read-only calls on the async worker that received them first (see
    /// `runtime::inline`); off: every call goes to the blocking pool.
    pub reads_in_place: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            request_timeout: Duration::from_secs(30),
            secure_cookies: false,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            rate_limit: 100.0,
            rate_burst: 200,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            reads_in_place: true,
        }
    }
}

#[derive(Clone)]
struct ApiState {
    host: Arc<Host>,
    config: ApiConfig,
    /// Blocking work admitted at once (four per core). More threads only contend for the
    /// cores and the database; waiting here costs nothing.
    workers: Arc<tokio::sync::Semaphore>,
    /// The per-token rate limit; none when it is off.
    limiter: Option<Arc<limits::RateLimiter>>,
}

/// An error as an HTTP response: a problem details document.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }
}

impl From<HostError> for ApiError {
    fn from(e: HostError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // 5xx bodies never carry internals; the full error is logged once here.
        let detail = if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
            match status.as_u16() {
                504 => "the plugin did not finish before its deadline".to_string(),
                503 => "the host is at capacity; retry shortly".to_string(),
                501 => e.to_string(),
                _ => "the plugin or the host failed; the error was logged".to_string(),
            }
        } else {
            e.to_string()
        };
        let retry_after = match e {
            HostError::RateLimited {
                retry_after_secs, ..
            }
            | HostError::Busy { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        ApiError {
            status,
            code: e.code(),
            detail,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://backoffice.invalid/problems/{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Run blocking host work (SQLite, wasm) off the async workers, once one of the
/// general worker permits is free, answering 504 if it outlives the request timeout.
async fn blocking<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&Host) -> Result<T, HostError> + Send + 'static,
) -> ApiResult<T> {
    off_the_workers(state, Some(state.workers.clone()), f).await
}

/// [`blocking`] for a sign-in, which takes no general worker permit: the host's
/// password pool bounds sign-ins and refuses the excess at once (503), so a flood of
/// them cannot make requests with a token wait for a permit.
async fn sign_in<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&Host) -> Result<T, HostError> + Send + 'static,
) -> ApiResult<T> {
    off_the_workers(state, None, f).await
}

async fn off_the_workers<T: Send + 'static>(
    state: &ApiState,
    permits: Option<Arc<tokio::sync::Semaphore>>,
    f: impl FnOnce(&Host) -> Result<T, HostError> + Send + 'static,
) -> ApiResult<T> {
    let host = state.host.clone();
    let task = async move {
        let _permit = match permits {
            Some(permits) => Some(
                permits
                    .acquire_owned()
                    .await
                    .map_err(|e| HostError::Internal(format!("worker pool closed: {e}")))?,
            ),
            None => None,
        };
        tokio::task::spawn_blocking(move || f(&host))
            .await
            .map_err(|e| HostError::Internal(format!("worker failed: {e}")))?
    };
    match tokio::time::timeout(state.config.request_timeout, task).await {
        Err(_) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "deadline-exceeded",
            "the request did not finish in time",
        )),
        Ok(result) => result.map_err(ApiError::from),
    }
}

/// The authenticated caller of a request.
struct Caller(Principal);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> ApiResult<Self> {
        let token = bearer(&parts.headers)?;
        let principal = blocking(state, move |host| host.authenticate(&token)).await?;
        Ok(Caller(principal))
    }
}

/// The authenticated caller of a request with the API's state, for handlers acting on
/// the caller's behalf.
struct Authenticated {
    state: ApiState,
    caller: Principal,
}

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> ApiResult<Self> {
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        Ok(Authenticated {
            state: state.clone(),
            caller,
        })
    }
}

impl Authenticated {
    /// Run `f` off the async workers as what the caller may do in `tenant` (each
    /// action checks its permission).
    async fn admin<T: Send + 'static>(
        self,
        tenant: String,
        f: impl FnOnce(&TenantAdmin<'_>) -> Result<T, HostError> + Send + 'static,
    ) -> ApiResult<T> {
        let caller = self.caller;
        blocking(&self.state, move |host| {
            f(&host.tenant_admin(&caller, &tenant))
        })
        .await
    }

    /// Run `f` off the async workers for a system administrator; anyone else is
    /// refused.
    async fn system<T: Send + 'static>(
        self,
        f: impl FnOnce(&Host) -> Result<T, HostError> + Send + 'static,
    ) -> ApiResult<T> {
        require_system_admin(&self.caller)?;
        blocking(&self.state, f).await
    }
}

/// The bearer token of a request; checking it is [`Host::authenticate`]'s job.
fn bearer(headers: &axum::http::HeaderMap) -> Result<String, HostError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        HostError::Unauthenticated(
            "this route needs 'Authorization: Bearer <token>'; get a session token from POST /v1/login or an API token from `backoffice token create`".into(),
        )
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .ok_or_else(|| {
            HostError::Unauthenticated("the Authorization header must read 'Bearer <token>'".into())
        })
}

/// The client's address (see `api/client.rs`), `unknown` when the server recorded
/// no peer.
struct ClientAddr(String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<client::ClientIp>()
                .map_or_else(|| "unknown".into(), client::ClientIp::key),
        ))
    }
}

fn require_tenant_access(caller: &Principal, tenant: &str) -> Result<(), HostError> {
    if caller.can_access(tenant) {
        Ok(())
    } else {
        Err(HostError::Forbidden(format!(
            "this token belongs to tenant '{}' and cannot be used for tenant '{tenant}'",
            caller.tenant.as_deref().unwrap_or_default()
        )))
    }
}

fn require_system_admin(caller: &Principal) -> ApiResult<()> {
    if caller.is_system_admin() {
        Ok(())
    } else {
        Err(HostError::Forbidden("admin routes need a system administrator's token".into()).into())
    }
}

/// Parse a JSON body, turning every extractor failure into a problem document.
fn json_body<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let bytes = body_bytes(body)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| HostError::InvalidInput(format!("request body is not valid JSON: {e}")).into())
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "payload-too-large",
                "the request body is larger than the host accepts",
            )
        } else if limits::is_body_timeout(&rejection) {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "the request body did not arrive in time",
            )
        } else {
            ApiError::new(status, "invalid-input", rejection.body_text())
        }
    })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<ApiState>) -> ApiResult<&'static str> {
    blocking(&state, |host| {
        host.ready()?;
        host.load_all()
    })
    .await
    .map_err(|e| ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "unavailable",
        ..e
    })?;
    Ok("ready")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    #[serde(default)]
    tenant: Option<String>,
    username: String,
    password: String,
}

async fn login(
    State(state): State<ApiState>,
    ClientAddr(client): ClientAddr,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let req: LoginRequest = json_body(body)?;
    let new = sign_in(&state, move |host| {
        host.login(req.tenant.as_deref(), &req.username, &req.password, &client)
    })
    .await?;
    Ok(Json(json!({
        "token": new.token,
        "token_id": new.record.id,
        "expires_at": new.record.expires_at,
    })))
}

async fn logout(State(state): State<ApiState>, Caller(caller): Caller) -> ApiResult<StatusCode> {
    blocking(&state, move |host| host.logout(&caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Caller(caller): Caller) -> Json<Principal> {
    Json(caller)
}

/// Query of an operation call: `?dry-run=true` runs it and rolls it back.
#[derive(Debug, Deserialize)]
struct InvokeParams {
    #[serde(rename = "dry-run", default)]
    dry_run: bool,
}

async fn invoke(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
    Path((tenant, plugin, operation)): Path<(String, String, String)>,
    params: Result<Query<InvokeParams>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let Query(InvokeParams { dry_run }) = params.map_err(|e| {
        ApiError::from(HostError::InvalidInput(format!(
            "query: {}; the only parameter is dry-run=true|false",
            e.body_text()
        )))
    })?;
    let token = bearer(&headers)?;
    let bytes = body_bytes(body)?;
    let input = String::from_utf8(bytes.to_vec())
        .map_err(|_| HostError::InvalidInput("request body is not UTF-8".into()))?;
    // A read answers here, without a trip to the blocking pool, unless it would wait
    // or write or fail: then it runs again there (see `runtime::inline`).
    if !dry_run && state.config.reads_in_place && state.host.answers_in_place() {
        let host = &state.host;
        let answered = backoffice_host::runtime::inline::attempt(|| {
            host.invoke_text_with_token(&token, &tenant, &plugin, &operation, &input)
        });
        backoffice_host::metrics::in_place(matches!(answered, Some(Ok(_))));
        if let Some(Ok(output)) = answered {
            return Ok(([(header::CONTENT_TYPE, "application/json")], output).into_response());
        }
    }
    // Authentication and the call share one trip to the blocking pool.
    let output = blocking(&state, move |host| {
        if dry_run {
            let caller = host.authenticate(&token)?;
            require_tenant_access(&caller, &tenant)?;
            let run = host.dry_run(&tenant, &plugin, &operation, &input, &caller)?;
            return serde_json::to_string(&run).map_err(|e| HostError::Internal(e.to_string()));
        }
        // The plugin's own text, checked against the output schema, goes out as is.
        host.invoke_text_with_token(&token, &tenant, &plugin, &operation, &input)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], output).into_response())
}

async fn tenant_plugins(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    require_tenant_access(&caller, &tenant)?;
    let plugins = blocking(&state, move |host| {
        if !host.tenants()?.iter().any(|t| t.id == tenant) {
            return Err(HostError::NotFound(format!("unknown tenant '{tenant}'")));
        }
        Ok(host
            .plugins()?
            .into_iter()
            .filter(|p| p.enabled_for.contains(&tenant))
            .map(|mut p| {
                // A tenant sees its own enablement only, not which other tenants exist.
                p.enabled_for = vec![tenant.clone()];
                p
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({ "plugins": plugins })))
}

async fn tenant_plugin_enable(
    auth: Authenticated,
    Path((tenant, plugin)): Path<(String, String)>,
) -> ApiResult<Json<backoffice_host::store::Enablement>> {
    Ok(Json(auth.admin(tenant, move |a| a.enable(&plugin)).await?))
}

async fn tenant_plugin_disable(
    auth: Authenticated,
    Path((tenant, plugin)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    auth.admin(tenant, move |a| a.disable(&plugin)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tenant_settings(
    auth: Authenticated,
    Path((tenant, plugin)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    let settings = auth.admin(tenant, move |a| a.settings(&plugin)).await?;
    Ok(Json(json!({ "settings": settings })))
}

/// The body is the new value as JSON (`30`, `"text"`, `{"a": 1}`).
async fn tenant_setting_put(
    auth: Authenticated,
    Path((tenant, plugin, key)): Path<(String, String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<backoffice_host::settings::SettingView>> {
    let bytes = body_bytes(body)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        HostError::InvalidInput(format!(
            "the body must be the setting's new value as JSON (a string in quotes): {e}"
        ))
    })?;
    let set = move |a: &TenantAdmin<'_>| a.set_setting(&plugin, &key, Some(value));
    Ok(Json(auth.admin(tenant, set).await?))
}

async fn tenant_setting_delete(
    auth: Authenticated,
    Path((tenant, plugin, key)): Path<(String, String, String)>,
) -> ApiResult<Json<backoffice_host::settings::SettingView>> {
    let unset = move |a: &TenantAdmin<'_>| a.set_setting(&plugin, &key, None);
    Ok(Json(auth.admin(tenant, unset).await?))
}

async fn admin_tenants(auth: Authenticated) -> ApiResult<Json<serde_json::Value>> {
    let tenants = auth.system(|host| host.tenants()).await?;
    Ok(Json(json!({ "tenants": tenants })))
}

async fn admin_plugins(auth: Authenticated) -> ApiResult<Json<serde_json::Value>> {
    let plugins = auth.system(|host| host.plugins()).await?;
    Ok(Json(json!({ "plugins": plugins })))
}

async fn admin_plugin(
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<backoffice_host::registry::PluginInfo>> {
    Ok(Json(auth.system(move |host| host.plugin_info(&id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookAddRequest {
    url: String,
    topics: Vec<String>,
}

async fn webhooks_list(
    auth: Authenticated,
    Path(tenant): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let webhooks = auth.admin(tenant, |a| a.webhook_list()).await?;
    Ok(Json(json!({ "webhooks": webhooks })))
}

/// 201 with the endpoint and its secret, which is shown only this once.
async fn webhooks_add(
    auth: Authenticated,
    Path(tenant): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<backoffice_host::webhooks::AddedWebhook>)> {
    let req: WebhookAddRequest = json_body(body)?;
    // Off the async workers: the guard resolves the URL's host name.
    let added = auth
        .admin(tenant, move |a| a.webhook_add(&req.url, &req.topics))
        .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

async fn webhook_remove(
    auth: Authenticated,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    auth.admin(tenant, move |a| a.webhook_remove(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    /// Seconds the old secret keeps signing; 24 h when absent.
    overlap_secs: Option<u64>,
}

/// 200 with the new secret, shown only this once.
async fn webhook_rotate(
    auth: Authenticated,
    Path((tenant, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<backoffice_host::webhooks::RotatedWebhook>> {
    let bytes = body_bytes(body)?;
    let req: RotateRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        RotateRequest { overlap_secs: None }
    } else {
        json_body(Ok(bytes))?
    };
    let overlap = Duration::from_secs(req.overlap_secs.unwrap_or(24 * 3600));
    let rotate = move |a: &TenantAdmin<'_>| a.webhook_rotate(&id, overlap);
    Ok(Json(auth.admin(tenant, rotate).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryParams {
    endpoint: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}

async fn webhook_deliveries(
    auth: Authenticated,
    Path(tenant): Path<String>,
    params: Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(params) = params.map_err(|e| {
        ApiError::from(HostError::InvalidInput(format!(
            "query: {}; use endpoint=wh_..., status=pending|delivered|dead, limit=1..1000",
            e.body_text()
        )))
    })?;
    let deliveries = auth
        .admin(tenant, move |a| {
            a.webhook_log(
                params.endpoint.as_deref(),
                params.status.as_deref(),
                params.limit.unwrap_or(100).clamp(1, 1000),
            )
        })
        .await?;
    Ok(Json(json!({ "deliveries": deliveries })))
}

/// 202: the delivery is pending again and leaves with the worker's next pass.
async fn webhook_replay(
    auth: Authenticated,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id: i64 = id.parse().map_err(|_| {
        HostError::InvalidInput(format!(
            "'{id}' is not a delivery id (a number from GET /v1/tenants/<t>/webhooks/deliveries)"
        ))
    })?;
    auth.admin(tenant, move |a| a.webhook_replay(id)).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboundParams {
    state: Option<String>,
    limit: Option<u32>,
}

fn outbound_params(
    params: Result<Query<OutboundParams>, axum::extract::rejection::QueryRejection>,
    states: &str,
) -> Result<OutboundParams, ApiError> {
    params.map(|Query(p)| p).map_err(|e| {
        ApiError::from(HostError::InvalidInput(format!(
            "query: {}; use state={states}, limit=1..1000",
            e.body_text()
        )))
    })
}

/// A kind of message plugins queue for the outbound workers: what its two routes,
/// the list and the retry of a dead one, differ in.
struct Outbound<V> {
    /// The key of the list in the answer.
    key: &'static str,
    /// The states a list may be filtered by, as an error names them.
    states: &'static str,
    /// What an id names, with its article: `an HTTP request`.
    what: &'static str,
    /// The route of the list, below the tenant.
    route: &'static str,
    /// The tenant's messages for the caller, newest first, with their attempts.
    list: ListOutbound<V>,
    /// Make a dead message pending again.
    retry: fn(&TenantAdmin<'_>, i64) -> Result<(), HostError>,
}

/// [`TenantAdmin::http_list`] and its kin: the caller in the tenant, the state a list
/// is filtered by and the most messages to list.
type ListOutbound<V> = fn(&TenantAdmin<'_>, Option<&str>, u32) -> Result<Vec<V>, HostError>;

/// The plugins' outbound HTTP requests (header values and bodies are never shown); a
/// retried one leaves with the worker's next pass.
const HTTP_REQUESTS: Outbound<backoffice_host::outbound::HttpRequestView> = Outbound {
    key: "requests",
    states: "pending|answered|dead",
    what: "an HTTP request",
    route: "http-requests",
    list: |admin, state, limit| admin.http_list(state, limit),
    retry: |admin, id| admin.http_retry(id),
};

/// The email notifications plugins queued; a retried one keeps its Message-ID.
const NOTIFICATIONS: Outbound<backoffice_host::notify::NotificationView> = Outbound {
    key: "notifications",
    states: "pending|sent|dead",
    what: "a notification",
    route: "notifications",
    list: |admin, state, limit| admin.notify_list(state, limit),
    retry: |admin, id| admin.notify_retry(id),
};

/// A tenant's messages of one kind, newest first, with their attempts.
async fn outbound_list<V: serde::Serialize + Send + 'static>(
    kind: &'static Outbound<V>,
    auth: Authenticated,
    Path(tenant): Path<String>,
    params: Result<Query<OutboundParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let params = outbound_params(params, kind.states)?;
    let list = auth
        .admin(tenant, move |a| {
            (kind.list)(
                a,
                params.state.as_deref(),
                params.limit.unwrap_or(100).clamp(1, 1000),
            )
        })
        .await?;
    Ok(Json(json!({ kind.key: list })))
}

/// 202: the dead message is pending again.
async fn outbound_retry<V>(
    kind: &'static Outbound<V>,
    auth: Authenticated,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id: i64 = id.parse().map_err(|_| {
        HostError::InvalidInput(format!(
            "'{id}' is not {} id (a number from GET /v1/tenants/<t>/{})",
            kind.what, kind.route
        ))
    })?;
    auth.admin(tenant, move |a| (kind.retry)(a, id)).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
struct AuditParams {
    tenant: Option<String>,
    since: Option<String>,
    limit: Option<u32>,
}

async fn admin_audit(
    auth: Authenticated,
    Query(params): Query<AuditParams>,
) -> ApiResult<Json<serde_json::Value>> {
    let links = auth
        .system(move |host| {
            host.audit_list(&AuditQuery {
                tenant: params.tenant,
                since: params.since.as_deref().map(parse_since).transpose()?,
                after_seq: None,
                limit: params.limit.unwrap_or(1000).clamp(1, 10_000),
            })
        })
        .await?;
    Ok(Json(json!({ "links": links })))
}

async fn admin_audit_verify(
    auth: Authenticated,
) -> ApiResult<Json<backoffice_host::audit::VerifyReport>> {
    Ok(Json(auth.system(|host| host.audit_verify(None)).await?))
}

/// Without a token: the host's own routes only. With one: also the operations of
/// the plugins the caller's tenant has enabled (every installed plugin for a system
/// administrator). A token that does not authenticate is refused, as elsewhere.
async fn openapi_document(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let token = match headers.contains_key(header::AUTHORIZATION) {
        true => Some(bearer(&headers)?),
        false => None,
    };
    Ok(Json(
        blocking(&state, move |host| {
            let audience = match token {
                None => openapi::Audience::Anonymous,
                Some(token) => match host.authenticate(&token)?.tenant {
                    Some(tenant) => openapi::Audience::Tenant(tenant),
                    None => openapi::Audience::Host,
                },
            };
            openapi::document(host, &audience)
        })
        .await?,
    ))
}

/// The metrics for Prometheus: with the metrics token or a system administrator's
/// token (`serve --metrics-listen` serves them without a token on a separate address).
async fn metrics(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::response::Response> {
    use subtle::ConstantTimeEq;
    let token = bearer(&headers)?;
    let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()).into();
    let scraper = state
        .config
        .metrics_token
        .is_some_and(|want| bool::from(want.ct_eq(&digest)));
    let text = blocking(&state, move |host| {
        if !scraper {
            let caller = host.authenticate(&token)?;
            if !caller.is_system_admin() {
                return Err(HostError::Forbidden(
                    "/metrics needs the metrics token (serve --metrics-token-file) or a system administrator's token".into(),
                ));
            }
        }
        backoffice_host::metrics::render(host)
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, backoffice_host::metrics::CONTENT_TYPE)],
        text,
    )
        .into_response())
}

/// The routes of `serve --metrics-listen`: `/metrics` without a token, nothing else.
pub fn metrics_app(host: Arc<Host>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(host): State<Arc<Host>>| async move {
                let rendered =
                    tokio::task::spawn_blocking(move || backoffice_host::metrics::render(&host))
                        .await;
                match rendered {
                    Ok(Ok(text)) => (
                        [(header::CONTENT_TYPE, backoffice_host::metrics::CONTENT_TYPE)],
                        text,
                    )
                        .into_response(),
                    Ok(Err(e)) => ApiError::from(e).into_response(),
                    Err(e) => {
                        ApiError::from(HostError::Internal(format!("metrics: {e}"))).into_response()
                    }
                }
            }),
        )
        .fallback(not_found)
        .with_state(host)
}

/// Middleware counting every request and timing it, labelled by its route pattern
/// (the registry is the host's: [`backoffice_host::metrics::record_request`]).
async fn track(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let (plugin, operation) = backoffice_host::metrics::operation_labels(&route, &path, status);
    backoffice_host::metrics::record_request(
        route,
        plugin,
        operation,
        status,
        started.elapsed().as_secs_f64(),
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such route; see GET /openapi.json for the routes this host serves",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not accept that method; see GET /openapi.json",
    )
}

/// The API routes.
pub fn app(host: Arc<Host>, config: ApiConfig) -> Router {
    // The body limit is the plugin input limit plus room for nothing else: plugin
    // input is the largest body any route takes.
    let max_body = host.runtime().limits().max_input_bytes;
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let body_timeout = config.body_timeout;
    let state = ApiState {
        limiter: limits::RateLimiter::new(config.rate_limit, config.rate_burst).map(Arc::new),
        host,
        config,
        workers: Arc::new(tokio::sync::Semaphore::new(parallel * 4)),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi_document))
        .route("/metrics", get(metrics))
        .route("/v1/login", post(login))
        .route("/v1/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/tenants/{tenant}/plugins", get(tenant_plugins))
        .route(
            "/v1/tenants/{tenant}/plugins/{plugin}/{operation}",
            post(invoke),
        )
        .route("/v1/admin/tenants", get(admin_tenants))
        .route("/v1/admin/plugins", get(admin_plugins))
        .route("/v1/admin/plugins/{id}", get(admin_plugin))
        .route("/v1/admin/audit", get(admin_audit))
        .route("/v1/admin/audit/verify", get(admin_audit_verify))
        .route(
            "/v1/tenants/{tenant}/plugins/{plugin}/enable",
            post(tenant_plugin_enable),
        )
        .route(
            "/v1/tenants/{tenant}/plugins/{plugin}/disable",
            post(tenant_plugin_disable),
        )
        .route(
            "/v1/tenants/{tenant}/settings/{plugin}",
            get(tenant_settings),
        )
        .route(
            "/v1/tenants/{tenant}/settings/{plugin}/{key}",
            axum::routing::put(tenant_setting_put).delete(tenant_setting_delete),
        )
        .route(
            "/v1/tenants/{tenant}/webhooks",
            get(webhooks_list).post(webhooks_add),
        )
        .route(
            "/v1/tenants/{tenant}/webhooks/deliveries",
            get(webhook_deliveries),
        )
        .route(
            "/v1/tenants/{tenant}/webhooks/deliveries/{id}/replay",
            post(webhook_replay),
        )
        .route(
            "/v1/tenants/{tenant}/webhooks/{id}",
            axum::routing::delete(webhook_remove),
        )
        .route(
            "/v1/tenants/{tenant}/webhooks/{id}/rotate",
            post(webhook_rotate),
        )
        .route(
            "/v1/tenants/{tenant}/http-requests",
            get(|a, t, q| outbound_list(&HTTP_REQUESTS, a, t, q)),
        )
        .route(
            "/v1/tenants/{tenant}/http-requests/{id}/retry",
            post(|a, p| outbound_retry(&HTTP_REQUESTS, a, p)),
        )
        .route(
            "/v1/tenants/{tenant}/notifications",
            get(|a, t, q| outbound_list(&NOTIFICATIONS, a, t, q)),
        )
        .route(
            "/v1/tenants/{tenant}/notifications/{id}/retry",
            post(|a, p| outbound_retry(&NOTIFICATIONS, a, p)),
        )
        .merge(console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            limits::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client::resolve,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
                )
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        // Outermost, so refusals of the layers above (429, 408) are counted too.
        .layer(axum::middleware::from_fn(track))
        .with_state(state)
}

/// Serve until ctrl-c or SIGTERM, finishing calls in flight.
///
/// HTTP/1.1 only, on hyper's connection builder: a client must send its headers
/// within `header_timeout` or is disconnected (slowloris), and at most
/// `max_connections` connections are served at once; the next ones wait, unaccepted,
/// in the listen backlog until one closes.
pub async fn serve(host: Arc<Host>, addr: SocketAddr, config: ApiConfig) -> Result<(), HostError> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| HostError::Internal(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener.local_addr().unwrap_or(addr);
    tracing::info!(%addr, "listening");
    eprintln!("backoffice listening on http://{addr}");

    let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    // HTTP/1 only: the protocol sniffing of HTTP/2 prior knowledge would wait
    // unbounded for a client's first bytes, outside the header timeout.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    let builder = Arc::new(builder);
    let router = app(host, config);

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    // Dropped when the server stops accepting; connections watch it to finish.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    // Each connection holds a receiver; all dropped means all finished.
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = ConnectionService {
            router: router.clone(),
            remote,
        };
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, %remote, "connection ended");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop((permit, done));
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// The router for one connection: every request learns the peer address, as axum's
/// `into_make_service_with_connect_info` would record it.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    remote: SocketAddr,
}

impl tower_service::Service<axum::http::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = <Router as tower_service::Service<axum::extract::Request>>::Future;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::http::Request<hyper::body::Incoming>) -> Self::Future {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(self.remote));
        tower_service::Service::call(&mut self.router, request)
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down; finishing calls in flight");
}
