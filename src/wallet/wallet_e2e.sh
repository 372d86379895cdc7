#!/usr/bin/env bash
# The international wallet and daily spend cap through real calls (issue 17): privox serves; a phone
# (sipp) calls a US number out through the carrier's trunk (sipp). With no balance the call is
# refused 402 with its reason; topped up, it goes out and, once ended, its rated cost is debited in
# the ledger, naming its traffic record; with today's spend near the cap, the next call that would
# cross it is refused 403 "daily spend cap reached". Each refusal leaves a failed traffic record.
# The CLI's bad input is refused with exit 2 (invalid) or 3 (not found), naming what is wrong.
# Usage: wallet_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-deps.sh, install-test-deps.sh)" >&2; exit 2; }
done
SCENARIOS=$HERE/../sip/scenarios
CARRIER_IP=127.0.0.2  # the trunk is recognised by its address, so the phone calls from 127.0.0.3

# refuses CODE PATTERN CMD...: CMD exits with CODE and its stderr matches the extended regex PATTERN.
refuses() {
  local code=$1 pattern=$2 err rc
  shift 2
  err=$(mktemp "$TMP/refused.XXXXXX")
  timeout 60 "$@" >/dev/null 2>"$err"
  rc=$?
  suite_cli_stderr "$err"
  if [ "$rc" -eq "$code" ] && grep -qE -- "$pattern" "$err"; then
    pass
  else
    fail "$* should exit $code with /$pattern/" "exit $rc, stderr: $(cat "$err")"
  fi
}
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
HTTP_PORT=$(free_port)
PW='Cobalt-fern-62-x'
DID='+442071234588'
ABROAD='+12125550147'
personal "Quayside Traders Ltd" "$DID" "$ABROAD" "$PW"
COMPANY=$(px "$D" company add --name "Quayside Traders Ltd" --region eea --country GB)
assert_match "company added" "$COMPANY" '^[0-9a-f-]{36}$'
PRIVOX_EXTENSION_PASSWORD=$PW px "$D" extension add --company "$COMPANY" --number 401 --did "$DID" >/dev/null ||
  fail "extension add 401"
LINE=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '401'")
px "$D" trunk add --name carrier --address "$CARRIER_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
# US calls: 0.10 to connect, 0.60 a minute in whole minutes: a first charge of 0.70, and a 1.5 s
# call costs exactly that.
printf 'prefix,description,price_per_minute,connection_fee,increments,currency,valid_from\n1,USA,0.60,0.10,60/60,GBP,2020-01-01\n' \
  >"$TMP/deck.csv"
px "$D" rating import --name "Carrier A" --file "$TMP/deck.csv" >/dev/null || fail "rating import"
px "$D" rating destinations set --company "$COMPANY" --countries '*' >/dev/null || fail "rating destinations set"

# --- the CLI's bad input ------------------------------------------------------------------------------
ARGS=$(store_args "$D")
# shellcheck disable=SC2086
{
  refuses 2 "AMOUNT" "$PRIVOX" wallet top-up "$COMPANY" 12.3456789 --currency GBP $ARGS
  refuses 2 "AMOUNT" "$PRIVOX" wallet top-up "$COMPANY" -5 --currency GBP $ARGS
  refuses 2 "currency" "$PRIVOX" wallet top-up "$COMPANY" 5.00 $ARGS
  refuses 2 "currency" "$PRIVOX" wallet top-up "$COMPANY" 5.00 --currency pounds $ARGS
  refuses 3 "company" "$PRIVOX" wallet top-up 00000000-0000-0000-0000-000000000000 5.00 --currency GBP $ARGS
  refuses 2 "AMOUNT" "$PRIVOX" wallet cap "$COMPANY" lots $ARGS
  refuses 3 "company" "$PRIVOX" wallet show 00000000-0000-0000-0000-000000000000 $ARGS
}
SHOW=$(px "$D" wallet show "$COMPANY")
assert_eq "a company without a wallet has nothing to spend" "0.00" "$(field "$SHOW" balance)"
assert_eq "and no cap" "None" "$(field "$SHOW" daily_cap)"

start_bg serve "$PRIVOX" serve $(store_args "$D") --sip "127.0.0.1:$SIP_PORT" --http "127.0.0.1:$HTTP_PORT"
for _ in $(seq 300); do grep -q '"event":"started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "serve has started" "$(cat "$TMP/serve.log")" '"event":"started"'

