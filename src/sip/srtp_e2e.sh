#!/usr/bin/env bash
# Calls private on the wire (issue 16): real Debian baresip phones register over SIP over TLS and
# send SRTP keyed by SDES (baresip's srtp-mand), and rtpengine gives each leg the profile its own
# hop calls for. tcpdump captures loopback during each call and the capture is searched for the
# caller's SIP login and for the tone's audio (its G.711 bytes):
#   1. 101 (TLS, SRTP) calls 102 (TLS, SRTP): neither appears in the capture, 102's baresip takes
#      the audio in (it decrypts), and the record says both legs were encrypted;
#   2. 101 (TLS, SRTP) calls 103 (UDP, plain RTP): rtpengine turns SRTP into RTP; the capture of
#      103's leg holds the login and the tone in clear (the search finds what is there), and the
#      record says the caller's leg was encrypted and the callee's not;
#   3. 103 calls 102: RTP in, SRTP out, and the record says so;
#   4. the company requires encryption (`privox company encryption --set required`): a phone
#      registering over UDP gets 403 naming TLS, a TLS phone offering plain audio gets 488 naming
#      SRTP, 103's earlier UDP registration is no longer rung, and 101 still calls 102.
# The store plays no part in what is on the wire, so this runs on SQLite only; the setting's
# storage is unit-tested on both backends (accounts_test).
# e2e-backends: sqlite
# Usage: srtp_e2e.sh /path/to/privox sqlite
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in rtpengine baresip tcpdump openssl python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (make test-deps)" >&2; exit 2; }
done

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TLS_PORT=$(free_port)
NG_PORT=$(free_port)
MEDIA_MIN=$((20000 + (RANDOM % 90) * 100))  # a media range of its own: other tests run beside this one
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" 2>/dev/null || fail "openssl makes a self-signed certificate"

CO=$(px "$D" company add --name "Cipher Ltd" --region eea)
declare -A USER=() PASSWORD=([101]='Amber-gate-41x' [102]='Birch-lake-62x' [103]='Cedar-moor-83x' [104]='Dune-field-94x')
for n in 101 102 103 104; do
  px "$D" extension add --company "$CO" --number "$n" --password "${PASSWORD[$n]}" >/dev/null || fail "extension $n"
  USER[$n]=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$n' AND company_id = '$CO'")
done
personal "${USER[@]}" "${PASSWORD[@]}"
px "$D" settings set sip.rate_limit_requests 0 >/dev/null || fail "settings set"  # every phone shares 127.0.0.1

rtpengine --config-file=none --foreground --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
  --port-min="$MEDIA_MIN" --port-max=$((MEDIA_MIN + 99)) --num-threads=1 --log-stderr --log-level=5 \
  >>"$TMP/rtpengine.log" 2>&1 &
E2E_PIDS+=("$!")
start_bg serve "$PRIVOX" serve $(store_args "$D") --http 127.0.0.1:0 --sip "127.0.0.1:$SIP_PORT" \
  --sip-tls "127.0.0.1:$TLS_PORT" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
  --media-relay "127.0.0.1:$NG_PORT" --voicemail false --ring-timeout 15
for _ in $(seq 150); do grep -q '"event":"service.started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "serve listens for SIP over TLS" "$(cat "$TMP/serve.log")" "\"tls_port\":$TLS_PORT"

