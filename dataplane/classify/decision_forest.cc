#include "dataplane/classify/decision_forest.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace tierwall::dp::classify {

uint32_t DecisionForest::FirstMatch(const ClassKey& key, uint32_t min_priority) const {
  uint32_t best = kNoMatch;
  for (const Tree& tree : trees_) {
    if (tree.min_priority >= best) break;  // trees are sorted by min_priority
    const Node* node = &tree.root;
    while (node->dim != kDims) {
      if (node->count >= best) break;  // internal nodes keep their subtree's min priority in count
      node = &nodes_[node->base + ((key.v[node->dim] - node->lo) >> node->shift)];
    }
    if (node->dim == kDims) best = ScanLeaf(*node, key, min_priority, best);
  }
  return best;
}

uint32_t DecisionForest::ScanLeaf(const Node& leaf, const ClassKey& key, uint32_t min_priority,
                                  uint32_t best) const {
  const LeafBox* box = &boxes_[leaf.base];
  const LeafBox* end = box + leaf.count;
  for (; box != end; ++box) {
    if (box->priority >= best) break;  // sorted: nothing better follows
    if (box->priority < min_priority) continue;
    bool inside = true;
    for (int d = 0; d < kDims; ++d) inside &= (key.v[d] - box->lo[d]) <= box->width[d];
    if (inside) return box->priority;
  }
  return best;
}

size_t DecisionForest::MemoryBytes() const {
  return trees_.size() * sizeof(Tree) + nodes_.size() * sizeof(Node) +
         boxes_.size() * sizeof(LeafBox);
}

// ---------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------

namespace {

struct Region {
  std::array<uint32_t, kDims> lo;
  std::array<uint32_t, kDims> hi;
};

int CeilLog2(uint64_t v) {
  int bits = 0;
  while ((uint64_t{1} << bits) < v) ++bits;
  return bits;
}

}  // namespace

class ForestBuilder {
 public:
  ForestBuilder(std::vector<PrioritizedBox> boxes, const std::array<uint32_t, kDims>& dim_max,
                const ForestConfig& config, std::vector<uint32_t> restart_points,
                DecisionForest* out)
      : boxes_(std::move(boxes)),
        dim_max_(dim_max),
        config_(config),
        restarts_(std::move(restart_points)),
        out_(out) {
    std::sort(restarts_.begin(), restarts_.end());
    budget_ = static_cast<uint64_t>(config_.max_replication * static_cast<double>(boxes_.size())) +
              (uint64_t{1} << 16);
  }

  void Build() {
    // Stable priority order: every id list below stays sorted by priority.
    std::stable_sort(
        boxes_.begin(), boxes_.end(),
        [](const PrioritizedBox& a, const PrioritizedBox& b) { return a.priority < b.priority; });
    // Partition by width on the address dimensions (EffiCuts/CutSplit): a
    // wide box in a tree that cuts addresses would be copied everywhere.
    std::vector<uint32_t> parts[4];
    for (uint32_t i = 0; i < boxes_.size(); ++i) {
      int key = (IsWide(boxes_[i].box, kDimSrc) ? 1 : 0) | (IsWide(boxes_[i].box, kDimDst) ? 2 : 0);
      parts[key].push_back(i);
    }
    Region whole;
    for (int d = 0; d < kDims; ++d) {
      whole.lo[d] = 0;
      whole.hi[d] = dim_max_[d];
    }
    for (auto& ids : parts) {
      if (ids.empty()) continue;
      uint32_t min_priority = boxes_[ids.front()].priority;
      DecisionForest::Node root = BuildNode(whole, std::move(ids), 1);
      out_->trees_.push_back({root, min_priority});
    }
    std::sort(out_->trees_.begin(), out_->trees_.end(),
              [](const auto& a, const auto& b) { return a.min_priority < b.min_priority; });
    out_->stats_.trees = static_cast<uint32_t>(out_->trees_.size());
    out_->stats_.stored_boxes = out_->boxes_.size();
  }

