#!/usr/bin/env bash
# Phones behind NAT (issue 16), with a real masquerading router: two network namespaces, a "home"
# with the phones on 10.N.0.0/24 and a "router" that forwards them to this machine's side
# (198.18.N.0/24) with iptables MASQUERADE, as a home router does. privox and rtpengine listen on
# 198.18.N.1; a caller's baresip is on this machine.
#   1. A baresip behind the NAT registers over UDP with SIP Outbound (RFC 5626: reg-id,
#      +sip.instance): privox answers Require: outbound with Flow-Timer (5 s here), which is what
#      makes the phone send its STUN keep-alives to the SIP port, and privox answers them.
#   2. Another registers over TCP with SIP Outbound (its keep-alives are double CRLFs on the
#      connection, answered since issue 16's first part).
#   3. The caller rings each: they answer, and rtpengine's own query shows packets both ways.
#      Nothing of privox's or the relay's ever goes to a private 10.N address: the router's side
#      of this machine counts every packet sent towards 10.N.0.0/24, and that count stays 0.
#   4. The router's mappings are flushed (conntrack -F); once keep-alives have made them again
#      (over UDP the STUN keep-alives; over TCP the keep-alive finds the connection reset and the
#      phone registers a new flow), both phones receive calls as before, with media both ways.
# Root only (network namespaces, iptables); names and addresses carry N, so runs do not collide.
# Usage: bash src/sip/nat_e2e.sh PRIVOX sqlite
# e2e-backends: sqlite

set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../../scripts/test-lib.sh"
source "$HERE/../../scripts/e2e-lib.sh"

# A machine that cannot make network namespaces (not root, or a container without CAP_SYS_ADMIN)
# cannot run this test at all: it says so and exits 77, which ctest reports as skipped, not passed.
[ "$(id -u)" -eq 0 ] || { echo "$0: skipped: needs root (network namespaces, iptables)" >&2; exit 77; }
for tool in ip iptables conntrack rtpengine baresip curl python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (make test-deps)" >&2; exit 2; }
done

N=$((20 + RANDOM % 200))
HOME_NS=pxhome$N ROUTER_NS=pxrouter$N OUTSIDE=pxnat$N
PUBLIC=198.18.$N.1 ROUTER_PUBLIC=198.18.$N.2 PRIVATE_NET=10.$N.0.0/24
E2E_UNDO+=("ip netns del $HOME_NS" "ip netns del $ROUTER_NS" "ip link del $OUTSIDE"
  "iptables -D OUTPUT -d $PRIVATE_NET -m comment --comment privox-nat-$N -j DROP")
ip netns add "$HOME_NS" 2>"$TMP/netns.err" ||
  { echo "$0: skipped: this machine cannot make a network namespace: $(cat "$TMP/netns.err")" >&2; exit 77; }
ip netns add "$ROUTER_NS" &&
  ip link add h0 netns "$HOME_NS" type veth peer name r0 netns "$ROUTER_NS" &&
  ip link add "$OUTSIDE" type veth peer name r1 netns "$ROUTER_NS" &&
  ip -n "$HOME_NS" addr add "10.$N.0.2/24" dev h0 && ip -n "$HOME_NS" link set h0 up &&
  ip -n "$HOME_NS" link set lo up && ip -n "$HOME_NS" route add default via "10.$N.0.1" &&
  ip -n "$ROUTER_NS" addr add "10.$N.0.1/24" dev r0 && ip -n "$ROUTER_NS" link set r0 up &&
  ip -n "$ROUTER_NS" addr add "$ROUTER_PUBLIC/24" dev r1 && ip -n "$ROUTER_NS" link set r1 up &&
  ip netns exec "$ROUTER_NS" sysctl -qw net.ipv4.ip_forward=1 &&
  ip netns exec "$ROUTER_NS" iptables -t nat -A POSTROUTING -o r1 -j MASQUERADE &&
  ip addr add "$PUBLIC/24" dev "$OUTSIDE" && ip link set "$OUTSIDE" up ||
  fail "the namespaces, the router and its masquerade are set up"
# Every packet this machine sends towards the private network, counted (and dropped: it has no
# route there but its default one, which would carry it off this machine).
iptables -I OUTPUT -d "$PRIVATE_NET" -m comment --comment "privox-nat-$N" -j DROP ||
  fail "a counting rule for packets towards the private network"
