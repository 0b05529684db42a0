// control/why on the hipstershop example: suggested fixes (edit the deciding
// policy, other-namespace peers, unknown peers, deny, profiles, errors), each
// checked by loading the suggestion and tracing again; and the revision that
// introduced today's behaviour.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/compiler/compiler.h"
#include "control/model/resources.h"
#include "control/model/yaml_loader.h"
#include "control/trace/trace.h"
#include "control/why/introducing_revision.h"
#include "control/why/suggest_fix.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::why {
namespace {

const std::string kExamples = std::string(TIERWALL_SOURCE_ROOT) + "/examples/hipstershop/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

model::ResourceSet Load(const std::vector<std::string>& dirs, const std::string& extra = "") {
  model::ResourceSet rs;
  for (const std::string& d : dirs) {
    absl::Status s = model::LoadResources(kExamples + d, &rs);
    EXPECT_TRUE(s.ok()) << s;
  }
  if (!extra.empty()) {
    absl::Status s = model::ParseResources(extra, "extra", &rs);
    EXPECT_TRUE(s.ok()) << s;
  }
  return rs;
}

Packet Pkt(const char* src, const char* dst, uint16_t port, uint8_t proto = 6) {
  Packet p;
  p.src = *dp::classify::IpAddr::Parse(src);
  p.dst = *dp::classify::IpAddr::Parse(dst);
  p.dst_port = port;
  p.proto = proto;
  p.src_port = 40000;
  return p;
}

trace::TraceReport TraceWith(const model::ResourceSet& base, const std::string& yaml,
                             const Packet& p) {
  model::ResourceSet rs = base;
  absl::Status s = model::ParseResources(yaml, "suggestion", &rs);
  EXPECT_TRUE(s.ok()) << s << "\n" << yaml;
  auto program = compiler::Compile(rs);
  EXPECT_TRUE(program.ok()) << program.status();
  return trace::TracePacket(**program, p.Key());
}

const std::string kBroken = ReadFile(kExamples + "broken/51-app-frontend.yaml");
const std::string kHealthy = ReadFile(kExamples + "healthy/51-app-frontend.yaml");

// A pod in a second namespace that nothing in the app tier names.
const char kProber[] = R"(
apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node1-k8s-prober-eth0
  namespace: monitoring
  labels:
    app: prober
    tier: ops
spec:
  node: node1
  pod: prober
  endpoint: eth0
  ipNetworks:
    - 198.18.2.20/32
)";

TEST(FindDecision, SeedStoryIsTheFrontendPolicyEndOfTier) {
  model::ResourceSet rs = Load({"base", "broken"});
  auto d = FindDecision(rs, Pkt("198.18.1.10", "198.18.1.11", 8080), Outcome::kAllow);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->verdict, "deny");
  EXPECT_EQ(d->direction, model::Direction::kIngress);
  EXPECT_EQ(d->endpoint, "hipstershop/frontend");
  ASSERT_TRUE(d->policy.has_value());
  EXPECT_EQ(d->policy->kind, "NetworkPolicy");
  EXPECT_EQ(d->policy->namespace_, "hipstershop");
  EXPECT_EQ(d->policy->StoreName(), "app-hipstershop.frontend");
  EXPECT_EQ(d->deciding().tier, "app-hipstershop");
  EXPECT_EQ(d->deciding().action, "deny");
  EXPECT_EQ(d->deciding().rule_index, -1);
  EXPECT_FALSE(d->other_direction_too);
  ASSERT_EQ(d->steps.size(), 3u);
  EXPECT_EQ(d->steps[0].policy, "security.block-threat-feed");
}

