#!/usr/bin/env bash
# Prices ended calls on a 50,000-prefix deck (rating/rate_table.h), on one core:
#   bench/run-rating.sh [BUILD_DIR]     (default: build-bench, configured with PRIVOX_BENCH=ON)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench}
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox_rating_bench >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
taskset -c 0 "$build/privox_rating_bench" --benchmark_min_time=1 "${@:2}"
