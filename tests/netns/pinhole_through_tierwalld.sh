#!/usr/bin/env bash
# The pinhole attack of issue 10, with real TCP and UDP between two network
# namespaces bridged by tierwalld (same layout as curl_through_tierwalld.sh):
#
#   client-eth0 198.18.0.1 <-veth-> <P>-c ==tierwalld (bridge)== <P>-s <-veth-> server-eth0 198.18.0.2
#                                   port 0 "client-eth0"  port 1 "server-eth0"     http :8080 :9090, udp :9091
#
# Policy (tests/netns/policy): the client may reach TCP 8080 only. From the
# client's namespace, one frame claiming to be server:9090 -> client:40001 (a
# SYN-ACK; then a bare ACK for :40003, and a UDP datagram server:9091 ->
# client:40002) used to open an allowed flow whose "reply" direction then
# carried the client's own connection to :9090 (curl --local-port 40001 got
# HTTP 200) and its datagram to :9091. With the ports named after the
# endpoints' interfaceName (--port-name), tierwalld drops the spoofed frames
# (drops.spoofed_source) and the client's packets are judged for what they
# are: curl times out, the datagram never arrives. A second run with
# --source-check 0=off shows the other half: the spoofed SYN-ACK then opens
# its flow, but the client's SYN is judged as a new connection (denied).
#
# Usage: pinhole_through_tierwalld.sh TIERWALLD POLICY_DIR
# Exit: 0 pass, 1 fail, 77 skip. Run it under flock /tmp/tierwall-heavy.lock.
set -euo pipefail

readonly SKIP=77
log() { printf 'pinhole: %s\n' "$*" >&2; }
skip() {
  log "SKIP: $*"
  exit "$SKIP"
}
fail() {
  log "FAIL: $*"
  exit 1
}

if [ $# -ne 2 ]; then
  echo "usage: $0 TIERWALLD POLICY_DIR" >&2
  exit 2
fi
TIERWALLD=$1
POLICY_DIR=$2
[ -x "$TIERWALLD" ] || fail "tierwalld not executable: $TIERWALLD"
[ -d "$POLICY_DIR" ] || fail "policy dir not found: $POLICY_DIR"

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, af_packet)"
command -v ip >/dev/null || skip "iproute2 (ip) not installed"
ip netns list >/dev/null 2>&1 || skip "'ip netns' unavailable"
for tool in curl ethtool; do
  command -v "$tool" >/dev/null || skip "$tool not installed"
done
# Debian's interpreter: the python3 on PATH may be a different one (pyenv).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
[ -n "$PY" ] || skip "python3 not installed"

# Unique names so parallel runs never collide. Interface names stay <= 15 chars
# (twt + at most 7 pid digits + 2).
readonly P="twp$$"
readonly NS_C="${P}-client" NS_S="${P}-server"
readonly VC="${P}-c" VS="${P}-s"
readonly CLIENT_IP=198.18.0.1 SERVER_IP=198.18.0.2
readonly ALLOWED_PORT=8080 DENIED_PORT=9090 UDP_PORT=9091
# Ports named after the endpoints' interfaceName (tests/netns/policy/10-endpoints.yaml).
PORT_ARGS=(--port-name 0=client-eth0 --port-name 1=server-eth0)
readonly POLICY="netns-test/web.allow-http"
readonly CLIENT_PROFILE="__PROFILE__.kns.netns-test"
WORK=$(mktemp -d "/tmp/${P}.XXXXXX")
readonly WORK
readonly STATS="$WORK/stats.json" DAEMON_LOG="$WORK/tierwalld.log"

DAEMON_PID=""
SERVER_PIDS=()

# Stops a process we started: SIGTERM, then SIGKILL if it lingers.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$DAEMON_PID" ]; then
    stop_pid "$DAEMON_PID"
  fi
  for pid in "${SERVER_PIDS[@]}"; do
    stop_pid "$pid"
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne "$SKIP" ]; then
    [ -s "$DAEMON_LOG" ] && { log "tierwalld log (last 40 lines):"; tail -n 40 "$DAEMON_LOG" >&2; }
    [ -s "$STATS" ] && { log "stats json:"; cat "$STATS" >&2; }
  fi
  # Anything still running inside our (uniquely named) namespaces was started
  # by this script; stop it by pid before the namespaces go.
  for ns in "$NS_C" "$NS_S"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null
    done
  done
  # Deleting a namespace destroys its veth end and with it the peer; delete the
  # root-side ends explicitly too in case a namespace was never populated.
  ip link del "$VC" 2>/dev/null
  ip link del "$VS" 2>/dev/null
  ip netns del "$NS_C" 2>/dev/null
  ip netns del "$NS_S" 2>/dev/null
  rm -rf "/var/run/dpdk/$P"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_client() { ip netns exec "$NS_C" "$@"; }
