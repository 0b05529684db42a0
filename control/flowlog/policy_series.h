// Packets and bytes per policy rule over time, for "what did this policy do
// in the last hour" graphs.
//
// The dataplane keeps cumulative counters per rule slot; the control thread
// samples them (Sample) and the series stores the per-bucket deltas in a ring
// of `buckets` buckets of `bucket_seconds` per slot: memory is fixed per slot
// and old buckets are overwritten. A counter that goes down (a new program
// restarted the slot at zero) counts its whole value as new. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tierwall::ctl::flowlog {

struct RuleTotal {
  uint32_t slot = 0;
  uint64_t packets = 0;  // cumulative
  uint64_t bytes = 0;
};

struct Bucket {
  int64_t start = 0;  // unix seconds, a multiple of bucket_seconds
  uint64_t packets = 0;
  uint64_t bytes = 0;
  friend bool operator==(const Bucket&, const Bucket&) = default;
};

class PolicySeries {
 public:
  explicit PolicySeries(int bucket_seconds = 10, int buckets = 360);

  // The first call only sets the baseline (when earlier packets happened is
  // unknown); a slot first seen later started at zero since the last sample.
  void Sample(int64_t now, const std::vector<RuleTotal>& totals);
  // Drops what `slot` recorded: it is about to count for another rule (the
  // daemon reuses slots of deleted rules), which starts at zero.
  void Forget(uint32_t slot);

  // One bucket per bucket_seconds from the bucket holding `since` to the one
  // holding `now`, oldest first, zeros included; clipped to what the ring
  // still holds.
  std::vector<Bucket> Query(uint32_t slot, int64_t since, int64_t now) const;
  // The sum of Query's buckets (start = the first bucket's start).
  Bucket Total(uint32_t slot, int64_t since, int64_t now) const;

  int bucket_seconds() const { return bucket_seconds_; }
  size_t slots() const;

 private:
  struct Cell {
    int64_t epoch = -1;  // which bucket (start / bucket_seconds) this cell holds
    uint64_t packets = 0;
    uint64_t bytes = 0;
  };
  struct Slot {
    uint64_t last_packets = 0;
    uint64_t last_bytes = 0;
    std::vector<Cell> ring;
  };

  int64_t EpochOf(int64_t t) const;

  const int bucket_seconds_;
  const int buckets_;
  mutable std::mutex mu_;
  bool sampled_ = false;
  std::unordered_map<uint32_t, Slot> slots_;
};

}  // namespace tierwall::ctl::flowlog