 private:
  bool IsWide(const Box& b, int d) const {
    return (static_cast<double>(b.hi[d]) - b.lo[d] + 1) >
           config_.wide_fraction * (static_cast<double>(dim_max_[d]) + 1);
  }

  static bool Covers(const Box& b, const Region& r) {
    for (int d = 0; d < kDims; ++d)
      if (b.lo[d] > r.lo[d] || b.hi[d] < r.hi[d]) return false;
    return true;
  }

  // First restart point strictly above p (or "infinity").
  uint32_t NextRestart(uint32_t p) const {
    auto it = std::upper_bound(restarts_.begin(), restarts_.end(), p);
    return it == restarts_.end() ? std::numeric_limits<uint32_t>::max() : *it;
  }

  // Drops boxes hidden by a higher-priority box covering the whole region.
  void Prune(const Region& r, std::vector<uint32_t>* ids) const {
    std::vector<uint32_t> kept;
    kept.reserve(ids->size());
    uint32_t hidden_below = 0;  // boxes with priority in (covering, hidden_below) are hidden
    uint32_t covering = 0;
    bool hiding = false;
    for (uint32_t id : *ids) {
      uint32_t p = boxes_[id].priority;
      if (hiding && p > covering && p < hidden_below) continue;
      kept.push_back(id);
      if (Covers(boxes_[id].box, r)) {
        hiding = true;
        covering = p;
        hidden_below = NextRestart(p);
      }
    }
    ids->swap(kept);
  }

  DecisionForest::Node MakeLeaf(const std::vector<uint32_t>& ids, uint32_t depth) {
    DecisionForest::Node leaf{kDims,
                              0,
                              0,
                              0,
                              static_cast<uint32_t>(out_->boxes_.size()),
                              static_cast<uint32_t>(ids.size())};
    for (uint32_t id : ids) {
      const PrioritizedBox& pb = boxes_[id];
      DecisionForest::LeafBox lb;
      for (int d = 0; d < kDims; ++d) {
        lb.lo[d] = pb.box.lo[d];
        lb.width[d] = pb.box.hi[d] - pb.box.lo[d];
      }
      lb.priority = pb.priority;
      out_->boxes_.push_back(lb);
    }
    ++out_->stats_.leaves;
    ++out_->stats_.nodes;
    out_->stats_.max_depth = std::max(out_->stats_.max_depth, depth);
    return leaf;
  }

  struct Cut {
    int dim = -1;
    int shift = 0;
    uint32_t children = 0;
    uint64_t max_child = 0;
    uint64_t total = 0;
  };

  // Evaluates cutting dimension d into 2^k slices for growing k while the
  // space measure allows; returns the cut with the smallest largest child.
  Cut BestCutOn(int d, const Region& r, const std::vector<uint32_t>& ids) const {
    Cut best;
    uint64_t width = uint64_t{r.hi[d]} - r.lo[d] + 1;
    if (width < 2) return best;
    int width_bits = CeilLog2(width);
    double budget = config_.space_factor * static_cast<double>(ids.size());
    std::vector<int64_t> diff;
    for (int k = 1; k <= static_cast<int>(config_.max_cuts_log2) && k <= width_bits; ++k) {
      int shift = width_bits - k;
      uint32_t children = static_cast<uint32_t>(((width - 1) >> shift) + 1);
      diff.assign(children + 1, 0);
      uint64_t total = children;
      for (uint32_t id : ids) {
        const Box& b = boxes_[id].box;
        uint32_t c0 = (std::max(b.lo[d], r.lo[d]) - r.lo[d]) >> shift;
        uint32_t c1 = (std::min(b.hi[d], r.hi[d]) - r.lo[d]) >> shift;
        ++diff[c0];
        --diff[c1 + 1];
        total += c1 - c0 + 1;
      }
      if (k > 1 && static_cast<double>(total) > budget) break;
      int64_t run = 0;
      uint64_t max_child = 0;
      for (uint32_t c = 0; c < children; ++c) {
        run += diff[c];
        max_child = std::max(max_child, static_cast<uint64_t>(run));
      }
      if (best.dim < 0 || max_child < best.max_child ||
          (max_child == best.max_child && total < best.total)) {
        best = {d, shift, children, max_child, total};
      }
    }
    return best;
  }

