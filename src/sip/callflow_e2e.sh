#!/usr/bin/env bash
# Call forwarding, do-not-disturb and ring groups end to end (issue 15): privox serves, sipp plays
# the phones and the carrier, the forwards and groups are provisioned with the CLI (before serve
# starts, and one while it runs), and each flow is checked from outside: which phone got the call,
# what the caller heard, and the traffic records.
#   forwards: always, do-not-disturb (with and without a busy target), busy, no answer, no device,
#     to an external number through the trunk (an outbound record of its own for the line);
#   loops: refused when configured (always), cut at run time (483) when they run through busy;
#   ring groups: in order, all at once, in turn (two calls, each to the next member), and the
#     overflow of a group nobody can take;
#   a withheld caller stays withheld through a forward;
#   a TCP phone whose connection has closed is called over a new connection to its Contact.
# Voicemail is off: what happens when no forward applies is the proxy's own answer.
# Usage: callflow_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-deps.sh, install-test-deps.sh)" >&2; exit 2; }
done
SCENARIOS=$HERE/scenarios
CARRIER_IP=127.0.0.2  # the trunk is recognised by its address: the phones use 127.0.0.1

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
PW='Marlin-quay-48-t'
MOBILE='+442079460999'  # 215's forward: a UK number, the company's own country
DID215='+442079460215'  # what the carrier is told the forwarded call comes from (P-Asserted-Identity)
personal "$PW" "$MOBILE" "$DID215" "Wrexham Coworking Ltd"

CO=$(px "$D" company add --name "Wrexham Coworking Ltd" --region eea --country GB)
assert_match "company added" "$CO" '^[0-9a-f-]{36}$'
declare -A USER=() ID=() DEV=()
for n in 201 210 211 212 213 214 215 216 217 218 220 221 222 223 230 231 240; do
  did=()
  [ "$n" == 215 ] && did=(--did "$DID215")
  PRIVOX_EXTENSION_PASSWORD=$PW px "$D" extension add --company "$CO" --number "$n" "${did[@]}" >/dev/null ||
    fail "extension add $n"
  USER[$n]=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$n' AND company_id = '$CO'")
  ID[$n]=$(store_sql "$D" "SELECT id FROM extensions WHERE number = '$n' AND company_id = '$CO'")
done
personal "${USER[@]}"
px "$D" trunk add --name carrier --address "$CARRIER_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
px "$D" settings set sip.rate_limit_requests 0 >/dev/null || fail "settings set"  # every phone shares 127.0.0.1

forward() {  # forward NUMBER ARGS...: privox line forward for that line
  local n=$1
  shift
  px "$D" line forward "${ID[$n]}" "$@" >/dev/null || fail "line forward $n $*"
}
forward 210 --always line:220
forward 211 --busy line:220
px "$D" line dnd "${ID[211]}" on >/dev/null || fail "line dnd 211 on"
forward 212 --busy line:220
forward 213 --no-answer line:220 --no-answer-seconds 5
forward 214 --unregistered line:220
forward 215 --always "external:$MOBILE"
forward 216 --busy line:217
forward 217 --busy line:216
for n in 216 217 218; do px "$D" line dnd "${ID[$n]}" on >/dev/null || fail "line dnd $n on"; done
forward 230 --always line:231
OUT=$(px "$D" line forward "${ID[231]}" --always line:230 2>&1 >/dev/null)
assert_eq "a forward that would close a loop of always-forwards is refused as a conflict (exit 4)" 4 "$?"
assert_contains "naming the condition" "$OUT" "always"
assert_eq "and nothing was stored for it" "" \
  "$(store_sql "$D" "SELECT line_id FROM line_forwarding WHERE line_id = '${ID[231]}' AND always_kind IS NOT NULL")"
