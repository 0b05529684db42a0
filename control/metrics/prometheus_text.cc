#include "control/metrics/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::metrics {
namespace {

// Prometheus float syntax: +Inf, -Inf, NaN, otherwise the shortest text that
// reads back to the same double ("0.001", "2.5", "10"), so bucket bounds look
// like what was configured.
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
  return std::string(buf, end);
}

void Header(std::string& out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void Scalar(std::string& out, absl::string_view name, absl::string_view type,
            absl::string_view help, uint64_t value) {
  Header(out, name, type, help);
  absl::StrAppend(&out, name, " ", value, "\n");
}

void RuleLabels(std::string& out, const RuleSample& r) {
  absl::StrAppend(&out, "{tier=\"", EscapeLabelValue(r.tier), "\",policy=\"",
                  EscapeLabelValue(r.policy), "\",namespace=\"", EscapeLabelValue(r.namespace_),
                  "\",rule_index=\"", r.rule_index, "\",action=\"", EscapeLabelValue(r.action),
                  "\",direction=\"", EscapeLabelValue(r.direction), "\",staged=\"",
                  r.staged ? "true" : "false", "\"}");
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderPrometheus(const MetricsSnapshot& s) {
  std::string out;

  Header(out, "tierwall_policy_rule_packets_total", "counter",
         "Packets matched by a policy rule (rule_index -1: the tier's end-of-tier action).");
  for (const RuleSample& r : s.rules) {
    out += "tierwall_policy_rule_packets_total";
    RuleLabels(out, r);
    absl::StrAppend(&out, " ", r.packets, "\n");
  }
  Header(out, "tierwall_policy_rule_bytes_total", "counter",
         "Bytes matched by a policy rule (rule_index -1: the tier's end-of-tier action).");
  for (const RuleSample& r : s.rules) {
    out += "tierwall_policy_rule_bytes_total";
    RuleLabels(out, r);
    absl::StrAppend(&out, " ", r.bytes, "\n");
  }

  Header(out, "tierwall_drops_total", "counter", "Packets dropped, by reason.");
  for (const auto& [reason, n] : s.drops_by_reason) {
    absl::StrAppend(&out, "tierwall_drops_total{reason=\"", EscapeLabelValue(reason), "\"} ", n,
                    "\n");
  }

  Scalar(out, "tierwall_active_flows", "gauge", "Flows in the connection tracking tables.",
         s.active_flows);
  Scalar(out, "tierwall_packets_received_total", "counter", "Packets received on all ports.",
         s.packets_received);
  Scalar(out, "tierwall_packets_forwarded_total", "counter", "Packets forwarded.",
         s.packets_forwarded);
  Scalar(out, "tierwall_packets_dropped_total", "counter", "Packets dropped, all reasons.",
         s.packets_dropped);
  Scalar(out, "tierwall_program_generation", "gauge",
         "Generation of the compiled policy program the workers run.", s.program_generation);
  Scalar(out, "tierwall_flow_records_lost_total", "counter",
         "Flow log records lost because the export ring was full.", s.flow_records_lost);

  const HistogramSnapshot& h = s.apply_seconds;
  Header(out, "tierwall_policy_apply_seconds", "histogram",
         "Seconds from an API commit to every worker running the new program generation.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    if (i < h.counts.size()) cumulative += h.counts[i];
    absl::StrAppend(&out, "tierwall_policy_apply_seconds_bucket{le=\"", FormatDouble(h.bounds[i]),
                    "\"} ", cumulative, "\n");
  }
  // The +Inf bucket is the total count by definition; taking it from count
  // (not from the buckets) keeps _bucket{le="+Inf"} == _count even for a
  // hand-built snapshot whose counts are short.
  absl::StrAppend(&out, "tierwall_policy_apply_seconds_bucket{le=\"+Inf\"} ", h.count, "\n");
  absl::StrAppend(&out, "tierwall_policy_apply_seconds_sum ", FormatDouble(h.sum), "\n");
  absl::StrAppend(&out, "tierwall_policy_apply_seconds_count ", h.count, "\n");
  return out;
}

std::vector<double> ApplyLatencyHistogram::DefaultBounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

ApplyLatencyHistogram::ApplyLatencyHistogram(std::vector<double> bounds) {
  // Bounds must be finite and strictly increasing; rather than abort a daemon
  // over a metrics detail, sort them and drop what cannot be a bound.
  std::erase_if(bounds, [](double b) { return !std::isfinite(b); });
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  bounds_ = std::move(bounds);
  counts_.assign(bounds_.size() + 1, 0);
}

void ApplyLatencyHistogram::Observe(double seconds) {
  if (std::isnan(seconds)) return;
  // Buckets are "less than or equal": the first bound >= seconds.
  size_t i =
      std::distance(bounds_.begin(), std::lower_bound(bounds_.begin(), bounds_.end(), seconds));
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[i];
  sum_ += seconds;
  ++count_;
}

HistogramSnapshot ApplyLatencyHistogram::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return HistogramSnapshot{bounds_, counts_, sum_, count_};
}

}  // namespace tierwall::ctl::metrics
