// Every field the loader accepts, and what becomes of it (issue 11: "never
// silently drop a field"). Each row is one field in one kind:
//   kEnforced  it is in the model and the compiler uses it; `evidence` names
//              the tests that show the verdicts it produces,
//   kNoEffect  accepted and validated, but it has no policy meaning in Calico
//              either (bookkeeping, hints) or is Calico's default behaviour;
//              `evidence` says why,
//   kRefused   Tierwall cannot enforce it yet: the load fails with a message
//              naming the field (control/README.md, Differences from Calico).
// Unknown fields are refused too (the last rows).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/model/yaml_loader.h"

namespace tierwall::ctl::model {
namespace {

enum class Fate { kEnforced, kNoEffect, kRefused };

struct FieldRow {
  const char* field;  // kind and path
  Fate fate;
  const char* evidence;
  std::string yaml;
};

constexpr char kSemantics[] = "tests/semantics SemanticsTest (verdict and trace per case)";
constexpr char kConversion[] = "tests/model K8sPolicy.*, tests/semantics k8s cases";

std::string Np(const std::string& spec) {
  return "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, "
         "namespace: n}\nspec:\n" +
         spec;
}
std::string Gnp(const std::string& spec) {
  return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\n"
         "spec:\n" +
         spec;
}
std::string Rule(const std::string& rule) { return Np("  ingress: [" + rule + "]\n"); }
std::string Wep(const std::string& spec) {
  return "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w, "
         "namespace: n}\nspec:\n  ipNetworks: [10.0.0.5/32]\n" +
         spec;
}
std::string Hep(const std::string& spec) {
  return "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: h}\nspec:\n"
         "  expectedIPs: [192.0.2.1]\n" +
         spec;
}
std::string Gns(const std::string& spec) {
  return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: s}\n"
         "spec:\n" +
         spec;
}
std::string Knp(const std::string& spec) {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k, namespace: "
         "n}\nspec:\n" +
         spec;
}

const std::vector<FieldRow>& Rows() {
  static const std::vector<FieldRow> rows = {
      // metadata (every kind)
      {"metadata.name", Fate::kEnforced, kSemantics, Gns("")},
      {"metadata.namespace", Fate::kEnforced, kSemantics, Np("")},
      {"metadata.labels", Fate::kEnforced, kSemantics,
       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: s, labels: {a: "
       "b}}\n"},
      {"metadata.annotations/uid/resourceVersion/...", Fate::kNoEffect,
       "ObjectMeta bookkeeping; no policy meaning in Calico",
       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: s, "
       "annotations: {a: b}, uid: x, resourceVersion: \"1\", generation: 2}\n"},
      // Tier
      {"Tier spec.order", Fate::kEnforced, kSemantics,
       "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {order: 5}\n"},
      {"Tier spec.defaultAction", Fate::kEnforced, kSemantics,
       "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {defaultAction: "
       "Pass}\n"},
      // Calico policies
      {"spec.tier", Fate::kEnforced, kSemantics, Np("  tier: default\n")},
      {"spec.order", Fate::kEnforced, kSemantics, Np("  order: 1\n")},
      {"spec.selector", Fate::kEnforced, kSemantics, Np("  selector: all()\n")},
      {"spec.types", Fate::kEnforced, kSemantics, Np("  types: [Egress]\n")},
      {"spec.ingress / spec.egress", Fate::kEnforced, kSemantics,
       Np("  ingress: [{action: Allow}]\n  egress: [{action: Deny}]\n")},
      {"spec.serviceAccountSelector", Fate::kEnforced, kSemantics,
       Np("  serviceAccountSelector: all()\n")},
      {"GlobalNetworkPolicy spec.namespaceSelector", Fate::kEnforced, kSemantics,
       Gnp("  namespaceSelector: all()\n")},
      {"spec.performanceHints", Fate::kNoEffect, "a hint to Felix's calculation graph",
       Np("  performanceHints: [AssumeNeededOnEveryNode]\n")},
      {"spec.doNotTrack/preDNAT/applyOnForward: false", Fate::kNoEffect,
       "Calico's defaults, which are Tierwall's behaviour",
       Gnp("  doNotTrack: false\n  preDNAT: false\n  applyOnForward: false\n")},
      {"spec.doNotTrack: true", Fate::kRefused, "spec.doNotTrack: not supported",
       Gnp("  doNotTrack: true\n  applyOnForward: true\n")},
      {"spec.preDNAT: true", Fate::kRefused, "spec.preDNAT: not supported",
       Gnp("  preDNAT: true\n  applyOnForward: true\n")},
      {"spec.applyOnForward: true", Fate::kRefused, "spec.applyOnForward: not supported",
       Gnp("  applyOnForward: true\n")},
      {"Staged* spec.stagedAction", Fate::kEnforced, "tests/semantics staged cases (pending view)",
       "apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: g}\n"
       "spec: {stagedAction: Set}\n"},
      // rules
      {"rule action/ipVersion/protocol/notProtocol", Fate::kEnforced, kSemantics,
       Rule("{action: Deny, ipVersion: 4, protocol: TCP, notProtocol: UDP}")},
      {"rule icmp/notICMP", Fate::kEnforced, kSemantics,
       Rule("{action: Allow, protocol: ICMP, icmp: {type: 8}, notICMP: {type: 8, code: 1}}")},
      {"rule metadata.annotations", Fate::kNoEffect, "comments on a rule; no matching meaning",
       Rule("{action: Allow, metadata: {annotations: {why: x}}}")},
      {"rule http", Fate::kRefused, "spec.ingress[0].http: not supported",
       Rule("{action: Allow, http: {methods: [GET]}}")},
      {"entity nets/notNets", Fate::kEnforced, kSemantics,
       Rule("{action: Allow, source: {nets: [10.0.0.0/8], notNets: [10.1.0.0/16]}}")},
      {"entity selector/notSelector/namespaceSelector", Fate::kEnforced, kSemantics,
       Rule("{action: Allow, source: {selector: all(), notSelector: has(x), namespaceSelector: "
            "all()}}")},
      {"entity ports/notPorts", Fate::kEnforced, kSemantics,
       Rule("{action: Allow, protocol: TCP, destination: {ports: [80, http], notPorts: [81]}}")},
      {"entity serviceAccounts", Fate::kEnforced, kSemantics,
       Rule("{action: Allow, source: {serviceAccounts: {names: [a], selector: all()}}}")},
      {"entity services", Fate::kRefused, "spec.ingress[0].source.services",
       Rule("{action: Allow, source: {services: {name: x, namespace: n}}}")},
      {"entity domains", Fate::kRefused, "spec.ingress[0].destination.domains: not supported",
       Rule("{action: Allow, destination: {domains: [example.com]}}")},
      // WorkloadEndpoint
      {"WorkloadEndpoint pod/ipNetworks/profiles/ports/serviceAccountName", Fate::kEnforced,
       kSemantics,
       Wep("  pod: web-0\n  profiles: [kns.n]\n  serviceAccountName: sa\n  ports: [{name: http, "
           "protocol: TCP, port: 80}]\n")},
      {"WorkloadEndpoint orchestrator", Fate::kEnforced,
       "tests/conformance K8sConversion (label projectcalico.org/orchestrator)",
       Wep("  orchestrator: k8s\n")},
      {"WorkloadEndpoint interfaceName/mac", Fate::kEnforced,
       "tests/engine source_check, tests/e2e/cases/spoofed_source (source-address validation)",
       Wep("  interfaceName: cali1\n  mac: \"ee:ee:ee:ee:ee:ee\"\n")},
      {"WorkloadEndpoint workload/containerID/endpoint/gateways", Fate::kNoEffect,
       "bookkeeping of the CNI plugin; no policy meaning",
       Wep("  workload: x\n  containerID: abc\n  endpoint: eth0\n  ipv4Gateway: 10.0.0.1\n  "
           "ipv6Gateway: \"fe80::1\"\n")},
      {"WorkloadEndpoint node", Fate::kNoEffect,
       "which Felix enforces it; Tierwall enforces wherever traffic crosses it (validated as a "
       "name)",
       Wep("  node: node1\n")},
      {"WorkloadEndpoint ports[].hostPort/hostIP", Fate::kNoEffect,
       "host-port mapping (portmap); policy sees the pod port",
       Wep("  ports: [{name: dns, protocol: UDP, port: 53, hostPort: 5353, hostIP: 0.0.0.0}]\n")},
      {"WorkloadEndpoint allowSpoofedSourcePrefixes", Fate::kNoEffect,
       "loosens anti-spoofing, which Tierwall does not do yet (validated as CIDRs)",
       Wep("  allowSpoofedSourcePrefixes: [10.1.0.0/16]\n")},
      {"WorkloadEndpoint ipNATs", Fate::kRefused, "spec.ipNATs: not supported",
       Wep("  ipNATs: [{internalIP: 10.0.0.5, externalIP: 192.0.2.9}]\n")},
      // HostEndpoint
      {"HostEndpoint expectedIPs/profiles/ports", Fate::kEnforced, kSemantics,
       Hep("  profiles: [p]\n  ports: [{name: ssh, protocol: TCP, port: 22}]\n")},
      {"HostEndpoint node", Fate::kNoEffect,
       "which Felix enforces it; Tierwall enforces wherever traffic crosses it (validated as a "
       "name)",
       Hep("  node: node1\n")},
      // network sets, profiles, namespaces
      {"GlobalNetworkSet/NetworkSet nets", Fate::kEnforced, kSemantics,
       Gns("  nets: [10.0.0.0/8]\n")},
      {"allowedEgressDomains: []", Fate::kNoEffect, "empty: nothing to learn",
       Gns("  allowedEgressDomains: []\n")},
      {"allowedEgressDomains", Fate::kRefused, "spec.allowedEgressDomains: not supported",
       Gns("  allowedEgressDomains: [example.com]\n")},
      {"Profile ingress/egress/labelsToApply", Fate::kEnforced, kSemantics,
       "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: p}\nspec: "
       "{labelsToApply: {a: b}, ingress: [{action: Allow}], egress: [{action: Allow}]}\n"},
      {"Namespace spec/status", Fate::kNoEffect, "finalizers and phase; no policy meaning",
       "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\nspec: {finalizers: [kubernetes]}\n"
       "status: {phase: Active}\n"},
      // Kubernetes NetworkPolicy
      {"k8s podSelector/policyTypes/ingress.from/egress.to/ports/ipBlock", Fate::kEnforced,
       kConversion,
       Knp("  podSelector: {matchLabels: {a: b}}\n  policyTypes: [Ingress, Egress]\n  ingress: "
           "[{from: [{namespaceSelector: {}}], ports: [{protocol: TCP, port: 80, endPort: 90}]}]\n"
           "  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}]\n")},
      // unknown fields anywhere
      {"unknown top-level field", Fate::kRefused, "specs: unknown field",
       "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspecs: {}\n"},
      {"unknown metadata field", Fate::kRefused, "metadata.lables: unknown field",
       "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t, lables: {}}\n"},
      {"unknown spec field", Fate::kRefused, "spec.selectr: unknown field", Np("  selectr: x\n")},
      {"unknown rule field", Fate::kRefused, "spec.ingress[0].protocl: unknown field",
       Rule("{action: Allow, protocl: TCP}")},
      {"unknown endpoint field", Fate::kRefused, "spec.ipNetwork: unknown field",
       Wep("  ipNetwork: [10.0.0.1/32]\n")},
      {"unknown k8s field", Fate::kRefused, "spec.podSelectors: unknown field",
       Knp("  podSelectors: {}\n")},
  };
  return rows;
}

TEST(FieldAudit, EveryAcceptedFieldIsEnforcedHarmlessOrRefused) {
  for (const FieldRow& row : Rows()) {
    ResourceSet set;
    absl::Status st = ParseResources(row.yaml, "audit.yaml", &set);
    if (row.fate == Fate::kRefused) {
      ASSERT_FALSE(st.ok()) << row.field << " was accepted:\n" << row.yaml;
      EXPECT_NE(std::string(st.message()).find(row.evidence), std::string::npos)
          << row.field << ": " << st.message();
    } else {
      EXPECT_TRUE(st.ok()) << row.field << ": " << st << "\n" << row.yaml;
    }
  }
}

}  // namespace
}  // namespace tierwall::ctl::model
