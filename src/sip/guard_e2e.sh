#!/usr/bin/env bash
# SIP under attack (issue 10), with Debian's sipvicious against a real `privox serve`, while
# legitimate phones (sipp) keep registering and calling from addresses of their own:
#  - a scanner's User-Agent (sipvicious' default, friendly-scanner) gets no answer at all;
#  - svwar, disguised (no User-Agent), cannot tell existing logins or numbers from missing ones;
#  - svcrack is banned after 5 wrong guesses (the password further down its list is never tried),
#    and so is a guesser that reuses one nonce (whose first wrong guess burns it); the ban is in
#    the store (`privox ban list`), a lift from a
#    second process reaches serve within a second or two, a repeat ban lasts twice as long, and a
#    ban outlives a restart;
#  - the failures are logged as structured lines with no login or password in clear;
#  - the phones' calls and registrations succeed throughout (at least 99%).
# Debian's svwar and svcrack ignore -b, so they always send from 127.0.0.1: the attacker is
# 127.0.0.1 and the phones are 127.0.0.2 to 127.0.0.4 (Linux routes all of 127/8 to loopback).
# Usage: guard_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

for tool in svwar svcrack sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-test-deps.sh)" >&2; exit 2; }
done
SCENARIOS=$HERE/scenarios

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
PW301='Orchid-lamp-71-x'
PW302='Velvet-pine-52-y'
PW303='Copper-kite-33-z'
COMPANY=$(px "$D" company add --name "Acme Ltd" --region eea --country GB)
for n in 301 302 303; do
  pw=PW$n
  PRIVOX_EXTENSION_PASSWORD=${!pw} px "$D" extension add --company "$COMPANY" --number "$n" >/dev/null ||
    fail "extension add $n"
