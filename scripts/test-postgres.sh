#!/usr/bin/env bash
# Runs a private, throw-away PostgreSQL instance for the test suite (used by the ctest fixtures).
#
#   scripts/test-postgres.sh start DIR   wipe any leftover instance in DIR, start a fresh one, print its URL
#   scripts/test-postgres.sh stop DIR    stop the instance in DIR (exit 0 if none is running)
#   scripts/test-postgres.sh url DIR     print the URL of the instance running in DIR
#   scripts/test-postgres.sh crash DIR   kill -9 the postmaster, as a power cut or OOM kill would
#   scripts/test-postgres.sh resume DIR  start the crashed or stopped instance again on its data and port
#
# Everything lives under DIR: data/ (cluster), sock/ (unix socket), log/postgresql.log (statement log,
# log_statement='all'), log/pg_ctl.log (output before the logging collector takes over), url.
# The server listens on 127.0.0.1 only, on a free port; the superuser privox_test has a random
# password (scram-sha-256 over TCP; the unix socket in DIR/sock is trust but private to the owner).
# It never touches a system cluster: no pg_ctlcluster, systemctl or service.
# initdb and pg_ctl refuse to run as root; as root they run as the postgres system user.
set -euo pipefail

readonly test_user=privox_test
readonly test_db=privox_test
readonly start_timeout=30 # seconds, for the server to accept connections
readonly stop_timeout=30  # seconds, for a fast shutdown

prog=test-postgres
die() {
  echo "$prog: $*" >&2
  exit 1
}
usage() {
  echo "usage: $0 {start|stop|url|crash|resume} DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
action=$1
dir_arg=$2
[ -n "$dir_arg" ] || usage
case $action in start | stop | url | crash | resume) ;; *) usage ;; esac

# The caller's libpq environment (PGHOST, PGSSLMODE, PGPASSWORD, ...) must not leak into the
# commands below, which all name their target explicitly.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PG' || true)

# Highest installed server version, e.g. /usr/lib/postgresql/15/bin.
find_bindir() {
  local d best=""
  while IFS= read -r d; do
    [ -x "$d/bin/initdb" ] && [ -x "$d/bin/pg_ctl" ] && best=$d/bin
  done < <(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort -V)
  [ -n "$best" ] || die "no PostgreSQL server found under /usr/lib/postgresql (run scripts/install-deps.sh)"
  printf '%s\n' "$best"
}

# Runs a command as the cluster owner (the postgres system user when we are root, else ourselves),
# killed after $1 seconds.
owner_prefix=()
[ "$(id -u)" -ne 0 ] || owner_prefix=(runuser -u postgres --)
as_owner() {
  local secs=$1
  shift
  "${owner_prefix[@]}" timeout "$secs" "$@"
}

pid_of_postmaster() { # prints the postmaster pid recorded in DIR/data if that process is alive
  local pidfile=$data/postmaster.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = postgres ] || return 1 # a recycled pid
  # An exited postmaster may linger as a zombie until init reaps it: that is not alive.
  case $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null || true) in Z* | X* | "") return 1 ;; esac
  printf '%s\n' "$pid"
}

# Stops the instance in DIR, whatever state it is in; bounded in time. Returns 0 when none is left.
stop_instance() {
  local pid i
  pid=$(pid_of_postmaster) || return 0
  as_owner $((stop_timeout + 10)) "$bindir/pg_ctl" -D "$data" -m fast -w -t "$stop_timeout" stop >/dev/null 2>&1 || true
  pid_of_postmaster >/dev/null || return 0
  echo "$prog: fast shutdown of $data failed, trying immediate" >&2
  as_owner 20 "$bindir/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
  pid_of_postmaster >/dev/null || return 0
  echo "$prog: killing postmaster $pid of $data" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_of_postmaster >/dev/null || return 0
    sleep 0.1
  done
  return 1
}

free_port() {
  local p i
  if command -v python3 >/dev/null 2>&1 &&
    p=$(timeout 10 python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null) && [[ $p =~ ^[0-9]+$ ]]; then
    printf '%s\n' "$p"
    return 0
  fi
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 30000))
    if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] &&
      ! (timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      printf '%s\n' "$p"
      return 0
    fi
  done
  return 1
}

