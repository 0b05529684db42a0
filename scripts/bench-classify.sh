#!/usr/bin/env bash
# Builds classify_vs_acl (release, build dir `build`) and runs RuleClassifier
# against DPDK rte_acl on the ClassBench sets, printing one JSON line per set
# on stdout (progress goes to stderr).
#
#   scripts/bench-classify.sh [--quick] [classify_vs_acl options...]
#
#   --quick   acl1_1K, acl1_10K, ipc1_10K with fewer, shorter rounds (< 1 min)
#   (default) adds fw1_10K and acl1_100K (rte_acl alone takes ~20 s to build them)
#   other options go to classify_vs_acl: --sets a,b  --rounds N  --mem MB  --data DIR
#
# Needs root (EAL), no hugepages (--no-huge) and no NIC (--no-pci). Data comes
# from $TW_CLASSBENCH_DIR or <repo>/../shared/classbench. $BUILD_DIR (default
# <repo>/build) and $NINJA_JOBS (default: ninja's choice) adjust the build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-classify: must run as root (DPDK EAL)" >&2
  exit 1
fi

if ! command -v meson >/dev/null 2>&1; then
  "$ROOT/scripts/install-deps.sh"
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release -Dbenchmarks=true >&2
else
  # An existing dir may have been set up as debug or without benchmarks.
  meson configure "$BUILD" --buildtype=release -Dbenchmarks=true >&2
fi
ninja -C "$BUILD" ${NINJA_JOBS:+-j "$NINJA_JOBS"} bench/classify_vs_acl >&2

exec "$BUILD/bench/classify_vs_acl" "$@"
