#include "dataplane/engine/program_slot.h"

#include <rte_rcu_qsbr.h>

#include <cstdlib>
#include <new>
#include <utility>

namespace tierwall::dp::engine {

ProgramSlot::ProgramSlot(uint32_t max_workers) {
  size_t size = rte_rcu_qsbr_get_memsize(max_workers);
  // The QSBR variable needs cache-line alignment only, not DPDK memory: plain
  // aligned allocation keeps it usable before and without hugepages.
  size = (size + RTE_CACHE_LINE_SIZE - 1) / RTE_CACHE_LINE_SIZE * RTE_CACHE_LINE_SIZE;
  qsbr_ = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(RTE_CACHE_LINE_SIZE, size));
  if (!qsbr_ || rte_rcu_qsbr_init(qsbr_, max_workers) != 0) throw std::bad_alloc();
}

ProgramSlot::~ProgramSlot() {
  current_.store(nullptr);  // owned_ frees the program
  std::free(qsbr_);
}

void ProgramSlot::Online(uint32_t worker) {
  rte_rcu_qsbr_thread_register(qsbr_, worker);
  rte_rcu_qsbr_thread_online(qsbr_, worker);
}

void ProgramSlot::Offline(uint32_t worker) {
  rte_rcu_qsbr_thread_offline(qsbr_, worker);
  rte_rcu_qsbr_thread_unregister(qsbr_, worker);
}

void ProgramSlot::Quiescent(uint32_t worker) { rte_rcu_qsbr_quiescent(qsbr_, worker); }

void ProgramSlot::Publish(std::shared_ptr<const classify::Program> next) {
  const classify::Program* old = current_.exchange(next.get(), std::memory_order_acq_rel);
  if (old) {
    uint64_t token = rte_rcu_qsbr_start(qsbr_);
    rte_rcu_qsbr_check(qsbr_, token, true);  // waits for every online worker
  }
  std::shared_ptr<const classify::Program> previous;
  {
    std::lock_guard<std::mutex> lock(owned_mu_);
    previous = std::exchange(owned_, std::move(next));
  }
  // `previous` is released here, outside the lock: freeing a large program
  // must not hold up Current().
}

std::shared_ptr<const classify::Program> ProgramSlot::Current() const {
  std::lock_guard<std::mutex> lock(owned_mu_);
  return owned_;
}

}  // namespace tierwall::dp::engine
