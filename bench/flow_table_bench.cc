// FlowTable microbenchmarks at the daemon's default size (1M flows): lookup
// hit (both directions), lookup miss, the per-packet path (lookup + update),
// and insert/remove churn in a full table. Keys are precomputed and visited in
// random order so that every lookup is a cache miss on a table far larger
// than the LLC, as on a worker with a million live flows.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/conntrack/flow_table.h"

namespace tierwall::dp::conntrack {
namespace {

constexpr size_t kFlows = size_t{1} << 20;

PacketKey KeyOf(uint32_t i) {
  return {.src = IpAddr::V4(0x0a000000u + (i >> 8)),
          .dst = IpAddr::V4(0xc6120001u + (i & 7)),
          .proto = classify::kProtoTcp,
          .src_port = static_cast<uint16_t>(1024 + (i & 0xff)),
          .dst_port = 443};
}

PacketKey Reversed(const PacketKey& k) {
  return {
      .src = k.dst, .dst = k.src, .proto = k.proto, .src_port = k.dst_port, .dst_port = k.src_port};
}

// One table of `filled` flows out of a 1M capacity, built once per fill level.
struct Fixture {
  std::unique_ptr<FlowTable> table;
  std::vector<PacketKey> hits;    // live keys, both directions, shuffled
  std::vector<PacketKey> misses;  // keys never inserted
};

Fixture& Get(size_t filled) {
  static std::unique_ptr<Fixture> fixtures[2];
  const int slot = filled == kFlows ? 1 : 0;
  if (fixtures[slot]) return *fixtures[slot];
  auto f = std::make_unique<Fixture>();
  f->table = FlowTable::Create(kFlows, TimeoutConfig::Defaults(1'000'000'000), 12345);
  std::mt19937_64 rng(7);
  for (uint32_t i = 0; i < filled; ++i) {
    const PacketKey k = KeyOf(i);
    f->table->Insert(k, 1, Verdict::kAllow, 1, {});
    if (i % 4 == 0) f->hits.push_back(i % 8 ? k : Reversed(k));
  }
  for (uint32_t i = 0; i < (1u << 18); ++i) f->misses.push_back(KeyOf(kFlows + i));
  std::shuffle(f->hits.begin(), f->hits.end(), rng);
  std::shuffle(f->misses.begin(), f->misses.end(), rng);
  fixtures[slot] = std::move(f);
  return *fixtures[slot];
}

void BM_LookupHit(benchmark::State& state) {
  Fixture& f = Get(static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    LookupResult r = f.table->Lookup(f.hits[i], 2);
    benchmark::DoNotOptimize(r);
    if (++i == f.hits.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupHit)->Arg(kFlows * 3 / 4)->Arg(kFlows);

// The same lookups, 32 at a time with prefetching.
void BM_LookupHitBurst(benchmark::State& state) {
  Fixture& f = Get(static_cast<size_t>(state.range(0)));
  LookupResult out[32];
  size_t i = 0;
  for (auto _ : state) {
    f.table->LookupBurst(&f.hits[i], 32, 2, out);
    benchmark::DoNotOptimize(out);
    i += 32;
    if (i + 32 > f.hits.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_LookupHitBurst)->Arg(kFlows * 3 / 4)->Arg(kFlows);

void BM_LookupMiss(benchmark::State& state) {
  Fixture& f = Get(static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    LookupResult r = f.table->Lookup(f.misses[i], 2);
    benchmark::DoNotOptimize(r);
    if (++i == f.misses.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupMiss)->Arg(kFlows * 3 / 4)->Arg(kFlows);

// What a worker does for a packet of a known flow.
void BM_LookupAndUpdate(benchmark::State& state) {
  Fixture& f = Get(static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    LookupResult r = f.table->Lookup(f.hits[i], 2);
    f.table->UpdateOnPacket(r.handle, r.direction, kTcpAck, 1500, 2);
    if (++i == f.hits.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupAndUpdate)->Arg(kFlows * 3 / 4)->Arg(kFlows);

// Churn at 75% full: each iteration inserts a new flow and removes the oldest,
// so the table stays at the fill level while probes cross fresh memory.
void BM_InsertRemove(benchmark::State& state) {
  auto table = FlowTable::Create(kFlows, TimeoutConfig::Defaults(1'000'000'000), 99);
  const uint32_t live = kFlows * 3 / 4;
  std::vector<FlowHandle> ring(live);
  for (uint32_t i = 0; i < live; ++i)
    ring[i] = table->Insert(KeyOf(i), 1, Verdict::kAllow, 1, {}).handle;
  uint32_t next = live;
  size_t oldest = 0;
  for (auto _ : state) {
    table->Remove(ring[oldest]);
    ring[oldest] = table->Insert(KeyOf(next++), 2, Verdict::kAllow, 1, {}).handle;
    if (++oldest == ring.size()) oldest = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InsertRemove);

// Sweep cost per examined entry (nothing expires: the steady-state cost a
// worker pays per burst).
void BM_Sweep32(benchmark::State& state) {
  Fixture& f = Get(kFlows * 3 / 4);
  for (auto _ : state) benchmark::DoNotOptimize(f.table->Sweep(2, 32));
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_Sweep32);

}  // namespace
}  // namespace tierwall::dp::conntrack
