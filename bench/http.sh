#!/usr/bin/env bash
# HTTP benchmarks on loopback with wrk (closed loop; see the note on percentiles in
# bench/README.md). Measures, in one run:
#   1. /health on Emporium (all services, full middleware stack) vs a bare axum hello
#      world: requests/s and the ratio;
#   2. logins per second with the default Argon2id parameters.
# Usage: bench/http.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
target="${CARGO_TARGET_DIR:-target}"

if ! command -v wrk >/dev/null; then # from Debian's packages
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
scripts/ensure-services.sh postgres
cargo build --release --locked -p emporium --bin emporium --example hello

db="emporium_bench_$$"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export EMPORIUM_BIND=127.0.0.1:18080 RUST_LOG=warn
"$target/release/emporium" serve >/tmp/emporium-bench.log 2>&1 &
emporium_pid=$!
"$target/release/examples/hello" 127.0.0.1:18090 &
hello_pid=$!
cleanup() {
  kill "$emporium_pid" "$hello_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18080/ready >/dev/null && break; sleep 0.2; done

rps() { awk '/Requests\/sec/ {print $2}'; }
run() { wrk -t2 -c"$2" -d"${secs}s" --latency "$1" ${3:+-s "$3"}; }

echo "== /health, bare axum hello world"
hello=$(run http://127.0.0.1:18090/health 64 | tee /dev/stderr | rps)
echo "== /health, Emporium"
emporium=$(run http://127.0.0.1:18080/health 64 | tee /dev/stderr | rps)
echo "health ratio (emporium / bare axum): $(awk -v a="$emporium" -v b="$hello" 'BEGIN {printf "%.2f", a/b}')"

# Sixteen accounts in rotation: one account attempted by many connections at once would
# (rightly) trip the per-account throttle, which is not what this measures.
for i in $(seq 1 16); do
  curl -fs -X POST http://127.0.0.1:18080/api/v1/identity/register -H 'content-type: application/json' \
    -d "{\"email\":\"bench-$i-$$@example.com\",\"password\":\"correct horse battery\",\"name\":\"Bench\"}" >/dev/null
done
lua=$(mktemp)
cat >"$lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = '{"email":"bench-' .. ((n % 16) + 1) .. '-$$@example.com","password":"correct horse battery"}'
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx: %d\n", summary.errors.status))
end
LUA
echo "== POST /api/v1/identity/login (Argon2id m=${ARGON2_MEMORY_KIB:-19456} KiB, t=${ARGON2_ITERATIONS:-2}, p=${ARGON2_PARALLELISM:-1})"
logins=$(run http://127.0.0.1:18080/api/v1/identity/login 8 "$lua" | tee /dev/stderr | rps)
rm -f "$lua"
echo "summary: hello=$hello rps, emporium_health=$emporium rps, logins=$logins per second"
