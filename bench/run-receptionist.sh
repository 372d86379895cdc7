#!/usr/bin/env bash
# The virtual receptionist under load (issue 15): a carrier's callers reach a receptionist's DID,
# privox answers each with the open menu (a menu session of its media endpoint, its RTP through
# rtpengine), the caller presses 1 as SIP INFO after MENU_MS, privox hands it on by a leg of its own
# to a ring group of LINES lines ringing at once (simultaneous), one phone answers and the others
# are cancelled, the call is held HOLD_S seconds and the caller hangs up (privox ends the leg).
#   bench/run-receptionist.sh [CALLS] [RATE] [CONCURRENT] [LINES] [HOLD_S] [MENU_MS]
#   (defaults 2000 calls, 50/s, at most 200 at once, 10 lines, 4 s held, 1000 ms in the menu)
# The caller is sipp (bench/scenarios/uac_receptionist_key.xml) bound to 127.0.0.2, a trusted trunk;
# each line has its own registered sipp phone (bench/scenarios/uas_group_phone.xml): line i answers
# PHONE_ANSWER_MS + 100 (i - 1) ms after the INVITE unless cancelled first, so line 1 answers and
# the others are cancelled.
# Reports: the caller's calls (created, successful, failed and how), calls/s, the most calls at once
# (sipp's CurrentCall, sampled every second) and the menu's share of them, the phones' calls
# (answered and cancelled legs), privox's and rtpengine's CPU µs per call (utime + stime from /proc
# over the caller's run, every thread), the traffic records, privox's warnings and errors, and the
# media endpoint's totals (media.totals, logged when serve stops: every session, menus handed on
# included) and from them the issue's measure, the share of the menus' audio packets lost or late:
# sent more than 20 ms after they were due (or refused by the socket), and, because each caller
# echoes what it hears (sipp -rtp_echo), the share of that audio that came back through rtpengine
# (twice) late or not at all, by the endpoint's jitter buffer. SQLite store.
# Environment: SIP_PORT (default 5260), PHONE_ANSWER_MS (line 1's answer delay, default 300; one
# longer than the hold has every caller hang up while the group rings), ECHO=0 (callers send no
# audio back), KEEP=1 keeps the work directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
media=$(cd "$root/../shared/bench/media" && pwd)
calls=${1:-2000}; rate=${2:-50}; conc=${3:-200}; lines=${4:-10}; hold=${5:-4}; menu_ms=${6:-1000}
sip_port=${SIP_PORT:-5260}
answer_ms=${PHONE_ANSWER_MS:-300}
trunk_port=$((sip_port + 1))
build=$root/build-bench
scenarios=$root/bench/scenarios
for v in "$calls" "$rate" "$conc" "$lines" "$hold" "$menu_ms" "$answer_ms"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "$0: every parameter is a positive whole number, not '$v'" >&2; exit 2; }
done
[ "$lines" -le 50 ] || { echo "$0: at most 50 lines (a ring group's members, one sipp each)" >&2; exit 2; }

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null

work=$(mktemp -d /tmp/privox-receptionist-bench.XXXXXX)
privox_pid=""
phone_pids=()
cleanup() {
  local p
  for p in "${phone_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$privox_pid" ] && kill "$privox_pid" 2>/dev/null
  bash "$media/rtpengine_anchor.sh" stop >/dev/null 2>&1 || true
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo "rtpengine $(rtpengine --version 2>&1 | sed -n 's/^Version: //p'); sipp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -n 1)"
echo "calls: $calls at $rate/s, at most $conc at once; ring group of $lines lines (simultaneous); ${menu_ms} ms in the menu, then key 1 by INFO; held ${hold} s"
# Ports are freed quickly (5 s) so that a long run does not exhaust the relay's range.
RTPENGINE_DELETE_DELAY=5 bash "$media/rtpengine_anchor.sh" start >/dev/null
rtpengine_pid=$(bash "$media/rtpengine_anchor.sh" pid)

# One company: lines 201.. in group 600 (simultaneous), receptionist 500 behind the DID, whose open
# menu's key 1 is the group. No business hours are set, so the open menu always plays.
P=$build/privox
D=$work/data
DID=+442071230600
$P init --data-dir "$D" >/dev/null
company=$($P company add --data-dir "$D" --name Bench --region eea --country GB)
members=()
for i in $(seq "$lines"); do
  PRIVOX_EXTENSION_PASSWORD=bench-s3cret $P extension add --data-dir "$D" --company "$company" --number $((200 + i)) >/dev/null
done
$P extension list --data-dir "$D" --company "$company" >"$work/lines.tsv"
for i in $(seq "$lines"); do
  members+=(--member "$(awk -F'\t' -v n=$((200 + i)) '$2 == n {print $1}' "$work/lines.tsv")")
done
$P group create --data-dir "$D" --company "$company" --number 600 --name "Bench group" --strategy simultaneous \
  --ring-seconds 30 "${members[@]}" >/dev/null
menu=$($P menu create --data-dir "$D" --company "$company" --name "Bench menu" --key 1=group:600)
$P receptionist create --data-dir "$D" --company "$company" --number 500 --name "Bench desk" --did "$DID" \
  --open-menu "$menu" >/dev/null