refused_call() {  # refused_call NAME: 401 calls abroad; prints the final status line privox sent
  timeout -k 2 20 sipp -sf "$SCENARIOS/uac_call_refused.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.3 -p "$(free_port)" \
    -nostdin -mp "$(free_port)" -s "$ABROAD" -key caller "$LINE" -au "$LINE" -ap "$PW" \
    -auth_uri "$ABROAD@127.0.0.1:$SIP_PORT" -m 1 -timeout 15s -timeout_error -trace_msg -message_file "$TMP/$1.msg" \
    >"$TMP/$1.out" 2>&1 || echo "sipp failed: $(tail -5 "$TMP/$1.out")"
  tr -d '\r' <"$TMP/$1.msg" | grep -aoE '^SIP/2.0 40[23] .*' | tail -n 1
}
funded_call() {  # funded_call: 401 calls abroad through the trunk, answered, 1.5 s
  start_bg carrier timeout -k 2 30 sipp -sf "$SCENARIOS/uas_trunk.xml" -i "$CARRIER_IP" -p "$TRUNK_PORT" -m 1 -nostdin \
    -mp "$(free_port)"
  sleep 0.5
  timeout -k 2 25 sipp -sf "$SCENARIOS/uac_call.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.3 -p "$(free_port)" -nostdin \
    -mp "$(free_port)" -s "$ABROAD" -key caller "$LINE" -au "$LINE" -ap "$PW" -auth_uri "$ABROAD@127.0.0.1:$SIP_PORT" \
    -d 1500 -m 1 -timeout 20s -timeout_error >"$TMP/funded.out" 2>&1
}
sql_soon() {  # sql_soon EXPECTED SQL: SQL's answer once it is EXPECTED (records are written in batches), 5 s at most
  local got
  for _ in $(seq 50); do
    got=$(store_sql "$D" "$2")
    [ "$got" == "$1" ] && break
    sleep 0.1
  done
  echo "$got"
}
# The keeper reloads the view the proxy reads every 2 s, counted from the end of its last reload; two
# intervals and a half, since under CI's load one reload can come late (2.5 s once let a funded call
# meet the old, empty balance).
wait_view() { sleep 5; }

# --- no balance: 402 ----------------------------------------------------------------------------------
assert_eq "with no balance the call is refused 402, with its reason" \
  "SIP/2.0 402 Payment Required: international balance too low" "$(refused_call empty)"
assert_eq "and leaves a failed record of the attempt" 1 \
  "$(sql_soon 1 "SELECT count(*) FROM traffic_records WHERE outcome = 'failed' AND failure_code = 402 AND direction = 'outbound'")"

# --- funded: the call goes out and is debited ---------------------------------------------------------
TOP=$(px "$D" wallet top-up "$COMPANY" 1.00 --currency GBP)
assert_eq "a top-up is a ledger row" "top_up" "$(field "$TOP" kind)"
px "$D" wallet cap "$COMPANY" 1.00 >/dev/null || fail "wallet cap"
wait_view
funded_call
RC=$?
[ "$RC" -eq 0 ] && pass || fail "a funded call goes out through the trunk (sipp exit $RC)" "$(tail -15 "$TMP/funded.out")" \
  "carrier: $(tail -15 "$TMP/carrier.log")"
sql_soon 1 "SELECT count(*) FROM traffic_records WHERE outcome = 'answered' AND cost_micros IS NOT NULL" >/dev/null
REC=$(store_sql "$D" "SELECT id FROM traffic_records WHERE outcome = 'answered' AND direction = 'outbound'")
assert_match "the call has its record" "$REC" '^[0-9a-f-]{36}$'
sql_soon 1 "SELECT count(*) FROM wallet_ledger WHERE kind = 'call'" >/dev/null
LEDGER=$(px "$D" wallet ledger "$COMPANY")
read -r KIND AMOUNT TRAFFIC <<<"$(python3 -c 'import json, sys; e = json.loads(sys.argv[1])[0]; print(e["kind"], e["amount"], e["traffic_record_id"])' "$LEDGER")"
assert_eq "the ended call is debited" "call" "$KIND"
assert_eq "by its rated cost" "-0.70" "$AMOUNT"
assert_eq "naming its traffic record" "$REC" "$TRAFFIC"
assert_eq "which carries the same cost" 700000 "$(store_sql "$D" "SELECT cost_micros FROM traffic_records WHERE id = '$REC'")"
SHOW=$(px "$D" wallet show "$COMPANY")
assert_eq "the balance is what is left" "0.30" "$(field "$SHOW" balance)"
assert_eq "today's spend is the call" "0.70" "$(field "$SHOW" spent_today)"
assert_eq "the balance is the ledger's sum" "300000" \
  "$(store_sql "$D" "SELECT sum(amount_micros) FROM wallet_ledger WHERE company_id = '$COMPANY'")"
assert_eq "the debit is audited under billing" 1 \
  "$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'wallet.debit' AND purpose = 'billing'")"

# --- the cap: 0.70 spent today, another 0.70 would cross 1.00 ------------------------------------------
px "$D" wallet top-up "$COMPANY" 10.00 >/dev/null || fail "wallet top-up"
wait_view
assert_eq "a call that would cross the daily cap is refused 403" \
  "SIP/2.0 403 Forbidden: daily spend cap reached" "$(refused_call capped)"
assert_eq "and leaves a failed record of the attempt" 1 \
  "$(sql_soon 1 "SELECT count(*) FROM traffic_records WHERE outcome = 'failed' AND failure_code = 403 AND direction = 'outbound'")"
assert_eq "nothing more was debited" 1 "$(store_sql "$D" "SELECT count(*) FROM wallet_ledger WHERE kind = 'call'")"
px "$D" wallet cap "$COMPANY" none >/dev/null || fail "wallet cap none"
assert_eq "every balance and cap change is audited" 4 \
  "$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action IN ('wallet.top_up', 'wallet.cap_set')")"

finish
