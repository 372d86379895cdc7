#!/usr/bin/env bash
# `make run`: privox on the embedded default, with the local payment tokenizer beside it.
# The tokenizer stands in for the third-party card provider: the sign-up page sends card details
# to it directly and privox only ever sees the token (DESIGN.md P3).
#
#   scripts/run.sh PRIVOX DATA_DIR HTTP_HOST:PORT [TOKENIZER_HOST:PORT]
set -euo pipefail
privox=$1
data_dir=$2
http=$3
tokenizer=${4:-127.0.0.1:8081}

"$privox" init --data-dir "$data_dir"
key_file="$data_dir/tokenizer.key"
if [ ! -s "$key_file" ]; then
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_file")
fi

"$privox" tokenizer --listen "$tokenizer" --allow-origin "http://$http" --api-key-file "$key_file" &
tokenizer_pid=$!
trap 'kill "$tokenizer_pid" 2>/dev/null; wait "$tokenizer_pid" 2>/dev/null' EXIT

"$privox" serve --data-dir "$data_dir" --http "$http" \
  --payment-provider "http://$tokenizer" --payment-api-key-file "$key_file" &
serve_pid=$!
# SIGTERM or Ctrl-C stops serve cleanly; then the EXIT trap stops the tokenizer. A stop someone
# asked for is a normal end, so the script (and `make run` above it) exits 0 then.
stop_requested=0
trap 'stop_requested=1; kill -TERM "$serve_pid" 2>/dev/null' INT TERM
# A signal interrupts `wait` (status > 128) while serve is still shutting down: wait again for
# serve's own exit status.
set +e
while true; do
  wait "$serve_pid"
  status=$?
  kill -0 "$serve_pid" 2>/dev/null || break
done
if [ "$stop_requested" -eq 1 ] && { [ "$status" -eq 0 ] || [ "$status" -gt 128 ]; }; then
  echo "privox stopped." >&2
  exit 0
fi
exit "$status"
