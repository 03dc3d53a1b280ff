//! The real server on loopback: health, plugin calls and problem-details errors.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use backoffice_tests::{Cli, wasm_path};
use serde_json::{Value, json};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(cli: &Cli) -> Server {
    let mut child = cli
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

/// One HTTP/1.1 request; returns status, content type and body.
fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    // Bodies here are small; undo chunked framing if the server used it.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, ctype, body)
}

#[test]
fn serves_plugin_calls_and_reports_errors_as_problem_details() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&[
        "plugin",
        "install",
        &wasm_path("contacts").display().to_string(),
        "--yes",
    ])
    .ok();
    cli.run(&["plugin", "enable", "contacts", "--tenant", "acme"])
        .ok();
    let server = start(&cli);

    assert_eq!(request(&server.addr, "GET", "/healthz", "").0, 200);
    assert_eq!(request(&server.addr, "GET", "/readyz", "").0, 200);

    let (status, _, body) = request(
        &server.addr,
        "POST",
        "/v1/tenants/acme/plugins/contacts/create",
        r#"{"name":"Grace Hopper","kind":"supplier"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["name"], "Grace Hopper");

    let (status, _, body) = request(&server.addr, "GET", "/v1/tenants/acme/plugins", "");
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["plugins"][0]["id"], "contacts");

    let (status, ctype, body) = request(
        &server.addr,
        "POST",
        "/v1/tenants/acme/plugins/contacts/create",
        r#"{"name": 1}"#,
    );
    assert_eq!(status, 400);
    assert!(ctype.starts_with("application/problem+json"), "{ctype}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], json!("invalid-input"));
    assert_eq!(problem["status"], json!(400));

    let (status, _, body) = request(
        &server.addr,
        "POST",
        "/v1/tenants/nobody/plugins/contacts/list",
        "{}",
    );
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = request(&server.addr, "GET", "/v1/tenants/nobody/plugins", "");
    assert_eq!(status, 404);
}

#[test]
fn refuses_to_listen_beyond_loopback_without_authentication() {
    let cli = Cli::new();
    cli.run(&["serve", "--listen", "0.0.0.0:0"])
        .fails(2, &["only listens on loopback"]);
}
