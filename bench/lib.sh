# Shared by the benchmark scripts (sourced, from the repository root): the load tools,
# a release build, a scratch database and directory removed on exit, and the server.
# Set `name` (the database suffix) and `port` before sourcing.

target="${CARGO_TARGET_DIR:-target}"
# The load generators come from Debian's packages.
if ! command -v wrk >/dev/null || ! command -v pgbench >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk postgresql-contrib >/dev/null
fi
scripts/ensure-services.sh postgres
# EMPORIUM_BIN runs a binary built elsewhere (another commit, for a before/after
# comparison in one run); otherwise this tree's release build.
if [ -z "${EMPORIUM_BIN:-}" ]; then
  cargo build --release --locked -p emporium --bin emporium
fi

db="emporium_bench_${name}_$$"
work=$(mktemp -d)
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export EMPORIUM_BIND="127.0.0.1:$port" RUST_LOG=warn LOG_FORMAT=pretty
export MEDIA_DIR="$work/media" SEARCH_INDEX_DIR="$work/index"
bin="${EMPORIUM_BIN:-$target/release/emporium}"
base="http://$EMPORIUM_BIND"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists ${db}_pgbench with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts `emporium serve` in the background and waits until it is ready.
start_server() {
  "$bin" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do curl -fs "$base/ready" >/dev/null && break; sleep 0.2; done
}

q() { psql -h 127.0.0.1 -U postgres -d "$db" -Atc "$1"; }

# Writes $work/detail.lua: wrk asks for the product details of 100 published products
# (ids from catalog's database $1, default the bench database) in rotation.
detail_script() {
  psql -h 127.0.0.1 -U postgres -d "${1:-$db}" -Atc \
    "SELECT 'prd_' || replace(id::text, '-', '') FROM catalog.products WHERE status = 'published' LIMIT 100" >"$work/ids"
  cat >"$work/detail.lua" <<LUA
local ids = {}
for line in io.lines("$work/ids") do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i % #ids + 1
  return wrk.format("GET", "/api/v1/catalog/products/" .. ids[i])
end
LUA
}
