#!/usr/bin/env bash
# The SIP benchmark (issue: SIP telephony core): privox and the Kamailio anchor through the same
# harness (../shared/bench/sip), one after the other in this one invocation, so their ratio holds.
#   bench/run-sip.sh [CALLS] [RATE] [REGISTRATIONS] [REG_RATE]
# For each: calls/s held, failed calls, the proxy's own CPU µs per call (PROXY_PIDS: every thread of
# privox, the writer's included; every Kamailio process), and for privox the traffic records written
# against successful calls. Then registrations with digest auth through reg_bench.sh against privox.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$(cd "$root/../shared/bench/sip" && pwd)
calls=${1:-20000}; rate=${2:-3000}; regs=${3:-20000}; reg_rate=${4:-4000}
build=$root/build-bench

bash "$root/scripts/install-deps.sh"
missing=()
for p in kamailio kamailio-sqlite-modules kamailio-postgres-modules; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package starts a system Kamailio on 5060; the benchmark uses its own.
  pkill -x kamailio 2>/dev/null || true
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_BENCH=ON >/dev/null
cmake --build "$build" --target privox privox_bindings_memory >/dev/null

work=$(mktemp -d /tmp/privox-sip-bench.XXXXXX)
chmod 755 "$work"  # the private PostgreSQL runs as the postgres user
privox_pid=""
cleanup() {
  [ -n "$privox_pid" ] && kill "$privox_pid" 2>/dev/null
  bash "$harness/kamailio_anchor.sh" stop >/dev/null 2>&1 || true
  bash "$root/scripts/test-postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "calls: $calls at $rate/s; registrations: $regs at $reg_rate/s"
echo "privox location service: $("$build/privox_bindings_memory")"

# privox: extension 101 behind DID +442071234567, the UAC as a trusted trunk on 127.0.0.1:5061.
# A trunk is recognised by its IP address alone, so every harness port on 127.0.0.1 counts as the
# trunk's (exempt from the rate limit); the registrations still need their digest, as a REGISTER is
# never taken as a trunk's.
P=$build/privox
D=$work/data
$P init --data-dir "$D" >/dev/null
company=$($P company add --data-dir "$D" --name Bench --region eea)
PRIVOX_EXTENSION_PASSWORD=bench-s3cret $P extension add --data-dir "$D" --company "$company" --number 101 \
  --did +442071234567 >/dev/null
login=$($P extension list --data-dir "$D" --company "$company" | cut -f3)  # random since issue 10
$P trunk add --data-dir "$D" --name carrier --address 127.0.0.1:5061 --trusted >/dev/null
# The harness loads privox from one address; the per-source rate limit (16 requests in 2 s) stays
# on, so its cost per packet is in the figures, but with room for the whole load.
$P settings set --data-dir "$D" sip.rate_limit_requests 1000000 >/dev/null
cd "$work"
# The calls twice (issue 18): without --metrics, then with them served and scraped every second as
# Prometheus would, so the CPU per call of the two can be compared within this one invocation.
cpu_per_call=()
for metrics in off on; do
  extra=()
  [ "$metrics" = on ] && extra=(--metrics 127.0.0.1:9464)
  $P serve --data-dir "$D" --http 127.0.0.1:0 --sip 127.0.0.1:5060 "${extra[@]}" >"$work/privox-$metrics.log" 2>&1 &
  privox_pid=$!
  sleep 1
  scraper=""
  if [ "$metrics" = on ]; then
    (while curl -sf -o /dev/null http://127.0.0.1:9464/metrics; do sleep 1; done) &
    scraper=$!
  fi
  before=$(sqlite3 "$D/privox.db" "select count(*) from traffic_records where outcome = 'answered'")
  line=$(REG_USER=$login REG_PASS=bench-s3cret TARGET=+442071234567 PROXY_PIDS=$privox_pid \
    bash "$harness/sip_bench.sh" 5060 "$calls" "$rate" | tail -n 1)
  sleep 1  # the writer commits within milliseconds; give the last batch its turn
  records=$(($(sqlite3 "$D/privox.db" "select count(*) from traffic_records where outcome = 'answered'") - before))
  echo "privox calls (metrics $metrics):   $line records=$records"
  cpu_per_call+=("$(grep -o 'cpu_us_per_call=[0-9.]*' <<<"$line" | cut -d= -f2)")
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
  if [ "$metrics" = off ]; then
    kill "$privox_pid"
    wait "$privox_pid" 2>/dev/null || true
    privox_pid=""
  fi
done
if [ -n "${cpu_per_call[0]}" ] && [ -n "${cpu_per_call[1]}" ]; then
  echo "privox metrics cost: $(python3 -c 'import sys; a, b = map(float, sys.argv[1:]); print(f"{(b - a) / a * 100:+.1f}% CPU per call (goal: under 3%)")' "${cpu_per_call[@]}")"
fi

line=$(REG_USER=$login REG_PASS=bench-s3cret PROXY_PIDS=$privox_pid UAC_PORT=5062 \
  bash "$harness/reg_bench.sh" 5060 "$regs" "$reg_rate" | tail -n 1)
echo "privox registrations: $line"
kill "$privox_pid"
wait "$privox_pid" 2>/dev/null || true
privox_pid=""

# Kamailio anchor, signalling only, its default two workers.
bash "$harness/kamailio_anchor.sh" start >/dev/null
sleep 1
kpids=$(pgrep -f kamailio-anchor.cfg | tr '\n' ' ')
line=$(REG_USER=uas PROXY_PIDS=$kpids bash "$harness/sip_bench.sh" 5070 "$calls" "$rate" | tail -n 1)
echo "kamailio calls: $line"
bash "$harness/kamailio_anchor.sh" stop >/dev/null
sleep 1

# Kamailio registrar with digest auth against PostgreSQL, as the harness README measured it: a
# private instance on 127.0.0.1:5432 (the anchor's configuration names no port).
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "kamailio registrations: skipped, 127.0.0.1:5432 is taken"
  exit 0
fi
url=$(PRIVOX_PG_PORT=5432 bash "$root/scripts/test-postgres.sh" start "$work/pg")
psql -X -q "$url" -c "CREATE ROLE kamailio LOGIN PASSWORD 'kamailio'" -c "CREATE DATABASE kamailio OWNER kamailio"
kurl="postgresql://kamailio:kamailio@127.0.0.1:5432/kamailio"
for f in standard-create.sql auth_db-create.sql; do psql -X -q "$kurl" -f "/usr/share/kamailio/postgres/$f" >/dev/null; done
psql -X -q "$kurl" -c "INSERT INTO subscriber (username, domain, password) VALUES ('1000', '127.0.0.1', 'pw1000')"
psql -X -q "$url" -c "ALTER SYSTEM SET log_statement = 'none'" -c "SELECT pg_reload_conf()" >/dev/null
bash "$harness/kamailio_anchor.sh" start auth >/dev/null
sleep 1
kpids=$(pgrep -f kamailio-anchor.cfg | tr '\n' ' ')
line=$(PROXY_PIDS=$kpids UAC_PORT=5062 bash "$harness/reg_bench.sh" 5070 "$regs" "$reg_rate" | tail -n 1)
echo "kamailio registrations: $line"
