#!/usr/bin/env bash
# A local PostgreSQL cluster with automatic failover, for benchmarks and demos of several privox
# nodes (README, "Several nodes"; bench/run-failover.sh):
#
#   scripts/pg-cluster.sh start DIR       a pg_auto_failover monitor, a primary and a synchronous
#                                         standby on free loopback ports; prints the URL privox uses
#   scripts/pg-cluster.sh url DIR         that URL again
#   scripts/pg-cluster.sh state DIR       the monitor's view of the two nodes
#   scripts/pg-cluster.sh primary DIR     which node is primary now: node1 or node2
#   scripts/pg-cluster.sh kill NODE DIR   kill -9 NODE's keeper and PostgreSQL, as a lost machine would
#   scripts/pg-cluster.sh stop DIR        stops everything in DIR
#
# Why pg_auto_failover (Debian's postgresql-15-auto-failover) and not Patroni: its monitor is one
# more PostgreSQL instance, where Patroni needs a consensus store (etcd, Consul or ZooKeeper) to run
# and operate beside the databases; its keeper (pg_autoctl) supervises PostgreSQL itself; and with a
# standby that takes part in the replication quorum (the default) it sets synchronous_standby_names,
# so a commit is acknowledged only once the standby has it, and promotes only a standby that was in
# sync. privox needs nothing of it but libpq's multi-host URL with target_session_attrs=read-write,
# which finds the primary after a failover. Its trade-off: the monitor decides alone (it holds no
# data, and while it is down nothing fails over), where Patroni's store is a quorum.
#
# Failover is tuned for a fast, safe switch on one machine: the monitor calls a node unhealthy after
# 3 s without an answer, and promotes the standby 8 s later (pgautofailover.primary_demote_timeout),
# after the old primary's keeper, cut off for 5 s (network_partition_timeout), has stopped accepting
# writes, so there are never two primaries.
# Everything lives under DIR: monitor/, node1/, node2/ (data), log/*.log, url. Loopback only; trust
# authentication on loopback, as for a throw-away cluster. As root, PostgreSQL runs as postgres.
set -euo pipefail

prog=pg-cluster
die() {
  echo "$prog: $*" >&2
  exit 1
}
usage() {
  echo "usage: $0 {start|url|state|primary|stop} DIR | $0 kill {node1|node2} DIR" >&2
  exit 2
}

[ $# -ge 2 ] || usage
action=$1
case $action in
  start | url | state | primary | stop) [ $# -eq 2 ] || usage; dir=$2 ;;
  kill) [ $# -eq 3 ] || usage; node=$2; dir=$3; [[ $node =~ ^node[12]$ ]] || usage ;;
  *) usage ;;
esac
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PG' || true)
command -v pg_autoctl >/dev/null || die "pg_autoctl is missing: apt-get install postgresql-15-auto-failover"
bindir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
[ -x "$bindir/pg_ctl" ] || die "no PostgreSQL server under /usr/lib/postgresql"
export PATH="$bindir:$PATH"

