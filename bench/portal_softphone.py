#!/usr/bin/env python3
"""A portal softphone's credential for bench/run-sip-ws.sh, got the way a person's browser gets it.

privox's SIP WebSocket takes only a portal session's short-lived credential (never a line's device
password), so the benchmark signs an office manager up as the portal's own pages do:
  1. a card token from the payment provider's stand-in (`privox tokenizer`);
  2. POST /api/v1/signup (202), then the link privox emailed (read from the test SMTP server's
     Maildir), POST /api/v1/confirm (201: logged in, session cookie and CSRF token);
  3. POST /api/v1/extensions: her line NUMBER with DID, assigned to her (a random device password);
  4. GET /api/v1/me/softphone?line_id=...: the WebSocket URL and the SIP credential.
Prints four lines: the WebSocket URL, the Cookie header, the line's AOR (user@domain), and the
digest's username and password separated by a space.
  portal_softphone.py PORTAL_URL TOKENIZER_URL MAILDIR NUMBER DID
"""
import json
import os
import re
import secrets
import ssl
import string
import sys
import time
import urllib.error
import urllib.request

portal, tokenizer, maildir, number, did = sys.argv[1:6]
# A portal on HTTPS (the wss: run) has the benchmark's self-signed certificate.
tls = ssl._create_unverified_context() if portal.startswith("https:") else None
cookies = {}
csrf = ""


def call(method, url, body=None):
    global csrf
    headers = {"Content-Type": "application/json", "Origin": portal}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if csrf:
        headers["X-CSRF-Token"] = csrf
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, context=tls if url.startswith("https:") else None) as response:
            status, text, got = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        sys.exit(f"{method} {url}: {error.code} {error.read().decode(errors='replace')}")
    for value in got.get_all("Set-Cookie") or []:
        name, rest = value.split("=", 1)
        cookies[name] = rest.split(";", 1)[0]
    answer = json.loads(text) if text else None
    if isinstance(answer, dict) and "csrf_token" in answer:
        csrf = answer["csrf_token"]
    return status, answer


def device_password():
    # Letters only: privox refuses a password in which a run of digits could be a card number.
    return "".join(secrets.choice(string.ascii_letters) for _ in range(24))


def emailed_token(to):
    pattern = re.compile(r"https?://\S+/confirm\.html#([0-9a-f]{64})")
    deadline = time.time() + 10
    while time.time() < deadline:
        new = os.path.join(maildir, "new")
        for name in os.listdir(new) if os.path.isdir(new) else []:
            text = open(os.path.join(new, name), encoding="utf-8", errors="replace").read()
            text = re.sub(r"=\r?\n", "", text)
            if to in text and (found := pattern.search(text)):
                return found.group(1)
        time.sleep(0.2)
    sys.exit(f"no confirmation link was mailed to {to}")


_, card = call("POST", f"{tokenizer}/v1/tokens", {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"})
email = "bench.manager@bench.example"
call("POST", f"{portal}/api/v1/signup", {
    "company_name": "Bench Ltd", "region": "eea", "name": "Bea Bench", "email": email, "phone": "+442079460999",
    "address": "1 Bench Way, London", "birth_date": "1990-12-10", "password": "correct horse battery bench",
    "payment_token": card["token"]})
call("POST", f"{portal}/api/v1/confirm", {"token": emailed_token(email)})
_, me = call("GET", f"{portal}/api/v1/me")
# The line's device password is for desk phones; the softphone never uses it (step 4's credential).
_, line = call("POST", f"{portal}/api/v1/extensions", {"number": number, "did": did, "member_id": me["subject_id"],
                                                       "password": "bench-device-" + device_password()})
_, credential = call("GET", f"{portal}/api/v1/me/softphone?line_id={line['id']}")
print(credential["websocket_url"])
print("; ".join(f"{k}={v}" for k, v in cookies.items()))
print(credential["uri"].removeprefix("sip:"))
print(credential["authorization_user"], credential["password"])
