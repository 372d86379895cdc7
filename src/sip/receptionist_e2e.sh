#!/usr/bin/env bash
# The virtual receptionist end to end (issue 15): rtpengine relays, privox's media endpoint answers,
# sipp plays the carrier and the phones; the menus and the receptionists are provisioned with the
# CLI. Each flow is checked from outside: which phone the caller was handed to, that the caller's
# audio reaches that phone and comes back (the phone echoes it: the caller's media moved from the
# menu to the phone without any re-INVITE towards the caller), and the traffic records.
#   a key (SIP INFO) to a line; to a number outside through the trunk; dial-by-extension; a sub-menu; the timeout action after an uploaded
#   greeting, from a colleague's phone; the closed menu on a holiday; a menu's greeting recorded by
#   phone with a one-use code (*87).
# And a line's blind transfer of a carrier's call, which privox carries out itself with the same
# joint (carriers refuse REFER), blind and attended (Replaces): the carrier's audio moves to the
# target, and its record ends "transferred" when the carrier hangs up.
# Usage: receptionist_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in rtpengine sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (make test-deps)" >&2; exit 2; }
done
SCENARIOS=$HERE/scenarios
CARRIER_IP=127.0.0.2  # the trunk is recognised by its address: the phones use 127.0.0.1

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
NG_PORT=$(free_port)
MEDIA_MIN=$((20000 + (RANDOM % 90) * 100))
ENDPOINT_MIN=$((30000 + (RANDOM % 90) * 100))
PW='Heron-wharf-57-q'
DID='+442079460500'
CALLER_NUMBER='+447700900123'
MOBILE='+442079460777'  # key 7: a number outside, through the trunk
personal "$PW" "$CALLER_NUMBER" "$MOBILE" "Penarth Desks Ltd"

CO=$(px "$D" company add --name "Penarth Desks Ltd" --region eea --country GB)
assert_match "company added" "$CO" '^[0-9a-f-]{36}$'
declare -A USER=() ID=() DEV=()
DID201='+442079460201'  # 201's own number: a carrier's call to it is transferred
for n in 201 202 203; do
  did=()
  [ "$n" == 201 ] && did=(--did "$DID201")
  PRIVOX_EXTENSION_PASSWORD=$PW px "$D" extension add --company "$CO" --number "$n" "${did[@]}" >/dev/null ||
    fail "extension add $n"
  USER[$n]=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$n' AND company_id = '$CO'")
  ID[$n]=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '$n' AND company_id = '$CO'")
done
personal "${USER[@]}"
px "$D" trunk add --name carrier --address "$CARRIER_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
px "$D" settings set sip.rate_limit_requests 0 >/dev/null || fail "settings set"  # every phone shares 127.0.0.1

SUB=$(px "$D" menu create --company "$CO" --name "Sales" --key 1=line:203)
assert_match "a sub-menu is created" "$SUB" '^[0-9a-f-]{36}$'
OPEN=$(px "$D" menu create --company "$CO" --name "Main" --timeout 10 --key 1=line:201 --key 9=dial_by_extension \
  --key "5=menu:$SUB" --key 0=repeat --key "7=external:$MOBILE")
assert_match "the main menu is created" "$OPEN" '^[0-9a-f-]{36}$'
CLOSED=$(px "$D" menu create --company "$CO" --name "Closed" --key 1=line:202)
assert_match "the closed menu is created" "$CLOSED" '^[0-9a-f-]{36}$'
SHORT=$(px "$D" menu create --company "$CO" --name "Short" --timeout 2 --timeout-action line:203)
assert_match "a menu with a timeout action is created" "$SHORT" '^[0-9a-f-]{36}$'
# A one-second greeting of its own (a 440 Hz tone), so that the timeout comes soon after it.
python3 - "$TMP/greeting.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000)))
PY
px "$D" menu greeting --id "$SHORT" --file "$TMP/greeting.wav" >/dev/null
assert_eq "the menu's greeting is uploaded" 0 "$?"
MAIN=$(px "$D" receptionist create --company "$CO" --number 500 --name "Front desk" --did "$DID" --open-menu "$OPEN" \
  --closed-menu "$CLOSED")
