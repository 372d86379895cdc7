#!/usr/bin/env bash
# What the Debian package carries beyond the build: man pages made from the binary's own --help
# by help2man (privox(1), and privox-VERB(1) for every verb that `privox --help` lists), and the
# gzipped changelog Debian asks of a native package. Run by the install rules in CMakeLists.txt,
# so CPack packs what the packaged binary says of itself.
#   ops/debian/generate.sh PRIVOX VERSION OUT_DIR     -> OUT_DIR/man/*.1.gz, OUT_DIR/changelog.gz
set -euo pipefail
privox=${1:?usage: generate.sh PRIVOX VERSION OUT_DIR}
version=${2:?usage: generate.sh PRIVOX VERSION OUT_DIR}
out=${3:?usage: generate.sh PRIVOX VERSION OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
command -v help2man >/dev/null || { echo "generate.sh: help2man is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
privox=$(realpath "$privox")
[ -x "$privox" ] || { echo "generate.sh: $privox is not an executable" >&2; exit 1; }

rm -rf "$out/man" "$out/bin"
mkdir -p "$out/man" "$out/bin"
# help2man names the page after the program it runs; one wrapper per verb, and argv[0] "privox" so
# that the usage lines say `privox serve`, not the build directory's path.
wrapper() {  # NAME ARGS...
  local name=$1
  shift
  printf '#!/usr/bin/env bash\nexec -a privox %q %s "$@"\n' "$privox" "$*" >"$out/bin/$name"
  chmod +x "$out/bin/$name"
}
page() {  # NAME DESCRIPTION
  help2man --no-info --no-discard-stderr --version-string="$version" --name="$2" \
    --include="$here/man-common.h2m" --output="$out/man/$1.1" "$out/bin/$1"
  gzip -9nf "$out/man/$1.1"
}

wrapper privox
# The verbs and their one-line descriptions, from the "Subcommands:" list of `privox --help`.
verbs=$("$out/bin/privox" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print } on && /^$/ { on = 0 }')
[ -n "$verbs" ] || { echo "generate.sh: \`privox --help\` lists no verbs" >&2; exit 1; }
see_also=()
while read -r verb description; do
  wrapper "privox-$verb" "$verb"
  page "privox-$verb" "privox $verb: ${description,}"
  see_also+=("privox-$verb(1)")
done <<<"$verbs"
page privox "hosted business telephony whose data handling follows its privacy policy by construction"
# privox(1) lists the verbs' own pages.
gunzip -f "$out/man/privox.1.gz"
{ printf '.SH "SEE ALSO"\n'; (IFS=,; printf '%s\n' "${see_also[*]}" | sed 's/,/, /g'); } >>"$out/man/privox.1"
gzip -9nf "$out/man/privox.1"
rm -rf "$out/bin"

sed "s/@VERSION@/$version/" "$here/changelog.in" | gzip -9n >"$out/changelog.gz"
