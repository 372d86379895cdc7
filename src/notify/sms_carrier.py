"""The carrier's side of a STOP reply, for notify_e2e.sh: from the trunk's address it sends a
MESSAGE from the member's number to privox's SMS sender number, expects 200, then answers every
MESSAGE privox sends back for a few seconds and prints, as JSON, the final status of the STOP and
the distinct messages (by Call-ID) that came back with their bodies.

Usage: sms_carrier.py TRUNK_IP TRUNK_PORT PRIVOX_SIP_PORT FROM_NUMBER TO_NUMBER BODY LISTEN_S
(privox on 127.0.0.1; the carrier on a loopback address of its own, since a trunk is recognised by
its IP address alone.)
"""
import json
import socket
import sys
import time
import uuid

trunk_ip, trunk_port, privox_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from_number, to_number, body, listen_s = sys.argv[4], sys.argv[5], sys.argv[6], float(sys.argv[7])
privox = ("127.0.0.1", privox_port)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((trunk_ip, trunk_port))
sock.settimeout(0.2)

call_id = f"{uuid.uuid4()}@{trunk_ip}"
branch = f"z9hG4bK{uuid.uuid4().hex}"
payload = body.encode()
request = (
    f"MESSAGE sip:{to_number}@127.0.0.1:{privox_port} SIP/2.0\r\n"
    f"Via: SIP/2.0/UDP {trunk_ip}:{trunk_port};branch={branch}\r\n"
    f"From: <sip:{from_number}@{trunk_ip}:{trunk_port}>;tag=c{uuid.uuid4().hex[:8]}\r\n"
    f"To: <sip:{to_number}@127.0.0.1:{privox_port}>\r\n"
    f"Call-ID: {call_id}\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
    f"Content-Type: text/plain\r\nContent-Length: {len(payload)}\r\n\r\n"
).encode() + payload


def header(text, name):
    for line in text.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def answer(text):
    # 200 to a request: its Via, From, To (tagged), Call-ID and CSeq.
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    keep = [l for l in head[1:] if l.split(":", 1)[0].strip().lower() in ("via", "from", "call-id", "cseq")]
    to = header(text, "To") + ";tag=carrier1"
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + f"\r\nTo: {to}\r\nContent-Length: 0\r\n\r\n").encode()


stop_status = None
received = {}
deadline = time.time() + listen_s
next_send = time.time()
while time.time() < deadline:
    if stop_status is None and time.time() >= next_send:
        sock.sendto(request, privox)
        next_send = time.time() + 0.5
    try:
        data, peer = sock.recvfrom(65535)
    except socket.timeout:
        continue
    text = data.decode(errors="replace")
    if text.startswith("SIP/2.0 "):
        if header(text, "Call-ID") == call_id:
            status = int(text.split(" ", 2)[1])
            if status >= 200:
                stop_status = status
        continue
    if text.startswith("MESSAGE "):
        received[header(text, "Call-ID")] = {
            "to": text.split(" ", 2)[1],
            "from": header(text, "From"),
            "body": text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else "",
        }
        sock.sendto(answer(text), peer)

print(json.dumps({"stop_status": stop_status, "messages": list(received.values())}))
