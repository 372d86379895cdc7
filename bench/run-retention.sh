#!/usr/bin/env bash
# Traffic retention at scale on both backends, in one invocation (issues 6 and 19):
#   bench/run-retention.sh [RECORDS] [LINES]
# Runs privox_retention_bench (build-bench, Release) first on SQLite, the embedded default with
# privox's own settings, then on a throw-away PostgreSQL 15 (scripts/test-postgres.sh) given the
# settings an operator would give a server with this machine's memory: shared_buffers 4 GB,
# max_wal_size 16 GB, no statement log. Each run seeds RECORDS sealed records (default 1,000,000;
# the goal is stated for 10,000,000) over LINES lines (default 5,000), untimed, reports what a
# record takes on disk (goal: at most 400 bytes, indexes included), then times the anonymisation
# run (goal: 10,000,000 in under 60 s) and a second run that must find nothing.
# Figures in bench/RESULTS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
records=${1:-1000000}; lines=${2:-5000}
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox_retention_bench >/dev/null

work=$(mktemp -d /tmp/privox-retention.XXXXXX)
chmod 755 "$work"
cleanup() {
  bash "$root/scripts/test-postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $records records over $lines lines; $(date -u +%FT%TZ)"
echo "== SQLite"
mkdir -p "$work/sqlite"
"$build/privox_retention_bench" --records "$records" --lines "$lines" --dir "$work/sqlite"
rm -rf "$work/sqlite"

echo "== PostgreSQL"
bash "$root/scripts/test-postgres.sh" start "$work/pg" >/dev/null
url=$(cat "$work/pg/url")
# The test instance logs every statement and keeps 64 MB of buffers, for the tests; a server would not.
psql -X -q -v ON_ERROR_STOP=1 "$url" -c "ALTER SYSTEM SET log_statement = 'none'" \
  -c "ALTER SYSTEM SET shared_buffers = '4GB'" -c "ALTER SYSTEM SET max_wal_size = '16GB'" \
  -c "ALTER SYSTEM SET checkpoint_timeout = '30min'" -c "ALTER SYSTEM SET maintenance_work_mem = '1GB'" \
  -c "ALTER SYSTEM SET work_mem = '64MB'"
bash "$root/scripts/test-postgres.sh" crash "$work/pg" >/dev/null
bash "$root/scripts/test-postgres.sh" resume "$work/pg" >/dev/null
psql -X -A -t -q "$url" -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers')"
"$build/privox_retention_bench" --records "$records" --lines "$lines" --postgres "$url"
