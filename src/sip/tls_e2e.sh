#!/usr/bin/env bash
# SIP over TLS (issue 16, RFC 3261 §26) against a real `privox serve --sip-tls`, with the portal's
# certificate and key (a self-signed pair made here):
#  - serve refuses to start with --sip-tls but no --tls-cert/--tls-key, and says why;
#  - a phone registers over TLS with digest auth (401, then 200 on the same connection), and the
#    200's Via names TLS;
#  - a TLS 1.1 client is refused by the server (a TLS 1.2 one with the same client settings is not);
#  - a client that resumes its TLS 1.3 session is counted apart from new handshakes and failed ones
#    in privox_sip_tls_handshakes_total;
#  - a client that opens a connection and never handshakes is closed after the handshake deadline;
#  - after a renewed pair and SIGHUP, a new TLS connection gets the new certificate.
# Debian 12's sipp is built without TLS (`sipp -h` lists no TLS options), so the phone is Python's
# ssl module, which also answers the digest challenge.
# Usage: tls_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in openssl python3 curl timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 2; }
done

D=$TMP/data
new_data_dir "$D"
HTTP_PORT=$(free_port)
SIP_PORT=$(free_port)
TLS_PORT=$(free_port)
METRICS_PORT=$(free_port)
PW='Amber-reef-64-q'
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" 2>/dev/null || fail "openssl makes a self-signed certificate"

COMPANY=$(px "$D" company add --name "Acme Ltd" --region eea)
LINE=$(px "$D" extension add --company "$COMPANY" --number 401 --password "$PW")
assert_match "extension 401 added" "$LINE" '^[0-9a-f-]{36}$'
LOGIN=$(px "$D" extension show --id "$LINE" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sip_user"])')
personal "$LOGIN" "$PW"  # never in privox's logs or metrics (scripts/suite-scan.sh)

status=0
timeout 10 "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT" \
  --sip-tls "127.0.0.1:$TLS_PORT" >"$TMP/no_cert.out" 2>"$TMP/no_cert.err" || status=$?
assert_ne "serve --sip-tls without a certificate does not start" 0 "$status"
assert_contains "and names what is missing" "$(cat "$TMP/no_cert.err")" "--tls-cert"

start_bg serve "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT" \
  --sip-tls "127.0.0.1:$TLS_PORT" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" --metrics "127.0.0.1:$METRICS_PORT"
SERVE_PID=${E2E_PIDS[-1]}
for _ in $(seq 100); do grep -q '"event":"service.started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "serve listens for SIP over TLS" "$(cat "$TMP/serve.log")" "\"tls_port\":$TLS_PORT"

# One TLS connection: REGISTER, the 401's challenge answered, REGISTER again; prints both status
# lines and the 200's Via.
python3 - "$TLS_PORT" "$LOGIN" "$PW" "$TMP/cert.pem" >"$TMP/register.out" 2>&1 <<'PY'
import hashlib, re, socket, ssl, sys
port, user, password, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile)
ctx.check_hostname = False
conn = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5))
print("version", conn.version())
local = conn.getsockname()[1]
uri = f"sip:127.0.0.1:{port}"
def register(cseq, auth=""):
    conn.sendall((f"REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:{local};branch=z9hG4bK-tls{cseq}\r\n"
                  f"From: <sip:{user}@127.0.0.1>;tag=t{local}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
                  f"Call-ID: tls{local}@127.0.0.1\r\nCSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n"
                  f"Contact: <sip:{user}@127.0.0.1:{local};transport=tls>\r\nExpires: 600\r\n{auth}"
                  "Content-Length: 0\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65535)
    return data.decode()
first = register(1)
print(first.split("\r\n")[0])
challenge = re.search(r'WWW-Authenticate: Digest (.*)', first).group(1)
realm = re.search(r'realm="([^"]*)"', challenge).group(1)
nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
qop = "qop" in challenge
md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"REGISTER:{uri}")
if qop:
    answer = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}")
    extra = ', qop=auth, nc=00000001, cnonce="c0ffee"'
else:
    answer, extra = md5(f"{ha1}:{nonce}:{ha2}"), ""
second = register(2, f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                     f'response="{answer}", algorithm=MD5{extra}\r\n')
print(second.split("\r\n")[0])
print(next(line for line in second.split("\r\n") if line.lower().startswith("via:")))
PY
out=$(cat "$TMP/register.out")
assert_match "the phone speaks TLS 1.2 or 1.3" "$out" 'version TLSv1\.[23]'
assert_contains "an unauthenticated REGISTER over TLS is challenged" "$out" "SIP/2.0 401"
assert_contains "the answered challenge registers the line over TLS" "$out" "SIP/2.0 200"
assert_contains "the 200 comes back with the phone's TLS Via" "$out" "Via: SIP/2.0/TLS"

# The same client settings (any protocol, security level 0) with TLS 1.2 get through; with TLS 1.1 not.
handshake() {  # handshake -tls1_1|-tls1_2: openssl s_client's output
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" "$1" -cipher 'DEFAULT:@SECLEVEL=0' 2>&1
}
assert_contains "a TLS 1.2 client completes its handshake" "$(handshake -tls1_2)" "New, TLSv1.2, Cipher is ECDHE-"
tls11=$(handshake -tls1_1)
assert_contains "a TLS 1.1 client gets no session" "$tls11" "New, (NONE), Cipher is (NONE)"
assert_contains "the server refuses TLS 1.1 with a protocol version alert" "$tls11" "alert protocol version"

# A TLS 1.3 session kept (the client waits a second, so the server's ticket arrives) and resumed.
(sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -sess_out "$TMP/session.pem" >"$TMP/first.out" 2>&1
(sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -sess_in "$TMP/session.pem" >"$TMP/again.out" 2>&1
assert_contains "a TLS 1.3 client gets a session it may keep" "$(cat "$TMP/first.out")" "New, TLSv1.3"
assert_contains "and resumes it on its next connection" "$(cat "$TMP/again.out")" "Reused, TLSv1.3"
handshakes() { curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
  awk -v o="outcome=\"$1\"" '$1 ~ /^privox_sip_tls_handshakes_total/ && index($1, o) { print $2 }'; }
# New: the phone's, the TLS 1.2 client's and the session's first; failed: the TLS 1.1 client.
assert_eq "the metrics count three new handshakes" "3" "$(handshakes new)"
assert_eq "one resumed session" "1" "$(handshakes resumed)"
assert_eq "and one failed handshake" "1" "$(handshakes failed)"

# A client that connects and never handshakes is closed by privox after the deadline (5 s, swept each second).
python3 - "$TLS_PORT" >"$TMP/silent.out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(15)
began = time.time()
try:
    closed = s.recv(1) == b""
except ConnectionResetError:
    closed = True
print("closed" if closed else "open", round(time.time() - began))
PY
assert_match "a silent TLS client is closed within about the handshake deadline" "$(cat "$TMP/silent.out")" '^closed [4-7]$'

# A renewed pair under the same names, and SIGHUP: new TLS connections get the new certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=renewed.invalid" -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" 2>/dev/null || fail "openssl makes the renewed certificate"
kill -HUP "$SERVE_PID"
for _ in $(seq 50); do
  grep -q '"event":"reloaded"' "$TMP/serve.log" && break
  sleep 0.1
done
assert_contains "after SIGHUP a new SIP TLS connection gets the renewed certificate" "$(handshake -tls1_2)" \
  "CN = renewed.invalid"

assert_contains "serve still answers" "$(curl -sk "https://127.0.0.1:$HTTP_PORT/healthz")" '"status":"ok"'
finish
