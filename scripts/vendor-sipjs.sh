#!/usr/bin/env bash
# Refreshes web/vendor/sip.js/ from npm: SIP.js (MIT), the SIP-over-WebSocket library the portal's
# softphone runs on (web/js/softphone.js). It ships as native ES modules, so the portal serves its
# files as they are, with no build step; only the .js files and the licence are kept.
#   scripts/vendor-sipjs.sh [VERSION]     (default: the version pinned below)
set -euo pipefail
version="${1:-0.21.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "sip.js@$version" >/dev/null && tar xzf "sip.js-$version.tgz")
dest="$root/web/vendor/sip.js"
rm -rf "$dest"
mkdir -p "$dest"
(cd "$work/package/lib" && find . -name '*.js' -print0 | xargs -0 -I{} install -D -m 0644 {} "$dest/{}")
cp "$work/package/LICENSE.md" "$dest/LICENSE.md"
echo "sip.js $version from npm; only lib/*.js and the licence. Refresh with scripts/vendor-sipjs.sh." > "$dest/VERSION.txt"
echo "web/vendor/sip.js: sip.js $version, $(find "$dest" -name '*.js' | wc -l) modules"
