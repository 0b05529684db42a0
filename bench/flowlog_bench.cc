// How many flow events per second the daemon's control thread can turn into
// flow records: the aggregator's Add for start and end observations of
// distinct flows (the 100 GbE worst case is many short flows), at Calico's
// default aggregation levels, and Flush of a full interval. One control thread
// serves every worker, so this rate bounds the new-flow rate with full flow
// logs (beyond it the SPSC queues overflow and events are counted as lost).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "control/flowlog/aggregator.h"
#include "control/flowlog/endpoint_directory.h"
#include "control/model/yaml_loader.h"

namespace tierwall::ctl::flowlog {
namespace {

// 256 workloads in 8 namespaces, 198.18.<ns>.<pod>.
const EndpointDirectory& Directory() {
  static const EndpointDirectory* directory = [] {
    std::string yaml;
    for (int ns = 0; ns < 8; ++ns) {
      for (int pod = 1; pod <= 32; ++pod) {
        yaml +=
            "---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: w" +
            std::to_string(ns) + "-" + std::to_string(pod) + "\n  namespace: ns" +
            std::to_string(ns) + "\n  labels: {app: app" + std::to_string(pod % 4) +
            "}\nspec:\n  pod: app" + std::to_string(pod % 4) + "-5f8d9b7c6-x" +
            std::to_string(10000 + pod) + "\n  ipNetworks: [198.18." + std::to_string(ns) + "." +
            std::to_string(pod) + "/32]\n";
      }
    }
    model::ResourceSet set;
    if (!model::ParseResources(yaml, "bench", &set).ok()) std::abort();
    return new EndpointDirectory(set);
  }();
  return *directory;
}

FlowObservation Observation(uint64_t i, FlowObservation::Kind kind) {
  FlowObservation o;
  o.kind = kind;
  o.allowed = (i % 10) != 0;
  o.src = dp::classify::IpAddr::V4(0xc6120000u | ((i % 8) << 8) | (1 + i % 32));
  o.dst = dp::classify::IpAddr::V4(0xc6120000u | (((i / 8) % 8) << 8) | (1 + (i / 3) % 32));
  o.src_port = static_cast<uint16_t>(1024 + (i % 60000));
  o.dst_port = static_cast<uint16_t>(8080 + (i % 4));
  o.proto = 6;
  if (kind == FlowObservation::Kind::kEnd) {
    o.packets[0] = 6;
    o.packets[1] = 5;
    o.bytes[0] = 600;
    o.bytes[1] = 4000;
  }
  o.enforced = {
      {"security", "security.allow-dns", "pass", 2, false},
      {"platform", "platform.pass-rest", "pass", 0, false},
      {"app", "ns0/app.frontend", o.allowed ? "allow" : "deny", o.allowed ? 0 : -1, false},
      {"security", "security.block-threat-feed", "pass", -1, true},
      {"app", "ns0/app.backend", o.allowed ? "allow" : "deny", o.allowed ? 0 : -1, true}};
  o.pending = o.enforced;
  return o;
}

// Start and end of distinct flows; Flush every 100k events as the 15 s
// interval would.
void BM_AddStartAndEnd(benchmark::State& state) {
  const EndpointDirectory& directory = Directory();
  std::vector<FlowObservation> starts, ends;
  for (uint64_t i = 0; i < 50000; ++i) {
    starts.push_back(Observation(i, FlowObservation::Kind::kStart));
    ends.push_back(Observation(i, FlowObservation::Kind::kEnd));
  }
  Aggregator aggregator;
  int64_t now = 1000;
  size_t records = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < starts.size(); ++i) aggregator.Add(starts[i], directory, now);
    for (size_t i = 0; i < ends.size(); ++i) aggregator.Add(ends[i], directory, now);
    records += aggregator.Flush(++now).size();
  }
  state.SetItemsProcessed(state.iterations() * 2 * starts.size());
  state.counters["records_per_100k_events"] =
      benchmark::Counter(static_cast<double>(records) / state.iterations());
  state.counters["lost"] = benchmark::Counter(static_cast<double>(aggregator.lost_records()));
}
BENCHMARK(BM_AddStartAndEnd)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tierwall::ctl::flowlog
