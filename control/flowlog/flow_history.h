// The recent flow records in memory, for queries and follow streams.
//
// A bounded ring (oldest records fall off) where every record gets the next
// sequence number, so a follower can ask "what came after N" and notice a gap
// when it fell behind the ring. The control thread appends after each Flush;
// API threads query and wait: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "control/flowlog/flow_filter.h"
#include "control/flowlog/flow_record.h"

namespace tierwall::ctl::flowlog {

class FlowHistory {
 public:
  explicit FlowHistory(size_t max_records = 100'000);

  // Returns the sequence number of the last record appended (0: none ever).
  uint64_t Append(const std::vector<FlowRecord>& records);

  // Matching records whose interval overlaps [since, until], newest last; at
  // most the newest `last_n` of them (0: all).
  std::vector<FlowRecord> Query(const FlowFilter& filter, size_t last_n = 0, int64_t since = 0,
                                int64_t until = std::numeric_limits<int64_t>::max()) const;

  // Every retained record with a sequence number above `after_seq`, oldest
  // first; waits up to `timeout` for one to arrive. Empty on timeout or after
  // Shutdown.
  std::vector<std::pair<uint64_t, FlowRecord>> WaitForNewer(
      uint64_t after_seq, std::chrono::milliseconds timeout) const;

  // Wakes every waiter and makes later waits return at once (server stop).
  void Shutdown();

  uint64_t last_seq() const;
  size_t size() const;

 private:
  std::vector<std::pair<uint64_t, FlowRecord>> NewerLocked(uint64_t after_seq) const;

  const size_t max_records_;
  mutable std::mutex mu_;
  mutable std::condition_variable appended_;
  std::deque<std::pair<uint64_t, FlowRecord>> ring_;  // ascending sequence numbers
  uint64_t last_seq_ = 0;
  bool shutdown_ = false;
};

}  // namespace tierwall::ctl::flowlog
