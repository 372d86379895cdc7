#!/usr/bin/env bash
# Voicemail email notices (issue 14) end to end: `privox serve`, sipp callers streaming real RTP to
# privox's media endpoint (no relay), and the real SMTP test server. One member holds lines 201,
# 202 and 203; line 204 calls them (web/tests/uac_voicemail.xml: the key '1' skips the greeting,
# then 2.5 s of a 440 Hz tone), and voicemail answers each (no device is registered).
#   1. The first serve has a relay that does not answer. 202 chose `audio`; 201 chose nothing yet.
#      A message for each: 201's is owed nothing, 202's notice fails its first attempt, logged with
#      ids only, and serve stops.
#   2. The relay comes back, 201 chooses `notice` and 203 `off` (the CLI), and a second serve starts:
#      202's notice, kept in the store across the restart, goes out with the recording attached.
#      Then a message each for 201 and 203.
#   3. The member's mailbox holds exactly two emails: 202's, whose attachment voicemail-<id>.opus
#      (audio/ogg) is the Ogg stream and decodes (opusdec) to the message's length, and 201's second
#      message's, a plain notice without audio; none for 201's first message (left before the
#      choice) or 203's (off). Each says when, how long and from whom, and links the voicemail page.
#   4. Each attempt was audited (voicemail.email, audio or not: 202's twice), the outbox is empty,
#      and the log holds no email address.
# Usage: voicemail_notice_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

[ -n "$SMTP_URL" ] || { echo "$0: no SMTP test server (PRIVOX_TEST_SMTP_DIR)" >&2; exit 2; }
for tool in sipp python3 opusdec; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (make test-deps)" >&2; exit 2; }
done
[ -f /usr/share/asterisk/sounds/en_US_f_Allison/vm-intro.wav ] ||
  { echo "$0: needs asterisk-core-sounds-en-wav (make test-deps)" >&2; exit 2; }
UAC=$HERE/../../web/tests/uac_voicemail.xml

D=$TMP/data
new_data_dir "$D"
HTTP_PORT=$(free_port)
SIP_PORT=$(free_port)
ENDPOINT_MIN=$((30000 + (RANDOM % 90) * 100))
RUN=$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')
EMAIL="ada-$RUN@example.com"

set_setting() {  # set_setting KEY VALUE
  px "$D" settings set "$1" "$2" >/dev/null || { echo "voicemail_notice_e2e.sh: settings set $1 failed" >&2; exit 2; }
}
set_setting mail.smtp_url "smtp://127.0.0.1:$(free_port)"  # nothing listens there yet
set_setting mail.from "voicemail@privox.example"
set_setting portal.public_url "http://127.0.0.1:$HTTP_PORT"

COMPANY=$(px "$D" company add --name "Notices Ltd" --region eea)
ADA=$(px "$D" member add --company "$COMPANY" --name "Ada Lovelace" --email "$EMAIL" --phone "020 7946 0977" \
  --address "1 High St" --birth-date 1990-01-31 --payment-token tok_abcdef --card-brand visa --card-last4 4242)
