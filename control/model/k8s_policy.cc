#include "control/model/k8s_policy.h"

#include <map>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/model/rule_parser.h"
#include "control/model/yaml_util.h"

namespace tierwall::ctl::model::internal {
namespace {

// Calico quotes label values with '…'; a value holding a quote (Kubernetes
// forbids those, but the loader does not police label syntax) uses "…".
absl::StatusOr<std::string> QuoteValue(const std::string& v, absl::string_view path) {
  if (v.find('\'') == std::string::npos) return absl::StrCat("'", v, "'");
  if (v.find('"') == std::string::npos) return absl::StrCat("\"", v, "\"");
  return FieldError(path, absl::StrCat(Quote(v), " cannot be quoted in a selector"));
}

// Keys become selector label names verbatim; the selector parser rejects bad ones.
absl::StatusOr<std::string> ExpressionText(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(MapReader m,
                      MapReader::Read(node, std::string(path), {"key", "operator", "values"}));
  const YAML::Node* key_node = m.Get("key");
  if (!key_node) return FieldError(m.PathOf("key"), "required field missing");
  TW_ASSIGN_OR_RETURN(std::string key, ReadString(*key_node, m.PathOf("key")));
  const YAML::Node* op_node = m.Get("operator");
  if (!op_node) return FieldError(m.PathOf("operator"), "required field missing");
  TW_ASSIGN_OR_RETURN(std::string op, ReadString(*op_node, m.PathOf("operator")));
  std::vector<std::string> values;
  if (const YAML::Node* v = m.Get("values")) {
    TW_ASSIGN_OR_RETURN(values, ReadStringList(*v, m.PathOf("values")));
  }
  if (op == "In" || op == "NotIn") {
    if (values.empty()) {
      return FieldError(m.PathOf("values"), "must be non-empty when operator is In or NotIn");
    }
    std::vector<std::string> quoted;
    for (size_t i = 0; i < values.size(); ++i) {
      TW_ASSIGN_OR_RETURN(std::string q, QuoteValue(values[i], Item(m.PathOf("values"), i)));
      quoted.push_back(std::move(q));
    }
    return absl::StrCat(key, op == "In" ? " in { " : " not in { ", absl::StrJoin(quoted, ", "),
                        " }");
  }
  if (op == "Exists" || op == "DoesNotExist") {
    if (!values.empty()) {
      return FieldError(m.PathOf("values"),
                        "must be empty when operator is Exists or DoesNotExist");
    }
    return absl::StrCat(op == "Exists" ? "" : "! ", "has(", key, ")");
  }
  return FieldError(m.PathOf("operator"),
                    absl::StrCat(Quote(op),
                                 " is not a valid operator (In, NotIn, Exists or "
                                 "DoesNotExist)"));
}

absl::StatusOr<Selector> K8sSelector(const YAML::Node& node, absl::string_view path,
                                     K8sSelectorType type) {
  TW_ASSIGN_OR_RETURN(std::string text, K8sLabelSelectorText(node, path, type));
  return ParseSelectorText(text, path);
}

// k8sSelectorToCalico for an absent pod selector: Kubernetes pods only.
Selector K8sPodsOnly() {
  static const auto* const kPods = new Selector(*Selector::Parse(kK8sPodsSelector));
  return *kPods;
}

// Parses a CIDR the way libcalico-go's ParseCIDR does for ipBlock: host bits
// below the prefix are cleared rather than rejected.
absl::StatusOr<Cidr> ParseMaskedCidr(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(std::string text, ReadString(node, path));
  size_t slash = text.find('/');
  std::optional<IpAddr> ip = IpAddr::Parse(std::string_view(text).substr(0, slash));
  if (slash == std::string::npos || !ip) {
    return FieldError(path, absl::StrCat(Quote(text), " is not a valid CIDR"));
  }
  std::string len_text = text.substr(slash + 1);
  int64_t len = -1;
  bool digits = !len_text.empty() && len_text.size() <= 3;
  for (char c : len_text) digits = digits && absl::ascii_isdigit(c);
  if (digits) len = std::stoi(len_text);
  int bits = dp::classify::AddressBits(ip->family);
  if (len < 0 || len > bits) {
    return FieldError(path, absl::StrCat(Quote(text), " has an invalid prefix length"));
  }
  dp::classify::U128 host =
      len == 0
          ? dp::classify::MaxAddress(ip->family)
          : (len == bits ? dp::classify::U128{0} : ((dp::classify::U128{1} << (bits - len)) - 1));
  Cidr out;
  out.addr = IpAddr{ip->family, ip->bits & ~host};
  out.prefix_len = static_cast<uint8_t>(len);
  return out;
}

struct Peer {
  EntityRule entity;  // selector / namespaceSelector / nets / notNets only
};

absl::StatusOr<Peer> ParsePeer(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(
      MapReader m,
      MapReader::Read(node, std::string(path), {"podSelector", "namespaceSelector", "ipBlock"}));
  // Present-but-empty selectors ({}) matter, so look at the raw entries.
  bool has_pod = false, has_ns = false, has_block = false;
  for (const auto& [k, v] : m.entries()) {
    has_pod = has_pod || (k == "podSelector" && !v.IsNull());
    has_ns = has_ns || (k == "namespaceSelector" && !v.IsNull());
    has_block = has_block || (k == "ipBlock" && !v.IsNull());
  }
  if (!has_pod && !has_ns && !has_block) return FieldError(path, "must specify a peer");
  if (has_block && (has_pod || has_ns)) {
    return FieldError(m.PathOf("ipBlock"),
                      "may not be combined with podSelector or namespaceSelector");
  }
  Peer peer;
  if (has_block) {
    TW_ASSIGN_OR_RETURN(
        MapReader b, MapReader::Read(*m.Get("ipBlock"), m.PathOf("ipBlock"), {"cidr", "except"}));
    const YAML::Node* cidr = b.Get("cidr");
    if (!cidr) return FieldError(b.PathOf("cidr"), "required field missing");
    TW_ASSIGN_OR_RETURN(Cidr net, ParseMaskedCidr(*cidr, b.PathOf("cidr")));
    peer.entity.nets.push_back(net);
    if (const YAML::Node* ex = b.Get("except")) {
      TW_RETURN_IF_ERROR(ExpectSequence(*ex, b.PathOf("except")));
      size_t i = 0;
      for (const YAML::Node& item : *ex) {
        std::string item_path = Item(b.PathOf("except"), i++);
        TW_ASSIGN_OR_RETURN(Cidr e, ParseMaskedCidr(item, item_path));
        // Kubernetes' ValidateIPBlock: a strict subset of cidr.
        if (e.addr.family != net.addr.family || e.prefix_len <= net.prefix_len ||
            !net.Contains(e.addr)) {
          return FieldError(item_path,
                            absl::StrCat(Quote(e.ToString()), " is not a strict subset of ",
                                         Quote(net.ToString())));
        }
        peer.entity.not_nets.push_back(e);
      }
    }
    return peer;
  }
  // A peer only ever selects Kubernetes pods, never host endpoints or
  // network sets: k8sPeerToCalicoFields always renders a pod selector.
  if (has_pod) {
    TW_ASSIGN_OR_RETURN(
        peer.entity.selector,
        K8sSelector(*m.Get("podSelector"), m.PathOf("podSelector"), K8sSelectorType::kPod));
  } else {
    peer.entity.selector = K8sPodsOnly();
  }
  if (has_ns) {
    TW_ASSIGN_OR_RETURN(peer.entity.namespace_selector,
                        K8sSelector(*m.Get("namespaceSelector"), m.PathOf("namespaceSelector"),
                                    K8sSelectorType::kNamespace));
  }
  return peer;
}

// One NetworkPolicyPort, with Kubernetes' TCP default applied.
struct K8sPort {
  std::string protocol;           // "SCTP", "TCP" or "UDP"
  std::optional<PortList> ports;  // nullopt: every port of the protocol
};

absl::StatusOr<K8sPort> ParseK8sPort(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(MapReader m,
                      MapReader::Read(node, std::string(path), {"protocol", "port", "endPort"}));
  K8sPort out{"TCP", std::nullopt};
  if (const YAML::Node* p = m.Get("protocol")) {
    TW_ASSIGN_OR_RETURN(std::string proto, ReadString(*p, m.PathOf("protocol")));
    // Kubernetes' supportedPortProtocols: exactly "TCP", "UDP" or "SCTP".
    out.protocol = proto;
    if (out.protocol != "TCP" && out.protocol != "UDP" && out.protocol != "SCTP") {
      return FieldError(m.PathOf("protocol"),
                        absl::StrCat(Quote(proto), " is not a valid protocol (TCP, UDP or SCTP)"));
    }
  }
  const YAML::Node* port = m.Get("port");
  const YAML::Node* end = m.Get("endPort");
  if (!port) {
    if (end) return FieldError(m.PathOf("endPort"), "may not be specified without port");
    return out;
  }
  PortList list;
  TW_RETURN_IF_ERROR(ParsePortItem(*port, m.PathOf("port"), &list));
  if (list.ranges.size() == 1 && list.ranges[0].first != list.ranges[0].last) {
    // "80:90" is Calico syntax, not a Kubernetes port.
    return FieldError(m.PathOf("port"), "must be a port number or name");
  }
  if (list.ranges.size() == 1 && list.ranges[0].first == 0) {
    return FieldError(m.PathOf("port"), "0 is not a valid port (1-65535)");
  }
  if (end) {
    if (list.ranges.empty())
      return FieldError(m.PathOf("endPort"), "may not be used with a named port");
    TW_ASSIGN_OR_RETURN(int64_t e, ReadInteger(*end, m.PathOf("endPort")));
    if (e < list.ranges[0].first || e > 65535) {
      return FieldError(m.PathOf("endPort"), absl::StrCat(e, " must be between port (",
                                                          list.ranges[0].first, ") and 65535"));
    }
    list.ranges[0].last = static_cast<uint16_t>(e);
  }
  out.ports = std::move(list);
  return out;
}

// k8sRuleToCalico: ports are grouped by protocol (a protocol with a port-less
// entry matches all its ports); one Allow rule per protocol (sorted by name;
// "" = no ports at all) and, inside that, per peer, in the order written.
absl::Status ConvertRule(const YAML::Node& node, absl::string_view path, Direction direction,
                         std::vector<Rule>* out) {
  const char* peers_key = direction == Direction::kIngress ? "from" : "to";
  TW_ASSIGN_OR_RETURN(MapReader m, MapReader::Read(node, std::string(path), {peers_key, "ports"}));
  std::vector<std::optional<Peer>> peers;
  if (const YAML::Node* p = m.Get(peers_key)) {
    TW_RETURN_IF_ERROR(ExpectSequence(*p, m.PathOf(peers_key)));
    size_t i = 0;
    for (const YAML::Node& item : *p) {
      TW_ASSIGN_OR_RETURN(Peer peer, ParsePeer(item, Item(m.PathOf(peers_key), i++)));
      peers.push_back(std::move(peer));
    }
  }
  if (peers.empty()) peers.push_back(std::nullopt);  // any peer

  std::map<std::string, std::optional<PortList>> by_protocol;
  if (const YAML::Node* p = m.Get("ports")) {
    TW_RETURN_IF_ERROR(ExpectSequence(*p, m.PathOf("ports")));
    size_t i = 0;
    for (const YAML::Node& item : *p) {
      TW_ASSIGN_OR_RETURN(K8sPort port, ParseK8sPort(item, Item(m.PathOf("ports"), i++)));
      auto it = by_protocol.find(port.protocol);
      if (!port.ports) {
        by_protocol[port.protocol] = std::nullopt;
      } else if (it == by_protocol.end()) {
        by_protocol[port.protocol] = std::move(port.ports);
      } else if (it->second) {  // an all-ports entry already covers everything
        PortList& acc = *it->second;
        acc.ranges.insert(acc.ranges.end(), port.ports->ranges.begin(), port.ports->ranges.end());
        acc.names.insert(acc.names.end(), port.ports->names.begin(), port.ports->names.end());
      }
    }
  }
  if (by_protocol.empty()) by_protocol[""] = std::nullopt;

  for (auto& [protocol_name, ports] : by_protocol) {
    std::optional<uint8_t> protocol;
    if (protocol_name == "TCP") protocol = 6;
    if (protocol_name == "UDP") protocol = 17;
    if (protocol_name == "SCTP") protocol = 132;
    if (ports) SimplifyRanges(&ports->ranges);
    for (const std::optional<Peer>& peer : peers) {
      Rule r;
      r.action = Action::kAllow;
      r.protocol = protocol;
      EntityRule& remote = direction == Direction::kIngress ? r.source : r.destination;
      if (peer) remote = peer->entity;
      if (ports) r.destination.ports = *ports;
      out->push_back(std::move(r));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> K8sLabelSelectorText(const YAML::Node& node, absl::string_view path,
                                                 K8sSelectorType type) {
  TW_ASSIGN_OR_RETURN(
      MapReader m, MapReader::Read(node, std::string(path), {"matchLabels", "matchExpressions"}));
  std::vector<std::string> terms;
  if (type == K8sSelectorType::kPod) terms.emplace_back(kK8sPodsSelector);
  if (const YAML::Node* ml = m.Get("matchLabels")) {
    TW_ASSIGN_OR_RETURN(Labels labels, ReadStringMap(*ml, m.PathOf("matchLabels")));
    for (const auto& [k, v] : labels) {  // Labels is sorted by key, as Calico sorts
      TW_ASSIGN_OR_RETURN(std::string q, QuoteValue(v, Child(m.PathOf("matchLabels"), k)));
      terms.push_back(absl::StrCat(k, " == ", q));
    }
  }
  if (const YAML::Node* me = m.Get("matchExpressions")) {
    TW_RETURN_IF_ERROR(ExpectSequence(*me, m.PathOf("matchExpressions")));
    size_t i = 0;
    for (const YAML::Node& item : *me) {
      TW_ASSIGN_OR_RETURN(std::string t,
                          ExpressionText(item, Item(m.PathOf("matchExpressions"), i++)));
      terms.push_back(std::move(t));
    }
  }
  if (terms.empty()) return std::string("all()");
  return absl::StrJoin(terms, " && ");
}

absl::Status ParseK8sNetworkPolicySpec(const YAML::Node& spec, absl::string_view path, bool staged,
                                       Policy* out) {
  absl::StatusOr<MapReader> read =
      staged ? MapReader::Read(spec, std::string(path),
                               {"podSelector", "policyTypes", "ingress", "egress", "stagedAction"})
             : MapReader::Read(spec, std::string(path),
                               {"podSelector", "policyTypes", "ingress", "egress"});
  if (!read.ok()) return read.status();
  const MapReader& m = *read;
  out->tier = "default";
  out->order = 1000.0;
  if (const YAML::Node* s = m.Get("podSelector")) {
    TW_ASSIGN_OR_RETURN(out->selector,
                        K8sSelector(*s, m.PathOf("podSelector"), K8sSelectorType::kPod));
  } else {
    out->selector = K8sPodsOnly();
  }
  size_t k8s_egress_rules = 0;
  for (Direction d : {Direction::kIngress, Direction::kEgress}) {
    const char* key = d == Direction::kIngress ? "ingress" : "egress";
    const YAML::Node* rules = m.Get(key);
    if (!rules) continue;
    TW_RETURN_IF_ERROR(ExpectSequence(*rules, m.PathOf(key)));
    std::vector<Rule>& dst = d == Direction::kIngress ? out->ingress : out->egress;
    size_t i = 0;
    for (const YAML::Node& item : *rules) {
      TW_RETURN_IF_ERROR(ConvertRule(item, Item(m.PathOf(key), i++), d, &dst));
    }
    if (d == Direction::kEgress) k8s_egress_rules = i;
  }
  out->applies_ingress = out->applies_egress = false;
  if (const YAML::Node* t = m.Get("policyTypes")) {
    TW_ASSIGN_OR_RETURN(std::vector<std::string> types,
                        ReadStringList(*t, m.PathOf("policyTypes")));
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] == "Ingress") {
        out->applies_ingress = true;
      } else if (types[i] == "Egress") {
        out->applies_egress = true;
      } else {
        return FieldError(Item(m.PathOf("policyTypes"), i),
                          absl::StrCat(Quote(types[i]), " is not Ingress or Egress"));
      }
    }
  }
  if (!out->applies_ingress && !out->applies_egress) {
    // The API server's defaulting: Ingress always, Egress when egress rules exist.
    out->applies_ingress = true;
    out->applies_egress = k8s_egress_rules > 0;
  }
  return absl::OkStatus();
}

}  // namespace tierwall::ctl::model::internal
