#!/usr/bin/env python3
"""The called phone of bench/run-sip-tls.sh, for privox and Kamailio alike.

Debian 12's sipp has no TLS, and a sipp UAS behind stunnel cannot register over the connection
its calls must arrive on (neither proxy opens TLS to a phone that registered from behind a tunnel).
So this phone does what the harness's uas_rr.xml does, over one TLS connection of its own:
  1. REGISTER, answering a digest challenge when there is one (MD5, qop=auth), with a Contact
     naming this connection's own address and transport=tls, so either proxy reaches it over the
     connection it registered on;
  2. every INVITE: 180, then 200 with SDP, both echoing Via, From, To (with a tag), Call-ID, CSeq
     and Record-Route; ACK: nothing; BYE: 200.
It prints "registered" once the 200 arrives, and on SIGTERM the number of INVITEs and BYEs it
answered.
  tls_callee.py PORT USER [PASSWORD]
"""
import hashlib
import os
import re
import signal
import socket
import ssl
import sys

port, user = int(sys.argv[1]), sys.argv[2]
password = sys.argv[3] if len(sys.argv) > 3 else ""

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the benchmark's self-signed pair; the proxies' cost is the measure
conn = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
local = conn.getsockname()[1]
contact = f"<sip:{user}@127.0.0.1:{local};transport=tls>"
answered = {"INVITE": 0, "BYE": 0}


def report(*_):
    print(f"answered invites={answered['INVITE']} byes={answered['BYE']}", flush=True)
    os._exit(0)


signal.signal(signal.SIGTERM, report)

buffer = b""


def messages():
    """SIP messages off the stream, framed by the blank line and Content-Length."""
    global buffer
    while True:
        end = buffer.find(b"\r\n\r\n")
        while end < 0:
            chunk = conn.recv(65536)
            if not chunk:
                report()
            buffer += chunk
            end = buffer.find(b"\r\n\r\n")
        head = buffer[:end].decode("latin-1")
        length = re.search(r"^(?:Content-Length|l)\s*:\s*(\d+)", head, re.I | re.M)
        total = end + 4 + (int(length.group(1)) if length else 0)
        while len(buffer) < total:
            buffer += conn.recv(65536)
        buffer = buffer[total:]
        if head.strip():
            yield head.lstrip("\r\n").split("\r\n")


def headers(lines, *names):
    wanted = tuple(n.lower() for n in names)
    return [line for line in lines[1:] if line.split(":", 1)[0].strip().lower() in wanted]


def register(cseq, authorization=""):
    uri = f"sip:127.0.0.1:{port}"
    conn.sendall((
        f"REGISTER {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/TLS 127.0.0.1:{local};rport;branch=z9hG4bK-reg{cseq}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:{user}@127.0.0.1>;tag=callee\r\n"
        f"To: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: callee-{local}@127.0.0.1\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f"Contact: {contact}\r\n"
        f"{authorization}"
        "Expires: 3600\r\nContent-Length: 0\r\n\r\n").encode())


def digest(challenge):
    def param(name):
        found = re.search(name + r'="?([^",]+)"?', challenge)
        return found.group(1) if found else ""
    realm, nonce, qop = param("realm"), param("nonce"), param("qop")
    uri = f"sip:127.0.0.1:{port}"
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
    if qop:
        response = hashlib.md5(f"{ha1}:{nonce}:00000001:callee:auth:{ha2}".encode()).hexdigest()
        extra = ', qop=auth, nc=00000001, cnonce="callee"'
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        extra = ""
    opaque = param("opaque")
    extra += f', opaque="{opaque}"' if opaque else ""
    return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5{extra}\r\n')


incoming = messages()
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
    conn.sendall((f"SIP/2.0 {status}\r\n" + "\r\n".join(echoed + [to]) +
                  f"\r\nContact: {contact}\r\n{extra}Content-Length: {len(body)}\r\n\r\n{body}").encode())


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
