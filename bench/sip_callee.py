#!/usr/bin/env python3
"""The called phone of bench/run-sip-tls.sh and bench/run-sip-ws.sh, for privox and Kamailio alike.

Debian 12's sipp has no TLS or WebSocket, and a sipp UAS behind a tunnel cannot register over the
connection its calls must arrive on (neither proxy opens a connection to a phone behind one). So
this phone does what the harness's uas_rr.xml does, over one connection of its own: TLS, or a
WebSocket (RFC 7118: the "sip" subprotocol, one SIP message per text frame), plain (ws:) or over
TLS (wss:):
  1. REGISTER, answering a digest challenge when there is one (MD5, qop=auth), with a Contact
     naming this connection's own address and its transport, so either proxy reaches it over the
     connection it registered on;
  2. every INVITE: 180, then 200 with SDP, both echoing Via, From, To (with a tag), Call-ID, CSeq
     and Record-Route; ACK: nothing; BYE: 200.
It prints "registered" once the 200 arrives, and on SIGTERM the number of INVITEs and BYEs it
answered.
  sip_callee.py tls PORT USER [PASSWORD]
  sip_callee.py ws URL ORIGIN COOKIE AOR AUTH_USER [PASSWORD]
    URL: ws:// or wss://HOST:PORT/PATH?QUERY; COOKIE: sent on the upgrade ("" for none); AOR: user@domain,
    registered at sip:domain with AUTH_USER as the digest's username.
"""
import base64
import hashlib
import os
import re
import signal
import socket
import ssl
import struct
import sys
from urllib.parse import urlsplit



def tls_client(sock):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the benchmark's self-signed pair; the proxies' cost is the measure
    return ctx.wrap_socket(sock)


mode = sys.argv[1]
transport = mode  # the Via's transport: tls, ws or wss
if mode == "tls":
    port, user = int(sys.argv[2]), sys.argv[3]
    auth_user, password = user, sys.argv[4] if len(sys.argv) > 4 else ""
    domain = "127.0.0.1"
    registrar = f"sip:127.0.0.1:{port}"
    conn = tls_client(socket.create_connection(("127.0.0.1", port)))
    pending = b""
