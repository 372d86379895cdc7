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
#  - a phone whose TLS connection has closed is called on a connection privox opens to its Contact,
#    and only if the peer there presents the certificate the phone registered with: an impostor at
#    that address gets the handshake and no INVITE;
#  - after a renewed pair and SIGHUP, a new TLS connection gets the new certificate;
#  - after a restart, the phone is still called back on its certificate, and the impostor still not.
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
# 402 is called from the carrier's trunk on its number, once its phone's connection has closed.
DID402=+442071230402
LINE402=$(px "$D" extension add --company "$COMPANY" --number 402 --password "$PW" --did "$DID402")
LOGIN402=$(px "$D" extension show --id "$LINE402" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sip_user"])')
personal "$LOGIN402" "$DID402"
TRUNK_PORT=$(free_port)
px "$D" trunk add --name carrier --address "127.0.0.1:$TRUNK_PORT" --trusted >/dev/null || fail "trunk add"

# A TLS phone in Python's ssl module (Debian's sipp has no TLS): registers a line over a TLS
# connection, answering the digest challenge; imported by the scripts below.
cat >"$TMP/tls_phone.py" <<'PY'
import hashlib, re, socket, ssl

def connect(port, cafile, certificate=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    ctx.check_hostname = False
    if certificate:
        ctx.load_cert_chain(*certificate)
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5))

def read_message(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65535)
        if not chunk:
            break
        data += chunk
    return data.decode()

def register(conn, port, user, password, contact_port):
    """REGISTER, the 401's challenge answered, REGISTER again: both responses."""
    local = conn.getsockname()[1]
    uri = f"sip:127.0.0.1:{port}"
    def send(cseq, auth=""):
        conn.sendall((f"REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:{local};branch=z9hG4bK-tls{cseq}\r\n"
                      f"From: <sip:{user}@127.0.0.1>;tag=t{local}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
                      f"Call-ID: tls{local}@127.0.0.1\r\nCSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n"
                      f"Contact: <sip:{user}@127.0.0.1:{contact_port};transport=tls>\r\nExpires: 600\r\n{auth}"
                      "Content-Length: 0\r\n\r\n").encode())
        return read_message(conn)
    first = send(1)
    challenge = re.search(r'WWW-Authenticate: Digest (.*)', first).group(1)
    realm = re.search(r'realm="([^"]*)"', challenge).group(1)
    nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"REGISTER:{uri}")
    if "qop" in challenge:
        answer = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}")
        extra = ', qop=auth, nc=00000001, cnonce="c0ffee"'
    else:
        answer, extra = md5(f"{ha1}:{nonce}:{ha2}"), ""
    second = send(2, f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                     f'response="{answer}", algorithm=MD5{extra}\r\n')
    return first, second
PY

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
PYTHONPATH=$TMP python3 - "$TLS_PORT" "$LOGIN" "$PW" "$TMP/cert.pem" >"$TMP/register.out" 2>&1 <<'PY'
import sys
import tls_phone
port, user, password, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
conn = tls_phone.connect(port, cafile)
print("version", conn.version())
first, second = tls_phone.register(conn, port, user, password, conn.getsockname()[1])
print(first.split("\r\n")[0])
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

# --- A TLS phone whose connection has closed (issue 16). 402's phone registers over TLS with its own
# certificate and a Contact where it listens for TLS, and that connection closes. The carrier calls
# 402's number twice: first an impostor listens at the Contact with another certificate and gets the
# handshake but no INVITE; then the phone itself, which gets the INVITE over TLS and answers busy.
PHONE_PORT=$(free_port)
for who in phone impostor; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$who.invalid" \
    -keyout "$TMP/$who.key" -out "$TMP/$who.pem" 2>/dev/null || fail "openssl makes the $who's certificate"
done
# callback.py REGISTER FIRST_CALL: 402's phone registers (REGISTER=1) and closes its connection, then
# the carrier calls twice, numbering the calls from FIRST_CALL.
cat >"$TMP/callback.py" <<'PY'
import re, socket, ssl, sys
import tls_phone
tls_port, sip_port, trunk_port, phone_port = map(int, sys.argv[1:5])
user, password, did, tmp = sys.argv[5:9]
register, first = sys.argv[9] == "1", int(sys.argv[10])
if register:
    conn = tls_phone.connect(tls_port, f"{tmp}/cert.pem", (f"{tmp}/phone.pem", f"{tmp}/phone.key"))
    print("registered:", tls_phone.register(conn, tls_port, user, password, phone_port)[1].split("\r\n")[0])
    conn.close()

