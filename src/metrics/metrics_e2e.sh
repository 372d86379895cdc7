#!/usr/bin/env bash
# GET /metrics after real traffic (issue 18): privox serves with --metrics on a loopback address of
# its own; phones register and call (sipp), a password guesser fails, and the portal is asked for
# pages and API routes whose paths carry personal values. The scrape must hold the counters that
# traffic moved (SIP requests by method, responses by class, bindings, authentication failures,
# the writer's latency, HTTP requests by route template), and must not hold, anywhere, any of the
# personal values the test used: the company's name, a member's name, email and phone number, the
# SIP logins and passwords, the phones' addresses, the raw paths.
# Usage: metrics_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in sipp python3 curl timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-deps.sh)" >&2; exit 2; }
done
SCENARIOS=$HERE/../sip/scenarios

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
HTTP_PORT=$(free_port)
METRICS_PORT=$(free_port)
COMPANY_NAME="Quillfeather Holdings Ltd"
MEMBER_NAME="Zephyrine Okonkwo-Marsh"
MEMBER_EMAIL="zephyrine.marsh@quillfeather.example"
MEMBER_PHONE="020 7946 0381"
PW401='Garnet-moss-48-q'
PW402='Saffron-reed-19-w'
COMPANY=$(px "$D" company add --name "$COMPANY_NAME" --region eea --country GB)
assert_match "company added" "$COMPANY" '^[0-9a-f-]{36}$'
MEMBER=$(px "$D" member add --company "$COMPANY" --name "$MEMBER_NAME" --email "$MEMBER_EMAIL" \
  --phone "$MEMBER_PHONE" --address "7 Larkspur Row" --birth-date 1988-03-14 --payment-token tok_metrics)
assert_match "member added" "$MEMBER" '^[0-9a-f-]{36}$'
for n in 401 402; do
  pw=PW$n
  PRIVOX_EXTENSION_PASSWORD=${!pw} px "$D" extension add --company "$COMPANY" --number "$n" >/dev/null ||
    fail "extension add $n"
