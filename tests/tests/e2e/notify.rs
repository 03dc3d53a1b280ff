//! Notifications to people by email (issue 20, item 2): a plugin asks the host to
//! email a user or a role of its tenant; the message leaves through the host's SMTP
//! relay only after the call commits, is retried when the relay refuses it, and every
//! attempt is recorded. The relay is a small SMTP sink on loopback, written here.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backoffice_host::clock::TestClock;
use backoffice_host::notify::SmtpRelay;
use backoffice_host::runtime::Limits;
use backoffice_tests::{Cli, TestHost};
use serde_json::{Value, json};

/// A message the sink accepted: the envelope recipient and the raw data.
#[derive(Debug, Clone)]
struct Mail {
    rcpt: String,
    data: String,
}

impl Mail {
    fn header(&self, name: &str) -> String {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    }

    fn body(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }
}

/// An SMTP server on a loopback port that answers the end of each message's data with
/// the next code of `codes` (the last one repeats): 250 accepts, anything else refuses.
struct Sink {
    port: u16,
    accepted: Arc<Mutex<Vec<Mail>>>,
    answered: Arc<Mutex<Vec<u16>>>,
}

impl Sink {
    fn start(codes: &[u16]) -> Sink {
        Sink::start_on(0, codes)
    }

    /// [`Sink::start`] on loopback port `port` (0: any free one).
    fn start_on(port: u16, codes: &[u16]) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(Mutex::new(Vec::new()));
        let (a, n, codes) = (accepted.clone(), answered.clone(), codes.to_vec());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                session(stream, &codes, &a, &n);
            }
        });
        Sink {
            port,
            accepted,
            answered,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn accepted(&self) -> Vec<Mail> {
        self.accepted.lock().unwrap().clone()
    }

    fn answered(&self) -> Vec<u16> {
        self.answered.lock().unwrap().clone()
    }
}

/// One SMTP conversation (RFC 5321, the commands lettre sends; no STARTTLS offered).
fn session(
    stream: std::net::TcpStream,
    codes: &[u16],
    accepted: &Mutex<Vec<Mail>>,
    answered: &Mutex<Vec<u16>>,
) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream);
    let _ = write!(out, "220 sink ESMTP\r\n");
    let mut rcpt = String::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" => "250-sink\r\n250 8BITMIME\r\n".to_string(),
            "HELO" | "MAIL" | "RSET" | "NOOP" => "250 OK\r\n".to_string(),
            "RCPT" => {
                rcpt = line
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_string())
                    .unwrap_or_default();
                "250 OK\r\n".to_string()
            }
            "DATA" => {
                let _ = write!(out, "354 go on\r\n");
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(&l),
                    );
                }
                let mut seen = answered.lock().unwrap();
                let code = codes
                    .get(seen.len())
                    .or(codes.last())
                    .copied()
                    .unwrap_or(250);
                seen.push(code);
                if code == 250 {
                    accepted.lock().unwrap().push(Mail {
                        rcpt: rcpt.clone(),
                        data,
                    });
                    "250 queued\r\n".to_string()
                } else {
                    format!("{code} refused by the sink\r\n")
                }
            }
            "QUIT" => {
                let _ = write!(out, "221 bye\r\n");
                return;
            }
            _ => "502 not implemented\r\n".to_string(),
        };
        let _ = out.write_all(reply.as_bytes());
    }
}

/// A host whose clock stands at `now`, sending through `sink`, retrying after 10 s,
/// 40 s, ... up to 3 attempts; the notifier fixture enabled for acme, where ana (with
/// an address) and bob (without) hold the role `hr`.
fn host(clock: &Arc<TestClock>, sink: &Sink) -> TestHost {
    let (clock, url) = (clock.clone(), sink.url());
    let t = TestHost::with_config(move |c| {
        c.clock = clock;
        c.limits = Limits {
            call_deadline: Duration::from_secs(5),
            ..Limits::default()
        };
        c.notify.relay =
            Some(SmtpRelay::parse(&url, "Back office <alerts@example.com>", None).unwrap());
        c.notify.backoff = Duration::from_secs(10);
        c.notify.max_attempts = 3;
        c.notify.timeout = Duration::from_secs(5);
    })
    .with_plugin("notifier", "notifier", &["acme"]);
    people(&t);
    t
}

