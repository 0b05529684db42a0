#include "control/why/suggest_fix.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "control/trace/trace.h"
#include "control/why/trace_steps.h"
#include "control/yaml/canonical_yaml.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::why {
namespace {

#define WHY_RETURN_IF_ERROR(expr)                      \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)
#define WHY_CONCAT_INNER(a, b) a##b
#define WHY_CONCAT(a, b) WHY_CONCAT_INNER(a, b)
#define WHY_ASSIGN_OR_RETURN(lhs, expr)                       \
  auto WHY_CONCAT(why_or_, __LINE__) = (expr);                \
  if (!WHY_CONCAT(why_or_, __LINE__).ok())                    \
    return std::move(WHY_CONCAT(why_or_, __LINE__)).status(); \
  lhs = std::move(*WHY_CONCAT(why_or_, __LINE__))

using dp::classify::IpAddr;
using model::Direction;

constexpr char kProfileTier[] = "__PROFILE__";
constexpr char kCalicoApi[] = "projectcalico.org/v3";

const char* DirName(Direction d) { return d == Direction::kIngress ? "ingress" : "egress"; }
const char* DirTypeName(Direction d) { return d == Direction::kIngress ? "Ingress" : "Egress"; }

const char* KindName(model::PolicyKind k) {
  switch (k) {
    case model::PolicyKind::kNetworkPolicy: return "NetworkPolicy";
    case model::PolicyKind::kGlobalNetworkPolicy: return "GlobalNetworkPolicy";
    case model::PolicyKind::kKubernetesNetworkPolicy: return "KubernetesNetworkPolicy";
  }
  return "?";
}

const model::Endpoint* EndpointAt(const model::ResourceSet& rs, const IpAddr& ip) {
  for (const model::Endpoint& e : rs.endpoints) {
    for (const IpAddr& a : e.ips) {
      if (a == ip) return &e;
    }
  }
  return nullptr;
}

absl::StatusOr<trace::TraceReport> Trace(const model::ResourceSet& rs, const Packet& packet) {
  WHY_ASSIGN_OR_RETURN(std::unique_ptr<dp::classify::Program> program, compiler::Compile(rs));
  return trace::TracePacket(*program, packet.Key());
}

// The overall verdict with staged policies enforced.
std::string PendingVerdict(const trace::TraceReport& r) {
  if (!r.egress && !r.ingress) return "deny";
  bool allow = (!r.egress || r.egress->pending_verdict == "allow") &&
               (!r.ingress || r.ingress->pending_verdict == "allow");
  return allow ? "allow" : "deny";
}

std::string Quoted(const std::string& v) {
  return v.find('\'') == std::string::npos ? absl::StrCat("'", v, "'")
                                           : absl::StrCat("\"", v, "\"");
}

// A selector for an endpoint from its labels: one identifying label when it
// has one, else every label ANDed; "" when it has none.
std::string LabelSelector(const selector::Labels& labels) {
  for (const char* key : {"app", "k8s-app", "app.kubernetes.io/name"}) {
    auto it = labels.find(key);
    if (it != labels.end()) return absl::StrCat(key, " == ", Quoted(it->second));
  }
  std::vector<std::string> terms;
  for (const auto& [k, v] : labels) terms.push_back(absl::StrCat(k, " == ", Quoted(v)));
  return absl::StrJoin(terms, " && ");
}

std::optional<std::string> ProtocolName(uint8_t p) {
  switch (p) {
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "ICMPv6";
    case 132: return "SCTP";
    case 136: return "UDPLite";
  }
  return std::nullopt;
}

// "allowed" / "denied", for a verdict word.
std::string Past(const std::string& verdict) {
  return verdict == "allow" ? "allowed" : verdict == "deny" ? "denied" : verdict;
}

bool HasPorts(uint8_t p) { return p == 6 || p == 17 || p == 132; }

// How a new rule names the peer.
struct Peer {
  std::string selector;
  std::string namespace_selector;
  std::string net;
  std::string description;  // "app == 'loadgenerator'", "198.19.10.10/32", ...
};

// `policy_namespace`: "" for a global policy.
Peer DescribePeer(const model::ResourceSet& rs, const IpAddr& ip,
                  const std::string& policy_namespace) {
  Peer peer;
  const model::Endpoint* e = EndpointAt(rs, ip);
  std::string sel = e ? LabelSelector(e->labels) : "";
  if (sel.empty()) {
    peer.net = absl::StrCat(ip.ToString(), ip.family == dp::classify::Family::kV6 ? "/128" : "/32");
    peer.description = peer.net;
    return peer;
  }
  peer.selector = sel;
  peer.description = sel;
  if (e->namespace_.empty()) {
    // A namespaced policy's selectors see only its namespace; global()
    // reaches what lives outside every namespace (host endpoints).
    if (!policy_namespace.empty()) {
      peer.namespace_selector = "global()";
      peer.description += " (outside namespaces)";
    }
  } else if (e->namespace_ != policy_namespace) {
    peer.namespace_selector = absl::StrCat("projectcalico.org/name == ", Quoted(e->namespace_));
    peer.description += absl::StrCat(" in namespace ", e->namespace_);
  }
  return peer;
}

YAML::Node PeerNode(const Peer& peer) {
  YAML::Node n(YAML::NodeType::Map);
  if (!peer.selector.empty()) n["selector"] = peer.selector;
  if (!peer.namespace_selector.empty()) n["namespaceSelector"] = peer.namespace_selector;
  if (!peer.net.empty()) {
    YAML::Node nets(YAML::NodeType::Sequence);
    nets.push_back(peer.net);
    n["nets"] = nets;
  }
  return n;
}

// The one new rule, and its one-line summary without the "<dir> rule <i>: ".
YAML::Node BuildRule(const Packet& packet, Direction dir, Outcome desired, const Peer& peer,
                     std::string* summary) {
  YAML::Node rule(YAML::NodeType::Map);
  const char* action = desired == Outcome::kAllow ? "Allow" : "Deny";
  rule["action"] = action;
  std::optional<std::string> proto = ProtocolName(packet.proto);
  if (proto) rule["protocol"] = *proto;
  YAML::Node ports(YAML::NodeType::Sequence);
  if (HasPorts(packet.proto)) ports.push_back(static_cast<int>(packet.dst_port));
  std::string port_text = HasPorts(packet.proto) ? absl::StrCat("port ", packet.dst_port) : "";
  *summary = action;
  if (proto) absl::StrAppend(summary, " ", *proto);
  if (dir == Direction::kIngress) {
    rule["source"] = PeerNode(peer);
    if (HasPorts(packet.proto)) {
      YAML::Node dst(YAML::NodeType::Map);
      dst["ports"] = ports;
      rule["destination"] = dst;
    }
    absl::StrAppend(summary, " from ", peer.description);
    if (!port_text.empty()) absl::StrAppend(summary, " to ", port_text);
  } else {
    YAML::Node dst = PeerNode(peer);
    if (HasPorts(packet.proto)) dst["ports"] = ports;
    rule["destination"] = dst;
    absl::StrAppend(summary, " to ", peer.description);
    if (!port_text.empty()) absl::StrAppend(summary, " ", port_text);
  }
  return rule;
}

// Suggestions are written as the store writes its documents.
absl::StatusOr<std::string> ToYaml(const YAML::Node& doc) { return yaml::ToBlockYaml(doc); }

absl::StatusOr<YAML::Node> LoadOneDocument(const std::string& text) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    std::vector<YAML::Node> real;
    for (const YAML::Node& d : docs) {
      if (d.IsDefined() && !d.IsNull()) real.push_back(d);
    }
    if (real.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the deciding policy's YAML must be exactly one document, not ", real.size()));
    }
    if (!real[0].IsMap()) return absl::InvalidArgumentError("the deciding policy's YAML is no map");
    return real[0];
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the deciding policy's YAML: ", e.what()));
  }
}

