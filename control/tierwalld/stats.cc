#include "control/tierwalld/stats.h"

#include <rte_ethdev.h>

#include <map>

namespace tierwall::ctl::daemon {

using dp::engine::Read;

nlohmann::ordered_json StatsJson(const StatsSources& s) {
  nlohmann::ordered_json j;
  j["generation"] = s.generation.load();

  uint64_t rx = 0, forwarded = 0, dropped = 0, created = 0, lost = 0;
  uint64_t drops[dp::engine::kDropCount] = {};
  uint64_t active = 0, expired = 0, table_full = 0;
  for (const auto& w : *s.workers) {
    const auto& c = w->counters();
    rx += Read(c.rx);
    forwarded += Read(c.forwarded);
    dropped += Read(c.dropped);
    created += Read(c.flows_created);
    lost += Read(c.events_lost);
    for (int i = 0; i < dp::engine::kDropCount; ++i) drops[i] += Read(c.drops[i]);
    const auto& f = w->flow_stats();
    active += f.active;
    expired += f.expired;
    table_full += f.table_full;
  }
  j["packets"] = {{"received", rx}, {"forwarded", forwarded}, {"dropped", dropped}};
  nlohmann::ordered_json d = nlohmann::ordered_json::object();
  for (int i = 0; i < dp::engine::kDropCount; ++i) {
    if (i == 0) continue;  // parse::DropReason::kNone
    d[dp::engine::DropName(i)] = drops[i];
  }
  j["drops"] = d;

  nlohmann::ordered_json ports = nlohmann::ordered_json::array();
  for (const auto& p : *s.ports) {
    rte_eth_stats st{};
    rte_eth_stats_get(p.id, &st);
    ports.push_back({{"port", p.id},
                     {"name", p.name},
                     {"rx", st.ipackets},
                     {"tx", st.opackets},
                     {"rx_queues", p.rx_queues},
                     {"tx_queues", p.tx_queues}});
  }
  j["ports"] = ports;
  j["flows"] = {{"active", active},    {"created", created},
                {"expired", expired},  {"table_full", table_full},
                {"events_lost", lost}, {"events_written", s.events_written.load()}};

  // Per policy: sums by direction and action, and each rule slot.
  std::lock_guard<std::mutex> lock(s.slots->mutex());
  const auto& slots = s.slots->slots();
  std::vector<std::string> order;
  std::map<std::string, nlohmann::ordered_json> policies;
  const char* kDirs[2] = {"ingress", "egress"};
  for (uint32_t slot = 1; slot < slots.size(); ++slot) {
    const SlotInfo& info = slots[slot];
    uint64_t packets = 0, bytes = 0;
    for (const auto& w : *s.workers) {
      packets += Read(w->counters().rules[slot].packets);
      bytes += Read(w->counters().rules[slot].bytes);
    }
    auto [it, fresh] = policies.try_emplace(info.policy);
    nlohmann::ordered_json& p = it->second;
    if (fresh) {
      order.push_back(info.policy);
      p["name"] = info.policy;
      p["tier"] = info.tier;
      p["staged"] = info.staged;
      for (const char* dir : kDirs)
        for (const char* action : {"allow", "deny", "pass", "log"})
          p[dir][action] = {{"packets", 0}, {"bytes", 0}};
      p["rules"] = nlohmann::ordered_json::array();
    }
    if (packets == 0) continue;  // a rule slot that never matched: keep the file short
    auto& agg = p[kDirs[info.direction]][info.action];
    agg["packets"] = agg["packets"].get<uint64_t>() + packets;
    agg["bytes"] = agg["bytes"].get<uint64_t>() + bytes;
    p["rules"].push_back({{"direction", kDirs[info.direction]},
                          {"index", info.rule_index},
                          {"action", info.action},
                          {"packets", packets},
                          {"bytes", bytes}});
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& name : order) list.push_back(policies[name]);
  j["policies"] = list;
  return j;
}

}  // namespace tierwall::ctl::daemon
