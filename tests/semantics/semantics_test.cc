// Calico semantics, case by case: YAML in, one packet through the compiled
// program, the verdict and the Calico flow-log traces out.
//
// In the style of Calico's felix/bpf/ut/pol_prog_test.go: every case is a
// small policy set (on top of a shared set of endpoints), a packet and the
// expected outcome. The expected strings were worked out by hand from
// shared/docs/calico-semantics.md and the project's common brief (trace
// names, end-of-tier naming, profiles), never copied from the program's
// output, so a failure here means the compiler/trace and the documented
// semantics disagree.
//
// Trace entries read `<i>|<tier>|<name>|<allow|deny|pass>|<rule index>`.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "control/compiler/compiler.h"
#include "control/model/resources.h"
#include "control/model/yaml_loader.h"
#include "control/trace/trace.h"
#include "dataplane/classify/ip_addr.h"
#include "dataplane/classify/packet_key.h"
#include "dataplane/classify/program.h"
#include "gtest/gtest.h"

namespace tierwall::test {
namespace {

using dp::classify::IpAddr;
using dp::classify::PacketKey;

// ---------------------------------------------------------------------------
// The shared world every case starts from.
//
//   ns1 {team: a, env: prod}            ns2 {team: b, env: dev}
//   ns1/client  198.18.1.1 fd00::1:1  {app: client, role: fe}   sa client-sa
//   ns1/server  198.18.1.2 fd00::1:2  {app: server, tier: backend} sa server-sa
//               ports http 8080/TCP, dns 53/UDP
//   ns1/batch   198.18.1.3            {role: batch}             no sa
//   ns2/client  198.18.2.1            {app: client}             no sa
//   ns2/server  198.18.2.2            {app: server}             ports http 9090/TCP
//   host1 (HostEndpoint) 198.18.0.1   {role: node}
//   unknown addresses: 198.19.0.9, 198.19.1.9, 198.19.2.9, 198.19.0.10, fd00:99::5
//
// Workload endpoints list no profiles, so they get kns.<ns> (+ ksa.<ns>.<sa>),
// and kns.* without a Profile resource allows everything: with no policy at
// all every flow to or from a workload is allowed by its namespace profile.
// ---------------------------------------------------------------------------
constexpr char kBase[] = R"(
apiVersion: v1
kind: Namespace
metadata: {name: ns1, labels: {team: a, env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns2, labels: {team: b, env: dev}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-client-eth0, namespace: ns1, labels: {app: client, role: fe}}
spec:
  node: node1
  orchestrator: k8s
  pod: client
  endpoint: eth0
  interfaceName: cali0101
  serviceAccountName: client-sa
  ipNetworks: [198.18.1.1/32, "fd00::1:1/128"]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-server-eth0, namespace: ns1, labels: {app: server, tier: backend}}
spec:
  node: node1
  orchestrator: k8s
  pod: server
  endpoint: eth0
  interfaceName: cali0102
  serviceAccountName: server-sa
  ipNetworks: [198.18.1.2/32, "fd00::1:2/128"]
  ports:
    - {name: http, port: 8080, protocol: TCP}
    - {name: dns, port: 53, protocol: UDP}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-batch-eth0, namespace: ns1, labels: {role: batch}}
spec:
  node: node1
  orchestrator: k8s
  pod: batch
  endpoint: eth0
  interfaceName: cali0103
  ipNetworks: [198.18.1.3/32]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node2-k8s-client-eth0, namespace: ns2, labels: {app: client}}
spec:
  node: node2
  orchestrator: k8s
  pod: client
  endpoint: eth0
  interfaceName: cali0201
  ipNetworks: [198.18.2.1/32]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node2-k8s-server-eth0, namespace: ns2, labels: {app: server}}
spec:
  node: node2
  orchestrator: k8s
  pod: server
  endpoint: eth0
  interfaceName: cali0202
  ipNetworks: [198.18.2.2/32]
  ports:
    - {name: http, port: 9090, protocol: TCP}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: host1, labels: {role: node}}
spec: {node: host1, interfaceName: eth0, expectedIPs: [198.18.0.1]}
)";

constexpr char kC1[] = "198.18.1.1";      // ns1/client
constexpr char kS1[] = "198.18.1.2";      // ns1/server
constexpr char kB1[] = "198.18.1.3";      // ns1/batch
constexpr char kC2[] = "198.18.2.1";      // ns2/client
constexpr char kS2[] = "198.18.2.2";      // ns2/server
constexpr char kHost[] = "198.18.0.1";    // host1
constexpr char kLegacy[] = "198.18.1.4";  // ns1/legacy, added by the profile cases
constexpr char kX[] = "198.19.0.9";       // unknown, in 198.19.0.0/24
constexpr char kX2[] = "198.19.1.9";      // unknown, in 198.19.1.0/24
constexpr char kX3[] = "198.19.2.9";      // unknown, in 198.19.2.0/24
constexpr char kY[] = "198.19.0.10";      // unknown
constexpr char kC1v6[] = "fd00::1:1";
constexpr char kS1v6[] = "fd00::1:2";
constexpr char kX6[] = "fd00:99::5";  // unknown

// Profile lines that recur. Index 0 is filled in by the case.
constexpr char kProfNs1[] = "__PROFILE__|__PROFILE__.kns.ns1|allow|0";
constexpr char kProfNs2[] = "__PROFILE__|__PROFILE__.kns.ns2|allow|0";

// ---------------------------------------------------------------------------
// YAML builders. Each returns one `---`-separated document; `spec` is the
// body of a YAML flow mapping, written as users write it.
// ---------------------------------------------------------------------------
std::string Doc(absl::string_view api, absl::string_view kind, absl::string_view metadata,
                absl::string_view spec) {
  return absl::StrCat("---\napiVersion: ", api, "\nkind: ", kind, "\nmetadata: {", metadata,
                      "}\nspec: {", spec, "}\n");
}
std::string Tier(absl::string_view name, absl::string_view spec = "") {
  return Doc("projectcalico.org/v3", "Tier", absl::StrCat("name: ", name), spec);
}
std::string Gnp(absl::string_view name, absl::string_view spec) {
  return Doc("projectcalico.org/v3", "GlobalNetworkPolicy", absl::StrCat("name: ", name), spec);
}
std::string Np(absl::string_view ns, absl::string_view name, absl::string_view spec) {
  return Doc("projectcalico.org/v3", "NetworkPolicy",
             absl::StrCat("name: ", name, ", namespace: ", ns), spec);
}
std::string StagedGnp(absl::string_view name, absl::string_view spec) {
  return Doc("projectcalico.org/v3", "StagedGlobalNetworkPolicy", absl::StrCat("name: ", name),
             spec);
}
std::string StagedNp(absl::string_view ns, absl::string_view name, absl::string_view spec) {
  return Doc("projectcalico.org/v3", "StagedNetworkPolicy",
             absl::StrCat("name: ", name, ", namespace: ", ns), spec);
}
std::string Knp(absl::string_view ns, absl::string_view name, absl::string_view spec) {
  return Doc("networking.k8s.io/v1", "NetworkPolicy",
             absl::StrCat("name: ", name, ", namespace: ", ns), spec);
}
std::string StagedKnp(absl::string_view ns, absl::string_view name, absl::string_view spec) {
  return Doc("projectcalico.org/v3", "StagedKubernetesNetworkPolicy",
             absl::StrCat("name: ", name, ", namespace: ", ns), spec);
}
std::string Profile(absl::string_view name, absl::string_view spec) {
  return Doc("projectcalico.org/v3", "Profile", absl::StrCat("name: ", name), spec);
}
std::string GlobalNetSet(absl::string_view name, absl::string_view labels, absl::string_view nets) {
  return Doc("projectcalico.org/v3", "GlobalNetworkSet",
             absl::StrCat("name: ", name, ", labels: {", labels, "}"),
             absl::StrCat("nets: [", nets, "]"));
}
std::string NetSet(absl::string_view ns, absl::string_view name, absl::string_view labels,
                   absl::string_view nets) {
  return Doc("projectcalico.org/v3", "NetworkSet",
             absl::StrCat("name: ", name, ", namespace: ", ns, ", labels: {", labels, "}"),
             absl::StrCat("nets: [", nets, "]"));
}
// ns1/legacy (198.18.1.4) with explicit profiles, for the profile cases.
std::string LegacyEndpoint(absl::string_view profiles) {
  return Doc("projectcalico.org/v3", "WorkloadEndpoint",
             "name: node1-k8s-legacy-eth0, namespace: ns1, labels: {app: legacy}",
             absl::StrCat("node: node1, orchestrator: k8s, pod: legacy, endpoint: eth0, "
                          "interfaceName: cali0104, ipNetworks: [198.18.1.4/32], profiles: [",
                          profiles, "]"));
}

constexpr char kServer[] = "selector: \"app == 'server'\"";

// ---------------------------------------------------------------------------
// Packets.
// ---------------------------------------------------------------------------
struct Packet {
  std::string src;
  std::string dst;
  uint8_t proto = 6;
  uint16_t src_port = 0;  // ICMP type
  uint16_t dst_port = 0;  // ICMP code
};
Packet Tcp(std::string src, std::string dst, uint16_t dport, uint16_t sport = 40000) {
  return {std::move(src), std::move(dst), dp::classify::kProtoTcp, sport, dport};
}
Packet Udp(std::string src, std::string dst, uint16_t dport, uint16_t sport = 40000) {
  return {std::move(src), std::move(dst), dp::classify::kProtoUdp, sport, dport};
}
Packet Icmp(std::string src, std::string dst, uint8_t type, uint8_t code) {
  return {std::move(src), std::move(dst), dp::classify::kProtoIcmp, type, code};
}
Packet Icmp6(std::string src, std::string dst, uint8_t type, uint8_t code) {
  return {std::move(src), std::move(dst), dp::classify::kProtoIcmpV6, type, code};
}
Packet Proto(std::string src, std::string dst, uint8_t proto, uint16_t dport = 0) {
  return {std::move(src), std::move(dst), proto, 40000, dport};
}

