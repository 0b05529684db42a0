// The reference evaluator. Each step cites the rule it implements:
//   [doc:X]   shared/docs/calico-semantics.md, section X
//   [brief:X] the project's shared semantic decisions (helper brief), item X
//
// Shape of the computation, per packet:
//   1. Find the endpoints owning the source and destination addresses
//      (linear scan of every endpoint's IPs).                    [brief:known]
//   2. Egress at the source endpoint, ingress at the destination endpoint, each
//      twice: enforced view and pending view.           [doc:Evaluation][doc:Staged]
//   3. One direction = the tiers in order, each tier taking part only when one
//      of its policies applies to the endpoint; then the profile stage.
//   4. A rule matches when every criterion it has matches. Set membership
//      ("address in the IPs selected by this selector") is decided pointwise:
//      x is in {IPs of matching candidate endpoints} ∪ {nets of matching candidate
//      network sets} iff the endpoint owning x is a matching candidate, or some
//      matching candidate network set has a net containing x. Addresses are
//      unique per endpoint (the compiler rejects duplicates), so this is the
//      same set the definition describes, without materialising it.
//
// Nothing is cached across calls, and nothing here is clever on purpose.

#include "tests/reference/reference_evaluator.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tierwall::test {
namespace {

using ctl::model::Action;
using ctl::model::Direction;
using ctl::model::Endpoint;
using ctl::model::EndpointKind;
using ctl::model::EntityRule;
using ctl::model::IcmpMatch;
using ctl::model::Labels;
using ctl::model::NetworkSet;
using ctl::model::Policy;
using ctl::model::PolicyKind;
using ctl::model::PortList;
using ctl::model::Profile;
using ctl::model::ResourceSet;
using ctl::model::Rule;
using ctl::model::Selector;
using ctl::model::StagedAction;
using ctl::model::Tier;
using dp::classify::Family;
using dp::classify::IpAddr;
using dp::classify::PacketKey;

constexpr std::string_view kNamespaceLabel = "projectcalico.org/namespace";
constexpr std::string_view kServiceAccountLabel = "projectcalico.org/serviceaccount";
constexpr std::string_view kNameLabel = "projectcalico.org/name";
constexpr double kDefaultTierOrder = 1e6;

// ---------------------------------------------------------------------------
// Lookups (linear).
// ---------------------------------------------------------------------------

const Profile* FindProfile(const ResourceSet& rs, std::string_view name) {
  for (const Profile& p : rs.profiles) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const Endpoint* FindEndpointByIp(const ResourceSet& rs, const IpAddr& ip) {
  for (const Endpoint& e : rs.endpoints) {
    for (const IpAddr& own : e.ips) {
      if (own == ip) return &e;
    }
  }
  return nullptr;
}

std::string EndpointName(const Endpoint& e) {
  // [brief:Trace names] "<ns>/<name>" for workloads, the bare name for hosts.
  if (e.kind == EndpointKind::kWorkload) return e.namespace_ + "/" + e.name;
  return e.name;
}

// ---------------------------------------------------------------------------
// Labels.
// ---------------------------------------------------------------------------

// [doc:Evaluation 5] Felix's labels: own labels, projectcalico.org/namespace
// and projectcalico.org/serviceaccount, then what the profiles give:
// kns.<ns> = the Namespace's labels prefixed "pcns." + pcns.projectcalico.org/name
// (libcalico-go NamespaceToProfile), ksa.<ns>.<sa> = the ServiceAccount's
// labels prefixed "pcsa." + pcsa.projectcalico.org/name
// (ServiceAccountToProfile), and labelsToApply of Profile resources. Own labels
// win; among profiles the first that has the key.
void AddPrefixed(const Labels& from, const std::string& prefix, const std::string& name,
                 Labels* out) {
  for (const auto& [k, v] : from) out->emplace(prefix + k, v);
  out->emplace(prefix + std::string(kNameLabel), name);
}

Labels NamespaceLabels(const ResourceSet& rs, const std::string& ns) {
  Labels labels;
  for (const auto& n : rs.namespaces) {
    if (n.name == ns) labels = n.labels;
  }
  return labels;
}

Labels ServiceAccountLabels(const ResourceSet& rs, const std::string& ns, const std::string& sa) {
  for (const auto& a : rs.service_accounts) {
    if (a.namespace_ == ns && a.name == sa) return a.labels;
  }
  return {};  // a pod's service account exists; one not loaded has no labels
}

Labels EffectiveLabels(const ResourceSet& rs, const Endpoint& e) {
  Labels labels = e.labels;
  if (!e.namespace_.empty()) labels[std::string(kNamespaceLabel)] = e.namespace_;
  if (!e.service_account.empty()) labels[std::string(kServiceAccountLabel)] = e.service_account;
  // libcalico-go updateLabelsForStorage: the orchestrator as a label.
  if (!e.orchestrator.empty()) labels["projectcalico.org/orchestrator"] = e.orchestrator;
  if (!e.namespace_.empty()) {
    AddPrefixed(NamespaceLabels(rs, e.namespace_), "pcns.", e.namespace_, &labels);
  }
  if (!e.service_account.empty()) {
    AddPrefixed(ServiceAccountLabels(rs, e.namespace_, e.service_account), "pcsa.",
                e.service_account, &labels);
  }
  for (const std::string& profile_name : e.profiles) {
    const Profile* profile = FindProfile(rs, profile_name);
    if (profile == nullptr) continue;
    for (const auto& [key, value] : profile->labels_to_apply) labels.emplace(key, value);
  }
  return labels;
}

// NetworkSet: its labels, the namespace label and the kns.<ns> profile's.
Labels NetworkSetLabels(const ResourceSet& rs, const NetworkSet& ns) {
  Labels labels = ns.labels;
  if (!ns.namespace_.empty()) {
    labels[std::string(kNamespaceLabel)] = ns.namespace_;
    AddPrefixed(NamespaceLabels(rs, ns.namespace_), "pcns.", ns.namespace_, &labels);
  }
  return labels;
}

// ---------------------------------------------------------------------------
// Selector text, built the way libcalico-go builds Felix's v1 selectors
// (updateprocessors/selectors.go, rules.go, *networkpolicyprocessor.go).
// ---------------------------------------------------------------------------

// Parenthesised as libcalico-go's selector String() renders && and ||.
std::string Paren(const std::string& s) { return "(" + s + ")"; }

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// parseSelectorAttachPrefix.
std::string AttachPrefix(const Selector& sel, const std::string& prefix) {
  return Paren(sel.WithKeyPrefix(prefix).Canonical());
}

// prefixAndAppendSelector.
std::string PrefixAndAppend(const std::string& current, const Selector& sel,
                            const std::string& prefix) {
  const std::string prefixed = AttachPrefix(sel, prefix);
  return current.empty() ? prefixed : Paren(current) + " && " + prefixed;
}

std::string Given(const std::optional<Selector>& s) { return s.has_value() ? s->text() : ""; }

// parseServiceAccounts.
std::string ServiceAccountSelectorText(const ctl::model::ServiceAccountMatch& sam) {
  std::string updated;
  if (sam.selector.has_value() && !sam.selector->text().empty()) {
    updated = AttachPrefix(*sam.selector, "pcsa.");
  }
  if (sam.names.empty()) return updated;
  std::string names =
      std::string(kServiceAccountLabel) + " in { '" + absl::StrJoin(sam.names, "', '") + "' }";
  return updated.empty() ? names : Paren(updated) + " && " + Paren(names);
}

// getEndpointSelector: the positive selector of a rule side ("" = none).
std::string EntityRuleSelectorText(const EntityRule& er, const std::string& policy_namespace) {
  std::string ns_selector;
  if (!Given(er.namespace_selector).empty()) {
    ns_selector = AttachPrefix(*er.namespace_selector, "pcns.");
    ns_selector = ReplaceAll(ns_selector, "all()", "has(projectcalico.org/namespace)");
    ns_selector = ReplaceAll(ns_selector, "global()", "!has(projectcalico.org/namespace)");
  } else if (!policy_namespace.empty()) {
    ns_selector = std::string(kNamespaceLabel) + " == '" + policy_namespace + "'";
  }
  std::vector<std::string> selectors;
  if (er.service_accounts.has_value()) {
    std::string sa = ServiceAccountSelectorText(*er.service_accounts);
    if (!sa.empty()) selectors.push_back(sa);
  }
  if (!Given(er.selector).empty()) selectors.push_back(Given(er.selector));
  std::string selector;
  if (selectors.size() == 1) selector = selectors[0];
  if (selectors.size() > 1) selector = "(" + absl::StrJoin(selectors, ") && (") + ")";
  if (!ns_selector.empty() && (!selector.empty() || !Given(er.not_selector).empty() ||
                               !Given(er.namespace_selector).empty())) {
    selector = selector.empty() ? ns_selector : Paren(ns_selector) + " && " + Paren(selector);
  }
  return selector;
}

Selector MustParse(const std::string& text) {
  auto s = Selector::Parse(text);
  if (!s.ok()) {
    // Only a test helper: a selector built from valid parts must parse.
    std::abort();
  }
  return *s;
}

// ---------------------------------------------------------------------------
// Rule matching.
// ---------------------------------------------------------------------------

// Where a rule lives. [doc:Policies and rules]
struct RuleScope {
  // Non-empty for NetworkPolicy / Kubernetes NetworkPolicy rules; empty for
  // GlobalNetworkPolicy and Profile rules.
  std::string policy_namespace;
};

// One side (source or destination) of the packet, with its owner resolved.
struct Side {
  IpAddr addr;
  uint16_t port = 0;
  const Endpoint* owner = nullptr;  // endpoint whose IPs include addr
  Labels owner_labels;              // its effective labels
};

// Felix's view of one rule side (rule_scanner.go): the positive selector with
// the notSelector folded in (combineMatchesIfPossible), or, when there is no
// positive selector, the notSelector alone.
struct SideSelectors {
  std::optional<Selector> positive;
  std::optional<Selector> negative;
};

SideSelectors SelectorsOf(const EntityRule& er, const RuleScope& scope) {
  SideSelectors out;
  std::string positive = EntityRuleSelectorText(er, scope.policy_namespace);
  std::string negative = Given(er.not_selector);
  if (!positive.empty() && !negative.empty()) {
    positive = Paren(positive) + " && !" + Paren(negative);
    negative.clear();
  }
  if (!positive.empty()) out.positive = MustParse(positive);
  if (!negative.empty()) out.negative = MustParse(negative);
  return out;
}

// "address in the IP set of selector `sel`": the IPs of every endpoint whose
// labels match plus the nets of every network set whose labels match.
bool InSelectorSet(const ResourceSet& rs, const Selector& sel, const Side& side) {
  if (side.owner != nullptr && sel.Matches(side.owner_labels)) return true;
  for (const NetworkSet& set : rs.network_sets) {
    bool contains = false;
    for (const auto& net : set.nets) contains = contains || net.Contains(side.addr);
    if (contains && sel.Matches(NetworkSetLabels(rs, set))) return true;
  }
  return false;
}

// [brief:Ports] a port matches a list if it is in any numeric range, or if
// (address, protocol, port) is a named port of an endpoint the positive
// selector matches (any endpoint when there is none): Felix's named-port IP
// sets, whose protocol is the rule's, or the named port's own when the rule
// has none.
bool PortListMatches(const SideSelectors& sels, const PortList& list,
                     std::optional<uint8_t> rule_protocol, uint8_t packet_protocol,
                     const Side& side) {
  for (const auto& range : list.ranges) {
    if (side.port >= range.first && side.port <= range.last) return true;
  }
  if (list.names.empty() || side.owner == nullptr) return false;
  if (rule_protocol.has_value() && *rule_protocol != packet_protocol) return false;
  if (sels.positive.has_value() && !sels.positive->Matches(side.owner_labels)) return false;
  for (const std::string& name : list.names) {
    for (const auto& named : side.owner->ports) {
      if (named.name == name && named.protocol == packet_protocol && named.port == side.port) {
        return true;
      }
    }
  }
  return false;
}

// [brief:Rule entity] all criteria of an EntityRule, ANDed. [doc:Policies and rules]
bool EntityMatches(const ResourceSet& rs, const RuleScope& scope, const EntityRule& er,
                   std::optional<uint8_t> rule_protocol, uint8_t packet_protocol,
                   const Side& side) {
  // nets: any-of.
  if (!er.nets.empty()) {
    bool any = false;
    for (const auto& net : er.nets) any = any || net.Contains(side.addr);
    if (!any) return false;
  }
  // notNets: none-of.
  for (const auto& net : er.not_nets) {
    if (net.Contains(side.addr)) return false;
  }
  // selector, namespaceSelector, serviceAccounts and notSelector, as Felix
  // sees them: in the positive set, or (no positive set) not in the negative.
  const SideSelectors sels = SelectorsOf(er, scope);
  if (sels.positive.has_value() && !InSelectorSet(rs, *sels.positive, side)) return false;
  if (sels.negative.has_value() && InSelectorSet(rs, *sels.negative, side)) return false;
  // ports / notPorts.
  if (!er.ports.empty() && !PortListMatches(sels, er.ports, rule_protocol, packet_protocol, side)) {
    return false;
  }
  if (!er.not_ports.empty() &&
      PortListMatches(sels, er.not_ports, rule_protocol, packet_protocol, side)) {
    return false;
  }
  return true;
}

// [brief:ICMP] type travels in src_port, code in dst_port; icmp matches the
// type and, when set, the code.
bool IcmpMatches(const IcmpMatch& m, const PacketKey& pkt) {
  if (m.type.has_value() && pkt.src_port != *m.type) return false;
  if (m.code.has_value() && pkt.dst_port != *m.code) return false;
  return true;
}

// [brief:ipVersion, protocol, ICMP] + [doc:Policies and rules] (HTTP ignored at L4).
bool RuleMatches(const ResourceSet& rs, const RuleScope& scope, const Rule& rule,
                 const PacketKey& pkt, const Side& src, const Side& dst) {
  if (rule.protocol.has_value() && pkt.proto != *rule.protocol) return false;
  if (rule.not_protocol.has_value() && pkt.proto == *rule.not_protocol) return false;
  if (rule.icmp.has_value() && !IcmpMatches(*rule.icmp, pkt)) return false;
  if (rule.not_icmp.has_value() && IcmpMatches(*rule.not_icmp, pkt)) return false;
  if (rule.ip_version.has_value()) {
    const int family = pkt.src.family == Family::kV4 ? 4 : 6;
    if (*rule.ip_version != family) return false;
  }
  if (!EntityMatches(rs, scope, rule.source, rule.protocol, pkt.proto, src)) return false;
  if (!EntityMatches(rs, scope, rule.destination, rule.protocol, pkt.proto, dst)) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Policies, views, ordering.
// ---------------------------------------------------------------------------

bool IsNamespacedKind(PolicyKind k) { return k != PolicyKind::kGlobalNetworkPolicy; }

// [brief:Policy applies] direction in types, and the endpoint matches the
// policy's v1 selector as libcalico-go builds it: networkpolicyprocessor.go
// (namespaced kinds; Kubernetes policies arrive converted) and
// globalnetworkpolicyprocessor.go (whose all() rewrites apply to the whole
// string built so far).
std::string PolicySelectorText(const Policy& p) {
  std::string sel = p.selector.text();
  if (IsNamespacedKind(p.kind)) {
    const std::string ns = std::string(kNamespaceLabel) + " == '" + p.namespace_ + "'";
    sel = sel.empty() ? ns : Paren(sel) + " && " + ns;
    if (p.service_account_selector.has_value() && !p.service_account_selector->text().empty()) {
      sel = PrefixAndAppend(sel, *p.service_account_selector, "pcsa.");
    }
    return sel;
  }
  if (p.namespace_selector.has_value() && !p.namespace_selector->text().empty()) {
    sel = PrefixAndAppend(sel, *p.namespace_selector, "pcns.");
    sel = ReplaceAll(sel, "all()", "has(projectcalico.org/namespace)");
  }
  if (p.service_account_selector.has_value() && !p.service_account_selector->text().empty()) {
    sel = PrefixAndAppend(sel, *p.service_account_selector, "pcsa.");
    sel = ReplaceAll(sel, "all()", "has(projectcalico.org/serviceaccount)");
  }
  return sel;
}

bool PolicyApplies(const Policy& p, const Labels& labels, Direction d) {
  if (d == Direction::kIngress ? !p.applies_ingress : !p.applies_egress) return false;
  return MustParse(PolicySelectorText(p)).Matches(labels);
}

// [brief:Staged] identity of a policy for Set/Delete: (kind, namespace, tier, name).
bool SameIdentity(const Policy& a, const Policy& b) {
  return a.kind == b.kind && a.namespace_ == b.namespace_ && a.tier == b.tier && a.name == b.name;
}

// [doc:Staged] the enforced view: every non-staged policy.
std::vector<const Policy*> EnforcedView(const ResourceSet& rs) {
  std::vector<const Policy*> view;
  for (const Policy& p : rs.policies) {
    if (!p.staged) view.push_back(&p);
  }
  return view;
}

// [brief:Staged] the pending view: enforced, then each staged policy in turn:
// Set replaces the same-identity policy or adds itself; Delete removes it;
// Learn / Ignore change nothing.
std::vector<const Policy*> PendingView(const ResourceSet& rs) {
  std::vector<const Policy*> view = EnforcedView(rs);
  for (const Policy& staged : rs.policies) {
    if (!staged.staged) continue;
    if (staged.staged_action != StagedAction::kSet &&
        staged.staged_action != StagedAction::kDelete) {
      continue;
    }
    auto same = std::find_if(view.begin(), view.end(),
                             [&](const Policy* p) { return SameIdentity(*p, staged); });
    if (staged.staged_action == StagedAction::kSet) {
      if (same != view.end()) {
        *same = &staged;
      } else {
        view.push_back(&staged);
      }
    } else if (same != view.end()) {
      view.erase(same);
    }
  }
  return view;
}

const char* KindName(PolicyKind k) {
  switch (k) {
    case PolicyKind::kNetworkPolicy: return "NetworkPolicy";
    case PolicyKind::kGlobalNetworkPolicy: return "GlobalNetworkPolicy";
    case PolicyKind::kKubernetesNetworkPolicy: return "KubernetesNetworkPolicy";
  }
  return "?";
}

// [brief:Policy order] ties are broken by "name/namespace/kind", name being
// knp.default.<name> for Kubernetes policies.
std::string PolicyTieKey(const Policy& p) {
  std::string name =
      p.kind == PolicyKind::kKubernetesNetworkPolicy ? "knp.default." + p.name : p.name;
  return name + "/" + p.namespace_ + "/" + KindName(p.kind);
}

double OrderOrLast(const std::optional<double>& order) {
  return order.has_value() ? *order : std::numeric_limits<double>::infinity();
}

// [doc:Tiers][brief:Tier order] order ascending, unset last, ties by name.
bool PolicyBefore(const Policy* a, const Policy* b) {
  return std::make_tuple(OrderOrLast(a->order), PolicyTieKey(*a)) <
         std::make_tuple(OrderOrLast(b->order), PolicyTieKey(*b));
}

// [brief:Trace names]
std::string PolicyTraceName(const Policy& p) {
  const std::string staged = p.staged ? "staged:" : "";
  switch (p.kind) {
    case PolicyKind::kGlobalNetworkPolicy: return p.tier + "." + staged + p.name;
    case PolicyKind::kNetworkPolicy: return p.namespace_ + "/" + p.tier + "." + staged + p.name;
    case PolicyKind::kKubernetesNetworkPolicy:
      return p.namespace_ + "/" + staged + "knp.default." + p.name;
  }
  return "?";
}

// [doc:Tiers][brief:Tier order] every Tier resource plus `default` (order 1e6,
// Deny) unless given; order ascending, unset last, ties by name.
std::vector<Tier> OrderedTiers(const ResourceSet& rs) {
  std::vector<Tier> tiers = rs.tiers;
  bool has_default = false;
  for (const Tier& t : tiers) has_default = has_default || t.name == "default";
  if (!has_default) {
    Tier def;
    def.name = "default";
    def.order = kDefaultTierOrder;
    def.default_action = Action::kDeny;
    tiers.push_back(def);
  }
  std::sort(tiers.begin(), tiers.end(), [](const Tier& a, const Tier& b) {
    return std::make_tuple(OrderOrLast(a.order), a.name) <
           std::make_tuple(OrderOrLast(b.order), b.name);
  });
  return tiers;
}

const char* ActionWord(Action a) {
  switch (a) {
    case Action::kAllow: return "allow";
    case Action::kDeny: return "deny";
    case Action::kPass: return "pass";
    case Action::kLog: return "log";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// One direction at one endpoint in one view.
// ---------------------------------------------------------------------------

struct DirectionResult {
  bool allow = false;
  std::vector<std::string> trace;
};

void AddEntry(DirectionResult* r, const std::string& tier, const std::string& name, Action action,
              int rule_index) {
  // [brief:Trace entry] <i>|<tier>|<name>|<action>|<rule index>
  r->trace.push_back(absl::StrCat(r->trace.size(), "|", tier, "|", name, "|", ActionWord(action),
                                  "|", rule_index));
}

DirectionResult EvaluateDirection(const ResourceSet& rs, const std::vector<const Policy*>& view,
                                  const Endpoint& e, const Labels& labels, Direction d,
                                  const PacketKey& pkt, const Side& src, const Side& dst) {
  DirectionResult result;
  // [doc:Evaluation 1-4] tiers in order; a tier takes part only if one of its
  // policies in this view applies to the endpoint for this direction.
  for (const Tier& tier : OrderedTiers(rs)) {
    std::vector<const Policy*> applicable;
    for (const Policy* p : view) {
      if (p->tier == tier.name && PolicyApplies(*p, labels, d)) applicable.push_back(p);
    }
    if (applicable.empty()) continue;  // skipped entirely, default action included
    std::sort(applicable.begin(), applicable.end(), PolicyBefore);

    bool passed = false;
    for (const Policy* p : applicable) {
      const RuleScope scope{IsNamespacedKind(p->kind) ? p->namespace_ : std::string()};
      const auto& rules = d == Direction::kIngress ? p->ingress : p->egress;
      for (size_t i = 0; i < rules.size() && !passed; ++i) {
        if (!RuleMatches(rs, scope, rules[i], pkt, src, dst)) continue;
        switch (rules[i].action) {
          case Action::kLog: continue;  // records and continues; never traced
          case Action::kAllow:
          case Action::kDeny:
            AddEntry(&result, tier.name, PolicyTraceName(*p), rules[i].action, static_cast<int>(i));
            result.allow = rules[i].action == Action::kAllow;
            return result;
          case Action::kPass:
            AddEntry(&result, tier.name, PolicyTraceName(*p), Action::kPass, static_cast<int>(i));
            passed = true;
            break;
        }
      }
      if (passed) break;
    }
    if (passed) continue;  // to the next tier that takes part
    // No rule matched: the tier's default action, rule -1, named after the
    // first applicable policy.
    AddEntry(&result, tier.name, PolicyTraceName(*applicable.front()), tier.default_action, -1);
    if (tier.default_action == Action::kDeny) {
      result.allow = false;
      return result;
    }
  }

  // [doc:Evaluation 5][brief:Profiles] the profile stage, in the endpoint's
  // order, always taking part, default Deny. A `kns.*` profile with no resource
  // allows everything (rule 0); any other missing profile has no rules.
  const RuleScope profile_scope{};
  for (const std::string& name : e.profiles) {
    const std::string trace_name = "__PROFILE__." + name;
    const Profile* profile = FindProfile(rs, name);
    if (profile == nullptr) {
      if (name.rfind("kns.", 0) == 0) {
        AddEntry(&result, "__PROFILE__", trace_name, Action::kAllow, 0);
        result.allow = true;
        return result;
      }
      continue;
    }
    const auto& rules = d == Direction::kIngress ? profile->ingress : profile->egress;
    bool passed = false;
    for (size_t i = 0; i < rules.size() && !passed; ++i) {
      if (!RuleMatches(rs, profile_scope, rules[i], pkt, src, dst)) continue;
      switch (rules[i].action) {
        case Action::kLog: continue;
        case Action::kAllow:
        case Action::kDeny:
          AddEntry(&result, "__PROFILE__", trace_name, rules[i].action, static_cast<int>(i));
          result.allow = rules[i].action == Action::kAllow;
          return result;
        case Action::kPass:
          // The profile stage is the last stage: Pass leaves it, i.e. goes to
          // its end. (The generator never produces Pass in profiles.)
          AddEntry(&result, "__PROFILE__", trace_name, Action::kPass, static_cast<int>(i));
          passed = true;
          break;
      }
    }
    if (passed) break;
  }
  AddEntry(&result, "__PROFILE__",
           "__PROFILE__." + (e.profiles.empty() ? std::string("__NO_MATCH__") : e.profiles.front()),
           Action::kDeny, -1);
  result.allow = false;
  return result;
}

RefDirectionReport EvaluateAt(const ResourceSet& rs, const Endpoint& e, const Labels& labels,
                              Direction d, const PacketKey& pkt, const Side& src, const Side& dst) {
  DirectionResult enforced = EvaluateDirection(rs, EnforcedView(rs), e, labels, d, pkt, src, dst);
  DirectionResult pending = EvaluateDirection(rs, PendingView(rs), e, labels, d, pkt, src, dst);
  RefDirectionReport report;
  report.verdict = enforced.allow ? "allow" : "deny";
  report.pending_verdict = pending.allow ? "allow" : "deny";
  report.enforced = std::move(enforced.trace);
  report.pending = std::move(pending.trace);
  return report;
}

Side MakeSide(const ResourceSet& rs, const IpAddr& addr, uint16_t port) {
  Side side;
  side.addr = addr;
  side.port = port;
  side.owner = FindEndpointByIp(rs, addr);
  if (side.owner != nullptr) side.owner_labels = EffectiveLabels(rs, *side.owner);
  return side;
}

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    default: return absl::StrCat("proto-", proto);
  }
}

std::string AddrPort(const IpAddr& a, uint16_t port) {
  if (a.family == Family::kV6) return absl::StrCat("[", a.ToString(), "]:", port);
  return absl::StrCat(a.ToString(), ":", port);
}

}  // namespace

RefTraceReport ReferenceEvaluate(const ResourceSet& rs, const PacketKey& pkt) {
  const Side src = MakeSide(rs, pkt.src, pkt.src_port);
  const Side dst = MakeSide(rs, pkt.dst, pkt.dst_port);

  RefTraceReport report;
  if (src.owner != nullptr) report.source_endpoint = EndpointName(*src.owner);
  if (dst.owner != nullptr) report.destination_endpoint = EndpointName(*dst.owner);

  // [brief:known] both known: egress at the source AND ingress at the
  // destination must allow; one known: only that side; none: deny.
  if (src.owner != nullptr) {
    report.egress = EvaluateAt(rs, *src.owner, src.owner_labels, Direction::kEgress, pkt, src, dst);
  }
  if (dst.owner != nullptr) {
    report.ingress =
        EvaluateAt(rs, *dst.owner, dst.owner_labels, Direction::kIngress, pkt, src, dst);
  }
  bool allow = report.egress.has_value() || report.ingress.has_value();
  if (report.egress.has_value() && report.egress->verdict != "allow") allow = false;
  if (report.ingress.has_value() && report.ingress->verdict != "allow") allow = false;
  report.verdict = allow ? "allow" : "deny";
  return report;
}

std::string PacketToString(const PacketKey& pkt) {
  if (pkt.proto == 1 || pkt.proto == 58) {
    return absl::StrCat(ProtoName(pkt.proto), " ", pkt.src.ToString(), " -> ", pkt.dst.ToString(),
                        " type ", pkt.src_port, " code ", pkt.dst_port);
  }
  return absl::StrCat(ProtoName(pkt.proto), " ", AddrPort(pkt.src, pkt.src_port), " -> ",
                      AddrPort(pkt.dst, pkt.dst_port));
}

std::string RefReportToString(const RefTraceReport& r) {
  std::string out = absl::StrCat("verdict: ", r.verdict, "\n");
  absl::StrAppend(&out, "source: ", r.source_endpoint.value_or("<unknown>"), "\n");
  absl::StrAppend(&out, "destination: ", r.destination_endpoint.value_or("<unknown>"), "\n");
  auto dir = [&](const char* label, const std::optional<RefDirectionReport>& d) {
    if (!d.has_value()) {
      absl::StrAppend(&out, label, ": not evaluated\n");
      return;
    }
    absl::StrAppend(&out, label, ": ", d->verdict, " (pending ", d->pending_verdict, ")\n");
    absl::StrAppend(&out, "  enforced: [", absl::StrJoin(d->enforced, ", "), "]\n");
    absl::StrAppend(&out, "  pending:  [", absl::StrJoin(d->pending, ", "), "]\n");
  };
  dir("egress", r.egress);
  dir("ingress", r.ingress);
  return out;
}

}  // namespace tierwall::test
