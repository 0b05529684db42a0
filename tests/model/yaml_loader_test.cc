#include "control/model/yaml_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kData = TW_MODEL_TEST_DATA;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

ResourceSet MustParse(const std::string& text) {
  ResourceSet set;
  absl::Status st = ParseResources(text, "test.yaml", &set);
  EXPECT_TRUE(st.ok()) << st;
  return set;
}

const Policy& OnlyPolicy(const ResourceSet& set) {
  static const Policy kNone;
  EXPECT_EQ(set.policies.size(), 1u);
  return set.policies.empty() ? kNone : set.policies[0];
}

std::string Ranges(const PortList& p) {
  std::string out;
  for (const PortRange& r : p.ranges) {
    if (!out.empty()) out += ",";
    out += std::to_string(r.first);
    if (r.last != r.first) out += ":" + std::to_string(r.last);
  }
  return out;
}

std::vector<std::string> CidrStrings(const std::vector<Cidr>& cidrs) {
  std::vector<std::string> out;
  for (const Cidr& c : cidrs) out.push_back(c.ToString());
  return out;
}

Labels L(std::initializer_list<std::pair<const std::string, std::string>> kv) { return Labels(kv); }

// ---------------------------------------------------------------------------
// Every kind, every field.

class AllKindsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status st = LoadResources(kData + "/all_kinds.yaml", &set_);
    ASSERT_TRUE(st.ok()) << st;
  }
  const Policy& FindPolicy(const std::string& name) {
    for (const Policy& p : set_.policies) {
      if (p.name == name) return p;
    }
    ADD_FAILURE() << "no policy " << name;
    static const Policy kNone;
    return kNone;
  }
  ResourceSet set_;
};

TEST_F(AllKindsTest, Counts) {
  EXPECT_EQ(set_.tiers.size(), 1u);
  EXPECT_EQ(set_.policies.size(), 6u);
  EXPECT_EQ(set_.endpoints.size(), 2u);
  EXPECT_EQ(set_.network_sets.size(), 2u);
  EXPECT_EQ(set_.namespaces.size(), 1u);
  EXPECT_EQ(set_.profiles.size(), 1u);
}

TEST_F(AllKindsTest, Tier) {
  const Tier& t = set_.tiers[0];
  EXPECT_EQ(t.name, "app");
  EXPECT_EQ(t.order, 100.5);
  EXPECT_EQ(t.default_action, Action::kPass);
  EXPECT_EQ(t.source.file, kData + "/all_kinds.yaml");
  EXPECT_EQ(t.source.doc, 1);
}

TEST_F(AllKindsTest, NetworkPolicyEveryField) {
  const Policy& p = FindPolicy("frontend");  // "app." stripped
  EXPECT_EQ(p.kind, PolicyKind::kNetworkPolicy);
  EXPECT_FALSE(p.staged);
  EXPECT_EQ(p.namespace_, "shop");
  EXPECT_EQ(p.tier, "app");
  EXPECT_EQ(p.order, 10.0);
  EXPECT_EQ(p.selector.text(), "role == 'frontend'");
  ASSERT_TRUE(p.service_account_selector);
  EXPECT_TRUE(p.service_account_selector->Matches(L({{"projectcalico.org/name", "web"}})));
  EXPECT_FALSE(p.namespace_selector);
  EXPECT_TRUE(p.applies_ingress);
  EXPECT_TRUE(p.applies_egress);
  EXPECT_EQ(p.source.doc, 2);
  ASSERT_EQ(p.ingress.size(), 1u);
  const Rule& r = p.ingress[0];
  EXPECT_EQ(r.action, Action::kAllow);
  EXPECT_EQ(r.ip_version, 4);
  EXPECT_EQ(r.protocol, 6);
  EXPECT_EQ(r.not_protocol, 17);
  EXPECT_THAT(CidrStrings(r.source.nets), ElementsAre("10.0.0.0/8", "192.168.1.1/32"));
  EXPECT_THAT(CidrStrings(r.source.not_nets), ElementsAre("10.1.0.0/16"));
  ASSERT_TRUE(r.source.selector && r.source.not_selector && r.source.namespace_selector);
  EXPECT_EQ(r.source.selector->text(), "role == 'lb'");
  EXPECT_EQ(r.source.not_selector->text(), "has(quarantine)");
  EXPECT_EQ(r.source.namespace_selector->text(), "env == 'prod'");
  EXPECT_EQ(Ranges(r.source.ports), "1024,2000:3000");
  EXPECT_THAT(r.source.ports.names, ElementsAre("metrics"));
  EXPECT_EQ(Ranges(r.source.not_ports), "2500");
  ASSERT_TRUE(r.source.service_accounts);
  EXPECT_THAT(r.source.service_accounts->names, ElementsAre("lb", "proxy"));
  ASSERT_TRUE(r.source.service_accounts->selector);
  EXPECT_EQ(r.source.service_accounts->selector->text(), "tier == 'edge'");
  EXPECT_EQ(Ranges(r.destination.ports), "80");
  EXPECT_THAT(r.destination.ports.names, ElementsAre("http"));
  EXPECT_EQ(Ranges(r.destination.not_ports), "81:82");
  EXPECT_FALSE(r.http);  // refused until the L7 path enforces it: Errors.TableOfBadInputs

  ASSERT_EQ(p.egress.size(), 3u);
  EXPECT_EQ(p.egress[0].action, Action::kDeny);
  EXPECT_EQ(p.egress[0].protocol, 1);
  ASSERT_TRUE(p.egress[0].icmp && p.egress[0].not_icmp);
  EXPECT_EQ(p.egress[0].icmp->type, 8);
  EXPECT_EQ(p.egress[0].icmp->code, 0);
  EXPECT_EQ(p.egress[0].not_icmp->type, 3);
  EXPECT_FALSE(p.egress[0].not_icmp->code);
  EXPECT_EQ(p.egress[1].action, Action::kLog);
  EXPECT_EQ(p.egress[2].action, Action::kPass);
  EXPECT_EQ(p.egress[2].ip_version, 6);
  EXPECT_THAT(CidrStrings(p.egress[2].destination.nets), ElementsAre("2001:db8::/32"));
}

