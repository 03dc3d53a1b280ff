//! The HTTP server's protections against slow and greedy clients (issue 16, finding
//! 8): header and body read timeouts, and the per-token rate limit answering 429.
//! Timeouts are short here; the only time bounds asserted are generous hang
//! detectors.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use backoffice_tests::{Cli, Server};

/// How long anything here may take before the test counts it as hung.
const HANG: Duration = Duration::from_secs(20);

/// A tenant with two users, each with an API token.
fn setup() -> (Cli, String, String) {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    let tokens: Vec<String> = ["alice", "bob"]
        .iter()
        .map(|user| {
            cli.run(&["user", "create", user, "--tenant", "acme"]).ok();
            let out = cli
                .run(&[
                    "token", "create", "--user", user, "--tenant", "acme", "--name", "test",
                ])
                .ok();
            let token = out.trim().to_string();
            assert!(token.starts_with("bo_"), "{out}");
            token
        })
        .collect();
    (cli, tokens[0].clone(), tokens[1].clone())
}

/// Read what the server sends until it closes the connection; panics if it keeps
/// the connection open past [`HANG`].
fn read_until_closed(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(HANG)).unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "the server kept the connection open for {:?}; got {:?}",
                    started.elapsed(),
                    String::from_utf8_lossy(&raw)
                )
            }
            // Reset by the server: closed too.
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&raw).into_owned()
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (cli, _, _) = setup();
    let server = Server::start(&cli, &["--header-timeout-ms", "500"]);

    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        .unwrap();
    // Another connection is served meanwhile.
    assert_eq!(server.request("GET", "/healthz", None, "").status, 200);
    let answer = read_until_closed(&mut slow);
    assert!(
        !answer.contains("200 OK"),
        "the incomplete request was answered: {answer:?}"
    );
    // And the server still serves after dropping it.
    assert_eq!(server.request("GET", "/healthz", None, "").status, 200);
}

#[test]
fn a_body_that_never_completes_is_cut_off() {
    let (cli, _, _) = setup();
    let server = Server::start(&cli, &["--body-timeout-ms", "500"]);

    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.write_all(
        b"POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
    )
    .unwrap();
    assert_eq!(server.request("GET", "/healthz", None, "").status, 200);
    let answer = read_until_closed(&mut slow);
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    assert!(head.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        answer.contains("application/problem+json") && answer.contains("request-timeout"),
        "{answer:?}"
    );
    assert_eq!(server.request("GET", "/healthz", None, "").status, 200);
}

#[test]
fn a_token_over_its_rate_gets_429_and_others_do_not() {
    let (cli, alice, bob) = setup();
    let server = Server::start(&cli, &["--rate-limit", "2", "--rate-burst", "3"]);

    for _ in 0..3 {
        assert_eq!(
            server.request("GET", "/v1/me", Some(&alice), "").status,
            200
        );
    }
    let refused = server.request("GET", "/v1/me", Some(&alice), "");
    let doc = refused.problem(429, "rate-limited");
    assert!(doc["detail"].as_str().unwrap().contains("retry"), "{doc}");
    let retry_after: u64 = refused
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {refused:?}"))
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{refused:?}");

    // Another token is not affected.
    assert_eq!(server.request("GET", "/v1/me", Some(&bob), "").status, 200);

    // After the wait the server names, the token works again.
    std::thread::sleep(Duration::from_secs(retry_after));
    assert_eq!(
        server.request("GET", "/v1/me", Some(&alice), "").status,
        200
    );

    // Requests without a token are limited per client address.
    let statuses: Vec<u16> = (0..6)
        .map(|_| server.request("GET", "/healthz", None, "").status)
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 200, "{statuses:?}");
}

#[test]
fn inventing_tokens_does_not_escape_the_rate_limit() {
    let (cli, alice, _) = setup();
    let server = Server::start(&cli, &["--rate-limit", "1", "--rate-burst", "3"]);

    let statuses: Vec<u16> = (0..6)
        .map(|i| {
            let token = format!("bo_invented{i}");
            server.request("GET", "/v1/me", Some(&token), "").status
        })
        .collect();
    assert_eq!(&statuses[..3], &[401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    // A valid token from the same address waits too until the failures age out.
    let refused = server.request("GET", "/v1/me", Some(&alice), "");
    refused.problem(429, "rate-limited");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    std::thread::sleep(Duration::from_secs(retry_after));
    assert_eq!(
        server.request("GET", "/v1/me", Some(&alice), "").status,
        200
    );
}
