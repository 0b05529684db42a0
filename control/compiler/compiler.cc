// The compiler's main pass. Reading order: ordering (tiers, policies and the
// enforced/pending views), grouping endpoints, chains, rule instances, boxes.
#include "control/compiler/compiler.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/compiler/entity_selector.h"
#include "control/compiler/resource_index.h"
#include "control/compiler/rule_lowering.h"

namespace tierwall::ctl::compiler {

namespace {

using dp::classify::EvalMode;
using dp::classify::PolicyDirection;
using dp::classify::PrioritizedRawBox;
using dp::classify::Program;
using dp::classify::RawBox;
using dp::classify::RuleAction;
using dp::classify::RuleMeta;

constexpr double kUnsetOrder = std::numeric_limits<double>::infinity();
constexpr double kDefaultTierOrder = 1'000'000;
constexpr size_t kMaxBoxesPerRule = 1 << 18;
constexpr size_t kMaxBoxesTotal = 1 << 23;
constexpr char kProfileTier[] = "__PROFILE__";
constexpr char kNoMatchProfile[] = "__NO_MATCH__";

std::string Where(const model::SourceRef& s) {
  if (s.file.empty()) return "";
  return absl::StrCat(s.file, " doc ", s.doc, ": ");
}

const char* KindName(const model::Policy& p) {
  switch (p.kind) {
    case model::PolicyKind::kNetworkPolicy:
      return p.staged ? "StagedNetworkPolicy" : "NetworkPolicy";
    case model::PolicyKind::kGlobalNetworkPolicy:
      return p.staged ? "StagedGlobalNetworkPolicy" : "GlobalNetworkPolicy";
    case model::PolicyKind::kKubernetesNetworkPolicy:
      return p.staged ? "StagedKubernetesNetworkPolicy" : "KubernetesNetworkPolicy";
  }
  return "?";
}

}  // namespace

std::string TraceName(const model::Policy& p) {
  const char* staged = p.staged ? "staged:" : "";
  switch (p.kind) {
    case model::PolicyKind::kGlobalNetworkPolicy: return absl::StrCat(p.tier, ".", staged, p.name);
    case model::PolicyKind::kNetworkPolicy:
      return absl::StrCat(p.namespace_, "/", p.tier, ".", staged, p.name);
    case model::PolicyKind::kKubernetesNetworkPolicy:
      return absl::StrCat(p.namespace_, "/", staged, "knp.default.", p.name);
  }
  return p.name;
}

namespace {

RuleAction ToRuleAction(model::Action a) {
  switch (a) {
    case model::Action::kAllow: return RuleAction::kAllow;
    case model::Action::kDeny: return RuleAction::kDeny;
    case model::Action::kPass: return RuleAction::kPass;
    case model::Action::kLog: return RuleAction::kLog;
  }
  return RuleAction::kDeny;
}

struct TierEntry {
  std::string name;
  double order;
  model::Action default_action;
};

// A policy in global evaluation order, with the views it belongs to.
struct PolicyEntry {
  const model::Policy* policy;
  uint32_t tier;
  double order;
  std::string sort_key;  // "name/namespace/kind"
  bool enforced_view;
  bool pending_view;
  uint32_t meta;  // index into Program::policies
};

struct Group {
  uint32_t representative;  // an endpoint index
};

std::string GroupKey(const model::Endpoint& e, const selector::Labels& labels) {
  std::string key = absl::StrCat(static_cast<int>(e.kind), "\x1e", e.namespace_, "\x1e",
                                 e.service_account, "\x1e", absl::StrJoin(e.profiles, ","), "\x1e");
  for (const auto& [k, v] : labels) absl::StrAppend(&key, k, "=", v, "\x1f");
  return key;
}

class Compiler {
 public:
  Compiler(const model::ResourceSet& resources, const CompileOptions& options)
      : resources_(resources), options_(options), index_(resources) {}

  absl::StatusOr<std::unique_ptr<Program>> Run() {
    program_ = std::make_unique<Program>();
    program_->generation = options_.generation;
    if (auto s = OrderTiers(); !s.ok()) return s;
    if (auto s = OrderPolicies(); !s.ok()) return s;
    if (auto s = GroupEndpoints(); !s.ok()) return s;
    AssignChains();
    if (auto s = EmitTiers(); !s.ok()) return s;
    if (auto s = EmitProfiles(); !s.ok()) return s;
    program_->classifier =
        dp::classify::RuleClassifier::Build(boxes_, num_chains_, options_.forest, restarts_);
    return std::move(program_);
  }

