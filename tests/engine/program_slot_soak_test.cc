// The atomic-update soak: packets judged by worker threads while the control
// thread publishes programs that decide differently, as fast as it can.
//
// Every publication is a fresh copy of one of kVariants programs (generation
// g runs variant g % kVariants), so each packet has a known right answer per
// generation: the full verdict (allow/deny, endpoints, enforced and pending
// traces) its variant gives when judged alone. A worker acquires a program
// once per burst of 32, as engine/worker.cc does, so every packet is judged by
// exactly one generation, and its verdict must equal that generation's. The
// checks, per packet and per burst:
//   - the verdict is the acquired generation's (never a mix of two programs);
//   - generations never go backwards for a worker (the slot never hands out
//     an older program after a newer one);
//   - the program was not retired while held: a retired program is scribbled
//     (generation = kRetired) and parked for kGraveyard more publications
//     before it is freed, so a release build sees a use after retirement,
//     and ASan (test.sh --asan) sees a use after free beyond that.
// A control thread meanwhile takes ProgramSlot::Current() (the live-trace
// path) and checks its verdicts the same way.
//
// Size (environment):
//   TW_SOAK_SCALE=200  200x the default run (10^6 packets, 50 publications)
//                      scripts/soak-atomic.sh uses 200: >= 2*10^8 packets and
//                      >= 10^4 publications; test.sh --asan uses 0.2
//   TW_SOAK_WORKERS=N  judging threads (default 3)
// The run ends when both the packet and the publication targets are met, so
// updates keep coming for every packet judged. It prints its figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "dataplane/engine/program_slot.h"

namespace tierwall::dp::engine {
namespace {

using classify::PacketKey;
using classify::PacketVerdict;
using classify::Program;

constexpr uint64_t kRetired = UINT64_MAX;
constexpr size_t kGraveyard = 64;
constexpr int kBurst = 32;

double Scale() {
  const char* s = std::getenv("TW_SOAK_SCALE");
  if (s == nullptr || *s == '\0') return 1.0;
  const double v = std::atof(s);
  return v > 0 ? v : 1.0;
}

uint32_t Workers() {
  const char* s = std::getenv("TW_SOAK_WORKERS");
  const long v = s ? std::atol(s) : 0;
  return v > 0 ? static_cast<uint32_t>(v) : 3;
}

// Three endpoints and a security tier; the variants differ in what the tier
// denies, what the default tier allows, and in a staged policy (so pending
// traces differ too).
constexpr char kEndpoints[] = R"(
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: client, namespace: ns, labels: {app: client}}
spec: {pod: client, ipNetworks: [198.18.0.1/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: web, namespace: ns, labels: {app: web}}
spec: {pod: web, ipNetworks: [198.18.0.2/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: db, namespace: ns, labels: {app: db}}
spec: {pod: db, ipNetworks: [198.18.0.3/32]}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: sec}
spec: {order: 100}
---
)";

constexpr const char* kVariants[] = {
    // 0: the tier denies ssh; web takes 80, db takes 5432 from web.
    R"(
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: sec.p}
spec:
  tier: sec
  selector: all()
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [22]}}, {action: Pass}]
  egress: [{action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.web, namespace: ns}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
  egress: [{action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.db, namespace: ns}
spec:
  selector: app == 'db'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'web'}, destination: {ports: [5432]}}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.client, namespace: ns}
spec:
  selector: app == 'client'
  egress: [{action: Allow}]
)",
    // 1: the tier passes everything; web takes 443 and 22, db takes DNS and
    // 5432 from anyone; a staged policy would deny web's 443.
    R"(
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: sec.p}
spec:
  tier: sec
  selector: all()
  ingress: [{action: Pass}]
  egress: [{action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.web, namespace: ns}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [443, 22]}}]
  egress: [{action: Deny, protocol: UDP}, {action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: default.web-staged, namespace: ns}
spec:
  stagedAction: Set
  order: 1
  selector: app == 'web'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [443]}}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.db, namespace: ns}
spec:
  selector: app == 'db'
  ingress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}, {action: Allow, protocol: TCP, destination: {ports: [5432]}}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.client, namespace: ns}
spec:
  selector: app == 'client'
  ingress: [{action: Allow, protocol: UDP}]
  egress: [{action: Allow}]
)",
    // 2: the tier logs, then denies the client's HTTP outright; web takes
    // ICMP, 80 and 443 but may not ssh out; the client may not reach 5432.
    R"(
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: sec.p}
spec:
  tier: sec
  selector: all()
  ingress:
    - {action: Log}
    - {action: Deny, protocol: TCP, source: {nets: [198.18.0.1/32]}, destination: {ports: [80]}}
    - {action: Pass}
  egress: [{action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.web, namespace: ns}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: ICMP}, {action: Allow, protocol: TCP, destination: {ports: [80, 443]}}]
  egress: [{action: Deny, protocol: TCP, destination: {ports: [22]}}, {action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.db, namespace: ns}
spec:
  selector: app == 'db'
  ingress: [{action: Allow, source: {selector: app == 'web'}}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: default.client, namespace: ns}
spec:
  selector: app == 'client'
  egress: [{action: Deny, protocol: TCP, destination: {ports: [5432]}}, {action: Allow}]
)",
};
constexpr size_t kNumVariants = std::size(kVariants);

