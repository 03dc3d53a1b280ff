//! Outbound HTTP for plugins (issue 20, item 3): the `fetcher` fixture queues a
//! request through `backoffice:http/outbound`; the host sends it only after the call
//! commits, retries what may be retried, refuses what its rules refuse, and brings
//! the answer back to the plugin as an `http.response` event. The destination is a
//! small HTTP server on loopback, written here.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backoffice_host::clock::TestClock;
use backoffice_tests::{Cli, TestHost, wasm_path};
use serde_json::{Value, json};

/// A request the origin received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.1 server on a loopback port answering each request with the next of
/// `replies` (the last repeats): `(status, body)`; status 0 holds the connection open
/// without answering, 1000 + status answers status after 1.5 s.
struct Origin {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Origin {
    fn start(replies: &[(u16, &[u8])]) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let replies: Vec<(u16, Vec<u8>)> = replies.iter().map(|(s, b)| (*s, b.to_vec())).collect();
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (log, replies) = (log.clone(), replies.clone());
                std::thread::spawn(move || serve(stream, &replies, &log));
            }
        });
        Origin { port, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: std::net::TcpStream, replies: &[(u16, Vec<u8>)], log: &Mutex<Vec<Seen>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((n, v)) = h.trim_end().split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let (status, reply) = {
        let mut seen = log.lock().unwrap();
        let reply = replies
            .get(seen.len())
            .or(replies.last())
            .cloned()
            .unwrap_or((200, Vec::new()));
        seen.push(Seen {
            method,
            path,
            headers,
            body,
        });
        reply
    };
    if status == 0 {
        std::thread::sleep(Duration::from_secs(120));
        return;
    }
    // 1000 + status: answer that status after 1.5 s (in flight meanwhile).
    let status = if status >= 1000 {
        std::thread::sleep(Duration::from_millis(1500));
        status - 1000
    } else {
        status
    };
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\nx-origin: loopback\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.len()
    );
    let _ = out.write_all(&reply);
}

/// A host whose clock stands at `clock`, with the fetcher enabled for acme, private
/// destinations allowed unless `private` is false, retries after 5 s (x4) up to 3
/// attempts, and at most 1 KiB of an answer's body.
fn host(clock: &Arc<TestClock>, private: bool) -> TestHost {
    let clock = clock.clone();
    TestHost::with_config(move |c| {
        c.clock = clock;
        c.limits.call_deadline = Duration::from_secs(5);
        c.webhooks.allow_private = private;
        c.http.backoff = Duration::from_secs(5);
        c.http.max_attempts = 3;
        c.http.max_response_bytes = 1024;
    })
    .with_plugin("fetcher", "fetcher", &["acme"])
}

fn fetch(t: &TestHost, input: Value) -> backoffice_host::HostResult<Value> {
    t.call("acme", "fetcher", "fetch", input)
}

fn list(t: &TestHost) -> Vec<Value> {
    let list = t.host.http_list("acme", None, 50).unwrap();
    serde_json::to_value(list)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// What the plugin received by event, in order.
fn answers(t: &TestHost) -> Vec<Value> {
    t.call("acme", "fetcher", "answers", json!({})).unwrap()["answers"]
        .as_array()
        .unwrap()
        .clone()
}

fn now() -> Arc<TestClock> {
    Arc::new(TestClock::at_rfc3339("2026-12-03T09:00:00Z"))
}

#[test]
fn a_committed_call_sends_once_after_commit_and_the_answer_reaches_the_plugin() {
    let clock = now();
    let origin = Origin::start(&[(200, b"{\"EUR\":1.08}")]);
    let t = host(&clock, true);
    let out = fetch(
        &t,
        json!({"method": "POST", "url": origin.url("/rates?d=1"),
               "headers": [["content-type", "application/json"], ["x-api-key", "s3cret"]],
               "body": "{\"from\":\"USD\"}"}),
    )
    .unwrap();
    let id = out["request"].as_i64().unwrap();
    assert!(
        origin.seen().is_empty(),
        "nothing leaves before commit and the worker"
    );
    let report = t.host.run_due().unwrap();
    assert_eq!(report.http_requests, 1, "{report:?}");
    let seen = origin.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/rates?d=1")
    );
    assert_eq!(seen[0].header("x-api-key"), Some("s3cret"));
    assert_eq!(seen[0].body, b"{\"from\":\"USD\"}");

    let r = &list(&t)[0];
    assert_eq!(r["id"].as_i64(), Some(id));
    assert_eq!(
        (r["state"].as_str(), r["status"].as_u64()),
        (Some("answered"), Some(200))
    );
    assert_eq!(r["attempts_log"].as_array().unwrap().len(), 1);
    assert_eq!(r["header_names"], json!(["content-type", "x-api-key"]));
    assert!(
        !r.to_string().contains("s3cret"),
        "header values are never listed: {r}"
    );

    let got = answers(&t);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["asked"], json!(origin.url("/rates?d=1")));
    assert_eq!(got[0]["ok"], true);
    let response = &got[0]["response"];
    assert_eq!(response["request"].as_i64(), Some(id));
    assert_eq!(response["status"], 200);
    assert_eq!(response["body"], "{\"EUR\":1.08}");
    assert!(
        response["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-origin", "loopback"])),
        "{response}"
    );
    // Sent once: later passes find nothing, and only the fetcher got the answer.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(t.host.run_due().unwrap().http_requests, 0);
    assert_eq!(origin.seen().len(), 1);
    assert_eq!(answers(&t).len(), 1);
}

