#!/usr/bin/env bash
# Rights requests end to end (P13), through the privox binary and the real SMTP test server:
# an access request from receipt to its ZIP (code read from the Maildir, fee waived, export
# unzipped and checked with python3), a rectification, refusals by name, and an erasure with its
# per-item outcomes after which the member's fields are unreadable.
# Usage: rights_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

[ -n "$SMTP_URL" ] || { echo "$0: no SMTP test server (PRIVOX_TEST_SMTP_DIR)" >&2; exit 2; }

D=$TMP/data
new_data_dir "$D"
px "$D" settings set mail.smtp_url "$SMTP_URL" >/dev/null || fail "settings set mail.smtp_url"

RUN=$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')
EMAIL="rights-$RUN@example.com"
personal "$EMAIL"  # never in privox's logs or metrics (scripts/suite-scan.sh)
COMPANY=$(px "$D" company add --name "Acme Ltd" --region eea)
MEMBER=$(px "$D" member add --company "$COMPANY" --name "Ann Lee" --email "$EMAIL" --phone "020 7946 0958" \
  --address "1 High St" --birth-date 1990-01-31 --payment-token tok_abcdef --card-brand visa --card-last4 4242)
assert_match "member added" "$MEMBER" '^[0-9a-f-]{36}$'
px "$D" extension add --company "$COMPANY" --number 201 --password correct-horse-7 --member "$MEMBER" >/dev/null \
  || fail "extension add"

