//! `backoffice plugin new <name> --lang python|js`: a plugin project in Python
//! (componentize-py) or JavaScript (componentize-js), with the SDK and the WIT copied in,
//! a build script that pins its toolchain and packs the manifest, and a test script
//! that installs the component into a throwaway host and calls it.
//!
//! ```text
//! <name>/
//! ├── plugin.toml              the manifest, embedded by `backoffice plugin pack`
//! ├── app.py | app.js          one operation, `greet`
//! ├── backoffice/ | sdk/       the SDK helpers (storage with JSON, errors, context, ...)
//! ├── wit/host.wit             the contract the component is built against
//! ├── package.json, package-lock.json   (js) the pinned componentize-js and jco
//! ├── build.sh                 build/<name>.wasm
//! ├── test.sh                  install, enable, call through the real binary
//! ├── README.md
//! └── .gitignore
//! ```

use std::path::{Path, PathBuf};

use crate::error::HostResult;
use crate::scaffold::{MANIFEST, project_dir, write_project};

/// The languages `plugin new` scaffolds besides Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    JavaScript,
}

/// componentize-py's version, as `scripts/build-wasm.sh` pins it.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

const WIT: &str = include_str!("../../wit/host@0.1.0/host.wit");
const JS_SDK: &str = include_str!("../../sdk/js/backoffice.js");
const JS_PACKAGE: &str = include_str!("../../scripts/js-toolchain/package.json");
const JS_LOCK: &str = include_str!("../../scripts/js-toolchain/package-lock.json");
const PY_SDK: [(&str, &str); 6] = [
    (
        "__init__.py",
        include_str!("../../sdk/python/backoffice/__init__.py"),
    ),
    (
        "context.py",
        include_str!("../../sdk/python/backoffice/context.py"),
    ),
    (
        "errors.py",
        include_str!("../../sdk/python/backoffice/errors.py"),
    ),
    (
        "events.py",
        include_str!("../../sdk/python/backoffice/events.py"),
    ),
    ("log.py", include_str!("../../sdk/python/backoffice/log.py")),
    (
        "storage.py",
        include_str!("../../sdk/python/backoffice/storage.py"),
    ),
];

/// Write a new Python or JavaScript plugin project `<parent>/<name>`; the files written.
pub fn new_script_plugin(
    name: &str,
    vendor: &str,
    parent: &Path,
    lang: Script,
) -> HostResult<Vec<PathBuf>> {
    let dir = project_dir(name, vendor, parent)?;
    let fill = |template: &str| {
        template
            .replace("@NAME@", name)
            .replace("@VENDOR@", vendor)
            .replace("@COMPONENTIZE_PY@", COMPONENTIZE_PY_VERSION)
    };
    let mut files: Vec<(String, String)> = vec![
        (
            "plugin.toml".into(),
            format!("{PLUGIN_TOML}{MANIFEST}")
                .replace("{name}", name)
                .replace("{vendor}", vendor),
        ),
        ("wit/host.wit".into(), WIT.into()),
        ("test.sh".into(), fill(TEST_SH)),
    ];
    match lang {
        Script::Python => {
            files.push(("app.py".into(), fill(APP_PY)));
            for (file, text) in PY_SDK {
                files.push((format!("backoffice/{file}"), text.into()));
            }
            files.push(("build.sh".into(), fill(BUILD_PY)));
            files.push(("README.md".into(), fill(README_PY)));
            files.push((".gitignore".into(), "/build\n/.venv\n__pycache__\n".into()));
        }
        Script::JavaScript => {
            files.push(("app.js".into(), fill(APP_JS)));
            files.push(("sdk/backoffice.js".into(), JS_SDK.into()));
            files.push(("package.json".into(), JS_PACKAGE.into()));
            files.push(("package-lock.json".into(), JS_LOCK.into()));
            files.push(("build.sh".into(), fill(BUILD_JS)));
            files.push(("README.md".into(), fill(README_JS)));
            files.push((".gitignore".into(), "/build\n/node_modules\n".into()));
        }
    }
    write_project(&dir, files)
}

