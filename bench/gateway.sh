#!/usr/bin/env bash
# The gateway's cost and the one-process mode's PostgreSQL connections, in one run:
#   1. product detail (100 published products in rotation) straight to `emporium serve`
#      and through `emporium gateway` in front of it: requests/s, p50/p99, the ratio;
#   2. /health straight to the service and the gateway's own /health;
#   3. PostgreSQL connections `emporium serve` holds (pg_stat_activity, by its
#      application_name) at the peak of the load and after 20 s idle.
# Usage: bench/gateway.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
name=gateway port=18082
. bench/lib.sh

echo "== seed --demo"
"$bin" seed --demo 2>&1 | tail -1
start_server

gateway_port=18083
gateway_base="http://127.0.0.1:$gateway_port"
env $(for s in identity vendors catalog search inventory cart shipping tax promotions payments orders notifications reviews web; do
        printf '%s_URL=%s ' "$(echo "$s" | tr a-z A-Z)" "$base"; done) \
  GATEWAY_RATE_PER_CLIENT=1000000000 GATEWAY_RATE_PER_USER=1000000000 \
  "$bin" gateway --bind "127.0.0.1:$gateway_port" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
trap 'kill $gateway_pid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do curl -fs "$gateway_base/ready" >/dev/null && break; sleep 0.2; done

detail_script

connections() {
  psql -h 127.0.0.1 -U postgres -d postgres -Atc \
    "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND application_name LIKE 'emporium-%'"
}
rps() { awk '/Requests\/sec/ {print $2}'; }
# Refusals would flatter a rate: each run must have answered every request with 2xx.
errors() { awk '/Non-2xx|Socket errors/ {print}'; }
lat() { awk '$1 == "50%" {p50=$2} $1 == "99%" {p99=$2} END {print p50 " / " p99}'; }
run() { wrk -t2 -c32 -d"${secs}s" --latency "$1" ${2:+-s "$2"}; }

peak=0
sample() { while :; do c=$(connections); [ "$c" -gt "$peak" ] && peak=$c && echo "$peak" >"$work/peak"; sleep 0.1; done; }
sample & sampler=$!

# Warm the product cache first, so neither side pays for filling it.
wrk -t2 -c32 -d3s -s "$work/detail.lua" "$base/api/v1/catalog/products/x" >/dev/null
direct=$(run "$base/api/v1/catalog/products/x" "$work/detail.lua")
through=$(run "$gateway_base/api/v1/catalog/products/x" "$work/detail.lua")
health_direct=$(run "$base/health")
health_gateway=$(run "$gateway_base/health")
kill $sampler 2>/dev/null || true

echo "== product detail (100 products in rotation, wrk -t2 -c32, ${secs}s each)"
echo "straight to serve:  $(echo "$direct" | rps) req/s, p50/p99 $(echo "$direct" | lat)"
echo "through the gateway: $(echo "$through" | rps) req/s, p50/p99 $(echo "$through" | lat)"
for run_output in "$direct" "$through"; do echo "$run_output" | errors; done
awk -v a="$(echo "$through" | rps)" -v b="$(echo "$direct" | rps)" 'BEGIN { printf "ratio (gateway / direct): %.2f\n", a / b }'
echo "== /health"
echo "serve's /health:     $(echo "$health_direct" | rps) req/s"
echo "gateway's /health:   $(echo "$health_gateway" | rps) req/s"
echo "== PostgreSQL connections held by emporium serve (DATABASE_MAX_CONNECTIONS=${DATABASE_MAX_CONNECTIONS:-20})"
echo "peak under load: $(cat "$work/peak" 2>/dev/null || echo 0)"
sleep 20
echo "after 20 s idle: $(connections)"
