// Metrics: the text exposition byte for byte (a scraper parses exactly this),
// label escaping, the apply-latency histogram, and the HTTP endpoint over
// loopback on an ephemeral port.
#include <httplib.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/metrics/metrics_server.h"
#include "control/metrics/prometheus_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierwall::test {
namespace {

using ctl::metrics::ApplyLatencyHistogram;
using ctl::metrics::EscapeLabelValue;
using ctl::metrics::HistogramSnapshot;
using ctl::metrics::MetricsOptions;
using ctl::metrics::MetricsServer;
using ctl::metrics::MetricsSnapshot;
using ctl::metrics::ReadBearerTokenFile;
using ctl::metrics::RenderPrometheus;
using ctl::metrics::RuleSample;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PrometheusText, GoldenSmallSnapshot) {
  MetricsSnapshot s;
  s.rules.push_back(RuleSample{.tier = "app",
                               .policy = "app-hipstershop.frontend",
                               .namespace_ = "hipstershop",
                               .rule_index = 0,
                               .action = "allow",
                               .direction = "ingress",
                               .staged = false,
                               .packets = 12,
                               .bytes = 3400});
  s.rules.push_back(RuleSample{.tier = "security",
                               .policy = "security.default-deny",
                               .namespace_ = "",
                               .rule_index = -1,
                               .action = "deny",
                               .direction = "egress",
                               .staged = true,
                               .packets = 3,
                               .bytes = 180});
  s.drops_by_reason = {{"policy", 5}, {"no_route", 1}};
  s.active_flows = 7;
  s.packets_received = 100;
  s.packets_forwarded = 94;
  s.packets_dropped = 6;
  s.program_generation = 42;
  s.flow_records_lost = 2;
  s.apply_seconds = HistogramSnapshot{{0.01, 0.1, 1}, {1, 0, 2, 1}, 3.5, 4};

  EXPECT_EQ(
      RenderPrometheus(s),
      R"(# HELP tierwall_policy_rule_packets_total Packets matched by a policy rule (rule_index -1: the tier's end-of-tier action).
# TYPE tierwall_policy_rule_packets_total counter
tierwall_policy_rule_packets_total{tier="app",policy="app-hipstershop.frontend",namespace="hipstershop",rule_index="0",action="allow",direction="ingress",staged="false"} 12
tierwall_policy_rule_packets_total{tier="security",policy="security.default-deny",namespace="",rule_index="-1",action="deny",direction="egress",staged="true"} 3
# HELP tierwall_policy_rule_bytes_total Bytes matched by a policy rule (rule_index -1: the tier's end-of-tier action).
# TYPE tierwall_policy_rule_bytes_total counter
tierwall_policy_rule_bytes_total{tier="app",policy="app-hipstershop.frontend",namespace="hipstershop",rule_index="0",action="allow",direction="ingress",staged="false"} 3400
tierwall_policy_rule_bytes_total{tier="security",policy="security.default-deny",namespace="",rule_index="-1",action="deny",direction="egress",staged="true"} 180
# HELP tierwall_drops_total Packets dropped, by reason.
# TYPE tierwall_drops_total counter
tierwall_drops_total{reason="policy"} 5
tierwall_drops_total{reason="no_route"} 1
# HELP tierwall_active_flows Flows in the connection tracking tables.
# TYPE tierwall_active_flows gauge
tierwall_active_flows 7
# HELP tierwall_packets_received_total Packets received on all ports.
# TYPE tierwall_packets_received_total counter
tierwall_packets_received_total 100
# HELP tierwall_packets_forwarded_total Packets forwarded.
# TYPE tierwall_packets_forwarded_total counter
tierwall_packets_forwarded_total 94
# HELP tierwall_packets_dropped_total Packets dropped, all reasons.
# TYPE tierwall_packets_dropped_total counter
tierwall_packets_dropped_total 6
# HELP tierwall_program_generation Generation of the compiled policy program the workers run.
# TYPE tierwall_program_generation gauge
tierwall_program_generation 42
# HELP tierwall_flow_records_lost_total Flow log records lost because the export ring was full.
# TYPE tierwall_flow_records_lost_total counter
tierwall_flow_records_lost_total 2
# HELP tierwall_policy_apply_seconds Seconds from an API commit to every worker running the new program generation.
# TYPE tierwall_policy_apply_seconds histogram
tierwall_policy_apply_seconds_bucket{le="0.01"} 1
tierwall_policy_apply_seconds_bucket{le="0.1"} 1
tierwall_policy_apply_seconds_bucket{le="1"} 3
tierwall_policy_apply_seconds_bucket{le="+Inf"} 4
tierwall_policy_apply_seconds_sum 3.5
tierwall_policy_apply_seconds_count 4
)");
}

