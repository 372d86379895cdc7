#!/usr/bin/env bash
# Several privox nodes on one PostgreSQL (issue 19, DESIGN.md §5): three `privox serve` processes,
# each with its own data directory (the same master key) and SIP port, share one store.
#  - A phone (sipp) registers through node 1; the carrier (sipp, a trusted trunk) calls its DID
#    through node 2 and through node 3, and reaches it: node 1's registration reached the others
#    through the binding log and its NOTIFY, within a second or so.
#  - The phone unregisters through node 1; a call through node 2 no longer rings it.
#  - A line added while the nodes serve registers through node 3 and is called through node 1.
#  - A baresip on its own TCP connection to node 1 is called through node 2 (answered; the BYE goes
#    each way) and through node 3 (cancelled while it rings): node 1 relays over the connection.
#  - Node 1 is killed with -9 while calls it carried are answered: another node sees its heartbeat
#    stop and closes them with reason restart, so each answered call keeps its ended record (R1),
#    and drops the baresip's binding node 1 held; the phone registers again through node 2 and is
#    called through node 3.
#  - A node on a machine 60 s fast (PRIVOX_TEST_CLOCK_SKEW_MS) refuses to start, saying how far off it
#    is; node 1 restarted 30 s slow (the limit raised) measures the offset, and its answered call
#    stays open past sip.node_silent_seconds: its heartbeats are in the store's time, so no node takes
#    it for dead.
#  - A newer node migrates the store (a row in schema_migrations stands for it): the nodes still
#    serving stop within the check's 10 s, logging both versions.
# SQLite is one file of one node, so this runs on PostgreSQL only.
# e2e-backends: postgresql
# Usage: nodes_e2e.sh /path/to/privox postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in sipp baresip python3 timeout curl; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 2; }
done
[ "$BACKEND" == postgresql ] || { echo "$0: several nodes share a PostgreSQL store" >&2; exit 2; }
SCENARIOS=$HERE/scenarios
DID=+442071230101
DID2=+442071230102
PW='Quartz-meadow-58-k'
CARRIER_IP=127.0.0.2
PHONE_IP=127.0.0.1

D1=$TMP/node1
new_data_dir "$D1"
# Nodes 2 and 3: their own directories (their own node.id) on node 1's store, with its key.
for n in 2 3; do
  mkdir -m 0700 "$TMP/node$n"
  cp -p "$D1/master.key" "$TMP/node$n/master.key"
  E2E_STORE_OF[$TMP/node$n]=${E2E_STORE_OF[$D1]}
done

CARRIER_PORT=$(free_port)
COMPANY=$(px "$D1" company add --name "Acme Ltd" --region eea --country GB)
PRIVOX_EXTENSION_PASSWORD=$PW px "$D1" extension add --company "$COMPANY" --number 101 --did "$DID" >/dev/null ||
  fail "add 101"
LOGIN=$(store_sql "$D1" "SELECT sip_user FROM extensions WHERE number = '101'")
personal "$LOGIN" "$PW" "$DID" "$DID2"  # never in privox's logs or metrics (scripts/suite-scan.sh)
px "$D1" trunk add --name carrier --address "$CARRIER_IP:$CARRIER_PORT" --trusted >/dev/null || fail "add the trunk"
# A dead node's calls are ended after 5 s of silence rather than the default 15, to keep the test short.
px "$D1" settings set sip.node_silent_seconds 5 >/dev/null || fail "settings set sip.node_silent_seconds"

declare -A SIP_PORT NODE_PID
start_node() {  # start_node N [ARG...]: privox serve on node N's directory, until its SIP service is up
  local n=$1 log
  shift
  SIP_PORT[$n]=${SIP_PORT[$n]:-$(free_port)}
  start_bg "node$n-$SECONDS" "$PRIVOX" serve $(store_args "$TMP/node$n") --http 127.0.0.1:0 \
    --sip "127.0.0.1:${SIP_PORT[$n]}" "$@"
  NODE_PID[$n]=${E2E_PIDS[-1]}
  log=$(ls -t "$TMP"/node"$n"-*.log | head -n 1)
  for _ in $(seq 200); do grep -q '"event":"service.started"' "$log" 2>/dev/null && break; sleep 0.1; done
  assert_contains "node $n serves" "$(cat "$log")" '"event":"service.started"'
}
for n in 1 2 3; do start_node "$n"; done
NODE_IDS=$(store_sql "$D1" "SELECT count(DISTINCT node_id) FROM node_heartbeats")
for _ in $(seq 50); do [ "$NODE_IDS" -ge 3 ] && break; sleep 0.1; NODE_IDS=$(store_sql "$D1" "SELECT count(DISTINCT node_id) FROM node_heartbeats"); done
assert_eq "three nodes beat in the shared store, each under its own id" 3 "$NODE_IDS"