#[test]
fn a_failed_rolled_back_or_dry_run_call_sends_nothing() {
    let clock = now();
    let origin = Origin::start(&[(200, b"ok")]);
    let t = host(&clock, true);
    let err = fetch(&t, json!({"url": origin.url("/x"), "fail": true})).unwrap_err();
    assert!(
        err.to_string()
            .contains("failing on purpose after queuing request"),
        "{err}"
    );
    let dry = t
        .host
        .dry_run(
            "acme",
            "fetcher",
            "fetch",
            &json!({"url": origin.url("/dry")}).to_string(),
            &backoffice_host::auth::Principal::system(),
        )
        .unwrap();
    assert!(
        dry.output.to_string().contains("request"),
        "{:?}",
        dry.output
    );
    let effects = serde_json::to_value(&dry.effects).unwrap();
    assert_eq!(
        effects["http_requests"],
        json!([{"plugin": "fetcher", "method": "GET", "url": origin.url("/dry")}]),
        "the preview says what would be sent"
    );
    // A read-only operation may not queue a request.
    let err = t
        .call(
            "acme",
            "fetcher",
            "peek",
            json!({"url": origin.url("/peek")}),
        )
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");
    t.host.run_due().unwrap();
    assert!(origin.seen().is_empty(), "{:?}", origin.seen());
    assert!(
        list(&t).is_empty(),
        "no row survives a rollback or a dry run"
    );
    assert!(answers(&t).is_empty());
}

#[test]
fn a_500_then_200_is_retried_for_a_get_and_a_post_without_a_key_is_not() {
    let clock = now();
    let origin = Origin::start(&[(500, b"down"), (200, b"up"), (503, b"busy")]);
    let t = host(&clock, true);
    fetch(&t, json!({"url": origin.url("/get")})).unwrap();
    t.host.run_due().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("pending"), Some(1))
    );
    assert_eq!(r["last_error"], "answered 500");
    assert!(
        answers(&t).is_empty(),
        "the plugin hears only the final outcome"
    );
    clock.advance(Duration::from_millis(6_300)); // 5 s plus at most a quarter of jitter
    t.host.run_due().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["status"].as_u64()),
        (Some("answered"), Some(200))
    );
    let statuses: Vec<Value> = r["attempts_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(500), json!(200)]);
    let got = answers(&t);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (
            got[0]["response"]["status"].as_u64(),
            got[0]["response"]["attempts"].as_u64()
        ),
        (Some(200), Some(2))
    );

    // A POST without an Idempotency-Key is not sent twice: its 503 is the answer.
    fetch(
        &t,
        json!({"method": "POST", "url": origin.url("/post"), "body": "x"}),
    )
    .unwrap();
    t.host.run_due().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (
            r["state"].as_str(),
            r["status"].as_u64(),
            r["attempts"].as_u64()
        ),
        (Some("answered"), Some(503), Some(1))
    );
    let got = answers(&t);
    assert_eq!(got.len(), 2);
    assert_eq!(
        (
            got[1]["ok"].as_bool(),
            got[1]["response"]["status"].as_u64()
        ),
        (Some(false), Some(503))
    );
    assert_eq!(got[1]["response"]["error"], "answered 503");
    assert_eq!(origin.seen().len(), 3);
}