group() {  # group NUMBER STRATEGY MEMBER... [-- OVERFLOW]: prints the group's id
  local number=$1 strategy=$2
  shift 2
  local args=()
  while [ $# -gt 0 ]; do
    if [ "$1" == -- ]; then args+=(--overflow "$2"); break; fi
    args+=(--member "${ID[$1]}")
    shift
  done
  px "$D" group create --company "$CO" --number "$number" --name "Group $number" --strategy "$strategy" \
    --ring-seconds 5 "${args[@]}" || fail "group create $number"
}
group 600 sequential 221 222 >/dev/null
group 601 simultaneous 221 222 >/dev/null
group 602 round_robin 221 222 >/dev/null
group 603 simultaneous 223 -- line:220 >/dev/null

HTTP_PORT=$(free_port)
METRICS_PORT=$(free_port)
serve() {  # serve NAME: starts privox serve, its log in $TMP/NAME.log, its pid in SERVE_PID
  start_bg "$1" "$PRIVOX" serve $(store_args "$D") --sip "127.0.0.1:$SIP_PORT" --http "127.0.0.1:$HTTP_PORT" \
    --metrics "127.0.0.1:$METRICS_PORT" --voicemail false --ring-timeout 20
  SERVE_PID=${E2E_PIDS[-1]}
  for _ in $(seq 300); do grep -q '"event":"started"' "$TMP/$1.log" 2>/dev/null && break; sleep 0.1; done
  assert_contains "serve has started ($1)" "$(cat "$TMP/$1.log")" '"event":"started"'
}
serve serve

sipp_rc=0
# sipp_fg NAME SCENARIO [ARGS...]: one run in the foreground, 25 s at most; status in sipp_rc.
sipp_fg() {
  local name=$1 scenario=$2
  shift 2
  timeout -k 2 30 sipp -sf "$SCENARIOS/$scenario" -i 127.0.0.1 -nostdin -trace_msg -message_file "$TMP/$name.msg" \
    -timeout 25s -timeout_error -mp "$(free_port)" "$@" >"$TMP/$name.out" 2>&1
  sipp_rc=$?
}
for n in 212 213 220 221 222; do
  DEV[$n]=$(free_port)
  sipp_fg "reg$n" register.xml "127.0.0.1:$SIP_PORT" -p "$(free_port)" -m 1 -key user "${USER[$n]}" \
    -key contact_port "${DEV[$n]}" -key expires 3600 -au "${USER[$n]}" -ap "$PW"
  assert_eq "$n's phone registers" 0 "$sipp_rc"
done

declare -A PHONE_PID=()
DEV[carrier]=$TRUNK_PORT
phone() {  # phone NUMBER|carrier SCENARIO [ARGS...]: the line's phone (or the carrier) takes one call in the background
  local ip=127.0.0.1 who=$1 scenario=$2
  shift 2
  [ "$who" == carrier ] && ip=$CARRIER_IP
  set -- "$who" "$scenario" "$@"
  timeout -k 2 40 sipp -sf "$SCENARIOS/$2" -i "$ip" -p "${DEV[$1]}" -nostdin -m 1 -timeout 35s -timeout_error \
    -trace_msg -message_file "$TMP/phone$1.msg" "${@:3}" >"$TMP/phone$1.out" 2>&1 &
  PHONE_PID[$1]=$!
  E2E_PIDS+=($!)
  for _ in $(seq 50); do ss -lun | grep -q "$ip:${DEV[$1]} " && break; sleep 0.05; done
}
phone_done() {  # phone_done NUMBER DESCRIPTION: the phone's sipp finished its calls as written
  local rc
  for _ in $(seq 100); do kill -0 "${PHONE_PID[$1]}" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "${PHONE_PID[$1]}" 2>/dev/null
  wait "${PHONE_PID[$1]}"
  rc=$?
  assert_eq "$2" 0 "$rc"
  [ "$rc" -eq 0 ] || tail -c 1500 "$TMP/phone$1.msg"
}
call() {  # call NAME SCENARIO DIALLED [ARGS...]: 201 (or $CALLER) calls DIALLED; status in sipp_rc
  local name=$1 scenario=$2 dialled=$3 from=${CALLER:-201}
  shift 3
  sipp_fg "$name" "$scenario" "127.0.0.1:$SIP_PORT" -p "$(free_port)" -m 1 -s "$dialled" -key caller "${USER[$from]}" \
    -au "${USER[$from]}" -ap "$PW" -auth_uri "$dialled@127.0.0.1:$SIP_PORT" -d 300 "$@"
}
expect_call() {  # expect_call DESCRIPTION NAME: the caller's sipp ran as written
  assert_eq "$1" 0 "$sipp_rc"
  [ "$sipp_rc" -eq 0 ] || tail -c 1500 "$TMP/$2.msg"
}

# --- Forwards
phone 220 uas_answer.xml
call always uac_call_forwarded.xml 210
expect_call "a call to 210 (always forwarded to 220) is answered" always
phone_done 220 "220's phone answers the call made to 210"

call dnd uac_call_busy.xml 218
expect_call "218 is on do-not-disturb with no busy forward: the caller hears busy (486)" dnd
phone 220 uas_answer.xml
call dnd_busy uac_call_forwarded.xml 211
expect_call "211 is on do-not-disturb with a busy forward: 220 answers" dnd_busy
phone_done 220 "220's phone answers the call made to 211"

phone 212 uas_busy.xml
phone 220 uas_answer.xml
call busy uac_call_forwarded.xml 212
expect_call "212's phone is busy: the call goes on to 220 and is answered" busy
phone_done 212 "212's phone answered busy"
phone_done 220 "220's phone answers the call 212 was busy for"

phone 213 uas_ring.xml
phone 220 uas_answer.xml
call no_answer uac_call_forwarded.xml 213
expect_call "213 rings 5 s unanswered: the call goes on to 220 and is answered" no_answer
phone_done 213 "213's phone rang and was cancelled"
phone_done 220 "220's phone answers the call 213 did not"

phone 220 uas_answer.xml
call unregistered uac_call_forwarded.xml 214
expect_call "214 has no device: its unregistered forward sends the call to 220" unregistered
phone_done 220 "220's phone answers the call made to 214"

phone carrier uas_trunk.xml
call external uac_call_forwarded.xml 215
expect_call "215 forwards to a mobile: the carrier answers through the trunk" external
phone_done carrier "the carrier gets the mobile's number in E.164 and 215's own as P-Asserted-Identity, and answers"

call loop uac_call_loop.xml 216
expect_call "216 and 217 forward busy to each other while on do-not-disturb: 483 cuts the loop" loop

# --- Do-not-disturb from the phone: *78 on, *79 off (voicemail is off, so the reason phrase says it)
dnd_of() { store_sql "$D" "SELECT dnd FROM line_forwarding WHERE line_id = '${ID[$1]}'"; }
CALLER=222 call dnd_on uac_call_unavailable.xml '*78'
expect_call "222 dials *78: do-not-disturb is set and the phone told (480)" dnd_on
assert_contains "the reason phrase says so" "$(tr -d '\r' <"$TMP/dnd_on.msg")" "do-not-disturb is on"
assert_match "222's do-not-disturb is stored" "$(dnd_of 222)" '^(1|t)$'
sleep 1.5  # every node's directory follows within a second
call dnd_busy222 uac_call_busy.xml 222
expect_call "a call to 222 now gets busy without ringing its phone" dnd_busy222
CALLER=222 call dnd_off uac_call_unavailable.xml '*79'
expect_call "222 dials *79: do-not-disturb is off again" dnd_off
assert_match "222's do-not-disturb is cleared (a line with nothing set keeps no row)" "$(dnd_of 222)" '^(0|f)?$'
sleep 1.5  # every node's directory follows within a second

# --- Ring groups
phone 221 uas_ring.xml
phone 222 uas_answer.xml
call sequential uac_call_forwarded.xml 600
expect_call "group 600 (in order): 221 rings 5 s, then 222 answers" sequential
phone_done 221 "221 rang first and was cancelled"
phone_done 222 "222 answered second"

phone 221 uas_ring.xml
phone 222 uas_answer.xml
call simultaneous uac_call_forwarded.xml 601
expect_call "group 601 (all at once): 222 answers" simultaneous
phone_done 221 "221 rang at the same time and was cancelled when 222 answered"
phone_done 222 "222 answered"

phone 221 uas_answer.xml
call rr1 uac_call_forwarded.xml 602
expect_call "group 602 (in turn), first call: answered" rr1
phone_done 221 "the first call went to 221"
phone 222 uas_answer.xml
call rr2 uac_call_forwarded.xml 602
expect_call "group 602, second call: answered" rr2
phone_done 222 "the second call started with 222"

phone 220 uas_answer.xml
call overflow uac_call_forwarded.xml 603
expect_call "group 603's only member has no device: its overflow, 220, answers" overflow
phone_done 220 "220 answers the group's overflow"

# --- A withheld caller forwarded: 220 sees an anonymous From
phone 220 uas_withheld.xml
call withheld uac_call_withheld.xml 210
expect_call "a withheld caller's call to 210 is forwarded and answered" withheld
phone_done 220 "220's phone sees the forwarded caller as Anonymous"

# --- Transfers between phones (RFC 5589): privox passes the REFER along the dialog and routes the
# transferee's new call like any; attended, the new call's Replaces header reaches the target intact.
phone 220 uas_answer_transfer.xml -key target "221@127.0.0.1:$SIP_PORT"
call blind uac_call_transferee.xml 220 -trace_logs -log_file "$TMP/blind.log"
expect_call "220 answers 201 and transfers it blind to 221: 201 gets the REFER through privox, 202, NOTIFY, BYE" blind
phone_done 220 "220 sent the REFER, got 202 and the NOTIFY, and hung up"
REFER_TO=$(grep -o 'refer-to sip:[^ ]*' "$TMP/blind.log" | head -n 1)
assert_contains "the REFER arrived naming the target" "$REFER_TO" "refer-to sip:221@127.0.0.1:$SIP_PORT"
phone 221 uas_answer.xml
call transferred uac_call_forwarded.xml 221
expect_call "201 then calls the transfer target, 221, which answers" transferred
phone_done 221 "221 answers the transferred caller"
REPLACES="consult-$E2E_RUN_ID@127.0.0.1;to-tag=t221;from-tag=f220"
phone 221 uas_answer_replaces.xml
call attended uac_call_replacing.xml 221 -key replaces "$REPLACES"
expect_call "attended: 201's INVITE with Replaces to 221 is answered" attended
phone_done 221 "221 receives the INVITE with its Replaces header"
assert_contains "the Replaces header reached 221 unchanged" "$(tr -d '\r' <"$TMP/phone221.msg")" "Replaces: $REPLACES"

# --- A forward changed while serve runs is used within seconds
forward 214 --unregistered line:221
sleep 1.5  # every node's directory follows within a second
phone 221 uas_answer.xml
call live uac_call_forwarded.xml 214
expect_call "214's forward changed to 221 while serve runs: 221 answers" live
phone_done 221 "221's phone answers the call to 214 after the change"

# --- The records
sleep 0.5
RECORDS=$(store_sql "$D" "SELECT subject_id, direction, outcome, COALESCE(failure_code, 0), trunk_id IS NOT NULL,
  source_withheld FROM traffic_records ORDER BY started_at_us")
count_of() { grep -c "^$1$" <<<"$RECORDS"; }
assert_eq "the external forward left an answered outbound record of 215, on the trunk" 1 \
  "$(count_of "${ID[215]}|outbound|answered|0|[t1]|[f0]")"
assert_eq "201's own answered records: one per forwarded, group or transfer call but the withheld one" 15 \
  "$(count_of "${ID[201]}|internal|answered|0|[f0]|[f0]")"
assert_eq "the calls to 218 and to 222 on do-not-disturb are recorded as busy" 2 \
  "$(count_of "${ID[201]}|internal|busy|0|[f0]|[f0]")"
assert_eq "the loop's call is recorded as failed with 483" 1 "$(count_of "${ID[201]}|internal|failed|483|[f0]|[f0]")"
assert_eq "the withheld caller's forwarded call is recorded as withheld" 1 \
  "$(count_of "${ID[201]}|internal|answered|0|[f0]|[t1]")"
DESTS=$(px "$D" cdr list --purpose billing --format json | python3 -c '
import json, sys
print(" ".join(sorted(r.get("destination", "") for r in json.load(sys.stdin) if r["direction"] == "outbound")))')
assert_eq "the outbound record names the mobile in E.164" "$MOBILE" "$DESTS"

# --- A TCP phone whose connection has closed (issue 16): it registered over TCP naming a Contact on
# its own host, and the connection it registered on is gone (its sipp exits, as a connection idle
# past 300 s or a node's restart would close it). privox opens a new connection to the Contact.
DEV[240]=$(free_port)
sipp_fg reg240 register.xml "127.0.0.1:$SIP_PORT" -t t1 -p "$(free_port)" -m 1 -key user "${USER[240]}" \
  -key contact_port "${DEV[240]}" -key expires 3600 -au "${USER[240]}" -ap "$PW"
assert_eq "240's phone registers over TCP, then its connection closes" 0 "$sipp_rc"
call_tcp_phone() {  # call_tcp_phone NAME WHEN: 201 calls 240, whose phone listens on TCP only
  timeout -k 2 40 sipp -sf "$SCENARIOS/uas_answer.xml" -t t1 -i 127.0.0.1 -p "${DEV[240]}" -nostdin -m 1 -timeout 35s \
    -timeout_error -trace_msg -message_file "$TMP/phone240.msg" >"$TMP/phone240.out" 2>&1 &
  PHONE_PID[240]=$!
  E2E_PIDS+=($!)
  for _ in $(seq 50); do ss -ltn | grep -q "127.0.0.1:${DEV[240]} " && break; sleep 0.05; done
  call "$1" uac_call_forwarded.xml 240
  expect_call "$2: a call to 240 is answered over a connection privox opened to its Contact" "$1"
  phone_done 240 "$2: 240's phone takes the INVITE, the ACK and the BYE over TCP"
  assert_contains "$2: the INVITE reached it over TCP (privox's Via)" "$(tr -d '\r' <"$TMP/phone240.msg")" \
    "Via: SIP/2.0/TCP 127.0.0.1:$SIP_PORT"
  rm -f "$TMP/phone240.msg"
}
call_tcp_phone tcp_reconnect "its connection closed"
# A restart closes every connection and empties memory: the binding is restored from the store.
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
serve serve_again
call_tcp_phone tcp_restart "after privox restarted"
metric() { curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
assert_eq "the restarted node counts the connection it opened" 1 \
  "$(metric 'privox_sip_tcp_reopened_total{outcome="connected"}' | cut -d. -f1)"

finish