done
login_of() { store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$1'"; }
L301=$(login_of 301)
L302=$(login_of 302)
L303=$(login_of 303)
personal "$L301" "$L302" "$L303" "$PW301" "$PW302" "$PW303"  # never in privox's logs or metrics (scripts/suite-scan.sh)
# One line places calls here far faster than a person can (dozens in half a minute), which the fraud
# rules' velocity limit (fraud/: 30 a minute, then suspend) would rightly stop; this test is about
# the flood defence, so the limits are raised out of its way.
px "$D" settings set fraud.velocity.line_calls_per_minute 10000 >/dev/null || fail "settings set fraud.velocity"
px "$D" settings set fraud.velocity.company_calls_per_minute 10000 >/dev/null || fail "settings set fraud.velocity"

SERVES=0
start_serve() {
  SERVES=$((SERVES + 1))
  SERVE_LOG=$TMP/serve$SERVES.log
  start_bg "serve$SERVES" "$PRIVOX" serve $(store_args "$D") --http 127.0.0.1:0 --sip "127.0.0.1:$SIP_PORT"
  SERVE_PID=${E2E_PIDS[-1]}
  for _ in $(seq 100); do grep -q '"event":"service.started"' "$SERVE_LOG" 2>/dev/null && return 0; sleep 0.1; done
  fail "privox serve starts" "$(tail -20 "$SERVE_LOG")"
  finish
}
start_serve

# probe SOURCE [USER-AGENT]: one OPTIONS from SOURCE; prints the answer's status line or "(no answer)".
probe() {
  python3 - "$SIP_PORT" "$1" "${2-}" <<'PY'
import socket, sys
port, source, agent = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((source, 0))
s.settimeout(1.0)
local = s.getsockname()[1]
ua = f"User-Agent: {agent}\r\n" if agent else ""
s.sendto((f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {source}:{local};branch=z9hG4bK-probe{local}\r\n"
          f"From: <sip:probe@{source}>;tag=p{local}\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: probe{local}@{source}\r\n"
          f"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n{ua}Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
try:
    print(s.recv(65535).decode(errors="replace").split("\r\n")[0])
except socket.timeout:
    print("(no answer)")
PY
}
# answered_within SOURCE SECONDS: probes until SOURCE is answered; fails after SECONDS.
answered_within() {
  local began=$SECONDS
  while [ $((SECONDS - began)) -lt "$2" ]; do
    [[ "$(probe "$1" Yealink)" == "SIP/2.0 200"* ]] && return 0
  done
  return 1
}

# --- the legitimate phones, for the whole attack -------------------------------------------------
# 303 registers from 127.0.0.3 and answers; 302 calls it from 127.0.0.2 once a second and
# re-registers from 127.0.0.4 every two seconds. Each stays well under 16 requests in 2 s.
CALLS=60
UAS_PORT=$(free_port)
timeout -k 2 20 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.3 -p "$(free_port)" -m 1 -nostdin \
  -key user "$L303" -key contact_port "$UAS_PORT" -key expires 3600 -au "$L303" -ap "$PW303" \
  -timeout 10s -timeout_error >"$TMP/reg303.out" 2>&1
assert_eq "the callee's phone (303) registers from 127.0.0.3" 0 "$?"
start_bg uas timeout -k 2 150 sipp -sf "$SCENARIOS/uas_answer.xml" -i 127.0.0.3 -p "$UAS_PORT" -m "$CALLS" -nostdin
start_bg calls timeout -k 2 150 sipp -sf "$SCENARIOS/uac_call.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.2 -p "$(free_port)" \
  -nostdin -s 303 -key caller "$L302" -au "$L302" -ap "$PW302" -auth_uri "303@127.0.0.1:$SIP_PORT" -d 300 \
  -r 1 -l 3 -m "$CALLS" -timeout 130s -recv_timeout 8000 -trace_stat -stf "$TMP/calls.csv" -fd 1
CALLS_PID=${E2E_PIDS[-1]}
start_bg regs timeout -k 2 150 sipp -sf "$SCENARIOS/register.xml" "127.0.0.1:$SIP_PORT" -i 127.0.0.4 -p "$(free_port)" \
  -nostdin -key user "$L302" -key contact_port 5060 -key expires 3600 -au "$L302" -ap "$PW302" \
  -r 1 -rp 2000 -l 2 -m $((CALLS / 2)) -timeout 130s -recv_timeout 8000 -trace_stat -stf "$TMP/regs.csv" -fd 1
REGS_PID=${E2E_PIDS[-1]}
sleep 2

# Log lines name a source by its keyed id, never its address: what 127.0.0.1's lines will say.
SRC1=$(px "$D" ban id --address 127.0.0.1)
assert_match "ban id prints an address's keyed id" "$SRC1" '^[0-9a-f]{32}$'

# --- scanners are dropped unanswered ---------------------------------------------------------------
assert_eq "an OPTIONS from a phone is answered" "SIP/2.0 200 OK" "$(probe 127.0.0.5 'Yealink SIP-T46S')"
assert_eq "the same from friendly-scanner gets no answer" "(no answer)" "$(probe 127.0.0.5 friendly-scanner)"
assert_eq "nor from sipcli" "(no answer)" "$(probe 127.0.0.5 'sipcli/v1.8')"
printf '%s\n' "$L301" "$L302" "$L303" 301 302 303 zz9z9z9z9z9z admin 1000 >"$TMP/users.txt"
timeout 30 svwar -p "$SIP_PORT" -d "$TMP/users.txt" --maximumtime 3 127.0.0.1 >"$TMP/svwar_ua.out" 2>&1
assert_contains "svwar as itself (friendly-scanner) gets no answer and finds nothing" \
  "$(cat "$TMP/svwar_ua.out")" "found nothing"
assert_contains "privox logs the scanner it dropped" "$(cat "$SERVE_LOG")" "\"event\":\"guard.scanner_dropped\",\"source_id\":\"$SRC1\""

# --- svwar, disguised, cannot tell logins or numbers that exist from those that do not ----------
for method in REGISTER INVITE OPTIONS; do
  timeout 30 svwar -c -p "$SIP_PORT" -d "$TMP/users.txt" -m "$method" --maximumtime 3 127.0.0.1 \
    >"$TMP/svwar_$method.out" 2>&1
  timeout 30 svwar -c --force -p "$SIP_PORT" -d "$TMP/users.txt" -m "$method" --maximumtime 3 127.0.0.1 \
    >>"$TMP/svwar_$method.out" 2>&1
  out=$(cat "$TMP/svwar_$method.out")
  assert_contains "svwar -m $method (no User-Agent) finds nothing" "$out" "found nothing"
  for secret in "$L301" "$L302" "$L303"; do
    assert_true "svwar -m $method lists no existing login apart ($secret)" \
      python3 -c 'import sys; sys.exit(any(sys.argv[1] in l and "|" in l for l in open(sys.argv[2])))' \
      "$secret" "$TMP/svwar_$method.out"
  done
done
assert_not_contains "enumeration alone is no failure: nobody was banned for it" "$(cat "$SERVE_LOG")" '"event":"guard.ban",'

# --- svcrack is banned within the threshold ---------------------------------------------------------
# 300 wrong passwords, then the right one, then more: unlimited guessing would find it.
python3 - "$PW301" >"$TMP/dict.txt" <<'PY'
import sys
words = [f"Guess-{i:03d}-pass" for i in range(300)]
print("\n".join(words[:150] + [sys.argv[1]] + words[150:]))
PY
timeout 60 svcrack -c -p "$SIP_PORT" -u "$L301" -d "$TMP/dict.txt" --maximumtime 3 127.0.0.1 >"$TMP/svcrack1.out" 2>&1
assert_not_contains "svcrack does not find the password" "$(cat "$TMP/svcrack1.out")" "$PW301"
answered=$(python3 - "$SERVE_LOG" "$SRC1" <<'PY'
import sys
n = 0
for line in open(sys.argv[1]):
    if f'"event":"guard.ban","source_id":"{sys.argv[2]}"' in line:
        break
    n += f'"event":"guard.auth_failure","source_id":"{sys.argv[2]}"' in line
print(n)
PY
)
assert_eq "svcrack's guesses answered before its source is banned" 5 "$answered"
echo "svcrack: $answered guesses answered before the ban (of $(wc -l <"$TMP/dict.txt") in its list)"
assert_eq "the banned source gets no answer, to anything" "(no answer)" "$(probe 127.0.0.1 Yealink)"
assert_eq "another source still does" "SIP/2.0 200 OK" "$(probe 127.0.0.5 Yealink)"
bans=$(px "$D" ban list --address 127.0.0.1)
assert_match "the ban is in the store: ban list --address 127.0.0.1" "$bans" $'^[0-9a-f]{32}\t.*\t1\tauth_failures\tactive$'
assert_eq "the store holds no address, only the keyed hash" 0 \
  "$(store_sql "$D" "SELECT count(*) FROM sip_bans WHERE address_hash LIKE '%127.0.0.1%'")"

# --- a lift from another process reaches serve ----------------------------------------------------
px "$D" ban lift --address 127.0.0.1 >/dev/null
assert_eq "ban lift succeeds" 0 "$?"
if answered_within 127.0.0.1 5; then pass; else fail "the lifted source is answered again within 5 s"; fi

# --- one nonce for every guess, as fast as the socket goes --------------------------------------
# The attack review's 35,000 guesses a second: one challenge, then every password with that nonce
# and rising counts. (Debian's svcrack -n crashes before its first guess, so this is done by hand.)
# The first wrong guess burns the nonce, so the right password, third in this list, is refused all
# the same (not even answered "stale", which would confirm it); and the source is banned after 5.
{ printf '%s\n' Guess-900-pass Guess-901-pass "$PW301"; sed -n '1,50p' "$TMP/dict.txt"; } >"$TMP/dict_reuse.txt"
python3 - "$SIP_PORT" "$L301" "$TMP/dict_reuse.txt" >"$TMP/reuse.out" <<'PY'
import hashlib, re, socket, sys, time
port, login, words = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read().split()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
local = s.getsockname()[1]
uri = f"sip:127.0.0.1:{port}"
def register(cseq, auth=""):
    return (f"REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-r{cseq}\r\n"
            f"From: <sip:{login}@127.0.0.1>;tag=r\r\nTo: <sip:{login}@127.0.0.1>\r\nCall-ID: reuse@127.0.0.1\r\n"
            f"CSeq: {cseq} REGISTER\r\nContact: <sip:{login}@127.0.0.1:{local}>\r\nMax-Forwards: 70\r\n{auth}"
            f"Content-Length: 0\r\n\r\n").encode()
s.settimeout(2)
s.sendto(register(1), ("127.0.0.1", port))
nonce = re.search(r'nonce="([^"]+)"', s.recv(65535).decode()).group(1)
md5 = lambda t: hashlib.md5(t.encode()).hexdigest()
ha2 = md5(f"REGISTER:{uri}")
for i, word in enumerate(words):
    nc = f"{i + 1:08x}"
    response = md5(f"{md5(f'{login}:privox:{word}')}:{nonce}:{nc}:c0ffee:auth:{ha2}")
    auth = (f'Authorization: Digest username="{login}", realm="privox", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, cnonce="c0ffee", qop=auth, nc={nc}\r\n')
    s.sendto(register(i + 2, auth), ("127.0.0.1", port))
answers = []
s.settimeout(1)
try:
    while True:
        answers.append(s.recv(65535).decode(errors="replace").split("\r\n")[0])
except socket.timeout:
    pass
print(f"sent {len(words)} guesses on one nonce; answers: {len(answers)}; 200s: {sum(a.startswith('SIP/2.0 200') for a in answers)}")
PY
cat "$TMP/reuse.out"
assert_match "guessing on one nonce: a handful answered, none with 200" "$(cat "$TMP/reuse.out")" \
  'answers: [1-6]; 200s: 0$'
assert_contains "guesses on a burned nonce are failures too" "$(cat "$SERVE_LOG")" '"reason":"nonce_reused"'
bans=$(px "$D" ban list --address 127.0.0.1)
assert_match "banned again, as a repeat (strikes 2)" "$bans" $'\t2\tauth_failures\tactive$'
python3 - "$bans" <<'PY' || fail "the repeat ban lasts twice as long (20 minutes)" "$bans"
import datetime, sys
f = sys.argv[1].split("\t")
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
minutes = (t(f[2]) - t(f[1])).total_seconds() / 60
sys.exit(0 if abs(minutes - 20) < 0.1 else f"{minutes} minutes")
PY

# --- the phones went on throughout ------------------------------------------------------------------
# stat_column FILE NAME: the last value of a column of sipp's -trace_stat file.
stat_column() {
  python3 - "$1" "$2" <<'PY'
import sys
rows = [l.rstrip("\n").split(";") for l in open(sys.argv[1]) if l.strip()]
print(rows[-1][rows[0].index(sys.argv[2])])
PY
}
for pid in "$CALLS_PID" "$REGS_PID"; do
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
for run in calls regs; do
  ok=$(stat_column "$TMP/$run.csv" "SuccessfulCall(C)")
  failed=$(stat_column "$TMP/$run.csv" "FailedCall(C)")
  echo "legitimate $run during the attack: $ok succeeded, $failed failed"
  assert_true "the phone's $run all ran ($ok + $failed of $([ $run == calls ] && echo $CALLS || echo $((CALLS / 2))))" \
    test $((ok + failed)) -eq "$([ $run == calls ] && echo $CALLS || echo $((CALLS / 2)))"
  assert_true "at least 99% of the phone's $run succeeded during the attack ($ok of $((ok + failed)))" \
    test $((ok * 100)) -ge $((99 * (ok + failed)))
done

# --- the logs name sources by keyed id, never an address, a login or a password ----------------------
log=$(cat "$TMP"/serve*.log)
for secret in "$L301" "$PW301" "Guess-042-pass" "Guess-299-pass"; do
  assert_not_contains "privox's log does not hold '$secret'" "$log" "$secret"
done
assert_match "failures are logged as structured lines" "$log" \
  "\"event\":\"guard\\.auth_failure\",\"source_id\":\"$SRC1\",\"transport\":\"udp\",\"method\":\"REGISTER\",\"login_tag\":\"[a-f][0-9a-f]{8}\",\"login_known\":true,\"reason\":\"[a-z_]+\",\"failures\":[0-9]+"
assert_not_contains "no security line holds an address" "$(grep '"subsystem":"sip"' <<<"$log")" "127.0.0."

# --- a ban outlives a restart: it is read from the store ---------------------------------------------
kill -TERM "$SERVE_PID"
for _ in $(seq 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
start_serve
assert_contains "serve loads the bans in force at start" "$(cat "$SERVE_LOG")" '"bans":1}'
assert_eq "after a restart the banned source still gets no answer" "(no answer)" "$(probe 127.0.0.1 Yealink)"
assert_eq "and the others do" "SIP/2.0 200 OK" "$(probe 127.0.0.5 Yealink)"
px "$D" ban lift --address 127.0.0.1 >/dev/null
if answered_within 127.0.0.1 5; then pass; else fail "lifted after the restart, the source is answered within 5 s"; fi

finish
