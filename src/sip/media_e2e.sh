#!/usr/bin/env bash
# rtpengine relays every call's media (issue 14): a real rtpengine (userspace forwarding, loopback
# ports of its own) beside `privox serve --media-relay`, and two baresip phones, each sending a tone
# from a file. While they talk, rtpengine's own `query` shows packets from both phones, which it can
# only see if privox rewrote both SDPs to point at it. Then rtpengine dies: /healthz says so, a new
# call gets 503 and leaves a record of it; rtpengine comes back and calls go through again. A sipp
# caller puts a sipp callee on hold: the held callee's audio port receives rtpengine's music on hold.
# Usage: media_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in rtpengine baresip sipp python3 curl; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (make test-deps)" >&2; exit 2; }
done

D=$TMP/data
new_data_dir "$D"
HTTP_PORT=$(free_port)
SIP_PORT=$(free_port)
NG_PORT=$(free_port)
# A media port range of its own: other tests' phones and relays may run beside this one.
MEDIA_MIN=$((20000 + (RANDOM % 90) * 100))

COMPANY=$(px "$D" company add --name "Relay Ltd" --region eea)
L101=$(px "$D" extension add --company "$COMPANY" --number 101 --password 'Amber-gate-41')
L102=$(px "$D" extension add --company "$COMPANY" --number 102 --password 'Birch-lake-62')
L103=$(px "$D" extension add --company "$COMPANY" --number 103 --password 'Cedar-moor-83')
assert_match "three lines provisioned" "$L101 $L102 $L103" '^[0-9a-f-]{36} [0-9a-f-]{36} [0-9a-f-]{36}$'
login_of() { px "$D" extension show --id "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sip_user"])'; }
U101=$(login_of "$L101")
U102=$(login_of "$L102")
U103=$(login_of "$L103")
personal "$U101" "$U102" "$U103" 'Amber-gate-41' 'Birch-lake-62' 'Cedar-moor-83'  # never in privox's logs or metrics (scripts/suite-scan.sh)
px "$D" settings set sip.trusted_sources 127.0.0.1 >/dev/null || fail "settings set sip.trusted_sources"

RTPENGINE_PID=""
start_rtpengine() {
  rtpengine --config-file=none --foreground --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
    --port-min="$MEDIA_MIN" --port-max=$((MEDIA_MIN + 99)) --num-threads=1 --log-stderr --log-level=5 \
    >>"$TMP/rtpengine.log" 2>&1 &
  RTPENGINE_PID=$!
  E2E_PIDS+=("$RTPENGINE_PID")
}
stop_rtpengine() {
  kill -TERM "$RTPENGINE_PID" 2>/dev/null
  wait "$RTPENGINE_PID" 2>/dev/null
}

# A small ng client (bencode over UDP): `ng.py PORT list` prints the call ids; `ng.py PORT packets
# CALL_ID` prints "TAG PACKETS" for each side of the call: the packets rtpengine received from it.
cat >"$TMP/ng.py" <<'PY'
import random, socket, sys
def enc(v):
    if isinstance(v, int): return b"i%de" % v
    if isinstance(v, str): v = v.encode()
    if isinstance(v, bytes): return b"%d:%s" % (len(v), v)
    if isinstance(v, list): return b"l" + b"".join(enc(x) for x in v) + b"e"
    return b"d" + b"".join(enc(k) + enc(v[k]) for k in sorted(v)) + b"e"
def dec(b, i=0):
    c = b[i:i+1]
    if c == b"i":
        j = b.index(b"e", i); return int(b[i+1:j]), j + 1
    if c in (b"l", b"d"):
        out, i = [], i + 1
        while b[i:i+1] != b"e":
            v, i = dec(b, i); out.append(v)
        return (out if c == b"l" else {out[k].decode(): out[k+1] for k in range(0, len(out), 2)}), i + 1
    j = b.index(b":", i); n = int(b[i:j]); return b[j+1:j+1+n], j + 1 + n
def ng(port, cmd):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    cookie = b"%x" % random.getrandbits(48)
    s.sendto(cookie + b" " + enc(cmd), ("127.0.0.1", port))
    data = s.recv(65536)
    return dec(data[data.index(b" ") + 1:])[0]
port, what = int(sys.argv[1]), sys.argv[2]
if what == "list":
    for c in ng(port, {"command": "list"}).get("calls", []): print(c.decode())
else:
    r = ng(port, {"command": "query", "call-id": sys.argv[3]})
    for tag, t in r.get("tags", {}).items():
        n = sum(st.get("stats", {}).get("packets", 0) for m in t.get("medias", []) for st in m.get("streams", []))
        print(tag, n)