 private:
  // ---- Ordering ----------------------------------------------------------

  absl::Status OrderTiers() {
    std::set<std::string> seen;
    for (const model::Tier& t : resources_.tiers) {
      if (!seen.insert(t.name).second)
        return absl::AlreadyExistsError(
            absl::StrCat(Where(t.source), "Tier ", t.name, " is defined twice"));
      tiers_.push_back({t.name, t.order.value_or(kUnsetOrder), t.default_action});
    }
    if (!seen.count("default"))
      tiers_.push_back({"default", kDefaultTierOrder, model::Action::kDeny});
    std::sort(tiers_.begin(), tiers_.end(), [](const TierEntry& a, const TierEntry& b) {
      return a.order != b.order ? a.order < b.order : a.name < b.name;
    });
    for (const TierEntry& t : tiers_) program_->tiers.push_back({t.name});
    return absl::OkStatus();
  }

  absl::Status OrderPolicies() {
    using Identity = std::tuple<int, std::string, std::string, std::string>;
    auto identity = [](const model::Policy& p) {
      return Identity{static_cast<int>(p.kind), p.namespace_, p.tier, p.name};
    };
    std::map<Identity, const model::Policy*> enforced, staged;
    for (const model::Policy& p : resources_.policies) {
      auto& seen = p.staged ? staged : enforced;
      if (!seen.emplace(identity(p), &p).second) {
        return absl::AlreadyExistsError(
            absl::StrCat(Where(p.source), KindName(p), " ", TraceName(p), " is defined twice"));
      }
      if (TierIndex(p.tier) < 0) {
        return absl::FailedPreconditionError(absl::StrCat(Where(p.source), KindName(p), " ",
                                                          TraceName(p), ": spec.tier: tier \"",
                                                          p.tier, "\" does not exist"));
      }
      if (p.kind != model::PolicyKind::kGlobalNetworkPolicy && p.namespace_.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(Where(p.source), KindName(p), " ", p.name,
                                                       ": metadata.namespace is required"));
      }
    }
    // The pending view: staged Set replaces (or adds), staged Delete removes.
    std::set<Identity> hidden_in_pending;
    for (const auto& [id, p] : staged) {
      if (p->staged_action == model::StagedAction::kSet ||
          p->staged_action == model::StagedAction::kDelete) {
        hidden_in_pending.insert(id);
      }
    }
    for (const model::Policy& p : resources_.policies) {
      bool enforced_view = !p.staged;
      bool pending_view = p.staged ? p.staged_action == model::StagedAction::kSet
                                   : !hidden_in_pending.count(identity(p));
      if (!enforced_view && !pending_view) continue;
      std::string name =
          p.kind == model::PolicyKind::kKubernetesNetworkPolicy ? "knp.default." + p.name : p.name;
      const char* kind = p.kind == model::PolicyKind::kNetworkPolicy ? "NetworkPolicy"
                         : p.kind == model::PolicyKind::kGlobalNetworkPolicy
                             ? "GlobalNetworkPolicy"
                             : "KubernetesNetworkPolicy";
      PolicyEntry e{&p,
                    static_cast<uint32_t>(TierIndex(p.tier)),
                    p.order.value_or(kUnsetOrder),
                    absl::StrCat(name, "/", p.namespace_, "/", kind),
                    enforced_view,
                    pending_view,
                    0};
      policies_.push_back(std::move(e));
    }
    std::stable_sort(policies_.begin(), policies_.end(),
                     [](const PolicyEntry& a, const PolicyEntry& b) {
                       if (a.tier != b.tier) return a.tier < b.tier;
                       if (a.order != b.order) return a.order < b.order;
                       if (a.sort_key != b.sort_key) return a.sort_key < b.sort_key;
                       return a.policy->staged < b.policy->staged;  // never in the same view anyway
                     });
    for (PolicyEntry& e : policies_) {
      e.meta = static_cast<uint32_t>(program_->policies.size());
      program_->policies.push_back(
          {TraceName(*e.policy), static_cast<uint16_t>(e.tier), e.policy->staged, false});
    }
    return absl::OkStatus();
  }

