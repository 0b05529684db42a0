#!/usr/bin/env bash
# A real TCP conversation through tierwalld, between two network namespaces.
#
#   [client ns]                       [root ns]                        [server ns]
#   client-eth0 198.18.0.1/24 <-veth-> <P>-c ==tierwalld (bridge)== <P>-s <-veth-> server-eth0 198.18.0.2/24
#                                       net_af_packet0     net_af_packet1              http.server :8080 :9090
#
# The policy (tests/netns/policy) lets the client reach the server on TCP 8080
# and nothing else, so:
#   - curl to :8080 gets 200 (ARP crosses the bridge unjudged, the SYN is
#     allowed by netns-test/web.allow-http rule 0, the replies follow the flow);
#   - curl to :9090 times out (exit 28): the SYN hits the web tier's end-of-tier
#     deny. The server *is* listening there (checked from inside its own
#     namespace), so the timeout can only come from the dataplane.
#   - the final counters (--stats-json, written on SIGTERM) say why: the
#     policy's ingress allow and deny packets, its rule 0 / rule -1 entries, and
#     drops.policy_deny are all non-zero.
#
# Usage: curl_through_tierwalld.sh TIERWALLD POLICY_DIR
# Exit: 0 pass, 1 fail, 77 skip (not root, no `ip netns`, a tool missing).
# Only 198.18.0.0/15 addresses are used and the root-namespace veth ends carry
# no address, so no packet can leave the two test namespaces.
set -euo pipefail

readonly SKIP=77
log() { printf 'netns: %s\n' "$*" >&2; }
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
readonly P="twt$$"
readonly NS_C="${P}-client" NS_S="${P}-server"
readonly VC="${P}-c" VS="${P}-s"
readonly CLIENT_IP=198.18.0.1 SERVER_IP=198.18.0.2
readonly ALLOWED_PORT=8080 DENIED_PORT=9090
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
# HTTP servers on both ports, checked from inside the server namespace (this
# path does not cross tierwalld), so a later timeout on 9090 is the dataplane.
# ---------------------------------------------------------------------------
mkdir -p "$WORK/www"
echo "hello from the server namespace" >"$WORK/www/index.html"
for port in "$ALLOWED_PORT" "$DENIED_PORT"; do
  # `ip netns exec` directly (not the in_server function), so that $! is the
  # server itself (ip execs it) and cleanup can stop it by pid.
  ip netns exec "$NS_S" "$PY" -m http.server "$port" --bind "$SERVER_IP" --directory "$WORK/www" \
    >"$WORK/http-$port.log" 2>&1 &
  SERVER_PIDS+=($!)
done
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
log "http servers listening on $SERVER_IP:$ALLOWED_PORT and :$DENIED_PORT"

# ---------------------------------------------------------------------------
# tierwalld bridging the two root-side veth ends, each port named after the
# interfaceName of the endpoint behind it (source-address validation).
# ---------------------------------------------------------------------------
"$TIERWALLD" --no-huge -m 512 --no-pci --file-prefix "$P" -l 0,1 \
  "--vdev=net_af_packet0,iface=$VC" "--vdev=net_af_packet1,iface=$VS" \
  -- --forward bridge -f "$POLICY_DIR" --stats-json "$STATS" \
  --port-name 0=client-eth0 --port-name 1=server-eth0 \
  >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
log "tierwalld pid $DAEMON_PID"

# http_code PORT TIMEOUT: prints curl's HTTP code (000 when none), returns curl's exit.
http_code() {
  in_client curl -s -o /dev/null -w '%{http_code}' -m "$2" "http://$SERVER_IP:$1/"
}

# Readiness: ARP must resolve through the bridge and the ports must be
# forwarding. Retry the allowed request with a short timeout; the EAL start
# without hugepages takes a few seconds.
ready=0
for i in $(seq 20); do
  kill -0 "$DAEMON_PID" 2>/dev/null || {
    wait "$DAEMON_PID" && drc=0 || drc=$?
    DAEMON_PID=""
    fail "tierwalld exited early with $drc"
  }
  code=$(http_code "$ALLOWED_PORT" 1 || true)
  if [ "$code" = "200" ]; then
    ready=1
    break
  fi
  sleep 0.5
done
[ "$ready" -eq 1 ] || fail "no HTTP 200 from $SERVER_IP:$ALLOWED_PORT through tierwalld after 20 tries"
log "bridge forwarding (ready after $i tries)"

