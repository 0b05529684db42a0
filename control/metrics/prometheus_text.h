// Prometheus text exposition (format 0.0.4) of the firewall's counters.
//
// The renderer works on a plain snapshot struct rather than on live counters:
// the daemon gathers per-worker counters (which it owns and sums on its own
// terms) into a MetricsSnapshot, and this file only formats. That keeps the
// format testable byte for byte and keeps DPDK out of this library.
//
// Series (names follow Calico's felix_* style, with a tierwall_ prefix):
//   tierwall_policy_rule_packets_total{tier,policy,namespace,rule_index,
//                                      action,direction,staged}     counter
//   tierwall_policy_rule_bytes_total{same labels}                   counter
//   tierwall_drops_total{reason}                                    counter
//   tierwall_active_flows                                           gauge
//   tierwall_packets_received_total / _forwarded_total / _dropped_total
//                                                                   counter
//   tierwall_program_generation                                     gauge
//   tierwall_flow_records_lost_total                                counter
//   tierwall_policy_apply_seconds (_bucket{le}, _sum, _count)       histogram
//
// Every family gets its # HELP and # TYPE lines even when it has no samples,
// so a scrape always shows what the daemon can report.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tierwall::ctl::metrics {

// The counters of one rule (or of a tier's end, rule_index -1) in one
// direction.
struct RuleSample {
  std::string tier;
  std::string policy;      // e.g. "app-hipstershop.frontend"
  std::string namespace_;  // "" for global policies
  int32_t rule_index = 0;  // -1: the tier's end-of-tier action
  std::string action;      // allow, deny, pass, log
  std::string direction;   // ingress, egress
  bool staged = false;     // counted by a staged policy (would-have-matched)
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// A consistent view of a histogram. counts[i] is the number of observations in
// (bounds[i-1], bounds[i]]; counts has one more entry than bounds, the last
// being the observations above the last bound. Rendered cumulatively.
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
  uint64_t count = 0;
};

struct MetricsSnapshot {
  std::vector<RuleSample> rules;
  std::vector<std::pair<std::string, uint64_t>> drops_by_reason;
  uint64_t active_flows = 0;
  uint64_t packets_received = 0;
  uint64_t packets_forwarded = 0;
  uint64_t packets_dropped = 0;
  uint64_t program_generation = 0;
  // Time from an API commit to every worker running the new generation.
  HistogramSnapshot apply_seconds;
  uint64_t flow_records_lost = 0;
};

// The text exposition of the snapshot. Samples keep the snapshot's order.
std::string RenderPrometheus(const MetricsSnapshot& snapshot);

// A label value escaped per the exposition format: backslash, double quote and
// newline become \\, \" and \n. Everything else (UTF-8 included) is kept.
std::string EscapeLabelValue(std::string_view value);

// Thread-safe fixed-bucket histogram for tierwall_policy_apply_seconds: the API
// thread observes, the metrics thread snapshots. A mutex rather than atomics
// because both sides are rare (one observation per commit, one snapshot per
// scrape) and the snapshot must be consistent (count == sum of buckets).
class ApplyLatencyHistogram {
 public:
  // 1 ms .. 10 s: a commit normally applies in milliseconds; seconds mean a
  // stuck worker.
  static std::vector<double> DefaultBounds();

  ApplyLatencyHistogram() : ApplyLatencyHistogram(DefaultBounds()) {}
  // Bounds are sorted; non-finite and duplicate values are dropped (+Inf is
  // always there as the last bucket).
  explicit ApplyLatencyHistogram(std::vector<double> bounds);

  // NaN is ignored: one bad sample would poison _sum for the process lifetime.
  void Observe(double seconds);
  HistogramSnapshot Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // bounds_.size() + 1
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace tierwall::ctl::metrics
