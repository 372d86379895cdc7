# Shared by bench/run-sip-tls.sh and bench/run-sip-ws.sh (source it): the proxy's CPU over a run
# and sipp's own count of its calls. PROXY_PIDS names the proxy's processes; every thread of each
# counts, as in the harness (../shared/bench/sip/sip_bench.sh).

cpu_ticks() { local t=0 p; for p in $PROXY_PIDS; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }

# sipp_summary CSV T0 T1: successful=N failed=N elapsed_s=S per_s=R, from sipp's -stf file and the
# run's start and end (date +%s.%N).
sipp_summary() {
  python3 - "$1" "$2" "$3" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
d = dict(zip(rows[0], rows[-1]))
elapsed = float(sys.argv[3]) - float(sys.argv[2])
ok, bad = int(d.get('SuccessfulCall(C)', 0)), int(d.get('FailedCall(C)', 0))
print(f"successful={ok} failed={bad} elapsed_s={elapsed:.2f} per_s={ok/elapsed:.0f}")
PY
}

# with_cpu COMMAND...: the command's last line (which says successful=N), then PROXY_PIDS' CPU
# over it and per success.
with_cpu() {
  local c0 c1 line ok
  c0=$(cpu_ticks)
  line=$("$@" 2>&1 | tail -n 1)
  c1=$(cpu_ticks)
  ok=$(grep -o 'successful=[0-9]*' <<<"$line" | cut -d= -f2)
  echo "$line$(python3 -c 'import sys; c = (int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]); print(f" proxy_cpu_s={c:.2f} cpu_us_each={c * 1e6 / max(int(sys.argv[4] or 0), 1):.0f}")' \
    "$c0" "$c1" "$(getconf CLK_TCK)" "$ok")"
}

# kamailio_tls_cfg FILE CERT KEY: the tls module's configuration for the benchmarks' self-signed
# pair (the same certificate and key privox is given), TLS 1.2 or newer, no client certificate.
kamailio_tls_cfg() {
  cat >"$1" <<EOF
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = $3
certificate = $2
[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
EOF
}
