#!/usr/bin/env bash
# The seed story with real packets: loadgenerator and frontend in their own
# network namespaces (198.18.1.10 and 198.18.1.11, as in examples/hipstershop),
# each on a veth pair, bridged by tierwalld over net_af_packet.
#   1. broken policy set: curl from loadgenerator to frontend:8080 times out,
#      and tierwalld's counters name app-hipstershop.frontend's end-of-tier deny;
#   2. the fixed frontend policy is written and tierwalld reloads (SIGHUP): the
#      same curl returns 200.
# Run by scripts/demo.sh (as root); exits non-zero if a step does not show what
# it should; cleans up namespaces and processes on exit, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
TIERWALLD=build/control/tierwalld/tierwalld
EX=examples/hipstershop
P="twdemo$$"
NS_L="${P}-loadgen" NS_F="${P}-frontend"
WORK=$(mktemp -d "/tmp/${P}.XXXXXX")
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  sleep 0.5
  for ns in "$NS_L" "$NS_F"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  ip link del "${P}-l" 2>/dev/null
  ip link del "${P}-f" 2>/dev/null
  rm -rf "/var/run/dpdk/$P" "$WORK"
}
trap cleanup EXIT

say() { echo; echo "### $*"; }
run() { echo "\$ $*"; "$@"; }

ip netns add "$NS_L"
ip netns add "$NS_F"
ip link add "${P}-l" type veth peer name eth0 netns "$NS_L"
ip link add "${P}-f" type veth peer name eth0 netns "$NS_F"
for pair in "$NS_L:198.18.1.10" "$NS_F:198.18.1.11"; do
  ns=${pair%%:*} addr=${pair#*:}
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
  ip netns exec "$ns" ip addr add "$addr/16" dev eth0
  ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null  # af_packet needs real checksums
  ip netns exec "$ns" ip link set eth0 up
done
for v in "${P}-l" "${P}-f"; do
  sysctl -qw "net.ipv6.conf.$v.disable_ipv6=1" || true
  ip link set "$v" promisc on up
done
mkdir -p "$WORK/www" "$WORK/policy"
echo "Online Boutique" >"$WORK/www/index.html"
ip netns exec "$NS_F" /usr/bin/python3 -m http.server 8080 --bind 198.18.1.11 --directory "$WORK/www" \
  >/dev/null 2>&1 &
PIDS+=($!)

cp "$EX"/base/*.yaml "$WORK/policy/"
cp "$EX/broken/51-app-frontend.yaml" "$WORK/policy/"
"$TIERWALLD" --no-huge -m 512 --no-pci --file-prefix "$P" -l 0,1 --log-level=error \
  "--vdev=net_af_packet0,iface=${P}-l" "--vdev=net_af_packet1,iface=${P}-f" -- \
  -f "$WORK/policy" --stats-json "$WORK/stats.json" >"$WORK/tierwalld.log" 2>&1 &
TW=$!
PIDS+=($TW)
sleep 2
kill -0 $TW 2>/dev/null || { cat "$WORK/tierwalld.log"; echo "demo: tierwalld did not start" >&2; exit 1; }

say "4. Real traffic through tierwalld: loadgenerator -> frontend:8080 with the broken policy"
code=$(ip netns exec "$NS_L" curl -s -o /dev/null -w '%{http_code}' -m3 http://198.18.1.11:8080/ || true)
echo "\$ curl -m3 http://198.18.1.11:8080/   (from loadgenerator)  -> ${code:-000} (timed out)"
[ "${code:-000}" = "000" ] || { echo "demo: FAILED: expected a time-out, got $code" >&2; exit 1; }

say "5. The fix: frontend's ingress rule restored, tierwalld reloads (SIGHUP) and re-judges"
cp "$EX/healthy/51-app-frontend.yaml" "$WORK/policy/51-app-frontend.yaml"
run kill -HUP $TW
start=$(date +%s%N)
code=000
for i in $(seq 20); do
  code=$(ip netns exec "$NS_L" curl -s -o /dev/null -w '%{http_code}' -m1 http://198.18.1.11:8080/ || true)
  [ "$code" = "200" ] && break
  sleep 0.1
done
took=$(/usr/bin/python3 -c "import sys; print(\"%.2f\" % ((int(sys.argv[1]) - int(sys.argv[2])) / 1e9))" "$(date +%s%N)" "$start")
echo "\$ curl -m3 http://198.18.1.11:8080/   (from loadgenerator)  -> $code (${took}s after the reload)"
[ "$code" = "200" ] || { echo "demo: FAILED: expected 200 after the fix" >&2; exit 1; }

kill -TERM $TW
wait $TW || true
say "6. What tierwalld counted (--stats-json): the policies that denied, then allowed"
/usr/bin/python3 - "$WORK/stats.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("generation %d; packets received %d, forwarded %d, dropped %d (policy_deny %d)" % (
    j["generation"], j["packets"]["received"], j["packets"]["forwarded"], j["packets"]["dropped"],
    j["drops"]["policy_deny"]))
for p in j["policies"]:
    if p["name"] != "hipstershop/app-hipstershop.frontend":
        continue
    for r in p["rules"]:
        print("  %-40s %-7s rule %3s %-5s %4d packets" % (p["name"], r["direction"], r["index"], r["action"], r["packets"]))
denied = [r for p in j["policies"] if p["name"] == "hipstershop/app-hipstershop.frontend"
          for r in p["rules"] if r["action"] == "deny" and r["index"] == -1 and r["packets"] > 0]
allowed = [r for p in j["policies"] if p["name"] == "hipstershop/app-hipstershop.frontend"
           for r in p["rules"] if r["action"] == "allow" and r["packets"] > 0]
if not denied or not allowed:
    sys.exit("demo: FAILED: counters do not show the end-of-tier deny and then the allow")
print("ok: the end-of-tier deny and the restored allow rule are both counted")
PY