fn people(t: &TestHost) {
    let h = &t.host;
    h.create_role("acme", "hr", "HR", &[]).unwrap();
    for (user, email) in [("ana", Some("ana@example.com")), ("bob", None)] {
        h.create_user(Some("acme"), user, None, None).unwrap();
        h.set_user_role("acme", user, "hr", false).unwrap();
        if let Some(e) = email {
            h.set_user_email("acme", user, Some(e)).unwrap();
        }
    }
}

fn notify(t: &TestHost, input: Value) -> backoffice_host::HostResult<Value> {
    t.call("acme", "notifier", "notify", input)
}

fn list(t: &TestHost) -> Vec<Value> {
    let list = t.host.notify_list("acme", None, 50).unwrap();
    serde_json::to_value(list)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_committed_call_emails_the_user_once_after_commit() {
    let clock = Arc::new(TestClock::at_rfc3339("2026-12-03T09:00:00Z"));
    let sink = Sink::start(&[250]);
    let t = host(&clock, &sink);
    let out = notify(
        &t,
        json!({"user": "ana", "subject": "Payslips are ready", "body": "December payslips are ready.\r\n"}),
    )
    .unwrap();
    assert_eq!(out["queued"], 1);
    assert!(
        sink.accepted().is_empty(),
        "nothing leaves before the worker runs"
    );
    let report = t.host.run_due().unwrap();
    assert_eq!(report.notifications, 1, "{report:?}");
    let got = sink.accepted();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].rcpt, "ana@example.com");
    assert_eq!(got[0].header("To"), "ana@example.com");
    assert_eq!(
        got[0].header("From"),
        "\"Back office\" <alerts@example.com>"
    );
    assert_eq!(got[0].header("Subject"), "Payslips are ready");
    assert!(
        got[0].body().contains("December payslips are ready."),
        "{got:?}"
    );
    let n = &list(&t)[0];
    assert_eq!(
        (n["state"].as_str(), n["recipient"].as_str()),
        (Some("sent"), Some("ana"))
    );
    assert_eq!(
        got[0].header("Message-ID"),
        format!("<{}@example.com>", n["message_id"].as_str().unwrap())
    );
    assert_eq!(n["attempts_log"].as_array().unwrap().len(), 1);
    assert_eq!(n["attempts_log"][0]["code"], 250);
    // Sent once: later passes find nothing.
    assert_eq!(t.host.run_due().unwrap().notifications, 0);
    assert_eq!(sink.accepted().len(), 1);
}

#[test]
fn a_call_that_fails_after_asking_sends_nothing() {
    let clock = Arc::new(TestClock::at_rfc3339("2026-12-03T09:00:00Z"));
    let sink = Sink::start(&[250]);
    let t = host(&clock, &sink);
    let err = notify(
        &t,
        json!({"user": "ana", "subject": "Never", "body": "rolled back", "fail": true}),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("failing on purpose after queuing 1"),
        "{err}"
    );
    t.host.run_due().unwrap();
    assert!(sink.accepted().is_empty());
    assert!(sink.answered().is_empty(), "the relay was never asked");
    assert!(list(&t).is_empty(), "no row survives the rollback");
}