#[test]
fn unreachable_is_retried_then_dead_and_retried_by_hand() {
    let clock = now();
    // A port nobody listens on: connecting fails, so even a POST is retried.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = host(&clock, true);
    let url = format!("http://127.0.0.1:{port}/gone");
    fetch(&t, json!({"method": "POST", "url": url, "body": "x"})).unwrap();
    for step in [0, 7, 30] {
        clock.advance(Duration::from_secs(step));
        t.host.run_due().unwrap();
    }
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("dead"), Some(3))
    );
    assert!(
        r["last_error"].as_str().unwrap().contains("cannot connect"),
        "{r}"
    );
    let got = answers(&t);
    assert_eq!(got.len(), 1, "the dead letter is reported once: {got:?}");
    assert_eq!(got[0]["ok"], false);
    assert!(
        got[0]["response"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot connect")
    );
    assert_eq!(got[0]["response"]["status"], Value::Null);

    let id = r["id"].as_i64().unwrap();
    let err = t.host.http_retry("acme", id + 1).unwrap_err();
    assert_eq!(err.http_status(), 404, "{err}");
    t.host.http_retry("acme", id).unwrap();
    let err = t.host.http_retry("acme", id).unwrap_err();
    assert!(
        err.to_string()
            .contains("only a dead request can be retried"),
        "{err}"
    );
    t.host.run_due().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("pending"), Some(1))
    );
    assert_eq!(r["attempts_log"].as_array().unwrap().len(), 4);
}

#[test]
fn private_destinations_are_refused_without_the_allow_setting() {
    let clock = now();
    let origin = Origin::start(&[(200, b"secret")]);
    let t = host(&clock, false);
    // A literal loopback address is refused when queued; so is plain HTTP.
    let https = format!("https://127.0.0.1:{}/", origin.port);
    let err = fetch(&t, json!({"url": https})).unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    for fragment in [
        "request refused",
        "loopback",
        "BACKOFFICE_WEBHOOK_ALLOW_PRIVATE=1",
    ] {
        assert!(err.to_string().contains(fragment), "{fragment}: {err}");
    }
    let err = fetch(&t, json!({"url": origin.url("/")})).unwrap_err();
    assert!(err.to_string().contains("uses plain HTTP"), "{err}");
    // A listed name that resolves to loopback is checked when sent: dead at once.
    let name = format!("https://localhost:{}/", origin.port);
    fetch(&t, json!({"url": name})).unwrap();
    t.host.run_due().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("dead"), Some(1))
    );
    let error = r["last_error"].as_str().unwrap();
    assert!(
        error.contains("destination refused") && error.contains("loopback"),
        "{error}"
    );
    assert!(
        origin.seen().is_empty(),
        "nothing reached the private address"
    );
    let got = answers(&t);
    assert_eq!(got[0]["response"]["error"].as_str(), Some(error));
}

#[test]
fn a_host_that_cannot_send_records_why_and_the_request_is_dead_at_once() {
    // A sender that cannot be built (here an extra root that is not a certificate; in
    // a build without the feature `http-client`, the missing client) fails every
    // attempt with the reason: retrying cannot help, so the request is dead at once.
    let clock = now();
    let origin = Origin::start(&[(200, b"never")]);
    let t = TestHost::with_config(move |c| {
        c.clock = clock.clone();
        c.webhooks.allow_private = true;
        c.webhooks.extra_roots = vec![b"not a certificate".to_vec()];
    })
    .with_plugin("fetcher", "fetcher", &["acme"]);
    fetch(
        &t,
        json!({"method": "POST", "url": origin.url("/x"), "body": "x"}),
    )
    .unwrap();
    t.host.run_due().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("dead"), Some(1)),
        "{r}"
    );
    let error = r["last_error"].as_str().unwrap();
    assert!(
        error.starts_with("the host cannot send: HTTP client with 1 extra root certificate(s)")
            && error.contains("invalid peer certificate"),
        "{error}"
    );
    assert!(origin.seen().is_empty(), "nothing was sent");
    let got = answers(&t);
    assert_eq!(got[0]["response"]["error"].as_str(), Some(error));
}

#[test]
fn a_host_not_listed_is_refused_at_queue_time_naming_the_list() {
    let clock = now();
    let t = host(&clock, true);
    let list_text =
        "http://127.0.0.1:*, https://127.0.0.1:*, https://localhost:*, https://api.example.com";
    for url in [
        "http://localhost:8080/",
        "https://api.example.com:8443/",
        "https://evil.example.com/",
        "https://api.example.com.evil.net/",
    ] {
        let err = fetch(&t, json!({"url": url})).unwrap_err();
        assert_eq!(err.http_status(), 403, "{url}: {err}");
        let text = err.to_string();
        assert!(text.contains(list_text), "{url}: {text}");
        assert!(text.contains("allowed-outbound-hosts"), "{url}: {text}");
    }
    let cases = [
        (
            json!({"method": "TRACE", "url": "https://api.example.com/"}),
            "is not one the host sends",
        ),
        (
            json!({"url": "https://api.example.com/", "headers": [["host", "x"]]}),
            "set by the host",
        ),
        (
            json!({"url": "https://api.example.com/", "timeout_ms": 60_001}),
            "between 1 and 60000",
        ),
        (json!({"url": "ftp://api.example.com/"}), "is not https"),
    ];
    // The 1 MiB cap of a request body is checked by the capability's unit test: an
    // operation's input is itself capped at 1 MiB, so this fixture cannot pass more.
    for (input, fragment) in cases {
        let err = fetch(&t, input.clone()).unwrap_err();
        assert!(err.to_string().contains(fragment), "{input}: {err}");
    }
    assert!(list(&t).is_empty(), "nothing was queued");
}

