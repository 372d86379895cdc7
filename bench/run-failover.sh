#!/usr/bin/env bash
# PostgreSQL failover under call load (issue 19): how long until calls succeed again, and whether
# anything privox acknowledged was lost.
#   bench/run-failover.sh [RATE] [BEFORE_S] [AFTER_S]
# RATE (calls/s over both nodes) defaults to 200, BEFORE_S (load before the kill) to 10, AFTER_S
# (load after it) to 30.
#
# scripts/pg-cluster.sh starts pg_auto_failover: a monitor, a primary and a synchronous standby.
# Two `privox serve` nodes (build-bench, Release) share it through libpq's multi-host URL with
# target_session_attrs=read-write. Line 101 (DID +442071234567) is a sipp UAS registered through
# node 1; two sipp UACs, the carrier, call the DID through node 1 and through node 2 at RATE/2 each,
# each call from its own number, CALL_MS long, each answer logged with its time
# (uac_trunk_logged.xml). From 2 s before the kill, REGS more lines register once each, 10 a second,
# alternately through node 1 and node 2, each REGISTER that gets its 200 noted. After BEFORE_S the
# primary's keeper and PostgreSQL are killed with -9, as a lost machine would be.
# Reported: the failover's time (until the multi-host URL takes writes again), the time from the
# kill until calls are answered again (the first answer after the longest gap in answers), calls
# refused meanwhile, answered calls without an answered record afterwards (lost), and REGISTERs
# answered 200 whose binding is missing afterwards (lost). The goal is 0 lost and under 30 s.
# Environment: CALL_MS (default 1000), REGS (default 50). Needs root (PostgreSQL runs as postgres).
# Figures in bench/RESULTS.md ("PostgreSQL failover"). Answer times come from sipp's own log
# variables, which resolve to about a second here, so the recovery time is good to a second.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scenarios=$root/src/sip/scenarios
rate=${1:-200}; before_s=${2:-10}; after_s=${3:-30}
call_ms=${CALL_MS:-1000}; regs=${REGS:-50}
did=+442071234567
pw='Basalt-river-62-t'
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
command -v pg_autoctl >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15-auto-failover >/dev/null
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null
privox=$build/privox

