#include "control/compiler/resource_index.h"

#include "control/compiler/entity_selector.h"

namespace tierwall::ctl::compiler {

namespace {

// Adds `labels` under `prefix` plus <prefix>projectcalico.org/name = name,
// as Calico's NamespaceToProfile / ServiceAccountToProfile do, without
// overriding keys already present.
void Inherit(std::string_view prefix, const std::string& name, const selector::Labels& labels,
             selector::Labels* out) {
  for (const auto& [k, v] : labels) out->emplace(std::string(prefix) + k, v);
  out->emplace(std::string(prefix) + std::string(kNameLabel), name);
}

}  // namespace

ResourceIndex::ResourceIndex(const model::ResourceSet& resources) : resources_(resources) {
  auto namespace_labels = [&](const std::string& ns) -> const selector::Labels* {
    for (const model::Namespace& n : resources.namespaces)
      if (n.name == ns) return &n.labels;
    return nullptr;
  };
  const selector::Labels no_labels;
  for (const model::Endpoint& e : resources.endpoints) {
    selector::Labels labels = e.labels;
    if (!e.namespace_.empty()) {
      labels[std::string(selector::kNamespaceLabel)] = e.namespace_;
      const selector::Labels* ns = namespace_labels(e.namespace_);
      Inherit(kNamespaceLabelPrefix, e.namespace_, ns ? *ns : no_labels, &labels);
    }
    if (!e.orchestrator.empty()) labels[std::string(kOrchestratorLabel)] = e.orchestrator;
    if (!e.service_account.empty()) {
      labels[std::string(kServiceAccountLabel)] = e.service_account;
      // A pod's service account always exists in Kubernetes; one that was not
      // loaded is taken as having no labels.
      const selector::Labels* sa_labels = &no_labels;
      for (const model::ServiceAccount& sa : resources.service_accounts)
        if (sa.name == e.service_account && sa.namespace_ == e.namespace_) sa_labels = &sa.labels;
      Inherit(kServiceAccountLabelPrefix, e.service_account, *sa_labels, &labels);
    }
    for (const std::string& name : e.profiles) {
      for (const model::Profile& p : resources.profiles) {
        if (p.name != name) continue;
        for (const auto& [k, v] : p.labels_to_apply) labels.emplace(k, v);
      }
    }
    endpoint_labels_.push_back(std::move(labels));
  }
  for (const model::NetworkSet& n : resources.network_sets) {
    selector::Labels labels = n.labels;
    if (!n.global) {
      labels[std::string(selector::kNamespaceLabel)] = n.namespace_;
      const selector::Labels* ns = namespace_labels(n.namespace_);
      Inherit(kNamespaceLabelPrefix, n.namespace_, ns ? *ns : no_labels, &labels);
    }
    netset_labels_.push_back(std::move(labels));
  }
}

std::vector<uint32_t> ResourceIndex::EndpointsSelected(const EntitySelector& sel) const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < endpoint_labels_.size(); ++i)
    if (!sel.has_positive() || sel.Selects(endpoint_labels_[i])) out.push_back(i);
  return out;
}

AddressSet ResourceIndex::AddressesSelected(const EntitySelector& sel) const {
  AddressSet out;
  for (uint32_t i : EndpointsSelected(sel))
    for (const auto& ip : resources_.endpoints[i].ips) out.Add(ip);
  for (uint32_t i = 0; i < netset_labels_.size(); ++i)
    if (!sel.has_positive() || sel.Selects(netset_labels_[i]))
      for (const auto& net : resources_.network_sets[i].nets) out.Add(net);
  return out;
}

AddressSet ResourceIndex::AddressesMatching(const selector::Selector& sel) const {
  AddressSet out;
  for (uint32_t i = 0; i < endpoint_labels_.size(); ++i)
    if (sel.Matches(endpoint_labels_[i]))
      for (const auto& ip : resources_.endpoints[i].ips) out.Add(ip);
  for (uint32_t i = 0; i < netset_labels_.size(); ++i)
    if (sel.Matches(netset_labels_[i]))
      for (const auto& net : resources_.network_sets[i].nets) out.Add(net);
  return out;
}

}  // namespace tierwall::ctl::compiler
