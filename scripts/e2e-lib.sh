# Shared set-up for the subsystems' end-to-end scripts (src/<dir>/<name>_e2e.sh PRIVOX BACKEND),
# which ctest runs once per store backend with the PostgreSQL and SMTP test servers up.
# Source it after test-lib.sh. It gives:
#   PRIVOX BACKEND TMP        the binary, sqlite|postgresql, a scratch dir removed at exit
#   new_data_dir DIR          runs `privox init` on DIR with a fresh store (own schema on postgresql)
#   px DIR VERB ARGS...       runs `privox VERB ARGS... --data-dir DIR [--store URL]`, bounded in time
#   store_sql DIR SQL         runs SQL on DIR's store (sqlite3 or psql), rows as a|b|c lines
#   SMTP_URL SMTP_MAILDIR     the test SMTP server and the Maildir it delivers into
#   mail_count / wait_mail N  messages arrived so far / wait (10 s at most) until N have arrived
#   start_bg NAME CMD...      starts a background process, killed at exit; its log is $TMP/NAME.log
#   E2E_UNDO+=("CMD")         a command run at exit, after those processes ended
#   free_port                 a port P on loopback with P to P+3 free for UDP and TCP: sipp binds
#                             its media on -mp P and P+2 (video), baresip its TLS transport on its
#                             SIP port + 1; one free for TCP alone may be another test's phone's
# and hands privox's logs (start_bg's of privox, px's stderr) to the whole-suite scan at exit
# (test-lib.sh: personal, suite_scrape, scripts/suite-scan.sh).
set -uo pipefail
E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

PRIVOX=${1:?usage: $0 /path/to/privox sqlite|postgresql}
BACKEND=${2:?usage: $0 /path/to/privox sqlite|postgresql}
case "$BACKEND" in sqlite | postgresql) ;; *) echo "$0: backend must be sqlite or postgresql" >&2; exit 2 ;; esac
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PRIVOX_DATA_DIR PRIVOX_STORE \
  PRIVOX_EXTENSION_PASSWORD
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PG')

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-e2e.XXXXXX")
E2E_RUN_ID=$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
E2E_SCHEMAS=()
E2E_PIDS=()
E2E_UNDO=()  # commands run at exit after the processes ended (a network namespace to remove, say)
declare -A E2E_STORE_OF=()

PG_URL=""
if [ "$BACKEND" == postgresql ]; then
  PG_URL=$(head -n 1 "${PRIVOX_TEST_POSTGRES_URL_FILE:-/nonexistent}" 2>/dev/null)
  [ -n "$PG_URL" ] || { echo "$0: no PostgreSQL test instance (PRIVOX_TEST_POSTGRES_URL_FILE); run through ctest" >&2; exit 2; }
fi
SMTP_DIR=${PRIVOX_TEST_SMTP_DIR:-}
SMTP_URL=""
SMTP_MAILDIR=""
if [ -n "$SMTP_DIR" ] && [ -f "$SMTP_DIR/url" ]; then
  SMTP_URL=$(cat "$SMTP_DIR/url")
  SMTP_MAILDIR="$SMTP_DIR/maildir"
fi

# A test that runs past ctest's limit (600 s) is killed without a word, its logs gone with it; the
# watchdog stops it a little before, so that its EXIT trap still shows what privox was doing. Bash
# runs the trap once the command in the foreground ends, and those are bounded to a minute or less.
E2E_INTERRUPTED=0
{ sleep "${E2E_DEADLINE_S:-530}" && kill -TERM $$; } </dev/null >/dev/null 2>&1 &
E2E_WATCHDOG=$!

# e2e_crash_reports: prints every privox log (start_bg's) that holds a sanitizer's report or an
# uncaught exception, and fails if there is one: a crash in `privox serve` would otherwise show
# only as the calls after it going unanswered.
e2e_crash_reports() {
  local f pattern='ERROR: (Address|Leak)Sanitizer|runtime error:|terminate called'
  local found=1
  for f in "${SUITE_KEEP[@]}"; do
    [ -f "$f" ] && grep -qaE "$pattern" "$f" || continue
    echo "privox crashed: $(basename "$f") holds this report" >&2
    grep -aE -m 1 -A 60 "$pattern" "$f" >&2
    found=0
  done
  return $found
}

# e2e_last_lines: the end of each privox log, for a test stopped by its watchdog or by ctest.
e2e_last_lines() {
  local f
  for f in "${SUITE_KEEP[@]}"; do
    [ -f "$f" ] || continue
    echo "--- the last lines of $(basename "$f") ---" >&2
    tail -n 40 "$f" >&2
  done
}

