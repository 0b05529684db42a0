// Which endpoints and network sets a policy or a rule side selects, computed
// the way Calico computes it, as predicates over Felix's labels (see
// ResourceIndex: own labels + projectcalico.org/* + inherited `pcns.` and
// `pcsa.` labels).
//
// Calico turns every v3 selector field into one v1 selector string before
// Felix sees it:
//  - rules (libcalico-go updateprocessors/rules.go, getEndpointSelector): the
//    positive selector is the AND of the namespace part (the prefixed
//    namespaceSelector, else `projectcalico.org/namespace == '<ns>'` in a
//    namespaced policy), the service account part and `selector`; the
//    namespace part is added as soon as *any* selector field is set,
//    notSelector included, so a namespaced rule with only a notSelector still
//    selects only its namespace. Felix (calc/rule_scanner.go,
//    combineMatchesIfPossible) then folds notSelector into that positive
//    selector; only a side with no positive selector subtracts the
//    notSelector's addresses, and then over every namespace.
//  - policies (networkpolicyprocessor.go, globalnetworkpolicyprocessor.go):
//    selector AND namespace part AND the `pcsa.`-prefixed
//    serviceAccountSelector.
// Keeping those as a list of parts, rather than rendering strings, avoids
// re-parsing and quoting namespace names.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/model/resources.h"

namespace tierwall::ctl::compiler {

struct Scope;

// A conjunction of selector parts; `negated`, when set, must not match.
class EntitySelector {
 public:
  // True when Calico renders a positive selector for this side; otherwise
  // the side is not limited to known endpoints (only `negated` applies).
  bool has_positive() const { return has_positive_; }
  const std::optional<selector::Selector>& negated() const { return negated_; }

  // The positive selector and not the negated one (combineMatchesIfPossible).
  // Only meaningful when has_positive().
  bool Selects(const selector::Labels& labels) const;

  // A rule side (EntityRule) in `scope`.
  static EntitySelector ForRuleSide(const model::EntityRule& side, const Scope& scope);
  // The endpoints a policy applies to (types are checked by the caller).
  static EntitySelector ForPolicy(const model::Policy& policy);

 private:
  bool has_positive_ = false;
  std::optional<std::string> in_namespace_;    // projectcalico.org/namespace == ns
  std::vector<std::string> service_accounts_;  // projectcalico.org/serviceaccount in {...}
  std::vector<selector::Selector> all_of_;
  std::optional<selector::Selector> negated_;
};

}  // namespace tierwall::ctl::compiler
