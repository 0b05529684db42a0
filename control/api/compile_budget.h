// How much compile work one policy document asks for, estimated before any
// compile runs, so that a policy an ordinary tier editor may write cannot
// make every apply and dry run take minutes and gigabytes.
//
// The estimate is the number of classifier boxes the rules lower to if every
// list multiplies with every other (compiler/rule_lowering.h: a rule's boxes
// are the cross product of its terms' intervals): per rule, protocols x
// remote addresses x source ports x destination ports, where a list of n nets
// or ports counts n, its not* form n + 1 (the complement's pieces), and an
// absent one 1; summed over ingress and egress rules. The local side's
// addresses are not counted: the compiler clips them to the endpoints the
// rule protects. Selectors and named
// ports are not counted (their size depends on the endpoints, not on the
// document). It bounds what one document can ask for; the daemon's real
// compile may do less (adjacent ranges merge).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace tierwall::ctl::api {

// The default of --api-max-policy-boxes: about 1 s and 175 MB of compile on
// the reference machine (a policy of 4 rules x 250 nets x 250 ports; 1,000,000
// took 4.2 s and 605 MB). The shop's policies estimate under 100 each.
inline constexpr uint64_t kDefaultMaxPolicyBoxes = 250'000;

// The estimate for one YAML document (0 for a document with no rules, or one
// that does not parse: the loader reports that better).
uint64_t EstimatePolicyBoxes(const std::string& yaml_document);

// RESOURCE_EXHAUSTED naming the policy, its estimate and the budget when the
// document's estimate is over `budget` (0: no budget). `*request_total`, when
// given, sums the estimates of one request's documents: over the budget, the
// refusal names the request's total.
absl::Status CheckCompileBudget(const std::string& yaml_document, const std::string& name,
                                uint64_t budget, uint64_t* request_total = nullptr);

}  // namespace tierwall::ctl::api