PY

start_rtpengine
start_bg serve "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT" \
  --media-relay "127.0.0.1:$NG_PORT"
health() { curl -s "http://127.0.0.1:$HTTP_PORT/healthz"; }
wait_health() {  # wait_health PATTERN: /healthz matches within 15 s
  for _ in $(seq 150); do
    [[ "$(health)" == *"$1"* ]] && return 0
    sleep 0.1
  done
  return 1
}
assert_true "/healthz reports the media relay up" wait_health '"media_relay":"up"'

# Two baresip phones (scripts/test-lib.sh), each sending a tone from a file; 102 answers by itself.
# 101's baresip runs four times: each run takes a newly checked pair of ports (phone101), because
# a pair left free between runs can be taken meanwhile by another test's socket, and baresip then
# quits at once ("Address already in use"), as it did once in CI.
phone() { baresip_phone "$1" "$SIP_PORT" "$(free_port)" "$2" "$3" "$4" 10; }
phone101() { phone "$TMP/p101" "$U101" 'Amber-gate-41' ""; }
phone101
phone "$TMP/p102" "$U102" 'Birch-lake-62' ";answermode=auto"

timeout 80 baresip -f "$TMP/p102" -t 70 </dev/null >"$TMP/p102.log" 2>&1 &
CALLEE_PID=$!
E2E_PIDS+=("$CALLEE_PID")
registered() { grep -Eq "200 OK.*\\[[0-9]+ bindings?\\]" "$1"; }
for _ in $(seq 100); do registered "$TMP/p102.log" && break; sleep 0.1; done
assert_true "102's baresip registers" registered "$TMP/p102.log"

timeout 30 baresip -f "$TMP/p101" -t 9 -e "/dial sip:102@127.0.0.1:$SIP_PORT" </dev/null >"$TMP/p101.log" 2>&1 &
CALLER_PID=$!
E2E_PIDS+=("$CALLER_PID")
established() { grep -q "Call established" "$1"; }
for _ in $(seq 100); do established "$TMP/p101.log" && break; sleep 0.1; done
assert_true "101's call to 102 is established through privox" established "$TMP/p101.log"
sleep 3  # both phones stream for a while

CALL_ID=$(python3 "$TMP/ng.py" "$NG_PORT" list | head -n 1)
assert_match "rtpengine holds the call privox offered it" "$CALL_ID" '.'
python3 "$TMP/ng.py" "$NG_PORT" packets "$CALL_ID" >"$TMP/packets.txt" 2>&1
echo "rtpengine's packets per side: $(tr '\n' ' ' <"$TMP/packets.txt")"
both_ways() { [ "$(awk '$2 > 50' "$TMP/packets.txt" | wc -l)" -eq 2 ]; }
# 3 s at 50 packets/s: well over 50 from each side once both SDPs point at rtpengine.
assert_true "rtpengine relays packets both ways (over 50 from each phone)" both_ways
wait "$CALLER_PID" 2>/dev/null
assert_contains "101 hangs up with a BYE that privox passes on" "$(cat "$TMP/p102.log")" "terminated"
# the record is written when the BYE is through
cdr_has() {  # cdr_has PYTHON_CONDITION_ON_r: some traffic record matches
  px "$D" cdr list --format json --purpose billing 2>/dev/null |
    python3 -c "import json, sys; sys.exit(0 if any($1 for r in json.load(sys.stdin)) else 1)"
}
assert_true "the relayed call is recorded as answered and ended by bye" \
  cdr_has "r['outcome'] == 'answered' and r.get('end_reason') == 'bye'"

# --- Hold with music (issue 15): 101 (sipp) calls 103 (sipp) and puts it on hold for 3 s; the
# caller sends no audio, so all 103's audio port receives is rtpengine's music on hold.
SCENARIOS=$HERE/scenarios
DEV103=$(free_port)
timeout -k 2 15 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -nostdin -m 1 \
  -key user "$U103" -key contact_port "$DEV103" -key expires 3600 -au "$U103" -ap 'Cedar-moor-83' \
  -timeout 10s -timeout_error >"$TMP/reg103.out" 2>&1
assert_eq "103's sipp phone registers" 0 "$?"
# The counter takes a UDP port the system picks (a port free for TCP may be taken for UDP by a test
# beside this one) and writes it down before it counts.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(0.2)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
n, end, last = 0, time.time() + 12, 0.0
while time.time() < end and not (n and time.time() - last > 1.5):
    try:
        s.recv(2048); n += 1; last = time.time()
    except socket.timeout:
        pass