  int TierIndex(const std::string& name) const {
    for (size_t i = 0; i < tiers_.size(); ++i)
      if (tiers_[i].name == name) return static_cast<int>(i);
    return -1;
  }

  // ---- Endpoints ---------------------------------------------------------

  // Where the endpoint lives (the port named like its interfaceName) and the
  // MAC it declares: what source-address validation checks.
  absl::Status Locate(const model::Endpoint& e, const std::string& name,
                      dp::classify::EndpointMeta* meta) {
    const auto& ports = options_.port_names;
    for (size_t p = 0; p < ports.size() && p < dp::classify::kNoPort; ++p) {
      if (ports[p].empty() || ports[p] != e.interface_name) continue;
      meta->port = static_cast<uint16_t>(p);
      if (meta->workload) {
        if (program_->workload_port.size() <= p) program_->workload_port.resize(ports.size());
        program_->workload_port[p] = 1;
      }
      break;
    }
    if (e.mac.empty()) return absl::OkStatus();
    // Calico accepts what Go's net.ParseMAC reads as 48 bits; these are the
    // forms endpoints carry: six hex pairs split by ':' or '-'.
    uint64_t mac = 0;
    bool ok = e.mac.size() == 17;
    for (size_t i = 0; ok && i < 17; ++i) {
      const char c = e.mac[i];
      if (i % 3 == 2) {
        ok = c == ':' || c == '-';
        continue;
      }
      const int v = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
                    : std::isxdigit(static_cast<unsigned char>(c)) ? (std::tolower(c) - 'a' + 10)
                                                                   : -1;
      ok = v >= 0;
      mac = (mac << 4) | static_cast<uint64_t>(v < 0 ? 0 : v);
    }
    if (!ok)
      return absl::InvalidArgumentError(
          absl::StrCat(Where(e.source), "endpoint ", name, ": spec.mac \"", e.mac,
                       "\" is not a MAC address (aa:bb:cc:dd:ee:ff)"));
    meta->has_mac = true;
    meta->mac = mac;
    return absl::OkStatus();
  }

  absl::Status GroupEndpoints() {
    std::map<std::string, uint32_t> groups;
    std::vector<std::pair<dp::classify::IpAddr, uint32_t>> addresses;
    std::map<dp::classify::IpAddr, uint32_t> owner;
    const auto& endpoints = resources_.endpoints;
    for (uint32_t i = 0; i < endpoints.size(); ++i) {
      const model::Endpoint& e = endpoints[i];
      std::string name = e.namespace_.empty() ? e.name : absl::StrCat(e.namespace_, "/", e.name);
      for (const auto& ip : e.ips) {
        auto [it, fresh] = owner.emplace(ip, i);
        if (!fresh) {
          const model::Endpoint& other = endpoints[it->second];
          return absl::AlreadyExistsError(absl::StrCat(
              Where(e.source), "endpoint ", name, ": address ", ip.ToString(),
              " already belongs to endpoint ",
              other.namespace_.empty() ? other.name
                                       : absl::StrCat(other.namespace_, "/", other.name)));
        }
        addresses.emplace_back(ip, i);
      }
      auto [git, fresh] = groups.emplace(GroupKey(e, index_.EndpointLabels(i)),
                                         static_cast<uint32_t>(groups_.size()));
      if (fresh) groups_.push_back({i});
      dp::classify::EndpointMeta meta{name, git->second};
      meta.workload = e.kind == model::EndpointKind::kWorkload;
      if (auto s = Locate(e, name, &meta); !s.ok()) return s;
      program_->endpoints.push_back(std::move(meta));
    }
    program_->endpoint_index.Build(addresses);
    program_->num_groups = static_cast<uint32_t>(groups_.size());
    return absl::OkStatus();
  }

  bool Applies(size_t policy, uint32_t endpoint, PolicyDirection d) const {
    const model::Policy& p = *policies_[policy].policy;
    if (d == PolicyDirection::kIngress ? !p.applies_ingress : !p.applies_egress) return false;
    return policy_selectors_[policy].Selects(index_.EndpointLabels(endpoint));
  }

  // ---- Chains ------------------------------------------------------------

  bool InView(const PolicyEntry& e, EvalMode m) const {
    return m == EvalMode::kEnforced ? e.enforced_view : e.pending_view;
  }

