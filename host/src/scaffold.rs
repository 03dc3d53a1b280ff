//! `backoffice plugin new <name>`: a plugin project that builds with one command and
//! tests itself against a real in-process host.
//!
//! ```text
//! <name>/
//! ├── Cargo.toml       its own workspace; the SDK, and the host as a native dev-dependency
//! ├── plugin.toml      the manifest, embedded in the component at build time
//! ├── src/lib.rs       one operation, `greet`
//! ├── tests/plugin.rs  builds the component and calls it through the test kit
//! ├── README.md        the two commands
//! └── .gitignore
//! ```

use std::path::{Path, PathBuf};

use crate::error::{HostError, HostResult};
use crate::manifest::check_ident;

/// Where the project finds the SDK and the host crates.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Path of the `sdk` crate.
    pub sdk: PathBuf,
    /// Path of the source tree's `host` folder: the test kit is its crate
    /// `testkit` (`backoffice-testkit`).
    pub host: PathBuf,
}

impl Sources {
    /// The crates of the source tree this binary was built from, if it still exists.
    pub fn from_build_tree() -> Option<Sources> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sdk = root.join("sdk").canonicalize().ok()?;
        let host = root.join("host").canonicalize().ok()?;
        Some(Sources { sdk, host })
    }
}

/// Write a new plugin project `<parent>/<name>`; the files written.
pub fn new_plugin(
    name: &str,
    vendor: &str,
    parent: &Path,
    sources: &Sources,
) -> HostResult<Vec<PathBuf>> {
    let dir = project_dir(name, vendor, parent)?;
    let fill = |template: &str| {
        template
            .replace("{name_file}", &name.replace('-', "_"))
            .replace("{name}", name)
            .replace("{vendor}", vendor)
            .replace("{sdk}", &sources.sdk.display().to_string())
            .replace("{host}", &sources.host.display().to_string())
    };
    let files = [
        ("Cargo.toml", CARGO_TOML),
        ("plugin.toml", &format!("{PLUGIN_TOML}{MANIFEST}")),
        ("src/lib.rs", LIB_RS),
        ("tests/plugin.rs", TEST_RS),
        ("README.md", README),
        (".gitignore", "/target\n"),
    ];
    write_project(
        &dir,
        files.map(|(path, template)| (path.to_string(), fill(template))),
    )
}

