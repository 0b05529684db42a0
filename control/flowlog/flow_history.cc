#include "control/flowlog/flow_history.h"

#include <algorithm>

namespace tierwall::ctl::flowlog {

FlowHistory::FlowHistory(size_t max_records) : max_records_(std::max<size_t>(max_records, 1)) {}

uint64_t FlowHistory::Append(const std::vector<FlowRecord>& records) {
  uint64_t last;
  {
    std::lock_guard lock(mu_);
    for (const FlowRecord& r : records) {
      ring_.emplace_back(++last_seq_, r);
      if (ring_.size() > max_records_) ring_.pop_front();
    }
    last = last_seq_;
  }
  if (!records.empty()) appended_.notify_all();
  return last;
}

std::vector<FlowRecord> FlowHistory::Query(const FlowFilter& filter, size_t last_n, int64_t since,
                                           int64_t until) const {
  std::vector<FlowRecord> out;
  std::lock_guard lock(mu_);
  // Newest first, so last_n stops the scan early; reversed at the end.
  for (auto it = ring_.rbegin(); it != ring_.rend(); ++it) {
    const FlowRecord& r = it->second;
    if (r.end_time < since || r.start_time > until || !filter.Matches(r)) continue;
    out.push_back(r);
    if (last_n != 0 && out.size() == last_n) break;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::pair<uint64_t, FlowRecord>> FlowHistory::NewerLocked(uint64_t after_seq) const {
  std::vector<std::pair<uint64_t, FlowRecord>> out;
  if (ring_.empty() || ring_.back().first <= after_seq) return out;
  // Sequence numbers are consecutive in the ring: index arithmetic, no search.
  const uint64_t first = ring_.front().first;
  const size_t start = after_seq < first ? 0 : static_cast<size_t>(after_seq - first + 1);
  out.assign(ring_.begin() + static_cast<std::ptrdiff_t>(start), ring_.end());
  return out;
}

std::vector<std::pair<uint64_t, FlowRecord>> FlowHistory::WaitForNewer(
    uint64_t after_seq, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  appended_.wait_for(lock, timeout, [&] { return shutdown_ || last_seq_ > after_seq; });
  if (shutdown_) return {};
  return NewerLocked(after_seq);
}

void FlowHistory::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  appended_.notify_all();
}

uint64_t FlowHistory::last_seq() const {
  std::lock_guard lock(mu_);
  return last_seq_;
}

size_t FlowHistory::size() const {
  std::lock_guard lock(mu_);
  return ring_.size();
}

}  // namespace tierwall::ctl::flowlog
