#!/usr/bin/env bash
# The privacy ledgers end to end, through the privox binary: consent given and withdrawn (the
# ledger only grows, and the database itself refuses to rewrite it), optional data gone after a
# withdrawal, the disclosure register's refusals by flag, a region transfer refused without a
# safeguard and then registered, a business-sale export parsed with python3 and its register entry,
# legal holds, and the notice and record of processing carrying the controller's details.
# Usage: ledgers_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

D=$TMP/data
new_data_dir "$D"

COMPANY=$(px "$D" company add --name "Acme Ltd" --region eea)
add_member() {  # add_member NAME EMAIL
  px "$D" member add --company "$COMPANY" --name "$1" --email "$2" --phone "020 7946 0958" \
    --address "1 High St" --birth-date 1990-01-31 --payment-token tok_abcdef
}
ANN=$(add_member "Ann Lee" ann@example.com)
BOB=$(add_member "Bob Ray" bob@example.com)
assert_match "members added" "$ANN $BOB" '^[0-9a-f-]{36} [0-9a-f-]{36}$'

# --- help on every verb ---
for v in "consent give" "consent withdraw" "consent show" "disclosure add" "disclosure list" "hold place" \
  "hold release" "hold list" "company transfer-region" "business-sale export" "settings list" "settings set" \
  ropa notice; do
  # shellcheck disable=SC2086
  out=$("$PRIVOX" $v --help 2>&1)
  assert_contains "$v --help" "$out" "--data-dir"
done

# --- consent: the ledger grows, never shrinks ---
ledger_rows() { store_sql "$D" "SELECT COUNT(*) FROM consent_ledger"; }
out=$(px "$D" consent give --member "$ANN" --purpose marketing_email 2>&1)
assert_contains "consent given" "$out" "consent marketing_email given"
assert_eq "one ledger row" 1 "$(ledger_rows)"
px "$D" consent give --member "$ANN" --purpose location >/dev/null || fail "consent give location"
px "$D" consent withdraw --member "$ANN" --purpose marketing_email >/dev/null || fail "consent withdraw"
assert_eq "withdrawal appends" 3 "$(ledger_rows)"
show=$(px "$D" consent show --member "$ANN" --json)
assert_eq "current marketing_email is withdrawn" withdrawn \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["current"]["marketing_email"]["decision"])' <<<"$show")"
assert_eq "history keeps all three" 3 \
  "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["history"]))' <<<"$show")"
assert_eq "recorded by the operator" operator \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["history"][0]["method"])' <<<"$show")"
out=$(px "$D" consent show --member "$ANN")
assert_contains "text shows the current state" "$out" "never asked"
# A "no" before any "yes" reads "not given", never "withdrawn" (consent/consent.h).
px "$D" consent withdraw --member "$ANN" --purpose marketing_sms >/dev/null || fail "consent withdraw marketing_sms"
show=$(px "$D" consent show --member "$ANN" --json)
assert_eq "a first no is not given" "not given" \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["current"]["marketing_sms"]["decision"])' <<<"$show")"
assert_eq "the earlier withdrawal still reads withdrawn" withdrawn \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["current"]["marketing_email"]["decision"])' <<<"$show")"
assert_false "the database refuses to rewrite the ledger" store_sql "$D" "UPDATE consent_ledger SET decision = 'given'"
assert_false "the database refuses to delete from the ledger" store_sql "$D" "DELETE FROM consent_ledger"
assert_eq "nothing changed" 4 "$(ledger_rows)"
out=$(px "$D" consent give --member "$ANN" --purpose telepathy 2>&1)
assert_contains "unknown purpose named" "$out" "--purpose"
out=$(px "$D" consent give --member 0190e2a1-0000-7000-8000-000000000000 --purpose location 2>&1)
assert_contains "unknown member named" "$out" "--member"

# --- optional data goes with its consent ---
# The mobile API stores it through consent/optional_data.h; here a sealed stand-in row plays that part.
blob="X'00'"
[ "$BACKEND" == postgresql ] && blob="'\\x00'::bytea"
store_sql "$D" "INSERT INTO optional_data (member_id, location_enc, location_at_us) VALUES ('$ANN', $blob, 1)" \
  || fail "optional data stand-in"
