#!/usr/bin/env bash
# What tracing costs, in one run: two `emporium serve` on the same seeded database, one
# without an OTLP endpoint (tracing off) and one exporting to a local receiver with 10 %
# of traces sampled (OTEL_TRACES_SAMPLER_ARG=0.1, or the second argument), loaded in turn (off, on, off, on)
# on /health and on product detail (100 published products in rotation, cache warm):
# requests/s of each and the ratio on/off, and the server's CPU per request (from
# /proc, so the load generator's share of the 2 cores does not blur it). The receiver (Python, stdlib) answers every
# export and counts the bytes it got, so the exporter's work is real.
# Usage: bench/tracing.sh [seconds per run, default 10] [share of traces sampled, default 0.1]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
ratio="${2:-0.1}"
name=tracing port=18084
. bench/lib.sh

echo "== seed --demo"
"$bin" seed --demo 2>&1 | tail -1

receiver_port=18086
python3 - "$receiver_port" >"$work/receiver.log" 2>&1 <<'PY' &
import http.server, sys
received = 0
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global received
        received += len(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
        print(received, flush=True)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
PY
receiver_pid=$!

off="http://127.0.0.1:$port"
start_server
on_port=18085
on="http://127.0.0.1:$on_port"
EMPORIUM_BIND="127.0.0.1:$on_port" SEARCH_INDEX_DIR="$work/index-on" \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$receiver_port" OTEL_TRACES_SAMPLER_ARG="$ratio" \
  "$bin" serve >"$work/server-on.log" 2>&1 &
on_pid=$!
trap 'kill $on_pid $receiver_pid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 150); do curl -fs "$on/ready" >/dev/null && break; sleep 0.2; done

detail_script
rps() { awk '/Requests\/sec/ {print $2}'; }
errors() { awk '/Non-2xx|Socket errors/ {print}'; }
run() { wrk -t2 -c32 -d"${secs}s" --latency "$1" ${2:+-s "$2"}; }

# Warm both product caches first.
for base in "$off" "$on"; do
  wrk -t2 -c32 -d3s -s "$work/detail.lua" "$base/api/v1/catalog/products/x" >/dev/null
done

# CPU seconds (user + system) the process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"; }
# Runs wrk against $2 and prints "<req/s> <µs of the server's CPU per request>".
measured() {
  local before out
  before=$(cpu "$1")
  out=$(run "$2" ${3:+"$3"})
  echo "$out" | errors >&2
  awk -v b="$before" -v a="$(cpu "$1")" '/Requests\/sec/ {r=$2} /requests in/ {n=$1}
    END {printf "%s %.1f\n", r, (a - b) * 1e6 / n}' <<<"$out"
}

declare -A total=()
for round in 1 2; do
  for side in off on; do
    base=$off pid=$server_pid
    [ "$side" = on ] && base=$on pid=$on_pid
    read -r h h_cpu < <(measured "$pid" "$base/health")
    read -r d d_cpu < <(measured "$pid" "$base/api/v1/catalog/products/x" "$work/detail.lua")
    echo "round $round, tracing $side: /health $h req/s ($h_cpu µs CPU each), product detail $d req/s ($d_cpu µs CPU each)"
    total[$side-health]=$(awk -v a="${total[$side-health]:-0}" -v b="$h" 'BEGIN { print a + b }')
    total[$side-detail]=$(awk -v a="${total[$side-detail]:-0}" -v b="$d" 'BEGIN { print a + b }')
  done
done
echo "== on / off (sums of both rounds)"
for what in health detail; do
  awk -v on="${total[on-$what]}" -v off="${total[off-$what]}" -v w="$what" \
    'BEGIN { printf "%s: %.3f\n", w, on / off }'
done
echo "OTLP bytes received: $(tail -1 "$work/receiver.log" 2>/dev/null || echo 0)"