TEST_F(AllKindsTest, GlobalAndStagedPolicies) {
  const Policy& g = FindPolicy("deny-all");
  EXPECT_EQ(g.kind, PolicyKind::kGlobalNetworkPolicy);
  EXPECT_EQ(g.namespace_, "");
  EXPECT_EQ(g.tier, "default");
  EXPECT_EQ(g.order, 2000.0);
  ASSERT_TRUE(g.namespace_selector);
  EXPECT_EQ(g.namespace_selector->text(), "has(projectcalico.org/name)");
  EXPECT_TRUE(g.applies_ingress);
  EXPECT_FALSE(g.applies_egress);
  ASSERT_EQ(g.ingress.size(), 1u);
  ASSERT_TRUE(g.ingress[0].source.namespace_selector);
  EXPECT_TRUE(g.ingress[0].source.namespace_selector->IsGlobalOnly());

  const Policy& snp = FindPolicy("staged-np");
  EXPECT_EQ(snp.kind, PolicyKind::kNetworkPolicy);
  EXPECT_TRUE(snp.staged);
  EXPECT_EQ(snp.staged_action, StagedAction::kDelete);
  EXPECT_EQ(snp.tier, "app");
  EXPECT_EQ(snp.namespace_, "shop");

  const Policy& sg = FindPolicy("staged-gnp");
  EXPECT_EQ(sg.kind, PolicyKind::kGlobalNetworkPolicy);
  EXPECT_TRUE(sg.staged);
  EXPECT_EQ(sg.staged_action, StagedAction::kLearn);
  EXPECT_FALSE(sg.applies_ingress);
  EXPECT_TRUE(sg.applies_egress);

  const Policy& sk = FindPolicy("staged-knp");
  EXPECT_EQ(sk.kind, PolicyKind::kKubernetesNetworkPolicy);
  EXPECT_TRUE(sk.staged);
  EXPECT_EQ(sk.staged_action, StagedAction::kIgnore);
  EXPECT_EQ(sk.selector.text(), "projectcalico.org/orchestrator == 'k8s' && app == 'db'");
  EXPECT_FALSE(sk.applies_ingress);
  EXPECT_TRUE(sk.applies_egress);

  const Policy& k = FindPolicy("allow-web");
  EXPECT_EQ(k.kind, PolicyKind::kKubernetesNetworkPolicy);
  EXPECT_FALSE(k.staged);
  EXPECT_EQ(k.tier, "default");
  EXPECT_EQ(k.order, 1000.0);
  EXPECT_EQ(k.namespace_, "shop");
}

TEST_F(AllKindsTest, Endpoints) {
  const Endpoint& w = set_.endpoints[0];
  EXPECT_EQ(w.kind, EndpointKind::kWorkload);
  EXPECT_EQ(w.name, "web-0");  // spec.pod wins over metadata.name
  EXPECT_EQ(w.namespace_, "shop");
  EXPECT_EQ(w.labels, L({{"app", "web"}, {"version", "2"}}));
  EXPECT_EQ(w.orchestrator, "k8s");
  EXPECT_EQ(w.node, "node1");
  EXPECT_EQ(w.interface_name, "cali1234");
  EXPECT_EQ(w.service_account, "web");
  ASSERT_EQ(w.ips.size(), 3u);
  EXPECT_EQ(w.ips[0].ToString(), "10.0.0.5");
  EXPECT_EQ(w.ips[1].ToString(), "2001:db8::5");
  EXPECT_EQ(w.ips[2].ToString(), "10.0.0.6");
  ASSERT_EQ(w.ports.size(), 2u);  // the unnamed host-port mapping is not a named port
  EXPECT_EQ(w.ports[0].name, "http");
  EXPECT_EQ(w.ports[0].protocol, 6);
  EXPECT_EQ(w.ports[0].port, 8080);
  EXPECT_EQ(w.ports[1].name, "dns");
  EXPECT_EQ(w.ports[1].protocol, 17);
  EXPECT_THAT(w.profiles, ElementsAre("kns.shop", "ksa.shop.web"));

  const Endpoint& h = set_.endpoints[1];
  EXPECT_EQ(h.kind, EndpointKind::kHost);
  EXPECT_EQ(h.name, "node1-eth0");
  EXPECT_EQ(h.namespace_, "");
  EXPECT_EQ(h.labels, L({{"host", "true"}}));
  EXPECT_EQ(h.node, "node1");
  EXPECT_EQ(h.interface_name, "eth0");
  ASSERT_EQ(h.ips.size(), 2u);
  EXPECT_EQ(h.ips[1].ToString(), "2001:db8::10");
  EXPECT_THAT(h.profiles, ElementsAre("host-default"));
  ASSERT_EQ(h.ports.size(), 1u);
  EXPECT_EQ(h.ports[0].port, 22);
}

TEST_F(AllKindsTest, SetsNamespacesProfiles) {
  const NetworkSet& g = set_.network_sets[0];
  EXPECT_TRUE(g.global);
  EXPECT_EQ(g.name, "internet");
  EXPECT_EQ(g.namespace_, "");
  EXPECT_THAT(CidrStrings(g.nets), ElementsAre("0.0.0.0/0", "::/0"));
  const NetworkSet& n = set_.network_sets[1];
  EXPECT_FALSE(n.global);
  EXPECT_EQ(n.namespace_, "shop");
  EXPECT_EQ(n.labels, L({{"partner", "yes"}}));
  EXPECT_THAT(CidrStrings(n.nets), ElementsAre("198.51.100.0/24"));

  EXPECT_EQ(set_.namespaces[0].name, "shop");
  EXPECT_EQ(set_.namespaces[0].labels, L({{"env", "prod"}}));

  const Profile& pr = set_.profiles[0];
  EXPECT_EQ(pr.name, "host-default");
  EXPECT_EQ(pr.labels_to_apply, L({{"from-profile", "true"}}));
  ASSERT_EQ(pr.ingress.size(), 1u);
  EXPECT_EQ(Ranges(pr.ingress[0].destination.ports), "22");
  ASSERT_EQ(pr.egress.size(), 1u);
}

