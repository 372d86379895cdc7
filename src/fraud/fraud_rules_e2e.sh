#!/usr/bin/env bash
# Every fraud rule but the line's calls per minute (fraud_e2e.sh has that one) end to end (issue 17):
# privox serves, phones (sipp) register and call out through the carrier's trunk (sipp), and each
# rule first sees normal traffic and opens no alert, then the pattern built for it, opens its alert
# and takes its configured action: suspend (403), throttle (503 with Retry-After) or alert only
# (the call goes through); with the SMTP test server, the operator (fraud.alert_email) is emailed
# each alert.
#   live, at call set-up: calls in progress per line and per company, calls per minute per company
#     (several lines), one line registered from many addresses;
#   scanned (fraud.scan_interval_s 1): many short calls to many numbers, international spend far
#     above the company's own 30-day baseline, international calls outside business hours.
# The clock is pinned (PRIVOX_TEST_NOW, test builds only) so that three runs of serve are honest
# traffic at known times: three days ago at noon the spend company calls the US six times (its
# baseline, with the scanner idle), today at noon, and today at 21:00 (outside 07-20 UTC).
# Usage: fraud_rules_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-deps.sh, install-test-deps.sh)" >&2; exit 2; }
done
SCENARIOS=$HERE/../sip/scenarios
CARRIER_IP=127.0.0.2  # the trunk is recognised by its address, so the phones call from 127.0.0.3
PHONE_IP=127.0.0.3

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
PW='Heron-slate-27-k'
US='+12125550143'      # 10.00 a minute and 0.10 to connect, in whole minutes: 10.10 a call
FR='+33142685300'      # 0.50 a minute: 0.50 a call
UK='+442079460321'     # the companies' own country: not international
UK_MANY=('+442079460301' '+442079460302' '+442079460303')
personal "$PW" "$US" "$FR" "$UK" "${UK_MANY[@]}" "Larchmont Joinery Ltd" "Fenwick Tiles Ltd" "Osterley Freight Ltd" \
  "Brackley Dental Ltd"

declare -A USER=() ID=()
company() {  # company NAME: its id
  px "$D" company add --name "$1" --region eea --country GB
}
line() {  # line COMPANY NUMBER: adds the extension, USER[NUMBER] and ID[NUMBER]
  PRIVOX_EXTENSION_PASSWORD=$PW px "$D" extension add --company "$1" --number "$2" >/dev/null || fail "extension add $2"
  USER[$2]=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$2' AND company_id = '$1'")
  ID[$2]=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '$2' AND company_id = '$1'")
}
CA=$(company "Larchmont Joinery Ltd")    # calls in progress, and the registrations
CB=$(company "Fenwick Tiles Ltd")        # calls per minute of the company
CC=$(company "Osterley Freight Ltd")     # international spend
CD=$(company "Brackley Dental Ltd")      # business hours and short calls
assert_match "companies added" "$CA $CB $CC $CD" '^([0-9a-f-]{36} ?){4}$'
for n in 601 602 603 604; do line "$CA" "$n"; done
for n in 611 612 613; do line "$CB" "$n"; done
line "$CC" 631
for n in 641 642; do line "$CD" "$n"; done
px "$D" trunk add --name carrier --address "$CARRIER_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
printf 'prefix,description,price_per_minute,connection_fee,increments,currency,valid_from\n%s\n%s\n' \
  "1,USA,10.00,0.10,60/60,GBP,2020-01-01" "33,France,0.50,0,60/60,GBP,2020-01-01" >"$TMP/deck.csv"
px "$D" rating import --name "Carrier A" --file "$TMP/deck.csv" >/dev/null || fail "rating import"
for c in "$CC" "$CD"; do
  px "$D" rating destinations set --company "$c" --countries '*' >/dev/null || fail "rating destinations set"
  px "$D" wallet top-up "$c" 500.00 --currency GBP >/dev/null || fail "wallet top-up"