assert_match "the receptionist is created" "$MAIN" '^[0-9a-f-]{36}$'
QUICK=$(px "$D" receptionist create --company "$CO" --number 501 --name "Quick" --open-menu "$SHORT")
assert_match "a second receptionist is created" "$QUICK" '^[0-9a-f-]{36}$'

rtpengine --config-file=none --foreground --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
  --port-min="$MEDIA_MIN" --port-max=$((MEDIA_MIN + 99)) --num-threads=1 --log-stderr --log-level=5 \
  >>"$TMP/rtpengine.log" 2>&1 &
E2E_PIDS+=("$!")
start_bg serve "$PRIVOX" serve $(store_args "$D") --http 127.0.0.1:0 --sip "127.0.0.1:$SIP_PORT" \
  --media-relay "127.0.0.1:$NG_PORT" --media-ports "$ENDPOINT_MIN-$((ENDPOINT_MIN + 99))" --ring-timeout 20
for _ in $(seq 100); do grep -q '"event":"service.started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "privox serve is up with its media endpoint" "$(cat "$TMP/serve.log")" '"event":"voicemail.configured"'

sipp_rc=0
sipp_fg() {
  local name=$1 scenario=$2
  shift 2
  timeout -k 2 40 sipp -sf "$SCENARIOS/$scenario" -nostdin -trace_msg -message_file "$TMP/$name.msg" \
    -timeout 35s -timeout_error -mp "$(free_port)" "$@" >"$TMP/$name.out" 2>&1
  sipp_rc=$?
}
for n in 201 202 203; do
  DEV[$n]=$(free_port)
  sipp_fg "reg$n" register.xml "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -m 1 -key user "${USER[$n]}" \
    -key contact_port "${DEV[$n]}" -key expires 3600 -au "${USER[$n]}" -ap "$PW"
  assert_eq "$n's phone registers" 0 "$sipp_rc"
done

declare -A PHONE_PID=()
phone() {  # phone NUMBER: the line's phone answers one call and echoes the audio it gets
  local n=$1
  timeout -k 2 40 sipp -sf "$SCENARIOS/uas_answer.xml" -i 127.0.0.1 -p "${DEV[$n]}" -nostdin -m 1 -timeout 35s \
    -timeout_error -rtp_echo -mp "$(free_port)" -trace_msg -message_file "$TMP/phone$n.msg" >"$TMP/phone$n.out" 2>&1 &
  PHONE_PID[$n]=$!
  E2E_PIDS+=($!)
  for _ in $(seq 50); do ss -lun | grep -q "127.0.0.1:${DEV[$n]} " && break; sleep 0.05; done
}
phone_done() {  # phone_done NUMBER DESCRIPTION: the phone's sipp answered and got the BYE
  local rc
  for _ in $(seq 100); do kill -0 "${PHONE_PID[$1]}" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "${PHONE_PID[$1]}" 2>/dev/null
  wait "${PHONE_PID[$1]}"
  rc=$?
  assert_eq "$2" 0 "$rc"
  [ "$rc" -eq 0 ] || tail -c 1500 "$TMP/phone$1.msg"
}

# The caller's audio: once privox's 200 names the relay's port, 20 ms RTP packets go there from the
# port the caller's SDP named, and whatever comes back is counted (the phone echoes what it gets).
cat >"$TMP/probe.py" <<'PY'
import re, socket, struct, sys, time
trace, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
# Where the relay's port is read: the 200 the caller got, or (for a callee) the INVITE.
pattern = sys.argv[4] if len(sys.argv) > 4 else r"SIP/2\.0 200 OK.*?m=audio (\d+)"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
s.setblocking(False)
relay = None
deadline = time.time() + 10
while relay is None and time.time() < deadline:
    try:
        text = open(trace, errors="replace").read()
        m = re.search(pattern, text, re.S)
        if m: relay = int(m.group(1))
    except OSError:
        pass
    time.sleep(0.05)
if relay is None:
    print(0); sys.exit(0)
