// RuleClassifier against the ClassBench sets: every trace header must get the
// brute-force answer from <set>_expected (the same answers rte_acl gives),
// through both the single-packet and the burst lookup. A brute-force check on
// random and boundary packets covers what the traces do not (headers that
// match no rule, values one off a rule's edge).
#include "tests/support/classbench.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/classify/rule_classifier.h"
#include "gtest/gtest.h"

namespace tierwall::test {
namespace {

namespace cb = classbench;
using dp::classify::IpAddr;
using dp::classify::PacketKey;
using dp::classify::RuleClassifier;

constexpr uint32_t kBurst = 32;

int32_t AsIndex(uint32_t priority) { return static_cast<int32_t>(priority); }

std::string KeyString(const PacketKey& k) {
  std::ostringstream s;
  s << k.src.ToString() << " -> " << k.dst.ToString() << " proto " << int(k.proto) << " sport "
    << k.src_port << " dport " << k.dst_port << " (trace form: " << uint32_t(k.src.bits) << " "
    << uint32_t(k.dst.bits) << " " << k.src_port << " " << k.dst_port << " " << int(k.proto) << ")";
  return s.str();
}

// Collects mismatches and prints the first few with enough to reproduce them.
class MismatchLog {
 public:
  MismatchLog(std::string label, const std::vector<cb::Rule>& rules)
      : label_(std::move(label)), rules_(rules) {}
  void Check(size_t index, const PacketKey& key, int32_t want, int32_t got) {
    if (want == got) return;
    if (++count_ <= 10) {
      ADD_FAILURE() << label_ << " #" << index << ": " << KeyString(key) << ": want rule " << want
                    << " got " << got
                    << (got >= 0 && size_t(got) < rules_.size() && !cb::Matches(rules_[got], key)
                            ? " (which does not even match the packet)"
                            : "");
    }
  }
  size_t count() const { return count_; }

