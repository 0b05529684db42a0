#include "control/compiler/entity_selector.h"

#include <algorithm>

#include "control/compiler/resource_index.h"

namespace tierwall::ctl::compiler {

bool EntitySelector::Selects(const selector::Labels& labels) const {
  if (in_namespace_) {
    auto it = labels.find(selector::kNamespaceLabel);
    if (it == labels.end() || it->second != *in_namespace_) return false;
  }
  if (!service_accounts_.empty()) {
    auto it = labels.find(kServiceAccountLabel);
    if (it == labels.end() || std::find(service_accounts_.begin(), service_accounts_.end(),
                                        it->second) == service_accounts_.end()) {
      return false;
    }
  }
  for (const selector::Selector& s : all_of_)
    if (!s.Matches(labels)) return false;
  return !(negated_ && negated_->Matches(labels));
}

namespace {

// In the v3 API a selector field is a string and "" means unset.
std::optional<selector::Selector> Given(const std::optional<selector::Selector>& s) {
  if (s && s->text().empty()) return std::nullopt;
  return s;
}

}  // namespace

EntitySelector EntitySelector::ForRuleSide(const model::EntityRule& rule_side, const Scope& scope) {
  model::EntityRule side;
  side.selector = Given(rule_side.selector);
  side.not_selector = Given(rule_side.not_selector);
  side.namespace_selector = Given(rule_side.namespace_selector);
  side.service_accounts = rule_side.service_accounts;
  if (side.service_accounts)
    side.service_accounts->selector = Given(side.service_accounts->selector);
  EntitySelector out;
  const bool has_sa = side.service_accounts.has_value() &&
                      (!side.service_accounts->names.empty() || side.service_accounts->selector);
  const bool has_namespace_part = side.namespace_selector.has_value() || scope.namespaced;
  out.has_positive_ = side.selector.has_value() || has_sa ||
                      (has_namespace_part && (side.not_selector || side.namespace_selector));
  out.negated_ = side.not_selector;
  if (!out.has_positive_) return out;
  if (side.namespace_selector) {
    out.all_of_.push_back(
        side.namespace_selector->WithKeyPrefix(kNamespaceLabelPrefix, selector::kNamespaceLabel));
  } else if (scope.namespaced) {
    out.in_namespace_ = scope.ns;
  }
  if (has_sa) {
    const model::ServiceAccountMatch& sa = *side.service_accounts;
    if (sa.selector) out.all_of_.push_back(sa.selector->WithKeyPrefix(kServiceAccountLabelPrefix));
    out.service_accounts_ = sa.names;
  }
  if (side.selector) out.all_of_.push_back(*side.selector);
  return out;
}

EntitySelector EntitySelector::ForPolicy(const model::Policy& p) {
  EntitySelector out;
  out.has_positive_ = true;
  const bool global = p.kind == model::PolicyKind::kGlobalNetworkPolicy;
  const std::optional<selector::Selector> ns_sel = Given(p.namespace_selector);
  const std::optional<selector::Selector> sa_sel = Given(p.service_account_selector);
  selector::Selector sel = p.selector;
  // The global processor rewrites all() with a string replace over the
  // selector built so far, so an all() the user wrote in `selector` changes
  // too; an omitted selector is not rendered at all.
  if (global && !sel.text().empty()) {
    if (ns_sel) sel = sel.WithKeyPrefix("", selector::kNamespaceLabel);
    if (sa_sel) sel = sel.WithKeyPrefix("", kServiceAccountLabel);
  }
  out.all_of_.push_back(std::move(sel));
  if (!global) out.in_namespace_ = p.namespace_;
  if (global && ns_sel) {
    out.all_of_.push_back(ns_sel->WithKeyPrefix(kNamespaceLabelPrefix, selector::kNamespaceLabel));
  }
  if (sa_sel) {
    // Only the global processor rewrites all() here ("has a service account").
    out.all_of_.push_back(
        sa_sel->WithKeyPrefix(kServiceAccountLabelPrefix, global ? kServiceAccountLabel : ""));
  }
  return out;
}

}  // namespace tierwall::ctl::compiler
