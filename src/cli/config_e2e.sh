#!/usr/bin/env bash
# privox.toml end to end (issue 18, "Configuration"): the shipped file checks and names every flag;
# `config check` names the file, line and key of a bad one; flags beat PRIVOX_* variables, which beat
# the file, in a running serve; and SIGHUP applies what can change at once (log level, the portal's
# renewed certificate, HTTP connection caps), names what needs a restart, and survives a broken file.
# Usage: config_e2e.sh PRIVOX sqlite|postgresql
source "$(dirname "$0")/../../scripts/test-lib.sh"
source "$(dirname "$0")/../../scripts/e2e-lib.sh"
SHIPPED="$(dirname "$0")/../../ops/privox.toml"
unset PRIVOX_CONFIG PRIVOX_HTTP PRIVOX_LOG_LEVEL PRIVOX_LOG_FORMAT

D=$TMP/data
new_data_dir "$D"
store_line() {  # the store key for this backend's data directory, or nothing on SQLite
  if [ "$BACKEND" == postgresql ]; then printf 'store = "%s"\n' "${E2E_STORE_OF[$D]}"; fi
}

# --- the shipped file -----------------------------------------------------------------------------
out=$("$PRIVOX" config check "$SHIPPED" 2>&1)
assert_match "the shipped privox.toml checks" "$out" "privox.toml: ok, [0-9]+ keys$"
flags=$( { "$PRIVOX" serve --help; "$PRIVOX" --help; } | grep -oE '^  --[a-z-]+' | sed 's/^  --//' |
  grep -vxE 'help|version|config' | sort -u)
assert_ne "serve --help lists flags" "" "$flags"
for flag in $flags; do
  assert_true "the shipped file documents key $flag" grep -qE "^#? ?$flag = " "$SHIPPED"
  # Each documented line, uncommented, is a valid key and value.
  line=$(grep -E "^#? ?$flag = " "$SHIPPED" | head -1 | sed -E 's/^# ?//')
  printf '%s\n' "$line" >"$TMP/one.toml"
  assert_true "its example '$line' checks" "$PRIVOX" config check "$TMP/one.toml"
done

# --- bad files: the file, line and key --------------------------------------------------------------
check_fails() {  # check_fails DESCRIPTION EXPECTED-STDERR (the file is $TMP/bad.toml)
  local err code
  err=$("$PRIVOX" config check "$TMP/bad.toml" 2>&1 >/dev/null)
  code=$?
  assert_eq "$1: exit 2" 2 "$code"
  assert_contains "$1: names the problem" "$err" "$2"
}
printf '# comment\nhttp = "127.0.0.1:8080"\nsip-port = 5060\n' >"$TMP/bad.toml"
check_fails "an unknown key" "bad.toml:3: unknown key 'sip-port'"
printf 'ring-timeout = 0\n' >"$TMP/bad.toml"
check_fails "a value out of range" "bad.toml:1: key 'ring-timeout': --ring-timeout: Value 0 not in range 1 to 3600"
printf '\n\nring-timeout = "soon"\n' >"$TMP/bad.toml"
check_fails "a value of the wrong kind" "bad.toml:3: key 'ring-timeout'"
printf 'media-relay = ["127.0.0.1:2223"]\n' >"$TMP/bad.toml"
check_fails "an array" "bad.toml:1: key 'media-relay' holds a value of type array"
printf 'sip = "127.0.0.1"\n' >"$TMP/bad.toml"
check_fails "an address without a port" "bad.toml:1: key 'sip'"
printf 'digest-challenges = "md5,sha1"\n' >"$TMP/bad.toml"
check_fails "an unknown digest algorithm" "'sha1' is not md5 or sha256"
printf 'http = "127.0.0.1:8080"\nhttp = "127.0.0.1:8081"\n' >"$TMP/bad.toml"
check_fails "a key given twice" "bad.toml:2:"
printf 'log-level = "loud"\n' >"$TMP/bad.toml"
check_fails "an unknown log level" "bad.toml:1: key 'log-level'"
printf '[portal]\nhttp = "127.0.0.1:8080"\n' >"$TMP/bad.toml"
check_fails "a section" "bad.toml:1: section 'portal': the file has no sections"
printf 'http = "127.0.0.1:8080\n' >"$TMP/bad.toml"
check_fails "broken syntax" "bad.toml:1:"
err=$("$PRIVOX" config check "$TMP/missing.toml" 2>&1)
assert_eq "a missing file: exit 2" 2 "$?"
assert_contains "a missing file is named" "$err" "missing.toml"
err=$("$PRIVOX" --config "$TMP/bad.toml" serve 2>&1)
assert_eq "serve refuses a broken --config file" 2 "$?"
assert_contains "and names it" "$err" "bad.toml:1:"

# --- precedence: flags, then PRIVOX_*, then the file ---------------------------------------------------
PORT_FILE=$(free_port)
PORT_ENV=$(free_port)
PORT_FLAG=$(free_port)
{
  printf 'data-dir = "%s"\n' "$D"
  store_line
  printf 'http = "127.0.0.1:%s"\nsip = "127.0.0.1:0"\nvoicemail = false\n' "$PORT_FILE"
} >"$TMP/privox.toml"
assert_true "the test's file checks" "$PRIVOX" config check "$TMP/privox.toml"

