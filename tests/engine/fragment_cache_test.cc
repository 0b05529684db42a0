// FragmentCache: later fragments follow the first one's flow, and any
// overlap (RFC 5722; Linux drops overlapping IPv4 fragments too) forgets the
// datagram so none of its later fragments pass.
#include "dataplane/engine/fragment_cache.h"

#include <gtest/gtest.h>

namespace tierwall::dp::engine {
namespace {

classify::PacketKey Key(uint32_t src) {
  return {classify::IpAddr::V4(src), classify::IpAddr::V4(0xc6120002), 17, 0, 0};
}

TEST(FragmentCache, InOrderFragmentsFollowTheFirst) {
  FragmentCache c(16, 100);
  ASSERT_TRUE(c.Remember(Key(1), 7, 42, 1480, 0));
  EXPECT_EQ(c.Find(Key(1), 7, 1), 42u);
  EXPECT_TRUE(c.Add(Key(1), 7, 1480, 1480));
  EXPECT_TRUE(c.Add(Key(1), 7, 2960, 3));  // a short last fragment
  EXPECT_EQ(c.Find(Key(1), 7, 2), 42u);
  EXPECT_EQ(c.Find(Key(1), 8, 2), FragmentCache::kNone);
  EXPECT_EQ(c.Find(Key(1), 7, 101), FragmentCache::kNone);  // too old
}

TEST(FragmentCache, OutOfOrderIsFine) {
  FragmentCache c(16, 100);
  ASSERT_TRUE(c.Remember(Key(1), 7, 42, 16, 0));
  EXPECT_TRUE(c.Add(Key(1), 7, 32, 16));
  EXPECT_TRUE(c.Add(Key(1), 7, 16, 16));
}

TEST(FragmentCache, OverlapForgetsTheDatagram) {
  FragmentCache c(16, 100);
  // A later fragment rewriting the UDP header's second half (offset 8 of 16).
  ASSERT_TRUE(c.Remember(Key(1), 7, 42, 16, 0));
  EXPECT_FALSE(c.Add(Key(1), 7, 8, 16));
  EXPECT_EQ(c.Find(Key(1), 7, 1), FragmentCache::kNone);
  // Overlap between two later fragments, and a fragment sent twice.
  ASSERT_TRUE(c.Remember(Key(2), 9, 43, 16, 0));
  EXPECT_TRUE(c.Add(Key(2), 9, 32, 32));
  EXPECT_FALSE(c.Add(Key(2), 9, 48, 8));
  EXPECT_EQ(c.Find(Key(2), 9, 1), FragmentCache::kNone);
  ASSERT_TRUE(c.Remember(Key(3), 9, 44, 16, 0));
  EXPECT_TRUE(c.Add(Key(3), 9, 16, 8));
  EXPECT_FALSE(c.Add(Key(3), 9, 16, 8));
}

TEST(FragmentCache, SecondFirstFragmentOverlaps) {
  FragmentCache c(16, 100);
  ASSERT_TRUE(c.Remember(Key(1), 7, 42, 16, 0));
  EXPECT_FALSE(c.Remember(Key(1), 7, 42, 16, 1));
  EXPECT_EQ(c.Find(Key(1), 7, 2), FragmentCache::kNone);
  // A new datagram in a reused slot starts with a clean bitmap.
  ASSERT_TRUE(c.Remember(Key(1), 7, 42, 16, 3));
  EXPECT_TRUE(c.Add(Key(1), 7, 16, 64000));
  ASSERT_TRUE(c.Remember(Key(1), 8, 45, 16, 4));
  EXPECT_TRUE(c.Add(Key(1), 8, 16, 64000));
}

}  // namespace
}  // namespace tierwall::dp::engine
