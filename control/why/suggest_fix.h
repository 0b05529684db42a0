// `twctl why`, part one: which policy decides a packet today, and the smallest
// staged change that gives the outcome the user wants.
//
// FindDecision compiles the current resources and traces the packet; the
// deciding point is the direction that must change (for a wanted allow: the
// first direction that denies, egress at the source before ingress at the
// destination; for a wanted deny: ingress at the destination when it is a
// known endpoint, else egress at the source) and, there, the last entry of
// the enforced trace: a policy's rule, a tier's end (rule -1, named after
// the first policy of the tier that applied) or a profile.
//
// SuggestFix turns that into YAML for `twctl stage -f -`:
//  - a Calico NetworkPolicy / GlobalNetworkPolicy decides: the same policy as
//    a StagedNetworkPolicy / StagedGlobalNetworkPolicy (`stagedAction: Set`,
//    same metadata name/namespace and spec; resourceVersion, uid and
//    creationTimestamp dropped) with ONE new rule in the deciding direction,
//    inserted before the deciding rule (appended for an end-of-tier
//    decision). The rule names the peer by its labels (`app`, then `k8s-app`,
//    then `app.kubernetes.io/name`, else all labels ANDed), adds a
//    namespaceSelector when the peer lives in another namespace than the
//    policy (`global()` for a host endpoint), or uses `nets: [<ip>/32]` when
//    the peer is no known endpoint; protocol and destination port come from
//    the packet.
//  - a profile, a Kubernetes NetworkPolicy, or nothing decides: a new staged
//    policy for the governed endpoint, placed in a tier the packet already
//    goes through, just before the point where it leaves that tier (for a
//    deny the first such tier, for an allow the deciding tier or else the
//    last one, so that earlier tiers keep their say). When no tier applies to
//    the endpoint, the first tier by order gets a policy whose rule is
//    followed by `action: Pass`, so everything else still reaches the
//    profiles as today. The explanation says which case applied.
// Every suggestion is verified: the resources plus the staged policy are
// compiled and the packet traced again; the pending verdict must be the
// wanted one (FAILED_PRECONDITION saying why otherwise, e.g. when both
// directions deny and one rule cannot fix both).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/model/resources.h"
#include "control/why/packet.h"

namespace tierwall::ctl::why {

// One entry of an enforced trace: <tier>|<policy trace name>|<action>|<rule>.
struct TraceStep {
  std::string tier;    // "__PROFILE__" for the profile stage
  std::string policy;  // trace name, e.g. "hipstershop/app-hipstershop.frontend"
  std::string action;  // "allow" | "deny" | "pass"
  int rule_index = 0;  // -1: the tier's default action (end of tier)
};

// A policy as the store names it.
struct PolicyRef {
  std::string kind;        // "NetworkPolicy", "GlobalNetworkPolicy", "KubernetesNetworkPolicy"
  std::string namespace_;  // "" for global policies
  std::string tier;
  std::string name;        // without the "<tier>." prefix (as in model::Policy)
  std::string trace_name;  // as traces show it
  // The metadata.name the store most likely holds: "<tier>.<name>" for Calico
  // policies, the plain name for Kubernetes ones. Calico accepts both forms;
  // SuggestFix accepts a document with either.
  std::string StoreName() const;
};

struct Decision {
  std::string verdict;  // today's overall enforced verdict: "allow" | "deny"
  model::Direction direction = model::Direction::kIngress;
  std::string endpoint;             // where it is decided: "<ns>/<name>" or a host endpoint's name
  std::vector<TraceStep> steps;     // the enforced trace there; steps.back() decides
  std::optional<PolicyRef> policy;  // the deciding (enforced) policy; unset for a profile
  // The other direction also stands against the wanted outcome (both deny):
  // no single rule can fix it.
  bool other_direction_too = false;

  const TraceStep& deciding() const { return steps.back(); }
  bool from_profile() const { return !policy.has_value(); }
};

// FAILED_PRECONDITION when the packet already gets `desired`, or when neither
// address is a known endpoint (nothing can allow it); errors from Compile as is.
absl::StatusOr<Decision> FindDecision(const model::ResourceSet& resources, const Packet& packet,
                                      Outcome desired);

struct Suggestion {
  std::string yaml;        // one document, ready for `twctl stage -f -`
  std::string kind;        // "StagedNetworkPolicy" | "StagedGlobalNetworkPolicy"
  std::string namespace_;  // "" for a global policy
  std::string name;        // metadata.name
  std::string direction;   // "ingress" | "egress"
  // e.g. "ingress rule 0: Allow TCP from app == 'loadgenerator' to port 8080"
  std::string rule_summary;
  bool verified = false;  // the pending trace gives the wanted outcome
  std::string explanation;
  Decision decision;  // what decides today
};

// `deciding_policy_yaml`: the current YAML document of the deciding policy
// (FindDecision(...).policy, as the store holds it); it may be empty when no
// Calico policy decides (profile, Kubernetes policy, nothing). INVALID_ARGUMENT
// when it is needed and missing or names another resource.
absl::StatusOr<Suggestion> SuggestFix(const model::ResourceSet& resources,
                                      const std::string& deciding_policy_yaml, const Packet& packet,
                                      Outcome desired);

}  // namespace tierwall::ctl::why