#[test]
fn a_role_reaches_its_members_with_an_address_and_bad_recipients_are_clear_errors() {
    let clock = Arc::new(TestClock::at_rfc3339("2026-12-03T09:00:00Z"));
    let sink = Sink::start(&[250]);
    let t = host(&clock, &sink);
    let out = notify(
        &t,
        json!({"role": "hr", "subject": "Hello HR", "body": "hi"}),
    )
    .unwrap();
    assert_eq!(out["queued"], 1, "bob has no address");
    t.host.run_due().unwrap();
    assert_eq!(sink.accepted().len(), 1);
    assert_eq!(sink.accepted()[0].rcpt, "ana@example.com");

    let cases = [
        (
            json!({"user": "bob", "subject": "s", "body": "b"}),
            400,
            "user 'bob' of tenant 'acme' has no email address; set one with `backoffice user set-email --tenant acme bob ADDRESS`",
        ),
        (
            json!({"user": "zoe", "subject": "s", "body": "b"}),
            404,
            "tenant 'acme' has no such user",
        ),
        (
            json!({"role": "payroll", "subject": "s", "body": "b"}),
            404,
            "tenant 'acme' has no such role",
        ),
        (
            json!({"user": "ana", "subject": "two\nlines", "body": "b"}),
            400,
            "must be one line",
        ),
        (
            json!({"user": "ana", "subject": " ", "body": "b"}),
            400,
            "subject is empty",
        ),
        (
            json!({"user": "ana", "subject": "s", "body": "x".repeat(65 << 10)}),
            400,
            "more than the 65536 allowed",
        ),
    ];
    for (input, status, fragment) in cases {
        let err = notify(&t, input.clone()).unwrap_err();
        assert_eq!(err.http_status(), status, "{input}: {err}");
        assert!(err.to_string().contains(fragment), "{input}: {err}");
    }
    // A read-only operation may not notify.
    let err = t
        .call("acme", "notifier", "peek", json!({"user": "ana"}))
        .unwrap_err();
    assert_eq!(err.http_status(), 403, "{err}");
    t.host.run_due().unwrap();
    assert_eq!(
        sink.accepted().len(),
        1,
        "none of the refused calls sent anything"
    );
}

#[test]
fn a_refused_message_is_retried_after_the_backoff_and_both_attempts_are_recorded() {
    let clock = Arc::new(TestClock::at_rfc3339("2026-12-03T09:00:00Z"));
    let sink = Sink::start(&[554, 250]);
    let t = host(&clock, &sink);
    notify(
        &t,
        json!({"user": "ana", "subject": "Retry me", "body": "b"}),
    )
    .unwrap();
    t.host.run_due().unwrap();
    assert_eq!(sink.answered(), [554]);
    let n = &list(&t)[0];
    assert_eq!(n["state"], "pending");
    assert_eq!(n["attempts_log"][0]["code"], 554);
    assert!(
        n["last_error"]
            .as_str()
            .unwrap()
            .contains("refused by the sink"),
        "{n}"
    );
    // Not before the backoff (10 s, plus up to a quarter of jitter).
    clock.advance(Duration::from_secs(5));
    t.host.run_due().unwrap();
    assert_eq!(sink.answered(), [554]);
    clock.advance(Duration::from_secs(8));
    t.host.run_due().unwrap();
    assert_eq!(sink.answered(), [554, 250]);
    let n = &list(&t)[0];
    assert_eq!(n["state"], "sent");
    let log = n["attempts_log"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{n}");
    assert_eq!(
        (log[0]["attempt"].as_u64(), log[0]["code"].as_u64()),
        (Some(1), Some(554))
    );
    assert_eq!(
        (log[1]["attempt"].as_u64(), log[1]["code"].as_u64()),
        (Some(2), Some(250))
    );
    assert!(log[1]["error"].is_null());
    // Each attempt carried the same Message-ID; the accepted one is the message.
    assert_eq!(sink.accepted()[0].header("Subject"), "Retry me");
}

#[test]
fn a_dead_message_is_retried_by_the_admin_with_the_same_message_id() {
    let clock = Arc::new(TestClock::at_rfc3339("2026-12-03T09:00:00Z"));
    let sink = Sink::start(&[451, 451, 451, 250]);
    let t = host(&clock, &sink);
    notify(&t, json!({"user": "ana", "subject": "Dead", "body": "b"})).unwrap();
    for _ in 0..3 {
        t.host.run_due().unwrap();
        clock.advance(Duration::from_secs(3600));
    }
    let n = list(&t)[0].clone();
    assert_eq!(n["state"], "dead", "{n}");
    assert_eq!(n["attempts_log"].as_array().unwrap().len(), 3);
    let id = n["id"].as_i64().unwrap();
    let err = t.host.notify_retry("acme", id + 1).unwrap_err();
    assert_eq!(err.http_status(), 404, "{err}");
    t.host.notify_retry("acme", id).unwrap();
    let err = t.host.notify_retry("acme", id).unwrap_err();
    assert!(
        err.to_string().contains("only a dead notification"),
        "{err}"
    );
    t.host.run_due().unwrap();
    let got = sink.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("Message-ID"),
        format!("<{}@example.com>", n["message_id"].as_str().unwrap())
    );
    let n = &list(&t)[0];
    assert_eq!(n["state"], "sent");
    assert_eq!(n["attempts_log"].as_array().unwrap().len(), 4);
}

