// History queries with hubble-style filters (incl. negation and bad input)
// and follow streams that wake on append and time out.
#include "control/flowlog/flow_history.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierwall::test::flowlog {
namespace {

using ctl::flowlog::EndpointFilter;
using ctl::flowlog::FlowFilter;
using ctl::flowlog::FlowHistory;
using ctl::flowlog::FlowRecord;
using ctl::flowlog::GlobMatch;
using ctl::flowlog::ParseEndpointFilter;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

FlowRecord Rec(std::string src_ns, std::string src_name, std::string src_ip, std::string dst_ns,
               std::string dst_name, std::string dst_ip, int port, std::string action,
               std::vector<std::string> policies, int64_t t) {
  FlowRecord r;
  r.source_namespace = src_ns;
  r.source_name = src_name;
  r.source_name_aggr = src_name;
  r.source_ip = src_ip;
  r.source_type = "wep";
  r.dest_namespace = dst_ns;
  r.dest_name = dst_name;
  r.dest_name_aggr = dst_name;
  r.dest_ip = dst_ip;
  r.dest_type = "wep";
  r.dest_port = port;
  r.proto = "tcp";
  r.action = action;
  r.reporter = "dst";
  r.enforced_policies = std::move(policies);
  r.start_time = t;
  r.end_time = t + 10;
  return r;
}

// 0: loadgen -> frontend denied; 1: frontend -> cart allowed; 2: aggregated
// frontend pods -> redis (other namespace) allowed by a staged-pending policy.
std::vector<FlowRecord> World() {
  FlowRecord aggregated = Rec("hipstershop", "-", "-", "data", "redis", "10.9.0.5", 6379, "allow",
                              {"0|default|data/default.redis|allow|0"}, 20);
  aggregated.source_name_aggr = "frontend-7b8f6c9d5-*";
  aggregated.pending_policies = {"0|data|data/data.staged:lockdown|deny|-1"};
  return {
      Rec("hipstershop", "loadgenerator-5d9f8c7b6-abcde", "198.18.1.10", "hipstershop",
          "frontend-7b8f6c9d5-4lq8z", "198.18.1.11", 8080, "deny",
          {"0|security|security.baseline|pass|1",
           "1|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1"},
          0),
      Rec("hipstershop", "frontend-7b8f6c9d5-4lq8z", "198.18.1.11", "hipstershop",
          "cartservice-6c8d7f9b4-qqqqq", "198.18.1.13", 7070, "allow",
          {"0|app-hipstershop|hipstershop/app-hipstershop.cartservice|allow|0"}, 10),
      aggregated,
  };
}

EndpointFilter Ep(const char* text) {
  auto f = ParseEndpointFilter(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status();
  return *f;
}

// Which of World()'s records (by dest_port) a filter selects.
std::vector<int> Select(const FlowFilter& filter) {
  FlowHistory h;
  h.Append(World());
  std::vector<int> ports;
  for (const FlowRecord& r : h.Query(filter)) ports.push_back(r.dest_port);
  return ports;
}

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(FlowFilter, Actions) {
  FlowFilter f;
  f.actions.any_of = {"deny"};
  EXPECT_THAT(Select(f), ElementsAre(8080));
  f.actions.negate = true;
  EXPECT_THAT(Select(f), ElementsAre(7070, 6379));
  f.actions.any_of = {"allow", "deny"};
  f.actions.negate = false;
  EXPECT_THAT(Select(f), ElementsAre(8080, 7070, 6379));
}

TEST(FlowFilter, PolicyNameInAnyFormAndTier) {
  for (const char* name :
       {"frontend", "app-hipstershop.frontend", "hipstershop/app-hipstershop.frontend"}) {
    FlowFilter f;
    f.policies.any_of = {name};
    EXPECT_THAT(Select(f), ElementsAre(8080)) << name;
  }
  FlowFilter pending;
  pending.policies.any_of = {"lockdown"};  // staged, pending only
  EXPECT_THAT(Select(pending), ElementsAre(6379));
  pending.policies.any_of = {"data.lockdown"};
  EXPECT_THAT(Select(pending), ElementsAre(6379));
  FlowFilter tier;
  tier.tiers.any_of = {"app-hipstershop"};
  EXPECT_THAT(Select(tier), ElementsAre(8080, 7070));
  tier.tiers.negate = true;
  EXPECT_THAT(Select(tier), ElementsAre(6379));
  FlowFilter none;
  none.policies.any_of = {"hipstershop.frontend"};  // wrong tier
  EXPECT_THAT(Select(none), IsEmpty());
}

TEST(FlowFilter, FromAndTo) {
  FlowFilter f;
  f.from.any_of = {Ep("198.18.1.10")};
  EXPECT_THAT(Select(f), ElementsAre(8080));
  f.from.any_of = {Ep("198.18.0.0/15")};
  EXPECT_THAT(Select(f), ElementsAre(8080, 7070));  // the aggregated one has no IP
  f.from.any_of = {Ep("hipstershop/frontend-*")};
  EXPECT_THAT(Select(f), ElementsAre(7070, 6379));
  // A pod name matches the aggregated row that covers it.
  f.from.any_of = {Ep("hipstershop/frontend-7b8f6c9d5-x9k2m")};
  EXPECT_THAT(Select(f), ElementsAre(6379));
  f.from.any_of = {Ep("frontend-7b8f6c9d5-4lq8z")};  // bare name, any namespace
  EXPECT_THAT(Select(f), ElementsAre(7070, 6379));
  f.from.any_of = {Ep("other/frontend-7b8f6c9d5-4lq8z")};
  EXPECT_THAT(Select(f), IsEmpty());

  FlowFilter to;
  to.to.any_of = {Ep("data/")};
  EXPECT_THAT(Select(to), ElementsAre(6379));
  to.to.negate = true;  // --not --to-namespace data
  EXPECT_THAT(Select(to), ElementsAre(8080, 7070));
  to.to.any_of = {Ep("data/"), Ep("198.18.1.13")};
  EXPECT_THAT(Select(to), ElementsAre(8080));
}

TEST(FlowFilter, PortNamespaceAndCombination) {
  FlowFilter f;
  f.ports.any_of = {8080, 6379};
  EXPECT_THAT(Select(f), ElementsAre(8080, 6379));
  f.namespaces.any_of = {"data"};
  EXPECT_THAT(Select(f), ElementsAre(6379));
  f.namespaces.negate = true;
  EXPECT_THAT(Select(f), ElementsAre(8080));
  FlowFilter either;
  either.namespaces.any_of = {"hipstershop"};
  EXPECT_THAT(Select(either), ElementsAre(8080, 7070, 6379));  // source or destination
}

TEST(FlowFilter, BadFiltersSayWhy) {
  for (const char* bad : {"", "/frontend", "198.18.1.0/33", "198.18.1.1/24", "10.0.0.999", "ns/a/b",
                          "ns/Frontend", "ns*/x", "front end"}) {
    auto f = ParseEndpointFilter(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(f.status().message()), HasSubstr("bad endpoint filter")) << bad;
  }
  EXPECT_THAT(std::string(ParseEndpointFilter("/x").status().message()),
              HasSubstr("empty namespace"));
  FlowFilter f;
  f.actions.any_of = {"drop"};
  EXPECT_FALSE(f.Validate().ok());
  f.actions.any_of = {"deny"};
  f.ports.any_of = {70000};
  EXPECT_FALSE(f.Validate().ok());
  f.ports.any_of = {53};
  EXPECT_TRUE(f.Validate().ok());
  EXPECT_TRUE(ParseEndpointFilter("2001:db8::/32").ok());
  EXPECT_TRUE(ParseEndpointFilter("kube-system/").ok());
}

TEST(FlowFilter, FromHubbleStyleArguments) {
  auto f = ctl::flowlog::ParseFlowFilter(
      {"--action", "deny", "--not", "--from", "198.18.1.11", "--port=8080", "--port", "6379"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->from.negate);
  EXPECT_FALSE(f->ports.negate);
  EXPECT_THAT(f->ports.any_of, ElementsAre(8080, 6379));
  EXPECT_THAT(Select(*f), ElementsAre(8080));
  auto g = ctl::flowlog::ParseFlowFilter({"--not", "--namespace", "data", "--tier", "security"});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(Select(*g), ElementsAre(8080));

  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Bad& bad : std::vector<Bad>{
           {{"--action", "drop"}, "want allow or deny"},
           {{"--port", "99999"}, "want 0..65535"},
           {{"--port", "http"}, "want 0..65535"},
           {{"--from", "/x"}, "empty namespace"},
           {{"--colour", "red"}, "unknown filter --colour"},
           {{"--to"}, "needs a value"},
           {{"--policy", "a", "--not"}, "negates nothing"},
           {{"--tier", "a", "--not", "--tier", "b"}, "both with and without --not"},
           {{"deny"}, "unexpected"},
       }) {
    auto r = ctl::flowlog::ParseFlowFilter(bad.args);
    ASSERT_FALSE(r.ok()) << bad.says;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(bad.says));
  }
}

TEST(FlowFilter, Glob) {
  EXPECT_TRUE(GlobMatch("front*", "frontend"));
  EXPECT_TRUE(GlobMatch("*end", "frontend"));
  EXPECT_TRUE(GlobMatch("f*n*d", "frontend"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("front", "frontend"));
  EXPECT_FALSE(GlobMatch("*x*", "frontend"));
}

TEST(FlowHistory, LastNTimeWindowAndRingBound) {
  FlowHistory h(3);
  std::vector<FlowRecord> five;
  for (int i = 0; i < 5; ++i) {
    five.push_back(World()[0]);
    five.back().start_time = i * 10;
    five.back().end_time = i * 10 + 10;
  }
  EXPECT_EQ(h.Append(five), 5u);
  EXPECT_EQ(h.size(), 3u);
  std::vector<FlowRecord> all = h.Query({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().start_time, 20);  // oldest kept, newest last
  EXPECT_EQ(all.back().start_time, 40);
  std::vector<FlowRecord> last2 = h.Query({}, 2);
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[0].start_time, 30);
  std::vector<FlowRecord> window = h.Query({}, 0, 25, 35);  // overlaps [20,30] and [30,40]
  ASSERT_EQ(window.size(), 2u);
  EXPECT_EQ(window[0].start_time, 20);
}

TEST(FlowHistory, FollowWakesOnAppend) {
  FlowHistory h;
  const uint64_t seen = h.Append({World()[0]});
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    h.Append({World()[1], World()[2]});
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto got = h.WaitForNewer(seen, 10s);
  const auto waited = std::chrono::steady_clock::now() - t0;
  writer.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, seen + 1);
  EXPECT_EQ(got[1].first, seen + 2);
  EXPECT_EQ(got[1].second.dest_port, 6379);
  EXPECT_LT(waited, 5s);
  // Already newer records: no wait at all.
  EXPECT_EQ(h.WaitForNewer(0, 0ms).size(), 3u);
}

TEST(FlowHistory, FollowTimesOutAndShutdownWakes) {
  FlowHistory h;
  h.Append({World()[0]});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(h.WaitForNewer(h.last_seq(), 100ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);

  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    h.Shutdown();
  });
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_TRUE(h.WaitForNewer(h.last_seq(), 10s).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 5s);
  stopper.join();
}

TEST(FlowHistory, FollowerBehindTheRingGetsWhatIsLeft) {
  FlowHistory h(2);
  h.Append(World());  // seq 1..3, ring holds 2 and 3
  auto got = h.WaitForNewer(0, 0ms);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, 2u);  // the gap (seq 1) shows in the numbers
}

}  // namespace
}  // namespace tierwall::test::flowlog
