#include "dataplane/engine/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <string>

namespace tierwall::dp::engine {

namespace {

constexpr uint16_t kBurst = 32;
constexpr size_t kSweepPerBurst = 64;

using classify::PacketKey;
using classify::PacketVerdict;
using classify::Program;
using classify::RuleAction;
using conntrack::Direction;
using conntrack::FlowEntry;
using conntrack::PolicyIds;

// The bytes of the datagram a fragment carries.
uint32_t FragmentBytes(const parse::ParsedPacket& pp) {
  return pp.l3_offset + pp.l3_length - pp.fragment_data_offset;
}

uint64_t MacAt(const uint8_t* p) {
  uint64_t mac = 0;
  for (int i = 0; i < 6; ++i) mac = (mac << 8) | p[i];
  return mac;
}

}  // namespace

std::unique_ptr<Worker> Worker::Create(const WorkerConfig& config, ProgramSlot* slot,
                                       std::string* error) {
  const double hz = static_cast<double>(rte_get_tsc_hz());
  const auto& t = config.timeouts;
  auto ticks = [hz](double seconds) { return static_cast<uint64_t>(seconds * hz); };
  conntrack::TimeoutConfig timeouts{ticks(t.tcp_syn), ticks(t.tcp_established),
                                    ticks(t.tcp_fin), ticks(t.tcp_closed),
                                    ticks(t.udp),     ticks(t.icmp),
                                    ticks(t.other)};
  auto flows = conntrack::FlowTable::Create(config.flows, timeouts,
                                            rte_rdtsc() ^ (uint64_t{config.id} << 32), error);
  if (!flows) return nullptr;
  return std::unique_ptr<Worker>(new Worker(config, slot, std::move(flows)));
}

Worker::Worker(const WorkerConfig& config, ProgramSlot* slot,
               std::unique_ptr<conntrack::FlowTable> flows)
    : config_(config),
      slot_(slot),
      flows_(std::move(flows)),
      macs_(4096, 300 * rte_get_tsc_hz()),
      fragments_(4096, 30 * rte_get_tsc_hz()),
      tsc_hz_(rte_get_tsc_hz()),
      tx_(config.num_ports) {
  for (auto& q : tx_) q.reserve(kBurst * 2);
  flows_->SetExpiryHook(&Worker::OnExpire, this);
  if (config.report_interval_seconds > 0) {
    flows_->SetReportHook(&Worker::OnReport, this,
                          static_cast<uint64_t>(config.report_interval_seconds * tsc_hz_));
  }
}

void Worker::Run(const std::atomic<bool>* stop) {
  slot_->Online(config_.id);
  rte_mbuf* pkts[kBurst];
  while (!stop->load(std::memory_order_relaxed)) {
    const Program* program = slot_->Acquire();
    const uint64_t now = rte_rdtsc();
    const bool paused =
        received_ >= config_.pause_rx_after && program->generation < config_.resume_generation;
    if (!paused) {
      for (const auto& [port, queue] : config_.rx) {
        uint16_t want = kBurst;
        if (config_.pause_rx_after != UINT64_MAX && program->generation < config_.resume_generation)
          want =
              static_cast<uint16_t>(std::min<uint64_t>(kBurst, config_.pause_rx_after - received_));
        if (want == 0) break;
        uint16_t n = rte_eth_rx_burst(port, queue, pkts, want);
        if (n == 0) continue;
        received_ += n;
        ProcessBurst(port, pkts, n, *program, now);
        FlushTx();  // at most one burst (a flood: one per port) is ever buffered
      }
    }
    flows_->Sweep(now, kSweepPerBurst);
    slot_->Quiescent(config_.id);
  }
  slot_->Offline(config_.id);
  FlushTx();
}

void Worker::ProcessBurst(uint16_t port, rte_mbuf** pkts, uint16_t n, const Program& p,
                          uint64_t now) {
  Bump(counters_.rx, n);
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    parse::ParsedPacket pp;
    parse::DropReason reason =
        parse::Parse(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), &pp);
    if (reason != parse::DropReason::kNone) {
      counters_.Drop(reason);
      rte_pktmbuf_free(m);
      continue;
    }
    if (EngineDrop why = Admit(port, m, pp, p); why != EngineDrop::kCount) {
      counters_.Drop(why);
      rte_pktmbuf_free(m);
      continue;
    }
    bool forward = true;  // ARP, passed EtherTypes and IPv6 ND: bridged without policy
    if ((pp.l3 == parse::L3::kIpv4 || pp.l3 == parse::L3::kIpv6) && !pp.is_ipv6_nd) {
      forward = JudgeIp(pp, rte_pktmbuf_pkt_len(m), p, now);
    }
    if (!forward) {
      rte_pktmbuf_free(m);
      continue;
    }
    Forward(port, m, now);
  }
}

