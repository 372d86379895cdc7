#!/usr/bin/env bash
# The live fraud rules end to end (issue 17): privox serves with a velocity limit of 3 calls a
# minute per line; a phone (sipp) places 3 calls out through the carrier's trunk (sipp), and its
# 4th is refused 403 "line suspended for suspected fraud" at set-up. The alert is stored (rule,
# action, figures without a number) with its audit entry; the line stays suspended until the
# operator lifts the alert (`privox fraud lift`, audited), after which the proxy lets the line call
# again within its refresh interval.
# Usage: fraud_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-deps.sh, install-test-deps.sh)" >&2; exit 2; }
done
SCENARIOS=$HERE/../sip/scenarios
CARRIER_IP=127.0.0.2  # the trunk is recognised by its address, so the phone calls from 127.0.0.3

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
PW501='Cobalt-fern-63-z'
PSTN='+442079460177'
personal "Quillfield Studio Ltd" "$PW501" "$PSTN"
COMPANY=$(px "$D" company add --name "Quillfield Studio Ltd" --region eea --country GB)
assert_match "company added" "$COMPANY" '^[0-9a-f-]{36}$'
PRIVOX_EXTENSION_PASSWORD=$PW501 px "$D" extension add --company "$COMPANY" --number 501 >/dev/null ||
  fail "extension add 501"
L501=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '501'")
LINE=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '501'")
px "$D" trunk add --name carrier --address "$CARRIER_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
px "$D" settings set fraud.velocity.line_calls_per_minute 3 >/dev/null || fail "settings set fraud.velocity"
RULES=$(px "$D" fraud rules)
assert_contains "fraud rules shows the limit in force" "$RULES" "fraud.velocity.line_calls_per_minute = 3"
assert_contains "fraud rules shows the action" "$RULES" "fraud.velocity.action = suspend"
OUT=$("$PRIVOX" settings set fraud.spend.action block $(store_args "$D") 2>&1)
assert_eq "a bad action is refused" 2 "$?"
assert_contains "naming what is allowed" "$OUT" "alert, throttle or suspend"

start_bg serve "$PRIVOX" serve $(store_args "$D") --sip "127.0.0.1:$SIP_PORT" --http "127.0.0.1:$(free_port)"
for _ in $(seq 300); do grep -q '"event":"started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "serve has started" "$(cat "$TMP/serve.log")" '"event":"started"'

# call SCENARIO CALLS: the phone places CALLS calls of 0.2 s through the trunk; sipp's exit status.
# sipp exits 254 when it cannot bind its ports, before it sends anything: a test beside this one
# took a port between free_port and sipp (a CI run saw it once). New ports are tried then.
call() {
  local status=0
  for _ in 1 2 3; do
    timeout -k 2 30 sipp -sf "$1" "127.0.0.1:$SIP_PORT" -i 127.0.0.3 -p "$(free_port)" -nostdin -mp "$(free_port)" \
      -s "$PSTN" -key caller "$L501" -au "$L501" -ap "$PW501" -auth_uri "$PSTN@127.0.0.1:$SIP_PORT" -d 200 -m "$2" \
      -timeout 20s -timeout_error >>"$TMP/calls.out" 2>&1
    status=$?
    [ "$status" -eq 254 ] || break
  done
  return "$status"
}

# --- a burst: 3 calls pass, the 4th trips the velocity rule and is refused -------------------------
start_bg carrier timeout -k 2 50 sipp -sf "$SCENARIOS/uas_trunk.xml" -i "$CARRIER_IP" -p "$TRUNK_PORT" -m 4 -nostdin \
  -mp "$(free_port)"
sleep 0.5
call "$SCENARIOS/uac_call.xml" 3
assert_eq "3 calls in a minute are within the limit" 0 "$?"
call "$HERE/uac_call_suspended.xml" 1
assert_eq "the 4th is refused: 403 line suspended for suspected fraud" 0 "$?"
for _ in $(seq 50); do [ "$(store_sql "$D" "SELECT count(*) FROM fraud_alerts")" == 1 ] && break; sleep 0.1; done
ALERTS=$(px "$D" fraud alerts --company "$COMPANY")
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[0][sys.argv[2]])' "$1" "$2"; }
assert_eq "one alert, velocity of the line" line_velocity "$(field "$ALERTS" rule)"
assert_eq "its action suspends the line" suspend "$(field "$ALERTS" action)"
assert_eq "it is open" open "$(field "$ALERTS" state)"
assert_eq "it names the line" "$LINE" "$(field "$ALERTS" line_id)"
assert_eq "its figures are counts" '{"limit": 3, "seen": 4}' \
  "$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])[0]["figures"], sort_keys=True))' "$ALERTS")"
assert_eq "opening it was audited under fraud" 1 \
  "$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'fraud.alert_open' AND purpose = 'fraud' AND subject_id = '$LINE'")"
ALERT=$(field "$ALERTS" id)
sleep 2.5  # past a refresh: the store's list, not only the local trip, keeps it suspended
call "$HERE/uac_call_suspended.xml" 1
assert_eq "still refused after the store's list was re-read" 0 "$?"

# --- the operator lifts it; the line calls again ----------------------------------------------------
OUT=$("$PRIVOX" fraud lift "not-an-alert!" $(store_args "$D") 2>&1)
assert_eq "a malformed alert id is refused" 2 "$?"
assert_contains "naming the alert" "$OUT" "alert"
px "$D" fraud lift "$ALERT" >/dev/null
assert_eq "the alert is lifted" 0 "$?"
assert_eq "the lifting is audited" 1 \
  "$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'fraud.alert_lift' AND subject_id = '$LINE'")"
"$PRIVOX" fraud lift "$ALERT" $(store_args "$D") >/dev/null 2>&1
assert_eq "lifting twice is a conflict" 4 "$?"
sleep 2.5  # the proxy re-reads the list every 2 s
call "$SCENARIOS/uac_call.xml" 1
assert_eq "the lifted line calls again, answered by the carrier" 0 "$?"
assert_eq "no new alert" 1 "$(store_sql "$D" "SELECT count(*) FROM fraud_alerts")"

finish