healthz() { curl --noproxy '*' -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/healthz"; }
wait_healthz() {  # wait_healthz PORT: 0 once it answers 200
  for _ in $(seq 100); do [ "$(healthz "$1")" == 200 ] && return 0; sleep 0.1; done
  return 1
}
serve_once() {  # serve_once LOG PORT-EXPECTED [ENV=VALUE...] -- [FLAGS...]: serve, wait for PORT, stop
  local log=$1 port=$2 envs=() pid up=1
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  suite_keep "$TMP/$log"  # for the whole-suite scan (scripts/suite-scan.sh)
  env "${envs[@]}" "$PRIVOX" --config "$TMP/privox.toml" serve "$@" >"$TMP/$log" 2>&1 &
  pid=$!
  wait_healthz "$port" && up=0
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return $up
}
assert_true "the file alone: serve listens where the file says" serve_once file.log "$PORT_FILE" --
assert_true "a PRIVOX_HTTP variable overrides the file" \
  serve_once env.log "$PORT_ENV" "PRIVOX_HTTP=127.0.0.1:$PORT_ENV" --
assert_true "a flag overrides both" \
  serve_once flag.log "$PORT_FLAG" "PRIVOX_HTTP=127.0.0.1:$PORT_ENV" -- --http "127.0.0.1:$PORT_FLAG"
assert_true "PRIVOX_CONFIG names the file as --config does" \
  env PRIVOX_CONFIG="$TMP/privox.toml" "$PRIVOX" audit verify
assert_contains "the file's data-dir serves the other verbs too" \
  "$("$PRIVOX" --config "$TMP/privox.toml" audit verify 2>&1)" "ok "
err=$("$PRIVOX" --config "$TMP/privox.toml" serve --http 127.0.0.1 2>&1)
assert_eq "a bad flag still fails over a good file" 2 "$?"
assert_contains "and names the flag" "$err" "--http"
assert_contains "serve logs JSON lines when not on a terminal" "$(head -1 "$TMP/file.log")" '{"ts":"'

# --- SIGHUP -------------------------------------------------------------------------------------------
# The portal over TLS with a first certificate and a cap of one connection per client; then a renewed
# certificate under the same file names, a raised cap, a lower log level and a new SIP address.
make_cert() {  # make_cert CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
}
served_cn() {
  openssl s_client -connect "127.0.0.1:$PORT_FILE" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -subject 2>/dev/null | sed -E 's/.*CN ?= ?//'
}
write_config() {  # write_config PER-CLIENT LOG-LEVEL SIP-PORT
  {
    printf 'data-dir = "%s"\n' "$D"
    store_line
    printf 'http = "127.0.0.1:%s"\nsip = "127.0.0.1:%s"\nvoicemail = false\n' "$PORT_FILE" "$3"
    printf 'tls-cert = "%s"\ntls-key = "%s"\n' "$TMP/cert.pem" "$TMP/key.pem"
    printf 'http-max-connections-per-client = %s\nlog-level = "%s"\n' "$1" "$2"
  } >"$TMP/privox.toml"
}
SIP_A=$(free_port)
SIP_B=$(free_port)
make_cert first.privox.test
write_config 1 info "$SIP_A"
suite_keep "$TMP/hup.log"
"$PRIVOX" --config "$TMP/privox.toml" serve >"$TMP/hup.log" 2>&1 &
SERVE_PID=$!
E2E_PIDS+=("$SERVE_PID")
up=1
for _ in $(seq 100); do
  [ "$(curl --noproxy '*' -sk -m 2 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT_FILE/healthz")" == 200 ] && { up=0; break; }
  sleep 0.1
done
assert_eq "serve runs the portal over TLS from the file" 0 "$up"
assert_eq "with the first certificate" first.privox.test "$(served_cn)"
# One connection held open uses this client's share of one: the next is refused.
exec 3<>"/dev/tcp/127.0.0.1/$PORT_FILE"
sleep 0.3
code=$(curl --noproxy '*' -sk -m 3 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT_FILE/healthz")
assert_eq "a second connection is over the cap of one" 000 "$code"

make_cert renewed.privox.test
write_config 4 debug "$SIP_B"
kill -HUP "$SERVE_PID"
for _ in $(seq 50); do grep -q '"event":"reloaded"' "$TMP/hup.log" && break; sleep 0.1; done
log=$(cat "$TMP/hup.log")
assert_contains "the reload is logged" "$log" '"subsystem":"config","event":"reloaded","applied":2,"restart_needed":1}'
assert_contains "the log level applied at once" "$log" '"event":"applied","key":"log-level"}'
assert_contains "the connection cap applied at once" "$log" '"event":"applied","key":"http-max-connections-per-client"}'
assert_contains "a new SIP address needs a restart" "$log" '"level":"warn","subsystem":"config","event":"restart_needed","key":"sip"}'
assert_eq "the renewed certificate is served" renewed.privox.test "$(served_cn)"
code=$(curl --noproxy '*' -sk -m 3 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT_FILE/healthz")
assert_eq "the raised cap admits a second connection while the first is held" 200 "$code"
exec 3<&-
assert_true "serve still listens on the SIP address it started with" \
  python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $SIP_A)))"

# A broken file changes nothing: serve keeps running with what it has.
printf 'ring-timeout = 0\n' >>"$TMP/privox.toml"
kill -HUP "$SERVE_PID"
for _ in $(seq 50); do grep -q '"event":"reload_refused"' "$TMP/hup.log" && break; sleep 0.1; done
assert_contains "a broken file's reload is refused" "$(cat "$TMP/hup.log")" \
  '"level":"error","subsystem":"config","event":"reload_refused","error":"invalid_argument"}'
assert_eq "and the portal still answers" 200 \
  "$(curl --noproxy '*' -sk -m 3 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT_FILE/healthz")"
assert_true "serve is still running" kill -0 "$SERVE_PID"
assert_not_contains "no store URL or password in the log" "$(cat "$TMP/hup.log" "$TMP"/*.log)" "postgresql://"

finish
