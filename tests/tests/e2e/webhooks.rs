//! Webhooks for integrators (issue 20): endpoints subscribed to event topics receive
//! each event of a committed call once, signed per Standard Webhooks, retried with the
//! same `webhook-id`; a rolled-back call sends nothing; private destinations are
//! refused unless the host allows them. The receiver is a small socket server here.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backoffice_host::clock::TestClock;
use backoffice_tests::{Cli, TestHost};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A receiver on a loopback port answering each request with the next status of
/// `statuses` (the last one repeats).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

fn answer(mut stream: std::net::TcpStream, status: u16, kept: &Mutex<Vec<Received>>) {
    let request = read_request(&stream);
    kept.lock().unwrap().push(request);
    let _ = match status {
        0 => {
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        }
        1 => write!(
            stream,
            "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
            "x".repeat(64 << 10)
        ),
        2 => write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            4 << 20
        )
        .and_then(|()| stream.write_all(&vec![b'y'; 4 << 20])),
        status => write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    };
}

/// Read one request (head and `Content-Length` body).
fn read_request(stream: &std::net::TcpStream) -> Received {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut headers = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    Received { headers, body }
}

impl Receiver {
    /// Statuses below 100 are behaviours: 0 holds the connection for 30 s without
    /// answering, 1 answers with a 64 KiB head, 2 answers 200 with a 4 MiB body.
    fn start(statuses: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let kept = got.clone();
        let statuses = statuses.to_vec();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let status = statuses.get(n).or(statuses.last()).copied().unwrap_or(200);
                let kept = kept.clone();
                std::thread::spawn(move || answer(stream, status, &kept));
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// A host (probe enabled for acme) that may send to loopback over HTTP, whose clock
/// stands still, with retries 10 s, 40 s, ... and 3 attempts.
fn host(clock: &Arc<TestClock>) -> TestHost {
    let clock = clock.clone();
    TestHost::with_config(move |c| {
        c.clock = clock;
        c.webhooks.allow_private = true;
        c.webhooks.backoff = Duration::from_secs(10);
        c.webhooks.max_attempts = 3;
        c.webhooks.timeout = Duration::from_secs(5);
    })
    .with_plugin("probe", "probe", &["acme"])
}

/// Verify a Standard Webhooks signature with the crates directly: base64 key after
/// `whsec_`, HMAC-SHA256 over `id.timestamp.body`, `v1,<base64>`.
fn verify(secret: &str, r: &Received) {
    assert_eq!(r.header("webhook-signature"), expected(secret, r), "{r:?}");
}

/// The `v1,<base64>` signature of `r` with `secret`, computed here.
fn expected(secret: &str, r: &Received) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(r.header("webhook-id").as_bytes());
    mac.update(b".");
    mac.update(r.header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn an_event_of_a_committed_call_is_delivered_once_and_signed() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    let rx = Receiver::start(&[200]);
    let added = t
        .host
        .webhook_add("acme", &rx.url, &["probe.happened".to_string()])
        .unwrap();
    t.call(
        "acme",
        "probe",
        "emit",
        json!({"topic": "probe.happened", "payload": {"n": 7}}),
    )
    .unwrap();
    // A topic the endpoint did not subscribe to is not sent.
    t.call("acme", "probe", "emit", json!({"topic": "probe.other"}))
        .unwrap();
    t.host.run_due().unwrap();
    t.host.run_due().unwrap();

    let got = rx.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    verify(&added.secret, r);
    assert!(r.header("webhook-id").starts_with("msg_"), "{r:?}");
    assert_eq!(r.header("webhook-timestamp"), "1700000000");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["type"], "probe.happened");
    assert_eq!(body["data"], json!({"n": 7}));

    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].state, "delivered");
    assert_eq!(log[0].last_status, Some(200));
    assert_eq!(log[0].attempts, 1);
    assert_eq!(log[0].msg_id, r.header("webhook-id"));
}