sent_private() { iptables -L OUTPUT -v -x -n | awk -v c="privox-nat-$N" '$0 ~ c { print $1 }'; }

D=$TMP/data
new_data_dir "$D"
SIP_PORT=$(free_port)
NG_PORT=$(free_port)
METRICS_PORT=$(free_port)
MEDIA_MIN=$((20000 + (RANDOM % 90) * 100))
CO=$(px "$D" company add --name "Behind Ltd" --region eea)
declare -A USER=() PASSWORD=([201]='Alder-brook-21x' [202]='Beech-hill-22x' [203]='Cedar-dale-23x')
for n in 201 202 203; do
  px "$D" extension add --company "$CO" --number "$n" --password "${PASSWORD[$n]}" >/dev/null || fail "extension $n"
  USER[$n]=$(store_sql "$D" "SELECT sip_user FROM extensions WHERE number = '$n' AND company_id = '$CO'")
done
personal "${USER[@]}" "${PASSWORD[@]}"
px "$D" settings set sip.rate_limit_requests 0 >/dev/null &&
  px "$D" settings set sip.outbound_keepalive_seconds 5 >/dev/null || fail "settings set"

rtpengine --config-file=none --foreground --table=-1 --interface="$PUBLIC" --listen-ng="127.0.0.1:$NG_PORT" \
  --port-min="$MEDIA_MIN" --port-max=$((MEDIA_MIN + 99)) --num-threads=1 --log-stderr --log-level=5 \
  >>"$TMP/rtpengine.log" 2>&1 &
E2E_PIDS+=("$!")
start_bg serve "$PRIVOX" serve $(store_args "$D") --http 127.0.0.1:0 --sip "$PUBLIC:$SIP_PORT" \
  --media-relay "127.0.0.1:$NG_PORT" --metrics "127.0.0.1:$METRICS_PORT" --voicemail false --ring-timeout 15
for _ in $(seq 150); do grep -q '"event":"service.started"' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done

# phone NUMBER NAMESPACE ADDRESS TRANSPORT [PARAMS]: a baresip for the line in NAMESPACE ("" for
# this machine's own), on ADDRESS, registering over TRANSPORT; behind the NAT with SIP Outbound
# (baresip needs its uuid module, loaded before the accounts, for +sip.instance).
phone() {
  local n=$1 ns=$2 address=$3 transport=$4 params=${5:-} dir=$TMP/p$1 fd
  baresip_phone "$dir" "$SIP_PORT" "$(free_port)" "${USER[$n]}" "${PASSWORD[$n]}" "$params" 20
  sed -i "s|^sip_listen .*|sip_listen    $address:$(free_port)|; s|@127.0.0.1:$SIP_PORT>|@$PUBLIC:$SIP_PORT;transport=$transport>|" \
    "$dir/config" "$dir/accounts"
  if [ -n "$ns" ]; then
    sed -i 's|^module        account.so|module_tmp    uuid.so\nmodule_app    account.so|' "$dir/config"
    sed -i "s|\$|;sipnat=outbound;outbound=\"sip:$PUBLIC:$SIP_PORT;transport=$transport\"|" "$dir/accounts"
  fi
  mkfifo "$dir.in"
  if [ -n "$ns" ]; then
    timeout 300 ip netns exec "$ns" baresip -f "$dir" <"$dir.in" >"$dir.log" 2>&1 &
  else
    timeout 300 baresip -f "$dir" <"$dir.in" >"$dir.log" 2>&1 &
  fi
  PID[$n]=$!
  E2E_PIDS+=("$!")
  exec {fd}>"$dir.in"
  FD[$n]=$fd
}
phone 201 "$HOME_NS" "10.$N.0.2" udp ";answermode=auto"
phone 202 "$HOME_NS" "10.$N.0.2" tcp ";answermode=auto"
phone 203 "" "$PUBLIC" udp
for n in 201 202 203; do
  assert_true "$n's baresip registers" wait_seen "$n" '200 OK.*\[[0-9]* binding'
done

