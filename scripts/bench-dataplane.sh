#!/usr/bin/env bash
# One-worker forwarding rate of tierwalld, two ways, printed as JSON lines:
#   established: a pcap of N allowed TCP flows (hipstershop loadgenerator ->
#                frontend:8080) replayed forever (net_pcap infinite_rx) into
#                the policy + connection-tracking path, out to net_null;
#   io:          net_null in and out (non-IP frames: parse + forward only).
# Usage: scripts/bench-dataplane.sh [SECONDS] [FLOWS]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
FLOWS=${2:-1024}
BUILD=${BUILD_DIR:-build}
[ -x "$BUILD/control/tierwalld/tierwalld" ] || scripts/build.sh >&2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

/usr/bin/python3 - "$TMP/flows.pcap" "$FLOWS" <<'PY'
import sys
from scapy.all import Ether, IP, TCP, wrpcap
out, n = sys.argv[1], int(sys.argv[2])
pk = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
      IP(src="198.18.1.10", dst="198.18.1.11") / TCP(sport=10000 + i, dport=8080, flags="A")
      for i in range(n)]
wrpcap(out, pk)
PY

run() {  # run <name> <vdev args...>
  local name=$1; shift
  "$BUILD/control/tierwalld/tierwalld" --no-huge -m 1024 --no-pci --file-prefix "tw-bench-$$-$name" \
    -l 0,1 --log-level=error "$@" -- --forward wire \
    -f examples/hipstershop/base -f examples/hipstershop/healthy \
    --stats-json "$TMP/$name.json" 2>/dev/null &
  local pid=$!
  sleep "$SECS"
  kill -TERM $pid
  wait $pid
  /usr/bin/python3 - "$TMP/$name.json" "$name" "$SECS" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
secs = float(sys.argv[3])
p = j["packets"]
print(json.dumps({"mode": sys.argv[2], "seconds": secs, "received": p["received"],
                  "forwarded": p["forwarded"], "dropped": p["dropped"],
                  "mpps": round(p["received"] / secs / 1e6, 3), "flows": j["flows"]["created"]}))
PY
}
run established "--vdev=net_pcap0,rx_pcap=$TMP/flows.pcap,infinite_rx=1" "--vdev=net_null1"
run io "--vdev=net_null0" "--vdev=net_null1"