std::string ScalarOr(const YAML::Node& n, const std::string& fallback) {
  return n && n.IsScalar() ? n.Scalar() : fallback;
}

// ---- Verification.

absl::StatusOr<trace::TraceReport> VerifySuggestion(const model::ResourceSet& resources,
                                                    const std::string& yaml, const Packet& packet,
                                                    Outcome desired) {
  model::ResourceSet added;
  if (absl::Status s = model::ParseResources(yaml, "suggestion", &added); !s.ok()) {
    return absl::InternalError(absl::StrCat("the suggested policy does not load: ", s.message()));
  }
  model::ResourceSet with = resources;
  for (const model::Policy& p : added.policies) {
    // Staging replaces a staged policy of the same identity.
    std::erase_if(with.policies, [&](const model::Policy& q) {
      return q.staged && q.kind == p.kind && q.namespace_ == p.namespace_ && q.tier == p.tier &&
             q.name == p.name;
    });
    with.policies.push_back(p);
  }
  auto report = Trace(with, packet);
  if (!report.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "with the suggestion staged the resources do not compile: ", report.status().message()));
  }
  std::string pending = PendingVerdict(*report);
  if (pending != OutcomeName(desired)) {
    std::vector<std::string> why;
    auto add = [&](const char* dir, const std::optional<trace::DirectionReport>& d) {
      if (!d) return;
      std::vector<TraceStep> steps = internal::ParseTraceSteps(d->pending);
      absl::StrAppend(&why.emplace_back(), dir, " ", d->pending_verdict,
                      steps.empty() ? "" : " by ",
                      steps.empty() ? "" : internal::DescribeStep(steps.back()));
    };
    add("egress", report->egress);
    add("ingress", report->ingress);
    return absl::FailedPreconditionError(
        absl::StrCat("with the suggestion staged the pending verdict is still ", pending, " (",
                     absl::StrJoin(why, "; "), ")"));
  }
  return report;
}