metric() { curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# wait_keepalives N: until privox has answered N STUN keep-alives in all (20 s at most).
wait_keepalives() {
  for _ in $(seq 200); do [ "$(metric privox_sip_stun_keepalives_total | cut -d. -f1)" -ge "$1" ] 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
assert_true "the UDP phone behind the NAT sends STUN keep-alives and privox answers them" wait_keepalives 2

# relayed_both_ways: rtpengine's own count, for the call it relays now, of the packets each side
# sent it: true when every side sent at least 20.
relayed_both_ways() {
  python3 - "$NG_PORT" <<'PY'
import socket, sys, os

def bencode(v):
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(x) for k, x in v.items()) + b"e"
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, int):
        return b"i%de" % v
    v = v.encode() if isinstance(v, str) else v
    return b"%d:%s" % (len(v), v)

def bdecode(b, i=0):
    c = b[i:i + 1]
    if c == b"d" or c == b"l":
        i += 1
        out = {} if c == b"d" else []
        while b[i:i + 1] != b"e":
            if c == b"d":
                k, i = bdecode(b, i)
                out[k.decode()], i = bdecode(b, i)
            else:
                x, i = bdecode(b, i)
                out.append(x)
        return out, i + 1
    if c == b"i":
        e = b.index(b"e", i)
        return int(b[i + 1:e]), e + 1
    colon = b.index(b":", i)
    n = int(b[i:colon])
    return b[colon + 1:colon + 1 + n], colon + 1 + n

def ng(command):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    cookie = os.urandom(4).hex().encode()
    s.sendto(cookie + b" " + bencode(command), ("127.0.0.1", int(sys.argv[1])))
    data = s.recv(65535)
    return bdecode(data[data.index(b" ") + 1:])[0]

calls = ng({"command": "list"}).get("calls", [])
for call_id in calls:
    tags = ng({"command": "query", "call-id": call_id}).get("tags", {})
    sent = []
    for tag in tags.values():
        sent.append(sum(s.get("stats", {}).get("packets", 0)
                        for m in tag.get("medias", []) for s in m.get("streams", [])))
    print(f"call: packets from each side {sent}", file=sys.stderr)
    if len(sent) >= 2 and min(sent) >= 20:
        sys.exit(0)
sys.exit(1)
PY
}
wait_relayed() { for _ in $(seq 50); do relayed_both_ways 2>>"$TMP/relayed.log" && return 0; sleep 0.2; done; return 1; }

# call_through_nat NUMBER WHAT: 203 calls the phone behind the NAT, which answers; media flows both
# ways through rtpengine; 203 hangs up.
call_through_nat() {
  local n=$1 what=$2
  MARK[203]=$(wc -l <"$TMP/p203.log")
  MARK[$n]=$(wc -l <"$TMP/p$n.log")
  cmd 203 "/dial sip:$n@$PUBLIC:$SIP_PORT"
  assert_true "$what: $n answers" wait_seen "$n" 'Call established'
  assert_true "$what: 203 hears the answer" wait_seen 203 'Call established'
  assert_true "$what: rtpengine relays media both ways" wait_relayed
  cmd 203 "/hangup"
  assert_true "$what: the call ends at $n too" wait_seen "$n" 'terminated\|closed'
  sleep 0.5
}
call_through_nat 201 "UDP behind NAT"
call_through_nat 202 "TCP behind NAT"
assert_eq "nothing was sent towards the phones' private addresses" 0 "$(sent_private)"

before=$(metric privox_sip_stun_keepalives_total | cut -d. -f1)
MARK[202]=$(wc -l <"$TMP/p202.log")
assert_true "the router's mappings are flushed" ip netns exec "$ROUTER_NS" conntrack -F
assert_true "the UDP phone's keep-alives go on after the flush" wait_keepalives $((before + 2))
call_through_nat 201 "UDP after the flush"
# A TCP connection whose mapping is gone is reset at the next keep-alive (the router has no
# translation for it); the phone then registers a new flow (RFC 5626 §4.4.1), which privox rings.
if wait_seen 202 'Connection reset\|Broken pipe' 1 100; then
  assert_true "the TCP phone registers a new flow once its keep-alive finds the old one gone" \
    wait_seen 202 '200 OK.*binding' 1 450
fi
call_through_nat 202 "TCP after the flush"
assert_eq "nothing was sent towards the private addresses after the flush either" 0 "$(sent_private)"

finish