std::vector<PacketKey> Packets() {
  constexpr uint32_t kClient = 0xc6120001u, kWeb = 0xc6120002u, kDb = 0xc6120003u,
                     kStranger = 0xc6130009u;
  struct P {
    uint32_t src, dst;
    uint8_t proto;
    uint16_t sport, dport;
  };
  const P list[] = {
      {kClient, kWeb, 6, 40000, 80},   {kClient, kWeb, 6, 40001, 443},
      {kClient, kWeb, 6, 40002, 22},   {kClient, kDb, 17, 40003, 53},
      {kClient, kDb, 6, 40004, 5432},  {kWeb, kDb, 6, 40005, 5432},
      {kStranger, kWeb, 6, 40006, 80}, {kClient, kWeb, 1, 8, 0},
      {kWeb, kClient, 17, 40007, 53},  {kDb, kWeb, 6, 40008, 443},
      {kWeb, kStranger, 6, 40009, 22}, {kStranger, kDb, 17, 40010, 53},
  };
  std::vector<PacketKey> out;
  for (const P& p : list) {
    PacketKey k;
    k.src = classify::IpAddr::V4(p.src);
    k.dst = classify::IpAddr::V4(p.dst);
    k.proto = p.proto;
    k.src_port = p.sport;
    k.dst_port = p.dport;
    out.push_back(k);
  }
  return out;
}

