// ResourceIndex: the facts about endpoints, network sets and namespaces that
// selectors are evaluated against, computed once per compile.
//
// It owns the scoping rules shared by policy applicability and rule entity
// matching (see /work/shared/docs/calico-semantics.md):
//  - effective labels: an endpoint's labels plus projectcalico.org/namespace
//    (namespaced things), projectcalico.org/serviceaccount and its profiles'
//    labelsToApply;
//  - a namespaceSelector matches namespaced things whose namespace's labels
//    (plus projectcalico.org/name) it matches, except that exactly `global()`
//    matches the non-namespaced things;
//  - rule selectors without a namespaceSelector see their policy's namespace
//    (namespaced policies) or everything (global policies and profiles).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/compiler/interval_set.h"
#include "control/model/resources.h"

namespace tierwall::ctl::compiler {

// Where a rule or policy lives: a namespace, or nowhere (global).
struct Scope {
  bool namespaced = false;
  std::string ns;
};

// A thing rule selectors can pick: an endpoint or a network set.
struct Candidate {
  enum Kind { kEndpoint, kNetworkSet } kind;
  uint32_t index;  // into ResourceSet::endpoints or ::network_sets
};

class ResourceIndex {
 public:
  explicit ResourceIndex(const model::ResourceSet& resources);

  const model::ResourceSet& resources() const { return resources_; }
  const selector::Labels& EndpointLabels(uint32_t e) const { return endpoint_labels_[e]; }
  const selector::Labels& NetworkSetLabels(uint32_t n) const { return netset_labels_[n]; }
  const selector::Labels& NamespaceLabels(const std::string& ns) const;

  // Does namespaceSelector `sel` match a thing living in `ns` (empty = global)?
  bool NamespaceSelectorMatches(const selector::Selector& sel, const std::string& ns) const;

  // The things a rule entity may select (before its own selector).
  std::vector<Candidate> Candidates(
      const Scope& scope, const std::optional<selector::Selector>& namespace_selector) const;

  // Addresses of the candidates whose effective labels match `sel`.
  AddressSet AddressesMatching(const std::vector<Candidate>& candidates,
                               const selector::Selector& sel) const;

 private:
  const model::ResourceSet& resources_;
  std::vector<selector::Labels> endpoint_labels_;
  std::vector<selector::Labels> netset_labels_;
  std::vector<std::pair<std::string, selector::Labels>> namespace_labels_;  // sorted by name
  selector::Labels scratch_namespace_labels_;
};

}  // namespace tierwall::ctl::compiler