const PLUGIN_TOML: &str = r#"# The manifest, embedded in the component by `backoffice plugin pack` (build.sh).
# See docs/writing-a-plugin.md for every field.
"#;

const APP_PY: &str = r#""""The @NAME@ plugin."""

from backoffice import Handler, InvalidInput, operation, storage  # noqa: F401 - Handler is the export


@operation("greet")
def greet(input):
    """Greet someone; the count of greetings is kept per tenant."""
    name = input["name"].strip()
    if not name:
        raise InvalidInput("'name' must not be empty, for example {\"name\": \"Ann\"}")
    count = (storage.get("greetings") or 0) + 1
    storage.put("greetings", count)
    return {"text": f"Hello, {name}!", "count": count}
"#;

const APP_JS: &str = r#"// The @NAME@ plugin.
import { InvalidInput, plugin, storage } from './sdk/backoffice.js';

/** Greet someone; the count of greetings is kept per tenant. */
function greet(input) {
  const name = input.name.trim();
  if (name === '') throw new InvalidInput("'name' must not be empty, for example {\"name\": \"Ann\"}");
  const count = (storage.get('greetings') ?? 0) + 1;
  storage.put('greetings', count);
  return { text: `Hello, ${name}!`, count };
}

export const handler = plugin({ operations: { greet } });
"#;

