// Per-worker counters. Each worker writes only its own WorkerCounters (no
// shared writes on the fast path); readers sum across workers. Counters are
// written with relaxed atomic stores of a plain add (no lock prefix), so a
// concurrent reader sees a value that is old but never torn.
//
// Rule counters are indexed by a stable *counter slot* (RuleMeta's
// counter_slot, assigned by the daemon's slot registry), not by rule instance
// id, so a policy's counts survive updates that do not change it.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/parse/packet_parser.h"

namespace tierwall::dp::engine {

inline constexpr uint32_t kMaxCounterSlots = 1 << 16;

// Drops by reason: every parser reason, then the engine's own.
enum class EngineDrop : uint8_t {
  kPolicyDeny = 0,
  kFlowTableFull,
  kNonFirstFragment,
  kTxFull,
  kNoPeerPort,
  kSpoofedSource,        // a known endpoint's address from the wrong port or MAC
  kEtherTypeNotAllowed,  // neither IP, ARP nor a --pass-ether-type
  kOverlappingFragment,  // overlaps an earlier fragment of its datagram
  kCount
};
inline constexpr int kParseDropCount = static_cast<int>(parse::DropReason::kCount);
inline constexpr int kDropCount = kParseDropCount + static_cast<int>(EngineDrop::kCount);
const char* DropName(int index);  // parser names, then policy_deny, flow_table_full, ...

inline void Bump(uint64_t& c, uint64_t by = 1) {
  std::atomic_ref<uint64_t> ref(c);
  ref.store(ref.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline uint64_t Read(const uint64_t& c) {
  return std::atomic_ref<const uint64_t>(c).load(std::memory_order_relaxed);
}

struct RuleCounter {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct alignas(64) WorkerCounters {
  uint64_t rx = 0;
  uint64_t forwarded = 0;
  uint64_t dropped = 0;
  uint64_t flows_created = 0;
  uint64_t events_lost = 0;  // flow events the SPSC queue had no room for
  uint64_t drops[kDropCount] = {};
  std::vector<RuleCounter> rules = std::vector<RuleCounter>(kMaxCounterSlots);

  void Drop(parse::DropReason r) {
    Bump(drops[static_cast<int>(r)]);
    Bump(dropped);
  }
  void Drop(EngineDrop r) {
    Bump(drops[kParseDropCount + static_cast<int>(r)]);
    Bump(dropped);
  }
};

}  // namespace tierwall::dp::engine
