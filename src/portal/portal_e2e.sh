#!/usr/bin/env bash
# The portal end to end through a real `privox serve` and the stand-in payment provider
# (`privox tokenizer`), with curl: sign-up with a card token and the emailed link (through the SMTP
# test server), the same answer for a taken address, login, cookie flags, CSRF refusal,
# per-client login delays, logout, security headers on every answer, staff purposes, and HTTPS with a throw-away
# certificate; the delay limits come from the settings serve reads at start.
# Usage: portal_e2e.sh PRIVOX sqlite|postgresql
source "$(dirname "$0")/../../scripts/test-lib.sh"
source "$(dirname "$0")/../../scripts/e2e-lib.sh"

[ -n "$SMTP_URL" ] || { echo "$0: no SMTP test server (PRIVOX_TEST_SMTP_DIR)" >&2; exit 2; }
D=$TMP/data
new_data_dir "$D"
# Addresses of this run only: the SMTP test server's Maildir is shared with the other scripts.
ADA="ada-$E2E_RUN_ID@example.com"
BO="bo-$E2E_RUN_ID@example.com"
HTTP_PORT=$(free_port)
TOK_PORT=$(free_port)
ORIGIN="http://127.0.0.1:$HTTP_PORT"
TOK="http://127.0.0.1:$TOK_PORT"
head -c 24 /dev/urandom | base64 >"$TMP/api.key"
CURL=(curl --noproxy '*' -s -m 5)

# serve reads the login delay limits from the settings when it starts.
assert_eq "settings set portal.login_max_failures" 0 "$(px "$D" settings set portal.login_max_failures 3 >/dev/null 2>&1; echo $?)"
assert_eq "an out-of-range limit is refused, naming the setting" 2 \
  "$(px "$D" settings set portal.lockout_minutes 0 2>"$TMP/set.err" >/dev/null; echo $?)"
assert_contains "the refusal names the setting and its range" "$(cat "$TMP/set.err")" "privox: error: portal.lockout_minutes: 0 is out of range; use 1 to 1440"
# Sign-up mails its link through the test relay, to the portal's public address.
px "$D" settings set mail.smtp_url "$SMTP_URL" >/dev/null || fail "settings set mail.smtp_url"
px "$D" settings set portal.public_url "$ORIGIN" >/dev/null || fail "settings set portal.public_url"
start_bg tokenizer "$PRIVOX" tokenizer --listen "127.0.0.1:$TOK_PORT" --allow-origin "$ORIGIN" --api-key-file "$TMP/api.key"
mapfile -t SARGS < <(store_args "$D")
start_bg serve timeout 120 "$PRIVOX" serve "${SARGS[@]}" --http "127.0.0.1:$HTTP_PORT" --sip 127.0.0.1:0 \
  --payment-provider "$TOK" --payment-api-key-file "$TMP/api.key"
wait_up() {  # wait_up URL
  for _ in $(seq 100); do
    [ "$("${CURL[@]}" -k -o /dev/null -w '%{http_code}' "$1/healthz")" == 200 ] && return 0
    sleep 0.1
  done
  return 1
}
assert_true "the tokenizer answers" wait_up "$TOK"
assert_true "privox serve answers" wait_up "$ORIGIN"

# The browser's part: card details go to the provider only, with CORS for the portal's origin.
code=$("${CURL[@]}" -D "$TMP/tok.h" -o "$TMP/tok.json" -w '%{http_code}' -H "Origin: $ORIGIN" \
  -H 'Content-Type: application/json' -d '{"number":"4242 4242 4242 4242","exp_month":12,"exp_year":2031,"cvc":"123"}' "$TOK/v1/tokens")
assert_eq "the provider issues a token" 201 "$code"
assert_true "with CORS for the portal" grep -qi "^access-control-allow-origin: $ORIGIN" "$TMP/tok.h"
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$TMP/tok.json")
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$TOK/v1/tokens/$TOKEN")
assert_eq "the provider's token look-up needs the API key" 401 "$code"

