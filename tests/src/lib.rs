//! Shared helpers for the end-to-end tests: where the built components and the
//! `backoffice` binary are, an in-process host in a temporary directory, and a runner
//! for the real CLI.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test loudly on setup errors"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub mod webdriver;

pub mod payroll_mix;

use backoffice_host::runtime::Limits;

pub mod postgres;
use backoffice_host::{Host, HostConfig};
pub use postgres::PgServer;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The cargo target directory: `$CARGO_TARGET_DIR`, or `target/` of the repository.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// A component built by `scripts/build-wasm.sh`: bundled plugins and test fixtures.
pub fn wasm(name: &str) -> Vec<u8> {
    let path = target_dir()
        .join("wasm/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; build the components first with `bash scripts/build-wasm.sh`",
            path.display()
        )
    })
}

/// Path of a built component.
pub fn wasm_path(name: &str) -> PathBuf {
    target_dir()
        .join("wasm/wasm32-wasip2/release")
        .join(format!("{name}.wasm"))
}

/// Path of an example plugin of another language, built and packed by
/// `scripts/build-wasm.sh` into `target/wasm/examples/<id>.wasm`.
pub fn example_path(id: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm/examples")
        .join(format!("{id}.wasm"));
    assert!(
        path.exists(),
        "{} is missing; build the examples with `bash scripts/build-wasm.sh`",
        path.display()
    );
    path
}

/// The `backoffice` binary built by cargo for this test run.
pub fn bin() -> PathBuf {
    let path = target_dir().join("debug/backoffice");
    assert!(
        path.exists(),
        "{} is missing; run `cargo build -p backoffice-api` first",
        path.display()
    );
    path
}

/// Append a custom section `name` with `data` to a component (custom sections may
/// appear anywhere, so this keeps the component valid).
pub fn with_custom_section(mut component: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut payload = Vec::new();
    leb(name.len(), &mut payload);
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    component.push(0);
    leb(payload.len(), &mut component);
    component.extend_from_slice(&payload);
    component
}

/// An in-process host in a temporary directory, with short limits for sandbox tests.
pub struct TestHost {
    /// The host.
    pub host: Host,
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
}

impl TestHost {
    /// A host with a 300 ms deadline and a 32 MiB memory cap.
    pub fn new() -> Self {
        Self::with_limits(Limits {
            call_deadline: Duration::from_millis(300),
            memory_bytes: 32 << 20,
            ..Limits::default()
        })
    }

    /// A host with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self::with_config(|c| c.limits = limits)
    }

    /// A host whose clock stands at `clock` and whose retries back off 1 s, 2 s, ...
    /// up to 3 attempts, so tests move time instead of sleeping.
    pub fn with_clock(clock: std::sync::Arc<backoffice_host::clock::TestClock>) -> Self {
        Self::with_config(|c| {
            c.clock = clock;
            c.work.max_attempts = 3;
            c.work.backoff = Duration::from_secs(1);
        })
    }

    /// A host with a configuration adjusted by `adjust` (short default limits).
    pub fn with_config(adjust: impl FnOnce(&mut HostConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = HostConfig::new(dir.path());
        config.limits = Limits {
            call_deadline: Duration::from_millis(300),
            memory_bytes: 32 << 20,
            ..Limits::default()
        };
        adjust(&mut config);
        config.durability = backoffice_host::store::Durability::Normal;
        TestHost {
            host: Host::open(config).unwrap(),
            dir,
        }
    }

    /// Install a built (unsigned) component, granting what it asks for.
    pub fn install(&self, name: &str) {
        self.install_bytes(wasm(name));
    }

    /// Install component bytes (unsigned), granting what they ask for.
    pub fn install_bytes(&self, bytes: Vec<u8>) {
        let mut plan = self.host.inspect(bytes).unwrap();
        plan.allow_unsigned = true;
        self.host.install(plan).unwrap();
    }

    /// Create tenants, install `plugin` and enable it for each tenant.
    pub fn with_plugin(self, plugin: &str, file: &str, tenants: &[&str]) -> Self {
        self.install(file);
        for t in tenants {
            self.host
                .create_tenant(t, None, Some("Europe/Berlin"))
                .unwrap();
            self.host.enable(plugin, t).unwrap();
        }
        self
    }

    /// Call as the system principal.
    pub fn call(
        &self,
        tenant: &str,
        plugin: &str,
        op: &str,
        input: serde_json::Value,
    ) -> backoffice_host::HostResult<serde_json::Value> {
        self.host.invoke(
            tenant,
            plugin,
            op,
            &input.to_string(),
            &backoffice_host::auth::Principal::system(),
        )
    }
}

