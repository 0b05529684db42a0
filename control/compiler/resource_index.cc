#include "control/compiler/resource_index.h"

#include <algorithm>

namespace tierwall::ctl::compiler {

namespace {
constexpr char kServiceAccountLabel[] = "projectcalico.org/serviceaccount";
constexpr char kNameLabel[] = "projectcalico.org/name";
}  // namespace

ResourceIndex::ResourceIndex(const model::ResourceSet& resources) : resources_(resources) {
  for (const model::Endpoint& e : resources.endpoints) {
    // The endpoint's own labels win, then its profiles' labelsToApply in
    // profile order (the first profile that has a label wins), as Felix's
    // label inheritance index resolves them.
    selector::Labels labels = e.labels;
    for (const std::string& name : e.profiles) {
      for (const model::Profile& p : resources.profiles) {
        if (p.name != name) continue;
        for (const auto& [k, v] : p.labels_to_apply) labels.emplace(k, v);
      }
    }
    if (!e.namespace_.empty()) labels[std::string(selector::kNamespaceLabel)] = e.namespace_;
    if (!e.service_account.empty()) labels[kServiceAccountLabel] = e.service_account;
    endpoint_labels_.push_back(std::move(labels));
  }
  for (const model::NetworkSet& n : resources.network_sets) {
    selector::Labels labels = n.labels;
    if (!n.global) labels[std::string(selector::kNamespaceLabel)] = n.namespace_;
    netset_labels_.push_back(std::move(labels));
  }
  // Every namespace that anything lives in, with or without a Namespace resource.
  auto add_namespace = [&](const std::string& ns) {
    if (ns.empty()) return;
    for (const auto& [name, _] : namespace_labels_)
      if (name == ns) return;
    selector::Labels labels;
    for (const model::Namespace& n : resources.namespaces)
      if (n.name == ns) labels = n.labels;
    labels[kNameLabel] = ns;
    namespace_labels_.emplace_back(ns, std::move(labels));
  };
  for (const model::Namespace& n : resources.namespaces) add_namespace(n.name);
  for (const model::Endpoint& e : resources.endpoints) add_namespace(e.namespace_);
  for (const model::NetworkSet& n : resources.network_sets) add_namespace(n.namespace_);
  std::sort(namespace_labels_.begin(), namespace_labels_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

const selector::Labels& ResourceIndex::NamespaceLabels(const std::string& ns) const {
  auto it = std::lower_bound(namespace_labels_.begin(), namespace_labels_.end(), ns,
                             [](const auto& a, const std::string& b) { return a.first < b; });
  if (it != namespace_labels_.end() && it->first == ns) return it->second;
  return scratch_namespace_labels_;  // empty: callers only ask for known namespaces
}

bool ResourceIndex::NamespaceSelectorMatches(const selector::Selector& sel,
                                             const std::string& ns) const {
  if (sel.IsGlobalOnly()) return ns.empty();
  return !ns.empty() && sel.Matches(NamespaceLabels(ns));
}

std::vector<Candidate> ResourceIndex::Candidates(
    const Scope& scope, const std::optional<selector::Selector>& namespace_selector) const {
  auto visible = [&](const std::string& ns) {
    if (namespace_selector) return NamespaceSelectorMatches(*namespace_selector, ns);
    if (scope.namespaced) return ns == scope.ns;
    return true;
  };
  std::vector<Candidate> out;
  for (uint32_t i = 0; i < resources_.endpoints.size(); ++i)
    if (visible(resources_.endpoints[i].namespace_)) out.push_back({Candidate::kEndpoint, i});
  for (uint32_t i = 0; i < resources_.network_sets.size(); ++i) {
    const model::NetworkSet& n = resources_.network_sets[i];
    if (visible(n.global ? std::string() : n.namespace_))
      out.push_back({Candidate::kNetworkSet, i});
  }
  return out;
}

AddressSet ResourceIndex::AddressesMatching(const std::vector<Candidate>& candidates,
                                            const selector::Selector& sel) const {
  AddressSet out;
  for (const Candidate& c : candidates) {
    if (c.kind == Candidate::kEndpoint) {
      if (!sel.Matches(endpoint_labels_[c.index])) continue;
      for (const auto& ip : resources_.endpoints[c.index].ips) out.Add(ip);
    } else {
      if (!sel.Matches(netset_labels_[c.index])) continue;
      for (const auto& net : resources_.network_sets[c.index].nets) out.Add(net);
    }
  }
  return out;
}

}  // namespace tierwall::ctl::compiler
