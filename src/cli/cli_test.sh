#!/usr/bin/env bash
# End-to-end test of the privox CLI: every verb, driven the way an operator would drive it, with
# the store inspected from outside to check what privox promises about it.
# Usage: bash cli_test.sh /path/to/privox [sqlite|postgresql]   (default sqlite)
#   sqlite      the store is privox.db in each data dir; inspected with sqlite3 and as raw file bytes.
#   postgresql  each data dir gets its own fresh schema in the test instance whose URL is in the file
#               $PRIVOX_TEST_POSTGRES_URL_FILE (the ctest fixture `postgres` starts it), and every
#               privox command on that dir gets --store with the schema's URL; inspected with psql,
#               pg_dump and the instance's statement log ($(dirname URL_FILE)/log/postgresql.log).
# Needs: python3, curl, and sqlite3 or psql + pg_dump. Uses only loopback addresses; every wait is bounded.

set -u

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -x "$1" ]; then
  echo "usage: $0 /path/to/privox [sqlite|postgresql]" >&2
  exit 2
fi
PRIVOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
BACKEND=${2:-sqlite}
case $BACKEND in
  sqlite) TOOLS=(sqlite3 python3 curl) ;;
  postgresql) TOOLS=(psql pg_dump python3 curl) ;;
  *)
    echo "usage: $0 /path/to/privox [sqlite|postgresql]" >&2
    exit 2
    ;;
esac
for tool in "${TOOLS[@]}"; do
  command -v "$tool" >/dev/null || { echo "cli_test.sh: needs $tool" >&2; exit 2; }
done
pg() { [ "$BACKEND" == postgresql ]; }

# Keep the server and every client on loopback, never through a proxy; and let no store or data dir
# from the caller's environment stand in for the ones this test names (nor a device password).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PRIVOX_DATA_DIR PRIVOX_STORE \
  PRIVOX_EXTENSION_PASSWORD

PG_URL=""
PG_LOG=""
PG_LOG_START=0
if pg; then
  # The caller's libpq environment (PGOPTIONS, PGHOST, ...) must not change what psql connects to.
  while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^PG')
  if [ -z "${PRIVOX_TEST_POSTGRES_URL_FILE:-}" ]; then
    echo "cli_test.sh: postgresql needs PRIVOX_TEST_POSTGRES_URL_FILE (run it through ctest, which starts the instance)" >&2
    exit 2
  fi
  PG_URL=$(head -n 1 "$PRIVOX_TEST_POSTGRES_URL_FILE" 2>/dev/null)
  if [ -z "$PG_URL" ]; then
    echo "cli_test.sh: no PostgreSQL URL in $PRIVOX_TEST_POSTGRES_URL_FILE: did the postgres fixture start?" >&2
    exit 2
  fi
  if ! timeout 30 psql -X -A -t -q "$PG_URL" -c 'select 1' >/dev/null; then
    echo "cli_test.sh: cannot connect to the PostgreSQL test instance" >&2
    exit 2
  fi
  PG_LOG=$(dirname "$PRIVOX_TEST_POSTGRES_URL_FILE")/log/postgresql.log
  # Only what this run adds to the statement log is searched.
  PG_LOG_START=$(stat -c %s "$PG_LOG" 2>/dev/null || echo 0)
fi
RUN_ID=$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-cli-test.XXXXXX")
SERVER_PID=""
WORKER_PIDS=()
SCHEMAS=()
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  local pid
  for pid in "${WORKER_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [ ${#SCHEMAS[@]} -gt 0 ]; then
    local list
    list=$(IFS=,; printf '%s' "${SCHEMAS[*]}")
    timeout 30 psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $list CASCADE" >/dev/null ||
      echo "cli_test.sh: warning: could not drop the test schemas $list" >&2
  fi
  suite_save  # serve's log for the whole-suite scan (scripts/test-lib.sh)
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/test-lib.sh"
OUT="$TMP/stdout"
ERR="$TMP/stderr"
RC=0

# ---------------------------------------------------------------------------------------------
# Helpers

