#!/usr/bin/env bash
# The seed story with real packets and the real API (needs root):
#   the shop's workloads live in network namespaces (loadgenerator, frontend,
#   cartservice, redis-cart in hipstershop; coredns in kube-system), each on a
#   veth pair bridged by tierwalld over net_af_packet; tiers and policies go in
#   through gRPC with twctl as authenticated users; kubernetes-admin removes
#   frontend's ingress rule; curl from loadgenerator times out; the operator
#   finds the denying policy (counters, flow logs, graph), the change and its
#   author (history, diff), asks `twctl why`, stages the suggested fix, sees the
#   pending verdict allow, enforces it, and curl gets 200.
#
#   scripts/demo-story.sh [--pause]     (scripts/demo.sh runs it; so does the
#                                        seed_story test in tests/e2e, which relies on its checks)
# Every step prints the command and its output and checks what it must show;
# the script exits non-zero at the first step that does not. Namespaces and
# processes are cleaned up on exit, even on failure; it can be run again.
# The service graph stays in $TW_DEMO_OUT (default build/demo/).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
PAUSE=0
[ "${1:-}" = "--pause" ] && PAUSE=1
[ "$(id -u)" -eq 0 ] || { echo "demo-story: needs root (network namespaces, DPDK)" >&2; exit 77; }
[ -x "$BUILD_DIR/control/tierwalld/tierwalld" ] || { echo "demo-story: build first (scripts/build.sh)" >&2; exit 1; }

TIERWALLD=$BUILD_DIR/control/tierwalld/tierwalld
TWCTL_BIN=$(realpath "$BUILD_DIR")/control/twctl/twctl
EX=examples/hipstershop
OUT=${TW_DEMO_OUT:-$BUILD_DIR/demo}
P="tws$$"
WORK=$(mktemp -d "/tmp/${P}.XXXXXX")
chmod 755 "$WORK"
PIDS=()
mkdir -p "$OUT"

# name:namespace:address  (as in examples/hipstershop/base/10-endpoints.yaml)
# name:namespace:address:interfaceName (examples/hipstershop/base/10-endpoints.yaml):
# each veth's tierwalld port is named after its endpoint's interfaceName.
WORKLOADS=(loadgenerator:hipstershop:198.18.1.10:cali1a0b1c2d3e4
           frontend:hipstershop:198.18.1.11:cali2b1c2d3e4f5
           cartservice:hipstershop:198.18.1.12:cali3c2d3e4f5a6
           redis-cart:hipstershop:198.18.1.13:cali4d3e4f5a6b7
           coredns:kube-system:198.18.0.10:cali7a6b7c8d9e0)
ns_of() { echo "${P}-$1"; }

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  for w in "${WORKLOADS[@]}"; do
    n=${w%%:*}
    for pid in $(ip netns pids "$(ns_of "$n")" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$(ns_of "$n")" 2>/dev/null
    ip link del "${P}-${n:0:6}" 2>/dev/null
  done
  rm -rf "/var/run/dpdk/$P" "$WORK"
}
trap cleanup EXIT

