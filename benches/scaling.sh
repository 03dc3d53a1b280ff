#!/usr/bin/env bash
# Scaling benchmark (not a test): requests/s of the HTTP read and write operations
# with one host on SQLite, one host on PostgreSQL and two hosts on the same
# PostgreSQL, in one run on this machine, measured with wrk.
#   read:  probe.get (one storage read), tenant acme
#   write: probe.touch (read-modify-write of one key, audited in the same
#          transaction) spread over TENANTS tenants (default 8): writers of one
#          tenant run one at a time on every backend, writers of different tenants
#          in parallel on PostgreSQL
#   CONNECTIONS (default 32 per host... split in two for two hosts), DURATION (default 10s)
# Needs wrk and PostgreSQL (apt-get install wrk postgresql); starts a throwaway
# PostgreSQL server (as the postgres user when run as root) and stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${CONNECTIONS:-32}
duration=${DURATION:-10s}
tenants=${TENANTS:-8}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL is needed: apt-get install postgresql" >&2; exit 1; }
bash scripts/build-wasm.sh >/dev/null
cargo build --release --locked -q -p backoffice-api --bin backoffice
bin=$PWD/target/release/backoffice
dir=$(mktemp -d)
chmod 755 "$dir"
as_pg=()
[ "$(id -u)" = 0 ] && { as_pg=(runuser -u postgres --); chown postgres "$dir"; }
pgport=$((20000 + RANDOM % 20000))
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${as_pg[@]}" "$pgbin/initdb" -D "$dir/pg" -U postgres -A trust --locale=C -E UTF8 >/dev/null
# Durable commits, as the SQLite side (durability full) has.
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/log" -w start \
  -o "-p $pgport -k $dir/pg -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
"${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres bench
pgurl="postgres://postgres@127.0.0.1:$pgport/bench"

# The same installation on each backend: tenants, the probe plugin, a token.
setup() { # $1: data dir, $2: database URL or empty
  local -x BACKOFFICE_DATA_DIR=$1 BACKOFFICE_LOG=warn
  [ -n "$2" ] && local -x BACKOFFICE_DATABASE_URL=$2
  $bin plugin install target/wasm/wasm32-wasip2/release/probe.wasm --yes --allow-unsigned >/dev/null
  for t in $(seq "$tenants"); do
    $bin tenant create "t$t" >/dev/null
    $bin plugin enable probe --tenant "t$t" >/dev/null
  done
  $bin tenant create acme >/dev/null
  $bin plugin enable probe --tenant acme >/dev/null
  $bin call --tenant acme probe put --input '{"key":"k","value":{"answer":42}}' >/dev/null
  $bin user create bench --system-admin >/dev/null
  $bin token create --user bench --system-admin --name bench 2>/dev/null
}
mkdir -p "$dir/sqlite" "$dir/a" "$dir/b"
token_sqlite=$(setup "$dir/sqlite" "")
token_pg=$(setup "$dir/a" "$pgurl")

serve() { # $1: data dir, $2: port, $3: database URL or empty
  if [ -n "$3" ]; then
    BACKOFFICE_DATA_DIR=$1 BACKOFFICE_DATABASE_URL=$3 BACKOFFICE_LOG=warn $bin serve --listen "127.0.0.1:$2" 2>/dev/null &
  else
    BACKOFFICE_DATA_DIR=$1 BACKOFFICE_LOG=warn $bin serve --listen "127.0.0.1:$2" 2>/dev/null &
  fi
  for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$2) 2>/dev/null && return; sleep 0.1; done
  echo "host on port $2 did not start" >&2; exit 1
}
serve "$dir/sqlite" 18090 ""
serve "$dir/a" 18091 "$pgurl"
serve "$dir/b" 18092 "$pgurl"

script() { # $1: token, $2: read|write
  cat > "$dir/$2-$1.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local path, body
  if "$2" == "read" then
    path = "/v1/tenants/acme/plugins/probe/get"; body = '{"key":"k"}'
  else
    path = "/v1/tenants/t" .. (n % $tenants + 1) .. "/plugins/probe/touch"; body = '{"key":"hits"}'
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer $1"}, body)
end
LUA
  echo "$dir/$2-$1.lua"
}
# Check the routes answer before loading them.
curl -sf -X POST -H "Authorization: Bearer $token_sqlite" -d '{"key":"k"}' \
  "http://127.0.0.1:18090/v1/tenants/acme/plugins/probe/get" >/dev/null
for port in 18091 18092; do
  curl -sf -X POST -H "Authorization: Bearer $token_pg" -d '{"key":"hits"}' \
    "http://127.0.0.1:$port/v1/tenants/t1/plugins/probe/touch" >/dev/null
done

rps() { # wrk output -> requests/s
  awk '/Requests\/sec/ {print $2}'
}
errors() {
  awk '/Non-2xx|Socket errors/ {printf "%s ", $0}'
}
one() { # $1: port, $2: lua, $3: connections
  wrk -t1 -c"$3" -d"$duration" -s "$2" "http://127.0.0.1:$1" > "$dir/out.$1"
  echo "$(rps < "$dir/out.$1") $(errors < "$dir/out.$1")"
}
two() { # $1: lua; half the connections on each PostgreSQL host at once
  local half=$((connections / 2))
  wrk -t1 -c"$half" -d"$duration" -s "$1" "http://127.0.0.1:18091" > "$dir/out.a" &
  local first=$!
  wrk -t1 -c"$half" -d"$duration" -s "$1" "http://127.0.0.1:18092" > "$dir/out.b"
  wait "$first"
  local a b
  a=$(rps < "$dir/out.a"); b=$(rps < "$dir/out.b")
  echo "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", a + b}') (A $a + B $b) $(errors < "$dir/out.a")$(errors < "$dir/out.b")"
}

echo "connections=$connections duration=$duration tenants(write)=$tenants cores=$(nproc)"
for op in read write; do
  s=$(one 18090 "$(script "$token_sqlite" $op)" "$connections")
  p1=$(one 18091 "$(script "$token_pg" $op)" "$connections")
  p2=$(two "$(script "$token_pg" $op)")
  echo "$op  sqlite-1-host: $s"
  echo "$op  postgres-1-host: $p1"
  echo "$op  postgres-2-hosts: $p2"
done