#[test]
fn an_oversized_answer_is_recorded_as_failed_with_the_reason() {
    let clock = now();
    let big = vec![b'x'; 5000];
    let origin = Origin::start(&[(200, &big)]);
    let t = host(&clock, true);
    fetch(&t, json!({"url": origin.url("/big")})).unwrap();
    t.host.run_due().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("dead"), Some(1)),
        "{r}"
    );
    let error = r["last_error"].as_str().unwrap();
    assert!(error.contains("larger than 1024 bytes"), "{error}");
    let got = answers(&t);
    assert_eq!(got[0]["ok"], false);
    assert_eq!(
        got[0]["response"]["body"],
        Value::Null,
        "nothing of it is handed over"
    );
    assert_eq!(origin.seen().len(), 1, "not asked again");
}

#[test]
fn the_manifest_rules_of_http_are_checked_at_install() {
    let m = |extra: &str| {
        backoffice_host::manifest::Manifest::parse(&format!(
            "id = \"x\"\nname = \"X\"\nvendor = \"v\"\nversion = \"0.1.0\"\nhost-api = \"^0.1\"\n{extra}"
        ))
    };
    let err = m("capabilities = [\"http\"]").unwrap_err().to_string();
    assert!(err.contains("lists no host"), "{err}");
    let err = m("allowed-outbound-hosts = [\"https://a.example.com\"]")
        .unwrap_err()
        .to_string();
    assert!(err.contains("lacks \"http\""), "{err}");
    let err =
        m("capabilities = [\"http\"]\nallowed-outbound-hosts = [\"https://a.example.com/v1\"]")
            .unwrap_err()
            .to_string();
    assert!(err.contains("path"), "{err}");
    assert!(
        m("capabilities = [\"http\"]\nallowed-outbound-hosts = [\"https://*.example.com\"]")
            .is_ok()
    );
}

