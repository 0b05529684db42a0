// FragmentCache: lets non-first fragments follow their first fragment's
// flow (its verdict and its counters). Direct-mapped by (addresses, protocol, fragment id): a
// collision only forgets an older datagram, whose later fragments are then dropped and counted
// (non_first_fragment) - fail closed, never a wrong allow.
//
// Overlaps: each datagram keeps a bitmap of the 8-byte units its fragments
// covered. A fragment that covers a unit again (an overlap, or a repeated
// first fragment) is refused and the datagram forgotten, so its later
// fragments are dropped too: RFC 5722 for IPv6 and Linux for both families
// discard such datagrams, and an overlap is how an attacker makes the
// reassembled header differ from the one policy judged. 64 KiB of datagram
// is 8192 units: 1 KiB of bitmap per slot, allocated up front.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "dataplane/classify/packet_key.h"

namespace tierwall::dp::engine {

class FragmentCache {
 public:
  FragmentCache(uint32_t capacity_pow2, uint64_t lifetime_ticks)
      : slots_(capacity_pow2),
        bits_(size_t{capacity_pow2} * kWords),
        mask_(capacity_pow2 - 1),
        lifetime_(lifetime_ticks) {}

  // Remembers the first fragment's flow (flow table handle) and the bytes
  // [0, length) it carries. False (the datagram is forgotten) when the
  // datagram's first fragment was already seen: the two overlap.
  bool Remember(const classify::PacketKey& k, uint32_t id, uint32_t flow, uint32_t length,
                uint64_t now) {
    const uint32_t i = Index(k, id);
    Slot& s = slots_[i];
    if (Matches(s, k, id, now)) {
      s.used = false;
      return false;
    }
    uint64_t* b = &bits_[size_t{i} * kWords];
    for (uint32_t w = 0; w < s.words; ++w) b[w] = 0;
    s = {k.src, k.dst, id, k.proto, flow, true, now, 0};
    return Claim(i, 0, length);
  }
  // The flow of the datagram's first fragment, or kNone.
  static constexpr uint32_t kNone = 0xffffffffu;
  uint32_t Find(const classify::PacketKey& k, uint32_t id, uint64_t now) const {
    const Slot& s = slots_[Index(k, id)];
    return Matches(s, k, id, now) ? s.flow : kNone;
  }
  // Forgets the datagram (its later fragments are then dropped).
  void Forget(const classify::PacketKey& k, uint32_t id) { slots_[Index(k, id)].used = false; }
  // Records a later fragment's bytes [offset, offset + length) of a datagram
  // Find found. False (the datagram is forgotten) when they overlap bytes
  // already seen.
  bool Add(const classify::PacketKey& k, uint32_t id, uint32_t offset, uint32_t length) {
    return Claim(Index(k, id), offset, length);
  }

 private:
  static constexpr uint32_t kWords = 65536 / 8 / 64;
  struct Slot {
    classify::IpAddr src, dst;
    uint32_t id = 0;
    uint8_t proto = 0;
    uint32_t flow = 0;
    bool used = false;
    uint64_t when = 0;
    uint32_t words = 0;  // bitmap words that may be non-zero
  };
  bool Matches(const Slot& s, const classify::PacketKey& k, uint32_t id, uint64_t now) const {
    return s.used && s.id == id && s.proto == k.proto && s.src == k.src && s.dst == k.dst &&
           now - s.when <= lifetime_;
  }
  bool Claim(uint32_t slot, uint32_t offset, uint32_t length) {
    Slot& s = slots_[slot];
    const uint32_t first = offset / 8;
    const uint32_t end = std::min<uint32_t>((offset + length + 7) / 8, kWords * 64);
    uint64_t* b = &bits_[size_t{slot} * kWords];
    for (uint32_t u = first; u < end; ++u) {
      const uint64_t bit = uint64_t{1} << (u % 64);
      if (b[u / 64] & bit) {
        s.used = false;
        return false;
      }
      b[u / 64] |= bit;
    }
    if (end != first) s.words = std::max(s.words, (end - 1) / 64 + 1);
    return true;
  }
  uint32_t Index(const classify::PacketKey& k, uint32_t id) const {
    uint64_t h = static_cast<uint64_t>(k.src.bits) * 0x9e3779b97f4a7c15ull ^
                 static_cast<uint64_t>(k.dst.bits) * 0xc2b2ae3d27d4eb4full ^ (uint64_t{id} << 8) ^
                 k.proto;
    return static_cast<uint32_t>(h ^ (h >> 29)) & mask_;
  }
  std::vector<Slot> slots_;
  std::vector<uint64_t> bits_;
  uint32_t mask_;
  uint64_t lifetime_;
};

}  // namespace tierwall::dp::engine
