#!/usr/bin/env bash
# Builds one of privox's libFuzzer targets with clang and runs it for a bounded time over its seed
# corpus (in a scratch copy, so the committed corpus stays small). Exit 0 when no crash, leak or
# undefined behaviour was found.
#   scripts/fuzz.sh TARGET BUILD_DIR [SECONDS]
# Targets: sip (the SIP parser), json (every JSON entry point), bencode (rtpengine's ng replies),
# stun (the STUN Binding requests phones send to the SIP port as keep-alives),
# rtp (RTP, telephone-events and the jitter buffer), sdp (the offers the media endpoint answers),
# deck (the rate decks operators import).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fuzz.sh TARGET BUILD_DIR [SECONDS]}
out=${2:?usage: fuzz.sh TARGET BUILD_DIR [SECONDS]}
seconds=${3:-30}

case "$target" in
  sip)  sources=(sip/message.cpp sip/message_fuzz.cpp); libs=(); corpus_dir=sip/fuzz_corpus
        dict=(-dict="$root/src/sip/message_fuzz.dict") ;;
  json) sources=(common/json.cpp common/json_fuzz.cpp); libs=(-lfmt); corpus_dir=common/json_fuzz_corpus
        dict=(-dict="$root/src/common/json_fuzz.dict") ;;
  bencode) sources=(sip/bencode.cpp sip/bencode_fuzz.cpp); libs=(); corpus_dir=sip/bencode_fuzz_corpus; dict=() ;;
  stun) sources=(sip/stun.cpp sip/transport.cpp sip/stun_fuzz.cpp); libs=(-lfmt); corpus_dir=sip/stun_fuzz_corpus
        dict=() ;;
  rtp) sources=(media/rtp.cpp media/jitter_buffer.cpp media/rtp_fuzz.cpp); libs=(); corpus_dir=media/rtp_fuzz_corpus
       dict=() ;;
  sdp) sources=(media/sdp.cpp media/sdp_fuzz.cpp); libs=(-lfmt); corpus_dir=media/sdp_fuzz_corpus; dict=() ;;
  deck) sources=(rating/deck.cpp common/clock.cpp common/money.cpp rating/deck_fuzz.cpp); libs=(-lfmt)
        corpus_dir=rating/deck_fuzz_corpus; dict=() ;;
  *) echo "fuzz.sh: unknown target '$target' (sip, json, bencode, stun, rtp, sdp, deck)" >&2; exit 2 ;;
esac

mkdir -p "$out"
binary="$out/${target}_fuzz"
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$root/src" \
  "${sources[@]/#/$root/src/}" "${libs[@]}" -o "$binary"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp "$root/src/$corpus_dir/"* "$corpus/"
"$binary" -max_total_time="$seconds" "${dict[@]}" -print_final_stats=1 \
  -artifact_prefix="$out/${target}-" "$corpus" 2>&1 | tail -n 12
