#!/usr/bin/env bash
# Installs what is missing, builds, runs every test suite and ends with one
# plain line: "N passed, N failed" (GoogleTest cases across all suites, plus
# one per fuzz target: scripts/fuzz.sh --brief replays the committed seeds and
# fuzzes each target for a few seconds in the clang build build-fuzz/).
#   scripts/test.sh            release build in build/
#   scripts/test.sh --asan     ASan+UBSan build in build-asan/ (unit suites, smaller differential
#                              and soak runs)
# TW_FUZZ_SECONDS (default 6) is the brief fuzz time per target; 0 skips fuzzing.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=release
[ "${1:-}" = "--asan" ] && MODE=asan

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
if [ "$MODE" = asan ]; then
  export BUILD_DIR=build-asan TW_DIFF_SCALE=${TW_DIFF_SCALE:-0.1} TW_SOAK_SCALE=${TW_SOAK_SCALE:-0.2}
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  BUILD_ARGS=(-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false)
else
  export BUILD_DIR=build
  BUILD_ARGS=()
fi
if ! scripts/build.sh "${BUILD_ARGS[@]}"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# Each GoogleTest binary writes a JUnit XML report; the totals come from there.
REPORTS="$(pwd)/$BUILD_DIR/test-reports"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
export GTEST_OUTPUT="xml:$REPORTS/"
meson test -C "$BUILD_DIR" --print-errorlogs --num-processes "$(nproc)"
meson_rc=$?

# GoogleTest suites count their cases (from the XML reports); every other test
# (pcap replays, namespace tests) counts as one.
read -r passed failed < <(/usr/bin/python3 - "$REPORTS" "$BUILD_DIR/meson-logs/testlog.json" <<'PY'
import glob, json, os, sys, xml.etree.ElementTree as ET
reports, log = sys.argv[1], sys.argv[2]
passed = failed = 0
by_binary = {}
for f in glob.glob(reports + "/*.xml"):
    p = f_ = 0
    for case in ET.parse(f).getroot().iter("testcase"):
        if case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            f_ += 1
        else:
            p += 1
    by_binary[os.path.basename(f)[:-4]] = (p, f_)
seen = set()
for line in open(log):
    t = json.loads(line)
    binary = os.path.basename(t["command"][0])
    if binary in by_binary and binary not in seen:
        seen.add(binary)
        p, f_ = by_binary[binary]
        passed += p
        failed += f_
        if t["result"] not in ("OK", "SKIP") and f_ == 0:
            failed += 1  # crashed or timed out after writing its report
    elif binary not in by_binary:
        if t["result"] == "OK":
            passed += 1
        elif t["result"] != "SKIP":
            failed += 1
print(passed, failed)
PY
)
# A suite that crashed before writing its report still counts as a failure.
if [ $meson_rc -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

# The fuzz targets, briefly (its own clang build; the same in both modes, as
# the fuzz build always runs under ASan+UBSan). Each target counts as one test.
if [ "${TW_FUZZ_SECONDS:-6}" != 0 ]; then
  fuzz_out=$(scripts/fuzz.sh --brief "${TW_FUZZ_SECONDS:-6}" 2>&1)
  echo "$fuzz_out"
  read -r fuzz_passed fuzz_failed < <(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<<"$fuzz_out")
  passed=$((passed + ${fuzz_passed:-0}))
  failed=$((failed + ${fuzz_failed:-1}))
fi
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