done
set_rule() { px "$D" settings set "$1" "$2" >/dev/null || fail "settings set $1 $2"; }
set_rule fraud.velocity.line_concurrent_calls 2
set_rule fraud.velocity.company_concurrent_calls 3
set_rule fraud.velocity.company_calls_per_minute 8
set_rule fraud.velocity.action suspend
set_rule fraud.throttle.calls_per_minute 0
set_rule fraud.sources.max_addresses 2
set_rule fraud.sources.action throttle
set_rule fraud.short_calls.max_seconds 1
set_rule fraud.short_calls.min_destinations 3
set_rule fraud.short_calls.action throttle
set_rule fraud.spend.multiple 10
set_rule fraud.spend.floor_micros 5000000
set_rule fraud.spend.action alert
set_rule fraud.hours.min_calls 2
set_rule fraud.hours.action suspend
set_rule sip.rate_limit_requests 0  # the phones send more than 16 requests in 2 s from one address
set_rule fraud.scan_interval_s 3600  # the history is made with the scanner idle
DESK="fraud-desk-$E2E_RUN_ID@example.test"  # the operator's address, this run's own in the shared Maildir
set_rule fraud.alert_email "$DESK"
[ -n "$SMTP_URL" ] && set_rule mail.smtp_url "$SMTP_URL"
assert_contains "fraud rules lists the scan interval" "$(px "$D" fraud rules)" "fraud.scan_interval_s = 3600"
OUT=$("$PRIVOX" settings set fraud.scan_interval_s 0 $(store_args "$D") 2>&1)
assert_eq "a scan interval under a second is refused" 2 "$?"
assert_contains "naming the setting" "$OUT" "fraud.scan_interval_s"

start_bg carrier timeout -k 2 120 sipp -sf "$SCENARIOS/uas_trunk.xml" -i "$CARRIER_IP" -p "$TRUNK_PORT" -nostdin \
  -mp "$(free_port)"
