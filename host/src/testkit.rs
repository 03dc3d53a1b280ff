//! A real host in-process, for plugin authors' own `cargo test`.
//!
//! Add the host as a native-only dev-dependency of the plugin crate (the project
//! `backoffice plugin new` writes does this) and test the built component exactly as
//! an installed plugin runs: manifest checks, schemas, permissions, the sandbox and
//! one transaction per call. A call made from the test's own thread runs on a thread
//! with the native stack nested calls need ([`crate::runtime::stack`]), as on a server.
//!
//! ```no_run
//! use backoffice_host::testkit::{TestKit, build_component};
//! let wasm = build_component(env!("CARGO_MANIFEST_DIR"))?;
//! let kit = TestKit::new()?;
//! kit.install_file(&wasm)?;
//! kit.tenant("test")?;
//! kit.enable("hello", "test")?;
//! let out = kit.call("test", "hello", "greet", serde_json::json!({ "name": "Ada" }))?;
//! assert_eq!(out["text"], "Hello, Ada!");
//! # Ok::<(), backoffice_host::HostError>(())
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::auth::Principal;
use crate::error::{HostError, HostResult};
use crate::registry::PluginInfo;
use crate::store::Durability;
use crate::{Host, HostConfig};

/// A host in a temporary directory, removed when the kit is dropped.
pub struct TestKit {
    host: Host,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKit").field("host", &self.host).finish()
    }
}

impl TestKit {
    /// A fresh host with default limits and fast (crash-safe, not power-cut-safe)
    /// commits.
    pub fn new() -> HostResult<TestKit> {
        let dir = tempfile::tempdir()
            .map_err(|e| HostError::Internal(format!("cannot create a temp dir: {e}")))?;
        let mut config = HostConfig::new(dir.path());
        config.durability = Durability::Normal;
        config.operator = "testkit".into();
        Ok(TestKit {
            host: Host::open(config)?,
            _dir: dir,
        })
    }

    /// The host, for anything the kit does not wrap.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Install component bytes, granting what they request. Signatures are not
    /// checked: a test installs what it just built.
    pub fn install_bytes(&self, bytes: Vec<u8>) -> HostResult<PluginInfo> {
        let mut plan = self.host.inspect(bytes)?;
        plan.allow_unsigned = true;
        self.host.install(plan)
    }

    /// Install a component file, granting what it requests.
    pub fn install_file(&self, path: impl AsRef<Path>) -> HostResult<PluginInfo> {
        self.install_bytes(read(path.as_ref())?)
    }

    /// Upgrade to a newer build, approving added capabilities and major versions.
    pub fn upgrade_file(&self, path: impl AsRef<Path>) -> HostResult<PluginInfo> {
        let mut plan = self.host.upgrade_plan(read(path.as_ref())?, None)?;
        plan.allow_unsigned = true;
        plan.allow_major = true;
        self.host.upgrade(plan)
    }

    /// Create a tenant (UTC).
    pub fn tenant(&self, id: &str) -> HostResult<()> {
        self.host.create_tenant(id, None, None).map(|_| ())
    }

    /// Enable a plugin for a tenant (runs its `migrate`).
    pub fn enable(&self, plugin: &str, tenant: &str) -> HostResult<()> {
        self.host.enable(plugin, tenant).map(|_| ())
    }

    /// Call an operation as the system (every permission).
    pub fn call(
        &self,
        tenant: &str,
        plugin: &str,
        operation: &str,
        input: serde_json::Value,
    ) -> HostResult<serde_json::Value> {
        self.host.invoke(
            tenant,
            plugin,
            operation,
            &input.to_string(),
            &Principal::system(),
        )
    }
}

fn read(path: &Path) -> HostResult<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| HostError::InvalidInput(format!("cannot read {}: {e}", path.display())))
}

/// Build the plugin crate in `crate_dir` as a `wasm32-wasip2` release component and
/// return its path. Builds into `<crate_dir>/target/testkit` (or
/// `BACKOFFICE_TESTKIT_TARGET_DIR`), apart from the test's own target directory,
/// which the running `cargo test` holds locked.
pub fn build_component(crate_dir: impl AsRef<Path>) -> HostResult<PathBuf> {
    let dir = crate_dir.as_ref();
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).map_err(|e| {
        HostError::InvalidInput(format!("cannot read {}/Cargo.toml: {e}", dir.display()))
    })?;
    let name = manifest
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| {
            t.get("package")?
                .get("name")?
                .as_str()
                .map(|s| s.replace('-', "_"))
        })
        .ok_or_else(|| {
            HostError::InvalidInput(format!("{}/Cargo.toml has no package name", dir.display()))
        })?;
    let target_dir = std::env::var_os("BACKOFFICE_TESTKIT_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target/testkit"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .map_err(|e| HostError::Internal(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(HostError::InvalidInput(format!(
            "building {} for wasm32-wasip2 failed ({status}); is the target installed (`rustup target add wasm32-wasip2`)?",
            dir.display()
        )));
    }
    Ok(target_dir.join(format!("wasm32-wasip2/release/{name}.wasm")))
}
