// Which endpoints a rule's selector fields reach, and which endpoints a
// policy applies to, as Calico decides it. Each row names the Calico source
// it reproduces. The policy protects one endpoint with one rule, so a packet
// the rule does not match meets the end-of-tier deny.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/conformance/pipeline.h"
#include "tests/conformance/world.h"

namespace tierwall::test::conformance {
namespace {

struct Row {
  const char* calico;  // the Calico source file and function or test it reproduces
  std::string policy;  // YAML appended to kWorld
  Probe probe;
  const char* want;  // "allow" | "deny"
};

// An NP in ns1 (or a GNP) protecting ns1/server ingress with `rule`.
std::string NpIngress(const std::string& rule) {
  return absl::StrCat(
      "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
      "metadata: {name: p, namespace: ns1}\n"
      "spec:\n  selector: app == 'server'\n  types: [Ingress]\n  ingress:\n  - ",
      rule, "\n");
}
std::string GnpIngress(const std::string& rule) {
  return absl::StrCat(
      "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
      "metadata: {name: p}\n"
      "spec:\n  selector: projectcalico.org/namespace == 'ns1' && app == 'server'\n"
      "  types: [Ingress]\n  ingress:\n  - ",
      rule, "\n");
}
// An NP in ns1 selecting ns1/client for egress with `rule`.
std::string NpEgressFromClient(const std::string& rule) {
  return absl::StrCat(
      "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
      "metadata: {name: p, namespace: ns1}\n"
      "spec:\n  selector: app == 'client'\n  types: [Egress]\n  egress:\n  - ",
      rule, "\n");
}
Probe Tcp(const char* src, const char* dst, uint16_t port = 80) { return {src, dst, "tcp", port}; }
Probe Udp(const char* src, const char* dst, uint16_t port) { return {src, dst, "udp", port}; }

constexpr char kRules[] = "libcalico-go updateprocessors/rules.go getEndpointSelector";
constexpr char kRulesSa[] = "libcalico-go updateprocessors/rules.go parseServiceAccounts";
constexpr char kCombine[] = "felix calc/rule_scanner.go combineMatchesIfPossible";
constexpr char kNamed[] = "felix calc/rule_scanner.go ruleToParsedRule (ProtocolAny named ports)";
constexpr char kNpProc[] =
    "libcalico-go updateprocessors/networkpolicyprocessor.go (serviceAccountSelector)";
constexpr char kGnpProc[] =
    "libcalico-go updateprocessors/globalnetworkpolicyprocessor.go (namespaceSelector)";
constexpr char kValidator[] = "libcalico-go validator/v3 validateRule (AllPortsAreNamed)";

const std::vector<Row>& Rows() {
  static const auto* const kRows = new std::vector<Row>{
      // A namespaced rule with only a notSelector is still limited to its namespace.
      {kRules, NpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kClient1, kServer1), "allow"},
      {kRules, NpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kWeb1, kServer1), "deny"},
      {kRules, NpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kClient2, kServer1), "deny"},
      {kRules, NpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kUnknown, kServer1), "deny"},
      {kRules, NpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kHost1, kServer1), "deny"},
      {kRules, NpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kExt, kServer1), "deny"},
      // ... its namespace's network sets included.
      {kRules, NpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kPartner, kServer1), "allow"},
      // In a global policy there is no namespace part: anything but app=web.
      {kRules, GnpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kUnknown, kServer1), "allow"},
      {kRules, GnpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kClient2, kServer1), "allow"},
      {kRules, GnpIngress("{action: Allow, source: {notSelector: app == 'web'}}"),
       Tcp(kWeb1, kServer1), "deny"},
      // A selector in a namespaced policy: that namespace's endpoints and network sets.
      {kRules, NpIngress("{action: Allow, source: {selector: app == 'client'}}"),
       Tcp(kClient1, kServer1), "allow"},
      {kRules, NpIngress("{action: Allow, source: {selector: app == 'client'}}"),
       Tcp(kPartner, kServer1), "allow"},
      {kRules, NpIngress("{action: Allow, source: {selector: app == 'client'}}"),
       Tcp(kClient2, kServer1), "deny"},
      {kRules, NpIngress("{action: Allow, source: {selector: app == 'client'}}"),
       Tcp(kHost1, kServer1), "deny"},
      {kRules, NpIngress("{action: Allow, source: {selector: app == 'client'}}"),
       Tcp(kExt, kServer1), "deny"},
      // A global policy's selector sees host endpoints and global network sets.
      {kRules, GnpIngress("{action: Allow, source: {selector: app == 'client'}}"),
       Tcp(kHost1, kServer1), "allow"},
      {kRules, GnpIngress("{action: Allow, source: {selector: app == 'client'}}"),
       Tcp(kExt, kServer1), "allow"},
      // namespaceSelector: the namespaces it matches (labels prefixed pcns.).
      {kRules,
       NpIngress("{action: Allow, source: {namespaceSelector: team == 'b', selector: app == "
                 "'client'}}"),
       Tcp(kClient2, kServer1), "allow"},
      {kRules,
       NpIngress("{action: Allow, source: {namespaceSelector: team == 'b', selector: app == "
                 "'client'}}"),
       Tcp(kClient1, kServer1), "deny"},
      // all() = every namespaced thing, never host endpoints or global sets.
      {kRules, NpIngress("{action: Allow, source: {namespaceSelector: all()}}"),
       Tcp(kClient2, kServer1), "allow"},
      {kRules, NpIngress("{action: Allow, source: {namespaceSelector: all()}}"),
       Tcp(kHost1, kServer1), "deny"},
      {kRules, NpIngress("{action: Allow, source: {namespaceSelector: all()}}"),
       Tcp(kExt, kServer1), "deny"},
      // global() = only non-namespaced things.
      {kRules,
       NpIngress("{action: Allow, source: {namespaceSelector: global(), selector: app == "
                 "'client'}}"),
       Tcp(kHost1, kServer1), "allow"},
      {kRules,
       NpIngress("{action: Allow, source: {namespaceSelector: global(), selector: app == "
                 "'client'}}"),
       Tcp(kExt, kServer1), "allow"},
      {kRules,
       NpIngress("{action: Allow, source: {namespaceSelector: global(), selector: app == "
                 "'client'}}"),
       Tcp(kClient1, kServer1), "deny"},
      // namespaceSelector + notSelector: the selected namespaces minus notSelector.
      {kRules,
       NpIngress("{action: Allow, source: {namespaceSelector: team == 'b', notSelector: app == "
                 "'server'}}"),
       Tcp(kClient2, kServer1), "allow"},
      {kRules,
       NpIngress("{action: Allow, source: {namespaceSelector: team == 'b', notSelector: app == "
                 "'server'}}"),
       Tcp(kUnknown, kServer1), "deny"},
      // serviceAccounts.names: the policy's namespace only.
      {kRulesSa, NpIngress("{action: Allow, source: {serviceAccounts: {names: [api-sa]}}}"),
       Tcp(kClient1, kServer1), "allow"},
      {kRulesSa, NpIngress("{action: Allow, source: {serviceAccounts: {names: [api-sa]}}}"),
       Tcp(kWeb1, kServer1), "deny"},
      // serviceAccounts.selector: the service account's labels (pcsa.).
      {kRulesSa,
       NpIngress("{action: Allow, source: {serviceAccounts: {selector: app == 'api-clients'}}}"),
       Tcp(kClient1, kServer1), "allow"},
      {kRulesSa,
       NpIngress("{action: Allow, source: {serviceAccounts: {selector: app == 'api-clients'}}}"),
       Tcp(kWeb1, kServer1), "deny"},
      {kRulesSa,
       NpIngress("{action: Allow, source: {serviceAccounts: {selector: projectcalico.org/name == "
                 "'web-sa'}}}"),
       Tcp(kWeb1, kServer1), "allow"},
      // A policy's serviceAccountSelector selects by the account's labels too.
      {kNpProc,
       "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
       "metadata: {name: p, namespace: ns1}\n"
       "spec: {serviceAccountSelector: app == 'api-clients', types: [Egress], egress: []}\n",
       Tcp(kClient1, kServer1), "deny"},
      {kNpProc,
       "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
       "metadata: {name: p, namespace: ns1}\n"
       "spec: {serviceAccountSelector: app == 'api-clients', types: [Egress], egress: []}\n",
       Tcp(kWeb1, kServer1), "allow"},
      // A GNP's namespaceSelector matches namespace labels.
      {kGnpProc,
       "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"
       "spec: {namespaceSelector: team == 'b', types: [Egress], egress: []}\n",
       Tcp(kClient2, kServer1), "deny"},
      {kGnpProc,
       "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n"
       "spec: {namespaceSelector: team == 'b', types: [Egress], egress: []}\n",
       Tcp(kClient1, kServer1), "allow"},
      // Felix folds the notSelector into the positive selector per endpoint.
      {kCombine,
       NpIngress("{action: Allow, source: {selector: \"app in {'client', 'web'}\", notSelector: "
                 "app == 'web'}}"),
       Tcp(kWeb1, kServer1), "deny"},
      {kCombine,
       NpIngress("{action: Allow, source: {selector: \"app in {'client', 'web'}\", notSelector: "
                 "app == 'web'}}"),
       Tcp(kClient1, kServer1), "allow"},
      // Named ports need no protocol; each matches with its own.
      {kValidator, NpIngress("{action: Allow, destination: {ports: [http]}}"),
       Tcp(kClient1, kServer1, 8080), "allow"},
      {kNamed, NpIngress("{action: Allow, destination: {ports: [http]}}"),
       Udp(kClient1, kServer1, 8080), "deny"},
      {kNamed, NpIngress("{action: Allow, destination: {ports: [http, dns]}}"),
       Udp(kClient1, kServer1, 53), "allow"},
      {kNamed, NpIngress("{action: Allow, destination: {ports: [dns]}}"),
       Tcp(kClient1, kServer1, 53), "deny"},
      {kNamed, NpIngress("{action: Allow, destination: {notPorts: [http]}}"),
       Tcp(kClient1, kServer1, 8080), "deny"},
      {kNamed, NpIngress("{action: Allow, destination: {notPorts: [http]}}"),
       Probe{kClient1, kServer1, "icmp", 8}, "allow"},
      // With no selector a named port resolves on every endpoint (All()).
      {kNamed, NpEgressFromClient("{action: Allow, destination: {ports: [http]}}"),
       Tcp(kClient1, kServer2, 9090), "allow"},
      {kNamed, NpEgressFromClient("{action: Allow, destination: {ports: [http]}}"),
       Tcp(kClient1, kServer2, 8080), "deny"},
  };
  return *kRows;
}

class RuleScoping : public ::testing::TestWithParam<size_t> {};

TEST_P(RuleScoping, VerdictAsCalico) {
  const Row& row = Rows()[GetParam()];
  SCOPED_TRACE(absl::StrCat(row.calico, "\n", row.policy));
  absl::StatusOr<std::string> verdict = Judge(absl::StrCat(kWorld, row.policy), row.probe);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(*verdict, row.want) << row.probe.proto << " " << row.probe.src << " -> "
                                << row.probe.dst << ":" << row.probe.port;
}

INSTANTIATE_TEST_SUITE_P(Calico, RuleScoping, ::testing::Range<size_t>(0, Rows().size()));

}  // namespace
}  // namespace tierwall::test::conformance
