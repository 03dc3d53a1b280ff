#!/usr/bin/env bash
# Console page load times (a benchmark, not a test) over a ledger of 100,000 entries:
# builds the book with import-journal, serves it, signs in and times each page with
# curl (time to the last byte, one request at a time, after one warm-up request).
#   ENTRIES (default 100000), RUNS per page (default 20), PROFILE (release or debug;
#   default release)
# Needs the components: `bash scripts/build-wasm.sh --plugins-only`.
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${ENTRIES:-100000}
runs=${RUNS:-20}
profile=${PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --release --locked -q -p backoffice-api --bin backoffice
fi
bin=target/$profile/backoffice
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
export BACKOFFICE_DATA_DIR=$dir BACKOFFICE_DURABILITY=normal BACKOFFICE_LOG=warn BACKOFFICE_CALL_TIMEOUT_MS=60000

$bin tenant create bench >/dev/null
$bin plugin install target/wasm/wasm32-wasip2/release/ledger.wasm --yes --allow-unsigned >/dev/null
$bin plugin enable ledger --tenant bench >/dev/null
echo 'a long password for the bench' | $bin user create clerk --tenant bench --password-stdin >/dev/null
$bin user assign-role clerk admin --tenant bench >/dev/null

# The same deterministic book as benches/ledger.rs: two postings per entry over
# 16 accounts and five years, imported in journals of 5,000 entries.
python3 - "$dir" "$entries" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
accounts = ["assets:bank:checking", "assets:bank:savings", "assets:cash", "assets:receivables",
            "liabilities:card", "liabilities:payables", "equity:opening", "income:sales:domestic",
            "income:sales:export", "income:interest", "expenses:rent", "expenses:salaries",
            "expenses:office:supplies", "expenses:office:software", "expenses:travel", "expenses:taxes"]
M = (1 << 64) - 1
def mix(i):
    z = (i + 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)
for c, start in enumerate(range(0, n, 5000)):
    lines = []
    for i in range(start, min(n, start + 5000)):
        r = mix(i)
        a, b = accounts[r % 16], accounts[(r >> 8) % 16]
        cents = (r >> 16) % 1000000 + 1
        lines.append(f"{2020 + (r >> 40) % 5}-{1 + (r >> 44) % 12:02}-{1 + (r >> 48) % 28:02} Entry {i}\n"
                     f"    {a}  {cents // 100}.{cents % 100:02} EUR\n    {b}\n")
    with open(f"{out}/chunk-{c:03}.json", "w") as f:
        json.dump({"journal": "\n".join(lines)}, f)
PY
started=$(date +%s)
for f in "$dir"/chunk-*.json; do
  $bin call --tenant bench ledger import-journal < "$f" >/dev/null
done
echo "imported $entries entries in $(( $(date +%s) - started )) s"

$bin serve --listen 127.0.0.1:18090 2>/dev/null &
for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/18090) 2>/dev/null && break; sleep 0.1; done
token=$(curl -s -X POST http://127.0.0.1:18090/v1/login \
  -d '{"tenant": "bench", "username": "clerk", "password": "a long password for the bench"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

echo "profile: $profile; $runs requests per page; ms to the last byte: p50 / p95 / max"
for page in \
  "/console/t/bench/" \
  "/console/t/bench/ledger/trial-balance" \
  "/console/t/bench/ledger/trial-balance?as-of=2022-06-30&depth=2" \
  "/console/t/bench/ledger/balance-sheet" \
  "/console/t/bench/ledger/register?account=assets:bank:checking&from=2024-12-01" \
  "/console/t/bench/ledger/register?account=assets:bank:checking" \
  "/console/t/bench/p/ledger/post-entry" \
  "/console/t/bench/p/ledger/list-accounts?_run=1" \
  "/console/t/bench/audit" \
  "/console/t/bench/jobs"; do
  url="http://127.0.0.1:18090$page"
  code=$(curl -s -o /dev/null -w '%{http_code}' -b "bo_session=$token" "$url")
  [ "$code" = 200 ] || { echo "$page answered $code" >&2; exit 1; }
  for _ in $(seq "$runs"); do
    curl -s -o /dev/null -w '%{time_total}\n' -b "bo_session=$token" "$url"
  done | sort -n | awk -v page="$page" '{ t[NR] = $1 * 1000 } END {
    printf "%-75s %7.1f / %7.1f / %7.1f\n", page, t[int(NR * 0.5) + 1], t[int(NR * 0.95)], t[NR] }'
done
