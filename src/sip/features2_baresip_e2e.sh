#!/usr/bin/env bash
# More of issue 15's call features driven by real phones (features_baresip_e2e.sh has the
# receptionist, transfer, hold and do-not-disturb): three Debian baresip phones (1.0) register with
# `privox serve`, whose media goes through rtpengine, and each flow is checked from the phones' side
# and in the store:
#   1. ring groups: a group of all at once with 103 (rings, never answers) and 102 (answers by
#      itself): 102 answers and 103's ringing is called off; a group whose only member, 103, does
#      not answer overflows to 103's voicemail box: privox's media endpoint answers the caller and
#      the box files a message;
#   2. call forwarding per line: 104 has no device and forwards to 102, which answers; 103 forwards
#      after 5 s unanswered to 102: 103 rings, then 102 answers;
#   3. a loop of busy forwards (105 and 106 on do-not-disturb, each forwarding busy to the other),
#      which the configuration cannot refuse: privox cuts it at run time and the phone gets 483;
#   4. a conference of three: each phone dials the room and keys its PIN and '#' as RFC 4733
#      telephone-events; each sends a tone of its own, and the RTP the room sends each phone (read
#      off the loopback) carries the other two's tones, far above its own;
# and the traffic records of all of it. callflow_e2e.sh and conference_e2e.sh check the same flows
# message by message with sipp.
# Usage: features2_baresip_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in rtpengine baresip python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (make test-deps)" >&2; exit 2; }
done

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
NG_PORT=$(free_port)
MEDIA_MIN=$((20000 + (RANDOM % 90) * 100))
ENDPOINT_MIN=$((30000 + (RANDOM % 90) * 100))
PW='Osprey-quay-52-t'
PIN=4721
personal "$PW" "Barry Groups Ltd" "$PIN"

CO=$(px "$D" company add --name "Barry Groups Ltd" --region eea --country GB)
assert_match "company added" "$CO" '^[0-9a-f-]{36}$'
declare -A USER=() ID=()
for n in 101 102 103 104 105 106; do
  PRIVOX_EXTENSION_PASSWORD=$PW px "$D" extension add --company "$CO" --number "$n" >/dev/null || fail "extension add $n"
  USER[$n]=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$n' AND company_id = '$CO'")
  ID[$n]=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '$n' AND company_id = '$CO'")
done
personal "${USER[@]}"
px "$D" settings set sip.rate_limit_requests 0 >/dev/null || fail "settings set"  # every phone shares 127.0.0.1
group() {  # group NUMBER STRATEGY OVERFLOW MEMBER...: prints the group's id
  local number=$1 strategy=$2 overflow=$3 args=()
  shift 3
  for n in "$@"; do args+=(--member "${ID[$n]}"); done
  [ "$overflow" == - ] || args+=(--overflow "$overflow")
  px "$D" group create --company "$CO" --number "$number" --name "Group $number" --strategy "$strategy" \
    --ring-seconds 5 "${args[@]}"
}
assert_match "group 600 (all at once: 103, 102) is created" "$(group 600 simultaneous - 103 102)" '^[0-9a-f-]{36}$'
assert_match "group 601 (103 alone, overflow to 103's box) is created" \
  "$(group 601 sequential voicemail:103 103)" '^[0-9a-f-]{36}$'
forward() {  # forward NUMBER ARGS...: privox line forward for that line
  local n=$1
  shift
  px "$D" line forward "${ID[$n]}" "$@" >/dev/null || fail "line forward $n $*"
}
forward 104 --unregistered line:102
forward 103 --no-answer line:102 --no-answer-seconds 5
# A loop the configuration check lets through: it refuses loops of always-forwards only (see
# callflow_e2e.sh), since whether a busy forward runs depends on the call.
forward 105 --busy line:106
forward 106 --busy line:105
for n in 105 106; do px "$D" line dnd "${ID[$n]}" on >/dev/null || fail "line dnd $n on"; done
ROOM=$(px "$D" conference create --company "$CO" --number 700 --name "Weekly" --pin "$PIN")
assert_match "the room is created" "$ROOM" '^[0-9a-f-]{36}$'