back, seq, end = 0, 0, time.time() + seconds
while time.time() < end:
    seq += 1
    s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 0x5eed) + b"\xff" * 160, ("127.0.0.1", relay))
    time.sleep(0.02)
    try:
        while True:
            s.recv(2048)
            back += 1
    except BlockingIOError:
        pass
print(back)
PY
carrier_call() {  # carrier_call NAME K1 K2 K3 K4 K5: the carrier calls the DID and presses the keys
  local name=$1 rtp privacy=${PRIVACY:-none}
  rtp=$(free_port)
  rm -f "$TMP/$name.msg"
  python3 "$TMP/probe.py" "$TMP/$name.msg" "$rtp" 5 >"$TMP/$name.echo" &
  local probe=$!
  sipp_fg "$name" uac_trunk_receptionist.xml "127.0.0.1:$SIP_PORT" -i "$CARRIER_IP" -p "$(free_port)" -m 1 \
    -s "$DID" -key caller "$CALLER_NUMBER" -key rtp_port "$rtp" -key k1 "$2" -key k2 "$3" -key k3 "$4" -key k4 "$5" \
    -key k5 "$6" -key privacy "$privacy"
  wait "$probe"
}
echoed() {  # echoed NAME: the caller's audio packets that came back
  cat "$TMP/$1.echo"
}

phone 201
carrier_call key1 1 x x x x
assert_eq "the carrier's call to the receptionist is answered, keys sent as INFO, and hung up" 0 "$sipp_rc"
phone_done 201 "key 1 hands the caller to 201, which answers and gets the caller's BYE"
assert_contains "201 sees the carrier's caller" "$(tr -d '\r' <"$TMP/phone201.msg")" "From: <sip:$CALLER_NUMBER@"
ECHOED=$(cat "$TMP/key1.echo")
assert_match "the caller's audio reaches 201 and comes back through the relay (packets echoed: $ECHOED)" \
  "$ECHOED" '^([5-9][0-9]|[1-9][0-9]{2,})$'

# A caller who withholds their number stays withheld through the menu and the hand-off.
phone 201
PRIVACY=id carrier_call withheld 1 x x x x
assert_eq "a withheld caller's call through the menu" 0 "$sipp_rc"
phone_done 201 "key 1 hands the withheld caller to 201"
assert_contains "201 sees Anonymous" "$(tr -d '\r' <"$TMP/phone201.msg")" 'From: "Anonymous" <sip:anonymous@anonymous.invalid>'
assert_not_contains "and never the caller's number" "$(tr -d '\r' <"$TMP/phone201.msg")" "$CALLER_NUMBER"

timeout -k 2 40 sipp -sf "$SCENARIOS/uas_trunk.xml" -i "$CARRIER_IP" -p "$TRUNK_PORT" -nostdin -m 1 -timeout 35s \
  -timeout_error -rtp_echo -mp "$(free_port)" -trace_msg -message_file "$TMP/mobile.msg" >"$TMP/mobile.out" 2>&1 &
MOBILE_PID=$!
E2E_PIDS+=($!)
for _ in $(seq 50); do ss -lun | grep -q "$CARRIER_IP:$TRUNK_PORT " && break; sleep 0.05; done
carrier_call external 7 x x x x
assert_eq "key 7 sends the caller to a number outside" 0 "$sipp_rc"
for _ in $(seq 100); do kill -0 "$MOBILE_PID" 2>/dev/null || break; sleep 0.1; done
wait "$MOBILE_PID"
assert_eq "the carrier gets the leg for the mobile, with the receptionist's DID asserted, answers and gets the BYE" 0 "$?"
assert_contains "the leg names the mobile" "$(tr -d '\r' <"$TMP/mobile.msg")" "INVITE sip:$MOBILE@"
assert_contains "and asserts the receptionist's DID" "$(tr -d '\r' <"$TMP/mobile.msg")" "P-Asserted-Identity: <sip:$DID@"
ECHOED=$(cat "$TMP/external.echo")
assert_match "the caller's audio reaches the mobile and comes back (packets echoed: $ECHOED)" \
  "$ECHOED" '^([5-9][0-9]|[1-9][0-9]{2,})$'