std::string DecisionText(const Decision& d) {
  const TraceStep& s = d.deciding();
  std::string where =
      absl::StrCat(d.direction == Direction::kIngress ? "ingress at " : "egress at ", d.endpoint);
  if (d.from_profile()) {
    return absl::StrCat(where, " is decided (", s.action, ") by profile ", s.policy,
                        ": no tier decided it");
  }
  if (s.rule_index < 0) {
    return absl::StrCat(where, " is decided (", s.action, ") at the end of tier ", s.tier,
                        ": no rule of ", s.policy, " or the tier's later policies matched");
  }
  return absl::StrCat(where, " is decided (", s.action, ") by ", s.policy, " rule ", s.rule_index,
                      " in tier ", s.tier);
}

// ---- Case 1: a Calico policy decides; stage it with one more rule.

absl::StatusOr<Suggestion> EditDecidingPolicy(const model::ResourceSet& resources,
                                              const std::string& policy_yaml, const Packet& packet,
                                              Outcome desired, Decision decision) {
  const PolicyRef& ref = *decision.policy;
  if (policy_yaml.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ref.kind, " ", ref.trace_name, " decides; its YAML document is needed"));
  }
  // Read through a const node: yaml-cpp's non-const operator[] may add keys.
  WHY_ASSIGN_OR_RETURN(const YAML::Node doc, LoadOneDocument(policy_yaml));
  const bool global = ref.kind == "GlobalNetworkPolicy";
  const std::string kind = ScalarOr(doc["kind"], "");
  const std::string api = ScalarOr(doc["apiVersion"], "");
  const YAML::Node meta = doc["metadata"];
  const std::string name = meta ? ScalarOr(meta["name"], "") : "";
  const std::string ns = global ? "" : (meta ? ScalarOr(meta["namespace"], "default") : "default");
  const YAML::Node spec = doc["spec"];
  const std::string tier = spec && spec.IsMap() ? ScalarOr(spec["tier"], "default") : "default";
  if (kind != ref.kind || api != kCalicoApi || (name != ref.name && name != ref.StoreName()) ||
      ns != ref.namespace_ || tier != ref.tier) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the YAML given is ", kind.empty() ? "?" : kind, " ", ns.empty() ? "" : ns + "/", name,
        " (tier ", tier, "), but ", ref.kind, " ", ref.trace_name, " decides"));
  }

  const Direction dir = decision.direction;
  const char* dir_key = DirName(dir);
  const TraceStep& step = decision.deciding();
  const YAML::Node old_rules = spec && spec.IsMap() ? spec[dir_key] : YAML::Node();
  const size_t old_count = old_rules && old_rules.IsSequence() ? old_rules.size() : 0;
  size_t position = step.rule_index < 0 ? old_count : static_cast<size_t>(step.rule_index);
  if (position > old_count) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the trace names ", dir_key, " rule ", step.rule_index, " of ", ref.trace_name,
        " but the YAML given has ", old_count, " ", dir_key, " rules: is it the current version?"));
  }

  Peer peer =
      DescribePeer(resources, dir == Direction::kIngress ? packet.src : packet.dst, ref.namespace_);
  std::string rule_text;
  YAML::Node rule = BuildRule(packet, dir, desired, peer, &rule_text);

  YAML::Node rules(YAML::NodeType::Sequence);
  for (size_t i = 0; i < old_count; ++i) {
    if (i == position) rules.push_back(rule);
    rules.push_back(old_rules[i]);
  }
  if (position == old_count) rules.push_back(rule);

  const std::string staged_kind = absl::StrCat("Staged", ref.kind);
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : doc) {
    const std::string key = ScalarOr(kv.first, "");
    if (key == "kind") {
      out["kind"] = staged_kind;
    } else if (key == "metadata") {
      YAML::Node m(YAML::NodeType::Map);
      if (kv.second.IsMap()) {
        for (const auto& mkv : kv.second) {
          const std::string mk = ScalarOr(mkv.first, "");
          if (mk == "resourceVersion" || mk == "creationTimestamp" || mk == "uid" ||
              mk == "generation" || mk == "managedFields" || mk == "selfLink") {
            continue;
          }
          m[mkv.first] = mkv.second;
        }
      }
      out["metadata"] = m;
    } else if (key == "spec") {
      YAML::Node s(YAML::NodeType::Map);
      s["stagedAction"] = "Set";
      bool placed = false;
      if (kv.second.IsMap()) {
        for (const auto& skv : kv.second) {
          const std::string sk = ScalarOr(skv.first, "");
          if (sk == "stagedAction") continue;
          if (sk == dir_key) {
            s[dir_key] = rules;
            placed = true;
          } else {
            s[skv.first] = skv.second;
          }
        }
      }
      if (!placed) s[dir_key] = rules;
      out["spec"] = s;
    } else if (key == "status") {
      continue;
    } else {
      out[kv.first] = kv.second;
    }
  }
  if (!spec) {
    YAML::Node s(YAML::NodeType::Map);
    s["stagedAction"] = "Set";
    s[dir_key] = rules;
    out["spec"] = s;
  }

  Suggestion sug;
  WHY_ASSIGN_OR_RETURN(sug.yaml, ToYaml(out));
  sug.kind = staged_kind;
  sug.namespace_ = ref.namespace_;
  sug.name = name;
  sug.direction = dir_key;
  sug.rule_summary = absl::StrCat(dir_key, " rule ", position, ": ", rule_text);
  WHY_ASSIGN_OR_RETURN(trace::TraceReport after,
                       VerifySuggestion(resources, sug.yaml, packet, desired));
  (void)after;
  sug.verified = true;
  sug.explanation =
      absl::StrCat("Today the packet is ", Past(decision.verdict), ": ", DecisionText(decision),
                   ". Staging ", ref.trace_name, " with one new ", sug.rule_summary,
                   step.rule_index < 0 ? " (appended: the tier ended without a match)"
                                       : absl::StrCat(" (before the rule that decides today)"),
                   " makes the pending verdict ", OutcomeName(desired),
                   " (verified); enforce it once the pending trace looks right.");
  sug.decision = std::move(decision);
  return sug;
}

