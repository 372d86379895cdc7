#!/usr/bin/env bash
# The portal's call log under load (issue 5): wrk against GET /api/v1/calls (default page, 50
# newest calls) with an office manager's session, 1,000,000 call records in the store.
#
#   bench/run-portal.sh PRIVOX [SEEDER]
#
# Builds nothing. Use a Release build with the benchmark tools:
#   cmake -S . -B build-bench -G Ninja -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_BUILD_TYPE=Release -DPRIVOX_TESTS=OFF -DPRIVOX_BENCH=ON
#   ninja -C build-bench privox privox_seed_calls
#   bench/run-portal.sh build-bench/privox            (SEEDER defaults to build-bench/privox_seed_calls)
#
# What it does, on a fresh SQLite data directory (with a local SMTP server for the sign-up link,
# scripts/test-smtp.sh):
#  1. starts `privox tokenizer` and `privox serve`; signs an office manager up through the API with a
#     card token from the tokenizer, as the browser would; adds LINES phone lines through the API;
#  2. stops serve and seeds RECORDS calls over the last DAYS days with privox_seed_calls (the SIP
#     proxy's own path: traffic::StoreSink, sealed per line, batched), then runs the retention jobs
#     once, so the store is in the state serve's scheduler keeps it in (each line's log shows its
#     newest entries up to retention.call_log_max_entries; every record stays in the store);
#  3. restarts serve, logs in, checks one page, then runs wrk for DURATION seconds paced at RATE
#     requests/s (bench/portal/calls.lua: Debian's wrk 4.1 has no -R, so each thread paces itself
#     through wrk's delay() hook), and once more unpaced for the ceiling.
# Prints p50/p90/p99/max, the achieved rate and serve's CPU time per request of each run ("RESULT ..."
# lines), with the load average before and after each.
#
# Knobs (environment): RECORDS=1000000 LINES=20 DAYS=30 DURATION=30 RATE=1000 (a list runs each
# rate in turn, e.g. RATE="1000 200") CONNECTIONS=50
# THREADS=1 HTTP_THREADS=4 KEEP=1 (keep the data directory).
set -euo pipefail

