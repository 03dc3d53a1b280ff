//! `backoffice plugin new` and the tutorial of docs/writing-a-plugin.md.
//!
//! The quick test checks the generated files. The tutorial test (ignored by default,
//! run by `scripts/test.sh`) builds the generated plugin with cargo, signs it,
//! installs it, calls it and upgrades it, as the guide tells a vendor and an admin
//! to, so the guide cannot rot. It builds into the shared `target/wasm` directory
//! so the SDK's dependencies are compiled once.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap fails the test with its message"
)]

use std::path::Path;
use std::process::Command;

use backoffice_tests::{Cli, root};
use serde_json::json;

#[test]
fn plugin_new_writes_a_project_that_names_the_sdk() {
    let cli = Cli::new();
    let dir = cli.dir.path().display().to_string();
    let out = cli
        .run(&["plugin", "new", "hello", "--vendor", "acme", "--dir", &dir])
        .ok();
    assert!(
        out.contains("cargo build --release --target wasm32-wasip2"),
        "{out}"
    );
    let project = cli.dir.path().join("hello");
    for f in [
        "Cargo.toml",
        "plugin.toml",
        "src/lib.rs",
        "tests/plugin.rs",
        "README.md",
    ] {
        assert!(project.join(f).exists(), "{f} missing");
    }
    let cargo = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    let sdk = root().join("sdk").canonicalize().unwrap();
    assert!(cargo.contains(&sdk.display().to_string()), "{cargo}");
    let testkit = root().join("host").canonicalize().unwrap().join("testkit");
    assert!(
        cargo.contains(&format!(
            "backoffice-testkit = {{ path = \"{}\" }}",
            testkit.display()
        )),
        "{cargo}"
    );
    let manifest = std::fs::read_to_string(project.join("plugin.toml")).unwrap();
    let m = backoffice_host::manifest::Manifest::parse(&manifest).unwrap();
    assert_eq!((m.id.as_str(), m.vendor.as_str()), ("hello", "acme"));
    cli.run(&["plugin", "new", "hello", "--dir", &dir])
        .fails(4, &["already exists"]);
    cli.run(&["plugin", "new", "Hello World", "--dir", &dir])
        .fails(2, &["must be lowercase"]);
}

/// `cargo build --release --target wasm32-wasip2` in `project`, offline, into the
/// shared wasm target directory; the component's path.
fn build(project: &Path) -> String {
    let target = root().join("target/wasm");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--offline",
        ])
        .current_dir(project)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success(), "the tutorial plugin does not build");
    target
        .join("wasm32-wasip2/release/tutorial_hello.wasm")
        .display()
        .to_string()
}

#[test]
#[ignore = "builds a plugin with cargo; run by scripts/test.sh"]
fn the_tutorial_plugin_builds_signs_installs_and_upgrades() {
    let cli = Cli::new();
    let dir = cli.dir.path().display().to_string();
    cli.run(&[
        "plugin",
        "new",
        "tutorial-hello",
        "--vendor",
        "acme",
        "--dir",
        &dir,
    ])
    .ok();
    let project = cli.dir.path().join("tutorial-hello");
    let wasm = build(&project);

    let keys = cli.dir.path().join("keys").display().to_string();
    cli.run(&["keygen", "--name", "acme", "--out", &keys]).ok();
    let key = format!("{keys}/acme.key");
    cli.run(&["plugin", "sign", "--key", &key, &wasm]).ok();
    cli.run(&[
        "trust",
        "add",
        &format!("{keys}/acme.pub"),
        "--name",
        "acme",
    ])
    .ok();
    let out = cli.run(&["plugin", "install", &wasm, "--yes"]).ok();
    assert!(out.contains("signed by trusted key 'acme'"), "{out}");
    cli.run(&["tenant", "create", "test"]).ok();
    cli.run(&["plugin", "enable", "tutorial-hello", "--tenant", "test"])
        .ok();
    let greet = |name: &str| {
        cli.run(&[
            "call",
            "--tenant",
            "test",
            "tutorial-hello",
            "greet",
            "--input",
            &json!({ "name": name }).to_string(),
        ])
        .json()
    };
    assert_eq!(greet("Ada"), json!({ "text": "Hello, Ada!", "count": 1 }));

    // Version 0.1.1, as the tutorial's upgrade step does it.
    let manifest_path = project.join("plugin.toml");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(
        &manifest_path,
        manifest.replace("version = \"0.1.0\"", "version = \"0.1.1\""),
    )
    .unwrap();
    let wasm = build(&project);
    cli.run(&["plugin", "sign", "--key", &key, &wasm]).ok();
    let out = cli.run(&["plugin", "upgrade", &wasm, "--yes"]).ok();
    assert!(out.contains("upgraded 'tutorial-hello' to 0.1.1"), "{out}");
    assert_eq!(greet("Bob")["count"], 2, "data survives the upgrade");
    cli.run(&["plugin", "rollback", "tutorial-hello"])
        .fails(4, &["not reversible"]);
}

/// Run `script` of a scaffolded project with the toolchains `scripts/build-wasm.sh`
/// installed (componentize-py in target/python, componentize-js in target/js) and this
/// build's binary; its standard output.
fn run_script(project: &Path, script: &str) -> String {
    let target = backoffice_tests::target_dir();
    let out = Command::new("bash")
        .arg(project.join(script))
        .env("BACKOFFICE", backoffice_tests::bin())
        .env("COMPONENTIZE_PY", target.join("python/bin/componentize-py"))
        .env("JS_TOOLCHAIN", target.join("js/node_modules"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} in {} failed: {stdout}\n{}",
        project.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
#[ignore = "builds with componentize-py and componentize-js; run by scripts/test.sh"]
fn python_and_javascript_projects_build_install_and_answer() {
    let cli = Cli::new();
    let dir = cli.dir.path().display().to_string();
    for (name, lang, app) in [
        ("hello-py", "python", "app.py"),
        ("hello-js", "js", "app.js"),
    ] {
        let out = cli
            .run(&["plugin", "new", name, "--lang", lang, "--dir", &dir])
            .ok();
        assert!(out.contains("./build.sh"), "{out}");
        let project = cli.dir.path().join(name);
        assert!(project.join(app).exists(), "{app} missing");
        run_script(&project, "build.sh");
        assert!(project.join(format!("build/{name}.wasm")).exists());
        let said = run_script(&project, "test.sh");
        assert!(
            said.contains(&format!(
                "ok: {name} greets, counts and refuses an empty name"
            )),
            "{said}"
        );
    }
    cli.run(&["plugin", "new", "hello-js", "--lang", "js", "--dir", &dir])
        .fails(4, &["already exists"]);
    cli.run(&["plugin", "new", "x", "--lang", "cobol", "--dir", &dir])
        .fails(2, &["cobol"]);
}
