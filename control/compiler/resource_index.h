// ResourceIndex: the facts about endpoints, network sets and namespaces that
// selectors are evaluated against, computed once per compile.
//
// Labels are what Felix's label index sees (see
// /work/shared/docs/calico-semantics.md and control/README.md):
//  - an endpoint's own labels, then projectcalico.org/orchestrator
//    (WorkloadEndpoints), projectcalico.org/namespace (namespaced things) and
//    projectcalico.org/serviceaccount;
//  - inherited, as from Calico's profiles: the namespace's labels prefixed
//    `pcns.` plus pcns.projectcalico.org/name (profile kns.<ns>; namespaced
//    network sets inherit it too), the service account's labels prefixed
//    `pcsa.` plus pcsa.projectcalico.org/name (profile ksa.<ns>.<sa>), and
//    the labelsToApply of Profile resources the endpoint names. Own labels
//    win, then the first profile that has the key.
// Which of those a rule or policy selects is EntitySelector's business.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control/compiler/interval_set.h"
#include "control/model/resources.h"

namespace tierwall::ctl::compiler {

inline constexpr std::string_view kNamespaceLabelPrefix = "pcns.";
inline constexpr std::string_view kServiceAccountLabelPrefix = "pcsa.";
inline constexpr std::string_view kServiceAccountLabel = "projectcalico.org/serviceaccount";
inline constexpr std::string_view kNameLabel = "projectcalico.org/name";
inline constexpr std::string_view kOrchestratorLabel = "projectcalico.org/orchestrator";

// Where a rule or policy lives: a namespace, or nowhere (global).
struct Scope {
  bool namespaced = false;
  std::string ns;
};

class EntitySelector;

class ResourceIndex {
 public:
  explicit ResourceIndex(const model::ResourceSet& resources);

  const model::ResourceSet& resources() const { return resources_; }
  const selector::Labels& EndpointLabels(uint32_t e) const { return endpoint_labels_[e]; }
  const selector::Labels& NetworkSetLabels(uint32_t n) const { return netset_labels_[n]; }

  // Endpoints (indices into ResourceSet::endpoints) that `sel` selects.
  std::vector<uint32_t> EndpointsSelected(const EntitySelector& sel) const;
  // Addresses of the endpoints and network sets that `sel` selects.
  AddressSet AddressesSelected(const EntitySelector& sel) const;
  // Addresses of every endpoint and network set whose labels match `sel`.
  AddressSet AddressesMatching(const selector::Selector& sel) const;

 private:
  const model::ResourceSet& resources_;
  std::vector<selector::Labels> endpoint_labels_;
  std::vector<selector::Labels> netset_labels_;
};

}  // namespace tierwall::ctl::compiler
