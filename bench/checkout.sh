#!/usr/bin/env bash
# Checkout under load, in one run on one machine:
#   - checkouts/s through the whole saga (price, reserve, authorize, order, capture,
#     ledger) with many distinct variants and with one hot variant, p50/p99
#     (bench/checkout.py: W customers in parallel, each buying one item per checkout);
#   - cart adds per second (wrk: PUT a cart line, one customer);
#   - pgbench TPC-B-like TPS (16 clients) beside them, for the ratio.
# Usage: bench/checkout.sh [seconds per run, default 10] [workers, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
workers="${2:-16}"
target="${CARGO_TARGET_DIR:-target}"
# The load generators come from Debian's packages.
if ! command -v wrk >/dev/null || ! command -v pgbench >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk postgresql-contrib >/dev/null
fi
scripts/ensure-services.sh postgres
cargo build --release --locked -p emporium --bin emporium

db="emporium_bench_checkout_$$"
work=$(mktemp -d)
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export EMPORIUM_BIND=127.0.0.1:18082 RUST_LOG=warn LOG_FORMAT=pretty
export MEDIA_DIR="$work/media" SEARCH_INDEX_DIR="$work/index"
bin="$target/release/emporium"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists ${db}_pgbench with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== seed --demo"
"$bin" seed --demo 2>&1 | tail -1
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
base="http://$EMPORIUM_BIND"
for _ in $(seq 1 150); do curl -fs "$base/ready" >/dev/null && break; sleep 0.2; done

q() { psql -h 127.0.0.1 -U postgres -d "$db" -Atc "$1"; }
hex() { echo "replace($1::text, '-', '')"; }
q "SELECT 'var_' || $(hex v.id) || ' sto_' || $(hex p.store_id) || ' shp_' ||
          (SELECT $(hex m.id) FROM shipping.methods m WHERE m.store_id = p.store_id LIMIT 1) ||
          ' owner@' || s.slug || '.demo.emporium.localhost'
   FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
   JOIN catalog.stores s ON s.id = p.store_id ORDER BY v.id" | tr '|' ' ' >"$work/variants"

echo "== checkouts ($workers customers in parallel, ${secs}s each)"
python3 bench/checkout.py "$base" "$work/variants" "$secs" "$workers"

echo "== cart add (wrk -t2 -c32: PUT a cart line)"
token=$(curl -fs "$base/api/v1/identity/login" -H 'content-type: application/json' \
  -d '{"email":"customer1@demo.emporium.localhost","password":"emporium-demo-password"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
variant=$(sed -n 2p "$work/variants" | cut -d' ' -f1)
cat >"$work/cart.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("PUT", "/api/v1/cart/lines/$variant",
    { ["authorization"] = "Bearer $token", ["content-type"] = "application/json" },
    '{"quantity": ' .. (n % 3 + 1) .. '}')
end
LUA
wrk -t2 -c32 -d"${secs}s" --latency -s "$work/cart.lua" "$base" |
  awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s\n", r, p50, p99, bad+0}'

echo "== pgbench TPC-B-like (16 clients, ${secs}s)"
createdb -h 127.0.0.1 -U postgres "${db}_pgbench"
pgbench -h 127.0.0.1 -U postgres -i -q -s 10 "${db}_pgbench" >/dev/null 2>&1
pgbench -h 127.0.0.1 -U postgres -c 16 -j 2 -T "$secs" -n "${db}_pgbench" 2>/dev/null | grep -E '^tps'