TODAY=$(date -u +%F)
RUN=0
SERVE_PID=""
serve_at() {  # serve_at TIME: (re)starts serve with its clock at TIME
  if [ -n "$SERVE_PID" ]; then kill -TERM "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; fi
  RUN=$((RUN + 1))
  PRIVOX_TEST_NOW=$1 start_bg "serve$RUN" "$PRIVOX" serve $(store_args "$D") --sip "127.0.0.1:$SIP_PORT" \
    --http "127.0.0.1:$(free_port)"
  SERVE_PID=${E2E_PIDS[-1]}
  for _ in $(seq 300); do grep -q '"event":"started"' "$TMP/serve$RUN.log" 2>/dev/null && break; sleep 0.1; done
  assert_contains "serve has started at $1" "$(cat "$TMP/serve$RUN.log")" '"event":"started"'
}
# calls LINE DEST N MS [SIPP ARGS...]: LINE places N answered calls of MS ms to DEST, one at a time.
calls() {
  local num=$1 dest=$2 n=$3 ms=$4
  shift 4
  timeout -k 2 40 sipp -sf "$SCENARIOS/uac_call.xml" "127.0.0.1:$SIP_PORT" -i "$PHONE_IP" -p "$(free_port)" -nostdin \
    -mp "$(free_port)" -s "$dest" -key caller "${USER[$num]}" -au "${USER[$num]}" -ap "$PW" \
    -auth_uri "$dest@127.0.0.1:$SIP_PORT" -d "$ms" -m "$n" -l 1 -timeout 30s -timeout_error "$@" >>"$TMP/calls.out" 2>&1
}
# refused LINE NAME: LINE calls the UK number and privox refuses it; prints the final status line
# and the Retry-After header if any ("SIP/2.0 503 ...|60").
refused() {
  timeout -k 2 20 sipp -sf "$HERE/uac_call_blocked.xml" "127.0.0.1:$SIP_PORT" -i "$PHONE_IP" -p "$(free_port)" -nostdin \
    -mp "$(free_port)" -s "$UK" -key caller "${USER[$1]}" -au "${USER[$1]}" -ap "$PW" -auth_uri "$UK@127.0.0.1:$SIP_PORT" \
    -m 1 -timeout 15s -timeout_error -trace_msg -message_file "$TMP/$2.msg" >"$TMP/$2.out" 2>&1 ||
    echo "sipp failed: $(tail -5 "$TMP/$2.out")"
  local msg
  msg=$(tr -d '\r' <"$TMP/$2.msg")
  printf '%s|%s\n' "$(grep -aoE '^SIP/2.0 (403|503) .*' <<<"$msg" | tail -n 1)" \
    "$(grep -aiE '^Retry-After:' <<<"$msg" | tail -n 1 | sed -E 's/^[^:]*: *//')"
}
SUSPENDED="SIP/2.0 403 line suspended for suspected fraud|"
THROTTLED="SIP/2.0 503 calls from this line are limited for suspected fraud|60"
# alerts_of RULE: the alerts of RULE as "line action figures" lines.
alerts_of() {
  px "$D" fraud alerts | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["rule"] == sys.argv[1]:
        print(a["line_id"], a["action"], json.dumps(a["figures"], sort_keys=True))' "$1"
}
alert_soon() {  # alert_soon RULE: waits (10 s at most) for RULE's alert and prints it
  local got=""
  for _ in $(seq 100); do
    got=$(alerts_of "$1")
    [ -n "$got" ] && break
    sleep 0.1
  done
  echo "$got"
}
open_calls() { store_sql "$D" "SELECT count(*) FROM traffic_records WHERE company_id = '$1' AND outcome = 'open'"; }
wait_open() {  # wait_open COMPANY N: until N of COMPANY's calls are up (10 s at most)
  for _ in $(seq 100); do [ "$(open_calls "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  fail "$2 calls of $1 up" "$(open_calls "$1") are"
}
scans() { store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'traffic.list' AND actor = 'fraud:scanner'"; }
two_scans() {  # two_scans: until two more scans have read the traffic, so one began after the last call (15 s at most)
  local target=$(($(scans) + 2))
  for _ in $(seq 150); do [ "$(scans)" -ge "$target" ] && return 0; sleep 0.1; done
  fail "the scanner ran twice" "$(scans) scans, waiting for $target"
}

# === three days ago: the spend company's history ================================================
serve_at "$(date -u -d "$TODAY -3 days" +%F)T12:00:00Z"
calls 631 "$US" 6 100
assert_eq "six calls to the US three days ago (60.60, a daily average of 2.02 over 30 days)" 0 "$?"
set_rule fraud.scan_interval_s 1

# === today at noon ===============================================================================
serve_at "${TODAY}T12:00:00Z"

# --- one line registered from many addresses (sources: max 2, throttle) ---------------------------
register_from() {  # register_from IP: line 604 registers from IP
  timeout -k 2 20 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:$SIP_PORT" -i "$1" -p "$(free_port)" -nostdin -m 1 \
    -key user "${USER[604]}" -key contact_port 5060 -key expires 300 -au "${USER[604]}" -ap "$PW" -timeout 10s \
    -timeout_error >>"$TMP/register.out" 2>&1
}
register_from 127.0.0.11 && register_from 127.0.0.12
assert_eq "the line registers from two addresses" 0 "$?"
calls 604 "$UK" 1 100
assert_eq "and calls out: two addresses are within the limit" 0 "$?"
register_from 127.0.0.13
assert_eq "the line registers from a third address" 0 "$?"
assert_eq "its next call is throttled: 503 with Retry-After" "$THROTTLED" "$(refused 604 sources)"
assert_eq "the sources rule opened a throttling alert on the line" \
  "${ID[604]} throttle {\"limit\": 2, \"seen\": 3}" "$(alert_soon many_sources)"

# --- calls in progress per line (2) and per company (3): suspend -----------------------------------
start_bg held601 timeout -k 2 30 sipp -sf "$SCENARIOS/uac_call.xml" "127.0.0.1:$SIP_PORT" -i "$PHONE_IP" -p "$(free_port)" \
  -nostdin -mp "$(free_port)" -s "$UK" -key caller "${USER[601]}" -au "${USER[601]}" -ap "$PW" \
  -auth_uri "$UK@127.0.0.1:$SIP_PORT" -d 9000 -m 2 -l 2 -timeout 25s -timeout_error
HELD601=${E2E_PIDS[-1]}
wait_open "$CA" 2
start_bg held602 timeout -k 2 30 sipp -sf "$SCENARIOS/uac_call.xml" "127.0.0.1:$SIP_PORT" -i "$PHONE_IP" -p "$(free_port)" \
  -nostdin -mp "$(free_port)" -s "$UK" -key caller "${USER[602]}" -au "${USER[602]}" -ap "$PW" \
  -auth_uri "$UK@127.0.0.1:$SIP_PORT" -d 8000 -m 1 -timeout 25s -timeout_error
HELD602=${E2E_PIDS[-1]}
wait_open "$CA" 3
assert_eq "two calls up on one line and three in the company open no alert" "" \
  "$(alerts_of line_concurrency)$(alerts_of company_concurrency)"
assert_eq "a third call at once on the line is refused: suspended" "$SUSPENDED" "$(refused 601 line_concurrency)"
assert_eq "the line concurrency rule opened a suspending alert" \
  "${ID[601]} suspend {\"limit\": 2, \"seen\": 3}" "$(alert_soon line_concurrency)"
assert_eq "a fourth call at once in the company is refused: suspended" "$SUSPENDED" "$(refused 603 company_concurrency)"
assert_eq "the company concurrency rule opened a suspending alert on the calling line" \
  "${ID[603]} suspend {\"limit\": 3, \"seen\": 4}" "$(alert_soon company_concurrency)"
wait "$HELD601"
assert_eq "the calls already up on the suspended line went on to their end" 0 "$?"
wait "$HELD602"
assert_eq "and the other line's call too" 0 "$?"

# --- normal traffic for the scanned rules --------------------------------------------------------
calls 631 "$US" 1 100
assert_eq "the spend company calls the US once today (10.10, under 10 x 2.02)" 0 "$?"
calls 641 "$FR" 2 100
assert_eq "a line calls France twice in business hours" 0 "$?"
many() {  # many MS: line 642 calls each of UK_MANY once, for MS ms (a sipp each: the digest covers the number)
  local n
  for n in "${UK_MANY[@]}"; do calls 642 "$n" 1 "$1" || return 1; done
}
many 1300
assert_eq "another calls three numbers for over a second each" 0 "$?"
two_scans
assert_eq "the scanner opens no alert on this traffic" "" \
  "$(alerts_of international_spend)$(alerts_of off_hours)$(alerts_of short_calls)"

# --- many short calls to many numbers (3 numbers, under a second each: throttle) ---------------------
many 100
assert_eq "the line calls the three numbers again, briefly" 0 "$?"
assert_eq "the call-back rule opened a throttling alert counting only the short calls" \
  "${ID[642]} throttle {\"destinations\": 3, \"short_calls\": 3, \"window_minutes\": 60}" "$(alert_soon short_calls)"
assert_eq "the line's next call is throttled: 503 with Retry-After" "$THROTTLED" "$(refused 642 short_calls)"

# --- international spend far above the baseline (alert only) -------------------------------------------
calls 631 "$US" 2 100
assert_eq "the spend company calls the US twice more (30.30 today)" 0 "$?"
assert_eq "the spend rule opened an alert naming today's cost and the baseline" \
  "${ID[631]} alert {\"daily_average_micros\": 2020000, \"multiple\": 10, \"today_micros\": 30300000}" \
  "$(alert_soon international_spend)"
calls 631 "$UK" 1 100
assert_eq "an alert only: the line still calls" 0 "$?"

# === today at 21:00, outside business hours (07-20 UTC); the velocity rules alert only ===============
set_rule fraud.velocity.action alert
serve_at "${TODAY}T21:00:00Z"

# --- international calls outside business hours (2: suspend) -------------------------------------------
calls 641 "$UK" 2 100
assert_eq "the hours line calls the UK twice after hours" 0 "$?"
two_scans
assert_eq "calls in the company's own country after hours open no alert" "" "$(alerts_of off_hours)"
calls 641 "$FR" 2 100
assert_eq "the hours line calls France twice after hours" 0 "$?"
assert_eq "the hours rule opened a suspending alert counting only the calls after hours" \
  "${ID[641]} suspend {\"calls\": 2, \"hours_end\": 20, \"hours_start\": 7}" "$(alert_soon off_hours)"
assert_eq "the line's next call is refused: suspended" "$SUSPENDED" "$(refused 641 off_hours)"

# --- calls per minute of a company (8, over three lines: alert only) --------------------------------
calls 611 "$UK" 4 50 && calls 612 "$UK" 4 50
assert_eq "two lines of a company place eight calls in a minute" 0 "$?"
assert_eq "which is within the company's limit" "" "$(alerts_of company_velocity)"
calls 613 "$UK" 1 50
assert_eq "the ninth, from a third line, still goes through (alert only)" 0 "$?"
assert_eq "the company velocity rule opened an alert on that line" \
  "${ID[613]} alert {\"limit\": 8, \"seen\": 9}" "$(alert_soon company_velocity)"

# --- each rule fired once, on its own pattern ----------------------------------------------------------
assert_eq "seven alerts, one a rule" \
  "company_concurrency company_velocity international_spend line_concurrency many_sources off_hours short_calls" \
  "$(px "$D" fraud alerts | python3 -c 'import json, sys; print(" ".join(sorted(a["rule"] for a in json.load(sys.stdin))))')"
assert_eq "each opening audited under fraud" 7 \
  "$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'fraud.alert_open' AND purpose = 'fraud'")"
if [ -n "$SMTP_URL" ]; then
  desk_mails() { grep -l -F -- "$DESK" "$SMTP_MAILDIR"/new/* 2>/dev/null; }
  for _ in $(seq 100); do [ "$(desk_mails | wc -l)" -ge 7 ] && break; sleep 0.1; done
  assert_eq "the operator was emailed each alert" 7 "$(desk_mails | wc -l)"
  assert_contains "the throttled line's email says so" "$(desk_mails | xargs cat)" "The line's new calls are limited until the alert is lifted."
fi

finish