EngineDrop Worker::Admit(uint16_t port, const rte_mbuf* m, const parse::ParsedPacket& pp,
                         const Program& p) const {
  if (pp.l3 == parse::L3::kOther) {
    for (uint16_t t : config_.pass_ether_types)
      if (t == pp.ether_type) return EngineDrop::kCount;
    return EngineDrop::kEtherTypeNotAllowed;
  }
  // IP and ARP (whose key.src is the sender's protocol address): a known
  // endpoint's address only from where that endpoint lives.
  if (port < config_.source_check.size() && !config_.source_check[port]) return EngineDrop::kCount;
  const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  if (p.CheckSource(pp.key.src, port, MacAt(eth + 6), config_.mode == ForwardMode::kBridge) !=
      classify::SourceCheck::kOk)
    return EngineDrop::kSpoofedSource;
  return EngineDrop::kCount;
}

bool Worker::Evaluate(const PacketKey& key, const Program& p, PolicyIds* ids) const {
  PacketVerdict v;
  p.Evaluate(key, &v);
  ids->enforced_count = ids->pending_count = 0;
  auto collect = [&](const classify::DirectionTrace& t, classify::PolicyDirection dir) {
    if (!t.evaluated) return;
    const int d = static_cast<int>(dir);
    for (uint8_t i = 0; i < t.enforced_count && ids->enforced_count < conntrack::kMaxPolicyIds; ++i)
      ids->enforced[ids->enforced_count++] = p.rules[t.enforced[i]].counter_slot[d];
    for (uint8_t i = 0; i < t.logged_count && ids->enforced_count < conntrack::kMaxPolicyIds; ++i)
      ids->enforced[ids->enforced_count++] = p.rules[t.logged[i]].counter_slot[d];
    // The whole pending trace goes to flow logs; only staged policies count
    // what they would have done (enforced ones are counted above).
    for (uint8_t i = 0; i < t.pending_count && ids->pending_count < conntrack::kMaxPolicyIds; ++i) {
      const auto& rule = p.rules[t.pending[i]];
      ids->pending[ids->pending_count++] =
          rule.counter_slot[d] | (p.policies[rule.policy].staged ? 0 : conntrack::kNotCountedBit);
    }
  };
  collect(v.egress, classify::PolicyDirection::kEgress);
  collect(v.ingress, classify::PolicyDirection::kIngress);
  return v.verdict == RuleAction::kAllow;
}

void Worker::Count(const FlowEntry& e, uint32_t bytes) { Count(e.policy_ids(), bytes); }

void Worker::Count(const PolicyIds& ids, uint32_t bytes) {
  for (uint8_t i = 0; i < ids.enforced_count; ++i) {
    RuleCounter& c = counters_.rules[ids.enforced[i]];
    Bump(c.packets);
    Bump(c.bytes, bytes);
  }
  for (uint8_t i = 0; i < ids.pending_count; ++i) {
    if (ids.pending[i] & conntrack::kNotCountedBit) continue;
    RuleCounter& c = counters_.rules[ids.pending[i]];
    Bump(c.packets);
    Bump(c.bytes, bytes);
  }
}

