// MacTable: the transparent bridge's learned station table, one per worker
// (each worker learns from the frames it sees; no sharing, no locks). Fixed
// size, open addressing, entries age out; a full table simply stops
// learning, and unknown destinations are flooded, as a switch does.
#pragma once

#include <cstdint>
#include <vector>

namespace tierwall::dp::engine {

class MacTable {
 public:
  static constexpr uint16_t kUnknown = 0xffff;

  MacTable(uint32_t capacity_pow2, uint64_t ageing_ticks)
      : slots_(capacity_pow2), mask_(capacity_pow2 - 1), ageing_(ageing_ticks) {}

  void Learn(uint64_t mac, uint16_t port, uint64_t now) {
    for (uint32_t i = Hash(mac), n = 0; n < 8; ++n, i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.mac == mac || s.mac == 0 || now - s.last_seen > ageing_) {
        s = {mac, port, now};
        return;
      }
    }
  }
  uint16_t Find(uint64_t mac, uint64_t now) const {
    for (uint32_t i = Hash(mac), n = 0; n < 8; ++n, i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.mac == mac) return now - s.last_seen > ageing_ ? kUnknown : s.port;
      if (s.mac == 0) return kUnknown;
    }
    return kUnknown;
  }

 private:
  struct Slot {
    uint64_t mac = 0;  // 48-bit address; 0 = empty
    uint16_t port = 0;
    uint64_t last_seen = 0;
  };
  uint32_t Hash(uint64_t mac) const {
    return static_cast<uint32_t>((mac * 0x9e3779b97f4a7c15ull) >> 40) & mask_;
  }
  std::vector<Slot> slots_;
  uint32_t mask_;
  uint64_t ageing_;
};

}  // namespace tierwall::dp::engine
