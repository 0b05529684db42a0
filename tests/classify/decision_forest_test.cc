// The decision forest against a linear oracle (the OVS test-classifier habit):
// random boxes, random keys, random restart points; every lookup must equal
// the brute-force first match at or above its lower bound.
#include "dataplane/classify/decision_forest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "dataplane/classify/field_map.h"
#include "dataplane/classify/rule_classifier.h"

namespace tierwall::dp::classify {
namespace {

uint32_t Oracle(const std::vector<PrioritizedBox>& boxes, const ClassKey& k, uint32_t min) {
  uint32_t best = DecisionForest::kNoMatch;
  for (const auto& b : boxes)
    if (b.priority >= min && b.priority < best && b.box.Contains(k)) best = b.priority;
  return best;
}

struct Shape {
  uint32_t boxes;
  uint32_t dim_size;
  double wide_share;  // share of boxes that are wide on a dimension
  uint32_t leaf_size;
};

class ForestVsOracle : public ::testing::TestWithParam<Shape> {};

TEST_P(ForestVsOracle, AgreesOnRandomKeysAndBounds) {
  const Shape shape = GetParam();
  std::mt19937 rng(shape.boxes * 7919 + shape.dim_size);
  std::array<uint32_t, kDims> sizes;
  sizes.fill(shape.dim_size);
  sizes[kDimChain] = 4;
  auto range = [&](uint32_t size, Box* b, int d) {
    if (std::uniform_real_distribution<>(0, 1)(rng) < shape.wide_share) {
      b->lo[d] = 0;
      b->hi[d] = size - 1;
      return;
    }
    uint32_t a = rng() % size, c = rng() % size;
    uint32_t width = std::uniform_real_distribution<>(0, 1)(rng) < 0.5 ? 0 : size / 8;
    b->lo[d] = std::min(a, c);
    b->hi[d] = std::min(size - 1, std::min(a, c) + width);
  };
  std::vector<PrioritizedBox> boxes;
  for (uint32_t i = 0; i < shape.boxes; ++i) {
    PrioritizedBox pb;
    pb.priority = i / 2;  // pairs of boxes share a priority, like a rule that is a union
    for (int d = 0; d < kDims; ++d) range(sizes[d], &pb.box, d);
    boxes.push_back(pb);
  }
  // A few full-cover boxes, like end-of-tier catch-alls.
  for (uint32_t p = shape.boxes / 8; p < shape.boxes / 2; p += shape.boxes / 8 + 1) {
    PrioritizedBox pb;
    pb.priority = p;
    for (int d = 0; d < kDims; ++d) pb.box.hi[d] = sizes[d] - 1;
    boxes.push_back(pb);
  }
  std::vector<uint32_t> restarts;
  for (uint32_t p = 1; p < shape.boxes / 2; p += 1 + rng() % 17) restarts.push_back(p);

  ForestConfig config;
  config.leaf_size = shape.leaf_size;
  DecisionForest forest = BuildDecisionForest(boxes, sizes, config, restarts);

  restarts.push_back(0);
  int mismatches = 0;
  for (int i = 0; i < 20000 && mismatches < 5; ++i) {
    ClassKey k;
    for (int d = 0; d < kDims; ++d) k.v[d] = rng() % sizes[d];
    uint32_t min = restarts[rng() % restarts.size()];
    uint32_t want = Oracle(boxes, k, min);
    uint32_t got = forest.FirstMatch(k, min);
    if (want != got) {
      ++mismatches;
      ADD_FAILURE() << "key " << k.v[0] << "," << k.v[1] << "," << k.v[2] << "," << k.v[3] << ","
                    << k.v[4] << "," << k.v[5] << " min " << min << ": want " << want << " got "
                    << got;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ForestVsOracle,
                         ::testing::Values(Shape{0, 16, 0.0, 8}, Shape{1, 16, 0.0, 8},
                                           Shape{50, 16, 0.2, 2}, Shape{400, 1000, 0.3, 8},
                                           Shape{2000, 5000, 0.5, 4}, Shape{2000, 64, 0.1, 16}));

TEST(AddressMap, MapsEveryAddressToTheIntervalHoldingIt) {
  std::mt19937 rng(42);
  AddressMapBuilder b;
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  for (int i = 0; i < 300; ++i) {
    uint32_t lo = rng(), len = rng() % 100000;
    uint32_t hi = lo + len < lo ? 0xffffffffu : lo + len;
    b.AddRange(Family::kV4, lo, hi);
    ranges.emplace_back(lo, hi);
  }
  AddressMap m = b.Build();
  // Two addresses share a class id iff every range contains both or neither.
  for (int i = 0; i < 2000; ++i) {
    uint32_t x = rng(), y = (i % 2) ? x + 1 : rng();
    bool same = true;
    for (auto [lo, hi] : ranges) same &= ((x >= lo && x <= hi) == (y >= lo && y <= hi));
    if (same) continue;  // equal membership may still be different intervals
    EXPECT_NE(m.LookupV4(x), m.LookupV4(y)) << x << " " << y;
  }
  for (auto [lo, hi] : ranges) {
    uint32_t first, last;
    m.RangeToClasses(Family::kV4, lo, hi, &first, &last);
    EXPECT_EQ(m.LookupV4(lo), first);
    EXPECT_EQ(m.LookupV4(hi), last);
    if (lo > 0) {
      EXPECT_LT(m.LookupV4(lo - 1), first);
    }
    if (hi < 0xffffffffu) {
      EXPECT_GT(m.LookupV4(hi + 1), last);
    }
  }
  EXPECT_EQ(m.LookupV4(0), 0u);
  EXPECT_EQ(m.LookupV6(0), m.v4_count());
}

TEST(RuleClassifier, KeepsFamiliesApartAndHonoursChains) {
  std::vector<PrioritizedRawBox> boxes(3);
  boxes[0].priority = 0;  // v6 only, chain 1
  boxes[0].box.family = Family::kV6;
  boxes[0].box.chain_lo = boxes[0].box.chain_hi = 1;
  boxes[0].box.src_hi = boxes[0].box.dst_hi = MaxAddress(Family::kV6);
  boxes[1].priority = 1;  // v4 198.18.0.0/15 -> any, tcp 80, chains 0-1
  boxes[1].box.chain_hi = 1;
  boxes[1].box.src_lo = 0xc6120000u;
  boxes[1].box.src_hi = 0xc613ffffu;
  boxes[1].box.dst_hi = 0xffffffffu;
  boxes[1].box.proto_lo = boxes[1].box.proto_hi = 6;
  boxes[1].box.dst_port_lo = boxes[1].box.dst_port_hi = 80;
  boxes[2].priority = 2;  // v4 catch-all, chain 0
  boxes[2].box.src_hi = boxes[2].box.dst_hi = 0xffffffffu;
  RuleClassifier c = RuleClassifier::Build(boxes, 2);

  PacketKey k;
  k.src = IpAddr::V4(0xc6120001u);
  k.dst = IpAddr::V4(0x0a000001u);
  k.proto = 6;
  k.dst_port = 80;
  EXPECT_EQ(c.FirstMatch(0, k), 1u);
  EXPECT_EQ(c.FirstMatch(1, k), 1u);
  EXPECT_EQ(c.FirstMatch(0, k, 2), 2u);
  EXPECT_EQ(c.FirstMatch(1, k, 2), RuleClassifier::kNoMatch);
  k.dst_port = 81;
  EXPECT_EQ(c.FirstMatch(0, k), 2u);
  k.src = IpAddr::V6(1);
  k.dst = IpAddr::V6(2);
  EXPECT_EQ(c.FirstMatch(1, k), 0u);
  EXPECT_EQ(c.FirstMatch(0, k), RuleClassifier::kNoMatch);
  EXPECT_EQ(c.FirstMatch(7, k), RuleClassifier::kNoMatch);  // no such chain
}

}  // namespace
}  // namespace tierwall::dp::classify