phone 202
carrier_call by_extension 9 2 0 2 '#'
assert_eq "dial-by-extension: 9, then 2 0 2 #" 0 "$sipp_rc"
phone_done 202 "the caller who dialled 202 is handed to 202"

phone 203
carrier_call sub_menu 5 1 x x x
assert_eq "a sub-menu: 5, then its own 1" 0 "$sipp_rc"
phone_done 203 "the sub-menu's key 1 hands the caller to 203"

phone 203
sipp_fg timeout uac_call_answered.xml "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -m 1 -s 501 \
  -key caller "${USER[202]}" -au "${USER[202]}" -ap "$PW" -auth_uri "501@127.0.0.1:$SIP_PORT" -d 6000
assert_eq "202 dials the second receptionist (501) and presses nothing" 0 "$sipp_rc"
[ "$sipp_rc" -eq 0 ] || { tail -c 2000 "$TMP/timeout.msg"; tail -n 5 "$TMP/timeout.out"; }
phone_done 203 "after its greeting and 2 s, the timeout action hands 202 to 203"

# A carrier's call to 201, which 201 transfers blind to 202: carriers refuse REFER, so privox
# answers it, holds 201's side, hands the carrier's party to 202 and moves its media there.
timeout -k 2 40 sipp -sf "$SCENARIOS/uas_answer_transfer.xml" -i 127.0.0.1 -p "${DEV[201]}" -nostdin -m 1 \
  -timeout 35s -timeout_error -mp "$(free_port)" -key target "202@127.0.0.1:$SIP_PORT" -trace_msg \
  -message_file "$TMP/phone201.msg" >"$TMP/phone201.out" 2>&1 &
PHONE_PID[201]=$!
E2E_PIDS+=($!)
phone 202
RTP=$(free_port)
rm -f "$TMP/transfer.msg"
python3 "$TMP/probe.py" "$TMP/transfer.msg" "$RTP" 5 >"$TMP/transfer.echo" &
PROBE=$!
sipp_fg transfer uac_trunk_held.xml "127.0.0.1:$SIP_PORT" -i "$CARRIER_IP" -p "$(free_port)" -m 1 -s "$DID201" \
  -key caller "$CALLER_NUMBER" -key rtp_port "$RTP"
wait "$PROBE"
assert_eq "the carrier's call to 201 is answered and later hung up, its BYE answered" 0 "$sipp_rc"
[ "$sipp_rc" -eq 0 ] || tail -c 2000 "$TMP/transfer.msg"
phone_done 201 "201 answers, sends REFER, gets 202 and a NOTIFY from privox, and hangs up"
phone_done 202 "202 gets the carrier's party as a call from privox, answers, and gets the BYE when the carrier hangs up"
assert_contains "202 sees the carrier's caller" "$(tr -d '\r' <"$TMP/phone202.msg")" "From: <sip:$CALLER_NUMBER@"
assert_contains "the NOTIFY privox sent 201 carries a sipfrag" "$(tr -d '\r' <"$TMP/phone201.msg")" \
  "Content-Type: message/sipfrag"
ECHOED=$(echoed transfer)
assert_match "the carrier's audio reaches 202 and comes back after the transfer (packets echoed: $ECHOED)" \
  "$ECHOED" '^([5-9][0-9]|[1-9][0-9]{2,})$'
assert_eq "no REFER reached the carrier" "" "$(grep -l '^REFER' "$TMP/transfer.msg" 2>/dev/null)"

# Attended: 201 consulted 202 first (their call is only named here), and its REFER asks privox to
# have 202's phone replace that consultation with the carrier's party (RFC 3891).
CONSULT="consult-$E2E_RUN_ID@127.0.0.1;to-tag=t202;from-tag=f201"
CONSULT_ESCAPED=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$CONSULT")
timeout -k 2 40 sipp -sf "$SCENARIOS/uas_answer_transfer.xml" -i 127.0.0.1 -p "${DEV[201]}" -nostdin -m 1 \
  -timeout 35s -timeout_error -mp "$(free_port)" -key target "202@127.0.0.1:$SIP_PORT?Replaces=$CONSULT_ESCAPED" \
  -trace_msg -message_file "$TMP/phone201.msg" >"$TMP/phone201.out" 2>&1 &