declare -A PASSWORD=([201]=Amber-gate-41 [202]=Birch-lake-62 [203]=Cedar-hill-73 [204]=Daisy-moor-84)
line() {  # line NUMBER [MEMBER]: prints the new line's id
  px "$D" extension add --company "$COMPANY" --number "$1" --password "${PASSWORD[$1]}" ${2:+--member "$2"}
}
L201=$(line 201 "$ADA")
L202=$(line 202 "$ADA")
L203=$(line 203 "$ADA")
L204=$(line 204)
assert_match "a member and four lines" "$ADA $L201 $L202 $L203 $L204" '^([0-9a-f-]{36} ){4}[0-9a-f-]{36}$'
[ "$FAILED" -eq 0 ] || finish
U204=$(px "$D" extension show --id "$L204" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sip_user"])')
personal "$EMAIL" "$U204"  # never in privox's logs or metrics (scripts/suite-scan.sh)
px "$D" voicemail options set --purpose service "$L202" --email-notice audio >/dev/null || fail "202 chooses audio"

# What the caller sends: the key '1' in band (so the greeting is skipped), silence while the tone
# plays, 2.5 s of 440 Hz, a little silence; G.711 mu-law at 8 kHz, as sipp's rtp_stream plays it.
mkdir -p "$TMP/caller"
python3 - "$TMP/caller/voicemail_caller.wav" <<'PY'
import math, struct, sys
RATE = 8000
def ulaw(x):
    sign = 0x80 if x < 0 else 0
    m = min(abs(x), 32635) + 0x84
    e = 7
    mask = 0x4000
    while (m & mask) == 0 and e > 0:
        e -= 1
        mask >>= 1
    return ~(sign | (e << 4) | ((m >> (e + 3)) & 0x0f)) & 0xff
samples = []
def tone(freqs, seconds, amplitude):
    for i in range(round(seconds * RATE)):
        samples.append(round(sum(amplitude * math.sin(2 * math.pi * f * i / RATE) for f in freqs)))
tone([697, 1209], 0.15, 6000)
tone([], 0.6, 0)
tone([440], 2.5, 8000)
tone([], 0.25, 0)
data = bytes(ulaw(s) for s in samples)
header = (b"RIFF" + struct.pack("<I", 50 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHHH", 18, 7, 1, RATE, RATE, 1, 8, 0)
          + b"fact" + struct.pack("<II", 4, len(data)) + b"data" + struct.pack("<I", len(data)))
open(sys.argv[1], "wb").write(header + data)
PY
HANG_UP_MS=3600

serve_up() {  # serve_up NAME: starts serve, waits until it answers
  start_bg "$1" "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT" \
    --media-ports "$ENDPOINT_MIN-$((ENDPOINT_MIN + 99))"
  SERVE_PID=${E2E_PIDS[-1]}
  for _ in $(seq 100); do
    grep -q '"event":"service.started"' "$TMP/$1.log" 2>/dev/null && curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" && return 0
    sleep 0.1
  done
  fail "privox serve ($1) did not start"
}
serve_down() {
  kill -TERM "$SERVE_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
}
messages_in() {  # messages_in LINE: how many messages the line's box holds
  px "$D" voicemail list --purpose service --box "$1" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}
call() {  # call NUMBER LINE: 204 leaves a message for NUMBER; waits until LINE's box holds one more
  local before
  before=$(messages_in "$2")
  (cd "$TMP/caller" && timeout 30 sipp -sf "$UAC" "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" \
    -mp "$(free_port)" -m 1 -nostdin -s "$1" -key caller 204 -au "$U204" -ap "${PASSWORD[204]}" \
    -auth_uri "$1@127.0.0.1:$SIP_PORT" -d "$HANG_UP_MS" -timeout 25s -timeout_error >>"$TMP/sipp.log" 2>&1) ||
    fail "sipp: 204 calls $1"
  for _ in $(seq 50); do
    [ "$(messages_in "$2")" -gt "$before" ] && return 0
    sleep 0.2
  done
  fail "a message was stored in $1's box"
}
mails_to() { grep -l -F -- "To: $EMAIL" "$SMTP_MAILDIR"/new/* 2>/dev/null; }
owed() { store_sql "$D" "SELECT count(*) FROM voicemail_notices"; }

# --- 1. the relay does not answer ---
serve_up serve1
call 201 "$L201"
call 202 "$L202"
for _ in $(seq 100); do grep -q '"event":"voicemail_notice.retrying"' "$TMP/serve1.log" && break; sleep 0.1; done
assert_contains "202's notice failed its first attempt, naming the relay's error code only" \
  "$(cat "$TMP/serve1.log")" '"attempt":1,"attempts":8,"reason":"mail_relay_refused","error":"unavailable"}'
assert_eq "one notice is owed: 202's (201 chose nothing)" 1 "$(owed)"
assert_eq "and it was counted once" 1 "$(store_sql "$D" "SELECT attempts FROM voicemail_notices")"
serve_down

# --- 2. the relay is back; a second serve sends what the store kept ---
set_setting mail.smtp_url "$SMTP_URL"
px "$D" voicemail options set --purpose service "$L201" --email-notice notice >/dev/null || fail "201 chooses notice"
px "$D" voicemail options set --purpose service "$L203" --email-notice off >/dev/null || fail "203 chooses off"
# Due now rather than after the first retry's minute (test only: the schedule is the unit test's).
store_sql "$D" "UPDATE voicemail_notices SET next_attempt_at_us = 0" >/dev/null
serve_up serve2
for _ in $(seq 100); do [ "$(mails_to | wc -l)" -ge 1 ] && break; sleep 0.1; done
assert_eq "202's notice went out after the restart" 1 "$(mails_to | wc -l)"
call 201 "$L201"
call 203 "$L203"
for _ in $(seq 100); do [ "$(mails_to | wc -l)" -ge 2 ] && break; sleep 0.1; done
sleep 3  # two more passes: nothing else may come
assert_eq "exactly two emails: 202's and 201's second message's" 2 "$(mails_to | wc -l)"
assert_eq "201's box holds two messages, one left before the choice" 2 "$(messages_in "$L201")"
assert_eq "203's box holds one, not announced (off)" 1 "$(messages_in "$L203")"
assert_eq "nothing is owed any more" 0 "$(owed)"

# --- 3. what the emails say and carry ---
M202=$(px "$D" voicemail list --purpose service --box "$L202" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
M201=$(px "$D" voicemail list --purpose service --box "$L201" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
AUDIO_MAIL=$(mails_to | xargs -r grep -l "Subject: New voicemail on line 202")
PLAIN_MAIL=$(mails_to | xargs -r grep -l "Subject: New voicemail on line 201")
[ -n "$AUDIO_MAIL" ] && [ -n "$PLAIN_MAIL" ] || fail "one email for line 202 and one for line 201"
python3 - "$AUDIO_MAIL" "$TMP/attached.opus" >"$TMP/audio_mail.txt" <<'PY'
import email, sys
from email import policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
print("type", m.get_content_type())
print(m.get_body(preferencelist=("plain",)).get_content())
for part in m.iter_attachments():
    print("attachment", part.get_filename(), part.get_content_type())
    open(sys.argv[2], "wb").write(part.get_payload(decode=True))
PY
AUDIO_TEXT=$(cat "$TMP/audio_mail.txt")
assert_contains "202's email is multipart/mixed" "$AUDIO_TEXT" "type multipart/mixed"
assert_contains "with the recording attached as audio/ogg" "$AUDIO_TEXT" "attachment voicemail-$M202.opus audio/ogg"
assert_contains "it says who called" "$AUDIO_TEXT" "From:   204"
assert_contains "and links the voicemail page" "$AUDIO_TEXT" "http://127.0.0.1:$HTTP_PORT/voicemail.html"
assert_eq "the attachment is an Ogg stream" "OggS" "$(head -c 4 "$TMP/attached.opus")"
opusdec --quiet "$TMP/attached.opus" "$TMP/attached.wav" 2>>"$TMP/opusdec.log" || fail "opusdec decodes the attachment"
SECONDS_LONG=$(python3 -c 'import sys, wave; w = wave.open(sys.argv[1]); print(round(w.getnframes() / w.getframerate(), 1))' \
  "$TMP/attached.wav")
assert_match "it lasts about the 2.5 s the caller spoke ($SECONDS_LONG s)" "$SECONDS_LONG" '^(2\.[2-9]|3\.[0-2])$'
PLAIN=$(cat "$PLAIN_MAIL")
assert_contains "201's email is plain text" "$PLAIN" "Content-Type: text/plain"
assert_not_contains "without any audio" "$PLAIN" "audio/ogg"
assert_contains "it says the recording is not attached" "$PLAIN" "not attached"
assert_match "it says when and how long" "$PLAIN" "When: +20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC"
assert_contains "from whom" "$PLAIN" "From:   204"

# --- 4. audited, and nothing personal in the log ---
assert_eq "each attempt was audited against its box, with or without the audio (202's twice)" \
  "$(printf '%s\n' "$L201|false" "$L202|true" "$L202|true" | sort | paste -sd' ')" \
  "$(store_sql "$D" "SELECT subject_id, detail FROM audit_log WHERE action = 'voicemail.email'" |
     python3 -c 'import json, sys
rows = sorted(l.split("|", 1) for l in sys.stdin.read().splitlines() if l)
print(" ".join(s + "|" + str(json.loads(d)["audio"]).lower() for s, d in rows))')"
assert_eq "the audit names the messages, and 202's once an attempt" "1 2" \
  "$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'voicemail.email' AND detail LIKE '%$M201%'") $(
     store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'voicemail.email' AND detail LIKE '%$M202%'")"
LOGS=$(cat "$TMP/serve1.log" "$TMP/serve2.log")
assert_contains "the log says what was sent, by ids" "$LOGS" "\"event\":\"voicemail_notice.sent\",\"message\":\"$M202\",\"box\":\"$L202\",\"with_audio\":true"
assert_not_contains "the log holds no email address" "$LOGS" "$EMAIL"
assert_not_contains "nor the member's domain part" "$LOGS" "@example.com"

finish
