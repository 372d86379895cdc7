#!/usr/bin/env bash
# A real SMTP server on loopback for the tests: Debian's aiosmtpd, delivering every message it
# accepts into a Maildir, so a test reads exactly what privox sent.
#
#   scripts/test-smtp.sh start DIR   start it; DIR/url holds smtp://127.0.0.1:PORT, DIR/maildir/new the mail
#   scripts/test-smtp.sh stop DIR    stop it
set -euo pipefail

die() { echo "test-smtp: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 start|stop DIR"
cmd=$1
dir=$2
python=/usr/bin/python3  # Debian's, which has python3-aiosmtpd; not whatever python is first on PATH

free_port() {
  "$python" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    "$python" -c 'import aiosmtpd' 2>/dev/null || die "python3-aiosmtpd is not installed (scripts/install-test-deps.sh)"
    mkdir -p "$dir/maildir/tmp" "$dir/maildir/new" "$dir/maildir/cur"
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then exit 0; fi
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      setsid "$python" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$dir/maildir" \
        >"$dir/log" 2>&1 </dev/null &
      echo $! >"$dir/pid"
      for _ in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
          echo "smtp://127.0.0.1:$port" >"$dir/url"
          exit 0
        fi
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
        sleep 0.1
      done
      kill "$(cat "$dir/pid")" 2>/dev/null || true
    done
    cat "$dir/log" >&2 || true
    die "the SMTP server did not start"
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      kill "$(cat "$dir/pid")" 2>/dev/null || true
      rm -f "$dir/pid"
    fi
    ;;
  *) die "unknown command $cmd" ;;
esac
