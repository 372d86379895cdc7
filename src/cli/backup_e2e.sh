#!/usr/bin/env bash
# Backups end to end, through the privox binary: a snapshot taken while `privox serve` runs and
# writes (page views counted by serve, companies added beside it), without the master key and with
# a manifest that holds no personal data; restored into a fresh data directory that shares the key,
# where the data reads back; a tampered snapshot, a newer schema version, a manifest that lies about
# the version and a snapshot under another key refused before the target changes; an out directory
# that is the key's or inside the data directory refused; and an audit anchor that catches a tail cut
# off the chain even after the head row was rewound to match. On PostgreSQL also: pg_dump never sees
# the password on its command line, and a restore replaces a store that already holds data.
# Usage: backup_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

RUN=$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')
EXTRA_DBS=()
backup_cleanup() {
  local status=$? db
  for db in "${EXTRA_DBS[@]}"; do
    timeout 30 psql -X -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  done
  e2e_cleanup "$status"
}
trap backup_cleanup EXIT

D=$TMP/data
new_data_dir "$D"
SRC_SCHEMA=""
[ "$BACKEND" == postgresql ] && SRC_SCHEMA=${E2E_STORE_OF[$D]##*search_path%3D}

# fresh_pg_dir DIR: DIR's store is the source's schema name in a database of its own (a PostgreSQL
# snapshot restores into a schema of the same name). SQLite: nothing to do.
fresh_pg_dir() {
  [ "$BACKEND" == postgresql ] || return 0
  local db="bk_${E2E_RUN_ID}_${#EXTRA_DBS[@]}"
  timeout 30 psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE $db" >/dev/null || { echo "cannot create $db" >&2; exit 2; }
  EXTRA_DBS+=("$db")
  timeout 30 psql -X -q -v ON_ERROR_STOP=1 "${PG_URL%/*}/$db" -c "CREATE SCHEMA $SRC_SCHEMA" >/dev/null || exit 2
  E2E_STORE_OF[$1]="${PG_URL%/*}/$db?options=-csearch_path%3D$SRC_SCHEMA"
}
# state_of DIR: what a refused restore must leave as it was
state_of() {
  store_sql "$1" "SELECT (SELECT count(*) FROM audit_log) || ':' || (SELECT hash FROM audit_head) || ':' || (SELECT count(*) FROM companies)"
  [ "$BACKEND" == sqlite ] && sha256sum <"$1/privox.db"
}
restore_err() {  # restore_err DIR SNAPSHOT: runs a restore expected to fail; prints "rc=N" and its stderr
  local rc
  px "$1" restore --from "$2" >/dev/null 2>"$TMP/restore.err"
  rc=$?
  echo "rc=$rc $(cat "$TMP/restore.err")"
}

COMPANY=$(px "$D" company add --name "Backup Test Ltd" --region eea --country GB)
NAME="Dana Backup-$RUN"
EMAIL="dana-$RUN@example.com"
MEMBER=$(px "$D" member add --company "$COMPANY" --name "$NAME" --email "$EMAIL" --phone "020 7946 0958" \
  --address "2 Vault Lane" --birth-date 1985-03-14 --payment-token tok_backup)
assert_match "member added" "$MEMBER" '^[0-9a-f-]{36}$'

# --- backup while serve runs and writes --------------------------------------------------------------
HTTP_PORT=$(free_port)
start_bg serve "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$(free_port)" \
  --voicemail false
SERVE_PID=${E2E_PIDS[-1]}
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
assert_true "privox serve is up" curl -sf "http://127.0.0.1:$HTTP_PORT/healthz"
views() { store_sql "$D" "SELECT coalesce(sum(views), 0) FROM page_views"; }
# Writers: every page load is a write by serve; `company add` writes audit entries beside it.
(while :; do curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/"; done) &
E2E_PIDS+=($!)
CURL_LOOP=$!
(i=0; while :; do px "$D" company add --name "Writer $i" --region eea >/dev/null; i=$((i + 1)); done) &
E2E_PIDS+=($!)
CLI_LOOP=$!
for _ in $(seq 50); do [ "$(views)" -gt 20 ] && break; sleep 0.1; done
V0=$(views)
PATH_BEFORE=$PATH
if [ "$BACKEND" == postgresql ]; then
  # A pg_dump in front of the real one records what it was given.
  mkdir -p "$TMP/bin"
  printf '#!/bin/bash\nprintf "%%s\\n" "$@" >%q\n[ -n "${PGPASSWORD:-}" ] && echo set >%q\nexec /usr/bin/pg_dump "$@"\n' \
    "$TMP/pg_dump.argv" "$TMP/pg_dump.env" >"$TMP/bin/pg_dump"
  chmod +x "$TMP/bin/pg_dump"
  PATH="$TMP/bin:$PATH"
fi
SNAP=$TMP/backups/one
BACKUP_OUT=$(px "$D" backup --out "$SNAP" 2>&1)
assert_eq "backup succeeds while serve writes" 0 "$?"
PATH=$PATH_BEFORE
sleep 0.5
V1=$(views)
kill "$CURL_LOOP" "$CLI_LOOP" 2>/dev/null
wait "$CURL_LOOP" "$CLI_LOOP" 2>/dev/null
assert_contains "backup reports the snapshot" "$BACKUP_OUT" "written to $SNAP"
[ "$V1" -gt "$V0" ] && pass || fail "serve kept writing across the backup" "views before $V0, after $V1"
FILE=privox.db
[ "$BACKEND" == postgresql ] && FILE=privox.pgdump
assert_eq "the snapshot is the store and its manifest, nothing else" "manifest.json $FILE" "$(ls "$SNAP" | tr '\n' ' ' | sed 's/ $//')"
M=$SNAP/manifest.json
assert_true "manifest: format, backend, versions, anchor" python3 -c "
import json, sys, re
d = json.load(open('$M'))
assert d['format'] == 'privox-backup' and d['format_version'] == 1, d
assert d['backend'] == '$BACKEND' and d['file'] == '$FILE', d
assert d['schema_version'] == int('$(store_sql "$D" "SELECT max(version) FROM schema_migrations")'), d
assert d['audit']['length'] > 0 and re.fullmatch('[0-9a-f]{64}', d['audit']['head']), d
assert re.fullmatch('[0-9a-f]{64}', d['key_fingerprint']) and d['privox_version'] and d['created_at'].endswith('Z'), d
"
MANIFEST=$(cat "$M")
for personal in "$NAME" "$EMAIL" "Vault Lane" "Backup Test Ltd"; do
  assert_not_contains "the manifest holds no personal data ($personal)" "$MANIFEST" "$personal"
done
KEY_HEX=$(tail -c +22 "$D/master.key" | tr -d '\n')
assert_match "control: the key file's hex was read" "$KEY_HEX" '^[0-9a-f]{64}$'
assert_eq "the master key is in no file of the snapshot" "" "$(grep -rl "$KEY_HEX" "$SNAP")"
LEN=$(python3 -c "import json; print(json.load(open('$M'))['audit']['length'])")
assert_eq "the live chain records the backup right after the snapshot's head" "store.backup" \
  "$(store_sql "$D" "SELECT action FROM audit_log WHERE action = 'store.backup' AND seq > $LEN ORDER BY seq LIMIT 1")"
if [ "$BACKEND" == postgresql ]; then
  PASSWORD=$(python3 -c "import urllib.parse, sys; print(urllib.parse.urlparse(sys.argv[1]).password)" "$PG_URL")
  assert_contains "control: pg_dump's arguments were recorded" "$(cat "$TMP/pg_dump.argv")" "--format=custom"
  assert_eq "pg_dump's command line has no password" "" "$(grep -F "$PASSWORD" "$TMP/pg_dump.argv")"
  assert_eq "pg_dump got the password in PGPASSWORD" "set" "$(cat "$TMP/pg_dump.env" 2>/dev/null)"
  SNAP_COMPANIES=$(pg_restore -a -t companies -f - "$SNAP/$FILE" | awk '/^COPY /{on=1; next} /^\\\.$/{on=0} on' | wc -l)
else
  SNAP_COMPANIES=$(sqlite3 "$SNAP/$FILE" "SELECT count(*) FROM companies")
  assert_eq "the SQLite snapshot is a single file (not in WAL mode)" "delete" \
    "$(sqlite3 "$SNAP/$FILE" "PRAGMA journal_mode")"
  # A restore onto the store serve holds open is refused, and nothing changes.
  BEFORE=$(state_of "$D")
  OUT=$(restore_err "$D" "$SNAP")
  assert_contains "restore onto a store that serve holds open is refused" "$OUT" "open in another process"
  assert_match "  ... with a conflict exit" "$OUT" '^rc=4 '
  assert_eq "  ... and the store is as it was" "$BEFORE" "$(state_of "$D")"
fi
[ "$SNAP_COMPANIES" -gt 1 ] && pass || fail "the snapshot holds companies the writer added" "$SNAP_COMPANIES"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null

# --- restore into a fresh data directory that shares the key -------------------------------------------
R=$TMP/restored
mkdir -p "$R"
cp -p "$D/master.key" "$R/master.key"
fresh_pg_dir "$R"
OUT=$(px "$R" restore --from "$SNAP" 2>&1)
assert_eq "restore into a fresh data dir succeeds" 0 "$?"
assert_contains "restore reports the verified chain" "$OUT" "audit chain ok"
assert_eq "the restored store holds the snapshot's companies" "$SNAP_COMPANIES" "$(store_sql "$R" "SELECT count(*) FROM companies")"
assert_eq "the restored chain records the restore" "store.restore" \
  "$(store_sql "$R" "SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")"
assert_eq "the restored chain continues the snapshot's" "$((LEN + 1))" "$(store_sql "$R" "SELECT seq FROM audit_head")"
assert_true "the restored chain verifies" px "$R" audit verify
SHOWN=$(px "$R" member show --id "$MEMBER" --purpose support 2>&1)
assert_contains "the member's sealed data reads back with the shared key" "$SHOWN" "$EMAIL"

# --- a tampered snapshot is refused before anything changes ----------------------------------------------
BAD=$TMP/backups/tampered
cp -rp "$SNAP" "$BAD"
if [ "$BACKEND" == postgresql ]; then
  # Edit one audit row inside the dump: restore it elsewhere, change it, dump it again.
  TDB="bk_${E2E_RUN_ID}_tamper"
  timeout 30 psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE $TDB" >/dev/null
  EXTRA_DBS+=("$TDB")
  pg_restore --no-owner -d "${PG_URL%/*}/$TDB" "$SNAP/$FILE" 2>/dev/null
  psql -X -q -v ON_ERROR_STOP=1 "${PG_URL%/*}/$TDB" -c "UPDATE $SRC_SCHEMA.audit_log SET actor = 'cli:mallory' WHERE seq = 2" >/dev/null
  rm "$BAD/$FILE"
  pg_dump -Fc -n "$SRC_SCHEMA" -f "$BAD/$FILE" "${PG_URL%/*}/$TDB"
  assert_eq "control: the tampered dump holds the edit" 1 \
    "$(pg_restore -a -t audit_log -f - "$BAD/$FILE" | grep -c 'cli:mallory')"
else
  sqlite3 "$BAD/$FILE" "UPDATE audit_log SET actor = 'cli:mallory' WHERE seq = 2"
  assert_eq "control: the tampered copy holds the edit" "cli:mallory" \
    "$(sqlite3 "$BAD/$FILE" "SELECT actor FROM audit_log WHERE seq = 2")"
fi
BEFORE=$(state_of "$R")
OUT=$(restore_err "$R" "$BAD")
assert_contains "a tampered snapshot is refused for its broken chain" "$OUT" \
  "audit chain is broken at entry 2: entry 2 was altered"
assert_match "  ... with a non-zero exit" "$OUT" '^rc=[1-9]'
assert_eq "  ... and the target is as it was" "$BEFORE" "$(state_of "$R")"
[ "$BACKEND" == sqlite ] && assert_eq "  ... and no temporary file is left" "" "$(ls "$R" | grep restoring)"

# --- schema versions: a newer one, and a manifest that lies about the version ------------------------------
LATEST=$(store_sql "$D" "SELECT max(version) FROM schema_migrations")
set_version() {  # set_version DIR VERSION: a copy of the snapshot whose manifest says VERSION
  cp -rp "$SNAP" "$1"
  python3 -c "
import json, sys
d = json.load(open(sys.argv[1])); d['schema_version'] = int(sys.argv[2]); json.dump(d, open(sys.argv[1], 'w'))" \
    "$1/manifest.json" "$2"
}
set_version "$TMP/backups/newer" $((LATEST + 1))
OUT=$(restore_err "$R" "$TMP/backups/newer")
assert_contains "a snapshot of a newer schema is refused" "$OUT" \
  "the snapshot has schema version $((LATEST + 1)); this privox knows versions 1 to $LATEST"
assert_match "  ... with a non-zero exit" "$OUT" '^rc=[1-9]'
assert_eq "  ... and the target is as it was" "$BEFORE" "$(state_of "$R")"
set_version "$TMP/backups/lying" $((LATEST - 1))
OUT=$(restore_err "$R" "$TMP/backups/lying")
assert_contains "a manifest whose version is not the snapshot's is refused" "$OUT" \
  "the manifest says schema version $((LATEST - 1)) but the snapshot holds $LATEST"
assert_eq "  ... and the target is as it was" "$BEFORE" "$(state_of "$R")"

# --- a data directory under another master key cannot take the snapshot -------------------------------------
W=$TMP/other-key
new_data_dir "$W"
WBEFORE=$(state_of "$W")
OUT=$(restore_err "$W" "$SNAP")
assert_contains "a snapshot under another master key is refused" "$OUT" "made under another master key"
assert_eq "  ... and that store is as it was" "$WBEFORE" "$(state_of "$W")"
NOKEY=$TMP/no-key
mkdir -p "$NOKEY"
fresh_pg_dir "$NOKEY"
OUT=$(restore_err "$NOKEY" "$SNAP")
assert_contains "restore never makes a key" "$OUT" "no master key at $NOKEY/master.key"
assert_eq "  ... and leaves none" "" "$(ls "$NOKEY")"

# --- a restore replaces a store that already holds data ------------------------------------------------------
px "$R" company add --name "After the restore" --region eea >/dev/null
OUT=$(px "$R" restore --from "$SNAP" 2>&1)
assert_eq "restore over a store with data succeeds" 0 "$?"
assert_eq "  ... and leaves the snapshot's companies only" "$SNAP_COMPANIES" "$(store_sql "$R" "SELECT count(*) FROM companies")"
assert_true "  ... with a chain that verifies" px "$R" audit verify

# --- where a snapshot may not go ------------------------------------------------------------------------
OUT=$(px "$D" backup --out "$D" 2>&1)
assert_eq "backup into the data directory (the key's) exits 2" 2 "$?"
assert_contains "  ... naming the key" "$OUT" "--out: $D holds the master key"
OUT=$(px "$D" backup --out "$D/backups" 2>&1)
assert_eq "backup into a directory under the data directory exits 2" 2 "$?"
assert_contains "  ... saying so" "$OUT" "is inside the data directory"
assert_false "  ... and creates nothing there" test -e "$D/backups"
K=$TMP/key-backup  # where the operator keeps a copy of the key
mkdir -p "$K"
cp -p "$D/master.key" "$K/master.key"
OUT=$(px "$D" backup --out "$K" 2>&1)
assert_eq "backup into a directory that holds a master key exits 2" 2 "$?"
assert_contains "  ... naming the key" "$OUT" "--out: $K holds a master key"
assert_eq "  ... and writes nothing beside it" "master.key" "$(ls "$K")"
OUT=$(px "$D" backup --out "$SNAP" 2>&1)
assert_eq "backup into an existing snapshot exits 2" 2 "$?"
assert_contains "  ... saying it is not empty" "$OUT" "is not an empty directory"

# --- the audit anchor catches a truncated tail -------------------------------------------------------------
ANCHOR=$(px "$D" audit anchor)
assert_match "audit anchor prints LENGTH:HASH" "$ANCHOR" '^[0-9]+:[0-9a-f]{64}$'
ALEN=${ANCHOR%%:*}
assert_eq "the anchor is the chain's head" "$ALEN:$(store_sql "$D" "SELECT hash FROM audit_head")" "$ANCHOR"
px "$D" company add --name "After the anchor" --region eea >/dev/null
assert_true "verify --anchor holds on the grown chain" px "$D" audit verify --anchor "$ANCHOR"
KEEP=$((ALEN - 2))
store_sql "$D" "DELETE FROM audit_log WHERE seq > $KEEP" >/dev/null
store_sql "$D" "UPDATE audit_head SET seq = $KEEP, hash = (SELECT hash FROM audit_log WHERE seq = $KEEP) WHERE id = 1" >/dev/null
assert_true "control: the truncated chain verifies on its own" px "$D" audit verify
OUT=$(px "$D" audit verify --anchor "$ANCHOR" 2>&1)
assert_eq "verify --anchor fails on the truncated chain" 1 "$?"
assert_contains "  ... saying entries were removed since the anchor" "$OUT" \
  "the chain has $KEEP entries but the anchor was taken at $ALEN"
OUT=$(px "$D" audit verify --anchor "12:xyz" 2>&1)
assert_eq "a malformed anchor exits 2" 2 "$?"
assert_contains "  ... naming the flag" "$OUT" "--anchor:"

finish