PHONE_PORT=$(free_port)
start_bg phone sipp -sf "$SCENARIOS/uas_answer.xml" -i "$PHONE_IP" -p "$PHONE_PORT" -nostdin
register() {  # register NODE LOGIN EXPIRES: the phone's REGISTER through NODE, answered 200 with its binding
  timeout -k 2 20 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:${SIP_PORT[$1]}" -i "$PHONE_IP" -p "$(free_port)" \
    -m 1 -nostdin -key user "$2" -key contact_port "$PHONE_PORT" -key expires "$3" -au "$2" -ap "$PW" \
    -timeout 10s -timeout_error >>"$TMP/register.out" 2>&1
}
CARRIER_ARGS=(-i "$CARRIER_IP" -p "$CARRIER_PORT" -nostdin -m 1 -timeout 10s -timeout_error -key caller +447700900123)
call() {  # call NODE DID: one carrier call to DID through NODE, answered and hung up
  timeout -k 2 20 sipp -sf "$SCENARIOS/uac_trunk_call.xml" "127.0.0.1:${SIP_PORT[$1]}" -s "$2" "${CARRIER_ARGS[@]}" \
    -d 200 >>"$TMP/calls.out" 2>&1
}
now_ms() { date +%s%3N; }
# reached NODE DID: calls until one is answered (5 s at most); prints the ms it took.
reached() {
  local began=$(now_ms)
  while [ $(($(now_ms) - began)) -lt 5000 ]; do
    if call "$1" "$2"; then
      echo $(($(now_ms) - began))
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# reached_soon NODE DID WHAT: a call through NODE reaches WHAT (at DID) within about a second of its
# registration elsewhere: a second of propagation, and the margin a loaded machine needs for sipp.
reached_soon() {
  local took
  if took=$(reached "$1" "$2"); then
    pass
    echo "node $1 reached $3 ${took} ms after it registered"
    assert_true "node $1 reaches $3 within about a second (${took} ms)" test "$took" -lt 2000
  else
    fail "a call through node $1 reaches $3" "$(tail -20 "$TMP/calls.out")"
  fi
}

# --- a phone registered through node 1 is reached through nodes 2 and 3 --------------------------
register 1 "$LOGIN" 600
assert_eq "the phone registers through node 1" 0 "$?"
reached_soon 2 "$DID" "the phone registered through node 1"
call 3 "$DID"
assert_eq "and a call through node 3 reaches it too" 0 "$?"
call 1 "$DID"
assert_eq "as does one through node 1, which took the registration" 0 "$?"

# --- unregistered through node 1: node 2 no longer rings it ---------------------------------------
timeout -k 2 20 sipp -sf "$SCENARIOS/unregister.xml" "127.0.0.1:${SIP_PORT[1]}" -i "$PHONE_IP" -p "$(free_port)" -m 1 \
  -nostdin -key user "$LOGIN" -key contact_port "$PHONE_PORT" -au "$LOGIN" -ap "$PW" -timeout 10s -timeout_error \
  >>"$TMP/register.out" 2>&1
assert_eq "the phone unregisters through node 1" 0 "$?"
gone=1
for _ in $(seq 40); do
  call 2 "$DID" || { gone=0; break; }
  sleep 0.05
done
assert_eq "node 2 stops ringing the phone once it unregistered" 0 "$gone"

# --- a line added while the nodes serve: registered through node 3, called through node 1 ---------
PRIVOX_EXTENSION_PASSWORD=$PW px "$TMP/node3" extension add --company "$COMPANY" --number 102 --did "$DID2" \
  >/dev/null || fail "add 102 on node 3's directory"
LOGIN2=$(store_sql "$D1" "SELECT sip_user FROM extensions WHERE number = '102'")
personal "$LOGIN2"
registered=1
for _ in $(seq 40); do register 3 "$LOGIN2" 600 && { registered=0; break; }; sleep 0.05; done
assert_eq "the new line registers through node 3" 0 "$registered"
reached_soon 1 "$DID2" "the line added and registered through node 3"

# --- a phone on its own TCP connection to node 1, reached through nodes 2 and 3 --------------------
# baresip registers over TCP and keeps that connection: only node 1 can reach it. Node 1 writes its
# address into the binding; node 2 sends the carrier's call there with a signed Route, node 1
# relays it over the connection and both record-route, so the ACK and the BYE, either way, follow
# the route set. Through node 3, the carrier's CANCEL reaches the ringing phone the same way.
DID3=+442071230103
PRIVOX_EXTENSION_PASSWORD=$PW px "$D1" extension add --company "$COMPANY" --number 103 --did "$DID3" >/dev/null ||
  fail "add 103"
LOGIN3=$(store_sql "$D1" "SELECT sip_user FROM extensions WHERE number = '103'")
personal "$LOGIN3" "$DID3"
declare -A PID FD MARK
baresip_phone "$TMP/p103" "${SIP_PORT[1]}" "$(free_port)" "$LOGIN3" "$PW" "" 120  # it hangs up when its tone ends
printf '<sip:%s@127.0.0.1:%s;transport=tcp>;auth_pass=%s;regint=600\n' "$LOGIN3" "${SIP_PORT[1]}" "$PW" \
  >"$TMP/p103/accounts"
run_fifo_phone 103 120
assert_true "103's baresip registers through node 1 over TCP" wait_seen 103 '200 OK.*\[[0-9]* binding'
assert_eq "node 1 wrote its id and address into the binding: it holds the connection" \
  "$(cat "$TMP/node1/node.id") udp 127.0.0.1 ${SIP_PORT[1]}" \
  "$(store_sql "$D1" "SELECT b.held_by FROM bindings b JOIN extensions e ON e.id = b.extension_id \
    WHERE e.number = '103'")"
NODE1_ID=$(cat "$TMP/node1/node.id")
records_of() {  # records_of NODE_ID OUTCOME END_REASON: that node's records of calls to 103's line
  store_sql "$D1" "SELECT count(*) FROM traffic_records r JOIN extensions e ON e.id = r.subject_id \
    WHERE e.number = '103' AND r.node_id = '$1' AND r.outcome = '$2' AND coalesce(r.end_reason, '') = '$3'"
}
# ring_and_answer NODE SCENARIO: the carrier's call to DID3 through NODE rings the phone, which answers.
ring_and_answer() {
  mark 103
  start_bg "tcp-call-$1-$SECONDS" timeout -k 2 30 sipp -sf "$SCENARIOS/$2" "127.0.0.1:${SIP_PORT[$1]}" -s "$DID3" \
    "${CARRIER_ARGS[@]}" -d 300
  CALL_PID=${E2E_PIDS[-1]}
  assert_true "a call through node $1 rings 103's baresip on node 1's connection" wait_seen 103 'Incoming call from'
  cmd 103 /accept
  assert_true "103 answers it" wait_seen 103 'Call established'
}
ring_and_answer 2 uac_trunk_call.xml
wait "$CALL_PID"
assert_eq "the carrier's call through node 2 is answered, and its BYE answered 200" 0 "$?"
assert_true "the carrier's BYE reached the phone through node 1" wait_seen 103 'session closed'
N2_ID=$(cat "$TMP/node2/node.id")
assert_eq "node 2, which took the call, recorded it answered and ended by bye" 1 "$(records_of "$N2_ID" answered bye)"

ring_and_answer 2 uac_trunk_hung_up.xml
cmd 103 /hangup
wait "$CALL_PID"
assert_eq "the phone hangs up: its BYE reaches the carrier through nodes 1 and 2" 0 "$?"
assert_eq "node 2 recorded the second call too" 2 "$(records_of "$N2_ID" answered bye)"

mark 103
start_bg tcp-cancel timeout -k 2 30 sipp -sf "$SCENARIOS/uac_trunk_cancel.xml" "127.0.0.1:${SIP_PORT[3]}" -s "$DID3" \
  "${CARRIER_ARGS[@]}" -d 1000
CANCEL_PID=${E2E_PIDS[-1]}
assert_true "a call through node 3 rings the phone" wait_seen 103 'Incoming call from'
wait "$CANCEL_PID"
assert_eq "the carrier's CANCEL through node 3 is answered 200, then the INVITE 487" 0 "$?"
assert_true "and the phone stops ringing" wait_seen 103 'session closed'
assert_eq "node 3 recorded the call as cancelled" 1 "$(records_of "$(cat "$TMP/node3/node.id")" cancelled "")"
assert_eq "node 1 only relayed: it recorded none of the three" 0 \
  "$(store_sql "$D1" "SELECT count(*) FROM traffic_records r JOIN extensions e ON e.id = r.subject_id \
    WHERE e.number = '103' AND r.node_id = '$NODE1_ID'")"
HELD_103="SELECT count(*) FROM bindings b JOIN extensions e ON e.id = b.extension_id WHERE e.number = '103'"

# --- node 1 killed during calls: another node closes them; the phone moves to node 2 --------------
register 1 "$LOGIN" 600
assert_eq "the phone registers through node 1 again" 0 "$?"
BEFORE=$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE end_reason = 'restart'")
start_bg held timeout -k 2 60 sipp -sf "$SCENARIOS/uac_trunk_call.xml" "127.0.0.1:${SIP_PORT[1]}" -s "$DID" \
  -i "$CARRIER_IP" -p "$(free_port)" -nostdin -m 3 -l 3 -d 50000 -key caller +447700900124
OPEN=0
for _ in $(seq 100); do
  OPEN=$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE outcome = 'open'")
  [ "$OPEN" -ge 3 ] && break
  sleep 0.1
done
assert_eq "three calls through node 1 are answered and open" 3 "$OPEN"
kill -KILL "${NODE_PID[1]}"
wait "${NODE_PID[1]}" 2>/dev/null  # bash reports it "Killed"
KILLED_AT=$(now_ms)
# The phone notices its node is gone (its REGISTER refresh fails) and registers through another.
register 2 "$LOGIN" 600
assert_eq "the phone registers through node 2 after node 1 died" 0 "$?"
call 3 "$DID"
assert_eq "and node 3 reaches it there" 0 "$?"
# Node 1's heartbeat stops; 5 s later (sip.node_silent_seconds) the next node to look closes its calls.
for _ in $(seq 200); do
  [ "$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE outcome = 'open'")" -eq 0 ] && break
  sleep 0.1
done
echo "node 1's calls were closed $(( ($(now_ms) - KILLED_AT) / 1000 )) s after it was killed"
assert_eq "no call is left open once node 1 is silent" 0 \
  "$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE outcome = 'open'")"
