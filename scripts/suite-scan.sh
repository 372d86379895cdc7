#!/usr/bin/env bash
# The whole-suite scan (issue 18): after every end-to-end test, no personal value that any test used
# may appear in privox's logs or in a /metrics scrape.
#
#   suite-scan.sh SUITE_DIR SOURCE_ROOT
#
# SUITE_DIR holds one folder per test (scripts/test-lib.sh's suite_save): logs/ (privox's own
# stderr: every line is read), cli-stderr.log (the CLI's stderr: only its log lines are read, since
# an error message may rightly quote what the operator typed), metrics-*.prom (scrapes: every line)
# and personal.txt (the values the test declared with `personal`).
#
# The values looked for are, in every test's files, every test's values (a value one test declared
# must not show in another's logs either), plus what the test sources under SOURCE_ROOT (the e2e
# scripts, the sipp scenarios and their CSV files, the browser tests) write literally: every email
# address, every E.164 number, and every quoted `--name`/`--label` value (companies, members,
# lines), so a literal is caught even where nobody called `personal`.
#
# Length floor: a value shorter than 5 characters is skipped. Short values (an extension "101", a
# first name "Ann", a country "GB") occur by chance in timestamps, ids, counts and JSON keys, and a
# scan that fails at random is one people learn to ignore. Phone numbers are also looked for as
# digits without the '+' (8 digits at least, for the same reason). Letters compare without case.
#
# On a hit it prints the test, the file, the line number and the value (the tests' own made-up
# data), never the line, and exits 1.
set -uo pipefail

SUITE=${1:?usage: suite-scan.sh SUITE_DIR SOURCE_ROOT}
ROOT=${2:?usage: suite-scan.sh SUITE_DIR SOURCE_ROOT}
[ -d "$ROOT" ] || { echo "suite-scan.sh: no source root $ROOT" >&2; exit 2; }

exec python3 - "$SUITE" "$ROOT" <<'PY'
import os, re, sys

suite, root = sys.argv[1], sys.argv[2]
MIN_LEN = 5
MIN_DIGITS = 8
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
E164 = re.compile(r"\+[1-9][0-9]{7,14}(?![0-9])")
# Names given to privox literally: `--name "Ann Lee"`, `--label "Reception desk"` (people,
# companies, lines); a value built from a variable is left to `personal`.
# Only names of two words or more: a one-word literal ("Again", "backup") is as likely to be a
# word privox itself writes.
NAMED = re.compile(r'--(?:name|label)[ =]"([^"$` ]+ [^"$`]+)"')
# A log line as common/log.h writes it: a JSON line, or text that opens with the UTC timestamp.
LOG_LINE = re.compile(r'^(\{"ts":"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z )')


def source_literals():
    found = set()
    for top in ("src", "web/tests", "scripts"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not name.endswith((".sh", ".xml", ".csv", ".mjs", ".js", ".py")):
                    continue
                try:
                    text = open(os.path.join(dirpath, name), encoding="utf-8", errors="replace").read()
                except OSError:
                    continue
                found.update(EMAIL.findall(text))
                found.update(E164.findall(text))
                found.update(NAMED.findall(text))
    return found


def needles(values):
    out = {}
    for v in values:
        v = v.strip()
        if len(v) < MIN_LEN:
            continue
        out[v.lower()] = v
        if E164.fullmatch(v) and len(v) - 1 >= MIN_DIGITS:
            out[v[1:]] = v  # the number without its '+'
    return out


def files_of(test_dir):
    for dirpath, _, files in os.walk(test_dir):
        for name in sorted(files):
            if name == "personal.txt":
                continue
            path = os.path.join(dirpath, name)
            yield path, name == "cli-stderr.log"


if not os.path.isdir(suite):
    print(f"suite-scan: {suite} does not exist: no end-to-end test ran with the suite fixture")
    sys.exit(0)
tests = sorted(d for d in os.listdir(suite) if os.path.isdir(os.path.join(suite, d)))
declared = set()
for t in tests:
    p = os.path.join(suite, t, "personal.txt")
    if os.path.exists(p):
        declared.update(l for l in open(p, encoding="utf-8", errors="replace").read().splitlines() if l)
literals = source_literals()
look_for = needles(declared | literals)

hits, files_read, lines_read = [], 0, 0
for t in tests:
    for path, logs_only in files_of(os.path.join(suite, t)):
        files_read += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if logs_only and not LOG_LINE.match(line):
                    continue
                lines_read += 1
                low = line.lower()
                for needle, value in look_for.items():
                    if needle in low:
                        hits.append((t, os.path.relpath(path, os.path.join(suite, t)), number, value))

print(f"suite-scan: {len(tests)} tests, {files_read} files, {lines_read} lines read; "
      f"{len(look_for)} values looked for ({len(declared)} declared, {len(literals)} literals in the sources; "
      f"floor {MIN_LEN} characters)")
seen = set()
for t, rel, number, value in hits:
    key = (t, rel, value)
    if key in seen:
        continue  # one line per test, file and value is enough to find the rest
    seen.add(key)
    print(f"FAIL: test {t}: {rel} line {number} holds the personal value {value!r}")
sys.exit(1 if hits else 0)
PY
