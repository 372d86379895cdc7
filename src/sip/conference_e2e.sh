#!/usr/bin/env bash
# The conference bridge end to end (issue 15): rtpengine relays, privox's media endpoint answers and
# mixes, sipp plays the carrier's callers; the room is provisioned with the CLI. Three callers key in
# the room's PIN (two as SIP INFO, one as RFC 4733 events in its RTP) and each speaks a tone of its
# own; each must hear the other two and not itself. A fourth caller finds the room full, a fifth keys
# three wrong PINs; privox hangs up on both. Each participant's call is a traffic record of the room.
# Usage: conference_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in rtpengine sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (make test-deps)" >&2; exit 2; }
done
SCENARIOS=$HERE/scenarios
CARRIER_IP=127.0.0.2  # the trunk is recognised by its address

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
NG_PORT=$(free_port)
MEDIA_MIN=$((20000 + (RANDOM % 90) * 100))
ENDPOINT_MIN=$((30000 + (RANDOM % 90) * 100))
PW='Heron-wharf-57-q'
ROOM_DID='+442079460600'
PIN=4721
CALLERS=('+447700900201' '+447700900202' '+447700900203' '+447700900204' '+447700900205')
personal "$PW" "${CALLERS[@]}" "Penarth Desks Ltd" "$PIN"

CO=$(px "$D" company add --name "Penarth Desks Ltd" --region eea --country GB)
assert_match "company added" "$CO" '^[0-9a-f-]{36}$'
px "$D" trunk add --name carrier --address "$CARRIER_IP:$(free_port)" --trusted >/dev/null || fail "trunk add"
px "$D" settings set sip.rate_limit_requests 0 >/dev/null || fail "settings set"
px "$D" settings set conference.max_participants 3 >/dev/null || fail "settings set conference.max_participants"
OUT=$(px "$D" conference create --company "$CO" --number 700 --name "Weekly" --did "$ROOM_DID" --pin 12 2>&1)
assert_eq "a PIN of two digits is refused" 2 "$?"
assert_contains "naming the PIN" "$OUT" "pin"
ROOM=$(px "$D" conference create --company "$CO" --number 700 --name "Weekly" --did "$ROOM_DID" --pin "$PIN")
assert_match "the room is created" "$ROOM" '^[0-9a-f-]{36}$'
# Line 201's own room, which 202 dials as *88201.
declare -A USER=() ID=()
for n in 201 202; do
  PRIVOX_EXTENSION_PASSWORD=$PW px "$D" extension add --company "$CO" --number "$n" >/dev/null || fail "extension add $n"
  USER[$n]=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$n' AND company_id = '$CO'")
  ID[$n]=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '$n' AND company_id = '$CO'")
done
personal "${USER[@]}"
LINE_ROOM=$(px "$D" conference create --company "$CO" --line "${ID[201]}" --name "201's room" --pin 864209)
assert_match "201's own room is created" "$LINE_ROOM" '^[0-9a-f-]{36}$'

rtpengine --config-file=none --foreground --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
  --port-min="$MEDIA_MIN" --port-max=$((MEDIA_MIN + 99)) --num-threads=1 --log-stderr --log-level=5 \
  >>"$TMP/rtpengine.log" 2>&1 &
E2E_PIDS+=("$!")
start_bg serve "$PRIVOX" serve $(store_args "$D") --http 127.0.0.1:0 --sip "127.0.0.1:$SIP_PORT" \
  --media-relay "127.0.0.1:$NG_PORT" --media-ports "$ENDPOINT_MIN-$((ENDPOINT_MIN + 99))"
for _ in $(seq 100); do grep -q '"event":"service.started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "privox serve is up with its media endpoint" "$(cat "$TMP/serve.log")" '"event":"voicemail.configured"'

# A participant's audio: once privox's 200 names the relay's port, a tone of its own as 20 ms PCMU
# packets from the port its SDP named (and, when asked, the PIN as RFC 4733 events after a
# second); what comes back is decoded, and the power of each participant's tone in what it heard
# from 5.5 s to 9.5 s (everyone is in the room by then) is printed, one line per frequency.
cat >"$TMP/party.py" <<'PY'
import math, re, socket, struct, sys, time
trace, port, hz, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
tones = [int(f) for f in sys.argv[5].split(",")]
def ulaw(x):
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 132
    exp = 7
    while exp > 0 and not (x & (0x4000 >> (7 - exp))): exp -= 1
    return ~(sign | (exp << 4) | ((x >> (exp + 3)) & 0x0F)) & 0xFF