in_server() { ip netns exec "$NS_S" "$@"; }

# ---------------------------------------------------------------------------
# Namespaces and veth pairs.
# ---------------------------------------------------------------------------
log "setting up $NS_C and $NS_S"
ip netns add "$NS_C"
ip netns add "$NS_S"
# Create each pair with its inner end already in the namespace, so the fixed
# inner names (client-eth0, server-eth0) never exist in the root namespace.
ip link add "$VC" type veth peer name client-eth0 netns "$NS_C"
ip link add "$VS" type veth peer name server-eth0 netns "$NS_S"

setup_ns_end() {
  local ns=$1 ifname=$2 addr=$3
  ip netns exec "$ns" ip link set lo up
  # IPv4 only: IPv6 link-local chatter (DAD, router solicitations) would be
  # judged (and denied, both ends unknown) and muddy the counters.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
  ip netns exec "$ns" ip addr add "$addr/24" dev "$ifname"
  # veth leaves TCP/UDP checksums to "hardware" that af_packet never applies;
  # compute them in software so what tierwalld forwards is valid on the wire.
  ip netns exec "$ns" ethtool -K "$ifname" tx off >/dev/null
  ip netns exec "$ns" ip link set "$ifname" up
}
setup_ns_end "$NS_C" client-eth0 "$CLIENT_IP"
setup_ns_end "$NS_S" server-eth0 "$SERVER_IP"

for v in "$VC" "$VS"; do
  sysctl -qw "net.ipv6.conf.$v.disable_ipv6=1" 2>/dev/null || true
  # No address: the root namespace must never route or answer for 198.18/15.
  ip link set "$v" promisc on
  ip link set "$v" up
done

# ---------------------------------------------------------------------------
# Servers: HTTP on 8080 and 9090, a UDP sink on 9091 that logs what arrives.
# ---------------------------------------------------------------------------
mkdir -p "$WORK/www"
echo "hello from the server namespace" >"$WORK/www/index.html"
for port in "$ALLOWED_PORT" "$DENIED_PORT"; do
  ip netns exec "$NS_S" "$PY" -m http.server "$port" --bind "$SERVER_IP" --directory "$WORK/www" \
    >"$WORK/http-$port.log" 2>&1 &
  SERVER_PIDS+=($!)
done
ip netns exec "$NS_S" "$PY" -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    print(peer[0], peer[1], data.decode(errors="replace"), flush=True)
' "$SERVER_IP" "$UDP_PORT" >"$WORK/udp.log" 2>&1 &
SERVER_PIDS+=($!)
for port in "$ALLOWED_PORT" "$DENIED_PORT"; do
  up=0
  for i in $(seq 50); do
    if in_server curl -s -o /dev/null -m 1 "http://$SERVER_IP:$port/"; then
      up=1
      break
    fi
    sleep 0.1
  done
  [ "$up" -eq 1 ] || fail "http.server on :$port did not come up: $(cat "$WORK/http-$port.log")"
done

# ---------------------------------------------------------------------------
# tierwalld: each port named after the interfaceName of the endpoint behind it.
# ---------------------------------------------------------------------------
start_daemon() {  # extra tierwalld options
  "$TIERWALLD" --no-huge -m 512 --no-pci --file-prefix "$P" -l 0,1 \
    "--vdev=net_af_packet0,iface=$VC" "--vdev=net_af_packet1,iface=$VS" \
    -- --forward bridge -f "$POLICY_DIR" --stats-json "$STATS" "${PORT_ARGS[@]}" "$@" \
    >"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
}
stop_daemon() {
  kill -TERM "$DAEMON_PID"
  for i in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=""
}
start_daemon

http_code() {  # PORT TIMEOUT [LOCAL_PORT]
  local extra=()
  [ -n "${3:-}" ] && extra=(--local-port "$3")
  in_client curl -s -o /dev/null -w '%{http_code}' -m "$2" "${extra[@]}" "http://$SERVER_IP:$1/"
}
wait_ready() {
  local ready=0 i
  for i in $(seq 20); do
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "tierwalld exited early: $(tail -5 "$DAEMON_LOG")"
    [ "$(http_code "$ALLOWED_PORT" 1 || true)" = "200" ] && { ready=1; break; }
    sleep 0.5
  done
  [ "$ready" -eq 1 ] || fail "no HTTP 200 from :$ALLOWED_PORT through tierwalld"
}
wait_ready
log "bridge forwarding; client may reach :$ALLOWED_PORT"

