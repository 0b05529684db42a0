// The aggregator: reporters and policy strings, delta accounting, levels,
// active flows across intervals, both caps, and a 100k-flow volume run.
#include "control/flowlog/aggregator.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/flowlog/fixtures.h"

namespace tierwall::test::flowlog {
namespace {

using ctl::flowlog::Aggregator;
using ctl::flowlog::AggregatorConfig;
using ctl::flowlog::EndpointDirectory;
using ctl::flowlog::FlowRecord;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = FlowObservation::Kind;

constexpr char kLoadgen[] = "198.18.1.10";
constexpr char kFrontend[] = "198.18.1.11";
constexpr char kFrontend2[] = "198.18.1.12";
constexpr char kCart[] = "198.18.1.13";

// loadgenerator -> frontend:8080: egress allowed by the loadgenerator policy;
// ingress passed by two tiers (and logged) then denied at the end of
// app-hipstershop.
std::vector<PolicyHit> DeniedAtFrontend() {
  return {
      Hit("app-hipstershop", "hipstershop/app-hipstershop.loadgenerator", "allow", 0, false),
      Hit("security", "security.audit", "log", 0, true),
      Hit("security", "security.baseline", "pass", 1, true),
      Hit("platform", "platform.dns", "pass", -1, true),
      Hit("app-hipstershop", "hipstershop/app-hipstershop.frontend", "deny", -1, true),
  };
}

std::vector<PolicyHit> AllowedToCart() {
  return {
      Hit("app-hipstershop", "hipstershop/app-hipstershop.frontend", "allow", 2, false),
      Hit("app-hipstershop", "hipstershop/app-hipstershop.cartservice", "allow", 0, true),
  };
}

const FlowRecord* Find(const std::vector<FlowRecord>& records, const std::string& reporter) {
  for (const FlowRecord& r : records) {
    if (r.reporter == reporter) return &r;
  }
  return nullptr;
}

TEST(Aggregator, DeniedFlowHasBothReportersAndCalicoPolicyStrings) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg;
  agg.Add(Obs(Kind::kStart, kLoadgen, 40000, kFrontend, 8080, DeniedAtFrontend(), 3, 0), dir, 100);
  std::vector<FlowRecord> records = agg.Flush(160);
  ASSERT_EQ(records.size(), 2u);

  const FlowRecord* dst = Find(records, "dst");
  ASSERT_NE(dst, nullptr);
  EXPECT_EQ(dst->action, "deny");
  EXPECT_THAT(dst->enforced_policies,
              ElementsAre("0|security|security.baseline|pass|1", "1|platform|platform.dns|pass|-1",
                          "2|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1"));
  // Denied: level 1 keeps both sides' addresses and names.
  EXPECT_EQ(dst->source_ip, kLoadgen);
  EXPECT_EQ(dst->source_name, "loadgenerator-5d9f8c7b6-abcde");
  EXPECT_EQ(dst->source_name_aggr, "loadgenerator-5d9f8c7b6-*");
  EXPECT_EQ(dst->dest_ip, kFrontend);
  EXPECT_EQ(dst->dest_name, "frontend-7b8f6c9d5-4lq8z");
  EXPECT_EQ(dst->dest_namespace, "hipstershop");
  EXPECT_EQ(dst->dest_type, "wep");
  EXPECT_EQ(dst->dest_port, 8080);
  EXPECT_EQ(dst->proto, "tcp");
  EXPECT_EQ(dst->packets_in, 3u);  // the destination receives the original direction
  EXPECT_EQ(dst->packets_out, 0u);
  EXPECT_EQ(dst->start_time, 100);
  EXPECT_EQ(dst->end_time, 160);

  const FlowRecord* src = Find(records, "src");
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->action, "allow");
  EXPECT_THAT(src->enforced_policies,
              ElementsAre("0|app-hipstershop|hipstershop/app-hipstershop.loadgenerator|allow|0"));
  // Allowed: level 2 merges the source's ReplicaSet.
  EXPECT_EQ(src->source_ip, "-");
  EXPECT_EQ(src->source_name, "-");
  EXPECT_EQ(src->source_name_aggr, "loadgenerator-5d9f8c7b6-*");
  EXPECT_EQ(src->dest_name, "frontend-7b8f6c9d5-4lq8z");
  EXPECT_EQ(src->packets_out, 3u);
  EXPECT_EQ(src->num_flows, 1u);
  EXPECT_EQ(src->num_flows_started, 1u);
  EXPECT_EQ(src->num_flows_completed, 0u);
}