// ---- Case 2: no Calico policy decides; a new staged policy.

struct TierInfo {
  std::string name;
  std::optional<double> order;
};

// Every tier in evaluation order, with the implicit `default`.
std::vector<TierInfo> TiersInOrder(const model::ResourceSet& rs) {
  std::vector<TierInfo> tiers;
  bool has_default = false;
  for (const model::Tier& t : rs.tiers) {
    tiers.push_back({t.name, t.order});
    has_default |= t.name == "default";
  }
  if (!has_default) tiers.push_back({"default", 1000000.0});
  std::stable_sort(tiers.begin(), tiers.end(), [](const TierInfo& a, const TierInfo& b) {
    if (a.order.has_value() != b.order.has_value()) return a.order.has_value();
    if (a.order && *a.order != *b.order) return *a.order < *b.order;
    return a.name < b.name;
  });
  return tiers;
}

// An order that puts a new policy of `tier` just before where `step` left the
// tier: before the policy whose rule decided, or after every policy when the
// tier ended.
std::optional<double> OrderBefore(const model::ResourceSet& rs, const TraceStep& step) {
  std::optional<double> max_order;
  const model::Policy* decider = nullptr;
  for (const model::Policy& p : rs.policies) {
    if (p.staged || p.tier != step.tier) continue;
    if (p.order) max_order = std::max(max_order.value_or(*p.order), *p.order);
    if (compiler::TraceName(p) == step.policy) decider = &p;
  }
  if (step.rule_index < 0 || !decider || !decider->order) {
    return max_order ? *max_order + 1 : 1000.0;
  }
  const double at = *decider->order;
  std::optional<double> prev;
  for (const model::Policy& p : rs.policies) {
    if (p.staged || p.tier != step.tier || !p.order || *p.order >= at) continue;
    prev = std::max(prev.value_or(*p.order), *p.order);
  }
  return prev ? (*prev + at) / 2 : at - 1;
}