// ---------------------------------------------------------------------------
// Policies: types, names, defaults.

const char kNpHead[] =
    "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n";

TEST(PolicyTypes, DerivedWhenOmitted) {
  struct Case {
    const char* rules;
    bool ingress, egress;
  };
  for (const Case& c : {
           Case{"  selector: all()\n", true, false},
           Case{"  ingress: [{action: Allow}]\n", true, false},
           Case{"  egress: [{action: Allow}]\n", false, true},
           Case{"  ingress: [{action: Allow}]\n  egress: [{action: Deny}]\n", true, true},
           Case{"  ingress: []\n  egress: [{action: Deny}]\n", false, true},
           Case{"  types: []\n  egress: [{action: Deny}]\n", false, true},
           Case{"  types: [Egress]\n  ingress: [{action: Allow}]\n", false, true},
           Case{"  types: [Ingress, Egress]\n", true, true},
       }) {
    ResourceSet set = MustParse(std::string(kNpHead) + c.rules);
    const Policy& p = OnlyPolicy(set);
    EXPECT_EQ(p.applies_ingress, c.ingress) << c.rules;
    EXPECT_EQ(p.applies_egress, c.egress) << c.rules;
  }
}

TEST(PolicyDefaults, NamespaceTierSelector) {
  ResourceSet set = MustParse(std::string(kNpHead) + "  order: 5\n");
  const Policy& p = OnlyPolicy(set);
  EXPECT_EQ(p.namespace_, "default");
  EXPECT_EQ(p.tier, "default");
  EXPECT_TRUE(p.selector.IsAll());
  EXPECT_FALSE(p.service_account_selector);
  ResourceSet unordered = MustParse(std::string(kNpHead));  // `spec:` with nothing
  EXPECT_FALSE(OnlyPolicy(unordered).order);
}

TEST(TierPrefix, StrippedOnlyForOwnTier) {
  struct Case {
    const char* name;
    const char* tier;  // nullptr: omitted
    const char* want;
  };
  for (const Case& c :
       {Case{"app.frontend", "app", "frontend"}, Case{"default.x", nullptr, "x"},
        Case{"default.x", "default", "x"}, Case{"other.frontend", "app", "other.frontend"},
        Case{"app.frontend", "application", "app.frontend"}, Case{"frontend", "app", "frontend"}}) {
    std::string text =
        std::string("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n") +
        "metadata: {name: " + c.name + "}\nspec:\n";
    if (c.tier) text += std::string("  tier: ") + c.tier + "\n";
    ResourceSet set = MustParse(text);
    EXPECT_EQ(OnlyPolicy(set).name, c.want) << c.name;
    EXPECT_EQ(OnlyPolicy(set).tier, c.tier ? c.tier : "default");
  }
}

TEST(Rules, ProtocolsAndPorts) {
  ResourceSet set =
      MustParse(std::string(kNpHead) +
                "  ingress:\n"
                "    - {action: Allow, protocol: TCP}\n"
                "    - {action: Allow, protocol: UDPLite}\n"
                "    - {action: Allow, protocol: SCTP, destination: {ports: [1, 65535]}}\n"
                "    - {action: Allow, protocol: 255}\n"
                "    - {action: Allow, protocol: ICMPv6, icmp: {type: 128}}\n"
                "    - {action: Allow, protocol: \"17\", source: {ports: [\"53\"]}}\n");
  const Policy& p = OnlyPolicy(set);
  ASSERT_EQ(p.ingress.size(), 6u);
  EXPECT_EQ(p.ingress[0].protocol, 6);
  EXPECT_EQ(p.ingress[1].protocol, 136);
  EXPECT_EQ(p.ingress[2].protocol, 132);
  EXPECT_EQ(Ranges(p.ingress[2].destination.ports), "1,65535");
  EXPECT_EQ(p.ingress[3].protocol, 255);
  EXPECT_EQ(p.ingress[4].protocol, 58);
  EXPECT_EQ(p.ingress[5].protocol, 17);
  EXPECT_EQ(Ranges(p.ingress[5].source.ports), "53");
}

// ---------------------------------------------------------------------------
// Kubernetes NetworkPolicy conversion.

const char kK8sHead[] =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: knp, namespace: ns1}\nspec:\n";

TEST(K8sPolicy, PodSelectorAndDefaults) {
  ResourceSet set = MustParse(std::string(kK8sHead) +
                              "  podSelector:\n"
                              "    matchLabels: {b: '2', a: '1'}\n"
                              "    matchExpressions:\n"
                              "      - {key: env, operator: In, values: [prod, staging]}\n"
                              "      - {key: tier, operator: NotIn, values: [db]}\n"
                              "      - {key: canary, operator: Exists}\n"
                              "      - {key: legacy, operator: DoesNotExist}\n");
  const Policy& p = OnlyPolicy(set);
  EXPECT_EQ(p.name, "knp");
  EXPECT_EQ(p.namespace_, "ns1");
  EXPECT_EQ(p.tier, "default");
  EXPECT_EQ(p.order, 1000.0);
  EXPECT_EQ(p.selector.text(),
            "projectcalico.org/orchestrator == 'k8s' && a == '1' && b == '2' && "
            "env in { 'prod', 'staging' } && tier not in { 'db' } && has(canary) && ! has(legacy)");
  EXPECT_TRUE(p.selector.Matches(L({{"projectcalico.org/orchestrator", "k8s"},
                                    {"a", "1"},
                                    {"b", "2"},
                                    {"env", "prod"},
                                    {"tier", "web"},
                                    {"canary", ""}})));
  EXPECT_FALSE(p.selector.Matches(  // not a Kubernetes pod
      L({{"a", "1"}, {"b", "2"}, {"env", "prod"}, {"tier", "web"}, {"canary", ""}})));
  EXPECT_FALSE(p.selector.Matches(L({{"projectcalico.org/orchestrator", "k8s"},
                                     {"a", "1"},
                                     {"b", "2"},
                                     {"env", "prod"},
                                     {"canary", ""},
                                     {"legacy", "x"}})));
  EXPECT_TRUE(p.applies_ingress);
  EXPECT_FALSE(p.applies_egress);
  EXPECT_TRUE(p.ingress.empty());
}