assert_eq "its three answered calls were closed with reason restart" $((BEFORE + 3)) \
  "$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE end_reason = 'restart'")"
assert_eq "each ended at node 1's last heartbeat, not now" 0 \
  "$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE end_reason = 'restart' AND ended_at_us > 1000 * $KILLED_AT + 2000000")"
assert_contains "a surviving node said it closed them" "$(cat "$TMP"/node2-*.log "$TMP"/node3-*.log)" \
  '"event":"calls.closed_for_silent_node","calls":3'
# 103's baresip was on a connection to node 1, which died with it: no node relays to node 1 for it.
for _ in $(seq 100); do [ "$(store_sql "$D1" "$HELD_103")" -eq 0 ] && break; sleep 0.1; done
assert_eq "the binding node 1 held is dropped once node 1 is silent" 0 "$(store_sql "$D1" "$HELD_103")"
assert_contains "by a surviving node, which said so" "$(cat "$TMP"/node2-*.log "$TMP"/node3-*.log)" \
  '"event":"bindings.dropped_for_silent_node","bindings":1'
cmd 103 /quit

# --- a node whose clock is wrong ------------------------------------------------------------------
# Node 4 on a machine 60 s fast (PRIVOX_TEST_CLOCK_SKEW_MS moves a test build's clock) does not
# start: it would judge every other node silent and close their calls.
mkdir -m 0700 "$TMP/node4"
cp -p "$D1/master.key" "$TMP/node4/master.key"
E2E_STORE_OF[$TMP/node4]=${E2E_STORE_OF[$D1]}
BEATING=$(store_sql "$D1" "SELECT count(*) FROM node_heartbeats")
REFUSED=$(PRIVOX_TEST_CLOCK_SKEW_MS=60000 timeout -k 2 30 "$PRIVOX" serve $(store_args "$TMP/node4") \
  --http 127.0.0.1:0 --sip "127.0.0.1:$(free_port)" 2>&1)