std::string DnsName(const std::string& s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-');
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "endpoint" : out;
}

struct Candidate {
  std::string tier;
  std::optional<double> order;
  bool trailing_pass = false;
  bool in_trace = true;
};

absl::StatusOr<Suggestion> NewStagedPolicy(const model::ResourceSet& resources,
                                           const Packet& packet, Outcome desired,
                                           Decision decision) {
  const Direction dir = decision.direction;
  const char* dir_key = DirName(dir);
  const model::Endpoint* governed =
      EndpointAt(resources, dir == Direction::kIngress ? packet.dst : packet.src);
  if (!governed) {
    return absl::InternalError(
        absl::StrCat("no endpoint owns the address where ", dir_key, " is evaluated"));
  }
  const std::string ns = governed->namespace_;
  const bool global = ns.empty();
  const std::string kind = global ? "StagedGlobalNetworkPolicy" : "StagedNetworkPolicy";
  std::string selector = LabelSelector(governed->labels);
  if (selector.empty()) selector = "all()";

  // Where it may go.
  std::vector<TraceStep> in_trace;
  for (const TraceStep& s : decision.steps) {
    if (s.tier != kProfileTier) in_trace.push_back(s);
  }
  std::vector<Candidate> candidates;
  if (decision.policy) {  // a Kubernetes policy decides: its tier first
    candidates.push_back({decision.deciding().tier, OrderBefore(resources, decision.deciding())});
  }
  if (desired == Outcome::kAllow) std::reverse(in_trace.begin(), in_trace.end());
  for (const TraceStep& s : in_trace) {
    if (!candidates.empty() && candidates.front().tier == s.tier) continue;
    candidates.push_back({s.tier, OrderBefore(resources, s)});
  }
  if (candidates.empty()) {
    std::vector<TierInfo> tiers = TiersInOrder(resources);
    candidates.push_back({tiers.front().name, std::nullopt, true, false});
  }

  Peer peer = DescribePeer(resources, dir == Direction::kIngress ? packet.src : packet.dst, ns);
  std::string rule_text;
  YAML::Node rule = BuildRule(packet, dir, desired, peer, &rule_text);

  std::vector<std::string> failures;
  for (const Candidate& c : candidates) {
    // A name no policy of that tier and namespace has yet.
    std::string base = absl::StrCat("why-", OutcomeName(desired), "-", DnsName(governed->name));
    std::string short_name = base;
    for (int i = 2;; ++i) {
      bool taken = std::any_of(
          resources.policies.begin(), resources.policies.end(), [&](const model::Policy& p) {
            return p.tier == c.tier && p.name == short_name && p.namespace_ == ns;
          });
      if (!taken) break;
      short_name = absl::StrCat(base, "-", i);
    }
    const std::string name = absl::StrCat(c.tier, ".", short_name);

    YAML::Node doc(YAML::NodeType::Map);
    doc["apiVersion"] = kCalicoApi;
    doc["kind"] = kind;
    YAML::Node meta(YAML::NodeType::Map);
    meta["name"] = name;
    if (!global) meta["namespace"] = ns;
    doc["metadata"] = meta;
    YAML::Node spec(YAML::NodeType::Map);
    spec["stagedAction"] = "Set";
    spec["tier"] = c.tier;
    if (c.order) spec["order"] = absl::StrCat(*c.order);
    spec["selector"] = selector;
    YAML::Node types(YAML::NodeType::Sequence);
    types.push_back(DirTypeName(dir));
    spec["types"] = types;
    YAML::Node rules(YAML::NodeType::Sequence);
    rules.push_back(rule);
    if (c.trailing_pass) {
      YAML::Node pass(YAML::NodeType::Map);
      pass["action"] = "Pass";
      rules.push_back(pass);
    }
    spec[dir_key] = rules;
    doc["spec"] = spec;

    Suggestion sug;
    WHY_ASSIGN_OR_RETURN(sug.yaml, ToYaml(doc));
    auto verified = VerifySuggestion(resources, sug.yaml, packet, desired);
    if (!verified.ok()) {
      failures.push_back(absl::StrCat("tier ", c.tier, ": ", verified.status().message()));
      continue;
    }
    sug.kind = kind;
    sug.namespace_ = ns;
    sug.name = name;
    sug.direction = dir_key;
    sug.rule_summary = absl::StrCat(dir_key, " rule 0: ", rule_text);
    sug.verified = true;
    std::string why_new =
        decision.from_profile()
            ? "no policy decides it, so a new staged policy is needed"
            : absl::StrCat(decision.policy->trace_name,
                           " is a Kubernetes NetworkPolicy, which cannot say this; a new staged "
                           "Calico policy goes before it");
    std::string where =
        !c.in_trace
            ? absl::StrCat("No tier applies to ", decision.endpoint, " today, so it goes in tier ",
                           c.tier,
                           " (the first by order) and ends with `action: Pass` so that "
                           "everything else still reaches the profiles as today")
            : absl::StrCat("It goes in tier ", c.tier, ", which the packet already passes through",
                           c.order ? absl::StrCat(", with order ", *c.order,
                                                  " (just before where the packet leaves the tier)")
                                   : "");
    sug.explanation =
        absl::StrCat("Today the packet is ", Past(decision.verdict), ": ", DecisionText(decision),
                     "; ", why_new, ". ", where, ". Its ", sug.rule_summary,
                     " makes the pending verdict ", OutcomeName(desired), " (verified).");
    sug.decision = std::move(decision);
    return sug;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no new staged policy gives ", OutcomeName(desired), ": ", absl::StrJoin(failures, "; ")));
}

}  // namespace

