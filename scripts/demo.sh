#!/usr/bin/env bash
# The main job: the seed story. Installs what is missing, builds, then
#   as root: tells the story with real packets through tierwalld and the gRPC
#     API (scripts/demo-story.sh): a shop in network namespaces, a breaking
#     change by kubernetes-admin, the denied curl, counters by policy, flow
#     logs, the service graph, history and diff, `twctl why`, the fix staged
#     and enforced, and the site back;
#   otherwise: the same policy story offline with `twctl trace` (no packets).
#   scripts/demo.sh [--pause]    (--pause waits for Enter between steps)
# Exits non-zero if any step does not show what it should.
set -euo pipefail
cd "$(dirname "$0")/.."
PAUSE=0
[ "${1:-}" = "--pause" ] && PAUSE=1

scripts/install-deps.sh >/dev/null
scripts/build.sh >/dev/null
if [ "$(id -u)" -eq 0 ] && ip netns list >/dev/null 2>&1; then
  exec scripts/demo-story.sh "$@"
fi
echo "(not root: the story offline, with twctl trace; run as root for real traffic through tierwalld)"
TWCTL=build/control/twctl/twctl
EX=examples/hipstershop
BASE=(-f "$EX/base" -f "$EX/healthy")
BROKEN=(-f "$EX/base" -f "$EX/broken")
FIX=(-f "$EX/base" -f "$EX/broken" -f "$EX/fix")
SRC=198.18.1.10      # hipstershop/loadgenerator
DST=198.18.1.11:8080 # hipstershop/frontend

step() {
  echo
  echo "### $1"
  [ "$PAUSE" = 1 ] && read -r -p "(Enter)" _ || true
}
run() {
  echo "\$ $*" | sed "s|$TWCTL|twctl|"
  "$@"
}
expect() {  # expect <what> <json> <python expression over j>
  if ! python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$2"; then
    echo "demo: FAILED: $1" >&2
    exit 1
  fi
  echo "ok: $1"
}

step "1. The shop works: loadgenerator -> frontend:8080 is allowed"
run $TWCTL trace "${BASE[@]}" --src $SRC --dst $DST --proto tcp
J=$($TWCTL trace "${BASE[@]}" --src $SRC --dst $DST --proto tcp -o json)
expect "allowed by app-hipstershop.frontend" "$J" \
  'j["verdict"]=="allow" and any("app-hipstershop.frontend|allow" in e for e in j["ingress"]["enforced"])'

step "2. Someone removed frontend's ingress rule: the traffic is denied at the end of tier app-hipstershop"
run diff -u "$EX/healthy/51-app-frontend.yaml" "$EX/broken/51-app-frontend.yaml" || true
run $TWCTL trace "${BROKEN[@]}" --src $SRC --dst $DST --proto tcp
J=$($TWCTL trace "${BROKEN[@]}" --src $SRC --dst $DST --proto tcp -o json)
expect "denied at the end of tier app-hipstershop" "$J" \
  'j["verdict"]=="deny" and j["ingress"]["enforced"][-1].endswith("|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1")'

step "3. The fix, staged: the verdict is unchanged, the pending trace allows"
run $TWCTL trace "${FIX[@]}" --src $SRC --dst $DST --proto tcp
J=$($TWCTL trace "${FIX[@]}" --src $SRC --dst $DST --proto tcp -o json)
expect "still denied, pending allow by the staged policy" "$J" \
  'j["verdict"]=="deny" and j["ingress"]["pending_verdict"]=="allow" and any("staged:frontend|allow" in e for e in j["ingress"]["pending"])'

echo
echo "demo: all steps showed what they should"
