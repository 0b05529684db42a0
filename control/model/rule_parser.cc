#include "control/model/rule_parser.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/model/validation.h"
#include "control/model/yaml_util.h"

namespace tierwall::ctl::model::internal {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpV6 = 58, kSctp = 132, kUdpLite = 136;

bool SupportsPorts(std::optional<uint8_t> p) {
  return p && (*p == kTcp || *p == kUdp || *p == kSctp);
}

// A decimal number with nothing else around it (no sign, no spaces).
std::optional<int64_t> ParseDecimal(absl::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

absl::StatusOr<Action> ParseAction(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(std::string text, ReadString(node, path));
  // Exactly as Calico's v3 API spells them (kubebuilder Enum=Allow;Deny;Log;Pass).
  if (text == "Allow") return Action::kAllow;
  if (text == "Deny") return Action::kDeny;
  if (text == "Pass") return Action::kPass;
  if (text == "Log") return Action::kLog;
  return FieldError(path, absl::StrCat(Quote(text),
                                       " is not a valid action (Allow, Deny, Pass or Log, "
                                       "spelt exactly so)"));
}

absl::StatusOr<IcmpMatch> ParseIcmp(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(MapReader m, MapReader::Read(node, std::string(path), {"type", "code"}));
  IcmpMatch out;
  if (const YAML::Node* t = m.Get("type")) {
    TW_ASSIGN_OR_RETURN(int64_t v, ReadInteger(*t, m.PathOf("type")));
    if (v < 0 || v > 254) {
      return FieldError(m.PathOf("type"), absl::StrCat(v, " is not a valid ICMP type (0-254)"));
    }
    out.type = static_cast<uint8_t>(v);
  }
  if (const YAML::Node* c = m.Get("code")) {
    TW_ASSIGN_OR_RETURN(int64_t v, ReadInteger(*c, m.PathOf("code")));
    if (v < 0 || v > 255) {
      return FieldError(m.PathOf("code"), absl::StrCat(v, " is not a valid ICMP code (0-255)"));
    }
    if (!out.type) return FieldError(m.PathOf("code"), "ICMP code specified without an ICMP type");
    out.code = static_cast<uint8_t>(v);
  }
  return out;
}

absl::StatusOr<std::vector<Cidr>> ParseNets(const YAML::Node& node, absl::string_view path) {
  TW_RETURN_IF_ERROR(ExpectSequence(node, path));
  TW_RETURN_IF_ERROR(CheckMaxItems(node, path, kMaxNets));
  std::vector<Cidr> out;
  size_t i = 0;
  for (const YAML::Node& item : node) {
    std::string item_path = Item(path, i++);
    TW_ASSIGN_OR_RETURN(std::string text, ReadString(item, item_path));
    std::string why;
    std::optional<Cidr> cidr = Cidr::Parse(text, &why);
    if (!cidr) return FieldError(item_path, absl::StrCat(Quote(text), " ", why));
    out.push_back(*cidr);
  }
  return out;
}

absl::StatusOr<PortList> ParsePorts(const YAML::Node& node, absl::string_view path) {
  TW_RETURN_IF_ERROR(ExpectSequence(node, path));
  TW_RETURN_IF_ERROR(CheckMaxItems(node, path, kMaxRulePorts));
  PortList out;
  size_t i = 0;
  for (const YAML::Node& item : node)
    TW_RETURN_IF_ERROR(ParsePortItem(item, Item(path, i++), &out));
  return out;
}

absl::StatusOr<ServiceAccountMatch> ParseServiceAccounts(const YAML::Node& node,
                                                         absl::string_view path) {
  TW_ASSIGN_OR_RETURN(MapReader m, MapReader::Read(node, std::string(path), {"names", "selector"}));
  ServiceAccountMatch out;
  if (const YAML::Node* n = m.Get("names")) {
    TW_ASSIGN_OR_RETURN(out.names, ReadStringList(*n, m.PathOf("names")));
  }
  if (const YAML::Node* s = m.Get("selector")) {
    TW_ASSIGN_OR_RETURN(out.selector, ReadSelector(*s, m.PathOf("selector")));
  }
  return out;
}

absl::StatusOr<EntityRule> ParseEntityRule(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(MapReader m, MapReader::Read(node, std::string(path),
                                                   {"nets", "notNets", "selector", "notSelector",
                                                    "namespaceSelector", "ports", "notPorts",
                                                    "serviceAccounts", "services", "domains"}));
  if (m.Get("services")) {
    // Service matches need the Kubernetes Service and EndpointSlice model,
    // which Tierwall does not load; ignoring them would widen the rule.
    return FieldError(m.PathOf("services"), "service matches are not supported");
  }
  if (m.Get("domains")) {
    // As allowedEgressDomains on network sets: refused, never widened.
    return FieldError(m.PathOf("domains"),
                      "not supported: Tierwall does not learn addresses from DNS, so a domain "
                      "match would match nothing");
  }
  EntityRule out;
  if (const YAML::Node* n = m.Get("nets")) {
    TW_ASSIGN_OR_RETURN(out.nets, ParseNets(*n, m.PathOf("nets")));
  }
  if (const YAML::Node* n = m.Get("notNets")) {
    TW_ASSIGN_OR_RETURN(out.not_nets, ParseNets(*n, m.PathOf("notNets")));
    size_t i = 0;
    for (const Cidr& c : out.not_nets) {
      // Calico rejects these: a rule that can never match is surely a mistake.
      if (c.prefix_len == 0) {
        return FieldError(Item(m.PathOf("notNets"), i),
                          "catch-all CIDR in notNets matches no traffic");
      }
      ++i;
    }
  }
  if (const YAML::Node* s = m.Get("selector")) {
    TW_ASSIGN_OR_RETURN(out.selector, ReadSelector(*s, m.PathOf("selector")));
    if (out.selector->text().find("global(") != std::string::npos) {
      return FieldError(m.PathOf("selector"),
                        "global() can only be used in an EntityRule namespaceSelector");
    }
  }
  if (const YAML::Node* s = m.Get("notSelector")) {
    TW_ASSIGN_OR_RETURN(out.not_selector, ReadSelector(*s, m.PathOf("notSelector")));
  }
  if (const YAML::Node* s = m.Get("namespaceSelector")) {
    TW_ASSIGN_OR_RETURN(out.namespace_selector, ReadSelector(*s, m.PathOf("namespaceSelector")));
    if (out.namespace_selector->text().find("global(") != std::string::npos &&
        !out.namespace_selector->IsGlobalOnly()) {
      return FieldError(m.PathOf("namespaceSelector"),
                        "global() must be the whole namespaceSelector");
    }
  }
  if (const YAML::Node* p = m.Get("ports")) {
    TW_ASSIGN_OR_RETURN(out.ports, ParsePorts(*p, m.PathOf("ports")));
  }
  if (const YAML::Node* p = m.Get("notPorts")) {
    TW_ASSIGN_OR_RETURN(out.not_ports, ParsePorts(*p, m.PathOf("notPorts")));
  }
  if (const YAML::Node* s = m.Get("serviceAccounts")) {
    TW_ASSIGN_OR_RETURN(out.service_accounts,
                        ParseServiceAccounts(*s, m.PathOf("serviceAccounts")));
  }
  return out;
}

absl::StatusOr<HttpMatch> ParseHttp(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(MapReader m, MapReader::Read(node, std::string(path), {"methods", "paths"}));
  HttpMatch out;
  if (const YAML::Node* n = m.Get("methods")) {
    TW_ASSIGN_OR_RETURN(out.methods, ReadStringList(*n, m.PathOf("methods")));
  }
  if (const YAML::Node* n = m.Get("paths")) {
    std::string paths_path = m.PathOf("paths");
    TW_RETURN_IF_ERROR(ExpectSequence(*n, paths_path));
    size_t i = 0;
    for (const YAML::Node& item : *n) {
      std::string item_path = Item(paths_path, i++);
      TW_ASSIGN_OR_RETURN(MapReader pm, MapReader::Read(item, item_path, {"exact", "prefix"}));
      HttpMatch::Path p;
      if (const YAML::Node* e = pm.Get("exact")) {
        TW_ASSIGN_OR_RETURN(p.exact, ReadString(*e, pm.PathOf("exact")));
      }
      if (const YAML::Node* e = pm.Get("prefix")) {
        TW_ASSIGN_OR_RETURN(p.prefix, ReadString(*e, pm.PathOf("prefix")));
      }
      if (p.exact.empty() == p.prefix.empty()) {
        return FieldError(item_path, "must specify exactly one of exact or prefix");
      }
      out.paths.push_back(std::move(p));
    }
  }
  return out;
}

// Checks that need the whole rule, named after the field at fault.
absl::Status ValidateRule(const Rule& r, const MapReader& m, Direction direction) {
  // validateRule: without a protocol a list may hold named ports only (each
  // carries its own protocol); numbers and ranges need TCP, UDP or SCTP.
  auto check_ports = [&](const PortList& ports, absl::string_view side, absl::string_view field) {
    if (ports.empty() || SupportsPorts(r.protocol)) return absl::OkStatus();
    if (!r.protocol && ports.ranges.empty()) return absl::OkStatus();
    return FieldError(Child(m.PathOf(side), field),
                      r.protocol ? "ports require protocol TCP, UDP or SCTP"
                                 : "ports require protocol TCP, UDP or SCTP (only a list of "
                                   "named ports may leave it out)");
  };
  TW_RETURN_IF_ERROR(check_ports(r.source.ports, "source", "ports"));
  TW_RETURN_IF_ERROR(check_ports(r.source.not_ports, "source", "notPorts"));
  TW_RETURN_IF_ERROR(check_ports(r.destination.ports, "destination", "ports"));
  TW_RETURN_IF_ERROR(check_ports(r.destination.not_ports, "destination", "notPorts"));

  bool icmp_protocol = r.protocol && (*r.protocol == kIcmp || *r.protocol == kIcmpV6);
  if (r.icmp && !icmp_protocol)
    return FieldError(m.PathOf("icmp"), "requires protocol ICMP or ICMPv6");
  if (r.not_icmp && !icmp_protocol) {
    return FieldError(m.PathOf("notICMP"), "requires protocol ICMP or ICMPv6");
  }
  if (r.ip_version) {
    for (auto [proto, field] :
         {std::pair{r.protocol, "protocol"}, std::pair{r.not_protocol, "notProtocol"}}) {
      if (proto == kIcmp && *r.ip_version != 4)
        return FieldError(m.PathOf(field), "ICMP requires ipVersion 4");
      if (proto == kIcmpV6 && *r.ip_version != 6) {
        return FieldError(m.PathOf(field), "ICMPv6 requires ipVersion 6");
      }
    }
  }

  // Every CIDR in the rule must be of one family, and of ipVersion's if set.
  std::optional<dp::classify::Family> seen;
  struct NetField {
    const std::vector<Cidr>* nets;
    const char* side;
    const char* field;
  };
  for (const NetField& f : {NetField{&r.source.nets, "source", "nets"},
                            NetField{&r.source.not_nets, "source", "notNets"},
                            NetField{&r.destination.nets, "destination", "nets"},
                            NetField{&r.destination.not_nets, "destination", "notNets"}}) {
    for (size_t i = 0; i < f.nets->size(); ++i) {
      const Cidr& c = (*f.nets)[i];
      std::string item_path = Item(Child(m.PathOf(f.side), f.field), i);
      int version = c.addr.family == dp::classify::Family::kV4 ? 4 : 6;
      if (r.ip_version && *r.ip_version != version) {
        return FieldError(item_path,
                          absl::StrCat(Quote(c.ToString()), " is not an IPv", *r.ip_version,
                                       " CIDR (rule ipVersion is ", *r.ip_version, ")"));
      }
      if (seen && *seen != c.addr.family) {
        return FieldError(item_path, "rule contains both IPv4 and IPv6 CIDRs");
      }
      seen = c.addr.family;
    }
  }

  if (r.http) {
    if (r.action != Action::kAllow)
      return FieldError(m.PathOf("http"), "HTTP match is only valid on Allow rules");
    if (r.protocol && *r.protocol != kTcp) {
      return FieldError(m.PathOf("http"), "rules with HTTP match must have protocol TCP or unset");
    }
    if (direction == Direction::kEgress) {
      return FieldError(m.PathOf("http"), "HTTP match is not allowed in egress rules");
    }
    // Valid for Calico, but Tierwall has no L7 path yet: accepting it would
    // turn "allow these HTTP requests" into "allow every connection on the
    // port". Fail closed until the L7 issue enforces it.
    return FieldError(m.PathOf("http"),
                      "not supported: HTTP match needs Tierwall's L7 path, which does not exist "
                      "yet; refused rather than applied as a plain Allow for all traffic");
  }
  return absl::OkStatus();
}

absl::StatusOr<Rule> ParseRule(const YAML::Node& node, absl::string_view path,
                               Direction direction) {
  TW_ASSIGN_OR_RETURN(MapReader m,
                      MapReader::Read(node, std::string(path),
                                      {"action", "ipVersion", "protocol", "notProtocol", "icmp",
                                       "notICMP", "source", "destination", "http", "metadata"}));
  Rule r;
  const YAML::Node* action = m.Get("action");
  if (!action) return FieldError(m.PathOf("action"), "required field missing");
  TW_ASSIGN_OR_RETURN(r.action, ParseAction(*action, m.PathOf("action")));
  if (const YAML::Node* n = m.Get("ipVersion")) {
    TW_ASSIGN_OR_RETURN(int64_t v, ReadInteger(*n, m.PathOf("ipVersion")));
    if (v != 4 && v != 6)
      return FieldError(m.PathOf("ipVersion"), absl::StrCat(v, " is not 4 or 6"));
    r.ip_version = static_cast<int>(v);
  }
  if (const YAML::Node* n = m.Get("protocol")) {
    TW_ASSIGN_OR_RETURN(r.protocol, ParseProtocol(*n, m.PathOf("protocol")));
  }
  if (const YAML::Node* n = m.Get("notProtocol")) {
    TW_ASSIGN_OR_RETURN(r.not_protocol, ParseProtocol(*n, m.PathOf("notProtocol")));
  }
  if (const YAML::Node* n = m.Get("icmp")) {
    TW_ASSIGN_OR_RETURN(r.icmp, ParseIcmp(*n, m.PathOf("icmp")));
  }
  if (const YAML::Node* n = m.Get("notICMP")) {
    TW_ASSIGN_OR_RETURN(r.not_icmp, ParseIcmp(*n, m.PathOf("notICMP")));
  }
  if (const YAML::Node* n = m.Get("source")) {
    TW_ASSIGN_OR_RETURN(r.source, ParseEntityRule(*n, m.PathOf("source")));
  }
  if (const YAML::Node* n = m.Get("destination")) {
    TW_ASSIGN_OR_RETURN(r.destination, ParseEntityRule(*n, m.PathOf("destination")));
  }
  if (const YAML::Node* n = m.Get("http")) {
    TW_ASSIGN_OR_RETURN(r.http, ParseHttp(*n, m.PathOf("http")));
  }
  if (const YAML::Node* n = m.Get("metadata")) {
    // Rule annotations carry no matching semantics; only the shape is checked.
    TW_ASSIGN_OR_RETURN(MapReader meta, MapReader::Read(*n, m.PathOf("metadata"), {"annotations"}));
    if (const YAML::Node* a = meta.Get("annotations")) {
      TW_ASSIGN_OR_RETURN(Labels annotations, ReadStringMap(*a, meta.PathOf("annotations")));
      TW_RETURN_IF_ERROR(CheckAnnotationKeys({annotations.begin(), annotations.end()},
                                             meta.PathOf("annotations")));
    }
  }
  TW_RETURN_IF_ERROR(ValidateRule(r, m, direction));
  return r;
}

}  // namespace

// Kubernetes' IsValidPortName (IANA_SVC_NAME), which libcalico-go's
// validator applies: at most 15 characters, lowercase letters, digits and
// '-', at least one letter, no '-' at either end and no "--".
bool IsValidPortName(absl::string_view name) {
  if (name.empty() || name.size() > 15) return false;
  if (name.front() == '-' || name.back() == '-' || absl::StrContains(name, "--")) return false;
  bool letter = false;
  for (char c : name) {
    if (absl::ascii_islower(c)) {
      letter = true;
    } else if (!absl::ascii_isdigit(c) && c != '-') {
      return false;
    }
  }
  return letter;
}

absl::Status ParsePortItem(const YAML::Node& node, absl::string_view path, PortList* out) {
  TW_ASSIGN_OR_RETURN(std::string text, ReadString(node, path));
  if (size_t colon = text.find(':'); colon != std::string::npos) {
    std::optional<int64_t> first = ParseDecimal(absl::string_view(text).substr(0, colon));
    std::optional<int64_t> last = ParseDecimal(absl::string_view(text).substr(colon + 1));
    if (!first || !last || *first > 65535 || *last > 65535 || *first > *last) {
      return FieldError(path, absl::StrCat(Quote(text), " is not a valid port range"));
    }
    if (*first < 1) {
      // validatePort: MinPort < 1.
      return FieldError(path, absl::StrCat(Quote(text),
                                           ": port range invalid, port number must be between 1 "
                                           "and 65535"));
    }
    out->ranges.push_back({static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)});
    return absl::OkStatus();
  }
  if (std::optional<int64_t> port = ParseDecimal(text)) {
    if (*port > 65535) return FieldError(path, absl::StrCat(Quote(text), " is not a valid port"));
    if (*port < 1) {
      return FieldError(path, absl::StrCat(Quote(text),
                                           ": port range invalid, port number must be between 1 "
                                           "and 65535"));
    }
    out->ranges.push_back({static_cast<uint16_t>(*port), static_cast<uint16_t>(*port)});
    return absl::OkStatus();
  }
  if (!IsValidPortName(text)) {
    return FieldError(path,
                      absl::StrCat(Quote(text), " is not a valid port number, range or name"));
  }
  out->names.push_back(std::move(text));
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> ParseProtocol(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(std::string text, ReadString(node, path));
  // validateProtocol: protocolRegex ^(TCP|UDP|ICMP|ICMPv6|SCTP|UDPLite)$ or
  // a number 1-255; "tcp" is refused, as Calico's validator_test shows.
  if (text == "TCP") return kTcp;
  if (text == "UDP") return kUdp;
  if (text == "ICMP") return kIcmp;
  if (text == "ICMPv6") return kIcmpV6;
  if (text == "SCTP") return kSctp;
  if (text == "UDPLite") return kUdpLite;
  std::optional<int64_t> num = ParseDecimal(text);
  if (num && *num >= 1 && *num <= 255) return static_cast<uint8_t>(*num);
  return FieldError(path, absl::StrCat(Quote(text),
                                       " is not a valid protocol (TCP, UDP, ICMP, ICMPv6, SCTP, "
                                       "UDPLite spelt exactly so, or 1-255)"));
}

void SimplifyRanges(std::vector<PortRange>* ranges) {
  std::sort(ranges->begin(), ranges->end(), [](const PortRange& a, const PortRange& b) {
    return a.first != b.first ? a.first < b.first : a.last < b.last;
  });
  std::vector<PortRange> out;
  for (const PortRange& r : *ranges) {
    if (!out.empty() && static_cast<int>(r.first) <= static_cast<int>(out.back().last) + 1) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  *ranges = std::move(out);
}

absl::StatusOr<std::vector<Rule>> ParseRules(const YAML::Node& node, absl::string_view path,
                                             Direction direction) {
  TW_RETURN_IF_ERROR(ExpectSequence(node, path));
  TW_RETURN_IF_ERROR(CheckMaxItems(node, path, kMaxRules));
  std::vector<Rule> out;
  size_t i = 0;
  for (const YAML::Node& item : node) {
    TW_ASSIGN_OR_RETURN(Rule r, ParseRule(item, Item(path, i++), direction));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace tierwall::ctl::model::internal
