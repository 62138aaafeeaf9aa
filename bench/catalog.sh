#!/usr/bin/env bash
# Catalog and search under load, with N products (default 100 000), in one run:
#   - seeding time (`seed --demo`, then `seed --products N`) and the full search
#     reindex it ends with (documents/s);
#   - product detail GET, cached (100 products in rotation) and uncached (every request
#     a different product, so every one misses the cache);
#   - category listing with two filters; search with text and two facets;
#   - `pgbench -S` (select-only) TPS on the same machine, and the uncached detail rate
#     as a ratio of it;
#   - resident memory of the server after the load;
#   - search freshness: from a publish's commit to the first search that finds it.
# Usage: bench/catalog.sh [N products] [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
secs="${2:-10}"
name=catalog port=18081
. bench/lib.sh

echo "== seed --demo"
"$bin" seed --demo 2>&1 | tail -1
echo "== seed --products $n"
"$bin" seed --products "$n" 2>&1 | grep -v '^products: [0-9]*/' | grep -v '^indexed: [0-9]*/'

start_server

# Product ids as the API writes them (prd_ + 32 hex digits).
q "SELECT 'prd_' || replace(id::text, '-', '') FROM catalog.products WHERE status = 'published' ORDER BY random() LIMIT 200000" >"$work/ids"
lua() { # $1: how many ids to rotate over
  cat >"$work/detail-$1.lua" <<LUA
local ids = {}
for line in io.lines("$work/ids") do
  ids[#ids + 1] = line
  if #ids >= $1 then break end
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/catalog/products/" .. ids[(n % #ids) + 1])
end
LUA
  echo "$work/detail-$1.lua"
}
run() { wrk -t2 -c32 -d"${secs}s" --latency "$@"; }
summary() { awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%s req/s, p50 %s, p99 %s", r, p50, p99}'; }
root=$(q "SELECT slug FROM catalog.categories WHERE parent_id IS NULL ORDER BY position, name LIMIT 1")

# The uncached run first: each request asks for a product nobody asked for before.
echo "== product detail, uncached (every request a different product)"
uncached=$(run -s "$(lua 200000)" "$base" | tee "$work/uncached.txt" | summary)
grep -q "Socket errors" "$work/uncached.txt" && grep "Socket errors" "$work/uncached.txt"
echo "$uncached"
echo "== product detail, cached (100 products in rotation)"
run -s "$(lua 100)" "$base" >/dev/null # warm
cached=$(run -s "$(lua 100)" "$base" | summary)
echo "$cached"
echo "== category listing, two filters: category=$root&attr.color=red&min_price=1000"
listing=$(run "$base/api/v1/catalog/products?category=$root&attr.color=red&min_price=1000" | summary)
echo "$listing"
# Search: text plus two facet filters. Uncached: 12 000 distinct queries in rotation,
# so (at these rates) none repeats; cached: one query, as popular searches repeat.
cat >"$work/search.lua" <<'LUA'
local queries = {}
for _, adj in ipairs({"Classic","Soft","Grand","Little","Rustic","Minimal","Heritage","Everyday","Bold","Quiet"}) do
  for _, material in ipairs({"cotton","linen","leather","wool","silk","ceramic","steel","oak","glass","paper"}) do
    for _, noun in ipairs({"shirt","bag","vase","mug","scarf","lamp","notebook","knife","candle","bowl","chair","jacket"}) do
      for _, color in ipairs({"red","blue","green","black","white","ochre","plum","sand","teal","grey"}) do
        queries[#queries + 1] = "/api/v1/search/products?q=" .. material .. "+" .. noun ..
          "&brand=" .. adj .. "+Goods&attr.color=" .. color
      end
    end
  end
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", queries[(n * 7919) % #queries + 1])
end
LUA
echo "== search, text and two facets, uncached (12 000 distinct queries)"
search=$(run -s "$work/search.lua" "$base" | summary)
echo "$search"
echo "== search, text and two facets, repeated: q=cotton shirt, brand, color"
run "$base/api/v1/search/products?q=cotton+shirt&brand=Classic+Goods&attr.color=red" >/dev/null
search_cached=$(run "$base/api/v1/search/products?q=cotton+shirt&brand=Classic+Goods&attr.color=red" | summary)
echo "$search_cached"
echo "== search freshness: publish to searchable"
freshness=$(python3 bench/freshness.py "$base" 30)
echo "$freshness"
rss=$(ps -o rss= -p "$server_pid" | awk '{printf "%.0f MiB", $1/1024}')
echo "== server resident memory after the load: $rss"

echo "== pgbench -S (select-only), 32 clients, same machine"
pgdb="${db}_pgbench"
psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $pgdb" >/dev/null
pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "$pgdb" >/dev/null 2>&1
pg_tps=$(pgbench -h 127.0.0.1 -U postgres -S -c 32 -j 2 -T "$secs" "$pgdb" 2>/dev/null | awk '/^tps/ {print $3; exit}')
echo "pgbench -S: $pg_tps TPS"
detail_rps=$(echo "$uncached" | awk '{print $1}')
echo "summary (N=$n): uncached detail $uncached | cached detail $cached | listing $listing | search $search | search repeated $search_cached | pgbench -S $pg_tps TPS | uncached detail / pgbench -S = $(awk -v a="$detail_rps" -v b="$pg_tps" 'BEGIN {printf "%.2f", a/b}') | RSS $rss | $freshness"