assert_eq "optional location stored" 1 "$(store_sql "$D" "SELECT COUNT(*) FROM optional_data WHERE location_enc IS NOT NULL")"
px "$D" consent withdraw --member "$ANN" --purpose location >/dev/null || fail "withdraw location"
assert_eq "optional location deleted with the consent" 0 "$(store_sql "$D" "SELECT COUNT(*) FROM optional_data")"
assert_eq "ledger still grows" 5 "$(ledger_rows)"

# --- the disclosure register ---
out=$(px "$D" disclosure add --recipient "Metropolitan Police" --kind authority --categories traffic \
  --basis legal_obligation --member "$ANN" 2>&1)
status=$?
assert_ne "authority without reference refused" 0 "$status"
assert_contains "refusal names --reference" "$out" "--reference"
ID=$(px "$D" disclosure add --recipient "Metropolitan Police" --kind authority --categories traffic,identity_contact \
  --basis legal_obligation --reference "order 2026/114" --member "$ANN")
assert_match "authority disclosure registered" "$ID" '^[0-9a-f-]{36}$'
out=$(px "$D" disclosure add --recipient "X" --kind gossip --categories traffic 2>&1)
assert_contains "unknown kind named" "$out" "--kind"
out=$(px "$D" disclosure add --recipient "X" --kind supplier --categories hobbies 2>&1)
assert_contains "unknown category named" "$out" "--categories"
px "$D" trunk add --name carrier-one --address 203.0.113.5:5060 >/dev/null 2>&1 || fail "trunk add"
list=$(px "$D" disclosure list --json)
assert_eq "carrier registered with its trunk" 1 \
  "$(python3 -c 'import json,sys; print(sum(d["kind"]=="carrier" and d["recipient"]=="carrier-one" for d in json.load(sys.stdin)))' <<<"$list")"
about=$(px "$D" disclosure list --member "$ANN" --json)
assert_eq "Ann's entries: the authority's" "order 2026/114" \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["reference"])' <<<"$about")"
assert_eq "Bob has none" "[]" "$(px "$D" disclosure list --member "$BOB" --json | tr -d ' \n')"

# --- region transfer (P10) ---
out=$(px "$D" company transfer-region --id "$COMPANY" --to us 2>&1)
status=$?
assert_ne "transfer without safeguard refused" 0 "$status"
assert_contains "refusal names --safeguard" "$out" "--safeguard"
assert_eq "region unchanged" eea "$(store_sql "$D" "SELECT region FROM companies WHERE id = '$COMPANY'")"
out=$(px "$D" company transfer-region --id "$COMPANY" --to us --safeguard "standard contractual clauses, signed 2026-05-01")
assert_contains "transfer done" "$out" "moved from eea to us"
assert_eq "region changed" us "$(store_sql "$D" "SELECT region FROM companies WHERE id = '$COMPANY'")"
assert_eq "transfer registered with both members" 2 \
  "$(store_sql "$D" "SELECT COUNT(*) FROM disclosure_subjects s JOIN disclosures d ON d.id = s.disclosure_id WHERE d.kind = 'region_transfer' AND d.safeguard LIKE 'standard contractual clauses%'")"

# --- business sale (P16) ---
px "$D" member erase --id "$BOB" >/dev/null || fail "erase Bob"
px "$D" business-sale export --buyer "Buyer plc" --out "$TMP/customers.json" >/dev/null || fail "business-sale export"
assert_eq "export is owner-only" 600 "$(stat -c %a "$TMP/customers.json")"
assert_true "export holds Ann's opened contact fields and no one else" json_ok "$TMP/customers.json" \
  '[m["name"] + "|" + m["email"] for c in d["companies"] for m in c["members"]] == ["Ann Lee|ann@example.com"] and d["buyer"] == "Buyer plc"'
