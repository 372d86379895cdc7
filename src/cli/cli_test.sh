#!/usr/bin/env bash
# End-to-end test of the privox CLI: every verb, driven the way an operator would drive it, with
# the data directory inspected from outside (sqlite3, raw file bytes) to check what privox
# promises about it. Usage: bash cli_test.sh /path/to/privox
# Needs: sqlite3, python3, curl. Uses only loopback addresses; every wait is bounded.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 /path/to/privox" >&2
  exit 2
fi
PRIVOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in sqlite3 python3 curl; do
  command -v "$tool" >/dev/null || { echo "cli_test.sh: needs $tool" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-cli-test.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Keep the server and every client on loopback, never through a proxy.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PRIVOX_DATA_DIR

PASS=0
FAILED=0
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

pass() { PASS=$((PASS + 1)); }

fail() {  # fail DESCRIPTION [DETAIL...]
  FAILED=$((FAILED + 1))
  echo "FAIL: $1"
  shift
  local line
  for line in "$@"; do
    printf '%s\n' "$line" | sed 's/^/      /'
  done
}

run() {  # run CMD...: stdout to $OUT, stderr to $ERR, exit status to $RC; bounded in time
  timeout 30 "$@" >"$OUT" 2>"$ERR"
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

assert_eq() {  # assert_eq DESCRIPTION EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then
    pass
  else
    fail "$1" "expected: $2" "actual:   $3"
  fi
}

assert_ne() {  # assert_ne DESCRIPTION UNEXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    pass
  else
    fail "$1" "should differ from: $2"
  fi
}

assert_contains() {  # assert_contains DESCRIPTION HAYSTACK NEEDLE (fixed string)
  if [[ "$2" == *"$3"* ]]; then
    pass
  else
    fail "$1" "expected to find: $3" "in: $2"
  fi
}

assert_not_contains() {  # assert_not_contains DESCRIPTION HAYSTACK NEEDLE (fixed string, any case)
  local hay needle
  hay=$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')
  needle=$(printf '%s' "$3" | tr '[:upper:]' '[:lower:]')
  if [[ "$hay" != *"$needle"* ]]; then
    pass
  else
    fail "$1" "must not contain: $3" "in: $2"
  fi
}

assert_match() {  # assert_match DESCRIPTION STRING EXTENDED-REGEX
  if [[ "$2" =~ $3 ]]; then
    pass
  else
    fail "$1" "expected to match: $3" "actual: $2"
  fi
}

assert_true() {  # assert_true DESCRIPTION CMD...: CMD exits 0
  local desc=$1
  shift
  local output
  if output=$("$@" 2>&1); then
    pass
  else
    fail "$desc" "$output"
  fi
}

assert_false() {  # assert_false DESCRIPTION CMD...: CMD exits non-zero
  local desc=$1
  shift
  local output
  if output=$("$@" 2>&1); then
    fail "$desc" "$output"
  else
    pass
  fi
}

# json_ok FILE PYTHON-EXPRESSION: the file parses as JSON and the expression (over `d`) holds.
json_ok() {
  python3 - "$1" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"not JSON: {e}: {open(sys.argv[1]).read()[:500]!r}")
    sys.exit(1)
if not eval(sys.argv[2]):
    print(f"does not hold: {sys.argv[2]}\njson: {json.dumps(d)[:1500]}")
    sys.exit(1)
PY
}

# files_hold MODE DIR NEEDLE...: exits 0 when some file under DIR (recursively, every file,
# raw bytes) holds one of the needles; prints where. MODE text compares case-insensitively;
# MODE hex takes each needle as hex-encoded bytes.
files_hold() {
  python3 - "$@" <<'PY'
import os, sys
mode, root, needles = sys.argv[1], sys.argv[2], sys.argv[3:]
found = []
for dirpath, _, files in os.walk(root):
    for name in files:
        path = os.path.join(dirpath, name)
        with open(path, "rb") as f:
            data = f.read()
        for n in needles:
            if mode == "hex":
                hit = bytes.fromhex(n) in data
            else:
                hit = n.lower().encode() in data.lower()
            if hit:
                found.append(f"{n!r} in {os.path.relpath(path, root)}")
print("\n".join(found))
sys.exit(0 if found else 1)
PY
}

sql() {  # sql DB QUERY
  sqlite3 "$1" "$2"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

# member_args COMPANY [FIELD VALUE]...: sets MARGS to a complete, valid `member add` argument
# list for a data dir $D; each FIELD VALUE pair overrides a default, and VALUE __omit__ drops it.
MARGS=()
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
DB="$D/privox.db"
KEY="$D/master.key"

expect_ok "$PRIVOX" init --data-dir "$D"
assert_contains "first init reports it initialised" "$(stdout)" "initialised"
assert_true "init creates master.key" test -f "$KEY"
assert_true "init creates privox.db" test -f "$DB"
assert_eq "master.key has mode 0600" 600 "$(stat -c %a "$KEY" 2>&1)"
assert_eq "the data directory has mode 0700" 700 "$(stat -c %a "$D" 2>&1)"
assert_eq "init writes one store.migrate audit entry" "store.migrate" \
  "$(sql "$DB" "select group_concat(action) from audit_log")"

dump_before=$(sql "$DB" .dump)
key_before=$(sha "$KEY")
expect_ok "$PRIVOX" init --data-dir "$D"
assert_contains "second init says nothing changed" "$(stdout)" "nothing changed"
assert_eq "second init leaves the store's content unchanged" "$dump_before" "$(sql "$DB" .dump)"
assert_eq "second init leaves master.key unchanged" "$key_before" "$(sha "$KEY")"
assert_eq "master.key still has mode 0600" 600 "$(stat -c %a "$KEY")"

NOKEY="$TMP/nokey"
cp -a "$D" "$NOKEY"
rm -f "$NOKEY/master.key"
nokey_dump=$(sql "$NOKEY/privox.db" .dump)
expect_fail nz "master key" "$PRIVOX" init --data-dir "$NOKEY"
assert_false "init with a store but no key does not create a new key" test -e "$NOKEY/master.key"
assert_eq "init with a store but no key leaves the store unchanged" "$nokey_dump" "$(sql "$NOKEY/privox.db" .dump)"
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
help_mentions "serve" --data-dir --http
help_mentions "company add" --data-dir --name --region --country
help_mentions "member add" --data-dir --company --name --email --phone --address --birth-date --payment-token \
  --card-brand --card-last4 --card-expiry
help_mentions "member show" --data-dir --id --purpose
help_mentions "member erase" --data-dir --id
help_mentions "audit verify" --data-dir
help_mentions "datamap" --json

# ---------------------------------------------------------------------------------------------
# 3. company add

expect_ok "$PRIVOX" company add --data-dir "$D" --name "Acme Telephony Ltd" --region eea --country GB
COMPANY=$(stdout)
assert_match "company add prints a UUIDv7 alone on stdout" "$COMPANY" "$UUID_RE"
assert_eq "company add prints exactly one line" 1 "$(wc -l <"$OUT")"
assert_eq "the company is stored with its country" "GB|eea" \
  "$(sql "$DB" "select country || '|' || region from companies where id = '$COMPANY'")"

expect_ok "$PRIVOX" company add --data-dir "$D" --name "Initech Inc" --region us
US_COMPANY=$(stdout)
assert_match "US company id" "$US_COMPANY" "$UUID_RE"
assert_eq "a us company defaults to country US" US "$(sql "$DB" "select country from companies where id = '$US_COMPANY'")"

companies=$(sql "$DB" "select count(*) from companies")
expect_fail 2 -- "--region" "$PRIVOX" company add --data-dir "$D" --name Acme --region mars
expect_fail 2 -- "--country" "$PRIVOX" company add --data-dir "$D" --name Acme --region eea --country XX
expect_fail 2 -- "--name" "$PRIVOX" company add --data-dir "$D" --name "   " --region eea
expect_fail nz -- "privox init" "$PRIVOX" company add --data-dir "$TMP/nowhere" --name Acme --region eea
assert_eq "refused company adds store nothing" "$companies" "$(sql "$DB" "select count(*) from companies")"

# ---------------------------------------------------------------------------------------------
# 4. member add

member_args "$COMPANY"
expect_ok "$PRIVOX" "${MARGS[@]}"
ALICE=$(stdout)
assert_match "member add prints a UUIDv7 alone on stdout" "$ALICE" "$UUID_RE"
assert_eq "member add prints exactly one line" 1 "$(wc -l <"$OUT")"
assert_eq "member add writes one member.add audit entry for the member" "member.add|$ALICE" \
  "$(sql "$DB" "select action || '|' || subject_id from audit_log order by seq desc limit 1")"

members=$(sql "$DB" "select count(*) from members")
audit_entries=$(sql "$DB" "select count(*) from audit_log")
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
assert_eq "refused member adds store no member" "$members" "$(sql "$DB" "select count(*) from members")"
assert_eq "refused member adds write no audit entry" "$audit_entries" "$(sql "$DB" "select count(*) from audit_log")"
assert_eq "refused member adds leave no orphan data key" "$members" "$(sql "$DB" "select count(*) from subject_keys")"

member_args "$COMPANY" email "dora@example.com" name "Dora Adult" birth-date "$ADULT_DOB" \
  card-brand VISA card-last4 4242 card-expiry "$(date -u -d 'next year' +%Y-%m)"
expect_ok "$PRIVOX" "${MARGS[@]}"
DORA=$(stdout)
assert_match "a member who turns 18 today is accepted" "$DORA" "$UUID_RE"
assert_eq "accepted members are stored" $((members + 1)) "$(sql "$DB" "select count(*) from members")"

# ---------------------------------------------------------------------------------------------
# 5. Personal data never reaches the files in clear

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

assert_true "the data dir holds files to search" test -s "$DB"
assert_false "no file in the data dir holds the name, email, phone, address or token in clear (any case)" \
  files_hold text "$D" "$X_NAME" "Xanthippe" "Vorderbrueggen" "$X_EMAIL" "xanthippe.unique" \
  "${X_PHONE_E164#+}" "2079460321" "020 7946 0321" "Quillfeather" "tok_Zq9SecretToken" "1971-03-09"
assert_false "no file holds the email in upper case either" files_hold text "$D" "XANTHIPPE.UNIQUE@EXAMPLE.ORG"
if grep -aqiF -e "$X_NAME" -e "$X_EMAIL" "$D"/*; then
  fail "grep -a finds Xanthippe's name or email in the data dir" "$(grep -aliF -e "$X_NAME" -e "$X_EMAIL" "$D"/*)"
else
  pass
fi

# ---------------------------------------------------------------------------------------------
# 6. member show: purpose-bound, audited

last_audit() { sql "$DB" "select action || '|' || coalesce(purpose, '') || '|' || coalesce(subject_id, '') from audit_log order by seq desc limit 1"; }
audit_count() { sql "$DB" "select count(*) from audit_log"; }

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

audit_dump=$(sql "$DB" "select * from audit_log")
assert_contains "the audit log names the member by id" "$audit_dump" "$XAN"
for secret in "$X_NAME" Xanthippe Vorderbrueggen "$X_EMAIL" "${X_PHONE_E164#+}" Quillfeather tok_Zq9SecretToken \
  1971-03-09 "Alice Example" alice@example.com; do
  assert_not_contains "the audit log does not hold '$secret'" "$audit_dump" "$secret"
done

# ---------------------------------------------------------------------------------------------
# 7. member erase: crypto-shredding

WRAPPED=$(sql "$DB" "select hex(wrapped_key) from subject_keys where subject_id = '$XAN'")
assert_match "the member has a wrapped data key before erasure" "$WRAPPED" '^[0-9A-F]{32,}$'
assert_true "control: the wrapped key's bytes are in the data dir before erasure" files_hold hex "$D" "$WRAPPED"

expect_ok "$PRIVOX" member erase --data-dir "$D" --id "$XAN"
assert_contains "erase reports the member erased" "$(stdout)" "erased member $XAN"
assert_not_contains "erase with no other process gives no write-ahead-log warning" "$(stderr)" "warning"
assert_eq "erase writes a member.erase audit entry" "member.erase||$XAN" "$(last_audit)"
assert_eq "the member's data key row is gone" 0 "$(sql "$DB" "select count(*) from subject_keys where subject_id = '$XAN'")"
assert_eq "the member is marked erased and their blind indexes cleared" "erased|1|1" \
  "$(sql "$DB" "select status || '|' || (email_bidx is null) || '|' || (phone_bidx is null) from members where id = '$XAN'")"
assert_false "no file in the data dir still holds the wrapped key's bytes" files_hold hex "$D" "$WRAPPED"
assert_true "other members keep their data keys" test "$(sql "$DB" "select count(*) from subject_keys where subject_id = '$ALICE'")" == 1

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
# 8. audit verify and tampering

expect_ok "$PRIVOX" audit verify --data-dir "$D"
verify_out=$(stdout)
n_entries=$(sql "$DB" "select count(*) from audit_log")
assert_match "audit verify prints ok N entries" "$verify_out" '^ok [0-9]+ entries$'
assert_eq "audit verify counts every entry" "ok $n_entries entries" "$verify_out"
assert_true "the audit log has entries" test "$n_entries" -gt 5

tampered() {  # tampered NAME SQL: a copy of the data dir with SQL applied; prints its path
  local dir="$TMP/tamper-$1"
  cp -a "$D" "$dir"
  sqlite3 "$dir/privox.db" "$2"
  printf '%s' "$dir"
}

T=$(tampered detail "update audit_log set detail = '{\"company_id\":\"x\"}' where seq = 2")
expect_fail nz "entry 2([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

T=$(tampered purpose "update audit_log set purpose = 'marketing' where action = 'member.show' and purpose = 'billing'")
expect_fail nz "entry [0-9]+" "$PRIVOX" audit verify --data-dir "$T"

T=$(tampered middle "delete from audit_log where seq = 3")
expect_fail nz "entry 3([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

T=$(tampered swap "update audit_log set seq = -1 where seq = 2; update audit_log set seq = 2 where seq = 3;
                   update audit_log set seq = 3 where seq = -1")
expect_fail nz "entry 2([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

T=$(tampered swapcontent "create temp table a as select * from audit_log where seq in (2, 3);
  update audit_log set id = 'tmp-' || seq where seq in (2, 3);
  update audit_log set (id, at_us, actor, action, subject_id, purpose, detail, prev_hash, hash) =
    (select id, at_us, actor, action, subject_id, purpose, detail, prev_hash, hash from a where a.seq = 5 - audit_log.seq)
    where seq in (2, 3);")
expect_fail nz "entry [23]([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

T=$(tampered last "delete from audit_log where seq = (select max(seq) from audit_log)")
expect_fail nz "entry $n_entries([^0-9]|$)" "$PRIVOX" audit verify --data-dir "$T"

expect_ok "$PRIVOX" audit verify --data-dir "$D"
assert_eq "the original chain still verifies after the copies were tampered with" "ok $n_entries entries" "$(stdout)"

# ---------------------------------------------------------------------------------------------
# 9. serve

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
URL="http://127.0.0.1:$PORT"
CURL=(curl --noproxy '*' -s -m 3)

"$PRIVOX" serve --data-dir "$D" --http "127.0.0.1:$PORT" >"$TMP/serve.out" 2>"$TMP/serve.err" &
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

expect_fail 2 "privox init" "$PRIVOX" serve --data-dir "$TMP/uninitialised" --http 127.0.0.1:0
assert_false "serve on an uninitialised dir does not create it" test -e "$TMP/uninitialised"
expect_fail 2 -- "--http" "$PRIVOX" serve --data-dir "$D" --http nonsense
expect_fail 2 -- "--http" "$PRIVOX" serve --data-dir "$D" --http 127.0.0.1:99999

# ---------------------------------------------------------------------------------------------
# 10. datamap

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
assert_true "datamap --json: the store's member columns are all declared" python3 - "$TMP/datamap.json" "$DB" <<'PY'
import json, sqlite3, sys
d = json.load(open(sys.argv[1]))
declared = {(f["table"], f["column"]) for f in d["personal_fields"]}
declared |= {(f["table"], f["blind_index_column"]) for f in d["personal_fields"] if "blind_index_column" in f}
declared |= {(c["table"], c["column"]) for c in d["non_personal_columns"]}
db = sqlite3.connect(sys.argv[2])
missing = []
for (table,) in db.execute("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"):
    for row in db.execute(f"pragma table_info({table})"):
        if (table, row[1]) not in declared:
            missing.append(f"{table}.{row[1]}")
if missing:
    print("undeclared columns:", ", ".join(missing))
    sys.exit(1)
PY

# ---------------------------------------------------------------------------------------------

echo "$PASS passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
