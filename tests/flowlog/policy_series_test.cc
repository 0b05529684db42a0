// Per-policy series: deltas into buckets, baseline, counter resets, ring wrap.
#include "control/flowlog/policy_series.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierwall::test::flowlog {
namespace {

using ctl::flowlog::Bucket;
using ctl::flowlog::PolicySeries;
using ctl::flowlog::RuleTotal;

TEST(PolicySeries, DeltasLandInTheirBuckets) {
  PolicySeries s(10, 6);
  s.Sample(100, {{1, 1000, 50000}, {2, 7, 700}});  // baseline: history before it is unknown
  s.Sample(103, {{1, 1010, 51000}, {2, 7, 700}});
  s.Sample(108, {{1, 1015, 51500}});
  s.Sample(121, {{1, 1040, 54000}, {2, 9, 900}});
  EXPECT_THAT(s.Query(1, 100, 125), ::testing::ElementsAre(Bucket{100, 15, 1500}, Bucket{110, 0, 0},
                                                           Bucket{120, 25, 2500}));
  EXPECT_THAT(s.Query(2, 100, 125),
              ::testing::ElementsAre(Bucket{100, 0, 0}, Bucket{110, 0, 0}, Bucket{120, 2, 200}));
  Bucket total = s.Total(1, 0, 125);
  EXPECT_EQ(total.packets, 40u);
  EXPECT_EQ(total.bytes, 4000u);
  EXPECT_EQ(s.Total(1, 115, 125).packets, 25u);  // from the bucket holding 115
  // An unknown slot: zeros, one per bucket.
  EXPECT_EQ(s.Query(99, 100, 125).size(), 3u);
  EXPECT_EQ(s.Total(99, 100, 125).packets, 0u);
}

TEST(PolicySeries, NewSlotsAndCounterResets) {
  PolicySeries s(10, 6);
  s.Sample(0, {{1, 100, 100}});
  s.Sample(5, {{1, 150, 150}, {3, 20, 20}});  // slot 3 is new: all 20 happened since
  s.Sample(15, {{1, 30, 30}});                // a new program restarted slot 1 at zero
  EXPECT_EQ(s.Total(3, 0, 15).packets, 20u);
  EXPECT_THAT(s.Query(1, 0, 15), ::testing::ElementsAre(Bucket{0, 50, 50}, Bucket{10, 30, 30}));
}

TEST(PolicySeries, RingWrapForgetsOldBuckets) {
  PolicySeries s(10, 4);  // 40 seconds of memory
  s.Sample(0, {{1, 0, 0}});
  uint64_t total = 0;
  for (int t = 5; t < 100; t += 10) {  // one packet per bucket, 10 buckets
    total += 1;
    s.Sample(t, {{1, total, total}});
  }
  std::vector<Bucket> got = s.Query(1, 0, 95);
  ASSERT_EQ(got.size(), 4u);  // clipped to what the ring holds
  EXPECT_EQ(got.front().start, 60);
  EXPECT_EQ(got.back().start, 90);
  for (const Bucket& b : got) EXPECT_EQ(b.packets, 1u);
  // A bucket whose cell was overwritten by a later lap reads as itself, not
  // as the newer data: query an old window ending at 25.
  EXPECT_EQ(s.Total(1, 0, 25).packets, 0u);
  EXPECT_EQ(s.slots(), 1u);
}

TEST(PolicySeries, ConcurrentSamplesAndQueries) {
  PolicySeries s(1, 100);
  s.Sample(0, {{1, 0, 0}});
  std::thread reader([&] {
    for (int i = 0; i < 2000; ++i) (void)s.Total(1, 0, 100);
  });
  for (uint64_t t = 1; t <= 99; ++t) s.Sample(static_cast<int64_t>(t), {{1, t, t}});
  reader.join();
  EXPECT_EQ(s.Total(1, 0, 100).packets, 99u);
}

}  // namespace
}  // namespace tierwall::test::flowlog