PHONE_PID[201]=$!
E2E_PIDS+=($!)
timeout -k 2 40 sipp -sf "$SCENARIOS/uas_answer_replaces.xml" -i 127.0.0.1 -p "${DEV[202]}" -nostdin -m 1 \
  -timeout 35s -timeout_error -rtp_echo -mp "$(free_port)" -trace_msg -message_file "$TMP/phone202.msg" \
  >"$TMP/phone202.out" 2>&1 &
PHONE_PID[202]=$!
E2E_PIDS+=($!)
for _ in $(seq 50); do ss -lun | grep -q "127.0.0.1:${DEV[202]} " && break; sleep 0.05; done
RTP=$(free_port)
rm -f "$TMP/attended.msg"
python3 "$TMP/probe.py" "$TMP/attended.msg" "$RTP" 5 >"$TMP/attended.echo" &
PROBE=$!
sipp_fg attended uac_trunk_held.xml "127.0.0.1:$SIP_PORT" -i "$CARRIER_IP" -p "$(free_port)" -m 1 -s "$DID201" \
  -key caller "$CALLER_NUMBER" -key rtp_port "$RTP"
wait "$PROBE"
assert_eq "attended: the carrier's call to 201 is answered and later hung up" 0 "$sipp_rc"
phone_done 201 "201 sends a REFER naming the consultation to replace, gets 202 and the NOTIFY, and hangs up"
phone_done 202 "202's phone gets the carrier's party in an INVITE that replaces the consultation, and answers"
assert_contains "the leg carries the Replaces header, decoded" "$(tr -d '\r' <"$TMP/phone202.msg")" "Replaces: $CONSULT"
ECHOED=$(echoed attended)
assert_match "the carrier's audio reaches 202 after the attended transfer (packets echoed: $ECHOED)" \
  "$ECHOED" '^([5-9][0-9]|[1-9][0-9]{2,})$'

# 201 calls a number outside and transfers the carrier's party blind to 202: privox takes 201's
# side, which made the call's offer, so the relay learns 202 by an offer from that side.
OUTSIDE='+442079460888'
personal "$OUTSIDE"
RTP=$(free_port)
rm -f "$TMP/outside.msg"
timeout -k 2 40 sipp -sf "$SCENARIOS/uas_trunk_held.xml" -i "$CARRIER_IP" -p "$TRUNK_PORT" -nostdin -m 1 -timeout 35s \
  -timeout_error -key rtp_port "$RTP" -trace_msg -message_file "$TMP/outside.msg" >"$TMP/outside.out" 2>&1 &
OUTSIDE_PID=$!
E2E_PIDS+=($!)
for _ in $(seq 50); do ss -lun | grep -q "$CARRIER_IP:$TRUNK_PORT " && break; sleep 0.05; done
phone 202
python3 "$TMP/probe.py" "$TMP/outside.msg" "$RTP" 5 'INVITE sip:.*?m=audio (\d+)' >"$TMP/outside.echo" &
PROBE=$!
sipp_fg out_transfer uac_call_transferor.xml "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -m 1 -s "$OUTSIDE" \
  -key caller "${USER[201]}" -au "${USER[201]}" -ap "$PW" -auth_uri "$OUTSIDE@127.0.0.1:$SIP_PORT" \
  -key target "202@127.0.0.1:$SIP_PORT"
assert_eq "201 calls outside, is answered, sends REFER, gets 202 and a NOTIFY, and hangs up" 0 "$sipp_rc"
[ "$sipp_rc" -eq 0 ] || tail -c 2000 "$TMP/out_transfer.msg"
wait "$PROBE"
for _ in $(seq 100); do kill -0 "$OUTSIDE_PID" 2>/dev/null || break; sleep 0.1; done
wait "$OUTSIDE_PID"
assert_eq "the carrier answers 201's call and later hangs up; privox answers its BYE" 0 "$?"
phone_done 202 "202 gets the carrier's party from privox, answers, and gets the BYE"
assert_contains "202 sees the outside number calling" "$(tr -d '\r' <"$TMP/phone202.msg")" "From: <sip:$OUTSIDE@"
ECHOED=$(echoed outside)
assert_match "the outside party's audio reaches 202 and comes back (packets echoed: $ECHOED)" \
  "$ECHOED" '^([5-9][0-9]|[1-9][0-9]{2,})$'

