// What the daemon's control thread does with what workers report: flow events
// become Calico-style flow logs (aggregated per flush interval, written to a
// rotating JSON-lines file and kept in memory for the API), and rule counters
// are sampled into per-policy time series.
//
// Threading: OnEvent/Tick/Flush run on the main loop's thread only;
// SetEndpoints on whichever thread publishes (under its own mutex); history()
// and series() are thread-safe for API readers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/api/observe_service.h"
#include "control/flowlog/aggregator.h"
#include "control/flowlog/endpoint_directory.h"
#include "control/flowlog/flow_history.h"
#include "control/flowlog/flow_log_writer.h"
#include "control/flowlog/policy_series.h"
#include "control/model/resources.h"
#include "control/tierwalld/counter_slots.h"
#include "control/tierwalld/stats.h"
#include "dataplane/engine/flow_events.h"

namespace tierwall::ctl::daemon {

struct ObservabilityConfig {
  std::string flow_log_dir;  // empty: no file, records kept in memory only
  uint64_t flow_log_max_bytes = 100ull << 20;
  int flow_log_max_files = 5;
  int flush_seconds = 15;
  int aggregation_allowed = 2;  // Calico's flowLogsFileAggregationKindForAllowed
  int aggregation_denied = 1;
  size_t history_records = 100'000;
};

class Observability {
 public:
  static absl::StatusOr<std::unique_ptr<Observability>> Create(const ObservabilityConfig& config,
                                                               const CounterSlots* slots);

  // The endpoints flow logs name, from the resources just published.
  void SetEndpoints(const model::ResourceSet& resources);
  void OnEvent(const dp::engine::FlowEvent& event, int64_t now);
  // Once a second or so: samples counters; flushes an interval when due.
  void Tick(int64_t now, const std::vector<flowlog::RuleTotal>& totals);
  // Closes the current interval now (shutdown, tests).
  void Flush(int64_t now);

  const flowlog::FlowHistory& history() const { return history_; }
  const flowlog::PolicySeries& series() const { return series_; }
  // The slot is about to count for another rule: its history goes.
  void ForgetSlot(uint32_t slot) { series_.Forget(slot); }
  uint64_t lost_records() const { return lost_records_.load(std::memory_order_relaxed); }
  uint64_t records_written() const { return records_written_.load(std::memory_order_relaxed); }

 private:
  Observability(const ObservabilityConfig& config, const CounterSlots* slots);

  ObservabilityConfig config_;
  const CounterSlots* slots_;
  std::mutex directory_mu_;
  std::shared_ptr<const flowlog::EndpointDirectory> directory_;
  flowlog::Aggregator aggregator_;
  std::unique_ptr<flowlog::FlowLogWriter> writer_;
  flowlog::FlowHistory history_;
  flowlog::PolicySeries series_;
  int64_t next_flush_ = 0;
  std::atomic<uint64_t> lost_records_{0};
  std::atomic<uint64_t> records_written_{0};
  uint64_t write_errors_ = 0;
};

// Every rule slot's counters summed over workers, with what the slot means.
api::CountersData ReadCounters(const StatsSources& sources);

}  // namespace tierwall::ctl::daemon