#[test]
fn without_a_relay_messages_wait_pending() {
    let clock = Arc::new(TestClock::at_rfc3339("2026-12-03T09:00:00Z"));
    let t = TestHost::with_config(|c| {
        c.clock = clock.clone();
        c.notify.relay = None;
    })
    .with_plugin("notifier", "notifier", &["acme"]);
    people(&t);
    notify(&t, json!({"user": "ana", "subject": "Later", "body": "b"})).unwrap();
    assert_eq!(t.host.run_due().unwrap().notifications, 0);
    let n = &list(&t)[0];
    assert_eq!(
        (n["state"].as_str(), n["attempts"].as_u64()),
        (Some("pending"), Some(0))
    );
}

#[test]
fn the_training_reminder_emails_the_configured_role() {
    // Monday 2 March 2026, 09:00 in Berlin; Ada's fire safety certificate from last
    // year is valid until 19 March 2026: expiring.
    let clock = Arc::new(TestClock::at_rfc3339("2026-03-02T08:00:00Z"));
    let sink = Sink::start(&[250]);
    let t = host(&clock, &sink);
    t.install("training");
    t.host.enable("training", "acme").unwrap();
    let call = |op: &str, input: Value| {
        t.call("acme", "training", op, input)
            .unwrap_or_else(|e| panic!("{op}: {e}"))
    };
    call(
        "set-course",
        json!({"code": "FIRE", "title": "Fire safety", "validity-months": 12, "pass-mark": 70,
               "mandatory-departments": ["Finance"]}),
    );
    call(
        "set-employee",
        json!({"id": "E1", "name": "Ada Lovelace", "department": "Finance", "job-role": "accountant"}),
    );
    call(
        "import-completions",
        json!({"csv": "employee,course,date,score,certificate\nE1,FIRE,2025-03-20,95,F-1\n"}),
    );
    // Without the setting, reminders stay events.
    assert_eq!(
        call("send-reminders", json!({}))["sent"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    t.host.run_due().unwrap();
    assert!(sink.accepted().is_empty());

    t.host
        .set_setting("acme", "training", "notify-role", json!("hr"))
        .unwrap();
    clock.advance(Duration::from_secs(8 * 86_400));
    let sent = call("send-reminders", json!({}))["sent"].clone();
    assert_eq!(sent[0]["topic"], "training.expiring", "{sent}");
    t.host.run_due().unwrap();
    let got = sink.accepted();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].rcpt, "ana@example.com");
    assert_eq!(
        got[0].header("Subject"),
        "Training: Fire safety of Ada Lovelace expires soon"
    );
    let body = got[0].body();
    for line in [
        "Ada Lovelace (E1, Finance) - Fire safety (FIRE) expires soon.",
        "Certificate valid until: 2026-03-19",
        "Status on 2026-03-10: expiring",
    ] {
        assert!(body.contains(line), "{body:?} lacks {line:?}");
    }
    let n = &list(&t)[0];
    assert_eq!(
        (n["plugin"].as_str(), n["state"].as_str()),
        (Some("training"), Some("sent"))
    );
}