#[test]
fn a_rolled_back_call_sends_nothing() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    let rx = Receiver::start(&[200]);
    t.host
        .webhook_add("acme", &rx.url, &["*".to_string()])
        .unwrap();
    let input = json!({"topic": "probe.happened", "count": 2, "fail": true});
    assert!(t.call("acme", "probe", "emit", input).is_err());
    t.host.run_due().unwrap();
    assert!(rx.received().is_empty());
    assert!(
        t.host
            .webhook_deliveries("acme", None, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_500_is_retried_after_the_backoff_with_the_same_webhook_id() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    let rx = Receiver::start(&[500, 200]);
    let added = t
        .host
        .webhook_add("acme", &rx.url, &["probe.happened".to_string()])
        .unwrap();
    t.call("acme", "probe", "emit", json!({"topic": "probe.happened"}))
        .unwrap();
    t.host.run_due().unwrap();
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "pending", "{log:?}");
    assert_eq!(log[0].last_status, Some(500));
    assert_eq!(log[0].last_error.as_deref(), Some("answered 500"));

    // Not before the backoff (10 s, up to a quarter more of jitter).
    clock.advance(Duration::from_secs(9));
    t.host.run_due().unwrap();
    assert_eq!(rx.received().len(), 1);
    clock.advance(Duration::from_secs(4));
    t.host.run_due().unwrap();

    let got = rx.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body, "the same message");
    verify(&added.secret, &got[1]);
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "delivered", "{log:?}");
    assert_eq!(log[0].attempts, 2);
    assert_eq!(log[0].last_status, Some(200));
}

#[test]
fn a_dead_delivery_is_replayed_with_the_same_webhook_id() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    let rx = Receiver::start(&[302, 503, 500, 204]);
    t.host
        .webhook_add("acme", &rx.url, &["probe.happened".to_string()])
        .unwrap();
    t.call("acme", "probe", "emit", json!({"topic": "probe.happened"}))
        .unwrap();
    for _ in 0..3 {
        t.host.run_due().unwrap();
        clock.advance(Duration::from_secs(3600));
    }
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "dead", "{log:?}");
    assert_eq!(log[0].attempts, 3);
    assert_eq!(rx.received().len(), 3);
    assert!(
        rx.received()[0].header("webhook-id") == log[0].msg_id,
        "a redirect is a failure, not followed"
    );

    t.host.webhook_replay("acme", log[0].id).unwrap();
    t.host.run_due().unwrap();
    let got = rx.received();
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].header("webhook-id"), log[0].msg_id);
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "delivered", "{log:?}");
    assert_eq!(log[0].last_status, Some(204));
}

/// A listener that answers every request with `302 Found` to `location`; how many
/// requests it got.
fn redirector(location: &str) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let count = Arc::new(Mutex::new(0));
    let kept = count.clone();
    let location = location.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            read_request(&stream);
            *kept.lock().unwrap() += 1;
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
            );
        }
    });
    (url, count)
}

#[test]
fn a_redirect_to_a_private_address_is_not_followed() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    // The redirect points at a loopback receiver (private); even with private
    // destinations allowed for the test, no redirect is ever followed.
    let private = Receiver::start(&[200]);
    let (url, redirected) = redirector(&private.url);
    t.host
        .webhook_add("acme", &url, &["probe.happened".to_string()])
        .unwrap();
    t.call("acme", "probe", "emit", json!({"topic": "probe.happened"}))
        .unwrap();
    t.host.run_due().unwrap();
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(*redirected.lock().unwrap(), 1);
    assert!(private.received().is_empty(), "the redirect was followed");
    assert_eq!(log[0].state, "pending", "{log:?}");
    assert_eq!(log[0].last_status, Some(302));
    let error = log[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("do not follow redirects"), "{error}");
}