TEST(Aggregator, AllowedFlowPendingPoliciesAndNoReporterForUnknownSides) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg;
  FlowObservation o = Obs(Kind::kStart, kFrontend, 1234, kCart, 7070, AllowedToCart(), 1, 1);
  o.pending = {
      Hit("app-hipstershop", "hipstershop/app-hipstershop.staged:cartservice", "deny", -1, true)};
  agg.Add(o, dir, 0);
  // From the internet: only the destination reports.
  agg.Add(Obs(Kind::kStart, "8.8.8.8", 5555, kFrontend, 8080,
              {Hit("app-hipstershop", "hipstershop/app-hipstershop.frontend", "allow", 0, true)}),
          dir, 0);
  // To the internet with no hits at the source: nobody reports.
  agg.Add(Obs(Kind::kStart, kFrontend, 5555, "8.8.8.8", 443, {}), dir, 0);
  std::vector<FlowRecord> records = agg.Flush(10);
  ASSERT_EQ(records.size(), 3u);
  int from_internet = 0;
  for (const FlowRecord& r : records) {
    if (r.source_type == "net") {
      ++from_internet;
      EXPECT_EQ(r.reporter, "dst");
      EXPECT_EQ(r.source_name_aggr, "pub");
      continue;
    }
    EXPECT_EQ(r.action, "allow");
    if (r.reporter == "dst") {
      EXPECT_THAT(r.enforced_policies,
                  ElementsAre("0|app-hipstershop|hipstershop/app-hipstershop.cartservice|allow|0"));
      EXPECT_THAT(
          r.pending_policies,
          ElementsAre("0|app-hipstershop|hipstershop/app-hipstershop.staged:cartservice|deny|-1"));
    } else {
      EXPECT_THAT(r.pending_policies, IsEmpty());
    }
  }
  EXPECT_EQ(from_internet, 1);
}

TEST(Aggregator, OnlyPassHitsReportAllow) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg;
  agg.Add(Obs(Kind::kStart, kFrontend, 1, kCart, 7070,
              {Hit("security", "security.baseline", "pass", 0, true)}),
          dir, 0);
  std::vector<FlowRecord> records = agg.Flush(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].action, "allow");
}

TEST(Aggregator, DeltasAreNotDoubleCounted) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg;
  agg.Add(Obs(Kind::kStart, kFrontend, 1234, kCart, 7070, AllowedToCart(), 3, 2), dir, 0);
  agg.Add(Obs(Kind::kReverdict, kFrontend, 1234, kCart, 7070, AllowedToCart(), 10, 8), dir, 1);
  agg.Add(Obs(Kind::kEnd, kFrontend, 1234, kCart, 7070, AllowedToCart(), 15, 12), dir, 2);
  EXPECT_EQ(agg.active_flows(), 0u);
  std::vector<FlowRecord> records = agg.Flush(3);
  ASSERT_EQ(records.size(), 2u);
  const FlowRecord* src = Find(records, "src");
  EXPECT_EQ(src->packets_out, 15u);
  EXPECT_EQ(src->packets_in, 12u);
  EXPECT_EQ(src->bytes_out, 1500u);
  EXPECT_EQ(src->bytes_in, 12000u);
  EXPECT_EQ(src->num_flows, 1u);
  EXPECT_EQ(src->num_flows_started, 1u);
  EXPECT_EQ(src->num_flows_completed, 1u);
  const FlowRecord* dst = Find(records, "dst");
  EXPECT_EQ(dst->packets_in, 15u);
  EXPECT_EQ(dst->packets_out, 12u);
}