PRIVOX=$(realpath "${1:?usage: $0 PRIVOX [SEEDER]}")
SEEDER=$(realpath "${2:-$(dirname "$PRIVOX")/privox_seed_calls}")
RECORDS=${RECORDS:-1000000}
LINES=${LINES:-20}
DAYS=${DAYS:-30}
DURATION=${DURATION:-30}
RATE=${RATE:-1000}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
HTTP_THREADS=${HTTP_THREADS:-4}
root=$(cd "$(dirname "$0")" && pwd)
for tool in wrk curl python3 "$PRIVOX" "$SEEDER"; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing" >&2; exit 2; }
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY PRIVOX_DATA_DIR PRIVOX_STORE

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-bench-portal.XXXXXX")
D=$TMP/data
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-0}" == 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
CURL=(curl --noproxy '*' -s -m 10)
wait_up() {  # wait_up URL: 20 s at most
  for _ in $(seq 200); do
    [ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$1/healthz" || true)" == 200 ] && return 0
    sleep 0.1
  done
  echo "$0: $1 did not come up" >&2
  return 1
}
HTTP_PORT=$(free_port)
TOK_PORT=$(free_port)
ORIGIN="http://127.0.0.1:$HTTP_PORT"
TOK="http://127.0.0.1:$TOK_PORT"
start_serve() {
  timeout 900 "$PRIVOX" serve --data-dir "$D" --http "127.0.0.1:$HTTP_PORT" --sip 127.0.0.1:0 \
    --http-threads "$HTTP_THREADS" --payment-provider "$TOK" --payment-api-key-file "$TMP/api.key" \
    >>"$TMP/serve.log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  wait_up "$ORIGIN"
}
stop_serve() {
  kill -TERM "$SERVE_PID"
  wait "$SERVE_PID" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PRIVOX" init --data-dir "$D" >/dev/null
# Sign-up confirms the address by an emailed link: a local SMTP server (scripts/test-smtp.sh,
# python3-aiosmtpd) receives it.
bash "$root/../scripts/test-smtp.sh" start "$TMP/smtp" >/dev/null
trap 'bash "$root/../scripts/test-smtp.sh" stop "$TMP/smtp" >/dev/null 2>&1 || true; cleanup' EXIT
"$PRIVOX" settings set --data-dir "$D" mail.smtp_url "$(cat "$TMP/smtp/url")" >/dev/null
"$PRIVOX" settings set --data-dir "$D" portal.public_url "$ORIGIN" >/dev/null
head -c 24 /dev/urandom | base64 >"$TMP/api.key"
timeout 900 "$PRIVOX" tokenizer --listen "127.0.0.1:$TOK_PORT" --allow-origin "$ORIGIN" \
  --api-key-file "$TMP/api.key" >"$TMP/tokenizer.log" 2>&1 &
PIDS+=($!)
wait_up "$TOK"
start_serve

# 1. Sign-up and lines, through the API.
"${CURL[@]}" -H "Origin: $ORIGIN" -H 'Content-Type: application/json' \
  -d '{"number":"4242 4242 4242 4242","exp_month":12,"exp_year":2031,"cvc":"123"}' "$TOK/v1/tokens" >"$TMP/token.json"
PASSWORD='bench password 2026'
code=$("${CURL[@]}" -o "$TMP/signup.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"company_name\":\"Bench Call Centre\",\"name\":\"Ada Lovelace\",\"email\":\"bench@example.com\",\"phone\":\"+442079460958\",\"address\":\"1 Analytical Way, London\",\"birth_date\":\"1990-12-10\",\"password\":\"$PASSWORD\",\"payment_token\":\"$(json_get "$TMP/token.json" token)\"}" \
  "$ORIGIN/api/v1/signup")
[ "$code" == 202 ] || { echo "$0: sign-up answered $code: $(cat "$TMP/signup.json")" >&2; exit 1; }
link=""
for _ in $(seq 100); do
  link=$(cat "$TMP/smtp/maildir/new/"* 2>/dev/null | grep -o 'confirm\.html#[0-9a-f]\{64\}' | head -n 1 | cut -d'#' -f2 || true)
  [ -n "$link" ] && break
  sleep 0.1
done
code=$("${CURL[@]}" -c "$TMP/jar" -o "$TMP/signup.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"token\":\"$link\"}" "$ORIGIN/api/v1/confirm")
[ "$code" == 201 ] || { echo "$0: following the sign-up link answered $code: $(cat "$TMP/signup.json")" >&2; exit 1; }
COMPANY=$(json_get "$TMP/signup.json" company_id)
CSRF=$(json_get "$TMP/signup.json" csrf_token)
for i in $(seq "$LINES"); do
  code=$("${CURL[@]}" -b "$TMP/jar" -o "$TMP/line.json" -w '%{http_code}' -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' -d "{\"number\":\"$((200 + i))\",\"password\":\"line-password-$i\"}" \
    "$ORIGIN/api/v1/extensions")
  [ "$code" == 201 ] || { echo "$0: adding line $i answered $code: $(cat "$TMP/line.json")" >&2; exit 1; }
done
echo "signed up company $COMPANY with $LINES lines"
stop_serve

# 2. Call records, then the retention jobs once.
"$SEEDER" --dir "$D" --company "$COMPANY" --records "$RECORDS" --days "$DAYS" 2>"$TMP/seed.log" | sed 's/^/seeded: /'
start=$(date +%s)
"$PRIVOX" retention run --data-dir "$D" | sed 's/^/retention: /'
echo "retention: $(( $(date +%s) - start )) s"
echo "store: $(sqlite3 "$D/privox.db" "SELECT count(*) || ' records, ' || sum(log_hidden_at_us IS NULL) || ' in the call log' FROM traffic_records")," \
  "$(du -m "$D/privox.db" | cut -f1) MB"

# 3. Login and load.
start_serve
code=$("${CURL[@]}" -c "$TMP/jar" -o "$TMP/login.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"password\":\"$PASSWORD\"}" "$ORIGIN/api/v1/session")
[ "$code" == 200 ] || { echo "$0: login answered $code" >&2; exit 1; }
SESSION=$(awk '$6 == "privox_session" {print $7}' "$TMP/jar")
code=$("${CURL[@]}" -b "privox_session=$SESSION" -o "$TMP/page.json" -w '%{http_code}' "$ORIGIN/api/v1/calls")
[ "$code" == 200 ] || { echo "$0: GET /api/v1/calls answered $code: $(cat "$TMP/page.json")" >&2; exit 1; }
echo "one page: $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(len(j["items"]), "items,", "a next" if j.get("next_cursor") else "no next", "page,", len(open(sys.argv[1]).read()), "bytes")' "$TMP/page.json")"

# CPU time (user + system, ms) of privox serve itself, the child of the `timeout` wrapper: on a
# shared machine the latency depends on the neighbours, its CPU per request much less.
serve_cpu_ms() {
  local pid
  pid=$(ps -o pid= --ppid "$SERVE_PID" | head -1 | tr -d ' ')
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$pid/stat"
}
run_wrk() {  # run_wrk LABEL RATE
  echo "== $1: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, load $(cut -d' ' -f1-3 /proc/loadavg)"
  local cpu_before result requests
  cpu_before=$(serve_cpu_ms)
  result=$(PRIVOX_SESSION=$SESSION PACED_RATE=$2 PACED_THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$root/portal/calls.lua" "$ORIGIN/api/v1/calls" |
    grep '^RESULT' | sed "s/^RESULT/RESULT $1/")
  requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$result")
  echo "$result serve_cpu_us_per_request=$(( ($(serve_cpu_ms) - cpu_before) * 1000 / (${requests:-0} > 0 ? requests : 1) ))"
  echo "   load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}
for rate in $RATE; do run_wrk "paced-$rate" "$rate"; done
run_wrk unpaced 0
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