# A carrier's call to 201, which 201 transfers blind to a number outside: privox carries it out as
# 201's own call out through the trunk (201's DID asserted, an outbound record of 201's), and the
# carrier's audio moves to the outside party.
FAR='+442079460999'
personal "$FAR"
timeout -k 2 40 sipp -sf "$SCENARIOS/uas_trunk.xml" -i "$CARRIER_IP" -p "$TRUNK_PORT" -nostdin -m 1 -timeout 35s \
  -timeout_error -rtp_echo -mp "$(free_port)" -trace_msg -message_file "$TMP/far.msg" >"$TMP/far.out" 2>&1 &
FAR_PID=$!
E2E_PIDS+=($!)
for _ in $(seq 50); do ss -lun | grep -q "$CARRIER_IP:$TRUNK_PORT " && break; sleep 0.05; done
timeout -k 2 40 sipp -sf "$SCENARIOS/uas_answer_transfer.xml" -i 127.0.0.1 -p "${DEV[201]}" -nostdin -m 1 \
  -timeout 35s -timeout_error -mp "$(free_port)" -key target "$FAR@127.0.0.1:$SIP_PORT" -trace_msg \
  -message_file "$TMP/phone201.msg" >"$TMP/phone201.out" 2>&1 &
PHONE_PID[201]=$!
E2E_PIDS+=($!)
RTP=$(free_port)
rm -f "$TMP/far_transfer.msg"
python3 "$TMP/probe.py" "$TMP/far_transfer.msg" "$RTP" 5 >"$TMP/far_transfer.echo" &
PROBE=$!
sipp_fg far_transfer uac_trunk_held.xml "127.0.0.1:$SIP_PORT" -i "$CARRIER_IP" -p "$(free_port)" -m 1 -s "$DID201" \
  -key caller "$CALLER_NUMBER" -key rtp_port "$RTP"
wait "$PROBE"
assert_eq "the carrier's call to 201 is answered, transferred outside, and later hung up" 0 "$sipp_rc"
[ "$sipp_rc" -eq 0 ] || tail -c 2000 "$TMP/far_transfer.msg"
phone_done 201 "201 answers, sends REFER naming a number outside, gets 202 and the NOTIFY, and hangs up"
for _ in $(seq 100); do kill -0 "$FAR_PID" 2>/dev/null || break; sleep 0.1; done
wait "$FAR_PID"
assert_eq "the carrier gets the transfer's leg to the number outside, answers, and gets the BYE" 0 "$?"
assert_contains "the leg names the number outside" "$(tr -d '\r' <"$TMP/far.msg")" "INVITE sip:$FAR@"
assert_contains "and asserts 201's DID, as 201's own call out" "$(tr -d '\r' <"$TMP/far.msg")" \
  "P-Asserted-Identity: <sip:$DID201@"
ECHOED=$(echoed far_transfer)
assert_match "the carrier's audio reaches the outside party and comes back (packets echoed: $ECHOED)" \
  "$ECHOED" '^([5-9][0-9]|[1-9][0-9]{2,})$'

# A key whose line was removed after the menu named it: the call never fails because of
# configuration; the caller goes to the company's default, its main line's box (the lowest-numbered
# line, 200 here, which has no phone), and privox logs it.
for n in 200 209; do
  PRIVOX_EXTENSION_PASSWORD=$PW px "$D" extension add --company "$CO" --number "$n" >/dev/null || fail "extension add $n"
  ID[$n]=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '$n' AND company_id = '$CO'")
done
px "$D" menu update --id "$OPEN" --key 1=line:201 --key 9=dial_by_extension --key "5=menu:$SUB" --key 0=repeat \
  --key "7=external:$MOBILE" --key 6=line:209 >/dev/null || fail "menu update"
