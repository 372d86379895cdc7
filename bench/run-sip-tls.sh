#!/usr/bin/env bash
# SIP over TLS (issue 16): privox against Kamailio with kamailio-tls-modules, one after the other in
# this one invocation, on the same certificate and key, with the harness's own sipp scenarios
# (../shared/bench/sip: uac_rr.xml for calls, reg_auth.xml for digest registrations).
#   bench/run-sip-tls.sh [CALLS] [RATE] [REGISTRATIONS] [REG_RATE] [HANDSHAKES] [HANDSHAKE_RATE]
# (defaults 10,000 calls at 500/s; 5,000 registrations at 250/s; 3,000 at 150/s on new connections)
#
# Debian 12's sipp has no TLS, so sipp speaks TCP to a local stunnel (client mode), which opens the
# TLS connections to the proxy: one stunnel connection per sipp connection. The proxies see only
# TLS; sipp's Via says TCP, which neither proxy uses to route a response on a connection. The
# called phone is bench/sip_callee.py, one TLS connection of its own (see there why not sipp).
#
# Measured, for each proxy, as the harness does: its own CPU (every thread of privox, every
# Kamailio process) per successful call or registration, with zero failures at the same rate:
#   - calls: INVITE/180/200/ACK/BYE/200 through the proxy, caller and callee each on one TLS
#     connection, so no handshake per call;
#   - registrations (REGISTER, 401, REGISTER with digest, 200):
#       on one TLS connection (no handshake each), sipp's reg_auth.xml through stunnel;
#       each on a new connection with a full handshake, and each on a new connection resuming the
#       previous one's session (a TLS 1.3 ticket, or a TLS 1.2 session id): the same exchange from
#       bench/tls_registrations.py, as sipp's connection-per-call mode fails behind stunnel.
#   privox also reports the handshakes it counted (privox_sip_tls_handshakes_total), new and
#   resumed, so a "resumed" run that did not resume shows.
# The certificate is ECDSA P-256 (KEY=rsa for RSA 2048, whose signature costs the server more).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$(cd "$root/../shared/bench/sip" && pwd)
calls=${1:-10000}; rate=${2:-500}; regs=${3:-5000}; reg_rate=${4:-250}
handshakes=${5:-3000}; handshake_rate=${6:-150}
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
missing=()
for p in kamailio kamailio-tls-modules kamailio-postgres-modules stunnel4; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start a system Kamailio on 5060 and may start stunnel; the benchmark runs its own.
  pkill -x kamailio 2>/dev/null || true
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null

work=$(mktemp -d /tmp/privox-sip-tls-bench.XXXXXX)
chmod 755 "$work"  # the private PostgreSQL runs as the postgres user
kw=/tmp/kamailio-tls  # kamailio-tls.cfg names its TLS configuration and control socket here
mkdir -p "$kw"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$kw/pid" ] && kill "$(cat "$kw/pid")" 2>/dev/null || true
  bash "$root/scripts/test-postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work" "$kw"
}
trap cleanup EXIT
cd "$work"

if [ "${KEY:-ec}" = rsa ]; then keyopts=(-newkey rsa:2048); else keyopts=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1); fi
openssl req -x509 "${keyopts[@]}" -nodes -days 2 -subj "/CN=127.0.0.1" -keyout key.pem -out cert.pem 2>/dev/null

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "calls: $calls at $rate/s; registrations: $regs at $reg_rate/s on one connection, $handshakes at $handshake_rate/s on new ones; key: ${KEY:-ec}"
echo "$(kamailio -v | head -1 | cut -d' ' -f2-3); $(stunnel4 -version 2>&1 | grep -o -m1 'stunnel [0-9.]*'); OpenSSL $(openssl version | cut -d' ' -f2)"

# stunnel in front of sipp, towards the proxy's TLS port, for the long-lived connections.
start_stunnel() {  # start_stunnel TLS_PORT
  cat >stunnel.conf <<EOF
foreground = yes
pid =
debug = 3
output = $work/stunnel.log
[one-connection]
client = yes
accept = 127.0.0.1:15061
connect = 127.0.0.1:$1
CAfile = $work/cert.pem
verifyPeer = yes
EOF
  stunnel4 stunnel.conf &
  pids+=($!)
  sleep 0.5
}
stop_last() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

