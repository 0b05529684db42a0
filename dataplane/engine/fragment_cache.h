// FragmentCache: lets non-first fragments follow their first fragment's
// flow (its verdict and its counters). Direct-mapped by (addresses, protocol, fragment id): a collision
// only forgets an older datagram, whose later fragments are then dropped and
// counted (non_first_fragment) - fail closed, never a wrong allow.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/classify/packet_key.h"

namespace tierwall::dp::engine {

class FragmentCache {
 public:
  FragmentCache(uint32_t capacity_pow2, uint64_t lifetime_ticks)
      : slots_(capacity_pow2), mask_(capacity_pow2 - 1), lifetime_(lifetime_ticks) {}

  // Remembers the first fragment's flow (flow table handle).
  void Remember(const classify::PacketKey& k, uint32_t id, uint32_t flow, uint64_t now) {
    slots_[Index(k, id)] = {k.src, k.dst, id, k.proto, flow, true, now};
  }
  // The flow of the datagram's first fragment, or kNone.
  static constexpr uint32_t kNone = 0xffffffffu;
  uint32_t Find(const classify::PacketKey& k, uint32_t id, uint64_t now) const {
    const Slot& s = slots_[Index(k, id)];
    if (!s.used || s.id != id || s.proto != k.proto || !(s.src == k.src) || !(s.dst == k.dst) ||
        now - s.when > lifetime_) {
      return kNone;
    }
    return s.flow;
  }

 private:
  struct Slot {
    classify::IpAddr src, dst;
    uint32_t id = 0;
    uint8_t proto = 0;
    uint32_t flow = 0;
    bool used = false;
    uint64_t when = 0;
  };
  uint32_t Index(const classify::PacketKey& k, uint32_t id) const {
    uint64_t h = static_cast<uint64_t>(k.src.bits) * 0x9e3779b97f4a7c15ull ^
                 static_cast<uint64_t>(k.dst.bits) * 0xc2b2ae3d27d4eb4full ^ (uint64_t{id} << 8) ^ k.proto;
    return static_cast<uint32_t>(h ^ (h >> 29)) & mask_;
  }
  std::vector<Slot> slots_;
  uint32_t mask_;
  uint64_t lifetime_;
};

}  // namespace tierwall::dp::engine
