// CounterSlots: stable counter slot numbers for rule instances, so counters
// survive program updates. A slot is keyed by what a user would call "the
// same rule": (tier, policy name, direction, rule index, action); an update
// that leaves a rule alone keeps its slot and its counts. Slots are never
// reused; slot 0 is reserved ("not assigned").
//
// Thread safety: Assign from the control thread; readers (stats, telemetry)
// hold mutex() while they walk slots().
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/classify/program.h"

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
  CounterSlots();
  // Fills every RuleMeta::counter_slot of `program`. Fails (and leaves the
  // program unassigned) when the slot space is exhausted.
  absl::Status Assign(dp::classify::Program* program);
  const std::vector<SlotInfo>& slots() const { return slots_; }
  std::mutex& mutex() const { return mutex_; }

 private:
  std::map<std::string, uint32_t> by_key_;
  std::vector<SlotInfo> slots_;
  mutable std::mutex mutex_;
};

}  // namespace tierwall::ctl::daemon