  void AssignChains() {
    const uint32_t groups = static_cast<uint32_t>(groups_.size());
    // applies_[policy][group * 2 + dir]
    applies_.assign(policies_.size(), std::vector<bool>(groups * 2));
    policy_selectors_.clear();
    for (const PolicyEntry& e : policies_)
      policy_selectors_.push_back(EntitySelector::ForPolicy(*e.policy));
    for (size_t p = 0; p < policies_.size(); ++p)
      for (uint32_t g = 0; g < groups; ++g)
        for (int d = 0; d < 2; ++d)
          applies_[p][g * 2 + d] =
              Applies(p, groups_[g].representative, static_cast<PolicyDirection>(d));

    program_->chains.assign(groups * 4, dp::classify::kNoChain);
    // Numbered direction-major, then mode, then group, so a policy that
    // applies to every group covers one contiguous chain range.
    for (int d = 0; d < 2; ++d) {
      for (int m = 0; m < 2; ++m) {
        for (uint32_t g = 0; g < groups; ++g) {
          uint32_t& slot = program_->chains[(g * 2 + d) * 2 + m];
          if (m == 1 && SameViews(g, d)) {
            slot = program_->chains[(g * 2 + d) * 2 + 0];
          } else {
            slot = num_chains_++;
          }
        }
      }
    }
  }

  bool SameViews(uint32_t g, int d) const {
    for (size_t p = 0; p < policies_.size(); ++p) {
      if (!applies_[p][g * 2 + d]) continue;
      if (policies_[p].enforced_view != policies_[p].pending_view) return false;
    }
    return true;
  }

