#!/usr/bin/env bash
# What synchronous replication costs (issue 19): privox acknowledges a REGISTER or an answered call
# only once its row is committed, and on scripts/pg-cluster.sh's cluster a commit returns only once
# the standby has it too, so that a failover loses nothing acknowledged. This measures that wait.
#   bench/run-sync-cost.sh [RATE] [SECONDS]
# RATE (calls/s, default 200) for SECONDS (default 30) per phase, through one `privox serve` node
# (build-bench, Release) on the cluster. Phases: synchronous (pg_auto_failover's default: the
# standby takes part in the replication quorum), asynchronous (`pg_autoctl set node
# replication-quorum false` on the standby: the primary acknowledges alone), synchronous again, so
# that a drift over the run shows. Each call is the carrier's (sipp) to a DID whose line is a sipp
# UAS registered through the node, answered and hung up after CALL_MS (default 1000).
# Reported per phase: calls answered and failed; the writer's time from a row's append to the
# commit that made it durable (privox_writer_append_to_durable_seconds: its mean, and the buckets
# holding the median and the 99th percentile), which is what a caller waits for the 200 on top of
# the call itself; and CPU per answered call of privox and of each PostgreSQL (the primary and the
# standby, their whole process trees). Needs root (PostgreSQL runs as postgres).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scenarios=$root/src/sip/scenarios
rate=${1:-200}; phase_s=${2:-30}
call_ms=${CALL_MS:-1000}
did=+442071234567
pw='Basalt-river-62-t'
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
command -v pg_autoctl >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15-auto-failover >/dev/null
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null
privox=$build/privox