#[test]
fn the_cli_sets_and_lists_addresses_and_lists_notifications() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.run(&[
        "user",
        "create",
        "ana",
        "--tenant",
        "acme",
        "--email",
        "ana@example.com",
    ])
    .ok();
    cli.run(&[
        "user",
        "create",
        "bob",
        "--tenant",
        "acme",
        "--email",
        "not-an-address",
    ])
    .fails(2, &["'not-an-address' is not an email address"]);
    let users = cli
        .run(&["user", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "a bad address creates nothing: {users}"
    );
    assert_eq!(users[0]["email"], "ana@example.com");
    cli.run(&["user", "create", "bob", "--tenant", "acme"]).ok();
    cli.run(&[
        "user",
        "set-email",
        "bob",
        "--tenant",
        "acme",
        "bob@example.com",
    ])
    .ok();
    cli.run(&[
        "user",
        "set-email",
        "zoe",
        "--tenant",
        "acme",
        "zoe@example.com",
    ])
    .fails(3, &["tenant 'acme' has no user 'zoe'"]);
    let text = cli.run(&["user", "list", "--tenant", "acme"]).ok();
    assert!(text.contains("bob@example.com"), "{text}");
    cli.run(&["user", "set-email", "bob", "--tenant", "acme", "--clear"])
        .ok();
    let users = cli
        .run(&["user", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(users[1]["email"], Value::Null);
    let list = cli
        .run(&["notify", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(list, json!([]));
    cli.run(&["notify", "list", "--tenant", "acme", "--state", "lost"])
        .fails(
            2,
            &["'lost' is not a notification state; use one of pending, sent, dead"],
        );
    cli.run(&["notify", "retry", "--tenant", "acme", "7"])
        .fails(3, &["tenant 'acme' has no notification 7"]);
}

#[test]
fn serve_refuses_a_malformed_relay_and_names_the_fix() {
    let cli = Cli::new();
    let run = cli.run(&[
        "serve",
        "--smtp-url",
        "http://mail.example.com",
        "--smtp-from",
        "alerts@example.com",
    ]);
    run.fails(2, &["--smtp-url", "not an SMTP URL"]);
    let run = cli.run(&[
        "serve",
        "--smtp-url",
        "smtp://mail.example.com",
        "--smtp-from",
        "nobody",
    ]);
    run.fails(2, &["--smtp-from 'nobody' is not an email address"]);
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

#[test]
fn on_postgres_serve_emails_after_commit_and_retries_a_refusal() {
    let pg = backoffice_tests::PgServer::start();
    let cli = Cli::postgres(&pg.database());
    let sink = Sink::start(&[554, 250]);
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("notifier").ok();
    cli.run(&["plugin", "enable", "notifier", "--tenant", "acme"])
        .ok();
    cli.run(&["role", "create", "hr", "--tenant", "acme"]).ok();
    cli.run(&[
        "user",
        "create",
        "ana",
        "--tenant",
        "acme",
        "--email",
        "ana@example.com",
    ])
    .ok();
    cli.run(&["user", "assign-role", "ana", "hr", "--tenant", "acme"])
        .ok();
    let url = sink.url();
    let _server = backoffice_tests::Server::start_with_env(
        &cli,
        &[
            "--poll-ms",
            "100",
            "--smtp-url",
            &url,
            "--smtp-from",
            "alerts@example.com",
        ],
        &[("BACKOFFICE_NOTIFY_BACKOFF_MS", "200")],
    );
    cli.run(&[
        "call",
        "--tenant",
        "acme",
        "notifier",
        "notify",
        "--input",
        r#"{"role": "hr", "subject": "Rolled back", "body": "b", "fail": true}"#,
    ])
    .fails(4, &["failing on purpose"]);
    cli.call(
        "acme",
        "notifier",
        "notify",
        &json!({"role": "hr", "subject": "From PostgreSQL", "body": "Hello from the outbox."}),
    );
    wait_for("the message to be accepted", || !sink.accepted().is_empty());
    let got = sink.accepted();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].header("Subject"), "From PostgreSQL");
    assert_eq!(sink.answered(), [554, 250], "refused once, then accepted");
    wait_for("the attempt to be recorded", || {
        cli.run(&["notify", "list", "--tenant", "acme", "--json"])
            .json()[0]["state"]
            == "sent"
    });
    let list = cli
        .run(&["notify", "list", "--tenant", "acme", "--json"])
        .json();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the failed call queued nothing: {list}"
    );
    let log = list[0]["attempts_log"].as_array().unwrap();
    let codes: Vec<u64> = log.iter().map(|a| a["code"].as_u64().unwrap()).collect();
    assert_eq!(codes, [554, 250]);
}

#[test]
fn a_notification_dead_while_the_relay_was_down_is_retried_over_http_and_sent() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("notifier").ok();
    cli.run(&["plugin", "enable", "notifier", "--tenant", "acme"])
        .ok();
    cli.run(&[
        "user",
        "create",
        "ana",
        "--tenant",
        "acme",
        "--email",
        "ana@example.com",
    ])
    .ok();
    cli.run_with_stdin(
        &[
            "user",
            "create",
            "boss",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        "a long password for the test",
    )
    .ok();
    cli.run(&["user", "assign-role", "boss", "admin", "--tenant", "acme"])
        .ok();
    let boss = cli
        .run(&[
            "token", "create", "--user", "boss", "--tenant", "acme", "--name", "test",
        ])
        .ok()
        .trim()
        .to_string();
    // The relay's port, with nothing listening on it yet: the relay is down.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{port}");
    let server = backoffice_tests::Server::start_with_env(
        &cli,
        &[
            "--poll-ms",
            "100",
            "--smtp-url",
            &url,
            "--smtp-from",
            "alerts@example.com",
        ],
        &[
            ("BACKOFFICE_NOTIFY_MAX_ATTEMPTS", "1"),
            ("BACKOFFICE_NOTIFY_TIMEOUT_MS", "2000"),
        ],
    );
    cli.call(
        "acme",
        "notifier",
        "notify",
        &json!({"user": "ana", "subject": "Certificate expiring", "body": "Renew it."}),
    );
    let path = "/v1/tenants/acme/notifications";
    let listed = || {
        let r = server.request("GET", path, Some(&boss), "");
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["notifications"][0].clone()
    };
    wait_for("the notification to be dead", || {
        listed()["state"] == "dead"
    });
    let dead = listed();
    let id = dead["id"].as_i64().unwrap();
    assert_eq!(dead["attempts_log"].as_array().unwrap().len(), 1, "{dead}");

    // The relay comes up; the admin retries the dead one over HTTP.
    let sink = Sink::start_on(port, &[250]);
    let r = server.request("POST", &format!("{path}/{id}/retry"), Some(&boss), "");
    assert_eq!(r.status, 202, "{r:?}");
    wait_for("the retried notification to be sent", || {
        listed()["state"] == "sent"
    });
    let got = sink.accepted();
    assert_eq!(got.len(), 1, "sent once");
    assert_eq!(got[0].rcpt, "ana@example.com");
    assert_eq!(got[0].header("Subject"), "Certificate expiring");
    assert_eq!(
        got[0].header("Message-ID"),
        format!("<{}@example.com>", dead["message_id"].as_str().unwrap()),
        "the same message id as the failed attempt"
    );
    let sent = listed();
    assert_eq!(sent["attempts_log"].as_array().unwrap().len(), 2, "{sent}");
    // Sent is not dead: a second retry is refused.
    server
        .request("POST", &format!("{path}/{id}/retry"), Some(&boss), "")
        .problem(409, "conflict");
    let audit = cli
        .run(&["audit", "list", "--tenant", "acme", "--json"])
        .ok();
    assert!(
        audit.contains("notify.retry") && audit.contains("boss"),
        "{audit}"
    );
}
