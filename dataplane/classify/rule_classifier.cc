#include "dataplane/classify/rule_classifier.h"

#include <utility>

namespace tierwall::dp::classify {

RuleClassifier RuleClassifier::Build(const std::vector<PrioritizedRawBox>& boxes,
                                     uint32_t num_chains, const ForestConfig& config,
                                     std::vector<uint32_t> restart_points) {
  AddressMapBuilder src, dst;
  SmallFieldMapBuilder proto(255), src_port(65535), dst_port(65535);
  for (const PrioritizedRawBox& pb : boxes) {
    const RawBox& b = pb.box;
    src.AddRange(b.family, b.src_lo, b.src_hi);
    dst.AddRange(b.family, b.dst_lo, b.dst_hi);
    proto.AddRange(b.proto_lo, b.proto_hi);
    src_port.AddRange(b.src_port_lo, b.src_port_hi);
    dst_port.AddRange(b.dst_port_lo, b.dst_port_hi);
  }
  RuleClassifier c;
  c.num_chains_ = num_chains;
  c.src_ = src.Build();
  c.dst_ = dst.Build();
  c.proto_ = proto.Build();
  c.src_port_ = src_port.Build();
  c.dst_port_ = dst_port.Build();

  std::vector<PrioritizedBox> class_boxes;
  class_boxes.reserve(boxes.size());
  for (const PrioritizedRawBox& pb : boxes) {
    const RawBox& b = pb.box;
    if (b.chain_lo > b.chain_hi || b.chain_hi >= num_chains) continue;  // matches no chain
    PrioritizedBox cb;
    cb.priority = pb.priority;
    cb.box.lo[kDimChain] = b.chain_lo;
    cb.box.hi[kDimChain] = b.chain_hi;
    c.src_.RangeToClasses(b.family, b.src_lo, b.src_hi, &cb.box.lo[kDimSrc], &cb.box.hi[kDimSrc]);
    c.dst_.RangeToClasses(b.family, b.dst_lo, b.dst_hi, &cb.box.lo[kDimDst], &cb.box.hi[kDimDst]);
    c.proto_.RangeToClasses(b.proto_lo, b.proto_hi, &cb.box.lo[kDimProto], &cb.box.hi[kDimProto]);
    c.src_port_.RangeToClasses(b.src_port_lo, b.src_port_hi, &cb.box.lo[kDimSrcPort],
                               &cb.box.hi[kDimSrcPort]);
    c.dst_port_.RangeToClasses(b.dst_port_lo, b.dst_port_hi, &cb.box.lo[kDimDstPort],
                               &cb.box.hi[kDimDstPort]);
    class_boxes.push_back(cb);
  }
  if (num_chains == 0) return c;
  std::array<uint32_t, kDims> max{num_chains - 1,         c.src_.size() - 1,
                                  c.dst_.size() - 1,      c.proto_.size() - 1,
                                  c.src_port_.size() - 1, c.dst_port_.size() - 1};
  c.forest_ = BuildDecisionForest(std::move(class_boxes), max, config, std::move(restart_points));
  return c;
}

void RuleClassifier::FirstMatchBurst(const PacketKey* keys, uint32_t n,
                                     uint32_t* priorities) const {
  constexpr uint32_t kChunk = 32;
  ClassKey mapped[kChunk];
  uint32_t index[kChunk];
  uint32_t result[kChunk];
  for (uint32_t base = 0; base < n; base += kChunk) {
    uint32_t count = n - base < kChunk ? n - base : kChunk;
    uint32_t valid = 0;
    for (uint32_t i = 0; i < count; ++i) {
      const PacketKey& k = keys[base + i];
      if (num_chains_ == 0 || k.src.family != k.dst.family) {
        priorities[base + i] = kNoMatch;
        continue;
      }
      index[valid] = base + i;
      mapped[valid++] = MapKey(0, k);
    }
    for (uint32_t j = 0; j < valid; ++j) result[j] = forest_.FirstMatch(mapped[j], 0);
    for (uint32_t j = 0; j < valid; ++j) priorities[index[j]] = result[j];
  }
}

size_t RuleClassifier::MemoryBytes() const {
  return src_.MemoryBytes() + dst_.MemoryBytes() + proto_.MemoryBytes() + src_port_.MemoryBytes() +
         dst_port_.MemoryBytes() + forest_.MemoryBytes();
}

}  // namespace tierwall::dp::classify