px "$D" extension remove --id "${ID[209]}" >/dev/null || fail "extension remove 209"
sleep 1.5  # the directory's change log brings the new and the removed line within a second
carrier_call gone 6 x x x x
assert_eq "key 6, whose line is gone, still leaves the call in good order" 0 "$sipp_rc"
[ "$sipp_rc" -eq 0 ] || tail -c 2000 "$TMP/gone.msg"
assert_contains "privox logs the broken target and its fallback to the main line's box" "$(cat "$TMP/serve.log")" \
  '"event":"receptionist.target_unusable","kind":0,"to_main_line_box":1'
# The record is written open when the box answers and closed by the writer after the hang-up: wait
# for the closed one (a busy CI machine read it still open once).
for _ in $(seq 50); do
  [ "$(store_sql "$D" "SELECT COUNT(*) FROM traffic_records WHERE subject_id = '${ID[200]}'
    AND outcome <> 'open'")" -ge 1 ] && break
  sleep 0.1
done
assert_match "the caller reached the main line's box: a record of 200's, inbound, answered, on the trunk" \
  "$(store_sql "$D" "SELECT direction, outcome, trunk_id IS NOT NULL FROM traffic_records WHERE subject_id = '${ID[200]}'
    AND kind = 'voice'")" '^inbound\|answered\|[t1]$'

px "$D" company holiday --id "$CO" --add "$(date -u +%F)" --label "Closed today" >/dev/null || fail "company holiday"
px "$D" company hours --id "$CO" --set mon=09:00-17:00 >/dev/null || fail "company hours"
phone 202
carrier_call closed 1 x x x x
assert_eq "on a holiday the closed menu plays" 0 "$sipp_rc"
phone_done 202 "the closed menu's key 1 hands the caller to 202"