 private:
  std::string label_;
  const std::vector<cb::Rule>& rules_;
  size_t count_ = 0;
};

TEST(ClassBenchParse, FilterLine) {
  auto rules = cb::ParseFilters(
      "@121.5.7.203/32\t121.5.2.128/25\t0 : 65535\t1525 : 1530\t0x06/0xFF\t0x1000/0x1000\t\n"
      "\n"
      "@0.0.0.0/0\t10.0.0.0/8\t1 : 2\t0 : 65535\t0x00/0x00\t0x0000/0x0000\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 2u);
  const cb::Rule& r = (*rules)[0];
  EXPECT_EQ(r.src_ip, (121u << 24) | (5u << 16) | (7u << 8) | 203u);
  EXPECT_EQ(r.src_len, 32);
  EXPECT_EQ(r.dst_len, 25);
  EXPECT_EQ(r.dst_port_lo, 1525);
  EXPECT_EQ(r.dst_port_hi, 1530);
  EXPECT_EQ(r.proto, 6);
  EXPECT_EQ(r.proto_mask, 0xFF);

  auto boxes = cb::ToRawBoxes(*rules);
  ASSERT_EQ(boxes.size(), 2u);
  EXPECT_EQ(boxes[1].priority, 1u);
  EXPECT_EQ(boxes[1].box.chain_lo, 0u);
  EXPECT_EQ(boxes[1].box.chain_hi, 0u);
  EXPECT_EQ(boxes[1].box.src_lo, 0u);
  EXPECT_EQ(boxes[1].box.src_hi, 0xFFFFFFFFu);
  EXPECT_EQ(boxes[1].box.dst_lo, 10u << 24);
  EXPECT_EQ(boxes[1].box.dst_hi, (11u << 24) - 1);
  EXPECT_EQ(boxes[1].box.proto_lo, 0);
  EXPECT_EQ(boxes[1].box.proto_hi, 255);
  EXPECT_EQ(boxes[0].box.proto_lo, 6);
  EXPECT_EQ(boxes[0].box.proto_hi, 6);
  EXPECT_EQ(boxes[0].box.dst_lo, (121u << 24) | (5u << 16) | (2u << 8) | 128u);
  EXPECT_EQ(boxes[0].box.dst_hi, (121u << 24) | (5u << 16) | (2u << 8) | 255u);
}

TEST(ClassBenchParse, MalformedFilterNamesLine) {
  const char* bad[] = {
      "121.5.7.203/32\t1.2.3.4/32\t0 : 1\t0 : 1\t0x06/0xFF\n",            // no '@'
      "@121.5.7.203/33\t1.2.3.4/32\t0 : 1\t0 : 1\t0x06/0xFF\n",           // prefix > 32
      "@121.5.7.256/32\t1.2.3.4/32\t0 : 1\t0 : 1\t0x06/0xFF\n",           // octet > 255
      "@1.2.3.4/32\t1.2.3.4/32\t5 : 1\t0 : 1\t0x06/0xFF\n",               // hi < lo
      "@1.2.3.4/32\t1.2.3.4/32\t0 : 70000\t0 : 1\t0x06/0xFF\n",           // port > 65535
      "@1.2.3.4/32\t1.2.3.4/32\t0 : 1\t0 : 1\t0x06/0xF0\n",               // partial mask
      "@1.2.3.4/32\t1.2.3.4/32\t0 : 1\t0 : 1\t0x06\n",                    // no mask
      "@1.2.3.4/32\t1.2.3.4/32\t0 : 1\t0 : 1\t0x06/0xFF\t0x10/0x10 x\n",  // junk
  };
  for (const char* line : bad) {
    std::string text =
        std::string("@1.1.1.1/32\t2.2.2.2/32\t0 : 65535\t0 : 65535\t0x11/0xFF\n") + line;
    auto rules = cb::ParseFilters(text, "f");
    ASSERT_FALSE(rules.ok()) << line;
    EXPECT_NE(std::string(rules.status().message()).find("f:2:"), std::string::npos)
        << rules.status();
  }
}

TEST(ClassBenchParse, TraceAndExpected) {
  std::vector<uint32_t> gen;
  auto trace =
      cb::ParseTrace("4294967295\t1\t65535\t22\t6\t33559040\t709\n0 2 3 4 17\n", "t", &gen);
  ASSERT_TRUE(trace.ok()) << trace.status();
  ASSERT_EQ(trace->size(), 2u);
  EXPECT_EQ((*trace)[0].src, IpAddr::V4(0xFFFFFFFFu));
  EXPECT_EQ((*trace)[0].dst, IpAddr::V4(1));
  EXPECT_EQ((*trace)[0].src_port, 65535);
  EXPECT_EQ((*trace)[0].dst_port, 22);
  EXPECT_EQ((*trace)[0].proto, 6);
  EXPECT_EQ(gen, (std::vector<uint32_t>{709, 0xFFFFFFFFu}));

  EXPECT_FALSE(cb::ParseTrace("1 2 3 4\n").ok());             // too few columns
  EXPECT_FALSE(cb::ParseTrace("1 2 3 65536 6\n").ok());       // port too large
  EXPECT_FALSE(cb::ParseTrace("4294967296 2 3 4 6\n").ok());  // address too large
  EXPECT_FALSE(cb::ParseTrace("1 2 3 4 6 0 1 9\n").ok());     // too many columns

  auto expected = cb::ParseExpected("3\n-1\n0\n");
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ(*expected, (std::vector<int32_t>{3, -1, 0}));
  auto bad = cb::ParseExpected("3\n-2\n", "e");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("e:2:"), std::string::npos) << bad.status();
}

TEST(ClassBenchParse, NoMatchIsMinusOne) { EXPECT_EQ(AsIndex(RuleClassifier::kNoMatch), -1); }

class ClassBenchSetTest : public ::testing::TestWithParam<std::string_view> {};

// The traces: FirstMatch and FirstMatchBurst must both give <set>_expected.
TEST_P(ClassBenchSetTest, TraceMatchesExpected) {
  std::optional<std::string> dir = cb::DataDir();
  if (!dir)
    GTEST_SKIP() << "ClassBench data not found: set TW_CLASSBENCH_DIR or provide "
                    "<source root>/../shared/classbench";
  const std::string name(GetParam());
  if (!cb::FindFile(*dir, name)) GTEST_SKIP() << "no " << name << " in " << *dir;
  absl::StatusOr<cb::Set> set = cb::LoadSet(*dir, name);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_FALSE(set->rules.empty());
  ASSERT_FALSE(set->trace.empty());

  RuleClassifier c = RuleClassifier::Build(cb::ToRawBoxes(set->rules), 1);
  EXPECT_GT(c.MemoryBytes(), 0u);

  MismatchLog single(name + " FirstMatch", set->rules);
  for (size_t i = 0; i < set->trace.size(); ++i)
    single.Check(i, set->trace[i], set->expected[i], AsIndex(c.FirstMatch(0, set->trace[i])));
  EXPECT_EQ(single.count(), 0u) << name << ": FirstMatch mismatches out of " << set->trace.size();

  // Bursts of 32, the last one short unless the trace length divides evenly.
  MismatchLog burst(name + " FirstMatchBurst", set->rules);
  std::vector<uint32_t> out(kBurst);
  for (size_t i = 0; i < set->trace.size(); i += kBurst) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(kBurst, set->trace.size() - i));
    std::fill(out.begin(), out.end(), 0xdeadbeefu);
    c.FirstMatchBurst(&set->trace[i], n, out.data());
    for (uint32_t j = 0; j < n; ++j)
      burst.Check(i + j, set->trace[i + j], set->expected[i + j], AsIndex(out[j]));
    // The burst must write only its n results.
    for (uint32_t j = n; j < kBurst; ++j) ASSERT_EQ(out[j], 0xdeadbeefu) << "wrote past n=" << n;
  }
  EXPECT_EQ(burst.count(), 0u) << name << ": FirstMatchBurst mismatches out of "
                               << set->trace.size();
}

