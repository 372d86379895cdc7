#!/usr/bin/env bash
# Calls with media relay (issue 14): privox + rtpengine against the anchor, Kamailio 5.6 + the same
# rtpengine, through the same harness (../shared/bench/media/media_bench.sh), in this one invocation.
# Both proxies run at once on their own ports, sharing one rtpengine, and the levels alternate
# (privox at N, Kamailio at N, then the next N), so a burst of other work on the machine lands on
# both sides alike.
#   bench/run-media.sh [CALL_SECONDS] [LEVELS...]      (default 20 s; levels 400 1000)
# For each run: the harness's line (failed calls, loss, late packets, transit, jitter, the proxy's
# CPU µs per call and rtpengine's CPU per stream-second). Run as root (the harness's RTP meter
# reads lo with packet sockets).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
media=$(cd "$root/../shared/bench/media" && pwd)
sip=$(cd "$root/../shared/bench/sip" && pwd)
secs=${1:-20}
shift || true
levels=${*:-400 1000}
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
for p in kamailio kamailio-sqlite-modules; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
    pkill -x kamailio 2>/dev/null || true  # the package starts a system Kamailio on 5060
  fi
done
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null

work=$(mktemp -d /tmp/privox-media-bench.XXXXXX)
privox_pid=""
cleanup() {
  [ -n "$privox_pid" ] && kill "$privox_pid" 2>/dev/null
  bash "$sip/kamailio_anchor.sh" stop >/dev/null 2>&1 || true
  bash "$media/rtpengine_anchor.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "$(kamailio -v | sed -n 's/^version: //p' | cut -d' ' -f1-2), rtpengine $(rtpengine --version 2>&1 | sed -n 's/^Version: //p'); ${secs} s calls; levels: $levels"

# One rtpengine for both (ng on 127.0.0.1:22222), started before Kamailio, whose module pings it.
bash "$media/rtpengine_anchor.sh" start >/dev/null
rtpengine_pid=$(bash "$media/rtpengine_anchor.sh" pid)
bash "$sip/kamailio_anchor.sh" start rtp >/dev/null
k=$(cat /tmp/kamailio-anchor/pid)
kamailio_pids="$k $(ps --ppid "$k" -o pid= | tr '\n' ' ')"

# privox: line 101 behind DID +442071234567; the harness's UAC (127.0.0.1:5161) is a trusted trunk.
P=$build/privox
D=$work/data
$P init --data-dir "$D" >/dev/null
company=$($P company add --data-dir "$D" --name Bench --region eea)
PRIVOX_EXTENSION_PASSWORD=bench-s3cret $P extension add --data-dir "$D" --company "$company" --number 101 \
  --did +442071234567 >/dev/null
login=$($P extension list --data-dir "$D" --company "$company" | cut -f3)
$P trunk add --data-dir "$D" --name carrier --address 127.0.0.1:5161 --trusted >/dev/null
$P settings set --data-dir "$D" sip.rate_limit_requests 1000000 >/dev/null
$P serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:5060 --media-relay 127.0.0.1:22222 \
  >"$work/privox.log" 2>&1 &
privox_pid=$!
sleep 1

# The SIP worker is privox's main thread (the io_context's): its own CPU, apart from the writer that
# makes every call's record durable (R1) and the directory's loader, which Kamailio has no match for.
thread_ns() { cut -d' ' -f1 "/proc/$privox_pid/task/$privox_pid/schedstat"; }
cd "$work"
for n in $levels; do
  before=$(thread_ns)
  line=$(REG_USER=$login REG_PASS=bench-s3cret TARGET=+442071234567 PROXY_PIDS=$privox_pid \
    MEDIA_PIDS=$rtpengine_pid bash "$media/media_bench.sh" 5060 "$n" "$secs" 2>&1 | tail -n 1)
  ok=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' <<<"$line")
  sip_us=$(( ($(thread_ns) - before) / 1000 / (ok > 0 ? ok : 1) ))
  echo "privox+rtpengine   $n: $line sip_thread_us_per_call=$sip_us"
  line=$(PROXY_PIDS=$kamailio_pids MEDIA_PIDS=$rtpengine_pid bash "$media/media_bench.sh" 5070 "$n" "$secs" 2>&1 |
    tail -n 1)
  echo "kamailio+rtpengine $n: $line"
done
answered=$(sqlite3 "$D/privox.db" "select count(*) from traffic_records where outcome = 'answered'")
echo "privox answered-call records: $answered"
grep -c "media relay .* does not answer" "$work/privox.log" | sed 's/^/privox relay outages logged: /' || true