carrier = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
carrier.bind(("127.0.0.1", trunk_port))
carrier.settimeout(10)
def invite(n):
    carrier.sendto((f"INVITE sip:{did}@127.0.0.1:{sip_port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{trunk_port};branch=z9hG4bK-cb{n}\r\n"
                    f"From: <sip:+12125550100@127.0.0.1>;tag=c{n}\r\nTo: <sip:{did}@127.0.0.1>\r\n"
                    f"Call-ID: callback{n}@127.0.0.1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
                    f"Contact: <sip:carrier@127.0.0.1:{trunk_port}>\r\nContent-Length: 0\r\n\r\n").encode(),
                   ("127.0.0.1", sip_port))

def busy(request):
    """The phone's 486 to an INVITE: its Vias, From, To (tagged), Call-ID and CSeq."""
    lines = request.split("\r\n")
    keep = [l for l in lines if re.match(r"(?i)(via|from|call-id|cseq):", l)]
    to = next(l for l in lines if re.match(r"(?i)to:", l))
    return ("SIP/2.0 486 Busy Here\r\n" + "\r\n".join(keep) + f"\r\n{to};tag=phone\r\nContent-Length: 0\r\n\r\n").encode()

def call_with(who, n):
    """The carrier calls 402 while `who` listens at the phone's Contact: what `who` read over TLS."""
    listener = socket.create_server(("127.0.0.1", phone_port))
    listener.settimeout(10)
    invite(n)
    raw, _ = listener.accept()
    listener.close()
    raw.settimeout(5)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{tmp}/{who}.pem", f"{tmp}/{who}.key")
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
        got = tls_phone.read_message(tls)
    except (ssl.SSLError, OSError):
        got = ""
    if got.startswith("INVITE "):
        tls.sendall(busy(got))
    return got

got = call_with("impostor", first)
print("impostor read:", len(got), "bytes")
got = call_with("phone", first + 1)
print("phone read:", got.split("\r\n")[0])
print("phone's via:", next((l for l in got.split("\r\n") if l.lower().startswith("via:")), ""))
while True:
    response = carrier.recv(65535).decode()
    if f"callback{first + 1}@" in response and not response.startswith("SIP/2.0 1"):
        break
print("carrier got:", response.split("\r\n")[0])
PY
callback() {  # callback REGISTER FIRST_CALL OUT
  PYTHONPATH=$TMP timeout 60 python3 "$TMP/callback.py" "$TLS_PORT" "$SIP_PORT" "$TRUNK_PORT" "$PHONE_PORT" \
    "$LOGIN402" "$PW" "$DID402" "$TMP" "$1" "$2" >"$3" 2>&1
}
callback 1 1 "$TMP/callback.out"
out=$(cat "$TMP/callback.out")
assert_contains "402's phone registers over TLS with its own certificate" "$out" "registered: SIP/2.0 200"
assert_contains "an impostor at the phone's Contact gets no INVITE" "$out" "impostor read: 0 bytes"
assert_contains "the phone itself gets the INVITE on a connection privox opened" "$out" \
  "phone read: INVITE sip:$LOGIN402@127.0.0.1:$PHONE_PORT;transport=tls SIP/2.0"
assert_contains "over TLS (privox's Via)" "$out" "phone's via: Via: SIP/2.0/TLS"
assert_contains "its busy reaches the carrier" "$out" "carrier got: SIP/2.0 486"
reopened() { curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
  awk -v m="privox_sip_tcp_reopened_total{outcome=\"$1\"}" '$1 == m { print $2 }'; }
assert_eq "the metrics count the connection the impostor got" "1" "$(reopened certificate_changed)"
assert_eq "and the one the phone got" "1" "$(reopened connected)"

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

# --- A restart closes every connection and empties the node's memory: 402's binding comes back from
# the store with its phone's certificate, so the carrier's call still reaches the phone, and no one else.
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
start_bg serve_again "$PRIVOX" serve $(store_args "$D") --http "127.0.0.1:$HTTP_PORT" --sip "127.0.0.1:$SIP_PORT" \
  --sip-tls "127.0.0.1:$TLS_PORT" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" --metrics "127.0.0.1:$METRICS_PORT"
for _ in $(seq 100); do grep -q '"event":"service.started"' "$TMP/serve_again.log" 2>/dev/null && break; sleep 0.1; done
callback 0 3 "$TMP/callback_again.out"
out=$(cat "$TMP/callback_again.out")
assert_contains "after a restart an impostor at the phone's Contact still gets no INVITE" "$out" "impostor read: 0 bytes"
assert_contains "and the phone itself gets the call" "$out" \
  "phone read: INVITE sip:$LOGIN402@127.0.0.1:$PHONE_PORT;transport=tls SIP/2.0"
assert_contains "and its busy reaches the carrier" "$out" "carrier got: SIP/2.0 486"
finish
