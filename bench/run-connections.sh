#!/usr/bin/env bash
# Idle-connection floods against `privox serve` with its default caps (issue 10, item 2): for each
# shape ADDRESSESxPER_ADDRESS in SHAPES, bench/idle_flood.py opens that many connections that never
# send a byte, holds them HOLD seconds and asks /healthz every 0.2 s from another address meanwhile.
# serve starts with the soft descriptor limit Debian gives (1,024), as the attack report's did.
#
#   bench/run-connections.sh PRIVOX
#
# Prints one "RESULT shape {...}" line per shape (idle_flood.py's JSON). The client needs a hard
# descriptor limit above the largest shape (ADDRESSES x PER_ADDRESS + a few).
# Knobs (environment): SHAPES="1x1100 64x20 200x50" HOLD=10
set -euo pipefail

PRIVOX=$(realpath "${1:?usage: $0 PRIVOX}")
SHAPES=${SHAPES:-"1x1100 64x20 200x50"}
HOLD=${HOLD:-10}
root=$(cd "$(dirname "$0")" && pwd)
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PRIVOX_DATA_DIR PRIVOX_STORE

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-bench-connections.XXXXXX")
PID=""
cleanup() {
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$PRIVOX" init --data-dir "$TMP/data" >/dev/null
for shape in $SHAPES; do
  port=$(free_port)
  (ulimit -Sn 1024; exec "$PRIVOX" serve --data-dir "$TMP/data" --http "127.0.0.1:$port" --sip 127.0.0.1:0) \
    >"$TMP/serve.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    [ "$(curl --noproxy '*' -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)" == 200 ] && break
    sleep 0.1
  done
  result=$(python3 "$root/idle_flood.py" --port "$port" --addresses "${shape%x*}" --per-address "${shape#*x}" \
    --hold "$HOLD" --pid "$PID" --log "$TMP/serve.log")
  echo "RESULT $shape $result"
  kill -TERM "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
done
