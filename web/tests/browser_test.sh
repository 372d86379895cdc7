#!/usr/bin/env bash
# The portal in a real browser: starts the payment tokenizer and `privox serve` (HTTP and SIP on
# free loopback ports, a fresh SQLite data dir under a temp dir), then runs portal_test.mjs (and each other *_test.mjs here), which
# drives headless Chromium through sign-up, extensions and a sipp call, the call log, a profile
# correction, cookie consent, logout, the operator console and a SIP ban lifted there. Afterwards it checks from outside
# that the card number never reached privox (store files, server logs).
# Usage: bash web/tests/browser_test.sh /path/to/privox
# Needs (scripts/install-test-deps.sh installs them; this script installs nothing): node, npm's
# playwright-core in web/tests/node_modules, /usr/bin/chromium, sipp, baresip, rtpengine, curl, python3.
# Screenshots: "$PRIVOX_BUILD_DIR/browser-artifacts/" (ctest sets PRIVOX_BUILD_DIR; default ./build-check).

set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 /path/to/privox" >&2
  exit 2
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BINARY=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

missing=()
command -v node >/dev/null || missing+=("node (Node.js)")
[ -d "$HERE/node_modules/playwright-core" ] || missing+=("playwright-core (npm install in web/tests)")
[ -x /usr/bin/chromium ] || missing+=("/usr/bin/chromium")
for tool in sipp baresip rtpengine curl python3 timeout; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "browser_test.sh: missing ${missing[*]}; run scripts/install-test-deps.sh as root" >&2
  exit 2
fi

# e2e-lib.sh takes PRIVOX BACKEND: this test runs on the embedded default.
set -- "$BINARY" sqlite
source "$ROOT/scripts/test-lib.sh"
source "$ROOT/scripts/e2e-lib.sh"

