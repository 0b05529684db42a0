#include "dataplane/classify/field_map.h"

#include <algorithm>

namespace tierwall::dp::classify {

namespace {

// Index of the interval containing v: the last start <= v. starts[0] == 0.
template <typename T>
uint32_t IntervalOf(const std::vector<T>& starts, T v) {
  auto it = std::upper_bound(starts.begin(), starts.end(), v);
  return static_cast<uint32_t>(it - starts.begin()) - 1;
}

template <typename T>
std::vector<T> SortedUnique(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

uint32_t AddressMap::LookupV4(uint32_t ip) const {
  if (v4_index_.empty()) return 0;  // no IPv4 ranges: one interval
  // Intervals starting in block b = [b << shift, (b + 1) << shift) are
  // v4_starts_[index[b] .. index[b + 1]); the answer is the last of them <= ip,
  // or the interval just before (which started in an earlier block).
  uint32_t block = ip >> v4_index_shift_;
  uint32_t lo = v4_index_[block];
  uint32_t hi = v4_index_[block + 1];
  while (lo < hi) {  // first start > ip in [lo, hi); blocks hold few starts
    uint32_t mid = (lo + hi) >> 1;
    if (v4_starts_[mid] <= ip) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo - 1;
}

uint32_t AddressMap::LookupV6(U128 ip) const { return v4_count() + IntervalOf(v6_starts_, ip); }

void AddressMap::RangeToClasses(Family f, U128 lo, U128 hi, uint32_t* first, uint32_t* last) const {
  if (f == Family::kV4) {
    *first = LookupV4(static_cast<uint32_t>(lo));
    *last = LookupV4(static_cast<uint32_t>(hi));
  } else {
    *first = LookupV6(lo);
    *last = LookupV6(hi);
  }
}

size_t AddressMap::MemoryBytes() const {
  return v4_starts_.size() * sizeof(uint32_t) + v4_index_.size() * sizeof(uint32_t) +
         v6_starts_.size() * sizeof(U128);
}

void AddressMapBuilder::AddRange(Family f, U128 lo, U128 hi) {
  // Cut before lo and after hi, so [lo, hi] is a union of whole intervals.
  if (f == Family::kV4) {
    v4_cuts_.push_back(static_cast<uint32_t>(lo));
    if (hi < 0xffffffffu) v4_cuts_.push_back(static_cast<uint32_t>(hi) + 1);
  } else {
    v6_cuts_.push_back(lo);
    if (hi != ~U128{0}) v6_cuts_.push_back(hi + 1);
  }
}

AddressMap AddressMapBuilder::Build() const {
  AddressMap m;
  m.v4_starts_ = SortedUnique(v4_cuts_);
  m.v6_starts_ = SortedUnique(v6_cuts_);
  if (m.v4_starts_.size() == 1) return m;  // no IPv4 ranges: no index needed
  // About two index entries per interval, between 2^8 and 2^16 blocks: most
  // blocks then hold zero or one interval start, so a lookup is two adjacent
  // index loads plus a step or two of search, while small rule sets do not
  // pay for a 256 KiB index.
  int bits = 8;
  while (bits < 16 && (size_t{1} << bits) < 2 * m.v4_starts_.size()) ++bits;
  m.v4_index_shift_ = static_cast<uint8_t>(32 - bits);
  const uint32_t blocks = 1u << bits;
  m.v4_index_.resize(blocks + 1);
  size_t idx = 0;
  for (uint32_t block = 0; block <= blocks; ++block) {
    uint64_t block_start = static_cast<uint64_t>(block) << m.v4_index_shift_;
    while (idx < m.v4_starts_.size() && m.v4_starts_[idx] < block_start) ++idx;
    m.v4_index_[block] = static_cast<uint32_t>(idx);
  }
  return m;
}

void SmallFieldMapBuilder::AddRange(uint32_t lo, uint32_t hi) {
  cuts_.push_back(lo);
  if (hi < max_value_) cuts_.push_back(hi + 1);
}

SmallFieldMap SmallFieldMapBuilder::Build() const {
  SmallFieldMap m;
  std::vector<uint32_t> starts = SortedUnique(cuts_);
  m.count_ = static_cast<uint32_t>(starts.size());
  const bool narrow = m.count_ <= 256;
  (narrow ? m.narrow_.resize(max_value_ + 1) : m.wide_.resize(max_value_ + 1));
  uint32_t cls = 0;
  for (uint32_t v = 0; v <= max_value_; ++v) {
    if (cls + 1 < starts.size() && starts[cls + 1] == v) ++cls;
    if (narrow) {
      m.narrow_[v] = static_cast<uint8_t>(cls);
    } else {
      m.wide_[v] = static_cast<uint16_t>(cls);
    }
  }
  return m;
}

}  // namespace tierwall::dp::classify