/// Poll `done` until it holds (the server's worker runs on its own schedule); fails
/// after a minute.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `backoffice call` with private destinations allowed (checked when queued, in the
/// calling process).
fn call_allowing_private(cli: &Cli, input: &Value) -> Value {
    let out = cli
        .command(&[
            "call",
            "--tenant",
            "acme",
            "fetcher",
            "fetch",
            "--input",
            &input.to_string(),
        ])
        .env("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn serve_sends_after_sigkill_mid_request_and_the_cli_lists_and_retries() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let shown = cli.install_unsigned("fetcher").ok();
    assert!(shown.contains("http: send HTTP requests"), "{shown}");
    assert!(shown.contains("https://api.example.com"), "{shown}");
    cli.run(&["plugin", "enable", "fetcher", "--tenant", "acme"])
        .ok();
    // The first request is held open: it is in flight when the host dies.
    let origin = Origin::start(&[(0, b""), (200, b"after restart")]);
    let env = [("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")];
    let serve = ["--lease-ms", "1500", "--poll-ms", "100"];
    let mut server = backoffice_tests::Server::start_with_env(&cli, &serve, &env);
    let out = call_allowing_private(
        &cli,
        &json!({"url": origin.url("/once"), "timeout_ms": 60_000}),
    );
    let id = out["request"].as_i64().unwrap();
    wait_for("the first attempt", || origin.seen().len() == 1);
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let _server = backoffice_tests::Server::start_with_env(&cli, &serve, &env);
    wait_for("the answer after the restart", || {
        cli.run(&["http", "list", "--tenant", "acme", "--json"])
            .json()[0]["state"]
            == "answered"
    });
    assert_eq!(origin.seen().len(), 2, "sent again after the lease expired");
    let list = cli
        .run(&["http", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(list[0]["id"].as_i64(), Some(id));
    assert_eq!(list[0]["attempts"], 2);
    wait_for("the answer to reach the plugin", || {
        let out = cli
            .run(&[
                "call", "--tenant", "acme", "fetcher", "answers", "--input", "{}",
            ])
            .json();
        out["answers"].as_array().is_some_and(|a| a.len() == 1)
    });
    let text = cli.run(&["http", "list", "--tenant", "acme"]).ok();
    assert!(
        text.contains("answered") && text.contains("/once"),
        "{text}"
    );
    cli.run(&["http", "list", "--tenant", "acme", "--state", "lost"])
        .fails(
            2,
            &["'lost' is not a request state; use one of pending, answered, dead"],
        );
    cli.run(&["http", "retry", "--tenant", "acme", &id.to_string()])
        .fails(4, &["only a dead request can be retried"]);
    cli.run(&["http", "retry", "--tenant", "acme", "999"])
        .fails(3, &["tenant 'acme' has no HTTP request 999"]);
}

#[test]
fn a_redirect_is_an_answer_and_is_not_followed() {
    let clock = now();
    let origin = Origin::start(&[(302, b"moved")]);
    let t = host(&clock, true);
    fetch(&t, json!({"url": origin.url("/old")})).unwrap();
    t.host.run_due().unwrap();
    assert_eq!(origin.seen().len(), 1, "asked once, nothing followed");
    let r = &list(&t)[0];
    assert_eq!(
        (
            r["state"].as_str(),
            r["status"].as_u64(),
            r["attempts"].as_u64()
        ),
        (Some("answered"), Some(302), Some(1))
    );
    let got = answers(&t);
    assert_eq!(got[0]["response"]["status"], 302);
    assert_eq!(got[0]["response"]["body"], "moved");
}

#[test]
fn on_postgres_serve_sends_after_commit_and_retries_a_500() {
    let pg = backoffice_tests::PgServer::start();
    let cli = Cli::postgres(&pg.database());
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("fetcher").ok();
    cli.run(&["plugin", "enable", "fetcher", "--tenant", "acme"])
        .ok();
    let origin = Origin::start(&[(500, b"down"), (200, b"from PostgreSQL")]);
    let _server = backoffice_tests::Server::start_with_env(
        &cli,
        &["--poll-ms", "100"],
        &[
            ("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1"),
            ("BACKOFFICE_HTTP_BACKOFF_MS", "200"),
        ],
    );
    let out = cli
        .command(&[
            "call",
            "--tenant",
            "acme",
            "fetcher",
            "fetch",
            "--input",
            &json!({"url": origin.url("/rolled-back"), "fail": true}).to_string(),
        ])
        .env("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    call_allowing_private(&cli, &json!({"url": origin.url("/pg")}));
    wait_for("the answer to reach the plugin", || {
        let out = cli
            .run(&[
                "call", "--tenant", "acme", "fetcher", "answers", "--input", "{}",
            ])
            .json();
        out["answers"].as_array().is_some_and(|a| a.len() == 1)
    });
    let seen = origin.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/pg", "/pg"], "the rolled-back call sent nothing");
    let list = cli
        .run(&["http", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        (list[0]["state"].as_str(), list[0]["attempts"].as_u64()),
        (Some("answered"), Some(2))
    );
    let out = cli
        .run(&[
            "call", "--tenant", "acme", "fetcher", "answers", "--input", "{}",
        ])
        .json();
    assert_eq!(out["answers"][0]["response"]["body"], "from PostgreSQL");
}

#[test]
fn a_request_of_a_disabled_plugin_is_held_and_sent_once_it_is_enabled_again() {
    let clock = now();
    let origin = Origin::start(&[(200, b"rates")]);
    let t = host(&clock, true);
    fetch(&t, json!({"url": origin.url("/held")})).unwrap();
    t.host.disable("fetcher", "acme").unwrap();
    t.host.run_due().unwrap();
    assert!(
        origin.seen().is_empty(),
        "nothing is sent for a disabled plugin"
    );
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("pending"), Some(0)),
        "held without counting an attempt: {r}"
    );
    let held = r["held"].as_str().unwrap();
    assert!(
        held.contains("plugin 'fetcher' is disabled for tenant 'acme'")
            && held.contains("backoffice plugin enable fetcher --tenant acme"),
        "{held}"
    );
    // Still held a minute later; the CLI's list shows why.
    clock.advance(Duration::from_secs(61));
    t.host.run_due().unwrap();
    assert!(origin.seen().is_empty());
    assert!(
        list(&t)[0]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("held:")
    );

    t.host.enable("fetcher", "acme").unwrap();
    assert!(
        list(&t)[0]["held"].is_null(),
        "enabled again: no longer held"
    );
    clock.advance(Duration::from_secs(61));
    t.host.run_due().unwrap();
    assert_eq!(origin.seen().len(), 1, "sent once enabled again");
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["attempts"].as_u64()),
        (Some("answered"), Some(1))
    );
    assert!(r["last_error"].is_null(), "{r}");
    let got = answers(&t);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["response"]["body"], "rates");
}

