#!/usr/bin/env bash
# SIP over WebSocket (issue 16): calls to a phone on a WebSocket, through privox and through
# Kamailio with kamailio-websocket-modules, one after the other in this one invocation.
#   bench/run-sip-ws.sh [CALLS] [RATE]      (default 10,000 calls at 500/s)
#
# The caller is the harness's uac_rr.xml (../shared/bench/sip) over UDP: the carrier calling a
# DID at privox (any source on 127.0.0.1 is the trusted trunk, as in run-sip.sh), user 1000 at
# Kamailio. The called phone is bench/sip_callee.py on one WebSocket (plain ws:, RFC 7118), which
# Debian's sipp cannot speak: at privox, the portal's softphone WebSocket with the short-lived
# credential a portal session gets (bench/portal_softphone.py signs an office manager up for it,
# through the payment provider's stand-in and the test SMTP server, as her browser would); at
# Kamailio, bench/kamailio-ws.cfg's WebSocket listener. Neither proxy relays media here (no
# rtpengine), as in the signalling benchmarks: what is measured is the WebSocket's cost.
#
# Measured, for each proxy, as the harness does: its own CPU (every thread of privox, every
# Kamailio process) per successful call, with zero failures at the same rate.
#
# SCHEME=wss puts both WebSockets on TLS, on one self-signed ECDSA P-256 certificate: privox's
# portal serves HTTPS (--tls-cert, --tls-key) and so the softphone's wss:, and Kamailio adds
# listen=tls:127.0.0.1:5073 with kamailio-tls-modules (kamailio-ws.cfg's WITH_WSS). The phone's
# connection is opened once, so the figure is the cost of TLS on the messages, not of handshakes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$(cd "$root/../shared/bench/sip" && pwd)
calls=${1:-10000}; rate=${2:-500}
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
missing=()
scheme=${SCHEME:-ws}
[ "$scheme" = ws ] || [ "$scheme" = wss ] || { echo "SCHEME is ws or wss, not $scheme" >&2; exit 2; }
for p in kamailio kamailio-websocket-modules kamailio-tls-modules; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  pkill -x kamailio 2>/dev/null || true  # the package starts a system Kamailio on 5060
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null

