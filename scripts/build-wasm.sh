#!/usr/bin/env bash
# Build the bundled plugins and (unless --plugins-only) the test fixtures as
# wasm32-wasip2 components into target/wasm/wasm32-wasip2/release/.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
(cd plugins && cargo build --release --locked)
if [ "${1:-}" != "--plugins-only" ]; then
  (cd tests/fixtures && cargo build --release --locked)
fi