rtpengine --config-file=none --foreground --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
  --port-min="$MEDIA_MIN" --port-max=$((MEDIA_MIN + 99)) --num-threads=1 --log-stderr --log-level=5 \
  >>"$TMP/rtpengine.log" 2>&1 &
E2E_PIDS+=("$!")
start_bg serve "$PRIVOX" serve $(store_args "$D") --http 127.0.0.1:0 --sip "127.0.0.1:$SIP_PORT" \
  --media-relay "127.0.0.1:$NG_PORT" --media-ports "$ENDPOINT_MIN-$((ENDPOINT_MIN + 99))" --ring-timeout 20
for _ in $(seq 150); do grep -q '"event":"service.started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "privox serve is up with its media endpoint" "$(cat "$TMP/serve.log")" '"event":"voicemail.configured"'

# The phones (scripts/test-lib.sh's baresip_phone), each a baresip that runs the whole test and
# takes its commands from a FIFO (baresip's stdio module: a line starting with '/' is a command; a
# digit typed during a call goes out as an RFC 4733 telephone-event). 102 answers by itself; 103
# rings and never answers. Each sends a tone of its own, which the conference checks: baresip
# hangs up when its audio file ends, so the files outlast the test.
declare -A HZ=([101]=400 [102]=1300 [103]=2000)
tone() {  # tone FILE HZ SECONDS: mono 16-bit 8 kHz, what baresip's aufile reads (whole Hz: 1 s repeats)
  python3 -c 'import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
hz = int(sys.argv[2])
second = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * hz * i / 8000))) for i in range(8000))
w.writeframes(second * int(sys.argv[3])); w.close()' "$1" "$2" "$3"
}
start_phone() {  # start_phone NUMBER ACCOUNT_PARAMS
  local n=$1 dir=$TMP/p$1
  baresip_phone "$dir" "$SIP_PORT" "$(free_port)" "${USER[$n]}" "$PW" "$2" 1
  tone "$dir/tone.wav" "${HZ[$n]}" 300
  run_fifo_phone "$n" 300
}
start_phone 101 ""
start_phone 102 ";answermode=auto"
start_phone 103 ""
for n in 101 102 103; do
  assert_true "$n's baresip registers" wait_seen "$n" '200 OK.*\[[0-9]* binding'
done
ESTABLISHED='Call established'
ANSWERS='answering call'      # baresip's line when it answers by itself
RINGS='Incoming call from'    # and when a call rings it
HUNG_UP='session closed'      # when the other side ends the call (a BYE, or a CANCEL while ringing)
hang_up() {  # hang_up CALLER CALLEE: the caller hangs up and the callee's call ends
  cmd "$1" /hangup
  assert_true "$1 hangs up: $2's call ends" wait_seen "$2" "$HUNG_UP"
}

# --- 1. Ring groups. 600 rings 103 and 102 at once: 102 answers, and privox calls off 103's ringing.
mark 101 102 103
dial 101 600
assert_true "101's call to group 600 is answered by 102's baresip" wait_seen 102 "$ESTABLISHED"
assert_true "101's phone has the call established" wait_seen 101 "$ESTABLISHED"
assert_contains "102 sees the caller as 101" "$(since 102 | grep "$ANSWERS")" "from sip:${USER[101]}@127.0.0.1"
assert_true "103 rang at the same time" wait_seen 103 "$RINGS"
assert_true "and its ringing is called off once 102 answered" wait_seen 103 "$HUNG_UP"
assert_eq "103 never had the call" 0 "$(seen 103 "$ESTABLISHED")"
sleep 0.5
hang_up 101 102

# 601's only member, 103, rings 5 s unanswered: the call overflows to 103's voicemail box, which
# privox's media endpoint answers; the box records 101's tone as a message once 101 hangs up.
messages_of() {  # messages_of NUMBER: how many messages the line's box holds
  px "$D" voicemail list --purpose service 2>/dev/null |
    python3 -c "import json, sys; print(sum(1 for m in json.load(sys.stdin) if m['box_id'] == '${ID[$1]}'))" 2>/dev/null ||
    echo 0
}
assert_eq "103's box is empty to begin with" 0 "$(messages_of 103)"
mark 101 102 103
dial 101 601
assert_true "group 601 rings 103" wait_seen 103 "$RINGS"
assert_eq "101's call is not answered while 103 rings" 0 "$(seen 101 "$ESTABLISHED")"
assert_true "after 5 s unanswered the call overflows to 103's box: 101's call is answered" \
  wait_seen 101 "$ESTABLISHED" 1 200
