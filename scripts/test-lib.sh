# Shared by privox's end-to-end test scripts (src/cli/cli_test.sh, src/sip/sip_test.sh): counting
# checks, the assertions, and the closing line ctest and CI read. Source it; it defines functions only.

PASS=0
FAILED=0

pass() { PASS=$((PASS + 1)); }

fail() {  # fail DESCRIPTION [DETAIL...]
  FAILED=$((FAILED + 1))
  echo "FAIL: $1"
  shift
  local line
  for line in "$@"; do
    printf '%s\n' "$line" | sed 's/^/      /'
  done
}

assert_eq() {  # assert_eq DESCRIPTION EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then
    pass
  else
    fail "$1" "expected: $2" "actual:   $3"
  fi
}

assert_ne() {  # assert_ne DESCRIPTION UNEXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    pass
  else
    fail "$1" "should differ from: $2"
  fi
}

assert_contains() {  # assert_contains DESCRIPTION HAYSTACK NEEDLE (fixed string)
  if [[ "$2" == *"$3"* ]]; then
    pass
  else
    fail "$1" "expected to find: $3" "in: $2"
  fi
}

assert_not_contains() {  # assert_not_contains DESCRIPTION HAYSTACK NEEDLE (fixed string, any case)
  local hay needle
  hay=$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')
  needle=$(printf '%s' "$3" | tr '[:upper:]' '[:lower:]')
  if [[ "$hay" != *"$needle"* ]]; then
    pass
  else
    fail "$1" "must not contain: $3" "in: $2"
  fi
}

assert_match() {  # assert_match DESCRIPTION STRING EXTENDED-REGEX
  if [[ "$2" =~ $3 ]]; then
    pass
  else
    fail "$1" "expected to match: $3" "actual: $2"
  fi
}

assert_true() {  # assert_true DESCRIPTION CMD...: CMD exits 0
  local desc=$1
  shift
  local output
  if output=$("$@" 2>&1); then
    pass
  else
    fail "$desc" "$output"
  fi
}

assert_false() {  # assert_false DESCRIPTION CMD...: CMD exits non-zero
  local desc=$1
  shift
  local output
  if output=$("$@" 2>&1); then
    fail "$desc" "$output"
  else
    pass
  fi
}

# json_ok FILE PYTHON-EXPRESSION: the file parses as JSON and the expression (over `d`) holds.
json_ok() {
  python3 - "$1" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"not JSON: {e}: {open(sys.argv[1]).read()[:500]!r}")
    sys.exit(1)
try:
    ok = eval(sys.argv[2])
except Exception as e:
    ok = False
    print(f"{type(e).__name__}: {e}")
if not ok:
    print(f"does not hold: {sys.argv[2]}\njson: {json.dumps(d, indent=1)[:3000]}")
    sys.exit(1)
PY
}

# files_hold MODE DIR NEEDLE...: exits 0 when some file under DIR (recursively, every file,
# raw bytes) holds one of the needles; prints where. MODE text compares case-insensitively;
# MODE hex takes each needle as hex-encoded bytes.
files_hold() {
  python3 - "$@" <<'PY'
import os, sys
mode, root, needles = sys.argv[1], sys.argv[2], sys.argv[3:]
found = []
for dirpath, _, files in os.walk(root):
    for name in files:
        path = os.path.join(dirpath, name)
        with open(path, "rb") as f:
            data = f.read()
        for n in needles:
            if mode == "hex":
                hit = bytes.fromhex(n) in data
            else:
                hit = n.lower().encode() in data.lower()
            if hit:
                found.append(f"{n!r} in {os.path.relpath(path, root)}")
print("\n".join(found))
sys.exit(0 if found else 1)
PY
}

# baresip_phone DIR SIP_PORT LISTEN_PORT LOGIN PASSWORD [ACCOUNT_PARAMS] [SECONDS]: a baresip
# configuration in DIR for one account at privox on 127.0.0.1:SIP_PORT, listening on LISTEN_PORT,
# that sends SECONDS (default 2) of a 440 Hz tone from a file (mono, 16-bit, 8 kHz: what baresip's
# aufile reads) and writes what it hears to DIR/out.wav. ACCOUNT_PARAMS are added to the account
# line (";answermode=auto" answers by itself). Run it with `baresip -f DIR`.
baresip_phone() {
  local dir=$1 sip_port=$2 listen=$3 login=$4 password=$5 params=${6:-} seconds=${7:-2}
  mkdir -p "$dir"
  python3 - "$dir/tone.wav" "$seconds" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                           for i in range(8000 * int(sys.argv[2]))))
