#!/usr/bin/env bash
# The one-source flood benchmark (issue 10, item 8): privox serves while one address floods it with
# INVITEs at a rising rate, and four phones on other addresses each place one call a second through
# it. For each rate: the phones' success, and privox's CPU. It stops at the first rate where fewer
# than 99% of the calls succeed: the rate at which the per-source limit no longer saves them. A
# last run at 165,000/s (the attack review's rate) with the rate limit off shows what it is worth.
#   bench/run-sip-flood.sh [RATES] [SECONDS]
# RATES defaults to "20000 50000 100000 165000 250000 400000"; SECONDS (per rate) to 15.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rates=${1:-20000 50000 100000 165000 250000 400000}
seconds=${2:-15}
build=$root/build-bench
phones=(127.0.0.2 127.0.0.4 127.0.0.5 127.0.0.6)

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox privox_sip_flood >/dev/null

work=$(mktemp -d /tmp/privox-flood-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stat_column() {  # stat_column FILE NAME: the last value of a column of sipp's -trace_stat file
  python3 - "$1" "$2" <<'PY'
import sys
rows = [l.rstrip("\n").split(";") for l in open(sys.argv[1]) if l.strip()]
print(rows[-1][rows[0].index(sys.argv[2])])
PY
}

P=$build/privox
D=$work/data
$P init --data-dir "$D" >/dev/null
company=$($P company add --data-dir "$D" --name Bench --region eea)
PRIVOX_EXTENSION_PASSWORD=bench-caller-pw $P extension add --data-dir "$D" --company "$company" --number 302 >/dev/null
PRIVOX_EXTENSION_PASSWORD=bench-callee-pw $P extension add --data-dir "$D" --company "$company" --number 303 >/dev/null
login() { $P extension list --data-dir "$D" --company "$company" | awk -F'\t' -v n="$1" '$2 == n { print $3 }'; }
L302=$(login 302)
L303=$(login 303)
port=$(free_port)
scenarios=$root/src/sip/scenarios

serve() {  # serve: (re)starts privox with the settings in force
  [ -n "${serve_pid:-}" ] && { kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; }
  $P serve --data-dir "$D" --http 127.0.0.1:0 --sip "127.0.0.1:$port" >>"$work/privox.log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  sleep 1
  uas_port=$(free_port)
  sipp -sf "$scenarios/register.xml" "127.0.0.1:$port" -i 127.0.0.3 -p "$(free_port)" -m 1 -nostdin \
    -key user "$L303" -key contact_port "$uas_port" -key expires 3600 -au "$L303" -ap bench-callee-pw \
    -timeout 10s -timeout_error >/dev/null 2>&1
}

# run RATE: one flood and the phones' calls under it; prints a result row, and returns 1 below 99%.
run() {
  local rate=$1 calls=$seconds
  sipp -sf "$scenarios/uas_answer.xml" -i 127.0.0.3 -p "$uas_port" -nostdin -m $((calls * ${#phones[@]})) \
    -timeout $((seconds * 3))s >/dev/null 2>&1 &
  local uas=$!
  local ticks_before
  ticks_before=$(awk '{ print $14 + $15 }' "/proc/$serve_pid/stat")
  "$build/privox_sip_flood" 127.0.0.1 "$port" 127.0.0.20 "$rate" $((seconds + 3)) >"$work/flood.out" &
  local flood=$!
  sleep 1
  local phone_pids=()
  for phone in "${phones[@]}"; do
    sipp -sf "$scenarios/uac_call.xml" "127.0.0.1:$port" -i "$phone" -p "$(free_port)" -nostdin -s 303 \
      -key caller "$L302" -au "$L302" -ap bench-caller-pw -auth_uri "303@127.0.0.1:$port" -d 300 -r 1 -l 3 \
      -m "$calls" -timeout $((seconds * 3))s -recv_timeout 8000 -trace_stat -stf "$work/calls_$phone.csv" -fd 1 \
      >/dev/null 2>&1 &
    phone_pids+=($!)
  done
  for pid in "${phone_pids[@]}"; do wait "$pid" || true; done
  wait "$flood" || true
  local ticks_after
  ticks_after=$(awk '{ print $14 + $15 }' "/proc/$serve_pid/stat")
  kill "$uas" 2>/dev/null || true
  wait "$uas" 2>/dev/null || true
  local ok=0 failed=0
  for phone in "${phones[@]}"; do
    ok=$((ok + $(stat_column "$work/calls_$phone.csv" "SuccessfulCall(C)")))
    failed=$((failed + $(stat_column "$work/calls_$phone.csv" "FailedCall(C)")))
  done
  local achieved cpu
  achieved=$(sed -n 's/.*: \([0-9]*\)\/s$/\1/p' "$work/flood.out")
  cpu=$(((ticks_after - ticks_before) * 100 / $(getconf CLK_TCK) / (seconds + 3)))
  local pct=$((ok * 1000 / (ok + failed)))
  printf '| %s | %s | %s of %s | %s.%s%% | %s%% |\n' "$rate" "$achieved" "$ok" $((ok + failed)) $((pct / 10)) \
    $((pct % 10)) "$cpu"
  [ $((ok * 100)) -ge $((99 * (ok + failed))) ]
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "flood: INVITEs without credentials from 127.0.0.20; phones: ${#phones[@]} sources, 1 call/s each, $seconds s per rate"
echo
echo "| flood asked (req/s) | flood sent (req/s) | phones' calls answered | success | privox CPU (one core = 100%) |"
echo "|---|---|---|---|---|"
serve
broke=""
for rate in $rates; do
  if ! run "$rate"; then
    broke=$rate
    break
  fi
done
echo
if [ -n "$broke" ]; then
  echo "with the rate limit (16 requests in 2 s per source): fewer than 99% of calls succeed from $broke requests/s"
else
  echo "with the rate limit (16 requests in 2 s per source): at least 99% of calls succeeded at every rate tried"
fi

echo
echo "without the rate limit (sip.rate_limit_requests 0), for comparison:"
$P settings set --data-dir "$D" sip.rate_limit_requests 0 >/dev/null
serve
echo "| flood asked (req/s) | flood sent (req/s) | phones' calls answered | success | privox CPU (one core = 100%) |"
echo "|---|---|---|---|---|"
run 165000 || true