done
login_of() { store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$1'"; }
L401=$(login_of 401)
L402=$(login_of 402)
# Loopback is trusted, so the failed guesses below are counted but ban nobody the phones need.
px "$D" settings set sip.trusted_sources 127.0.0.1 >/dev/null || fail "settings set sip.trusted_sources"

start_bg serve "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT" \
  --metrics "127.0.0.1:$METRICS_PORT"
for _ in $(seq 100); do grep -q '"event":"metrics.listening"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "serve says where the metrics are" "$(cat "$TMP/serve.log")" "\"event\":\"metrics.listening\",\"port\":$METRICS_PORT}"
M=http://127.0.0.1:$METRICS_PORT
P=http://127.0.0.1:$HTTP_PORT

# --- the metrics are on their own address, and only there ----------------------------------------
assert_eq "the portal's address does not serve /metrics" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$P/metrics")"
assert_eq "the metrics address serves nothing else" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$M/healthz")"
assert_contains "the scrape is Prometheus's text format" \
  "$(curl -s -D - -o /dev/null "$M/metrics")" "text/plain; version=0.0.4"

# --- SIP: two phones register from addresses of their own, one calls the other, a guesser fails ---
UAS_PORT=$(free_port)
timeout -k 2 20 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.3 -p "$(free_port)" -m 1 -nostdin \
  -key user "$L402" -key contact_port "$UAS_PORT" -key expires 3600 -au "$L402" -ap "$PW402" \
  -timeout 10s -timeout_error >"$TMP/reg402.out" 2>&1
assert_eq "402 registers from 127.0.0.3" 0 "$?"
start_bg uas timeout -k 2 60 sipp -sf "$SCENARIOS/uas_answer.xml" -i 127.0.0.3 -p "$UAS_PORT" -m 2 -nostdin
timeout -k 2 40 sipp -sf "$SCENARIOS/uac_call.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.2 -p "$(free_port)" -nostdin \
  -s 402 -key caller "$L401" -au "$L401" -ap "$PW401" -auth_uri "402@127.0.0.1:$SIP_PORT" -d 300 -m 2 \
  -timeout 30s -timeout_error >"$TMP/calls.out" 2>&1
assert_eq "401 calls 402 twice through privox" 0 "$?"
# A wrong password for 401, twice: authentication failures (the scenario expects a 200, so it fails).
timeout -k 2 10 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.4 -p "$(free_port)" -m 2 -nostdin \
  -key user "$L401" -key contact_port 5060 -key expires 60 -au "$L401" -ap "wrong-$PW401" \
  -timeout 5s >"$TMP/guess.out" 2>&1

# --- the portal: pages, API routes with personal values in their paths, a failed sign-in ---------
curl -s -o /dev/null "$P/healthz"
curl -s -o /dev/null "$P/"
curl -s -o /dev/null "$P/api/v1/extensions/$L401"
curl -s -o /dev/null "$P/api/v1/consents/$MEMBER_EMAIL"
curl -s -o /dev/null "$P/api/v1/people/$MEMBER/role"
curl -s -o /dev/null "$P/no/such/$L402/page"
curl -s -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"email\":\"$MEMBER_EMAIL\",\"password\":\"$PW401\"}" "$P/api/v1/session"

sleep 1
SCRAPE=$(curl -s "$M/metrics")
[ -n "${METRICS_E2E_KEEP:-}" ] && printf "%s\n" "$SCRAPE" >"$METRICS_E2E_KEEP"
printf '%s\n' "$SCRAPE" >"$TMP/scrape.txt"
metric() {  # metric 'NAME{LABELS}': the sample's value (0 when absent)
  awk -v k="$1" 'index($0, k " ") == 1 { v = $2 } END { print (v == "" ? 0 : v) }' "$TMP/scrape.txt"
}
positive() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$(metric "$1")"; }

assert_true "REGISTERs are counted by method" positive 'privox_sip_requests_total{method="REGISTER"}'
assert_true "INVITEs are counted by method" positive 'privox_sip_requests_total{method="INVITE"}'
assert_true "answered INVITEs are counted by class" positive 'privox_sip_responses_total{class="2xx",method="INVITE"}'
assert_true "challenges are counted by class" positive 'privox_sip_responses_total{class="4xx",method="REGISTER"}'
assert_true "the calls' post-dial delay is timed" positive 'privox_sip_post_dial_delay_seconds_count'
assert_contains "campaign deliveries are read" "$SCRAPE" 'privox_campaign_deliveries{channel="email",status="failed"} 0'
assert_contains "store trouble is counted" "$SCRAPE" 'privox_store_unavailable_total 0'
assert_contains "failovers are counted (none on one server)" "$SCRAPE" 'privox_store_failovers_total 0'
assert_contains "mail handed to the SMTP relay is counted by result" "$SCRAPE" 'privox_smtp_sends_total{result="refused"} 0'
assert_true "the callee's binding is live" positive 'privox_sip_bindings{state="live"}'
assert_true "the wrong password is an authentication failure" positive 'privox_sip_auth_failures_total'
assert_true "the writer made records durable" positive 'privox_writer_rows_total{outcome="committed"}'
assert_true "and timed them, append to durable" positive 'privox_writer_append_to_durable_seconds_count'
assert_true "HTTP requests are counted by route template" \
  positive 'privox_http_requests_total{method="GET",route="/api/v1/extensions/{id}",server="portal",status="405"}'
assert_true "a failed sign-in under its template" \
  positive 'privox_http_requests_total{method="POST",route="/api/v1/session",server="portal",status="401"}'
assert_true "the portal's pages under the fallback" positive 'privox_http_requests_total{method="GET",route="fallback",server="portal",status="200"}'
assert_contains "the rights queue is read" "$SCRAPE" 'privox_rights_requests_deadline{when="overdue"} 0'
assert_eq "no label value had to be replaced" 0 "$(metric privox_metrics_invalid_labels_total)"

# --- and not one personal value, anywhere in the scrape ------------------------------------------
for value in "$COMPANY_NAME" "Quillfeather" "$MEMBER_NAME" "Zephyrine" "$MEMBER_EMAIL" "$MEMBER_PHONE" "7946" \
  "Larkspur" "$L401" "$L402" "$PW401" "$PW402" "$MEMBER" "$COMPANY" "127.0.0.2" "127.0.0.3" "127.0.0.4" \
  "/no/such" "tok_metrics"; do
  if grep -qiF -- "$value" "$TMP/scrape.txt"; then
    fail "the scrape holds a personal value: $value" "$(grep -iF -- "$value" "$TMP/scrape.txt" | head -5)"
  fi
done
pass "the scrape holds none of the test's personal values"
# The same values, and the raw path asked for, in the whole-suite scan of every log (scripts/suite-scan.sh).
personal "$COMPANY_NAME" "$MEMBER_NAME" "$MEMBER_EMAIL" "$MEMBER_PHONE" "$L401" "$L402" "$PW401" "$PW402" \
  "/no/such" "tok_metrics"
suite_scrape "127.0.0.1:$METRICS_PORT"

finish