describe() {  # a command line, readable, with the binary's path shortened
  local d
  d=$(printf '%q ' "$@")
  d=${d//"$PRIVOX"/privox}
  d=${d//"$TMP"/\$TMP}
  printf '%s' "${d% }"
}

# On postgresql every data dir this test makes has its own schema: STORE_OF maps the dir to its
# store URL (the instance's URL with search_path set to the schema), SCHEMA_OF to the schema's name.
declare -A STORE_OF=() SCHEMA_OF=()

pg_admin() {  # pg_admin SQL: runs SQL on the test instance's database, outside any test schema
  timeout 30 psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"
}

new_store() {  # new_store DIR: on postgresql, gives DIR a fresh, empty schema; nothing on sqlite
  pg || return 0
  local schema="cli_${RUN_ID}_${#SCHEMAS[@]}" sep='?'
  [[ "$PG_URL" == *"?"* ]] && sep='&'
  if ! pg_admin "CREATE SCHEMA $schema" >/dev/null; then
    echo "cli_test.sh: cannot create schema $schema" >&2
    exit 2
  fi
  SCHEMAS+=("$schema")
  SCHEMA_OF[$1]=$schema
  STORE_OF[$1]="$PG_URL${sep}options=-csearch_path%3D$schema"
}

# with_store CMD...: sets CMD to CMD... with, on postgresql, `--store URL-OF-DIR` after each
# `--data-dir DIR`, so every privox command on a data dir uses that dir's own schema.
CMD=()
with_store() {
  CMD=()
  while [ $# -gt 0 ]; do
    CMD+=("$1")
    if [ "$1" == --data-dir ] && [ $# -ge 2 ]; then
      CMD+=("$2")
      if pg; then
        if [ -z "${STORE_OF[$2]+set}" ]; then
          echo "cli_test.sh: bug in the test: data dir $2 has no schema (call new_store first)" >&2
          exit 2
        fi
        CMD+=(--store "${STORE_OF[$2]}")
      fi
      shift
    fi
    shift
  done
}

run() {  # run CMD...: stdout to $OUT, stderr to $ERR, exit status to $RC; bounded in time
  with_store "$@"
  timeout 30 "${CMD[@]}" >"$OUT" 2>"$ERR"
  RC=$?
}

stdout() { cat "$OUT"; }
stderr() { cat "$ERR"; }

expect_ok() {  # expect_ok CMD...: exit status 0
  run "$@"
  if [ "$RC" -eq 0 ]; then
    pass
  else
    fail "$(describe "$@") should succeed, exited $RC" "stderr: $(stderr)"
  fi
}

expect_fail() {  # expect_fail CODE|nz [--] PATTERN CMD...: non-zero (or exactly CODE) exit, stderr matches PATTERN
  local code=$1
  shift
  [ "$1" == -- ] && shift  # lets PATTERN start with a dash
  local pattern=$1
  shift
  run "$@"
  local what
  what=$(describe "$@")
  if [ "$RC" -eq 124 ]; then
    fail "$what timed out"
  elif [ "$RC" -eq 0 ]; then
    fail "$what should fail, exited 0" "stdout: $(stdout)"
  elif [ "$code" != nz ] && [ "$RC" -ne "$code" ]; then
    fail "$what should exit $code, exited $RC" "stderr: $(stderr)"
  elif ! grep -qE -- "$pattern" "$ERR"; then
    fail "$what: stderr should match /$pattern/" "stderr: $(stderr)"
  else
    pass
  fi
}

# text_holds FILE NEEDLE...: exits 0 when FILE holds one of the needles, as text in any case or as
# the hex of its bytes (in the needle's case, lower or upper: how PostgreSQL renders bytea values
# and logs bytea parameters); prints which.
text_holds() {
  python3 - "$@" <<'PY'
import sys
path, needles = sys.argv[1], sys.argv[2:]
with open(path, "rb") as f:
    data = f.read().lower()
found = []
for n in needles:
    forms = {n.lower().encode()} | {v.encode().hex().encode() for v in (n, n.lower(), n.upper())}
    if any(form in data for form in forms):
        found.append(f"{n!r} in {path}")
print("\n".join(found))
sys.exit(0 if found else 1)
PY
}

sql() {  # sql DIR QUERY: runs QUERY on DIR's store; rows as sqlite3 prints them (fields joined by |, no header)
  if pg; then
    if [ -z "${STORE_OF[$1]+set}" ]; then
      echo "cli_test.sh: bug in the test: data dir $1 has no schema" >&2
      return 2
    fi
    timeout 30 psql -X -A -t -q -v ON_ERROR_STOP=1 -F '|' "${STORE_OF[$1]}" -c "$2"
  else
    sqlite3 "$1/privox.db" "$2"
  fi
}

hex_of() {  # hex_of COLUMN: SQL for the column's bytes in upper-case hex, in this backend's dialect
  if pg; then printf "upper(encode(%s, 'hex'))" "$1"; else printf 'hex(%s)' "$1"; fi
}

store_dump() {  # store_dump DIR: the whole store, schema and rows, as text (sqlite3 .dump or pg_dump)
  if pg; then
    # pg_dump writes a random \restrict key on each run; everything else is the schema's content.
    timeout 60 pg_dump --schema="${SCHEMA_OF[$1]}" "$PG_URL" | grep -vE '^\\(un)?restrict '
  else
    sqlite3 "$1/privox.db" .dump
  fi
}

store_tables() {  # store_tables DIR: the tables of DIR's store, one a line (postgresql)
  sql "$1" "select table_name from information_schema.tables where table_schema = current_schema() order by 1"
}

# store_contents DIR (postgresql): every row of every table in DIR's schema as text, prefixed with
# its table, twice: bytea as hex, then bytea as escaped text (so bytes that are printable text
# show as that text).
store_contents() {
  local q="" t
  for t in $(store_tables "$1"); do
    q+="${q:+ union all }select '$t: ' || cast(x as text) from $t x"
  done
  [ -n "$q" ] || return 1
  sql "$1" "set bytea_output = 'hex'; $q" && sql "$1" "set bytea_output = 'escape'; $q"
}

# copy_data_dir FROM TO: a copy of a data dir, store included: on postgresql a new schema with a
# copy of each table (columns, constraints and indexes).
copy_data_dir() {
  cp -a "$1" "$2" || return 1
  pg || return 0
  new_store "$2"
  local from=${SCHEMA_OF[$1]} to=${SCHEMA_OF[$2]} q="" t
  for t in $(store_tables "$1"); do
    q+="CREATE TABLE $to.$t (LIKE $from.$t INCLUDING ALL); INSERT INTO $to.$t SELECT * FROM $from.$t; "
  done
  [ -n "$q" ] && pg_admin "$q" >/dev/null
}

statement_log() {  # statement_log FILE (postgresql): what this run added to the statement log, into FILE
  tail -c +"$((PG_LOG_START + 1))" "$PG_LOG" >"$1"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

# member_args COMPANY [FIELD VALUE]...: sets MARGS to a complete, valid `member add` argument
# list for a data dir $D; each FIELD VALUE pair overrides a default, and VALUE __omit__ drops it.
MARGS=()
# What must never reach privox's logs (the whole-suite scan, scripts/suite-scan.sh).
personal "Alice Example" "alice@example.com" "020 7946 0958" "02079460958" "1 High Street, London" "1980-05-17" \
  "tok_1AbCdEf" "Acme Telephony Ltd" "Initech Inc" "Reception desk"
member_args() {
  local company=$1
  shift
  local -A v=(
    [name]="Alice Example"
    [email]="alice@example.com"
    [phone]="020 7946 0958"
    [address]="1 High Street, London"
    [birth-date]="1980-05-17"
    [payment-token]="tok_1AbCdEf"
  )
  while [ $# -ge 2 ]; do
    v[$1]=$2
    shift 2
  done
  MARGS=(member add --data-dir "$D" --company "$company")
  local k
  for k in name email phone address birth-date payment-token card-brand card-last4 card-expiry; do
    [ -n "${v[$k]+set}" ] || continue
    [ "${v[$k]}" == __omit__ ] && continue
    MARGS+=("--$k" "${v[$k]}")
  done
}

# ---------------------------------------------------------------------------------------------
# 1. init

D="$TMP/data"
new_store "$D"
DB="$D/privox.db"
KEY="$D/master.key"

expect_ok "$PRIVOX" init --data-dir "$D"
assert_contains "first init reports it initialised" "$(stdout)" "initialised"
assert_true "init creates master.key" test -f "$KEY"
if pg; then
  assert_false "init with --store creates no SQLite store in the data dir" test -e "$DB"
  assert_eq "init creates the store's tables in the data dir's own schema" 1 \
    "$(sql "$D" "select count(*) from information_schema.tables where table_schema = '${SCHEMA_OF[$D]}' and table_name = 'members'")"
else
  assert_true "init creates privox.db" test -f "$DB"
fi
assert_eq "master.key has mode 0600" 600 "$(stat -c %a "$KEY" 2>&1)"
assert_eq "the data directory has mode 0700" 700 "$(stat -c %a "$D" 2>&1)"
assert_eq "init writes one store.migrate audit entry" "store.migrate" \
  "$(sql "$D" "select action from audit_log order by seq")"

dump_before=$(store_dump "$D")
assert_contains "control: the store dump shows the audit entry" "$dump_before" "store.migrate"
key_before=$(sha "$KEY")
expect_ok "$PRIVOX" init --data-dir "$D"
assert_contains "second init says nothing changed" "$(stdout)" "nothing changed"
assert_eq "second init leaves the store's content unchanged" "$dump_before" "$(store_dump "$D")"
assert_eq "second init leaves master.key unchanged" "$key_before" "$(sha "$KEY")"
assert_eq "master.key still has mode 0600" 600 "$(stat -c %a "$KEY")"

NOKEY="$TMP/nokey"
copy_data_dir "$D" "$NOKEY" || fail "cannot copy the data dir to $NOKEY"
rm -f "$NOKEY/master.key"
nokey_dump=$(store_dump "$NOKEY")
assert_contains "control: the copy's store has the audit entry" "$nokey_dump" "store.migrate"
expect_fail nz "master key" "$PRIVOX" init --data-dir "$NOKEY"
assert_false "init with a store but no key does not create a new key" test -e "$NOKEY/master.key"
assert_eq "init with a store but no key leaves the store unchanged" "$nokey_dump" "$(store_dump "$NOKEY")"
expect_fail nz "master.key|master key" "$PRIVOX" company add --data-dir "$NOKEY" --name Acme --region eea

# ---------------------------------------------------------------------------------------------
# 2. --help on every verb

help_mentions() {  # help_mentions "VERB WORDS" FLAG...
  local -a verb
  read -r -a verb <<<"$1"
  shift
  expect_ok "$PRIVOX" "${verb[@]}" --help
  local text flag
  text="$(stdout)$(stderr)"
  for flag in "$@"; do
    assert_contains "privox $1 --help mentions $flag" "$text" "$flag"
  done
}
help_mentions "init" --data-dir
help_mentions "serve" --data-dir --http --sip --ring-timeout --max-transactions --digest-challenges
help_mentions "company add" --data-dir --name --region --country
help_mentions "member add" --data-dir --company --name --email --phone --address --birth-date --payment-token \
  --card-brand --card-last4 --card-expiry
help_mentions "member show" --data-dir --id --purpose
help_mentions "member erase" --data-dir --id
help_mentions "audit verify" --data-dir
help_mentions "datamap" --json
help_mentions "notice" --data-dir --details --json
help_mentions "extension add" --data-dir --store --company --number --password --generate-password --member --did --label --digest
help_mentions "extension list" --data-dir --company
help_mentions "extension show" --data-dir --id
help_mentions "extension reset-password" --data-dir --id --password --generate-password
help_mentions "extension update" --data-dir --id --label --member --unassign --digest
help_mentions "company digest" --data-dir --id --set
help_mentions "company encryption" --data-dir --id --set
help_mentions "company time-zone" --data-dir --id --set
help_mentions "company hours" --data-dir --id --set --closed --clear
help_mentions "company music" --data-dir --id --file --clear --show
help_mentions "company holiday" --data-dir --id --add --label --remove
help_mentions "fraud rules" --data-dir --company --set --clear
help_mentions "trunk add" --data-dir --name --address --trusted
# Issue 12: a trunk is recognised by its IP address alone, whatever port it sends from.
expect_ok "$PRIVOX" trunk add --help
assert_contains "trunk add --help says a trunk is recognised by address, any port" "$(stdout)" "any source port"
help_mentions "trunk list" --data-dir
help_mentions "ban list" --data-dir --store --all --address
help_mentions "ban lift" --data-dir --store --id --address

# ---------------------------------------------------------------------------------------------
# 3. company add

expect_ok "$PRIVOX" company add --data-dir "$D" --name "Acme Telephony Ltd" --region eea --country GB
COMPANY=$(stdout)
assert_match "company add prints a UUIDv7 alone on stdout" "$COMPANY" "$UUID_RE"
assert_eq "company add prints exactly one line" 1 "$(wc -l <"$OUT")"
assert_eq "the company is stored with its country" "GB|eea" \
  "$(sql "$D" "select country || '|' || region from companies where id = '$COMPANY'")"

expect_ok "$PRIVOX" company add --data-dir "$D" --name "Initech Inc" --region us
US_COMPANY=$(stdout)
assert_match "US company id" "$US_COMPANY" "$UUID_RE"
assert_eq "a us company defaults to country US" US "$(sql "$D" "select country from companies where id = '$US_COMPANY'")"

companies=$(sql "$D" "select count(*) from companies")
expect_fail 2 -- "--region" "$PRIVOX" company add --data-dir "$D" --name Acme --region mars
expect_fail 2 -- "--country" "$PRIVOX" company add --data-dir "$D" --name Acme --region eea --country XX
expect_fail 2 -- "--name" "$PRIVOX" company add --data-dir "$D" --name "   " --region eea
new_store "$TMP/nowhere"
expect_fail nz -- "privox init" "$PRIVOX" company add --data-dir "$TMP/nowhere" --name Acme --region eea
if pg; then
  assert_eq "a command on an uninitialised data dir creates no table in its schema" "" "$(store_tables "$TMP/nowhere")"
fi
assert_eq "refused company adds store nothing" "$companies" "$(sql "$D" "select count(*) from companies")"

# voicemail: nothing yet (the store is filled by serve's SIP side; voicemail/voicemail_test.cpp
# covers the messages themselves): the verbs answer, refuse unknown ids and purposes with the reason.
expect_ok "$PRIVOX" voicemail list --data-dir "$D" --purpose legal --company "$COMPANY"
assert_eq "voicemail list of an empty store is an empty JSON array" "[]" "$(stdout)"
expect_fail nz -- "no voicemail message" "$PRIVOX" voicemail delete --data-dir "$D" --purpose support 01890000-0000-7000-8000-000000000000
expect_fail nz -- "may not hear" "$PRIVOX" voicemail export --data-dir "$D" --purpose billing \
  01890000-0000-7000-8000-000000000000 --out "$TMP/vm.opus"
expect_fail 2 -- "--purpose" "$PRIVOX" voicemail list --data-dir "$D" --purpose curiosity
assert_false "a refused export writes no file" test -e "$TMP/vm.opus"

# ---------------------------------------------------------------------------------------------
# 4. member add

member_args "$COMPANY"
expect_ok "$PRIVOX" "${MARGS[@]}"
ALICE=$(stdout)
assert_match "member add prints a UUIDv7 alone on stdout" "$ALICE" "$UUID_RE"
assert_eq "member add prints exactly one line" 1 "$(wc -l <"$OUT")"
assert_eq "member add writes one member.add audit entry for the member" "member.add|$ALICE" \
  "$(sql "$D" "select action || '|' || subject_id from audit_log order by seq desc limit 1")"

members=$(sql "$D" "select count(*) from members")
audit_entries=$(sql "$D" "select count(*) from audit_log")
# The day someone born 18 years ago turns 18 is today; born on 29 February, we use the 28th
# (GNU date would roll 18 years before a 29 February over to 1 March, who is still 17).
ADULT_DOB="$(($(date -u +%Y) - 18))-$(date -u +%m-%d)"
date -u -d "$ADULT_DOB" +%F >/dev/null 2>&1 || ADULT_DOB="$(($(date -u +%Y) - 18))-02-28"
KID_DOB=$(date -u -d '17 years ago' +%F)
ALMOST_18=$(date -u -d "$ADULT_DOB + 1 day" +%F)
TOMORROW=$(date -u -d 'tomorrow' +%F)

member_args "$COMPANY" email __omit__
expect_fail 2 -- "--email" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "not-an-email"
expect_fail 2 -- "--email" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "bob@@example.com"
expect_fail 2 -- "--email" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" phone "12345"
expect_fail 2 -- "--phone" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" phone "call me maybe"
expect_fail 2 -- "--phone" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" birth-date "$KID_DOB"
expect_fail 2 -- "--birth-date" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" birth-date "$ALMOST_18"
expect_fail 2 -- "--birth-date" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" birth-date "$TOMORROW"
expect_fail 2 -- "--birth-date" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" birth-date "2023-02-30"
expect_fail 2 -- "--birth-date" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" birth-date "17/05/1980"
expect_fail 2 -- "--birth-date" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" payment-token "4111111111111111"
expect_fail 2 -- "--payment-token" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" address "4111 1111 1111 1111, High Street"
expect_fail 2 -- "--address" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" name "Card 4111-1111-1111-1111"
expect_fail 2 -- "--name" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" payment-token __omit__
expect_fail 2 -- "--payment-token" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" name $'Alice\x01Example'
expect_fail 2 -- "--name" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "carol@example.com" card-brand visa
expect_fail 2 -- "--card-last4" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "carol@example.com" card-brand visa card-last4 12a4
expect_fail 2 -- "--card-last4" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "carol@example.com" card-brand "not-a-brand" card-last4 1111
expect_fail 2 -- "--card-brand" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "carol@example.com" card-expiry "2001-01"
expect_fail 2 -- "--card-expiry" "$PRIVOX" "${MARGS[@]}"
member_args "0190b8c0-0000-7000-8000-000000000000" email "carol@example.com"
expect_fail 3 -- "--company" "$PRIVOX" "${MARGS[@]}"
member_args "not-a-company" email "carol@example.com"
expect_fail 2 -- "--company" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "ALICE@Example.COM" name "Alice Again"
expect_fail 4 -- "--email" "$PRIVOX" "${MARGS[@]}"
member_args "$COMPANY" email "  alice@example.com  " name "Alice Padded"
expect_fail 4 -- "--email" "$PRIVOX" "${MARGS[@]}"
assert_eq "refused member adds store no member" "$members" "$(sql "$D" "select count(*) from members")"
assert_eq "refused member adds write no audit entry" "$audit_entries" "$(sql "$D" "select count(*) from audit_log")"
assert_eq "refused member adds leave no orphan data key" "$members" "$(sql "$D" "select count(*) from subject_keys")"

member_args "$COMPANY" email "dora@example.com" name "Dora Adult" birth-date "$ADULT_DOB" \
  card-brand VISA card-last4 4242 card-expiry "$(date -u -d 'next year' +%Y-%m)"
expect_ok "$PRIVOX" "${MARGS[@]}"
DORA=$(stdout)
assert_match "a member who turns 18 today is accepted" "$DORA" "$UUID_RE"
assert_eq "accepted members are stored" $((members + 1)) "$(sql "$D" "select count(*) from members")"

# ---------------------------------------------------------------------------------------------
# 5. Personal data never reaches the files (sqlite) or PostgreSQL (tables, statement log) in clear

X_NAME="Xanthippe Vorderbrueggen"
X_EMAIL="xanthippe.unique@example.org"
X_PHONE_E164="+442079460321"
X_ADDRESS="Flat 9, Quillfeather Mews, Dundee"
member_args "$COMPANY" name "$X_NAME" email "$X_EMAIL" phone "020 7946 0321" address "$X_ADDRESS" \
  payment-token "tok_Zq9SecretToken" birth-date 1971-03-09
expect_ok "$PRIVOX" "${MARGS[@]}"
XAN=$(stdout)
assert_match "Xanthippe is added" "$XAN" "$UUID_RE"

# Positive control: the search does find these strings where they are.
printf 'xx %s yy %s zz %s' "$(tr '[:lower:]' '[:upper:]' <<<"$X_NAME")" "$X_EMAIL" "${X_PHONE_E164#+}" \
  >"$TMP/control.bin"
mkdir -p "$TMP/control" && mv "$TMP/control.bin" "$TMP/control/"
assert_true "control: the file search finds a planted name, email and phone" \
  files_hold text "$TMP/control" "$X_NAME" "$X_EMAIL" "${X_PHONE_E164#+}"

X_SECRETS=("$X_NAME" "Xanthippe" "Vorderbrueggen" "$X_EMAIL" "xanthippe.unique" \
  "${X_PHONE_E164#+}" "2079460321" "020 7946 0321" "Quillfeather" "tok_Zq9SecretToken" "1971-03-09")
if pg; then
  assert_true "the data dir holds a file to search" test -s "$KEY"
else
  assert_true "the data dir holds files to search" test -s "$DB"
fi
assert_false "no file in the data dir holds the name, email, phone, address or token in clear (any case)" \
  files_hold text "$D" "${X_SECRETS[@]}"
assert_false "no file holds the email in upper case either" files_hold text "$D" "XANTHIPPE.UNIQUE@EXAMPLE.ORG"
if grep -aqiF -e "$X_NAME" -e "$X_EMAIL" "$D"/*; then
  fail "grep -a finds Xanthippe's name or email in the data dir" "$(grep -aliF -e "$X_NAME" -e "$X_EMAIL" "$D"/*)"
else
  pass
fi

if pg; then
  # Positive controls: the search finds a name in another case, and an email as bytea hex.
  tr '[:lower:]' '[:upper:]' <<<"xx $X_NAME yy" >"$TMP/control/text.txt"
  printf 'xx \\x%s yy\n' "$(printf '%s' "$X_EMAIL" | od -An -tx1 | tr -d ' \n')" >"$TMP/control/hex.txt"
  assert_true "control: the text search finds a planted upper-case name" text_holds "$TMP/control/text.txt" "$X_NAME"
  assert_true "control: the text search finds a planted email in bytea hex" text_holds "$TMP/control/hex.txt" "$X_EMAIL"

  # Every row of every table in the schema, as PostgreSQL itself renders it.
  store_contents "$D" >"$TMP/contents.txt" || fail "cannot read the tables of the schema" "$(cat "$TMP/contents.txt")"
  assert_true "control: the schema's table contents hold Xanthippe's member row" grep -qE "^members: \($XAN," \
    "$TMP/contents.txt"
  assert_false "no table in the schema holds the name, email, phone, address or token (as text or bytes)" \
    text_holds "$TMP/contents.txt" "${X_SECRETS[@]}"

  # Every statement privox sent, with its parameters (log_statement = all). The log lags behind
  # the statements: wait (bounded) for Xanthippe's insert to show, then a little more.
  assert_true "the PostgreSQL statement log is readable" test -r "$PG_LOG"
  for _ in $(seq 1 50); do
    statement_log "$TMP/pg.log"
    grep -qF "$XAN" "$TMP/pg.log" && break
    sleep 0.1
  done
  sleep 0.5
  statement_log "$TMP/pg.log"
  assert_true "control: the statement log records the member inserts" grep -qF "INSERT INTO members" "$TMP/pg.log"
  assert_true "control: the statement log records statement parameters" grep -qF "DETAIL:  parameters:" "$TMP/pg.log"
  assert_true "control: the statement log holds Xanthippe's member id" grep -qF "$XAN" "$TMP/pg.log"
  assert_false "the statement log holds no name, email, phone, address or token (as text or bytes)" \
    text_holds "$TMP/pg.log" "${X_SECRETS[@]}"
fi

# ---------------------------------------------------------------------------------------------
# 6. member show: purpose-bound, audited

last_audit() { sql "$D" "select action || '|' || coalesce(purpose, '') || '|' || coalesce(subject_id, '') from audit_log order by seq desc limit 1"; }
audit_count() { sql "$D" "select count(*) from audit_log"; }

before=$(audit_count)
expect_ok "$PRIVOX" member show --data-dir "$D" --id "$XAN" --purpose billing
cp "$OUT" "$TMP/show-billing.json"
assert_true "show --purpose billing prints JSON with the name and email" json_ok "$TMP/show-billing.json" \
  "d['id'] == '$XAN' and d['purpose'] == 'billing' and d['status'] == 'active' and d['fields']['name'] == '$X_NAME' and d['fields']['email'] == '$X_EMAIL'"
assert_true "show --purpose billing includes payment_token and the address" json_ok "$TMP/show-billing.json" \
  "d['fields']['payment_token'] == 'tok_Zq9SecretToken' and d['fields']['address'] == '$X_ADDRESS'"
assert_true "show --purpose billing withholds birth_date" json_ok "$TMP/show-billing.json" \
  "'birth_date' not in d['fields'] and 'birth_date' in d['withheld_for_purpose']"
assert_true "the national phone number was stored in E.164" json_ok "$TMP/show-billing.json" \
  "d['fields']['phone'] == '$X_PHONE_E164'"
assert_eq "show adds exactly one audit entry" $((before + 1)) "$(audit_count)"
assert_eq "the audit entry names action, purpose billing and the member" "member.show|billing|$XAN" "$(last_audit)"

expect_ok "$PRIVOX" member show --data-dir "$D" --id "$XAN" --purpose legal
cp "$OUT" "$TMP/show-legal.json"
assert_true "show --purpose legal includes birth_date but not payment_token" json_ok "$TMP/show-legal.json" \
  "d['fields']['birth_date'] == '1971-03-09' and 'payment_token' not in d['fields'] and 'payment_token' in d['withheld_for_purpose']"
assert_eq "the audit entry has purpose legal" "member.show|legal|$XAN" "$(last_audit)"

expect_ok "$PRIVOX" member show --data-dir "$D" --id "$XAN" --purpose support
cp "$OUT" "$TMP/show-support.json"
assert_true "show --purpose support withholds payment_token, address and birth_date" json_ok "$TMP/show-support.json" \
  "not ({'payment_token', 'address', 'birth_date'} & set(d['fields'])) and d['fields']['email'] == '$X_EMAIL'"
assert_eq "the audit entry has purpose support" "member.show|support|$XAN" "$(last_audit)"

expect_ok "$PRIVOX" member show --data-dir "$D" --id "$XAN" --purpose fraud
assert_eq "the audit entry has purpose fraud" "member.show|fraud|$XAN" "$(last_audit)"

before=$(audit_count)
expect_fail 2 -- "--purpose" "$PRIVOX" member show --data-dir "$D" --id "$XAN" --purpose marketing
assert_not_contains "a refused show prints no personal data" "$(stdout)" "$X_EMAIL"
expect_fail 2 -- "--purpose" "$PRIVOX" member show --data-dir "$D" --id "$XAN"
expect_fail 3 -- "--id" "$PRIVOX" member show --data-dir "$D" --id "0190b8c0-0000-7000-8000-000000000000" --purpose billing
expect_fail 2 -- "--id" "$PRIVOX" member show --data-dir "$D" --id "xanthippe" --purpose billing
assert_eq "refused shows write no audit entry" "$before" "$(audit_count)"

audit_dump=$(sql "$D" "select * from audit_log")
assert_contains "the audit log names the member by id" "$audit_dump" "$XAN"
for secret in "$X_NAME" Xanthippe Vorderbrueggen "$X_EMAIL" "${X_PHONE_E164#+}" Quillfeather tok_Zq9SecretToken \
  1971-03-09 "Alice Example" alice@example.com; do
  assert_not_contains "the audit log does not hold '$secret'" "$audit_dump" "$secret"
done

# ---------------------------------------------------------------------------------------------
# 7. member erase: crypto-shredding

WRAPPED=$(sql "$D" "select $(hex_of wrapped_key) from subject_keys where subject_id = '$XAN'")
assert_match "the member has a wrapped data key before erasure" "$WRAPPED" '^[0-9A-F]{32,}$'
if pg; then
  store_contents "$D" >"$TMP/contents-before-erase.txt"
  assert_true "control: the wrapped key's bytes are in the schema's tables before erasure" \
    grep -qiF "$WRAPPED" "$TMP/contents-before-erase.txt"
else
  assert_true "control: the wrapped key's bytes are in the data dir before erasure" files_hold hex "$D" "$WRAPPED"
fi

expect_ok "$PRIVOX" member erase --data-dir "$D" --id "$XAN"
assert_contains "erase reports the member erased" "$(stdout)" "erased member $XAN"
assert_not_contains "erase with no other process gives no write-ahead-log warning" "$(stderr)" "warning"
assert_eq "erase writes a member.erase audit entry" "member.erase||$XAN" "$(last_audit)"
assert_eq "the member's data key row is gone" 0 "$(sql "$D" "select count(*) from subject_keys where subject_id = '$XAN'")"
assert_eq "the member is marked erased and their blind indexes cleared" "erased|1|1" \
  "$(sql "$D" "select status || '|' || case when email_bidx is null then 1 else 0 end || '|' ||
                 case when phone_bidx is null then 1 else 0 end from members where id = '$XAN'")"
if pg; then
  store_contents "$D" >"$TMP/contents-after-erase.txt"
  assert_true "control: the schema's tables still hold Xanthippe's member row" grep -qE "^members: \($XAN," \
    "$TMP/contents-after-erase.txt"
  assert_false "no table in the schema still holds the wrapped key's bytes" \
    grep -qiF "$WRAPPED" "$TMP/contents-after-erase.txt"
else
  assert_false "no file in the data dir still holds the wrapped key's bytes" files_hold hex "$D" "$WRAPPED"
fi
assert_true "other members keep their data keys" test "$(sql "$D" "select count(*) from subject_keys where subject_id = '$ALICE'")" == 1

expect_ok "$PRIVOX" member show --data-dir "$D" --id "$XAN" --purpose billing
erased_show=$(stdout)
assert_contains "show after erase says erased" "$erased_show" "erased"
assert_not_contains "show after erase does not show the name" "$erased_show" "$X_NAME"
assert_not_contains "show after erase does not show the email" "$erased_show" "$X_EMAIL"
cp "$OUT" "$TMP/show-erased.json"
assert_true "show after erase is JSON with status erased and no fields" json_ok "$TMP/show-erased.json" \
  "d['status'] == 'erased' and not d.get('fields')"
assert_eq "show after erase is still audited" "member.show|billing|$XAN" "$(last_audit)"

expect_ok "$PRIVOX" member erase --data-dir "$D" --id "$XAN"
assert_contains "erasing again says already erased" "$(stdout)" "already erased"
expect_fail 3 -- "--id" "$PRIVOX" member erase --data-dir "$D" --id "0190b8c0-0000-7000-8000-000000000000"

expect_ok "$PRIVOX" member show --data-dir "$D" --id "$ALICE" --purpose billing
cp "$OUT" "$TMP/show-alice.json"
assert_true "other members are still readable after an erasure" json_ok "$TMP/show-alice.json" \
  "d['fields']['email'] == 'alice@example.com'"

# ---------------------------------------------------------------------------------------------
# 8. extensions and trunks: provisioning for the telephony service

EXT_PW="Wombat-Lantern-8842"
EXT_PW2="Heron-Quartz-5517"
EXT_PW3="Marmot-Velvet-3096"
ext_count() { sql "$D" "select count(*) from extensions"; }

expect_ok "$PRIVOX" extension add --data-dir "$D" --company "$COMPANY" --number 101 --password "$EXT_PW" \
  --member "$ALICE" --did "020 7946 0123"
EXT=$(stdout)
assert_match "extension add prints a UUIDv7 alone on stdout" "$EXT" "$UUID_RE"
assert_eq "extension add prints exactly one line" 1 "$(wc -l <"$OUT")"
assert_eq "extension add writes one extension.add audit entry for the extension" "extension.add||$EXT" "$(last_audit)"

# voicemail greeting: a WAV (1.5 s of 8 kHz 16-bit mono silence) set for the line, written back as
# Ogg, deleted; a file that is no WAV and a line that does not exist are refused with the reason.
python3 -c 'import struct,sys; n=24000; sys.stdout.buffer.write(b"RIFF"+struct.pack("<I",36+n)+b"WAVEfmt "+struct.pack("<IHHIIHH",16,1,1,8000,16000,2,16)+b"data"+struct.pack("<I",n)+bytes(n))' >"$TMP/greeting.wav"
expect_ok "$PRIVOX" voicemail greeting set --data-dir "$D" --purpose service --box "$EXT" --file "$TMP/greeting.wav"
assert_eq "greeting set prints the duration" "{\"box_id\":\"$EXT\",\"duration_ms\":1500}" "$(stdout)"
expect_ok "$PRIVOX" voicemail greeting show --data-dir "$D" --purpose service --box "$EXT" --out "$TMP/greeting.opus"
assert_eq "greeting show writes the Ogg stream" "OggS" "$(head -c 4 "$TMP/greeting.opus")"
expect_fail nz -- "audio: " "$PRIVOX" voicemail greeting set --data-dir "$D" --purpose service --box "$EXT" --file "$0"
expect_fail nz -- "no line" "$PRIVOX" voicemail greeting set --data-dir "$D" --purpose service \
  --box 01890000-0000-7000-8000-000000000000 --file "$TMP/greeting.wav"
expect_ok "$PRIVOX" voicemail greeting delete --data-dir "$D" --purpose service --box "$EXT"
expect_fail nz -- "no voicemail greeting" "$PRIVOX" voicemail greeting delete --data-dir "$D" --purpose service --box "$EXT"

# voicemail options and PIN: the email notice chosen and shown, the PIN read from standard input
# (never an argument) and cleared, each change audited; a bad choice, a guessable PIN, another
# purpose and a line that does not exist are refused with the reason, and no PIN is ever printed.
expect_ok "$PRIVOX" voicemail options show --data-dir "$D" --purpose service "$EXT"
assert_contains "options show: no email notice at first" "$(stdout)" '"email_notice": "off"'
assert_contains "options show: no PIN at first" "$(stdout)" '"has_pin": false'
expect_ok "$PRIVOX" voicemail options set --data-dir "$D" --purpose service "$EXT" --email-notice audio
assert_contains "options set prints the new choice" "$(stdout)" '"email_notice": "audio"'
assert_eq "options set is audited against the box" "voicemail.email_notice_set|service|$EXT" "$(last_audit)"
expect_ok "$PRIVOX" voicemail pin set --data-dir "$D" --purpose service "$EXT" <<<"4826"
assert_contains "pin set: the box has a PIN" "$(stdout)" '"has_pin": true'
# (ids left out: a random id's hex may hold the digits)
assert_not_contains "pin set prints no PIN" \
  "$(stdout | sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/ID/g')$(stderr)" "4826"
assert_eq "pin set is audited against the box" "voicemail.pin_set|service|$EXT" "$(last_audit)"
assert_match "the store keeps an Argon2id string, not the PIN" \
  "$(sql "$D" "select pin_hash from voicemail_box_options where box_id = '$EXT'")" '^[$]argon2id[$]'
expect_fail nz -- "pin: " "$PRIVOX" voicemail pin set --data-dir "$D" --purpose service "$EXT" <<<"1111"
assert_not_contains "a refused PIN is not echoed" "$(stderr)" "1111"
expect_ok "$PRIVOX" voicemail pin clear --data-dir "$D" --purpose service "$EXT"
assert_contains "pin clear: no PIN any more, the email choice kept" "$(stdout | tr -d ' \n')" \
  '"email_notice":"audio","has_pin":false'
expect_fail nz -- "no voicemail PIN" "$PRIVOX" voicemail pin clear --data-dir "$D" --purpose service "$EXT"
expect_fail 2 -- "--email-notice" "$PRIVOX" voicemail options set --data-dir "$D" --purpose service "$EXT" \
  --email-notice sometimes
expect_fail 2 -- "--purpose" "$PRIVOX" voicemail options show --data-dir "$D" --purpose billing "$EXT"
expect_fail nz -- "line: " "$PRIVOX" voicemail options show --data-dir "$D" --purpose service not-a-line
expect_fail nz -- "no line" "$PRIVOX" voicemail options set --data-dir "$D" --purpose service \
  01890000-0000-7000-8000-000000000000 --email-notice notice
expect_ok "$PRIVOX" voicemail options set --data-dir "$D" --purpose service "$EXT" --email-notice off
assert_eq "the extension has a data key of its own" 1 \
  "$(sql "$D" "select count(*) from subject_keys where subject_id = '$EXT'")"
assert_eq "the DID is stored in E.164, the HA1s sealed" "+442079460123|1|1" \
  "$(sql "$D" "select did || '|' || case when ha1_md5_enc is not null then 1 else 0 end || '|' ||
                 case when ha1_sha256_enc is not null then 1 else 0 end from extensions where id = '$EXT'")"

expect_ok "$PRIVOX" extension show --data-dir "$D" --id "$EXT"
cp "$OUT" "$TMP/ext-show.json"
assert_true "extension show prints the number, SIP user, realm, DID and member" json_ok "$TMP/ext-show.json" \
  "d['id'] == '$EXT' and d['company_id'] == '$COMPANY' and d['number'] == '101' and len(d['sip_user']) == 12 and d['realm'] == 'privox' and d['did'] == '+442079460123' and d['member_id'] == '$ALICE'"
login_of() { sql "$D" "select sip_user from extensions where id = '$1'"; }
LOGIN101=$(login_of "$EXT")
assert_match "the SIP login is twelve random letters and digits, not the number (issue 10)" "$LOGIN101" \
  '^[a-km-np-z2-9]{12}$'

# The same number in another company: a login of its own, as random.
export PRIVOX_EXTENSION_PASSWORD="$EXT_PW2"
expect_ok "$PRIVOX" extension add --data-dir "$D" --company "$US_COMPANY" --number 101
unset PRIVOX_EXTENSION_PASSWORD
US_EXT=$(stdout)
assert_match "extension add takes the password from PRIVOX_EXTENSION_PASSWORD" "$US_EXT" "$UUID_RE"
expect_ok "$PRIVOX" extension add --data-dir "$D" --company "$COMPANY" --number 20 --password "$EXT_PW"
EXT20=$(stdout)
expect_ok "$PRIVOX" extension list --data-dir "$D" --company "$US_COMPANY"
assert_eq "extension list: id, number, SIP user, DID, member (- when none)" \
  "$US_EXT	101	$(login_of "$US_EXT")	-	-" "$(stdout)"
assert_true "the two lines numbered 101 have different logins" test "$(login_of "$US_EXT")" != "$LOGIN101"
expect_ok "$PRIVOX" extension list --data-dir "$D" --company "$COMPANY"
assert_eq "extension list: one line per extension, shortest number first" \
  "$EXT20	20	$(login_of "$EXT20")	-	-
$EXT	101	$LOGIN101	+442079460123	$ALICE" "$(stdout)"

# A password privox makes up: printed once, after the id, and it works (its HA1s are stored).
expect_ok "$PRIVOX" extension add --data-dir "$D" --company "$COMPANY" --number 40 --generate-password
EXT40=$(head -n 1 "$OUT")
GENERATED=$(sed -n 2p "$OUT")
assert_match "extension add --generate-password prints the id first" "$EXT40" "$UUID_RE"
assert_match "then a 24-character password without look-alikes" "$GENERATED" '^[A-HJ-NP-Za-km-z2-9]{24}$'
assert_eq "and nothing else" 2 "$(wc -l <"$OUT")"
expect_fail 2 -- "--generate-password" "$PRIVOX" extension add --data-dir "$D" --company "$COMPANY" --number 41 \
  --password "$EXT_PW" --generate-password
expect_ok "$PRIVOX" extension reset-password --data-dir "$D" --id "$EXT40" --generate-password
assert_match "reset-password --generate-password prints the new password on a line of its own" \
  "$(sed -n 2p "$OUT")" '^[A-HJ-NP-Za-km-z2-9]{24}$'
assert_true "the new password differs from the first" test "$(sed -n 2p "$OUT")" != "$GENERATED"

# Each refusal names its flag and stores nothing.
exts=$(ext_count)
keys=$(sql "$D" "select count(*) from subject_keys")
audit_entries=$(audit_count)
ext_add() { expect_fail "$1" -- "$2" "$PRIVOX" extension add --data-dir "$D" "${@:3}"; }
ext_add 2 --number --company "$COMPANY" --number 1 --password "$EXT_PW"
ext_add 2 --number --company "$COMPANY" --number 123456789 --password "$EXT_PW"
ext_add 2 --number --company "$COMPANY" --number 1o1 --password "$EXT_PW"
ext_add 4 --number --company "$COMPANY" --number 101 --password "$EXT_PW"
ext_add 2 --password --company "$COMPANY" --number 102 --password short
ext_add 2 --password --company "$COMPANY" --number 102 --password "eleven-char"
ext_add 2 --password --company "$COMPANY" --number 102 --password "$(printf 'x%.0s' {1..129})"
ext_add 2 --password --company "$COMPANY" --number 102 --password "my-102-phone"
ext_add 2 --password --company "$COMPANY" --number 102 --password "pässwort-lang"
ext_add 2 --password --company "$COMPANY" --number 102 --password "4111 1111 1111 1111"
assert_not_contains "a refused password is not quoted back" "$(stderr)" "4111"
ext_add 2 --password --company "$COMPANY" --number 102
ext_add 3 --member --company "$COMPANY" --number 102 --password "$EXT_PW" --member "0190b8c0-0000-7000-8000-000000000000"
ext_add 2 --member --company "$COMPANY" --number 102 --password "$EXT_PW" --member alice
ext_add 4 --member --company "$COMPANY" --number 102 --password "$EXT_PW" --member "$XAN"
ext_add 3 --member --company "$US_COMPANY" --number 102 --password "$EXT_PW" --member "$ALICE"
ext_add 2 --did --company "$COMPANY" --number 102 --password "$EXT_PW" --did 12345
ext_add 2 --did --company "$COMPANY" --number 102 --password "$EXT_PW" --did "(650) 253-0000"
ext_add 4 --did --company "$US_COMPANY" --number 102 --password "$EXT_PW" --did "+44 20 7946 0123"
ext_add 3 --company --company "0190b8c0-0000-7000-8000-000000000000" --number 102 --password "$EXT_PW"
ext_add 2 --company --company acme --number 102 --password "$EXT_PW"
assert_eq "refused extension adds store no extension" "$exts" "$(ext_count)"
assert_eq "refused extension adds leave no data key" "$keys" "$(sql "$D" "select count(*) from subject_keys")"
assert_eq "refused extension adds write no audit entry" "$audit_entries" "$(audit_count)"

expect_fail 3 -- "--company" "$PRIVOX" extension list --data-dir "$D" --company "0190b8c0-0000-7000-8000-000000000000"
expect_fail 3 -- "--id" "$PRIVOX" extension show --data-dir "$D" --id "0190b8c0-0000-7000-8000-000000000000"
expect_fail 2 -- "--id" "$PRIVOX" extension show --data-dir "$D" --id 101

expect_ok "$PRIVOX" extension reset-password --data-dir "$D" --id "$EXT" --password "$EXT_PW3"
assert_contains "reset-password says the password was reset" "$(stdout)" "$EXT"
assert_eq "reset-password writes an extension.reset_password audit entry" "extension.reset_password||$EXT" \
  "$(last_audit)"
audit_entries=$(audit_count)
expect_fail 2 -- "--password" "$PRIVOX" extension reset-password --data-dir "$D" --id "$EXT" --password "has-101-in"
expect_fail 3 -- "--id" "$PRIVOX" extension reset-password --data-dir "$D" \
  --id "0190b8c0-0000-7000-8000-000000000000" --password "$EXT_PW3"
assert_eq "refused resets write no audit entry" "$audit_entries" "$(audit_count)"

# Erasing a member unassigns their lines; the lines stay with the company.
member_args "$COMPANY" name "Bob Example" email "bob@example.com"
expect_ok "$PRIVOX" "${MARGS[@]}"
BOB=$(stdout)
expect_ok "$PRIVOX" extension add --data-dir "$D" --company "$COMPANY" --number 30 --password "$EXT_PW" --member "$BOB"
EXT30=$(stdout)
expect_ok "$PRIVOX" member erase --data-dir "$D" --id "$BOB"
assert_eq "erasing a member unassigns their extension" "30|" \
  "$(sql "$D" "select number || '|' || coalesce(member_id, '') from extensions where id = '$EXT30'")"

# Issue 13: a line is named, assigned, reassigned and unassigned, and gets its digest challenges;
# its company has a default of its own. Each change is audited with ids only.
expect_ok "$PRIVOX" extension update --data-dir "$D" --id "$EXT30" --label "Reception desk" --member "$ALICE" \
  --digest sha256
assert_eq "extension update names, assigns and sets the digest in one audited change" \
  "Reception desk|$ALICE|sha256|extension.update||$EXT30" \
  "$(sql "$D" "select label || '|' || member_id || '|' || digest from extensions where id = '$EXT30'")|$(last_audit)"
assert_eq "the audit entry holds no label" 0 \
  "$(sql "$D" "select count(*) from audit_log where detail like '%Reception%'")"
expect_ok "$PRIVOX" extension update --data-dir "$D" --id "$EXT30" --unassign --digest default
assert_eq "--unassign and --digest default clear the member and the digest, keeping the label" "Reception desk||" \
  "$(sql "$D" "select label || '|' || coalesce(member_id, '') || '|' || coalesce(digest, '') from extensions where id = '$EXT30'")"
expect_ok "$PRIVOX" extension show --data-dir "$D" --id "$EXT30"
assert_true "extension show prints the label and the digest choice" json_ok "$OUT" \
  "d['label'] == 'Reception desk' and d['digest'] == 'default'"
audit_entries=$(audit_count)
expect_fail 2 -- "--digest" "$PRIVOX" extension update --data-dir "$D" --id "$EXT30" --digest sha1
expect_fail 2 -- "--label" "$PRIVOX" extension update --data-dir "$D" --id "$EXT30" \
  --label "$(printf 'x%.0s' $(seq 1 61))"
expect_fail 4 -- "--member" "$PRIVOX" extension update --data-dir "$D" --id "$EXT30" --member "$BOB"
assert_eq "refused line changes write no audit entry" "$audit_entries" "$(audit_count)"
expect_ok "$PRIVOX" company digest --data-dir "$D" --id "$COMPANY"
assert_eq "a company follows the node's digest challenges by default" "default" "$(stdout)"
expect_ok "$PRIVOX" company digest --data-dir "$D" --id "$COMPANY" --set sha256
assert_eq "company digest --set sha256 is kept and audited" "sha256|company.sip_digest||$COMPANY" \
  "$(stdout)|$(last_audit)"
expect_ok "$PRIVOX" company digest --data-dir "$D" --id "$COMPANY" --set default
# Issue 16: whether the company's phones must use TLS and SRTP.
expect_ok "$PRIVOX" company encryption --data-dir "$D" --id "$COMPANY"
assert_eq "encryption is optional by default" "optional" "$(stdout)"
expect_fail 2 -- "--set" "$PRIVOX" company encryption --data-dir "$D" --id "$COMPANY" --set maybe
expect_ok "$PRIVOX" company encryption --data-dir "$D" --id "$COMPANY" --set required
assert_eq "company encryption --set required is kept and audited" "required|company.require_encryption||$COMPANY" \
  "$(stdout)|$(last_audit)"
expect_ok "$PRIVOX" company encryption --data-dir "$D" --id "$COMPANY" --set optional
# Issue 17: the company's time zone (its business hours) and its own fraud rule thresholds.
expect_ok "$PRIVOX" company time-zone --data-dir "$D" --id "$COMPANY"
assert_eq "a company keeps its hours in UTC by default" "UTC" "$(stdout)"
audit_entries=$(audit_count)
expect_fail 2 -- "'Mars/Olympus' is not a time zone" "$PRIVOX" company time-zone --data-dir "$D" --id "$COMPANY" --set Mars/Olympus
assert_eq "a refused time zone writes no audit entry" "$audit_entries" "$(audit_count)"
expect_ok "$PRIVOX" company time-zone --data-dir "$D" --id "$COMPANY" --set America/New_York
assert_eq "company time-zone --set is kept and audited" "America/New_York|company.time_zone||$COMPANY" \
  "$(stdout)|$(last_audit)"
# Issue 15: the company's business hours per weekday and its holidays (accounts/business_hours.h).
expect_ok "$PRIVOX" company hours --data-dir "$D" --id "$COMPANY"
assert_eq "a company has no hours until it sets them" "hours: not set" "$(stdout)"
expect_ok "$PRIVOX" company hours --data-dir "$D" --id "$COMPANY" --set mon=09:00-12:30,13:30-17:30 --set tue=09:00-17:00 --closed sat
assert_contains "company hours --set keeps both of Monday's intervals" "$(stdout)" "mon 09:00-12:30,13:30-17:30"
assert_contains "days not given are closed" "$(stdout)" "wed closed"
assert_eq "setting hours is audited" "company.hours||$COMPANY" "$(last_audit)"
audit_entries=$(audit_count)
expect_fail 2 -- "hours.tue: 11:00-13:00 overlaps" "$PRIVOX" company hours --data-dir "$D" --id "$COMPANY" --set tue=09:00-12:00,11:00-13:00
expect_fail 2 -- "--set: 'xyz=09:00'" "$PRIVOX" company hours --data-dir "$D" --id "$COMPANY" --set xyz=09:00
expect_fail 2 -- "--closed: 'someday'" "$PRIVOX" company hours --data-dir "$D" --id "$COMPANY" --closed someday
expect_ok "$PRIVOX" company holiday --data-dir "$D" --id "$COMPANY" --add 2026-12-25 --label "Christmas Day"
assert_contains "company holiday --add shows the holiday" "$(stdout)" "holiday 2026-12-25 Christmas Day"
audit_entries=$(audit_count)
expect_fail 2 -- "holidays: 2026-12-25 is listed twice" "$PRIVOX" company holiday --data-dir "$D" --id "$COMPANY" --add 2026-12-25
expect_fail 2 -- "'2026-02-30' is not a date" "$PRIVOX" company holiday --data-dir "$D" --id "$COMPANY" --add 2026-02-30
expect_fail 3 -- "--remove" "$PRIVOX" company holiday --data-dir "$D" --id "$COMPANY" --remove 2026-12-24
assert_eq "refused hours and holidays write no audit entry" "$audit_entries" "$(audit_count)"
expect_ok "$PRIVOX" company holiday --data-dir "$D" --id "$COMPANY" --remove 2026-12-25
assert_eq "company holiday --remove takes it away" "" "$(stdout | grep holiday)"
# music on hold: Debian's opsound file uploaded for the company, shown, refused when too short, cleared
expect_ok "$PRIVOX" company music --data-dir "$D" --id "$COMPANY" --file /usr/share/asterisk/moh/manolo_camp-morning_coffee.wav
assert_contains "company music --file prints the duration" "$(stdout)" "music: 73"
expect_fail 2 -- "--file: " "$PRIVOX" company music --data-dir "$D" --id "$COMPANY" --file "$TMP/greeting.wav"
expect_fail 2 -- "--file: give one of" "$PRIVOX" company music --data-dir "$D" --id "$COMPANY"
expect_ok "$PRIVOX" company music --data-dir "$D" --id "$COMPANY" --clear
assert_eq "company music --clear leaves the node's default" "music: the node's default" "$(stdout)"
expect_fail 3 -- "has no music on hold" "$PRIVOX" company music --data-dir "$D" --id "$COMPANY" --clear
expect_fail 2 -- "fraud.alert_email" "$PRIVOX" fraud rules --data-dir "$D" --company "$COMPANY" --set fraud.alert_email=a@b.example
expect_fail 2 -- "--company" "$PRIVOX" fraud rules --data-dir "$D" --set fraud.spend.multiple=3
expect_ok "$PRIVOX" fraud rules --data-dir "$D" --company "$COMPANY" --set fraud.velocity.line_calls_per_minute=400
assert_contains "fraud rules --company shows the company's own value" "$(stdout)" \
  "fraud.velocity.line_calls_per_minute = 400 (this company's own)"
assert_eq "the override is audited" "fraud.limit_set|fraud|$COMPANY" "$(last_audit)"
expect_ok "$PRIVOX" fraud rules --data-dir "$D" --company "$COMPANY" --clear fraud.velocity.line_calls_per_minute
assert_contains "a cleared override follows the global setting" "$(stdout)" "fraud.velocity.line_calls_per_minute = 30 "

expect_ok "$PRIVOX" trunk add --data-dir "$D" --name carrier-a --address 203.0.113.5:5060 --trusted
TRUNK=$(stdout)
assert_match "trunk add prints a UUIDv7 alone on stdout" "$TRUNK" "$UUID_RE"
assert_eq "trunk add writes a trunk.add audit entry" "trunk.add||" "$(last_audit)"
expect_ok "$PRIVOX" trunk add --data-dir "$D" --name backup --address "[2001:DB8::5]:5080"
BACKUP=$(stdout)
trunks=$(sql "$D" "select count(*) from trunks")
expect_fail 4 -- "--name" "$PRIVOX" trunk add --data-dir "$D" --name carrier-a --address 203.0.113.9:5060
expect_fail 4 -- "--address" "$PRIVOX" trunk add --data-dir "$D" --name carrier-b --address 203.0.113.5:5060
expect_fail 2 -- "--address" "$PRIVOX" trunk add --data-dir "$D" --name carrier-b --address carrier.example
expect_fail 2 -- "--address" "$PRIVOX" trunk add --data-dir "$D" --name carrier-b --address carrier.example:0
expect_fail 2 -- "--address" "$PRIVOX" trunk add --data-dir "$D" --name carrier-b --address "bad_host:5060"
expect_fail 2 -- "--address" "$PRIVOX" trunk add --data-dir "$D" --name carrier-b --address "2001:db8::1:5060"
expect_fail 2 -- "--address" "$PRIVOX" trunk add --data-dir "$D" --name carrier-b --address sip.carrier.example:5060 \
  --trusted
expect_fail 2 -- "--name" "$PRIVOX" trunk add --data-dir "$D" --name "  " --address 203.0.113.9:5060
expect_fail 2 -- "--name" "$PRIVOX" trunk add --data-dir "$D" --address 203.0.113.9:5060
assert_eq "refused trunk adds store nothing" "$trunks" "$(sql "$D" "select count(*) from trunks")"
expect_ok "$PRIVOX" trunk list --data-dir "$D"
assert_eq "trunk list: id, name, address, trusted, by name" \
  "$BACKUP	backup	[2001:db8::5]:5080	untrusted
$TRUNK	carrier-a	203.0.113.5:5060	trusted" "$(stdout)"

# The device passwords never reach the store, in any form.
EXT_SECRETS=("$EXT_PW" "$EXT_PW2" "$EXT_PW3" Wombat Heron Marmot)
if pg; then
  store_contents "$D" >"$TMP/contents-ext.txt" || fail "cannot read the tables of the schema"
  assert_true "control: the schema's table contents hold the extension's row" grep -qE "^extensions: \($EXT," \
    "$TMP/contents-ext.txt"
  assert_false "no table in the schema holds a device password (as text or bytes)" \
    text_holds "$TMP/contents-ext.txt" "${EXT_SECRETS[@]}"
  for _ in $(seq 1 50); do
    statement_log "$TMP/pg-ext.log"
    grep -qF "$EXT30" "$TMP/pg-ext.log" && break
    sleep 0.1
  done
  sleep 0.5
  statement_log "$TMP/pg-ext.log"
  assert_true "control: the statement log records the extension inserts" grep -qF "INSERT INTO extensions" \
    "$TMP/pg-ext.log"
  assert_false "the statement log holds no device password (as text or bytes)" \
    text_holds "$TMP/pg-ext.log" "${EXT_SECRETS[@]}"
else
  assert_true "control: the file search finds the extension's id" files_hold text "$D" "$EXT"
  assert_false "no file in the data dir holds a device password" files_hold text "$D" "${EXT_SECRETS[@]}"
fi
ext_audit=$(sql "$D" "select * from audit_log where action like 'extension.%' or action like 'trunk.%'")
assert_contains "control: the audit log names the extension" "$ext_audit" "$EXT"
for secret in "${EXT_SECRETS[@]}" "+442079460123" "2079460123"; do
  assert_not_contains "the audit log does not hold '$secret'" "$ext_audit" "$secret"
done
expect_ok "$PRIVOX" audit verify --data-dir "$D"
assert_eq "audit verify after provisioning counts every entry" "ok $(audit_count) entries" "$(stdout)"

# SIP bans (sip/bans.h): the store knows a banned source only by a keyed hash of its address. serve
# makes them (src/sip/guard_e2e.sh); here one is written as serve's writer would, then lifted.
expect_ok "$PRIVOX" ban list --data-dir "$D"
assert_eq "ban list prints nothing while nobody is banned" "" "$(stdout)"
BAN_ID=0123456789abcdef0123456789abcdef
NOW_US=$(($(date +%s) * 1000000))
sql "$D" "insert into sip_bans (address_hash, banned_at_us, banned_until_us, strikes, reason, seq, expires_at_us)
          values ('$BAN_ID', $NOW_US, $((NOW_US + 600000000)), 2, 'auth_failures', 1, $((NOW_US + 87000000000)))" \
  >/dev/null
expect_ok "$PRIVOX" ban list --data-dir "$D"
assert_match "ban list: id, since, until, strikes, reason, state" "$(stdout)" \
  "^$BAN_ID	[0-9T:.-]+Z	[0-9T:.-]+Z	2	auth_failures	active$"
expect_ok "$PRIVOX" ban list --data-dir "$D" --address 192.0.2.7
assert_eq "ban list --address shows only that address's ban (none)" "" "$(stdout)"
expect_fail 2 -- "--id" "$PRIVOX" ban lift --data-dir "$D" --id not-an-id
expect_fail 2 -- "--address" "$PRIVOX" ban lift --data-dir "$D" --address not-an-address
expect_fail 2 -- "--id" "$PRIVOX" ban lift --data-dir "$D"
expect_fail 3 -- "--id" "$PRIVOX" ban lift --data-dir "$D" --address 192.0.2.7
expect_ok "$PRIVOX" ban lift --data-dir "$D" --id "$BAN_ID"
assert_eq "ban lift says so" "ban $BAN_ID lifted" "$(stdout)"
assert_eq "ban lift writes a sip.ban_lift audit entry" "sip.ban_lift||" "$(last_audit)"
expect_ok "$PRIVOX" ban list --data-dir "$D"
assert_eq "a lifted ban is no longer listed" "" "$(stdout)"
expect_ok "$PRIVOX" ban list --data-dir "$D" --all
assert_match "ban list --all shows it lifted, its strikes kept for a repeat" "$(stdout)" "^$BAN_ID	.*	2	auth_failures	lifted$"
expect_fail 3 -- "--id" "$PRIVOX" ban lift --data-dir "$D" --id "$BAN_ID"

# ---------------------------------------------------------------------------------------------
# 9. audit verify and tampering

expect_ok "$PRIVOX" audit verify --data-dir "$D"
verify_out=$(stdout)
n_entries=$(sql "$D" "select count(*) from audit_log")
assert_match "audit verify prints ok N entries" "$verify_out" '^ok [0-9]+ entries$'
assert_eq "audit verify counts every entry" "ok $n_entries entries" "$verify_out"
assert_true "the audit log has entries" test "$n_entries" -gt 5

tampered() {  # tampered NAME [SQL]: sets T to a copy of the data dir (store included) with SQL applied
  T="$TMP/tamper-$1"
  copy_data_dir "$D" "$T" || fail "cannot copy the data dir to $T"
  if [ $# -ge 2 ]; then
    local out
    out=$(sql "$T" "$2" 2>&1) || fail "tampering with $T failed" "$out"
  fi
}

tampered none
expect_ok "$PRIVOX" audit verify --data-dir "$T"
assert_eq "control: an untampered copy of the data dir verifies" "ok $n_entries entries" "$(stdout)"

tampered detail "update audit_log set detail = '{\"company_id\":\"x\"}' where seq = 2"
expect_fail nz "entry 2([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

tampered purpose "update audit_log set purpose = 'marketing' where action = 'member.show' and purpose = 'billing'"
expect_fail nz "entry [0-9]+" "$PRIVOX" audit verify --data-dir "$T"

tampered middle "delete from audit_log where seq = 3"
expect_fail nz "entry 3([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

tampered swap "update audit_log set seq = -1 where seq = 2; update audit_log set seq = 2 where seq = 3;
              update audit_log set seq = 3 where seq = -1"
expect_fail nz "entry 2([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

tampered swapcontent "create temp table a as select * from audit_log where seq in (2, 3);
  update audit_log set id = 'tmp-' || seq where seq in (2, 3);
  update audit_log set (id, at_us, actor, action, subject_id, purpose, detail, prev_hash, hash) =
    (select id, at_us, actor, action, subject_id, purpose, detail, prev_hash, hash from a where a.seq = 5 - audit_log.seq)
    where seq in (2, 3);"
expect_fail nz "entry [23]([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

tampered last "delete from audit_log where seq = (select max(seq) from audit_log)"
expect_fail nz "entry $n_entries([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

expect_ok "$PRIVOX" audit verify --data-dir "$D"
assert_eq "the original chain still verifies after the copies were tampered with" "ok $n_entries entries" "$(stdout)"

# ---------------------------------------------------------------------------------------------
# 10. serve

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
URL="http://127.0.0.1:$PORT"
CURL=(curl --noproxy '*' -s -m 3)

with_store "$PRIVOX" serve --data-dir "$D" --http "127.0.0.1:$PORT" --sip 127.0.0.1:0
suite_keep "$TMP/serve.out" "$TMP/serve.err"
"${CMD[@]}" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
up=0
for _ in $(seq 1 100); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  if [ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL/healthz" 2>/dev/null)" == 200 ]; then
    up=1
    break
  fi
  sleep 0.1
done
if [ "$up" -eq 1 ]; then
  pass
  code=$("${CURL[@]}" -o "$TMP/healthz.json" -D "$TMP/healthz.headers" -w '%{http_code}' "$URL/healthz")
  assert_eq "GET /healthz answers 200" 200 "$code"
  assert_true "GET /healthz is JSON with status ok" json_ok "$TMP/healthz.json" \
    "d['status'] == 'ok' and d['schema_version'] >= 1"
  assert_match "GET /healthz body has \"status\":\"ok\"" "$(cat "$TMP/healthz.json")" '"status": ?"ok"'
  assert_true "responses carry X-Content-Type-Options: nosniff" \
    grep -qiE '^x-content-type-options: *nosniff' "$TMP/healthz.headers"
  assert_true "GET /healthz has a JSON content type" grep -qiE '^content-type: *application/json' "$TMP/healthz.headers"

  code=$("${CURL[@]}" -o "$TMP/404.json" -D "$TMP/404.headers" -w '%{http_code}' "$URL/no/such/path")
  assert_eq "an unknown path answers 404" 404 "$code"
  assert_true "the 404 body is a JSON object" json_ok "$TMP/404.json" "isinstance(d, dict) and d"
  assert_true "the 404 also carries nosniff" grep -qiE '^x-content-type-options: *nosniff' "$TMP/404.headers"

  code=$("${CURL[@]}" -o "$TMP/405.json" -X POST -d '{}' -w '%{http_code}' "$URL/healthz")
  assert_eq "POST /healthz answers 405" 405 "$code"
  assert_true "the 405 body is JSON" json_ok "$TMP/405.json" "isinstance(d, dict)"

  kill -TERM "$SERVER_PID"
  stopped=0
  for _ in $(seq 1 50); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      stopped=1
      break
    fi
    sleep 0.1
  done
  if [ "$stopped" -eq 1 ]; then
    wait "$SERVER_PID"
    assert_eq "serve exits 0 on SIGTERM" 0 "$?"
  else
    fail "serve did not exit within 5 s of SIGTERM" "$(tail -5 "$TMP/serve.err")"
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=""
  if "${CURL[@]}" -o /dev/null "$URL/healthz"; then
    fail "the port still answers after serve stopped"
  else
    pass
  fi
else
  fail "serve did not answer GET /healthz on $URL within 10 s" "$(tail -5 "$TMP/serve.err")"
  kill -KILL "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
fi

new_store "$TMP/uninitialised"
expect_fail 2 "privox init" "$PRIVOX" serve --data-dir "$TMP/uninitialised" --http 127.0.0.1:0
assert_false "serve on an uninitialised dir does not create it" test -e "$TMP/uninitialised"
if pg; then
  assert_eq "serve on an uninitialised dir creates no table in its schema" "" "$(store_tables "$TMP/uninitialised")"
fi
expect_fail 2 -- "--http" "$PRIVOX" serve --data-dir "$D" --http nonsense
expect_fail 2 -- "--http" "$PRIVOX" serve --data-dir "$D" --http 127.0.0.1:99999
expect_fail 2 -- "--sip" "$PRIVOX" serve --data-dir "$D" --http 127.0.0.1:0 --sip nonsense
expect_fail 2 -- "--digest-challenges" "$PRIVOX" serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:0 --digest-challenges md5,sha1
expect_fail 2 -- "--ring-timeout" "$PRIVOX" serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:0 --ring-timeout 0

# ---------------------------------------------------------------------------------------------
# 11. datamap

expect_ok "$PRIVOX" datamap
datamap_text=$(stdout)
assert_contains "datamap lists email" "$datamap_text" "email"
assert_contains "datamap lists per_subject_key protection" "$datamap_text" "per_subject_key"
assert_contains "datamap lists birth_date" "$datamap_text" "birth_date"

expect_ok "$PRIVOX" datamap --json
cp "$OUT" "$TMP/datamap.json"
assert_true "datamap --json has personal_fields with birth_date" json_ok "$TMP/datamap.json" \
  "any(f['name'] == 'birth_date' for f in d['personal_fields'])"
assert_true "datamap --json: every member field is protected by a per-subject key" json_ok "$TMP/datamap.json" \
  "all(f['protection'] == 'per_subject_key' for f in d['personal_fields'] if f['table'] == 'members')"
# Every column of every table in the store, as TABLE|COLUMN lines.
if pg; then
  sql "$D" "select table_name, column_name from information_schema.columns where table_schema = current_schema()
            order by 1, 2" >"$TMP/columns.txt"
else
  sql "$D" "select m.name, p.name from sqlite_master m join pragma_table_info(m.name) p
            where m.type = 'table' and m.name not like 'sqlite_%' order by 1, 2" >"$TMP/columns.txt"
fi
assert_true "control: the store's column list has the members table's columns" \
  grep -qxF "members|email_enc" "$TMP/columns.txt"
assert_true "datamap --json: the store's member columns are all declared" python3 - "$TMP/datamap.json" \
  "$TMP/columns.txt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
declared = {(f["table"], f["column"]) for f in d["personal_fields"]}
declared |= {(f["table"], f["blind_index_column"]) for f in d["personal_fields"] if "blind_index_column" in f}
declared |= {(c["table"], c["column"]) for c in d["non_personal_columns"]}
missing = []
for line in open(sys.argv[2]).read().splitlines():
    table, column = line.split("|")
    if (table, column) not in declared:
        missing.append(f"{table}.{column}")
if missing:
    print("undeclared columns:", ", ".join(missing))
    sys.exit(1)
PY

# ---------------------------------------------------------------------------------------------
# 12. Concurrent writers (postgresql): several privox processes on one store at once. Each add
# and each show appends to the audit chain, so the chain must come out whole, with no fork.

if pg; then
  members_before=$(sql "$D" "select count(*) from members")
  audit_before=$(audit_count)
  PER_WORKER=15

  # adder NAME: adds PER_WORKER members, each with its own email, and shows each one right after
  # adding it; prints one line per failure, and the new ids to $TMP/NAME.ids.
  adder() {
    local who=$1 i id email
    : >"$TMP/$who.ids"
    for i in $(seq 1 "$PER_WORKER"); do
      email="$who.$i@concurrency.example.net"
      member_args "$COMPANY" name "Worker $who" email "$email"
      with_store "$PRIVOX" "${MARGS[@]}"
      if ! id=$(timeout 30 "${CMD[@]}" 2>"$TMP/$who.err"); then
        echo "member add $email failed: $(cat "$TMP/$who.err")"
        continue
      fi
      echo "$id" >>"$TMP/$who.ids"
      with_store "$PRIVOX" member show --data-dir "$D" --id "$id" --purpose support
      if ! timeout 30 "${CMD[@]}" >"$TMP/$who.show" 2>"$TMP/$who.err"; then
        echo "member show $id failed: $(cat "$TMP/$who.err")"
      elif ! grep -qF "\"$email\"" "$TMP/$who.show"; then
        echo "member show $id does not show $email: $(cat "$TMP/$who.show")"
      fi
    done
  }
  # shower: shows Alice PER_WORKER times while the adders run.
  shower() {
    local i
    for i in $(seq 1 "$PER_WORKER"); do
      with_store "$PRIVOX" member show --data-dir "$D" --id "$ALICE" --purpose billing
      if ! timeout 30 "${CMD[@]}" >"$TMP/shower.show" 2>"$TMP/shower.err"; then
        echo "member show $ALICE failed: $(cat "$TMP/shower.err")"
      elif ! grep -qF '"alice@example.com"' "$TMP/shower.show"; then
        echo "member show $ALICE does not show her email: $(cat "$TMP/shower.show")"
      fi
    done
  }
  adder alpha >"$TMP/alpha.failures" 2>&1 &
  WORKER_PIDS+=($!)
  adder beta >"$TMP/beta.failures" 2>&1 &
  WORKER_PIDS+=($!)
  shower >"$TMP/shower.failures" 2>&1 &
  WORKER_PIDS+=($!)
  for pid in "${WORKER_PIDS[@]}"; do wait "$pid"; done
  WORKER_PIDS=()

  for who in alpha beta shower; do
    assert_eq "concurrent $who: every privox command succeeds" "" "$(cat "$TMP/$who.failures")"
  done
  assert_eq "concurrent adders: each gets $PER_WORKER ids" "$PER_WORKER $PER_WORKER" \
    "$(wc -l <"$TMP/alpha.ids") $(wc -l <"$TMP/beta.ids")"
  assert_eq "concurrent adders: all ids are distinct UUIDv7s" $((2 * PER_WORKER)) \
    "$(cat "$TMP/alpha.ids" "$TMP/beta.ids" | grep -E "$UUID_RE" | sort -u | wc -l)"
  assert_eq "concurrent adders: the store has exactly the new members" $((members_before + 2 * PER_WORKER)) \
    "$(sql "$D" "select count(*) from members")"
  new_ids=$(grep -hE "$UUID_RE" "$TMP/alpha.ids" "$TMP/beta.ids" | sed "s/.*/'&'/" | paste -sd,)
  assert_eq "concurrent adders: every new member is stored, active, with a data key" \
    "$((2 * PER_WORKER))|$((2 * PER_WORKER))" \
    "$(sql "$D" "select (select count(*) from members where status = 'active' and id in (${new_ids:-''})) || '|' ||
                        (select count(*) from subject_keys where subject_id in (${new_ids:-''}))")"
  n_audit=$(audit_count)
  assert_eq "concurrent writers: one audit entry per add and per show" $((audit_before + 5 * PER_WORKER)) "$n_audit"
  assert_eq "concurrent writers: audit seqs run 1..N with no gap or repeat" "1|$n_audit|$n_audit" \
    "$(sql "$D" "select min(seq) || '|' || max(seq) || '|' || count(distinct seq) from audit_log")"
  assert_eq "concurrent writers: no two audit entries follow the same entry (the chain did not fork)" 0 \
    "$(sql "$D" "select count(*) - count(distinct prev_hash) from audit_log")"
  expect_ok "$PRIVOX" audit verify --data-dir "$D"
  assert_eq "audit verify after concurrent writers counts every entry" "ok $n_audit entries" "$(stdout)"

  assert_false "no command made a SQLite store in the postgresql data dir" test -e "$DB"
fi

# ---------------------------------------------------------------------------------------------

# --- rating: a malformed deck is refused whole with its line; a good one prices a number ---
printf '44,UK,0.01,0,60/60,GBP,2026-01-01\n45,Denmark,-0.02,0,60/60,GBP,2026-01-01\n' >"$TMP/bad-deck.csv"
expect_fail nz -- "line 2: price_per_minute" "$PRIVOX" rating import --data-dir "$D" --name "Bad" --file "$TMP/bad-deck.csv"
assert_eq "a refused deck stores nothing" 0 "$(sql "$D" "select count(*) from rates")"
printf 'prefix,description,price_per_minute,connection_fee,increments,currency,valid_from\n44,UK,0.01,0,60/60,GBP,2026-01-01\n447,UK mobile,0.12,0.05,30/6,GBP,2026-01-01\n' \
  >"$TMP/deck.csv"
expect_ok "$PRIVOX" rating import --data-dir "$D" --name "Carrier A" --file "$TMP/deck.csv"
assert_contains "the import reports its rates" "$(stdout | tr -d ' \n')" '"rates":2'
expect_ok "$PRIVOX" rating price --data-dir "$D" --number +447700900123 --seconds 31 --at 2026-03-01
assert_contains "the longest prefix prices it: 0.05 + 36 s at 0.12/min" "$(stdout | tr -d ' \n')" '"cost_micros":122000'
expect_fail nz -- "line 1: prefix 44 is already priced" "$PRIVOX" rating import --data-dir "$D" --name "Again" \
  --file <(printf '44,UK,0.02,0,60/60,GBP,2026-01-01\n')
expect_ok "$PRIVOX" rating plan set --data-dir "$D" --company "$COMPANY" --included 44
expect_ok "$PRIVOX" rating price --data-dir "$D" --number +442079460958 --company "$COMPANY"
assert_contains "the plan includes the company's domestic calls" "$(stdout | tr -d ' \n')" '"included":true'
assert_eq "the import and the plan are audited" 2 \
  "$(sql "$D" "select count(*) from audit_log where action in ('rating.deck_import', 'rating.plan_set')")"
# The operator's high-risk prefixes: listed, refused twice and when malformed, shown, let through per
# company, and taken off again; each change audited.
expect_ok "$PRIVOX" rating high-risk add --data-dir "$D" --prefix +882 --description "international networks"
assert_contains "the list shows the prefix without its +" "$(stdout | tr -d ' \n')" '"description":"internationalnetworks","prefix":"882"'
expect_fail 4 -- "882 is already listed" "$PRIVOX" rating high-risk add --data-dir "$D" --prefix 882 --description again
expect_fail 2 -- "--prefix" "$PRIVOX" rating high-risk add --data-dir "$D" --prefix 88x --description letters
expect_ok "$PRIVOX" rating destinations set --data-dir "$D" --company "$COMPANY" --countries '*' --high-risk
assert_contains "a company can be let call them" "$(stdout | tr -d ' \n')" '"high_risk":true'
expect_ok "$PRIVOX" rating high-risk remove --data-dir "$D" --prefix 882
assert_eq "and the list is empty again" "[]" "$(stdout | tr -d ' \n')"
expect_fail 3 -- "882 is not listed" "$PRIVOX" rating high-risk remove --data-dir "$D" --prefix 882
assert_eq "listing and removing are audited" 2 \
  "$(sql "$D" "select count(*) from audit_log where action in ('rating.high_risk_add', 'rating.high_risk_remove')")"


# --- callflow: a line's forwarding and do-not-disturb, and a ring group; refusals name the flag ---
expect_ok "$PRIVOX" company add --data-dir "$D" --name "Callflow Ltd" --region eea --country GB
CF_COMPANY=$(stdout)
expect_ok "$PRIVOX" extension add --data-dir "$D" --company "$CF_COMPANY" --number 610 --generate-password
CF_A=$(sql "$D" "select id from extensions where company_id = '$CF_COMPANY' and number = '610'")
expect_ok "$PRIVOX" extension add --data-dir "$D" --company "$CF_COMPANY" --number 611 --generate-password
CF_B=$(sql "$D" "select id from extensions where company_id = '$CF_COMPANY' and number = '611'")
CF_MOBILE=07911123456
expect_ok "$PRIVOX" line forward --data-dir "$D" "$CF_A" --busy line:611 --no-answer "external:$CF_MOBILE" \
  --no-answer-seconds 25
expect_ok "$PRIVOX" line forwarding --data-dir "$D" "$CF_A"
assert_contains "forwarding shows the busy target by number" "$(stdout | tr -d ' \n')" '"busy":{"kind":"line","number":"611"'
assert_contains "and the external number in E.164" "$(stdout | tr -d ' \n')" '"number":"+447911123456"'
assert_contains "and the ring time" "$(stdout | tr -d ' \n')" '"no_answer_seconds":25'
if pg; then
  store_contents "$D" >"$TMP/callflow-store.txt" || fail "cannot read the tables of the schema"
  assert_false "no table holds the forward's external number" text_holds "$TMP/callflow-store.txt" "447911123456" "7911123456"
else
  assert_false "no file in the data dir holds the forward's external number" files_hold text "$D" "447911123456" "7911123456"
fi
expect_fail 2 -- "--always: is a premium-rate" "$PRIVOX" line forward --data-dir "$D" "$CF_A" --always external:09098790000
expect_fail 3 -- "--busy:" "$PRIVOX" line forward --data-dir "$D" "$CF_A" --busy line:699
expect_fail 2 -- "--no-answer-seconds" "$PRIVOX" line forward --data-dir "$D" "$CF_A" --no-answer-seconds 2
expect_ok "$PRIVOX" line forward --data-dir "$D" "$CF_B" --always line:610
expect_fail 4 -- "--always: would forward calls in a circle" "$PRIVOX" line forward --data-dir "$D" "$CF_A" --always line:611
expect_ok "$PRIVOX" line forward --data-dir "$D" "$CF_B" --clear always
assert_contains "a cleared forward is gone" "$(stdout | tr -d ' \n')" '"always":null'
expect_ok "$PRIVOX" line dnd --data-dir "$D" "$CF_B" on
assert_contains "dnd on" "$(stdout | tr -d ' \n')" '"dnd":true'
expect_ok "$PRIVOX" line dnd --data-dir "$D" "$CF_B" off
assert_contains "dnd off" "$(stdout | tr -d ' \n')" '"dnd":false'
expect_fail 2 -- "--dnd" "$PRIVOX" line dnd --data-dir "$D" "$CF_B" maybe
expect_ok "$PRIVOX" group create --data-dir "$D" --company "$CF_COMPANY" --number 650 --name Sales \
  --strategy sequential --ring-seconds 15 --member "$CF_B" --member "$CF_A" --overflow voicemail:610
CF_GROUP=$(stdout)
expect_ok "$PRIVOX" group list --data-dir "$D" --company "$CF_COMPANY"
assert_contains "the group is listed with its members in order" "$(stdout | tr -d ' \n')" \
  "\"members\":[{\"kind\":\"line\",\"number\":\"611\",\"ref\":\"$CF_B\"},{\"kind\":\"line\",\"number\":\"610\""
expect_fail 2 -- "--ring-seconds" "$PRIVOX" group create --data-dir "$D" --company "$CF_COMPANY" --number 651 \
  --name Support --strategy sequential --ring-seconds 2 --member "$CF_A"
expect_fail 4 -- "--number" "$PRIVOX" group create --data-dir "$D" --company "$CF_COMPANY" --number 610 \
  --name Support --strategy simultaneous --ring-seconds 20 --member "$CF_A"
expect_ok "$PRIVOX" line forward --data-dir "$D" "$CF_A" --unregistered group:650
expect_fail 4 -- "--group" "$PRIVOX" group delete --data-dir "$D" "$CF_GROUP"
expect_ok "$PRIVOX" line forward --data-dir "$D" "$CF_A" --clear unregistered
expect_ok "$PRIVOX" group delete --data-dir "$D" "$CF_GROUP"
expect_ok "$PRIVOX" group list --data-dir "$D" --company "$CF_COMPANY"
assert_eq "a deleted group is gone" "[]" "$(stdout | tr -d ' \n')"
assert_eq "each change is audited: five forwarding changes, dnd twice, a group made and deleted" 9 "$(sql "$D" "select count(*) from audit_log where action like 'forwarding.%' or action like 'ring_group.%'")"
assert_eq "the audit log never holds the number" 0 \
  "$(sql "$D" "select count(*) from audit_log where detail like '%7911123456%'")"

# --- the virtual receptionist: menus with keys, a receptionist and a greeting; refusals name the flag ---
expect_ok "$PRIVOX" group create --data-dir "$D" --company "$CF_COMPANY" --number 652 --name Support --member "$CF_A"
expect_ok "$PRIVOX" menu create --data-dir "$D" --company "$CF_COMPANY" --name "After hours" --key 1=voicemail:610
CF_SUB=$(stdout)
expect_ok "$PRIVOX" menu create --data-dir "$D" --company "$CF_COMPANY" --name "Main menu" --timeout 8 \
  --timeout-action line:611 --key 1=line:610 --key 2=group:652 --key 3=voicemail:611 --key 4=external:02079460000 \
  --key "5=menu:$CF_SUB" --key 9=dial_by_extension --key 0=repeat
CF_MENU=$(stdout)
expect_ok "$PRIVOX" menu show --data-dir "$D" "$CF_MENU"
assert_contains "a key's target shows by number" "$(stdout | tr -d ' \n')" '"2":{"kind":"group","number":"652"'
assert_contains "an external one in E.164" "$(stdout | tr -d ' \n')" '"number":"+442079460000"'
assert_contains "and the timeout's action" "$(stdout | tr -d ' \n')" '"timeout":{"kind":"line","number":"611"'
expect_fail 2 -- "--key: key 7: is a premium-rate" "$PRIVOX" menu create --data-dir "$D" --company "$CF_COMPANY" \
  --name Bad --key 7=external:09098790000
expect_fail 2 -- "--timeout:" "$PRIVOX" menu create --data-dir "$D" --company "$CF_COMPANY" --name Bad --timeout 1
expect_ok "$PRIVOX" receptionist create --data-dir "$D" --company "$CF_COMPANY" --number 500 --name "Front desk" \
  --did "020 7946 0500" --open-menu "$CF_MENU" --closed-menu "$CF_SUB"
CF_RECEPTIONIST=$(stdout)
expect_ok "$PRIVOX" receptionist show --data-dir "$D" "$CF_RECEPTIONIST"
assert_contains "its DID in E.164" "$(stdout | tr -d ' \n')" '"did":"+442079460500"'
expect_fail 4 -- "--number: company .* has a line" "$PRIVOX" receptionist create --data-dir "$D" \
  --company "$CF_COMPANY" --number 610 --name Desk --open-menu "$CF_MENU"
expect_fail 4 -- "--number: company .* has a receptionist" "$PRIVOX" group create --data-dir "$D" \
  --company "$CF_COMPANY" --number 500 --name Sales --member "$CF_A"
expect_fail 3 -- "--open-menu" "$PRIVOX" receptionist create --data-dir "$D" --company "$CF_COMPANY" --number 501 \
  --name Desk --open-menu 0190b8c0-0000-7000-8000-000000000000
expect_ok "$PRIVOX" menu greeting --data-dir "$D" "$CF_MENU" --file /usr/share/asterisk/sounds/en_US_f_Allison/vm-intro.wav
assert_contains "the menu has its greeting" "$(stdout | tr -d ' \n')" '"has_greeting":true'
printf 'not a wav' >"$TMP/menu.txt"
expect_fail 2 -- "--audio" "$PRIVOX" menu greeting --data-dir "$D" "$CF_MENU" --file "$TMP/menu.txt"
expect_fail 4 -- "--menu: receptionist" "$PRIVOX" menu delete --data-dir "$D" "$CF_MENU"
expect_ok "$PRIVOX" receptionist delete --data-dir "$D" "$CF_RECEPTIONIST"
expect_ok "$PRIVOX" menu delete --data-dir "$D" "$CF_MENU"
expect_ok "$PRIVOX" menu list --data-dir "$D" --company "$CF_COMPANY"
assert_contains "the sub-menu stays" "$(stdout | tr -d ' \n')" "\"id\":\"$CF_SUB\""
assert_eq "the deleted menu is gone" 1 "$(sql "$D" "select count(*) from receptionist_menus where company_id = '$CF_COMPANY'")"
assert_eq "the deleted menu's key went with it" 0 "$(sql "$D" "select count(*) from subject_keys where subject_id = '$CF_MENU'")"
assert_eq "each change is audited: two menus, a receptionist, a greeting, both deleted" 6 \
  "$(sql "$D" "select count(*) from audit_log where action like 'receptionist.%'")"

# --- conference rooms: a company room and a line's own; the PIN sealed and read back audited; refusals name the flag ---
expect_ok "$PRIVOX" conference create --data-dir "$D" --company "$CF_COMPANY" --number 700 --name "Weekly call" \
  --did "020 7946 0700" --pin 80417723
CF_ROOM=$(stdout)
expect_ok "$PRIVOX" conference show --data-dir "$D" "$CF_ROOM"
assert_contains "the room's DID in E.164" "$(stdout | tr -d ' \n')" '"did":"+442079460700"'
expect_fail 2 -- "--pin: must be 4 to 12 digits" "$PRIVOX" conference create --data-dir "$D" --company "$CF_COMPANY" \
  --number 701 --name Short --pin 12a
assert_false "the refusal does not quote the PIN" grep -q 12a "$ERR"
expect_fail 4 -- "--number: company .* has a line" "$PRIVOX" conference create --data-dir "$D" --company "$CF_COMPANY" \
  --number 610 --name Clash --pin 1234
expect_fail 4 -- "--number: company .* has a conference room" "$PRIVOX" group create --data-dir "$D" \
  --company "$CF_COMPANY" --number 700 --name Sales --member "$CF_A"
expect_ok "$PRIVOX" conference create --data-dir "$D" --company "$CF_COMPANY" --line "$CF_A" --name "Desk room" --pin 2468
expect_fail 4 -- "--line: line .* already has a conference room" "$PRIVOX" conference create --data-dir "$D" \
  --company "$CF_COMPANY" --line "$CF_A" --name Again --pin 2468
expect_ok "$PRIVOX" conference list --data-dir "$D" --company "$CF_COMPANY"
assert_contains "the line's room is listed with its line" "$(stdout | tr -d ' \n')" "\"line_id\":\"$CF_A\",\"name\":\"Deskroom\""
expect_ok "$PRIVOX" conference update --data-dir "$D" "$CF_ROOM" --name Board --no-did --pin 5829301746
assert_contains "the update drops the DID" "$(stdout | tr -d ' \n')" '"did":null'
expect_ok "$PRIVOX" conference pin --data-dir "$D" "$CF_ROOM"
assert_eq "the new PIN reads back" 5829301746 "$(stdout)"
if pg; then
  store_contents "$D" >"$TMP/conference-store.txt" || fail "cannot read the tables of the schema"
  assert_false "no table holds a room's PIN" text_holds "$TMP/conference-store.txt" "80417723" "5829301746"
else
  assert_false "no file in the data dir holds a room's PIN" files_hold text "$D" "80417723" "5829301746"
fi
expect_ok "$PRIVOX" conference delete --data-dir "$D" "$CF_ROOM"
expect_fail 3 -- "--id: no conference room" "$PRIVOX" conference show --data-dir "$D" "$CF_ROOM"
assert_eq "each change and the PIN's reading are audited: two rooms, an update, a read, a delete" 5 \
  "$(sql "$D" "select count(*) from audit_log where action like 'conference.%'")"
assert_eq "the audit log never holds a PIN" 0 \
  "$(sql "$D" "select count(*) from audit_log where detail like '%80417723%' or detail like '%5829301746%'")"

finish
