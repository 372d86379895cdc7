#!/usr/bin/env bash
# Measures batched appends on SQLite and on a private local PostgreSQL, in one invocation:
#   bench/run-append.sh [BUILD_DIR]     (default: build-bench, configured with PRIVOX_BENCH=ON)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench}
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox_append_bench >/dev/null
pgdir=$(mktemp -d /tmp/privox-bench-pg.XXXXXX)
trap 'bash "$root/scripts/test-postgres.sh" stop "$pgdir" >/dev/null; rm -rf "$pgdir"' EXIT
url=$(bash "$root/scripts/test-postgres.sh" start "$pgdir")
# The test instance logs every statement; a benchmark measures the store, not its logger.
psql -X -q "$url" -c "ALTER SYSTEM SET log_statement = 'none'" -c "SELECT pg_reload_conf()" >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
PRIVOX_BENCH_POSTGRES_URL=$url "$build/privox_append_bench" "${@:2}"
