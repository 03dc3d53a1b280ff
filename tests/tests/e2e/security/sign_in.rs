//! Finding 4: sign-in throttling locked people out. Five wrong passwords, sent by
//! anybody, locked any account (a system administrator's too) for 15 minutes; behind
//! a proxy every client shared one bucket; the check and the count were two steps,
//! so guesses sent at once all got checked; and Argon2 ran on the API's workers.
//!
//! Now failures make the next attempt wait (1 s, 2 s, 4 s ... at most 60 s) after a
//! few free ones, the right password gets in once the wait is over, the check and
//! the count are one step, a declared proxy's `X-Forwarded-For` names the client,
//! and Argon2 has a bounded pool of its own.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use backoffice_host::HostError;
use backoffice_host::clock::TestClock;
use backoffice_host::identity::throttle::{ACCOUNT_FREE, CLIENT_FREE};
use backoffice_tests::{Cli, PgServer, Response, Server, TestHost, http_request_with};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
const WRONG: &str = "wrong password!";

/// A tenant `acme` with user `alice`, and a system administrator `root`, both with
/// [`PASSWORD`].
fn setup() -> Cli {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let alice = [
        "user",
        "create",
        "alice",
        "--tenant",
        "acme",
        "--password-stdin",
    ];
    cli.run_with_stdin(&alice, PASSWORD).ok();
    let root = [
        "user",
        "create",
        "root",
        "--system-admin",
        "--password-stdin",
    ];
    cli.run_with_stdin(&root, PASSWORD).ok();
    cli
}

/// `POST /v1/login` from `forwarded_for` (an `X-Forwarded-For` header), if any.
fn login(server: &Server, body: &serde_json::Value, forwarded_for: Option<&str>) -> Response {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(xff) = forwarded_for {
        headers.push(("X-Forwarded-For", xff));
    }
    http_request_with(
        &server.addr,
        "POST",
        "/v1/login",
        &headers,
        body.to_string().as_bytes(),
    )
}

fn root(password: &str) -> serde_json::Value {
    json!({ "username": "root", "password": password })
}

fn alice(password: &str) -> serde_json::Value {
    json!({ "tenant": "acme", "username": "alice", "password": password })
}

fn retry_after(r: &Response) -> u64 {
    r.problem(429, "rate-limited");
    r.header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {r:?}"))
        .parse()
        .unwrap()
}

#[test]
fn wrong_passwords_slow_an_administrator_down_but_never_lock_them_out() {
    let cli = setup();
    let server = Server::start(&cli, &[]);
    for n in 1..=ACCOUNT_FREE + 1 {
        let r = login(&server, &root(WRONG), None);
        assert_eq!(r.status, 401, "failure {n} is checked: {r:?}");
    }
    // The first wait: one second, for the right password too.
    assert_eq!(retry_after(&login(&server, &root(PASSWORD), None)), 1);
    std::thread::sleep(Duration::from_secs(1));
    // The next failure doubles it.
    login(&server, &root(WRONG), None).problem(401, "unauthenticated");
    let wait = retry_after(&login(&server, &root(PASSWORD), None));
    assert_eq!(wait, 2);
    std::thread::sleep(Duration::from_secs(wait));
    // Once it is over, the right password gets in, and the count starts again.
    let r = login(&server, &root(PASSWORD), None);
    assert_eq!(r.status, 200, "{r:?}");
    for _ in 0..ACCOUNT_FREE {
        login(&server, &root(WRONG), None).problem(401, "unauthenticated");
    }
    let r = login(&server, &root(PASSWORD), None);
    assert_eq!(r.status, 200, "the count was cleared by the success: {r:?}");
}