assert_true "103's ringing is called off" wait_seen 103 "$HUNG_UP"
assert_eq "103 never had the call" 0 "$(seen 103 "$ESTABLISHED")"
# The greeting's length, from the prompts it is made of ("the person at extension 1 0 3 is
# unavailable; please leave your message after the tone", then half a second of tone).
GREETING=$(python3 - /usr/share/asterisk/sounds/en_US_f_Allison <<'PY'
import sys, wave
total = 0.5
for name in ["vm-theperson", "digits/1", "digits/0", "digits/3", "vm-isunavail", "vm-intro"]:
    with wave.open(f"{sys.argv[1]}/{name}.wav") as w:
        total += w.getnframes() / w.getframerate()
print(f"{total:.2f}")
PY
)
sleep "$(python3 -c "print($GREETING + 1.5)")"  # the greeting, then 1.5 s of 101's tone for the box
mark 101
key 101 '#'
assert_true "101 ends the message with '#' (an RFC 4733 event) and privox hangs up" wait_seen 101 "$HUNG_UP"
wait_box() { for _ in $(seq 60); do [ "$(messages_of 103)" -ge 1 ] && return 0; sleep 0.3; done; return 1; }
assert_true "103's box files 101's message" wait_box

# --- 2. Forwarding per line. 104 has no phone registered: its unregistered forward sends 101's call
# to 102, which answers.
mark 101 102 103
dial 101 104
assert_true "101's call to 104 (no device) is forwarded and 102's baresip answers" wait_seen 102 "$ESTABLISHED"
assert_contains "102 sees the caller as 101" "$(since 102 | grep "$ANSWERS")" "from sip:${USER[101]}@127.0.0.1"
assert_eq "103 did not ring" 0 "$(seen 103 "$RINGS")"
sleep 0.5
hang_up 101 102

# 103 rings 5 s unanswered: its no-answer forward sends the call on to 102, which answers.
mark 101 102 103
dial 101 103
assert_true "101's call to 103 rings 103" wait_seen 103 "$RINGS"
START=$(date +%s%N)
assert_true "after 5 s unanswered the call goes on to 102, whose baresip answers" wait_seen 102 "$ESTABLISHED" 1 200
RANG_MS=$((($(date +%s%N) - START) / 1000000))
assert_true "103 rang about 5 s first (${RANG_MS} ms)" test "$RANG_MS" -ge 4000
assert_true "103's ringing is called off" wait_seen 103 "$HUNG_UP"
assert_eq "103 never had the call" 0 "$(seen 103 "$ESTABLISHED")"
sleep 0.5
hang_up 101 102

# --- 3. The loop: 105 and 106 are on do-not-disturb, each forwarding busy to the other. privox
# follows the forwards until it sees the loop and answers 483; no phone rings.
mark 101 102 103
dial 101 105
assert_true "101's call to 105 fails with 483 (Too Many Hops): the loop is cut" wait_seen 101 '483'
assert_eq "101's call was never established" 0 "$(seen 101 "$ESTABLISHED")"
assert_eq "no phone rang" 0 "$(($(seen 102 "$RINGS") + $(seen 103 "$RINGS")))"

# --- 4. A conference of three. Each phone dials 700, privox's endpoint answers and asks for the
# PIN, and the phone keys it and '#' as RFC 4733 telephone-events. Once all three are in, the RTP
# the room sends each phone's port is read off the loopback for 3 s (a packet socket: root or
# CAP_NET_RAW; without it baresip's own packet counts stand in, and the check says so: Debian's
# baresip 1.0 cannot write what it plays, its aufile module having no player).
# sniff.py OUT SECONDS PORT...: per destination PORT, the PCMU packets seen on the loopback and the
# power of each phone's tone in what they carry, "PORT PACKETS P400 P1300 P2000"; OUT.ready once it listens.
cat >"$TMP/sniff.py" <<'PY'
import math, socket, sys, time
out, seconds, ports = sys.argv[1], float(sys.argv[2]), {int(p) for p in sys.argv[3:]}
try:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    s.bind(("lo", 0))
except OSError as e:
    open(out, "w").write(f"unavailable {e}\n"); open(out + ".ready", "w").close()
    time.sleep(seconds); sys.exit()  # the window baresip's own counts are read over