# pg_ctl start, in a subshell that first closes every inherited descriptor above stderr: the
# postmaster outlives this script and must not hold a pipe of whoever ran it (ctest, CI runners).
launch_server() (
  local f fd
  for f in /proc/"$BASHPID"/fd/*; do
    fd=${f##*/}
    if [[ $fd =~ ^[0-9]+$ ]] && [ "$fd" -gt 2 ] && [ -e "$f" ]; then
      exec {fd}>&- || true
    fi
  done
  as_owner $((start_timeout + 10)) "$bindir/pg_ctl" -D "$data" -l "$logdir/pg_ctl.log" \
    -w -t "$start_timeout" start </dev/null >/dev/null 2>&1
)

log_tail() {
  local f
  for f in "$logdir/pg_ctl.log" "$logdir/postgresql.log"; do
    if [ -s "$f" ]; then
      echo "---- last lines of $f ----" >&2
      tail -n 30 "$f" >&2 || true
    fi
  done
}

# ---------------------------------------------------------------------------------------------- url

if [ "$action" = url ]; then
  [ -d "$dir_arg" ] || die "no instance directory $dir_arg"
  dir=$(cd "$dir_arg" && pwd -P)
  data=$dir/data
  [ -s "$dir/url" ] || die "no URL in $dir/url: is an instance running there? (start it with: $0 start $dir)"
  pid_of_postmaster >/dev/null || die "the instance in $dir is not running"
  cat "$dir/url"
  exit 0
fi

bindir=$(find_bindir)
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no postgres system user to run the server as"
fi

# --------------------------------------------------------------------------------------------- stop

if [ "$action" = stop ]; then
  [ -d "$dir_arg" ] || exit 0
  dir=$(cd "$dir_arg" && pwd -P)
  data=$dir/data
  cd /
  stop_instance || die "could not stop the instance in $data"
  rm -f "$dir/url"
  exit 0
fi

# ------------------------------------------------------------------------------------ crash, resume

if [ "$action" = crash ]; then
  [ -d "$dir_arg" ] || die "no instance directory $dir_arg"
  dir=$(cd "$dir_arg" && pwd -P)
  data=$dir/data
  pid=$(pid_of_postmaster) || die "the instance in $dir is not running"
  kill -KILL "$pid"
  for ((i = 0; i < 100; i++)); do
    # The backends notice their postmaster is gone and exit; wait until no process holds the data.
    pid_of_postmaster >/dev/null || { pgrep -f -- "-D $data" >/dev/null || exit 0; }
    sleep 0.1
  done
  die "the instance in $dir did not die"
fi

if [ "$action" = resume ]; then
  [ -d "$dir_arg/data" ] || die "no instance data in $dir_arg"
  dir=$(cd "$dir_arg" && pwd -P)
  data=$dir/data
  logdir=$dir/log
  cd /
  pid_of_postmaster >/dev/null && exit 0
  # The killed postmaster may linger as a zombie until init reaps it, and PostgreSQL would take its
  # pid file for a live server; its orphaned backends may also need a moment to notice and exit.
  for ((i = 0; i < 10; i++)); do
    rm -f "$data/postmaster.pid"
    launch_server && exit 0
    sleep 0.5
  done
  log_tail
  die "pg_ctl start failed for $data"
fi

# -------------------------------------------------------------------------------------------- start

