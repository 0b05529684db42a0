// Counter snapshots for --stats-json and DPDK telemetry: sums every worker's
// counters (relaxed reads; workers keep running) into one JSON document.
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/tierwalld/counter_slots.h"
#include "dataplane/engine/ports.h"
#include "dataplane/engine/worker.h"

namespace tierwall::ctl::daemon {

// Written by the main loop and API threads, read by telemetry: the scalars
// are atomics.
struct StatsSources {
  std::atomic<uint64_t> generation = 0;
  const std::vector<std::unique_ptr<dp::engine::Worker>>* workers = nullptr;
  const std::vector<dp::engine::PortInfo>* ports = nullptr;
  const CounterSlots* slots = nullptr;
  std::atomic<uint64_t> events_written = 0;
};

// {"generation", "packets", "drops", "ports", "flows", "policies"}: the
// format tests and tools read (see control/README.md).
nlohmann::ordered_json StatsJson(const StatsSources& s);

}  // namespace tierwall::ctl::daemon
