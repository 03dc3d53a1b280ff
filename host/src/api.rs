//! The HTTP API (axum). This first version serves health checks and plugin calls on
//! loopback as the system principal; users, tokens and the full route set build on it.
//!
//! Errors are RFC 9457 problem details with a stable `code`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::Host;
use crate::auth::Principal;
use crate::error::HostError;

/// An error as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub HostError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match status.as_u16() {
            400 => "invalid-input",
            403 => "forbidden",
            404 => "not-found",
            409 => "conflict",
            501 => "unsupported",
            503 => "unavailable",
            504 => "deadline-exceeded",
            _ => "internal",
        };
        // 5xx bodies never carry internals; the full error is logged once here.
        let detail = if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
            match status.as_u16() {
                504 => "the plugin did not finish before its deadline".to_string(),
                503 => "the host is at capacity; retry shortly".to_string(),
                501 => self.0.to_string(),
                _ => "the plugin or the host failed; the error was logged".to_string(),
            }
        } else {
            self.0.to_string()
        };
        let body = json!({
            "type": format!("https://backoffice.invalid/problems/{code}"),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "code": code,
            "detail": detail,
        });
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<HostError> for ApiError {
    fn from(e: HostError) -> Self {
        ApiError(e)
    }
}

/// Run blocking host work (SQLite, wasm) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(HostError::Internal(format!("worker failed: {e}"))))?
        .map_err(ApiError)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(host): State<Arc<Host>>) -> Result<&'static str, ApiError> {
    blocking(move || host.ready()).await?;
    Ok("ready")
}

async fn invoke(
    State(host): State<Arc<Host>>,
    Path((tenant, plugin, operation)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let input = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError(HostError::InvalidInput("request body is not UTF-8".into())))?;
    let output =
        blocking(move || host.invoke(&tenant, &plugin, &operation, &input, &Principal::system()))
            .await?;
    Ok(axum::Json(output))
}

async fn tenant_plugins(
    State(host): State<Arc<Host>>,
    Path(tenant): Path<String>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let plugins = blocking(move || {
        if !host.tenants()?.iter().any(|t| t.id == tenant) {
            return Err(HostError::NotFound(format!("unknown tenant '{tenant}'")));
        }
        Ok(host
            .plugins()?
            .into_iter()
            .filter(|p| p.enabled_for.contains(&tenant))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(axum::Json(json!({ "plugins": plugins })))
}

/// The API routes.
pub fn app(host: Arc<Host>) -> Router {
    let max_body = host.runtime().limits().max_input_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/tenants/{tenant}/plugins", get(tenant_plugins))
        .route(
            "/v1/tenants/{tenant}/plugins/{plugin}/{operation}",
            post(invoke),
        )
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(host)
}

/// Serve until ctrl-c or SIGTERM, finishing calls in flight.
pub async fn serve(host: Arc<Host>, addr: SocketAddr) -> Result<(), HostError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| HostError::Internal(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener.local_addr().unwrap_or(addr);
    tracing::info!(%addr, "listening");
    eprintln!("backoffice listening on http://{addr}");
    axum::serve(listener, app(host))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| HostError::Internal(format!("server failed: {e}")))
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