# ---------------------------------------------------------------------------
# Assertions on the wire.
# ---------------------------------------------------------------------------
code=$(http_code "$ALLOWED_PORT" 3) || fail "allowed curl to :$ALLOWED_PORT failed (exit $?)"
[ "$code" = "200" ] || fail "allowed curl to :$ALLOWED_PORT: HTTP $code, want 200"
log "ok: curl :$ALLOWED_PORT -> HTTP 200"

rc=0
code=$(http_code "$DENIED_PORT" 3) || rc=$?
[ "$rc" -eq 28 ] || fail "denied curl to :$DENIED_PORT: exit $rc (HTTP $code), want 28 (timeout)"
log "ok: curl :$DENIED_PORT -> timed out (exit 28)"

# The denied flow must not disturb allowed traffic.
code=$(http_code "$ALLOWED_PORT" 3) || fail "allowed curl to :$ALLOWED_PORT after the denied one failed (exit $?)"
[ "$code" = "200" ] || fail "allowed curl to :$ALLOWED_PORT after the denied one: HTTP $code, want 200"
log "ok: curl :$ALLOWED_PORT again -> HTTP 200"

# ---------------------------------------------------------------------------
# Clean stop and counters.
# ---------------------------------------------------------------------------
kill -TERM "$DAEMON_PID"
drc=""
for i in $(seq 100); do
  if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
    wait "$DAEMON_PID" && drc=0 || drc=$?
    break
  fi
  sleep 0.1
done
[ -n "$drc" ] || fail "tierwalld did not stop within 10 s of SIGTERM"
DAEMON_PID=""
[ "$drc" -eq 0 ] || fail "tierwalld exited with $drc after SIGTERM, want 0"
[ -s "$STATS" ] || fail "no stats json at $STATS"

# stat KIND ARGS...: prints one counter from the stats json, or "missing".
#   stat policy NAME DIRECTION ACTION        -> .policies[name].DIRECTION.ACTION.packets
#   stat rule NAME DIRECTION INDEX ACTION    -> packets of that rules[] entry
#   stat drop REASON                         -> .drops.REASON
if command -v jq >/dev/null; then
  stat() {
    case $1 in
      policy) jq -r --arg n "$2" --arg d "$3" --arg a "$4" \
        '[.policies[] | select(.name == $n)][0][$d][$a].packets // "missing"' "$STATS" ;;
      rule) jq -r --arg n "$2" --arg d "$3" --argjson i "$4" --arg a "$5" \
        '[.policies[] | select(.name == $n) | .rules[]
          | select(.direction == $d and .index == $i and .action == $a)][0].packets // "missing"' "$STATS" ;;
      drop) jq -r --arg r "$2" '.drops[$r] // "missing"' "$STATS" ;;
    esac
  }
else
  stat() {
    "$PY" - "$STATS" "$@" <<'EOF'
import json, sys
stats, kind, args = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:]
def pick():
    if kind == "drop":
        return stats["drops"][args[0]]
    pol = next(p for p in stats["policies"] if p["name"] == args[0])
    if kind == "policy":
        return pol[args[1]][args[2]]["packets"]
    return next(r["packets"] for r in pol["rules"]
                if r["direction"] == args[1] and r["index"] == int(args[2])
                and r["action"] == args[3])
try:
    print(pick())
except (KeyError, StopIteration, TypeError, IndexError):
    print("missing")
EOF
  }
fi

failures=0
expect_positive() {
  local what=$1 value
  shift
  value=$(stat "$@")
  if [[ "$value" =~ ^[0-9]+$ ]] && [ "$value" -gt 0 ]; then
    log "ok: $what = $value"
  else
    log "FAIL: $what = $value, want > 0"
    failures=$((failures + 1))
  fi
}
expect_positive "$POLICY ingress allow packets" policy "$POLICY" ingress allow
expect_positive "$POLICY ingress rule 0 allow packets" rule "$POLICY" ingress 0 allow
expect_positive "$POLICY ingress deny packets" policy "$POLICY" ingress deny
expect_positive "$POLICY ingress end-of-tier (rule -1) deny packets" rule "$POLICY" ingress -1 deny
expect_positive "$CLIENT_PROFILE egress allow packets" policy "$CLIENT_PROFILE" egress allow
expect_positive "drops.policy_deny" drop policy_deny
# Nothing else is denied in this setup (IPv4 only, one policy), so every
# policy drop must be explained by that end-of-tier entry.
eot=$(stat rule "$POLICY" ingress -1 deny)
drops=$(stat drop policy_deny)
if [ "$eot" = "$drops" ]; then
  log "ok: drops.policy_deny ($drops) == end-of-tier deny packets ($eot)"
else
  log "FAIL: drops.policy_deny ($drops) != end-of-tier deny packets ($eot)"
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || fail "$failures counter check(s) failed"

log "PASS"
