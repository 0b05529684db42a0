// `twctl why`, part two: which revision of the deciding policy introduced
// today's behaviour.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/why/packet.h"

namespace tierwall::ctl::why {

// The outcome of one version of the policy (nullopt: the policy does not
// exist), as a string that is equal for equal behaviour.
using OutcomeFn =
    std::function<absl::StatusOr<std::string>(const std::optional<std::string>& policy_yaml)>;

// `policy_yaml_by_revision`: the policy's versions, oldest first (nullopt =
// deleted at that revision). Returns the index of the oldest revision r such
// that every revision from r to the newest has the newest's outcome: the
// change that introduced today's behaviour (0 when it never changed).
// INVALID_ARGUMENT for an empty list; the newest revision's outcome error as
// is. An older revision whose outcome fails (it no longer loads or compiles
// against today's resources) counts as a different outcome.
absl::StatusOr<size_t> FindIntroducingRevision(
    const std::vector<std::optional<std::string>>& policy_yaml_by_revision,
    const OutcomeFn& outcome);

// An outcome function for one packet: loads `other_resource_docs` (the YAML of
// every other current resource, one or more documents each) plus the given
// policy version, compiles, traces the packet and describes the enforced
// decision: the verdict and, per evaluated direction, its verdict and the
// deciding tier, policy and rule, e.g.
//   "deny; egress allow by app-hipstershop|hipstershop/app-hipstershop.loadgenerator|rule 0;
//    ingress deny by app-hipstershop|hipstershop/app-hipstershop.frontend|end of tier"
// A load or compile error of the other resources is reported by every call.
OutcomeFn OutcomeForPacket(const std::vector<std::string>& other_resource_docs,
                           const Packet& packet);

}  // namespace tierwall::ctl::why