ARTIFACTS="${PRIVOX_BUILD_DIR:-$ROOT/build-check}/browser-artifacts"
mkdir -p "$ARTIFACTS" && rm -f "$ARTIFACTS"/*.png

# A loopback port free for both UDP and TCP (SIP listens on both).
sip_port() {
  python3 - <<'PY'
import socket
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    print(port)
    break
PY
}

wait_http() {  # wait_http URL NAME: until URL answers (10 s at most)
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "browser_test.sh: $2 did not come up on $1; its log:" >&2
  tail -n 30 "$TMP/$2.log" >&2
  exit 1
}

D="$TMP/data"
new_data_dir "$D"
HTTP_PORT=$(free_port)
TOKENIZER_PORT=$(free_port)
SIP_PORT=$(sip_port)
PORTAL_URL="http://127.0.0.1:$HTTP_PORT"
TOKENIZER_URL="http://127.0.0.1:$TOKENIZER_PORT"
KEY_FILE="$TMP/payment-api.key"
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$KEY_FILE")

# A support agent for the operator console (step 6), provisioned before serve opens the store.
STAFF_EMAIL="agent@operator.example"
STAFF_PASSWORD="support-agent-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
PRIVOX_STAFF_PASSWORD=$STAFF_PASSWORD px "$D" staff add --email "$STAFF_EMAIL" --role staff_support >/dev/null ||
  { echo "browser_test.sh: privox staff add failed" >&2; exit 1; }

# Staff on fraud duty for the SIP bans (step 7).
FRAUD_EMAIL="fraud@operator.example"
FRAUD_PASSWORD="fraud-analyst-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
personal "$STAFF_PASSWORD" "$FRAUD_PASSWORD"  # never in privox's logs (scripts/suite-scan.sh)
PRIVOX_STAFF_PASSWORD=$FRAUD_PASSWORD px "$D" staff add --email "$FRAUD_EMAIL" --role staff_fraud >/dev/null ||
  { echo "browser_test.sh: privox staff add (fraud) failed" >&2; exit 1; }

# Legal staff for the rights-request queue (rights_test.mjs).
LEGAL_EMAIL="legal@operator.example"
LEGAL_PASSWORD="legal-officer-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
PRIVOX_STAFF_PASSWORD=$LEGAL_PASSWORD px "$D" staff add --email "$LEGAL_EMAIL" --role staff_legal >/dev/null ||
  { echo "browser_test.sh: privox staff add (legal) failed" >&2; exit 1; }

# Sign-up confirms the address by an emailed link: a real SMTP server on loopback (scripts/test-smtp.sh)
# delivers into a Maildir the scenario reads the link from.
bash "$ROOT/scripts/test-smtp.sh" start "$TMP/smtp" >/dev/null || { echo "browser_test.sh: the SMTP server did not start" >&2; exit 1; }
E2E_PIDS+=("$(cat "$TMP/smtp/pid")")
# Every scenario signs up its own company from 127.0.0.1, more than the ten sign-ups an hour one
# address may make by default; the limit itself is api_test's to check.
px "$D" settings set mail.smtp_url "$(cat "$TMP/smtp/url")" >/dev/null &&
  px "$D" settings set portal.public_url "$PORTAL_URL" >/dev/null &&
  px "$D" settings set portal.signups_per_hour 100 >/dev/null ||
  { echo "browser_test.sh: privox settings set failed" >&2; exit 1; }

start_bg tokenizer "$PRIVOX" tokenizer --listen "127.0.0.1:$TOKENIZER_PORT" --allow-origin "$PORTAL_URL" \
  --api-key-file "$KEY_FILE"
# rtpengine relays the calls' audio, as in production: the softphone's (softphone_test.mjs) is
# DTLS-SRTP on the browser's side and plain RTP on a desk phone's.
NG_PORT=$(free_port)
MEDIA_MIN=$((30000 + (RANDOM % 90) * 100))  # a media range of its own: other tests run beside this one
# rtpengine reports every key press it relays (RFC 4733) as a JSON datagram; they land in
# $DTMF_LOG, one per line, for softphone_test.mjs.
DTMF_PORT=$(free_port)
DTMF_LOG="$TMP/dtmf.log"
: >"$DTMF_LOG"
python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65535).replace(b"\n", b" ") + b"\n")
' "$DTMF_PORT" "$DTMF_LOG" >/dev/null 2>&1 &
E2E_PIDS+=("$!")
rtpengine --config-file=none --foreground --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$NG_PORT" \
  --port-min="$MEDIA_MIN" --port-max=$((MEDIA_MIN + 99)) --num-threads=1 --log-stderr --log-level=5 \
  --dtmf-log-dest="127.0.0.1:$DTMF_PORT" >>"$TMP/rtpengine.log" 2>&1 &
E2E_PIDS+=("$!")
start_bg serve "$PRIVOX" serve --data-dir "$D" --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT" \
  --payment-provider "$TOKENIZER_URL" --payment-api-key-file "$KEY_FILE" --media-relay "127.0.0.1:$NG_PORT"
wait_http "$TOKENIZER_URL/" tokenizer
wait_http "$PORTAL_URL/healthz" serve

# A password guesser on its own address (step 7): five wrong REGISTERs get it banned on every node.
BANNED_SOURCE=127.0.0.9
timeout -k 2 30 sipp -sf "$ROOT/src/sip/scenarios/register_rejected.xml" "127.0.0.1:$SIP_PORT" -i "$BANNED_SOURCE" \
  -p "$(free_port)" -m 5 -l 1 -nostdin -key user nobody -key contact_port 5999 -au nobody -ap "wrong password 1" \
  -timeout 20 -timeout_error >"$TMP/guesser.log" 2>&1 ||
  { echo "browser_test.sh: the guesser's five wrong REGISTERs were not all answered 401" >&2; tail -n 20 "$TMP/guesser.log" >&2; exit 1; }

# portal_test.mjs first (it signs up the company the others may reuse), then every other
# *_test.mjs here in name order, each against the same servers and bounded on its own.
export PORTAL_URL TOKENIZER_URL SIP_PORT ARTIFACTS STAFF_EMAIL STAFF_PASSWORD FRAUD_EMAIL FRAUD_PASSWORD BANNED_SOURCE
export LEGAL_EMAIL LEGAL_PASSWORD DTMF_LOG
export SCENARIOS="$ROOT/src/sip/scenarios" WORK="$TMP" MAILDIR="$TMP/smtp/maildir"
scripts=(portal_test.mjs)
for other in "$HERE"/*_test.mjs; do
  [ "$(basename "$other")" = portal_test.mjs ] || scripts+=("$(basename "$other")")
done
# BROWSER_SCENARIOS="wallet_test.mjs invoices_test.mjs" runs only those (while working on a page).
[ -z "${BROWSER_SCENARIOS:-}" ] || read -r -a scripts <<<"$BROWSER_SCENARIOS"
failed=()
for script in "${scripts[@]}"; do
  logged_before=$(wc -l <"$TMP/serve.log")
  timeout -k 5 280 node "$HERE/$script" 2>&1 | tee "$TMP/$script.out"
  status=${PIPESTATUS[0]}
  # A failure shows what serve said while that scenario ran, past the one line per HTTP request.
  [ "$status" -eq 0 ] || failed+=("$script (exit $status): $(grep -E '^(FAIL|--|browser|page [0-9]|\[)' "$TMP/$script.out" | tail -n 30)"
    "serve log during $script:" "$(tail -n +"$((logged_before + 1))" "$TMP/serve.log" | grep -v '"event":"request"' | tail -n 25)")
done
if [ ${#failed[@]} -eq 0 ]; then
  pass
else
  fail "the browser scenarios; screenshots in $ARTIFACTS" "${failed[@]}"
fi

# The card numbers the scenarios typed went to the tokenizer only (P3): neither privox's data
# directory (the store, the sealed copies of members' data) nor its log holds one.
if where=$(files_hold text "$D" 4242424242424242 4000000000000002 5555555555554444) ||
  grep -qE '4242424242424242|4000000000000002' "$TMP/serve.log"; then
  fail "a card number reached privox" "$where"
else
  pass
fi
finish