#[test]
fn the_answer_of_a_request_in_flight_when_its_plugin_is_disabled_is_recorded_not_delivered() {
    let clock = now();
    let origin = Origin::start(&[(1200, b"late")]);
    let t = Arc::new(host(&clock, true));
    fetch(&t, json!({"url": origin.url("/slow")})).unwrap();
    let worker = {
        let t = t.clone();
        std::thread::spawn(move || t.host.run_due().unwrap())
    };
    wait_for("the request to be in flight", || origin.seen().len() == 1);
    t.host.disable("fetcher", "acme").unwrap();
    worker.join().unwrap();
    let r = &list(&t)[0];
    assert_eq!(
        (r["state"].as_str(), r["status"].as_u64()),
        (Some("answered"), Some(200)),
        "the outcome is recorded: {r}"
    );
    let why = r["last_error"].as_str().unwrap();
    assert!(
        why.contains("answer not delivered: plugin 'fetcher' was disabled"),
        "{why}"
    );
    t.host.enable("fetcher", "acme").unwrap();
    t.host.run_due().unwrap();
    assert!(answers(&t).is_empty(), "no answer was handed over");
    assert_eq!(origin.seen().len(), 1, "and nothing sent twice");
}

/// A user of `tenant` with `role` and the test password, and an API token for them.
fn token_for(cli: &Cli, tenant: &str, user: &str, role: &str) -> String {
    cli.run_with_stdin(
        &[
            "user",
            "create",
            user,
            "--tenant",
            tenant,
            "--password-stdin",
        ],
        PASSWORD,
    )
    .ok();
    cli.run(&["user", "assign-role", user, role, "--tenant", tenant])
        .ok();
    cli.run(&[
        "token", "create", "--user", user, "--tenant", tenant, "--name", "test",
    ])
    .ok()
    .trim()
    .to_string()
}

const PASSWORD: &str = "a long password for the test";

