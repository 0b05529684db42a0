// Rule lowering: one Calico rule -> the union of classifier boxes it matches.
//
// A rule is a conjunction (protocol AND ipVersion AND source AND destination
// AND icmp); each side is a union of (address set x port set) terms, because
// a named port couples a port to the addresses of the endpoints that name it.
// The boxes are the cross product of those terms' intervals, in raw field
// space; the caller fills in the chain range.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "control/compiler/resource_index.h"
#include "control/model/resources.h"
#include "dataplane/classify/rule_classifier.h"

namespace tierwall::ctl::compiler {

// Where the rule is evaluated: the side of the packet that is always the
// local endpoint (the destination for ingress rules, the source for egress
// rules) and the addresses of every endpoint whose chains use the rule. The
// local side's addresses are clipped to them: other addresses can never reach
// those chains, and clipping keeps named ports and wide matches from
// expanding into boxes nobody can hit.
struct LocalSide {
  bool is_destination = true;
  AddressSet addresses;
};

// Fails only when the rule would expand into more than max_boxes boxes.
absl::StatusOr<std::vector<dp::classify::RawBox>> LowerRule(const model::Rule& rule,
                                                            const Scope& scope,
                                                            const ResourceIndex& index,
                                                            const LocalSide& local,
                                                            size_t max_boxes);

}  // namespace tierwall::ctl::compiler
