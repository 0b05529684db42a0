// DecisionForest: first-match over prioritised boxes in class-id space.
//
// What: a set of boxes, each a range on every one of kDims dimensions plus a
// priority (lower wins; several boxes may share one priority when a rule is a
// union of boxes). FirstMatch(key, min) returns the lowest priority >= min of
// any box containing key, or kNoMatch. The `min` bound lets the policy
// evaluator continue after a Pass or Log rule without a second structure.
//
// Design: HiCuts-style decision trees, one per partition of the boxes by
// "is it wide on the source / destination address" (as in EffiCuts and
// CutSplit: wide boxes would be copied into every child of an address cut, so
// they live in their own tree that never cuts that dimension). Each internal
// node cuts one dimension into 2^k equal slices (child = (v - lo) >> shift:
// no division, no comparison chain). Leaves hold at most `leaf_size` boxes,
// copied inline and sorted by priority, so a leaf is one or two cache lines
// scanned with early exit. While building, a box that covers a node's whole
// region hides every box of lower priority there, up to the next restart
// point (a query starting beyond it must still see them): they are pruned,
// which keeps wildcard rules and end-of-tier catch-alls cheap.
//
// Everything is flat arrays indexed by uint32_t; the structure is immutable
// after building and safe to read from any number of threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tierwall::dp::classify {

inline constexpr int kDims = 6;
enum Dim : int { kDimChain = 0, kDimSrc, kDimDst, kDimProto, kDimSrcPort, kDimDstPort };

struct ClassKey {
  std::array<uint32_t, kDims> v{};
};

struct Box {
  std::array<uint32_t, kDims> lo{};
  std::array<uint32_t, kDims> hi{};  // inclusive

  bool Contains(const ClassKey& k) const {
    for (int d = 0; d < kDims; ++d)
      if (k.v[d] < lo[d] || k.v[d] > hi[d]) return false;
    return true;
  }
};

struct PrioritizedBox {
  uint32_t priority = 0;
  Box box;
};

struct ForestConfig {
  uint32_t leaf_size = 6;       // boxes a leaf may hold before it is cut
  uint32_t max_cuts_log2 = 8;   // at most 256 children per node
  double space_factor = 4.0;    // HiCuts spfac: children may hold spfac x parent's boxes
  double wide_fraction = 0.05;  // a box wider than this share of an address dim is "wide"
  uint32_t max_depth = 40;
  double max_replication = 16.0;  // box copies in all children, as a multiple of the box count
};

class DecisionForest {
 public:
  static constexpr uint32_t kNoMatch = 0xffffffffu;

  // Lowest priority >= min_priority among boxes containing key.
  uint32_t FirstMatch(const ClassKey& key, uint32_t min_priority = 0) const;

  struct Stats {
    uint32_t trees = 0;
    uint32_t nodes = 0;
    uint32_t leaves = 0;
    uint64_t stored_boxes = 0;  // with replication
    uint32_t max_depth = 0;
  };
  const Stats& stats() const { return stats_; }
  size_t MemoryBytes() const;

 private:
  friend class ForestBuilder;

  // 16 bytes. Internal: the child for value v is
  // nodes_[base + ((v[dim] - lo) >> shift)], and count holds the lowest box
  // priority in the subtree, so a walk stops as soon as the subtree cannot
  // beat the best match so far. Leaf (dim == kDims): its boxes are
  // boxes_[base .. base+count), sorted by priority.
  struct Node {
    uint8_t dim;  // kDims for a leaf
    uint8_t shift;
    uint16_t pad;
    uint32_t lo;
    uint32_t base;
    uint32_t count;
  };
  // A box as stored in a leaf: v is inside when (v - lo) <= width, unsigned.
  struct LeafBox {
    uint32_t lo[kDims];
    uint32_t width[kDims];
    uint32_t priority;
  };
  struct Tree {
    Node root;
    uint32_t min_priority;  // skip the tree when it cannot beat the best so far
  };

  uint32_t ScanLeaf(const Node& leaf, const ClassKey& key, uint32_t min_priority,
                    uint32_t best) const;

  std::vector<Tree> trees_;
  std::vector<Node> nodes_;
  std::vector<LeafBox> boxes_;
  Stats stats_;
};

// dim_max[d]: values of dimension d are in [0, dim_max[d]].
// restart_points: the non-zero `min_priority` values FirstMatch will be called with.
DecisionForest BuildDecisionForest(std::vector<PrioritizedBox> boxes,
                                   const std::array<uint32_t, kDims>& dim_max,
                                   const ForestConfig& config = {},
                                   std::vector<uint32_t> restart_points = {});

}  // namespace tierwall::dp::classify
