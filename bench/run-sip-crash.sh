#!/usr/bin/env bash
# Answered calls lost to a kill -9 (issue 10, item 4; R1), and what waiting for the record costs.
#   bench/run-sip-crash.sh [RUNS] [RATE] [SECONDS] [BEFORE_BIN=path] [OTHER_BIN=path ...]
# RUNS defaults to 3, RATE (calls/s) to 300, SECONDS (of load before the kill) to 5.
#
# Crash runs, RUNS per backend: a fresh store provisioned as bench/run-sip.sh does (extension 101
# behind DID +442071234567, registered by a sipp UAS; the sipp UAC as the trusted trunk), the UAC
# places calls to the DID at RATE for SECONDS + 2 s, each call from its own calling number and
# lasting CALL_MS; after SECONDS privox gets SIGKILL and is started again at once on the same store
# (which closes the calls the crash left open, reason `restart`). Every 200 the UAC receives is
# logged with its calling number (src/sip/scenarios/uac_trunk_logged.xml); after the UAC is done,
# `privox cdr list` (which opens the sealed parties) gives the records, and a call is lost when the
# UAC was answered and no record of its calling number has an answer time. Per run: answered at the
# UAC, answered with a record, lost (with how long after its INVITE each lost call's 200 came: a
# callee repeats an unacknowledged 200 after T1, 500 ms), records closed with reason restart, and how
# long privox was down.
#
# Post-dial delay and CPU, in the same invocation: PDD_CALLS calls at RATE (calls of 0 ms, as
# ../shared/bench/sip does) through the Kamailio anchor (signalling only, two workers), through
# this tree's privox on each backend, and through every other binary named NAME_BIN=path (labelled name: say,
# BEFORE_BIN for a Release build of the commit before the answer waited for its record). PDD is the
# first INVITE's send to the 200's arrival at the UAC, median and p99; CPU is the proxy's own (every
# thread of privox, the writer's included; every Kamailio process), from /proc, per answered call.
# The crash runs are made against those binaries as well.
#
# Environment: BACKENDS (default "sqlite postgresql"), PDD_CALLS (default 5000), CALL_MS (default
# 1000), CRASH=0 or PDD=0 to skip a part. The load average is printed with every figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$(cd "$root/../shared/bench/sip" && pwd)
scenarios=$root/src/sip/scenarios
positional=()
others=()  # "path label"
for arg in "$@"; do
  case "$arg" in
    *_BIN=*)
      name=${arg%%_BIN=*}
      others+=("$(realpath "${arg#*_BIN=}") ${name,,}")
      [ -x "${others[-1]% *}" ] || { echo "${arg%%=*}: ${others[-1]% *} is not executable" >&2; exit 2; } ;;
    *) positional+=("$arg") ;;
  esac
done
runs=${positional[0]:-3}; rate=${positional[1]:-300}; seconds=${positional[2]:-5}
backends=${BACKENDS:-sqlite postgresql}
pdd_calls=${PDD_CALLS:-5000}
call_ms=${CALL_MS:-1000}
build=$root/build-bench
did=+442071234567

bash "$root/scripts/install-deps.sh"
# The package starts a system Kamailio on 5060; privox here listens on a free port, the anchor on 5070.
if [ "${PDD:-1}" != 0 ] && ! command -v kamailio >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kamailio >/dev/null
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null
current_bin=$build/privox

work=$(mktemp -d /tmp/privox-sip-crash.XXXXXX)
chmod 755 "$work"  # the private PostgreSQL runs as the postgres user
serve_pid=""
uas_pid=""
kamailio_up=""
cleanup() {
  [ -n "$serve_pid" ] && kill -9 "$serve_pid" 2>/dev/null
  [ -n "$uas_pid" ] && kill "$uas_pid" 2>/dev/null
  [ -n "$kamailio_up" ] && bash "$harness/kamailio_anchor.sh" stop >/dev/null 2>&1
  bash "$root/scripts/test-postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
sip_port=$(free_port); uac_port=$(free_port); uas_port=$(free_port)

pg_url=""
if [[ " $backends " == *" postgresql "* ]]; then
  pg_url=$(bash "$root/scripts/test-postgres.sh" start "$work/pg")
  psql -X -q "$pg_url" -c "ALTER SYSTEM SET log_statement = 'none'" -c "SELECT pg_reload_conf()" >/dev/null
fi

# new_store BACKEND NAME: a data directory $D, and in $store the arguments that name its store.
new_store() {
  D=$work/$2
  mkdir -p "$D"
  store=()
  if [ "$1" == postgresql ]; then
    psql -X -q "$pg_url" -c "CREATE SCHEMA $2"
    local sep='?'
    [[ "$pg_url" == *"?"* ]] && sep='&'
    store=(--store "$pg_url${sep}options=-csearch_path%3D$2")
  fi
}

# provision BIN: extension 101 behind the DID, the UAC's address as a trusted trunk; sets $login.
provision() {
  local P=$1
  $P init --data-dir "$D" "${store[@]}" >/dev/null
  local company
  company=$($P company add --data-dir "$D" "${store[@]}" --name Bench --region eea)
  PRIVOX_EXTENSION_PASSWORD=bench-s3cret $P extension add --data-dir "$D" "${store[@]}" --company "$company" \
    --number 101 --did "$did" >/dev/null
  login=$($P extension list --data-dir "$D" "${store[@]}" --company "$company" | cut -f3)
  $P trunk add --data-dir "$D" "${store[@]}" --name carrier --address "127.0.0.1:$uac_port" --trusted >/dev/null
  # One address loads privox, as in bench/run-sip.sh; a binary older than the guard has no such setting.
  $P settings set --data-dir "$D" "${store[@]}" sip.rate_limit_requests 1000000 >/dev/null 2>&1 || true
}

# serve BIN: starts privox on $D and waits until its SIP service is up (the log is appended to).
serve() {
  local before=0
  [ -f "$D/serve.log" ] && before=$(grep -c '"event":"service.started"' "$D/serve.log" || true)
  "$1" serve --data-dir "$D" "${store[@]}" --http 127.0.0.1:0 --sip "127.0.0.1:$sip_port" >>"$D/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 200); do
    [ "$(grep -c '"event":"service.started"' "$D/serve.log" || true)" -gt "$before" ] && return 0
    sleep 0.05
  done
  echo "privox did not start:" >&2
  tail -n 20 "$D/serve.log" >&2
  exit 1
}

stop_serve() {
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}

# answering_phone PROXY_PORT USER [PASSWORD]: a sipp UAS, registered at the proxy with sipsak.
answering_phone() {
  sipp -sf "$scenarios/uas_answer.xml" -i 127.0.0.1 -p "$uas_port" -nostdin >/dev/null 2>&1 &
  uas_pid=$!
  sleep 0.3
  local auth=()
  [ -n "${3:-}" ] && auth=(-a "$3" -u "$2")
  sipsak -U -i -C "sip:$2@127.0.0.1:$uas_port" -s "sip:$2@127.0.0.1:$1" -x 3600 -H 127.0.0.1 "${auth[@]}" \
    >"$work/reg.log" 2>&1 || { echo "registration of $2 failed:" >&2; cat "$work/reg.log" >&2; exit 1; }
}

stop_phone() {
  kill "$uas_pid" 2>/dev/null || true
  wait "$uas_pid" 2>/dev/null || true
  uas_pid=""
}

# calls PROXY_PORT TARGET COUNT DURATION_MS LOG: the carrier's calls at $rate; answers go to LOG.
calls() {
  sipp -sf "$scenarios/uac_trunk_logged.xml" "127.0.0.1:$1" -s "$2" -key callers +4479 -i 127.0.0.1 \
    -p "$uac_port" -r "$rate" -l 20000 -m "$3" -d "$4" -nostdin -recv_timeout 15000 -timeout 300s \
    -trace_logs -log_file "$5" >/dev/null 2>&1
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "crash runs: $runs per backend ($backends), $rate calls/s, kill -9 after $seconds s, calls of $call_ms ms"
echo "post-dial delay: $pdd_calls calls at $rate/s"

# crash_run BIN LABEL BACKEND N: one kill -9 under load; prints its line.
crash_run() {
  local bin=$1 label=$2 backend=$3 n=$4
  new_store "$backend" "crash_${label}_${backend}_$n"
  provision "$bin"
  serve "$bin"
  answering_phone "$sip_port" "$login" bench-s3cret
  local l0
  l0=$(load)
  calls "$sip_port" "$did" $((rate * (seconds + 2))) "$call_ms" "$D/answered.log" &
  local uac=$!
  sleep "$seconds"
  local killed_at down_ms
  killed_at=$(date +%s%N)
  kill -9 "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  serve "$bin"
  down_ms=$((($(date +%s%N) - killed_at) / 1000000))
  wait "$uac" || true
  stop_phone
  stop_serve
  "$bin" cdr list --data-dir "$D" "${store[@]}" --purpose billing --format csv >"$D/cdr.csv"
  local restarted
  restarted=$(sed -n 's/.*"event":"calls.closed_after_restart","calls":\([0-9]*\).*/\1/p' "$D/serve.log" | tail -n 1)
  python3 - "$D/answered.log" "$D/cdr.csv" "$label" "$backend" "$n" "${restarted:-0}" "$l0 / $(load)" "$down_ms" <<'PY'
import csv, sys
answered = {}  # calling number: ms from its first INVITE to the 200
for line in open(sys.argv[1]):
    p = line.split()
    if p and p[0] == "answered":
        answered[p[1]] = (float(p[4]) + float(p[5]) / 1e6 - float(p[2]) - float(p[3]) / 1e6) * 1000
rows = list(csv.DictReader(open(sys.argv[2])))
recorded = {r["source"] for r in rows if r["answered_at"]}
lost = sorted(answered.keys() - recorded)
restart = sum(r["end_reason"] == "restart" for r in rows)
still_open = sum(r["outcome"] == "open" for r in rows)
print(f"crash {sys.argv[3]} {sys.argv[4]} run {sys.argv[5]}: answered at the UAC={len(answered)} "
      f"with a record={len(answered) - len(lost)} lost={len(lost)} closed with reason restart={restart} "
      f"(serve said {sys.argv[6]}) left open={still_open} down_ms={sys.argv[8]} load={sys.argv[7]}"
      + (" lost: " + ", ".join(f"{n} (200 {answered[n]:.0f} ms after its INVITE)" for n in lost[:10]) if lost else ""))
PY
}

# pdd LABEL LOG PIDS...: the figures of one post-dial delay run (LOG from calls(), CPU from PIDS).
pdd_line() {
  local label=$1 log=$2 cpu_ticks=$3 l=$4
  python3 - "$log" "$label" "$cpu_ticks" "$(getconf CLK_TCK)" "$pdd_calls" "$l" <<'PY'
import sys
d = []
for l in open(sys.argv[1]):
    p = l.split()
    if p and p[0] == "answered":
        d.append((float(p[4]) + float(p[5]) / 1e6 - float(p[2]) - float(p[3]) / 1e6) * 1000)
d.sort()
n = len(d)
q = lambda f: d[min(n - 1, int(f * n))] if n else float("nan")
cpu = int(sys.argv[3]) / int(sys.argv[4])
print(f"pdd {sys.argv[2]}: answered={n} of {sys.argv[5]} pdd_ms median={q(0.5):.2f} p99={q(0.99):.2f} "
      f"max={d[-1] if n else float('nan'):.2f} cpu_s={cpu:.2f} cpu_us_per_call={cpu * 1e6 / max(n, 1):.0f} "
      f"load={sys.argv[6]}")
PY
}

pdd_privox() {  # pdd_privox BIN LABEL BACKEND
  new_store "$3" "pdd_${2}_$3"
  provision "$1"
  serve "$1"
  answering_phone "$sip_port" "$login" bench-s3cret
  sleep 1
  local l0 c0 c1
  l0=$(load)
  c0=$(ticks "$serve_pid")
  calls "$sip_port" "$did" "$pdd_calls" 0 "$D/answered.log" || true
  c1=$(ticks "$serve_pid")
  stop_phone
  stop_serve
  pdd_line "privox-$2 $3" "$D/answered.log" $((c1 - c0)) "$l0 / $(load)"
}

pdd_kamailio() {
  bash "$harness/kamailio_anchor.sh" start >/dev/null
  kamailio_up=1
  sleep 1
  local kpids l0 c0 c1
  kpids=$(pgrep -f kamailio-anchor.cfg | tr '\n' ' ')
  answering_phone 5070 uas
  sleep 1
  l0=$(load)
  # shellcheck disable=SC2086 # one pid a word
  c0=$(ticks $kpids)
  calls 5070 uas "$pdd_calls" 0 "$work/kamailio-answered.log" || true
  # shellcheck disable=SC2086
  c1=$(ticks $kpids)
  stop_phone
  bash "$harness/kamailio_anchor.sh" stop >/dev/null
  kamailio_up=""
  pdd_line "kamailio" "$work/kamailio-answered.log" $((c1 - c0)) "$l0 / $(load)"
}

bins=("$current_bin current" "${others[@]}")
if [ "${CRASH:-1}" != 0 ]; then
  for entry in "${bins[@]}"; do
    read -r bin label <<<"$entry"
    for backend in $backends; do
      for n in $(seq "$runs"); do crash_run "$bin" "$label" "$backend" "$n"; done
    done
  done
fi
if [ "${PDD:-1}" != 0 ]; then
  pdd_kamailio
  for backend in $backends; do
    for entry in "${bins[@]}"; do
      read -r bin label <<<"$entry"
      pdd_privox "$bin" "$label" "$backend"
    done
  done
fi
