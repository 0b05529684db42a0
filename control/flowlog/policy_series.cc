#include "control/flowlog/policy_series.h"

#include <algorithm>

namespace tierwall::ctl::flowlog {

PolicySeries::PolicySeries(int bucket_seconds, int buckets)
    : bucket_seconds_(std::max(bucket_seconds, 1)), buckets_(std::max(buckets, 1)) {}

int64_t PolicySeries::EpochOf(int64_t t) const {
  // Floor division, so negative times (tests, clock oddities) bucket correctly.
  int64_t q = t / bucket_seconds_;
  if (t % bucket_seconds_ != 0 && t < 0) --q;
  return q;
}

void PolicySeries::Sample(int64_t now, const std::vector<RuleTotal>& totals) {
  std::lock_guard lock(mu_);
  const int64_t epoch = EpochOf(now);
  const bool baseline = !sampled_;
  sampled_ = true;
  for (const RuleTotal& t : totals) {
    auto [it, inserted] = slots_.try_emplace(t.slot);
    Slot& slot = it->second;
    if (inserted) slot.ring.resize(static_cast<size_t>(buckets_));
    uint64_t dp = t.packets >= slot.last_packets ? t.packets - slot.last_packets : t.packets;
    uint64_t db = t.bytes >= slot.last_bytes ? t.bytes - slot.last_bytes : t.bytes;
    slot.last_packets = t.packets;
    slot.last_bytes = t.bytes;
    if (baseline || (dp == 0 && db == 0)) continue;
    Cell& cell = slot.ring[static_cast<size_t>(((epoch % buckets_) + buckets_) % buckets_)];
    if (cell.epoch != epoch) cell = Cell{epoch, 0, 0};  // overwrite a wrapped-around bucket
    cell.packets += dp;
    cell.bytes += db;
  }
}

void PolicySeries::Forget(uint32_t slot) {
  std::lock_guard lock(mu_);
  slots_.erase(slot);
}

std::vector<Bucket> PolicySeries::Query(uint32_t slot_id, int64_t since, int64_t now) const {
  std::vector<Bucket> out;
  const int64_t last = EpochOf(now);
  const int64_t first = std::max(EpochOf(since), last - buckets_ + 1);
  if (first > last) return out;
  std::lock_guard lock(mu_);
  auto it = slots_.find(slot_id);
  for (int64_t e = first; e <= last; ++e) {
    Bucket b{e * bucket_seconds_, 0, 0};
    if (it != slots_.end()) {
      const Cell& cell =
          it->second.ring[static_cast<size_t>(((e % buckets_) + buckets_) % buckets_)];
      if (cell.epoch == e) {
        b.packets = cell.packets;
        b.bytes = cell.bytes;
      }
    }
    out.push_back(b);
  }
  return out;
}

Bucket PolicySeries::Total(uint32_t slot, int64_t since, int64_t now) const {
  std::vector<Bucket> buckets = Query(slot, since, now);
  Bucket total;
  if (!buckets.empty()) total.start = buckets.front().start;
  for (const Bucket& b : buckets) {
    total.packets += b.packets;
    total.bytes += b.bytes;
  }
  return total;
}

size_t PolicySeries::slots() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

}  // namespace tierwall::ctl::flowlog