  DecisionForest::Node BuildNode(const Region& r, std::vector<uint32_t> ids, uint32_t depth) {
    Prune(r, &ids);
    // The replication budget is global: per-node space factors alone let
    // adversarial sets (many overlapping wide boxes) grow geometrically with
    // depth. Past the budget we stop cutting; leaves get longer, memory stays bounded.
    if (ids.size() <= config_.leaf_size || depth >= config_.max_depth || distributed_ > budget_)
      return MakeLeaf(ids, depth);

    Cut cut;
    for (int d = 0; d < kDims; ++d) {
      Cut c = BestCutOn(d, r, ids);
      if (c.dim < 0) continue;
      if (cut.dim < 0 || c.max_child < cut.max_child ||
          (c.max_child == cut.max_child && c.total < cut.total)) {
        cut = c;
      }
    }
    if (cut.dim < 0 || cut.max_child >= ids.size()) return MakeLeaf(ids, depth);

    const int d = cut.dim;
    const uint32_t subtree_min = boxes_[ids.front()].priority;  // ids are sorted by priority
    std::vector<std::vector<uint32_t>> lists(cut.children);
    for (uint32_t id : ids) {
      const Box& b = boxes_[id].box;
      uint32_t c0 = (std::max(b.lo[d], r.lo[d]) - r.lo[d]) >> cut.shift;
      uint32_t c1 = (std::min(b.hi[d], r.hi[d]) - r.lo[d]) >> cut.shift;
      for (uint32_t c = c0; c <= c1; ++c) lists[c].push_back(id);
      distributed_ += c1 - c0 + 1;
    }
    ids.clear();
    ids.shrink_to_fit();

    // Children are stored inline, one 16-byte Node per slot (a shared child is
    // copied into each of its slots): a lookup does one dependent load per
    // level instead of two (slot index, then node).
    uint32_t child_base = static_cast<uint32_t>(out_->nodes_.size());
    out_->nodes_.resize(out_->nodes_.size() + cut.children);
    ++out_->stats_.nodes;

    // Runs of consecutive slices with the same boxes share one child built
    // for their union: the child's cuts are relative to its own region.
    for (uint32_t c = 0; c < cut.children;) {
      uint32_t end = c + 1;
      while (end < cut.children && lists[end] == lists[c]) ++end;
      Region child = r;
      child.lo[d] = r.lo[d] + (c << cut.shift);
      uint64_t child_hi = uint64_t{r.lo[d]} + (uint64_t{end} << cut.shift) - 1;
      child.hi[d] = static_cast<uint32_t>(std::min<uint64_t>(child_hi, r.hi[d]));
      DecisionForest::Node node = BuildNode(child, std::move(lists[c]), depth + 1);
      for (uint32_t s = c; s < end; ++s) out_->nodes_[child_base + s] = node;
      c = end;
    }
    return {static_cast<uint8_t>(d),
            static_cast<uint8_t>(cut.shift),
            0,
            r.lo[d],
            child_base,
            subtree_min};
  }

  std::vector<PrioritizedBox> boxes_;
  std::array<uint32_t, kDims> dim_max_;
  ForestConfig config_;
  std::vector<uint32_t> restarts_;
  DecisionForest* out_;
  uint64_t distributed_ = 0;  // box copies handed to children so far
  uint64_t budget_ = 0;
};

DecisionForest BuildDecisionForest(std::vector<PrioritizedBox> boxes,
                                   const std::array<uint32_t, kDims>& dim_max,
                                   const ForestConfig& config,
                                   std::vector<uint32_t> restart_points) {
  DecisionForest forest;
  ForestBuilder(std::move(boxes), dim_max, config, std::move(restart_points), &forest).Build();
  return forest;
}

}  // namespace tierwall::dp::classify