def unulaw(b):
    b = ~b & 0xFF
    x = (((b & 0x0F) << 3) + 132) << ((b >> 4) & 7)
    return (132 - x) if b & 0x80 else (x - 132)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
s.setblocking(False)
relay, start = None, time.time()
while relay is None and time.time() < start + 10:
    try:
        m = re.search(r"SIP/2\.0 200 OK.*?m=audio (\d+)", open(trace, errors="replace").read(), re.S)
        if m: relay = int(m.group(1))
    except OSError:
        pass
    time.sleep(0.02)
if relay is None:
    sys.exit("no 200 with SDP")
answered = time.time()
heard, seq, n = [], 0, 0
events = [] if keys == "-" else [10 if k == "*" else 11 if k == "#" else int(k) for k in keys]
while time.time() < answered + 10.5:
    seq += 1
    t = time.time() - answered
    if events and t > 1.0 + 0.25 * (len(keys) - len(events)):
        e, at = events.pop(0), (1000 + len(events)) * 160  # each key an event of its own timestamp
        for r in range(3):  # the same event three times, the last with its end bit
            s.sendto(struct.pack("!BBHIIBBH", 0x80, 101, seq & 0xFFFF, at, 0x5eed, e, 0x8a if r == 2 else 0x0a, 800), ("127.0.0.1", relay))
            seq += 1
    payload = bytes(ulaw(int(6000 * math.sin(2 * math.pi * hz * (n + i) / 8000))) for i in range(160))
    n += 160
    s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, n, 0x5eed) + payload, ("127.0.0.1", relay))
    time.sleep(0.02)
    try:
        while True:
            d = s.recv(2048)
            if len(d) > 12 and d[1] & 0x7F == 0 and 5.5 < t < 9.5: heard.extend(unulaw(b) for b in d[12:])
    except BlockingIOError:
        pass
def power(f):
    k = 2 * math.cos(2 * math.pi * f / 8000); s1 = s2 = 0.0
    for x in heard: s1, s2 = x + k * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / max(1, len(heard)) ** 2
print(len(heard))
for f in tones: print(f, int(power(f)))
PY

TONES=400,1300,2000
declare -A PARTY_PID=() SIPP_PID=()
party() {  # party N HZ PIN_KEYS_BY_INFO(k1..k5) PIN_BY_RTP: caller N joins the room and speaks HZ
  local n=$1 hz=$2 rtp
  rtp=$(free_port)
  rm -f "$TMP/party$n.msg"
  python3 "$TMP/party.py" "$TMP/party$n.msg" "$rtp" "$hz" "$4" "$TONES" >"$TMP/party$n.heard" 2>&1 &
  PARTY_PID[$n]=$!
  local -a k
  read -r -a k <<<"$3"
  timeout -k 2 40 sipp -sf "$SCENARIOS/uac_trunk_conference.xml" "127.0.0.1:$SIP_PORT" -i "$CARRIER_IP" \
    -p "$(free_port)" -m 1 -s "$ROOM_DID" -key caller "${CALLERS[$n]}" -key rtp_port "$rtp" -key k1 "${k[0]}" \
    -key k2 "${k[1]}" -key k3 "${k[2]}" -key k4 "${k[3]}" -key k5 "${k[4]}" -key privacy "${PRIVACY:-none}" \
    -nostdin -trace_msg -message_file "$TMP/party$n.msg" -timeout 35s -timeout_error -mp "$(free_port)" \
    >"$TMP/party$n.out" 2>&1 &
  SIPP_PID[$n]=$!
  E2E_PIDS+=("${PARTY_PID[$n]}" "${SIPP_PID[$n]}")
}
refused() {  # refused N K1..K6: caller N keys six keys by INFO and privox hangs up
  local n=$1
  shift
  timeout -k 2 40 sipp -sf "$SCENARIOS/uac_trunk_conference_refused.xml" "127.0.0.1:$SIP_PORT" -i "$CARRIER_IP" \
    -p "$(free_port)" -m 1 -s "$ROOM_DID" -key caller "${CALLERS[$n]}" -key rtp_port "$(free_port)" -key k1 "$1" \
    -key k2 "$2" -key k3 "$3" -key k4 "$4" -key k5 "$5" -key k6 "$6" -key privacy none -nostdin -trace_msg \
    -message_file "$TMP/refused$n.msg" -timeout 35s -timeout_error -mp "$(free_port)" >"$TMP/refused$n.out" 2>&1
}

