// RuleClassifier: raw packet fields -> first matching rule priority.
//
// Stage one maps each field to a class id (field_map.h); stage two finds the
// first matching box (decision_forest.h). Mapping every field, ports and
// protocol included, measured faster than cutting raw values: the trees get
// shallower (8 vs 10-17 levels on ClassBench 10K sets) and that outweighs the
// extra table loads (bench/README.md has the figures). The "chain" dimension selects which
// rule list a lookup runs against: the policy program gives every
// (endpoint group, direction, enforced|pending) its own chain id, a plain
// 5-tuple rule list (ClassBench) uses chain 0 only.
//
// Build side (any thread, no EAL): RuleClassifier::Build. Lookup side (any
// number of threads, no allocation, no locks): FirstMatch / FirstMatchBurst.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/classify/decision_forest.h"
#include "dataplane/classify/field_map.h"
#include "dataplane/classify/packet_key.h"

namespace tierwall::dp::classify {

// One box of a rule in raw field space; all bounds inclusive. Source and
// destination share the family: a packet never mixes families.
struct RawBox {
  uint32_t chain_lo = 0, chain_hi = 0;
  Family family = Family::kV4;
  U128 src_lo = 0, src_hi = 0;
  U128 dst_lo = 0, dst_hi = 0;
  uint8_t proto_lo = 0, proto_hi = 255;
  uint16_t src_port_lo = 0, src_port_hi = 65535;
  uint16_t dst_port_lo = 0, dst_port_hi = 65535;
};

struct PrioritizedRawBox {
  uint32_t priority = 0;
  RawBox box;
};

class RuleClassifier {
 public:
  static constexpr uint32_t kNoMatch = DecisionForest::kNoMatch;

  // restart_points: see BuildDecisionForest.
  static RuleClassifier Build(const std::vector<PrioritizedRawBox>& boxes, uint32_t num_chains,
                              const ForestConfig& config = {},
                              std::vector<uint32_t> restart_points = {});

  ClassKey MapKey(uint32_t chain, const PacketKey& key) const {
    ClassKey k;
    k.v[kDimChain] = chain;
    k.v[kDimSrc] = src_.Lookup(key.src);
    k.v[kDimDst] = dst_.Lookup(key.dst);
    k.v[kDimProto] = proto_.Lookup(key.proto);
    k.v[kDimSrcPort] = src_port_.Lookup(key.src_port);
    k.v[kDimDstPort] = dst_port_.Lookup(key.dst_port);
    return k;
  }
  uint32_t FirstMatch(uint32_t chain, const PacketKey& key, uint32_t min_priority = 0) const {
    if (chain >= num_chains_ || key.src.family != key.dst.family) return kNoMatch;
    return forest_.FirstMatch(MapKey(chain, key), min_priority);
  }
  // Chain 0, no lower bound: the ClassBench / rte_acl comparison path.
  // Maps the whole burst first, so the field-map loads of all packets are in
  // flight together, then walks the trees packet by packet. (Walking groups
  // of packets through a tree together, to overlap their cache misses,
  // measured no faster: see dataplane/README.md.)
  void FirstMatchBurst(const PacketKey* keys, uint32_t n, uint32_t* priorities) const;

  uint32_t num_chains() const { return num_chains_; }
  const DecisionForest::Stats& stats() const { return forest_.stats(); }
  size_t MemoryBytes() const;

 private:
  uint32_t num_chains_ = 0;
  AddressMap src_, dst_;
  SmallFieldMap proto_, src_port_, dst_port_;
  DecisionForest forest_;
};

}  // namespace tierwall::dp::classify