# The newest mail to the member that holds TEXT, waiting up to 10 s for it.
mail_with() {  # mail_with TEXT: the newest mail to $EMAIL whose decoded text holds TEXT, as a person reads it
  local text
  for _ in $(seq 100); do
    text=$(/usr/bin/python3 - "$SMTP_MAILDIR/new" "$EMAIL" "$1" <<'PY'
import email, email.policy, os, sys
folder, to, wanted = sys.argv[1:]
found = []
for name in os.listdir(folder):
    path = os.path.join(folder, name)
    with open(path, "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    body = m.get_content() if not m.is_multipart() else m.get_body(("plain",)).get_content()
    if to in str(m["To"]) and wanted in body:
        found.append((os.path.getmtime(path), f"Subject: {m['Subject']}\n\n{body}"))
if found:
    print(max(found)[1])
PY
)
    [ -n "$text" ] && { printf '%s\n' "$text"; return 0; }
    sleep 0.1
  done
  return 1
}

# --- help and refusals by flag ---
for v in open list show send-code verify fee extend refuse export complete; do
  out=$("$PRIVOX" request "$v" --help 2>&1)
  assert_contains "request $v --help" "$out" "--data-dir"
done
err=$(px "$D" request open --member "$MEMBER" --kind shred 2>&1 >/dev/null); rc=$?
assert_eq "unknown kind exits 2" 2 "$rc"
assert_contains "unknown kind names --kind" "$err" "privox: error: --kind:"
err=$(px "$D" request open --member "$MEMBER" --kind rectify --set shoe_size=9 2>&1 >/dev/null); rc=$?
assert_ne "unknown correction fails" 0 "$rc"
assert_contains "unknown correction names --set" "$err" "--set: shoe_size"

# --- a request entered after it arrived: its month runs from the receipt (test builds only let
# PRIVOX_TEST_NOW start the CLI's clock elsewhere, so members can predate 31 January) ---
for year in 2024 2025; do
  OLD=$(PRIVOX_TEST_NOW="$((year - 1))-12-01" px "$D" member add --company "$COMPANY" --name "Old Timer" \
    --email "old-$year-$RUN@example.com" --phone "020 7946 0950" --address "9 Old St" --birth-date 1970-01-01 \
    --payment-token "tok_old$year")
  assert_match "member of $((year - 1)) added" "$OLD" '^[0-9a-f-]{36}$'
  LETTER=$(PRIVOX_TEST_NOW="$year-03-05" px "$D" request open --member "$OLD" --kind erase --received "$year-01-31" \
    2>"$TMP/letter.err")
  assert_match "letter of 31 January $year recorded" "$LETTER" '^[0-9a-f-]{36}$'
  expected=$([ "$year" = 2024 ] && echo "$year-02-29" || echo "$year-02-28")
  assert_contains "31 January $year is due $expected" "$(cat "$TMP/letter.err")" "due $expected"
  PRIVOX_TEST_NOW="$year-03-05" px "$D" request show --id "$LETTER" >"$TMP/letter.json"
  assert_true "the request shows its receipt and due date" json_ok "$TMP/letter.json" \
    "d['received_at'].startswith('$year-01-31') and d['due_date'] == '$expected' and d['overdue']"
done
err=$(px "$D" request open --member "$MEMBER" --kind access --received 2099-01-01 2>&1 >/dev/null); rc=$?
assert_eq "a receipt in the future exits 2" 2 "$rc"
assert_contains "a receipt in the future names --received" "$err" "--received: is in the future"
err=$(px "$D" request open --member "$MEMBER" --kind access --received 2001-01-01 2>&1 >/dev/null); rc=$?
assert_contains "a receipt before the member existed names --received" "$err" "before the member's account was opened"

# --- the first copy is free (UK GDPR Art. 12(5)); the operator's fee is for further copies ---
FIRST=$(px "$D" request open --member "$MEMBER" --kind access 2>/dev/null)
px "$D" request show --id "$FIRST" >"$TMP/first.json"
assert_true "the member's first access request carries no fee" json_ok "$TMP/first.json" \
  "d['fee']['status'] == 'none' and d['fee']['minor_units'] == 0"

# --- access: open, code by mail, verify, waive the fee, export, complete ---
ACCESS=$(px "$D" request open --member "$MEMBER" --kind access 2>/dev/null)
assert_match "access request opened" "$ACCESS" '^[0-9a-f-]{36}$'
queue=$(px "$D" request list)
assert_contains "the queue lists it" "$queue" "$ACCESS"
json=$(px "$D" request list --json); echo "$json" >"$TMP/queue.json"
assert_true "the queue shows a due date" json_ok "$TMP/queue.json" "d[0]['due_date'] and d[0]['state'] == 'received'"
err=$(px "$D" request export --id "$ACCESS" --out "$TMP/early.zip" 2>&1 >/dev/null); rc=$?
assert_eq "export before identity is a conflict" 4 "$rc"

px "$D" request send-code --id "$ACCESS" >/dev/null || fail "send-code"
mail=$(mail_with "$ACCESS") || fail "no code mail arrived"
CODE=$(printf '%s' "$mail" | grep -o 'enter this code: [0-9]*' | grep -o '[0-9]*$')
assert_match "the mail holds an 8-digit code" "$CODE" '^[0-9]{8}$'
assert_contains "the mail names the fee for this further copy, in money" "$mail" "An administration fee of £10.00 applies"
err=$(px "$D" request verify --id "$ACCESS" --code 000000000 2>&1 >/dev/null); rc=$?
assert_eq "a malformed code exits 2" 2 "$rc"
assert_contains "a malformed code names --code" "$err" "--code:"
px "$D" request verify --id "$ACCESS" --code "$CODE" >"$TMP/verified.json" || fail "verify"
assert_true "verified, the fee is awaited" json_ok "$TMP/verified.json" "d['state'] == 'awaiting_fee' and d['clock_paused']"
assert_true "the confirmed identity is emailed, as the portal does" mail_with "your identity is confirmed for your access request"
assert_true "and the fee now due, in money" mail_with "carries an administration fee of £10.00 (reference $ACCESS)"
err=$(px "$D" request fee --id "$ACCESS" 2>&1 >/dev/null); rc=$?
assert_eq "fee without --waive or --paid exits 2" 2 "$rc"
px "$D" request fee --id "$ACCESS" --waive "member on hardship plan" >"$TMP/waived.json" || fail "fee --waive"
assert_true "waived, in progress" json_ok "$TMP/waived.json" \
  "d['state'] == 'in_progress' and d['fee']['status'] == 'waived' and d['fee']['waiver_reason']"
px "$D" request extend --id "$ACCESS" --months 1 --reason "records span several systems" >/dev/null || fail "extend"
assert_true "the extension is emailed" mail_with "records span several systems"
err=$(px "$D" request extend --id "$ACCESS" --months 2 --reason "more" 2>&1 >/dev/null); rc=$?
assert_eq "more than two months in all exits 2" 2 "$rc"
assert_contains "the refusal names --months" "$err" "--months:"

px "$D" request export --id "$ACCESS" --out "$TMP/copy.zip" >"$TMP/export.json" || fail "export"
assert_true "the copy is a ZIP" test -s "$TMP/copy.zip"
python3 - "$TMP/copy.zip" "$EMAIL" "$ACCESS" >"$TMP/zipcheck.txt" 2>&1 <<'PY'
import csv, hashlib, io, json, sys, zipfile
path, email, request = sys.argv[1:4]
z = zipfile.ZipFile(path)
names = set(z.namelist())
want = {"subject.json", "traffic.csv", "voicemail.json", "audit.json", "disclosures.json", "requests.json", "manifest.json"}
assert names == want, names
subject = json.loads(z.read("subject.json").decode("utf-8"))
assert subject["member"]["fields"]["email"] == email, subject["member"]
assert subject["member"]["fields"]["name"] == "Ann Lee"
assert "payment_token" not in subject["member"]["fields"]
assert subject["phone_lines"][0]["extension_number"] == "201"
assert "current" in subject["consents"] and "history" in subject["consents"]
rows = list(csv.DictReader(io.StringIO(z.read("traffic.csv").decode("utf-8"))))
assert rows == [], rows
audit = json.loads(z.read("audit.json"))
assert any(e["action"] == "request.open" for e in audit), audit
assert email not in z.read("audit.json").decode()
assert any(r["id"] == request for r in json.loads(z.read("requests.json")))
assert isinstance(json.loads(z.read("disclosures.json")), list)
manifest = json.loads(z.read("manifest.json"))
assert manifest["format_version"] == 1 and manifest["generated_at"]
for f in manifest["files"]:
    assert hashlib.sha256(z.read(f["name"])).hexdigest() == f["sha256"], f["name"]
assert {f["name"] for f in manifest["files"]} == want - {"manifest.json"}
print("zip ok")
PY
assert_contains "the ZIP holds every file, parsed back" "$(cat "$TMP/zipcheck.txt")" "zip ok"
assert_eq "the ZIP is readable by its owner only" 600 "$(stat -c %a "$TMP/copy.zip")"
px "$D" request complete --id "$ACCESS" >"$TMP/done.json" || fail "complete access"
assert_true "access completed" json_ok "$TMP/done.json" "d['state'] == 'completed' and 'export' in d['outcome']"

# --- rectification ---
RECT=$(px "$D" request open --member "$MEMBER" --kind rectify --set "address=2 Low Road" 2>/dev/null)
px "$D" request send-code --id "$RECT" >/dev/null || fail "send-code rectify"
CODE=$(mail_with "$RECT" | grep -o 'enter this code: [0-9]*' | grep -o '[0-9]*$')
px "$D" request verify --id "$RECT" --code "$CODE" >/dev/null || fail "verify rectify"
px "$D" request complete --id "$RECT" >"$TMP/rect.json" || fail "complete rectify"
assert_true "address corrected" json_ok "$TMP/rect.json" "d['outcome']['corrected'] == ['address']"
assert_true "the completed rectification is emailed" mail_with "(reference $RECT) has been carried out"
shown=$(px "$D" member show --id "$MEMBER" --purpose legal)
assert_contains "the member now has the corrected address" "$shown" "2 Low Road"

# --- a refusal is emailed ---
REF=$(px "$D" request open --member "$MEMBER" --kind access 2>/dev/null)
px "$D" request refuse --id "$REF" --reason "a copy was sent last week" >/dev/null || fail "refuse"
assert_true "the refusal is emailed" mail_with "a copy was sent last week"
err=$(px "$D" request complete --id "$REF" 2>&1 >/dev/null); rc=$?
assert_eq "a refused request cannot complete" 4 "$rc"

# --- erasure: a legal hold refuses it, then per-item outcomes and unreadable fields ---
ERASE=$(px "$D" request open --member "$MEMBER" --kind erase 2>/dev/null)
px "$D" request send-code --id "$ERASE" >/dev/null || fail "send-code erase"
CODE=$(mail_with "$ERASE" | grep -o 'enter this code: [0-9]*' | grep -o '[0-9]*$')
px "$D" request verify --id "$ERASE" --code "$CODE" >"$TMP/everify.json" || fail "verify erase"
assert_true "no fee on erasure" json_ok "$TMP/everify.json" "d['state'] == 'in_progress' and d['fee']['status'] == 'none'"
HOLD=$(px "$D" hold place --member "$MEMBER" --reason "litigation over invoices" 2>/dev/null | grep -oE '[0-9a-f-]{36}' | head -n 1)
err=$(px "$D" request complete --id "$ERASE" 2>&1 >/dev/null); rc=$?
assert_eq "erasure under a legal hold is a conflict" 4 "$rc"
assert_contains "the refusal names the hold's reason" "$err" "litigation over invoices"
px "$D" hold release --id "$HOLD" >/dev/null || fail "hold release"
px "$D" request complete --id "$ERASE" >"$TMP/erase.json" || fail "complete erase"
assert_true "erasure completed, key destroyed" json_ok "$TMP/erase.json" \
  "d['state'] == 'completed' and d['outcome']['member_key'] == 'destroyed'"
assert_true "member fields erased, requests kept" json_ok "$TMP/erase.json" \
  "(lambda o: o['member field email'] == 'erased' and o['rights requests'] == 'kept' and o['phone lines'] == 'kept')({i['item']: i['outcome'] for i in d['outcome']['items']})"
assert_true "every kept item names its exception" json_ok "$TMP/erase.json" \
  "all(i['outcome'] != 'kept' or i.get('exception') for i in d['outcome']['items'])"
shown=$(px "$D" member show --id "$MEMBER" --purpose legal)
assert_not_contains "the member's fields are unreadable" "$shown" "$EMAIL"
assert_contains "the member reads as erased" "$shown" "erased"
assert_eq "the member's key is gone" 0 "$(store_sql "$D" "SELECT COUNT(*) FROM subject_keys WHERE subject_id = '$MEMBER'")"
err=$(px "$D" request open --member "$MEMBER" --kind access 2>&1 >/dev/null); rc=$?
assert_ne "no new request for an erased member" 0 "$rc"
out=$(px "$D" request list --all --json); echo "$out" >"$TMP/all.json"
assert_true "the requests are kept" json_ok "$TMP/all.json" "len([r for r in d if r['member_id'] == '$MEMBER']) == 5"
assert_true "the audit chain verifies" px "$D" audit verify

finish