#[test]
fn a_private_destination_is_refused_at_send_time_without_the_setting() {
    // Endpoints added while the host allowed private destinations, then `serve`
    // without the setting: a name (`localhost`, checked by the sender's resolver) and
    // an IP literal (checked before the request) are refused, nothing connects.
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(Mutex::new(0));
    let kept = connections.clone();
    std::thread::spawn(move || {
        for _ in listener.incoming() {
            *kept.lock().unwrap() += 1;
        }
    });
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}/hook");
        let out = cli
            .command(&[
                "webhook", "add", "--tenant", "acme", "--topic", "probe.*", "--url", &url,
            ])
            .env("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let env = [("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "0")];
    let _server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
    cli.call("acme", "probe", "emit", &json!({"topic": "probe.happened"}));
    wait_for("both attempts", || {
        let log = cli
            .run(&["webhook", "deliveries", "--tenant", "acme", "--json"])
            .json();
        log.as_array().unwrap().len() == 2
            && log
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["attempts"] == 1 && !d["last_error"].is_null())
    });
    let log = cli
        .run(&["webhook", "deliveries", "--tenant", "acme", "--json"])
        .json();
    for d in log.as_array().unwrap() {
        let error = d["last_error"].as_str().unwrap();
        assert!(error.contains("destination refused"), "{error}");
        assert!(error.contains("loopback"), "{error}");
        assert_eq!(d["state"], "pending", "{d}");
    }
    assert_eq!(
        *connections.lock().unwrap(),
        0,
        "a refused address was connected to"
    );
}

#[test]
fn the_cli_refuses_private_and_plain_http_destinations_without_the_setting() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let add = |url: &str, allow: bool| {
        let mut cmd = cli.command(&[
            "webhook", "add", "--tenant", "acme", "--topic", "probe.*", "--url", url, "--json",
        ]);
        if allow {
            cmd.env("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1");
        } else {
            cmd.env_remove("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE");
        }
        cmd.output().unwrap()
    };
    for (url, why) in [
        ("https://127.0.0.1:8443/hook", "loopback"),
        ("https://10.0.0.5/hook", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("http://example.com/hook", "plain HTTP"),
    ] {
        let out = add(url, false);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url} was accepted");
        assert!(err.contains("webhook destination refused"), "{err}");
        assert!(err.contains(why), "{url}: {err}");
        assert!(err.contains("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE"), "{err}");
    }
    let list = cli
        .run(&["webhook", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(list, json!([]));

    let out = add("http://127.0.0.1:9/hook", true);
    assert!(out.status.success(), "{out:?}");
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(added["id"].as_str().unwrap().starts_with("wh_"));
    assert!(added["secret"].as_str().unwrap().starts_with("whsec_"));
    let list = cli
        .run(&["webhook", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(list[0]["id"], added["id"]);
    assert!(list[0].get("secret").is_none(), "the secret is shown once");
    assert!(list[0].get("secret_sealed").is_none());
    let id = added["id"].as_str().unwrap();
    let rotated = cli
        .run(&[
            "webhook",
            "rotate",
            "--tenant",
            "acme",
            id,
            "--overlap",
            "1h",
            "--json",
        ])
        .json();
    assert_eq!(rotated["id"], added["id"]);
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != added["secret"]);
    assert!(rotated["previous_secret_until_ms"].is_i64(), "{rotated}");
    cli.run(&[
        "webhook",
        "rotate",
        "--tenant",
        "acme",
        id,
        "--overlap",
        "31d",
    ])
    .fails(2, &["30 days"]);
    cli.run(&["webhook", "remove", "--tenant", "acme", id]).ok();
    let list = cli
        .run(&["webhook", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(list, json!([]));
    let audit = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .ok();
    assert!(
        audit.contains("webhook.add")
            && audit.contains("webhook.rotate")
            && audit.contains("webhook.remove"),
        "{audit}"
    );
    assert!(
        !audit.contains("whsec_"),
        "the secret never reaches the audit log"
    );
}

/// One pending delivery after a failed first attempt: its error.
fn first_attempt_fails(t: &TestHost, url: &str) -> String {
    t.host
        .webhook_add("acme", url, &["probe.happened".to_string()])
        .unwrap();
    t.call("acme", "probe", "emit", json!({"topic": "probe.happened"}))
        .unwrap();
    t.host.run_due().unwrap();
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "pending", "{log:?}");
    assert_eq!(log[0].attempts, 1);
    log[0].last_error.clone().unwrap_or_default()
}

#[test]
fn an_unreachable_endpoint_is_retried() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = first_attempt_fails(&t, &format!("http://127.0.0.1:{port}/hook"));
    assert!(error.contains("cannot connect"), "{error}");
}

#[test]
fn a_slow_endpoint_times_out_and_is_retried_with_the_same_id() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = {
        let clock = clock.clone();
        TestHost::with_config(move |c| {
            c.clock = clock;
            c.webhooks.allow_private = true;
            c.webhooks.backoff = Duration::from_secs(10);
            c.webhooks.timeout = Duration::from_millis(500);
        })
        .with_plugin("probe", "probe", &["acme"])
    };
    let rx = Receiver::start(&[0, 200]);
    let error = first_attempt_fails(&t, &rx.url);
    assert!(error.contains("timed out"), "{error}");
    clock.advance(Duration::from_secs(13));
    t.host.run_due().unwrap();
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "delivered", "{log:?}");
}

