#!/usr/bin/env bash
# Retention and aggregates end to end, through the privox binary: traffic records made by the real
# write path (privox serve, with sipp as a phone and as the carrier), then, at chosen times
# (--now): the call-log limit, an interrupted anonymisation run resumed, prefixes and the subject
# link checked in the store, a second run that changes nothing; an account closed, held, released
# and erased after its grace period; a survey whose cell is suppressed at k-1 and released at k; a
# traffic report with its small cells suppressed; and the audit chain verified at the end.
# Usage: retention_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"
command -v sipp >/dev/null || { echo "$0: needs sipp" >&2; exit 2; }

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
TRUNK_IP=127.0.0.2  # the carrier's own loopback address: a trunk is recognised by its IP address alone
PHONE_PORT=$(free_port)
PW101='Orchid-lamp-71'
DID='+442071234567'
CALLING='+447700900123'
RUN=$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')

add_member() {  # add_member N: prints the new member's id
  px "$D" member add --company "$COMPANY" --name "Member $1" --email "m$1-$RUN@example.com" --phone "020 7946 0958" \
    --address "1 High St" --birth-date 1990-01-31 --payment-token tok_abcdef
}
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }  # at '+181 days': a time for --now

COMPANY=$(px "$D" company add --name "Acme Ltd" --region eea --country GB)
OWNER=$(add_member 0)
assert_match "member added" "$OWNER" '^[0-9a-f-]{36}$'
PRIVOX_EXTENSION_PASSWORD=$PW101 px "$D" extension add --company "$COMPANY" --number 101 --did "$DID" \
  --member "$OWNER" >/dev/null || fail "extension add 101"
PRIVOX_EXTENSION_PASSWORD='Velvet-pine-52' px "$D" extension add --company "$COMPANY" --number 102 >/dev/null \
  || fail "extension add 102"
px "$D" trunk add --name carrier --address "$TRUNK_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
LINE101=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '101'")
LOGIN101=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '101'")  # random (issue 10)
personal "$LOGIN101" "$PW101" 'Velvet-pine-52' "$DID"  # never in privox's logs or metrics (scripts/suite-scan.sh)

# --- traffic through privox serve: nobody is registered, so every attempt ends 480 at once (with
# voicemail off: a box would answer them) ---
mapfile -t STORE_ARGS < <(store_args "$D")
start_bg serve "$PRIVOX" serve "${STORE_ARGS[@]}" --http 127.0.0.1:0 --sip "127.0.0.1:$SIP_PORT" --voicemail false
for _ in $(seq 100); do grep -q '"event":"service.started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "privox serve is up" "$(cat "$TMP/serve.log")" '"event":"service.started"'

sipp_once() {  # sipp_once NAME SCENARIO IP PORT SIPP-ARGS...: one call from IP:PORT
  local name=$1 scenario=$2 ip=$3 port=$4
  shift 4
  timeout -k 2 20 sipp -sf "$scenario" 127.0.0.1:"$SIP_PORT" -i "$ip" -p "$port" -m 1 -nostdin \
    -timeout 10s -timeout_error "$@" >"$TMP/$name.out" 2>&1
  assert_eq "sipp $name completes" 0 "$?"
}
sipp_once internal "$HERE/../sip/scenarios/uac_call_unavailable.xml" 127.0.0.1 "$PHONE_PORT" -s 102 -key caller "$LOGIN101" \
  -au "$LOGIN101" -ap "$PW101" -auth_uri "102@127.0.0.1:$SIP_PORT"
sipp_once inbound "$HERE/scenarios/trunk_call_unavailable.xml" "$TRUNK_IP" "$TRUNK_PORT" -s "$DID" -key caller "$CALLING" \
  -key privacy none
sipp_once withheld "$HERE/scenarios/trunk_call_unavailable.xml" "$TRUNK_IP" "$TRUNK_PORT" -s "$DID" -key caller "$CALLING" \
  -key privacy id
for _ in $(seq 50); do
  [ "$(store_sql "$D" "SELECT count(*) FROM traffic_records")" -ge 3 ] && break
  sleep 0.1
done
assert_eq "three traffic records, all of line 101" 3 \
  "$(store_sql "$D" "SELECT count(*) FROM traffic_records WHERE subject_id = '$LINE101'")"
# Stop serve: its scheduler would otherwise take the retention lock after a minute.
kill -TERM "${E2E_PIDS[0]}"
wait "${E2E_PIDS[0]}" 2>/dev/null
CDRS=$(px "$D" cdr list --purpose billing)
assert_contains "billing sees the carrier's caller before anonymisation" "$CDRS" "$CALLING"

# --- call-log limit: one entry per line; billing keeps the rest ---
px "$D" settings set retention.call_log_max_entries 1 >/dev/null || fail "settings set call_log_max_entries"
OUT=$(px "$D" retention run --job call_log)
assert_contains "call_log hides two of line 101's three entries" "$OUT" "call_log: 2 changed"
assert_eq "one entry left in 101's call log" 1 \
  "$(store_sql "$D" "SELECT count(*) FROM traffic_records WHERE subject_id = '$LINE101' AND log_hidden_at_us IS NULL")"
assert_eq "hidden entries are still sealed for billing" 3 \
  "$(store_sql "$D" "SELECT count(*) FROM traffic_records WHERE destination_enc IS NOT NULL")"

# --- anonymisation after the dispute period (180 days) ---
OUT=$(px "$D" retention run --job traffic --now "$(at '+179 days')")
assert_contains "nothing is anonymised within the dispute period" "$OUT" "traffic: 0 changed"
OUT=$(px "$D" retention run --job traffic --now "$(at '+181 days')" --batch-rows 1 --max-batches 1)
assert_contains "a run stopped after one batch says so" "$OUT" "stopped before the end"
assert_eq "one record anonymised so far" 1 \
  "$(store_sql "$D" "SELECT count(*) FROM traffic_records WHERE anonymised_at_us IS NOT NULL")"
