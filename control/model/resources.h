// The policy model: Calico v3 (and Kubernetes) resources as plain values.
//
// These types are what the YAML loader produces and what the compiler and the
// tests' reference evaluator consume. They hold exactly what the user wrote,
// parsed and validated field by field; cross-resource checks (a policy naming
// a missing tier, duplicate endpoint addresses) happen when compiling.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/selector/selector.h"
#include "dataplane/classify/ip_addr.h"

namespace tierwall::ctl::model {

using dp::classify::Cidr;
using dp::classify::IpAddr;
using selector::Labels;
using selector::Selector;

enum class Action { kAllow, kDeny, kPass, kLog };
enum class Direction { kIngress = 0, kEgress = 1 };

// Where a resource came from, for error messages: "policies.yaml doc 3".
struct SourceRef {
  std::string file;  // "-" for stdin
  int doc = 0;       // 1-based document index within the file
};

struct Tier {
  std::string name;
  std::optional<double> order;            // unset = after every ordered tier
  Action default_action = Action::kDeny;  // kDeny or kPass only
  SourceRef source;
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;  // inclusive
};

// `ports` / `notPorts`: numbers, "a:b" ranges and named ports, in any mix.
struct PortList {
  std::vector<PortRange> ranges;
  std::vector<std::string> names;
  bool empty() const { return ranges.empty() && names.empty(); }
};

struct IcmpMatch {
  std::optional<uint8_t> type;
  std::optional<uint8_t> code;  // only with type
};

struct ServiceAccountMatch {
  std::vector<std::string> names;
  std::optional<Selector> selector;  // over the service account's labels
};

struct HttpMatch {
  std::vector<std::string> methods;
  struct Path {
    std::string exact;
    std::string prefix;
  };
  std::vector<Path> paths;
};

struct EntityRule {
  std::vector<Cidr> nets;
  std::vector<Cidr> not_nets;
  std::optional<Selector> selector;
  std::optional<Selector> not_selector;
  std::optional<Selector> namespace_selector;
  PortList ports;
  PortList not_ports;
  std::optional<ServiceAccountMatch> service_accounts;
};

struct Rule {
  Action action = Action::kAllow;
  std::optional<uint8_t>
      protocol;  // names resolved: tcp 6, udp 17, icmp 1, icmpv6 58, sctp 132, udplite 136
  std::optional<uint8_t> not_protocol;
  std::optional<IcmpMatch> icmp;
  std::optional<IcmpMatch> not_icmp;
  std::optional<int> ip_version;  // 4 or 6
  EntityRule source;
  EntityRule destination;
  std::optional<HttpMatch> http;
};

enum class PolicyKind {
  kNetworkPolicy,            // projectcalico.org/v3 NetworkPolicy (namespaced)
  kGlobalNetworkPolicy,      // projectcalico.org/v3 GlobalNetworkPolicy
  kKubernetesNetworkPolicy,  // networking.k8s.io/v1 NetworkPolicy, converted
};

enum class StagedAction { kSet, kDelete, kLearn, kIgnore };

struct Policy {
  PolicyKind kind = PolicyKind::kNetworkPolicy;
  bool staged = false;  // Staged* kinds
  StagedAction staged_action = StagedAction::kSet;
  // The name without any "<tier>." prefix: metadata.name "app.frontend" in
  // tier "app" is stored as "frontend". Kubernetes policies keep their name.
  std::string name;
  std::string namespace_;                      // empty for global policies
  std::string tier = "default";                // Kubernetes policies: always "default"
  std::optional<double> order;                 // Kubernetes policies: 1000
  Selector selector;                           // empty = all()
  std::optional<Selector> namespace_selector;  // GlobalNetworkPolicy only
  std::optional<Selector> service_account_selector;
  bool applies_ingress = false;  // `types`, derived when omitted
  bool applies_egress = false;
  std::vector<Rule> ingress;
  std::vector<Rule> egress;
  SourceRef source;
};

struct NamedPort {
  std::string name;
  uint8_t protocol = 6;
  uint16_t port = 0;
};

enum class EndpointKind { kWorkload, kHost };

struct Endpoint {
  EndpointKind kind = EndpointKind::kWorkload;
  std::string name;  // WorkloadEndpoint: spec.pod (or metadata.name); HostEndpoint: metadata.name
  std::string namespace_;  // empty for host endpoints
  Labels labels;
  std::vector<IpAddr> ips;  // WEP ipNetworks (/32, /128), HEP expectedIPs
  std::vector<NamedPort> ports;
  // Profiles in order. Loader: a WorkloadEndpoint without `profiles` gets
  // ["kns.<namespace>"] (plus "ksa.<namespace>.<sa>" when it has a service
  // account), as Calico does under Kubernetes.
  std::vector<std::string> profiles;
  std::string service_account;
  // WorkloadEndpoint spec.orchestrator ("k8s" when omitted); empty for host
  // endpoints. Selectors see it as the label projectcalico.org/orchestrator,
  // which libcalico-go stores on every WorkloadEndpoint.
  std::string orchestrator;
  std::string node;
  std::string interface_name;
  std::string mac;  // WorkloadEndpoint spec.mac as written; the compiler parses it
  SourceRef source;
};

struct NetworkSet {
  bool global = false;
  std::string name;
  std::string namespace_;  // empty when global
  Labels labels;
  std::vector<Cidr> nets;
  SourceRef source;
};

struct Namespace {
  std::string name;
  Labels labels;
  SourceRef source;
};

// A Kubernetes v1 ServiceAccount: only its labels matter to policy. Calico
// turns it into profile `ksa.<namespace>.<name>` whose labels (prefixed
// `pcsa.`, plus pcsa.projectcalico.org/name) its pods inherit; that is what
// serviceAccountSelector and serviceAccounts.selector match.
struct ServiceAccount {
  std::string name;
  std::string namespace_;
  Labels labels;
  SourceRef source;
};

struct Profile {
  std::string name;
  Labels labels_to_apply;
  std::vector<Rule> ingress;
  std::vector<Rule> egress;
  SourceRef source;
};

// A whole set of resources: what one program is compiled from.
struct ResourceSet {
  std::vector<Tier> tiers;
  std::vector<Policy> policies;
  std::vector<Endpoint> endpoints;
  std::vector<NetworkSet> network_sets;
  std::vector<Namespace> namespaces;
  std::vector<Profile> profiles;
  std::vector<ServiceAccount> service_accounts;
};

const char* ActionName(Action a);  // "Allow", "Deny", "Pass", "Log"

}  // namespace tierwall::ctl::model