#[test]
fn an_oversized_answer_head_fails_and_a_large_body_is_cut_off() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    let rx = Receiver::start(&[1, 2]);
    let error = first_attempt_fails(&t, &rx.url);
    assert!(error.contains("larger than 16 KiB"), "{error}");
    clock.advance(Duration::from_secs(13));
    t.host.run_due().unwrap();
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "delivered", "{log:?}");
    assert_eq!(log[0].last_status, Some(200));
}

#[test]
fn sigkill_with_a_delivery_in_flight_delivers_it_after_restart_with_the_same_id() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    // The first request is held open: the delivery is in flight when the host dies.
    let rx = Receiver::start(&[0, 200]);
    let env = [
        ("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1"),
        ("BACKOFFICE_WEBHOOK_TIMEOUT_MS", "60000"),
    ];
    let mut add = cli.command(&[
        "webhook", "add", "--tenant", "acme", "--topic", "probe.*", "--url", &rx.url, "--json",
    ]);
    let out = add.envs(env).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let serve = ["--lease-ms", "1500", "--poll-ms", "100"];

    let mut server = backoffice_tests::Server::start_with_env(&cli, &serve, &env);
    cli.call("acme", "probe", "emit", &json!({"topic": "probe.happened"}));
    wait_for("the first attempt", || rx.received().len() == 1);
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let _server = backoffice_tests::Server::start_with_env(&cli, &serve, &env);
    wait_for("the delivery after the restart", || {
        let log = cli
            .run(&["webhook", "deliveries", "--tenant", "acme", "--json"])
            .json();
        log[0]["state"] == "delivered"
    });
    let got = rx.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    verify(added["secret"].as_str().unwrap(), &got[1]);
}

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

/// Raw requests an HTTPS receiver got.
type Requests = Arc<Mutex<Vec<Vec<u8>>>>;

/// An HTTPS receiver for `localhost` answering 200: its URL, its certificate (DER),
/// and the raw requests it got.
fn tls_receiver() -> (String, Vec<u8>, Requests) {
    // A certificate for `localhost`, trusted by the host as an extra root.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der = cert.cert.der().to_vec();
    let key_der = cert.key_pair.serialize_der();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert_der.clone().into()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into()),
        )
        .unwrap();
    let server = Arc::new(server);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://localhost:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let got: Requests = Arc::default();
    let kept = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let conn = rustls::ServerConnection::new(server.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Head and body arrive together in practice; read until the body's end.
            while let Ok(n) = tls.read(&mut buf) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                if request.ends_with(b"}") {
                    break;
                }
            }
            if request.is_empty() {
                // The client refused the handshake: nothing was sent.
                continue;
            }
            kept.lock().unwrap().push(request);
            let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            let _ = tls.flush();
        }
    });

    (url, cert_der, got)
}