print(n)' "$TMP/moh.port" >"$TMP/moh.count" &
COUNTER_PID=$!
E2E_PIDS+=("$COUNTER_PID")
for _ in $(seq 50); do [ -s "$TMP/moh.port" ] && break; sleep 0.1; done
MOH_PORT=$(cat "$TMP/moh.port")
timeout -k 2 30 sipp -sf "$SCENARIOS/uas_answer_held.xml" -i 127.0.0.1 -p "$DEV103" -nostdin -m 1 -key mport "$MOH_PORT" \
  -timeout 25s -timeout_error -trace_msg -message_file "$TMP/held103.msg" >"$TMP/held103.out" 2>&1 &
HELD_PID=$!
E2E_PIDS+=("$HELD_PID")
sleep 0.3
timeout -k 2 30 sipp -sf "$SCENARIOS/uac_call_hold.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -nostdin \
  -mp "$(free_port)" -m 1 -s 103 -key caller "$U101" -au "$U101" -ap 'Amber-gate-41' -auth_uri "103@127.0.0.1:$SIP_PORT" \
  -d 3000 -timeout 25s -timeout_error -trace_msg -message_file "$TMP/hold101.msg" >"$TMP/hold101.out" 2>&1
assert_eq "101 calls 103, holds it for 3 s (re-INVITE sendonly, answered) and hangs up" 0 "$?"
wait "$HELD_PID"
assert_eq "103 is put on hold (answers the re-INVITE recvonly) and gets the BYE" 0 "$?"
wait "$COUNTER_PID"
MUSIC=$(cat "$TMP/moh.count")
echo "packets 103's audio port received while held: $MUSIC"
# 3 s at 50 packets/s: 150; well over 50 once rtpengine plays the file to the held side.
assert_true "the held party hears music on hold (over 50 RTP packets in 3 s)" test "${MUSIC:-0}" -gt 50

# --- rtpengine dies during a call: the call carries on to its BYE; then new calls get 503 ---
cdr_count() {  # cdr_count PYTHON_CONDITION_ON_r: how many traffic records match
  px "$D" cdr list --format json --purpose billing 2>/dev/null |
    python3 -c "import json, sys; print(sum(1 for r in json.load(sys.stdin) if $1))"
}
BYES=$(cdr_count "r['outcome'] == 'answered' and r.get('end_reason') == 'bye'")  # the calls so far
phone101
timeout 30 baresip -f "$TMP/p101" -t 8 -e "/dial sip:102@127.0.0.1:$SIP_PORT" </dev/null >"$TMP/p101a.log" 2>&1 &
CALLER_PID=$!
E2E_PIDS+=("$CALLER_PID")
for _ in $(seq 100); do established "$TMP/p101a.log" && break; sleep 0.1; done
assert_true "a second call is established" established "$TMP/p101a.log"
stop_rtpengine
wait "$CALLER_PID" 2>/dev/null
answered_by_bye() { [ "$(cdr_count "r['outcome'] == 'answered' and r.get('end_reason') == 'bye'")" -eq $((BYES + 1)) ]; }
for _ in $(seq 50); do answered_by_bye && break; sleep 0.1; done
assert_true "the call up when rtpengine died was not torn down: its BYE went through and ended its record" \
  answered_by_bye
phone101
timeout 30 baresip -f "$TMP/p101" -t 8 -e "/dial sip:102@127.0.0.1:$SIP_PORT" </dev/null >"$TMP/p101b.log" 2>&1
assert_contains "a call while the relay is down gets 503" "$(cat "$TMP/p101b.log")" "503 Media relay unavailable"
assert_true "/healthz reports the media relay down" wait_health '"media_relay":"down"'
assert_eq "/healthz answers 503 while the relay is down" "503" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")"
assert_true "the refused call is recorded as failed with 503" cdr_has "r['outcome'] == 'failed' and r.get('failure_code') == 503"

# --- and comes back: the pings find it, and calls are relayed again ---
start_rtpengine
assert_true "/healthz reports the media relay up again" wait_health '"media_relay":"up"'
phone101
timeout 30 baresip -f "$TMP/p101" -t 5 -e "/dial sip:102@127.0.0.1:$SIP_PORT" </dev/null >"$TMP/p101c.log" 2>&1
assert_true "a call goes through once the relay is back" established "$TMP/p101c.log"
established "$TMP/p101c.log" || tail -n 20 "$TMP/p101c.log"

assert_contains "serve logged the relay's outage as an error" "$(cat "$TMP/serve.log")" \
  '"level":"error","subsystem":"sip","event":"media_relay.down"'
assert_not_contains "and no other error" \
  "$(grep -v '"event":"media_relay.down"' "$TMP/serve.log")" '"level":"error"'

finish