INSTANTIATE_TEST_SUITE_P(AllSets, ClassBenchSetTest, ::testing::ValuesIn(cb::kAllSets),
                         [](const auto& p) { return std::string(p.param); });

// Picks a value near a rule's edges (or anywhere), so that off-by-one bugs in
// the field maps or the tree cuts show up.
template <typename T>
T EdgeValue(std::mt19937_64& rng, T lo, T hi, T max) {
  switch (rng() % 6) {
    case 0: return lo;
    case 1: return hi;
    case 2: return lo == 0 ? lo : T(lo - 1);
    case 3: return hi == max ? hi : T(hi + 1);
    case 4: return T(lo + rng() % (uint64_t(hi) - lo + 1));
    default: return T(rng() % (uint64_t(max) + 1));
  }
}

class ClassBenchBruteForceTest : public ::testing::TestWithParam<std::string_view> {};

// Random packets against a linear scan of the rules (the 1K sets keep it fast).
TEST_P(ClassBenchBruteForceTest, RandomPacketsMatchLinearScan) {
  std::optional<std::string> dir = cb::DataDir();
  if (!dir)
    GTEST_SKIP() << "ClassBench data not found: set TW_CLASSBENCH_DIR or provide "
                    "<source root>/../shared/classbench";
  const std::string name(GetParam());
  absl::StatusOr<cb::Set> set = cb::LoadSet(*dir, name);
  ASSERT_TRUE(set.ok()) << set.status();
  const std::vector<cb::Rule>& rules = set->rules;

  // The reference itself must agree with the expected answers first; otherwise
  // a mismatch below could be the reference's fault.
  for (size_t i = 0; i < set->trace.size(); i += 7)
    ASSERT_EQ(cb::LinearFirstMatch(rules, set->trace[i]), set->expected[i]) << "trace line " << i;

  std::mt19937_64 rng(0x5eed0000u + rules.size());
  constexpr size_t kPackets = 4096;
  std::vector<PacketKey> keys;
  keys.reserve(kPackets);
  const uint8_t kProtos[] = {0, 1, 6, 17, 47, 50, 255};
  for (size_t i = 0; i < kPackets; ++i) {
    PacketKey k;
    if (i % 8 == 0) {  // uniform: mostly matches nothing or a catch-all
      k.src = IpAddr::V4(uint32_t(rng()));
      k.dst = IpAddr::V4(uint32_t(rng()));
      k.proto = kProtos[rng() % std::size(kProtos)];
      k.src_port = uint16_t(rng());
      k.dst_port = uint16_t(rng());
    } else {  // near the edges of one rule
      const cb::Rule& r = rules[rng() % rules.size()];
      const uint32_t smask = r.src_len == 0 ? 0 : ~0u << (32 - r.src_len);
      const uint32_t dmask = r.dst_len == 0 ? 0 : ~0u << (32 - r.dst_len);
      k.src = IpAddr::V4(EdgeValue<uint32_t>(rng, r.src_ip, r.src_ip | ~smask, 0xFFFFFFFFu));
      k.dst = IpAddr::V4(EdgeValue<uint32_t>(rng, r.dst_ip, r.dst_ip | ~dmask, 0xFFFFFFFFu));
      k.proto =
          r.proto_mask == 0xFF && rng() % 4 != 0 ? r.proto : kProtos[rng() % std::size(kProtos)];
      k.src_port = EdgeValue<uint16_t>(rng, r.src_port_lo, r.src_port_hi, 65535);
      k.dst_port = EdgeValue<uint16_t>(rng, r.dst_port_lo, r.dst_port_hi, 65535);
    }
    keys.push_back(k);
  }

  // fw1 and ipc1 end in a match-everything rule, so "no match" never happens
  // with the whole set; the second pass drops such rules to exercise it.
  std::vector<cb::Rule> no_catch_all;
  for (const cb::Rule& r : rules)
    if (!(r.src_len == 0 && r.dst_len == 0 && r.proto_mask == 0 && r.src_port_lo == 0 &&
          r.src_port_hi == 65535 && r.dst_port_lo == 0 && r.dst_port_hi == 65535))
      no_catch_all.push_back(r);

  const std::vector<cb::Rule>* lists[] = {&rules, &no_catch_all};
  for (const std::vector<cb::Rule>* list : lists) {
    const std::string label = name + (list == &rules ? " random" : " random/no-catch-all");
    RuleClassifier c = RuleClassifier::Build(cb::ToRawBoxes(*list), 1);
    MismatchLog single(label + " FirstMatch", *list);
    MismatchLog burst(label + " FirstMatchBurst", *list);
    std::vector<uint32_t> out(kPackets);
    for (size_t i = 0; i < kPackets; i += kBurst)
      c.FirstMatchBurst(&keys[i], uint32_t(std::min<size_t>(kBurst, kPackets - i)), &out[i]);
    std::vector<int32_t> answers;
    for (size_t i = 0; i < kPackets; ++i) {
      const int32_t want = cb::LinearFirstMatch(*list, keys[i]);
      answers.push_back(want);
      single.Check(i, keys[i], want, AsIndex(c.FirstMatch(0, keys[i])));
      burst.Check(i, keys[i], want, AsIndex(out[i]));
    }
    EXPECT_EQ(single.count(), 0u) << label;
    EXPECT_EQ(burst.count(), 0u) << label;
    // The packets must reach many different rules for the check to mean much.
    std::sort(answers.begin(), answers.end());
    const size_t distinct = size_t(std::unique(answers.begin(), answers.end()) - answers.begin());
    EXPECT_GT(distinct, 200u) << label;
    if (list == &no_catch_all) {
      EXPECT_EQ(answers.front(), -1) << label << ": no packet missed";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SmallSets, ClassBenchBruteForceTest,
                         ::testing::Values("acl1_1K", "fw1_1K", "ipc1_1K"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace tierwall::test
