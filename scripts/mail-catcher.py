#!/usr/bin/python3
"""The development mail catcher of `make run`: privox's mail, readable in a browser.

privox sends sign-up links, rights-request codes and status emails through the SMTP relay in
`mail.smtp_url`. A machine fresh from `make run` has no relay, so scripts/run.sh starts this
instead: Debian's aiosmtpd accepts every message on loopback and keeps it in a Maildir, and a small
web page lists the messages with their links clickable. It is a development tool: it listens on
loopback only, keeps nothing but the Maildir, and is never part of `privox serve`; point
`mail.smtp_url` at a real relay and scripts/run.sh stops starting it.

    mail-catcher.py --maildir DIR --smtp 127.0.0.1:2525 --web 127.0.0.1:8025

Pages: / (the messages, newest first), /message/KEY (one message), /messages.json (the same as
JSON: key, date, from, to, subject, text), for scripts and tests.
"""

import argparse
import email
import email.policy
import email.utils
import html
import ipaddress
import json
import mailbox
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox
except ImportError:
    sys.exit("mail-catcher: python3-aiosmtpd is not installed (scripts/install-deps.sh installs it)")

MAX_MESSAGES_LISTED = 200
LINK = re.compile(r"https?://[^\s<>\"']+")


def loopback_address(text):
    host, _, port = text.rpartition(":")
    try:
        if not ipaddress.ip_address(host.strip("[]")).is_loopback:
            raise ValueError
        return host.strip("[]"), int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: give a loopback HOST:PORT, such as 127.0.0.1:2525")


def text_of(message):
    """The plain-text body (the first text/plain part), decoded."""
    part = message.get_body(preferencelist=("plain", "html")) if message.is_multipart() else message
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return part.get_payload(decode=True).decode("utf-8", "replace")


def sent_at(message):
    try:
        return email.utils.parsedate_to_datetime(message["date"]).timestamp()
    except (TypeError, ValueError, IndexError):
        return 0


def read_messages(maildir):
    box = mailbox.Maildir(maildir, factory=None, create=False)
    items = []
    for key in box.keys():
        with box.get_file(key) as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        items.append({
            "key": key,
            "date": str(message.get("Date", "")),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "text": text_of(message),
        })
    items.sort(key=sent_at, reverse=True)
    return items[:MAX_MESSAGES_LISTED]


def with_links(text):
    out, last = [], 0
    for match in LINK.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        url = html.escape(match.group(0), quote=True)
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · privox mail catcher</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:1rem auto;padding:0 1rem;color:#1b1f24}}
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.4rem;border-bottom:1px solid #d8dee4}}
pre{{white-space:pre-wrap;background:#f5f7fa;padding:1rem;border-radius:4px}}.note{{color:#57606a}}</style>
</head><body><p class="note">Development mail catcher of <code>make run</code>: privox's email stops here and
goes to nobody. Point <code>mail.smtp_url</code> at a real relay for real delivery.</p>{body}</body></html>"""


class Pages(BaseHTTPRequestHandler):
    maildir = None

    def log_message(self, fmt, *args):  # no access log: the messages hold addresses
        pass

    def answer(self, status, content_type, body):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        messages = read_messages(self.maildir)
        if self.path == "/messages.json":
            return self.answer(200, "application/json", json.dumps({"messages": messages}))
        if self.path in ("/", "/index.html"):
            rows = "".join(
                f'<tr><td>{html.escape(m["date"])}</td><td>{html.escape(m["to"])}</td>'
                f'<td><a href="/message/{html.escape(m["key"], quote=True)}">{html.escape(m["subject"] or "(no subject)")}</a></td></tr>'
                for m in messages)
            body = (f"<h1>Mail sent by privox ({len(messages)})</h1>"
                    + (f"<table><thead><tr><th>Date</th><th>To</th><th>Subject</th></tr></thead><tbody>{rows}</tbody></table>"
                       if messages else "<p>No mail yet. Sign up in the portal, and the confirmation link arrives here.</p>"))
            return self.answer(200, "text/html; charset=utf-8", PAGE.format(title="Mail", body=body))
        if self.path.startswith("/message/"):
            key = self.path[len("/message/"):]
            found = next((m for m in messages if m["key"] == key), None)
            if found is None:
                return self.answer(404, "text/html; charset=utf-8",
                                   PAGE.format(title="Not found", body="<h1>No such message</h1><p><a href=\"/\">All mail</a></p>"))
            body = (f'<p><a href="/">All mail</a></p><h1>{html.escape(found["subject"] or "(no subject)")}</h1>'
                    f'<p>From {html.escape(found["from"])} to {html.escape(found["to"])}, {html.escape(found["date"])}</p>'
                    f'<pre>{with_links(found["text"])}</pre>')
            return self.answer(200, "text/html; charset=utf-8", PAGE.format(title=found["subject"], body=body))
        return self.answer(404, "text/html; charset=utf-8", PAGE.format(title="Not found", body="<h1>Not found</h1>"))


def main():
    parser = argparse.ArgumentParser(description="privox's development mail catcher (make run)")
    parser.add_argument("--maildir", required=True, help="where messages are kept (a Maildir, created if new)")
    parser.add_argument("--smtp", type=loopback_address, default=("127.0.0.1", 2525), help="SMTP listen HOST:PORT")
    parser.add_argument("--web", type=loopback_address, default=("127.0.0.1", 8025), help="web page HOST:PORT")
    args = parser.parse_args()

    mailbox.Maildir(args.maildir, create=True)
    try:
        web = ThreadingHTTPServer(args.web, Pages)
    except OSError as error:
        sys.exit(f"mail-catcher: cannot listen on {args.web[0]}:{args.web[1]} for the web page: {error.strerror}")
    Pages.maildir = args.maildir
    smtp = Controller(Mailbox(args.maildir), hostname=args.smtp[0], port=args.smtp[1])
    try:
        smtp.start()
    except (OSError, RuntimeError) as error:
        sys.exit(f"mail-catcher: cannot listen on {args.smtp[0]}:{args.smtp[1]} for SMTP: {error}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=web.serve_forever, daemon=True).start()
    stop.wait()
    web.shutdown()
    smtp.stop()


if __name__ == "__main__":
    main()
