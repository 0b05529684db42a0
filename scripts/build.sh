#!/usr/bin/env bash
# Release build into build/ (or $BUILD_DIR). Extra arguments go to `meson setup`,
# e.g. scripts/build.sh -Db_sanitize=address,undefined with BUILD_DIR=build-asan.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if ! command -v meson >/dev/null || ! pkg-config --exists libdpdk 2>/dev/null; then
  scripts/install-deps.sh
fi
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" --buildtype=release "$@"
elif [ $# -gt 0 ]; then
  meson configure "$BUILD_DIR" "$@"
fi
ninja -C "$BUILD_DIR" -j"${JOBS:-$(nproc)}"
