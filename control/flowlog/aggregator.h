// Flow observations in, flow-log records out, one interval at a time.
//
// The dataplane reports each tracked flow when it starts, when a policy
// publish re-judges it, and when it ends, with the packet and byte totals so
// far and the policy hits of its verdict. The aggregator turns those into
// Calico Enterprise flow-log records: one per reporter ("src": the egress
// verdict at a local source endpoint, "dst": the ingress verdict at a local
// destination endpoint) and aggregation key, per interval [last Flush, now].
//
// Aggregation levels (Calico's flowLogsFileAggregationKind), chosen per
// record by its action:
//   0, 1  source and destination IPs and names kept (records never carry the
//         source port, so level 1 only says source ports are merged);
//   2     also source workloads of one ReplicaSet merged: source_ip and
//         source_name "-", only source_name_aggr;
//   3     also the destination merged the same way.
// Labels of a merged record are those common to every endpoint merged in.
//
// Memory is bounded twice: active flows (max_active_flows; a new flow beyond
// it is not tracked and its observation is counted in lost_records) and
// records per interval (max_records_per_interval; an observation needing a
// new record beyond it is counted in lost_records). Nothing is dropped without
// being counted.
//
// Not thread-safe: one owner (the control thread) calls Add and Flush.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/flowlog/endpoint_directory.h"
#include "control/flowlog/flow_record.h"

namespace tierwall::ctl::flowlog {

struct PolicyHit {
  std::string tier;
  std::string name;         // trace name, e.g. "hipstershop/app-hipstershop.frontend"
  std::string action;       // "allow" | "deny" | "pass" | "log"
  int32_t rule_index = -1;  // -1: the tier's default action decided
  bool ingress = false;
};

struct FlowObservation {
  enum class Kind { kStart, kReverdict, kEnd };
  Kind kind = Kind::kStart;
  bool allowed = true;  // the flow's overall verdict (informational: records use their hits)
  IpAddr src, dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t proto = 0;
  uint64_t packets[2] = {0, 0};  // [0] original direction, [1] reply; totals so far
  uint64_t bytes[2] = {0, 0};
  // In evaluation order: egress hits (at the source) first, then ingress.
  std::vector<PolicyHit> enforced;
  std::vector<PolicyHit> pending;
};

struct AggregatorConfig {
  int level_allowed = 2;
  int level_denied = 1;
  size_t max_records_per_interval = 50000;
  size_t max_active_flows = 1'000'000;
};

class Aggregator {
 public:
  explicit Aggregator(AggregatorConfig config = {});
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  void Add(const FlowObservation& observation, const EndpointDirectory& directory, int64_t now);

  // Closes the interval [last Flush (or first Add), now] and returns its
  // records, sorted by key. Flows still active count in num_flows of the
  // interval even when nothing was observed for them in it.
  std::vector<FlowRecord> Flush(int64_t now);

  uint64_t lost_records() const { return lost_; }
  size_t active_flows() const { return active_.size(); }
  // Distinct aggregation keys held (this interval's plus active flows').
  size_t keys_held() const { return interned_.size(); }

 private:
  struct Key;
  struct FlowId {
    IpAddr src, dst;
    uint16_t src_port, dst_port;
    uint8_t proto;
    friend bool operator==(const FlowId&, const FlowId&) = default;
  };
  struct FlowIdHash {
    size_t operator()(const FlowId& id) const;
  };
  // What the aggregator remembers of a flow between observations: the totals
  // already reported (so only deltas are added) and, per reporter, the record
  // key it last fed and the interval it was last counted in.
  struct ActiveFlow {
    std::shared_ptr<Key> key[2];
    uint64_t counted_in[2] = {0, 0};
    uint64_t packets[2] = {0, 0};
    uint64_t bytes[2] = {0, 0};
  };

  std::shared_ptr<Key> Intern(FlowRecord identity, std::string key_text);
  // The interval's record for `key`, created when under the cap; null beyond it.
  FlowRecord* RecordFor(const std::shared_ptr<Key>& key);

  AggregatorConfig config_;
  uint64_t generation_ = 1;  // the current interval's number
  int64_t interval_start_ = -1;
  uint64_t lost_ = 0;
  std::unordered_map<FlowId, ActiveFlow, FlowIdHash> active_;
  std::unordered_map<std::string, std::shared_ptr<Key>> interned_;
  std::unordered_map<const Key*, std::pair<std::shared_ptr<Key>, FlowRecord>> interval_;
};

// `<index>|<tier>|<name>|<action>|<rule index>`
std::string PolicyString(size_t index, const PolicyHit& hit);

}  // namespace tierwall::ctl::flowlog