elif mode == "ws":
    url, origin, cookie = urlsplit(sys.argv[2]), sys.argv[3], sys.argv[4]
    user, domain = sys.argv[5].split("@", 1)
    auth_user, password = sys.argv[6], sys.argv[7] if len(sys.argv) > 7 else ""
    registrar = f"sip:{domain}"
    conn = socket.create_connection((url.hostname, url.port))
    if url.scheme == "wss":
        conn, transport = tls_client(conn), "wss"
    key = base64.b64encode(os.urandom(16)).decode()
    target = url.path + (f"?{url.query}" if url.query else "")
    upgrade = (f"GET {target} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
               f"Origin: {origin}\r\n" + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n")
    conn.sendall(upgrade.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = conn.recv(4096)
        if not chunk:
            sys.exit("the WebSocket upgrade got no answer")
        answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    if " 101 " not in status_line:
        sys.exit(f"the WebSocket upgrade was refused: {status_line}")
    pending = answer[answer.index(b"\r\n\r\n") + 4:]
else:
    sys.exit(__doc__)
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
local = conn.getsockname()[1]
# RFC 7118 §5.2: a Contact says transport=ws for a WebSocket, secure or not; the Via says WS or WSS.
contact = f"<sip:{user}@127.0.0.1:{local};transport={'ws' if transport == 'wss' else transport}>"
answered = {"INVITE": 0, "BYE": 0}


def report(*_):
    print(f"answered invites={answered['INVITE']} byes={answered['BYE']}", flush=True)
    os._exit(0)


signal.signal(signal.SIGTERM, report)


def send(text):
    data = text.encode()
    if mode == "tls":
        return conn.sendall(data)
    # A client's frame is masked (RFC 6455 §5.3): one text frame per message.
    mask = os.urandom(4)
    size = len(data)
    header = bytes([0x81]) + (bytes([0x80 | size]) if size < 126 else struct.pack("!BH", 0x80 | 126, size))
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    conn.sendall(header + mask + masked)


def read_more(buffer):
    chunk = conn.recv(65536)
    if not chunk:
        report()
    return buffer + chunk


def stream_messages():
    """SIP messages off a TLS stream, framed by the blank line and Content-Length."""
    buffer = pending
    while True:
        while b"\r\n\r\n" not in buffer:
            buffer = read_more(buffer)
        end = buffer.find(b"\r\n\r\n")
        head = buffer[:end].decode("latin-1")
        length = re.search(r"^(?:Content-Length|l)\s*:\s*(\d+)", head, re.I | re.M)
        total = end + 4 + (int(length.group(1)) if length else 0)
        while len(buffer) < total:
            buffer = read_more(buffer)
        buffer = buffer[total:]
        if head.strip():
            yield head.lstrip("\r\n").split("\r\n")


def frame_messages():
    """SIP messages off a WebSocket, one per frame from the server (unmasked, unfragmented)."""
    buffer = pending
    while True:
        while len(buffer) < 2:
            buffer = read_more(buffer)
        opcode, size, at = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
        if size >= 126:
            at = 4 if size == 126 else 10
            while len(buffer) < at:
                buffer = read_more(buffer)
            size = struct.unpack("!H" if at == 4 else "!Q", buffer[2:at])[0]
        while len(buffer) < at + size:
            buffer = read_more(buffer)
        payload, buffer = buffer[at:at + size], buffer[at + size:]
        if opcode == 0x8:
            report()
        if opcode in (0x1, 0x2):
            yield payload.decode("latin-1").split("\r\n\r\n", 1)[0].split("\r\n")


def headers(lines, *names):
    wanted = tuple(n.lower() for n in names)
    return [line for line in lines[1:] if line.split(":", 1)[0].strip().lower() in wanted]


def register(cseq, authorization=""):
    send(f"REGISTER {registrar} SIP/2.0\r\n"
         f"Via: SIP/2.0/{transport.upper()} 127.0.0.1:{local};rport;branch=z9hG4bK-reg{cseq}\r\n"
         "Max-Forwards: 70\r\n"
         f"From: <sip:{user}@{domain}>;tag=callee\r\n"
         f"To: <sip:{user}@{domain}>\r\n"
         f"Call-ID: callee-{local}@127.0.0.1\r\n"
         f"CSeq: {cseq} REGISTER\r\n"
         f"Contact: {contact}\r\n"
         f"{authorization}"
         "Expires: 3600\r\nContent-Length: 0\r\n\r\n")


def digest(challenge):
    def param(name):
        found = re.search(name + r'="?([^",]+)"?', challenge)
        return found.group(1) if found else ""
    realm, nonce, qop = param("realm"), param("nonce"), param("qop")
    ha1 = hashlib.md5(f"{auth_user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"REGISTER:{registrar}".encode()).hexdigest()
    if qop:
        response = hashlib.md5(f"{ha1}:{nonce}:00000001:callee:auth:{ha2}".encode()).hexdigest()
        extra = ', qop=auth, nc=00000001, cnonce="callee"'
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        extra = ""
    opaque = param("opaque")
    extra += f', opaque="{opaque}"' if opaque else ""
    return (f'Authorization: Digest username="{auth_user}", realm="{realm}", nonce="{nonce}", uri="{registrar}", '
            f'response="{response}", algorithm=MD5{extra}\r\n')


incoming = stream_messages() if mode == "tls" else frame_messages()
register(1)
cseq = 1
while True:
    status = next(incoming)
    code = status[0].split(" ")[1]
    if code == "401" and password and cseq == 1:
        cseq = 2
        register(cseq, digest(headers(status, "WWW-Authenticate")[0]))
    elif code == "200":
        print("registered", flush=True)
        break
    elif not code.startswith("1"):
        sys.exit(f"registration refused: {status[0]}")

SDP = ("v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def respond(request, status, body=""):
    echoed = headers(request, "Via", "v", "From", "f", "Call-ID", "i", "CSeq", "Record-Route")
    to = headers(request, "To", "t")[0]
    if ";tag=" not in to:
        to += ";tag=callee"
    extra = "Content-Type: application/sdp\r\n" if body else ""
    send(f"SIP/2.0 {status}\r\n" + "\r\n".join(echoed + [to]) +
         f"\r\nContact: {contact}\r\n{extra}Content-Length: {len(body)}\r\n\r\n{body}")


for message in incoming:
    method = message[0].split(" ", 1)[0]
    if method == "INVITE":
        tag = f";tag=callee{answered['INVITE']}"
        message = [line + tag if line.lower().startswith(("to:", "t:")) else line for line in message]
        respond(message, "180 Ringing")
        respond(message, "200 OK", SDP)
        answered["INVITE"] += 1
    elif method == "BYE":
        respond(message, "200 OK")
        answered["BYE"] += 1
    elif method not in ("ACK", "SIP/2.0"):
        respond(message, "200 OK")
