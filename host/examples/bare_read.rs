//! The baseline of the HTTP benchmark (`benches/http.sh`): a bare axum handler doing
//! the same single SQLite key read as the probe plugin's `get`, natively, with no
//! authentication, sandbox, schema checks or audit. Not part of the product.
//!
//! Usage: `bare_read <database file> <listen address>`

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use rusqlite::{Connection, OptionalExtension};

type Pool = Arc<Mutex<Vec<Connection>>>;

fn read(pool: &Pool, path: &str, key: &str) -> Option<Vec<u8>> {
    let conn = pool
        .lock()
        .ok()
        .and_then(|mut p| p.pop())
        .or_else(|| Connection::open(path).ok())?;
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
                |State((pool, path)): State<(Pool, String)>, body: String| async move {
                    let key = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["key"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    let value = tokio::task::spawn_blocking(move || read(&pool, &path, &key))
                        .await
                        .ok()
                        .flatten();
                    axum::Json(serde_json::json!({
                        "value": value.map(|v| String::from_utf8_lossy(&v).into_owned())
                    }))
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
