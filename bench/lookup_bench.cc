// Google Benchmark: RuleClassifier lookup and build time against rule count,
// with a naive linear scan beside it as the floor any structure must beat.
//
// Rule lists: the 1K and 10K ClassBench sets, plus random subsets of acl1_10K
// (100, 1000, 5000 rules, file order kept). A subset's trace is the acl1_10K
// headers generated from its rules, so most packets still hit something.
// One iteration = one burst of 32 packets (items/s = packets/s).
//
// Data: $TW_CLASSBENCH_DIR or <source root>/../shared/classbench.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/classify/rule_classifier.h"
#include "tests/support/classbench.h"

namespace tierwall::bench {
namespace {

namespace cb = test::classbench;
using dp::classify::PacketKey;
using dp::classify::RuleClassifier;

constexpr uint32_t kBurst = 32;

struct Workload {
  std::string name;
  std::vector<cb::Rule> rules;
  std::vector<dp::classify::PrioritizedRawBox> boxes;
  std::vector<PacketKey> trace;  // length a multiple of kBurst
  std::unique_ptr<RuleClassifier> classifier;
};

// Trims the trace to whole bursts so the hot loop needs no tail handling.
void TrimToBursts(std::vector<PacketKey>* trace) { trace->resize(trace->size() / kBurst * kBurst); }

void BM_Lookup(benchmark::State& state, Workload* w) {
  if (!w->classifier)
    w->classifier = std::make_unique<RuleClassifier>(RuleClassifier::Build(w->boxes, 1));
  const RuleClassifier& c = *w->classifier;
  uint32_t out[kBurst];
  size_t i = 0;
  for (auto _ : state) {
    c.FirstMatchBurst(&w->trace[i], kBurst, out);
    benchmark::DoNotOptimize(out);
    i += kBurst;
    if (i == w->trace.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kBurst);
  state.counters["rules"] = double(w->rules.size());
  state.counters["mem_bytes"] = double(c.MemoryBytes());
}

void BM_LinearScan(benchmark::State& state, Workload* w) {
  int32_t out[kBurst];
  size_t i = 0;
  for (auto _ : state) {
    for (uint32_t j = 0; j < kBurst; ++j) out[j] = cb::LinearFirstMatch(w->rules, w->trace[i + j]);
    benchmark::DoNotOptimize(out);
    i += kBurst;
    if (i == w->trace.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kBurst);
  state.counters["rules"] = double(w->rules.size());
}

void BM_Build(benchmark::State& state, Workload* w) {
  size_t mem = 0;
  for (auto _ : state) {
    RuleClassifier c = RuleClassifier::Build(w->boxes, 1);
    mem = c.MemoryBytes();
    benchmark::DoNotOptimize(mem);
  }
  state.counters["rules"] = double(w->rules.size());
  state.counters["mem_bytes"] = double(mem);
}

std::vector<std::unique_ptr<Workload>> LoadWorkloads(const std::string& dir) {
  std::vector<std::unique_ptr<Workload>> out;
  for (const char* name : {"acl1_1K", "fw1_1K", "ipc1_1K", "acl1_10K", "fw1_10K", "ipc1_10K"}) {
    absl::StatusOr<cb::Set> set = cb::LoadSet(dir, name);
    if (!set.ok()) {
      std::fprintf(stderr, "skipping %s: %s\n", name, set.status().ToString().c_str());
      continue;
    }
    if (std::string(name) == "acl1_10K") {
      // Random subsets: choose indices, keep file order, renumber priorities.
      std::mt19937_64 rng(42);
      for (size_t size : {100, 1000, 5000}) {
        std::vector<uint32_t> idx(set->rules.size());
        for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
        std::shuffle(idx.begin(), idx.end(), rng);
        idx.resize(std::min(size, idx.size()));
        std::sort(idx.begin(), idx.end());
        std::vector<bool> chosen(set->rules.size());
        auto w = std::make_unique<Workload>();
        w->name = "acl1_10K_sub" + std::to_string(size);
        for (uint32_t i : idx) {
          chosen[i] = true;
          w->rules.push_back(set->rules[i]);
        }
        for (size_t i = 0; i < set->trace.size(); ++i) {
          const uint32_t g = set->generator_rules[i];
          if (g < chosen.size() && chosen[g]) w->trace.push_back(set->trace[i]);
        }
        TrimToBursts(&w->trace);
        if (w->trace.empty()) continue;
        w->boxes = cb::ToRawBoxes(w->rules);
        out.push_back(std::move(w));
      }
    }
    auto w = std::make_unique<Workload>();
    w->name = name;
    w->rules = std::move(set->rules);
    w->trace = std::move(set->trace);
    TrimToBursts(&w->trace);
    w->boxes = cb::ToRawBoxes(w->rules);
    out.push_back(std::move(w));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a->rules.size() < b->rules.size(); });
  return out;
}

}  // namespace
}  // namespace tierwall::bench

int main(int argc, char** argv) {
  using namespace tierwall::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::optional<std::string> dir = cb::DataDir();
  if (!dir) {
    std::fprintf(stderr, "ClassBench data not found: set TW_CLASSBENCH_DIR\n");
    return 1;
  }
  static std::vector<std::unique_ptr<Workload>> workloads = LoadWorkloads(*dir);
  for (auto& w : workloads) {
    benchmark::RegisterBenchmark(("Lookup/" + w->name).c_str(), BM_Lookup, w.get());
    benchmark::RegisterBenchmark(("LinearScan/" + w->name).c_str(), BM_LinearScan, w.get());
  }
  for (auto& w : workloads)
    benchmark::RegisterBenchmark(("Build/" + w->name).c_str(), BM_Build, w.get())
        ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
