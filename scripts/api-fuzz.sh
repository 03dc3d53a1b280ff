#!/usr/bin/env bash
# API fuzzing (issue 16): schemathesis against /openapi.json of a host with every
# bundled plugin installed and enabled for a tenant, as the tenant's administrator.
# Fails on any 5xx (no bundled plugin documents a server error as its answer to an
# input, so each is a bug) and on a response that breaks the schema /openapi.json
# declares for it.
#
# Builds nothing: it uses the debug binary and the components that scripts/test.sh
# has built ($CARGO_TARGET_DIR or target/).
#   API_FUZZ_EXAMPLES  random cases per operation (default 5: 5,214 cases in all, 70-200 s)
#   API_FUZZ_SEED      schemathesis seed (default: a fixed one, so CI runs the same cases)
#   API_FUZZ_KEEP      set: keep the data directory, host log and report
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
bin="$target/debug/backoffice"
wasm_dir="$target/wasm/wasm32-wasip2/release"
for f in "$bin" "$wasm_dir/ledger.wasm"; do
  [ -e "$f" ] || { echo "api-fuzz: $f is missing; run scripts/test.sh (or build) first" >&2; exit 1; }
done
# A pinned version: a new schemathesis may generate other cases or check differently.
schemathesis_version=4.32.5
if ! command -v schemathesis >/dev/null || [ "$(schemathesis --version | awk '{print $NF}')" != "$schemathesis_version" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "${API_FUZZ_KEEP:-}" ]; then echo "api-fuzz: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
export BACKOFFICE_DATA_DIR="$work/data"
unset BACKOFFICE_DATABASE_URL

# Sign every bundled plugin with a throwaway vendor key the host trusts (as demo.sh).
"$bin" keygen --name backoffice --out "$work/keys" >/dev/null
"$bin" trust add "$work/keys/backoffice.pub" --name backoffice >/dev/null
mkdir -p "$work/packages"
for manifest in plugins/*/plugin.toml; do
  crate=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$(dirname "$manifest")/Cargo.toml" | head -n1 | tr - _)
  cp "$wasm_dir/$crate.wasm" "$work/packages/$crate.wasm"
  "$bin" plugin sign --key "$work/keys/backoffice.key" "$work/packages/$crate.wasm" >/dev/null
done
"$bin" tenant create fuzz --name "Fuzz Company" --time-zone Europe/London >/dev/null
# Install and enable each bundled plugin; repeat passes so dependencies go first.
pending=(plugins/*/)
while [ ${#pending[@]} -gt 0 ]; do
  left=()
  for dir in "${pending[@]}"; do
    id=$(sed -n 's/^id *= *"\(.*\)"/\1/p' "$dir/plugin.toml")
    crate=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n1 | tr - _)
    if { "$bin" plugin info "$id" >/dev/null 2>&1 || "$bin" plugin install "$work/packages/$crate.wasm" --yes >/dev/null 2>&1; } \
       && "$bin" plugin enable "$id" --tenant fuzz >/dev/null 2>&1; then
      :
    else
      left+=("$dir")
    fi
  done
  if [ ${#left[@]} -eq ${#pending[@]} ]; then
    echo "api-fuzz: could not install: ${left[*]}" >&2
    exit 1
  fi
  pending=("${left[@]}")
done
head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' \
  | "$bin" user create admin --tenant fuzz --display-name "Fuzz Admin" --password-stdin >/dev/null
"$bin" user assign-role admin admin --tenant fuzz >/dev/null
token=$("$bin" token create --user admin --tenant fuzz --name api-fuzz --expires-in 1d)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# No rate limit: schemathesis sends as fast as the host answers. No limit on a user's
# failed calls either: most generated cases are refused (4xx), and past the hourly
# limit every operation would answer 429 and the run would test nothing.
BACKOFFICE_QUOTA_FAILED_CALLS_PER_HOUR=0 \
"$bin" serve --listen "127.0.0.1:$port" --rate-limit 0 --request-timeout-ms 20000 \
  >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done

# Every operation of the tenant runs against the tenant "fuzz"; the token goes with
# each request and with the schema's download (/openapi.json lists what it may use).
cat >"$work/schemathesis.toml" <<CONFIG
headers = { Authorization = "Bearer $token" }

[parameters]
"path.tenant" = "fuzz"
CONFIG
start=$(date +%s)
status=0
# POST /v1/logout is left out: it revokes the token the whole run uses (its own test
# is http::sign_in_tokens_and_permissions). Phases: the schema's examples, its
# boundaries and wrong types (coverage), and random cases (fuzzing, at most
# API_FUZZ_EXAMPLES per operation). The stateful phase is left out: no case count
# bounds its length. One worker: schemathesis's generator is not safe across threads
# on Python 3.11 (it fails with "AST constructor recursion depth mismatch"). The
# security scheme's header is not generated, so every request carries the token.
# `timeout` only guards against a hang, which fails the run.
cd "$work"
timeout 900 schemathesis --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
  --generation-database none \
  --exclude-path /v1/logout \
  --checks not_a_server_error,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${API_FUZZ_EXAMPLES:-5}" \
  --seed "${API_FUZZ_SEED:-16016}" \
  --request-timeout 25 \
  --workers 1 \
  --generation-with-security-parameters false \
  --no-color \
  --report junit --report-dir "$work/report" \
  2>&1 | tee "$work/schemathesis.out" || status=$?
# A run whose operations were mostly refused as rate limited checked nothing.
if grep -q "Rate limited:" "$work/schemathesis.out"; then
  echo "api-fuzz: operations were answered 429 (rate limited); the run checked little" >&2
  status=1
fi
echo "api-fuzz: schemathesis finished in $(( $(date +%s) - start ))s (exit $status)"
if [ "$status" -ne 0 ]; then
  echo "api-fuzz: host log (last 50 lines):" >&2
  tail -n 50 "$work/serve.log" >&2
fi
exit "$status"
