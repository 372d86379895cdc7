#!/usr/bin/env bash
# Debian's real Prometheus against a live privox (issue 18): privox serves with --metrics on
# loopback; promtool checks the alert rules in ops/prometheus/ (they load, and their unit tests in
# privox-alerts_test.yml fire as written) and the scrape configuration; Prometheus scrapes privox
# every second with the rules loaded, and a privox metric is read back through its HTTP API
# (/api/v1/query). Every query of the Grafana dashboard (ops/grafana/privox-dashboard.json) is
# then run through the same API, so a panel cannot name a metric or a function that does not parse.
# Usage: prometheus_e2e.sh /path/to/privox sqlite|postgresql
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"
OPS=$(cd "$HERE/../../ops" && pwd)

for tool in prometheus promtool python3 curl; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (scripts/install-test-deps.sh)" >&2; exit 2; }
done

# --- the rules, on their own ----------------------------------------------------------------------
out=$(promtool check rules "$OPS/prometheus/privox-alerts.yml" 2>&1)
assert_eq "promtool check rules loads the alert rules" 0 "$?"
# Every rule the file defines, counted from its text: a rule promtool skipped would show here.
RULES=$(grep -c '^ *- alert: ' "$OPS/prometheus/privox-alerts.yml")
assert_true "the file defines alert rules ($RULES)" test "$RULES" -ge 13
assert_contains "and promtool finds every one" "$out" "SUCCESS: $RULES rules found"
out=$(cd "$OPS/prometheus" && promtool test rules privox-alerts_test.yml 2>&1)
assert_eq "the rules' unit tests pass (overdue rights requests, ban storm, 503 rate)" 0 "$?" "$out"

# --- a live privox ------------------------------------------------------------------------------
D=$TMP/data
new_data_dir "$D"
METRICS_PORT=$(free_port)
PROM_PORT=$(free_port)
start_bg serve "$PRIVOX" serve $(store_args "$D") --http 127.0.0.1:0 --sip "127.0.0.1:$(free_port)" \
  --metrics "127.0.0.1:$METRICS_PORT"
for _ in $(seq 100); do grep -q '"event":"metrics.listening"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
assert_contains "privox serves its metrics" "$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics")" "privox_up 1"

cat >"$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $OPS/prometheus/privox-alerts.yml
scrape_configs:
  - job_name: privox
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
YML
out=$(promtool check config "$TMP/prometheus.yml" 2>&1)
assert_eq "promtool check config accepts the scrape configuration with the rules" 0 "$?" "$out"

start_bg prometheus prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
API=http://127.0.0.1:$PROM_PORT/api/v1
query() {  # query PROMQL: Prometheus's JSON answer
  curl -s --get --data-urlencode "query=$1" "$API/query"
}
value_of() {  # value_of PROMQL: the first sample's value, or nothing
  query "$1" | python3 -c 'import json, sys
r = json.load(sys.stdin).get("data", {}).get("result", [])
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
UP=
for _ in $(seq 300); do
  UP=$(value_of 'privox_up{job="privox"}')
  [ "$UP" = 1 ] && break
  sleep 0.1
done
assert_eq "Prometheus scraped privox: privox_up read back through /api/v1/query" 1 "$UP"
assert_eq "and its scrape target is up" 1 "$(value_of 'up{job="privox"}')"
assert_eq "the rights queue gauge arrives as privox exports it" 0 "$(value_of 'max(privox_rights_requests_deadline{when="overdue"})')"

rules=$(curl -s "$API/rules" | python3 -c 'import json, sys
g = [g for g in json.load(sys.stdin)["data"]["groups"] if g["name"] == "privox"]
print(len(g[0]["rules"]) if g else 0)')
assert_eq "the live Prometheus loaded every one of privox's alert rules" "$RULES" "$rules"

# --- every dashboard query parses and runs ------------------------------------------------------
python3 - "$OPS/grafana/privox-dashboard.json" >"$TMP/exprs.txt" <<'PY'
import json, sys
def walk(panels):
    for p in panels:
        yield from walk(p.get("panels", []))
        for t in p.get("targets", []):
            print(t["expr"].replace("$instance", ".*").replace("$__rate_interval", "1m"))
walk_all = list(walk(json.load(open(sys.argv[1]))["panels"]))
PY
assert_true "the dashboard has queries" test -s "$TMP/exprs.txt"
bad=0
while IFS= read -r expr; do
  status=$(query "$expr" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("status"))' 2>/dev/null)
  if [ "$status" != success ]; then
    bad=$((bad + 1))
    echo "dashboard query failed: $expr: $(query "$expr")" >&2
  fi
done <"$TMP/exprs.txt"
assert_eq "every dashboard query runs on Prometheus" 0 "$bad"

finish
