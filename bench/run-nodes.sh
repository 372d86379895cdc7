#!/usr/bin/env bash
# Calls across nodes (issue 19): does a node cost more per call when it shares the work with others?
#   bench/run-nodes.sh [RATE] [SECONDS]
# scripts/privox-cluster.sh starts the local cluster: pg_auto_failover (a monitor, a primary, a
# synchronous standby) and three `privox serve` nodes (build-bench, Release), node N on 127.0.0.N
# with its own rtpengine. Line 101 is a sipp UAS registered through node 1. The carrier (sipp from
# 127.0.0.9, a trusted trunk) calls its DID at RATE calls/s in all (default 150) for SECONDS
# (default 30) in three phases, in this one run:
#   one    nodes 2 and 3 killed: every call through node 1;
#   third  the same single node at RATE/3: what a node's calls cost at the rate each of three
#          carries, since a node pays more per call at a lower rate whether or not it is alone
#          (fewer packets and rows share each wake-up and each commit);
#   three  nodes 2 and 3 back: RATE/3 through each node (calls through 2 and 3 reach the phone
#          through the binding node 1 took, read from the shared store).
# "three" against "one" is the issue's measure; "three" against "third" separates what being one
# of several nodes costs from what the lower rate does.
# Reported per phase: calls answered and failed; CPU per answered call of each serving node's
# privox (its process alone, user + system), of the rtpengines together, and of PostgreSQL (primary
# and standby, their process trees). The goal: a node's CPU per call within 10% of the single
# node's. Each phase starts with SETTLE_S (default 35) s without calls, for the previous phase's
# transactions to end, then IDLE_S (default 10) s more, which gives each node's and
# PostgreSQL's idle CPU; the CPU per call is also given above that idle rate, since a node's fixed
# work (heartbeats, the loader's looks, the keepers' reloads) weighs three times as much per call
# on a node that carries a third of the calls. Also per node: the rows its batched writer committed
# and in how many transactions (group commit gathers fewer rows into each at a third of the rate).
# Figures in bench/RESULTS.md. Needs root, as privox-cluster.sh does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scenarios=$root/src/sip/scenarios
rate=${1:-150}; phase_s=${2:-30}
call_ms=${CALL_MS:-1000}
idle_s=${IDLE_S:-10}
# Before each phase's idle window: a UDP INVITE transaction lingers 32 s after its call (timer D,
# RFC 3261), so a window right after the previous phase would count that phase's tail as idle.
settle_s=${SETTLE_S:-35}
did=+442071234567
pw='Basalt-river-62-t'
build=$root/build-bench
cluster=$root/scripts/privox-cluster.sh

bash "$root/scripts/install-deps.sh"
command -v pg_autoctl >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15-auto-failover >/dev/null
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null

work=$(mktemp -d /tmp/privox-nodes.XXXXXX)
chmod 755 "$work"
export SIP_PORT=5060 HTTP_PORT=18080 METRICS_PORT=19464
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  bash "$cluster" stop "$work/c" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bash "$cluster" start "$work/c" "$build/privox" 2>/dev/null
px() { bash "$cluster" px "$work/c" "$@"; }
company=$(px company add --name "Acme Ltd" --region eea --country GB)
PRIVOX_EXTENSION_PASSWORD=$pw px extension add --company "$company" --number 101 --did "$did" >/dev/null
carrier_port=$(free_port)
px trunk add --name carrier --address "127.0.0.9:$carrier_port" --trusted >/dev/null
px settings set sip.rate_limit_requests 0 >/dev/null
url=$(cat "$work/c/pg/url")
login=$(psql -X -A -t -q "$url" -c "SELECT sip_user FROM extensions WHERE number = '101'")
uas_port=$(free_port)
sipp -sf "$scenarios/uas_answer.xml" -i 127.0.0.1 -p "$uas_port" -nostdin >/dev/null 2>&1 &
pids+=($!)
timeout -k 2 30 sipp -sf "$scenarios/register.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -m 1 \
  -nostdin -key user "$login" -key contact_port "$uas_port" -key expires 3600 -au "$login" -ap "$pw" \
  -timeout 25s -timeout_error >/dev/null 2>&1 || { echo "101 did not register" >&2; exit 1; }