// ---------------------------------------------------------------------------
// Expectations.
// ---------------------------------------------------------------------------
struct Dir {
  std::string verdict;
  std::vector<std::string> enforced;
  // Unset: the pending view equals the enforced one.
  std::optional<std::string> pending_verdict;
  std::optional<std::vector<std::string>> pending;
};
// A direction whose pending view equals the enforced one.
Dir Same(std::string verdict, std::vector<std::string> lines) {
  return {std::move(verdict), std::move(lines), std::nullopt, std::nullopt};
}
Dir Staged(std::string verdict, std::vector<std::string> lines, std::string pending_verdict,
           std::vector<std::string> pending) {
  return {std::move(verdict), std::move(lines), std::move(pending_verdict), std::move(pending)};
}
// "0|" + line, for one-entry traces.
std::string L0(absl::string_view line) { return absl::StrCat("0|", line); }
std::string L1(absl::string_view line) { return absl::StrCat("1|", line); }

struct Case {
  std::string name;
  std::string yaml;  // appended to kBase
  Packet packet;
  std::string verdict;
  std::optional<Dir> egress;   // nullopt: not evaluated (unknown source)
  std::optional<Dir> ingress;  // nullopt: not evaluated (unknown destination)
  std::optional<std::string> src_endpoint = std::nullopt;
  std::optional<std::string> dst_endpoint = std::nullopt;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

// Ingress-only expectation (unknown source), allowed by ns1's profile.
Dir Ns1ProfileAllows() { return Same("allow", {L0(kProfNs1)}); }

// ---------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------
std::vector<Case> TierCases() {
  std::vector<Case> v;
  // Tier order decides, not names or YAML order: z-early (10) before a-late (20).
  v.push_back({"tier_order_lower_first",
               Tier("a-late", "order: 20") + Tier("z-early", "order: 10") +
                   Gnp("a-late.allow",
                       absl::StrCat("tier: a-late, ", kServer, ", ingress: [{action: Allow}]")) +
                   Gnp("z-early.deny",
                       absl::StrCat("tier: z-early, ", kServer, ", ingress: [{action: Deny}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|z-early|z-early.deny|deny|0"})});
  // A tier without an order comes after every ordered tier...
  v.push_back({"tier_unset_order_after_ordered",
               Tier("a-unordered") + Tier("z-ordered", "order: 500") +
                   Gnp("a-unordered.allow", absl::StrCat("tier: a-unordered, ", kServer,
                                                         ", ingress: [{action: Allow}]")) +
                   Gnp("z-ordered.deny",
                       absl::StrCat("tier: z-ordered, ", kServer, ", ingress: [{action: Deny}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|z-ordered|z-ordered.deny|deny|0"})});
  // ...including the default tier (order 1,000,000).
  v.push_back({"tier_unset_order_after_default_tier",
               Tier("a-unordered") +
                   Gnp("a-unordered.allow", absl::StrCat("tier: a-unordered, ", kServer,
                                                         ", ingress: [{action: Allow}]")) +
                   Gnp("deny-all", absl::StrCat(kServer, ", ingress: [{action: Deny}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.deny-all|deny|0"})});
  // Equal orders: by tier name.
  v.push_back(
      {"tier_order_tie_by_name",
       Tier("beta", "order: 10") + Tier("alpha", "order: 10") +
           Gnp("beta.deny", absl::StrCat("tier: beta, ", kServer, ", ingress: [{action: Deny}]")) +
           Gnp("alpha.allow",
               absl::StrCat("tier: alpha, ", kServer, ", ingress: [{action: Allow}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt, Same("allow", {"0|alpha|alpha.allow|allow|0"})});
  // The default tier given as a resource takes the given order.
  v.push_back(
      {"default_tier_given_explicitly",
       // Calico fixes the default tier's order at 1000000 (tier.go's CEL rule;
       // any other order is refused: tests/conformance); a tier ordered after it
       // is evaluated after it.
       Tier("default", "order: 1000000") + Tier("t1", "order: 2000000") +
           Gnp("t1.deny", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Deny}]")) +
           Gnp("allow", absl::StrCat(kServer, ", ingress: [{action: Allow}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt,
       Same("allow", {"0|default|default.allow|allow|0"})});
  return v;
}

std::vector<Case> PolicyOrderCases() {
  std::vector<Case> v;
  v.push_back({"policy_order_ascending",
               Gnp("a", absl::StrCat("order: 20, ", kServer, ", ingress: [{action: Deny}]")) +
                   Gnp("b", absl::StrCat("order: 10, ", kServer, ", ingress: [{action: Allow}]")),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.b|allow|0"})});
  v.push_back(
      {"policy_order_fractional",
       Gnp("a", absl::StrCat("order: 10.5, ", kServer, ", ingress: [{action: Deny}]")) +
           Gnp("b", absl::StrCat("order: 10.25, ", kServer, ", ingress: [{action: Allow}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt, Same("allow", {"0|default|default.b|allow|0"})});
  v.push_back({"policy_order_unset_last",
               Gnp("a", absl::StrCat(kServer, ", ingress: [{action: Allow}]")) +
                   Gnp("b", absl::StrCat("order: 1000, ", kServer, ", ingress: [{action: Deny}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.b|deny|0"})});
  v.push_back({"policy_order_tie_by_name",
               Gnp("b", absl::StrCat("order: 10, ", kServer, ", ingress: [{action: Deny}]")) +
                   Gnp("a", absl::StrCat("order: 10, ", kServer, ", ingress: [{action: Allow}]")),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.a|allow|0"})});
  // Same name and order: "p//<kind>" sorts before "p/ns1/<kind>".
  v.push_back(
      {"policy_order_tie_global_before_namespaced",
       Np("ns1", "p", absl::StrCat("order: 10, ", kServer, ", ingress: [{action: Allow}]")) +
           Gnp("p", absl::StrCat("order: 10, ", kServer, ", ingress: [{action: Deny}]")),
       Tcp(kX, kS1, 8080), "deny", std::nullopt, Same("deny", {"0|default|default.p|deny|0"})});
  return v;
}

std::vector<Case> ActionCases() {
  std::vector<Case> v;
  const std::string tiers =
      Tier("t1", "order: 10") + Tier("t2", "order: 20") + Tier("t3", "order: 30");
  v.push_back(
      {"allow_stops_later_tiers_and_profiles",
       tiers +
           Gnp("t1.allow", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Allow}]")) +
           Gnp("t2.deny", absl::StrCat("tier: t2, ", kServer, ", ingress: [{action: Deny}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt, Same("allow", {"0|t1|t1.allow|allow|0"})});
  v.push_back(
      {"pass_goes_to_next_tier",
       tiers + Gnp("t1.pass", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Pass}]")) +
           Gnp("t2.allow", absl::StrCat("tier: t2, ", kServer, ", ingress: [{action: Allow}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt,
       Same("allow", {"0|t1|t1.pass|pass|0", "1|t2|t2.allow|allow|0"})});
  v.push_back(
      {"pass_skips_rest_of_tier",
       tiers +
           Gnp("t1.a",
               absl::StrCat("tier: t1, order: 1, ", kServer, ", ingress: [{action: Pass}]")) +
           Gnp("t1.b",
               absl::StrCat("tier: t1, order: 2, ", kServer, ", ingress: [{action: Deny}]")) +
           Gnp("t2.allow", absl::StrCat("tier: t2, ", kServer, ", ingress: [{action: Allow}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt,
       Same("allow", {"0|t1|t1.a|pass|0", "1|t2|t2.allow|allow|0"})});
  // t2 has a policy, but not one for the server: it does not take part, so
  // neither its rules nor its end-of-tier deny apply.
  v.push_back(
      {"pass_goes_to_next_participating_tier",
       tiers + Gnp("t1.pass", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Pass}]")) +
           Gnp("t2.clients-only",
               "tier: t2, selector: \"app == 'client'\", ingress: [{action: Deny}]") +
           Gnp("t3.allow", absl::StrCat("tier: t3, ", kServer, ", ingress: [{action: Allow}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt,
       Same("allow", {"0|t1|t1.pass|pass|0", "1|t3|t3.allow|allow|0"})});
  v.push_back(
      {"pass_from_last_tier_reaches_profiles",
       tiers + Gnp("t1.pass", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Pass}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt,
       Same("allow", {"0|t1|t1.pass|pass|0", L1(kProfNs1)})});
  v.push_back({"deny_rule_index_counts_every_rule",
               Gnp("deny", absl::StrCat(kServer,
                                        ", ingress: [{action: Deny, protocol: UDP}, {action: Deny, "
                                        "protocol: TCP, destination: {ports: [8080]}}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.deny|deny|1"})});
  // Log rules never appear but keep their index.
  v.push_back(
      {"log_then_allow",
       Gnp("log-allow", absl::StrCat(kServer, ", ingress: [{action: Log}, {action: Allow}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt,
       Same("allow", {"0|default|default.log-allow|allow|1"})});
  // calico#3801: a Log-only policy still makes its tier take part.
  v.push_back({"log_only_policy_denies_at_end_of_tier",
               Gnp("log-only", absl::StrCat(kServer, ", ingress: [{action: Log}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.log-only|deny|-1"})});
  v.push_back({"log_only_policy_in_pass_tier",
               Tier("t1", "order: 10, defaultAction: Pass") +
                   Gnp("t1.log", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Log}]")),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|t1|t1.log|pass|-1", L1(kProfNs1)})});
  return v;
}

std::vector<Case> EndOfTierCases() {
  std::vector<Case> v;
  const std::string t1 = Tier("t1", "order: 10");
  const std::string no_match_rule = "ingress: [{action: Allow, source: {nets: [198.19.5.0/24]}}]";
  // Named after the first policy, by order, that applied to the endpoint:
  // t1.a-clients is first but selects only clients.
  v.push_back(
      {"end_of_tier_named_after_first_applicable_policy",
       t1 +
           Gnp("t1.a-clients",
               "tier: t1, order: 1, selector: \"app == 'client'\", ingress: [{action: Allow}]") +
           Gnp("t1.b", absl::StrCat("tier: t1, order: 2, ", kServer, ", ", no_match_rule)) +
           Gnp("t1.c", absl::StrCat("tier: t1, order: 3, ", kServer,
                                    ", ingress: [{action: Allow, protocol: UDP}]")),
       Tcp(kX, kS1, 8080), "deny", std::nullopt, Same("deny", {"0|t1|t1.b|deny|-1"})});
  v.push_back({"end_of_tier_named_by_order_not_by_name",
               t1 +
                   Gnp("t1.a", absl::StrCat("tier: t1, order: 2, ", kServer, ", ", no_match_rule)) +
                   Gnp("t1.z", absl::StrCat("tier: t1, order: 1, ", kServer, ", ", no_match_rule)),
               Tcp(kX, kS1, 8080), "deny", std::nullopt, Same("deny", {"0|t1|t1.z|deny|-1"})});
  v.push_back({"end_of_tier_ignores_policies_of_other_direction",
               t1 +
                   Gnp("t1.a-egress", absl::StrCat("tier: t1, order: 1, ", kServer,
                                                   ", types: [Egress], egress: [{action: Deny}]")) +
                   Gnp("t1.b", absl::StrCat("tier: t1, order: 2, ", kServer, ", ", no_match_rule)),
               Tcp(kX, kS1, 8080), "deny", std::nullopt, Same("deny", {"0|t1|t1.b|deny|-1"})});
  v.push_back({"tier_default_action_pass",
               Tier("t1", "order: 10, defaultAction: Pass") +
                   Gnp("t1.p", absl::StrCat("tier: t1, ", kServer, ", ", no_match_rule)),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|t1|t1.p|pass|-1", L1(kProfNs1)})});
  v.push_back(
      {"tier_default_action_pass_then_next_tier",
       Tier("t1", "order: 10, defaultAction: Pass") + Tier("t2", "order: 20") +
           Gnp("t1.p", absl::StrCat("tier: t1, ", kServer, ", ", no_match_rule)) +
           Gnp("t2.deny", absl::StrCat("tier: t2, ", kServer, ", ingress: [{action: Deny}]")),
       Tcp(kX, kS1, 8080), "deny", std::nullopt,
       Same("deny", {"0|t1|t1.p|pass|-1", "1|t2|t2.deny|deny|0"})});
  v.push_back({"tier_without_applicable_policy_is_skipped",
               t1 + Gnp("t1.nothing",
                        "tier: t1, selector: \"app == 'nothing'\", ingress: [{action: Deny}]"),
               Tcp(kX, kS1, 8080), "allow", std::nullopt, Ns1ProfileAllows()});
  v.push_back({"tier_with_only_egress_policy_skipped_for_ingress",
               t1 + Gnp("t1.egress", absl::StrCat("tier: t1, ", kServer,
                                                  ", types: [Egress], egress: [{action: Deny}]")),
               Tcp(kX, kS1, 8080), "allow", std::nullopt, Ns1ProfileAllows()});
  // types omitted with only egress rules: Egress only.
  v.push_back(
      {"types_derived_egress_only",
       t1 + Gnp("t1.egress", absl::StrCat("tier: t1, ", kServer, ", egress: [{action: Deny}]")),
       Tcp(kX, kS1, 8080), "allow", std::nullopt, Ns1ProfileAllows()});
  // types omitted and no rules at all: Ingress, so the tier denies at its end.
  v.push_back({"types_derived_ingress_when_no_rules",
               t1 + Gnp("t1.empty", absl::StrCat("tier: t1, ", kServer)), Tcp(kX, kS1, 8080),
               "deny", std::nullopt, Same("deny", {"0|t1|t1.empty|deny|-1"})});
  return v;
}

std::vector<Case> ProfileCases() {
  std::vector<Case> v;
  v.push_back({"kns_profile_allows_ingress_without_policy", "", Tcp(kX, kS1, 8080), "allow",
               std::nullopt, Ns1ProfileAllows(), std::nullopt, "ns1/server"});
  v.push_back({"kns_profile_allows_egress_without_policy", "", Tcp(kC1, kX, 443), "allow",
               Same("allow", {L0(kProfNs1)}), std::nullopt, "ns1/client", std::nullopt});
  const std::string legacy_two = LegacyEndpoint("p-a, p-b") +
                                 Profile("p-a",
                                         "ingress: [{action: Deny, protocol: TCP, "
                                         "destination: {ports: [22]}}]") +
                                 Profile("p-b", "ingress: [{action: Allow}]");
  v.push_back({"explicit_profile_rule_denies", legacy_two, Tcp(kX, kLegacy, 22), "deny",
               std::nullopt, Same("deny", {"0|__PROFILE__|__PROFILE__.p-a|deny|0"})});
  v.push_back({"explicit_profiles_in_endpoint_order", legacy_two, Tcp(kX, kLegacy, 80), "allow",
               std::nullopt, Same("allow", {"0|__PROFILE__|__PROFILE__.p-b|allow|0"})});
  v.push_back(
      {"profiles_no_match_denies_named_after_first_profile",
       LegacyEndpoint("p-a, p-b") +
           Profile("p-a", "ingress: [{action: Deny, protocol: TCP, destination: {ports: [22]}}]") +
           Profile("p-b", "ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]"),
       Tcp(kX, kLegacy, 80), "deny", std::nullopt,
       Same("deny", {"0|__PROFILE__|__PROFILE__.p-a|deny|-1"})});
  v.push_back({"host_endpoint_without_profiles_denies", "", Tcp(kX, kHost, 22), "deny",
               std::nullopt, Same("deny", {"0|__PROFILE__|__PROFILE__.__NO_MATCH__|deny|-1"}),
               std::nullopt, "host1"});
  v.push_back({"kns_profile_resource_replaces_default_allow",
               Profile("kns.ns2", "ingress: [{action: Deny}]"), Tcp(kX, kS2, 9090), "deny",
               std::nullopt, Same("deny", {"0|__PROFILE__|__PROFILE__.kns.ns2|deny|0"})});
  // kns.ns1 exists but has no ingress rules; ksa.ns1.server-sa has no resource
  // and so no rules either: the profile stage denies.
  v.push_back({"kns_profile_resource_without_rules_denies", Profile("kns.ns1", ""),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|__PROFILE__|__PROFILE__.kns.ns1|deny|-1"})});
  v.push_back({"ksa_profile_resource_rules_apply",
               Profile("kns.ns1", "") + Profile("ksa.ns1.server-sa", "ingress: [{action: Allow}]"),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|__PROFILE__|__PROFILE__.ksa.ns1.server-sa|allow|0"})});
  v.push_back({"profile_labels_to_apply_are_selectable",
               Profile("kns.ns1",
                       "labelsToApply: {pcns.team: a}, ingress: [{action: Allow}], "
                       "egress: [{action: Allow}]") +
                   Gnp("deny-team-a", "selector: \"pcns.team == 'a'\", ingress: [{action: Deny}]"),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.deny-team-a|deny|0"})});
  return v;
}

std::vector<Case> StagedCases() {
  std::vector<Case> v;
  const std::string t1 = Tier("t1", "order: 10");
  v.push_back({"staged_set_adds_policy_to_pending_only",
               StagedGnp("block", absl::StrCat("stagedAction: Set, ", kServer,
                                               ", ingress: [{action: Deny}]")),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Staged("allow", {L0(kProfNs1)}, "deny", {"0|default|default.staged:block|deny|0"})});
  v.push_back(
      {"staged_set_replaces_enforced_policy",
       t1 + Np("ns1", "t1.fe", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Deny}]")) +
           StagedNp("ns1", "t1.fe",
                    absl::StrCat("stagedAction: Set, tier: t1, ", kServer,
                                 ", ingress: [{action: Allow}]")),
       Tcp(kX, kS1, 8080), "deny", std::nullopt,
       Staged("deny", {"0|t1|ns1/t1.fe|deny|0"}, "allow", {"0|t1|ns1/t1.staged:fe|allow|0"})});
  v.push_back(
      {"staged_delete_removes_enforced_policy",
       t1 + Gnp("t1.block", absl::StrCat("tier: t1, ", kServer, ", ingress: [{action: Deny}]")) +
           StagedGnp("t1.block", "stagedAction: Delete, tier: t1"),
       Tcp(kX, kS1, 8080), "deny", std::nullopt,
       Staged("deny", {"0|t1|t1.block|deny|0"}, "allow", {L0(kProfNs1)})});
  for (const char* action : {"Learn", "Ignore"}) {
    v.push_back({absl::StrCat("staged_", action, "_changes_nothing"),
                 StagedGnp("block", absl::StrCat("stagedAction: ", action, ", ", kServer,
                                                 ", ingress: [{action: Deny}]")),
                 Tcp(kX, kS1, 8080), "allow", std::nullopt, Ns1ProfileAllows()});
  }
  // Enforced: t1 has no enforced policy for the server, so it is skipped.
  // Pending: the staged policy makes t1 take part and its end denies.
  v.push_back({"staged_only_tier_has_no_enforced_end_of_tier_drop",
               t1 + StagedNp("ns1", "t1.only",
                             absl::StrCat("stagedAction: Set, tier: t1, ", kServer,
                                          ", ingress: [{action: Allow, source: {nets: "
                                          "[198.19.5.0/24]}}]")),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Staged("allow", {L0(kProfNs1)}, "deny", {"0|t1|ns1/t1.staged:only|deny|-1"})});
  // End of tier is named after the first applicable policy of each view.
  v.push_back({"staged_end_of_tier_named_in_pending_view",
               t1 +
                   Gnp("t1.b", absl::StrCat("tier: t1, order: 20, ", kServer,
                                            ", ingress: [{action: Allow, source: {nets: "
                                            "[198.19.5.0/24]}}]")) +
                   StagedGnp("t1.a", absl::StrCat("tier: t1, order: 10, ", kServer,
                                                  ", ingress: [{action: Allow, source: {nets: "
                                                  "[198.19.6.0/24]}}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Staged("deny", {"0|t1|t1.b|deny|-1"}, "deny", {"0|t1|t1.staged:a|deny|-1"})});
  v.push_back({"staged_kubernetes_policy",
               StagedKnp("ns1", "deny-ingress",
                         "stagedAction: Set, podSelector: {}, policyTypes: [Ingress]"),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Staged("allow", {L0(kProfNs1)}, "deny",
                      {"0|default|ns1/staged:knp.default.deny-ingress|deny|-1"})});
  v.push_back({"staged_egress_only_changes_egress_pending",
               StagedGnp("deny-client-egress",
                         "stagedAction: Set, selector: \"app == 'client'\", types: [Egress], "
                         "egress: [{action: Deny}]"),
               Tcp(kC1, kS1, 8080), "allow",
               Staged("allow", {L0(kProfNs1)}, "deny",
                      {"0|default|default.staged:deny-client-egress|deny|0"}),
               Same("allow", {L0(kProfNs1)})});
  return v;
}

std::vector<Case> NamedPortCases() {
  std::vector<Case> v;
  const std::string allow_http =
      Gnp("allow-http", absl::StrCat(kServer,
                                     ", ingress: [{action: Allow, protocol: TCP, "
                                     "destination: {ports: [http]}}]"));
  v.push_back({"named_port_matches", allow_http, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.allow-http|allow|0"})});
  // 9090 is ns2/server's http, not ns1/server's: (address, port) must pair up.
  v.push_back({"named_port_of_other_endpoint_not_matched", allow_http, Tcp(kX, kS1, 9090), "deny",
               std::nullopt, Same("deny", {"0|default|default.allow-http|deny|-1"})});
  v.push_back({"named_port_resolved_per_endpoint", allow_http, Tcp(kX, kS2, 9090), "allow",
               std::nullopt, Same("allow", {"0|default|default.allow-http|allow|0"})});
  v.push_back({"named_port_wrong_protocol_not_matched",
               Gnp("udp-http", absl::StrCat(kServer,
                                            ", ingress: [{action: Allow, protocol: UDP, "
                                            "destination: {ports: [http]}}]")),
               Udp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.udp-http|deny|-1"})});
  v.push_back({"named_port_udp",
               Gnp("dns", absl::StrCat(kServer,
                                       ", ingress: [{action: Allow, protocol: UDP, "
                                       "destination: {ports: [dns]}}]")),
               Udp(kX, kS1, 53), "allow", std::nullopt,
               Same("allow", {"0|default|default.dns|allow|0"})});
  v.push_back({"named_udp_port_not_matched_by_tcp_rule",
               Gnp("dns", absl::StrCat(kServer,
                                       ", ingress: [{action: Allow, protocol: TCP, "
                                       "destination: {ports: [dns]}}]")),
               Tcp(kX, kS1, 53), "deny", std::nullopt,
               Same("deny", {"0|default|default.dns|deny|-1"})});
  v.push_back({"named_and_numeric_ports_mixed",
               Gnp("mixed", absl::StrCat(kServer,
                                         ", ingress: [{action: Allow, protocol: TCP, "
                                         "destination: {ports: [http, 22]}}]")),
               Tcp(kX, kS1, 22), "allow", std::nullopt,
               Same("allow", {"0|default|default.mixed|allow|0"})});
  const std::string not_http =
      Gnp("not-http", absl::StrCat(kServer,
                                   ", ingress: [{action: Deny, protocol: TCP, destination: "
                                   "{notPorts: [http]}}, {action: Allow}]"));
  v.push_back({"named_port_in_not_ports_excluded", not_http, Tcp(kX, kS1, 8080), "allow",
               std::nullopt, Same("allow", {"0|default|default.not-http|allow|1"})});
  v.push_back({"named_port_in_not_ports_other_port", not_http, Tcp(kX, kS1, 8081), "deny",
               std::nullopt, Same("deny", {"0|default|default.not-http|deny|0"})});
  return v;
}

std::vector<Case> NamespaceCases() {
  std::vector<Case> v;
  v.push_back({"np_selects_only_its_namespace",
               Np("ns1", "deny-servers", absl::StrCat(kServer, ", ingress: [{action: Deny}]")),
               Tcp(kX, kS2, 9090), "allow", std::nullopt, Same("allow", {L0(kProfNs2)})});
  v.push_back({"np_selects_in_its_namespace",
               Np("ns1", "deny-servers", absl::StrCat(kServer, ", ingress: [{action: Deny}]")),
               Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|ns1/default.deny-servers|deny|0"})});
  const std::string from_clients =
      Np("ns1", "from-clients",
         absl::StrCat(kServer,
                      ", ingress: [{action: Allow, source: {selector: \"app == 'client'\"}}]"));
  v.push_back({"np_rule_selector_matches_own_namespace", from_clients, Tcp(kC1, kS1, 8080), "allow",
               Same("allow", {L0(kProfNs1)}),
               Same("allow", {"0|default|ns1/default.from-clients|allow|0"}), "ns1/client",
               "ns1/server"});
  v.push_back({"np_rule_selector_ignores_other_namespaces", from_clients, Tcp(kC2, kS1, 8080),
               "deny", Same("allow", {L0(kProfNs2)}),
               Same("deny", {"0|default|ns1/default.from-clients|deny|-1"}), "ns2/client",
               "ns1/server"});
  auto from_ns = [](absl::string_view ns_selector, absl::string_view selector) {
    std::string source = absl::StrCat("namespaceSelector: \"", ns_selector, "\"");
    if (!selector.empty()) absl::StrAppend(&source, ", selector: \"", selector, "\"");
    return Np("ns1", "from-ns",
              absl::StrCat(kServer, ", ingress: [{action: Allow, source: {", source, "}}]"));
  };
  const std::vector<std::string> ns1_from_ns = {"0|default|ns1/default.from-ns|allow|0"};
  v.push_back({"rule_namespace_selector_all", from_ns("all()", "app == 'client'"),
               Tcp(kC2, kS1, 8080), "allow", Same("allow", {L0(kProfNs2)}),
               Same("allow", ns1_from_ns)});
  v.push_back({"rule_namespace_selector_label_match", from_ns("team == 'b'", "app == 'client'"),
               Tcp(kC2, kS1, 8080), "allow", Same("allow", {L0(kProfNs2)}),
               Same("allow", ns1_from_ns)});
  v.push_back({"rule_namespace_selector_label_mismatch", from_ns("team == 'b'", "app == 'client'"),
               Tcp(kC1, kS1, 8080), "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|ns1/default.from-ns|deny|-1"})});
  v.push_back({"rule_namespace_selector_by_name",
               from_ns("projectcalico.org/name == 'ns2'", "app == 'client'"), Tcp(kC2, kS1, 8080),
               "allow", Same("allow", {L0(kProfNs2)}), Same("allow", ns1_from_ns)});
  // A namespaceSelector alone selects everything in the matching namespaces.
  v.push_back({"rule_namespace_selector_without_selector", from_ns("env == 'dev'", ""),
               Tcp(kC2, kS1, 8080), "allow", Same("allow", {L0(kProfNs2)}),
               Same("allow", ns1_from_ns)});
  const std::string ext_sets = GlobalNetSet("ext", "netset: ext", "198.19.0.0/24") +
                               NetSet("ns1", "ext-ns1", "netset: ext", "198.19.1.0/24");
  v.push_back({"rule_namespace_selector_global_matches_global_network_set",
               ext_sets + from_ns("global()", "netset == 'ext'"), Tcp(kX, kS1, 8080), "allow",
               std::nullopt, Same("allow", ns1_from_ns)});
  v.push_back({"rule_namespace_selector_global_excludes_namespaced_network_set",
               ext_sets + from_ns("global()", "netset == 'ext'"), Tcp(kX2, kS1, 8080), "deny",
               std::nullopt, Same("deny", {"0|default|ns1/default.from-ns|deny|-1"})});
  // Without namespaceSelector a namespaced policy sees only its namespace:
  // the namespaced set yes, the global one no.
  const std::string np_from_ext =
      Np("ns1", "from-ext",
         absl::StrCat(kServer,
                      ", ingress: [{action: Allow, source: {selector: \"netset == 'ext'\"}}]"));
  v.push_back({"np_rule_ignores_global_network_set", ext_sets + np_from_ext, Tcp(kX, kS1, 8080),
               "deny", std::nullopt, Same("deny", {"0|default|ns1/default.from-ext|deny|-1"})});
  v.push_back({"np_rule_matches_own_namespace_network_set", ext_sets + np_from_ext,
               Tcp(kX2, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|ns1/default.from-ext|allow|0"})});
  v.push_back({"np_rule_ignores_other_namespace_network_set",
               NetSet("ns1", "partners", "netset: partner", "198.19.2.0/24") +
                   Np("ns2", "from-partners",
                      absl::StrCat(kServer,
                                   ", ingress: [{action: Allow, source: {selector: "
                                   "\"netset == 'partner'\"}}]")),
               Tcp(kX3, kS2, 9090), "deny", std::nullopt,
               Same("deny", {"0|default|ns2/default.from-partners|deny|-1"})});
  // A global policy's rules see every endpoint and network set.
  const std::string gnp_from_ext =
      Gnp("from-ext",
          absl::StrCat(kServer,
                       ", ingress: [{action: Allow, source: {selector: \"netset == 'ext'\"}}]"));
  v.push_back({"gnp_rule_matches_global_network_set", ext_sets + gnp_from_ext, Tcp(kX, kS1, 8080),
               "allow", std::nullopt, Same("allow", {"0|default|default.from-ext|allow|0"})});
  v.push_back({"gnp_rule_matches_namespaced_network_set", ext_sets + gnp_from_ext,
               Tcp(kX2, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.from-ext|allow|0"})});
  v.push_back({"gnp_rule_selector_spans_namespaces",
               Gnp("from-clients", absl::StrCat(kServer,
                                                ", ingress: [{action: Allow, source: "
                                                "{selector: \"app == 'client'\"}}]")),
               Tcp(kC2, kS1, 8080), "allow", Same("allow", {L0(kProfNs2)}),
               Same("allow", {"0|default|default.from-clients|allow|0"})});
  const std::string deny_team_b =
      Gnp("deny-team-b", "namespaceSelector: \"team == 'b'\", ingress: [{action: Deny}]");
  v.push_back({"gnp_namespace_selector_selects", deny_team_b, Tcp(kX, kS2, 9090), "deny",
               std::nullopt, Same("deny", {"0|default|default.deny-team-b|deny|0"})});
  v.push_back({"gnp_namespace_selector_excludes", deny_team_b, Tcp(kX, kS1, 8080), "allow",
               std::nullopt, Ns1ProfileAllows()});
  v.push_back({"gnp_namespace_selector_excludes_host_endpoints",
               Gnp("all-namespaced", "namespaceSelector: all(), ingress: [{action: Allow}]"),
               Tcp(kX, kHost, 22), "deny", std::nullopt,
               Same("deny", {"0|__PROFILE__|__PROFILE__.__NO_MATCH__|deny|-1"})});
  v.push_back({"gnp_selects_host_endpoint",
               Gnp("allow-ssh",
                   "selector: \"role == 'node'\", ingress: [{action: Allow, "
                   "protocol: TCP, destination: {ports: [22]}}]"),
               Tcp(kX, kHost, 22), "allow", std::nullopt,
               Same("allow", {"0|default|default.allow-ssh|allow|0"})});
  v.push_back({"np_never_selects_host_endpoint",
               Np("ns1", "everything", "selector: all(), ingress: [{action: Allow}]"),
               Tcp(kX, kHost, 22), "deny", std::nullopt,
               Same("deny", {"0|__PROFILE__|__PROFILE__.__NO_MATCH__|deny|-1"})});
  return v;
}

std::vector<Case> EntityCases() {
  std::vector<Case> v;
  const std::string not_sel =
      Gnp("p", absl::StrCat(kServer,
                            ", ingress: [{action: Deny, source: {notSelector: "
                            "has(app)}}, {action: Allow}]"));
  v.push_back({"not_selector_matches_unknown_address", not_sel, Tcp(kX, kS1, 8080), "deny",
               std::nullopt, Same("deny", {"0|default|default.p|deny|0"})});
  v.push_back({"not_selector_excludes_matching_endpoint", not_sel, Tcp(kC1, kS1, 8080), "allow",
               Same("allow", {L0(kProfNs1)}), Same("allow", {"0|default|default.p|allow|1"})});
  v.push_back({"not_selector_matches_known_endpoint_without_label", not_sel, Tcp(kB1, kS1, 8080),
               "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|default.p|deny|0"})});
  const std::string not_has =
      Gnp("p", absl::StrCat(kServer,
                            ", ingress: [{action: Deny, source: {selector: \"!has(app)\"}}, "
                            "{action: Allow}]"));
  v.push_back({"not_has_selector_ignores_unknown_address", not_has, Tcp(kX, kS1, 8080), "allow",
               std::nullopt, Same("allow", {"0|default|default.p|allow|1"})});
  v.push_back({"not_has_selector_matches_known_endpoint", not_has, Tcp(kB1, kS1, 8080), "deny",
               Same("allow", {L0(kProfNs1)}), Same("deny", {"0|default|default.p|deny|0"})});
  v.push_back({"not_has_selector_matches_host_endpoint_in_gnp",
               not_has + Gnp("host-out",
                             "selector: \"role == 'node'\", types: [Egress], egress: "
                             "[{action: Allow}]"),
               Tcp(kHost, kS1, 8080), "deny", Same("allow", {"0|default|default.host-out|allow|0"}),
               Same("deny", {"0|default|default.p|deny|0"}), "host1", "ns1/server"});
  const std::string nets = Gnp("nets", absl::StrCat(kServer,
                                                    ", ingress: [{action: Allow, source: {nets: "
                                                    "[198.19.5.0/24, 198.19.0.0/24]}}]"));
  v.push_back({"nets_any_of_matches", nets, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.nets|allow|0"})});
  v.push_back({"nets_no_match", nets, Tcp(kX2, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.nets|deny|-1"})});
  const std::string not_nets =
      Gnp("not-nets", absl::StrCat(kServer,
                                   ", ingress: [{action: Deny, source: {notNets: "
                                   "[198.19.0.0/24]}}, {action: Allow}]"));
  v.push_back({"not_nets_excludes", not_nets, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.not-nets|allow|1"})});
  v.push_back({"not_nets_matches_outside", not_nets, Tcp(kX2, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.not-nets|deny|0"})});
  // Criteria are ANDed: ns1/client matches the selector but not the nets.
  v.push_back({"selector_and_nets_anded",
               Gnp("both", absl::StrCat(kServer,
                                        ", ingress: [{action: Allow, source: {selector: "
                                        "\"app == 'client'\", nets: [198.19.0.0/24]}}]")),
               Tcp(kC1, kS1, 8080), "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|default.both|deny|-1"})});
  const std::string client_out =
      Gnp("client-out",
          "selector: \"app == 'client'\", types: [Egress], egress: [{action: Allow, "
          "destination: {nets: [198.19.0.0/24]}}]");
  v.push_back({"destination_nets_in_egress", client_out, Tcp(kC1, kX, 443), "allow",
               Same("allow", {"0|default|default.client-out|allow|0"}), std::nullopt});
  v.push_back({"destination_nets_in_egress_no_match", client_out, Tcp(kC1, kX2, 443), "deny",
               Same("deny", {"0|default|default.client-out|deny|-1"}), std::nullopt});
  // Service accounts.
  auto from_sa = [](absl::string_view sa) {
    return Np("ns1", "from-sa",
              absl::StrCat(kServer, ", ingress: [{action: Allow, source: {serviceAccounts: {", sa,
                           "}}}]"));
  };
  v.push_back({"service_account_names_match", from_sa("names: [client-sa]"), Tcp(kC1, kS1, 8080),
               "allow", Same("allow", {L0(kProfNs1)}),
               Same("allow", {"0|default|ns1/default.from-sa|allow|0"})});
  v.push_back({"service_account_names_endpoint_without_sa", from_sa("names: [client-sa]"),
               Tcp(kB1, kS1, 8080), "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|ns1/default.from-sa|deny|-1"})});
  v.push_back({"service_account_selector_match",
               from_sa("selector: \"projectcalico.org/name starts with 'client'\""),
               Tcp(kC1, kS1, 8080), "allow", Same("allow", {L0(kProfNs1)}),
               Same("allow", {"0|default|ns1/default.from-sa|allow|0"})});
  v.push_back({"service_account_names_and_selector_anded",
               from_sa("names: [client-sa], selector: \"projectcalico.org/name == 'other'\""),
               Tcp(kC1, kS1, 8080), "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|ns1/default.from-sa|deny|-1"})});
  const std::string sa_policy =
      Gnp("sa-pol",
          "serviceAccountSelector: \"projectcalico.org/name == 'server-sa'\", "
          "ingress: [{action: Deny}]");
  v.push_back({"policy_service_account_selector_selects", sa_policy, Tcp(kX, kS1, 8080), "deny",
               std::nullopt, Same("deny", {"0|default|default.sa-pol|deny|0"})});
  v.push_back({"policy_service_account_selector_needs_account", sa_policy, Tcp(kX, kS2, 9090),
               "allow", std::nullopt, Same("allow", {L0(kProfNs2)})});
  return v;
}

std::vector<Case> ProtocolCases() {
  std::vector<Case> v;
  const std::string ping =
      Gnp("ping",
          absl::StrCat(kServer, ", ingress: [{action: Allow, protocol: ICMP, icmp: {type: 8}}]"));
  v.push_back({"icmp_type_matches", ping, Icmp(kX, kS1, 8, 0), "allow", std::nullopt,
               Same("allow", {"0|default|default.ping|allow|0"})});
  v.push_back({"icmp_type_mismatch", ping, Icmp(kX, kS1, 0, 0), "deny", std::nullopt,
               Same("deny", {"0|default|default.ping|deny|-1"})});
  v.push_back({"icmp_rule_does_not_match_tcp", ping, Tcp(kX, kS1, 8), "deny", std::nullopt,
               Same("deny", {"0|default|default.ping|deny|-1"})});
  const std::string unreachable =
      Gnp("frag", absl::StrCat(kServer,
                               ", ingress: [{action: Allow, protocol: ICMP, icmp: "
                               "{type: 3, code: 4}}]"));
  v.push_back({"icmp_type_and_code_match", unreachable, Icmp(kX, kS1, 3, 4), "allow", std::nullopt,
               Same("allow", {"0|default|default.frag|allow|0"})});
  v.push_back({"icmp_code_mismatch", unreachable, Icmp(kX, kS1, 3, 1), "deny", std::nullopt,
               Same("deny", {"0|default|default.frag|deny|-1"})});
  const std::string not_ping =
      Gnp("not-ping", absl::StrCat(kServer,
                                   ", ingress: [{action: Deny, protocol: ICMP, notICMP: "
                                   "{type: 8}}, {action: Allow}]"));
  v.push_back({"not_icmp_excludes_type", not_ping, Icmp(kX, kS1, 8, 0), "allow", std::nullopt,
               Same("allow", {"0|default|default.not-ping|allow|1"})});
  v.push_back({"not_icmp_matches_other_type", not_ping, Icmp(kX, kS1, 0, 0), "deny", std::nullopt,
               Same("deny", {"0|default|default.not-ping|deny|0"})});
  v.push_back({"icmpv6_type",
               Gnp("ping6", absl::StrCat(kServer,
                                         ", ingress: [{action: Allow, ipVersion: 6, "
                                         "protocol: ICMPv6, icmp: {type: 128}}]")),
               Icmp6(kX6, kS1v6, 128, 0), "allow", std::nullopt,
               Same("allow", {"0|default|default.ping6|allow|0"})});
  const std::string v6_only = Gnp(
      "v6", absl::StrCat(kServer, ", ingress: [{action: Deny, ipVersion: 6}, {action: Allow}]"));
  v.push_back({"ip_version_6_rule_skips_ipv4", v6_only, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.v6|allow|1"})});
  v.push_back({"ip_version_6_rule_matches_ipv6", v6_only, Tcp(kX6, kS1v6, 8080), "deny",
               std::nullopt, Same("deny", {"0|default|default.v6|deny|0"})});
  const std::string v6_nets =
      Gnp("v6-nets", absl::StrCat(kServer,
                                  ", ingress: [{action: Allow, source: {nets: "
                                  "[\"fd00:99::/64\"]}}]"));
  v.push_back({"ipv6_nets_match", v6_nets, Tcp(kX6, kS1v6, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.v6-nets|allow|0"})});
  v.push_back({"ipv6_nets_do_not_match_ipv4", v6_nets, Tcp(kX, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|default.v6-nets|deny|-1"})});
  v.push_back({"ipv6_selector_between_endpoints",
               Gnp("from-clients", absl::StrCat(kServer,
                                                ", ingress: [{action: Allow, source: "
                                                "{selector: \"app == 'client'\"}}]")),
               Tcp(kC1v6, kS1v6, 8080), "allow", Same("allow", {L0(kProfNs1)}),
               Same("allow", {"0|default|default.from-clients|allow|0"}), "ns1/client",
               "ns1/server"});
  const std::string no_udp =
      Gnp("no-udp",
          absl::StrCat(kServer, ", ingress: [{action: Deny, protocol: UDP}, {action: Allow}]"));
  v.push_back({"protocol_name_matches", no_udp, Udp(kX, kS1, 53), "deny", std::nullopt,
               Same("deny", {"0|default|default.no-udp|deny|0"})});
  v.push_back({"protocol_name_other_protocol", no_udp, Tcp(kX, kS1, 53), "allow", std::nullopt,
               Same("allow", {"0|default|default.no-udp|allow|1"})});
  v.push_back({"protocol_number",
               Gnp("no-sctp", absl::StrCat(kServer,
                                           ", ingress: [{action: Deny, protocol: 132}, "
                                           "{action: Allow}]")),
               Proto(kX, kS1, dp::classify::kProtoSctp, 3868), "deny", std::nullopt,
               Same("deny", {"0|default|default.no-sctp|deny|0"})});
  v.push_back({"protocol_number_for_named_protocol",
               Gnp("tcp6", absl::StrCat(kServer, ", ingress: [{action: Allow, protocol: 6}]")),
               Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.tcp6|allow|0"})});
  v.push_back({"protocol_gre_number",
               Gnp("gre", absl::StrCat(kServer, ", ingress: [{action: Allow, protocol: 47}]")),
               Proto(kX, kS1, 47), "allow", std::nullopt,
               Same("allow", {"0|default|default.gre|allow|0"})});
  const std::string only_tcp =
      Gnp("only-tcp",
          absl::StrCat(kServer, ", ingress: [{action: Deny, notProtocol: TCP}, {action: Allow}]"));
  v.push_back({"not_protocol_matches_others", only_tcp, Udp(kX, kS1, 53), "deny", std::nullopt,
               Same("deny", {"0|default|default.only-tcp|deny|0"})});
  v.push_back({"not_protocol_excludes", only_tcp, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.only-tcp|allow|1"})});
  v.push_back({"sctp_ports",
               Gnp("diameter", absl::StrCat(kServer,
                                            ", ingress: [{action: Allow, protocol: SCTP, "
                                            "destination: {ports: [3868]}}]")),
               Proto(kX, kS1, dp::classify::kProtoSctp, 3868), "allow", std::nullopt,
               Same("allow", {"0|default|default.diameter|allow|0"})});
  // Ports.
  const std::string range =
      Gnp("range", absl::StrCat(kServer,
                                ", ingress: [{action: Allow, protocol: TCP, destination: "
                                "{ports: [22, \"8000:8100\"]}}]"));
  v.push_back({"port_range_inside", range, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.range|allow|0"})});
  v.push_back({"port_range_upper_edge", range, Tcp(kX, kS1, 8100), "allow", std::nullopt,
               Same("allow", {"0|default|default.range|allow|0"})});
  v.push_back({"port_range_past_edge", range, Tcp(kX, kS1, 8101), "deny", std::nullopt,
               Same("deny", {"0|default|default.range|deny|-1"})});
  v.push_back({"port_single_in_list", range, Tcp(kX, kS1, 22), "allow", std::nullopt,
               Same("allow", {"0|default|default.range|allow|0"})});
  const std::string not_ports =
      Gnp("not-ports", absl::StrCat(kServer,
                                    ", ingress: [{action: Deny, protocol: TCP, "
                                    "destination: {notPorts: [8080, \"9000:9100\"]}}, "
                                    "{action: Allow}]"));
  v.push_back({"not_ports_excludes_number", not_ports, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|default.not-ports|allow|1"})});
  v.push_back({"not_ports_excludes_range", not_ports, Tcp(kX, kS1, 9050), "allow", std::nullopt,
               Same("allow", {"0|default|default.not-ports|allow|1"})});
  v.push_back({"not_ports_matches_others", not_ports, Tcp(kX, kS1, 9101), "deny", std::nullopt,
               Same("deny", {"0|default|default.not-ports|deny|0"})});
  const std::string src_ports =
      Gnp("from-dns", absl::StrCat(kServer,
                                   ", ingress: [{action: Allow, protocol: UDP, source: "
                                   "{ports: [53]}}]"));
  v.push_back({"source_ports_match", src_ports, Udp(kX, kS1, 40000, 53), "allow", std::nullopt,
               Same("allow", {"0|default|default.from-dns|allow|0"})});
  v.push_back({"source_ports_are_not_destination_ports", src_ports, Udp(kX, kS1, 53, 40000), "deny",
               std::nullopt, Same("deny", {"0|default|default.from-dns|deny|-1"})});
  return v;
}

std::vector<Case> DirectionCases() {
  std::vector<Case> v;
  auto two = [](absl::string_view egress_action, absl::string_view ingress_action) {
    return Gnp("client-egress",
               absl::StrCat("selector: \"app == 'client'\", types: [Egress], egress: [{action: ",
                            egress_action, "}]")) +
           Gnp("server-ingress", absl::StrCat(kServer, ", types: [Ingress], ingress: [{action: ",
                                              ingress_action, "}]"));
  };
  v.push_back(
      {"egress_deny_at_source_wins_over_ingress_allow", two("Deny", "Allow"), Tcp(kC1, kS1, 8080),
       "deny", Same("deny", {"0|default|default.client-egress|deny|0"}),
       Same("allow", {"0|default|default.server-ingress|allow|0"}), "ns1/client", "ns1/server"});
  v.push_back({"ingress_deny_at_destination_wins_over_egress_allow", two("Allow", "Deny"),
               Tcp(kC1, kS1, 8080), "deny",
               Same("allow", {"0|default|default.client-egress|allow|0"}),
               Same("deny", {"0|default|default.server-ingress|deny|0"})});
  v.push_back({"both_directions_allow", two("Allow", "Allow"), Tcp(kC1, kS1, 8080), "allow",
               Same("allow", {"0|default|default.client-egress|allow|0"}),
               Same("allow", {"0|default|default.server-ingress|allow|0"})});
  v.push_back({"unknown_source_only_ingress_evaluated", two("Deny", "Allow"), Tcp(kX, kS1, 8080),
               "allow", std::nullopt, Same("allow", {"0|default|default.server-ingress|allow|0"}),
               std::nullopt, "ns1/server"});
  v.push_back({"unknown_destination_only_egress_evaluated", two("Deny", "Allow"),
               Tcp(kC1, kX, 8080), "deny", Same("deny", {"0|default|default.client-egress|deny|0"}),
               std::nullopt, "ns1/client", std::nullopt});
  v.push_back({"both_unknown_denied", two("Allow", "Allow"), Tcp(kX, kY, 8080), "deny",
               std::nullopt, std::nullopt});
  return v;
}

std::vector<Case> KubernetesCases() {
  std::vector<Case> v;
  const std::string allow_client =
      Knp("ns1", "allow-client",
          "podSelector: {matchLabels: {app: server}}, ingress: [{from: [{podSelector: "
          "{matchLabels: {app: client}}}], ports: [{protocol: TCP, port: 8080}]}]");
  const std::vector<std::string> knp_allow = {"0|default|ns1/knp.default.allow-client|allow|0"};
  v.push_back({"knp_named_and_in_default_tier", allow_client, Tcp(kC1, kS1, 8080), "allow",
               Same("allow", {L0(kProfNs1)}), Same("allow", knp_allow)});
  v.push_back({"knp_peer_without_namespace_selector_is_same_namespace", allow_client,
               Tcp(kC2, kS1, 8080), "deny", Same("allow", {L0(kProfNs2)}),
               Same("deny", {"0|default|ns1/knp.default.allow-client|deny|-1"})});
  auto gnp_at = [](absl::string_view name, absl::string_view order) {
    return Gnp(name, absl::StrCat("order: ", order, ", ", kServer, ", ingress: [{action: Deny}]"));
  };
  v.push_back({"knp_order_1000_after_999", allow_client + gnp_at("early", "999"),
               Tcp(kC1, kS1, 8080), "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|default.early|deny|0"})});
  v.push_back({"knp_order_1000_before_1001", allow_client + gnp_at("late", "1001"),
               Tcp(kC1, kS1, 8080), "allow", Same("allow", {L0(kProfNs1)}),
               Same("allow", knp_allow)});
  // Order ties by name: "aaa" < "knp.default.allow-client" < "zzz".
  v.push_back({"knp_order_tie_by_name_before", allow_client + gnp_at("aaa", "1000"),
               Tcp(kC1, kS1, 8080), "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|default.aaa|deny|0"})});
  v.push_back({"knp_order_tie_by_name_after", allow_client + gnp_at("zzz", "1000"),
               Tcp(kC1, kS1, 8080), "allow", Same("allow", {L0(kProfNs1)}),
               Same("allow", knp_allow)});
  const std::string ipblock =
      Knp("ns1", "ipblock",
          "podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 198.19.0.0/16, except: "
          "[198.19.1.0/24]}}]}]");
  v.push_back({"knp_ip_block", ipblock, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|ns1/knp.default.ipblock|allow|0"})});
  v.push_back({"knp_ip_block_except", ipblock, Tcp(kX2, kS1, 8080), "deny", std::nullopt,
               Same("deny", {"0|default|ns1/knp.default.ipblock|deny|-1"})});
  v.push_back(
      {"knp_empty_namespace_selector_is_all_namespaces",
       Knp("ns1", "any-ns", "podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]"),
       Tcp(kC2, kS1, 8080), "allow", Same("allow", {L0(kProfNs2)}),
       Same("allow", {"0|default|ns1/knp.default.any-ns|allow|0"})});
  const std::string ns_and_pod =
      Knp("ns1", "team-b-clients",
          "podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: b}}, "
          "podSelector: {matchLabels: {app: client}}}]}]");
  v.push_back({"knp_namespace_and_pod_selector_match", ns_and_pod, Tcp(kC2, kS1, 8080), "allow",
               Same("allow", {L0(kProfNs2)}),
               Same("allow", {"0|default|ns1/knp.default.team-b-clients|allow|0"})});
  v.push_back({"knp_namespace_and_pod_selector_other_namespace", ns_and_pod, Tcp(kC1, kS1, 8080),
               "deny", Same("allow", {L0(kProfNs1)}),
               Same("deny", {"0|default|ns1/knp.default.team-b-clients|deny|-1"})});
  v.push_back(
      {"knp_end_port",
       Knp("ns1", "range",
           "podSelector: {}, ingress: [{ports: [{protocol: TCP, port: 8000, endPort: 8100}]}]"),
       Tcp(kX, kS1, 8080), "allow", std::nullopt,
       Same("allow", {"0|default|ns1/knp.default.range|allow|0"})});
  const std::string named =
      Knp("ns1", "named", "podSelector: {}, ingress: [{ports: [{port: http}]}]");
  v.push_back({"knp_named_port_default_tcp", named, Tcp(kX, kS1, 8080), "allow", std::nullopt,
               Same("allow", {"0|default|ns1/knp.default.named|allow|0"})});
  v.push_back({"knp_port_without_protocol_is_tcp",
               Knp("ns1", "p53", "podSelector: {}, ingress: [{ports: [{port: 53}]}]"),
               Udp(kX, kS1, 53), "deny", std::nullopt,
               Same("deny", {"0|default|ns1/knp.default.p53|deny|-1"})});
  // One Calico rule per protocol, protocols sorted by name: TCP is rule 0, UDP rule 1.
  v.push_back({"knp_one_rule_per_protocol",
               Knp("ns1", "mixed",
                   "podSelector: {}, ingress: [{ports: [{protocol: UDP, port: 53}, {protocol: "
                   "TCP, port: 8080}]}]"),
               Udp(kX, kS1, 53), "allow", std::nullopt,
               Same("allow", {"0|default|ns1/knp.default.mixed|allow|1"})});
  v.push_back({"knp_deny_all_egress",
               Knp("ns1", "deny-egress",
                   "podSelector: {matchLabels: {app: client}}, policyTypes: [Egress]"),
               Tcp(kC1, kS1, 8080), "deny",
               Same("deny", {"0|default|ns1/knp.default.deny-egress|deny|-1"}),
               Same("allow", {L0(kProfNs1)})});
  return v;
}

// One case per selector operator: a policy `default.sel` with the selector
// denies ingress; ns1/server's labels are {app: server, tier: backend,
// projectcalico.org/namespace: ns1, projectcalico.org/serviceaccount: server-sa}.
std::vector<Case> SelectorCases() {
  struct Op {
    const char* name;
    const char* selector;  // as a YAML scalar
    bool matches;
  };
  const Op ops[] = {
      {"eq", "\"app == 'server'\"", true},
      {"eq_absent_label", "\"color == 'red'\"", false},
      {"eq_double_quotes", "'app == \"server\"'", true},
      {"ne", "\"app != 'client'\"", true},
      {"ne_absent_label", "\"color != 'red'\"", true},
      {"has", "\"has(tier)\"", true},
      {"not_has", "\"!has(tier)\"", false},
      {"in", "\"app in {'db', 'server'}\"", true},
      {"in_empty_set", "\"app in {}\"", false},
      {"not_in", "\"app not in {'server'}\"", false},
      {"notin_one_word_absent_label", "\"color notin {'red'}\"", true},
      {"contains", "\"app contains 'erv'\"", true},
      {"starts_with", "\"app starts with 'ser'\"", true},
      {"startswith_one_word", "\"tier startswith 'front'\"", false},
      {"ends_with", "\"app ends with 'ver'\"", true},
      {"ends_with_absent_label", "\"color endswith ''\"", false},
      {"all", "all()", true},
      {"empty_is_all", "\"\"", true},
      {"and", "\"app == 'server' && tier == 'frontend'\"", false},
      {"or", "\"app == 'client' || tier == 'backend'\"", true},
      {"not_parenthesised", "\"!(app == 'client')\"", true},
      // Leading `!`s count by parity, as libcalico-go's parser does
      // (parser.go: `negated = !negated`).
      {"double_not_cancels", "\"!!has(app)\"", true},
      {"triple_not_negates", "\"!!!has(tier)\"", false},
      {"namespace_label", "\"projectcalico.org/namespace == 'ns1'\"", true},
      {"service_account_label", "\"projectcalico.org/serviceaccount == 'server-sa'\"", true},
  };
  std::vector<Case> v;
  for (const Op& op : ops) {
    v.push_back({absl::StrCat("selector_", op.name),
                 Gnp("sel", absl::StrCat("selector: ", op.selector, ", ingress: [{action: Deny}]")),
                 Tcp(kX, kS1, 8080), op.matches ? "deny" : "allow", std::nullopt,
                 op.matches ? Same("deny", {"0|default|default.sel|deny|0"}) : Ns1ProfileAllows()});
  }
  return v;
}

std::vector<Case> AllCases() {
  std::vector<Case> all;
  for (auto group : {TierCases, PolicyOrderCases, ActionCases, EndOfTierCases, ProfileCases,
                     StagedCases, NamedPortCases, NamespaceCases, EntityCases, ProtocolCases,
                     DirectionCases, KubernetesCases, SelectorCases}) {
    for (Case& c : group()) all.push_back(std::move(c));
  }
  return all;
}

// ---------------------------------------------------------------------------
// The harness.
// ---------------------------------------------------------------------------
PacketKey ToKey(const Packet& p) {
  std::optional<IpAddr> src = IpAddr::Parse(p.src);
  std::optional<IpAddr> dst = IpAddr::Parse(p.dst);
  EXPECT_TRUE(src.has_value()) << p.src;
  EXPECT_TRUE(dst.has_value()) << p.dst;
  PacketKey key;
  if (src) key.src = *src;
  if (dst) key.dst = *dst;
  key.proto = p.proto;
  key.src_port = p.src_port;
  key.dst_port = p.dst_port;
  return key;
}

std::string Lines(const std::vector<std::string>& lines) {
  return lines.empty() ? "(none)" : absl::StrJoin(lines, "\n    ");
}

void CheckDirection(absl::string_view what, const std::optional<Dir>& want,
                    const std::optional<ctl::trace::DirectionReport>& got) {
  if (!want.has_value()) {
    EXPECT_FALSE(got.has_value()) << what << " was evaluated but should not be; got enforced:\n    "
                                  << Lines(got->enforced);
    return;
  }
  ASSERT_TRUE(got.has_value()) << what << " was not evaluated";
  EXPECT_EQ(got->verdict, want->verdict) << what << " verdict";
  EXPECT_EQ(got->enforced, want->enforced)
      << what << " enforced trace\n  want:\n    " << Lines(want->enforced) << "\n  got:\n    "
      << Lines(got->enforced);
  const std::string& pending_verdict = want->pending_verdict.value_or(want->verdict);
  const std::vector<std::string>& pending = want->pending.value_or(want->enforced);
  EXPECT_EQ(got->pending_verdict, pending_verdict) << what << " pending verdict";
  EXPECT_EQ(got->pending, pending) << what << " pending trace\n  want:\n    " << Lines(pending)
                                   << "\n  got:\n    " << Lines(got->pending);
}

absl::StatusOr<std::unique_ptr<dp::classify::Program>> CompileText(const std::string& yaml,
                                                                   absl::string_view name) {
  ctl::model::ResourceSet resources;
  absl::Status parsed = ctl::model::ParseResources(yaml, std::string(name), &resources);
  if (!parsed.ok()) return parsed;
  return ctl::compiler::Compile(resources);
}

class SemanticsTest : public testing::TestWithParam<Case> {};

TEST_P(SemanticsTest, VerdictAndTraces) {
  const Case& c = GetParam();
  auto program = CompileText(absl::StrCat(kBase, c.yaml), c.name);
  ASSERT_TRUE(program.ok()) << program.status() << "\nYAML:\n" << c.yaml;
  ctl::trace::TraceReport report = ctl::trace::TracePacket(**program, ToKey(c.packet));
  SCOPED_TRACE(absl::StrCat("case ", c.name, "\nYAML:", c.yaml));
  EXPECT_EQ(report.verdict, c.verdict) << "overall verdict";
  CheckDirection("egress", c.egress, report.egress);
  CheckDirection("ingress", c.ingress, report.ingress);
  if (c.src_endpoint) {
    EXPECT_EQ(report.source_endpoint, c.src_endpoint);
  }
  if (c.dst_endpoint) {
    EXPECT_EQ(report.destination_endpoint, c.dst_endpoint);
  }
  // An unknown side has no endpoint name.
  if (!c.egress) {
    EXPECT_FALSE(report.source_endpoint.has_value());
  }
  if (!c.ingress) {
    EXPECT_FALSE(report.destination_endpoint.has_value());
  }
}

INSTANTIATE_TEST_SUITE_P(Calico, SemanticsTest, testing::ValuesIn(AllCases()),
                         [](const testing::TestParamInfo<Case>& param_info) {
                           return param_info.param.name;
                         });

TEST(SemanticsTableTest, CaseNamesAreUnique) {
  std::vector<std::string> names;
  for (const Case& c : AllCases()) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_GE(names.size(), 40u);
}

// ---------------------------------------------------------------------------
// Errors found only when the whole set is compiled.
// ---------------------------------------------------------------------------
TEST(CompileErrorTest, NetworkPolicyInMissingTierIsNamed) {
  auto program = CompileText(absl::StrCat(kBase, Np("ns1", "nosuchtier.p",
                                                    absl::StrCat("tier: nosuchtier, ", kServer,
                                                                 ", ingress: [{action: Allow}]"))),
                             "missing-tier");
  ASSERT_FALSE(program.ok());
  EXPECT_NE(program.status().message().find("nosuchtier"), absl::string_view::npos)
      << program.status();
}

TEST(CompileErrorTest, GlobalPolicyInMissingTierIsNamed) {
  auto program = CompileText(
      absl::StrCat(kBase, Gnp("absent-tier.p", absl::StrCat("tier: absent-tier, ", kServer,
                                                            ", ingress: [{action: Allow}]"))),
      "missing-tier");
  ASSERT_FALSE(program.ok());
  EXPECT_NE(program.status().message().find("absent-tier"), absl::string_view::npos)
      << program.status();
}

TEST(CompileErrorTest, DuplicateEndpointAddressIsNamed) {
  auto program = CompileText(
      absl::StrCat(kBase, Doc("projectcalico.org/v3", "WorkloadEndpoint",
                              "name: node2-k8s-dup-eth0, namespace: ns2, labels: {app: dup}",
                              "node: node2, orchestrator: k8s, pod: dup, endpoint: eth0, "
                              "interfaceName: cali0299, ipNetworks: [198.18.1.1/32]")),
      "duplicate-ip");
  ASSERT_FALSE(program.ok());
  EXPECT_NE(program.status().message().find("198.18.1.1"), absl::string_view::npos)
      << program.status();
}

// Calico's validator: global() belongs only in a rule's namespaceSelector.
TEST(CompileErrorTest, GlobalInPolicySelectorIsRejected) {
  ctl::model::ResourceSet resources;
  absl::Status s = ctl::model::ParseResources(
      Gnp("global-only", "selector: global(), ingress: [{action: Deny}]"), "global", &resources);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("global()"), absl::string_view::npos) << s;
}

TEST(CompileErrorTest, BaseCompiles) {
  // The error tests above only mean something if the base alone is fine.
  auto program = CompileText(kBase, "base");
  EXPECT_TRUE(program.ok()) << program.status();
}

// ---------------------------------------------------------------------------
// examples/hipstershop/README.md: every `twctl trace` block in it, checked.
//
// A block is "$ twctl trace -f DIR... --src IP:PORT --dst IP:PORT --proto P"
// (with "\" continuations), then "verdict: V", then per direction either
// "<dir> at <endpoint>: V" followed by indented trace entries, optionally
// "pending <dir>: V" with its own entries, or "<dir>: not evaluated".
// ---------------------------------------------------------------------------
struct ReadmeFlow {
  std::string command;
  std::vector<std::string> files;
  Packet packet;
  std::string verdict;
  std::optional<Dir> egress;
  std::optional<Dir> ingress;
  std::optional<std::string> src_endpoint;
  std::optional<std::string> dst_endpoint;
  bool saw_egress = false;
  bool saw_ingress = false;
};

std::vector<std::string> Words(absl::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "198.18.1.10:40000" -> address, port.
std::pair<std::string, uint16_t> SplitHostPort(const std::string& text) {
  size_t colon = text.find(':');
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) {
    return {text, 0};
  }
  return {text.substr(0, colon), static_cast<uint16_t>(std::stoi(text.substr(colon + 1)))};
}

uint8_t ProtoNumber(const std::string& name) {
  if (name == "tcp") return dp::classify::kProtoTcp;
  if (name == "udp") return dp::classify::kProtoUdp;
  if (name == "sctp") return dp::classify::kProtoSctp;
  ADD_FAILURE() << "README uses protocol " << name << ", which this test does not parse";
  return 0;
}

std::vector<ReadmeFlow> ParseReadme(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);

  std::vector<ReadmeFlow> flows;
  std::vector<std::string>* entries = nullptr;  // where indented lines go
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (line.rfind("$ twctl trace", 0) == 0) {
      while (!line.empty() && line.back() == '\\' && i + 1 < lines.size()) {
        line.pop_back();
        line += lines[++i];
      }
      ReadmeFlow f;
      f.command = line;
      std::vector<std::string> w = Words(line);
      std::string proto = "tcp";
      for (size_t k = 3; k + 1 < w.size(); k += 2) {
        if (w[k] == "-f") {
          f.files.push_back(w[k + 1]);
        } else if (w[k] == "--src") {
          std::tie(f.packet.src, f.packet.src_port) = SplitHostPort(w[k + 1]);
        } else if (w[k] == "--dst") {
          std::tie(f.packet.dst, f.packet.dst_port) = SplitHostPort(w[k + 1]);
        } else if (w[k] == "--proto") {
          proto = w[k + 1];
        } else {
          ADD_FAILURE() << "README: unexpected argument " << w[k] << " in: " << line;
        }
      }
      f.packet.proto = ProtoNumber(proto);
      flows.push_back(std::move(f));
      entries = nullptr;
      continue;
    }
    if (flows.empty()) continue;
    ReadmeFlow& f = flows.back();
    if (line.rfind("```", 0) == 0) {
      entries = nullptr;
      continue;
    }
    if (line.rfind("  ", 0) == 0 && entries != nullptr) {
      entries->push_back(Words(line).at(0));
      continue;
    }
    entries = nullptr;
    std::vector<std::string> w = Words(line);
    if (w.size() == 2 && w[0] == "verdict:") {
      f.verdict = w[1];
    } else if (w.size() == 3 && (w[0] == "egress:" || w[0] == "ingress:") && w[1] == "not" &&
               w[2] == "evaluated") {
      (w[0] == "egress:" ? f.saw_egress : f.saw_ingress) = true;
    } else if (w.size() == 4 && (w[0] == "egress" || w[0] == "ingress") && w[1] == "at") {
      bool egress = w[0] == "egress";
      std::optional<Dir>& d = egress ? f.egress : f.ingress;
      d = Dir{w[3], {}, std::nullopt, std::nullopt};
      (egress ? f.saw_egress : f.saw_ingress) = true;
      std::string name = w[2];
      if (!name.empty() && name.back() == ':') name.pop_back();
      (egress ? f.src_endpoint : f.dst_endpoint) = name;
      entries = &d->enforced;
    } else if (w.size() == 3 && w[0] == "pending" && (w[1] == "egress:" || w[1] == "ingress:")) {
      std::optional<Dir>& d = w[1] == "egress:" ? f.egress : f.ingress;
      if (!d) {
        ADD_FAILURE() << "README: pending before its direction in: " << f.command;
        continue;
      }
      d->pending_verdict = w[2];
      d->pending.emplace();
      entries = &*d->pending;
    }
  }
  return flows;
}

TEST(HipstershopExampleTest, ReadmeFlows) {
  const std::string root = TIERWALL_SOURCE_ROOT;
  std::vector<ReadmeFlow> flows = ParseReadme(root + "/examples/hipstershop/README.md");
  // The README has a dozen flows; a parser that silently found none would pass.
  ASSERT_GE(flows.size(), 12u);
  for (const ReadmeFlow& f : flows) {
    SCOPED_TRACE(f.command);
    ASSERT_TRUE(f.saw_egress && f.saw_ingress && !f.verdict.empty())
        << "README block does not say what happens in both directions";
    ctl::model::ResourceSet resources;
    for (const std::string& file : f.files) {
      absl::Status s = ctl::model::LoadResources(root + "/" + file, &resources);
      ASSERT_TRUE(s.ok()) << s;
    }
    auto program = ctl::compiler::Compile(resources);
    ASSERT_TRUE(program.ok()) << program.status();
    ctl::trace::TraceReport report = ctl::trace::TracePacket(**program, ToKey(f.packet));
    EXPECT_EQ(report.verdict, f.verdict) << "overall verdict";
    CheckDirection("egress", f.egress, report.egress);
    CheckDirection("ingress", f.ingress, report.ingress);
    if (f.src_endpoint) {
      EXPECT_EQ(report.source_endpoint, f.src_endpoint);
    }
    if (f.dst_endpoint) {
      EXPECT_EQ(report.destination_endpoint, f.dst_endpoint);
    }
  }
}

// Every example file loads on its own terms, and the folder as a whole is
// rejected: healthy/ and broken/ hold the same policy (see the README).
TEST(HipstershopExampleTest, VariantsCompile) {
  const std::string dir = std::string(TIERWALL_SOURCE_ROOT) + "/examples/hipstershop/";
  for (const std::vector<std::string>& parts :
       std::vector<std::vector<std::string>>{{"base", "healthy"},
                                             {"base", "broken"},
                                             {"base", "broken", "fix"},
                                             {"base", "healthy", "fix"}}) {
    ctl::model::ResourceSet resources;
    for (const std::string& p : parts) {
      absl::Status s = ctl::model::LoadResources(dir + p, &resources);
      ASSERT_TRUE(s.ok()) << s;
    }
    auto program = ctl::compiler::Compile(resources);
    EXPECT_TRUE(program.ok()) << absl::StrJoin(parts, "+") << ": " << program.status();
  }
  ctl::model::ResourceSet whole;
  absl::Status s = ctl::model::LoadResources(dir, &whole);
  if (s.ok()) {
    EXPECT_FALSE(ctl::compiler::Compile(whole).ok())
        << "loading all of examples/hipstershop should report the duplicate frontend policy";
  }
}

}  // namespace
}  // namespace tierwall::test
