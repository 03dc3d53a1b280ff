#!/usr/bin/env bash
# The whole test suite: builds the components, then runs every test of the host
# workspace (unit, sandbox, CLI and HTTP end-to-end) and the plugins' own unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tools the tests use as independent checkers: hledger (the ledger's reference
# implementation), an OpenAPI 3.1 validator and a real browser.
if ! command -v hledger >/dev/null; then
  apt-get update && apt-get install -y hledger
fi
# The console's browser tests drive Debian's headless Chromium through chromedriver.
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
  apt-get update && apt-get install -y chromium chromium-driver
fi
# PostgreSQL for the shared-database tests (tests/tests/e2e/postgres.rs, multihost.rs):
# they start throwaway servers from /usr/lib/postgresql/*/bin and fail without them.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update && apt-get install -y postgresql
fi
# Node.js and npm for the JavaScript plugins' toolchain (componentize-js, installed from
# npm by scripts/build-wasm.sh). It needs Node.js 20 or later: Debian 13's nodejs is
# 20.19; on Debian 12 (18.19) build-wasm.sh stops and says so.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update && apt-get install -y nodejs npm
fi
python3 -c 'import openapi_spec_validator' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator
bash scripts/build-wasm.sh
cargo build --locked --workspace --bins
cargo test --locked --workspace
# The tutorials of docs/writing-a-plugin.md: scaffold, build, sign, install, upgrade
# (Rust), and scaffold, build, pack, install, call (Python and JavaScript).
# `--workspace` keeps the features of the build above: with `-p` Cargo would compile
# wasmtime and the host a second time.
cargo test --locked --workspace --test e2e -- --ignored scaffold::
# Plugin logic tests run natively; the components themselves are tested through the host.
host_triple=$(rustc -vV | sed -n 's/^host: //p')
(cd plugins && cargo test --locked --target "$host_triple")
# Payroll's SEPA files against the official ISO 20022 pain.001.001.09 schema,
# installed from PyPI at test time (issue 22).
bash scripts/sepa-xsd.sh
# API fuzzing (issue 16): schemathesis against a host with every bundled plugin,
# using the debug binary and components built above.
bash scripts/api-fuzz.sh
