// The RCU contract under load: while the control thread publishes programs
// as fast as it can, worker threads judge packets. Every verdict must be the
// verdict of exactly one generation (the one the worker acquired), never a
// mix, and no worker may ever read a freed program (ASan would report it).
#include "dataplane/engine/program_slot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"

namespace tierwall::dp::engine {
namespace {

// Even generations allow TCP to port 80, odd ones deny it.
std::unique_ptr<const classify::Program> Make(uint64_t generation) {
  std::string yaml = std::string(R"(
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: web, namespace: ns}
spec: {pod: web, ipNetworks: [198.18.0.2/32]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: all()
  ingress: [{action: )") +
                     (generation % 2 == 0 ? "Allow" : "Deny") +
                     ", protocol: TCP, destination: {ports: [80]}}]\n";
  ctl::model::ResourceSet rs;
  EXPECT_TRUE(ctl::model::ParseResources(yaml, "test", &rs).ok());
  ctl::compiler::CompileOptions o;
  o.generation = generation;
  auto p = ctl::compiler::Compile(rs, o);
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(*p);
}

TEST(ProgramSlot, EveryVerdictBelongsToExactlyOneGeneration) {
  constexpr uint32_t kWorkers = 3;
  constexpr uint64_t kPublishes = 400;
  ProgramSlot slot(kWorkers);
  slot.Publish(Make(0));

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong{0}, judged{0}, generations_seen{0};
  std::vector<std::thread> workers;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      slot.Online(w);
      classify::PacketKey k;
      k.src = classify::IpAddr::V4(0xc6120001u);
      k.dst = classify::IpAddr::V4(0xc6120002u);
      k.proto = 6;
      k.dst_port = 80;
      uint64_t last_gen = UINT64_MAX, seen = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const classify::Program* p = slot.Acquire();  // once per "burst"
        for (int i = 0; i < 32; ++i) {
          classify::PacketVerdict v;
          p->Evaluate(k, &v);
          bool want_allow = p->generation % 2 == 0;
          if ((v.verdict == classify::RuleAction::kAllow) != want_allow) wrong.fetch_add(1);
          judged.fetch_add(1, std::memory_order_relaxed);
        }
        if (p->generation != last_gen) ++seen, last_gen = p->generation;
        slot.Quiescent(w);
      }
      generations_seen.fetch_add(seen);
      slot.Offline(w);
    });
  }
  for (uint64_t g = 1; g <= kPublishes; ++g) slot.Publish(Make(g));  // waits for each grace period
  stop = true;
  for (auto& t : workers) t.join();

  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(judged.load(), 0u);
  // The workers really ran across many swaps (not one generation each).
  EXPECT_GT(generations_seen.load(), kWorkers * 2);
  EXPECT_EQ(slot.Acquire()->generation, kPublishes);
}

TEST(ProgramSlot, PublishDoesNotWaitForOfflineWorkers) {
  ProgramSlot slot(4);
  slot.Online(0);
  slot.Offline(0);  // a worker that has stopped polling
  slot.Publish(Make(0));
  slot.Publish(Make(1));  // would hang if offline workers were waited for
  EXPECT_EQ(slot.Acquire()->generation, 1u);
}

// A control thread's reference (live trace, why) outlives later publications;
// the slot alone frees the program once nobody holds it.
TEST(ProgramSlot, CurrentKeepsAProgramAliveAcrossPublications) {
  ProgramSlot slot(1);
  EXPECT_EQ(slot.Current(), nullptr);
  slot.Publish(Make(0));
  std::shared_ptr<const classify::Program> held = slot.Current();
  ASSERT_NE(held, nullptr);
  std::weak_ptr<const classify::Program> watch = held;
  slot.Publish(Make(1));
  slot.Publish(Make(2));
  EXPECT_EQ(held->generation, 0u);  // still readable (ASan would catch a use after free)
  EXPECT_EQ(slot.Current()->generation, 2u);
  EXPECT_EQ(slot.Acquire(), slot.Current().get());
  held.reset();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace tierwall::dp::engine
