#include "control/tierwalld/counter_slots.h"

#include "absl/strings/str_cat.h"
#include "dataplane/engine/counters.h"

namespace tierwall::ctl::daemon {

CounterSlots::CounterSlots() { slots_.push_back({"", "", false, 0, 0, ""}); }

absl::Status CounterSlots::Assign(dp::classify::Program* program) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, SlotInfo>> fresh;
  std::map<std::string, uint32_t> planned;
  auto slot_for = [&](const SlotInfo& info) -> uint32_t {
    std::string key = absl::StrCat(info.tier, "|", info.policy, "|", info.direction, "|",
                                   info.rule_index, "|", info.action);
    if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
    if (auto it = planned.find(key); it != planned.end()) return it->second;
    uint32_t slot = static_cast<uint32_t>(slots_.size() + fresh.size());
    planned.emplace(key, slot);
    fresh.emplace_back(key, info);
    return slot;
  };
  std::vector<std::array<uint32_t, 2>> assigned(program->rules.size());
  for (size_t r = 0; r < program->rules.size(); ++r) {
    const auto& rule = program->rules[r];
    const auto& policy = program->policies[rule.policy];
    for (int d = 0; d < 2; ++d) {
      assigned[r][d] = slot_for({program->tiers[rule.tier].name, policy.trace_name, policy.staged,
                                 d, rule.rule_index, dp::classify::RuleActionName(rule.action)});
    }
  }
  if (slots_.size() + fresh.size() > dp::engine::kMaxCounterSlots) {
    return absl::ResourceExhaustedError(absl::StrCat("counter slots exhausted (",
                                                     dp::engine::kMaxCounterSlots,
                                                     "); restart the daemon to compact them"));
  }
  for (auto& [key, info] : fresh) {
    by_key_.emplace(key, static_cast<uint32_t>(slots_.size()));
    slots_.push_back(std::move(info));
  }
  for (size_t r = 0; r < program->rules.size(); ++r) {
    program->rules[r].counter_slot[0] = assigned[r][0];
    program->rules[r].counter_slot[1] = assigned[r][1];
  }
  return absl::OkStatus();
}

}  // namespace tierwall::ctl::daemon
