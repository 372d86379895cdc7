#!/usr/bin/env bash
# The rules-cost benchmark (issue: money and misuse): what privox's per-call rules cost on the SIP
# path, against the Kamailio anchor and a second anchor, Kamailio with pike and htable bans
# (bench/kamailio-rules.cfg), all in this one invocation so that their ratios hold.
#   bench/run-sip-rules.sh [CALLS] [RATE]
#
# privox runs twice on the same store:
#   inbound   the harness's flow of bench/run-sip.sh: a trusted trunk calls a line's DID, where no
#             wallet or fraud check applies (the line is the callee);
#   rules on  a line (digest-authenticated: INVITE, 407, ACK, INVITE) calls a US number out through
#             the trunk, so every call passes the fraud guard (suspended and throttled lines, per-line
#             and per-company rate and concurrency counters), the destination rules, the wallet's
#             admission (balance and daily cap) and, once it ends, its rating and the wallet debit;
#             the fraud thread's scans of the traffic run meanwhile. The thresholds are raised above
#             what the load offers (one line at RATE calls/s), so nothing is refused and every call
#             does the whole work.
# Kamailio runs three times: the harness's flow as a record-routing stateful proxy with no
# authentication (the anchor), the same with pike and htable bans, and, like for like with "rules
# on", the same sipp scenario of a line calling abroad with digest authentication of each INVITE
# (bench/kamailio-rules-auth.cfg). Kamailio writes no record in any of them. CPU is each proxy's own user+system time per successful call,
# every process and thread (the writer's and the fraud thread's included).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$(cd "$root/../shared/bench/sip" && pwd)
calls=${1:-20000}; rate=${2:-1500}
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
missing=()
for p in kamailio sip-tester sipsak; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  pkill -x kamailio 2>/dev/null || true  # the package starts a system Kamailio on 5060
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null

work=$(mktemp -d /tmp/privox-rules-bench.XXXXXX)
kw=/tmp/kamailio-rules kwa=/tmp/kamailio-rules-auth
privox_pid="" uas_pid=""
cleanup() {
  [ -n "$privox_pid" ] && kill "$privox_pid" 2>/dev/null
  [ -n "$uas_pid" ] && kill "$uas_pid" 2>/dev/null
  bash "$harness/kamailio_anchor.sh" stop >/dev/null 2>&1 || true
  [ -f "$kw/pid" ] && kill "$(cat "$kw/pid")" 2>/dev/null
  [ -f "$kwa/pid" ] && kill "$(cat "$kwa/pid")" 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
per_call() {  # per_call TICKS0 TICKS1 STAT_CSV SECONDS: the harness's summary line for one run
  python3 - "$@" "$(getconf CLK_TCK)" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[3]), delimiter=';'))
d = dict(zip(rows[0], rows[-1]))
ok, bad = int(d.get('SuccessfulCall(C)', 0)), int(d.get('FailedCall(C)', 0))
cpu = (int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[5])
secs = float(sys.argv[4])
print(f"successful={ok} failed={bad} elapsed_s={secs:.2f} cps={ok / secs:.0f} proxy_cpu_s={cpu:.2f} "
      f"cpu_us_per_call={cpu * 1e6 / max(ok, 1):.0f}")
