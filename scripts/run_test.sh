#!/usr/bin/env bash
# `make run` end to end (issue 13, item 2): scripts/run.sh as `make run` calls it, on free loopback
# ports and a fresh data dir. A company signs up through the API with a card token from the
# stand-in provider; the confirmation email is read from the development mail catcher's page and
# its link completes the sign-up. Ctrl-C stops everything with status 0. A data dir whose
# mail.smtp_url names a relay of the operator's gets no catcher, and the banner says where mail goes.
# Usage: bash scripts/run_test.sh /path/to/privox
set -- "${1:?usage: $0 /path/to/privox}" sqlite
source "$(dirname "$0")/test-lib.sh"
source "$(dirname "$0")/e2e-lib.sh"
RUN="$(cd "$(dirname "$0")" && pwd)/run.sh"

HTTP=127.0.0.1:$(free_port)
TOKENIZER=127.0.0.1:$(free_port)
MAIL_SMTP=127.0.0.1:$(free_port)
MAIL_WEB=127.0.0.1:$(free_port)
D=$TMP/var
MEDIA_NG=127.0.0.1:$(free_port)
media_min=$((20000 + (RANDOM % 90) * 100))
MEDIA_PORTS=$media_min-$((media_min + 99))

start_run() {  # start_run LOG: run.sh in its own process group, as a terminal would run make run
  SIP_LISTEN=127.0.0.1:$(free_port) MEDIA_RELAY_NG=$MEDIA_NG MEDIA_PORTS=$MEDIA_PORTS setsid bash "$RUN" "$PRIVOX" "$D" "$HTTP" "$TOKENIZER" "$MAIL_SMTP" "$MAIL_WEB" \
    >"$1" 2>&1 &
  RUN_PID=$!
  E2E_PIDS+=("$RUN_PID")
  for _ in $(seq 150); do
    curl -s -o /dev/null --max-time 1 "http://$HTTP/healthz" && return 0
    sleep 0.1
  done
  fail "make run came up on $HTTP" "$(tail -n 20 "$1")"
  finish
}

stop_run() {  # stop_run: Ctrl-C to the whole group; run.sh's exit status in STOP_STATUS
  kill -INT -- "-$RUN_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$RUN_PID"
  STOP_STATUS=$?
}

start_run "$TMP/run1.log"
banner=$(cat "$TMP/run1.log")
assert_contains "the banner says where to sign up: the landing page" "$banner" "portal  http://$HTTP/ shows the plan and signs up"
assert_contains "and that mail goes to the catcher, with its page" "$banner" \
  "email   to the development mail catcher, http://$MAIL_WEB/"
assert_contains "the banner says where the media relay is" "$banner" "every call's audio through rtpengine (ng $MEDIA_NG"
relay_up() { curl -s --max-time 1 "http://$HTTP/healthz" | grep -q '"media_relay":"up"'; }
for _ in $(seq 50); do relay_up && break; sleep 0.1; done
assert_true "make run starts rtpengine, and serve relays through it (/healthz)" relay_up
assert_contains "the banner flags the placeholder data controller" "$banner" \
  "NOTE: the privacy notice does not yet name a real data controller"
assert_eq "privox sends through the catcher" "smtp://$MAIL_SMTP" \
  "$(px "$D" settings list | awk '$1 == "mail.smtp_url" { print $2 }')"

token=$(curl -s --max-time 5 -H 'Content-Type: application/json' "http://$TOKENIZER/v1/tokens" \
  -d '{"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}' |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin).get("token", ""))')
assert_match "the stand-in provider issues a card token" "$token" '^tok_'
code=$(curl -s -o "$TMP/signup.json" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
  "http://$HTTP/api/v1/signup" -d "{\"company_name\": \"Catcher Ltd\", \"region\": \"eea\", \"name\": \"Ada Lovelace\",
  \"email\": \"ada@catcher.example\", \"phone\": \"+442079460123\", \"address\": \"1 Analytical Way, London\",
  \"birth_date\": \"1990-12-10\", \"password\": \"correct horse battery\", \"payment_token\": \"$token\"}")
assert_eq "sign-up is accepted, pending the emailed link (not 503 for want of a relay)" 202 "$code"

link=""
for _ in $(seq 50); do
  link=$(curl -s --max-time 2 "http://$MAIL_WEB/messages.json" | /usr/bin/python3 -c '
import json, re, sys
for m in json.load(sys.stdin)["messages"]:
    found = re.search(r"https?://\S+/confirm\.html#[0-9a-f]{64}", m["text"])
    if m["to"] == "ada@catcher.example" and found:
        print(found.group(0)); break')
  [ -n "$link" ] && break
  sleep 0.2
done
assert_match "the confirmation email is on the catcher's page, with its link" "$link" \
  "^http://$HTTP/confirm\\.html#[0-9a-f]{64}$"
page=$(curl -s --max-time 2 "http://$MAIL_WEB/")
assert_contains "the catcher's page lists it for a person" "$page" "ada@catcher.example"
code=$(curl -s -o "$TMP/confirm.json" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
  "http://$HTTP/api/v1/confirm" -d "{\"token\": \"${link##*#}\"}")
assert_eq "the link from the catcher completes the sign-up" 201 "$code"

stop_run
assert_eq "Ctrl-C stops make run with status 0" 0 "$STOP_STATUS"
assert_false "the catcher stopped with it" curl -s --max-time 1 "http://$MAIL_WEB/"
assert_false "and the provider" curl -s --max-time 1 "http://$TOKENIZER/"

# An operator's own relay is left alone: no catcher. A named controller is no longer flagged.
px "$D" settings set mail.smtp_url smtp://127.0.0.1:1 >/dev/null
px "$D" settings set controller.name "Catcher Ltd" >/dev/null
px "$D" settings set controller.email privacy@catcher.example >/dev/null
start_run "$TMP/run2.log"
assert_contains "the banner names the operator's relay" "$(cat "$TMP/run2.log")" \
  "email   through smtp://127.0.0.1:1 (mail.smtp_url)"
assert_false "no catcher runs" curl -s --max-time 1 "http://$MAIL_WEB/"
assert_not_contains "nor a controller flag" "$(cat "$TMP/run2.log")" "NOTE: the privacy notice"
assert_eq "the setting is kept" "smtp://127.0.0.1:1" "$(px "$D" settings list | awk '$1 == "mail.smtp_url" { print $2 }')"
stop_run
assert_eq "Ctrl-C again" 0 "$STOP_STATUS"

finish
