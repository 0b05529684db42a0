// Documents, kinds and metadata; rules live in rule_parser.cc and the
// Kubernetes conversion in k8s_policy.cc.
#include "control/model/yaml_loader.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/model/k8s_policy.h"
#include "control/model/rule_parser.h"
#include "control/model/validation.h"
#include "control/model/yaml_util.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/parser.h"

namespace tierwall::ctl::model {
namespace {

using internal::Child;
using internal::FieldError;
using internal::Item;
using internal::MapReader;
using internal::Quote;

constexpr absl::string_view kCalicoApi = "projectcalico.org/v3";
constexpr absl::string_view kK8sNetworkingApi = "networking.k8s.io/v1";
constexpr absl::string_view kK8sCoreApi = "v1";
constexpr absl::string_view kOrchestratorLabel = "projectcalico.org/orchestrator";

// The fields of ObjectMeta the model uses. The others that ObjectMeta has
// (annotations, uid, resourceVersion, ...) carry no policy meaning and are
// accepted; a field ObjectMeta does not have is refused, as the API server's
// strict decoding refuses it.
struct Meta {
  std::string name;
  std::string namespace_;
  bool has_namespace = false;
  Labels labels;
};

absl::StatusOr<Meta> ParseMeta(const MapReader& top, internal::NameRule rule) {
  Meta meta;
  std::string path = top.PathOf("metadata");
  const YAML::Node* node = top.Get("metadata");
  if (!node) return FieldError(Child(path, "name"), "required field missing");
  TW_ASSIGN_OR_RETURN(
      MapReader m,
      MapReader::Read(
          *node, path,
          {"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
           "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName",
           "ownerReferences", "finalizers", "managedFields", "selfLink"}));
  const YAML::Node* name = m.Get("name");
  if (!name) return FieldError(m.PathOf("name"), "required field missing");
  TW_ASSIGN_OR_RETURN(meta.name, internal::ReadString(*name, m.PathOf("name")));
  TW_RETURN_IF_ERROR(internal::CheckName(meta.name, rule, m.PathOf("name")));
  if (const YAML::Node* ns = m.Get("namespace")) {
    TW_ASSIGN_OR_RETURN(meta.namespace_, internal::ReadString(*ns, m.PathOf("namespace")));
    meta.has_namespace = !meta.namespace_.empty();
    if (meta.has_namespace) {
      // Namespaces are DNS-1123 labels in Kubernetes.
      TW_RETURN_IF_ERROR(
          internal::CheckName(meta.namespace_, internal::NameRule::kLabel, m.PathOf("namespace")));
    }
  }
  if (const YAML::Node* labels = m.Get("labels")) {
    TW_ASSIGN_OR_RETURN(meta.labels, internal::ReadStringMap(*labels, m.PathOf("labels")));
    TW_RETURN_IF_ERROR(internal::CheckLabels(meta.labels, m.PathOf("labels")));
  }
  if (const YAML::Node* annotations = m.Get("annotations")) {
    TW_ASSIGN_OR_RETURN(MapReader a, MapReader::ReadAny(*annotations, m.PathOf("annotations")));
    std::vector<std::pair<std::string, std::string>> kv;
    for (const auto& [k, v] : a.entries()) {
      std::string value;
      if (!v.IsNull()) {
        TW_ASSIGN_OR_RETURN(value, internal::ReadString(v, a.PathOf(k)));
      }
      kv.emplace_back(k, std::move(value));
    }
    TW_RETURN_IF_ERROR(internal::CheckAnnotationKeys(kv, m.PathOf("annotations")));
  }
  return meta;
}

// Namespaced kinds default to "default", as kubectl and calicoctl do.
std::string NamespaceOrDefault(const Meta& meta) {
  return meta.has_namespace ? meta.namespace_ : "default";
}

absl::Status RejectNamespace(const MapReader& top, const Meta& meta) {
  if (!meta.has_namespace) return absl::OkStatus();
  return FieldError(Child(top.PathOf("metadata"), "namespace"),
                    "must not be set on a global resource");
}

absl::Status RejectNamespaceLabel(const MapReader& top, const Meta& meta) {
  // Calico reserves this label for the namespace of namespaced resources.
  if (meta.labels.count(selector::kNamespaceLabel) == 0) return absl::OkStatus();
  const std::string label(selector::kNamespaceLabel);
  return FieldError(Child(Child(top.PathOf("metadata"), "labels"), label),
                    "is reserved and may not be set");
}

// Tier names appear inside policy names ("<tier>.<policy>"), so no dots.
absl::Status CheckTierName(absl::string_view name, absl::string_view path) {
  return internal::CheckName(name, internal::NameRule::kTier, path);
}

absl::StatusOr<StagedAction> ParseStagedAction(const YAML::Node* node, absl::string_view path) {
  if (!node) return StagedAction::kSet;
  TW_ASSIGN_OR_RETURN(std::string text, internal::ReadString(*node, path));
  if (text == "Set") return StagedAction::kSet;
  if (text == "Delete") return StagedAction::kDelete;
  if (text == "Learn") return StagedAction::kLearn;
  if (text == "Ignore") return StagedAction::kIgnore;
  return FieldError(path, absl::StrCat(Quote(text),
                                       " is not a valid stagedAction (Set, Delete, Learn or "
                                       "Ignore)"));
}

// The CEL rules on Calico's Tier type: the tiers Calico creates itself have
// a fixed order and default action. An unset order on "default" is Calico's
// own 1000000 (the compiler would otherwise put a written default tier last).
absl::Status CheckWellKnownTier(const MapReader& spec, Tier* tier) {
  struct WellKnown {
    const char* name;
    double order;
    Action action;
    const char* action_name;
  };
  static constexpr WellKnown kTiers[] = {{"default", 1000000.0, Action::kDeny, "Deny"},
                                         {"kube-admin", 1000.0, Action::kPass, "Pass"},
                                         {"kube-baseline", 10000000.0, Action::kPass, "Pass"}};
  for (const WellKnown& w : kTiers) {
    if (tier->name != w.name) continue;
    if (tier->default_action != w.action) {
      return FieldError(
          spec.PathOf("defaultAction"),
          absl::StrCat("The '", w.name, "' tier must have default action '", w.action_name, "'"));
    }
    if (!tier->order && tier->name == "default") tier->order = w.order;
    if (tier->order != w.order) {
      return FieldError(spec.PathOf("order"), absl::StrCat(w.name, " tier order must be ",
                                                           static_cast<int64_t>(w.order)));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseTier(const MapReader& top, const Meta& meta, SourceRef src, ResourceSet* out) {
  TW_RETURN_IF_ERROR(RejectNamespace(top, meta));
  TW_RETURN_IF_ERROR(CheckTierName(meta.name, Child(top.PathOf("metadata"), "name")));
  static const YAML::Node kNull;
  const YAML::Node* spec_node = top.Get("spec");
  TW_ASSIGN_OR_RETURN(MapReader spec,
                      MapReader::Read(spec_node ? *spec_node : kNull, top.PathOf("spec"),
                                      {"order", "defaultAction"}));
  Tier tier;
  tier.name = meta.name;
  tier.source = std::move(src);
  if (const YAML::Node* n = spec.Get("order")) {
    TW_ASSIGN_OR_RETURN(tier.order, internal::ReadNumber(*n, spec.PathOf("order")));
  }
  if (const YAML::Node* n = spec.Get("defaultAction")) {
    TW_ASSIGN_OR_RETURN(std::string a, internal::ReadString(*n, spec.PathOf("defaultAction")));
    if (a == "Deny") {
      tier.default_action = Action::kDeny;
    } else if (a == "Pass") {
      tier.default_action = Action::kPass;
    } else {
      return FieldError(spec.PathOf("defaultAction"),
                        absl::StrCat(Quote(a), " is not a valid defaultAction (Deny or Pass)"));
    }
  }
  TW_RETURN_IF_ERROR(CheckWellKnownTier(spec, &tier));
  out->tiers.push_back(std::move(tier));
  return absl::OkStatus();
}

// doNotTrack, preDNAT and applyOnForward (GlobalNetworkPolicy). Calico's
// own constraints first, with its messages; then what Tierwall cannot do:
// each of them moves the policy to a stage of Felix's pipeline (untracked,
// before DNAT, forwarded through a host) that Tierwall does not have, so
// applying the policy as ordinary policy would change what it allows.
absl::Status CheckHostStageFlags(const MapReader& spec) {
  bool flag[3] = {false, false, false};
  const char* names[3] = {"doNotTrack", "preDNAT", "applyOnForward"};
  for (int i = 0; i < 3; ++i) {
    if (const YAML::Node* n = spec.Get(names[i])) {
      TW_ASSIGN_OR_RETURN(flag[i], internal::ReadBool(*n, spec.PathOf(names[i])));
    }
  }
  const bool do_not_track = flag[0], pre_dnat = flag[1], apply_on_forward = flag[2];
  if (do_not_track && pre_dnat) {
    return FieldError(spec.PathOf("preDNAT"), "preDNAT and doNotTrack cannot both be true");
  }
  if (pre_dnat) {
    if (const YAML::Node* e = spec.Get("egress"); e && e->size() > 0) {
      return FieldError(spec.PathOf("egress"), "preDNAT policy cannot have any egress rules");
    }
    if (const YAML::Node* t = spec.Get("types"); t && t->IsSequence()) {
      for (const YAML::Node& item : *t) {
        if (item.IsScalar() && item.Scalar() == "Egress") {
          return FieldError(spec.PathOf("types"), "preDNAT policy cannot have 'Egress' type");
        }
      }
    }
  }
  if ((do_not_track || pre_dnat) && !apply_on_forward) {
    return FieldError(spec.PathOf("applyOnForward"),
                      "applyOnForward must be true if either preDNAT or doNotTrack is true");
  }
  if (do_not_track) {
    return FieldError(spec.PathOf("doNotTrack"),
                      "not supported: Tierwall has no untracked (pre-connection-tracking) policy "
                      "stage; refused rather than applied as ordinary policy");
  }
  if (pre_dnat) {
    return FieldError(spec.PathOf("preDNAT"),
                      "not supported: Tierwall does no DNAT, so it has no pre-DNAT policy stage; "
                      "refused rather than applied as ordinary policy");
  }
  if (apply_on_forward) {
    return FieldError(spec.PathOf("applyOnForward"),
                      "not supported: Tierwall judges host endpoints by their own addresses and "
                      "never applies their policy to traffic forwarded through the host; refused "
                      "rather than ignored (false, the default, is accepted)");
  }
  return absl::OkStatus();
}

absl::Status ParseCalicoPolicy(const MapReader& top, const Meta& meta, PolicyKind kind, bool staged,
                               SourceRef src, ResourceSet* out) {
  const bool global = kind == PolicyKind::kGlobalNetworkPolicy;
  Policy p;
  p.kind = kind;
  p.staged = staged;
  p.source = std::move(src);
  if (global) {
    TW_RETURN_IF_ERROR(RejectNamespace(top, meta));
  } else {
    p.namespace_ = NamespaceOrDefault(meta);
  }
  static const YAML::Node kNull;
  const YAML::Node* spec_node = top.Get("spec");
  std::vector<absl::string_view> known = {"tier",
                                          "order",
                                          "selector",
                                          "types",
                                          "ingress",
                                          "egress",
                                          "serviceAccountSelector",
                                          "performanceHints"};
  if (global) {
    known.insert(known.end(), {"namespaceSelector", "doNotTrack", "preDNAT", "applyOnForward"});
  }
  if (staged) known.push_back("stagedAction");
  TW_ASSIGN_OR_RETURN(MapReader spec,
                      MapReader::ReadAny(spec_node ? *spec_node : kNull, top.PathOf("spec")));
  for (const auto& [field, unused] : spec.entries()) {
    if (std::find(known.begin(), known.end(), field) == known.end()) {
      return FieldError(spec.PathOf(field), "unknown field");
    }
  }

  if (const YAML::Node* n = spec.Get("tier")) {
    TW_ASSIGN_OR_RETURN(p.tier, internal::ReadString(*n, spec.PathOf("tier")));
    TW_RETURN_IF_ERROR(CheckTierName(p.tier, spec.PathOf("tier")));
  }
  // "app.frontend" in tier "app" is policy "frontend": older Calico required
  // the tier prefix in the name, newer accepts either form.
  p.name = meta.name;
  if (std::string prefix = absl::StrCat(p.tier, "."); absl::StartsWith(p.name, prefix)) {
    p.name = p.name.substr(prefix.size());
    if (p.name.empty()) {
      return FieldError(Child(top.PathOf("metadata"), "name"),
                        absl::StrCat(Quote(meta.name), " has no name after the tier prefix"));
    }
  }
  if (const YAML::Node* n = spec.Get("order")) {
    TW_ASSIGN_OR_RETURN(p.order, internal::ReadNumber(*n, spec.PathOf("order")));
  }
  auto read_top_selector = [&](absl::string_view field,
                               std::optional<Selector>* dst) -> absl::Status {
    const YAML::Node* n = spec.Get(field);
    if (!n) return absl::OkStatus();
    TW_ASSIGN_OR_RETURN(*dst, internal::ReadSelector(*n, spec.PathOf(field)));
    if ((*dst)->text().find("global(") != std::string::npos) {
      return FieldError(spec.PathOf(field),
                        "global() can only be used in an EntityRule namespaceSelector");
    }
    return absl::OkStatus();
  };
  std::optional<Selector> selector;
  TW_RETURN_IF_ERROR(read_top_selector("selector", &selector));
  if (selector) p.selector = std::move(*selector);
  TW_RETURN_IF_ERROR(read_top_selector("serviceAccountSelector", &p.service_account_selector));
  if (global) TW_RETURN_IF_ERROR(read_top_selector("namespaceSelector", &p.namespace_selector));
  if (global) TW_RETURN_IF_ERROR(CheckHostStageFlags(spec));
  if (const YAML::Node* n = spec.Get("performanceHints")) {
    // A hint to Felix's calculation graph; it never changes a verdict.
    std::string path = spec.PathOf("performanceHints");
    TW_ASSIGN_OR_RETURN(std::vector<std::string> hints, internal::ReadStringList(*n, path));
    for (size_t i = 0; i < hints.size(); ++i) {
      if (hints[i] != "AssumeNeededOnEveryNode") {
        return FieldError(Item(path, i), absl::StrCat(Quote(hints[i]),
                                                      " is not a valid performance hint "
                                                      "(AssumeNeededOnEveryNode)"));
      }
      if (i > 0) return FieldError(Item(path, i), "duplicate performance hint");
    }
  }
  if (staged) {
    TW_ASSIGN_OR_RETURN(p.staged_action,
                        ParseStagedAction(spec.Get("stagedAction"), spec.PathOf("stagedAction")));
    if (p.staged_action == StagedAction::kDelete) {
      // validateStagedNetworkPolicy: a Delete names the policy, nothing more.
      for (const auto& [field, value] : spec.entries()) {
        if (field == "tier" || field == "stagedAction" || value.IsNull()) continue;
        return FieldError(spec.PathOf(field),
                          "Spec fields, except Tier, should all be zero-value if stagedAction "
                          "is Delete");
      }
    }
  }
  if (const YAML::Node* n = spec.Get("ingress")) {
    TW_ASSIGN_OR_RETURN(p.ingress,
                        internal::ParseRules(*n, spec.PathOf("ingress"), Direction::kIngress));
  }
  if (const YAML::Node* n = spec.Get("egress")) {
    TW_ASSIGN_OR_RETURN(p.egress,
                        internal::ParseRules(*n, spec.PathOf("egress"), Direction::kEgress));
  }
  std::vector<std::string> types;
  if (const YAML::Node* n = spec.Get("types")) {
    TW_ASSIGN_OR_RETURN(types, internal::ReadStringList(*n, spec.PathOf("types")));
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (std::find(types.begin(), types.begin() + i, types[i]) != types.begin() + i) {
      return FieldError(Item(spec.PathOf("types"), i),
                        absl::StrCat("'", types[i], "' type specified more than once"));
    }
    if (types[i] == "Ingress") {
      p.applies_ingress = true;
    } else if (types[i] == "Egress") {
      p.applies_egress = true;
    } else {
      return FieldError(Item(spec.PathOf("types"), i),
                        absl::StrCat(Quote(types[i]), " is not Ingress or Egress"));
    }
  }
  if (types.empty()) {
    // Calico's defaulting: Egress alone only for egress-only rule sets.
    p.applies_egress = !p.egress.empty();
    p.applies_ingress = !p.ingress.empty() || p.egress.empty();
  }
  out->policies.push_back(std::move(p));
  return absl::OkStatus();
}

absl::Status ParseK8sPolicy(const MapReader& top, const Meta& meta, bool staged, SourceRef src,
                            ResourceSet* out) {
  Policy p;
  p.kind = PolicyKind::kKubernetesNetworkPolicy;
  p.staged = staged;
  p.name = meta.name;
  p.namespace_ = NamespaceOrDefault(meta);
  p.source = std::move(src);
  static const YAML::Node kNull;
  const YAML::Node* spec = top.Get("spec");
  TW_RETURN_IF_ERROR(
      internal::ParseK8sNetworkPolicySpec(spec ? *spec : kNull, top.PathOf("spec"), staged, &p));
  if (staged) {
    // The spec was checked strictly above; this only picks out stagedAction.
    TW_ASSIGN_OR_RETURN(MapReader s, MapReader::ReadAny(spec ? *spec : kNull, top.PathOf("spec")));
    TW_ASSIGN_OR_RETURN(p.staged_action,
                        ParseStagedAction(s.Get("stagedAction"), s.PathOf("stagedAction")));
    if (p.staged_action == StagedAction::kDelete) {
      // validateStagedKubernetesNetworkPolicy.
      for (const auto& [field, value] : s.entries()) {
        if (field == "stagedAction" || value.IsNull()) continue;
        return FieldError(s.PathOf(field),
                          "Spec fields should all be zero-value if stagedAction is Delete");
      }
    }
  }
  out->policies.push_back(std::move(p));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NamedPort>> ParseEndpointPorts(const YAML::Node& node,
                                                          absl::string_view path, bool workload) {
  TW_RETURN_IF_ERROR(internal::ExpectSequence(node, path));
  std::vector<NamedPort> out;
  size_t i = 0;
  for (const YAML::Node& item : node) {
    std::string item_path = Item(path, i++);
    absl::StatusOr<MapReader> read =
        workload
            ? MapReader::Read(item, item_path, {"name", "protocol", "port", "hostPort", "hostIP"})
            : MapReader::Read(item, item_path, {"name", "protocol", "port"});
    if (!read.ok()) return read.status();
    const MapReader& m = *read;
    NamedPort port;
    if (const YAML::Node* n = m.Get("name")) {
      TW_ASSIGN_OR_RETURN(port.name, internal::ReadString(*n, m.PathOf("name")));
    }
    if (!port.name.empty())
      TW_RETURN_IF_ERROR(internal::CheckPortName(port.name, m.PathOf("name")));
    const YAML::Node* proto = m.Get("protocol");
    if (!proto) return FieldError(m.PathOf("protocol"), "required field missing");
    TW_ASSIGN_OR_RETURN(port.protocol, internal::ParseProtocol(*proto, m.PathOf("protocol")));
    if (port.protocol != 6 && port.protocol != 17 && port.protocol != 132) {
      return FieldError(m.PathOf("protocol"), "protocol does not support ports (TCP, UDP or SCTP)");
    }
    const YAML::Node* num = m.Get("port");
    if (!num) return FieldError(m.PathOf("port"), "required field missing");
    TW_ASSIGN_OR_RETURN(int64_t v, internal::ReadInteger(*num, m.PathOf("port")));
    if (v < 1 || v > 65535)
      return FieldError(m.PathOf("port"), absl::StrCat(v, " is not a valid port (1-65535)"));
    port.port = static_cast<uint16_t>(v);
    bool host_port = false;
    if (const YAML::Node* n = m.Get("hostPort")) {
      TW_ASSIGN_OR_RETURN(int64_t hp, internal::ReadInteger(*n, m.PathOf("hostPort")));
      if (hp < 0 || hp > 65535)
        return FieldError(m.PathOf("hostPort"), absl::StrCat(hp, " is not a valid port"));
      host_port = hp != 0;
    }
    if (const YAML::Node* n = m.Get("hostIP")) {
      TW_RETURN_IF_ERROR(internal::ReadString(*n, m.PathOf("hostIP")).status());
    }
    if (port.name.empty()) {
      // Calico allows an unnamed port only as a host-port mapping; it is not
      // a named port, so policy never sees it.
      if (!workload || !host_port) return FieldError(m.PathOf("name"), "required field missing");
      continue;
    }
    out.push_back(std::move(port));
  }
  return out;
}

absl::Status ParseWorkloadEndpoint(const MapReader& top, const Meta& meta, SourceRef src,
                                   ResourceSet* out) {
  static const YAML::Node kNull;
  const YAML::Node* spec_node = top.Get("spec");
  TW_ASSIGN_OR_RETURN(
      MapReader spec,
      MapReader::Read(spec_node ? *spec_node : kNull, top.PathOf("spec"),
                      {"orchestrator", "workload", "node", "containerID", "pod", "endpoint",
                       "serviceAccountName", "ipNetworks", "ipNATs", "ipv4Gateway", "ipv6Gateway",
                       "profiles", "interfaceName", "mac", "ports", "allowSpoofedSourcePrefixes"}));
  Endpoint ep;
  ep.kind = EndpointKind::kWorkload;
  ep.namespace_ = NamespaceOrDefault(meta);
  ep.labels = meta.labels;
  ep.source = std::move(src);
  ep.name = meta.name;
  auto read_string = [&](absl::string_view field, std::string* dst) -> absl::Status {
    const YAML::Node* n = spec.Get(field);
    if (!n) return absl::OkStatus();
    TW_ASSIGN_OR_RETURN(*dst, internal::ReadString(*n, spec.PathOf(field)));
    return absl::OkStatus();
  };
  std::string pod;
  TW_RETURN_IF_ERROR(read_string("pod", &pod));
  if (!pod.empty()) ep.name = pod;
  TW_RETURN_IF_ERROR(read_string("node", &ep.node));
  TW_RETURN_IF_ERROR(read_string("interfaceName", &ep.interface_name));
  TW_RETURN_IF_ERROR(read_string("mac", &ep.mac));
  TW_RETURN_IF_ERROR(read_string("serviceAccountName", &ep.service_account));
  // libcalico-go stores every WorkloadEndpoint with the label
  // projectcalico.org/orchestrator = spec.orchestrator (updateLabelsForStorage),
  // and converted Kubernetes policies select `projectcalico.org/orchestrator
  // == 'k8s'`. Tierwall models Calico on Kubernetes, where every workload
  // endpoint is a pod, so an omitted orchestrator means k8s. The compiler adds
  // the label; `labels` stay as written.
  std::string orchestrator = "k8s";
  TW_RETURN_IF_ERROR(read_string("orchestrator", &orchestrator));
  if (orchestrator.empty()) {
    return FieldError(spec.PathOf("orchestrator"), "must not be empty (k8s for a pod)");
  }
  if (auto it = ep.labels.find(kOrchestratorLabel);
      it != ep.labels.end() && it->second != orchestrator) {
    return FieldError(Child(Child(top.PathOf("metadata"), "labels"), kOrchestratorLabel),
                      absl::StrCat(Quote(it->second), " disagrees with spec.orchestrator ",
                                   Quote(orchestrator), " (Calico sets this label from it)"));
  }
  ep.orchestrator = orchestrator;
  for (const char* ignored :
       {"workload", "containerID", "endpoint", "ipv4Gateway", "ipv6Gateway"}) {
    std::string unused;
    TW_RETURN_IF_ERROR(read_string(ignored, &unused));
  }
  if (const YAML::Node* n = spec.Get("ipNetworks")) {
    std::string path = spec.PathOf("ipNetworks");
    TW_ASSIGN_OR_RETURN(std::vector<std::string> nets, internal::ReadStringList(*n, path));
    for (size_t i = 0; i < nets.size(); ++i) {
      std::string why;
      std::optional<Cidr> cidr = Cidr::Parse(nets[i], &why);
      if (!cidr) return FieldError(Item(path, i), absl::StrCat(Quote(nets[i]), " ", why));
      if (cidr->prefix_len != dp::classify::AddressBits(cidr->addr.family)) {
        return FieldError(Item(path, i),
                          absl::StrCat(Quote(nets[i]), " must be a single address (/32 or /128)"));
      }
      ep.ips.push_back(cidr->addr);
    }
  }
  if (!ep.node.empty()) {
    TW_RETURN_IF_ERROR(
        internal::CheckName(ep.node, internal::NameRule::kSubdomain, spec.PathOf("node")));
  }
  if (const YAML::Node* n = spec.Get("ipNATs")) {
    TW_RETURN_IF_ERROR(internal::ExpectSequence(*n, spec.PathOf("ipNATs")));
    if (n->size() > 0) {
      // Calico DNATs the external address to the internal one before policy;
      // Tierwall does no NAT, so traffic to the external address would meet
      // no endpoint at all.
      return FieldError(spec.PathOf("ipNATs"),
                        "not supported: Tierwall does no NAT (1:1 NAT of workload addresses)");
    }
  }
  if (const YAML::Node* n = spec.Get("allowSpoofedSourcePrefixes")) {
    std::string path = spec.PathOf("allowSpoofedSourcePrefixes");
    TW_ASSIGN_OR_RETURN(std::vector<std::string> prefixes, internal::ReadStringList(*n, path));
    for (size_t i = 0; i < prefixes.size(); ++i) {
      std::string why;
      if (!Cidr::Parse(prefixes[i], &why)) {
        return FieldError(Item(path, i), absl::StrCat(Quote(prefixes[i]), " ", why));
      }
    }
  }
  if (const YAML::Node* n = spec.Get("ports")) {
    TW_ASSIGN_OR_RETURN(ep.ports, ParseEndpointPorts(*n, spec.PathOf("ports"), true));
  }
  if (const YAML::Node* n = spec.Get("profiles")) {
    TW_ASSIGN_OR_RETURN(ep.profiles, internal::ReadProfileNames(*n, spec.PathOf("profiles")));
  } else {
    // What Calico's Kubernetes datastore gives every pod.
    ep.profiles.push_back(absl::StrCat("kns.", ep.namespace_));
    if (!ep.service_account.empty()) {
      ep.profiles.push_back(absl::StrCat("ksa.", ep.namespace_, ".", ep.service_account));
    }
  }
  out->endpoints.push_back(std::move(ep));
  return absl::OkStatus();
}

absl::Status ParseHostEndpoint(const MapReader& top, const Meta& meta, SourceRef src,
                               ResourceSet* out) {
  TW_RETURN_IF_ERROR(RejectNamespace(top, meta));
  static const YAML::Node kNull;
  const YAML::Node* spec_node = top.Get("spec");
  TW_ASSIGN_OR_RETURN(
      MapReader spec,
      MapReader::Read(spec_node ? *spec_node : kNull, top.PathOf("spec"),
                      {"node", "interfaceName", "expectedIPs", "profiles", "ports"}));
  Endpoint ep;
  ep.kind = EndpointKind::kHost;
  ep.name = meta.name;
  ep.labels = meta.labels;
  ep.source = std::move(src);
  if (const YAML::Node* n = spec.Get("node")) {
    // Which Felix enforces the endpoint. Tierwall enforces wherever the
    // traffic crosses tierwalld, so the node only has to be a valid name
    // (control/README.md, Differences from Calico).
    TW_ASSIGN_OR_RETURN(ep.node, internal::ReadString(*n, spec.PathOf("node")));
    TW_RETURN_IF_ERROR(
        internal::CheckName(ep.node, internal::NameRule::kSubdomain, spec.PathOf("node")));
  }
  if (const YAML::Node* n = spec.Get("interfaceName")) {
    TW_ASSIGN_OR_RETURN(ep.interface_name, internal::ReadString(*n, spec.PathOf("interfaceName")));
  }
  if (const YAML::Node* n = spec.Get("expectedIPs")) {
    std::string path = spec.PathOf("expectedIPs");
    TW_ASSIGN_OR_RETURN(std::vector<std::string> ips, internal::ReadStringList(*n, path));
    for (size_t i = 0; i < ips.size(); ++i) {
      std::optional<IpAddr> ip = IpAddr::Parse(ips[i]);
      if (!ip)
        return FieldError(Item(path, i), absl::StrCat(Quote(ips[i]), " is not a valid IP address"));
      ep.ips.push_back(*ip);
    }
  }
  // HostEndpointSpec's CEL rule (api/pkg/apis/projectcalico/v3/hostendpoint.go):
  // an endpoint with neither names nothing to protect.
  if (ep.interface_name.empty() && ep.ips.empty()) {
    return FieldError(top.PathOf("spec"),
                      "at least one of interfaceName or expectedIPs must be specified");
  }
  if (const YAML::Node* n = spec.Get("profiles")) {
    TW_ASSIGN_OR_RETURN(ep.profiles, internal::ReadProfileNames(*n, spec.PathOf("profiles")));
  }
  if (const YAML::Node* n = spec.Get("ports")) {
    TW_ASSIGN_OR_RETURN(ep.ports, ParseEndpointPorts(*n, spec.PathOf("ports"), false));
  }
  out->endpoints.push_back(std::move(ep));
  return absl::OkStatus();
}

absl::Status ParseNetworkSet(const MapReader& top, const Meta& meta, bool global, SourceRef src,
                             ResourceSet* out) {
  if (global) TW_RETURN_IF_ERROR(RejectNamespace(top, meta));
  TW_RETURN_IF_ERROR(RejectNamespaceLabel(top, meta));
  static const YAML::Node kNull;
  const YAML::Node* spec_node = top.Get("spec");
  TW_ASSIGN_OR_RETURN(MapReader spec,
                      MapReader::Read(spec_node ? *spec_node : kNull, top.PathOf("spec"),
                                      {"nets", "allowedEgressDomains"}));
  NetworkSet set;
  set.global = global;
  set.name = meta.name;
  if (!global) set.namespace_ = NamespaceOrDefault(meta);
  set.labels = meta.labels;
  set.source = std::move(src);
  if (const YAML::Node* n = spec.Get("nets")) {
    std::string path = spec.PathOf("nets");
    TW_ASSIGN_OR_RETURN(std::vector<std::string> nets, internal::ReadStringList(*n, path));
    for (size_t i = 0; i < nets.size(); ++i) {
      // Calico validates set nets with "cidr", not the strict "net" of rules:
      // host bits below the prefix are allowed and the network is what counts.
      TW_ASSIGN_OR_RETURN(Cidr cidr, internal::ParseLooseCidr(nets[i], Item(path, i)));
      set.nets.push_back(cidr);
    }
  }
  if (const YAML::Node* n = spec.Get("allowedEgressDomains")) {
    std::string path = spec.PathOf("allowedEgressDomains");
    TW_ASSIGN_OR_RETURN(std::vector<std::string> domains, internal::ReadStringList(*n, path));
    if (!domains.empty()) {
      // Consistent with destination.domains: both need DNS-learnt addresses.
      return FieldError(path,
                        "not supported: Tierwall does not learn addresses from DNS, so a domain "
                        "set would match nothing");
    }
  }
  out->network_sets.push_back(std::move(set));
  return absl::OkStatus();
}

absl::Status ParseProfile(const MapReader& top, const Meta& meta, SourceRef src, ResourceSet* out) {
  TW_RETURN_IF_ERROR(RejectNamespace(top, meta));
  static const YAML::Node kNull;
  const YAML::Node* spec_node = top.Get("spec");
  TW_ASSIGN_OR_RETURN(MapReader spec,
                      MapReader::Read(spec_node ? *spec_node : kNull, top.PathOf("spec"),
                                      {"ingress", "egress", "labelsToApply"}));
  Profile prof;
  prof.name = meta.name;
  prof.source = std::move(src);
  if (const YAML::Node* n = spec.Get("ingress")) {
    TW_ASSIGN_OR_RETURN(prof.ingress,
                        internal::ParseRules(*n, spec.PathOf("ingress"), Direction::kIngress));
  }
  if (const YAML::Node* n = spec.Get("egress")) {
    TW_ASSIGN_OR_RETURN(prof.egress,
                        internal::ParseRules(*n, spec.PathOf("egress"), Direction::kEgress));
  }
  if (const YAML::Node* n = spec.Get("labelsToApply")) {
    TW_ASSIGN_OR_RETURN(prof.labels_to_apply,
                        internal::ReadStringMap(*n, spec.PathOf("labelsToApply")));
    TW_RETURN_IF_ERROR(internal::CheckLabels(prof.labels_to_apply, spec.PathOf("labelsToApply")));
  }
  out->profiles.push_back(std::move(prof));
  return absl::OkStatus();
}

absl::Status ParseNamespace(const MapReader& top, const Meta& meta, SourceRef src,
                            ResourceSet* out) {
  TW_RETURN_IF_ERROR(RejectNamespace(top, meta));
  // spec (finalizers) and status carry nothing policy needs.
  Namespace ns;
  ns.name = meta.name;
  ns.labels = meta.labels;
  ns.source = std::move(src);
  out->namespaces.push_back(std::move(ns));
  return absl::OkStatus();
}

absl::Status ParseServiceAccount(const MapReader& top, const Meta& meta, SourceRef src,
                                 ResourceSet* out) {
  // secrets, imagePullSecrets and automountServiceAccountToken carry nothing
  // policy needs; the labels are what Calico's ksa.<ns>.<name> profile holds.
  for (const auto& [field, unused] : top.entries()) {
    if (field != "apiVersion" && field != "kind" && field != "metadata" && field != "secrets" &&
        field != "imagePullSecrets" && field != "automountServiceAccountToken") {
      return FieldError(top.PathOf(field), "unknown field");
    }
  }
  ServiceAccount sa;
  sa.name = meta.name;
  sa.namespace_ = NamespaceOrDefault(meta);
  sa.labels = meta.labels;
  sa.source = std::move(src);
  out->service_accounts.push_back(std::move(sa));
  return absl::OkStatus();
}

absl::Status ParseObject(const YAML::Node& node, const std::string& prefix, const SourceRef& src,
                         absl::string_view default_api, absl::string_view default_kind, int depth,
                         ResourceSet* out);

// `kind: List` (kubectl) or `kind: <Kind>List` (calicoctl): every item is a
// resource; items of a <Kind>List may leave out apiVersion and kind.
absl::Status ParseList(const MapReader& top, const std::string& api, const std::string& kind,
                       const SourceRef& src, int depth, ResourceSet* out) {
  for (const auto& [field, unused] : top.entries()) {
    if (field != "apiVersion" && field != "kind" && field != "metadata" && field != "items") {
      return FieldError(top.PathOf(field), "unknown field");
    }
  }
  if (depth > 0) return FieldError(top.PathOf("kind"), "lists may not be nested");
  const YAML::Node* items = top.Get("items");
  if (!items) return absl::OkStatus();
  std::string path = top.PathOf("items");
  TW_RETURN_IF_ERROR(internal::ExpectSequence(*items, path));
  std::string item_kind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
  size_t i = 0;
  for (const YAML::Node& item : *items) {
    TW_RETURN_IF_ERROR(ParseObject(item, Item(path, i++), src, item_kind.empty() ? "" : api,
                                   item_kind, depth + 1, out));
  }
  return absl::OkStatus();
}

absl::Status ParseObject(const YAML::Node& node, const std::string& prefix, const SourceRef& src,
                         absl::string_view default_api, absl::string_view default_kind, int depth,
                         ResourceSet* out) {
  TW_ASSIGN_OR_RETURN(MapReader top, MapReader::ReadAny(node, prefix));
  std::string api(default_api), kind(default_kind);
  if (const YAML::Node* n = top.Get("apiVersion")) {
    TW_ASSIGN_OR_RETURN(api, internal::ReadString(*n, top.PathOf("apiVersion")));
  }
  if (const YAML::Node* n = top.Get("kind")) {
    TW_ASSIGN_OR_RETURN(kind, internal::ReadString(*n, top.PathOf("kind")));
  }
  if (kind.empty()) return FieldError(top.PathOf("kind"), "required field missing");
  if (kind == "List" || (kind.size() > 4 && absl::EndsWith(kind, "List"))) {
    return ParseList(top, api, kind, src, depth, out);
  }
  if (api.empty()) return FieldError(top.PathOf("apiVersion"), "required field missing");

  enum class K {
    kTier,
    kNp,
    kGnp,
    kSnp,
    kSgnp,
    kSknp,
    kWep,
    kHep,
    kGns,
    kNs,
    kProfile,
    kK8sNp,
    kNamespace,
    kServiceAccount
  };
  struct KindInfo {
    absl::string_view api;
    absl::string_view kind;
    K k;
  };
  static constexpr KindInfo kKinds[] = {
      {kCalicoApi, "Tier", K::kTier},
      {kCalicoApi, "NetworkPolicy", K::kNp},
      {kCalicoApi, "GlobalNetworkPolicy", K::kGnp},
      {kCalicoApi, "StagedNetworkPolicy", K::kSnp},
      {kCalicoApi, "StagedGlobalNetworkPolicy", K::kSgnp},
      {kCalicoApi, "StagedKubernetesNetworkPolicy", K::kSknp},
      {kCalicoApi, "WorkloadEndpoint", K::kWep},
      {kCalicoApi, "HostEndpoint", K::kHep},
      {kCalicoApi, "GlobalNetworkSet", K::kGns},
      {kCalicoApi, "NetworkSet", K::kNs},
      {kCalicoApi, "Profile", K::kProfile},
      {kK8sNetworkingApi, "NetworkPolicy", K::kK8sNp},
      {kK8sCoreApi, "Namespace", K::kNamespace},
      {kK8sCoreApi, "ServiceAccount", K::kServiceAccount},
  };
  const KindInfo* info = nullptr;
  std::vector<absl::string_view> apis_for_kind;
  for (const KindInfo& k : kKinds) {
    if (k.kind != kind) continue;
    apis_for_kind.push_back(k.api);
    if (k.api == api) info = &k;
  }
  if (apis_for_kind.empty()) {
    return FieldError(top.PathOf("kind"), absl::StrCat("unknown kind ", Quote(kind)));
  }
  if (!info) {
    std::string want;
    for (absl::string_view a : apis_for_kind) absl::StrAppend(&want, want.empty() ? "" : " or ", a);
    return FieldError(top.PathOf("apiVersion"), absl::StrCat(Quote(api), " is not valid for kind ",
                                                             kind, " (want ", want, ")"));
  }
  if (info->k == K::kServiceAccount) {
    TW_ASSIGN_OR_RETURN(Meta meta, ParseMeta(top, internal::NameRule::kSubdomain));
    return ParseServiceAccount(top, meta, src, out);
  }
  // Only the kinds whose type has a status (Calico's Tier, Kubernetes'
  // Namespace and NetworkPolicy) accept one; it is the server's report, and
  // carries no policy.
  const bool has_status = info->k == K::kTier || info->k == K::kNamespace || info->k == K::kK8sNp;
  for (const auto& [field, unused] : top.entries()) {
    if (field != "apiVersion" && field != "kind" && field != "metadata" && field != "spec" &&
        (field != "status" || !has_status)) {
      return FieldError(top.PathOf(field), "unknown field");
    }
  }
  internal::NameRule name_rule = internal::NameRule::kSubdomain;
  switch (info->k) {
    case K::kTier: name_rule = internal::NameRule::kTier; break;
    case K::kNp:
    case K::kSnp: name_rule = internal::NameRule::kNetworkPolicy; break;
    case K::kGnp:
    case K::kSgnp: name_rule = internal::NameRule::kGlobalNetworkPolicy; break;
    case K::kNamespace: name_rule = internal::NameRule::kLabel; break;
    default: break;
  }
  TW_ASSIGN_OR_RETURN(Meta meta, ParseMeta(top, name_rule));
  switch (info->k) {
    case K::kTier: return ParseTier(top, meta, src, out);
    case K::kNp: return ParseCalicoPolicy(top, meta, PolicyKind::kNetworkPolicy, false, src, out);
    case K::kGnp:
      return ParseCalicoPolicy(top, meta, PolicyKind::kGlobalNetworkPolicy, false, src, out);
    case K::kSnp: return ParseCalicoPolicy(top, meta, PolicyKind::kNetworkPolicy, true, src, out);
    case K::kSgnp:
      return ParseCalicoPolicy(top, meta, PolicyKind::kGlobalNetworkPolicy, true, src, out);
    case K::kSknp: return ParseK8sPolicy(top, meta, true, src, out);
    case K::kK8sNp: return ParseK8sPolicy(top, meta, false, src, out);
    case K::kWep: return ParseWorkloadEndpoint(top, meta, src, out);
    case K::kHep: return ParseHostEndpoint(top, meta, src, out);
    case K::kGns: return ParseNetworkSet(top, meta, true, src, out);
    case K::kNs: return ParseNetworkSet(top, meta, false, src, out);
    case K::kProfile: return ParseProfile(top, meta, src, out);
    case K::kNamespace: return ParseNamespace(top, meta, src, out);
    case K::kServiceAccount: break;  // handled above: it has no spec
  }
  return absl::InternalError("unreachable");
}

template <typename T>
void AppendAll(std::vector<T>* dst, std::vector<T>* src) {
  dst->insert(dst->end(), std::make_move_iterator(src->begin()),
              std::make_move_iterator(src->end()));
}

void AppendSet(ResourceSet* dst, ResourceSet* src) {
  AppendAll(&dst->tiers, &src->tiers);
  AppendAll(&dst->policies, &src->policies);
  AppendAll(&dst->endpoints, &src->endpoints);
  AppendAll(&dst->network_sets, &src->network_sets);
  AppendAll(&dst->namespaces, &src->namespaces);
  AppendAll(&dst->profiles, &src->profiles);
  AppendAll(&dst->service_accounts, &src->service_accounts);
}

// yaml-cpp 0.7 has inputs on which its parser never stops emitting events
// (a stray ',' at the start of a block document is one) while LoadAll builds
// an ever-growing tree. Every event consumes input, give or take a few
// implicit nulls, so a dry run that counts events bounds the real load.
class EventBudget : public YAML::EventHandler {
 public:
  struct Exceeded {
    YAML::Mark mark;
  };
  explicit EventBudget(size_t input_size) : left_(4 * input_size + 1024) {}
  void OnDocumentStart(const YAML::Mark& m) override { Spend(m); }
  void OnDocumentEnd() override { Spend(last_); }
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Spend(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Spend(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Spend(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Spend(m);
  }
  void OnSequenceEnd() override { Spend(last_); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Spend(m);
  }
  void OnMapEnd() override { Spend(last_); }

 private:
  void Spend(const YAML::Mark& m) {
    last_ = m;
    if (left_-- == 0) throw Exceeded{m};
  }
  size_t left_;
  YAML::Mark last_;
};

// With `problems`, every document is parsed and each one's error collected
// (twctl validate); without, the first error is returned.
absl::Status ParseInto(absl::string_view text, absl::string_view source_name, ResourceSet* out,
                       std::vector<absl::Status>* problems = nullptr) {
  std::vector<YAML::Node> docs;
  try {
    {
      std::istringstream stream(std::string(text.data(), text.size()));
      YAML::Parser parser(stream);
      EventBudget budget(text.size());
      while (parser.HandleNextDocument(budget)) {
      }
    }
    docs = YAML::LoadAll(std::string(text.data(), text.size()));
  } catch (const EventBudget::Exceeded& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1,
                                                   ": YAML syntax error: malformed input"));
  } catch (const YAML::Exception& e) {
    std::string where;
    if (!e.mark.is_null()) {
      where = absl::StrCat("line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ");
    }
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": ", where, "YAML syntax error: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": YAML error: ", e.what()));
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    // `---` with nothing after it, as editors and generators leave behind.
    if (docs[i].IsNull()) continue;
    SourceRef src{std::string(source_name), static_cast<int>(i + 1)};
    absl::Status status;
    try {
      status = ParseObject(docs[i], "", src, "", "", 0, out);
    } catch (const std::exception& e) {
      // The parsers avoid throwing accessors; this is a last line of defence.
      status = absl::InvalidArgumentError(e.what());
    }
    if (!status.ok()) {
      absl::Status located = absl::InvalidArgumentError(
          absl::StrCat(source_name, " doc ", i + 1, ": ", status.message()));
      if (problems == nullptr) return located;
      problems->push_back(std::move(located));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadFile(const std::filesystem::path& path, const std::string& shown,
                      std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(shown, ": cannot open file"));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(shown, ": read error"));
  *out = buf.str();
  return absl::OkStatus();
}

bool IsResourceFile(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

absl::Status ParseResources(std::string_view text, std::string_view source_name, ResourceSet* out) {
  ResourceSet tmp;
  TW_RETURN_IF_ERROR(ParseInto(absl::string_view(text.data(), text.size()),
                               absl::string_view(source_name.data(), source_name.size()), &tmp));
  AppendSet(out, &tmp);
  return absl::OkStatus();
}

std::vector<absl::Status> CheckResources(std::string_view text, std::string_view source_name) {
  std::vector<absl::Status> problems;
  ResourceSet unused;
  absl::Status syntax =
      ParseInto(absl::string_view(text.data(), text.size()),
                absl::string_view(source_name.data(), source_name.size()), &unused, &problems);
  if (!syntax.ok()) problems.push_back(std::move(syntax));
  return problems;
}

absl::StatusOr<std::vector<std::string>> ResourceFiles(const std::string& path) {
  if (path == "-") return std::vector<std::string>{"-"};
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
  std::vector<std::string> files;
  if (!fs::is_directory(st)) {
    files.push_back(path);
    return files;
  }
  fs::recursive_directory_iterator it(path, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code file_ec;
    if (it->is_regular_file(file_ec) && IsResourceFile(it->path())) {
      files.push_back(it->path().string());
    }
  }
  if (ec)
    return absl::UnavailableError(absl::StrCat(path, ": cannot list directory: ", ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<std::string> ReadResourceFile(const std::string& file) {
  if (file == "-") {
    std::ostringstream buf;
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::string text;
  TW_RETURN_IF_ERROR(ReadFile(file, file, &text));
  return text;
}

absl::Status LoadResources(const std::string& path, ResourceSet* out) {
  auto files = ResourceFiles(path);
  if (!files.ok()) return files.status();
  ResourceSet tmp;
  for (const std::string& file : *files) {
    auto text = ReadResourceFile(file);
    if (!text.ok()) return text.status();
    TW_RETURN_IF_ERROR(ParseInto(*text, file, &tmp));
  }
  AppendSet(out, &tmp);
  return absl::OkStatus();
}

}  // namespace tierwall::ctl::model
