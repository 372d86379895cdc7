#!/usr/bin/env bash
# A local privox cluster for tests and demos (issue 19; README, "Several nodes"): the PostgreSQL
# cluster of scripts/pg-cluster.sh (a pg_auto_failover monitor, a primary and a synchronous
# standby) and three `privox serve` nodes, node N on the address 127.0.0.N with an rtpengine of
# its own, as three machines would be:
#
#   scripts/privox-cluster.sh start DIR [PRIVOX]  all of it, from nothing; says where each node listens
#   scripts/privox-cluster.sh status DIR          whether each node serves, and the database's primary
#   scripts/privox-cluster.sh kill N DIR          kill -9 node N's privox, as a lost machine would
#   scripts/privox-cluster.sh restart N DIR       node N's privox again (after kill)
#   scripts/privox-cluster.sh stop DIR            everything in DIR, the databases included
#   scripts/privox-cluster.sh px DIR VERB...      a privox verb on the cluster (node 1's directory)
#
# Every node uses the same ports on its own address: SIP on SIP_PORT (5060, UDP and TCP), the portal
# on HTTP_PORT (8080), metrics on METRICS_PORT (9464), rtpengine's ng control on MEDIA_NG_PORT (2223)
# and its media on MEDIA_PORTS (30000-59999; each node's on its own address, so the ranges do not
# meet, and wide, since rtpengine holds a call's four ports for 30 s after it ends). The nodes share the store through libpq's multi-host URL, so they follow a
# failover (scripts/pg-cluster.sh kill node1 DIR/pg) on their own. Each node's data directory
# (DIR/nodeN) holds a copy of the one master key, and its own node.id. Logs: DIR/nodeN/serve.log and
# rtpengine.log. PRIVOX defaults to build/privox (what `make` builds). Needs root, as
# pg-cluster.sh does, and postgresql-15-auto-failover and rtpengine-daemon.
set -euo pipefail

prog=privox-cluster
here=$(cd "$(dirname "$0")" && pwd)
die() {
  echo "$prog: $*" >&2
  exit 1
}
usage() {
  echo "usage: $0 start DIR [PRIVOX] | $0 {status|stop} DIR | $0 {kill|restart} {1|2|3} DIR | $0 px DIR VERB..." >&2
  exit 2
}
[ $# -ge 2 ] || usage
action=$1
case $action in
  start) [ $# -le 3 ] || usage; dir=$2 ;;
  status | stop) [ $# -eq 2 ] || usage; dir=$2 ;;
  kill | restart) [ $# -eq 3 ] && [[ $2 =~ ^[123]$ ]] || usage; n=$2; dir=$3 ;;
  px) dir=$2; shift 2 ;;
  *) usage ;;
esac
# A started cluster keeps the ports it was started with (DIR/ports), for restart.
[ "$action" != start ] && [ -f "$dir/ports" ] && source "$dir/ports"
sip_port=${SIP_PORT:-5060}
http_port=${HTTP_PORT:-8080}
metrics_port=${METRICS_PORT:-9464}
media_ng_port=${MEDIA_NG_PORT:-2223}
media_ports=${MEDIA_PORTS:-30000-59999}

privox_of() { cat "$dir/privox"; }
px() { "$(privox_of)" "$@" --data-dir "$dir/node1" --store "$(cat "$dir/pg/url")"; }
serving() { [ -f "$dir/node$1/serve.pid" ] && kill -0 "$(cat "$dir/node$1/serve.pid")" 2>/dev/null; }

# start_node N: rtpengine (unless it runs) and privox serve for node N, until SIP answers there.
start_node() {
  local n=$1 node=$dir/node$1 address=127.0.0.$1
  if ! { [ -f "$node/rtpengine.pid" ] && kill -0 "$(cat "$node/rtpengine.pid")" 2>/dev/null; }; then
    # As scripts/run.sh starts it: userspace forwarding, errors only (its notices name calls by
    # Call-ID, which often holds a phone's address).
    setsid rtpengine --config-file=none --foreground --table=-1 --interface="$address" \
      --listen-ng="$address:$media_ng_port" --port-min="${media_ports%-*}" --port-max="${media_ports#*-}" --log-stderr \
      --log-level=3 </dev/null >>"$node/rtpengine.log" 2>&1 &
    echo $! >"$node/rtpengine.pid"
  fi
  setsid "$(privox_of)" serve --data-dir "$node" --store "$(cat "$dir/pg/url")" --sip "$address:$sip_port" \
    --http "$address:$http_port" --metrics "$address:$metrics_port" --media-relay "$address:$media_ng_port" \
    </dev/null >>"$node/serve.log" 2>&1 &
  echo $! >"$node/serve.pid"
  local started
  for _ in $(seq 300); do
    serving "$n" || die "node $n stopped at start; the end of $node/serve.log:$(echo; tail -n 5 "$node/serve.log")"
    started=$(grep -c '"event":"service.started"' "$node/serve.log" 2>/dev/null) || true
    [ "${started:-0}" -ge "$(cat "$node/starts")" ] && return 0
    sleep 0.1
  done
  die "node $n did not start in 30 s ($node/serve.log)"
}

