// ProgramSlot: where workers find the current Program, and how the control
// thread replaces it without ever stopping them (RCU, DPDK's rte_rcu_qsbr).
//
// The contract, in one worked example. Worker 3 runs:
//     for (;;) {
//       const Program* p = slot.Acquire();   // once per burst
//       ... judge every packet of the burst with p ...
//       slot.Quiescent(3);                   // "I hold no Program pointer now"
//     }
// The control thread runs Publish(q): it stores q with one atomic release
// store (workers that Acquire after it see q), then waits until every online
// worker has reported Quiescent at least once since the store: from then on no
// worker can still hold the old pointer, so it is deleted. Each burst is
// judged by exactly one generation; workers never lock, never wait and never
// see a half-built program. A worker that stops polling (shutdown) goes
// Offline first, so Publish never waits for it.
//
// Thread safety: Acquire/Quiescent/Online/Offline from the worker owning the
// id; Publish from one control thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "dataplane/classify/program.h"

struct rte_rcu_qsbr;

namespace tierwall::dp::engine {

class ProgramSlot {
 public:
  explicit ProgramSlot(uint32_t max_workers);
  ~ProgramSlot();
  ProgramSlot(const ProgramSlot&) = delete;
  ProgramSlot& operator=(const ProgramSlot&) = delete;

  const classify::Program* Acquire() const { return current_.load(std::memory_order_acquire); }
  void Online(uint32_t worker);
  void Offline(uint32_t worker);
  void Quiescent(uint32_t worker);

  // Swaps in `next`, waits for the grace period, then drops the slot's
  // reference to the previous program (freed unless a control thread still
  // holds it through Current()). Returns once no worker uses the old one.
  void Publish(std::shared_ptr<const classify::Program> next);
  // The published program for control threads (live trace, flow logs): a
  // reference that keeps it alive past later publications. Never on the fast
  // path: it takes a mutex.
  std::shared_ptr<const classify::Program> Current() const;

 private:
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::atomic<const classify::Program*> current_{nullptr};
  // Owns what current_ points to; replaced only after the grace period.
  std::shared_ptr<const classify::Program> owned_;
  mutable std::mutex owned_mu_;
};

}  // namespace tierwall::dp::engine