# phone NUMBER TRANSPORT MEDIAENC [PARAMS]: a baresip for the line over udp or tls, with SRTP
# (srtp-mand: RTP/SAVP, SDES) or without (none); it trusts the test's certificate.
declare -A PORT_OF=()
phone() {
  local n=$1 transport=$2 enc=$3 params=${4:-} port=$SIP_PORT dir=$TMP/p$1
  [ "$transport" == tls ] && port=$TLS_PORT
  PORT_OF[$n]=$port
  [ "$enc" == none ] || params="$params;mediaenc=$enc"
  baresip_phone "$dir" "$port" "$(free_port)" "${USER[$n]}" "${PASSWORD[$n]}" "$params" 4
  sed -i "s|@127.0.0.1:$port>|@127.0.0.1:$port;transport=$transport>|" "$dir/accounts"
  sed -i '/^module        account.so/i module        srtp.so' "$dir/config"  # before the accounts name it
  printf 'sip_cafile %s\n' "$TMP/cert.pem" >>"$dir/config"
}
phone 101 tls srtp-mand
phone 102 tls srtp-mand ";answermode=auto"
phone 103 udp none ";answermode=auto"
for n in 101 102 103; do run_fifo_phone "$n" 120; done
for n in 101 102 103; do
  assert_true "$n's baresip registers" wait_seen "$n" '200 OK.*\[[0-9]* binding'
done

# capture NAME: tcpdump on loopback (SIP over UDP and TLS, and rtpengine's media ports) into
# $TMP/NAME.pcap until stop_capture.
CAPTURE_PID=""
capture() {
  tcpdump -i lo -U -n -Z root -w "$TMP/$1.pcap" \
    "udp port $SIP_PORT or tcp port $TLS_PORT or udp portrange $MEDIA_MIN-$((MEDIA_MIN + 99))" \
    >"$TMP/$1.tcpdump.log" 2>&1 &
  CAPTURE_PID=$!
  E2E_PIDS+=("$CAPTURE_PID")
  for _ in $(seq 50); do grep -q "listening on" "$TMP/$1.tcpdump.log" && return 0; sleep 0.1; done
  fail "tcpdump starts capturing" "$(cat "$TMP/$1.tcpdump.log")"
}
stop_capture() { kill -INT "$CAPTURE_PID" 2>/dev/null; wait "$CAPTURE_PID" 2>/dev/null; }

# in_capture NAME login|tone [LOGIN]: whether the capture holds the login, or 16 bytes in a row of
# the tone as G.711 (µ-law or A-law, any phase of its 400-sample period) in any packet.
in_capture() {
  python3 -W ignore - "$TMP/$1.pcap" "$2" "${3:-}" <<'PY'
import audioop, math, struct, sys
data = open(sys.argv[1], "rb").read()
if sys.argv[2] == "login":
    sys.exit(0 if sys.argv[3].encode() in data else 1)
pcm = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(800))
for law in (audioop.lin2ulaw(pcm, 2), audioop.lin2alaw(pcm, 2)):
    if any(law[k:k + 16] in data for k in range(400)):
        sys.exit(0)