# ---------------------------------------------------------------------------
# The attack, from inside the client's namespace (scapy, raw frames).
# ---------------------------------------------------------------------------
CLIENT_MAC=$(in_client cat /sys/class/net/client-eth0/address)
# The client's own MAC on both sides: the bridge learns nothing false and
# sends the frame nowhere (its destination lives on the port it came from),
# but it has been judged, and before the fix it opened a flow.
spoof() {  # scapy layers after IP, e.g. 'TCP(sport=9090, dport=40001, flags="SA")'
  in_client "$PY" -c "
from scapy.all import Ether, IP, TCP, UDP, Raw, sendp
sendp(Ether(src='$CLIENT_MAC', dst='$CLIENT_MAC') / IP(src='$SERVER_IP', dst='$CLIENT_IP') / $1,
      iface='client-eth0', verbose=False)"
}
failures=0
check() {  # WHAT OK(0/1)
  if [ "$2" -eq 1 ]; then log "ok: $1"; else log "FAIL: $1"; failures=$((failures + 1)); fi
}

spoof "TCP(sport=$DENIED_PORT, dport=40001, flags='SA', seq=1000, ack=1)"
rc=0
code=$(http_code "$DENIED_PORT" 3 40001) || rc=$?
check "after a spoofed SYN-ACK server:$DENIED_PORT -> client:40001, curl --local-port 40001 :$DENIED_PORT times out (exit $rc, HTTP $code)" \
  "$([ "$rc" -eq 28 ] && echo 1 || echo 0)"

spoof "TCP(sport=$DENIED_PORT, dport=40003, flags='A', seq=1000, ack=1)"
rc=0
code=$(http_code "$DENIED_PORT" 3 40003) || rc=$?
check "after a spoofed bare ACK server:$DENIED_PORT -> client:40003, curl --local-port 40003 :$DENIED_PORT times out (exit $rc, HTTP $code)" \
  "$([ "$rc" -eq 28 ] && echo 1 || echo 0)"

spoof "UDP(sport=$UDP_PORT, dport=40002) / Raw(b'spoofed')"
in_client "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$CLIENT_IP', 40002))
s.sendto(b'pinhole', ('$SERVER_IP', $UDP_PORT))"
sleep 1
check "after a spoofed datagram server:$UDP_PORT -> client:40002, the client's datagram to :$UDP_PORT does not arrive ($(wc -l <"$WORK/udp.log") line(s) at the server)" \
  "$(grep -q pinhole "$WORK/udp.log" && echo 0 || echo 1)"

code=$(http_code "$ALLOWED_PORT" 3) || true
check "allowed traffic still flows (:$ALLOWED_PORT -> HTTP $code)" "$([ "$code" = 200 ] && echo 1 || echo 0)"

# ---------------------------------------------------------------------------
# Counters: the spoofed frames are counted, by name.
# ---------------------------------------------------------------------------
stop_daemon
[ -s "$STATS" ] || fail "no stats json at $STATS"
spoofed=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['drops'].get('spoofed_source', 'missing'))" "$STATS")
check "drops.spoofed_source = $spoofed, want >= 3" \
  "$([[ "$spoofed" =~ ^[0-9]+$ ]] && [ "$spoofed" -ge 3 ] && echo 1 || echo 0)"

# ---------------------------------------------------------------------------
# The second half on its own: with source validation off on the client's
# port the spoofed SYN-ACK opens its flow, but the client's SYN in that
# flow's reply direction is judged as a new connection and denied.
# ---------------------------------------------------------------------------
rm -f "$STATS"
start_daemon --source-check 0=off
wait_ready
spoof "TCP(sport=$DENIED_PORT, dport=40011, flags='SA', seq=1000, ack=1)"
rc=0
code=$(http_code "$DENIED_PORT" 3 40011) || rc=$?
check "source check off: after a spoofed SYN-ACK, curl --local-port 40011 :$DENIED_PORT still times out (exit $rc, HTTP $code)" \
  "$([ "$rc" -eq 28 ] && echo 1 || echo 0)"
stop_daemon

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
log "PASS"