sale_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["disclosure_id"])' "$TMP/customers.json")
assert_eq "buyer entry registered naming Ann only" "$ANN" \
  "$(store_sql "$D" "SELECT s.subject_id FROM disclosure_subjects s JOIN disclosures d ON d.id = s.disclosure_id WHERE d.kind = 'buyer' AND d.id = '$sale_id'")"
out=$(px "$D" business-sale export --buyer "" --out "$TMP/x.json" 2>&1)
assert_contains "empty buyer refused" "$out" "--buyer"

# --- legal holds ---
HOLD=$(px "$D" hold place --member "$ANN" --reason "Smith v Acme" --reference HC-114)
assert_match "hold placed" "$HOLD" '^[0-9a-f-]{36}$'
assert_contains "hold listed" "$(px "$D" hold list)" "Smith v Acme"
# A hold stops every way of erasing, the operator's own command included (one erasure path).
out=$(px "$D" member erase --id "$ANN" 2>&1); rc=$?
assert_eq "member erase under a hold exits 4 (conflict)" 4 "$rc"
assert_contains "member erase under a hold names the hold's reason" "$out" "Smith v Acme (ref. HC-114)"
assert_eq "member erase under a hold keeps the member's key" 1 \
  "$(store_sql "$D" "SELECT COUNT(*) FROM subject_keys WHERE subject_id = '$ANN'")"
px "$D" hold release --id "$HOLD" >/dev/null || fail "hold release"
assert_contains "nothing in force" "$(px "$D" hold list)" "no legal holds in force"
out=$(px "$D" hold release --id "$HOLD" 2>&1)
assert_contains "second release refused" "$out" "already released"

# --- settings, notice and record of processing ---
# Before the operator names the controller the notice says so, never offering the placeholder
# address; it speaks in words (labels, periods), the full table only with --details.
notice=$(px "$D" notice)
assert_contains "an unset controller is flagged" "$notice" "WARNING: "
assert_contains "an unset email reads not yet set" "$notice" "Email: not yet set"
assert_not_contains "the placeholder address is not offered" "$notice" "privacy@localhost"
assert_contains "the summary names items in words" "$notice" "Password (stored only as a one-way hash)"
assert_contains "the summary says who sees each category" "$notice" "Who sees it:"
assert_not_contains "the summary names no column" "$notice" "password_hash"
assert_not_contains "the summary names no legal basis identifier" "$notice" "legal_obligation"
assert_not_contains "the full table waits for --details" "$notice" "If you ask us to erase it"
details=$(px "$D" notice --details)
assert_contains "--details gives the full table" "$details" "If you ask us to erase it"
assert_not_contains "--details names no column" "$details" "login_throttle_key"
px "$D" settings set controller.name "Shared Desks Ltd" >/dev/null || fail "settings set controller.name"
px "$D" settings set controller.email dpo@shared-desks.example >/dev/null || fail "settings set controller.email"
out=$(px "$D" settings set retention.dispute_period_days lots 2>&1)
assert_contains "bad setting refused" "$out" "is not a whole number"
assert_contains "settings list" "$(px "$D" settings list)" "Shared Desks Ltd"
ropa=$(px "$D" ropa)
assert_contains "ropa names the controller" "$ropa" "Controller: Shared Desks Ltd"
assert_contains "ropa lists the transfer safeguard" "$ropa" "standard contractual clauses, signed 2026-05-01"
notice=$(px "$D" notice)
assert_contains "notice names the controller" "$notice" "Shared Desks Ltd"
assert_contains "notice gives the contact" "$notice" "dpo@shared-desks.example"
version=$(px "$D" notice --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
assert_match "notice version" "$version" '^n-[0-9a-f]{12}$'
assert_eq "consent rows carry the notice version" "$version" \
  "$(store_sql "$D" "SELECT DISTINCT notice_version FROM consent_ledger")"
px "$D" ropa --json >"$TMP/ropa.json" || fail "ropa --json"
assert_true "ropa --json names the controller" json_ok "$TMP/ropa.json" 'd["controller"]["name"] == "Shared Desks Ltd"'

assert_true "audit chain intact" px "$D" audit verify
finish
