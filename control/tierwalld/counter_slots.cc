#include "control/tierwalld/counter_slots.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::daemon {
namespace {

// Former owners remembered per slot, for naming flow events of old flows.
constexpr size_t kOwnersKept = 4;

}  // namespace

CounterSlots::CounterSlots(uint32_t capacity, bool reuse)
    : capacity_(std::max<uint32_t>(capacity, 1)), reuse_(reuse) {
  key_of_.push_back("");
  slots_.push_back({"", "", false, 0, 0, ""});
  owners_.emplace_back();
  in_use_.push_back(false);
  retired_.push_back(false);
}

void CounterSlots::SetResetHook(std::function<void(uint32_t slot)> hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  reset_ = std::move(hook);
}

CounterSlots::Plan CounterSlots::PlanFor(const dp::classify::Program& program) const {
  Plan plan;
  std::set<uint32_t> reclaimed;
  plan.keys.resize(program.rules.size());
  for (size_t r = 0; r < program.rules.size(); ++r) {
    const auto& rule = program.rules[r];
    const auto& policy = program.policies[rule.policy];
    for (int d = 0; d < 2; ++d) {
      SlotInfo info{program.tiers[rule.tier].name,
                    policy.trace_name,
                    policy.staged,
                    d,
                    rule.rule_index,
                    dp::classify::RuleActionName(rule.action)};
      std::string key = absl::StrCat(info.tier, "|", info.policy, "|", info.direction, "|",
                                     info.rule_index, "|", info.action);
      if (auto it = by_key_.find(key); it != by_key_.end()) {
        if (retired_[it->second]) reclaimed.insert(it->second);
      } else {
        plan.fresh.emplace(key, std::move(info));
      }
      plan.keys[r][d] = std::move(key);
    }
  }
  plan.reclaimed = reclaimed.size();
  return plan;
}

size_t CounterSlots::Available(const Plan& plan) const {
  size_t never_used = capacity_ - slots_.size();
  return never_used + (reuse_ ? retired_count_ - plan.reclaimed : 0);
}

absl::Status CounterSlots::Exhausted(const Plan& plan) const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "counter slots exhausted: the program needs ", plan.fresh.size(),
      " new rule counter slots (one per rule and direction) and ", Available(plan), " of the ",
      capacity_ - 1, " slots (limit ", capacity_, ") are free",
      reuse_ ? "" : " (--reevaluate off: slots of deleted rules are reused only after a restart)",
      "; remove rules first"));
}

absl::Status CounterSlots::CheckFits(const dp::classify::Program& program) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Plan plan = PlanFor(program);
  if (plan.fresh.size() > Available(plan)) return Exhausted(plan);
  return absl::OkStatus();
}

uint32_t CounterSlots::TakeSlot() {
  if (slots_.size() < capacity_) {
    key_of_.emplace_back();
    slots_.emplace_back();
    owners_.emplace_back();
    in_use_.push_back(false);
    retired_.push_back(false);
    return static_cast<uint32_t>(slots_.size() - 1);
  }
  // The oldest retired slot (Available() said there is one).
  while (!retired_[retired_order_.front()]) retired_order_.pop_front();
  uint32_t slot = retired_order_.front();
  retired_order_.pop_front();
  retired_[slot] = false;
  --retired_count_;
  by_key_.erase(key_of_[slot]);
  if (reset_) reset_(slot);
  return slot;
}

absl::Status CounterSlots::Assign(dp::classify::Program* program) {
  std::lock_guard<std::mutex> lock(mutex_);
  Plan plan = PlanFor(*program);
  if (plan.fresh.size() > Available(plan)) return Exhausted(plan);
  // Retired slots the program takes back are no longer up for reuse.
  for (const auto& keys : plan.keys) {
    for (const std::string& key : keys) {
      auto it = by_key_.find(key);
      if (it == by_key_.end() || !retired_[it->second]) continue;
      retired_[it->second] = false;
      --retired_count_;
    }
  }
  for (auto& [key, info] : plan.fresh) {
    uint32_t slot = TakeSlot();
    by_key_.emplace(key, slot);
    key_of_[slot] = key;
    slots_[slot] = info;
    std::vector<Owner>& owners = owners_[slot];
    if (owners.size() == kOwnersKept) owners.erase(owners.begin());
    owners.push_back({program->generation, std::move(info)});
  }
  for (size_t r = 0; r < program->rules.size(); ++r) {
    for (int d = 0; d < 2; ++d) program->rules[r].counter_slot[d] = by_key_.at(plan.keys[r][d]);
  }
  return absl::OkStatus();
}

void CounterSlots::Published(const dp::classify::Program& program) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<bool> used(slots_.size(), false);
  for (const auto& rule : program.rules) {
    used[rule.counter_slot[0]] = true;
    used[rule.counter_slot[1]] = true;
  }
  used[0] = false;
  in_use_count_ = 0;
  for (uint32_t slot = 1; slot < slots_.size(); ++slot) {
    if (in_use_[slot] && !used[slot] && !retired_[slot]) {
      retired_[slot] = true;
      ++retired_count_;
      retired_order_.push_back(slot);
    }
    in_use_[slot] = used[slot];
    in_use_count_ += used[slot];
  }
}

const SlotInfo& CounterSlots::NameAt(uint32_t slot, uint64_t generation) const {
  if (slot >= owners_.size()) return slots_[0];
  const std::vector<Owner>& owners = owners_[slot];
  for (auto it = owners.rbegin(); it != owners.rend(); ++it) {
    if (it->since <= generation) return it->info;
  }
  return slots_[0];
}

}  // namespace tierwall::ctl::daemon