work=$(mktemp -d /tmp/privox-sip-ws-bench.XXXXXX)
kw=/tmp/kamailio-ws  # kamailio-ws.cfg names its control socket here
mkdir -p "$kw"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$kw/pid" ] && kill "$(cat "$kw/pid")" 2>/dev/null || true
  bash "$root/scripts/test-smtp.sh" stop "$work/smtp" >/dev/null 2>&1 || true
  rm -rf "$work" "$kw"
}
trap cleanup EXIT
cd "$work"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "calls: $calls at $rate/s over $scheme:; $(kamailio -v | head -1 | cut -d' ' -f2-3); OpenSSL $(openssl version | cut -d' ' -f2)"
tls_flags=() web=http kamailio_ws=ws://127.0.0.1:5072/ kamailio_flags=()
if [ "$scheme" = wss ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -keyout key.pem -out cert.pem 2>/dev/null
  tls_flags=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem") web=https
  kamailio_ws=wss://127.0.0.1:5073/ kamailio_flags=(-A WITH_WSS)
fi

source "$root/bench/sip-bench-lib.sh"
[ "$scheme" = ws ] || kamailio_tls_cfg "$kw/tls.cfg" "$work/cert.pem" "$work/key.pem"
# sipp_calls NAME PORT TARGET: the harness's calls over UDP; successful=N failed=N ...
sipp_calls() {
  local name=$1 port=$2 target=$3 t0 t1
  t0=$(date +%s.%N)
  sipp -sf "$harness/uac_rr.xml" "127.0.0.1:$port" -s "$target" -i 127.0.0.1 -p 5061 -r "$rate" -l 2000 \
    -m "$calls" -timeout 120 -timeout_error -trace_stat -stf "$name.csv" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  sipp_summary "$name.csv" "$t0" "$t1"
}
# callee NAME ARGS...: sip_callee.py in ws mode, once it has registered. A line added through the
# portal reaches the SIP service a moment later (the directory's next update), and a REGISTER
# before that is refused as an unknown login: so a refused callee tries again, for 10 s at most.
callee() {
  local name=$1 attempt; shift
  for attempt in $(seq 20); do
    python3 "$root/bench/sip_callee.py" ws "$@" >"$name-callee.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do
      grep -q registered "$name-callee.out" && return 0
      grep -q refused "$name-callee.out" && break
      sleep 0.1
    done
    kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
    sleep 0.5
  done
  echo "the callee did not register at $name:"; cat "$name-callee.out"; exit 1
}
stop_callee() {  # the callee's count of what it answered
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
}

# privox: the portal on plain HTTP (ws:) or HTTPS (wss:), the stand-in payment provider and a test SMTP server for
# the sign-up; the trunk trusted by address; the per-source rate limit on, with room for the load.
P=$build/privox
D=$work/data
HTTP=127.0.0.1:18080
$P init --data-dir "$D" >/dev/null
bash "$root/scripts/test-smtp.sh" start "$work/smtp" >/dev/null
head -c 32 /dev/urandom | base64 >api-key
$P settings set --data-dir "$D" mail.smtp_url "$(cat "$work/smtp/url")" >/dev/null
$P settings set --data-dir "$D" portal.public_url "$web://$HTTP" >/dev/null
$P settings set --data-dir "$D" sip.rate_limit_requests 1000000 >/dev/null
$P trunk add --data-dir "$D" --name carrier --address 127.0.0.1:5061 --trusted >/dev/null
$P tokenizer --listen 127.0.0.1:18090 --allow-origin "$web://$HTTP" --api-key-file api-key >tokenizer.log 2>&1 &
pids+=($!)
$P serve --data-dir "$D" --http "$HTTP" --sip 127.0.0.1:5060 --payment-provider http://127.0.0.1:18090 \
  --payment-api-key-file api-key "${tls_flags[@]}" >privox.log 2>&1 &
pids+=($!)
PROXY_PIDS=$!
for _ in $(seq 50); do grep -q '"event":"service.started"' privox.log && break; sleep 0.1; done
grep -q '"event":"service.started"' privox.log || { echo "privox did not start:"; cat privox.log; exit 1; }
sleep 0.5
mapfile -t credential < <(python3 "$root/bench/portal_softphone.py" "$web://$HTTP" http://127.0.0.1:18090 \
  "$work/smtp/maildir" 101 +442071234567)
[ ${#credential[@]} -eq 4 ] || { echo "no softphone credential from the portal"; exit 1; }
callee privox "${credential[0]}" "$web://$HTTP" "${credential[1]}" "${credential[2]}" ${credential[3]}
echo "privox calls to a WebSocket phone: $(with_cpu sipp_calls privox 5060 +442071234567)"
stop_callee
echo "privox callee: $(tail -n 1 privox-callee.out)"
echo "privox records: $(sqlite3 "$D/privox.db" "select count(*) from traffic_records where outcome = 'answered'") answered; warnings and errors logged: $(grep -c '"level":"\(warn\|error\)"' privox.log || true)"
grep '"level":"\(warn\|error\)"' privox.log | head -3 || true
kill "$PROXY_PIDS"; wait "$PROXY_PIDS" 2>/dev/null || true

# Kamailio: the callee registers as 1000 (the anchor has no digest for calls) and is called as 1000.
pkill -f "$root/bench/kamailio-ws.cfg" 2>/dev/null && sleep 1  # one an interrupted run left behind
kamailio -f "$root/bench/kamailio-ws.cfg" "${kamailio_flags[@]}" -P "$kw/pid" -m 1024 -M 32 >"$kw/log" 2>&1 ||
  { echo "kamailio did not start:"; cat "$kw/log"; exit 1; }
for _ in $(seq 20); do [ -s "$kw/pid" ] && break; sleep 0.5; done
sleep 1
PROXY_PIDS=$(pgrep -f kamailio-ws.cfg | tr '\n' ' ')
callee kamailio "$kamailio_ws" "$web://127.0.0.1" "" 1000@127.0.0.1 1000
echo "kamailio calls to a WebSocket phone: $(with_cpu sipp_calls kamailio 5070 1000)"
stop_callee
echo "kamailio callee: $(tail -n 1 kamailio-callee.out)"