TEST(SuggestFix, SeedStoryAddsTheLostIngressRule) {
  model::ResourceSet rs = Load({"base", "broken"});
  // As the store hands it back: with resourceVersion (and what Kubernetes adds).
  std::string current = kBroken;
  current.replace(current.find("  namespace: hipstershop"), 24,
                  "  namespace: hipstershop\n  resourceVersion: \"7\"\n  uid: 1234-abcd\n"
                  "  creationTimestamp: \"2024-05-01T12:00:00Z\"");
  Packet p = Pkt("198.18.1.10", "198.18.1.11", 8080);
  auto sug = SuggestFix(rs, current, p, Outcome::kAllow);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->kind, "StagedNetworkPolicy");
  EXPECT_EQ(sug->namespace_, "hipstershop");
  EXPECT_EQ(sug->name, "app-hipstershop.frontend");
  EXPECT_EQ(sug->direction, "ingress");
  EXPECT_EQ(sug->rule_summary,
            "ingress rule 0: Allow TCP from app == 'loadgenerator' to port 8080");
  EXPECT_NE(sug->explanation.find("end of tier app-hipstershop"), std::string::npos)
      << sug->explanation;

  YAML::Node doc = YAML::Load(sug->yaml);
  EXPECT_EQ(doc["apiVersion"].as<std::string>(), "projectcalico.org/v3");
  EXPECT_EQ(doc["kind"].as<std::string>(), "StagedNetworkPolicy");
  EXPECT_EQ(doc["metadata"]["name"].as<std::string>(), "app-hipstershop.frontend");
  EXPECT_EQ(doc["metadata"]["namespace"].as<std::string>(), "hipstershop");
  EXPECT_FALSE(doc["metadata"]["resourceVersion"]);
  EXPECT_FALSE(doc["metadata"]["uid"]);
  EXPECT_FALSE(doc["metadata"]["creationTimestamp"]);
  EXPECT_EQ(doc["spec"]["stagedAction"].as<std::string>(), "Set");
  EXPECT_EQ(doc["spec"]["tier"].as<std::string>(), "app-hipstershop");
  EXPECT_EQ(doc["spec"]["order"].as<int>(), 100);
  EXPECT_EQ(doc["spec"]["selector"].as<std::string>(), "app == 'frontend'");
  EXPECT_EQ(doc["spec"]["types"][0].as<std::string>(), "Ingress");
  EXPECT_FALSE(doc["spec"]["egress"]);
  ASSERT_EQ(doc["spec"]["ingress"].size(), 1u);
  YAML::Node rule = doc["spec"]["ingress"][0];
  EXPECT_EQ(rule["action"].as<std::string>(), "Allow");
  EXPECT_EQ(rule["protocol"].as<std::string>(), "TCP");
  EXPECT_EQ(rule["source"]["selector"].as<std::string>(), "app == 'loadgenerator'");
  EXPECT_FALSE(rule["source"]["namespaceSelector"]);
  EXPECT_FALSE(rule["source"]["nets"]);
  EXPECT_EQ(rule["destination"]["ports"][0].as<int>(), 8080);
  // Clean block YAML, no flow collections.
  EXPECT_EQ(sug->yaml.find('{'), std::string::npos) << sug->yaml;
  EXPECT_EQ(sug->yaml.find('['), std::string::npos) << sug->yaml;

  // base + broken + suggestion: enforced still denies, pending allows.
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.verdict, "deny");
  ASSERT_TRUE(r.ingress.has_value());
  EXPECT_EQ(r.ingress->verdict, "deny");
  EXPECT_EQ(r.ingress->pending_verdict, "allow");
  ASSERT_FALSE(r.ingress->pending.empty());
  EXPECT_EQ(r.ingress->pending.back(),
            "2|app-hipstershop|hipstershop/app-hipstershop.staged:frontend|allow|0");
  ASSERT_TRUE(r.egress.has_value());
  EXPECT_EQ(r.egress->pending_verdict, "allow");
}

TEST(SuggestFix, PeerInAnotherNamespaceGetsANamespaceSelector) {
  model::ResourceSet rs = Load({"base", "healthy"}, kProber);
  Packet p = Pkt("198.18.2.20", "198.18.1.11", 8080);
  auto sug = SuggestFix(rs, kHealthy, p, Outcome::kAllow);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->rule_summary,
            "ingress rule 1: Allow TCP from app == 'prober' in namespace monitoring to port 8080");
  YAML::Node doc = YAML::Load(sug->yaml);
  YAML::Node ingress = doc["spec"]["ingress"];
  ASSERT_EQ(ingress.size(), 2u);
  // The existing rule stays first, untouched (named port included).
  EXPECT_EQ(ingress[0]["source"]["selector"].as<std::string>(), "app == 'loadgenerator'");
  EXPECT_EQ(ingress[0]["destination"]["ports"][0].as<std::string>(), "http");
  EXPECT_EQ(ingress[1]["source"]["selector"].as<std::string>(), "app == 'prober'");
  EXPECT_EQ(ingress[1]["source"]["namespaceSelector"].as<std::string>(),
            "projectcalico.org/name == 'monitoring'");
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.verdict, "deny");
  ASSERT_TRUE(r.ingress.has_value());
  EXPECT_EQ(r.ingress->pending_verdict, "allow");
  EXPECT_EQ(r.ingress->pending.back(),
            "2|app-hipstershop|hipstershop/app-hipstershop.staged:frontend|allow|1");
}