s.settimeout(0.2)
open(out + ".ready", "w").close()
def ulaw(b):
    b = ~b & 0xFF
    mag = (((b & 0x0F) << 3) + 0x84) << ((b >> 4) & 7)
    return (0x84 - mag) if b & 0x80 else (mag - 0x84)
table = [ulaw(b) for b in range(256)]
heard, end = {p: [0, bytearray()] for p in ports}, time.time() + seconds
while time.time() < end:
    try:
        data, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING or data[12:14] != b"\x08\x00":
        continue  # the loopback shows each packet twice; IPv4 only
    ip = data[14:]
    if ip[9] != 17:
        continue
    udp = ip[(ip[0] & 15) * 4:]
    port, rtp = int.from_bytes(udp[2:4], "big"), udp[8:]
    if port not in ports or len(rtp) < 12 or rtp[0] >> 6 != 2 or rtp[1] & 0x7F != 0:
        continue  # RTP carrying PCMU (payload type 0) to a phone
    heard[port][0] += 1
    heard[port][1] += rtp[12 + 4 * (rtp[0] & 15):]
def power(samples, f):  # Goertzel: the tone's power, per sample squared
    k = 2 * math.cos(2 * math.pi * f / 8000); s1 = s2 = 0.0
    for x in samples: s1, s2 = x + k * s1 - s2, s1
    return int((s1 * s1 + s2 * s2 - k * s1 * s2) / max(1, len(samples)) ** 2)
with open(out, "w") as f:
    for port, (n, payload) in heard.items():
        samples = [table[b] for b in payload]
        f.write(f"{port} {n} " + " ".join(str(power(samples, hz)) for hz in (400, 1300, 2000)) + "\n")
PY
mark 101 102 103
for n in 101 102 103; do
  dial "$n" 700
  assert_true "$n's call to the room is answered (privox asks for the PIN)" wait_seen "$n" "$ESTABLISHED"
  sleep 1  # the prompt has begun
  key "$n" "$PIN#"
  assert_true "$n's baresip sends the PIN and '#' as telephone-events" wait_seen "$n" "send DTMF digit: '#'"
done
sleep 1.5  # the last one is in the room
declare -A PORT=()
for n in 101 102 103; do
  cmd "$n" /audio_debug  # its RTP port, and per source the packets received
done
for n in 101 102 103; do
  wait_seen "$n" 'local: [0-9.]*:[0-9]' || true
  PORT[$n]=$(since "$n" | grep -o 'local: [0-9.]*:[0-9]*' | tail -n 1 | sed 's/.*://')
  assert_match "$n's baresip tells its RTP port" "${PORT[$n]}" '^[0-9]+$'
done
# rcvd NUMBER: the most packets baresip counts from one source on its call, since the mark.
rcvd() { since "$1" | grep -o 'rcvd=[0-9]*' | sed 's/rcvd=//' | sort -n | tail -n 1; }
declare -A RCVD=()
for n in 101 102 103; do RCVD[$n]=$(rcvd "$n"); done
python3 "$TMP/sniff.py" "$TMP/sniffed.txt" 3 "${PORT[@]}" &
SNIFFER=$!
E2E_PIDS+=("$SNIFFER")
for _ in $(seq 50); do [ -e "$TMP/sniffed.txt.ready" ] && break; sleep 0.1; done
mark 101 102 103
wait "$SNIFFER"
for n in 101 102 103; do cmd "$n" /audio_debug; done
sleep 0.3
for n in 101 102 103; do
  assert_eq "$n is still in the room: its call did not end" 0 "$(seen "$n" "$HUNG_UP")"