void Worker::RejudgeIfStale(conntrack::FlowHandle handle, const Program& p) {
  const FlowEntry& e = flows_->entry(handle);
  if (!config_.reevaluate || e.generation == p.generation) return;
  PolicyIds ids;
  bool allowed = Evaluate(e.OriginalKey(), p, &ids);
  flows_->SetVerdict(handle, allowed ? conntrack::Verdict::kAllow : conntrack::Verdict::kDeny,
                     p.generation, ids);
  Emit(FlowEventType::kReverdict, e);
}

bool Worker::FollowFlow(conntrack::FlowHandle handle, uint32_t bytes, const Program& p) {
  const FlowEntry& e = flows_->entry(handle);
  RejudgeIfStale(handle, p);
  Count(e, bytes);
  bool allowed = e.verdict == conntrack::Verdict::kAllow;
  if (!allowed) counters_.Drop(EngineDrop::kPolicyDeny);
  return allowed;
}

bool Worker::JudgeIp(const parse::ParsedPacket& pp, uint32_t bytes, const Program& p,
                     uint64_t now) {
  // Non-first fragments carry no ports: they follow their first fragment's flow.
  if (pp.is_fragment && !pp.is_first_fragment) {
    uint32_t flow = fragments_.Find(pp.key, pp.fragment_id, now);
    if (flow == FragmentCache::kNone || !flows_->IsLive(flow)) {
      counters_.Drop(EngineDrop::kNonFirstFragment);
      return false;
    }
    if (!fragments_.Add(pp.key, pp.fragment_id, pp.fragment_offset, FragmentBytes(pp))) {
      counters_.Drop(EngineDrop::kOverlappingFragment);
      return false;
    }
    return FollowFlow(flow, bytes, p);
  }
  // A second first fragment of a datagram overlaps the first one.
  if (pp.is_fragment && fragments_.Find(pp.key, pp.fragment_id, now) != FragmentCache::kNone) {
    fragments_.Forget(pp.key, pp.fragment_id);
    counters_.Drop(EngineDrop::kOverlappingFragment);
    return false;
  }
  // An ICMP error follows the flow it quotes only when that flow can have
  // caused it (conntrack::FlowTable::LookupIcmpError: back to the quoted
  // packet's sender, bounded length) and it does not come from a workload
  // outside that flow (workloads are not routers on its path); any other
  // error is judged by policy like any packet.
  if (pp.is_icmp_error && pp.has_inner) {
    const uint32_t from = p.endpoint_index.Find(pp.key.src);
    const bool foreign_workload = from != classify::kNoEndpoint && p.endpoints[from].workload &&
                                  !(pp.key.src == pp.inner_key.dst);
    if (!foreign_workload) {
      conntrack::LookupResult related =
          flows_->LookupIcmpError(pp.key, pp.l3_length, pp.inner_key, now);
      if (related.hit()) return FollowFlow(related.handle, bytes, p);
    }
  }

  conntrack::LookupResult hit = flows_->Lookup(pp.key, now);
  conntrack::FlowHandle handle = hit.handle;
  if (hit.hit()) {
    RejudgeIfStale(handle, p);
    if (flows_->UpdateOnPacket(handle, hit.direction, pp.tcp_flags, bytes, now) ==
        conntrack::UpdateResult::kStale) {
      flows_->Remove(handle);  // a new connection the other way: judge it afresh
      handle = conntrack::kNoFlow;
    }
  }
  if (handle == conntrack::kNoFlow) {
    PolicyIds ids;
    bool allowed = Evaluate(pp.key, p, &ids);
    if (pp.is_icmp_error) {  // an error about no flow we know: judged, never tracked
      Count(ids, bytes);
      if (!allowed) counters_.Drop(EngineDrop::kPolicyDeny);
      return allowed;
    }
    conntrack::InsertResult ins = flows_->Insert(
        pp.key, now, allowed ? conntrack::Verdict::kAllow : conntrack::Verdict::kDeny, p.generation,
        ids);
    if (ins.status == conntrack::InsertStatus::kTableFull) {
      counters_.Drop(EngineDrop::kFlowTableFull);
      return false;
    }
    handle = ins.handle;
    flows_->UpdateOnPacket(handle, Direction::kOriginal, pp.tcp_flags, bytes, now);
    Bump(counters_.flows_created);
    Emit(FlowEventType::kNew, flows_->entry(handle));
  }
  const FlowEntry& e = flows_->entry(handle);
  Count(e, bytes);
  bool allowed = e.verdict == conntrack::Verdict::kAllow;
  if (pp.is_fragment) fragments_.Remember(pp.key, pp.fragment_id, handle, FragmentBytes(pp), now);
  if (!allowed) counters_.Drop(EngineDrop::kPolicyDeny);
  return allowed;
}

