#!/usr/bin/env bash
# Builds the SIP parser's libFuzzer target with clang and runs it for a bounded time over the seed
# corpus (in a scratch copy, so the committed corpus stays small). Exit 0 when no crash, leak or
# undefined behaviour was found.
#   scripts/fuzz-sip.sh BUILD_DIR [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: fuzz-sip.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
mkdir -p "$out"
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$root/src" \
  "$root/src/sip/message.cpp" "$root/src/sip/message_fuzz.cpp" -o "$out/sip_message_fuzz"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp "$root/src/sip/fuzz_corpus/"* "$corpus/"
"$out/sip_message_fuzz" -max_total_time="$seconds" -dict="$root/src/sip/message_fuzz.dict" -print_final_stats=1 \
  -artifact_prefix="$out/" "$corpus" 2>&1 | tail -n 12