impl TestHost {
    /// Call as `principal`, for permission checks.
    pub fn call_as(
        &self,
        tenant: &str,
        plugin: &str,
        op: &str,
        input: serde_json::Value,
        principal: &backoffice_host::auth::Principal,
    ) -> backoffice_host::HostResult<serde_json::Value> {
        self.host
            .invoke(tenant, plugin, op, &input.to_string(), principal)
    }
}

/// A user principal holding exactly `permissions` (patterns like `ledger.*`), not bound
/// to one tenant.
pub fn user(id: &str, permissions: &[&str]) -> backoffice_host::auth::Principal {
    backoffice_host::auth::Principal {
        id: Some(id.to_owned()),
        tenant: None,
        token_id: None,
        kind: backoffice_host::auth::PrincipalKind::User,
        roles: vec!["clerk".to_owned()],
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

impl Default for TestHost {
    fn default() -> Self {
        Self::new()
    }
}

/// The outcome of one CLI run.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Assert success and return stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self.stdout
    }

    /// Assert failure with `code` and a stderr mentioning every fragment.
    pub fn fails(self, code: i32, fragments: &[&str]) -> Self {
        assert_eq!(self.code, code, "unexpected exit code: {self:?}");
        for f in fragments {
            assert!(self.stderr.contains(f), "stderr lacks '{f}': {self:?}");
        }
        self
    }

    /// Stdout parsed as JSON.
    pub fn json(self) -> serde_json::Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

/// The real binary run against one data directory.
pub struct Cli {
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// A PostgreSQL URL to keep the state in instead of SQLite (`--database`).
    pub database: Option<String>,
    /// The audit key file (`--audit-key-file`); the data directory's when absent.
    pub audit_key_file: Option<PathBuf>,
}

impl Cli {
    /// A CLI on a fresh data directory.
    pub fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().unwrap(),
            database: None,
            audit_key_file: None,
        }
    }

    /// A CLI on a fresh data directory (the compiled-code cache) whose state is in the
    /// PostgreSQL database `url`. Every CLI of one database shares its audit key file,
    /// as the hosts of one installation do.
    pub fn postgres(url: &str) -> Self {
        let keys = std::env::temp_dir().join("backoffice-test-audit-keys");
        std::fs::create_dir_all(&keys).unwrap();
        let name: String = url
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Cli {
            dir: tempfile::tempdir().unwrap(),
            database: Some(url.to_string()),
            audit_key_file: Some(keys.join(format!("{name}.key"))),
        }
    }

    /// A command with the data directory set.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args);
        self.environment(&mut cmd);
        cmd
    }

    /// Give `cmd` (the binary, or a shell running it) this CLI's environment: the
    /// data directory, fast commits, no log filter, the database if any.
    pub fn environment(&self, cmd: &mut Command) {
        cmd.env("BACKOFFICE_DATA_DIR", self.dir.path())
            .env("BACKOFFICE_DURABILITY", "normal")
            .env_remove("BACKOFFICE_LOG")
            .stdin(Stdio::null());
        match &self.database {
            Some(url) => cmd.env("BACKOFFICE_DATABASE_URL", url),
            None => cmd.env_remove("BACKOFFICE_DATABASE_URL"),
        };
        match &self.audit_key_file {
            Some(file) => cmd.env("BACKOFFICE_AUDIT_KEY_FILE", file),
            None => cmd.env_remove("BACKOFFICE_AUDIT_KEY_FILE"),
        };
    }

    /// Run with `args` and no stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Run with `stdin` piped in.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        Run::from(child.wait_with_output().unwrap())
    }

    /// `plugin install <fixture or plugin> --yes --allow-unsigned`: the built
    /// components of this repository are not signed.
    pub fn install_unsigned(&self, name: &str) -> Run {
        let file = wasm_path(name).display().to_string();
        self.run(&["plugin", "install", &file, "--yes", "--allow-unsigned"])
    }

    /// `call --tenant <tenant> <plugin> <op> --input <json>`: the call's JSON output.
    pub fn call(
        &self,
        tenant: &str,
        plugin: &str,
        op: &str,
        input: &serde_json::Value,
    ) -> serde_json::Value {
        self.run(&[
            "call",
            "--tenant",
            tenant,
            plugin,
            op,
            "--input",
            &input.to_string(),
        ])
        .json()
    }

    /// Queue work that keeps a host of tenant `acme` busy (probe and listener
    /// installed and enabled): `events` numbered `probe.happened` events, on each of
    /// which the listener spins `spin` iterations, and one run of the probe's `once`
    /// job spinning as long.
    pub fn queue_spinning_work(&self, events: u64, spin: u64) {
        self.call(
            "acme",
            "probe",
            "emit",
            &serde_json::json!({ "topic": "probe.happened", "payload": { "spin": spin },
                                 "count": events, "number": true }),
        );
        self.run(&[
            "jobs",
            "run",
            "probe",
            "once",
            "--tenant",
            "acme",
            "--queue",
            "--payload",
            &serde_json::json!({ "spin": spin }).to_string(),
        ])
        .ok();
    }

    /// `plugin list --json` and `tenant list --json`, to compare state before and after.
    pub fn state(&self) -> (serde_json::Value, serde_json::Value) {
        (
            self.run(&["plugin", "list", "--json"]).json(),
            self.run(&["tenant", "list", "--json"]).json(),
        )
    }
}