// Every family announces itself even with nothing to report, so dashboards
// and alerts see the series names from the first scrape.
TEST(PrometheusText, EmptySnapshotStillHasEveryFamily) {
  std::string text = RenderPrometheus(MetricsSnapshot{});
  for (const char* family :
       {"tierwall_policy_rule_packets_total counter", "tierwall_policy_rule_bytes_total counter",
        "tierwall_drops_total counter", "tierwall_active_flows gauge",
        "tierwall_packets_received_total counter", "tierwall_packets_forwarded_total counter",
        "tierwall_packets_dropped_total counter", "tierwall_program_generation gauge",
        "tierwall_flow_records_lost_total counter", "tierwall_policy_apply_seconds histogram"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# TYPE ", family, "\n")));
  }
  EXPECT_THAT(text, HasSubstr("tierwall_policy_apply_seconds_bucket{le=\"+Inf\"} 0\n"
                              "tierwall_policy_apply_seconds_sum 0\n"
                              "tierwall_policy_apply_seconds_count 0\n"));
}

TEST(PrometheusText, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("plain.name-1"), "plain.name-1");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  // UTF-8 and other bytes pass through; only the three specials are escaped.
  EXPECT_EQ(EscapeLabelValue("caf\xc3\xa9\t"), "caf\xc3\xa9\t");

  MetricsSnapshot s;
  s.rules.push_back(RuleSample{.tier = "t\"1",
                               .policy = "p\\x",
                               .namespace_ = "n\ns",
                               .rule_index = 3,
                               .action = "pass",
                               .direction = "ingress",
                               .packets = 1,
                               .bytes = 2});
  s.drops_by_reason = {{"bad\"reason\n", 9}};
  std::string text = RenderPrometheus(s);
  EXPECT_THAT(text,
              HasSubstr("tierwall_policy_rule_packets_total{tier=\"t\\\"1\",policy=\"p\\\\x\","
                        "namespace=\"n\\ns\",rule_index=\"3\",action=\"pass\","
                        "direction=\"ingress\",staged=\"false\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tierwall_drops_total{reason=\"bad\\\"reason\\n\"} 9\n"));
  // No raw newline may end up inside a sample line: every line is a comment
  // or starts with a metric name.
  for (const auto& line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    EXPECT_TRUE(absl::StartsWith(line, "#") || absl::StartsWith(line, "tierwall_")) << line;
  }
}