sys.exit(1)
PY
}
packets() { python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(max(0, (len(d) - 24) // 100))' "$TMP/$1.pcap"; }

# heard NUMBER: since the mark, the phone's baresip took audio in (after SRTP's unprotect, which
# drops what does not authenticate and decrypt) and never failed to unprotect a packet.
heard() {
  wait_seen "$1" "incoming rtp for 'audio' established" && [ "$(seen "$1" 'unprotect')" -eq 0 ]
}

# record_of CALLER_LINE_NUMBER: the newest answered record whose subject is that line, as
# "caller_encrypted callee_encrypted" (true/false/none).
record_of() {
  px "$D" cdr list --purpose billing --format json --company "$CO" | python3 -c '
import json, sys
line = sys.argv[1]
rows = [r for r in json.load(sys.stdin) if r.get("source") == line and r.get("answered_at")]
rows.sort(key=lambda r: r["started_at"])
if rows:
    r = rows[-1]
    word = lambda v: "none" if v is None else ("true" if v else "false")
    print(word(r.get("caller_encrypted")), word(r.get("callee_encrypted")))' "$1"
}
ESTABLISHED='Call established'
# call FROM TO NAME: FROM dials TO with a capture running; waits for the call's end.
call() {
  mark "$1" "$2"
  capture "$3"
  cmd "$1" "/dial sip:$2@127.0.0.1:${PORT_OF[$1]}"
  assert_true "$1's call to $2 is established ($3)" wait_seen "$1" "$ESTABLISHED"
  wait_seen "$1" 'terminated' 1 100 || wait_seen "$1" 'closed' 1 50
  sleep 0.5
  stop_capture
}

# --- 1. TLS and SRTP on both legs --------------------------------------------------------------
call 101 102 both
assert_true "101's baresip used SRTP" wait_seen 101 'SRTP is Enabled'
assert_true "102's baresip used SRTP" wait_seen 102 'SRTP is Enabled'
assert_true "102 took 101's audio in through rtpengine (decrypted, re-encrypted, decrypted)" heard 102
assert_ne "the capture saw the call's packets" 0 "$(packets both)"
assert_false "no plaintext SIP: 101's login is nowhere in the capture" in_capture both login "${USER[101]}"
assert_false "no plaintext SIP: 102's login is nowhere in the capture" in_capture both login "${USER[102]}"
assert_false "no plaintext audio: the tone is nowhere in the capture" in_capture both tone
assert_eq "the record: both legs encrypted" "true true" "$(record_of 101)"

# --- 2. SRTP caller, plain callee --------------------------------------------------------------
call 101 103 to_plain
assert_true "103 took 101's audio in (SRTP turned into RTP)" heard 103
assert_true "the capture search finds 101's login on 103's plain leg" in_capture to_plain login "${USER[101]}"
assert_true "the capture search finds the tone on 103's plain leg" in_capture to_plain tone
assert_eq "the record: the caller's leg encrypted, the callee's not" "true false" "$(record_of 101)"

# --- 3. plain caller, SRTP callee --------------------------------------------------------------
call 103 102 from_plain
assert_true "102 took 103's audio in (RTP turned into SRTP)" heard 102
assert_eq "the record: the callee's leg encrypted, the caller's not" "false true" "$(record_of 103)"

# --- 4. the company requires encryption ---------------------------------------------------------
assert_eq "encryption is optional by default" "optional" "$(px "$D" company encryption --id "$CO")"
assert_eq "the operator requires it" "required" "$(px "$D" company encryption --id "$CO" --set required)"
sleep 2  # the SIP directory follows the change log (polled on SQLite)
# A one-shot phone for a line that registers over UDP: refused, with the reason.
phone 104 udp none
timeout 15 baresip -f "$TMP/p104" -t 4 </dev/null >"$TMP/p104-udp.log" 2>&1
assert_contains "a UDP REGISTER is refused, naming TLS" "$(tr '\r' '\n' <"$TMP/p104-udp.log")" \
  "403 Forbidden: this company requires TLS"
# The same line over TLS but offering plain audio: registers, and its call is refused.
phone 104 tls none
timeout 20 baresip -f "$TMP/p104" -t 8 -e "/dial sip:102@127.0.0.1:$TLS_PORT" </dev/null >"$TMP/p104-tls.log" 2>&1
assert_match "a TLS phone registers" "$(tr '\r' '\n' <"$TMP/p104-tls.log")" '200 OK.*\[[0-9]* binding'
assert_contains "its offer of plain audio is refused, naming SRTP" "$(tr '\r' '\n' <"$TMP/p104-tls.log")" \
  "488 Not Acceptable Here: this company requires encrypted audio"
# 103 registered over UDP before the change: it is not rung now.
mark 101 103
cmd 101 "/dial sip:103@127.0.0.1:$TLS_PORT"
assert_true "103's earlier UDP registration is no longer rung" wait_seen 101 '480 Temporarily Unavailable'
assert_eq "103's baresip answered no call" 0 "$(seen 103 'answering call')"
call 101 102 required
assert_eq "101 still calls 102 over TLS with SRTP: both legs encrypted" "true true" "$(record_of 101)"
assert_false "and the capture holds no tone" in_capture required tone

for n in 101 102 103; do cmd "$n" "/quit"; done
suite_keep "$TMP/serve.log"
finish