impl Default for Cli {
    fn default() -> Self {
        Self::new()
    }
}

/// A `backoffice serve` child process on a free loopback port, killed on drop.
pub struct Server {
    /// The process.
    pub child: std::process::Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// What the server wrote to stderr (its log) after it started listening.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response as the tests see it.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body text (chunked framing undone).
    pub body: String,
}

impl Response {
    /// A header value by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// Assert a problem-details error with `status` and `code`; returns the document.
    pub fn problem(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{self:?}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/problem+json")),
            "not problem+json: {self:?}"
        );
        let doc = self.json();
        assert_eq!(doc["code"], code, "{self:?}");
        assert_eq!(doc["status"], status, "{self:?}");
        doc
    }
}

impl Server {
    /// Start `serve` for `cli`'s data directory with extra arguments.
    pub fn start(cli: &Cli, extra: &[&str]) -> Server {
        Server::start_with_env(cli, extra, &[])
    }

    /// [`Server::start`] with extra environment variables.
    pub fn start_with_env(cli: &Cli, extra: &[&str], env: &[(&str, &str)]) -> Server {
        use std::io::BufRead;
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = cli
            .command(&args)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let addr = loop {
            let Some(line) = lines.next() else {
                panic!("server exited before listening: {}", seen.join("\n"));
            };
            let line = line.unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim().to_string();
            }
            seen.push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Server { child, addr, log }
    }

    /// The server's log so far (stderr after it started listening), one line each.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// One HTTP/1.1 request with an optional bearer token.
    pub fn request(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> Response {
        self.raw_request(method, path, token, body.as_bytes())
    }

    /// One HTTP/1.1 request with a body of bytes.
    pub fn raw_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Response {
        http_request(&self.addr, method, path, token, body)
    }
}

/// One HTTP/1.1 request to `addr` with an optional bearer token.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Response {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    http_request_with(addr, method, path, &headers, body)
}

/// One HTTP/1.1 request to `addr` with the given headers (a browser's form post,
/// with its cookies).
pub fn http_request_with(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before reading a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {raw:?}"));
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || tail.len() < n {
                break;
            }
            out.push_str(&tail[..n]);
            rest = tail.get(n + 2..).unwrap_or("");
        }
        out
    } else {
        body.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}

/// A POST that reports a refused or cut connection as `None` instead of panicking:
/// the load keeps going while a host dies.
pub fn try_post(
    addr: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> Option<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .ok()?;
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    // Bodies of these small answers come in one chunk or plain.
    let json_start = body.find(['{', '['])?;
    let json_end = body.rfind(['}', ']'])?;
    let value = serde_json::from_str(&body[json_start..=json_end]).ok()?;
    Some((status, value))
}
