#include "control/tierwalld/observability.h"

#include <iostream>

#include "dataplane/engine/counters.h"

namespace tierwall::ctl::daemon {

absl::StatusOr<std::unique_ptr<Observability>> Observability::Create(
    const ObservabilityConfig& config, const CounterSlots* slots) {
  std::unique_ptr<Observability> o(new Observability(config, slots));
  if (!config.flow_log_dir.empty()) {
    flowlog::FlowLogWriterOptions options;
    options.directory = config.flow_log_dir;
    options.max_file_bytes = config.flow_log_max_bytes;
    options.max_files = config.flow_log_max_files;
    auto writer = flowlog::FlowLogWriter::Open(options);
    if (!writer.ok()) return writer.status();
    o->writer_ = std::move(*writer);
  }
  return o;
}

Observability::Observability(const ObservabilityConfig& config, const CounterSlots* slots)
    : config_(config),
      slots_(slots),
      directory_(std::make_shared<flowlog::EndpointDirectory>()),
      aggregator_(flowlog::AggregatorConfig{config.aggregation_allowed, config.aggregation_denied}),
      history_(config.history_records) {}

void Observability::SetEndpoints(const model::ResourceSet& resources) {
  auto next = std::make_shared<const flowlog::EndpointDirectory>(resources);
  std::lock_guard<std::mutex> lock(directory_mu_);
  directory_ = std::move(next);
}

void Observability::OnEvent(const dp::engine::FlowEvent& e, int64_t now) {
  using Kind = flowlog::FlowObservation::Kind;
  flowlog::FlowObservation o;
  o.kind = e.type == dp::engine::FlowEventType::kNew ? Kind::kStart
           : e.type == dp::engine::FlowEventType::kClose
               ? Kind::kEnd
               : Kind::kReverdict;  // re-judged or a periodic update: new totals
  o.allowed = e.allowed;
  o.src = e.key.src;
  o.dst = e.key.dst;
  o.src_port = e.key.src_port;
  o.dst_port = e.key.dst_port;
  o.proto = e.key.proto;
  for (int i = 0; i < 2; ++i) {
    o.packets[i] = e.packets[i];
    o.bytes[i] = e.bytes[i];
  }
  {
    // Slots are reused once no program references them: a slot names the
    // rule it counted for in the generation that judged the flow.
    std::lock_guard<std::mutex> lock(slots_->mutex());
    auto hit = [&](uint32_t slot) {
      const SlotInfo& info = slots_->NameAt(slot & ~dp::conntrack::kNotCountedBit, e.generation);
      return flowlog::PolicyHit{info.tier, info.policy, info.action, info.rule_index,
                                info.direction == 0};
    };
    for (uint8_t i = 0; i < e.policies.enforced_count; ++i)
      o.enforced.push_back(hit(e.policies.enforced[i]));
    for (uint8_t i = 0; i < e.policies.pending_count; ++i)
      o.pending.push_back(hit(e.policies.pending[i]));
  }
  std::shared_ptr<const flowlog::EndpointDirectory> directory;
  {
    std::lock_guard<std::mutex> lock(directory_mu_);
    directory = directory_;
  }
  aggregator_.Add(o, *directory, now);
  lost_records_.store(aggregator_.lost_records(), std::memory_order_relaxed);
}

void Observability::Tick(int64_t now, const std::vector<flowlog::RuleTotal>& totals) {
  series_.Sample(now, totals);
  if (next_flush_ == 0) next_flush_ = now + config_.flush_seconds;
  if (now >= next_flush_) {
    Flush(now);
    next_flush_ = now + config_.flush_seconds;
  }
}

void Observability::Flush(int64_t now) {
  std::vector<flowlog::FlowRecord> records = aggregator_.Flush(now);
  if (records.empty()) return;
  if (writer_) {
    if (absl::Status s = writer_->Write(records); !s.ok() && write_errors_++ == 0) {
      // Once: a full disk must not flood the log; the records stay queryable.
      std::cerr << "tierwalld: flow log: " << s.message() << "\n";
    }
  }
  records_written_.fetch_add(records.size(), std::memory_order_relaxed);
  history_.Append(records);
}

api::CountersData ReadCounters(const StatsSources& s) {
  using dp::engine::Read;
  api::CountersData out;
  out.generation = s.generation.load();
  uint64_t drops[dp::engine::kDropCount] = {};
  for (const auto& w : *s.workers) {
    const auto& c = w->counters();
    out.received += Read(c.rx);
    out.forwarded += Read(c.forwarded);
    out.dropped += Read(c.dropped);
    for (int i = 0; i < dp::engine::kDropCount; ++i) drops[i] += Read(c.drops[i]);
    out.active_flows += w->flow_stats().active;
  }
  for (int i = 1; i < dp::engine::kDropCount; ++i)  // 0 is "no drop"
    out.drops.emplace_back(dp::engine::DropName(i), drops[i]);
  std::lock_guard<std::mutex> lock(s.slots->mutex());
  const auto& slots = s.slots->slots();
  for (uint32_t slot = 1; slot < slots.size(); ++slot) {
    const SlotInfo& info = slots[slot];
    api::RuleCounterData r;
    r.slot = slot;
    r.tier = info.tier;
    r.policy = info.policy;
    r.staged = info.staged;
    r.ingress = info.direction == 0;
    r.rule_index = info.rule_index;
    r.action = info.action;
    for (const auto& w : *s.workers) {
      r.packets += Read(w->counters().rules[slot].packets);
      r.bytes += Read(w->counters().rules[slot].bytes);
    }
    out.rules.push_back(std::move(r));
  }
  return out;
}

}  // namespace tierwall::ctl::daemon