TEST(SuggestFix, UnknownPeerUsesNets) {
  model::ResourceSet rs = Load({"base", "healthy"});
  Packet p = Pkt("198.19.10.10", "198.18.1.11", 8080);
  auto sug = SuggestFix(rs, kHealthy, p, Outcome::kAllow);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->rule_summary, "ingress rule 1: Allow TCP from 198.19.10.10/32 to port 8080");
  YAML::Node rule = YAML::Load(sug->yaml)["spec"]["ingress"][1];
  ASSERT_TRUE(rule["source"]["nets"]);
  EXPECT_EQ(rule["source"]["nets"][0].as<std::string>(), "198.19.10.10/32");
  EXPECT_FALSE(rule["source"]["selector"]);
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.verdict, "deny");
  EXPECT_FALSE(r.egress.has_value());
  EXPECT_EQ(r.ingress->pending_verdict, "allow");
}

TEST(SuggestFix, DenyGoesBeforeTheRuleThatAllows) {
  model::ResourceSet rs = Load({"base", "healthy"});
  Packet p = Pkt("198.18.1.10", "198.18.1.11", 8080);
  auto sug = SuggestFix(rs, kHealthy, p, Outcome::kDeny);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->direction, "ingress");
  EXPECT_EQ(sug->rule_summary, "ingress rule 0: Deny TCP from app == 'loadgenerator' to port 8080");
  YAML::Node ingress = YAML::Load(sug->yaml)["spec"]["ingress"];
  ASSERT_EQ(ingress.size(), 2u);
  EXPECT_EQ(ingress[0]["action"].as<std::string>(), "Deny");
  EXPECT_EQ(ingress[1]["action"].as<std::string>(), "Allow");
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.verdict, "allow");
  EXPECT_EQ(r.ingress->pending_verdict, "deny");
  EXPECT_EQ(r.ingress->pending.back(),
            "2|app-hipstershop|hipstershop/app-hipstershop.staged:frontend|deny|0");
}

TEST(SuggestFix, EgressDecisionEditsTheSourcesPolicy) {
  // loadgenerator -> productcatalogservice: its egress is denied at the end of
  // the app tier (and so is the destination's ingress: both sides must change).
  model::ResourceSet rs = Load({"base", "healthy"});
  Packet p = Pkt("198.18.1.10", "198.18.1.15", 3550);
  auto both = SuggestFix(rs, "", p, Outcome::kAllow);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(both.status().message().find("both"), std::string::npos) << both.status();

  // Deny egress from the frontend to cartservice (allowed by the Kubernetes
  // policy): the deciding policy is no Calico policy, so a new one.
  p = Pkt("198.18.1.11", "198.18.1.12", 7070);
  auto d = FindDecision(rs, p, Outcome::kDeny);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->direction, model::Direction::kIngress);  // ingress is preferred for a deny
}

