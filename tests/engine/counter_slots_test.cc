// Counter slots survive program updates: a rule that an update leaves alone
// keeps its slot (and so its counts); a changed or new rule gets a new one.
// Slots no published program uses are reused (zeroed first), and a program
// that cannot get its slots is refused before anything changes.
#include "control/tierwalld/counter_slots.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"

namespace tierwall::ctl::daemon {
namespace {

std::unique_ptr<dp::classify::Program> Compile(const std::string& yaml, uint64_t generation = 1) {
  model::ResourceSet rs;
  auto s = model::ParseResources(yaml, "test", &rs);
  EXPECT_TRUE(s.ok()) << s;
  compiler::CompileOptions options;
  options.generation = generation;
  auto p = compiler::Compile(rs, options);
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
  slots.Published(*pa);
  auto pb = Compile(b);
  ASSERT_TRUE(slots.Assign(pb.get()).ok());
  slots.Published(*pb);

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

// The endpoint plus one policy `name` with `rules` ingress rules.
std::string WithPolicy(const std::string& name, int rules, const char* action = "Allow") {
  std::string yaml = std::string(kEndpoint) + "---\napiVersion: projectcalico.org/v3\n" +
                     "kind: GlobalNetworkPolicy\nmetadata: {name: " + name +
                     "}\nspec:\n  selector: all()\n  ingress:\n";
  for (int r = 0; r < rules; ++r) {
    yaml += std::string("    - {action: ") + action + ", protocol: TCP, destination: {ports: [" +
            std::to_string(1000 + r) + "]}}\n";
  }
  return yaml;
}

std::set<uint32_t> SlotsOf(const dp::classify::Program& p) {
  std::set<uint32_t> out;
  for (const auto& r : p.rules) out.insert({r.counter_slot[0], r.counter_slot[1]});
  return out;
}

// Assign + Published, as the publisher does.
absl::Status Publish(CounterSlots* slots, dp::classify::Program* p) {
  if (absl::Status s = slots->Assign(p); !s.ok()) return s;
  slots->Published(*p);
  return absl::OkStatus();
}

// The slots of the rules of policy `name` (the endpoint's profile rules are
// in every program, under the same keys).
std::set<uint32_t> PolicySlots(const dp::classify::Program& p, const std::string& name) {
  std::set<uint32_t> out;
  for (const auto& r : p.rules) {
    if (p.policies[r.policy].trace_name == name) out.insert({r.counter_slot[0], r.counter_slot[1]});
  }
  return out;
}

// Slots of one program with a 4-rule policy: all of them, and the policy's.
std::pair<size_t, size_t> SlotsPerProgram() {
  CounterSlots slots;
  auto p = Compile(WithPolicy("p0", 4));
  EXPECT_TRUE(Publish(&slots, p.get()).ok());
  return {SlotsOf(*p).size(), PolicySlots(*p, "default.p0").size()};
}

TEST(CounterSlots, SlotsOfDeletedRulesAreReusedAndZeroed) {
  const auto [per, policy] = SlotsPerProgram();
  // Room for one more policy next to the running program: without reuse the
  // third distinct policy would not fit.
  const uint32_t capacity = static_cast<uint32_t>(per + policy + 1);
  CounterSlots slots(capacity);
  std::vector<uint32_t> reset;
  slots.SetResetHook([&](uint32_t s) { reset.push_back(s); });
  for (int i = 0; i < 50; ++i) {
    auto p = Compile(WithPolicy(absl::StrCat("p", i), 4), i + 1);
    ASSERT_TRUE(slots.CheckFits(*p).ok()) << "cycle " << i;
    absl::Status s = Publish(&slots, p.get());
    ASSERT_TRUE(s.ok()) << "cycle " << i << ": " << s;
    for (uint32_t slot : SlotsOf(*p)) {
      EXPECT_GT(slot, 0u);
      EXPECT_LT(slot, capacity);
    }
    EXPECT_EQ(slots.in_use(), per);
  }
  // Cycles 0 and 1 took never-used slots; every later one reused the slots
  // of the policy two cycles back, each zeroed once before its reuse.
  EXPECT_EQ(reset.size(), 48 * policy);
  EXPECT_EQ(std::set<uint32_t>(reset.begin(), reset.end()).size(), 2 * policy);
}

TEST(CounterSlots, ASlotInUseIsNeverReusedAndOldFlowsNameTheFormerOwner) {
  const auto [per, policy] = SlotsPerProgram();
  CounterSlots slots(static_cast<uint32_t>(per + policy + 1));
  auto old_program = Compile(WithPolicy("old", 4), 1);
  ASSERT_TRUE(Publish(&slots, old_program.get()).ok());
  auto running = Compile(WithPolicy("running", 4), 2);
  ASSERT_TRUE(Publish(&slots, running.get()).ok());
  // "old" is retired, "running" runs: "next" takes old's slots, never those
  // of the program still running while it is built.
  auto next = Compile(WithPolicy("next", 4), 3);
  ASSERT_TRUE(Publish(&slots, next.get()).ok());
  const std::set<uint32_t> old_slots = PolicySlots(*old_program, "default.old");
  EXPECT_EQ(PolicySlots(*next, "default.next"), old_slots);
  std::lock_guard<std::mutex> lock(slots.mutex());
  const uint32_t s = *old_slots.begin();
  EXPECT_EQ(slots.NameAt(s, 1).policy, "default.old");  // a flow judged by generation 1
  EXPECT_EQ(slots.NameAt(s, 3).policy, "default.next");
  EXPECT_EQ(slots.slots()[s].policy, "default.next");
  const uint32_t r = *PolicySlots(*running, "default.running").begin();
  EXPECT_EQ(slots.slots()[r].policy, "default.running");  // retired, not reused yet
}

TEST(CounterSlots, ARetiredRuleThatReturnsGetsItsSlotBack) {
  CounterSlots slots;
  auto a = Compile(WithPolicy("a", 2), 1);
  ASSERT_TRUE(Publish(&slots, a.get()).ok());
  auto b = Compile(WithPolicy("b", 2), 2);
  ASSERT_TRUE(Publish(&slots, b.get()).ok());
  auto a2 = Compile(WithPolicy("a", 2), 3);
  ASSERT_TRUE(Publish(&slots, a2.get()).ok());
  EXPECT_EQ(SlotsOf(*a), SlotsOf(*a2));
}

TEST(CounterSlots, ExhaustionIsRefusedNamingTheLimitAndChangesNothing) {
  const auto [per, policy] = SlotsPerProgram();
  const uint32_t capacity = static_cast<uint32_t>(per + policy + 1);
  CounterSlots slots(capacity);
  std::vector<uint32_t> reset;
  slots.SetResetHook([&](uint32_t s) { reset.push_back(s); });
  auto small = Compile(WithPolicy("small", 4), 1);
  ASSERT_TRUE(Publish(&slots, small.get()).ok());
  // Three times the rules: more new slots than are free while "small" runs.
  auto big = Compile(WithPolicy("big", 12), 2);
  absl::Status fits = slots.CheckFits(*big);
  EXPECT_EQ(fits.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(fits.message().find("limit " + std::to_string(capacity)), std::string::npos) << fits;
  absl::Status assigned = slots.Assign(big.get());
  EXPECT_EQ(assigned.code(), absl::StatusCode::kResourceExhausted);
  for (const auto& r : big->rules) EXPECT_EQ(r.counter_slot[0] + r.counter_slot[1], 0u);
  EXPECT_TRUE(reset.empty());
  EXPECT_EQ(slots.in_use(), per);
  // What fits still fits.
  auto other = Compile(WithPolicy("other", 4), 3);
  EXPECT_TRUE(Publish(&slots, other.get()).ok());
}

TEST(CounterSlots, WithoutReuseSlotsRunOutButAreRefusedUpFront) {
  const auto [per, policy] = SlotsPerProgram();
  CounterSlots slots(static_cast<uint32_t>(per + policy + 1), /*reuse=*/false);
  auto a = Compile(WithPolicy("a", 4), 1);
  ASSERT_TRUE(Publish(&slots, a.get()).ok());
  auto b = Compile(WithPolicy("b", 4), 2);
  ASSERT_TRUE(Publish(&slots, b.get()).ok());
  auto c = Compile(WithPolicy("c", 4), 3);
  absl::Status fits = slots.CheckFits(*c);
  EXPECT_EQ(fits.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(fits.message().find("--reevaluate off"), std::string::npos) << fits;
}

}  // namespace
}  // namespace tierwall::ctl::daemon