#[test]
fn guesses_sent_at_once_reach_the_password_check_no_more_often_than_allowed() {
    let cli = setup();
    let server = Server::start(&cli, &["--rate-limit", "0"]);
    let guesses = 24;
    let start = Barrier::new(guesses);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..guesses)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    login(&server, &alice(WRONG), None).status
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        (1..=ACCOUNT_FREE as usize + 1).contains(&checked),
        "{checked} of {guesses} guesses were checked: {statuses:?}"
    );
    // The rest were refused before any check: waiting (429) or the password pool full
    // (503).
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
}

/// The same in-process with the clock standing still: exactly the free failures and
/// one more are checked, however many guesses come at once.
#[test]
fn the_check_and_the_count_are_one_step() {
    check_and_count_in_one_step(None);
}

/// The same on PostgreSQL, where the throttle's writers take turns on an advisory
/// lock.
#[test]
fn the_check_and_the_count_are_one_step_on_postgres() {
    let pg = PgServer::start();
    check_and_count_in_one_step(Some(pg.database()));
}

fn check_and_count_in_one_step(database: Option<String>) {
    let clock = Arc::new(TestClock::at_rfc3339("2026-03-02T09:00:00Z"));
    let t = TestHost::with_config(|c| {
        c.clock = clock.clone();
        c.database = database;
    });
    t.host.create_tenant("acme", None, None).unwrap();
    t.host
        .create_user(Some("acme"), "alice", None, Some(PASSWORD))
        .unwrap();
    let guesses = 16;
    let start = Barrier::new(guesses);
    let outcomes: Vec<Result<(), HostError>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..guesses)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    t.host
                        .login(Some("acme"), "alice", WRONG, "192.0.2.1")
                        .map(|_| ())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let checked = outcomes
        .iter()
        .filter(|o| matches!(o, Err(HostError::Unauthenticated(_))))
        .count();
    assert_eq!(checked, ACCOUNT_FREE as usize + 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Err(HostError::Unauthenticated(_)
                | HostError::RateLimited { .. }
                | HostError::Busy { .. })
        )),
        "{outcomes:?}"
    );
    let refused = t.host.login(Some("acme"), "alice", PASSWORD, "192.0.2.1");
    assert!(
        matches!(
            refused,
            Err(HostError::RateLimited {
                retry_after_secs: 1,
                ..
            })
        ),
        "{refused:?}"
    );
    clock.advance(Duration::from_secs(1));
    t.host
        .login(Some("acme"), "alice", PASSWORD, "192.0.2.1")
        .unwrap();
}

/// Failed sign-ins from one client address with a new user name each time: only the
/// address's count grows, until it makes the next attempt wait.
fn exhaust_client(server: &Server, forwarded_for: Option<&str>) {
    for n in 0..=CLIENT_FREE {
        let body = json!({ "tenant": "acme", "username": format!("ghost-{n}"), "password": WRONG });
        login(server, &body, forwarded_for).problem(401, "unauthenticated");
    }
}

fn ghost(n: u32) -> serde_json::Value {
    json!({ "tenant": "acme", "username": format!("other-ghost-{n}"), "password": WRONG })
}

#[test]
fn behind_a_declared_proxy_each_client_has_its_own_buckets() {
    let cli = setup();
    let server = Server::start(&cli, &["--trusted-proxy", "127.0.0.1"]);
    exhaust_client(&server, Some("203.0.113.1"));
    retry_after(&login(&server, &ghost(1), Some("203.0.113.1")));
    // A client cannot escape by writing another address first: the proxy appended
    // the one it saw, the right-most.
    retry_after(&login(
        &server,
        &ghost(2),
        Some("198.51.100.77, 203.0.113.1"),
    ));
    // Another client behind the same proxy is checked.
    login(&server, &ghost(3), Some("203.0.113.2")).problem(401, "unauthenticated");
    drop(server);

    // The rate limit of requests without a token, likewise.
    let server = Server::start(
        &cli,
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--rate-limit",
            "1",
            "--rate-burst",
            "2",
        ],
    );
    let healthz = |xff: &str| {
        let headers = [("X-Forwarded-For", xff)];
        http_request_with(&server.addr, "GET", "/healthz", &headers, b"").status
    };
    assert_eq!([healthz("203.0.113.1"), healthz("203.0.113.1")], [200, 200]);
    assert_eq!(healthz("203.0.113.1"), 429);
    assert_eq!(healthz("203.0.113.2"), 200);
}

