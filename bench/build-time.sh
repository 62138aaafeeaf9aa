#!/usr/bin/env bash
# Clean release build time of the binary (a fresh target directory) and, optionally,
# the wall time of .ci/run on a warm machine.
# Usage: bench/build-time.sh [--ci]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
CARGO_TARGET_DIR="$tmp" cargo build --release --locked -p emporium --bin emporium >/dev/null 2>&1
echo "clean release build: $(( $(date +%s) - start ))s"
if [ "${1:-}" = "--ci" ]; then
  start=$(date +%s)
  CI=true bash .ci/run >/dev/null 2>&1
  echo ".ci/run (warm): $(( $(date +%s) - start ))s"
fi
