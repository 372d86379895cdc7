#!/usr/bin/env bash
# Voicemail deposits (issue 14): concurrent callers each stream G.711 through rtpengine into a
# line's voicemail box, which privox's media endpoint answers (greeting, tone, recording, Ogg Opus,
# sealed and stored). The callers are the media harness's sipp UAC (../shared/bench/media/
# media_bench.sh, its G.711 A-law stream for CALL_SECONDS), sent from a trusted trunk to the DID of
# a line with no device, so every call goes to the box.
#   bench/run-voicemail.sh [CALL_SECONDS] [LEVELS...]      (default 20 s; levels 100 300 500)
# For each level: the harness's line (calls, the greeting's RTP as the callers received it), then
# privox's endpoint: the deposit RTP it received, how much of it came late or never (its jitter
# buffer's count), its thread's CPU per stream-second next to rtpengine's from the same run, and
# the messages stored. At the end every message stored is exported and decoded with opusdec
# (opus-tools), independently of privox. Run as root (the harness's RTP meter reads lo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
media=$(cd "$root/../shared/bench/media" && pwd)
secs=${1:-20}
shift || true
levels=${*:-100 300 500}
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox >/dev/null

work=$(mktemp -d /tmp/privox-voicemail-bench.XXXXXX)
privox_pid=""
cleanup() {
  [ -n "$privox_pid" ] && kill "$privox_pid" 2>/dev/null
  bash "$media/rtpengine_anchor.sh" stop >/dev/null 2>&1 || true
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "rtpengine $(rtpengine --version 2>&1 | sed -n 's/^Version: //p'); ${secs} s calls into voicemail; levels: $levels"
bash "$media/rtpengine_anchor.sh" start >/dev/null
rtpengine_pid=$(bash "$media/rtpengine_anchor.sh" pid)

# Line 101 (the harness's UAS registers as it and is never called) and line 102, behind DID
# +442071234568, with no device: its box takes every call. The UAC (127.0.0.1:5161) is a trusted trunk.
P=$build/privox
D=$work/data
$P init --data-dir "$D" >/dev/null
company=$($P company add --data-dir "$D" --name Bench --region eea)
PRIVOX_EXTENSION_PASSWORD=bench-s3cret $P extension add --data-dir "$D" --company "$company" --number 101 \
  --did +442071234567 >/dev/null
PRIVOX_EXTENSION_PASSWORD=bench-s3cret-2 $P extension add --data-dir "$D" --company "$company" --number 102 \
  --did +442071234568 >/dev/null
login=$($P extension list --data-dir "$D" --company "$company" | awk -F'\t' '$2 == "101" {print $3}')
$P trunk add --data-dir "$D" --name carrier --address 127.0.0.1:5161 --trusted >/dev/null
$P settings set --data-dir "$D" sip.rate_limit_requests 1000000 >/dev/null
$P settings set --data-dir "$D" retention.voicemail_max_messages 10000 >/dev/null
$P serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:5060 --media-relay 127.0.0.1:22222 \
  --media-ports 40000-49999 >"$work/privox.log" 2>&1 &
privox_pid=$!
sleep 1

thread_ns() {  # thread_ns NAME: the CPU (ns) of privox's thread of that name
  local t
  for t in /proc/$privox_pid/task/*; do
    [ "$(cat "$t/comm")" = "$1" ] && { cut -d' ' -f1 "$t/schedstat"; return; }
  done
  echo 0
}
stored() { sqlite3 "$D/privox.db" "select count(*) from voicemail_messages"; }
cd "$work"
for n in $levels; do
  before_media=$(thread_ns privox-media)
  before_stored=$(stored)
  line=$(REG_USER=$login REG_PASS=bench-s3cret TARGET=+442071234568 MEDIA_PIDS=$rtpengine_pid \
    bash "$media/media_bench.sh" 5060 "$n" "$secs" 2>&1 | tail -n 1)
  sleep 2  # the last messages are sealed and stored on the sink's thread
  ok=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' <<<"$line")
  uac_tx=$(sed -n 's/.* rtp_sent=\([0-9]*\).*/\1/p' <<<"$line")
  endpoint_us=$(( ($(thread_ns privox-media) - before_media) / 1000 ))
  # The endpoint receives every caller's stream for the whole call: CALL_SECONDS stream-seconds each.
  echo "voicemail $n: $line endpoint_cpu_s=$(awk -v u="$endpoint_us" 'BEGIN {printf "%.2f", u / 1e6}')" \
    "endpoint_us_per_stream_s=$(awk -v u="$endpoint_us" -v c="$ok" -v s="$secs" 'BEGIN {printf "%.1f", u / (c > 0 ? c * s : 1)}')" \
    "messages_stored=$(( $(stored) - before_stored ))"
done

# The endpoint's own count of the deposit RTP, logged when serve stops.
kill -TERM "$privox_pid"
wait "$privox_pid" 2>/dev/null || true
privox_pid=""
grep -o "voicemail: .*" "$work/privox.log" | tail -n 1 | sed 's/^/privox /'
totals=$(grep -o "RTP [0-9]* in, [0-9]* out, [0-9]* late or lost" "$work/privox.log" | tail -n 1)
in=$(awk '{print $2}' <<<"$totals"); late=$(awk '{print $6}' <<<"$totals")
echo "deposit RTP late or lost at the endpoint: $(awk -v l="$late" -v i="$in" 'BEGIN {printf "%.3f%%", 100 * l / (i > 0 ? i : 1)}') of $in"

# Every message stored: exported (decrypted) and decoded by opusdec.
total=0; decoded=0
for id in $(sqlite3 "$D/privox.db" "select id from voicemail_messages"); do
  total=$((total + 1))
  $P voicemail export "$id" --data-dir "$D" --purpose service --out "$work/m.opus" >/dev/null 2>&1 &&
    opusdec --quiet "$work/m.opus" "$work/m.wav" 2>/dev/null && decoded=$((decoded + 1))
  rm -f "$work/m.opus" "$work/m.wav"
done
echo "messages stored: $total, decoded by opusdec: $decoded"