source "$root/bench/sip-bench-lib.sh"
tls_handshakes() {  # new,resumed from privox's metrics
  local m; m=$(curl -sf "http://$METRICS/metrics")
  echo "$(awk '/^privox_sip_tls_handshakes_total\{outcome="new"\}/{print $2}' <<<"$m"),$(awk '/^privox_sip_tls_handshakes_total\{outcome="resumed"\}/{print $2}' <<<"$m")"
}
# measured COMMAND...: with_cpu's line, and for privox the handshakes it counted (new,resumed)
# meanwhile.
measured() {
  local before="" line
  [ -n "${METRICS:-}" ] && before=$(tls_handshakes)
  line=$(with_cpu "$@")
  [ -n "${METRICS:-}" ] && line+=" privox_handshakes(new,resumed)=$(python3 -c 'import sys; print(",".join(str(int(float(y) - float(x))) for x, y in zip(sys.argv[1].split(","), sys.argv[2].split(","))))' "$before" "$(tls_handshakes)")"
  echo "$line"
}
# sipp_run NAME SCENARIO COUNT RATE [sipp args]: the harness's scenario over TCP to stunnel (one
# connection, -t t1); prints successful=N failed=N elapsed_s=S per_s=R.
sipp_run() {
  local name=$1 scenario=$2 count=$3 per_s=$4; shift 4
  local t0 t1
  t0=$(date +%s.%N)
  sipp -sf "$harness/$scenario" 127.0.0.1:15061 -t t1 -i 127.0.0.1 -r "$per_s" -l 2000 \
    -m "$count" -timeout 120 -timeout_error -trace_stat -stf "$name.csv" "$@" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  sipp_summary "$name.csv" "$t0" "$t1"
}
# Whether the server resumes a TLS 1.3 session: a first connection keeps its session (waiting a
# second for the ticket), a second one offers it.
resumes() {  # resumes TLS_PORT
  (sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$1" -sess_out session.pem >/dev/null 2>&1 || true
  if (sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$1" -sess_in session.pem 2>/dev/null | grep -q '^Reused,'; then
    echo yes; else echo no; fi
}
# Every measure against the proxy on TLS_PORT: the callee registers as USER/PASSWORD, the calls go
# to TARGET.
measure() {  # measure NAME TLS_PORT USER PASSWORD TARGET
  local name=$1 port=$2 user=$3 password=$4 target=$5 kind
  echo "$name resumes TLS 1.3 sessions: $(resumes "$port")"
  start_stunnel "$port"
  python3 "$root/bench/sip_callee.py" tls "$port" "$user" "$password" >callee.out 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q registered callee.out && break; sleep 0.1; done
  grep -q registered callee.out || { echo "the callee did not register at $name:"; cat callee.out; exit 1; }
  echo "$name TLS calls (one connection each side): $(measured sipp_run "$name-calls" uac_rr.xml "$calls" "$rate" -s "$target" -p 5061)"
  stop_last
  echo "$name callee: $(tail -n 1 callee.out)"
  printf 'SEQUENTIAL\n%s;\n' "$user" >users.csv
  echo "$name TLS registrations (one connection): $(measured sipp_run "$name-reg" reg_auth.xml "$regs" "$reg_rate" \
    -inf users.csv -au "$user" -ap "$password" -p 5062)"
  stop_last
  for kind in new resumed; do
    echo "$name TLS registrations (a $kind session each): $(measured python3 "$root/bench/tls_registrations.py" \
      "$port" "$user" "$password" "$handshakes" "$handshake_rate" "$kind")"
  done
}

# privox: extension 101 behind DID +442071234567; any source on 127.0.0.1 is the trusted trunk
# (by address alone, as in run-sip.sh), so the caller's INVITEs through stunnel are the carrier's,
# while every REGISTER still needs its digest. The per-source rate limit stays on, with room for
# the whole load.
P=$build/privox
D=$work/data
$P init --data-dir "$D" >/dev/null
company=$($P company add --data-dir "$D" --name Bench --region eea)
PRIVOX_EXTENSION_PASSWORD=bench-s3cret $P extension add --data-dir "$D" --company "$company" --number 101 \
  --did +442071234567 >/dev/null
login=$($P extension list --data-dir "$D" --company "$company" | cut -f3)
$P trunk add --data-dir "$D" --name carrier --address 127.0.0.1:5061 --trusted >/dev/null
$P settings set --data-dir "$D" sip.rate_limit_requests 1000000 >/dev/null
METRICS=127.0.0.1:9465
$P serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:5060 --sip-tls 127.0.0.1:5065 \
  --tls-cert cert.pem --tls-key key.pem --metrics "$METRICS" >privox.log 2>&1 &
pids+=($!)
PROXY_PIDS=$!
for _ in $(seq 50); do grep -q '"event":"service.started"' privox.log && break; sleep 0.1; done
grep -q '"event":"service.started"' privox.log || { echo "privox did not start:"; cat privox.log; exit 1; }
measure privox 5065 "$login" bench-s3cret +442071234567
echo "privox records: $(sqlite3 "$D/privox.db" "select count(*) from traffic_records where outcome = 'answered'") answered; warnings and errors logged: $(grep -c '"level":"\(warn\|error\)"' privox.log || true)"
kill "$PROXY_PIDS"; wait "$PROXY_PIDS" 2>/dev/null || true
pids=("${pids[@]/$PROXY_PIDS}")
METRICS=""

# Kamailio: digest against PostgreSQL's subscriber table (user 1000, password pw1000), as the
# harness measures its registrar; the callee registers as 1000 and the calls are to 1000.
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "kamailio: skipped, 127.0.0.1:5432 is taken"
  exit 0
fi
url=$(PRIVOX_PG_PORT=5432 bash "$root/scripts/test-postgres.sh" start "$work/pg")
psql -X -q "$url" -c "CREATE ROLE kamailio LOGIN PASSWORD 'kamailio'" -c "CREATE DATABASE kamailio OWNER kamailio"
kurl="postgresql://kamailio:kamailio@127.0.0.1:5432/kamailio"
for f in standard-create.sql auth_db-create.sql; do psql -X -q "$kurl" -f "/usr/share/kamailio/postgres/$f" >/dev/null; done
psql -X -q "$kurl" -c "INSERT INTO subscriber (username, domain, password) VALUES ('1000', '127.0.0.1', 'pw1000')"
psql -X -q "$url" -c "ALTER SYSTEM SET log_statement = 'none'" -c "SELECT pg_reload_conf()" >/dev/null
kamailio_tls_cfg "$kw/tls.cfg" "$work/cert.pem" "$work/key.pem"
kamailio -f "$root/bench/kamailio-tls.cfg" -A WITH_AUTH -P "$kw/pid" -m 1024 -M 32 >"$kw/log" 2>&1
for _ in $(seq 20); do [ -s "$kw/pid" ] && break; sleep 0.5; done
sleep 1
PROXY_PIDS=$(pgrep -f kamailio-tls.cfg | tr '\n' ' ')
measure kamailio 5071 1000 pw1000 1000