$P trunk add --data-dir "$D" --name carrier --address "127.0.0.2:$trunk_port" --trusted >/dev/null
$P settings set --data-dir "$D" sip.rate_limit_requests 1000000 >/dev/null  # every phone is on 127.0.0.1
$P serve --data-dir "$D" --http 127.0.0.1:0 --sip "127.0.0.1:$sip_port" --media-relay 127.0.0.1:22222 \
  --media-ports 40000-49999 --ring-timeout 30 >"$work/privox.log" 2>&1 &
privox_pid=$!
for _ in $(seq 100); do grep -q '"event":"service.started"' "$work/privox.log" 2>/dev/null && break; sleep 0.1; done
grep -q '"event":"voicemail.configured"' "$work/privox.log" || { echo "privox's media endpoint did not start:" >&2; tail "$work/privox.log" >&2; exit 1; }

# The phones: line i's sipp listens on 127.0.0.1:5300+i and registers that contact.
cd "$work"
for i in $(seq "$lines"); do
  user=$(awk -F'\t' -v n=$((200 + i)) '$2 == n {print $3}' "$work/lines.tsv")
  port=$((5300 + i))
  sed "s/ANSWER_MS/$((answer_ms + 100 * (i - 1)))/" "$scenarios/uas_group_phone.xml" >"$work/phone$i.xml"
  sipp -sf "$work/phone$i.xml" -i 127.0.0.1 -p "$port" -mp $((16000 + 10 * i)) -nostdin -trace_stat \
    -stf "$work/phone$i.csv" -fd 1 -trace_err -error_file "$work/phone$i.err" >"$work/phone$i.out" 2>&1 &
  phone_pids+=($!)
  sipp -sf "$root/src/sip/scenarios/register.xml" "127.0.0.1:$sip_port" -i 127.0.0.1 -p $((5400 + i)) -m 1 \
    -key user "$user" -key contact_port "$port" -key expires 3600 -au "$user" -ap bench-s3cret -nostdin \
    -timeout 10s -timeout_error >"$work/reg$i.out" 2>&1 || { echo "line $((200 + i)) did not register" >&2; exit 1; }
done

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
tck=$(getconf CLK_TCK)
privox_before=$(cpu_ticks "$privox_pid"); rtpengine_before=$(cpu_ticks "$rtpengine_pid")
sed "s/milliseconds=\"1000\"/milliseconds=\"$menu_ms\"/" "$scenarios/uac_receptionist_key.xml" >"$work/uac.xml"
start=$(date +%s.%N)
echo_flag=(-rtp_echo); [ "${ECHO:-1}" = 0 ] && echo_flag=()
sipp -sf "$work/uac.xml" "127.0.0.1:$sip_port" -i 127.0.0.2 -p "$trunk_port" -mp 6000 "${echo_flag[@]}" -s "$DID" \
  -key caller +447700900001 -r "$rate" -l "$conc" -m "$calls" -d $((hold * 1000)) -recv_timeout 20000 \
  -timeout $((calls / rate + hold + 90))s -timeout_error -nostdin -trace_stat -stf "$work/uac.csv" -fd 1 \
  -trace_err -error_file "$work/uac.err" -trace_screen -screen_file "$work/uac.screen" >"$work/uac.out" 2>&1 || true
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {print e - s}')
sleep 1  # the last legs' BYEs, and the writer's last batch
privox_us=$(( ($(cpu_ticks "$privox_pid") - privox_before) * 1000000 / tck ))
rtpengine_us=$(( ($(cpu_ticks "$rtpengine_pid") - rtpengine_before) * 1000000 / tck ))

# The caller's view, from sipp's statistics (the last row holds the totals; CurrentCall is sampled).
python3 - "$work/uac.csv" "$elapsed" "$privox_us" "$rtpengine_us" "$menu_ms" "$hold" <<'PY'
import csv, sys
path, elapsed, privox_us, rtp_us, menu_ms, hold = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rows = list(csv.DictReader(open(path), delimiter=";"))
last = rows[-1]
n = lambda k: int(last.get(k) or 0)
created, ok, failed = n("TotalCallCreated"), n("SuccessfulCall(C)"), n("FailedCall(C)")
peak = max(int(r["CurrentCall"]) for r in rows)
how = {k[6:-3]: int(v) for k, v in last.items() if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and int(v or 0)}
print(f"caller: created={created} successful={ok} failed={failed}" + (f" ({how})" if how else "") +
      f" retransmissions={n('Retransmissions(C)')} unexpected_out_of_call={n('OutOfCallMsgs(C)')}")
def secs(hms):  # sipp's ElapsedTime(C), HH:MM:SS
    h, m, s = (float(x) for x in hms.split(":")[:3])
    return h * 3600 + m * 60 + s
made = next(secs(r["ElapsedTime(C)"]) for r in rows if int(r["TotalCallCreated"]) == created)
print(f"caller: {elapsed:.1f} s from first call to last; {created / max(made, 1):.1f} calls/s while calls were being created ({made:.0f} s),"
      f" {ok / elapsed:.1f} calls/s completed over the whole run")
