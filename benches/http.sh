#!/usr/bin/env bash
# HTTP load benchmark (not a test): the probe plugin's `get` (one storage read)
# through the full host path with API-token auth, next to a bare axum handler doing
# the same SQLite read natively (host/api/examples/bare_read.rs), measured with wrk in
# the same run.
# Then the same for a write: `probe.touch` (read a counter, write it plus one) next to a
# bare handler doing that read and write in one transaction with its own disk sync.
#   CONNECTIONS (default 64), DURATION (default 15s), DURABILITY (default full)
#   BIN and BARE: binaries to measure instead of building this checkout's (to compare
#   two builds in one sitting: copy the first build's target/release/backoffice and
#   target/release/examples/bare_read aside, then run once with each).
# Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${CONNECTIONS:-64}
duration=${DURATION:-15s}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
(cd tests/fixtures && cargo build --release --locked -q -p probe)
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q -p backoffice-api --bin backoffice --example bare_read
fi
bin=${BIN:-target/release/backoffice}
bare=${BARE:-target/release/examples/bare_read}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
export BACKOFFICE_DATA_DIR=$dir BACKOFFICE_DURABILITY=${DURABILITY:-full} BACKOFFICE_LOG=warn

$bin tenant create acme >/dev/null
$bin plugin install target/wasm/wasm32-wasip2/release/probe.wasm --yes --allow-unsigned >/dev/null
$bin plugin enable probe --tenant acme >/dev/null
$bin role create runner --tenant acme --permission probe.run >/dev/null
$bin user create bench --tenant acme >/dev/null
$bin user assign-role bench runner --tenant acme >/dev/null
token=$($bin token create --user bench --tenant acme --name bench 2>/dev/null)
$bin call --tenant acme probe put --input '{"key":"k","value":{"answer":42}}' >/dev/null

# One token drives every connection: the per-token rate limit is off for the load.
$bin serve --listen 127.0.0.1:18080 --rate-limit 0 2>/dev/null &
# The probe's data lives in the tenant's own database file.
"$bare" "$dir/tenants/acme.db" 127.0.0.1:18081 2>/dev/null &
for port in 18080 18081; do
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

cat > "$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"key":"k"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
run() {
  echo "== $1"
  wrk -t2 -c"$connections" -d"$duration" --latency -s "$dir/post.lua" "$2" \
    | grep -E "Requests/sec|^ +(50|99)%|Non-2xx|Socket errors"
}
# Check the routes answer before loading them.
for url in http://127.0.0.1:18080/v1/tenants/acme/plugins/probe/get http://127.0.0.1:18081/read; do
  curl -sf -X POST -H "Authorization: Bearer $token" -d '{"key":"k"}' "$url" | grep -q answer \
    || { echo "$url does not answer the stored value" >&2; exit 1; }
done
run "host: probe.get with token auth, durability ${BACKOFFICE_DURABILITY}" http://127.0.0.1:18080/v1/tenants/acme/plugins/probe/get
run "bare axum + SQLite read" http://127.0.0.1:18081/read
# Writes: a counter read and written plus one, each request its own durable
# transaction on the bare side; the host shares disk syncs between calls (group commit).
cat > "$dir/touch.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"key":"t' .. (counter % 64) .. '"}')
end
LUA
run_touch() {
  echo "== $1"
  wrk -t2 -c"$connections" -d"$duration" --latency -s "$dir/touch.lua" "$2" \
    | grep -E "Requests/sec|^ +(50|99)%|Non-2xx|Socket errors"
}
run_touch "host: probe.touch with token auth, durability ${BACKOFFICE_DURABILITY}" http://127.0.0.1:18080/v1/tenants/acme/plugins/probe/touch
run_touch "bare axum + SQLite read and write, synchronous=FULL" http://127.0.0.1:18081/touch
echo "audit links written: $($bin audit list --tenant acme --limit 100000 --json | grep -c '"seq"')"