const BUILD_PY: &str = r#"#!/usr/bin/env bash
# Build build/@NAME@.wasm: componentize-py @COMPONENTIZE_PY@ (from PyPI, into .venv;
# or the one named by $COMPONENTIZE_PY) bundles CPython and app.py into a component,
# then `backoffice plugin pack` embeds plugin.toml ($BACKOFFICE: the binary to use).
set -euo pipefail
cd "$(dirname "$0")"
backoffice=${BACKOFFICE:-backoffice}
componentize=${COMPONENTIZE_PY:-.venv/bin/componentize-py}
if [ "$("$componentize" --version 2>/dev/null)" != "componentize-py @COMPONENTIZE_PY@" ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "componentize-py==@COMPONENTIZE_PY@"
  componentize=.venv/bin/componentize-py
fi
mkdir -p build
"$componentize" --wit-path wit --world plugin componentize --python-path . app -o build/app.wasm
"$backoffice" plugin pack build/app.wasm --manifest plugin.toml --out build/@NAME@.wasm
rm build/app.wasm
"#;

const BUILD_JS: &str = r#"#!/usr/bin/env bash
# Build build/@NAME@.wasm: componentize-js (StarlingMonkey; the versions pinned by
# package-lock.json, installed with `npm ci`; or the node_modules named by
# $JS_TOOLCHAIN) turns app.js into a component without wasi:http, then
# `backoffice plugin pack` embeds plugin.toml ($BACKOFFICE: the binary to use).
# Needs Node.js 20 or later.
set -euo pipefail
cd "$(dirname "$0")"
backoffice=${BACKOFFICE:-backoffice}
tools=${JS_TOOLCHAIN:-node_modules}
if [ -z "${JS_TOOLCHAIN:-}" ] && ! cmp -s package-lock.json node_modules/.installed.lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.installed.lock
fi
mkdir -p build
"$tools/.bin/componentize-js" app.js --wit wit --world-name plugin -d http fetch-event -o build/app.wasm
"$backoffice" plugin pack build/app.wasm --manifest plugin.toml --out build/@NAME@.wasm
rm build/app.wasm
"#;

const TEST_SH: &str = r#"#!/usr/bin/env bash
# Install build/@NAME@.wasm into a throwaway backoffice data directory, enable it for a
# tenant and call it through the real binary ($BACKOFFICE: the binary to use).
set -euo pipefail
cd "$(dirname "$0")"
backoffice=${BACKOFFICE:-backoffice}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export BACKOFFICE_DATA_DIR=$data
expect() {
  if ! grep -qF -- "$2" <<<"$1"; then
    echo "FAIL: expected $2 in: $1" >&2
    exit 1
  fi
}
"$backoffice" tenant create test >/dev/null 2>&1
"$backoffice" plugin install build/@NAME@.wasm --yes --allow-unsigned >/dev/null 2>&1
"$backoffice" plugin enable @NAME@ --tenant test >/dev/null 2>&1
first=$("$backoffice" call --tenant test @NAME@ greet --input '{"name": "Ann"}' 2>/dev/null)
expect "$first" '"text": "Hello, Ann!"'
expect "$first" '"count": 1'
second=$("$backoffice" call --tenant test @NAME@ greet --input '{"name": "Bob"}' 2>/dev/null)
expect "$second" '"count": 2'
# An empty name is refused with the plugin's message and exit code 2.
set +e
refused=$("$backoffice" call --tenant test @NAME@ greet --input '{"name": " "}' 2>&1)
code=$?
set -e
[ "$code" = 2 ] || { echo "FAIL: an empty name exited with $code: $refused" >&2; exit 1; }
expect "$refused" "'name' must not be empty"
echo "ok: @NAME@ greets, counts and refuses an empty name"
"#;

const README_PY: &str = r#"# @NAME@

A backoffice plugin in Python.

- Build: `./build.sh` (installs componentize-py @COMPONENTIZE_PY@ into `.venv` once; needs
  Python 3 and the `backoffice` binary on PATH or in `$BACKOFFICE`). It writes
  `build/@NAME@.wasm` with plugin.toml embedded.
- Test: `./test.sh` installs it into a throwaway host and calls `greet`.
- Sign and ship: `backoffice plugin sign --key @VENDOR@.key build/@NAME@.wasm`.

`backoffice/` is a copy of the SDK's helpers and `wit/host.wit` the contract; see
"Plugins in Python" in docs/writing-a-plugin.md.
"#;

const README_JS: &str = r#"# @NAME@

A backoffice plugin in JavaScript.

- Build: `./build.sh` (installs the componentize-js and jco pinned by package-lock.json
  with `npm ci` once; needs Node.js 20 or later and the `backoffice` binary on PATH or
  in `$BACKOFFICE`). It writes `build/@NAME@.wasm` with plugin.toml embedded.
- Test: `./test.sh` installs it into a throwaway host and calls `greet`.
- Sign and ship: `backoffice plugin sign --key @VENDOR@.key build/@NAME@.wasm`.

`sdk/backoffice.js` is a copy of the SDK's helpers and `wit/host.wit` the contract; see
"Plugins in JavaScript" in docs/writing-a-plugin.md.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_project_per_language_once() {
        let dir = tempfile::tempdir().unwrap();
        for (name, lang, app) in [
            ("hello-py", Script::Python, "app.py"),
            ("hello-js", Script::JavaScript, "app.js"),
        ] {
            let files = new_script_plugin(name, "acme", dir.path(), lang).unwrap();
            let project = dir.path().join(name);
            assert!(files.contains(&project.join(app)));
            assert!(files.contains(&project.join("build.sh")));
            let manifest = std::fs::read_to_string(project.join("plugin.toml")).unwrap();
            let m = crate::manifest::Manifest::parse(&manifest).unwrap();
            assert_eq!((m.id.as_str(), m.vendor.as_str()), (name, "acme"));
            assert!(m.operation("greet").is_some());
            let test = std::fs::read_to_string(project.join("test.sh")).unwrap();
            assert!(test.contains(&format!("build/{name}.wasm")));
            assert!(new_script_plugin(name, "acme", dir.path(), lang).is_err());
        }
        assert!(new_script_plugin("Hello", "acme", dir.path(), Script::JavaScript).is_err());
    }
}