# A call is in the menu for menu_ms of its menu_ms + hold (+ a few ms of signalling).
print(f"caller: most calls at once {peak} (sampled each second), of which in the menu about"
      f" {min(peak * menu_ms / (menu_ms + 1000 * hold), created / max(made, 1) * menu_ms / 1000):.0f}")
print(f"caller: INVITE to 200 (menu answered) {last.get('ResponseTime1(C)')}, INFO to 200 {last.get('ResponseTime2(C)')} (averages, as sipp writes them: HH:MM:SS:µs, 1 ms resolution)")
per = max(ok, 1)
print(f"cpu: privox {privox_us / 1e6:.2f} s = {privox_us / per:.0f} us per successful call; rtpengine {rtp_us / 1e6:.2f} s = {rtp_us / per:.0f} us per call")
PY

# The phones' view: a leg each line answered or had cancelled, and anything unexpected.
for i in $(seq "$lines"); do kill -USR1 "${phone_pids[$((i - 1))]}" 2>/dev/null || true; done
for i in $(seq "$lines"); do
  p=${phone_pids[$((i - 1))]}
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
done
phone_pids=()
python3 - "$work" "$lines" <<'PY'
import csv, os, sys
work, lines = sys.argv[1], int(sys.argv[2])
tot = {"legs": 0, "ok": 0, "failed": 0}
for i in range(1, lines + 1):
    rows = list(csv.DictReader(open(f"{work}/phone{i}.csv"), delimiter=";"))
    last = rows[-1]
    tot["legs"] += int(last["TotalCallCreated"]); tot["ok"] += int(last["SuccessfulCall(C)"]); tot["failed"] += int(last["FailedCall(C)"])
    bad = {k[6:-3]: int(v) for k, v in last.items() if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and int(v or 0)}
    if bad: print(f"phone {200 + i}: {bad}")
print(f"phones: legs rung={tot['legs']} completed (answered or cancelled)={tot['ok']} failed={tot['failed']}")
PY
# sipp's error files, less the phones' answers (a CANCEL not come in time: the "timeout" to answer).
python3 - "$work" "$lines" <<'PY'
import re, sys
work, lines = sys.argv[1], int(sys.argv[2])
for name, label in [("uac", "caller")] + [(f"phone{i}", f"phone {200 + i}") for i in range(1, lines + 1)]:
    try: text = open(f"{work}/{name}.err", errors="replace").read()
    except OSError: continue
    events = [e.strip() for e in re.split(r"(?=\d{4}-\d\d-\d\d\t)", text) if e.strip()]
    events = [e for e in events if "jumping to label" not in e and not e.startswith("The following events")]
    if events:
        print(f"{label}: {len(events)} sipp errors, the first:")
        for e in events[:6]: print("  " + e[:300].replace("\n", " | "))
PY

# privox's view: the traffic records (the receptionist's call, each line's leg), then its log.
sqlite3 -separator ' ' "$D/privox.db" "SELECT 'records:', COALESCE('line ' || e.number, 'receptionist'), t.direction,
  t.outcome, count(*) FROM traffic_records t LEFT JOIN extensions e ON e.id = t.subject_id GROUP BY 2, 3, 4 ORDER BY 2, 3, 4"
echo "rtpengine: $(bash "$media/rtpengine_anchor.sh" stats 2>&1 | tr '\n' ' ')"
kill -TERM "$privox_pid"
wait "$privox_pid" 2>/dev/null || true
privox_pid=""
python3 - "$work/privox.log" <<'PY'
import collections, json, sys
seen, first = collections.Counter(), {}
for line in open(sys.argv[1], errors="replace"):
    try: e = json.loads(line)
    except ValueError: seen[("unparsed", line.strip()[:80])] += 1; continue
    if e.get("event", "").startswith("receptionist."): seen[("info", "sip/" + e["event"])] += 1
    if e.get("event") == "voicemail.totals": print("privox voicemail.totals:", {k: v for k, v in e.items() if k not in ("ts", "level", "subsystem", "event")})
    if e.get("event") == "media.totals":
        print("privox media.totals:", {k: v for k, v in e.items() if k not in ("ts", "level", "subsystem", "event")})
        out, back = int(e["rtp_out"]), int(e["rtp_in"])
        late_out = int(e["rtp_sent_late"]) + int(e["rtp_unsent"])
        print(f"menu audio sent late or not sent: {late_out} of {out + int(e['rtp_unsent'])} = {100 * late_out / max(out, 1):.4f}%;"
              f" echoed back late or lost: {e['rtp_late_or_lost']} of {back} received = {100 * int(e['rtp_late_or_lost']) / max(back, 1):.4f}%")
    if e.get("level") in ("warn", "warning", "error", "critical"):
        key = (e["level"], e.get("subsystem", "") + "/" + e.get("event", ""))
        seen[key] += 1; first.setdefault(key, line.strip())
print("privox log, receptionist events and every warning and error:", "none" if not seen else "")
for (lvl, ev), c in seen.most_common():
    print(f"  {lvl} {ev} x{c}; first: {first.get((lvl, ev), ev)[:400]}")
PY