TEST(ApplyLatencyHistogram, BucketsAreLessOrEqualAndRenderCumulatively) {
  ApplyLatencyHistogram h;
  h.Observe(0.0005);
  h.Observe(0.001);  // on a bound: counts in that bucket (le)
  h.Observe(0.003);
  h.Observe(20);                                        // above every bound: only in +Inf
  h.Observe(std::numeric_limits<double>::quiet_NaN());  // ignored

  HistogramSnapshot snap = h.Snapshot();
  EXPECT_EQ(snap.bounds, ApplyLatencyHistogram::DefaultBounds());
  ASSERT_EQ(snap.counts.size(), snap.bounds.size() + 1);
  EXPECT_EQ(snap.counts[0], 2u);  // le 0.001
  EXPECT_EQ(snap.counts[1], 0u);  // le 0.0025
  EXPECT_EQ(snap.counts[2], 1u);  // le 0.005
  EXPECT_EQ(snap.counts.back(), 1u);
  EXPECT_EQ(snap.count, 4u);
  EXPECT_DOUBLE_EQ(snap.sum, 20.0045);

  MetricsSnapshot s;
  s.apply_seconds = snap;
  std::string text = RenderPrometheus(s);
  EXPECT_THAT(text, HasSubstr("tierwall_policy_apply_seconds_bucket{le=\"0.001\"} 2\n"
                              "tierwall_policy_apply_seconds_bucket{le=\"0.0025\"} 2\n"
                              "tierwall_policy_apply_seconds_bucket{le=\"0.005\"} 3\n"
                              "tierwall_policy_apply_seconds_bucket{le=\"0.01\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("tierwall_policy_apply_seconds_bucket{le=\"5\"} 3\n"
                              "tierwall_policy_apply_seconds_bucket{le=\"10\"} 3\n"
                              "tierwall_policy_apply_seconds_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("tierwall_policy_apply_seconds_count 4\n"));
}

TEST(ApplyLatencyHistogram, SanitizesBounds) {
  const double inf = std::numeric_limits<double>::infinity();
  ApplyLatencyHistogram h({1, std::nan(""), 0.5, 1, inf});
  EXPECT_THAT(h.Snapshot().bounds, ElementsAre(0.5, 1));
  h.Observe(0.7);
  EXPECT_THAT(h.Snapshot().counts, ElementsAre(0, 1, 0));
}

// The API thread observes while the metrics thread snapshots: every snapshot
// must be consistent (buckets add up to count) and nothing may be lost.
TEST(ApplyLatencyHistogram, ConcurrentObserveAndSnapshot) {
  ApplyLatencyHistogram h;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      HistogramSnapshot s = h.Snapshot();
      uint64_t total = 0;
      for (uint64_t c : s.counts) total += c;
      ASSERT_EQ(total, s.count);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&h, t] {
      for (int i = 0; i < kPerThread; ++i) h.Observe(0.001 * ((i + t) % 20));
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(h.Snapshot().count, uint64_t{kThreads * kPerThread});
}

TEST(MetricsServer, ServesMetricsAnd404Elsewhere) {
  std::atomic<int> scrapes{0};
  auto server = MetricsServer::Start(
      "127.0.0.1:0", [&] { return absl::StrCat("tierwall_scrapes ", ++scrapes, "\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "tierwall_scrapes 1\n");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");

  // Rendered per scrape, not cached.
  res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "tierwall_scrapes 2\n");

  for (const char* path : {"/", "/metrics/x", "/other"}) {
    res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  EXPECT_EQ(scrapes, 2);
}

TEST(MetricsServer, RejectsBadAddressesNamingThem) {
  for (const char* addr : {"", "127.0.0.1", "127.0.0.1:", "::9090", "127.0.0.1:http",
                           "127.0.0.1:65536", "127.0.0.1:-1", "::1:9090", "[::1]9090"}) {
    auto server = MetricsServer::Start(addr, [] { return std::string(); });
    ASSERT_FALSE(server.ok()) << addr;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << addr;
    EXPECT_THAT(server.status().message(), HasSubstr(absl::StrCat("'", addr, "'")));
  }
}

// A bare port is loopback: metrics name every policy, so reaching them from
// elsewhere must be asked for by address.
TEST(MetricsServer, BarePortBindsLoopback) {
  for (const char* addr : {"0", ":0"}) {
    auto server = MetricsServer::Start(addr, [] { return std::string("x 1\n"); });
    ASSERT_TRUE(server.ok()) << addr << ": " << server.status();
    EXPECT_EQ((*server)->address(), absl::StrCat("127.0.0.1:", (*server)->port())) << addr;
    httplib::Client client("127.0.0.1", (*server)->port());
    httplib::Result res = client.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
  }
}

TEST(MetricsServer, BearerTokenIsRequiredWhenSet) {
  MetricsOptions options;
  options.bearer_token = "s3cret-token";
  auto server = MetricsServer::Start("127.0.0.1:0", options, [] { return std::string("x 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->body.find("x 1"), std::string::npos);
  for (const char* wrong : {"Bearer s3cret-toke", "Bearer s3cret-token2", "Basic s3cret-token",
                            "s3cret-token", "Bearer "}) {
    res = client.Get("/metrics", {{"Authorization", wrong}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << wrong;
  }
  res = client.Get("/metrics", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "x 1\n");
  res = client.Get("/metrics", {{"Authorization", "bearer s3cret-token"}});  // scheme: any case
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(MetricsServer, TokenFileIsOneTokenOnTheFirstLine) {
  const std::string path = ::testing::TempDir() + "/metrics_token";
  auto write = [&](const std::string& text) {
    FILE* f = fopen(path.c_str(), "w");
    fputs(text.c_str(), f);
    fclose(f);
  };
  write("  abc-123  \nignored\n");
  auto token = ReadBearerTokenFile(path);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "abc-123");
  write("\n");
  EXPECT_EQ(ReadBearerTokenFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  write("two words\n");
  EXPECT_THAT(ReadBearerTokenFile(path).status().message(), HasSubstr("no whitespace"));
  EXPECT_THAT(ReadBearerTokenFile(path + ".missing").status().message(), HasSubstr("cannot read"));
}

TEST(MetricsServer, PortInUseIsAnErrorNamingTheAddress) {
  auto first = MetricsServer::Start("127.0.0.1:0", [] { return std::string(); });
  ASSERT_TRUE(first.ok()) << first.status();
  std::string addr = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = MetricsServer::Start(addr, [] { return std::string(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(addr));
}

// Destroying a server right after Start must not hang: the serving thread may
// not have started listening yet when the destructor asks it to stop.
TEST(MetricsServer, StartThenImmediateDestroyDoesNotHang) {
  for (int i = 0; i < 50; ++i) {
    auto server = MetricsServer::Start("127.0.0.1:0", [] { return std::string(); });
    ASSERT_TRUE(server.ok()) << server.status();
  }
}

}  // namespace
}  // namespace tierwall::test
