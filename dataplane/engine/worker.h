// Worker: one poll-mode loop per worker lcore.
//
// Life of a packet (see dataplane/README.md): rx burst of 32 -> parse ->
// admission (EtherTypes we do not forward are dropped; a known endpoint's
// source address only from its own port) -> ARP and IPv6 ND go straight to
// forwarding -> IP: fragments follow their first fragment (overlaps drop),
// ICMP errors follow the flow they quote when that flow can have caused
// them, everything else looks up its flow (a SYN in a flow's reply direction
// is a new connection): a hit follows the flow's verdict
// (re-judged first if the program changed and re-evaluation is on), a miss is
// judged by the current Program and inserted (fail closed when the table is
// full) -> counters on the slots of the policies that decided -> forwarded
// (bridge: learned MAC or flood; wire: the paired port) or dropped.
//
// Threading: a Worker is created on the main lcore and Run() on its own
// lcore; everything it writes (flow table, MAC table, counters, event queue
// producer side) belongs to it alone. It reads the Program through
// ProgramSlot once per burst and reports quiescence after each loop.
// No locks, no allocation, no syscalls on the fast path.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "dataplane/classify/program.h"
#include "dataplane/conntrack/flow_table.h"
#include "dataplane/engine/counters.h"
#include "dataplane/engine/flow_events.h"
#include "dataplane/engine/fragment_cache.h"
#include "dataplane/engine/mac_table.h"
#include "dataplane/engine/program_slot.h"
#include "dataplane/parse/packet_parser.h"

struct rte_mbuf;

namespace tierwall::dp::engine {

enum class ForwardMode { kBridge, kWire };

struct WorkerConfig {
  uint32_t id = 0;                                // 0-based; also the RCU thread id
  std::vector<std::pair<uint16_t, uint16_t>> rx;  // (port, queue) this worker polls
  std::vector<uint16_t> tx_queue;                 // by port: this worker's TX queue there
  uint16_t num_ports = 0;
  ForwardMode mode = ForwardMode::kBridge;
  // By port id: validate source addresses there (Program::CheckSource);
  // missing ports validate. Off only for a port that must carry other
  // endpoints' addresses (a mirror, a trunk whose endpoints are misnamed).
  std::vector<uint8_t> source_check;
  // EtherTypes other than IPv4, IPv6 and ARP that are forwarded (without
  // policy); every other one is dropped (ether_type_not_allowed).
  std::vector<uint16_t> pass_ether_types;
  bool reevaluate = true;
  size_t flows = 1 << 20;
  // Connection-tracking timeouts in seconds, by protocol and TCP state.
  struct Timeouts {
    double tcp_syn = 20, tcp_established = 3600, tcp_fin = 30, tcp_closed = 10;
    double udp = 60, icmp = 5, other = 600;
  } timeouts;
  // Test hook: stop receiving after this many packets until the program's
  // generation reaches resume_generation (makes "policy change after N
  // packets" exact in pcap replays).
  uint64_t pause_rx_after = UINT64_MAX;
  uint64_t resume_generation = 0;
  // A flow with packets since its last report is reported (a kUpdate flow
  // event) at most this often, so flow logs count long flows per interval.
  // 0: only new, re-judged and closed flows are reported.
  double report_interval_seconds = 0;
};

class Worker {
 public:
  // Returns null (and *error) when the flow table cannot be allocated.
  static std::unique_ptr<Worker> Create(const WorkerConfig& config, ProgramSlot* slot,
                                        std::string* error);

  // The lcore entry: polls until *stop, then goes offline and flushes.
  void Run(const std::atomic<bool>* stop);

  const WorkerCounters& counters() const { return counters_; }
  // Zeroes a rule slot's counts before the control thread hands the slot to
  // another rule; only while no published program references it (so this
  // worker does not write it, see control/tierwalld/counter_slots.h).
  void ResetRuleCounter(uint32_t slot) {
    std::atomic_ref<uint64_t>(counters_.rules[slot].packets).store(0, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(counters_.rules[slot].bytes).store(0, std::memory_order_relaxed);
  }
  FlowEventQueue& events() { return events_; }
  const conntrack::FlowTableStats& flow_stats() const { return flows_->stats(); }

 private:
  Worker(const WorkerConfig& config, ProgramSlot* slot,
         std::unique_ptr<conntrack::FlowTable> flows);

  void ProcessBurst(uint16_t port, rte_mbuf** pkts, uint16_t n, const classify::Program& p,
                    uint64_t now);
  // Checks that hold before any policy: the EtherType is one we forward, and
  // a known endpoint's source address arrives from where it lives. Returns
  // the drop reason, or EngineDrop::kCount to go on.
  EngineDrop Admit(uint16_t port, const rte_mbuf* m, const parse::ParsedPacket& pp,
                   const classify::Program& p) const;
  // Decides an IP packet: true to forward.
  bool JudgeIp(const parse::ParsedPacket& pp, uint32_t bytes, const classify::Program& p,
               uint64_t now);
  // Judges a new flow (or re-judges one) and collects its counter slots.
  bool Evaluate(const classify::PacketKey& key, const classify::Program& p,
                conntrack::PolicyIds* ids) const;
  void Count(const conntrack::FlowEntry& e, uint32_t bytes);
  void Count(const conntrack::PolicyIds& ids, uint32_t bytes);
  // A packet that belongs to a tracked flow without being one of its 5-tuple
  // packets (a later fragment, an ICMP error about it): re-judged first if
  // the program changed, counted, and given the flow's verdict.
  bool FollowFlow(conntrack::FlowHandle handle, uint32_t bytes, const classify::Program& p);
  // Judges the flow again if the program changed since it was judged and
  // re-evaluation is on.
  void RejudgeIfStale(conntrack::FlowHandle handle, const classify::Program& p);
  void Forward(uint16_t in_port, rte_mbuf* m, uint64_t now);
  void FlushTx();
  void Emit(FlowEventType type, const conntrack::FlowEntry& e);
  static void OnExpire(void* ctx, conntrack::FlowHandle, const conntrack::FlowEntry& e);
  static void OnReport(void* ctx, conntrack::FlowHandle handle, const conntrack::FlowEntry& e);

  WorkerConfig config_;
  ProgramSlot* slot_;
  std::unique_ptr<conntrack::FlowTable> flows_;
  MacTable macs_;
  FragmentCache fragments_;
  WorkerCounters counters_;
  FlowEventQueue events_;
  uint64_t tsc_hz_;
  uint64_t received_ = 0;
  // Pending transmissions, per output port.
  std::vector<std::vector<rte_mbuf*>> tx_;
};

}  // namespace tierwall::dp::engine
