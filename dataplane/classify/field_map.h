// Field maps: the first stage of classification.
//
// Each packet field is mapped to a small "class id": the index of the
// elementary interval of that field's value space that the value falls in,
// where the intervals are cut at every boundary any rule uses. A rule's range
// on a field is then a contiguous range of class ids, whatever the field's
// width (IPv4, IPv6, port, protocol), so the decision forest (stage two)
// works on dense, equally shaped integers.
//
// Address class ids: IPv4 intervals first [0, v4_count), then IPv6 intervals
// [v4_count, total). A rule that spans both families holds one box for each.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/classify/ip_addr.h"

namespace tierwall::dp::classify {

// Maps an address to its interval. IPv4 uses an index on the top 8-16 bits
// (sized to the number of intervals) that narrows the binary search to the
// few intervals starting inside that block; IPv6 uses a plain binary search.
class AddressMap {
 public:
  uint32_t Lookup(const IpAddr& ip) const {
    return ip.family == Family::kV4 ? LookupV4(static_cast<uint32_t>(ip.bits)) : LookupV6(ip.bits);
  }
  uint32_t LookupV4(uint32_t ip) const;
  uint32_t LookupV6(U128 ip) const;
  uint32_t v4_count() const { return static_cast<uint32_t>(v4_starts_.size()); }
  uint32_t size() const { return static_cast<uint32_t>(v4_starts_.size() + v6_starts_.size()); }
  // The class id range [first, last] covering the raw range [lo, hi].
  void RangeToClasses(Family f, U128 lo, U128 hi, uint32_t* first, uint32_t* last) const;
  size_t MemoryBytes() const;

 private:
  friend class AddressMapBuilder;
  std::vector<uint32_t> v4_starts_;  // sorted interval starts, [0] == 0
  // v4_index_[b]: first interval starting at >= (b << v4_index_shift_), plus
  // one entry at the end. Empty when no IPv4 range was added.
  std::vector<uint32_t> v4_index_;
  uint8_t v4_index_shift_ = 16;
  std::vector<U128> v6_starts_;  // sorted interval starts, [0] == 0
};

class AddressMapBuilder {
 public:
  // Records that some rule cares about the boundaries of [lo, hi].
  void AddRange(Family f, U128 lo, U128 hi);
  AddressMap Build() const;

 private:
  std::vector<uint32_t> v4_cuts_{0};
  std::vector<U128> v6_cuts_{0};
};

// Maps a field of at most 16 bits (port, ICMP type/code, protocol) through a
// direct table: one load per packet.
class SmallFieldMap {
 public:
  // Most rule sets cut a port into fewer than 256 classes: a byte table then
  // halves the cache footprint (64 KiB instead of 128 KiB per port field).
  uint32_t Lookup(uint32_t value) const { return narrow_.empty() ? wide_[value] : narrow_[value]; }
  uint32_t size() const { return count_; }
  void RangeToClasses(uint32_t lo, uint32_t hi, uint32_t* first, uint32_t* last) const {
    *first = Lookup(lo);
    *last = Lookup(hi);
  }
  size_t MemoryBytes() const { return narrow_.size() + wide_.size() * sizeof(uint16_t); }

 private:
  friend class SmallFieldMapBuilder;
  std::vector<uint8_t> narrow_;  // when count_ <= 256
  std::vector<uint16_t> wide_;   // otherwise
  uint32_t count_ = 0;
};

class SmallFieldMapBuilder {
 public:
  explicit SmallFieldMapBuilder(uint32_t max_value) : max_value_(max_value) {}
  void AddRange(uint32_t lo, uint32_t hi);
  SmallFieldMap Build() const;

 private:
  uint32_t max_value_;
  std::vector<uint32_t> cuts_{0};
};

}  // namespace tierwall::dp::classify
