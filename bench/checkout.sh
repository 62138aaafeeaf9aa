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
name=checkout port=18082
. bench/lib.sh

echo "== seed --demo"
"$bin" seed --demo 2>&1 | tail -1
start_server
hex() { echo "replace($1::text, '-', '')"; }
q "SELECT 'var_' || $(hex v.id) || ' sto_' || $(hex p.store_id) || ' shp_' ||
          (SELECT $(hex m.id) FROM shipping.methods m WHERE m.store_id = p.store_id LIMIT 1) ||
          ' owner@' || s.slug || '.demo.emporium.localhost'
   FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
   JOIN catalog.stores s ON s.id = p.store_id ORDER BY v.id" | tr '|' ' ' >"$work/variants"

echo "== checkouts ($workers customers in parallel, ${secs}s each)"
python3 bench/checkout.py "$base" "$work/variants" "$secs" "$workers" "$work/tokens"

echo "== cart add (wrk -t2 -c32: PUT a cart line; the $workers customers in rotation, carts of up to 8 lines)"
cut -d' ' -f1 "$work/variants" >"$work/variant-ids"
cat >"$work/cart.lua" <<LUA
local tokens, variants = {}, {}
for line in io.lines("$work/tokens") do tokens[#tokens + 1] = line end
for line in io.lines("$work/variant-ids") do variants[#variants + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("PUT", "/api/v1/cart/lines/" .. variants[math.floor(n / #tokens) % 8 + 1],
    { ["authorization"] = "Bearer " .. tokens[(n % #tokens) + 1], ["content-type"] = "application/json" },
    '{"quantity": 1}')
end
LUA
wrk -t2 -c32 -d"${secs}s" --latency -s "$work/cart.lua" "$base" |
  awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s\n", r, p50, p99, bad+0}'

echo "== pgbench TPC-B-like (16 clients, ${secs}s)"
createdb -h 127.0.0.1 -U postgres "${db}_pgbench"
pgbench -h 127.0.0.1 -U postgres -i -q -s 10 "${db}_pgbench" >/dev/null 2>&1
pgbench -h 127.0.0.1 -U postgres -c 16 -j 2 -T "$secs" -n "${db}_pgbench" 2>/dev/null | grep -E '^tps'
