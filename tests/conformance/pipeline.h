// The whole offline pipeline for conformance cases: YAML through the loader
// and the compiler, one packet through the program, the verdict out.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "control/model/resources.h"

namespace tierwall::test::conformance {

struct Probe {
  std::string src;    // an address
  std::string dst;    // an address
  std::string proto;  // "tcp", "udp", "sctp", "icmp" or a number
  uint16_t port = 0;  // destination port (ICMP: the type)
};

// Loads `yaml` (named `source` in errors): the loader's error, or the set.
absl::StatusOr<ctl::model::ResourceSet> Load(const std::string& yaml,
                                             const std::string& source = "case.yaml");

// Compiles `resources` and judges `probe` as the first packet of a new flow:
// "allow" or "deny", or the compiler's or the probe's error.
absl::StatusOr<std::string> Judge(const ctl::model::ResourceSet& resources, const Probe& probe);

// Load then Judge.
absl::StatusOr<std::string> Judge(const std::string& yaml, const Probe& probe);

}  // namespace tierwall::test::conformance