TEST(SuggestFix, ProfileDecisionGetsANewStagedPolicy) {
  // DNS to CoreDNS is allowed by the kube-system profile: nothing to edit.
  model::ResourceSet rs = Load({"base", "healthy"});
  Packet p = Pkt("198.18.1.10", "198.18.0.10", 53, 17);
  auto sug = SuggestFix(rs, "", p, Outcome::kDeny);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_TRUE(sug->decision.from_profile());
  EXPECT_EQ(sug->kind, "StagedNetworkPolicy");
  EXPECT_EQ(sug->namespace_, "kube-system");
  EXPECT_EQ(sug->name, "security.why-deny-coredns");
  EXPECT_EQ(sug->rule_summary,
            "ingress rule 0: Deny UDP from app == 'loadgenerator' in namespace hipstershop to "
            "port 53");
  EXPECT_NE(sug->explanation.find("profile"), std::string::npos) << sug->explanation;
  YAML::Node spec = YAML::Load(sug->yaml)["spec"];
  EXPECT_EQ(spec["tier"].as<std::string>(), "security");
  EXPECT_EQ(spec["selector"].as<std::string>(), "app == 'coredns'");
  EXPECT_EQ(spec["types"][0].as<std::string>(), "Ingress");
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.verdict, "allow");
  EXPECT_EQ(r.ingress->pending_verdict, "deny");
  // The rest of CoreDNS's ingress is as before.
  trace::TraceReport other = TraceWith(rs, sug->yaml, Pkt("198.18.0.1", "198.18.0.10", 9153));
  EXPECT_EQ(other.ingress->pending_verdict, "allow");
}

TEST(SuggestFix, KubernetesPolicyDecisionGetsANewPolicyInItsTier) {
  // frontend -> cartservice egress is allowed by the Kubernetes policy; as a
  // deny wanted at egress is not what FindDecision picks, deny the frontend's
  // egress to the outside instead (no ingress side there).
  model::ResourceSet rs = Load({"base", "healthy"});
  Packet p = Pkt("198.18.1.11", "198.19.100.20", 443);
  auto sug = SuggestFix(rs, "", p, Outcome::kDeny);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->direction, "egress");
  EXPECT_EQ(sug->rule_summary, "egress rule 0: Deny TCP to 198.19.100.20/32 port 443");
  YAML::Node spec = YAML::Load(sug->yaml)["spec"];
  EXPECT_EQ(spec["tier"].as<std::string>(), "default");
  EXPECT_LT(spec["order"].as<double>(), 1000.0);
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.verdict, "allow");
  EXPECT_EQ(r.egress->pending_verdict, "deny");
}

TEST(SuggestFix, HostEndpointPeerOfANamespacedPolicyNeedsGlobal) {
  // The node calls the frontend: the frontend's policy is namespaced, so its
  // selectors see only hipstershop; the host endpoint needs global(). The
  // node has no `app` label: all its labels, ANDed.
  model::ResourceSet rs = Load({"base", "healthy"});
  Packet p = Pkt("198.18.0.1", "198.18.1.11", 8080);
  auto sug = SuggestFix(rs, kHealthy, p, Outcome::kAllow);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  YAML::Node src = YAML::Load(sug->yaml)["spec"]["ingress"][1]["source"];
  EXPECT_EQ(src["selector"].as<std::string>(),
            "kubernetes.io/hostname == 'node1' && role == 'k8s-node'");
  EXPECT_EQ(src["namespaceSelector"].as<std::string>(), "global()");
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.ingress->verdict, "deny");
  EXPECT_EQ(r.ingress->pending_verdict, "allow");
}

TEST(SuggestFix, NoTierAppliesGetsAPolicyThatPassesTheRest) {
  // Two pods and a tier that selects neither: the profile decides everything.
  const char kBare[] = R"(
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: first
spec:
  order: 10
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: first.others
  namespace: shop
spec:
  tier: first
  selector: app == 'nobody'
  ingress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: a
  namespace: shop
  labels:
    app: a
spec:
  pod: a
  ipNetworks:
    - 10.1.0.1/32
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: b
  namespace: shop
  labels:
    app: b
spec:
  pod: b
  ipNetworks:
    - 10.1.0.2/32
)";
  model::ResourceSet rs;
  ASSERT_TRUE(model::ParseResources(kBare, "bare", &rs).ok());
  Packet p = Pkt("10.1.0.1", "10.1.0.2", 80);
  auto sug = SuggestFix(rs, "", p, Outcome::kDeny);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->name, "first.why-deny-b");
  EXPECT_EQ(sug->rule_summary, "ingress rule 0: Deny TCP from app == 'a' to port 80");
  YAML::Node spec = YAML::Load(sug->yaml)["spec"];
  EXPECT_EQ(spec["tier"].as<std::string>(), "first");
  ASSERT_EQ(spec["ingress"].size(), 2u);
  EXPECT_EQ(spec["ingress"][1]["action"].as<std::string>(), "Pass");
  EXPECT_NE(sug->explanation.find("No tier applies"), std::string::npos) << sug->explanation;
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.verdict, "allow");
  EXPECT_EQ(r.ingress->pending_verdict, "deny");
  // Everything else still reaches the profile.
  trace::TraceReport other = TraceWith(rs, sug->yaml, Pkt("10.1.0.1", "10.1.0.2", 81));
  EXPECT_EQ(other.ingress->pending_verdict, "allow");
}