void Worker::Forward(uint16_t in_port, rte_mbuf* m, uint64_t now) {
  if (config_.mode == ForwardMode::kWire) {
    uint16_t out = in_port ^ 1;
    if (out >= config_.num_ports) {
      counters_.Drop(EngineDrop::kNoPeerPort);
      rte_pktmbuf_free(m);
      return;
    }
    tx_[out].push_back(m);
    return;
  }
  const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  uint64_t src = MacAt(eth + 6), dst = MacAt(eth);
  if (!(eth[6] & 1)) macs_.Learn(src, in_port, now);  // never learn group addresses
  uint16_t out = (eth[0] & 1) ? MacTable::kUnknown : macs_.Find(dst, now);
  if (out == in_port) {  // the destination lives behind the port it came from
    rte_pktmbuf_free(m);
    return;
  }
  if (out != MacTable::kUnknown) {
    tx_[out].push_back(m);
    return;
  }
  // Flood: every port but the one it came in on, sharing the mbuf.
  uint16_t copies = config_.num_ports > 1 ? config_.num_ports - 1 : 0;
  if (copies == 0) {
    rte_pktmbuf_free(m);
    return;
  }
  rte_mbuf_refcnt_update(m, static_cast<int16_t>(copies - 1));
  for (uint16_t p = 0; p < config_.num_ports; ++p)
    if (p != in_port) tx_[p].push_back(m);
}

void Worker::FlushTx() {
  for (uint16_t port = 0; port < tx_.size(); ++port) {
    auto& q = tx_[port];
    if (q.empty()) continue;
    uint16_t sent = 0;
    // A few retries absorb a momentarily full ring; then drop, never wait.
    for (int tries = 0; tries < 4 && sent < q.size(); ++tries)
      sent += rte_eth_tx_burst(port, config_.tx_queue[port], q.data() + sent,
                               static_cast<uint16_t>(q.size() - sent));
    Bump(counters_.forwarded, sent);
    for (size_t i = sent; i < q.size(); ++i) {
      counters_.Drop(EngineDrop::kTxFull);
      rte_pktmbuf_free(q[i]);
    }
    q.clear();
  }
}

void Worker::Emit(FlowEventType type, const FlowEntry& e) {
  FlowEvent ev{};
  ev.type = type;
  ev.allowed = e.verdict == conntrack::Verdict::kAllow;
  ev.worker = static_cast<uint16_t>(config_.id);
  ev.generation = e.generation;
  ev.packets[0] = e.packets[0];
  ev.packets[1] = e.packets[1];
  ev.bytes[0] = e.bytes[0];
  ev.bytes[1] = e.bytes[1];
  ev.key = e.OriginalKey();
  ev.policies = e.policy_ids();
  if (!events_.push(ev)) Bump(counters_.events_lost);
}

void Worker::OnExpire(void* ctx, conntrack::FlowHandle, const FlowEntry& e) {
  static_cast<Worker*>(ctx)->Emit(FlowEventType::kClose, e);
}

void Worker::OnReport(void* ctx, conntrack::FlowHandle, const FlowEntry& e) {
  static_cast<Worker*>(ctx)->Emit(FlowEventType::kUpdate, e);
}

}  // namespace tierwall::dp::engine
