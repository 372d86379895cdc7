#!/usr/bin/env bash
# Invoices from real traffic (issue 17): privox serves; a phone (sipp) calls a public number out
# through the carrier's trunk (sipp), and the call is priced from an imported deck. After the month,
# `privox invoice issue` bills the company: the total must be the seats x the seat price, plus the
# sum of the rated records as the CDR export shows them (computed here, independently of billing/),
# plus 20% tax for a GB company. The PDF is read back with pdftotext; a credit note takes the next
# number and cannot credit more than is left; the traffic read is audited under billing.
# Usage: billing_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in sipp python3 timeout pdftotext; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-deps.sh, install-test-deps.sh)" >&2; exit 2; }
done
SCENARIOS=$HERE/../sip/scenarios
CARRIER_IP=127.0.0.2  # the trunk is recognised by its address, so the phone calls from 127.0.0.3

# refuses PATTERN CMD...: CMD exits non-zero and its stderr matches the extended regex PATTERN.
refuses() {
  local pattern=$1 err rc
  shift
  err=$(mktemp "$TMP/refused.XXXXXX")
  timeout 60 "$@" >/dev/null 2>"$err"
  rc=$?
  suite_cli_stderr "$err"
  if [ "$rc" -ne 0 ] && grep -qE -- "$pattern" "$err"; then
    pass
  else
    fail "$* should fail with /$pattern/" "exit $rc, stderr: $(cat "$err")"
  fi
}

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
TRUNK_PORT=$(free_port)
PW401='Garnet-moss-48-q'
PW402='Saffron-reed-19-w'
DID401='+442071234567'
PSTN='+442079460123'
personal "Inkwell Partners Ltd" "$DID401" "$PSTN" "$PW401" "$PW402"
COMPANY=$(px "$D" company add --name "Inkwell Partners Ltd" --region eea --country GB)
assert_match "company added" "$COMPANY" '^[0-9a-f-]{36}$'
PRIVOX_EXTENSION_PASSWORD=$PW401 px "$D" extension add --company "$COMPANY" --number 401 --did "$DID401" >/dev/null ||
  fail "extension add 401"
PRIVOX_EXTENSION_PASSWORD=$PW402 px "$D" extension add --company "$COMPANY" --number 402 >/dev/null ||
  fail "extension add 402"
L401=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '401'")
px "$D" trunk add --name carrier --address "$CARRIER_IP:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"
printf 'prefix,description,price_per_minute,connection_fee,increments,currency,valid_from\n44,UK,0.12,0.05,1/1,GBP,2020-01-01\n' \
  >"$TMP/deck.csv"
px "$D" rating import --name "Carrier A" --file "$TMP/deck.csv" >/dev/null || fail "rating import"
px "$D" settings set billing.seat_price_micros 4000000 >/dev/null || fail "settings set billing.seat_price_micros"
px "$D" settings set billing.tax_rates "GB:20,FR:20,US:0" >/dev/null || fail "settings set billing.tax_rates"
px "$D" settings set controller.name "Example Voice plc" >/dev/null || fail "settings set controller.name"
refuses "billing.tax_rates" "$PRIVOX" settings set billing.tax_rates "GB:twenty" $(store_args "$D")

start_bg serve "$PRIVOX" serve $(store_args "$D") --sip "127.0.0.1:$SIP_PORT" --http "127.0.0.1:$(free_port)"
for _ in $(seq 300); do grep -q '"event":"started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "serve has started" "$(cat "$TMP/serve.log")" '"event":"started"'


# --- one priced call out through the trunk, two more for a sum ------------------------------------
# Media ports of their own too: sipp's default (6000) would clash with the other backend's run.
start_bg carrier timeout -k 2 60 sipp -sf "$SCENARIOS/uas_trunk.xml" -i "$CARRIER_IP" -p "$TRUNK_PORT" -m 2 -nostdin \
  -mp "$(free_port)"
sleep 0.5
timeout -k 2 40 sipp -sf "$SCENARIOS/uac_call.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.3 -p "$(free_port)" -nostdin \
  -mp "$(free_port)" -s "$PSTN" -key caller "$L401" -au "$L401" -ap "$PW401" -auth_uri "$PSTN@127.0.0.1:$SIP_PORT" -d 1500 -m 2 \
  -timeout 30s -timeout_error >"$TMP/calls.out" 2>&1
CALLS_RC=$?
[ "$CALLS_RC" -eq 0 ] && pass || fail "401 calls a public number twice, out through the trunk (sipp exit $CALLS_RC)" \
  "$(tail -15 "$TMP/calls.out")" "carrier: $(tail -15 "$TMP/carrier.log")"