TEST(SuggestFix, GlobalPolicyRuleDecides) {
  // The threat feed calls the frontend: security.block-threat-feed denies it
  // with its ingress rule 0. The fix is a StagedGlobalNetworkPolicy with an
  // Allow inserted before that rule (the feed is no endpoint: nets).
  model::ResourceSet rs = Load({"base", "healthy"});
  std::string gnp = ReadFile(kExamples + "base/30-security.yaml");
  gnp = gnp.substr(0, gnp.find("\n---"));
  Packet p = Pkt("198.19.66.6", "198.18.1.11", 8080);
  auto sug = SuggestFix(rs, gnp, p, Outcome::kAllow);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->kind, "StagedGlobalNetworkPolicy");
  EXPECT_EQ(sug->namespace_, "");
  EXPECT_EQ(sug->name, "security.block-threat-feed");
  EXPECT_EQ(sug->rule_summary, "ingress rule 0: Allow TCP from 198.19.66.6/32 to port 8080");
  YAML::Node doc = YAML::Load(sug->yaml);
  EXPECT_FALSE(doc["metadata"]["namespace"]);
  ASSERT_EQ(doc["spec"]["ingress"].size(), 2u);
  EXPECT_EQ(doc["spec"]["ingress"][1]["action"].as<std::string>(), "Deny");
  ASSERT_EQ(doc["spec"]["egress"].size(), 1u);  // the other direction is untouched
  trace::TraceReport r = TraceWith(rs, sug->yaml, p);
  EXPECT_EQ(r.ingress->verdict, "deny");
  EXPECT_EQ(r.ingress->pending_verdict, "allow");
  EXPECT_EQ(r.ingress->pending.back(), "0|security|security.staged:block-threat-feed|allow|0");
}

TEST(SuggestFix, Errors) {
  model::ResourceSet rs = Load({"base", "broken"});
  Packet p = Pkt("198.18.1.10", "198.18.1.11", 8080);
  // Already what is wanted.
  auto already = SuggestFix(rs, kBroken, p, Outcome::kDeny);
  EXPECT_EQ(already.status().code(), absl::StatusCode::kFailedPrecondition) << already.status();
  // The deciding policy's YAML is needed, and must be that policy.
  auto missing = SuggestFix(rs, "", p, Outcome::kAllow);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument) << missing.status();
  std::string other = ReadFile(kExamples + "base/70-staged.yaml");
  auto wrong = SuggestFix(rs, other, p, Outcome::kAllow);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument) << wrong.status();
  // Between two unknown addresses nothing can allow.
  auto unknown = SuggestFix(rs, "", Pkt("10.0.0.1", "10.0.0.2", 80), Outcome::kAllow);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition) << unknown.status();
}

TEST(SuggestFix, ReplacesAStagedPolicyOfTheSameName) {
  // base + broken + fix: the fix is already staged; a suggestion for another
  // peer restages the policy (verification must not trip over the old one).
  model::ResourceSet rs = Load({"base", "broken", "fix"});
  Packet p = Pkt("198.19.10.10", "198.18.1.11", 8080);
  auto sug = SuggestFix(rs, kBroken, p, Outcome::kAllow);
  ASSERT_TRUE(sug.ok()) << sug.status();
  EXPECT_TRUE(sug->verified);
  EXPECT_EQ(sug->rule_summary, "ingress rule 0: Allow TCP from 198.19.10.10/32 to port 8080");
}

// ---- Introducing revision.

std::vector<std::string> OtherDocs() {
  std::vector<std::string> docs;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kExamples + "base"))
    files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) docs.push_back(ReadFile(f));
  return docs;
}

std::string WithLabel(std::string yaml) {
  yaml.replace(yaml.find("  namespace: hipstershop"), 24,
               "  namespace: hipstershop\n  labels:\n    owner: shop-team");
  return yaml;
}

