#!/usr/bin/env bash
# The whole-suite scan can fail: suite-scan.sh on planted suite dirs, each a case it must catch
# or must let pass. Runs without privox or any server.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/test-lib.sh"
SCAN="$HERE/suite-scan.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-suite-scan-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# A source root whose one e2e script writes an email and a number literally.
mkdir -p "$TMP/root/src/x" "$TMP/root/web/tests" "$TMP/root/scripts"
cat >"$TMP/root/src/x/x_e2e.sh" <<'EOF'
px "$D" member add --email quentin.lowe@example.org --phone +447700900456
EOF

# case DIR: a fresh suite dir with one test, t1, declaring two values.
new_case() {
  rm -rf "$TMP/suite"
  mkdir -p "$TMP/suite/t1/logs"
  printf '%s\n' "Xanthippe Quill" "Bo" >"$TMP/suite/t1/personal.txt"
  echo '{"ts":"2026-12-05T05:00:00.000000Z","level":"info","subsystem":"sip","event":"service.started","port":5060}' \
    >"$TMP/suite/t1/logs/1-serve.log"
}
scan() { bash "$SCAN" "$TMP/suite" "$TMP/root"; }

new_case
assert_true "clean logs pass" scan

new_case
echo '{"ts":"2026-12-05T05:00:01.000000Z","level":"warn","subsystem":"portal","event":"x","who":"xanthippe quill"}' \
  >>"$TMP/suite/t1/logs/1-serve.log"
out=$(scan)
assert_eq "a declared value in a serve log fails the scan" 1 "$?"
assert_contains "naming the test, file and line" "$out" "test t1: logs/1-serve.log line 2"
assert_contains "and the value" "$out" "'Xanthippe Quill'"
assert_not_contains "but not the line itself" "$out" '"event":"x"'

new_case
echo '2026-12-05T05:00:01.000000Z info sip x caller=447700900456' >"$TMP/suite/t1/cli-stderr.log"
assert_false "a number from the sources, without its +, in a CLI log line fails" scan

new_case
echo 'privox: error: --email: quentin.lowe@example.org is taken' >"$TMP/suite/t1/cli-stderr.log"
assert_true "a CLI error message may quote what the operator typed" scan
echo '{"ts":"2026-12-05T05:00:02.000000Z","level":"info","subsystem":"x","event":"y","to":"QUENTIN.LOWE@example.org"}' \
  >>"$TMP/suite/t1/cli-stderr.log"
assert_false "but a CLI log line may not (any case)" scan

new_case
printf 'privox_http_requests_total{route="/api/v1/members/Xanthippe Quill"} 1\n' >"$TMP/suite/t1/metrics-1.prom"
assert_false "a value in a /metrics label fails" scan

new_case
mkdir -p "$TMP/suite/t2/logs"
echo '{"ts":"2026-12-05T05:00:00.000000Z","level":"info","subsystem":"a","event":"b","n":"xanthippe quill"}' \
  >"$TMP/suite/t2/logs/1-serve.log"
out=$(scan)
assert_contains "one test's value is looked for in every test's logs" "$out" "test t2: logs/1-serve.log line 1"

new_case
echo '{"ts":"2026-12-05T05:00:00.000000Z","level":"info","subsystem":"a","event":"bo.x","box":"Bo"}' \
  >>"$TMP/suite/t1/logs/1-serve.log"
assert_true "a value under the length floor is not looked for" scan

finish