/// Sign in to the console as `user` of `tenant`: the session cookie.
fn console_session(server: &backoffice_tests::Server, tenant: &str, user: &str) -> String {
    use backoffice_tests::http_request_with;
    let page = http_request_with(&server.addr, "GET", "/console/login", &[], b"");
    let nonce = csrf_in(&page.body);
    let body = format!(
        "_csrf={nonce}&tenant={tenant}&username={user}&password={}&next=%2Fconsole%2F",
        PASSWORD.replace(' ', "+")
    );
    let r = http_request_with(
        &server.addr,
        "POST",
        "/console/login",
        &[
            ("Cookie", &format!("bo_login={nonce}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    );
    assert_eq!(r.status, 303, "{r:?}");
    r.headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("bo_session="))
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .unwrap()
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

#[test]
fn tenant_admins_list_and_retry_requests_over_http_and_in_the_console() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["tenant", "create", "globex"]).ok();
    cli.install_unsigned("fetcher").ok();
    cli.run(&["plugin", "enable", "fetcher", "--tenant", "acme"])
        .ok();
    cli.run(&[
        "role",
        "create",
        "clerk",
        "--tenant",
        "acme",
        "--permission",
        "work.read",
    ])
    .ok();
    let boss = token_for(&cli, "acme", "boss", "admin");
    let clerk = token_for(&cli, "acme", "clerk", "clerk");
    // The first answer of the flaky origin is a 500: with one attempt allowed, its
    // GET is dead at once; retried by hand, it gets the 200.
    let ok = Origin::start(&[(200, b"fine")]);
    let flaky = Origin::start(&[(500, b"down"), (200, b"back")]);
    let env = [
        ("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1"),
        ("BACKOFFICE_HTTP_MAX_ATTEMPTS", "1"),
    ];
    let server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
    call_allowing_private(&cli, &json!({"url": ok.url("/ok")}));
    let dead =
        call_allowing_private(&cli, &json!({"url": flaky.url("/rates?api_key=s3cret")}))["request"]
            .as_i64()
            .unwrap();
    let reqs = "/v1/tenants/acme/http-requests";
    let list_of = |query: &str| {
        let r = server.request("GET", &format!("{reqs}{query}"), Some(&boss), "");
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["requests"].as_array().unwrap().clone()
    };
    wait_for("both requests to end", || {
        list_of("?state=pending").is_empty() && list_of("").len() == 2
    });

    // List and filter.
    let answered = list_of("?state=answered");
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["status"], 200);
    let dead_list = list_of("?state=dead");
    assert_eq!(dead_list.len(), 1, "{dead_list:?}");
    assert_eq!(dead_list[0]["id"].as_i64(), Some(dead));
    assert_eq!(dead_list[0]["status"], 500);
    assert_eq!(dead_list[0]["attempts_log"].as_array().unwrap().len(), 1);
    assert_eq!(list_of("?limit=1").len(), 1);
    server
        .request("GET", &format!("{reqs}?state=lost"), Some(&boss), "")
        .problem(400, "invalid-input");

    // Refused: without the permission, in another tenant, without a token.
    let doc = server
        .request("GET", reqs, Some(&clerk), "")
        .problem(403, "forbidden");
    assert!(
        doc["detail"].as_str().unwrap().contains("outbound.manage"),
        "{doc}"
    );
    server
        .request("POST", &format!("{reqs}/{dead}/retry"), Some(&clerk), "")
        .problem(403, "forbidden");
    server
        .request("GET", "/v1/tenants/globex/http-requests", Some(&boss), "")
        .problem(403, "forbidden");
    assert_eq!(server.request("GET", reqs, None, "").status, 401);

    // An unknown tenant: 404 for a system administrator (who may act in any).
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "root",
            "--system-admin",
            "--password-stdin",
        ],
        PASSWORD,
    )
    .ok();
    let login = json!({"username": "root", "password": PASSWORD}).to_string();
    let root = server.request("POST", "/v1/login", None, &login).json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        "/v1/tenants/nope/http-requests",
        "/v1/tenants/nope/notifications",
    ] {
        server
            .request("GET", path, Some(&root), "")
            .problem(404, "not-found");
    }
    server
        .request(
            "POST",
            "/v1/tenants/nope/http-requests/1/retry",
            Some(&root),
            "",
        )
        .problem(404, "not-found");
    assert_eq!(
        server
            .request("GET", "/v1/tenants/globex/http-requests", Some(&root), "")
            .status,
        200
    );

    // Unknown ids: 404; not an id: 400; not dead: 409.
    server
        .request("POST", &format!("{reqs}/999999/retry"), Some(&boss), "")
        .problem(404, "not-found");
    server
        .request("POST", &format!("{reqs}/abc/retry"), Some(&boss), "")
        .problem(400, "invalid-input");
    let answered_id = answered[0]["id"].as_i64().unwrap();
    server
        .request(
            "POST",
            &format!("{reqs}/{answered_id}/retry"),
            Some(&boss),
            "",
        )
        .problem(409, "conflict");

    // Retry the dead one: 202, sent again, answered; audited with the user.
    let r = server.request("POST", &format!("{reqs}/{dead}/retry"), Some(&boss), "");
    assert_eq!(r.status, 202, "{r:?}");
    wait_for("the retried request to be answered", || {
        list_of("?state=answered").len() == 2
    });
    assert_eq!(flaky.seen().len(), 2);
    let audit = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .ok();
    assert!(
        audit.contains("http.retry") && audit.contains("boss"),
        "{audit}"
    );

    // Notifications: listed (none yet); an unknown one is 404, and the same rules.
    let r = server.request("GET", "/v1/tenants/acme/notifications", Some(&boss), "");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["notifications"], json!([]));
    server
        .request(
            "GET",
            "/v1/tenants/acme/notifications?state=gone",
            Some(&boss),
            "",
        )
        .problem(400, "invalid-input");
    server
        .request(
            "POST",
            "/v1/tenants/acme/notifications/42/retry",
            Some(&boss),
            "",
        )
        .problem(404, "not-found");
    server
        .request("GET", "/v1/tenants/acme/notifications", Some(&clerk), "")
        .problem(403, "forbidden");

    // The OpenAPI document describes the routes.
    let doc = server.request("GET", "/openapi.json", None, "").json();
    for path in [
        "/v1/tenants/{tenant}/http-requests",
        "/v1/tenants/{tenant}/http-requests/{id}/retry",
        "/v1/tenants/{tenant}/notifications",
        "/v1/tenants/{tenant}/notifications/{id}/retry",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }

    // The console: linked for the admin, lists the requests without their query,
    // and its retry button sends a dead one again.
    let cookie = console_session(&server, "acme", "boss");
    // Pages escape '/' in text and attributes as &#x2f;.
    let get = |path: &str| {
        let mut r = backoffice_tests::http_request_with(
            &server.addr,
            "GET",
            path,
            &[("Cookie", &cookie)],
            b"",
        );
        r.body = r.body.replace("&#x2f;", "/");
        r
    };
    let home = get("/console/t/acme/");
    assert!(
        home.body
            .contains("/console/t/acme/outbound\">Outbound requests"),
        "{}",
        home.body
    );
    let page = get("/console/t/acme/outbound");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("/rates?…"), "{}", page.body);
    assert!(!page.body.contains("s3cret"), "the query is not shown");
    assert!(page.body.contains("answered"), "{}", page.body);
    let clerk_cookie = console_session(&server, "acme", "clerk");
    let refused = backoffice_tests::http_request_with(
        &server.addr,
        "GET",
        "/console/t/acme/outbound",
        &[("Cookie", &clerk_cookie)],
        b"",
    );
    assert_eq!(refused.status, 403, "{refused:?}");

    // Make one dead again (a port nobody listens on), then retry it from the page.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = call_allowing_private(
        &cli,
        &json!({"url": format!("http://127.0.0.1:{port}/gone")}),
    )["request"]
        .as_i64()
        .unwrap();
    wait_for("the unreachable request to be dead", || {
        list_of("?state=dead").len() == 1
    });
    let page = get("/console/t/acme/outbound?state=dead");
    let action = format!("/console/t/acme/http-requests/{gone}/retry");
    assert!(page.body.contains(&action), "{}", page.body);
    let csrf = csrf_in(&page.body);
    let r = backoffice_tests::http_request_with(
        &server.addr,
        "POST",
        &action,
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("_csrf={csrf}").as_bytes(),
    );
    assert_eq!(r.status, 303, "{r:?}");
    let audit = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .ok();
    assert!(
        audit.contains(&format!("http-request:{gone}")),
        "the console's retry is audited: {audit}"
    );
}

