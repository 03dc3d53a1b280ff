#!/usr/bin/env bash
# Build the bundled plugins and (unless --plugins-only) the test fixtures as
# wasm32-wasip2 components into target/wasm/wasm32-wasip2/release/, and the example
# plugins of other languages (examples/*/app.py: Python, app.js: JavaScript) into
# target/wasm/examples/<id>.wasm.
#
# With CARGO_TARGET_DIR set, everything goes under $CARGO_TARGET_DIR/wasm instead of
# target/wasm, which is where the tests look (tests/src/lib.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
wasm=$target/wasm
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
(cd plugins && CARGO_TARGET_DIR=$wasm cargo build --release --locked)
if [ "${1:-}" = "--plugins-only" ]; then
  exit 0
fi
(cd tests/fixtures && CARGO_TARGET_DIR=$wasm cargo build --release --locked)

# Python examples: componentize-py (pinned; it bundles CPython 3.14 and targets WASI
# 0.2) from PyPI into a virtual environment under target/, never system-wide.
COMPONENTIZE_PY_VERSION=0.25.1
venv=$target/python
if [ "$("$venv/bin/componentize-py" --version 2>/dev/null)" != "componentize-py $COMPONENTIZE_PY_VERSION" ]; then
  # --clear: a venv moved or copied with its target directory keeps stale paths.
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
fi
# JavaScript examples: componentize-js (StarlingMonkey, targets WASI 0.2) and jco from
# npm, every transitive version pinned by scripts/js-toolchain/package-lock.json,
# installed with `npm ci` under target/js, never globally; reinstalled only when the
# lock file changes. They need Node.js 20 or later.
js=$target/js
need_js=
for dir in examples/*/; do [ -f "$dir/app.js" ] && need_js=1; done
if [ -n "$need_js" ]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$node_major" -lt 20 ]; then
    echo "build-wasm: the JavaScript examples need Node.js 20 or later (found: $(node --version 2>/dev/null || echo none)); install it, e.g. apt-get install nodejs npm on Debian 13" >&2
    exit 1
  fi
  if ! cmp -s scripts/js-toolchain/package-lock.json "$js/installed.lock"; then
    rm -rf "$js" && mkdir -p "$js"
    cp scripts/js-toolchain/package.json scripts/js-toolchain/package-lock.json "$js/"
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp scripts/js-toolchain/package-lock.json "$js/installed.lock"
  fi
fi
# `plugin pack` embeds each example's plugin.toml, as a vendor would.
backoffice=${BACKOFFICE_BIN:-}
if [ -z "$backoffice" ]; then
  # The same build as the test suite's (`--workspace`): with `-p` Cargo would unify
  # features differently and compile wasmtime a second time.
  cargo build --locked --quiet --workspace --bins
  backoffice=$target/debug/backoffice
fi
mkdir -p "$wasm/examples"
# A directory with app.py is a Python plugin, one with app.js a JavaScript plugin.
for dir in examples/*/; do
  id=$(basename "$dir")
  unpacked=$wasm/examples/$id.unpacked.wasm
  if [ -f "$dir/app.py" ]; then
    "$venv/bin/componentize-py" --wit-path wit/host@0.1.0 --world plugin componentize \
      --python-path "$dir" --python-path sdk/python app -o "$unpacked" >/dev/null
  elif [ -f "$dir/app.js" ]; then
    # `jco componentize` 1.35.0 cannot read the WIT directory (its wasm-tools runs with
    # no preopened directory), so the componentize-js command line is called directly.
    # -d http fetch-event: no wasi:http imports, which this host refuses.
    "$js/node_modules/.bin/componentize-js" "${dir}app.js" --wit wit/host@0.1.0 \
      --world-name plugin -d http fetch-event -o "$unpacked" >/dev/null
  else
    continue
  fi
  "$backoffice" plugin pack "$unpacked" --manifest "$dir/plugin.toml" --out "$wasm/examples/$id.wasm" >/dev/null
  rm -f "$unpacked"
done