step() {
  echo
  echo "### $1"
  if [ "$PAUSE" = 1 ]; then read -r -p "(Enter)" _; fi
  return 0
}
fail() { echo "demo: FAILED: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# as USER twctl ARGS...: prints the command, runs it with USER's token, keeps
# its output in $OUTPUT (and its exit code in $RC).
as() {
  local user=$1; shift
  echo "\$ TIERWALL_TOKEN=<$user> twctl $*"
  set +e
  OUTPUT=$(TIERWALL_ADDR="unix:$WORK/state/tierwall.sock" TIERWALL_TOKEN="${TOKENS[$user]}" \
           "$TWCTL_BIN" "$@" 2>&1)
  RC=$?
  set -e
  echo "$OUTPUT"
}
curl_frontend() {  # prints the HTTP code (000: timed out)
  ip netns exec "$(ns_of loadgenerator)" curl -s -o /dev/null -w '%{http_code}' -m "${1:-3}" \
    http://198.18.1.11:8080/ || true
}

# --- the cluster: namespaces, veth pairs, servers ---------------------------
VDEVS=()
PORT_NAMES=()
i=0
for w in "${WORKLOADS[@]}"; do
  IFS=: read -r n _ addr iface <<<"$w"
  ns=$(ns_of "$n") host="${P}-${n:0:6}"
  ip netns add "$ns"
  ip link add "$host" type veth peer name eth0 netns "$ns"
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
  ip netns exec "$ns" ip addr add "$addr/15" dev eth0
  ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null  # af_packet needs real checksums
  ip netns exec "$ns" ip link set eth0 up
  sysctl -qw "net.ipv6.conf.$host.disable_ipv6=1" || true
  ip link set "$host" promisc on up
  VDEVS+=("--vdev=net_af_packet$i,iface=$host")
  PORT_NAMES+=(--port-name "$i=$iface")
  i=$((i + 1))
done
mkdir -p "$WORK/www"
echo "Online Boutique" >"$WORK/www/index.html"
ip netns exec "$(ns_of frontend)" /usr/bin/python3 -m http.server 8080 --bind 198.18.1.11 \
  --directory "$WORK/www" >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$(ns_of cartservice)" /usr/bin/python3 -m http.server 7070 --bind 198.18.1.12 \
  --directory "$WORK/www" >/dev/null 2>&1 &
PIDS+=($!)

# --- identities: who may do what ---------------------------------------------
declare -A TOKENS=([platform-admin]="pa-$RANDOM$RANDOM$RANDOM" [kubernetes-admin]="ka-$RANDOM$RANDOM$RANDOM"
                   [alice]="al-$RANDOM$RANDOM$RANDOM")
cat >"$WORK/tokens.yaml" <<EOF
- {token: "${TOKENS[platform-admin]}", user: platform-admin, groups: [platform]}
- {token: "${TOKENS[kubernetes-admin]}", user: kubernetes-admin, groups: [system-admins]}
- {token: "${TOKENS[alice]}", user: alice, groups: [shop-team]}
EOF
cat >"$WORK/rbac.yaml" <<'EOF'
# platform and cluster admins may do anything; alice's team edits tier
# app-hipstershop only (and reads what it needs to troubleshoot).
roles:
  - name: admin
    rules:
      - verbs: ["*"]
        resources: ["*"]
  - name: app-hipstershop-editor
    rules:
      - verbs: [get]
        resources: [tiers]
      - verbs: [get, list, watch, create, update, delete]
        resources: [networkpolicies, stagednetworkpolicies]
        resourceNames: ["app-hipstershop.*"]
        namespaces: [hipstershop]
      - verbs: [get, list, watch]
        resources: [networkpolicies, globalnetworkpolicies, counters, flows]
bindings:
  - role: admin
    groups: [platform, system-admins]
  - role: app-hipstershop-editor
    groups: [shop-team]
EOF

"$TIERWALLD" --no-huge -m 512 --no-pci --file-prefix "$P" -l 0,1 --log-level=error "${VDEVS[@]}" -- \
  --state-dir "$WORK/state" --tokens "$WORK/tokens.yaml" --rbac "$WORK/rbac.yaml" \
  --flow-log-dir "$WORK/flows" --flow-log-flush 2 --timeout-tcp-syn 5 "${PORT_NAMES[@]}" \
  >"$WORK/tierwalld.log" 2>&1 &
TW=$!
PIDS+=($TW)
for _ in $(seq 100); do [ -S "$WORK/state/tierwall.sock" ] && break; sleep 0.1; done
[ -S "$WORK/state/tierwall.sock" ] || { cat "$WORK/tierwalld.log"; fail "tierwalld did not start"; }

step "1. The platform team installs the shop's tiers and policies through the API"
BASE_FILES=("$EX"/base/*.yaml "$EX/healthy/51-app-frontend.yaml")
args=()
for f in "${BASE_FILES[@]}"; do args+=(-f "$f"); done
as platform-admin apply "${args[@]}"
[ "$RC" = 0 ] || fail "apply as platform-admin"
as platform-admin get tier
[ "$RC" = 0 ] && grep -q security <<<"$OUTPUT" && grep -q app-hipstershop <<<"$OUTPUT" || fail "tiers listed"
code=$(curl_frontend)
echo "\$ curl -m3 http://198.18.1.11:8080/   (from loadgenerator)  -> $code"
[ "$code" = 200 ] || fail "the healthy shop must answer 200, got $code"
ok "the shop works"

step "2. kubernetes-admin updates app-hipstershop.frontend: its ingress rule is gone"
as kubernetes-admin apply -f "$EX/broken/51-app-frontend.yaml"
[ "$RC" = 0 ] || fail "apply as kubernetes-admin"

step "3. The website stops loading: curl from loadgenerator to frontend:8080 times out"
for attempt in 1 2; do
  code=$(curl_frontend 3)
  echo "\$ curl -m3 http://198.18.1.11:8080/   (from loadgenerator)  -> ${code:-000} (timed out)"
  [ "${code:-000}" = 000 ] || fail "expected a time-out, got $code"
done
sleep 3  # one flow-log flush interval (--flow-log-flush 2) and a counter sample

step "4. Packets by policy: app-hipstershop.frontend denies"
as alice counters --by-policy -n hipstershop --since 5m
[ "$RC" = 0 ] || fail "counters"
grep -E "app-hipstershop +hipstershop/app-hipstershop.frontend +[0-9]+ +[1-9][0-9]*" <<<"$OUTPUT" >/dev/null \
  || fail "counters must show denied packets on hipstershop/app-hipstershop.frontend"
ok "denied packets counted on app-hipstershop.frontend"

step "5. Flow logs: the denied flows, with every policy that evaluated them"
as alice flows --action deny --to hipstershop/frontend --last 5
[ "$RC" = 0 ] || fail "flows"
grep -q "|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1" <<<"$OUTPUT" \
  || fail "flow logs must carry the policy string app-hipstershop.frontend deny -1"
grep -q "|security|" <<<"$OUTPUT" && grep -q "|platform|" <<<"$OUTPUT" \
  || fail "flow logs must show the security and platform tiers evaluated first"
ok "flow log names every tier left to right and the end-of-tier deny"

step "6. The service graph: loadgenerator -> frontend is a red (denied) edge"
as alice graph -n hipstershop -o svg --file "$(realpath "$OUT")/graph.svg"
[ "$RC" = 0 ] || fail "graph"
as alice graph -n hipstershop -o json >/dev/null
/usr/bin/python3 -c '
import json, sys
g = json.loads(sys.argv[1])
name = {n["id"]: n["name"] for n in g["nodes"]}
red = [e for e in g["edges"] if name[e["source"]] == "loadgenerator" and name[e["dest"]] == "frontend"
       and e["denied_flows"] > 0 and "8080/tcp" in e["denied_ports"]]
for e in red: print("edge loadgenerator -> frontend: denied %s, %d denied flows" % (e["denied_ports"], e["denied_flows"]))
sys.exit(0 if red else 1)' "$OUTPUT" || fail "the graph must have a denied loadgenerator -> frontend 8080/tcp edge"
grep -q 'color=red' "$OUT/graph.svg" 2>/dev/null || grep -q 'stroke="red"' "$OUT/graph.svg" \
  || fail "the SVG must draw the denied edge red"
ok "red edge loadgenerator -> frontend ($(realpath "$OUT")/graph.svg)"

step "7. The policy, its change log and the diff: who removed the rule"
as alice get np app-hipstershop.frontend -n hipstershop
grep -q "ingress:" <<<"$OUTPUT" && fail "the stored policy should have no ingress rules"
as alice history np app-hipstershop.frontend -n hipstershop
grep -E "^[0-9]+ +[^ ]+ +kubernetes-admin +apply" <<<"$OUTPUT" >/dev/null \
  || fail "history must name kubernetes-admin"
as alice diff np app-hipstershop.frontend -n hipstershop
grep -q "^-  ingress:" <<<"$OUTPUT" && grep -q "^-.*loadgenerator" <<<"$OUTPUT" \
  || fail "the diff must show the removed ingress rule"
ok "kubernetes-admin removed the ingress rule"

step "8. All of it in one command: twctl why"
as alice why --from loadgenerator.hipstershop --to frontend.hipstershop:8080/tcp
[ "$RC" = 0 ] || fail "why"
grep -q "app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1" <<<"$OUTPUT" || fail "why: deciding policy"
grep -q "by kubernetes-admin" <<<"$OUTPUT" || fail "why: the revision's author"
grep -q "^-  ingress:" <<<"$OUTPUT" || fail "why: the diff of that revision removes the ingress rule"
grep -q "verified" <<<"$OUTPUT" || fail "why: a verified fix"
as alice why --from loadgenerator.hipstershop --to frontend.hipstershop:8080/tcp -o json >/dev/null
/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["suggestion_yaml"], end="")' "$OUTPUT" \
  >"$WORK/fix.yaml"

step "9. alice may edit tier app-hipstershop only: changing tier security is refused"
as alice apply -f "$EX/base/30-security.yaml"
[ "$RC" != 0 ] && grep -q PERMISSION_DENIED <<<"$OUTPUT" && grep -q 'tier "security"' <<<"$OUTPUT" \
  || fail "alice must get PERMISSION_DENIED on tier security"
ok "refused, naming the tier"

step "10. alice stages the suggested fix: still denied, the pending verdict allows"
cat "$WORK/fix.yaml"
as alice stage -f "$WORK/fix.yaml"
[ "$RC" = 0 ] || fail "stage"
as alice trace --src 198.18.1.10 --dst 198.18.1.11:8080 --proto tcp -o json >/dev/null
/usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print("live trace: verdict %s, ingress pending verdict %s" % (j["verdict"], j["ingress"]["pending_verdict"]))
for e in j["ingress"]["pending"]: print("  pending", e)
sys.exit(0 if j["verdict"] == "deny" and j["ingress"]["pending_verdict"] == "allow" else 1)' "$OUTPUT" \
  || fail "the staged fix must leave the verdict deny and make the pending verdict allow"
code=$(curl_frontend 2)
echo "\$ curl -m2 http://198.18.1.11:8080/   (from loadgenerator)  -> ${code:-000} (timed out)"
[ "${code:-000}" = 000 ] || fail "staging must not enforce anything (got $code)"
sleep 3  # a flow-log flush: the new denied flow's record carries the pending trace
as alice flows --action deny --to hipstershop/frontend --since 10s --last 3
grep -q "pending: .*|app-hipstershop|hipstershop/app-hipstershop.staged:frontend|allow|0" <<<"$OUTPUT" \
  || fail "the flow log's pending policies must show the staged fix allowing"
ok "staged: enforced deny, pending allow (live trace and flow logs)"

step "11. alice enforces it, and the site is back"
as alice enforce snp app-hipstershop.frontend -n hipstershop
[ "$RC" = 0 ] || fail "enforce"
start=$(date +%s%N)
code=000
for _ in $(seq 20); do
  code=$(curl_frontend 1)
  [ "$code" = 200 ] && break
done
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "\$ curl http://198.18.1.11:8080/   (from loadgenerator)  -> $code (${took} ms after enforce returned)"
[ "$code" = 200 ] || fail "expected 200 after enforce"
[ "$took" -le 2000 ] || fail "200 took ${took} ms after enforce (limit 2000)"
as alice history np app-hipstershop.frontend -n hipstershop
grep -E "alice +enforce" <<<"$OUTPUT" >/dev/null || fail "history must show alice's enforce"
as platform-admin audit verify
[ "$RC" = 0 ] || fail "audit verify"
ok "the site is back; the audit log verifies"
echo
echo "demo-story: every step showed what it should"