#[test]
fn https_is_verified_against_the_roots_and_delivers() {
    let (url, cert_der, got) = tls_receiver();
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let trusting = |roots: Vec<Vec<u8>>| {
        let clock = clock.clone();
        TestHost::with_config(move |c| {
            c.clock = clock;
            c.webhooks.allow_private = true;
            c.webhooks.extra_roots = roots;
        })
        .with_plugin("probe", "probe", &["acme"])
    };
    // Without the root, the certificate is refused and nothing is sent.
    let t = trusting(Vec::new());
    let error = first_attempt_fails(&t, &url);
    assert!(error.contains("certificate"), "{error}");
    assert!(got.lock().unwrap().is_empty());

    let t = trusting(vec![cert_der]);
    t.host
        .webhook_add("acme", &url, &["probe.happened".to_string()])
        .unwrap();
    t.call("acme", "probe", "emit", json!({"topic": "probe.happened"}))
        .unwrap();
    t.host.run_due().unwrap();
    let log = t.host.webhook_deliveries("acme", None, 10).unwrap();
    assert_eq!(log[0].state, "delivered", "{log:?}");
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    let text = String::from_utf8_lossy(&got[0]);
    assert!(text.starts_with("POST /hook HTTP/1.1\r\n"), "{text}");
    assert!(
        text.contains(&format!("webhook-id: {}", log[0].msg_id)),
        "{text}"
    );
}

#[test]
fn on_postgres_an_event_is_delivered_signed_by_serve() {
    let pg = backoffice_tests::PgServer::start();
    let cli = Cli::postgres(&pg.database());
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    let rx = Receiver::start(&[200]);
    let env = [("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")];
    let mut add = cli.command(&[
        "webhook", "add", "--tenant", "acme", "--topic", "probe.*", "--url", &rx.url, "--json",
    ]);
    let out = add.envs(env).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let _server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
    cli.call("acme", "probe", "emit", &json!({"topic": "probe.happened"}));
    let failing = json!({"topic": "probe.happened", "fail": true});
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "probe",
        "emit",
        "--input",
        &failing.to_string(),
    ]);
    wait_for("the delivery", || {
        let log = cli
            .run(&["webhook", "deliveries", "--tenant", "acme", "--json"])
            .json();
        log[0]["state"] == "delivered"
    });
    // Time for a second delivery to show up, were there one.
    std::thread::sleep(Duration::from_millis(500));
    let got = rx.received();
    assert_eq!(got.len(), 1, "the rolled-back call sent nothing: {got:?}");
    verify(added["secret"].as_str().unwrap(), &got[0]);
}

#[test]
fn a_hanging_endpoint_of_one_tenant_does_not_hold_another_tenants_deliveries() {
    let cli = Cli::new();
    cli.install_unsigned("probe").ok();
    for t in ["acme", "globex"] {
        cli.run(&["tenant", "create", t]).ok();
        cli.run(&["plugin", "enable", "probe", "--tenant", t]).ok();
    }
    // acme's endpoint holds every request for 30 s; globex's answers at once.
    let slow = Receiver::start(&[0]);
    let fast = Receiver::start(&[200]);
    let env = [
        ("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1"),
        ("BACKOFFICE_WEBHOOK_TIMEOUT_MS", "25000"),
    ];
    for (tenant, rx) in [("acme", &slow), ("globex", &fast)] {
        let out = cli
            .command(&[
                "webhook", "add", "--tenant", tenant, "--topic", "probe.*", "--url", &rx.url,
            ])
            .envs(env)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let _server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
    let many = json!({"topic": "probe.happened", "count": 10});
    cli.call("acme", "probe", "emit", &many);
    // acme's share grows with its backlog (10 due), but one endpoint holds at most
    // 8 sender threads (`webhooks/pool.rs`, `Limits::WEBHOOKS`).
    wait_for("acme's attempts to start", || slow.received().len() >= 8);
    let started = std::time::Instant::now();
    cli.call(
        "globex",
        "probe",
        "emit",
        &json!({"topic": "probe.happened"}),
    );
    wait_for("globex's delivery", || fast.received().len() == 1);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "globex waited {:?} behind acme's hanging endpoint",
        started.elapsed()
    );
    // acme's hanging endpoint holds at most its share of the sender threads.
    assert_eq!(slow.received().len(), 8, "per-endpoint share");
}