std::string PolicyRef::StoreName() const {
  return kind == "KubernetesNetworkPolicy" ? name : absl::StrCat(tier, ".", name);
}

absl::StatusOr<Decision> FindDecision(const model::ResourceSet& resources, const Packet& packet,
                                      Outcome desired) {
  WHY_ASSIGN_OR_RETURN(trace::TraceReport report, Trace(resources, packet));
  const std::string want = OutcomeName(desired);
  if (report.verdict == want) {
    return absl::FailedPreconditionError(
        absl::StrCat("the packet is already ", Past(want), " today: nothing to change"));
  }
  Decision d;
  d.verdict = report.verdict;
  const trace::DirectionReport* chosen = nullptr;
  if (desired == Outcome::kAllow) {
    if (!report.egress && !report.ingress) {
      return absl::FailedPreconditionError(
          "neither address belongs to a known endpoint: such traffic is always denied and no "
          "policy can allow it");
    }
    if (report.egress && report.egress->verdict == "deny") {
      chosen = &*report.egress;
      d.direction = Direction::kEgress;
      d.other_direction_too = report.ingress && report.ingress->verdict == "deny";
    } else {
      chosen = &*report.ingress;
      d.direction = Direction::kIngress;
    }
  } else if (report.ingress) {
    chosen = &*report.ingress;
    d.direction = Direction::kIngress;
  } else {
    chosen = &*report.egress;
    d.direction = Direction::kEgress;
  }
  d.endpoint =
      (d.direction == Direction::kIngress ? report.destination_endpoint : report.source_endpoint)
          .value_or("");
  d.steps = internal::ParseTraceSteps(chosen->enforced);
  if (d.steps.empty()) {
    return absl::InternalError(absl::StrCat("the ", DirName(d.direction), " trace is empty"));
  }
  const TraceStep& last = d.steps.back();
  if (last.tier != kProfileTier) {
    for (const model::Policy& p : resources.policies) {
      if (p.staged || compiler::TraceName(p) != last.policy) continue;
      d.policy = PolicyRef{KindName(p.kind), p.namespace_, p.tier, p.name, last.policy};
      break;
    }
    if (!d.policy) {
      return absl::InternalError(absl::StrCat("the trace names policy ", last.policy,
                                              ", which is not among the resources"));
    }
  }
  return d;
}

absl::StatusOr<Suggestion> SuggestFix(const model::ResourceSet& resources,
                                      const std::string& deciding_policy_yaml, const Packet& packet,
                                      Outcome desired) {
  WHY_ASSIGN_OR_RETURN(Decision decision, FindDecision(resources, packet, desired));
  if (decision.other_direction_too) {
    return absl::FailedPreconditionError(
        absl::StrCat("both egress at ", decision.endpoint,
                     " and ingress at the destination deny the packet: "
                     "one rule cannot allow it (fix each side; egress: ",
                     internal::DescribeStep(decision.deciding()), ")"));
  }
  if (decision.policy && decision.policy->kind != "KubernetesNetworkPolicy") {
    return EditDecidingPolicy(resources, deciding_policy_yaml, packet, desired,
                              std::move(decision));
  }
  return NewStagedPolicy(resources, packet, desired, std::move(decision));
}

}  // namespace tierwall::ctl::why