sleep 0.5
RECORDS=$(store_sql "$D" "SELECT subject_id, direction, outcome, trunk_id IS NOT NULL FROM traffic_records
  ORDER BY started_at_us")
count_of() { grep -c "^$1$" <<<"$RECORDS"; }
assert_eq "the receptionist's own record of each carrier call: answered by privox, inbound on the trunk" 7 \
  "$(count_of "$MAIN|inbound|answered|[t1]")"
assert_eq "the legs to 201 and the carrier's three calls to 201 are records of 201's: answered, inbound, on the trunk" 5 \
  "$(count_of "${ID[201]}|inbound|answered|[t1]")"
assert_eq "the legs to 202 (by extension, three transfers, then the closed menu)" 5 \
  "$(count_of "${ID[202]}|inbound|answered|[t1]")"
assert_eq "201's call out, whose record ran to the carrier's BYE, and the transfer's leg outside: answered, on the trunk" 2 \
  "$(count_of "${ID[201]}|outbound|answered|[t1]")"
assert_eq "the transfer's leg outside is a record of 201's naming the number outside and 201's DID" \
  "outbound|$FAR|$DID201" "$(px "$D" cdr list --purpose billing --format json | python3 -c '
import json, sys
far = sys.argv[1]
print("\n".join("|".join((r["direction"], r["destination"], r.get("source", ""))) for r in json.load(sys.stdin)
                if r.get("destination") == far))' "$FAR")"
assert_eq "the leg to the mobile is the receptionist's outbound call on the trunk" 1 \
  "$(count_of "$MAIN|outbound|answered|[t1]")"
assert_eq "the sub-menu's leg to 203" 1 "$(count_of "${ID[203]}|inbound|answered|[t1]")"
assert_eq "202's own call to the second receptionist, answered by privox" 1 \
  "$(count_of "${ID[202]}|internal|answered|[f0]")"
assert_eq "and its leg to 203, internal as the call it continues" 1 "$(count_of "${ID[203]}|internal|answered|[f0]")"
assert_eq "the carrier's calls to 201 ended transferred, as did 201's call out" "4" \
  "$(store_sql "$D" "SELECT COUNT(*) FROM traffic_records WHERE subject_id = '${ID[201]}' AND end_reason = 'transferred'")"
assert_eq "the withheld caller's two records (the receptionist's and the leg) are marked withheld" 2 \
  "$(store_sql "$D" "SELECT COUNT(*) FROM traffic_records WHERE source_withheld = 1")"
SOURCES=$(px "$D" cdr list --purpose billing --format json | python3 -c '
import json, sys
print(sorted({r.get("source", "") for r in json.load(sys.stdin) if r["direction"] == "inbound"}))')
assert_eq "every inbound record names the carrier's caller, or the outside number 201 called" \
  "['$OUTSIDE', '$CALLER_NUMBER']" "$SOURCES"
# The Short menu's greeting recorded by phone: a one-use code (the portal's "Record by phone" gives
# the same), 202 dials *87, keys it and '#' as SIP INFO, speaks a 880 Hz tone, and keys '#'.
CODE=$(px "$D" menu record-code --id "$SHORT")
assert_match "a one-use code of six digits" "$CODE" '^[0-9]{6}$'
personal "$CODE"
cat >"$TMP/speak.py" <<'PY'
import math, re, socket, struct, sys, time
trace, port = sys.argv[1], int(sys.argv[2])
def ulaw(x):
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 132
    exp = 7
    while exp > 0 and not (x & (0x4000 >> (7 - exp))): exp -= 1
    return ~(sign | (exp << 4) | ((x >> (exp + 3)) & 0x0F)) & 0xFF
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
relay, end = None, time.time() + 10
while relay is None and time.time() < end:
    m = re.search(r"SIP/2\.0 200 OK.*?m=audio (\d+)", open(trace, errors="replace").read() if __import__("os").path.exists(trace) else "", re.S)
    if m: relay = int(m.group(1))
    time.sleep(0.02)
n, end = 0, time.time() + 9
while relay and time.time() < end:
    payload = bytes(ulaw(int(8000 * math.sin(2 * math.pi * 880 * (n + i) / 8000))) for i in range(160))
    s.sendto(struct.pack("!BBHII", 0x80, 0, (n // 160) & 0xFFFF, n, 0x5eed) + payload, ("127.0.0.1", relay))
    n += 160
    time.sleep(0.02)
PY
RTP=$(free_port)
rm -f "$TMP/record.msg"
python3 "$TMP/speak.py" "$TMP/record.msg" "$RTP" &
SPEAKER=$!
read -r -a C <<<"$(sed 's/./& /g' <<<"$CODE")"
sipp_fg record uac_call_keys.xml "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -m 1 -s '*87' \
  -key caller "${USER[202]}" -au "${USER[202]}" -ap "$PW" -auth_uri "*87@127.0.0.1:$SIP_PORT" -key rtp_port "$RTP" \
  -key k1 "${C[0]}" -key k2 "${C[1]}" -key k3 "${C[2]}" -key k4 "${C[3]}" -key k5 "${C[4]}" -key k6 "${C[5]}" -key k7 '#'
assert_eq "202 dials *87, keys the code, speaks, keys '#', and privox says it is saved and hangs up" 0 "$sipp_rc"
[ "$sipp_rc" -eq 0 ] || { tail -c 2000 "$TMP/record.msg"; tail -n 5 "$TMP/record.out"; }
wait "$SPEAKER"
GREETING_MS=$(px "$D" menu show --id "$SHORT" | python3 -c 'import json, sys; print(json.load(sys.stdin)["greeting_ms"])')
assert_true "the menu's greeting is now the one spoken: about 3 s, not the 1 s upload (ms: $GREETING_MS)" \
  test "$GREETING_MS" -ge 2000 -a "$GREETING_MS" -le 4500
assert_eq "the claim is audited, naming the menu and not the code" 1 \
  "$(store_sql "$D" "SELECT COUNT(*) FROM audit_log WHERE action = 'receptionist.phone_recording_claim'")"
assert_not_contains "serve logged no error" "$(cat "$TMP/serve.log")" '"level":"error"'
assert_not_contains "nor the code" "$(cat "$TMP/serve.log")" "$CODE"

finish
