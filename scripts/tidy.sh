#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy at the root) over privox's own sources and fails on any finding.
#   scripts/tidy.sh BUILD_DIR [JOBS]
# BUILD_DIR is the `make test` build: its compile database lists one unity translation unit per
# folder, so each folder's headers are parsed once rather than once per source (a third of the
# time of a per-source run). The unity files live under BUILD_DIR, where clang-tidy looks for its
# configuration, hence the copy; its HeaderFilterRegex admits the .cpp files a unity file includes,
# so their findings are reported under their own names.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: tidy.sh BUILD_DIR [JOBS]}
jobs=${2:-$(nproc)}
log="$build/tidy.log"

cp "$root/.clang-tidy" "$build/.clang-tidy"
status=0
run-clang-tidy -quiet -p "$build" -j "$jobs" \
  '/(Unity/unity_[0-9]+_cxx\.cxx|src/[a-z_]+/[a-z_]+\.cpp)$' >"$log" 2>&1 || status=$?
findings=$(sed "s/\x1b\[[0-9;]*m//g" "$log" | grep -E "^/[^ ]+:[0-9]+:[0-9]+: (warning|error): " | sort -u || true)
if [ -n "$findings" ] || [ "$status" -ne 0 ]; then
  [ -n "$findings" ] && echo "$findings" >&2
  echo "tidy.sh: clang-tidy failed or reported findings (whole output in $log)" >&2
  exit 1
fi
echo "tidy.sh: no findings"
