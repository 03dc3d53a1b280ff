#!/usr/bin/env bash
# Build the bundled plugins and (unless --plugins-only) the test fixtures as
# wasm32-wasip2 components into target/wasm/wasm32-wasip2/release/, and the example
# plugins of other languages into target/wasm/examples/<id>.wasm.
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
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
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
for dir in examples/*/; do
  id=$(basename "$dir")
  [ -f "$dir/app.py" ] || continue
  unpacked=$wasm/examples/$id.unpacked.wasm
  "$venv/bin/componentize-py" --wit-path wit/host@0.1.0 --world plugin componentize \
    --python-path "$dir" --python-path sdk/python app -o "$unpacked" >/dev/null
  "$backoffice" plugin pack "$unpacked" --manifest "$dir/plugin.toml" --out "$wasm/examples/$id.wasm" >/dev/null
  rm -f "$unpacked"
done