RC=$?
assert_true "a node whose clock is 60 s fast refuses to start (exit $RC)" test "$RC" -ne 0 -a "$RC" -ne 124
assert_contains "and says how far, against which limit" "$REFUSED" \
  "clock is 60.0 s ahead of the store's (measured to within"
assert_contains "and what to do" "$REFUSED" "more than sip.max_clock_skew_ms (1000 ms) allows; set its time right"
assert_eq "it never beat in the store" "$BEATING" "$(store_sql "$D1" "SELECT count(*) FROM node_heartbeats")"

# Allowed a wider skew, node 1 comes back on a machine 30 s slow. It beats in the store's time, so
# its calls stay open past sip.node_silent_seconds (5 s): on its own clock its heartbeats are 30 s
# old, and nodes 2 and 3 would have closed them as a dead node's.
px "$D1" settings set sip.max_clock_skew_ms 60000 >/dev/null || fail "settings set sip.max_clock_skew_ms"
METRICS_PORT=$(free_port)
PRIVOX_TEST_CLOCK_SKEW_MS=-30000 start_node 1 --metrics "127.0.0.1:$METRICS_PORT"
# The metrics listener opens beside the SIP service, not before it: ask until it answers.
OFFSET=""
for _ in $(seq 100); do
  OFFSET=$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk '$1 == "privox_node_clock_offset_seconds" {print $2}')
  [ -n "$OFFSET" ] && break
  sleep 0.1