work=$(mktemp -d /tmp/privox-failover.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  bash "$root/scripts/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

echo "starting the cluster (pg_auto_failover: monitor, primary, synchronous standby)..."
url=$(bash "$root/scripts/pg-cluster.sh" start "$work/pg")
px() { "$privox" "$@" --data-dir "$work/n1" --store "$url"; }
px init >/dev/null
mkdir -m 0700 "$work/n2"
cp -p "$work/n1/master.key" "$work/n2/"
company=$(px company add --name "Acme Ltd" --region eea --country GB)
PRIVOX_EXTENSION_PASSWORD=$pw px extension add --company "$company" --number 101 --did "$did" >/dev/null
for ((n = 0; n < regs; n++)); do
  PRIVOX_EXTENSION_PASSWORD=$pw px extension add --company "$company" --number $((300 + n)) >/dev/null
done
uac_port=$(free_port)
px trunk add --name carrier --address "127.0.0.2:$uac_port" --trusted >/dev/null
px settings set sip.rate_limit_requests 0 >/dev/null
psql -X -A -t -q "$url" -c "SELECT number || ' ' || sip_user FROM extensions" >"$work/logins"
login_of() { awk -v n="$1" '$1 == n { print $2 }' "$work/logins"; }

declare -A sip_port
for n in 1 2; do
  sip_port[$n]=$(free_port)
  "$privox" serve --data-dir "$work/n$n" --store "$url" --http 127.0.0.1:0 --sip "127.0.0.1:${sip_port[$n]}" \
    >"$work/serve$n.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q '"event":"service.started"' "$work/serve$n.log" && break; sleep 0.1; done
done
uas_port=$(free_port)
sipp -sf "$scenarios/uas_answer.xml" -i 127.0.0.1 -p "$uas_port" -nostdin >/dev/null 2>&1 &
pids+=($!)
register() {  # register NODE LOGIN CONTACT_PORT: one REGISTER with digest; exit 0 on its 200
  timeout -k 2 30 sipp -sf "$scenarios/register.xml" "127.0.0.1:${sip_port[$1]}" -i 127.0.0.1 -p "$(free_port)" -m 1 \
    -nostdin -key user "$2" -key contact_port "$3" -key expires 3600 -au "$2" -ap "$pw" -timeout 25s -timeout_error \
    >/dev/null 2>&1
}
register 1 "$(login_of 101)" "$uas_port" || { echo "101 did not register" >&2; exit 1; }

total_s=$((before_s + after_s))
for n in 1 2; do
  sipp -sf "$scenarios/uac_trunk_logged.xml" "127.0.0.1:${sip_port[$n]}" -s "$did" -key callers "+44790$n" \
    -i 127.0.0.2 -p "$uac_port" -r $((rate / 2)) -m $((rate / 2 * total_s)) -d "$call_ms" -l 5000 -nostdin \
    -recv_timeout 10000 -timeout $((total_s + 40))s -trace_logs -log_file "$work/answered$n.log" \
    -trace_stat -stf "$work/stat$n.csv" >/dev/null 2>&1 &
  pids+=($!)
  uac_port=$(free_port)  # the second UAC needs its own port; the trunk is trusted by address
done
uacs=("${pids[-2]}" "${pids[-1]}")
sleep $((before_s - 2))
(for ((n = 0; n < regs; n++)); do
  (register $((n % 2 + 1)) "$(login_of $((300 + n)))" $((40000 + n)) && echo $((300 + n)) >>"$work/acked") &
  sleep 0.1
done
wait) &
registrations=$!
sleep 2
primary=$(bash "$root/scripts/pg-cluster.sh" primary "$work/pg")
killed_at=$(now)
bash "$root/scripts/pg-cluster.sh" kill "$primary" "$work/pg"
for _ in $(seq 600); do
  psql -X -A -t -q "$url" -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.1
done
writable_at=$(now)
echo "killed the primary ($primary); the cluster took writes again after $(echo "$writable_at - $killed_at" | bc) s"
wait "${uacs[@]}" 2>/dev/null || true
wait "$registrations"
"$privox" cdr list --purpose billing --format csv --data-dir "$work/n1" --store "$url" >"$work/cdr.csv"
psql -X -A -t -q "$url" -c "SELECT DISTINCT e.number FROM bindings b JOIN extensions e ON e.id = b.extension_id" \
  >"$work/bound"
python3 - "$killed_at" "$work" <<'PY'
import csv, sys
killed, work = float(sys.argv[1]), sys.argv[2]
answers = []  # (answer time, calling number)
for n in (1, 2):
    for line in open(f"{work}/answered{n}.log"):
        f = line.split()
        if f and f[0] == "answered":
            answers.append((float(f[4]) + float(f[5]) / 1e6, f[1]))
answers.sort()
times = [t for t, _ in answers]
gaps = [(b - a, a, b) for a, b in zip(times, times[1:]) if b > killed - 1]
gap, last_before, first_after = max(gaps) if gaps else (0, killed, killed)
rows = list(csv.DictReader(open(f"{work}/cdr.csv")))
recorded = {r["source"] for r in rows if r["answered_at"]}
lost = [number for _, number in answers if number not in recorded]
acked = {l.strip() for l in open(f"{work}/acked")} if __import__("os").path.exists(f"{work}/acked") else set()
bound = {l.strip() for l in open(f"{work}/bound")}
print(f"calls answered at the carrier: {len(answers)}; answered with no answered record after the failover: {len(lost)}")
print(f"answers stopped {last_before - killed:+.2f} s from the kill and came back {first_after - killed:.2f} s after it "
      f"(longest gap {gap:.2f} s)")
print(f"REGISTERs answered 200 around the kill: {len(acked)} of {len(bound | acked)} tried lines; "
      f"acknowledged but without a binding afterwards: {len(acked - bound)}")
PY
python3 - "$work" <<'PY'
import csv, sys
for n in (1, 2):
    rows = list(csv.DictReader(open(f"{sys.argv[1]}/stat{n}.csv"), delimiter=";"))
    last = rows[-1] if rows else {}
    print(f"node {n}: calls placed {last.get('OutgoingCall(C)', '?')}, answered {last.get('SuccessfulCall(C)', '?')}, "
          f"failed (refused or timed out during the switch) {last.get('FailedCall(C)', '?')}")
PY
