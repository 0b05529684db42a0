#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build-fuzz/ and
# runs them.
#   scripts/fuzz.sh [--minutes N] [TARGET...]   a campaign: N minutes (default 10)
#                                              per target, one after the other
#   scripts/fuzz.sh --brief SECONDS [TARGET...] what scripts/test.sh runs: replay
#                                              the committed seeds (regressions
#                                              included), then fuzz SECONDS each
# TARGET: packet_parser, selector, yaml_loader, api (default: all four).
# Campaigns keep their corpus in build-fuzz/fuzz-corpus/<target> (seeded from
# tests/fuzz/corpus/<target>); crashes land in build-fuzz/fuzz-artifacts/<target>/.
# Each target ends with one line "fuzz <target>: ok|FAILED  runs R  cov C  ft F
# exec/s E"; the last line is "fuzz: N passed, N failed". Exit 1 if any failed.
# Environment: FUZZ_JOBS=2 runs two campaigns at once; FUZZ_NICE (default 19).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-fuzz
MODE=campaign MINUTES=10 SECONDS_EACH=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --brief) MODE=brief SECONDS_EACH=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(packet_parser selector yaml_loader api)
NICE=${FUZZ_NICE:-19}

# A separate clang build, only the fuzz targets and what they link; every
# library is instrumented (meson.build, -Dfuzz=true) and runs under ASan+UBSan.
# -O1 -gline-tables-only as OSS-Fuzz builds: quick to compile, line numbers
# in sanitizer reports.
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$BUILD_DIR" -Dfuzz=true -Dtests=false -Dbenchmarks=false \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=plain \
    "-Dcpp_args=-O1 -gline-tables-only" >/dev/null ||
    { echo "fuzz: meson setup failed (is clang installed? scripts/install-deps.sh)"; echo "fuzz: 0 passed, 1 failed"; exit 1; }
fi
ninja_targets=()
for t in "${TARGETS[@]}"; do ninja_targets+=("tests/fuzz/${t}_fuzzer"); done
if ! ninja -C "$BUILD_DIR" -j"${JOBS:-$(nproc)}" "${ninja_targets[@]}" >"$BUILD_DIR/fuzz-build.log" 2>&1; then
  tail -30 "$BUILD_DIR/fuzz-build.log"
  echo "fuzz: build failed"
  echo "fuzz: 0 passed, ${#TARGETS[@]} failed"
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

dict_for() {
  case "$1" in
    packet_parser) echo tests/fuzz/dict/packet.dict ;;
    selector) echo tests/fuzz/dict/selector.dict ;;
    *) echo tests/fuzz/dict/yaml.dict ;;
  esac
}

# Runs one target; prints its summary line; returns non-zero on a crash.
run_one() {
  local t=$1 bin="$BUILD_DIR/tests/fuzz/${1}_fuzzer" seeds="tests/fuzz/corpus/$1"
  local arts="$BUILD_DIR/fuzz-artifacts/$t" log="$BUILD_DIR/fuzz-$t.log" rc
  mkdir -p "$arts"
  # The API target runs whole call sequences (the shop's compile on every
  # change): seconds per input on a busy machine at nice 19, so a longer timeout.
  local timeout=20
  [ "$t" = api ] && timeout=120
  local common=(-dict="$(dict_for "$t")" -timeout=$timeout -rss_limit_mb=2560 -print_final_stats=1
                -artifact_prefix="$arts/")
  if [ "$MODE" = brief ]; then
    # Every committed seed (regression inputs included) must pass as is; then
    # a short run from the seeds. New inputs go to a scratch folder (libFuzzer
    # writes into its first corpus folder), never into the committed seeds.
    local scratch="$BUILD_DIR/fuzz-brief/$t"
    rm -rf "$scratch" && mkdir -p "$scratch"
    { nice -n "$NICE" "$bin" "${common[@]}" -runs=0 "$seeds" &&
      nice -n "$NICE" "$bin" "${common[@]}" -max_total_time="$SECONDS_EACH" \
        "$scratch" "$seeds"; } >"$log" 2>&1
    rc=$?
  else
    local corpus="$BUILD_DIR/fuzz-corpus/$t"
    mkdir -p "$corpus"
    nice -n "$NICE" "$bin" "${common[@]}" -max_total_time=$((MINUTES * 60)) \
      "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
  fi
  # libFuzzer's last status line carries cov/ft; final stats carry runs, exec/s.
  local last runs eps cov ft
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ok  runs ${runs:-?}  cov ${cov:-?}  ft ${ft:-?}  exec/s ${eps:-?}"
  else
    echo "fuzz $t: FAILED (rc $rc, log $log, artifacts $arts)"
    grep -E 'ERROR|SUMMARY|_fuzzer: |Test unit written' "$log" | head -8 | sed 's/^/  /'
  fi
  return $rc
}

passed=0 failed=0
if [ "${FUZZ_JOBS:-1}" -gt 1 ] && [ "$MODE" = campaign ]; then
  # Up to FUZZ_JOBS at once; each writes its summary line to a file.
  for t in "${TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do sleep 1; done
    run_one "$t" >"$BUILD_DIR/fuzz-$t.summary" &
  done
  wait
  for t in "${TARGETS[@]}"; do
    cat "$BUILD_DIR/fuzz-$t.summary"
    if grep -q ': ok ' "$BUILD_DIR/fuzz-$t.summary"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
else
  for t in "${TARGETS[@]}"; do
    if run_one "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
fi
echo "fuzz: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