TEST(K8sPolicy, EmptyPodSelectorIsEveryPod) {
  ResourceSet set =
      MustParse(std::string(kK8sHead) + "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n");
  const Policy& p = OnlyPolicy(set);
  EXPECT_EQ(p.selector.text(), "projectcalico.org/orchestrator == 'k8s'");
  EXPECT_TRUE(p.applies_ingress);
  EXPECT_TRUE(p.applies_egress);
}

TEST(K8sPolicy, TypesDefaultAddsEgressWhenEgressRules) {
  ResourceSet set = MustParse(std::string(kK8sHead) + "  podSelector: {}\n  egress: [{}]\n");
  const Policy& p = OnlyPolicy(set);
  EXPECT_TRUE(p.applies_ingress);
  EXPECT_TRUE(p.applies_egress);
  ASSERT_EQ(p.egress.size(), 1u);  // `{}`: any peer, any port
  EXPECT_FALSE(p.egress[0].protocol);
  EXPECT_TRUE(p.egress[0].destination.ports.empty());
  EXPECT_FALSE(p.egress[0].destination.selector);
  EXPECT_TRUE(p.egress[0].destination.nets.empty());
}

TEST(K8sPolicy, RuleOrderProtocolsOuterPeersInner) {
  ResourceSet set = MustParse(std::string(kK8sHead) +
                              "  podSelector: {}\n"
                              "  ingress:\n"
                              "    - from:\n"
                              "        - podSelector: {matchLabels: {role: a}}\n"
                              "        - namespaceSelector: {}\n"
                              "      ports:\n"
                              "        - {protocol: UDP, port: 53}\n"
                              "        - {port: 443}\n"
                              "        - {port: 80, endPort: 90}\n"
                              "        - {port: 91}\n"
                              "        - {protocol: TCP, port: http}\n"
                              "        - {protocol: SCTP}\n");
  const Policy& p = OnlyPolicy(set);
  // Protocols sorted by name: SCTP, TCP, UDP; inside each, the peers in order.
  ASSERT_EQ(p.ingress.size(), 6u);
  const std::vector<int> protos = {132, 132, 6, 6, 17, 17};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(p.ingress[i].action, Action::kAllow);
    EXPECT_EQ(p.ingress[i].protocol, protos[i]) << i;
    const EntityRule& src = p.ingress[i].source;
    ASSERT_TRUE(src.selector);
    if (i % 2 == 0) {
      EXPECT_EQ(src.selector->text(), "projectcalico.org/orchestrator == 'k8s' && role == 'a'");
      EXPECT_FALSE(src.namespace_selector);  // same namespace
    } else {
      // Pods only, even with no podSelector (k8sPeerToCalicoFields).
      EXPECT_EQ(src.selector->text(), "projectcalico.org/orchestrator == 'k8s'");
      ASSERT_TRUE(src.namespace_selector);  // {} = all namespaces
      EXPECT_TRUE(src.namespace_selector->IsAll());
    }
  }
  EXPECT_TRUE(p.ingress[0].destination.ports.empty());             // SCTP: all ports
  EXPECT_EQ(Ranges(p.ingress[2].destination.ports), "80:91,443");  // merged like SimplifyPorts
  EXPECT_THAT(p.ingress[2].destination.ports.names, ElementsAre("http"));
  EXPECT_EQ(Ranges(p.ingress[4].destination.ports), "53");
}

TEST(K8sPolicy, PortlessEntryWinsForItsProtocol) {
  ResourceSet set = MustParse(std::string(kK8sHead) +
                              "  egress:\n"
                              "    - ports: [{port: 80}, {protocol: TCP}, {port: 81}]\n");
  const Policy& p = OnlyPolicy(set);
  ASSERT_EQ(p.egress.size(), 1u);
  EXPECT_EQ(p.egress[0].protocol, 6);
  EXPECT_TRUE(p.egress[0].destination.ports.empty());
}

TEST(K8sPolicy, IpBlockExceptAndEgressPeers) {
  ResourceSet set =
      MustParse(std::string(kK8sHead) +
                "  policyTypes: [Egress]\n"
                "  egress:\n"
                "    - to:\n"
                "        - ipBlock: {cidr: 10.1.2.3/8, except: [10.1.0.0/16, 10.2.0.0/16]}\n"
                "        - namespaceSelector: {matchLabels: {team: x}}\n"
                "          podSelector: {matchExpressions: [{key: app, operator: Exists}]}\n");
  const Policy& p = OnlyPolicy(set);
  EXPECT_FALSE(p.applies_ingress);
  EXPECT_TRUE(p.applies_egress);
  ASSERT_EQ(p.egress.size(), 2u);
  const EntityRule& d0 = p.egress[0].destination;
  EXPECT_THAT(CidrStrings(d0.nets),
              ElementsAre("10.0.0.0/8"));  // host bits cleared, as Calico does
  EXPECT_THAT(CidrStrings(d0.not_nets), ElementsAre("10.1.0.0/16", "10.2.0.0/16"));
  EXPECT_FALSE(d0.selector);
  EXPECT_FALSE(p.egress[0].protocol);
  const EntityRule& d1 = p.egress[1].destination;
  ASSERT_TRUE(d1.selector && d1.namespace_selector);
  EXPECT_EQ(d1.selector->text(), "projectcalico.org/orchestrator == 'k8s' && has(app)");
  EXPECT_EQ(d1.namespace_selector->text(), "team == 'x'");
  EXPECT_TRUE(p.egress[1].source.nets.empty());
}

TEST(K8sPolicy, NamedPortAndDefaultNamespace) {
  ResourceSet set = MustParse(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\n"
      "spec:\n  podSelector: {}\n  ingress: [{ports: [{port: metrics, protocol: UDP}]}]\n");
  const Policy& p = OnlyPolicy(set);
  EXPECT_EQ(p.namespace_, "default");
  ASSERT_EQ(p.ingress.size(), 1u);
  EXPECT_EQ(p.ingress[0].protocol, 17);
  EXPECT_THAT(p.ingress[0].destination.ports.names, ElementsAre("metrics"));
  EXPECT_TRUE(p.ingress[0].destination.ports.ranges.empty());
  EXPECT_FALSE(p.ingress[0].source.selector);
}