TEST(Aggregator, DeltasAcrossIntervalsAndCounterReset) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg;
  agg.Add(Obs(Kind::kStart, kFrontend, 1234, kCart, 7070, AllowedToCart(), 3, 2), dir, 0);
  std::vector<FlowRecord> first = agg.Flush(10);
  agg.Add(Obs(Kind::kReverdict, kFrontend, 1234, kCart, 7070, AllowedToCart(), 10, 8), dir, 11);
  std::vector<FlowRecord> second = agg.Flush(20);
  // The dataplane's entry was recreated: totals restart below the last ones.
  agg.Add(Obs(Kind::kEnd, kFrontend, 1234, kCart, 7070, AllowedToCart(), 4, 4), dir, 21);
  std::vector<FlowRecord> third = agg.Flush(30);
  EXPECT_EQ(Find(first, "src")->packets_out, 3u);
  EXPECT_EQ(Find(second, "src")->packets_out, 7u);
  EXPECT_EQ(Find(second, "src")->num_flows_started, 0u);
  EXPECT_EQ(Find(second, "src")->num_flows, 1u);
  EXPECT_EQ(Find(third, "src")->packets_out, 4u);
  EXPECT_EQ(Find(third, "src")->num_flows_completed, 1u);
  EXPECT_EQ(Find(third, "src")->start_time, 20);
}

TEST(Aggregator, LevelsMergeReplicaSets) {
  EndpointDirectory dir(Hipstershop());
  auto run = [&](AggregatorConfig config) {
    Aggregator agg(config);
    agg.Add(Obs(Kind::kStart, kFrontend, 1, kCart, 7070, AllowedToCart()), dir, 0);
    agg.Add(Obs(Kind::kStart, kFrontend, 2, kCart, 7070, AllowedToCart()), dir, 0);
    agg.Add(Obs(Kind::kStart, kFrontend2, 1, kCart, 7070, AllowedToCart()), dir, 0);
    return agg.Flush(1);
  };
  auto src_records = [](const std::vector<FlowRecord>& all) {
    std::vector<FlowRecord> out;
    for (const FlowRecord& r : all) {
      if (r.reporter == "src") out.push_back(r);
    }
    return out;
  };

  // Levels 0 and 1: one record per source pod; source ports merged.
  for (int level : {0, 1}) {
    std::vector<FlowRecord> src = src_records(run({.level_allowed = level}));
    ASSERT_EQ(src.size(), 2u) << level;
    EXPECT_EQ(src[0].num_flows + src[1].num_flows, 3u);
    EXPECT_NE(src[0].source_ip, "-");
  }
  // Level 2: the two frontend pods are one row.
  std::vector<FlowRecord> src = src_records(run({.level_allowed = 2}));
  ASSERT_EQ(src.size(), 1u);
  EXPECT_EQ(src[0].num_flows, 3u);
  EXPECT_EQ(src[0].source_ip, "-");
  EXPECT_EQ(src[0].source_name, "-");
  EXPECT_EQ(src[0].source_name_aggr, "frontend-7b8f6c9d5-*");
  EXPECT_EQ(src[0].source_labels.at("app"), "frontend");
  EXPECT_EQ(src[0].dest_ip, kCart);

  // Level 3 merges the destination: loadgenerator to both frontends, one row.
  Aggregator agg({.level_allowed = 3});
  std::vector<PolicyHit> allow = {
      Hit("app-hipstershop", "hipstershop/app-hipstershop.frontend", "allow", 0, true)};
  agg.Add(Obs(Kind::kStart, kLoadgen, 1, kFrontend, 8080, allow), dir, 0);
  agg.Add(Obs(Kind::kStart, kLoadgen, 2, kFrontend2, 8080, allow), dir, 0);
  std::vector<FlowRecord> merged = agg.Flush(1);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].dest_ip, "-");
  EXPECT_EQ(merged[0].dest_name, "-");
  EXPECT_EQ(merged[0].dest_name_aggr, "frontend-7b8f6c9d5-*");
  EXPECT_EQ(merged[0].num_flows, 2u);
}

TEST(Aggregator, MergedLabelsAreTheCommonOnes) {
  model::ResourceSet rs;
  rs.endpoints.push_back(
      Wep("ns", "web-5d9f8c7b6-aaaaa", "10.1.0.1", {{"app", "web"}, {"x", "1"}}));
  rs.endpoints.push_back(
      Wep("ns", "web-5d9f8c7b6-bbbbb", "10.1.0.2", {{"app", "web"}, {"x", "2"}}));
  rs.endpoints.push_back(Wep("ns", "db", "10.1.0.3", {}));
  EndpointDirectory dir(rs);
  Aggregator agg;
  std::vector<PolicyHit> egress = {Hit("default", "ns/default.web", "allow", 0, false)};
  agg.Add(Obs(Kind::kStart, "10.1.0.1", 1, "10.1.0.3", 5432, egress), dir, 0);
  agg.Add(Obs(Kind::kStart, "10.1.0.2", 1, "10.1.0.3", 5432, egress), dir, 0);
  std::vector<FlowRecord> records = agg.Flush(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].source_labels, (std::map<std::string, std::string>{{"app", "web"}}));
}