px "$D" retention run --job traffic --json >"$TMP/resume.json"
assert_true "the next run resumes the interrupted one and finishes it" \
  json_ok "$TMP/resume.json" 'd[0]["resumed"] and d[0]["finished"] and d[0]["changed"] == 2'
assert_eq "every record lost its line" 3 "$(store_sql "$D" "SELECT count(*) FROM traffic_records WHERE subject_id = 'anonymised'")"
assert_eq "every sealed party and device is gone" 0 "$(store_sql "$D" "SELECT count(*) FROM traffic_records WHERE \
  source_enc IS NOT NULL OR destination_enc IS NOT NULL OR caller_equipment_enc IS NOT NULL OR callee_equipment_enc IS NOT NULL")"
assert_eq "prefixes: the internal call keeps nothing, the carrier's caller +44770 unless withheld" \
  "+44770|+44207,|+44207,|" \
  "$(store_sql "$D" "SELECT coalesce(source_prefix, '') || '|' || coalesce(destination_prefix, '') FROM traffic_records \
     ORDER BY direction, source_withheld" | paste -sd,)"
assert_eq "company, direction and outcome stay for aggregates" "inbound 2,internal 1" \
  "$(store_sql "$D" "SELECT direction || ' ' || count(*) FROM traffic_records WHERE company_id = '$COMPANY' \
     GROUP BY direction ORDER BY direction" | paste -sd,)"
CDRS=$(px "$D" cdr list --purpose legal)
assert_not_contains "no purpose reads the caller any more" "$CDRS" "$CALLING"
OUT=$(px "$D" retention run --job traffic --now "$(at '+181 days')")
assert_contains "a second run changes nothing" "$OUT" "traffic: 0 changed"

# --- closure, grace period, legal hold ---
LEAVER=$(add_member 1)
OUT=$(px "$D" member close --id "$LEAVER")
assert_contains "member close says when the data goes" "$OUT" "erased by the retention job from"
OUT=$(px "$D" retention run --job closed_accounts --now "$(at '+29 days')")
assert_contains "nothing is erased within the 30-day grace" "$OUT" "closed_accounts: 0 changed"
HOLD=$(px "$D" hold place --member "$LEAVER" --reason "litigation" --reference "case 42")
OUT=$(px "$D" retention run --job closed_accounts --now "$(at '+31 days')")
assert_contains "a held member is skipped and named" "$OUT" "skipped (under legal hold, or erasure refused): $LEAVER"
assert_eq "the held member is still active" active "$(store_sql "$D" "SELECT status FROM members WHERE id = '$LEAVER'")"
px "$D" hold release --id "$HOLD" >/dev/null || fail "hold release"
OUT=$(px "$D" retention run --job closed_accounts --now "$(at '+31 days')")
assert_contains "released, the member is erased" "$OUT" "closed_accounts: 1 changed"
assert_eq "members.status is erased" erased "$(store_sql "$D" "SELECT status FROM members WHERE id = '$LEAVER'")"
OUT=$(px "$D" member close --id nonsense 2>&1)
assert_eq "member close refuses a malformed id" 2 "$(px "$D" member close --id nonsense >/dev/null 2>&1; echo $?)"
assert_contains "naming the flag" "$OUT" "--id"

# --- survey: k = 5 ---
SURVEY=$(px "$D" survey create --title "Call quality" --question "Happy with call quality?" --choices "yes,no")
assert_match "survey created" "$SURVEY" '^[0-9a-f-]{36}$'
for i in 2 3 4 5; do
  px "$D" survey respond --id "$SURVEY" --member "$(add_member "$i")" --answer yes >/dev/null || fail "respond $i"
done
px "$D" survey results --id "$SURVEY" >"$TMP/k-1.json"
assert_true "4 respondents (k-1): the cell and the total are suppressed" \
  json_ok "$TMP/k-1.json" 'd["respondents"] == "suppressed" and all(c.get("suppressed") for c in d["questions"][0]["cells"])'
px "$D" survey respond --id "$SURVEY" --member "$(add_member 6)" --answer yes >/dev/null || fail "respond 6"
px "$D" survey results --id "$SURVEY" >"$TMP/k.json"
assert_true "5 respondents (k): 'yes' is released with 5, the empty 'no' stays suppressed" \
  json_ok "$TMP/k.json" 'd["respondents"] == 5 and d["questions"][0]["cells"] == [{"key": "yes", "people": 5}, {"key": "no", "suppressed": True}]'
OUT=$(px "$D" survey respond --id "$SURVEY" --member "$OWNER" --answer maybe 2>&1)
assert_contains "an answer the question does not offer is refused by flag" "$OUT" "--answer"

# --- traffic report: one line made every call, fewer than k ---
px "$D" stats calls --by direction >"$TMP/stats.json"
assert_true "stats calls suppresses cells under k lines" \
  json_ok "$TMP/stats.json" 'd["k"] == 5 and d["people"] == "suppressed" and all(c.get("suppressed") for c in d["cells"])'

assert_true "the audit chain verifies" px "$D" audit verify
AUDIT=$(store_sql "$D" "SELECT action FROM audit_log WHERE action LIKE 'retention.%' OR action = 'member.close'" | sort -u | paste -sd' ')
assert_eq "runs, batches and the closure are audited" \
  "member.close retention.call_log retention.call_log.batch retention.closed_accounts retention.closed_accounts.batch retention.traffic retention.traffic.batch" \
  "$AUDIT"

finish
