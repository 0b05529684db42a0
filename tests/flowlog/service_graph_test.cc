// The service graph: nodes by aggregated name, edges without double counting,
// a red denied edge in DOT, namespace filtering, JSON and SVG via Graphviz.
#include "control/flowlog/service_graph.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierwall::test::flowlog {
namespace {

using ctl::flowlog::FlowRecord;
using ctl::flowlog::GraphEdge;
using ctl::flowlog::GraphNode;
using ctl::flowlog::RenderSvg;
using ctl::flowlog::ServiceGraph;
using ::testing::HasSubstr;

FlowRecord Rec(std::string reporter, std::string action, std::string src, std::string dst, int port,
               uint64_t flows, std::string policy) {
  FlowRecord r;
  r.reporter = reporter;
  r.action = action;
  r.source_type = "wep";
  r.source_namespace = "hipstershop";
  r.source_name_aggr = src;
  r.dest_type = "wep";
  r.dest_namespace = "hipstershop";
  r.dest_name_aggr = dst;
  r.dest_port = port;
  r.proto = "tcp";
  r.num_flows = flows;
  r.packets_in = 10 * flows;
  r.enforced_policies = {policy};
  return r;
}

std::vector<FlowRecord> Records() {
  std::vector<FlowRecord> out = {
      // loadgenerator -> frontend: allowed out of the source, denied at the destination.
      Rec("src", "allow", "loadgenerator-5d9f8c7b6-*", "frontend-7b8f6c9d5-*", 8080, 3,
          "0|app-hipstershop|hipstershop/app-hipstershop.loadgenerator|allow|0"),
      Rec("dst", "deny", "loadgenerator-5d9f8c7b6-*", "frontend-7b8f6c9d5-*", 8080, 3,
          "0|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1"),
      // frontend -> cart: allowed on both sides (one flow reported twice).
      Rec("src", "allow", "frontend-7b8f6c9d5-*", "cartservice-6c8d7f9b4-*", 7070, 2,
          "0|app-hipstershop|hipstershop/app-hipstershop.frontend|allow|1"),
      Rec("dst", "allow", "frontend-7b8f6c9d5-*", "cartservice-6c8d7f9b4-*", 7070, 2,
          "0|app-hipstershop|hipstershop/app-hipstershop.cartservice|allow|0"),
  };
  // frontend -> the internet: only the source reports.
  FlowRecord out_to_pub = Rec("src", "allow", "frontend-7b8f6c9d5-*", "pub", 443, 4,
                              "0|app-hipstershop|hipstershop/app-hipstershop.frontend|allow|2");
  out_to_pub.dest_type = "net";
  out_to_pub.dest_namespace = "-";
  out.push_back(out_to_pub);
  // redis in another namespace, denied at the source (no destination record).
  FlowRecord to_data = Rec("src", "deny", "cartservice-6c8d7f9b4-*", "redis", 6379, 1,
                           "0|app-hipstershop|hipstershop/app-hipstershop.cartservice|deny|-1");
  to_data.dest_namespace = "data";
  out.push_back(to_data);
  return out;
}

const GraphEdge& EdgeTo(const ServiceGraph& g, const std::string& dst) {
  for (const auto& [key, e] : g.edges()) {
    if (e.dest.name == dst) return e;
  }
  ADD_FAILURE() << "no edge to " << dst;
  static GraphEdge none;
  return none;
}

TEST(ServiceGraph, EdgesCountEachFlowOnce) {
  ServiceGraph g = ServiceGraph::FromRecords(Records());
  EXPECT_EQ(g.nodes().size(), 5u);
  EXPECT_EQ(g.edges().size(), 4u);
  const GraphEdge& denied = EdgeTo(g, "frontend-7b8f6c9d5-*");
  EXPECT_EQ(denied.denied_flows, 3u);
  EXPECT_EQ(denied.allowed_flows, 0u);  // the source's allow is the same flows
  EXPECT_THAT(denied.denied_ports, ::testing::ElementsAre("8080/tcp"));
  EXPECT_THAT(denied.policies, ::testing::ElementsAre("hipstershop/app-hipstershop.frontend",
                                                      "hipstershop/app-hipstershop.loadgenerator"));
  const GraphEdge& cart = EdgeTo(g, "cartservice-6c8d7f9b4-*");
  EXPECT_EQ(cart.allowed_flows, 2u);
  EXPECT_EQ(cart.packets, 20u);
  EXPECT_EQ(EdgeTo(g, "pub").allowed_flows, 4u);
  EXPECT_EQ(EdgeTo(g, "pub").dest.type, "net");
  EXPECT_EQ(EdgeTo(g, "redis").denied_flows, 1u);
}

TEST(ServiceGraph, DotHasRedDeniedAndGreenAllowedEdgesAndClusters) {
  std::string dot = ServiceGraph::FromRecords(Records()).ToDot();
  EXPECT_THAT(dot, HasSubstr("digraph"));
  EXPECT_THAT(dot, HasSubstr("color=red, fontcolor=red, label=\"8080/tcp \u2717 3 flows\""));
  EXPECT_THAT(dot, HasSubstr("color=green"));
  EXPECT_THAT(dot, HasSubstr("label=\"7070/tcp \u2713 2 flows\""));
  EXPECT_THAT(dot, HasSubstr("6379/tcp \u2717 1 flow\""));
  EXPECT_THAT(dot, HasSubstr("subgraph cluster_"));
  EXPECT_THAT(dot, HasSubstr("label=\"hipstershop\""));
  EXPECT_THAT(dot, HasSubstr("label=\"data\""));
}

TEST(ServiceGraph, FilterNamespace) {
  ServiceGraph g = ServiceGraph::FromRecords(Records()).FilterNamespace("data");
  ASSERT_EQ(g.edges().size(), 1u);
  EXPECT_EQ(g.nodes().size(), 2u);
  EXPECT_EQ(g.edges().begin()->second.dest.name, "redis");
  EXPECT_TRUE(ServiceGraph::FromRecords(Records()).FilterNamespace("nope").edges().empty());
}

TEST(ServiceGraph, Json) {
  nlohmann::json j = ServiceGraph::FromRecords(Records()).ToJson();
  ASSERT_EQ(j["nodes"].size(), 5u);
  ASSERT_EQ(j["edges"].size(), 4u);
  bool found = false;
  for (const auto& e : j["edges"]) {
    if (e["dest"] == "wep:hipstershop/frontend-7b8f6c9d5-*") {
      found = true;
      EXPECT_EQ(e["source"], "wep:hipstershop/loadgenerator-5d9f8c7b6-*");
      EXPECT_EQ(e["denied_flows"], 3);
      EXPECT_EQ(e["denied_ports"][0], "8080/tcp");
    }
  }
  EXPECT_TRUE(found);
}

TEST(ServiceGraph, RenderSvg) {
  if (::access("/usr/bin/dot", X_OK) != 0) GTEST_SKIP() << "Graphviz not installed";
  auto svg = RenderSvg(ServiceGraph::FromRecords(Records()).ToDot());
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_THAT(*svg, HasSubstr("<svg"));
  EXPECT_THAT(*svg, HasSubstr("frontend"));
  EXPECT_THAT(*svg, HasSubstr("red"));
  auto bad = RenderSvg("digraph { this is not dot");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
}

TEST(ServiceGraph, RenderSvgWithoutDotSaysSo) {
  auto svg = RenderSvg("digraph {}", "/nonexistent/dot");
  ASSERT_FALSE(svg.ok());
  EXPECT_EQ(svg.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(svg.status().message()), HasSubstr("/nonexistent/dot"));
}

}  // namespace
}  // namespace tierwall::test::flowlog
