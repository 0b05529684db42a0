// The policy compiler: a whole ResourceSet in, one immutable Program out.
//
// Validates cross-resource references (missing tiers, duplicate endpoint
// addresses, duplicate names), groups endpoints that policy cannot tell apart,
// orders tiers and policies, resolves selectors and named ports into address
// and port sets, and turns every rule into boxes for the classifier.
// Runs on a control thread; needs no EAL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/model/resources.h"
#include "dataplane/classify/program.h"

namespace tierwall::ctl::compiler {

struct CompileOptions {
  uint64_t generation = 1;
  dp::classify::ForestConfig forest;
  // The daemon's port names by port id: an endpoint whose interfaceName is
  // one of them lives on that port (EndpointMeta::port, source-address
  // validation). Empty names match nothing. Empty: no endpoint is located.
  std::vector<std::string> port_names;
};

absl::StatusOr<std::unique_ptr<dp::classify::Program>> Compile(const model::ResourceSet& resources,
                                                               const CompileOptions& options = {});

// Calico's flow-log name for a policy, as traces and flow logs show it:
// "tier.name", "ns/tier.name", "ns/knp.default.name", with "staged:" before
// the name part of a staged policy (see control/trace/trace.h).
std::string TraceName(const model::Policy& policy);

}  // namespace tierwall::ctl::compiler
