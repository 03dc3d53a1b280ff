//! The baseline of the HTTP benchmark (`benches/http.sh`): bare axum handlers doing
//! natively what the probe plugin's `get` (one SQLite key read) and `touch` (read a
//! counter and write it plus one, in one transaction with its own disk sync) do, with
//! no authentication, sandbox, schema checks or audit. Not part of the product.
//!
//! Usage: `bare_read <database file> <listen address>`

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use rusqlite::{Connection, OptionalExtension};

type Pool = Arc<Mutex<Vec<Connection>>>;

/// A pooled connection: WAL, `synchronous=FULL` (a durable commit syncs the log, as
/// the host's `durability full`), waiting for the write lock like the host does.
fn connection(pool: &Pool, path: &str) -> Option<Connection> {
    if let Some(conn) = pool.lock().ok().and_then(|mut p| p.pop()) {
        return Some(conn);
    }
    let conn = Connection::open(path).ok()?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).ok()?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .ok()?;
    Some(conn)
}

/// Read the counter at `key` and write it plus one, in one durable transaction.
fn touch(pool: &Pool, path: &str, key: &str) -> Option<u64> {
    let conn = connection(pool, path)?;
    let count = (|| -> rusqlite::Result<u64> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let old: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT value FROM kv WHERE tenant = 'acme' AND plugin = 'probe' AND key = ?1",
            )?
            .query_row([key], |r| r.get(0))
            .optional()?;
        let count = old
            .and_then(|v| serde_json::from_slice::<u64>(&v).ok())
            .unwrap_or(0)
            + 1;
        conn.prepare_cached(
            "INSERT INTO kv (tenant, plugin, key, value) VALUES ('acme', 'probe', ?1, ?2)
             ON CONFLICT (tenant, plugin, key) DO UPDATE SET value = excluded.value",
        )?
        .execute(rusqlite::params![key, count.to_string().into_bytes()])?;
        conn.execute_batch("COMMIT")?;
        Ok(count)
    })();
    if count.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Ok(mut p) = pool.lock() {
        p.push(conn);
    }
    count.ok()
}

/// The `key` of a request body like `{"key":"k"}` (empty when there is none).
fn key_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["key"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn read(pool: &Pool, path: &str, key: &str) -> Option<Vec<u8>> {
    let conn = connection(pool, path)?;
    let value = conn
        .prepare_cached(
            "SELECT value FROM kv WHERE tenant = 'acme' AND plugin = 'probe' AND key = ?1",
        )
        .ok()?
        .query_row([key], |r| r.get::<_, Vec<u8>>(0))
        .optional()
        .ok()?;
    if let Ok(mut p) = pool.lock() {
        p.push(conn);
    }
    value
}

/// Run `f` on the key of the request `body` on the blocking pool; `None` when it
/// fails or panics.
async fn blocking<T: Send + 'static>(
    (pool, path): (Pool, String),
    body: String,
    f: fn(&Pool, &str, &str) -> Option<T>,
) -> Option<T> {
    let key = key_of(&body);
    tokio::task::spawn_blocking(move || f(&pool, &path, &key))
        .await
        .ok()
        .flatten()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(listen)) = (args.get(1).cloned(), args.get(2)) else {
        eprintln!("usage: bare_read <database file> <listen address>");
        std::process::exit(2);
    };
    let addr: SocketAddr = listen.parse().expect("listen address");
    let pool: Pool = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/read",
            post(
                |State(db): State<(Pool, String)>, body: String| async move {
                    let value = blocking(db, body, read).await;
                    axum::Json(serde_json::json!({
                        "value": value.map(|v| String::from_utf8_lossy(&v).into_owned())
                    }))
                },
            ),
        )
        .route(
            "/touch",
            post(
                |State(db): State<(Pool, String)>, body: String| async move {
                    let count = blocking(db, body, touch).await;
                    match count {
                        Some(count) => (
                            axum::http::StatusCode::OK,
                            axum::Json(serde_json::json!({ "count": count })),
                        ),
                        None => (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            axum::Json(serde_json::json!({ "error": "the write failed" })),
                        ),
                    }
                },
            ),
        )
        .with_state((pool, path));
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    eprintln!(
        "bare_read listening on http://{}",
        listener.local_addr().expect("addr")
    );
    axum::serve(listener, app).await.expect("serve");
}