PY
  cat >"$dir/config" <<CFG
poll_method   epoll
sip_listen    127.0.0.1:$listen
audio_source  aufile,$dir/tone.wav
audio_player  aufile,$dir/out.wav
audio_alert   aufile,$dir/alert.wav
module_path   /usr/lib/baresip/modules
module        stdio.so
module        g711.so
module        aufile.so
module        account.so
module        menu.so
module        contact.so
CFG
  printf '<sip:%s@127.0.0.1:%s>;auth_pass=%s;regint=600%s\n' "$login" "$sip_port" "$password" "$params" >"$dir/accounts"
  : >"$dir/contacts"
}

finish() {  # finish: the closing line, and the script's exit status
  echo "$PASS passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# --- The whole-suite scan for personal data in privox's logs and scrapes ------------------------------
# ctest's suite_output_reset empties $PRIVOX_SUITE_DIR before the end-to-end tests and suite_scan
# (scripts/suite-scan.sh) reads it after all of them: every test hands over privox's own logs, the
# CLI's stderr, its /metrics scrapes and the personal values it used, in $PRIVOX_SUITE_DIR/TEST/.
# Without PRIVOX_SUITE_DIR (a script run by hand) these functions keep nothing.
SUITE_KEEP=()      # privox logs to hand over at exit
SUITE_VALUES=()    # personal values this test used
SUITE_SCRAPES=0

# The test's name in the suite dir: the ctest name when given, else the script and its backend.
suite_test_name() {
  if [ -n "${PRIVOX_SUITE_TEST:-}" ]; then printf '%s' "$PRIVOX_SUITE_TEST"; return; fi
  printf '%s%s' "$(basename "$0" .sh)" "${BACKEND:+_$BACKEND}"
}

suite_dest() { printf '%s/%s' "$PRIVOX_SUITE_DIR" "$(suite_test_name)"; }

# personal VALUE...: values that name a person, a company or a number (names, emails, phone
# numbers, SIP logins, passwords) which must never reach a log line or a metric label. The scan
# also takes every email address and E.164 number written in the test sources, so this is for
# values built at run time or that are neither (names, company names, logins).
personal() { SUITE_VALUES+=("$@"); }

# suite_keep FILE...: privox's own logs (serve's stderr), handed to the scan at exit.
suite_keep() { SUITE_KEEP+=("$@"); }

# suite_scrape HOST:PORT: saves a /metrics scrape now (call it after the test's traffic).
suite_scrape() {
  [ -n "${PRIVOX_SUITE_DIR:-}" ] || return 0
  SUITE_SCRAPES=$((SUITE_SCRAPES + 1))
  mkdir -p "$(suite_dest)"
  curl -s --max-time 10 "http://$1/metrics" >"$(suite_dest)/metrics-$SUITE_SCRAPES.prom" ||
    echo "warning: no /metrics scrape from $1" >&2
}

# suite_cli_stderr FILE: appends a privox CLI run's stderr (kept in FILE) to what the scan reads.
suite_cli_stderr() {
  [ -n "${PRIVOX_SUITE_DIR:-}" ] && [ -s "$1" ] || return 0
  mkdir -p "$(suite_dest)"
  cat "$1" >>"$(suite_dest)/cli-stderr.log"
}

# suite_save: copies what this test kept into the suite dir. Call it from the EXIT trap, before
# the scratch dir is removed.
suite_save() {
  [ -n "${PRIVOX_SUITE_DIR:-}" ] || return 0
  local dest f n=0
  dest=$(suite_dest)
  mkdir -p "$dest/logs"
  for f in "${SUITE_KEEP[@]}"; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    cp "$f" "$dest/logs/$n-$(basename "$f")"
  done
  [ ${#SUITE_VALUES[@]} -eq 0 ] || printf '%s\n' "${SUITE_VALUES[@]}" >>"$dest/personal.txt"
}
