#!/usr/bin/env bash
# One process against the distributed topology, in one run on one machine, each seeded
# with `seed --demo`:
#   - checkouts/s through the whole saga (bench/checkout.py: many variants, one hot
#     variant), p50/p99;
#   - product detail (100 published products in rotation, cache warmed) with wrk;
# first straight to `emporium serve` (every service in one process, one database),
# then through the gateway of `emporium topology` (every service in its own process
# with its own database, two replicas of catalog, search and web, RabbitMQ, Redis).
# Usage: bench/topology.sh [seconds per run, default 10] [customers, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
workers="${2:-16}"
name=topology port=18092
. bench/lib.sh
scripts/ensure-services.sh

server="postgres://postgres@127.0.0.1:5432"
apart="${db}_apart"
services_with_db="identity vendors catalog inventory cart shipping tax promotions payments orders notifications reviews"
hex() { echo "replace($1::text, '-', '')"; }
on() { psql -h 127.0.0.1 -U postgres -d "$1" -Atc "$2"; }

# One "var_… sto_… shp_… owner-email" line per variant (bench/checkout.py's input), from
# catalog's and shipping's databases (the same one in one process).
variants() {
  on "$1" "SELECT 'var_' || $(hex v.id), 'sto_' || $(hex p.store_id), 'owner@' || s.slug || '.demo.emporium.localhost'
           FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
           JOIN catalog.stores s ON s.id = p.store_id ORDER BY v.id" | tr '|' ' ' >"$work/catalog-variants"
  on "$2" "SELECT DISTINCT ON (store_id) 'sto_' || $(hex store_id), 'shp_' || $(hex id)
           FROM shipping.methods ORDER BY store_id, id" | tr '|' ' ' >"$work/methods"
  awk 'NR == FNR {m[$1] = $2; next} ($2 in m) {print $1, $2, m[$2], $3}' \
    "$work/methods" "$work/catalog-variants" >"$work/variants"
}

# CPU ticks so far of each member named in $members ("name=pid,…"), summed per name.
ticks() {
  tr ',' '\n' <<<"${members:-}" | while IFS== read -r n pid; do
    if [ -n "$n" ]; then echo "$n $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$pid/stat")"; fi
  done | awk '{t[$1] += $2} END {for (n in t) print n, t[n]}' | sort
}

detail() {
  detail_script "$1"
  wrk -t2 -c32 -d3s -s "$work/detail.lua" "$2/api/v1/catalog/products/x" >/dev/null
  before=$(ticks)
  wrk -t2 -c32 -d"${secs}s" --latency -s "$work/detail.lua" "$2/api/v1/catalog/products/x" >"$work/wrk"
  awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx|Socket errors/ {bad=bad " " $0}
       END {printf "product detail: %s req/s, p50 %s, p99 %s%s\n", r, p50, p99, bad}' "$work/wrk"
  if [ -n "${members:-}" ]; then
    requests=$(awk '/requests in/ {print $1}' "$work/wrk")
    echo "  CPU per view of the processes that served it, and views/s one core of each carries:"
    join <(echo "$before") <(ticks) | awk -v n="$requests" -v hz="$(getconf CLK_TCK)" \
      '{ms = ($3 - $2) * 1000 / hz / n} ms > 0.001 {printf "    %-14s %6.3f ms  %.0f/s\n", $1, ms, 1000 / ms}'
  fi
}

echo "== one process: seed --demo, emporium serve"
"$bin" seed --demo 2>&1 | tail -1
start_server
variants "$db" "$db"
python3 bench/checkout.py "$base" "$work/variants" "$secs" "$workers"
detail "$db" "$base"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

echo "== apart: seed --demo into a database per service, emporium topology"
drop_apart() {
  for s in $services_with_db search_1 search_2; do
    psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists ${apart}_$s with (force)" >/dev/null 2>&1 || true
  done
}
topology_pid=
trap '[ -n "$topology_pid" ] && kill "$topology_pid" 2>/dev/null; wait 2>/dev/null; drop_apart; cleanup' EXIT
env $(for s in $services_with_db; do printf '%s_DATABASE_URL=%s/%s_%s ' "$(echo "$s" | tr a-z A-Z)" "$server" "$apart" "$s"; done) \
  DATABASE_MAX_CONNECTIONS=40 "$bin" seed --demo 2>&1 | tail -1
gateway="http://127.0.0.1:18100"
DATABASE_URL="$server/$apart" GATEWAY_RATE_PER_CLIENT=1000000000 GATEWAY_RATE_PER_USER=1000000000 \
  GATEWAY_RATE_SIGN_IN=1000000 GATEWAY_RATE_REGISTRATION=1000000 GATEWAY_RATE_CHECKOUT=1000000 \
  "$bin" topology --bind 127.0.0.1:18100 --first-port 18101 --data-dir "$work" >"$work/topology.log" 2>&1 &
topology_pid=$!
for _ in $(seq 1 300); do curl -fs "$gateway/ready" >/dev/null && break; sleep 0.2; done
curl -fs "$gateway/ready" >/dev/null || { tail -20 "$work/topology.log"; exit 1; }
variants "${apart}_catalog" "${apart}_shipping"
# Each member process by the service it runs (the gateway as itself), for checkout.py
# to count the CPU each spends per checkout.
members=$(for pid in $(pgrep -P "$topology_pid"); do
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  case "$cmd" in
    *" gateway "*) printf 'gateway=%s,' "$pid" ;;
    *--services*) printf '%s=%s,' "$(sed -E 's/.*--services ([a-z]+).*/\1/' <<<"$cmd")" "$pid" ;;
  esac
done)
CPU_OF="$members" python3 bench/checkout.py "$gateway" "$work/variants" "$secs" "$workers"
detail "${apart}_catalog" "$gateway"
