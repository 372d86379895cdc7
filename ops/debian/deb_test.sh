#!/usr/bin/env bash
# The Debian package end to end: packs the given build with the CPack rules `make deb` uses
# (CMakeLists.txt, ops/debian/), has lintian check it, installs it with dpkg, runs the packaged
# binary as the packaged service user in the packaged paths, then removes and purges it and checks
# that nothing is left. ctest gives it the test build (ASan/UBSan, the sanitizer runtime linked in
# statically), so this also shows such a binary runs from the package; `make deb` packs build/.
#   ops/debian/deb_test.sh BUILD_DIR
# Needs root (dpkg) and a machine without privox installed: it refuses to run, and touches
# nothing, when the package, /etc/privox, /var/lib/privox or a `privox` user is already there.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/test-lib.sh"
build=$(realpath "${1:?usage: deb_test.sh BUILD_DIR}")

refuse() {
  echo "deb_test.sh: $1; refusing to run (it installs and purges the privox package)" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || refuse "not root"
[ -f "$build/CPackConfig.cmake" ] || refuse "$build/CPackConfig.cmake is missing (configure the build first)"
for tool in cpack dpkg dpkg-deb lintian help2man; do
  command -v "$tool" >/dev/null || refuse "$tool is missing (scripts/install-deps.sh, install-test-deps.sh)"
done
if dpkg-query -W -f='${db:Status-Status}' privox 2>/dev/null | grep -qv '^not-installed$'; then
  refuse "the privox package is on this machine ($(dpkg-query -W -f='${db:Status-Status}' privox)); \`dpkg --purge privox\` first"
fi
for path in /etc/privox /var/lib/privox /usr/bin/privox; do
  [ ! -e "$path" ] || refuse "$path exists and is not this test's"
done
getent passwd privox >/dev/null && refuse "a user named privox exists"
getent group privox >/dev/null && refuse "a group named privox exists"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/privox-deb.XXXXXX")
installed=0
serve_pid=""
cleanup() {
  # Whatever failed, leave the machine as it was: purge removes the files, the user and the data
  # (and cannot remove a user that still runs a process).
  if [ -n "$serve_pid" ]; then
    kill -KILL "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null
  fi
  if [ "$installed" -eq 1 ]; then
    dpkg --purge privox >"$TMP/purge-at-exit.log" 2>&1 || { echo "deb_test.sh: dpkg --purge privox failed:" >&2; cat "$TMP/purge-at-exit.log" >&2; }
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
# A stop from outside (Ctrl-C, a timeout's TERM) still purges: exit runs the EXIT trap.
trap 'exit 143' TERM INT

echo "== cpack"
if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$TMP/pkg" >"$TMP/cpack.log" 2>&1; then
  cat "$TMP/cpack.log"
  fail "cpack -G DEB builds the package"
  finish
  exit 1
fi
deb=$(ls "$TMP"/pkg/privox_*.deb)
version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
assert_match "the package is named after the project's version" "$(basename "$deb")" "^privox_${version}_[a-z0-9]+\.deb$"
for dep in rtpengine-daemon asterisk-core-sounds-en-wav adduser "libc6 (" "libsqlite3-0 (" "libpq5 ("; do
  assert_contains "Depends names $dep (by hand or from dpkg-shlibdeps)" "$depends" "$dep"
done
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/privox ./lib/systemd/system/privox.service ./etc/privox/privox.toml \
  ./usr/share/man/man1/privox.1.gz ./usr/share/man/man1/privox-serve.1.gz ./usr/share/man/man1/privox-init.1.gz \
  ./usr/share/doc/privox/copyright ./usr/share/doc/privox/changelog.gz; do
  assert_contains "the package carries $path" "$contents" " $path"
done
assert_eq "the package's only conffile is /etc/privox/privox.toml" "/etc/privox/privox.toml" \
  "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)"

echo "== lintian"
# Errors fail the test; warnings and notes are printed for whoever reads the log.
lintian_out=$(lintian --fail-on error "$deb" 2>&1)
lintian_rc=$?
printf '%s\n' "$lintian_out" | grep -v '^running with root privileges' | sed 's/^/  /'
assert_eq "lintian reports no errors" 0 "$lintian_rc"

echo "== dpkg -i"
installed=1
if ! dpkg -i "$deb" >"$TMP/install.log" 2>&1; then
  cat "$TMP/install.log"
  fail "dpkg -i installs the package (its Depends come from scripts/install-deps.sh)"
  finish
  exit 1
fi
assert_eq "dpkg knows the package as installed" "install ok installed" "$(dpkg-query -W -f='${Status}' privox)"
assert_eq "privox --version from the package" "$version" "$(/usr/bin/privox --version 2>&1)"
assert_eq "the packaged binary finds every library it links" "" "$(ldd /usr/bin/privox | grep 'not found')"
assert_match "privox is a system user whose home is the data directory" "$(getent passwd privox)" \
  '^privox:x:[0-9]+:[0-9]+:[^:]*:/var/lib/privox:/usr/sbin/nologin$'
uid=$(id -u privox)
assert_true "privox's uid is a system one (under 1000)" test "$uid" -lt 1000
assert_eq "/var/lib/privox belongs to privox alone" "privox:privox 700" "$(stat -c '%U:%G %a' /var/lib/privox)"
assert_eq "/etc/privox/privox.toml is a registered conffile" " /etc/privox/privox.toml" \
  "$(dpkg-query -W -f='${Conffiles}' privox | awk 'NF { print " " $1 }')"
assert_eq "the configuration is root's, readable by privox only" "root:privox 640" \
  "$(stat -c '%U:%G %a' /etc/privox/privox.toml)"
if /usr/bin/privox config --help >/dev/null 2>&1; then
  assert_true "the packaged configuration passes privox config check (as privox)" \
    runuser -u privox -- /usr/bin/privox config check /etc/privox/privox.toml
fi
page=$(zcat /usr/share/man/man1/privox-serve.1.gz)
assert_contains "privox-serve(1) is made from serve --help" "$page" 'media\-relay'
assert_contains "privox(1) points at the verbs' pages" "$(zcat /usr/share/man/man1/privox.1.gz)" "privox-serve(1)"

echo "== privox init as the service user"
as_privox() { runuser -u privox -- "$@"; }
assert_true "privox init --data-dir /var/lib/privox as privox" as_privox /usr/bin/privox init --data-dir /var/lib/privox
assert_eq "the master key belongs to privox, mode 0600" "privox 600" "$(stat -c '%U %a' /var/lib/privox/master.key 2>&1)"
assert_eq "the store belongs to privox" "privox" "$(stat -c '%U' /var/lib/privox/privox.db 2>&1)"
assert_contains "the store answers the service user (settings list)" \
  "$(as_privox /usr/bin/privox settings list --data-dir /var/lib/privox 2>&1)" "retention.dispute_period_days"
assert_true "init again is a no-op (the unit's ExecStartPre runs it at every start)" \
  as_privox /usr/bin/privox init --data-dir /var/lib/privox

echo "== the unit"
unit=/lib/systemd/system/privox.service
for line in "User=privox" "Environment=PRIVOX_CONFIG=/etc/privox/privox.toml" \
  "Environment=PRIVOX_DATA_DIR=/var/lib/privox" "StateDirectory=privox" "ProtectSystem=strict" "ProtectHome=yes" \
  "NoNewPrivileges=yes" "PrivateTmp=yes" "Restart=on-failure" "After=network-online.target rtpengine-daemon.service"; do
  assert_true "the unit has $line" grep -qxF "$line" "$unit"
done
assert_true "the relay's unit it orders after is installed (rtpengine-daemon)" test -f /lib/systemd/system/rtpengine-daemon.service
if command -v systemd-analyze >/dev/null; then
  # Offline: checks the syntax, the directives, that the programs exist and, where man is
  # installed, that the Documentation= pages open; starts nothing.
  man_check=()
  command -v man >/dev/null || man_check=(--man=no)
  verify=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "${man_check[@]}" "$unit" 2>&1)
  verify_rc=$?
  assert_eq "systemd-analyze verify privox.service: exit status and output" "0 " "$verify_rc $verify"
else
  echo "  (systemd-analyze is not installed: the unit's syntax is not verified)"
fi

echo "== the unit's commands, by hand (systemd may not run here)"
# Its environment, ExecStartPre and ExecStart as the unit gives them, run as privox with the
# packaged configuration; only the listen addresses are added, free ones, since other tests run
# beside this one, and voicemail is off so that its media ports are not taken either.
unit_value() { sed -n "s/^$1=//p" "$unit"; }
mapfile -t unit_env < <(unit_value Environment)
read -r -a start_pre <<<"$(unit_value ExecStartPre)"
read -r -a start <<<"$(unit_value ExecStart)"
assert_true "ExecStartPre as privox: ${start_pre[*]}" as_privox env "${unit_env[@]}" "${start_pre[@]}"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
sip_port=$(free_port)
# setpriv execs (runuser would stay between, and not pass SIGTERM on), so $! is serve itself; a
# clean environment, as systemd gives.
setpriv --reuid=privox --regid=privox --init-groups env -i PATH=/usr/bin:/bin "${unit_env[@]}" \
  "${start[@]}" --http "127.0.0.1:$http_port" --sip "127.0.0.1:$sip_port" --voicemail false \
  >"$TMP/serve.log" 2>&1 &
serve_pid=$!
health=""
for _ in $(seq 100); do
  health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/healthz" 2>/dev/null)
  [ "$health" = 000 ] || [ -z "$health" ] || break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.2
done
# 200, or 503 while no relay answers: either way serve is up on the packaged configuration.
assert_match "ExecStart as privox serves the portal (/healthz answers)" "$health" '^(200|503)$'
# ExecReload's signal: serve rereads the configuration and carries on.
read -r -a reload <<<"$(unit_value ExecReload)"
assert_eq "ExecReload sends SIGHUP to the main process" "/bin/kill -HUP \$MAINPID" "${reload[*]}"
kill -HUP "$serve_pid" 2>/dev/null
sleep 0.5
assert_match "after SIGHUP serve still answers /healthz" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/healthz" 2>/dev/null)" '^(200|503)$'
kill -TERM "$serve_pid" 2>/dev/null
wait "$serve_pid"
serve_rc=$?
serve_pid=""
assert_eq "serve stops cleanly on SIGTERM (as systemctl stop asks)" 0 "$serve_rc"
[ "$health" = 200 ] || [ "$health" = 503 ] && [ "$serve_rc" -eq 0 ] || sed 's/^/  serve: /' "$TMP/serve.log" | tail -n 20

echo "== dpkg -r"
assert_true "dpkg -r privox" dpkg -r privox
assert_true "the binary is gone" test ! -e /usr/bin/privox
assert_true "the unit is gone" test ! -e "$unit"
assert_true "the man pages are gone" test ! -e /usr/share/man/man1/privox.1.gz
assert_true "remove keeps the configuration" test -f /etc/privox/privox.toml
assert_true "remove keeps the data" test -f /var/lib/privox/master.key

echo "== dpkg --purge"
assert_true "dpkg --purge privox" dpkg --purge privox
installed=0
assert_eq "dpkg no longer knows the package" "not-installed" "$(dpkg-query -W -f='${db:Status-Status}' privox 2>/dev/null || echo not-installed)"
left=()
while read -r path; do
  path=${path#.}
  [ "$path" = / ] && continue
  # Shared directories (/usr/bin, /etc, ...) stay; everything privox's own must be gone.
  if [ -d "$path" ] && [[ "$path" != */privox* ]]; then continue; fi
  [ -e "$path" ] && left+=("$path")
done < <(dpkg-deb --fsys-tarfile "$deb" | tar -tf -)
for path in /etc/privox /var/lib/privox /usr/share/doc/privox; do
  [ -e "$path" ] && left+=("$path")
done
assert_eq "purge leaves none of the package's files, its configuration or its data" "" "${left[*]}"
assert_eq "purge removes the configuration's statoverride" "" "$(dpkg-statoverride --list /etc/privox/privox.toml)"
assert_false "purge removes the privox user" getent passwd privox
assert_false "purge removes the privox group" getent group privox
assert_eq "purge leaves no systemd state for the unit" "" \
  "$(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name 'privox*' 2>/dev/null)"
finish