  // The chains (deduplicated, sorted) where `want(group, dir, mode)` holds.
  template <typename Pred>
  std::vector<uint32_t> ChainsWhere(Pred want) const {
    std::vector<uint32_t> out;
    for (uint32_t g = 0; g < groups_.size(); ++g)
      for (int d = 0; d < 2; ++d)
        for (int m = 0; m < 2; ++m)
          if (want(g, d, static_cast<EvalMode>(m)))
            out.push_back(program_->chains[(g * 2 + d) * 2 + m]);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // ---- Instances and boxes ----------------------------------------------

  uint32_t NewInstance(RuleAction action, uint32_t tier, uint32_t policy, int32_t rule_index) {
    program_->rules.push_back({action, static_cast<uint16_t>(tier), policy, rule_index, 0, {0, 0}});
    uint32_t id = static_cast<uint32_t>(program_->rules.size() - 1);
    if (action == RuleAction::kLog) restarts_.push_back(id + 1);
    return id;
  }

  absl::Status AddBoxes(uint32_t instance, const std::vector<RawBox>& rule_boxes,
                        const std::vector<uint32_t>& chains) {
    // Chain ids to ranges.
    for (size_t i = 0; i < chains.size();) {
      size_t j = i;
      while (j + 1 < chains.size() && chains[j + 1] == chains[j] + 1) ++j;
      for (RawBox b : rule_boxes) {
        b.chain_lo = chains[i];
        b.chain_hi = chains[j];
        boxes_.push_back({instance, b});
      }
      i = j + 1;
    }
    if (boxes_.size() > kMaxBoxesTotal) {
      return absl::ResourceExhaustedError(absl::StrCat("the policy set expands to more than ",
                                                       kMaxBoxesTotal, " classifier boxes"));
    }
    return absl::OkStatus();
  }

  static const std::vector<RawBox>& MatchEverything() {
    static const std::vector<RawBox> boxes = [] {
      RawBox v4, v6;
      v4.family = dp::classify::Family::kV4;
      v4.src_hi = v4.dst_hi = dp::classify::MaxAddress(dp::classify::Family::kV4);
      v6.family = dp::classify::Family::kV6;
      v6.src_hi = v6.dst_hi = dp::classify::MaxAddress(dp::classify::Family::kV6);
      return std::vector<RawBox>{v4, v6};
    }();
    return boxes;
  }

  // The addresses of the endpoints in `groups`, with the side they sit on.
  LocalSide LocalOf(const std::vector<bool>& in_group, int direction) const {
    LocalSide local;
    local.is_destination = direction == 0;  // ingress: the local endpoint is the destination
    for (uint32_t e = 0; e < resources_.endpoints.size(); ++e)
      if (in_group[program_->endpoints[e].group])
        for (const auto& ip : resources_.endpoints[e].ips) local.addresses.Add(ip);
    return local;
  }

  absl::Status EmitRules(const std::vector<model::Rule>& rules, const Scope& scope, uint32_t tier,
                         uint32_t policy_meta, const std::vector<uint32_t>& chains,
                         const LocalSide& local, const std::string& where) {
    if (chains.empty()) return absl::OkStatus();
    for (size_t k = 0; k < rules.size(); ++k) {
      auto lowered = LowerRule(rules[k], scope, index_, local, kMaxBoxesPerRule);
      if (!lowered.ok()) {
        return absl::Status(lowered.status().code(),
                            absl::StrCat(where, "[", k, "]: ", lowered.status().message()));
      }
      uint32_t id =
          NewInstance(ToRuleAction(rules[k].action), tier, policy_meta, static_cast<int32_t>(k));
      if (auto s = AddBoxes(id, *lowered, chains); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status EmitTiers() {
    for (uint32_t t = 0; t < tiers_.size(); ++t) {
      uint32_t tier_start = static_cast<uint32_t>(program_->rules.size());
      restarts_.push_back(tier_start);
      for (size_t p = 0; p < policies_.size(); ++p) {
        const PolicyEntry& e = policies_[p];
        if (e.tier != t) continue;
        const model::Policy& pol = *e.policy;
        Scope scope{pol.kind != model::PolicyKind::kGlobalNetworkPolicy, pol.namespace_};
        std::string where =
            absl::StrCat(Where(pol.source), KindName(pol), " ", TraceName(pol), ": spec.");
        for (int d = 0; d < 2; ++d) {
          auto chains = ChainsWhere([&](uint32_t g, int dir, EvalMode m) {
            return dir == d && InView(e, m) && applies_[p][g * 2 + d];
          });
          const auto& rules = d == 0 ? pol.ingress : pol.egress;
          if (chains.empty() || rules.empty()) continue;
          std::vector<bool> in_group(groups_.size());
          for (uint32_t g = 0; g < groups_.size(); ++g) in_group[g] = applies_[p][g * 2 + d];
          if (auto s = EmitRules(rules, scope, t, e.meta, chains, LocalOf(in_group, d),
                                 where + (d == 0 ? "ingress" : "egress"));
              !s.ok()) {
            return s;
          }
        }
      }
      // End of tier: one instance per distinct "first applicable policy".
      std::map<uint32_t, std::vector<std::tuple<uint32_t, int, EvalMode>>> by_first;
      for (uint32_t g = 0; g < groups_.size(); ++g)
        for (int d = 0; d < 2; ++d)
          for (int m = 0; m < 2; ++m)
            for (size_t p = 0; p < policies_.size(); ++p) {
              const PolicyEntry& e = policies_[p];
              if (e.tier == t && InView(e, static_cast<EvalMode>(m)) && applies_[p][g * 2 + d]) {
                by_first[static_cast<uint32_t>(p)].emplace_back(g, d, static_cast<EvalMode>(m));
                break;
              }
            }
      RuleAction end_action =
          tiers_[t].default_action == model::Action::kPass ? RuleAction::kPass : RuleAction::kDeny;
      for (const auto& [p, where_binding] : by_first) {
        const auto& where = where_binding;  // clang 14 cannot capture a structured binding
        auto chains = ChainsWhere([&](uint32_t g, int d, EvalMode m) {
          return std::find(where.begin(), where.end(), std::make_tuple(g, d, m)) != where.end();
        });
        uint32_t id = NewInstance(end_action, t, policies_[p].meta, dp::classify::kEndOfTierRule);
        if (auto s = AddBoxes(id, MatchEverything(), chains); !s.ok()) return s;
      }
      uint32_t next = static_cast<uint32_t>(program_->rules.size());
      for (uint32_t r = tier_start; r < next; ++r) program_->rules[r].next_tier = next;
    }
    return absl::OkStatus();
  }

  uint32_t ProfileMeta(const std::string& name) {
    auto [it, fresh] =
        profile_meta_.emplace(name, static_cast<uint32_t>(program_->policies.size()));
    if (fresh) {
      program_->policies.push_back({absl::StrCat(kProfileTier, ".", name),
                                    static_cast<uint16_t>(tiers_.size()), false, true});
    }
    return it->second;
  }

  absl::Status EmitProfiles() {
    const uint32_t tier = static_cast<uint32_t>(tiers_.size());
    program_->tiers.push_back({kProfileTier});
    uint32_t stage_start = static_cast<uint32_t>(program_->rules.size());
    restarts_.push_back(stage_start);

    // (position, profile name) -> groups listing it there.
    std::map<std::pair<size_t, std::string>, std::vector<uint32_t>> slots;
    for (uint32_t g = 0; g < groups_.size(); ++g) {
      const auto& profiles = resources_.endpoints[groups_[g].representative].profiles;
      for (size_t j = 0; j < profiles.size(); ++j) slots[{j, profiles[j]}].push_back(g);
    }
    // The implicit namespace profile: allow everything, as Calico does under Kubernetes.
    model::Rule allow_all;
    allow_all.action = model::Action::kAllow;
    const std::vector<model::Rule> kns_rules{allow_all};

    for (const auto& [slot, groups_binding] : slots) {
      const auto& groups = groups_binding;  // clang 14 cannot capture a structured binding
      const std::string& name = slot.second;
      const model::Profile* resource = nullptr;
      for (const model::Profile& p : resources_.profiles)
        if (p.name == name) resource = &p;
      std::string where = resource
                              ? absl::StrCat(Where(resource->source), "Profile ", name, ": spec.")
                              : absl::StrCat("Profile ", name, ": ");
      for (int d = 0; d < 2; ++d) {
        const std::vector<model::Rule>* rules = nullptr;
        if (resource) {
          rules = d == 0 ? &resource->ingress : &resource->egress;
        } else if (name.rfind("kns.", 0) == 0) {
          rules = &kns_rules;
        }
        if (!rules || rules->empty()) continue;
        auto chains = ChainsWhere([&](uint32_t g, int dir, EvalMode) {
          return dir == d && std::find(groups.begin(), groups.end(), g) != groups.end();
        });
        std::vector<bool> in_group(groups_.size());
        for (uint32_t g : groups) in_group[g] = true;
        if (auto s = EmitRules(*rules, Scope{}, tier, ProfileMeta(name), chains,
                               LocalOf(in_group, d), where + (d == 0 ? "ingress" : "egress"));
            !s.ok()) {
          return s;
        }
      }
    }
    // End of profiles: deny, named after the first profile.
    std::map<std::string, std::vector<uint32_t>> by_first;
    for (uint32_t g = 0; g < groups_.size(); ++g) {
      const auto& profiles = resources_.endpoints[groups_[g].representative].profiles;
      by_first[profiles.empty() ? std::string(kNoMatchProfile) : profiles.front()].push_back(g);
    }
    for (const auto& [name, groups_binding] : by_first) {
      const auto& groups = groups_binding;  // clang 14 cannot capture a structured binding
      auto chains = ChainsWhere([&](uint32_t g, int, EvalMode) {
        return std::find(groups.begin(), groups.end(), g) != groups.end();
      });
      uint32_t id =
          NewInstance(RuleAction::kDeny, tier, ProfileMeta(name), dp::classify::kEndOfTierRule);
      if (auto s = AddBoxes(id, MatchEverything(), chains); !s.ok()) return s;
    }
    uint32_t end = static_cast<uint32_t>(program_->rules.size());
    for (uint32_t r = stage_start; r < end; ++r) program_->rules[r].next_tier = end;
    return absl::OkStatus();
  }

  const model::ResourceSet& resources_;
  const CompileOptions& options_;
  ResourceIndex index_;
  std::unique_ptr<Program> program_;
  std::vector<TierEntry> tiers_;
  std::vector<PolicyEntry> policies_;
  std::vector<Group> groups_;
  std::vector<std::vector<bool>> applies_;
  std::vector<EntitySelector> policy_selectors_;  // parallel to policies_
  uint32_t num_chains_ = 0;
  std::vector<PrioritizedRawBox> boxes_;
  std::vector<uint32_t> restarts_;
  std::map<std::string, uint32_t> profile_meta_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Program>> Compile(const model::ResourceSet& resources,
                                                 const CompileOptions& options) {
  return Compiler(resources, options).Run();
}

}  // namespace tierwall::ctl::compiler
