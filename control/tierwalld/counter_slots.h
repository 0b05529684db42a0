// CounterSlots: stable counter slot numbers for rule instances, so counters
// survive program updates. A slot is keyed by what a user would call "the
// same rule": (tier, policy name, direction, rule index, action); an update
// that leaves a rule alone keeps its slot and its counts. Slot 0 is reserved
// ("not assigned"); slots 1 .. capacity-1 are handed out.
//
// Reclaiming. A slot is in use while the published program references it.
// When a publication leaves a slot unreferenced (its rule was deleted or
// changed), the slot is retired: it keeps its rule's name and counts, and the
// rule gets it back if it returns. New rules take never-used slots first and
// only then the oldest retired one; the reset hook zeroes its counts (every
// worker's) before the program that reuses it is published.
//
// Why a reused slot's counts stay clean: workers count a packet on the slots
// its flow remembers, and with --reevaluate on a flow judged by an older
// generation is re-judged (and takes the current program's slots) before its
// packet is counted, so after a publication's grace period no worker writes a
// slot the published program does not reference: the reset races with no
// writer. With --reevaluate off a flow keeps counting on the slots that judged
// it for as long as it lives, so a retired slot may still be written: the
// daemon then turns reuse off (`reuse` = false), and a change that needs more
// slots than were never used is refused (CheckFits) until a restart compacts
// them. Flow events carry the generation that judged the flow; NameAt names a
// slot as it was at that generation (the last few owners are remembered).
//
// The capacity is a hard limit: CheckFits says, before a change is committed,
// whether its program would get its slots, so an accepted change always
// publishes (and a stored state always fits a fresh daemon).
//
// Thread safety: CheckFits, Assign and Published from the publishing thread
// (one at a time); readers (stats, telemetry, flow logs) hold mutex() while
// they use slots() or NameAt().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/classify/program.h"
#include "dataplane/engine/counters.h"

namespace tierwall::ctl::daemon {

struct SlotInfo {
  std::string tier;
  std::string policy;  // trace name, e.g. "hipstershop/app-hipstershop.frontend"
  bool staged = false;
  int direction = 0;  // dp::classify::PolicyDirection
  int32_t rule_index = 0;
  std::string action;  // "allow" | "deny" | "pass" | "log"
};

class CounterSlots {
 public:
  explicit CounterSlots(uint32_t capacity = dp::engine::kMaxCounterSlots, bool reuse = true);

  // Whether `program` could be assigned now, next to the published program:
  // OK, or RESOURCE_EXHAUSTED naming the limit and what the program needs.
  absl::Status CheckFits(const dp::classify::Program& program) const;
  // Fills every RuleMeta::counter_slot of `program` (to be published next;
  // its `generation` must be set). Fails as CheckFits does, and then changes
  // nothing. Reused slots are reset through the reset hook before it returns.
  absl::Status Assign(dp::classify::Program* program);
  // `program` (assigned by the last Assign) now runs on every worker: slots
  // only the previously published program used are retired.
  void Published(const dp::classify::Program& program);
  // Called (under the publishing thread, with no worker writing the slot)
  // with each slot about to be reused, to zero its counts.
  void SetResetHook(std::function<void(uint32_t slot)> hook);

  // The current owner of every slot handed out so far (index = slot).
  const std::vector<SlotInfo>& slots() const { return slots_; }
  // The owner of `slot` as of program `generation` (for flow events, which
  // may come from flows judged before the slot was reused); slot 0's empty
  // info when no remembered owner fits.
  const SlotInfo& NameAt(uint32_t slot, uint64_t generation) const;
  // Slots referenced by the published program.
  size_t in_use() const { return in_use_count_; }
  uint32_t capacity() const { return capacity_; }
  std::mutex& mutex() const { return mutex_; }

 private:
  struct Owner {
    uint64_t since = 0;  // the first generation that counted on it for this owner
    SlotInfo info;
  };
  struct Plan {
    std::vector<std::array<std::string, 2>> keys;  // per rule and direction
    std::map<std::string, SlotInfo> fresh;         // keys without a slot
    size_t reclaimed = 0;                          // retired slots the program takes back
  };
  Plan PlanFor(const dp::classify::Program& program) const;
  size_t Available(const Plan& plan) const;
  absl::Status Exhausted(const Plan& plan) const;
  uint32_t TakeSlot();

  const uint32_t capacity_;
  const bool reuse_;
  std::function<void(uint32_t)> reset_;
  std::map<std::string, uint32_t> by_key_;  // live and retired owners
  std::vector<std::string> key_of_;         // index = slot
  std::vector<SlotInfo> slots_;
  std::vector<std::vector<Owner>> owners_;  // index = slot; oldest first, a few kept
  std::vector<bool> in_use_, retired_;
  size_t in_use_count_ = 0, retired_count_ = 0;
  std::deque<uint32_t> retired_order_;  // oldest first; entries no longer retired are skipped
  mutable std::mutex mutex_;
};

}  // namespace tierwall::ctl::daemon
