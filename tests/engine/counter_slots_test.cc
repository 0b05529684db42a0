// Counter slots survive program updates: a rule that an update leaves alone
// keeps its slot (and so its counts); a changed or new rule gets a new one.
#include "control/tierwalld/counter_slots.h"

#include <gtest/gtest.h>

#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"

namespace tierwall::ctl::daemon {
namespace {

std::unique_ptr<dp::classify::Program> Compile(const std::string& yaml) {
  model::ResourceSet rs;
  auto s = model::ParseResources(yaml, "test", &rs);
  EXPECT_TRUE(s.ok()) << s;
  auto p = compiler::Compile(rs);
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(*p);
}

const char* kEndpoint = R"(
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: web, namespace: ns}
spec: {pod: web, ipNetworks: [198.18.0.2/32]}
)";

uint32_t SlotOf(const dp::classify::Program& p, const std::string& policy, int32_t rule, int dir) {
  for (const auto& r : p.rules)
    if (p.policies[r.policy].trace_name == policy && r.rule_index == rule)
      return r.counter_slot[dir];
  return 0;
}

TEST(CounterSlots, UnchangedRulesKeepTheirSlotsAcrossUpdates) {
  const std::string a = std::string(kEndpoint) + R"(---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: keep}
spec: {selector: all(), ingress: [{action: Allow, protocol: TCP}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: change}
spec: {selector: all(), ingress: [{action: Allow, protocol: UDP}]}
)";
  const std::string b = std::string(kEndpoint) + R"(---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: added}
spec: {selector: all(), order: 1, ingress: [{action: Deny, protocol: ICMP}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: keep}
spec: {selector: all(), ingress: [{action: Allow, protocol: TCP}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: change}
spec: {selector: all(), ingress: [{action: Deny, protocol: UDP}]}
)";
  CounterSlots slots;
  auto pa = Compile(a);
  ASSERT_TRUE(slots.Assign(pa.get()).ok());
  auto pb = Compile(b);
  ASSERT_TRUE(slots.Assign(pb.get()).ok());

  const int in = static_cast<int>(dp::classify::PolicyDirection::kIngress);
  uint32_t keep_a = SlotOf(*pa, "default.keep", 0, in), keep_b = SlotOf(*pb, "default.keep", 0, in);
  EXPECT_NE(keep_a, 0u);
  EXPECT_EQ(keep_a, keep_b);  // rule instance ids moved ("added" comes first), the slot did not
  EXPECT_NE(pa->rules.size(), 0u);
  EXPECT_NE(SlotOf(*pa, "default.change", 0, in),
            SlotOf(*pb, "default.change", 0, in));  // Allow -> Deny
  EXPECT_NE(SlotOf(*pb, "default.added", 0, in), 0u);

  // Every slot names exactly the rule, direction and action of the instances
  // that use it (instances of one rule in several chains share it).
  for (const auto& r : pb->rules) {
    for (int d = 0; d < 2; ++d) {
      const SlotInfo& info = slots.slots()[r.counter_slot[d]];
      EXPECT_EQ(info.policy, pb->policies[r.policy].trace_name);
      EXPECT_EQ(info.rule_index, r.rule_index);
      EXPECT_EQ(info.direction, d);
      EXPECT_EQ(info.action, dp::classify::RuleActionName(r.action));
    }
  }
  EXPECT_EQ(slots.slots()[keep_b].policy, "default.keep");
  EXPECT_EQ(slots.slots()[keep_b].action, "allow");
}

}  // namespace
}  // namespace tierwall::ctl::daemon
