// The document forms users paste unchanged: calicoctl's `get -o yaml` output
// (a <Kind>List with items, resourceVersion, uid, creationTimestamp), kubectl's
// `v1 List`, and Kubernetes ServiceAccounts with their labels.
#include <string>

#include "gtest/gtest.h"
#include "tests/conformance/pipeline.h"
#include "tests/conformance/world.h"

namespace tierwall::test::conformance {
namespace {

// What `calicoctl get networkpolicy -n ns1 -o yaml` prints (calicoctl
// resourcemgr: a List of the kind, apiVersion projectcalico.org/v3).
constexpr char kCalicoctlList[] = R"(
---
apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: NetworkPolicy
  metadata:
    creationTimestamp: "2026-11-20T10:00:00Z"
    name: default.allow-client
    namespace: ns1
    resourceVersion: "81234"
    uid: 5b1a7c2e-1111-4c1d-9a55-7d2f9e0c0001
  spec:
    ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: app == 'client'
      destination:
        ports:
        - 8080
    selector: app == 'server'
    tier: default
    types:
    - Ingress
kind: NetworkPolicyList
metadata:
  resourceVersion: "81240"
)";

// What `kubectl get networkpolicy,serviceaccount -n ns1 -o yaml` prints.
constexpr char kKubectlList[] = R"(
---
apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata:
    name: allow-api-clients
    namespace: ns1
    resourceVersion: "42"
    uid: 0d9e6c1a-2222-4c1d-9a55-7d2f9e0c0002
    generation: 1
    annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
  spec:
    podSelector:
      matchLabels: {app: server}
    policyTypes: [Ingress]
    ingress:
    - from:
      - podSelector: {matchLabels: {app: client}}
      ports:
      - {protocol: TCP, port: 8080}
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: api-sa
    namespace: ns1
    labels: {app: api-clients}
  secrets:
  - name: api-sa-token
  automountServiceAccountToken: false
metadata:
  resourceVersion: ""
)";

TEST(InputForms, CalicoctlGetOutputApplies) {
  SCOPED_TRACE("calicoctl get -o yaml (calicoctl/commands/resourcemgr: <Kind>List)");
  auto set = Load(std::string(kWorld) + kCalicoctlList);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(*Judge(*set, {kClient1, kServer1, "tcp", 8080}), "allow");
  EXPECT_EQ(*Judge(*set, {kWeb1, kServer1, "tcp", 8080}), "deny");
}

TEST(InputForms, KubectlListAppliesWithServiceAccounts) {
  SCOPED_TRACE("kubectl get -o yaml (k8s.io/apimachinery v1 List)");
  // The world's ServiceAccount api-sa is replaced by the list's.
  std::string world = kWorld;
  auto set = Load(world + kKubectlList);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(*Judge(*set, {kClient1, kServer1, "tcp", 8080}), "allow");
  EXPECT_EQ(*Judge(*set, {kVm1, kServer1, "tcp", 8080}), "deny");  // not a pod
  size_t accounts = 0;
  for (const auto& sa : set->service_accounts) accounts += sa.name == "api-sa";
  EXPECT_EQ(accounts, 2u);
}

TEST(InputForms, ServiceAccountLabelsSelect) {
  SCOPED_TRACE("libcalico-go conversion.go ServiceAccountToProfile (pcsa. labels)");
  const std::string gnp = R"(
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: by-account-label}
spec:
  serviceAccountSelector: app == 'api-clients'
  types: [Egress]
  egress: [{action: Deny}]
)";
  auto set = Load(std::string(kWorld) + gnp);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(*Judge(*set, {kClient1, kServer1, "tcp", 80}), "deny");  // api-sa
  EXPECT_EQ(*Judge(*set, {kWeb1, kServer1, "tcp", 80}), "allow");    // web-sa
}

TEST(InputForms, ServiceAccountRefusesUnknownFields) {
  auto set =
      Load("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: n}\nspec: {}\n");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("spec: unknown field"), std::string::npos) << set.status();
}

TEST(InputForms, OrchestratorLabelMustAgreeWithSpec) {
  auto set = Load(
      "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\n"
      "metadata: {name: w, namespace: n, labels: {projectcalico.org/orchestrator: openstack}}\n"
      "spec: {node: n1, orchestrator: k8s, pod: w, endpoint: eth0, ipNetworks: [10.0.0.1/32]}\n");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("disagrees with spec.orchestrator"), std::string::npos)
      << set.status();
}

TEST(InputForms, PortNamesFollowKubernetes) {
  SCOPED_TRACE("libcalico-go validator.go validatePortName (k8s IsValidPortName)");
  for (const char* bad : {"Http", "http_alt", "-http", "http-", "h--p", "abcdefghijklmnop"}) {
    auto set = Load(std::string("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
                                "metadata: {name: p, namespace: n}\nspec:\n  ingress:\n"
                                "  - {action: Allow, protocol: TCP, destination: {ports: [") +
                    bad + "]}}\n");
    EXPECT_FALSE(set.ok()) << bad;
  }
  for (const char* good : {"http", "h-2", "abcdefghijklmno", "x1"}) {
    auto set = Load(std::string("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
                                "metadata: {name: p, namespace: n}\nspec:\n  ingress:\n"
                                "  - {action: Allow, destination: {ports: [") +
                    good + "]}}\n");
    EXPECT_TRUE(set.ok()) << good << ": " << set.status();
  }
}

}  // namespace
}  // namespace tierwall::test::conformance