done
echo "node 1 measured the store's clock ${OFFSET} s ahead of its own"
assert_true "node 1 measures the store's clock 30 s ahead of its own (${OFFSET:-none})" \
  python3 -c "import sys; sys.exit(0 if abs(float('${OFFSET:-nan}') - 30) < 1 else 1)"
OPEN_BEFORE=$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE outcome = 'open'")
start_bg skewed timeout -k 2 60 sipp -sf "$SCENARIOS/uac_trunk_call.xml" "127.0.0.1:${SIP_PORT[1]}" -s "$DID" \
  -i "$CARRIER_IP" -p "$(free_port)" -nostdin -m 1 -d 12000 -key caller +447700900125
SKEWED_CALL=""
for _ in $(seq 100); do
  SKEWED_CALL=$(store_sql "$D1" "SELECT id FROM traffic_records WHERE outcome = 'open' AND node_id = \
    '$(cat "$TMP/node1/node.id")' LIMIT 1")
  [ -n "$SKEWED_CALL" ] && break
  sleep 0.1
done
assert_true "a call through the slow node 1 is answered and open" test -n "$SKEWED_CALL"
sleep 8  # past sip.node_silent_seconds and a look by each other node
assert_eq "8 s later it is still open: no node took node 1 for dead" open \
  "$(store_sql "$D1" "SELECT outcome FROM traffic_records WHERE id = '$SKEWED_CALL'")"
for _ in $(seq 100); do
  [ "$(store_sql "$D1" "SELECT outcome FROM traffic_records WHERE id = '$SKEWED_CALL'")" != open ] && break
  sleep 0.1
done
assert_eq "it ended when the caller hung up, not as a dead node's" "answered|bye" \
  "$(store_sql "$D1" "SELECT outcome || '|' || coalesce(end_reason, '') FROM traffic_records WHERE id = '$SKEWED_CALL'")"
assert_eq "no call was left open" "$OPEN_BEFORE" \
  "$(store_sql "$D1" "SELECT count(*) FROM traffic_records WHERE outcome = 'open'")"

# --- a newer node migrates the store: the nodes still serving stop, saying why ------------------------
LATEST=$(store_sql "$D1" "SELECT max(version) FROM schema_migrations")
store_sql "$D1" "INSERT INTO schema_migrations (version, description, applied_at_us) VALUES ($((LATEST + 1)), \
  'a newer privox', 0)" >/dev/null
STOPPED=1
for _ in $(seq 300); do
  kill -0 "${NODE_PID[2]}" 2>/dev/null || kill -0 "${NODE_PID[3]}" 2>/dev/null || { STOPPED=0; break; }
  sleep 0.1
done
assert_eq "nodes 2 and 3 stop within 30 s of a newer node's migration" 0 "$STOPPED"
assert_contains "each said why, with both versions" "$(cat "$TMP"/node2-*.log)" \
  "\"event\":\"schema.changed_under_node\",\"store_version\":$((LATEST + 1)),\"node_version\":$LATEST"
store_sql "$D1" "DELETE FROM schema_migrations WHERE version = $((LATEST + 1))" >/dev/null

for n in 2 3; do
  assert_not_contains "node $n read every change it was told of" "$(cat "$TMP"/node"$n"-*.log)" \
    '"event":"directory.follow_failed"'
done

finish