PY
}
us_per_call() { grep -o 'cpu_us_per_call=[0-9.]*' <<<"$1" | cut -d= -f2; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "calls: $calls at $rate/s"

# privox: line 101 (DID +442071234567) of a GB company that may call anywhere, with a funded
# wallet and a cap far above the run's spend. Each run has its own store, whose one trunk is where
# that run's other side is: a trunk is known by its address alone.
P=$build/privox
ABROAD=+12125550147
setup() {  # setup DATA_DIR TRUNK_ADDRESS: prints line 101's SIP user
  local d=$1 s
  $P init --data-dir "$d" >/dev/null
  local company
  company=$($P company add --data-dir "$d" --name Bench --region eea --country GB)
  PRIVOX_EXTENSION_PASSWORD=bench-s3cret $P extension add --data-dir "$d" --company "$company" --number 101 \
    --did +442071234567 >/dev/null
  $P trunk add --data-dir "$d" --name carrier --address "$2" --trusted >/dev/null
  printf 'prefix,description,price_per_minute,connection_fee,increments,currency,valid_from\n1,USA,0.01,0.00,1/1,GBP,2020-01-01\n' \
    >"$work/deck.csv"
  $P rating import --data-dir "$d" --name "Carrier A" --file "$work/deck.csv" >/dev/null
  $P rating destinations set --data-dir "$d" --company "$company" --countries '*' >/dev/null
  $P wallet top-up --data-dir "$d" "$company" 100000.00 --currency GBP >/dev/null
  $P wallet cap --data-dir "$d" "$company" 100000.00 >/dev/null
  for s in "sip.rate_limit_requests 1000000" "fraud.velocity.line_calls_per_minute 100000" \
           "fraud.velocity.company_calls_per_minute 1000000" "fraud.velocity.line_concurrent_calls 100000" \
           "fraud.velocity.company_concurrent_calls 1000000"; do
    # shellcheck disable=SC2086
    $P settings set --data-dir "$d" $s >/dev/null
  done
  $P extension list --data-dir "$d" --company "$company" | cut -f3
}
cd "$work"

# Inbound: the harness's UAC on 127.0.0.1 is the trunk, as in bench/run-sip.sh.
D=$work/inbound
login=$(setup "$D" 127.0.0.1:5061)
$P serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:5060 >"$work/privox-inbound.log" 2>&1 &
privox_pid=$!
sleep 1
inbound=$(REG_USER=$login REG_PASS=bench-s3cret TARGET=+442071234567 PROXY_PIDS=$privox_pid \
  bash "$harness/sip_bench.sh" 5060 "$calls" "$rate" | tail -n 1)
echo "privox inbound (no rules apply): $inbound"
kill "$privox_pid"; wait "$privox_pid" 2>/dev/null || true; privox_pid=""

# Rules on: the carrier's trunk is the harness's UAS on 127.0.0.2, and the line calls from 127.0.0.3.
D=$work/rules
login=$(setup "$D" 127.0.0.2:5090)
$P serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:5060 >"$work/privox-rules.log" 2>&1 &
privox_pid=$!
# sipp -bg exits non-zero once it has forked, hence the `|| true` under pipefail.
uas_pid=$( (sipp -sf "$harness/uas_rr.xml" -i 127.0.0.2 -p 5090 -bg 2>&1 || true) | sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p')
sleep 1
c0=$(ticks "$privox_pid"); t0=$(date +%s.%N)
sipp -sf "$root/src/sip/scenarios/uac_call.xml" 127.0.0.1:5060 -s "$ABROAD" -key caller "$login" -au "$login" \
  -ap bench-s3cret -auth_uri "$ABROAD@127.0.0.1:5060" -i 127.0.0.3 -p 5061 -r "$rate" -l 2000 -m "$calls" \
  -timeout 120 -timeout_error -trace_stat -stf "$work/rules.csv" -fd 1 >/dev/null 2>&1 || true
t1=$(date +%s.%N); c1=$(ticks "$privox_pid")
rules=$(per_call "$c0" "$c1" "$work/rules.csv" "$(python3 -c "print($t1 - $t0)")")
sleep 3  # the last records' debits
debits=$(sqlite3 "$D/privox.db" "SELECT count(*) FROM wallet_ledger WHERE kind = 'call'")
alerts=$(sqlite3 "$D/privox.db" "SELECT count(*) FROM fraud_alerts")
echo "privox rules on (line calls abroad): $rules wallet_debits=$debits fraud_alerts=$alerts"
kill "$privox_pid" "$uas_pid"; wait "$privox_pid" 2>/dev/null || true; privox_pid="" uas_pid=""

# The Kamailio anchor, then Kamailio with pike and htable, each with its default two workers.
bash "$harness/kamailio_anchor.sh" start >/dev/null
sleep 1
kamailio=$(REG_USER=uas PROXY_PIDS="$(pgrep -f kamailio-anchor.cfg | tr '\n' ' ')" \
  bash "$harness/sip_bench.sh" 5070 "$calls" "$rate" | tail -n 1)
echo "kamailio: $kamailio"
bash "$harness/kamailio_anchor.sh" stop >/dev/null
sleep 1
mkdir -p "$kw"
kamailio -f "$root/bench/kamailio-rules.cfg" -n 2 -P "$kw/pid" -m 1024 -M 32 2>"$kw/log"
sleep 1
pike=$(REG_USER=uas PROXY_PIDS="$(pgrep -f kamailio-rules.cfg | tr '\n' ' ')" \
  bash "$harness/sip_bench.sh" 5070 "$calls" "$rate" | tail -n 1)
echo "kamailio + pike + htable: $pike"
kill "$(cat "$kw/pid")"; rm -f "$kw/pid"
sleep 1

# Like for like: Kamailio authenticating each INVITE by digest and relaying it to the carrier, for
# the same sipp scenario and load as privox's "rules on" (bench/kamailio-rules-auth.cfg).
mkdir -p "$kwa"
kamailio -f "$root/bench/kamailio-rules-auth.cfg" -n 2 -P "$kwa/pid" -m 1024 -M 32 2>"$kwa/log"
uas_pid=$( (sipp -sf "$harness/uas_rr.xml" -i 127.0.0.2 -p 5090 -bg 2>&1 || true) | sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p')
sleep 1
kpids=$(pgrep -f kamailio-rules-auth.cfg | tr '\n' ' ')
# shellcheck disable=SC2086
c0=$(ticks $kpids); t0=$(date +%s.%N)
sipp -sf "$root/src/sip/scenarios/uac_call.xml" 127.0.0.1:5072 -s "$ABROAD" -key caller bench -au bench \
  -ap bench-s3cret -auth_uri "$ABROAD@127.0.0.1:5072" -i 127.0.0.3 -p 5061 -r "$rate" -l 2000 -m "$calls" \
  -timeout 120 -timeout_error -trace_stat -stf "$work/kamailio-auth.csv" -fd 1 >/dev/null 2>&1 || true
# shellcheck disable=SC2086
t1=$(date +%s.%N); c1=$(ticks $kpids)
kauth=$(per_call "$c0" "$c1" "$work/kamailio-auth.csv" "$(python3 -c "print($t1 - $t0)")")
echo "kamailio + pike + htable + digest auth (line calls abroad): $kauth"
kill "$(cat "$kwa/pid")" "$uas_pid"; rm -f "$kwa/pid"; uas_pid=""

python3 - "$(us_per_call "$rules")" "$(us_per_call "$kamailio")" "$(us_per_call "$pike")" "$(us_per_call "$inbound")" \
  "$(us_per_call "$kauth")" <<'PY'
import sys
rules, kam, pike, inbound, kauth = map(float, sys.argv[1:])
print(f"privox rules on / kamailio: {rules / kam:.2f} (goal: at most 0.50)")
print(f"privox rules on / kamailio + pike + htable: {rules / pike:.2f}")
print(f"privox rules on / kamailio + pike + htable + digest auth, same calls: {rules / kauth:.2f}")
print(f"privox rules on / privox inbound: {rules / inbound:.2f}")
PY