work=$(mktemp -d /tmp/privox-sync.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  bash "$root/scripts/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "starting the cluster (pg_auto_failover: monitor, primary, synchronous standby)..."
url=$(bash "$root/scripts/pg-cluster.sh" start "$work/pg")
px() { "$privox" "$@" --data-dir "$work/n1" --store "$url"; }
px init >/dev/null
company=$(px company add --name "Acme Ltd" --region eea --country GB)
PRIVOX_EXTENSION_PASSWORD=$pw px extension add --company "$company" --number 101 --did "$did" >/dev/null
uac_port=$(free_port)
px trunk add --name carrier --address "127.0.0.2:$uac_port" --trusted >/dev/null
px settings set sip.rate_limit_requests 0 >/dev/null
login=$(psql -X -A -t -q "$url" -c "SELECT sip_user FROM extensions WHERE number = '101'")

sip_port=$(free_port)
metrics_port=$(free_port)
"$privox" serve --data-dir "$work/n1" --store "$url" --http 127.0.0.1:0 --sip "127.0.0.1:$sip_port" \
  --metrics "127.0.0.1:$metrics_port" >"$work/serve.log" 2>&1 &
serve_pid=$!
pids+=($serve_pid)
for _ in $(seq 100); do grep -q '"event":"service.started"' "$work/serve.log" && break; sleep 0.1; done
uas_port=$(free_port)
sipp -sf "$scenarios/uas_answer.xml" -i 127.0.0.1 -p "$uas_port" -nostdin >/dev/null 2>&1 &
pids+=($!)
timeout -k 2 30 sipp -sf "$scenarios/register.xml" "127.0.0.1:$sip_port" -i 127.0.0.1 -p "$(free_port)" -m 1 \
  -nostdin -key user "$login" -key contact_port "$uas_port" -key expires 3600 -au "$login" -ap "$pw" \
  -timeout 25s -timeout_error >/dev/null 2>&1 || { echo "101 did not register" >&2; exit 1; }

pg_sql() { psql -X -A -t -q "postgres://postgres@127.0.0.1:$1/privox" -c "$2"; }
node_port() {
  psql -X -A -t -q "postgres://postgres@127.0.0.1:$(cat "$work/pg/monitor.port")/pg_auto_failover" \
    -c "SELECT nodeport FROM pgautofailover.node WHERE nodename = '$1'"
}
primary_port=$(node_port node1)
# tree_ticks PID: CPU clock ticks (user + system) of PID and its children now.
tree_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1"); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
postmaster() { head -n 1 "$work/pg/$1/postmaster.pid"; }
scrape() { curl -s "http://127.0.0.1:$metrics_port/metrics" | grep '^privox_writer_append_to_durable_seconds'; }

# set_mode sync|async: the standby in or out of the replication quorum, until the primary's
# synchronous_standby_names says so.
set_mode() {
  local quorum=true
  [ "$1" == async ] && quorum=false
  runuser -u postgres -- env PATH="$(dirname "$(command -v pg_autoctl)"):$PATH" XDG_RUNTIME_DIR="$work/pg/run" \
    XDG_CONFIG_HOME="$work/pg/config" XDG_DATA_HOME="$work/pg/share" \
    pg_autoctl set node replication-quorum "$quorum" --pgdata "$work/pg/node2" >/dev/null 2>&1
  local names
  for _ in $(seq 300); do
    names=$(pg_sql "$primary_port" "SHOW synchronous_standby_names")
    { [ "$1" == sync ] && [ -n "$names" ]; } || { [ "$1" == async ] && [ -z "$names" ]; } && return 0
    sleep 0.1
  done
  echo "the primary did not turn $1 (synchronous_standby_names: '$names')" >&2
  exit 1
}

phase() {  # phase NAME MODE
  set_mode "$2"
  sleep 2
  local before_scrape before_px before_p1 before_p2 clk
  clk=$(getconf CLK_TCK)
  before_scrape=$(scrape)
  before_px=$(tree_ticks "$serve_pid"); before_p1=$(tree_ticks "$(postmaster node1)"); before_p2=$(tree_ticks "$(postmaster node2)")
  sipp -sf "$scenarios/uac_trunk_call.xml" "127.0.0.1:$sip_port" -s "$did" -i 127.0.0.2 -p "$uac_port" \
    -r "$rate" -m $((rate * phase_s)) -d "$call_ms" -l 5000 -nostdin -key caller +447700900123 \
    -recv_timeout 10000 -timeout $((phase_s + 30))s -trace_stat -stf "$work/$1.csv" >/dev/null 2>&1 || true
  local after_px after_p1 after_p2
  after_px=$(tree_ticks "$serve_pid"); after_p1=$(tree_ticks "$(postmaster node1)"); after_p2=$(tree_ticks "$(postmaster node2)")
  python3 - "$1" "$2" "$work/$1.csv" "$clk" "$((after_px - before_px))" "$((after_p1 - before_p1))" \
    "$((after_p2 - before_p2))" "$before_scrape" "$(scrape)" <<'PY'
import csv, re, sys
name, mode, stat, clk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
px, p1, p2 = (int(v) / clk for v in sys.argv[5:8])
def parse(text):
    buckets, total, count = {}, 0.0, 0
    for line in text.splitlines():
        m = re.match(r'privox_writer_append_to_durable_seconds_(bucket|sum|count)(\{le="([^"]+)"\})? (\S+)', line)
        if not m: continue
        kind, le, value = m.group(1), m.group(3), float(m.group(4))
        if kind == "bucket": buckets[float(le)] = value
        elif kind == "sum": total = value
        else: count = value
    return buckets, total, count
b0, s0, c0 = parse(sys.argv[8]); b1, s1, c1 = parse(sys.argv[9])
rows = c1 - c0
def bucket_of(q):
    for le in sorted(b1):
        if b1[le] - b0.get(le, 0) >= q * rows: return "<= %g ms" % (le * 1000) if le != float("inf") else "> last"
    return "?"
last = list(csv.DictReader(open(stat), delimiter=";"))[-1]
answered = int(last["SuccessfulCall(C)"])
print(f"{name} ({mode}): {answered} calls answered, {last['FailedCall(C)']} failed; writer append to durable: "
      f"mean {1000 * (s1 - s0) / max(rows, 1):.2f} ms over {int(rows)} rows, median {bucket_of(0.5)}, "
      f"p99 {bucket_of(0.99)}; CPU per answered call: privox {1e6 * px / max(answered, 1):.0f} us, "
      f"primary {1e6 * p1 / max(answered, 1):.0f} us, standby {1e6 * p2 / max(answered, 1):.0f} us")
PY
}

echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $rate calls/s for $phase_s s per phase, calls $call_ms ms"
phase sync1 sync
phase async async
phase sync2 sync