/// The fetcher fixture packed with its own `plugin.toml` at `version`, listing only
/// `hosts` under `allowed-outbound-hosts`.
fn fetcher_file(cli: &Cli, version: &str, hosts: &str) -> String {
    let toml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/fetcher/plugin.toml"
    ))
    .unwrap();
    let listed = toml
        .lines()
        .find(|l| l.starts_with("allowed-outbound-hosts"))
        .unwrap();
    let toml = toml
        .replace(listed, &format!("allowed-outbound-hosts = [{hosts}]"))
        .replace("version = \"0.1.0\"", &format!("version = \"{version}\""));
    let manifest = cli.dir.path().join(format!("fetcher-{version}.toml"));
    std::fs::write(&manifest, toml).unwrap();
    let out = cli.dir.path().join(format!("fetcher-{version}.wasm"));
    let component = wasm_path("fetcher");
    cli.run(&[
        "plugin",
        "pack",
        component.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    out.display().to_string()
}

/// `backoffice call ... fetcher fetch` with private destinations allowed, as it ran.
fn try_fetch(cli: &Cli, input: &Value) -> std::process::Output {
    cli.command(&[
        "call",
        "--tenant",
        "acme",
        "fetcher",
        "fetch",
        "--input",
        &input.to_string(),
    ])
    .env("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")
    .output()
    .unwrap()
}

#[test]
fn an_upgrade_adding_an_allowed_host_asks_again_and_the_host_is_reachable_only_once_granted() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let v010 = fetcher_file(&cli, "0.1.0", r#""https://api.example.com""#);
    let shown = cli
        .run(&["plugin", "install", &v010, "--yes", "--allow-unsigned"])
        .ok();
    assert!(shown.contains("https://api.example.com"), "{shown}");
    assert!(!shown.contains("127.0.0.1"), "{shown}");
    cli.run(&["plugin", "enable", "fetcher", "--tenant", "acme"])
        .ok();
    let origin = Origin::start(&[(200, b"rates")]);
    let input = json!({"url": origin.url("/rates")});
    let not_listed = |when: &str| {
        let out = try_fetch(&cli, &input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{when}: {out:?}");
        assert!(
            stderr.contains("allowed-outbound-hosts") && stderr.contains("https://api.example.com"),
            "{when}: {stderr}"
        );
    };
    not_listed("before the upgrade");

    // 0.1.1 adds the loopback origin: the upgrade shows it and asks; without --yes
    // (no terminal to answer) nothing changes.
    let v011 = fetcher_file(
        &cli,
        "0.1.1",
        r#""https://api.example.com", "http://127.0.0.1:*""#,
    );
    let asked = cli.run(&["plugin", "upgrade", &v011, "--allow-unsigned"]);
    assert!(
        asked
            .stdout
            .contains("+ HTTP requests to http://127.0.0.1:*"),
        "{asked:?}"
    );
    asked.fails(5, &["re-run with --yes"]);
    let info = cli.run(&["plugin", "info", "fetcher", "--json"]).json();
    assert_eq!(info["version"], "0.1.0", "{info}");
    not_listed("after the refused upgrade");
    assert!(
        cli.run(&["http", "list", "--tenant", "acme", "--json"])
            .json()
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was queued"
    );

    // Granted: the same call queues, and the worker sends it.
    let out = cli
        .run(&["plugin", "upgrade", &v011, "--yes", "--allow-unsigned"])
        .ok();
    assert!(
        out.contains("+ HTTP requests to http://127.0.0.1:*"),
        "{out}"
    );
    assert!(out.contains("upgraded 'fetcher' to 0.1.1"), "{out}");
    let out = try_fetch(&cli, &input);
    assert!(out.status.success(), "{out:?}");
    let env = [("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")];
    let _server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
    wait_for("the request to be answered", || {
        cli.run(&["http", "list", "--tenant", "acme", "--json"])
            .json()[0]["state"]
            == "answered"
    });
    let seen = origin.seen();
    assert_eq!(seen.len(), 1, "only the granted request was sent");
    assert_eq!(seen[0].path, "/rates");
}