std::unique_ptr<Program> Compile(size_t variant) {
  ctl::model::ResourceSet rs;
  absl::Status s =
      ctl::model::ParseResources(std::string(kEndpoints) + kVariants[variant], "soak", &rs);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return nullptr;
  auto p = ctl::compiler::Compile(rs);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

bool SameTrace(const classify::DirectionTrace& a, const classify::DirectionTrace& b) {
  return a.evaluated == b.evaluated && a.verdict == b.verdict &&
         a.pending_verdict == b.pending_verdict && a.enforced_count == b.enforced_count &&
         a.pending_count == b.pending_count && a.logged_count == b.logged_count &&
         std::equal(a.enforced.begin(), a.enforced.begin() + a.enforced_count,
                    b.enforced.begin()) &&
         std::equal(a.pending.begin(), a.pending.begin() + a.pending_count, b.pending.begin()) &&
         std::equal(a.logged.begin(), a.logged.begin() + a.logged_count, b.logged.begin());
}

bool Same(const PacketVerdict& a, const PacketVerdict& b) {
  return a.verdict == b.verdict && a.src_endpoint == b.src_endpoint &&
         a.dst_endpoint == b.dst_endpoint && SameTrace(a.egress, b.egress) &&
         SameTrace(a.ingress, b.ingress);
}

std::string Row(const std::vector<PacketVerdict>& verdicts) {
  std::string row;
  for (const PacketVerdict& v : verdicts)
    row += v.verdict == classify::RuleAction::kAllow ? 'A' : 'd';
  return row;
}

// One cache line per worker: the publisher sums these to know when to stop.
struct alignas(64) WorkerStats {
  std::atomic<uint64_t> judged{0};
  uint64_t generations_seen = 0;
};

TEST(ProgramSlotSoak, EveryVerdictIsItsGenerationsUnderContinuousPublication) {
  const double scale = Scale();
  const uint64_t target_packets = static_cast<uint64_t>(1e6 * scale);
  const uint64_t target_publishes = std::max<uint64_t>(2, static_cast<uint64_t>(50 * scale));
  const uint32_t workers = Workers();
  const std::vector<PacketKey> packets = Packets();

  // The right answers: each variant judging each packet alone.
  std::vector<std::unique_ptr<Program>> variants;
  std::vector<std::vector<PacketVerdict>> expected(kNumVariants);
  for (size_t v = 0; v < kNumVariants; ++v) {
    variants.push_back(Compile(v));
    ASSERT_NE(variants.back(), nullptr);
    for (const PacketKey& k : packets) variants[v]->Evaluate(k, &expected[v].emplace_back());
  }
  // The soak proves nothing unless consecutive generations disagree: every
  // pair of variants must give opposite verdicts on several packets.
  for (size_t a = 0; a < kNumVariants; ++a) {
    for (size_t b = a + 1; b < kNumVariants; ++b) {
      int differ = 0;
      for (size_t i = 0; i < packets.size(); ++i) {
        differ += expected[a][i].verdict != expected[b][i].verdict;
      }
      ASSERT_GE(differ, 3) << "variants " << a << " and " << b
                           << " decide too much alike (A allow, d deny, per packet): "
                           << Row(expected[a]) << " vs " << Row(expected[b]);
    }
  }

  // Retired programs are scribbled and parked before they are freed.
  std::mutex graveyard_mu;
  std::deque<const Program*> graveyard;
  std::atomic<uint64_t> freed{0};
  auto retire = [&](const Program* p) {
    const_cast<Program*>(p)->generation = kRetired;
    std::lock_guard<std::mutex> lock(graveyard_mu);
    graveyard.push_back(p);
    if (graveyard.size() > kGraveyard) {
      delete graveyard.front();
      graveyard.pop_front();
      freed.fetch_add(1);
    }
  };
  auto make = [&](uint64_t generation) {
    auto* p = new Program(*variants[generation % kNumVariants]);
    p->generation = generation;
    return std::shared_ptr<const Program>(p, retire);
  };

  std::atomic<uint64_t> published{0};
  {
    ProgramSlot slot(workers);
    slot.Publish(make(0));

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> wrong{0}, backwards{0}, retired_use{0}, control_checks{0};
    std::vector<WorkerStats> stats(workers);
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        slot.Online(w);
        WorkerStats& mine = stats[w];
        uint64_t last_gen = 0, judged = 0;
        size_t next = w;  // workers start at different packets
        while (!stop.load(std::memory_order_relaxed)) {
          const Program* p = slot.Acquire();  // once per burst, as the worker loop does
          const uint64_t gen = p->generation;
          if (gen == kRetired) {
            retired_use.fetch_add(1);
          } else {
            if (gen < last_gen) backwards.fetch_add(1);
            if (gen != last_gen) ++mine.generations_seen, last_gen = gen;
            const std::vector<PacketVerdict>& want = expected[gen % kNumVariants];
            for (int i = 0; i < kBurst; ++i, next = next + 1 == packets.size() ? 0 : next + 1) {
              PacketVerdict v;
              p->Evaluate(packets[next], &v);
              if (!Same(v, want[next])) wrong.fetch_add(1, std::memory_order_relaxed);
            }
            // Still the same program at the end of the burst: not retired
            // (scribbled) while this worker held it.
            if (p->generation != gen) retired_use.fetch_add(1);
          }
          judged += kBurst;
          mine.judged.store(judged, std::memory_order_relaxed);
          slot.Quiescent(w);
        }
        slot.Offline(w);
      });
    }
    // The live-trace path: a control thread's reference survives publications.
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        std::shared_ptr<const Program> held = slot.Current();
        const uint64_t gen = held->generation;
        for (size_t i = 0; i < packets.size(); ++i) {
          PacketVerdict v;
          held->Evaluate(packets[i], &v);
          if (gen == kRetired || !Same(v, expected[gen % kNumVariants][i])) wrong.fetch_add(1);
        }
        control_checks.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::yield();
      }
    });

    auto total_judged = [&] {
      uint64_t n = 0;
      for (const WorkerStats& s : stats) n += s.judged.load(std::memory_order_relaxed);
      return n;
    };
    uint64_t g = 1;
    for (; g <= target_publishes || total_judged() < target_packets; ++g) {
      slot.Publish(make(g));  // returns after the grace period
      published.store(g);
    }
    stop = true;
    for (auto& t : threads) t.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    uint64_t seen = 0;
    for (const WorkerStats& s : stats) seen += s.generations_seen;
    const uint64_t judged = total_judged();
    std::printf(
        "soak: %llu packets judged by %u workers under %llu publications in %.1f s "
        "(%.2f Mpps, %.0f publications/s); %llu generation switches seen by workers; "
        "%llu control-thread checks; wrong %llu, backwards %llu, retired-use %llu\n",
        static_cast<unsigned long long>(judged), workers,
        static_cast<unsigned long long>(published.load()), seconds, judged / seconds / 1e6,
        published.load() / seconds, static_cast<unsigned long long>(seen),
        static_cast<unsigned long long>(control_checks.load()),
        static_cast<unsigned long long>(wrong.load()),
        static_cast<unsigned long long>(backwards.load()),
        static_cast<unsigned long long>(retired_use.load()));

    EXPECT_EQ(wrong.load(), 0u);
    EXPECT_EQ(backwards.load(), 0u);
    EXPECT_EQ(retired_use.load(), 0u);
    EXPECT_GE(judged, target_packets);
    EXPECT_GE(published.load(), target_publishes);
    // The workers really ran across many swaps, not one generation each.
    EXPECT_GT(seen, uint64_t{workers} * 2);
    EXPECT_EQ(slot.Acquire()->generation, published.load());
  }
  // The slot is gone: every program it published has been retired.
  std::lock_guard<std::mutex> lock(graveyard_mu);
  EXPECT_EQ(freed.load() + graveyard.size(), published.load() + 1);
  for (const Program* p : graveyard) delete p;
}

}  // namespace
}  // namespace tierwall::dp::engine