/// `<parent>/<name>` for a new project: the name and vendor checked, the folder not
/// there yet.
pub(crate) fn project_dir(name: &str, vendor: &str, parent: &Path) -> HostResult<PathBuf> {
    for (what, value) in [("plugin name", name), ("vendor", vendor)] {
        check_ident(what, value, 40).map_err(HostError::InvalidInput)?;
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(HostError::Conflict(format!(
            "{} already exists; choose another name or directory",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Write `files` (paths relative to `dir`, and their text) with the folders they need;
/// shell scripts are made executable. The paths written.
pub(crate) fn write_project(
    dir: &Path,
    files: impl IntoIterator<Item = (String, String)>,
) -> HostResult<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                HostError::InvalidInput(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(&path, text).map_err(|e| {
            HostError::InvalidInput(format!("cannot write {}: {e}", path.display()))
        })?;
        if path.extension().is_some_and(|e| e == "sh") {
            make_executable(&path)?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> HostResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| HostError::InvalidInput(format!("cannot chmod {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> HostResult<()> {
    Ok(())
}

const CARGO_TOML: &str = r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

# A workspace of its own, so the project builds wherever it lives.
[workspace]

[lib]
crate-type = ["cdylib"]

[dependencies]
backoffice-sdk = { path = "{sdk}" }
serde = { version = "1", features = ["derive"] }

# The test kit: a real backoffice host in-process, for `cargo test` (native only). Its
# feature `http` delivers the plugin's outbound HTTP requests for real.
[target.'cfg(not(target_arch = "wasm32"))'.dev-dependencies]
backoffice-testkit = { path = "{host}/testkit" }
serde_json = "1"

[lints.rust]
unsafe_code = "forbid"

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = "debuginfo"
panic = "abort"

# The test kit compiles your component with Cranelift; unoptimised it is ~14x slower.
[profile.dev.package.cranelift-codegen]
opt-level = 3
[profile.dev.package.regalloc2]
opt-level = 3
[profile.dev.package.wasmtime-internal-cranelift]
opt-level = 3
[profile.dev.package.wasmparser]
opt-level = 3
[profile.dev.package.argon2]
opt-level = 3
"#;

const PLUGIN_TOML: &str = r#"# The manifest: embedded in the component by `export_plugin!`, read by the host
# without running any code. See docs/writing-a-plugin.md for every field.
"#;

/// The manifest of every new project, Rust or script, after its header comment.
pub(crate) const MANIFEST: &str = r#"id = "{name}"
name = "{name}"
vendor = "{vendor}"
version = "0.1.0"
description = "Greets people and counts the greetings."
host-api = "^0.1"
capabilities = ["storage"]

[[operations]]
name = "greet"
permission = "{name}.greet"
description = "Greet someone by name."
input = '''{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}, "additionalProperties": false}'''
output = '''{"type": "object", "required": ["text", "count"]}'''
"#;

const LIB_RS: &str = r#"//! The `{name}` plugin.

use backoffice_sdk::prelude::*;
use serde::{Deserialize, Serialize};

struct Greeter;

impl Plugin for Greeter {
    fn operations() -> Operations {
        Operations::new().op("greet", greet)
    }
}

#[derive(Deserialize)]
struct GreetInput {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    text: String,
    count: u64,
}

/// Greet someone; the count of greetings is kept per tenant.
fn greet(input: GreetInput) -> Result<Greeting> {
    let count = storage::get::<u64>("greetings")?.unwrap_or(0) + 1;
    storage::put("greetings", &count)?;
    Ok(Greeting {
        text: format!("Hello, {}!", input.name),
        count,
    })
}

backoffice_sdk::export_plugin!(Greeter);
"#;

const TEST_RS: &str = r#"//! The built component, installed in a real in-process host.
#![cfg(not(target_arch = "wasm32"))]

use backoffice_testkit::{TestKit, build_component};
use serde_json::json;

#[test]
fn greets_and_counts_per_tenant() {
    let wasm = build_component(env!("CARGO_MANIFEST_DIR")).expect("build the component");
    let kit = TestKit::new().expect("start a host");
    kit.install_file(&wasm).expect("install");
    for tenant in ["acme", "globex"] {
        kit.tenant(tenant).expect("tenant");
        kit.enable("{name}", tenant).expect("enable");
    }
    let out = kit
        .call("acme", "{name}", "greet", json!({ "name": "Ada" }))
        .expect("greet");
    assert_eq!(out["text"], "Hello, Ada!");
    kit.call("acme", "{name}", "greet", json!({ "name": "Bob" }))
        .expect("greet");
    let other = kit
        .call("globex", "{name}", "greet", json!({ "name": "Eve" }))
        .expect("greet");
    assert_eq!(other["count"], 1, "each tenant has its own data");
    // The host checks the input schema before the plugin runs.
    assert!(kit.call("acme", "{name}", "greet", json!({})).is_err());
}
"#;

const README: &str = r#"# {name}

A backoffice plugin.

- Build the component: `cargo build --release --target wasm32-wasip2`
  (once: `rustup target add wasm32-wasip2`); it is
  `target/wasm32-wasip2/release/{name_file}.wasm`.
- Test it in a real in-process host: `cargo test`.
- Sign and ship it: `backoffice plugin sign --key {vendor}.key <file.wasm>`, then
  hand out the `.wasm` and its `.wasm.sig`.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_project_once() {
        let dir = tempfile::tempdir().unwrap();
        let sources = Sources {
            sdk: "/sdk".into(),
            host: "/host".into(),
        };
        let files = new_plugin("hello-world", "acme", dir.path(), &sources).unwrap();
        assert_eq!(files.len(), 6);
        let manifest = std::fs::read_to_string(dir.path().join("hello-world/plugin.toml")).unwrap();
        let m = crate::manifest::Manifest::parse(&manifest).unwrap();
        assert_eq!((m.id.as_str(), m.vendor.as_str()), ("hello-world", "acme"));
        assert!(m.operation("greet").is_some());
        let cargo = std::fs::read_to_string(dir.path().join("hello-world/Cargo.toml")).unwrap();
        assert!(
            cargo.contains(r#"backoffice-testkit = { path = "/host/testkit" }"#),
            "{cargo}"
        );
        let test = std::fs::read_to_string(dir.path().join("hello-world/tests/plugin.rs")).unwrap();
        assert!(test.contains("use backoffice_testkit::"), "{test}");
        assert!(new_plugin("hello-world", "acme", dir.path(), &sources).is_err());
        assert!(new_plugin("Hello", "acme", dir.path(), &sources).is_err());
    }
}
