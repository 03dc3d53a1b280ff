//! Finding 2: nested calls and the native stack. A chain of `plugins.call` nested to
//! the limit, every level recursing through nearly all of its 1 MiB wasm stack and
//! the last one through all of it, needs over 6 MiB of native stack. Before the fix
//! `serve` ran calls on tokio's 2 MiB threads and died of it ("thread
//! 'tokio-rt-worker' has overflowed its stack", SIGABRT), as did any command or
//! library caller on a smaller thread. Now the chain fails with "call stack
//! exhausted", naming every level, and the process serves the next request.
//!
//! The fixtures `deep-stack` and `deep-stack-twin` (one code, two ids: a plugin may
//! not call itself) call each other; `frames` is how deep each level recurses.

use backoffice_tests::{Cli, Server, TestHost};
use serde_json::{Value, json};

/// The largest `frames` for which `fits` holds: one level's wasm stack, measured
/// (a level recursing deeper traps with "call stack exhausted").
fn most_frames(mut fits: impl FnMut(u32) -> bool) -> u32 {
    let (mut lo, mut hi) = (0u32, 1 << 20);
    assert!(
        !fits(hi),
        "{hi} frames should exhaust one level's wasm stack"
    );
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    assert!(lo > 1000, "one level's wasm stack holds only {lo} frames");
    lo
}

/// Frames for each level of the chain: nine tenths of what one level holds, leaving
/// room for the nested call made at the bottom.
fn per_level(most: u32) -> Value {
    json!({ "frames": most / 10 * 9, "nest": true })
}

/// The error of a chain that reached the deepest level (depth 5 of 0..=5) and ran
/// out of wasm stack there.
fn assert_whole_chain_failed_cleanly(error: &str) {
    for level in 0..5 {
        assert!(
            error.contains(&format!("dive at level {level}:")),
            "level {level} missing: {error}"
        );
    }
    assert!(error.contains("call stack exhausted"), "{error}");
}

/// Both fixtures installed and enabled for `acme`, and a system administrator's token.
fn cli_with_fixtures() -> (Cli, String) {
    let cli = Cli::new();
    cli.run(&["tenant", "create", "acme"]).ok();
    for (plugin, file) in [
        ("deep-stack", "deep_stack"),
        ("deep-stack-twin", "deep_stack_twin"),
    ] {
        cli.install_unsigned(file).ok();
        cli.run(&["plugin", "enable", plugin, "--tenant", "acme"])
            .ok();
    }
    cli.run(&["user", "create", "root", "--system-admin"]).ok();
    let token = cli
        .run(&[
            "token",
            "create",
            "--user",
            "root",
            "--system-admin",
            "--name",
            "test",
        ])
        .ok()
        .trim()
        .to_string();
    (cli, token)
}

/// `deep-stack.dive` with `input` over HTTP.
fn dive(server: &Server, token: &str, input: &Value) -> backoffice_tests::Response {
    let path = "/v1/tenants/acme/plugins/deep-stack/dive";
    server.request("POST", path, Some(token), &input.to_string())
}

#[test]
fn nested_calls_each_filling_their_wasm_stack_fail_cleanly_and_serve_lives_on() {
    let (cli, token) = cli_with_fixtures();
    let mut server = Server::start(&cli, &[]);
    let most =
        most_frames(|frames| dive(&server, &token, &json!({ "frames": frames })).status == 200);

    for attempt in 0..2 {
        dive(&server, &token, &per_level(most)).problem(500, "plugin-failed");
        assert!(
            server.is_running(),
            "attempt {attempt}: the server died: {}",
            server.log()
        );
        assert_eq!(server.request("GET", "/healthz", None, "").status, 200);
        let shallow = dive(&server, &token, &json!({ "frames": 100 }));
        assert_eq!(shallow.status, 200, "{shallow:?}");
    }
    // The 500 says nothing of internals; the log has the whole chain.
    let log = server.log();
    let error = log
        .lines()
        .find(|l| l.contains("dive at level 0:"))
        .unwrap_or_else(|| panic!("no error of the chain logged: {log}"));
    assert_whole_chain_failed_cleanly(error);
}

#[test]
fn nested_calls_each_filling_their_wasm_stack_fail_cleanly_at_the_command_line() {
    let (cli, _) = cli_with_fixtures();
    let most = most_frames(|frames| {
        let input = json!({ "frames": frames }).to_string();
        cli.run(&[
            "call",
            "--tenant",
            "acme",
            "deep-stack",
            "dive",
            "--input",
            &input,
        ])
        .code
            == 0
    });
    // From a shell that limits the main thread's stack to 2 MiB, as a container may:
    // the command must not depend on it.
    let input = per_level(most).to_string();
    let mut sh = std::process::Command::new("sh");
    cli.environment(&mut sh);
    let out = sh
        .args(["-c", r#"ulimit -s 2048 && exec "$0" "$@""#])
        .arg(backoffice_tests::bin())
        .args([
            "call",
            "--tenant",
            "acme",
            "deep-stack",
            "dive",
            "--input",
            &input,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(6),
        "the command did not fail as a plugin failure (killed by a signal?): {stderr}"
    );
    assert_whole_chain_failed_cleanly(&stderr);
    // The next command works.
    let shallow = cli.call("acme", "deep-stack", "dive", &json!({ "frames": 100 }));
    assert_eq!(shallow["frames"], 100);
}

/// The library path (the testkit, an embedding program): calls made from a thread
/// with Rust's default 2 MiB stack, such as this test's.
#[test]
fn nested_calls_each_filling_their_wasm_stack_fail_cleanly_in_process() {
    let t = TestHost::new();
    t.host.create_tenant("acme", None, None).unwrap();
    for (plugin, file) in [
        ("deep-stack", "deep_stack"),
        ("deep-stack-twin", "deep_stack_twin"),
    ] {
        t.install(file);
        t.host.enable(plugin, "acme").unwrap();
    }
    let most = most_frames(|frames| {
        t.call("acme", "deep-stack", "dive", json!({ "frames": frames }))
            .is_ok()
    });
    let error = t
        .call("acme", "deep-stack", "dive", per_level(most))
        .unwrap_err()
        .to_string();
    assert_whole_chain_failed_cleanly(&error);
    let shallow = t
        .call("acme", "deep-stack", "dive", json!({ "frames": 100 }))
        .unwrap();
    assert_eq!(shallow["frames"], 100);
}