TEST(Aggregator, ActiveFlowsCountInLaterIntervals) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg;
  agg.Add(Obs(Kind::kStart, kFrontend, 1234, kCart, 7070, AllowedToCart(), 5, 5), dir, 0);
  EXPECT_EQ(agg.active_flows(), 1u);
  std::vector<FlowRecord> first = agg.Flush(10);
  std::vector<FlowRecord> quiet = agg.Flush(20);  // nothing observed, still active
  ASSERT_EQ(quiet.size(), 2u);
  for (const FlowRecord& r : quiet) {
    EXPECT_EQ(r.num_flows, 1u);
    EXPECT_EQ(r.num_flows_started, 0u);
    EXPECT_EQ(r.num_flows_completed, 0u);
    EXPECT_EQ(r.packets_in + r.packets_out, 0u);
    EXPECT_EQ(r.start_time, 10);
    EXPECT_EQ(r.end_time, 20);
  }
  agg.Add(Obs(Kind::kEnd, kFrontend, 1234, kCart, 7070, AllowedToCart(), 5, 5), dir, 25);
  std::vector<FlowRecord> last = agg.Flush(30);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].num_flows, 1u);
  EXPECT_EQ(last[0].num_flows_completed, 1u);
  EXPECT_EQ(agg.active_flows(), 0u);
  EXPECT_THAT(agg.Flush(40), IsEmpty());
  EXPECT_EQ(agg.keys_held(), 0u);
}

TEST(Aggregator, ReverdictToNewPolicyCountsTheFlowUnderBothKeys) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg;
  agg.Add(
      Obs(Kind::kStart, kLoadgen, 1, kFrontend, 8080,
          {Hit("app-hipstershop", "hipstershop/app-hipstershop.frontend", "allow", 0, true)}, 2, 2),
      dir, 0);
  agg.Add(
      Obs(Kind::kReverdict, kLoadgen, 1, kFrontend, 8080,
          {Hit("app-hipstershop", "hipstershop/app-hipstershop.frontend", "deny", -1, true)}, 5, 2),
      dir, 1);
  std::vector<FlowRecord> records = agg.Flush(2);
  ASSERT_EQ(records.size(), 2u);
  for (const FlowRecord& r : records) {
    EXPECT_EQ(r.num_flows, 1u);
    EXPECT_EQ(r.packets_in, r.action == "allow" ? 2u : 3u);
  }
  // Next interval: the flow counts under its latest key only.
  std::vector<FlowRecord> next = agg.Flush(3);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].action, "deny");
}

TEST(Aggregator, RecordCapCountsLostObservations) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg({.max_records_per_interval = 2});
  std::vector<PolicyHit> allow = {
      Hit("app-hipstershop", "hipstershop/app-hipstershop.frontend", "allow", 0, true)};
  for (uint16_t port : {1, 2, 3, 4}) {
    agg.Add(Obs(Kind::kStart, "8.8.8.8", 999, kFrontend, port, allow, 1, 0), dir, 0);
  }
  // Another observation for an existing record still fits.
  agg.Add(Obs(Kind::kStart, "8.8.4.4", 999, kFrontend, 1, allow, 1, 0), dir, 0);
  std::vector<FlowRecord> records = agg.Flush(1);
  EXPECT_EQ(records.size(), 2u);
  EXPECT_EQ(agg.lost_records(), 2u);
  uint64_t started = 0;
  for (const FlowRecord& r : records) started += r.num_flows_started;
  EXPECT_EQ(started + agg.lost_records(), 5u);
  // The next interval has room again.
  agg.Add(Obs(Kind::kStart, "8.8.8.8", 999, kFrontend, 9, allow), dir, 2);
  EXPECT_EQ(agg.Flush(3).size(), 2u);  // the new one plus a carried active flow's record
}

