#!/usr/bin/env bash
# `make run`: privox on the embedded default, with the local payment tokenizer beside it.
# The tokenizer stands in for the third-party card provider: the sign-up page sends card details
# to it directly and privox only ever sees the token (DESIGN.md P3).
# Unless the operator pointed mail.smtp_url at a relay of their own, it also starts the development
# mail catcher (scripts/mail-catcher.py): privox's email lands in DATA_DIR/mail, readable at
# http://MAIL_WEB/, so sign-up links and request codes can be followed with no relay at all.
#
#   scripts/run.sh PRIVOX DATA_DIR HTTP_HOST:PORT [TOKENIZER_HOST:PORT] [MAIL_SMTP_HOST:PORT] [MAIL_WEB_HOST:PORT]
# SIP_LISTEN (default 127.0.0.1:5060) is where privox takes SIP. Every call's media goes through
# rtpengine, started here in userspace forwarding (no kernel module): its ng control on
# MEDIA_RELAY_NG (default 127.0.0.1:2223), media on MEDIA_ADDRESS (127.0.0.1) ports MEDIA_PORTS
# (30000-39999), its log in DATA_DIR/rtpengine.log.
set -euo pipefail
privox=$1
data_dir=$2
http=$3
tokenizer=${4:-127.0.0.1:8081}
mail_smtp=${5:-127.0.0.1:2525}
mail_web=${6:-127.0.0.1:8025}
sip=${SIP_LISTEN:-127.0.0.1:5060}
media_ng=${MEDIA_RELAY_NG:-127.0.0.1:2223}
media_address=${MEDIA_ADDRESS:-127.0.0.1}
media_ports=${MEDIA_PORTS:-30000-39999}
here=$(cd "$(dirname "$0")" && pwd)

"$privox" init --data-dir "$data_dir"
key_file="$data_dir/tokenizer.key"
if [ ! -s "$key_file" ]; then
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_file")
fi

helpers=()
stop_helpers() {
  for p in "${helpers[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_helpers EXIT

"$privox" tokenizer --listen "$tokenizer" --allow-origin "http://$http" --api-key-file "$key_file" &
helpers+=($!)

# The media relay. --foreground with stderr to a file: its own daemon mode logs to syslog only.
# --config-file=none: Debian's /etc/rtpengine/rtpengine.conf would add HTTP, CLI and recording
# listeners of its own. --log-level=3 (errors): from notices up, rtpengine names each call by its
# Call-ID, which often holds a phone's address, and privox keeps personal data out of its logs.
rtpengine --config-file=none --foreground --table=-1 --interface="$media_address" --listen-ng="$media_ng" \
  --port-min="${media_ports%-*}" --port-max="${media_ports#*-}" --log-stderr --log-level=3 \
  </dev/null >>"$data_dir/rtpengine.log" 2>&1 &
helpers+=($!)
# It fails at once when its ports are taken (another rtpengine, say): say so rather than start a
# node whose every call would get 503.
sleep 0.3
if ! kill -0 "${helpers[-1]}" 2>/dev/null; then
  echo "run.sh: rtpengine did not start (ng $media_ng, media $media_address:$media_ports); its log:" >&2
  tail -n 5 "$data_dir/rtpengine.log" >&2
  echo "run.sh: set MEDIA_RELAY_NG and MEDIA_PORTS to free ones" >&2
  exit 1
fi

# The relay privox uses: the catcher while mail.smtp_url is the default (the machine's own MTA,
# which a fresh machine lacks) or the catcher's own; whatever else the operator set is left alone.
setting() { "$privox" settings list --data-dir "$data_dir" | awk -v k="$1" '$1 == k { print $2 }'; }
smtp_url=$(setting mail.smtp_url)
mail_where="through $smtp_url (mail.smtp_url)"
if [ "$smtp_url" = "smtp://127.0.0.1:25" ] || [ "$smtp_url" = "smtp://$mail_smtp" ]; then
  /usr/bin/python3 "$here/mail-catcher.py" --maildir "$data_dir/mail" --smtp "$mail_smtp" --web "$mail_web" &
  helpers+=($!)
  if [ "$smtp_url" != "smtp://$mail_smtp" ]; then
    "$privox" settings set --data-dir "$data_dir" mail.smtp_url "smtp://$mail_smtp" >/dev/null
  fi
  mail_where="to the development mail catcher, http://$mail_web/ (nothing is delivered; README, \"Mail\")"
fi
# Links in email point at portal.public_url: at this portal, unless the operator set another.
public_url=$(setting portal.public_url)
if [ "$public_url" = "http://127.0.0.1:8080" ] && [ "$http" != "127.0.0.1:8080" ]; then
  "$privox" settings set --data-dir "$data_dir" portal.public_url "http://$http" >/dev/null
elif [ "$public_url" != "http://$http" ]; then
  echo "run.sh: links in email point at $public_url (portal.public_url), not at http://$http" >&2
fi

# The privacy notice names the data controller: flag placeholders until the operator sets them.
controller_name=$(setting controller.name)
controller_email=$(setting controller.email)
if [ -z "$controller_name" ] || [ "$controller_email" = "privacy@localhost" ]; then
  cat >&2 <<EOF
NOTE: the privacy notice does not yet name a real data controller (controller.name is
  "${controller_name:-unset}", controller.email is $controller_email). Before anyone signs up for real:
    $privox settings set --data-dir $data_dir controller.name "Your Company Ltd"
    $privox settings set --data-dir $data_dir controller.email privacy@your-domain.example
  (also controller.address and controller.phone). Until then the notice shows them as
  "not yet set", with a warning.
EOF
fi

cat >&2 <<EOF
privox, data in $data_dir:
  portal  http://$http/ shows the plan and signs up a company and its office manager
  phones  SIP on $sip (UDP and TCP); the portal's Extensions page gives each line's login
  media   every call's audio through rtpengine (ng $media_ng, ports $media_address:$media_ports)
  email   $mail_where
  cards   go to the stand-in payment provider on http://$tokenizer, never to privox
EOF

"$privox" serve --data-dir "$data_dir" --http "$http" --sip "$sip" --media-relay "$media_ng" \
  --payment-provider "http://$tokenizer" --payment-api-key-file "$key_file" &
serve_pid=$!
# SIGTERM or Ctrl-C stops serve cleanly; then the EXIT trap stops the helpers. A stop someone
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