// ---------------------------------------------------------------------------
// Lists, documents, endpoints.

TEST(Lists, KubectlAndCalicoctlLists) {
  ResourceSet set = MustParse(
      "apiVersion: v1\nkind: List\nitems:\n"
      "  - {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"
      "  - {apiVersion: projectcalico.org/v3, kind: Tier, metadata: {name: t}}\n"
      "---\n"
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSetList\nitems:\n"
      "  - metadata: {name: s}\n    spec: {nets: [1.2.3.0/24]}\n"
      "---\n"
      "---\n");
  ASSERT_EQ(set.namespaces.size(), 1u);
  ASSERT_EQ(set.tiers.size(), 1u);
  ASSERT_EQ(set.network_sets.size(), 1u);
  EXPECT_EQ(set.network_sets[0].source.doc, 2);
  EXPECT_TRUE(set.network_sets[0].global);
}

TEST(Endpoints, WorkloadDefaults) {
  ResourceSet set = MustParse(
      "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: wep1}\n"
      "spec: {ipNetworks: [10.0.0.1/32]}\n"
      "---\n"
      "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: wep2, namespace: "
      "x}\n"
      "spec: {profiles: []}\n");
  ASSERT_EQ(set.endpoints.size(), 2u);
  EXPECT_EQ(set.endpoints[0].name, "wep1");
  EXPECT_EQ(set.endpoints[0].namespace_, "default");
  EXPECT_THAT(set.endpoints[0].profiles, ElementsAre("kns.default"));
  EXPECT_TRUE(set.endpoints[1].profiles.empty());  // explicit empty list is kept
}

// ---------------------------------------------------------------------------
// Errors: each names the source, the document and the field path.

struct BadCase {
  const char* yaml;
  const char* want;  // a substring of the message, from the source name on
};

std::string Np(const std::string& spec) { return std::string(kNpHead) + spec; }
std::string K8s(const std::string& spec) { return std::string(kK8sHead) + spec; }