# The CDR export, as the operator's billing staff read it: the rated calls' sum, computed here.
rated_sum() {
  px "$D" cdr list --purpose billing --format json --company "$COMPANY" | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin)
        if r["direction"] == "outbound" and r["outcome"] == "answered" and r.get("cost_micros") is not None]
print(len(rows), sum(r["cost_micros"] for r in rows))'
}
for _ in $(seq 50); do [ "$(rated_sum | cut -d' ' -f1)" == 2 ] && break; sleep 0.2; done
read -r N_RATED USAGE <<<"$(rated_sum)"
assert_eq "both calls are answered, outbound and rated" 2 "$N_RATED"
assert_true "the calls cost something" test "$USAGE" -gt 0

# --- the invoice, after the month -----------------------------------------------------------------
MONTH=$(date -u +%Y-%m)
NEXT=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-02)
refuses "has not ended" "$PRIVOX" invoice issue --company "$COMPANY" --month "$MONTH" $(store_args "$D")
READS_BEFORE=$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'traffic.list' AND purpose = 'billing'")
INV_JSON=$(PRIVOX_TEST_NOW=$NEXT px "$D" invoice issue --company "$COMPANY" --month "$MONTH")
assert_eq "the invoice is issued" 0 "$?"
READS_AFTER=$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE action = 'traffic.list' AND purpose = 'billing'")
assert_eq "issuing read the traffic once, audited under billing" "$((READS_BEFORE + 1))" "$READS_AFTER"
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
SUBTOTAL=$((2 * 4000000 + USAGE))
TAX=$(((SUBTOTAL * 2000 + 5000) / 10000))
assert_eq "subtotal = 2 seats x 4.00 + the CDR export's rated sum" "$SUBTOTAL" "$(field "$INV_JSON" subtotal_micros)"
assert_eq "tax = 20% of the subtotal (GB), half up" "$TAX" "$(field "$INV_JSON" tax_micros)"
assert_eq "total = subtotal + tax" "$((SUBTOTAL + TAX))" "$(field "$INV_JSON" total_micros)"
assert_eq "the first number of the sequence" "INV-000001" "$(field "$INV_JSON" number_text)"
INV=$(field "$INV_JSON" id)
TOTAL_TEXT=$(field "$INV_JSON" total)
refuses "already has invoice INV-000001" env PRIVOX_TEST_NOW="$NEXT" "$PRIVOX" invoice issue \
  --company "$COMPANY" --month "$MONTH" $(store_args "$D")

# --- the documents ----------------------------------------------------------------------------------
px "$D" invoice show --id "$INV" --format pdf --out "$TMP/inv.pdf" || fail "invoice show --format pdf"
assert_eq "the PDF is a PDF" "%PDF-" "$(head -c 5 "$TMP/inv.pdf")"
pdftotext -layout "$TMP/inv.pdf" "$TMP/inv.txt"
assert_contains "the PDF's text holds the number" "$(cat "$TMP/inv.txt")" "INV-000001"
assert_contains "the PDF's text holds the total" "$(cat "$TMP/inv.txt")" "$TOTAL_TEXT GBP"
assert_contains "the PDF names the operator" "$(cat "$TMP/inv.txt")" "Example Voice plc"
HTML=$(px "$D" invoice show --id "$INV" --format html)
assert_contains "the HTML holds the company and the total" "$HTML" "Inkwell Partners Ltd"
assert_contains "the HTML holds the total" "$HTML" "$TOTAL_TEXT GBP"
refuses "--out" "$PRIVOX" invoice show --id "$INV" --format pdf $(store_args "$D")
refuses "no invoice" "$PRIVOX" invoice show --id "00000000-0000-0000-0000-000000000000" $(store_args "$D")

# --- a credit note: the next number, never more than is left -------------------------------------
NOTE_JSON=$(px "$D" invoice credit --id "$INV" --reason "one seat unused" --amount 4000000)
assert_eq "the credit note is issued" 0 "$?"
assert_eq "it takes the next number" "CN-000002" "$(field "$NOTE_JSON" number_text)"
assert_eq "it credits 4.00 plus 20% tax" 4800000 "$(field "$NOTE_JSON" total_micros)"
refuses "amount" "$PRIVOX" invoice credit --id "$INV" --reason "too much" --amount "$SUBTOTAL" $(store_args "$D")
LIST=$(px "$D" invoice list --company "$COMPANY")
assert_eq "the company has the invoice and the note, by number" "1 2" \
  "$(python3 -c 'import json, sys; print(" ".join(str(i["number"]) for i in json.loads(sys.argv[1])))' "$LIST")"
assert_eq "the invoice itself is unchanged" "$((SUBTOTAL + TAX))" \
  "$(store_sql "$D" "SELECT total_micros FROM invoices WHERE id = '$INV'")"

finish