#[test]
fn without_a_declared_proxy_a_forged_forwarded_for_buys_no_new_bucket() {
    let cli = setup();
    let server = Server::start(&cli, &[]);
    exhaust_client(&server, Some("203.0.113.1"));
    retry_after(&login(&server, &ghost(1), Some("203.0.113.2")));
    retry_after(&login(&server, &ghost(2), None));
    drop(server);

    let server = Server::start(&cli, &["--rate-limit", "1", "--rate-burst", "2"]);
    let healthz = |xff: &str| {
        let headers = [("X-Forwarded-For", xff)];
        http_request_with(&server.addr, "GET", "/healthz", &headers, b"").status
    };
    assert_eq!([healthz("203.0.113.1"), healthz("203.0.113.2")], [200, 200]);
    assert_eq!(healthz("203.0.113.3"), 429);
}

/// Argon2 has a pool of its own: a flood of sign-ins (each a full password check)
/// is answered 503 past the pool's queue at once, and a request with a token does
/// not wait behind it. Before, sign-ins took the API's worker permits (four per
/// core), so the token request queued behind every sign-in sent before it.
#[test]
fn a_sign_in_flood_does_not_hold_up_requests_with_a_token() {
    let cli = setup();
    let token = cli
        .run(&[
            "token", "create", "--user", "alice", "--tenant", "acme", "--name", "sync",
        ])
        .ok()
        .trim()
        .to_string();
    // Each sign-in comes from an address of its own (through a declared proxy), so
    // that no throttle delay spares the host a password check.
    let server = Server::start(&cli, &["--trusted-proxy", "127.0.0.1", "--rate-limit", "0"]);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let flood = (8 * cores).max(32);
    let stop = AtomicBool::new(false);
    let (checked, busy, pending) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    std::thread::scope(|s| {
        for t in 0..flood {
            let (server, stop, checked, busy, pending) =
                (&server, &stop, &checked, &busy, &pending);
            s.spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let client = format!("10.{}.{}.{}", t % 250, n / 250 % 250, n % 250);
                    let body = json!({ "tenant": "acme", "username": format!("flood-{t}-{n}"),
                                       "password": WRONG });
                    pending.fetch_add(1, Ordering::SeqCst);
                    let r = login(server, &body, Some(&client));
                    pending.fetch_sub(1, Ordering::SeqCst);
                    match r.status {
                        401 => checked.fetch_add(1, Ordering::SeqCst),
                        503 => {
                            r.problem(503, "unavailable");
                            assert!(r.header("retry-after").is_some(), "{r:?}");
                            // Gentle on the test machine's ports, not on the host.
                            std::thread::sleep(Duration::from_millis(5));
                            busy.fetch_add(1, Ordering::SeqCst)
                        }
                        _ => panic!("{r:?}"),
                    };
                }
            });
        }
        // Wait until the flood is being served.
        while checked.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
        let before = checked.load(Ordering::SeqCst);
        let me = http_request_with(
            &server.addr,
            "GET",
            "/v1/me",
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        );
        let during = checked.load(Ordering::SeqCst) - before;
        let still_pending = pending.load(Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        assert_eq!(me.status, 200, "{me:?}");
        assert!(
            still_pending > 0,
            "the flood was over before the token request"
        );
        // Fewer than half the flood's sign-ins were checked meanwhile: the token
        // request did not queue behind them (it used to wait for all but a few).
        assert!(
            during < flood / 2,
            "{during} sign-ins were checked while the token request waited (flood of {flood})"
        );
    });
    // Past the pool's queue, sign-ins were refused at once.
    assert!(busy.into_inner() > 0, "no sign-in was answered 503");
}
