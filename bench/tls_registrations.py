#!/usr/bin/env python3
"""Registrations over TLS, each on a connection of its own, for bench/run-sip-tls.sh.

The harness's reg_auth.xml exchange (REGISTER, 401, REGISTER with digest, 200), COUNT times at
RATE per second, each on a new TLS connection closed after its 200: with a full handshake each
(new), or offering the session of the previous connection (resumed: a TLS 1.3 ticket or a TLS 1.2
session id; the server decides). sipp cannot do this here: Debian's has no TLS, and through stunnel
its one-connection-per-call mode (-t tn) stops after about a thousand connections with "a message
waiting ... bigger than the read size".
Prints one line: successful=N failed=N elapsed_s=S resumed=N (connections the server resumed).
  tls_registrations.py PORT USER PASSWORD COUNT RATE new|resumed
"""
import hashlib
import re
import socket
import ssl
import sys
import time

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
count, rate, mode = int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
uri = f"sip:127.0.0.1:{port}"


def read_response(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data.decode("latin-1")


def register(conn, local, n, cseq, authorization=""):
    conn.sendall((
        f"REGISTER {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/TLS 127.0.0.1:{local};rport;branch=z9hG4bK-{n}-{cseq}\r\n"
        f"From: <sip:{user}@127.0.0.1>;tag=reg{n}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: reg{n}-{local}@127.0.0.1\r\nCSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:{user}@127.0.0.1:5062;transport=tls>\r\nMax-Forwards: 70\r\nExpires: 3600\r\n"
        f"{authorization}User-Agent: tls-registrations/1.0\r\nContent-Length: 0\r\n\r\n").encode())
    return read_response(conn)


def digest(challenge):
    def param(name):
        found = re.search(name + r'="?([^",\r]+)"?', challenge)
        return found.group(1) if found else ""
    realm, nonce, qop, opaque = param("realm"), param("nonce"), param("qop"), param("opaque")
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"REGISTER:{uri}")
    if qop:
        response, extra = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"), ', qop=auth, nc=00000001, cnonce="c0ffee"'
    else:
        response, extra = md5(f"{ha1}:{nonce}:{ha2}"), ""
    extra += f', opaque="{opaque}"' if opaque else ""
    return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5{extra}\r\n')


ok = failed = resumed = 0
session = None
began = time.monotonic()
for n in range(count):
    due = began + n / rate
    wait = due - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = ctx.wrap_socket(raw, session=session if mode == "resumed" else None)
        local = conn.getsockname()[1]
        first = register(conn, local, n, 1)
        status = first.split(" ", 2)[1]
        if status == "401":
            challenge = re.search(r"^WWW-Authenticate:\s*Digest (.*)$", first, re.I | re.M).group(1)
            status = register(conn, local, n, 2, digest(challenge)).split(" ", 2)[1]
        resumed += conn.session_reused
        if mode == "resumed":
            session = conn.session  # after the exchange: a TLS 1.3 ticket arrives after the handshake
        conn.close()
        ok += status == "200"
        failed += status != "200"
    except (OSError, ConnectionError, AttributeError):
        failed += 1
elapsed = time.monotonic() - began
print(f"successful={ok} failed={failed} elapsed_s={elapsed:.2f} resumed={resumed}")