TEST(Aggregator, ActiveFlowCapCountsLostAndStillCountsTheEnd) {
  EndpointDirectory dir(Hipstershop());
  Aggregator agg({.max_active_flows = 1});
  agg.Add(Obs(Kind::kStart, kFrontend, 1, kCart, 7070, AllowedToCart(), 1, 1), dir, 0);
  agg.Add(Obs(Kind::kStart, kFrontend, 2, kCart, 7070, AllowedToCart(), 1, 1), dir, 0);
  EXPECT_EQ(agg.active_flows(), 1u);
  EXPECT_EQ(agg.lost_records(), 1u);
  agg.Add(Obs(Kind::kEnd, kFrontend, 2, kCart, 7070, AllowedToCart(), 7, 3), dir, 0);
  std::vector<FlowRecord> records = agg.Flush(1);
  const FlowRecord* src = Find(records, "src");
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->num_flows_started, 1u);
  EXPECT_EQ(src->num_flows_completed, 1u);
  EXPECT_EQ(src->packets_out, 8u);  // 1 from flow 1, the full 7 of the untracked flow's end
}

// 100,000 short flows from 100 client pods in 4 ReplicaSets to 4 server pods:
// level 2 folds them into 4 x 4 records per reporter and interval; nothing is
// lost, memory follows the live flows.
TEST(Aggregator, VolumeHundredThousandFlows) {
  model::ResourceSet rs;
  for (int i = 0; i < 100; ++i) {
    const std::string ip = absl::StrCat("10.2.0.", i + 1);
    rs.endpoints.push_back(Wep("shop", absl::StrCat("client", i % 4, "-5d9f8c7b6-p", 1000 + i),
                               ip.c_str(), {{"app", absl::StrCat("client", i % 4)}}));
  }
  for (int i = 0; i < 4; ++i) {
    const std::string ip = absl::StrCat("10.3.0.", i + 1);
    rs.endpoints.push_back(
        Wep("shop", absl::StrCat("server-7b8f6c9d5-s000", i), ip.c_str(), {{"app", "server"}}));
  }
  EndpointDirectory dir(rs);
  Aggregator agg;
  std::vector<PolicyHit> hits = {Hit("default", "shop/default.client", "allow", 0, false),
                                 Hit("default", "shop/default.server", "allow", 0, true)};

  uint64_t started = 0, completed = 0, packets = 0, flows_seen = 0;
  size_t max_records = 0, max_active = 0;
  auto flush = [&](int64_t now) {
    std::vector<FlowRecord> records = agg.Flush(now);
    max_records = std::max(max_records, records.size());
    for (const FlowRecord& r : records) {
      if (r.reporter != "src") continue;
      started += r.num_flows_started;
      completed += r.num_flows_completed;
      packets += r.packets_out;
      flows_seen += r.num_flows;
    }
  };
  constexpr int kFlows = 100'000;
  constexpr int kInFlight = 500;  // ends trail starts by this many flows
  auto observe = [&](int i, Kind kind) {
    const std::string src = absl::StrCat("10.2.0.", i % 100 + 1);
    const std::string dst = absl::StrCat("10.3.0.", i % 4 + 1);
    FlowObservation o = Obs(kind, src.c_str(), static_cast<uint16_t>(1024 + i / 100), dst.c_str(),
                            8080, hits, kind == Kind::kEnd ? 10 : 2, 10);
    o.enforced = hits;
    agg.Add(o, dir, i / 1000);
  };
  for (int i = 0; i < kFlows + kInFlight; ++i) {
    if (i < kFlows) observe(i, Kind::kStart);
    if (i >= kInFlight) observe(i - kInFlight, Kind::kEnd);
    max_active = std::max(max_active, agg.active_flows());
    if (i % 10'000 == 9'999) flush(i / 1000);
  }
  flush(1000);

  EXPECT_EQ(agg.lost_records(), 0u);
  EXPECT_EQ(started, uint64_t{kFlows});
  EXPECT_EQ(completed, uint64_t{kFlows});
  EXPECT_EQ(packets, uint64_t{kFlows} * 10);  // start's 2 then the end's delta of 8
  EXPECT_GE(flows_seen, uint64_t{kFlows});    // flows spanning a flush count twice
  EXPECT_LE(max_records, 2u * 16u);           // 4 client sets x 4 servers, two reporters
  EXPECT_LE(max_active, size_t{kInFlight} + 1);
  EXPECT_EQ(agg.active_flows(), 0u);
  EXPECT_EQ(agg.keys_held(), 0u);
}

}  // namespace
}  // namespace tierwall::test::flowlog
