#!/usr/bin/env bash
# The HTTP server's connection caps against a real `privox serve` (issue 10, item 2), a short run of
# bench/idle_flood.py: idle connections from many addresses, more than the caps, held while /healthz
# is asked every 0.2 s. /healthz keeps answering, the server stays near idle and its log small, and
# no address holds more than its share. serve raises its descriptor limit to what the caps need,
# and refuses to start, saying why, when the hard limit is too low.
# Usage: connections_e2e.sh PRIVOX sqlite|postgresql
source "$(dirname "$0")/../../scripts/test-lib.sh"
source "$(dirname "$0")/../../scripts/e2e-lib.sh"
FLOOD="$(dirname "$0")/../../bench/idle_flood.py"

D=$TMP/data
new_data_dir "$D"
mapfile -t SARGS < <(store_args "$D")

# A hard limit below the caps' need: no start, and the message says what to do.
code=$(ulimit -Sn 1024; ulimit -Hn 4096; timeout 30 "$PRIVOX" serve "${SARGS[@]}" --http 127.0.0.1:0 --sip 127.0.0.1:0 \
  2>"$TMP/fd.err" >/dev/null; echo $?)
assert_eq "serve refuses to start when the descriptor limit cannot cover the caps" 1 "$code"
assert_contains "it names what it needs and the hard limit" "$(cat "$TMP/fd.err")" \
  "privox needs 11280 file descriptors (1024 HTTP connections (--http-max-connections) + 10000 SIP TCP connections"
assert_contains "and how to raise it" "$(cat "$TMP/fd.err")" "at most 4096 (the hard limit of RLIMIT_NOFILE); raise it"

HTTP_PORT=$(free_port)
(ulimit -Sn 1024; exec "$PRIVOX" serve "${SARGS[@]}" --http "127.0.0.1:$HTTP_PORT" --sip 127.0.0.1:0 \
  --http-max-connections 512 --http-max-connections-per-client 16) >"$TMP/serve.log" 2>&1 &
SERVE_PID=$!
E2E_PIDS+=("$SERVE_PID")
suite_keep "$TMP/fd.err" "$TMP/serve.log"  # for the whole-suite scan (scripts/suite-scan.sh)
up=0
for _ in $(seq 100); do
  [ "$(curl --noproxy '*' -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")" == 200 ] && { up=1; break; }
  sleep 0.1
done
assert_eq "privox serve answers" 1 "$up"
soft=$(awk '/^Max open files/ {print $4}' "/proc/$SERVE_PID/limits")
assert_eq "serve raised its soft descriptor limit from 1024 to 512 + 10000 + 256" 10768 "$soft"

# 64 addresses x 24 idle connections = 1536: three times the overall cap, 24 per address against 16.
python3 "$FLOOD" --port "$HTTP_PORT" --addresses 64 --per-address 24 --hold 3 --pid "$SERVE_PID" \
  --log "$TMP/serve.log" >"$TMP/flood.json"
cat "$TMP/flood.json"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$TMP/flood.json" "$1"; }
assert_eq "all 1536 idle connections were opened" 1536 "$(field opened)"
assert_eq "every /healthz under the flood answered 200" "$(field healthz)" "$(field healthz_ok)"
assert_true "/healthz answered within a second every time" python3 -c "import sys; sys.exit(not $(field healthz_max_ms) < 1000)"
assert_true "the server held no more than its cap" python3 -c "import sys; sys.exit(not $(field held_at_end) <= 512)"
assert_true "connections over an address's share were refused (16 of 24 each)" python3 -c "import sys; sys.exit(not $(field refused_503) + $(field closed) >= 1024)"
assert_true "the server stayed near idle while the flood was held (< 0.3 CPU-s/s)" \
  python3 -c "import sys; sys.exit(not $(field server_cpu_s_per_s) < 0.3)"
assert_true "its log grew by less than 20 KB" python3 -c "import sys; sys.exit(not $(field log_growth_bytes) < 20000)"
assert_eq "and it still serves after the flood" 200 \
  "$(curl --noproxy '*' -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")"

finish
