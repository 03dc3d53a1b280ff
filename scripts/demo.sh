#!/usr/bin/env bash
# Build everything and start a host with every bundled plugin installed and enabled
# for the tenant "demo", on the embedded SQLite default.
#   BACKOFFICE_DATA_DIR  where data lives (default: ./.backoffice)
#   BACKOFFICE_LISTEN    address to serve on (default: 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh --plugins-only
cargo build --locked --workspace --bins
bin=target/debug/backoffice
export BACKOFFICE_DATA_DIR="${BACKOFFICE_DATA_DIR:-$PWD/.backoffice}"
wasm_dir=target/wasm/wasm32-wasip2/release

# The bundled plugins are published by vendor "backoffice": make a demo signing key
# (kept beside the data), trust it, and sign each package, as a vendor and an admin
# would. Real vendors keep their .key private and hand admins only the .pub file.
# The signed copies live beside the data, so the build output stays unsigned (a
# signature left beside a later rebuild would no longer match it).
keys="$BACKOFFICE_DATA_DIR/demo-keys"
packages="$BACKOFFICE_DATA_DIR/demo-packages"
mkdir -p "$packages"
if [ ! -f "$keys/backoffice.key" ]; then
  "$bin" keygen --name backoffice --out "$keys"
fi
if ! "$bin" trust list --json | grep -q '"name": "backoffice"'; then
  "$bin" trust add "$keys/backoffice.pub" --name backoffice
fi
for manifest in plugins/*/plugin.toml; do
  crate=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$(dirname "$manifest")/Cargo.toml" | head -n1 | tr - _)
  cp "$wasm_dir/$crate.wasm" "$packages/$crate.wasm"
  "$bin" plugin sign --key "$keys/backoffice.key" "$packages/$crate.wasm" >/dev/null
done

if ! "$bin" tenant list --json | grep -q '"id": "demo"'; then
  "$bin" tenant create demo --name "Demo Company" --time-zone Europe/London
fi

# Install and enable each bundled plugin; repeat passes so dependencies go first.
pending=()
for manifest in plugins/*/plugin.toml; do
  pending+=("$(dirname "$manifest")")
done
while [ ${#pending[@]} -gt 0 ]; do
  left=()
  for dir in "${pending[@]}"; do
    id=$(sed -n 's/^id *= *"\(.*\)"/\1/p' "$dir/plugin.toml")
    crate=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n1 | tr - _)
    if { "$bin" plugin info "$id" >/dev/null 2>&1 || "$bin" plugin install "$packages/$crate.wasm" --yes; } \
       && "$bin" plugin enable "$id" --tenant demo; then
      :
    else
      left+=("$dir")
    fi
  done
  if [ ${#left[@]} -eq ${#pending[@]} ]; then
    echo "could not install: ${left[*]}" >&2
    exit 1
  fi
  pending=("${left[@]}")
done

"$bin" plugin list

# A tenant administrator to sign in with, and an API token for scripts.
listen="${BACKOFFICE_LISTEN:-127.0.0.1:8080}"
if ! "$bin" user list --tenant demo --json | grep -q '"username": "admin"'; then
  password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s' "$password" | "$bin" user create admin --tenant demo --display-name "Demo Admin" --password-stdin
  "$bin" user assign-role admin admin --tenant demo
  echo "sign in as admin (tenant demo) with password: $password"
fi
token=$("$bin" token create --user admin --tenant demo --name demo-shell --expires-in 7d)
echo "try: curl -s -H 'Authorization: Bearer $token' -X POST http://$listen/v1/tenants/demo/plugins/contacts/list -d '{}'"
exec "$bin" serve --listen "$listen"