ticks() { [ -r "/proc/$1/stat" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
tree_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1"); do total=$((total + $(ticks "$p"))); done
  echo "$total"
}
serve_pid() { cat "$work/c/node$1/serve.pid"; }
# writer N: "batches rows durable_sum_s durable_rows durable_rows_within_50ms", the node's writer
# so far (its metrics): what it committed, and each row's time from append to durable (R1: 50 ms).
writer() {
  curl -s "http://127.0.0.$1:$METRICS_PORT/metrics" | awk '$1 == "privox_writer_batches_total" {b = $2}
    $1 == "privox_writer_rows_total{outcome=\"committed\"}" {r = $2}
    $1 == "privox_writer_append_to_durable_seconds_sum" {ds = $2}
    $1 == "privox_writer_append_to_durable_seconds_count" {dc = $2}
    index($1, "privox_writer_append_to_durable_seconds_bucket{") == 1 { split($1, le, "\""); if (le[2] + 0 == 0.05) d50 = $2 }
    END {printf "%d %d %f %d %d", b, r, ds, dc, d50}'
}
relays_ticks() {
  local total=0 n
  for n in 1 2 3; do total=$((total + $(ticks "$(cat "$work/c/node$n/rtpengine.pid")"))); done
  echo "$total"
}
pg_ticks() {
  local total=0 n
  for n in 1 2; do total=$((total + $(tree_ticks "$(head -n 1 "$work/c/pg/node$n/postmaster.pid")"))); done
  echo "$total"
}

phase() {  # phase NAME TOTAL NODE...: TOTAL calls/s split over the nodes, CPU per call of each
  local name=$1 total=$2
  shift 2
  local per=$((total / $#)) n
  declare -A before idle
  # What each node spends with no call at all (heartbeats, the loader's looks, the keepers'
  # reloads), over IDLE_S: the part of a node's CPU that does not scale with its calls.
  sleep "$settle_s"
  for n in "$@"; do before[$n]=$(ticks "$(serve_pid "$n")"); done
  local pg_idle=$(pg_ticks)
  sleep "$idle_s"
  for n in "$@"; do idle[$n]=$(($(ticks "$(serve_pid "$n")") - before[$n])); done
  pg_idle=$(($(pg_ticks) - pg_idle))
  declare -A wrote
  for n in "$@"; do before[$n]=$(ticks "$(serve_pid "$n")"); wrote[$n]=$(writer "$n"); done
  local relays=$(relays_ticks) pg=$(pg_ticks) uacs=() began=$(date +%s.%N)
  for n in "$@"; do
    sipp -sf "$scenarios/uac_trunk_call.xml" "127.0.0.$n:$SIP_PORT" -s "$did" -i 127.0.0.9 -p "$(free_port)" \
      -r "$per" -m $((per * phase_s)) -d "$call_ms" -l 5000 -nostdin -key caller +447700900123 \
      -recv_timeout 10000 -timeout $((phase_s + 30))s -trace_stat -stf "$work/$name$n.csv" >/dev/null 2>&1 &
    uacs+=($!)
  done
  wait "${uacs[@]}" || true
  local wall
  wall=$(echo "$(date +%s.%N) - $began" | bc)
  local args=("$name" "$(getconf CLK_TCK)" "$wall" "$idle_s" "$(($(relays_ticks) - relays))" "$(($(pg_ticks) - pg))"
    "$pg_idle")
  for n in "$@"; do
    args+=("$n" "$work/$name$n.csv" "$(($(ticks "$(serve_pid "$n")") - before[$n]))" "${idle[$n]}" "${wrote[$n]}"
      "$(writer "$n")")
  done
  python3 - "${args[@]}" <<'PY'
import csv, sys
name, clk, wall, idle_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
relays, pg, pg_idle = (int(v) / clk for v in sys.argv[5:8])
rest, total = sys.argv[8:], 0
lines = []
for i in range(0, len(rest), 6):
    node, stat, cpu, idle = rest[i], rest[i + 1], int(rest[i + 2]) / clk, int(rest[i + 3]) / clk
    (b0, r0, s0, c0, w0), (b1, r1, s1, c1, w1) = ([float(v) for v in rest[j].split()] for j in (i + 4, i + 5))
    last = list(csv.DictReader(open(stat), delimiter=";"))[-1]
    answered = int(last["SuccessfulCall(C)"])
    total += answered
    per_s = idle / idle_s
    lines.append(f"  node {node}: {answered} answered, {last['FailedCall(C)']} failed; privox "
                 f"{1e6 * cpu / max(answered, 1):.0f} us CPU per call, {1e3 * per_s:.1f} ms/s idle, "
                 f"{1e6 * (cpu - per_s * wall) / max(answered, 1):.0f} us per call above idle; the writer "
                 f"committed {r1 - r0:.0f} rows in {b1 - b0:.0f} transactions ({(r1 - r0) / max(b1 - b0, 1):.1f} a "
                 f"commit), durable {1e3 * (s1 - s0) / max(c1 - c0, 1):.1f} ms after append on average, "
                 f"{100 * (w1 - w0) / max(c1 - c0, 1):.2f}% within 50 ms")
print(f"{name}: {total} calls answered in {wall:.1f} s")
print("\n".join(lines))
pg_per_s = pg_idle / idle_s
print(f"  rtpengine {1e6 * relays / max(total, 1):.0f} us per call; PostgreSQL (primary and standby) "
      f"{1e6 * pg / max(total, 1):.0f} us per call, {1e3 * pg_per_s:.1f} ms/s idle, "
      f"{1e6 * (pg - pg_per_s * wall) / max(total, 1):.0f} us per call above idle")
PY
}

echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $rate calls/s in all for $phase_s s per phase, calls $call_ms ms"
bash "$cluster" kill 2 "$work/c"
bash "$cluster" kill 3 "$work/c"
phase one "$rate" 1
phase third $((rate / 3)) 1
bash "$cluster" restart 2 "$work/c" 2>/dev/null
bash "$cluster" restart 3 "$work/c" 2>/dev/null
phase three "$rate" 1 2 3
