#!/usr/bin/env bash
# The atomic-update soak (tests/engine/program_slot_soak_test.cc) at full size:
# worker threads judge >= 10^8 packets while the control thread publishes
# >= 10^4 programs that decide differently; every verdict must be its
# generation's. Prints the figures (packets, publications, seconds, Mpps).
#   scripts/soak-atomic.sh           release build in build/, TW_SOAK_SCALE=200
#   scripts/soak-atomic.sh --asan    ASan+UBSan build in build-asan/, TW_SOAK_SCALE=2
# TW_SOAK_SCALE and TW_SOAK_WORKERS (default 3) override the size.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--asan" ]; then
  export BUILD_DIR=build-asan TW_SOAK_SCALE=${TW_SOAK_SCALE:-2}
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ARGS=(-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false)
else
  export BUILD_DIR=build TW_SOAK_SCALE=${TW_SOAK_SCALE:-200}
  ARGS=()
fi
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  scripts/build.sh "${ARGS[@]}"
else
  ninja -C "$BUILD_DIR" tests/engine/program_slot_soak_test
fi
echo "soak-atomic: TW_SOAK_SCALE=$TW_SOAK_SCALE TW_SOAK_WORKERS=${TW_SOAK_WORKERS:-3} ($BUILD_DIR)"
time "$BUILD_DIR/tests/engine/program_slot_soak_test"
