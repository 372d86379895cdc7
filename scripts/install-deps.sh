#!/usr/bin/env bash
# Installs the Debian 12 packages privox builds and tests with. Idempotent: it asks apt only for
# what is missing, so a second run on a ready machine does nothing and needs no network.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libsqlite3-dev libpq-dev libsodium-dev libssl-dev libzip-dev libcurl4-openssl-dev
  libphonenumber-dev libboost-dev libqrencode-dev libcairo2-dev libspandsp-dev libopus-dev libogg-dev libopusfile-dev libsndfile1-dev libsamplerate0-dev
  libgoogle-perftools-dev  # tcmalloc, the privox binary's allocator
  nlohmann-json3-dev libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  sqlite3 curl
  postgresql postgresql-client
  sip-tester sipsak baresip-core rtpengine-daemon asterisk-core-sounds-en-wav asterisk-moh-opsound-wav
  python3-aiosmtpd opus-tools
  help2man file  # make deb: man pages from --help; CPack's dpkg-shlibdeps step runs file(1)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages and not root; run as root or install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# The tests run their own throw-away PostgreSQL instances (scripts/test-postgres.sh); installing the
# server must not create (and start) the system-wide "main" cluster. postgresql-common reads
# createcluster.d when the server package's postinst creates that cluster, so the override has to be
# in place before apt-get install runs.
no_main_cluster=/etc/postgresql-common/createcluster.d/privox-no-main-cluster.conf
if ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q 'install ok installed' \
    || [ ! -f "$no_main_cluster" ]; then
  mkdir -p "$(dirname "$no_main_cluster")"
  printf '%s\n' '# written by privox scripts/install-deps.sh: no system-wide cluster on install' \
    'create_main_cluster = false' >"$no_main_cluster"
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# privox starts its own rtpengine (scripts/run.sh, the tests). On a machine with systemd the
# package also starts the system-wide one, which would hold the ng port make run uses (2223).
if printf '%s\n' "${missing[@]}" | grep -qx rtpengine-daemon && [ -d /run/systemd/system ]; then
  systemctl disable --now rtpengine-daemon.service >/dev/null 2>&1 || true
fi
