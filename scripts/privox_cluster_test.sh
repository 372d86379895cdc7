#!/usr/bin/env bash
# scripts/privox-cluster.sh does what it says: the PostgreSQL cluster with failover and three privox
# nodes on 127.0.0.1-3 start from nothing; a phone registered through node 1 is called through node
# 3; a node killed and restarted serves again; the portal answers on a node's own address; and
# stop leaves no process behind. Needs root and pg_auto_failover, as the script does.
# Usage: privox_cluster_test.sh /path/to/privox
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/test-lib.sh"
PRIVOX=${1:?usage: privox_cluster_test.sh /path/to/privox}
CLUSTER=$HERE/privox-cluster.sh
SCENARIOS=$HERE/../src/sip/scenarios
for tool in sipp pg_autoctl rtpengine curl python3 psql; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-cluster-test.XXXXXX")
chmod 755 "$TMP"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  bash "$CLUSTER" stop "$TMP/c" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

# A port free for UDP and TCP on every address (the nodes take it on 127.0.0.1, .2 and .3).
free_port() {
  python3 - <<'PY'
import socket
while True:
    t = socket.socket(); t.bind(("0.0.0.0", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("0.0.0.0", port)); print(port); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
PY
}
export SIP_PORT=$(free_port) HTTP_PORT=$(free_port) METRICS_PORT=$(free_port) MEDIA_NG_PORT=$(free_port)
MEDIA_MIN=$((20000 + RANDOM % 10000))
export MEDIA_PORTS=$MEDIA_MIN-$((MEDIA_MIN + 199))
PW='Lantern-gravel-73-q'
DID=+442071230199

OUT=$(bash "$CLUSTER" start "$TMP/c" "$PRIVOX" 2>&1)
assert_eq "the cluster starts" 0 "$?"
assert_contains "and says where node 3 listens" "$OUT" "node N (1, 2, 3): SIP 127.0.0.N:$SIP_PORT"
STATUS=$(bash "$CLUSTER" status "$TMP/c")
for n in 1 2 3; do assert_contains "node $n serves on its own address" "$STATUS" "node $n serving on 127.0.0.$n"; done
assert_contains "the database has a primary" "$STATUS" "database primary: node"
URL=$(cat "$TMP/c/pg/url")
assert_contains "the nodes' store URL names both databases and asks for the writable one" "$URL" \
  "target_session_attrs=read-write"
assert_eq "three nodes, three node ids" 3 "$(cat "$TMP"/c/node*/node.id | sort -u | wc -l)"

COMPANY=$(bash "$CLUSTER" px "$TMP/c" company add --name "Acme Ltd" --region eea --country GB)
PRIVOX_EXTENSION_PASSWORD=$PW bash "$CLUSTER" px "$TMP/c" extension add --company "$COMPANY" --number 101 \
  --did "$DID" >/dev/null
CARRIER_PORT=$(free_port)
bash "$CLUSTER" px "$TMP/c" trunk add --name carrier --address "127.0.0.9:$CARRIER_PORT" --trusted >/dev/null
LOGIN=$(psql -X -A -t -q "$URL" -c "SELECT sip_user FROM extensions WHERE number = '101'")
assert_true "the line was added through the cluster's px" test -n "$LOGIN"

PHONE_PORT=$(free_port)
sipp -sf "$SCENARIOS/uas_answer.xml" -i 127.0.0.1 -p "$PHONE_PORT" -nostdin >/dev/null 2>&1 &
PIDS+=($!)
timeout -k 2 20 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$(free_port)" -m 1 \
  -nostdin -key user "$LOGIN" -key contact_port "$PHONE_PORT" -key expires 600 -au "$LOGIN" -ap "$PW" \
  -timeout 10s -timeout_error >/dev/null 2>&1
assert_eq "the phone registers through node 1" 0 "$?"
call() {  # call ADDRESS: the carrier's call to the DID through ADDRESS, answered (5 s of tries)
  for _ in $(seq 20); do
    timeout -k 2 20 sipp -sf "$SCENARIOS/uac_trunk_call.xml" "$1:$SIP_PORT" -s "$DID" -i 127.0.0.9 \
      -p "$CARRIER_PORT" -nostdin -m 1 -timeout 10s -timeout_error -key caller +447700900123 -d 200 \
      >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  return 1
}
call 127.0.0.3
assert_eq "the carrier's call through node 3 reaches it" 0 "$?"

bash "$CLUSTER" kill 3 "$TMP/c"
assert_contains "a killed node is reported stopped" "$(bash "$CLUSTER" status "$TMP/c")" "node 3 stopped"
bash "$CLUSTER" restart 3 "$TMP/c" 2>/dev/null
assert_eq "and restarts" 0 "$?"
call 127.0.0.3
assert_eq "and carries calls again" 0 "$?"
assert_eq "node 2's portal answers on its own address" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.2:$HTTP_PORT/healthz")"
assert_eq "each answered call has its record" 2 \
  "$(psql -X -A -t -q "$URL" -c "SELECT count(*) FROM traffic_records WHERE outcome = 'answered'")"

PGIDS=$(cat "$TMP"/c/node*/serve.pid "$TMP"/c/node*/rtpengine.pid "$TMP"/c/pg/*.pgid 2>/dev/null)
bash "$CLUSTER" stop "$TMP/c"
assert_eq "stop ends" 0 "$?"
LEFT=0
for p in $PGIDS; do kill -0 "$p" 2>/dev/null && LEFT=$((LEFT + 1)); done
assert_eq "and leaves no privox, rtpengine or PostgreSQL keeper running" 0 "$LEFT"
assert_eq "nothing listens on node 1's SIP port any more" "" \
  "$(ss -Htln "sport = :$SIP_PORT" 2>/dev/null)"

finish
