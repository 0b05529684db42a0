// Kubernetes NetworkPolicy as Calico converts it
// (libcalico-go/lib/backend/k8s/conversion/conversion.go), checked by the
// verdicts the converted policy gives. Each row names the conversion_test.go
// case or the converter function it reproduces.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/conformance/pipeline.h"
#include "tests/conformance/world.h"

namespace tierwall::test::conformance {
namespace {

struct Row {
  const char* calico;
  std::string spec;  // the NetworkPolicy spec in ns1, as YAML under `spec:`
  Probe probe;
  const char* want;
};

std::string Knp(const std::string& spec) {
  return absl::StrCat(
      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
      "metadata: {name: k, namespace: ns1}\nspec:\n",
      spec);
}
Probe Tcp(const char* src, const char* dst, uint16_t port = 80) { return {src, dst, "tcp", port}; }
Probe Udp(const char* src, const char* dst, uint16_t port) { return {src, dst, "udp", port}; }

constexpr char kServerSel[] = "  podSelector: {matchLabels: {app: server}}\n";

const std::vector<Row>& Rows() {
  static const auto* const kRows = new std::vector<Row>{
      // k8sSelectorToCalico adds projectcalico.org/orchestrator == 'k8s' to pod
      // selectors: an OpenStack workload with the same labels is no peer.
      {"conversion_test.go: should parse a basic k8s NetworkPolicy to a NetworkPolicy",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n"),
       Tcp(kClient1, kServer1), "allow"},
      {"conversion.go k8sSelectorToCalico (SelectorPod: orchestrator == 'k8s')",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n"),
       Tcp(kVm1, kServer1), "deny"},
      // No namespaceSelector: the policy's own namespace.
      {"conversion_test.go: should parse a NetworkPolicy with a nil namespace selector",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n"),
       Tcp(kClient2, kServer1), "deny"},
      // namespaceSelector {}: every namespace, but pods only: never host
      // endpoints or network sets, which a Calico all() would reach.
      {"conversion_test.go: should parse a NetworkPolicy with an empty namespaceSelector",
       absl::StrCat(kServerSel, "  ingress:\n  - from: [{namespaceSelector: {}}]\n"),
       Tcp(kClient2, kServer1), "allow"},
      {"conversion.go k8sPeerToCalicoFields (pod selector even without podSelector)",
       absl::StrCat(kServerSel, "  ingress:\n  - from: [{namespaceSelector: {}}]\n"),
       Tcp(kHost1, kServer1), "deny"},
      {"conversion.go k8sPeerToCalicoFields (pod selector even without podSelector)",
       absl::StrCat(kServerSel, "  ingress:\n  - from: [{namespaceSelector: {}}]\n"),
       Tcp(kExt, kServer1), "deny"},
      {"conversion.go k8sPeerToCalicoFields (pod selector even without podSelector)",
       absl::StrCat(kServerSel, "  ingress:\n  - from: [{namespaceSelector: {}}]\n"),
       Tcp(kPartner, kServer1), "deny"},
      {"conversion_test.go: should parse a NetworkPolicy with a namespaceSelector",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}}]\n"),
       Tcp(kClient2, kServer1), "allow"},
      {"conversion_test.go: should parse a NetworkPolicy with a namespaceSelector",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}}]\n"),
       Tcp(kClient1, kServer1), "deny"},
      {"conversion_test.go: should parse a NetworkPolicy with pod and namespace selectors",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}, "
                    "podSelector: {matchLabels: {app: server}}}]\n"),
       Tcp(kClient2, kServer1), "deny"},
      // podSelector {} selects every pod of the namespace, and only pods.
      {"conversion_test.go: should parse a NetworkPolicy with empty podSelector",
       "  podSelector: {}\n  policyTypes: [Ingress]\n", Tcp(kClient1, kServer1), "deny"},
      {"conversion.go K8sNetworkPolicyToCalico (Selector: k8sSelectorToCalico SelectorPod)",
       "  podSelector: {}\n  policyTypes: [Ingress]\n", Tcp(kClient1, kVm1), "allow"},
      // ipBlock -> nets, except -> notNets.
      {"conversion_test.go: should parse a NetworkPolicyPeer with an CIDR and Except field",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{ipBlock: {cidr: 192.0.2.0/24, except: "
                    "[192.0.2.128/25]}}]\n"),
       Tcp(kPartner, kServer1), "allow"},
      {"conversion_test.go: should parse a NetworkPolicyPeer with an CIDR and Except field",
       absl::StrCat(kServerSel,
                    "  ingress:\n  - from: [{ipBlock: {cidr: 192.0.2.0/24, except: "
                    "[192.0.2.128/25]}}]\n"),
       Tcp(kPartnerHigh, kServer1), "deny"},
      // A port without protocol is TCP.
      {"conversion_test.go: should parse a NetworkPolicy with Ports only",
       absl::StrCat(kServerSel, "  ingress:\n  - ports: [{port: 8080}]\n"),
       Tcp(kUnknown, kServer1, 8080), "allow"},
      {"conversion.go k8sRuleToCalico (TCP is the implicit default)",
       absl::StrCat(kServerSel, "  ingress:\n  - ports: [{port: 8080}]\n"),
       Udp(kUnknown, kServer1, 8080), "deny"},
      // endPort -> "port:endPort".
      {"conversion_test.go: should parse a NetworkPolicy with Port Range only",
       absl::StrCat(kServerSel, "  ingress:\n  - ports: [{port: 8000, endPort: 8100}]\n"),
       Tcp(kUnknown, kServer1, 8100), "allow"},
      {"conversion_test.go: should parse a NetworkPolicy with Port Range only",
       absl::StrCat(kServerSel, "  ingress:\n  - ports: [{port: 8000, endPort: 8100}]\n"),
       Tcp(kUnknown, kServer1, 8101), "deny"},
      // A named port resolves on the selected pods.
      {"conversion.go k8sPortToCalico (named port)",
       absl::StrCat(kServerSel, "  ingress:\n  - ports: [{port: http}]\n"),
       Tcp(kClient1, kServer1, 8080), "allow"},
      // A port entry with a protocol and no port: every port of that protocol.
      {"conversion_test.go: should parse a k8s NetworkPolicy with blank ports",
       absl::StrCat(kServerSel, "  ingress:\n  - ports: [{protocol: UDP}]\n"),
       Udp(kUnknown, kServer1, 1234), "allow"},
      {"conversion_test.go: should parse a k8s NetworkPolicy with blank ports",
       absl::StrCat(kServerSel, "  ingress:\n  - ports: [{protocol: UDP}]\n"),
       Tcp(kUnknown, kServer1, 1234), "deny"},
      // No peers and no ports: everything.
      {"conversion_test.go: should parse a k8s NetworkPolicy with no ports",
       absl::StrCat(kServerSel, "  ingress:\n  - {}\n"), Tcp(kUnknown, kServer1, 1), "allow"},
      // policyTypes omitted: Ingress, plus Egress when there are egress rules
      // (the API server's defaulting, before Calico sees the policy).
      {"conversion_test.go: should parse a default-deny egress NetworkPolicy",
       "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n",
       Tcp(kClient1, kServer1), "deny"},
      {"k8s.io/api networking/v1 SetDefaults_NetworkPolicy (Egress when egress rules)",
       "  podSelector: {matchLabels: {app: client}}\n"
       "  egress:\n  - to: [{podSelector: {matchLabels: {app: web}}}]\n",
       Tcp(kClient1, kServer1), "deny"},
      {"k8s.io/api networking/v1 SetDefaults_NetworkPolicy (Egress when egress rules)",
       "  podSelector: {matchLabels: {app: client}}\n"
       "  egress:\n  - to: [{podSelector: {matchLabels: {app: web}}}]\n",
       Tcp(kClient1, kWeb1), "allow"},
  };
  return *kRows;
}

class K8sConversion : public ::testing::TestWithParam<size_t> {};

TEST_P(K8sConversion, VerdictAsCalico) {
  const Row& row = Rows()[GetParam()];
  SCOPED_TRACE(absl::StrCat(row.calico, "\n", row.spec));
  absl::StatusOr<std::string> verdict = Judge(absl::StrCat(kWorld, Knp(row.spec)), row.probe);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(*verdict, row.want) << row.probe.proto << " " << row.probe.src << " -> "
                                << row.probe.dst << ":" << row.probe.port;
}

INSTANTIATE_TEST_SUITE_P(Calico, K8sConversion, ::testing::Range<size_t>(0, Rows().size()));

}  // namespace
}  // namespace tierwall::test::conformance
