//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, started
//! on a free loopback port, stopped and deleted on drop. Every PostgreSQL test uses
//! this one helper.
//!
//! It never skips: when PostgreSQL is not installed or does not start, the test fails
//! and says how to fix it (`scripts/test.sh` installs Debian's `postgresql`). The
//! binaries are found under `/usr/lib/postgresql/*/bin` (or `BACKOFFICE_TEST_PG_BIN`);
//! as root the server runs as the `postgres` user, since PostgreSQL refuses root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running PostgreSQL server, stopped (immediately) on drop.
pub struct PgServer {
    bin: PathBuf,
    data: PathBuf,
    /// Loopback port it listens on.
    pub port: u16,
    /// Run commands as this user (root cannot run PostgreSQL).
    run_as: Option<String>,
    _dir: tempfile::TempDir,
}

const INSTALL: &str = "install PostgreSQL with `apt-get update && apt-get install -y postgresql` (scripts/test.sh does), or point BACKOFFICE_TEST_PG_BIN at its bin directory";

fn find_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("BACKOFFICE_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").exists().then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("no PostgreSQL server under /usr/lib/postgresql/*/bin: {INSTALL}")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl PgServer {
    /// Create and start a server; panics with the reason if it cannot.
    pub fn start() -> PgServer {
        let bin = find_bin();
        let dir = tempfile::tempdir().expect("temporary directory");
        let run_as = is_root().then(|| "postgres".to_string());
        let data = dir.path().join("data");
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .args([user.as_str(), &dir.path().display().to_string()])
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "cannot hand {} to {user}",
                dir.path().display()
            );
        }
        let server = PgServer {
            bin,
            data,
            port: free_port(),
            run_as,
            _dir: dir,
        };
        server.run(
            "initdb",
            &[
                "-D",
                &server.data.display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB",
            server.port,
            server.data.display()
        );
        let log = server.data.join("server.log").display().to_string();
        server.run(
            "pg_ctl",
            &[
                "-D",
                &server.data.display().to_string(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        server
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .current_dir(Path::new("/"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}; {INSTALL}"));
        if !out.status.success() {
            let log = std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default();
            panic!(
                "{tool} {args:?} failed: {}\n{}\nserver log:\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Create a new empty database; its URL.
    pub fn database(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "bo_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                &name,
            ],
        );
        self.url(&name)
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}