stop_node() {  # stop_node N SIGNAL: privox, then (on a full stop) rtpengine
  local node=$dir/node$1 pid
  [ -f "$node/serve.pid" ] || return 0
  pid=$(cat "$node/serve.pid")
  kill "-$2" "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$node/serve.pid"
}

start() {
  local privox=${1:-$here/../build/privox}
  [ -x "$privox" ] || die "no privox at $privox: run make, or name one"
  command -v rtpengine >/dev/null || die "rtpengine is missing: apt-get install rtpengine-daemon"
  [ -f "$dir/privox" ] && stop
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 755 "$dir"  # PostgreSQL's own user reaches DIR/pg through it
  (cd "$(dirname "$privox")" && echo "$(pwd)/$(basename "$privox")") >"$dir/privox"
  printf 'SIP_PORT=%s\nHTTP_PORT=%s\nMETRICS_PORT=%s\nMEDIA_NG_PORT=%s\nMEDIA_PORTS=%s\n' "$sip_port" \
    "$http_port" "$metrics_port" "$media_ng_port" "$media_ports" >"$dir/ports"
  echo "$prog: starting PostgreSQL (a pg_auto_failover monitor, a primary and a synchronous standby)..." >&2
  bash "$here/pg-cluster.sh" start "$dir/pg" >/dev/null
  px init >/dev/null
  # Each node relays calls for the phones whose connections it holds: the others' requests must not
  # count against a source's rate limit (sip.trusted_sources; README, "Several nodes").
  px settings set sip.trusted_sources "127.0.0.1, 127.0.0.2, 127.0.0.3" >/dev/null
  local n
  for n in 2 3; do
    mkdir -m 0700 "$dir/node$n"
    cp -p "$dir/node1/master.key" "$dir/node$n/master.key"
  done
  for n in 1 2 3; do
    echo 1 >"$dir/node$n/starts"
    start_node "$n"
  done
  cat >&2 <<EOF
$prog: three privox nodes share the store $(cat "$dir/pg/url")
  node N (1, 2, 3): SIP 127.0.0.N:$sip_port (UDP, TCP), portal http://127.0.0.N:$http_port/,
                    metrics http://127.0.0.N:$metrics_port/metrics, data and logs in $dir/nodeN
  privox verbs:     $0 px $dir company add --name ... (or --data-dir $dir/node1 --store URL)
  a node lost:      $0 kill N $dir; the database's primary lost: scripts/pg-cluster.sh kill node1 $dir/pg
EOF
}

status() {
  local n
  for n in 1 2 3; do
    if serving "$n"; then echo "node $n serving on 127.0.0.$n"; else echo "node $n stopped"; fi
  done
  echo "database primary: $(bash "$here/pg-cluster.sh" primary "$dir/pg")"
}

stop() {
  local n
  for n in 1 2 3; do
    stop_node "$n" TERM
    [ -f "$dir/node$n/rtpengine.pid" ] && kill "$(cat "$dir/node$n/rtpengine.pid")" 2>/dev/null
    rm -f "$dir/node$n/rtpengine.pid"
  done
  bash "$here/pg-cluster.sh" stop "$dir/pg" >/dev/null 2>&1 || true
}

[ "$action" == start ] || [ -f "$dir/privox" ] || die "$dir holds no cluster: $0 start $dir first"
case $action in
  start) start "${3:-}" ;;
  status) status ;;
  kill) stop_node "$n" KILL ;;
  restart)
    serving "$n" && die "node $n is serving; kill it first"
    echo $(($(cat "$dir/node$n/starts") + 1)) >"$dir/node$n/starts"
    start_node "$n"
    ;;
  stop) stop ;;
  px) px "$@" ;;
esac
