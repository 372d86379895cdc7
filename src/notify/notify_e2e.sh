#!/usr/bin/env bash
# Marketing end to end (P11), through the privox binary, the real SMTP test server and a carrier
# trunk on loopback: an email campaign reaches exactly the members whose marketing_email consent
# holds, with RFC 8058 one-click unsubscribe headers; a one-click POST to its link (to a running
# `privox serve`) withdraws the consent, and the next campaign skips that member. Then an SMS
# campaign goes out through the trunk as a SIP MESSAGE (sipp plays the carrier), and a "stop"
# reply from the member's number withdraws marketing_sms and is confirmed exactly once
# (sms_carrier.py plays the carrier for that exchange).
# Usage: notify_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

[ -n "$SMTP_URL" ] || { echo "$0: no SMTP test server (PRIVOX_TEST_SMTP_DIR)" >&2; exit 2; }
for tool in sipp curl python3; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 2; }
done

D=$TMP/data
new_data_dir "$D"
HTTP_PORT=$(free_port)
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
TRUNK_IP=127.0.0.2  # the carrier's own loopback address: a trunk is recognised by its IP address alone
SENDER=+447700900555

set_setting() {  # set_setting KEY VALUE
  px "$D" settings set "$1" "$2" >/dev/null || { echo "notify_e2e.sh: settings set $1 failed" >&2; exit 2; }
}
set_setting mail.smtp_url "$SMTP_URL"
set_setting mail.from "news@example.net"
set_setting portal.public_url "http://127.0.0.1:$HTTP_PORT"
set_setting sms.sender_number "$SENDER"

RUN=$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')
COMPANY=$(px "$D" company add --name "Acme Ltd" --region eea)
add_member() {  # add_member NAME PHONE_SUFFIX: prints the id
  px "$D" member add --company "$COMPANY" --name "$1" --email "$1-$RUN@example.com" --phone "020 7946 09$2" \
    --address "1 High St" --birth-date 1990-01-31 --payment-token tok_abcdef --card-brand visa --card-last4 4242
}
ANN=$(add_member ann 11)   # email and SMS marketing
BOB=$(add_member bob 12)   # none
CAT=$(add_member cat 13)   # email only
assert_match "members added" "$ANN $BOB $CAT" '^[0-9a-f-]{36} [0-9a-f-]{36} [0-9a-f-]{36}$'
px "$D" extension add --company "$COMPANY" --number 201 --password correct-horse-7 --member "$ANN" >/dev/null \
  || fail "extension add"  # ann's line: her marketing SMS is recorded under it
px "$D" consent give --member "$ANN" --purpose marketing_email >/dev/null || fail "consent give ann email"
px "$D" consent give --member "$ANN" --purpose marketing_sms >/dev/null || fail "consent give ann sms"
px "$D" consent give --member "$CAT" --purpose marketing_email >/dev/null || fail "consent give cat email"