e2e_cleanup() {  # e2e_cleanup [STATUS]: STATUS, else $?, is the script's exit status
  local status=${1:-$?} pid
  pkill -P "$E2E_WATCHDOG" sleep 2>/dev/null  # its sleep first: once the watchdog is gone, init adopts it
  kill "$E2E_WATCHDOG" 2>/dev/null
  for pid in "${E2E_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${E2E_PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # Its children first: `timeout` passes SIGTERM on, but a baresip whose input has ended spins
    # and ignores it, and once `timeout` is gone it would spin on, an orphan, through the rest of
    # the suite.
    pkill -KILL -P "$pid" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  local undo
  for undo in "${E2E_UNDO[@]}"; do eval "$undo" >/dev/null 2>&1; done
  suite_save  # after the processes ended, so their last lines are in
  if [ "$E2E_INTERRUPTED" -eq 1 ]; then
    echo "$0: stopped after ${SECONDS} s, before its end (the watchdog or ctest)" >&2
    e2e_last_lines
  fi
  e2e_crash_reports && status=1
  if [ ${#E2E_SCHEMAS[@]} -gt 0 ]; then
    local list
    list=$(IFS=,; printf '%s' "${E2E_SCHEMAS[*]}")
    timeout 30 psql -X -q "$PG_URL" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $list CASCADE" >/dev/null 2>&1
  fi
  rm -rf "$TMP"
  grep -lx "$$" "$E2E_PORT_CLAIMS"/[0-9]* 2>/dev/null | xargs -r rm -f  # this script's port claims
  exit "$status"
}
trap e2e_cleanup EXIT
trap 'E2E_INTERRUPTED=1; exit 130' INT TERM

new_data_dir() {  # new_data_dir DIR
  local dir=$1
  mkdir -p "$dir"
  if [ "$BACKEND" == postgresql ]; then
    local schema="e2e_${E2E_RUN_ID}_${#E2E_SCHEMAS[@]}" sep='?'
    [[ "$PG_URL" == *"?"* ]] && sep='&'
    timeout 30 psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE SCHEMA $schema" >/dev/null || { echo "cannot create schema" >&2; exit 2; }
    E2E_SCHEMAS+=("$schema")
    E2E_STORE_OF[$dir]="$PG_URL${sep}options=-csearch_path%3D$schema"
  fi
  px "$dir" init >/dev/null || { echo "privox init failed for $dir" >&2; exit 2; }
}

store_args() {  # store_args DIR: the --data-dir (and --store) arguments for DIR
  printf '%s\n' --data-dir "$1"
  if [ "$BACKEND" == postgresql ]; then printf '%s\n' --store "${E2E_STORE_OF[$1]}"; fi
}

px() {  # px DIR VERB [SUBVERB] ARGS...
  local dir=$1
  shift
  local args=()
  mapfile -t args < <(store_args "$dir")
  # stderr goes through a file so that the suite scan gets a copy and the caller still sees it.
  local err rc
  err=$(mktemp "$TMP/px-stderr.XXXXXX")
  timeout 60 "$PRIVOX" "$@" "${args[@]}" 2>"$err"
  rc=$?
  cat "$err" >&2
  suite_cli_stderr "$err"
  rm -f "$err"
  return $rc
}

store_sql() {  # store_sql DIR SQL
  if [ "$BACKEND" == postgresql ]; then
    timeout 30 psql -X -A -t -q -v ON_ERROR_STOP=1 "${E2E_STORE_OF[$1]}" -c "$2"
  else
    timeout 30 sqlite3 -batch "$1/privox.db" "$2"
  fi
}

mail_count() { find "$SMTP_MAILDIR/new" -type f 2>/dev/null | wc -l; }
wait_mail() {  # wait_mail N
  for _ in $(seq 100); do
    [ "$(mail_count)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

start_bg() {  # start_bg NAME CMD...
  local name=$1
  shift
  "$@" >"$TMP/$name.log" 2>&1 &
  E2E_PIDS+=($!)
  local arg
  for arg in "$@"; do  # privox's own logs (also behind timeout and the like), not sipp's or baresip's
    if [ "$arg" == "$PRIVOX" ]; then suite_keep "$TMP/$name.log"; break; fi
  done
}

# Blocks come from scripts/port-claim.py: below the kernel's ephemeral range, and claimed for this
# script until it exits, so that no test beside it is handed the same ports before sipp binds them.
E2E_PORT_CLAIMS=/tmp/privox-port-claims-$(id -u)  # one for every test, whatever its TMPDIR
free_port() {
  /usr/bin/python3 "$E2E_LIB_DIR/port-claim.py" "$$" "$E2E_PORT_CLAIMS"
}

# --- baresip phones that run a whole test and take commands mid-call from a FIFO ------------------
# (features_baresip_e2e.sh, features2_baresip_e2e.sh). baresip's stdio module reads a line starting
# with '/' as a command; a digit typed during a call goes out as an RFC 4733 telephone-event.
# run_fifo_phone NUMBER SECONDS: runs the baresip configured in $TMP/pNUMBER (baresip_phone, with the
# test's own audio file) for SECONDS, its log in $TMP/pNUMBER.log, its pid in PID[NUMBER].
declare -A FD=() PID=() MARK=()
run_fifo_phone() {
  local n=$1 seconds=$2 dir=$TMP/p$1 fd
  mkfifo "$dir.in"
  timeout $((seconds + 10)) baresip -f "$dir" -t "$seconds" <"$dir.in" >"$dir.log" 2>&1 &
  PID[$n]=$!
  E2E_PIDS+=("$!")
  exec {fd}>"$dir.in"
  FD[$n]=$fd
}
cmd() { printf '%s\n' "$2" >&"${FD[$1]}"; }  # cmd NUMBER LINE: types LINE into the phone's baresip
key() { printf '%s' "$2" >&"${FD[$1]}"; }     # key NUMBER DIGITS: keys typed during a call
dial() { cmd "$1" "/dial sip:$2@127.0.0.1:$SIP_PORT"; }
# Each flow reads the phones' logs from a mark on: mark NUMBER... sets it at the log's end.
mark() { local n; for n in "$@"; do MARK[$n]=$(wc -l <"$TMP/p$n.log"); done; }
since() { tail -n "+$((${MARK[$1]:-0} + 1))" "$TMP/p$1.log" | tr '\r' '\n'; }  # the log from the mark on
seen() { since "$1" | grep -c "$2"; }  # seen NUMBER PATTERN: lines since the mark that match
# wait_seen NUMBER PATTERN [N] [TENTHS]: until N lines (1) since the mark match, 10 s at most.
wait_seen() {
  local tenths=${4:-100}
  for _ in $(seq "$tenths"); do [ "$(seen "$1" "$2")" -ge "${3:-1}" ] && return 0; sleep 0.1; done
  return 1
}