std::string WithAnnotation(std::string yaml) {
  yaml.replace(yaml.find("  namespace: hipstershop"), 24,
               "  namespace: hipstershop\n  annotations:\n    note: reviewed");
  return yaml;
}

TEST(IntroducingRevision, SeedStoryFindsTheBrokenUpdate) {
  OutcomeFn outcome = OutcomeForPacket(OtherDocs(), Pkt("198.18.1.10", "198.18.1.11", 8080));
  std::vector<std::optional<std::string>> revisions = {kHealthy,             // 0: create
                                                       WithLabel(kHealthy),  // 1: label-only edit
                                                       kBroken,  // 2: the update that lost the rule
                                                       WithAnnotation(kBroken)};  // 3: no-op edit
  auto first = outcome(revisions[0]);
  auto last = outcome(revisions[3]);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*first,
            "allow; egress allow by app-hipstershop|hipstershop/app-hipstershop.loadgenerator|rule "
            "0; ingress allow by app-hipstershop|hipstershop/app-hipstershop.frontend|rule 0");
  EXPECT_EQ(*last,
            "deny; egress allow by app-hipstershop|hipstershop/app-hipstershop.loadgenerator|rule "
            "0; ingress deny by app-hipstershop|hipstershop/app-hipstershop.frontend|end of tier");
  auto r = FindIntroducingRevision(revisions, outcome);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 2u);
}

TEST(IntroducingRevision, NothingChangedIsTheCreate) {
  OutcomeFn outcome = OutcomeForPacket(OtherDocs(), Pkt("198.18.1.10", "198.18.1.11", 8080));
  auto r =
      FindIntroducingRevision({kHealthy, WithLabel(kHealthy), WithAnnotation(kHealthy)}, outcome);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 0u);
  auto one = FindIntroducingRevision({kBroken}, outcome);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, 0u);
}

TEST(IntroducingRevision, DeletionIsARevisionToo) {
  // Without the frontend policy the app tier does not govern its ingress and
  // the profile allows: deleting the broken policy restored traffic.
  OutcomeFn outcome = OutcomeForPacket(OtherDocs(), Pkt("198.18.1.10", "198.18.1.11", 8080));
  auto deleted = outcome(std::nullopt);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->rfind("allow;", 0), 0u) << *deleted;
  auto r = FindIntroducingRevision({kHealthy, kBroken, std::nullopt}, outcome);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 2u);
}

TEST(IntroducingRevision, PureFunction) {
  auto by_text = [](const std::optional<std::string>& y) -> absl::StatusOr<std::string> {
    if (!y) return std::string("gone");
    if (*y == "bad") return absl::InvalidArgumentError("does not load");
    return y->substr(0, 1);
  };
  using V = std::vector<std::optional<std::string>>;
  EXPECT_EQ(*FindIntroducingRevision(V{"a1", "b1", "b2"}, by_text), 1u);
  EXPECT_EQ(*FindIntroducingRevision(V{"a1", "a2", "a3"}, by_text), 0u);
  // A flip back: only the latest stretch counts.
  EXPECT_EQ(*FindIntroducingRevision(V{"b1", "a1", "b2", "b3"}, by_text), 2u);
  EXPECT_EQ(*FindIntroducingRevision(V{"a1", std::nullopt}, by_text), 1u);
  // An old version that no longer loads counts as a different outcome.
  EXPECT_EQ(*FindIntroducingRevision(V{"a1", "bad", "a2"}, by_text), 2u);
  // Errors: nothing to look at; today's version fails.
  EXPECT_EQ(FindIntroducingRevision(V{}, by_text).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindIntroducingRevision(V{"a1", "bad"}, by_text).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IntroducingRevision, OutcomeReportsBadOtherResources) {
  OutcomeFn outcome =
      OutcomeForPacket({"kind: Nonsense\n"}, Pkt("198.18.1.10", "198.18.1.11", 8080));
  EXPECT_FALSE(outcome(kHealthy).ok());
  EXPECT_FALSE(FindIntroducingRevision({kHealthy}, outcome).ok());
}

}  // namespace
}  // namespace tierwall::ctl::why
