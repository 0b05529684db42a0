#!/usr/bin/env bash
# Installs every Debian 12 package Tierwall builds, tests and demos with.
# Idempotent: packages already present are skipped, so a second run costs ~1 s.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config meson ninja-build clang-format
  # dataplane
  libdpdk-dev dpdk-dev libhyperscan-dev libboost-dev libpcap-dev
  # control plane and API
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev
  libsqlite3-dev libdtl-dev libssl-dev libcpp-httplib-dev
  # observability: the service graph is rendered to SVG by Graphviz
  graphviz
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  python3-scapy python3-yaml python3-grpcio iproute2 procps ethtool curl openssl
  # fuzzing (tests/fuzz, scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