mails_with() {  # mails_with TEXT: the delivered files holding TEXT
  grep -l -F -- "$1" "$SMTP_MAILDIR"/new/* 2>/dev/null
}
wait_mails_with() {  # wait_mails_with TEXT N: until N files hold TEXT (10 s at most)
  for _ in $(seq 100); do
    [ "$(mails_with "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# --- refusals by flag ---
echo "hello" >"$TMP/body.txt"
out=$(px "$D" campaign create --channel fax --subject s --body-file "$TMP/body.txt" 2>&1)
assert_contains "an unknown channel is refused" "$out" "--channel"
out=$(px "$D" campaign create --channel email --subject s --body-file "$TMP/none.txt" 2>&1)
assert_contains "a missing body file is refused by flag" "$out" "body-file"
out=$(px "$D" campaign send --id nope 2>&1)
assert_contains "an unknown campaign is refused by flag" "$out" "privox: error: --id"

# --- email campaign: exactly the consenting members, one-click unsubscribe headers ---
SUBJECT1="Spring offer $RUN"
printf 'Two months free for every desk.\n.\nSee you soon.\n' >"$TMP/offer.txt"
C1=$(px "$D" campaign create --channel email --subject "$SUBJECT1" --body-file "$TMP/offer.txt")
assert_match "email campaign created" "$C1" '^[0-9a-f-]{36}$'
out=$(px "$D" campaign send --id "$C1")
assert_contains "the campaign went to the two consenting members" "$out" "2 recipients, 2 sent now, 0 failed"
wait_mails_with "Subject: $SUBJECT1" 2 || fail "two campaign messages arrived"
assert_eq "exactly two messages carry the campaign's subject" 2 "$(mails_with "Subject: $SUBJECT1" | wc -l)"
TO=$(mails_with "Subject: $SUBJECT1" | xargs -r grep -h '^To: ' | sort | paste -sd' ')
assert_eq "they went to ann and cat, not bob" "To: ann-$RUN@example.com To: cat-$RUN@example.com" "$TO"
ANN_MAIL=$(mails_with "Subject: $SUBJECT1" | xargs -r grep -l -F "To: ann-$RUN@example.com" | head -n 1)
assert_contains "List-Unsubscribe-Post (RFC 8058)" "$(cat "$ANN_MAIL")" "List-Unsubscribe-Post: List-Unsubscribe=One-Click"
URL=$(sed -n 's/^List-Unsubscribe: <\(.*\)>\r\{0,1\}$/\1/p' "$ANN_MAIL")
assert_match "List-Unsubscribe names the portal's unsubscribe link" "$URL" "^http://127.0.0.1:$HTTP_PORT/unsubscribe\?token=[A-Za-z0-9_-]+$"
assert_contains "the link is in the body too" "$(cat "$ANN_MAIL")" "$URL"
assert_contains "a line holding only a dot arrives intact" "$(cat "$ANN_MAIL")" "$(printf 'desk.\n.\nSee you')"
out=$(px "$D" campaign send --id "$C1")
assert_contains "a re-run sends to no one twice" "$out" "0 sent now, 0 failed, 2 sent before"
assert_eq "still two messages" 2 "$(mails_with "Subject: $SUBJECT1" | wc -l)"
assert_contains "campaign list shows it sent twice" "$(px "$D" campaign list)" "$C1"

# --- serve: one-click unsubscribe over HTTP, SMS over the trunk ---
px "$D" trunk add --name carrier --address "$TRUNK_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
start_bg serve "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT"
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" && break
  sleep 0.1
done
assert_contains "serve answers" "$(curl -s "http://127.0.0.1:$HTTP_PORT/healthz")" '"status":"ok"'

page=$(curl -s "$URL")
assert_contains "the link opens a page with a POST form" "$page" '<form method="post"'
assert_not_contains "the page runs no script" "$page" "<script"
code=$(curl -s -o "$TMP/bad.json" -w '%{http_code}' -d List-Unsubscribe=One-Click "${URL%?????}AAAAA")
assert_eq "a tampered token gets 400" 400 "$code"
assert_contains "naming the token" "$(cat "$TMP/bad.json")" '"field":"token"'
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL")
assert_eq "the one-click POST answers 200" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$URL")
assert_eq "a second POST is harmless" 200 "$code"
LATEST="SELECT decision || '/' || method || '/' || channel FROM consent_ledger WHERE subject_id = '$ANN'
  AND purpose = 'marketing_email' ORDER BY recorded_at_us DESC, id DESC"
assert_eq "ann's marketing_email is withdrawn, by link" "withdrawn/link/email" "$(store_sql "$D" "$LATEST" | head -n 1)"
assert_eq "and recorded once" 1 "$(store_sql "$D" "SELECT count(*) FROM consent_ledger WHERE subject_id = '$ANN'
  AND purpose = 'marketing_email' AND method = 'link'")"
shown=$(px "$D" consent show --member "$ANN" --json 2>/dev/null)
assert_contains "consent show lists the link withdrawal" "$shown" '"link"'

SUBJECT2="Summer offer $RUN"
C2=$(px "$D" campaign create --channel email --subject "$SUBJECT2" --body-file "$TMP/offer.txt")
out=$(px "$D" campaign send --id "$C2")
assert_contains "the next campaign skips ann" "$out" "1 recipients, 1 sent now"
wait_mails_with "Subject: $SUBJECT2" 1 || fail "the second campaign arrived"
assert_eq "only cat gets it" "To: cat-$RUN@example.com" \
  "$(mails_with "Subject: $SUBJECT2" | xargs -r grep -h '^To: ' | paste -sd' ')"

# --- SMS campaign: out through the trunk to ann (the only one with marketing_sms) ---
SIPP_LOG=$TMP/sipp
timeout -k 2 25 sipp -sf "$HERE/../sip/scenarios/uas_sms_campaign.xml" -i "$TRUNK_IP" -p "$TRUNK_PORT" -m 1 \
  -nostdin -trace_msg -trace_logs -message_file "$SIPP_LOG.msg" -log_file "$SIPP_LOG.log" \
  -timeout 20s -timeout_error >"$SIPP_LOG.out" 2>&1 &
SIPP_PID=$!
E2E_PIDS+=("$SIPP_PID")
sleep 0.5
printf 'MANGO8812: half-price meeting rooms this week.' >"$TMP/sms.txt"
C3=$(px "$D" campaign create --channel sms --subject "rooms" --body-file "$TMP/sms.txt")
assert_contains "campaign send queues an SMS campaign for serve" "$(px "$D" campaign send --id "$C3")" "queued"
wait "$SIPP_PID"
RC=$?
assert_eq "the carrier (sipp) received the marketing MESSAGE and answered 200" 0 "$RC"
[ "$RC" == 0 ] || tail -n 40 "$SIPP_LOG.msg" "$SIPP_LOG.out" >&2
for _ in $(seq 50); do
  [ "$(store_sql "$D" "SELECT status FROM campaign_deliveries WHERE campaign_id = '$C3'")" == sent ] && break
  sleep 0.1
done
assert_eq "the SMS delivery is recorded as sent, to ann only" "$ANN|sent" \
  "$(store_sql "$D" "SELECT subject_id, status FROM campaign_deliveries WHERE campaign_id = '$C3'")"

SMS_RECORD="SELECT kind, direction, outcome, count(*) FROM traffic_records WHERE kind = 'sms'
  AND subject_id IN (SELECT id FROM extensions WHERE member_id = '$ANN') GROUP BY kind, direction, outcome"
for _ in $(seq 50); do  # the record lands through serve's batched writer, a moment after the 200
  [ -n "$(store_sql "$D" "$SMS_RECORD")" ] && break
  sleep 0.1
done
assert_eq "the SMS is a traffic record like any other: sms, outbound, under ann's line, answered" \
  "sms|outbound|answered|1" "$(store_sql "$D" "$SMS_RECORD")"

# --- "  stop " from ann's number: withdrawn at once, confirmed exactly once ---
result=$(timeout 20 python3 "$HERE/sms_carrier.py" "$TRUNK_IP" "$TRUNK_PORT" "$SIP_PORT" "+442079460911" "$SENDER" "  stop " 4)
assert_eq "the STOP reply gets 200" 200 "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["stop_status"])' <<<"$result")"
assert_eq "exactly one confirmation comes back, to ann's number, from the sender number" \
  "1 sip:+442079460911 True True" \
  "$(python3 -c 'import json,sys
r = json.load(sys.stdin)["messages"]
print(len(r), r[0]["to"].split("@")[0] if r else "-", bool(r) and "+447700900555" in r[0]["from"],
      bool(r) and "unsubscribed" in r[0]["body"])' <<<"$result")"
LATEST_SMS="SELECT decision || '/' || method || '/' || channel FROM consent_ledger WHERE subject_id = '$ANN'
  AND purpose = 'marketing_sms' ORDER BY recorded_at_us DESC, id DESC"
for _ in $(seq 50); do  # recorded on the STOP handler's thread, after the 200
  [ "$(store_sql "$D" "$LATEST_SMS" | head -n 1)" == withdrawn/sms_reply/sms ] && break
  sleep 0.1
done
assert_eq "ann's marketing_sms is withdrawn, by SMS reply" "withdrawn/sms_reply/sms" \
  "$(store_sql "$D" "$LATEST_SMS" | head -n 1)"
result=$(timeout 20 python3 "$HERE/sms_carrier.py" "$TRUNK_IP" "$TRUNK_PORT" "$SIP_PORT" "+442079460912" "$SENDER" "hello" 2)
assert_eq "another body gets 200 and nothing else" "200 0" \
  "$(python3 -c 'import json,sys; r = json.load(sys.stdin); print(r["stop_status"], len(r["messages"]))' <<<"$result")"
assert_eq "bob's ledger is untouched" 0 "$(store_sql "$D" "SELECT count(*) FROM consent_ledger WHERE subject_id = '$BOB'")"

finish
