//! `GET /metrics` for operators: who may scrape, what the counters say after real
//! calls, and the separate metrics address.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use backoffice_tests::{Cli, Server, http_request};
use serde_json::json;

const CALL_ROUTE: &str = "/v1/tenants/{tenant}/plugins/{plugin}/{operation}";

/// The value of the sample `name{labels}` in an OpenMetrics text, if present.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let head = match labels {
        "" => format!("{name} "),
        _ => format!("{name}{{{labels}}} "),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&head))
        .map(|v| v.trim().parse().unwrap())
}

fn token(cli: &Cli, args: &[&str]) -> String {
    let mut all = vec!["token", "create", "--name", "metrics-test"];
    all.extend_from_slice(args);
    let out = cli.run(&all).ok();
    out.trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn metrics_count_calls_by_operation_and_status_for_those_allowed_to_scrape() {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    cli.install_unsigned("probe").ok();
    cli.run(&["plugin", "enable", "probe", "--tenant", "acme"])
        .ok();
    for (user, extra) in [
        ("bob", &["--tenant", "acme"][..]),
        ("root", &["--system-admin"][..]),
    ] {
        let mut args = vec!["user", "create", user, "--password-stdin"];
        args.extend_from_slice(extra);
        cli.run_with_stdin(&args, "correct horse battery staple")
            .ok();
    }
    cli.run(&["user", "assign-role", "bob", "admin", "--tenant", "acme"])
        .ok();
    let bob = token(&cli, &["--user", "bob", "--tenant", "acme"]);
    let root = token(&cli, &["--user", "root", "--system-admin"]);

    // A token shorter than 16 characters is refused at start, saying why.
    let file = cli.dir.path().join("metrics.token");
    std::fs::write(&file, "short\n").unwrap();
    let refused = cli
        .run(&["serve", "--listen", "127.0.0.1:0", "--metrics-token-file"])
        .code;
    assert_ne!(refused, 0, "--metrics-token-file needs a value");
    let short = cli.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--metrics-token-file",
        &file.display().to_string(),
    ]);
    assert_eq!(short.code, 2, "{short:?}");
    assert!(short.stderr.contains("at least 16"), "{short:?}");

    let scraper = "s3cret-scraper-token-0123456789";
    std::fs::write(&file, format!("{scraper}\n")).unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = Server::start(
        &cli,
        &[
            "--metrics-token-file",
            &file.display().to_string(),
            "--metrics-listen",
            &metrics_addr,
        ],
    );

    // Three writes, one malformed body, one unknown plugin.
    for i in 0..3 {
        let r = server.request(
            "POST",
            "/v1/tenants/acme/plugins/probe/put",
            Some(&bob),
            &json!({ "key": format!("k{i}"), "value": i }).to_string(),
        );
        assert_eq!(r.status, 200, "{r:?}");
    }
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/probe/put",
        Some(&bob),
        "{not json",
    );
    assert_eq!(r.status, 400, "{r:?}");
    let r = server.request(
        "POST",
        "/v1/tenants/acme/plugins/no-such-plugin-x7/put",
        Some(&bob),
        "{}",
    );
    assert_eq!(r.status, 404, "{r:?}");

    // Who may scrape: not anonymous, not a tenant's admin; the scraper and a system
    // administrator may.
    server
        .request("GET", "/metrics", None, "")
        .problem(401, "unauthenticated");
    server
        .request("GET", "/metrics", Some("wrong-token"), "")
        .problem(401, "unauthenticated");
    server
        .request("GET", "/metrics", Some(&bob), "")
        .problem(403, "forbidden");
    let r = server.request("GET", "/metrics", Some(scraper), "");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{r:?}"
    );
    let text = r.body;
    assert!(text.trim_end().ends_with("# EOF"), "{text}");

    let call = |plugin: &str, operation: &str, status: &str| {
        format!(
            r#"route="{CALL_ROUTE}",plugin="{plugin}",operation="{operation}",status="{status}""#
        )
    };
    let requests = "backoffice_http_requests_total";
    assert_eq!(
        sample(&text, requests, &call("probe", "put", "200")),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, requests, &call("probe", "put", "400")),
        Some(1.0),
        "{text}"
    );
    // The unknown plugin is counted without its name: paths of refused requests may
    // say anything.
    assert_eq!(
        sample(&text, requests, &call("", "", "404")),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("no-such-plugin-x7"), "{text}");
    let timed = format!(r#"route="{CALL_ROUTE}",plugin="probe",operation="put""#);
    assert_eq!(
        sample(
            &text,
            "backoffice_http_request_duration_seconds_count",
            &timed
        ),
        Some(4.0),
        "{text}"
    );
    let refused = r#"route="/metrics",plugin="",operation="",status="#;
    assert_eq!(
        sample(&text, requests, &format!(r#"{refused}"401""#)),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, requests, &format!(r#"{refused}"403""#)),
        Some(1.0),
        "{text}"
    );

    // Each write was made durable by a commit.
    let commits = sample(&text, "backoffice_commit_batch_writers_count", "").unwrap();
    assert!(commits >= 3.0, "{text}");
    // Gauges read at the scrape: the pool holds what the limits say, the queues are
    // empty, the audit queue is known.
    let capacity = sample(
        &text,
        "backoffice_instance_pool_capacity",
        r#"resource="component_instances""#,
    )
    .unwrap();
    let in_use = sample(
        &text,
        "backoffice_instance_pool_in_use",
        r#"resource="component_instances""#,
    )
    .unwrap();
    assert!(capacity >= 1.0 && in_use <= capacity, "{text}");
    for (queue, state) in [
        ("jobs", "due"),
        ("jobs", "failed"),
        ("deliveries", "dead"),
        ("http", "pending"),
        ("http", "dead"),
    ] {
        let labels = format!(r#"queue="{queue}",state="{state}""#);
        assert_eq!(
            sample(&text, "backoffice_work_queue", &labels),
            Some(0.0),
            "{text}"
        );
    }
    assert!(
        sample(&text, "backoffice_audit_queue", "").is_some(),
        "{text}"
    );

    // A system administrator's token also reads them, and the scrapes were counted.
    let again = server.request("GET", "/metrics", Some(&root), "");
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(
        sample(&again.body, requests, &format!(r#"{refused}"200""#)),
        Some(1.0),
        "{}",
        again.body
    );

    // The separate address serves the metrics without a token, and nothing else.
    let open = http_request(&metrics_addr, "GET", "/metrics", None, b"");
    assert_eq!(open.status, 200, "{open:?}");
    assert_eq!(
        sample(&open.body, requests, &call("probe", "put", "200")),
        Some(3.0),
        "{}",
        open.body
    );
    let elsewhere = http_request(&metrics_addr, "GET", "/v1/me", Some(&root), b"");
    assert_eq!(elsewhere.status, 404, "{elsewhere:?}");
}