owner=()
[ "$(id -u)" -ne 0 ] || owner=(runuser -u postgres --)
# pg_autoctl keeps its configuration and state under the XDG directories: DIR's own, not $HOME's.
xdg=(XDG_RUNTIME_DIR="$dir/run" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/share")
as_owner() { "${owner[@]}" env PATH="$PATH" "${xdg[@]}" "$@"; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
monitor_url() { printf 'postgres://autoctl_node@127.0.0.1:%s/pg_auto_failover?sslmode=disable' "$(cat "$dir/monitor.port")"; }
monitor_sql() { psql -X -A -t -q "postgres://postgres@127.0.0.1:$(cat "$dir/monitor.port")/pg_auto_failover" -c "$1"; }

# keep NAME ARGS...: `pg_autoctl ARGS` (a `run`, or a `create ... --run`, which then runs) for
# DIR/NAME in a session of its own, so that `kill` can end the keeper and the PostgreSQL it
# supervises together (its process group), as a lost machine would.
keep() {
  local name=$1
  shift
  setsid "${owner[@]}" env PATH="$PATH" "${xdg[@]}" pg_autoctl "$@" </dev/null >>"$dir/log/$name.log" 2>&1 &
  echo $! >"$dir/$name.pgid"
}

# reported NAME: the state the monitor last heard from NAME (primary, secondary, ...).
reported() { monitor_sql "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'"; }

stop_all() {
  local name pid
  for name in node1 node2 monitor; do
    [ -f "$dir/$name.pgid" ] || continue
    pid=$(cat "$dir/$name.pgid")
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for _ in $(seq 100); do
    pgrep -g "$(cat "$dir"/*.pgid 2>/dev/null | paste -sd, -)" >/dev/null 2>&1 || break
    sleep 0.1
  done
  for name in node1 node2 monitor; do
    [ -f "$dir/$name.pgid" ] && kill -KILL -- "-$(cat "$dir/$name.pgid")" 2>/dev/null
    [ -f "$dir/$name/postmaster.pid" ] && kill -KILL "$(head -n 1 "$dir/$name/postmaster.pid")" 2>/dev/null
    rm -f "$dir/$name.pgid"
  done
  return 0
}

start() {
  [ -f "$dir/url" ] && stop_all
  rm -rf "$dir"
  mkdir -p "$dir/log" "$dir/run" "$dir/config" "$dir/share"
  [ ${#owner[@]} -eq 0 ] || chown -R postgres "$dir"
  free_port >"$dir/monitor.port"
  as_owner pg_autoctl create monitor --pgdata "$dir/monitor" --pgport "$(cat "$dir/monitor.port")" \
    --hostname 127.0.0.1 --auth trust --no-ssl >>"$dir/log/monitor.log" 2>&1 || die "the monitor was not created (log/monitor.log)"
  # pg_autoctl has the monitor listen on every address; ALTER SYSTEM's file wins over its own.
  echo "listen_addresses = '127.0.0.1'" | as_owner tee -a "$dir/monitor/postgresql.auto.conf" >/dev/null
  keep monitor run --pgdata "$dir/monitor"
  for _ in $(seq 300); do monitor_sql "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
  monitor_sql "SELECT 1" >/dev/null || die "the monitor does not answer (log/monitor.log)"
  for setting in "health_check_period = 1000" "health_check_timeout = 1000" "health_check_max_retries = 1" \
    "health_check_retry_delay = 500" "node_considered_unhealthy_timeout = 3000" "primary_demote_timeout = 8000"; do
    monitor_sql "ALTER SYSTEM SET pgautofailover.$setting" >/dev/null
  done
  monitor_sql "SELECT pg_reload_conf()" >/dev/null

  local name n port want
  for n in 1 2; do
    name=node$n
    port=$(free_port)
    keep "$name" create postgres --pgdata "$dir/$name" --pgport "$port" --hostname 127.0.0.1 --listen 127.0.0.1 \
      --name "$name" --monitor "$(monitor_url)" --auth trust --no-ssl --dbname privox --run
    want=single  # alone; it turns primary once the standby has caught up
    [ "$n" -eq 2 ] && want=secondary
    for _ in $(seq 480); do
      [ "$(reported "$name" 2>/dev/null)" == "$want" ] && break
      # The standby's base backup waits for a checkpoint, which PostgreSQL spreads over minutes
      # unless asked for one at once.
      [ "$n" -eq 2 ] && psql -X -q "postgres://postgres@127.0.0.1:$(node_port node1)/privox" -c CHECKPOINT \
        >/dev/null 2>&1
      sleep 0.25
    done
    [ "$(reported "$name")" == "$want" ] || die "$name did not become $want (log/$name.log)"
    # The keeper may be rewriting its configuration file just then: try again until it reads.
    local set=1
    for _ in $(seq 40); do
      as_owner pg_autoctl config set --pgdata "$dir/$name" timeout.network_partition_timeout 5 >/dev/null 2>&1 &&
        { set=0; break; }
      sleep 0.25
    done
    [ "$set" -eq 0 ] || die "could not set $name's network_partition_timeout (log/$name.log)"
  done
  for _ in $(seq 200); do
    [ -n "$(psql -X -A -t -q "postgres://postgres@127.0.0.1:$(node_port node1)/privox" \
      -c "SHOW synchronous_standby_names" 2>/dev/null)" ] && break
    sleep 0.1
  done
  printf 'postgresql://postgres@127.0.0.1:%s,127.0.0.1:%s/privox?target_session_attrs=read-write&connect_timeout=2\n' \
    "$(node_port node1)" "$(node_port node2)" >"$dir/url"
  cat "$dir/url"
}

node_port() { monitor_sql "SELECT nodeport FROM pgautofailover.node WHERE nodename = '$1'"; }

case $action in
  start) start ;;
  url) cat "$dir/url" ;;
  state) as_owner pg_autoctl show state --pgdata "$dir/monitor" ;;
  primary) monitor_sql "SELECT nodename FROM pgautofailover.node WHERE reportedstate IN ('primary', 'wait_primary', 'single')" ;;
  kill)
    kill -KILL -- "-$(cat "$dir/$node.pgid")" 2>/dev/null || true
    [ -f "$dir/$node/postmaster.pid" ] && kill -KILL "$(head -n 1 "$dir/$node/postmaster.pid")" 2>/dev/null
    true
    ;;
  stop) stop_all ;;
esac