TEST(Errors, TableOfBadInputs) {
  const std::string gnp = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n";
  const std::string ok_doc = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {ok_doc + Np("  ingress:\n    - action: Allow\n      protocol: TCP\n"
                   "      destination: {ports: [80, \"80:70\"]}\n"),
       "bad.yaml doc 2: spec.ingress[0].destination.ports[1]: \"80:70\" is not a valid port range"},
      {Np("  selector: \"app == \"\n"), "bad.yaml doc 1: spec.selector: "},
      {"apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n",
       "bad.yaml doc 1: kind: unknown kind \"Foo\""},
      {"apiVersion: v1\nkind: Tier\nmetadata: {name: x}\n",
       "bad.yaml doc 1: apiVersion: \"v1\" is not valid for kind Tier (want projectcalico.org/v3)"},
      {"apiVersion: foo/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n",
       "bad.yaml doc 1: apiVersion: \"foo/v1\" is not valid for kind NetworkPolicy (want "
       "projectcalico.org/v3 or networking.k8s.io/v1)"},
      {Np("  selectr: all()\n"), "bad.yaml doc 1: spec.selectr: unknown field"},
      {Np("  namespaceSelector: all()\n"), "bad.yaml doc 1: spec.namespaceSelector: unknown field"},
      {Np("  ingress: [{action: Allow, protocl: TCP}]\n"),
       "bad.yaml doc 1: spec.ingress[0].protocl: unknown field"},
      {Np("  ingress: [{action: Accept}]\n"),
       "bad.yaml doc 1: spec.ingress[0].action: \"Accept\" is not a valid action"},
      {Np("  egress: [{action: Allow}, {protocol: TCP}]\n"),
       "bad.yaml doc 1: spec.egress[1].action: required field missing"},
      {Np("  ingress: [{action: Allow, protocol: HTTP}]\n"),
       "bad.yaml doc 1: spec.ingress[0].protocol: \"HTTP\" is not a valid protocol"},
      {Np("  ingress: [{action: Allow, notProtocol: 0}]\n"),
       "bad.yaml doc 1: spec.ingress[0].notProtocol: \"0\" is not a valid protocol"},
      {Np("  ingress: [{action: Allow, destination: {ports: [80]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].destination.ports: ports require protocol TCP, UDP or "
       "SCTP"},
      {Np("  ingress: [{action: Allow, protocol: ICMP, source: {notPorts: [1]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.notPorts: ports require protocol"},
      {Np("  ingress: [{action: Allow, protocol: ICMP, icmp: {code: 1}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].icmp.code: ICMP code specified without an ICMP type"},
      {Np("  ingress: [{action: Allow, protocol: ICMP, icmp: {type: 255}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].icmp.type: 255 is not a valid ICMP type"},
      {Np("  ingress: [{action: Allow, protocol: ICMP, notICMP: {type: 1, code: 256}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].notICMP.code: 256 is not a valid ICMP code"},
      {Np("  ingress: [{action: Allow, protocol: TCP, icmp: {type: 8}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].icmp: requires protocol ICMP or ICMPv6"},
      {Np("  ingress: [{action: Allow, protocol: ICMP, ipVersion: 6}]\n"),
       "bad.yaml doc 1: spec.ingress[0].protocol: ICMP requires ipVersion 4"},
      {Np("  ingress: [{action: Allow, ipVersion: 5}]\n"),
       "bad.yaml doc 1: spec.ingress[0].ipVersion: 5 is not 4 or 6"},
      {Np("  ingress: [{action: Allow, ipVersion: 4, source: {nets: [\"2001:db8::/32\"]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.nets[0]: \"2001:db8::/32\" is not an IPv4 CIDR"},
      {Np("  ingress: [{action: Allow, source: {nets: [10.0.0.0/8, 10.0.0.0/33]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.nets[1]: \"10.0.0.0/33\" has an invalid prefix "
       "length"},
      {Np("  ingress: [{action: Allow, source: {nets: [10.0.0.1/8]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.nets[0]: \"10.0.0.1/8\" has host bits set"},
      {Np("  egress: [{action: Allow, source: {nets: [10.0.0.0/8]}, destination: {notNets: "
          "[\"::1/128\"]}}]\n"),
       "bad.yaml doc 1: spec.egress[0].destination.notNets[0]: rule contains both IPv4 and IPv6 "
       "CIDRs"},
      {Np("  egress: [{action: Allow, destination: {notNets: [0.0.0.0/0]}}]\n"),
       "bad.yaml doc 1: spec.egress[0].destination.notNets[0]: catch-all CIDR"},
      {Np("  ingress: [{action: Deny, http: {methods: [GET]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].http: HTTP match is only valid on Allow rules"},
      {Np("  ingress: [{action: Allow, protocol: UDP, http: {methods: [GET]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].http: rules with HTTP match must have protocol TCP"},
      {Np("  egress: [{action: Allow, http: {methods: [GET]}}]\n"),
       "bad.yaml doc 1: spec.egress[0].http: HTTP match is not allowed in egress rules"},
      {Np("  ingress: [{action: Allow, http: {paths: [{exact: /a, prefix: /b}]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].http.paths[0]: must specify exactly one of exact or "
       "prefix"},
      {Np("  ingress: [{action: Allow, protocol: TCP, http: {methods: [GET]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].http: not supported: HTTP match needs Tierwall's L7 path"},
      {Np("  types: [Ingress, Sideways]\n"),
       "bad.yaml doc 1: spec.types[1]: \"Sideways\" is not Ingress or Egress"},
      {Np("  order: \"10\"\n"), "bad.yaml doc 1: spec.order: expected a number, got \"10\""},
      {Np("  order: ten\n"), "bad.yaml doc 1: spec.order: \"ten\" is not a number"},
      {"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: hello\n",
       "bad.yaml doc 1: spec: expected a mapping, got \"hello\""},
      {Np("  ingress: [[1]]\n"),
       "bad.yaml doc 1: spec.ingress[0]: expected a mapping, got a sequence"},
      {Np("  ingress: {action: Allow}\n"),
       "bad.yaml doc 1: spec.ingress: expected a sequence, got a mapping"},
      {Np("  ingress: [{action: Allow, source: {selector: [a]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.selector: expected a string, got a sequence"},
      {Np("  ingress: [{action: Allow, source: {selector: \"global()\"}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.selector: global() can only be used"},
      {Np("  ingress: [{action: Allow, source: {namespaceSelector: \"global() || has(a)\"}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.namespaceSelector: global() must be the whole"},
      {Np("  ingress: [{action: Allow, source: {services: {name: x}}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].source.services: service matches are not supported"},
      {Np("  ingress: [{action: Allow, protocol: TCP, destination: {ports: [70000]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].destination.ports[0]: \"70000\" is not a valid port"},
      {Np("  ingress: [{action: Allow, protocol: TCP, destination: {ports: [\"-\"]}}]\n"),
       "bad.yaml doc 1: spec.ingress[0].destination.ports[0]: \"-\" is not a valid port number, "
       "range or name"},
      {Np("  order: 1\n  order: 2\n"), "bad.yaml doc 1: spec.order: duplicate field"},
      {"apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: p}\n"
       "spec: {stagedAction: Apply}\n",
       "bad.yaml doc 1: spec.stagedAction: \"Apply\" is not a valid stagedAction"},
      {gnp + "metadata: {name: g, namespace: x}\n",
       "bad.yaml doc 1: metadata.namespace: must not be set on a global resource"},
      {gnp + "metadata: {name: app.}\nspec: {tier: app}\n",
       "bad.yaml doc 1: metadata.name: \"app.\": name must consist"},
      {gnp + "metadata: {name: app.app.x}\nspec: {tier: app}\n",
       "bad.yaml doc 1: metadata.name: \"app.app.x\": name must consist"},
      {gnp + "metadata: {name: g}\nspec: {selector: global()}\n",
       "bad.yaml doc 1: spec.selector: global() can only be used"},
      {gnp + "metadata: {name: g}\nspec: {doNotTrack: maybe}\n",
       "bad.yaml doc 1: spec.doNotTrack: expected true or false, got \"maybe\""},
      {gnp + "metadata: {namespace: x}\n", "bad.yaml doc 1: metadata.name: required field missing"},
      {gnp + "spec: {}\n", "bad.yaml doc 1: metadata.name: required field missing"},
      {gnp + "metadata: {name: g}\nspecs: {}\n", "bad.yaml doc 1: specs: unknown field"},
      {"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: a.b}\n",
       "bad.yaml doc 1: metadata.name: \"a.b\": name must consist of lower case alphanumeric "
       "characters or '-'"},
      {"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {defaultAction: "
       "Allow}\n",
       "bad.yaml doc 1: spec.defaultAction: \"Allow\" is not a valid defaultAction"},
      {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"
       "spec: {ipNetworks: [10.0.0.0/24]}\n",
       "bad.yaml doc 1: spec.ipNetworks[0]: \"10.0.0.0/24\" must be a single address"},
      {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"
       "spec: {ports: [{protocol: TCP, port: 80}]}\n",
       "bad.yaml doc 1: spec.ports[0].name: required field missing"},
      {"apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"
       "spec: {ports: [{name: x, protocol: ICMP, port: 80}]}\n",
       "bad.yaml doc 1: spec.ports[0].protocol: protocol does not support ports"},
      {"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: h}\n"
       "spec: {expectedIPs: [1.2.3.4, 300.1.1.1]}\n",
       "bad.yaml doc 1: spec.expectedIPs[1]: \"300.1.1.1\" is not a valid IP address"},
      {"apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: s, labels: "
       "{projectcalico.org/namespace: x}}\n",
       "bad.yaml doc 1: metadata.labels.projectcalico.org/namespace: is reserved"},
      {"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: s}\n"
       "spec: {nets: [bogus]}\n",
       "bad.yaml doc 1: spec.nets[0]: \"bogus\" is not a valid IP address or CIDR"},
      {"apiVersion: projectcalico.org/v3\nkind: Namespace\nmetadata: {name: n}\n",
       "bad.yaml doc 1: apiVersion: \"projectcalico.org/v3\" is not valid for kind Namespace (want "
       "v1)"},
      {"apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: p}\n"
       "spec: {ingress: [{action: Allow, protocol: TCP, destination: {ports: [\"9:8\"]}}]}\n",
       "bad.yaml doc 1: spec.ingress[0].destination.ports[0]: \"9:8\" is not a valid port range"},
      {"apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: "
       "a}}\n"
       "  - {apiVersion: projectcalico.org/v3, kind: Tier, metadata: {name: t}, spec: {order: "
       "x}}\n",
       "bad.yaml doc 1: items[1].spec.order: \"x\" is not a number"},
      {"apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: List, items: []}\n",
       "bad.yaml doc 1: items[0].kind: lists may not be nested"},
      {"- a\n- b\n", "bad.yaml doc 1: expected a mapping, got a sequence"},
      {"just a string\n", "bad.yaml doc 1: expected a mapping, got \"just a string\""},
      {"kind: Tier\nmetadata: {name: t}\n", "bad.yaml doc 1: apiVersion: required field missing"},
      {K8s("  podSelector: {matchExpressions: [{key: a, operator: Equals, values: [x]}]}\n"),
       "bad.yaml doc 1: spec.podSelector.matchExpressions[0].operator: \"Equals\" is not a valid "
       "operator"},
      {K8s("  ingress: [{from: [{podSelector: {matchExpressions: [{key: a, operator: In}]}}]}]\n"),
       "bad.yaml doc 1: spec.ingress[0].from[0].podSelector.matchExpressions[0].values: must be "
       "non-empty"},
      {K8s("  egress: [{ports: [{port: 80, endPort: 79}]}]\n"),
       "bad.yaml doc 1: spec.egress[0].ports[0].endPort: 79 must be between port (80) and 65535"},
      {K8s("  egress: [{ports: [{port: http, endPort: 90}]}]\n"),
       "bad.yaml doc 1: spec.egress[0].ports[0].endPort: may not be used with a named port"},
      {K8s("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]\n"),
       "bad.yaml doc 1: spec.ingress[0].from[0].ipBlock: may not be combined"},
      {K8s("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/24]}}]}]\n"),
       "bad.yaml doc 1: spec.ingress[0].from[0].ipBlock.except[0]: \"11.0.0.0/24\" is not a strict "
       "subset of \"10.0.0.0/8\""},
      // Kubernetes' ValidateIPBlock: except must be strictly inside cidr.
      {K8s("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]\n"),
       "bad.yaml doc 1: spec.ingress[0].from[0].ipBlock.except[0]: \"10.0.0.0/8\" is not a strict "
       "subset of \"10.0.0.0/8\""},
      {K8s("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0}}]}]\n"),
       "bad.yaml doc 1: spec.ingress[0].from[0].ipBlock.cidr: \"10.0.0.0\" is not a valid CIDR"},
      {K8s("  ingress: [{ports: [{protocol: ICMP}]}]\n"),
       "bad.yaml doc 1: spec.ingress[0].ports[0].protocol: \"ICMP\" is not a valid protocol (TCP, "
       "UDP or SCTP)"},
      {K8s("  ingress: [{from: [{}]}]\n"),
       "bad.yaml doc 1: spec.ingress[0].from[0]: must specify a peer"},
      {K8s("  ingress: [{to: []}]\n"), "bad.yaml doc 1: spec.ingress[0].to: unknown field"},
      {K8s("  policyTypes: [ingress]\n"),
       "bad.yaml doc 1: spec.policyTypes[0]: \"ingress\" is not Ingress or Egress"},
      {K8s("  stagedAction: Set\n"), "bad.yaml doc 1: spec.stagedAction: unknown field"},
      {ok_doc + "a: [\n", "bad.yaml: line "},
      {"a: b\n c: d\n", "bad.yaml: line 2, column"},
  };
  ASSERT_GE(cases.size(), 25u);
  for (const auto& [yaml, want] : cases) {
    ResourceSet set;
    absl::Status st = ParseResources(yaml, "bad.yaml", &set);
    ASSERT_FALSE(st.ok()) << "accepted:\n" << yaml;
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_THAT(std::string(st.message()), StartsWith(want)) << yaml;
    EXPECT_TRUE(set.policies.empty() && set.namespaces.empty() && set.tiers.empty()) << yaml;
  }
}

TEST(Errors, SelectorMessageIsTheSelectorLibrarys) {
  ResourceSet set;
  absl::Status st = ParseResources(Np("  selector: \"app == \"\n"), "pol.yaml", &set);
  absl::StatusOr<Selector> direct = Selector::Parse("app == ");
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(std::string(st.message()),
            "pol.yaml doc 1: spec.selector: " + std::string(direct.status().message()));
}

// ---------------------------------------------------------------------------
// All-or-nothing.

TEST(AllOrNothing, BadSecondDocumentLeavesOutUnchanged) {
  ResourceSet out = MustParse("apiVersion: v1\nkind: Namespace\nmetadata: {name: before}\n");
  ASSERT_EQ(out.namespaces.size(), 1u);
  absl::Status st = ParseResources(
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: first}\n---\n"
      "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {order: bad}\n",
      "two.yaml", &out);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), StartsWith("two.yaml doc 2: spec.order"));
  ASSERT_EQ(out.namespaces.size(), 1u);
  EXPECT_EQ(out.namespaces[0].name, "before");
  EXPECT_TRUE(out.tiers.empty());
}

TEST(AllOrNothing, AppendsOnSuccess) {
  ResourceSet out = MustParse("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
  ASSERT_TRUE(
      ParseResources("apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n", "x", &out).ok());
  ASSERT_EQ(out.namespaces.size(), 2u);
  EXPECT_EQ(out.namespaces[1].name, "b");
  EXPECT_EQ(out.namespaces[1].source.file, "x");
}

// ---------------------------------------------------------------------------
// Files and directories.

TEST(Load, DirectoryIsRecursiveSortedAndFiltered) {
  ResourceSet set;
  absl::Status st = LoadResources(kData + "/dir", &set);
  ASSERT_TRUE(st.ok()) << st;
  std::vector<std::string> names;
  for (const Namespace& ns : set.namespaces) names.push_back(ns.name);
  EXPECT_THAT(names, ElementsAre("a", "b", "c", "sub", "zz"));  // ignored.txt skipped
  EXPECT_EQ(set.namespaces[3].source.file, kData + "/dir/sub/0.yaml");
  EXPECT_EQ(set.namespaces[2].source.file, kData + "/dir/c.json");
}

TEST(Load, MissingPathAndBadFileInDirectory) {
  ResourceSet set;
  absl::Status st = LoadResources(kData + "/no-such-file.yaml", &set);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("no-such-file.yaml"));

  // A bad file anywhere in a directory: nothing from the directory is kept.
  std::string dir = ::testing::TempDir() + "/tw_yaml_loader_dir";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/1.yaml") << "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";
  std::ofstream(dir + "/2.yaml") << "apiVersion: v1\nkind: Namespace\nmetadata: {}\n";
  st = LoadResources(dir, &set);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()),
              StartsWith(dir + "/2.yaml doc 1: metadata.name: required field missing"));
  EXPECT_TRUE(set.namespaces.empty());
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------
// Hostile input never crashes (run under ASan+UBSan) and fails cleanly.

void ExpectCleanResult(const std::string& text) {
  ResourceSet set;
  absl::Status st = ParseResources(text, "fuzz.yaml", &set);
  if (!st.ok()) {
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_THAT(std::string(st.message()), StartsWith("fuzz.yaml")) << st;
    EXPECT_TRUE(set.policies.empty() && set.endpoints.empty() && set.tiers.empty());
  }
}

TEST(Fuzz, TruncationsOfAValidFile) {
  const std::string text = ReadText(kData + "/all_kinds.yaml");
  ASSERT_GT(text.size(), 1000u);
  for (size_t len = 0; len <= text.size(); ++len) ExpectCleanResult(text.substr(0, len));
}

TEST(Fuzz, ByteMutationsOfAValidFile) {
  const std::string text = ReadText(kData + "/all_kinds.yaml");
  const std::string specials = ":-[]{}'\"#&*!|>%@?,\n\t 0123456789.\\/~";
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string m = text;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !m.empty(); ++e) {
      size_t pos = rng() % m.size();
      switch (rng() % 5) {
        case 0: m[pos] = specials[rng() % specials.size()]; break;
        case 1: m[pos] = static_cast<char>(rng() % 256); break;
        case 2: m.insert(pos, 1, specials[rng() % specials.size()]); break;
        case 3: m.erase(pos, 1 + rng() % 8); break;
        case 4: {  // duplicate a chunk elsewhere
          size_t from = rng() % m.size();
          m.insert(pos, m.substr(from, 1 + rng() % 40));
          break;
        }
      }
    }
    ExpectCleanResult(m);
  }
}

// Replaces every node of every document, one at a time, with a node of each
// other type: the loader must answer each with a clean error (or accept it).
YAML::Node Rebuild(const YAML::Node& n, int* counter, int target, const YAML::Node& repl) {
  if ((*counter)++ == target) return YAML::Clone(repl);
  if (n.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (auto it = n.begin(); it != n.end(); ++it) {
      YAML::Node key = it->first, value = it->second;
      out[key.Scalar()] = Rebuild(value, counter, target, repl);
    }
    return out;
  }
  if (n.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const YAML::Node& item : n) out.push_back(Rebuild(item, counter, target, repl));
    return out;
  }
  return YAML::Clone(n);
}

TEST(Fuzz, WrongNodeTypesEverywhere) {
  const std::vector<YAML::Node> docs = YAML::LoadAll(ReadText(kData + "/all_kinds.yaml"));
  const std::vector<YAML::Node> repls = {YAML::Load("x"),      YAML::Load("[x, 1]"),
                                         YAML::Load("{x: y}"), YAML::Load("~"),
                                         YAML::Load("-1"),     YAML::Load("[]")};
  int total = 0;
  for (const YAML::Node& doc : docs) {
    int nodes = 0;
    YAML::Emitter same;
    same << Rebuild(doc, &nodes, -1, repls[0]);
    ResourceSet baseline;
    ASSERT_TRUE(ParseResources(same.c_str(), "same.yaml", &baseline).ok()) << same.c_str();
    for (int target = 0; target < nodes; ++target) {
      for (const YAML::Node& repl : repls) {
        int counter = 0;
        YAML::Emitter emit;
        emit << Rebuild(doc, &counter, target, repl);
        ASSERT_TRUE(emit.good());
        ExpectCleanResult(emit.c_str());
        ++total;
      }
    }
  }
  EXPECT_GT(total, 1000);
}

TEST(Fuzz, DeepNestingAndOddStreams) {
  ExpectCleanResult(std::string(100000, '['));
  ExpectCleanResult(std::string(50000, '{') + "a");
  std::string deep;
  for (int i = 0; i < 2200; ++i) deep += std::string(i, ' ') + "- \n";
  ExpectCleanResult(deep);
  ExpectCleanResult(std::string("apiVersion: v1\0kind: Namespace\n", 31));
  ExpectCleanResult(
      "\xef\xbb\xbf"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: bom}\n");
  ExpectCleanResult("&a [*a]");
  ExpectCleanResult("a: &x {b: *x}\n");
  ExpectCleanResult(
      "apiVersion: v1\nkind: List\nitems: &i [{apiVersion: v1, kind: List, items: *i}]\n");
  ExpectCleanResult("%YAML 9.9\n---\na: 1\n");
  // Sends yaml-cpp 0.7's parser into an endless event stream.
  ExpectCleanResult("a: 1\n---\n,apiVersion: v1\nkind: Namespace\n");
  ExpectCleanResult("? [a]\n: b\n");
  ExpectCleanResult("apiVersion: v1\nkind: Namespace\nmetadata: {name: n, labels: {[a]: b}}\n");
}

}  // namespace
}  // namespace tierwall::ctl::model
