#!/usr/bin/env bash
# What the tests need beyond the build (scripts/install-deps.sh): a real SMTP server, headless
# Chromium and npm's playwright-core to drive it, wrk for the HTTP benchmark, and sipvicious (a real
# SIP scanner and password guesser, for src/sip/guard_e2e.sh), and Prometheus with promtool (the
# metrics test scrapes a live privox with it), and lintian (ops/debian/deb_test.sh checks the
# Debian package with it), and poppler-utils' pdftotext (billing/'s tests read an invoice's PDF back), and
# pg_auto_failover (scripts/privox_cluster_test.sh starts the local cluster with it), and tcpdump
# (src/sip/srtp_e2e.sh captures loopback to show encrypted legs carry no plaintext), and iproute2,
# iptables and conntrack (src/sip/nat_e2e.sh puts a phone behind a masquerading router in network
# namespaces, and flushes the router's mappings). `make test` runs
# this; `make run` does not, so the product itself never needs Node.js or a browser.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3-aiosmtpd chromium wrk sipvicious prometheus lintian poppler-utils postgresql-15-auto-failover tcpdump
  iproute2 iptables conntrack)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may come from elsewhere (with its own npm); Debian's packages only when there is none.
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${missing[*]}" >&2
  [ "$(id -u)" -eq 0 ] || { echo "install-test-deps: not root; install: ${missing[*]}" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# playwright-core only (no bundled browsers): it drives Debian's /usr/bin/chromium.
if [ -f web/tests/package.json ] && [ ! -d web/tests/node_modules/playwright-core ]; then
  (cd web/tests && npm install --no-audit --no-fund --silent)
fi