mkdir -p "$dir_arg" || die "cannot create $dir_arg"
dir=$(cd "$dir_arg" && pwd -P)
data=$dir/data
sockdir=$dir/sock
logdir=$dir/log
pwfile=$dir/pwfile
case $dir in *[\'\"\\]* | *[[:space:]]*) die "DIR must not contain quotes, backslashes or blanks: $dir" ;; esac
# A unix socket path is limited to 107 bytes: DIR/sock/.s.PGSQL.NNNNN.
[ $((${#sockdir} + 18)) -le 107 ] || die "DIR path too long for a unix socket inside it: $dir"
cd / # the cluster owner may not be allowed into the caller's working directory

# Wipe any leftover instance: stop it if its postmaster is still alive, then remove its files.
stop_instance || die "could not stop the leftover instance in $data"
rm -rf "$data" "$sockdir" "$logdir" "$dir/url" "$pwfile" || die "cannot remove the leftover instance in $dir"

if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$dir"
  runuser -u postgres -- test -w "$dir" -a -x "$dir" ||
    die "the postgres user cannot write to $dir (check the permissions of its parent directories)"
fi
chmod 0755 "$dir"
as_owner 10 mkdir -m 0700 "$sockdir" "$logdir"

password=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
[ ${#password} -eq 48 ] || die "cannot read random bytes for the password"

server_started=0
on_exit() {
  local rc=$?
  rm -f "$pwfile"
  if [ "$rc" -ne 0 ]; then
    echo "$prog: start in $dir failed" >&2
    log_tail
    if [ "$server_started" -eq 1 ]; then stop_instance || true; fi
    rm -f "$dir/url"
  fi
  exit "$rc"
}
trap on_exit EXIT

(umask 077 && printf '%s\n' "$password" >"$pwfile")
[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$pwfile"

# --no-sync only skips initdb's final flush of the fresh cluster files (throw-away instance); the
# server itself runs with fsync on, synchronous_commit on and full_page_writes on.
initdb_out=$(as_owner 120 "$bindir/initdb" -D "$data" -U "$test_user" --pwfile="$pwfile" \
  --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --no-locale --no-sync 2>&1) || {
  printf '%s\n' "$initdb_out" >&2
  die "initdb failed"
}
rm -f "$pwfile"

attempt=0
while :; do
  attempt=$((attempt + 1))
  # PRIVOX_PG_PORT pins the port (the SIP benchmark runs Kamailio against 5432); else a free one.
  port=${PRIVOX_PG_PORT:-$(free_port)} || die "no free TCP port found on 127.0.0.1"
  # Written last in postgresql.conf, so these win over initdb's defaults.
  as_owner 10 tee "$data/privox-test.conf" >/dev/null <<EOF
# privox throw-away test instance (scripts/test-postgres.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
unix_socket_permissions = 0700
max_connections = 100
shared_buffers = 64MB
password_encryption = 'scram-sha-256'
ssl = off
# durability tests run against this instance: keep the defaults explicit
fsync = on
synchronous_commit = on
full_page_writes = on
# statement log, grepped by the tests
logging_collector = on
log_destination = 'stderr'
log_directory = '$logdir'
log_filename = 'postgresql.log'
log_rotation_age = 0
log_rotation_size = 0
log_truncate_on_rotation = off
log_statement = 'all'
log_min_duration_statement = -1
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  if ! grep -q "^include_if_exists = 'privox-test.conf'" "$data/postgresql.conf"; then
    printf '\n%s\n' "include_if_exists = 'privox-test.conf'" | as_owner 10 tee -a "$data/postgresql.conf" >/dev/null
  fi

  server_started=1
  if launch_server; then
    break
  fi
  # Another process may have taken the port between free_port and the bind: retry with another.
  if [ "$attempt" -lt 3 ] && grep -qs 'could not bind\|Address already in use' "$logdir/pg_ctl.log" "$logdir/postgresql.log"; then
    echo "$prog: port $port was taken, retrying with another" >&2
    stop_instance || true
    continue
  fi
  die "pg_ctl start failed for $data (port $port)"
done

ready=0
deadline=$((SECONDS + start_timeout))
while [ "$SECONDS" -lt "$deadline" ]; do
  if timeout 5 "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.2
done
[ "$ready" -eq 1 ] || die "the server in $data did not accept connections on 127.0.0.1:$port within ${start_timeout}s"

# Over TCP with the password, so this also proves scram-sha-256 authentication works.
PGPASSWORD=$password timeout 30 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
  -U "$test_user" -d postgres -c "CREATE DATABASE $test_db OWNER $test_user" >/dev/null ||
  die "cannot create database $test_db"

url="postgresql://$test_user:$password@127.0.0.1:$port/$test_db"
check=$(timeout 30 "$bindir/psql" -X -A -t -v ON_ERROR_STOP=1 "$url" -c 'select 1' 2>&1) || true
[ "$check" = 1 ] || die "cannot connect with $url: $check"

(umask 077 && printf '%s\n' "$url" >"$dir/url.tmp" && mv -f "$dir/url.tmp" "$dir/url")
printf '%s\n' "$url"
