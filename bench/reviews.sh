#!/usr/bin/env bash
# What reviews cost, in one run: a product page with its rating summary and first
# reviews against the same page built by a binary from before reviews (each on its
# own database seeded by `seed --demo`, so both have the same products), and search
# with a rating filter against the same search without it.
# Usage: PREVIOUS_BIN=<a release build from before reviews> bench/reviews.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
name=reviews port=18094
prev="${PREVIOUS_BIN:?set PREVIOUS_BIN to a release build of a commit before reviews (e.g. 255b18e)}"
. bench/lib.sh

echo "== seed --demo (this build, then the previous one on its own database)"
"$bin" seed --demo 2>&1 | tail -1
prev_db="${db}_before"
prev_url="postgres://postgres@127.0.0.1:5432/$prev_db"
DATABASE_URL="$prev_url" SEARCH_INDEX_DIR="$work/index-before" "$prev" seed --demo 2>&1 | tail -1
start_server
prev_port=18095
prev_base="http://127.0.0.1:$prev_port"
DATABASE_URL="$prev_url" EMPORIUM_BIND="127.0.0.1:$prev_port" SEARCH_INDEX_DIR="$work/index-before" \
  "$prev" serve >"$work/server-before.log" 2>&1 &
prev_pid=$!
trap 'kill $prev_pid 2>/dev/null || true; cleanup; psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $prev_db with (force)" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 150); do curl -fs "$prev_base/ready" >/dev/null && break; sleep 0.2; done

# The most reviewed product's page (the demo seed reviews twenty products).
page=$(q "SELECT '/p/' || s.slug || '/' || p.slug FROM reviews.product_ratings r
          JOIN catalog.products p ON p.id = r.product_id JOIN catalog.stores s ON s.id = p.store_id
          ORDER BY r.stars[5] + r.stars[4] + r.stars[3] + r.stars[2] + r.stars[1] DESC, p.slug LIMIT 1")
echo "== $page"
curl -fs "$base$page" | grep -q 'id="reviews"' || { echo "no reviews on $page"; exit 1; }

rps() { awk '/Requests\/sec/ {print $2}'; }
run() { wrk -t2 -c32 -d"${secs}s" "$1" | rps; }
for url in "$base$page" "$prev_base$page"; do wrk -t2 -c32 -d3s "$url" >/dev/null; done
declare -A total=()
for round in 1 2; do
  now=$(run "$base$page")
  before=$(run "$prev_base$page")
  plain=$(run "$base/api/v1/search/products?q=linen")
  rated=$(run "$base/api/v1/search/products?q=linen&min_rating=4&sort=rating")
  echo "round $round: product page $now req/s (before reviews $before); search $plain req/s, with min_rating=4 and sort=rating $rated"
  for k in now before plain rated; do
    total[$k]=$(awk -v a="${total[$k]:-0}" -v b="${!k}" 'BEGIN { print a + b }')
  done
done
echo "== sums of both rounds"
awk -v n="${total[now]}" -v b="${total[before]}" 'BEGIN { printf "product page with reviews / before: %.3f\n", n / b }'
awk -v r="${total[rated]}" -v p="${total[plain]}" 'BEGIN { printf "search with a rating filter / without: %.3f\n", r / p }'
