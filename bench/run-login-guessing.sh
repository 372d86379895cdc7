#!/usr/bin/env bash
# Online password guessing against the portal's login (issue 10, item 5), with the default limits
# (portal.login_max_failures 5, delays from 1 s doubling up to portal.lockout_minutes 15):
#  1. a burst of BURST wrong passwords at once from one client at one account: how many are
#     answered (401, the password looked at) and how many refused unread (429);
#  2. one client guessing as fast as the server lets it for DURATION seconds, each try sent as soon
#     as the last Retry-After has passed: guesses answered over time;
#  3. meanwhile, the same account from another client and another account from the same client:
#     whether either was slowed.
# The account need not exist: an unknown email costs the same hash and is throttled the same way.
#
#   bench/run-login-guessing.sh PRIVOX
#
# Prints "RESULT ..." lines. Knobs (environment): BURST=32 DURATION=60
set -euo pipefail

PRIVOX=$(realpath "${1:?usage: $0 PRIVOX}")
BURST=${BURST:-32}
DURATION=${DURATION:-60}
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PRIVOX_DATA_DIR PRIVOX_STORE

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-bench-guessing.XXXXXX")
PID=""
cleanup() {
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PRIVOX" init --data-dir "$TMP/data" >/dev/null
"$PRIVOX" serve --data-dir "$TMP/data" --http "127.0.0.1:$port" --sip 127.0.0.1:0 >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  [ "$(curl --noproxy '*' -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)" == 200 ] && break
  sleep 0.1
done

python3 - "$port" "$BURST" "$DURATION" <<'PY'
import concurrent.futures, json, socket, sys, time
port, burst, duration = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

def login(email, source, password="wrong password, again"):
    body = json.dumps({"email": email, "password": password}).encode()
    s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0), timeout=30)
    s.sendall(b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    status = int(head.split(" ", 2)[1])
    retry = next((int(l.split(":", 1)[1]) for l in head.split("\r\n") if l.lower().startswith("retry-after:")), 0)
    return status, retry

with concurrent.futures.ThreadPoolExecutor(burst) as pool:
    codes = list(pool.map(lambda _: login("burst@example.com", "127.0.3.1")[0], range(burst)))
print(f"RESULT burst of {burst} at once: {codes.count(401)} answered (401), {codes.count(429)} refused unread (429)")

answered, refused, start, marks = 0, 0, time.monotonic(), {}
while (elapsed := time.monotonic() - start) < duration:
    status, retry = login("target@example.com", "127.0.3.2")
    if status == 401:
        answered += 1
    else:
        refused += 1
        time.sleep(retry)
    for mark in (1, 10, 60, 300, 900, 3600):
        if elapsed >= mark and mark not in marks:
            marks[mark] = answered
marks[round(duration)] = answered
print(f"RESULT one client, one account, {duration:.0f} s: {answered} guesses answered, {refused} refused unread; "
      f"answered by second: {json.dumps(marks)}")
other_client = login("target@example.com", "127.0.3.3")[0]
other_account = login("someone-else@example.com", "127.0.3.2")[0]
print(f"RESULT meanwhile: the same account from another client answered {other_client}; "
      f"another account from the same client answered {other_account} (401 = not slowed)")
PY