#[test]
fn serve_trusts_the_ca_file_for_https_endpoints() {
    let (url, cert_der, got) = tls_receiver();
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&cert_der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let ca = cli.dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let ca = ca.display().to_string();
    let env = [
        ("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1"),
        ("BACKOFFICE_WEBHOOK_CA_FILE", ca.as_str()),
    ];
    let out = cli
        .command(&[
            "webhook", "add", "--tenant", "acme", "--topic", "probe.*", "--url", &url,
        ])
        .envs(env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let _server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
    cli.call("acme", "probe", "emit", &json!({"topic": "probe.happened"}));
    wait_for("the HTTPS delivery", || got.lock().unwrap().len() == 1);
    wait_for("the delivery log", || {
        let log = cli
            .run(&["webhook", "deliveries", "--tenant", "acme", "--json"])
            .json();
        log[0]["state"] == "delivered"
    });
}

/// A user of `tenant` with `role`, and an API token for them.
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
        "a long password for the test",
    )
    .ok();
    cli.run(&["user", "assign-role", user, role, "--tenant", tenant])
        .ok();
    let out = cli
        .run(&[
            "token", "create", "--user", user, "--tenant", tenant, "--name", "test",
        ])
        .ok();
    out.trim().to_string()
}

#[test]
fn tenant_admins_manage_webhooks_over_http() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&["tenant", "create", "globex"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
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
    let rx = Receiver::start(&[200]);
    let env = [("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")];
    let server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
    let hooks = "/v1/tenants/acme/webhooks";

    // Without the permission, for another tenant, without a token: refused.
    let r = server.request("GET", hooks, Some(&clerk), "");
    let doc = r.problem(403, "forbidden");
    assert!(
        doc["detail"].as_str().unwrap().contains("webhooks.manage"),
        "{doc}"
    );
    let body = json!({"url": rx.url, "topics": ["probe.*"]}).to_string();
    server
        .request("POST", "/v1/tenants/globex/webhooks", Some(&boss), &body)
        .problem(403, "forbidden");
    assert_eq!(server.request("GET", hooks, None, "").status, 401);

    // Bad input: 400 saying what is wrong; unknown ids: 404.
    for (bad, says) in [
        (
            json!({"url": "ftp://example.com/x", "topics": ["a"]}),
            "scheme",
        ),
        (json!({"url": rx.url, "topics": []}), "at least one topic"),
        (
            json!({"url": rx.url, "topics": ["a b"]}),
            "not a topic pattern",
        ),
        (json!({"topics": ["a"]}), "url"),
    ] {
        let r = server.request("POST", hooks, Some(&boss), &bad.to_string());
        let doc = r.problem(400, "invalid-input");
        assert!(doc["detail"].as_str().unwrap().contains(says), "{doc}");
    }
    server
        .request("DELETE", &format!("{hooks}/wh_nope"), Some(&boss), "")
        .problem(404, "not-found");
    server
        .request(
            "POST",
            &format!("{hooks}/deliveries/999999/replay"),
            Some(&boss),
            "",
        )
        .problem(404, "not-found");
    server
        .request(
            "POST",
            &format!("{hooks}/deliveries/abc/replay"),
            Some(&boss),
            "",
        )
        .problem(400, "invalid-input");
    server
        .request(
            "GET",
            &format!("{hooks}/deliveries?status=lost"),
            Some(&boss),
            "",
        )
        .problem(400, "invalid-input");

    // Add: 201 with the secret, once; the list never shows it.
    let r = server.request("POST", hooks, Some(&boss), &body);
    assert_eq!(r.status, 201, "{r:?}");
    let added = r.json();
    let id = added["id"].as_str().unwrap().to_string();
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(
        id.starts_with("wh_") && secret.starts_with("whsec_"),
        "{added}"
    );
    let list = server.request("GET", hooks, Some(&boss), "").json();
    assert_eq!(list["webhooks"][0]["id"], json!(id));
    assert!(!list.to_string().contains("whsec_"), "{list}");

    // An event is delivered, signed with that secret; the log filters by endpoint
    // and state.
    cli.call("acme", "probe", "emit", &json!({"topic": "probe.happened"}));
    let log_of = |query: &str| {
        server
            .request(
                "GET",
                &format!("{hooks}/deliveries{query}"),
                Some(&boss),
                "",
            )
            .json()["deliveries"]
            .as_array()
            .unwrap()
            .clone()
    };
    wait_for("the delivery", || log_of("?status=delivered").len() == 1);
    verify(&secret, &rx.received()[0]);
    let delivered = log_of(&format!("?endpoint={id}&status=delivered"));
    assert_eq!(delivered[0]["last_status"], 200);
    assert!(log_of("?status=pending").is_empty());
    assert!(log_of("?endpoint=wh_other").is_empty());

    // Replay: 202, sent again with the same webhook-id.
    let delivery = delivered[0]["id"].as_i64().unwrap();
    let r = server.request(
        "POST",
        &format!("{hooks}/deliveries/{delivery}/replay"),
        Some(&boss),
        "",
    );
    assert_eq!(r.status, 202, "{r:?}");
    wait_for("the replay", || rx.received().len() == 2);
    let got = rx.received();
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));

    // Rotate: 200 with the new secret (once); the next delivery carries both.
    let r = server.request(
        "POST",
        &format!("{hooks}/{id}/rotate"),
        Some(&boss),
        r#"{"overlap_secs": 3600}"#,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let new_secret = r.json()["secret"].as_str().unwrap().to_string();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    server
        .request("POST", &format!("{hooks}/wh_nope/rotate"), Some(&boss), "")
        .problem(404, "not-found");
    server
        .request("POST", &format!("{hooks}/{id}/rotate"), Some(&clerk), "")
        .problem(403, "forbidden");
    cli.call("acme", "probe", "emit", &json!({"topic": "probe.happened"}));
    wait_for("the delivery after the rotation", || {
        rx.received().len() == 3
    });
    let r = &rx.received()[2];
    assert_eq!(
        r.header("webhook-signature"),
        format!("{} {}", expected(&new_secret, r), expected(&secret, r))
    );

    // Remove: 204, gone from the list; the audit chain names the user, never the secret.
    let r = server.request("DELETE", &format!("{hooks}/{id}"), Some(&boss), "");
    assert_eq!(r.status, 204, "{r:?}");
    let list = server.request("GET", hooks, Some(&boss), "").json();
    assert_eq!(list["webhooks"], json!([]));
    let audit = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .ok();
    for action in [
        "webhook.add",
        "webhook.replay",
        "webhook.rotate",
        "webhook.remove",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    assert!(
        audit.contains("boss"),
        "the actor is the signed-in user: {audit}"
    );
    assert!(!audit.contains(&secret) && !audit.contains(&new_secret));

    // The OpenAPI document lists the routes.
    let doc = server.request("GET", "/openapi.json", None, "").json();
    for path in [
        "/v1/tenants/{tenant}/webhooks",
        "/v1/tenants/{tenant}/webhooks/{id}",
        "/v1/tenants/{tenant}/webhooks/{id}/rotate",
        "/v1/tenants/{tenant}/webhooks/deliveries",
        "/v1/tenants/{tenant}/webhooks/deliveries/{id}/replay",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
}

#[test]
fn a_rotated_secret_signs_beside_the_old_one_during_the_overlap_only() {
    let clock = Arc::new(TestClock::at_rfc3339("2023-11-14T22:13:20Z"));
    let t = host(&clock);
    let rx = Receiver::start(&[200]);
    let added = t
        .host
        .webhook_add("acme", &rx.url, &["probe.happened".to_string()])
        .unwrap();
    let id = &added.endpoint.id;
    let rotated = t
        .host
        .webhook_rotate("acme", id, Duration::from_secs(24 * 3600))
        .unwrap();
    assert_ne!(rotated.secret, added.secret);
    let start_ms = 1_700_000_000_000;
    assert_eq!(
        rotated.previous_secret_until_ms,
        Some(start_ms + 86_400_000)
    );

    // During the overlap: `v1,<new> v1,<old>`, each verifiable on its own.
    let emit = || {
        t.call("acme", "probe", "emit", json!({"topic": "probe.happened"}))
            .unwrap();
        t.host.run_due().unwrap();
    };
    emit();
    let got = rx.received();
    assert_eq!(got.len(), 1);
    let both = format!(
        "{} {}",
        expected(&rotated.secret, &got[0]),
        expected(&added.secret, &got[0])
    );
    assert_eq!(got[0].header("webhook-signature"), both);

    // One second before the end: still both; at the end: only the new one.
    clock.advance(Duration::from_secs(24 * 3600 - 1));
    emit();
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 2);
    clock.advance(Duration::from_secs(1));
    emit();
    let got = rx.received();
    assert_eq!(got.len(), 3);
    verify(&rotated.secret, &got[2]);

    // A rotation without overlap drops the old secret at once; each rotation gets
    // its own pad, so secrets of every generation unseal correctly.
    let again = t.host.webhook_rotate("acme", id, Duration::ZERO).unwrap();
    assert_eq!(again.previous_secret_until_ms, None);
    emit();
    let got = rx.received();
    assert_eq!(got.len(), 4);
    verify(&again.secret, &got[3]);

    let err = t
        .host
        .webhook_rotate("acme", "wh_nope", Duration::ZERO)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no webhook 'wh_nope'"), "{err}");
    let err = t
        .host
        .webhook_rotate("acme", id, Duration::from_secs(31 * 86_400))
        .unwrap_err()
        .to_string();
    assert!(err.contains("30 days"), "{err}");
}

#[test]
fn webhooks_are_in_the_export_and_come_back_with_a_restored_backup() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    let rx = Receiver::start(&[200]);
    let env = [("BACKOFFICE_WEBHOOK_ALLOW_PRIVATE", "1")];
    let out = cli
        .command(&[
            "webhook", "add", "--tenant", "acme", "--topic", "probe.*", "--url", &rx.url, "--json",
        ])
        .envs(env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = added["secret"].as_str().unwrap();
    let id = added["id"].as_str().unwrap();
    let delivered = |n: usize| {
        let server = backoffice_tests::Server::start_with_env(&cli, &["--poll-ms", "100"], &env);
        cli.call("acme", "probe", "emit", &json!({"topic": "probe.happened"}));
        wait_for("the delivery", || rx.received().len() == n);
        // The server records the answer after the receiver has it: wait for the
        // record before stopping it, or the delivery stays pending (and is sent
        // again by the next server).
        wait_for("the delivery recorded", || {
            let args = [
                "webhook",
                "deliveries",
                "--tenant",
                "acme",
                "--state",
                "delivered",
                "--json",
            ];
            cli.run(&args).json().as_array().map_or(0, Vec::len) == n
        });
        drop(server);
        verify(secret, &rx.received()[n - 1]);
    };
    delivered(1);

    // Export: the endpoint without its secret, and the delivery log.
    let dir = cli.dir.path().join("acme-export");
    let report = cli
        .run(&[
            "tenant",
            "export",
            "--tenant",
            "acme",
            "--out",
            dir.to_str().unwrap(),
            "--json",
        ])
        .json();
    assert!(report.to_string().contains("webhooks.jsonl"), "{report}");
    let lines = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let hooks = lines("webhooks.jsonl");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["id"], added["id"]);
    assert_eq!(hooks[0]["url"], json!(rx.url));
    assert_eq!(hooks[0]["topics"], json!(["probe.*"]));
    let text = std::fs::read_to_string(dir.join("webhooks.jsonl")).unwrap();
    assert!(
        !text.contains("secret_sealed") && !text.contains(secret),
        "{text}"
    );
    let log = lines("webhook_deliveries.jsonl");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(
        log[0]["msg_id"],
        json!(rx.received()[0].header("webhook-id"))
    );

    // Backup counts the webhook rows; after a removal, the restore brings the
    // endpoint back and its sealed secret still signs.
    let file = cli.dir.path().join("acme.backup");
    let backup = cli
        .run(&[
            "tenant",
            "backup",
            "--tenant",
            "acme",
            "--out",
            file.to_str().unwrap(),
            "--json",
        ])
        .json();
    assert_eq!(backup["rows"]["webhook_endpoints"], 1, "{backup}");
    assert_eq!(backup["rows"]["webhook_deliveries"], 1, "{backup}");
    cli.run(&["webhook", "remove", "--tenant", "acme", id]).ok();
    cli.run(&[
        "tenant",
        "restore",
        "--tenant",
        "acme",
        "--from",
        file.to_str().unwrap(),
        "--json",
    ])
    .ok();
    let list = cli
        .run(&["webhook", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(list[0]["id"], added["id"], "{list}");
    delivered(2);
}