done
if grep -q '^unavailable' "$TMP/sniffed.txt"; then
  echo "note: no packet capture on the loopback ($(cat "$TMP/sniffed.txt")): what the room sends is not measured"
  for n in 101 102 103; do  # baresip's own count of what it received: 3 s at 50 packets a second
    got=$(($(rcvd "$n") - ${RCVD[$n]:-0}))
    assert_true "$n receives RTP from the room for the 3 s (packets: $got)" test "$got" -gt 100
  done
else
  declare -A COLUMN=([101]=3 [102]=4 [103]=5)
  for n in 101 102 103; do
    read -r _ packets _ < <(awk -v p="${PORT[$n]}" '$1 == p' "$TMP/sniffed.txt")
    assert_true "the room sends $n RTP for the 3 s (packets: $packets)" test "${packets:-0}" -gt 100
    own=$(awk -v p="${PORT[$n]}" -v c="${COLUMN[$n]}" '$1 == p { print $c }' "$TMP/sniffed.txt")
    for m in 101 102 103; do
      [ "$m" == "$n" ] && continue
      other=$(awk -v p="${PORT[$n]}" -v c="${COLUMN[$m]}" '$1 == p { print $c }' "$TMP/sniffed.txt")
      assert_true "$n hears $m's ${HZ[$m]} Hz (power $other) far above its own ${HZ[$n]} Hz (power $own)" \
        test "${other:-0}" -gt 100000 -a "${other:-0}" -gt $((${own:-0} * 20))
    done
  done
fi
for n in 101 102 103; do cmd "$n" /hangup; done
for n in 101 102 103; do
  assert_true "$n's call to the room ends" wait_seen "$n" "sip:700@.*\(terminated\|$HUNG_UP\)"
done

# --- The traffic records, field by field, in the order the calls began: whose record it is (the
# store's subject), from and to (the CLI decrypts them), the outcome, how it ended and its failure code.
sleep 0.5
store_sql "$D" "SELECT id, subject_id FROM traffic_records" >"$TMP/subjects.txt"
px "$D" cdr list --purpose billing --format json >"$TMP/cdr.json"
RECORDS=$(python3 - "$TMP/subjects.txt" "$TMP/cdr.json" "$CO" "$ROOM=room" \
  "${ID[101]}=101" "${ID[102]}=102" "${ID[103]}=103" <<'PY'
import json, sys
subjects = dict(line.strip().split("|") for line in open(sys.argv[1]) if "|" in line)
company = sys.argv[3]
names = dict(arg.split("=") for arg in sys.argv[4:])
for r in sorted(json.load(open(sys.argv[2])), key=lambda r: r["started_at"]):
    print("|".join([names.get(subjects.get(r["id"], ""), "?"), r.get("source", ""), r.get("destination", ""),
                    r.get("kind", ""), r["direction"], r["outcome"], r.get("end_reason", ""), str(r.get("failure_code", "")),
                    "company" if r["company_id"] == company else r["company_id"]]))
PY
)
record() { printf '%s\n' "$@"; }
EXPECTED=$(record \
  "101|101|600|voice|internal|answered|bye||company" \
  "101|101|601|voice|internal|answered|voicemail||company" \
  "103|101|103|voicemail|internal|answered|key||company" \
  "101|101|104|voice|internal|answered|bye||company" \
  "101|101|103|voice|internal|answered|bye||company" \
  "101|101|105|voice|internal|failed||483|company" \
  "101|101|700|voice|internal|answered|bye||company" \
  "102|102|700|voice|internal|answered|bye||company" \
  "103|103|700|voice|internal|answered|bye||company")
assert_eq "the records: 101's calls to group 600 (answered by 102) and to group 601 (answered by 103's box, \
ended by privox once '#' ended the message) and the message in 103's box (1); 101's calls to 104 and to 103, \
forwarded and answered (2); the loop's call, failed with 483 (3); each phone's call to the room (4)" \
  "$EXPECTED" "$RECORDS"
assert_not_contains "serve logged no error" "$(cat "$TMP/serve.log")" '"level":"error"'

# The phones quit while privox still answers their unregistering (else each waits out its timer).
for n in 101 102 103; do cmd "$n" /quit; done
for n in 101 102 103; do
  for _ in $(seq 50); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.1; done
done

finish