signup() {  # signup EMAIL PHONE TOKEN -> status; headers in $TMP/signup.h, body in $TMP/signup.json
  "${CURL[@]}" -D "$TMP/signup.h" -o "$TMP/signup.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"company_name\":\"Acme\",\"name\":\"Ada Lovelace\",\"email\":\"$1\",\"phone\":\"$2\",\"address\":\"1 Way, London\",\"birth_date\":\"1990-01-01\",\"password\":\"correct horse battery\",\"payment_token\":\"$3\"}" \
    "$ORIGIN/api/v1/signup"
}
assert_eq "sign-up with a card number in a field is refused" 400 "$(signup 'x@example.com' '4242424242424242' "$TOKEN")"
assert_contains "the refusal names the field" "$(cat "$TMP/signup.json")" '"field":"phone"'
link_to() {  # link_to ADDRESS: the token of the newest link mailed to ADDRESS (10 s at most)
  for _ in $(seq 100); do
    local token
    token=$(grep -l -i "^To: $1" "$SMTP_MAILDIR"/new/* 2>/dev/null | xargs -r ls -t | head -n 1 |
      xargs -r sed -e ':a' -e '/=$/{N;s/=\n//;ba}' | grep -o 'confirm\.html#[0-9a-f]\{64\}' | tail -n 1 | cut -d'#' -f2)
    [ -n "$token" ] && { echo "$token"; return 0; }
    sleep 0.1
  done
  return 1
}
confirm() {  # confirm TOKEN [CURL-ARGS] -> status; headers in $TMP/signup.h, body in $TMP/signup.json
  "${CURL[@]}" "${@:2}" -D "$TMP/signup.h" -o "$TMP/signup.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"token\":\"$1\"}" "$ORIGIN/api/v1/confirm"
}
assert_eq "sign-up with the token is accepted, pending the emailed link" 202 "$(signup "$ADA" '+442079460958' "$TOKEN")"
assert_false "and sets no cookie yet" grep -qi '^set-cookie:' "$TMP/signup.h"
LINK=$(link_to "$ADA")
assert_eq "the link was mailed to the address, leading to the portal" 64 "${#LINK}"
assert_eq "following the link signs up and logs in" 201 "$(confirm "$LINK")"
assert_true "the session cookie is HttpOnly and SameSite=Strict" \
  grep -qiE '^set-cookie: privox_session=[0-9a-f]{64}; Path=/; .*HttpOnly; SameSite=Strict' "$TMP/signup.h"
assert_false "no Secure flag without TLS (it would not be sent back)" grep -qi '^set-cookie:.*Secure' "$TMP/signup.h"
assert_eq "the card's brand came from the provider" "visa|4242" \
  "$(px "$D" member show --id "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["subject_id"])' "$TMP/signup.json")" --purpose billing \
     | python3 -c 'import json,sys; f=json.load(sys.stdin)["fields"]; print(f["card_brand"]+"|"+f["card_last4"])')"
assert_eq "no card number is stored" "" "$(store_sql "$D" "SELECT count(*) FROM audit_log WHERE detail LIKE '%4242424242424242%'" | grep -v '^0$')"
assert_eq "a link works once" 404 "$(confirm "$LINK")"
assert_eq "and a payment token signs up once" 409 "$(signup "new-$E2E_RUN_ID@example.com" '+442079460957' "$TOKEN")"
assert_contains "the refusal names the token" "$(cat "$TMP/signup.json")" '"field":"payment_token"'

# Issue 10 item 10: a taken address gets the very answer a free one gets; its mailbox is told.
new_token() {
  "${CURL[@]}" -H "Origin: $ORIGIN" -H 'Content-Type: application/json' \
    -d '{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}' "$TOK/v1/tokens" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
assert_eq "sign-up with the taken address" 202 "$(signup "$ADA" '+442079460956' "$(new_token)")"
cp "$TMP/signup.json" "$TMP/taken.json"
assert_eq "sign-up with a free address" 202 "$(signup "free-$E2E_RUN_ID@example.com" '+442079460955' "$(new_token)")"
assert_eq "the two answers are the same, byte for byte" "$(cat "$TMP/signup.json")" "$(cat "$TMP/taken.json")"
taken_mail() { grep -l -i "^To: $ADA" "$SMTP_MAILDIR"/new/* 2>/dev/null | xargs -r grep -l 'has one already' | wc -l; }
for _ in $(seq 50); do [ "$(taken_mail)" -ge 1 ] && break; sleep 0.1; done
assert_eq "the taken address's owner is told, with no link" 1 "$(taken_mail)"

login() {  # login EMAIL PASSWORD [ADDRESS-HEADERS] -> status; cookie jar $TMP/jar, body $TMP/login.json
  "${CURL[@]}" -c "$TMP/jar" -D "$TMP/login.h" -o "$TMP/login.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" "$ORIGIN/api/v1/session"
}
assert_eq "login with the right password" 200 "$(login "$ADA" 'correct horse battery')"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf_token"])' "$TMP/login.json")
assert_eq "GET /me with the session" 200 "$("${CURL[@]}" -b "$TMP/jar" -o /dev/null -w '%{http_code}' "$ORIGIN/api/v1/me")"
assert_eq "PATCH /me without the CSRF token is refused" 403 \
  "$("${CURL[@]}" -b "$TMP/jar" -o "$TMP/csrf.json" -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' -d '{"name":"Ada King"}' "$ORIGIN/api/v1/me")"
assert_contains "the refusal names the header" "$(cat "$TMP/csrf.json")" 'X-CSRF-Token'
assert_eq "PATCH /me with the CSRF token works" 200 \
  "$("${CURL[@]}" -b "$TMP/jar" -o /dev/null -w '%{http_code}' -X PATCH -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' -d '{"name":"Ada King"}' "$ORIGIN/api/v1/me")"
assert_eq "logout" 204 "$("${CURL[@]}" -b "$TMP/jar" -o /dev/null -w '%{http_code}' -X DELETE -H "X-CSRF-Token: $CSRF" "$ORIGIN/api/v1/session")"
assert_eq "the old cookie no longer works" 401 "$("${CURL[@]}" -b "$TMP/jar" -o /dev/null -w '%{http_code}' "$ORIGIN/api/v1/me")"

for _ in 1 2; do login "$ADA" 'wrong password!' >/dev/null; done
assert_eq "2 failures, under the setting's 3: the right password still works" 200 "$(login "$ADA" 'correct horse battery')"
for _ in 1 2 3; do login "$ADA" 'wrong password!' >/dev/null; done
assert_eq "after 3 failures (portal.login_max_failures) this client's next try at the account waits, whatever its password" \
  429 "$(login "$ADA" 'correct horse battery')"
assert_true "with Retry-After" grep -qi '^retry-after: [0-9]' "$TMP/login.h"
assert_eq "the throttle keeps one keyed hash of the (account, client) pair, no address or email in clear" "1|32" \
  "$(store_sql "$D" "SELECT count(*), max(length(key_hash)) FROM portal_login_throttle")"
sleep 1.1
assert_eq "once the delay has passed the right password works" 200 "$(login "$ADA" 'correct horse battery')"
assert_eq "and ends the pair's count" 0 "$(store_sql "$D" "SELECT count(*) FROM portal_login_throttle")"

# Staff must name a purpose their role allows.
PRIVOX_STAFF_PASSWORD='staff password 12' px "$D" staff add --email fraud@operator.example --role staff_fraud >/dev/null
assert_eq "staff add" 0 $?
assert_eq "staff add refuses a member role" 2 "$(PRIVOX_STAFF_PASSWORD='staff password 12' px "$D" staff add --email x@operator.example --role member >/dev/null 2>&1; echo $?)"

# Every answer carries the security headers, pages included; the CSP lets pages reach the provider.
for path in /healthz /api/v1/privacy-notice /api/v1/openapi.json /no/such/page.html /api/v1/nope; do
  "${CURL[@]}" -D "$TMP/h" -o /dev/null "$ORIGIN$path"
  assert_true "$path has nosniff" grep -qi '^x-content-type-options: nosniff' "$TMP/h"
  assert_true "$path has frame-ancestors 'none' and the provider in connect-src" \
    grep -qiE "^content-security-policy: .*connect-src 'self' $TOK.*frame-ancestors 'none'" "$TMP/h"
  assert_true "$path has a Referrer-Policy" grep -qi '^referrer-policy: no-referrer' "$TMP/h"
done
assert_eq "an oversized body is refused" 413 \
  "$(head -c 2000000 /dev/zero | tr '\0' 'a' | "${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @- "$ORIGIN/api/v1/session")"

# HTTPS with a throw-away certificate; the cookie then carries Secure.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 -subj /CN=127.0.0.1 2>/dev/null
TLS_PORT=$(free_port)
start_bg serve-tls timeout 120 "$PRIVOX" serve "${SARGS[@]}" --http "127.0.0.1:$TLS_PORT" --sip 127.0.0.1:0 \
  --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" --payment-provider "$TOK" --payment-api-key-file "$TMP/api.key"
assert_true "privox serves HTTPS" wait_up "https://127.0.0.1:$TLS_PORT"
# A second sign-up shows the cookie under TLS.
TOKEN2=$("${CURL[@]}" -H "Origin: $ORIGIN" -H 'Content-Type: application/json' \
  -d '{"number":"5555555555554444","exp_month":1,"exp_year":2032,"cvc":"321"}' "$TOK/v1/tokens" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
code=$("${CURL[@]}" --cacert "$TMP/cert.pem" -D "$TMP/tls.h" -o "$TMP/tls.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"company_name\":\"Beta\",\"name\":\"Bo Brown\",\"email\":\"$BO\",\"phone\":\"+442079460959\",\"address\":\"2 Way, Leeds\",\"birth_date\":\"1985-05-05\",\"password\":\"another good pass\",\"payment_token\":\"$TOKEN2\"}" \
  "https://127.0.0.1:$TLS_PORT/api/v1/signup")
assert_eq "sign-up over HTTPS" 202 "$code"
code=$("${CURL[@]}" --cacert "$TMP/cert.pem" -D "$TMP/tls.h" -o "$TMP/tls.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"token\":\"$(link_to "$BO")\"}" "https://127.0.0.1:$TLS_PORT/api/v1/confirm")
assert_eq "its link over HTTPS signs up and logs in" 201 "$code"
assert_true "under TLS the session cookie is __Host-privox_session, Secure, Path=/, no Domain" \
  grep -qiE '^set-cookie: __Host-privox_session=[0-9a-f]{64}; Path=/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict; Secure' "$TMP/tls.h"
assert_false "and no Domain" grep -qi '^set-cookie: __Host-privox_session=.*Domain' "$TMP/tls.h"

finish