read -r -a P <<<"$(sed 's/./& /g' <<<"$PIN")"
party 0 400 "${P[*]} #" -
sleep 0.4
PRIVACY=id party 1 1300 "${P[*]} #" -
sleep 0.4
party 2 2000 "x x x x x" "$PIN#"  # the PIN as RFC 4733 events
sleep 4
refused 3 "${P[@]}" '#' x
assert_eq "a fourth caller with the right PIN finds the room full and privox hangs up" 0 "$?"
for n in 0 1 2; do
  wait "${SIPP_PID[$n]}"
  assert_eq "caller $n joins the room and hangs up after 10 s" 0 "$?"
  wait "${PARTY_PID[$n]}"
done
declare -A HZ=([0]=400 [1]=1300 [2]=2000)
for n in 0 1 2; do
  samples=$(head -n 1 "$TMP/party$n.heard")
  assert_match "caller $n heard the room for four seconds (samples: $samples)" "$samples" '^[0-9]{5,}$'
  own=$(awk -v f="${HZ[$n]}" '$1 == f {print $2}' "$TMP/party$n.heard")
  for m in 0 1 2; do
    [ "$m" == "$n" ] && continue
    other=$(awk -v f="${HZ[$m]}" '$1 == f {print $2}' "$TMP/party$n.heard")
    assert_true "caller $n hears caller $m's ${HZ[$m]} Hz (power $other) far above their own ${HZ[$n]} Hz (power $own)" \
      test "${other:-0}" -gt 100000 -a "${other:-0}" -gt $((${own:-0} * 20))
  done
done

refused 4 9 '#' 1 '#' 2 '#'  # three PINs of one digit, each wrong
assert_eq "a caller who keys three wrong PINs is hung up on" 0 "$?"

timeout -k 2 40 sipp -sf "$SCENARIOS/uac_call_answered.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -m 1 \
  -s '*88201' -key caller "${USER[202]}" -au "${USER[202]}" -ap "$PW" -auth_uri "*88201@127.0.0.1:$SIP_PORT" -d 2000 \
  -nostdin -trace_msg -message_file "$TMP/line_room.msg" -timeout 35s -timeout_error -mp "$(free_port)" \
  >"$TMP/line_room.out" 2>&1
assert_eq "202 dials *88201 and privox answers for 201's room" 0 "$?"

sleep 0.5
RECORDS=$(store_sql "$D" "SELECT subject_id, direction, outcome FROM traffic_records ORDER BY started_at_us")
assert_eq "each participant's call, the full room's and the wrong PINs' are records of the room, answered by privox" 5 \
  "$(grep -c "^$ROOM|inbound|answered$" <<<"$RECORDS")"
assert_eq "202's call to 201's room is 202's own internal record" 1 \
  "$(grep -c "^${ID[202]}|internal|answered$" <<<"$RECORDS")"
assert_eq "the withheld caller's record is marked withheld" 1 \
  "$(store_sql "$D" "SELECT COUNT(*) FROM traffic_records WHERE source_withheld = 1")"
CDRS=$(px "$D" cdr list --purpose billing --format json)
assert_eq "and names the room it dialled" '*88201' "$(python3 -c '
import json, sys
print(" ".join(r.get("destination", "") for r in json.load(sys.stdin) if r["direction"] == "internal"))' <<<"$CDRS")"
assert_eq "each carrier call's record names the room's DID" "$ROOM_DID" "$(python3 -c '
import json, sys
print(" ".join(sorted({r.get("destination", "") for r in json.load(sys.stdin) if r["direction"] == "inbound"})))' <<<"$CDRS")"
SOURCES=$(python3 -c '
import json, sys
print(" ".join(sorted(r.get("source", "") for r in json.load(sys.stdin) if r["direction"] == "inbound")))' <<<"$CDRS")
assert_eq "each participant's record names its caller" \
  "$(printf '%s\n' "${CALLERS[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" "$SOURCES"
assert_not_contains "serve logged no error" "$(cat "$TMP/serve.log")" '"level":"error"'
assert_not_contains "nor the PIN" "$(cat "$TMP/serve.log")" "$PIN"

finish
