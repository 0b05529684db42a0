// Flow records as Calico's JSON: field names, labels, policies, round trip.
#include "control/flowlog/flow_record.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierwall::test::flowlog {
namespace {

using ctl::flowlog::FlowRecord;
using ctl::flowlog::FromJson;
using ctl::flowlog::FromJsonLine;
using ctl::flowlog::ProtoName;
using ctl::flowlog::ToJson;
using ctl::flowlog::ToJsonLine;
using ::testing::HasSubstr;

FlowRecord Sample() {
  FlowRecord r;
  r.start_time = 1700000000;
  r.end_time = 1700000300;
  r.source_ip = "198.18.1.10";
  r.source_name = "loadgenerator-5d9f8c7b6-abcde";
  r.source_name_aggr = "loadgenerator-5d9f8c7b6-*";
  r.source_namespace = "hipstershop";
  r.source_labels = {{"app", "loadgenerator"}};
  r.source_type = "wep";
  r.dest_ip = "198.18.1.11";
  r.dest_name = "frontend-7b8f6c9d5-4lq8z";
  r.dest_name_aggr = "frontend-7b8f6c9d5-*";
  r.dest_namespace = "hipstershop";
  r.dest_labels = {{"app", "frontend"}, {"tier", "web"}};
  r.dest_type = "wep";
  r.dest_port = 8080;
  r.proto = "tcp";
  r.action = "deny";
  r.reporter = "dst";
  r.enforced_policies = {"0|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1"};
  r.pending_policies = {"0|app-hipstershop|hipstershop/app-hipstershop.staged:frontend|allow|0"};
  r.num_flows = 3;
  r.num_flows_started = 2;
  r.num_flows_completed = 1;
  r.packets_in = 9;
  r.packets_out = 1;
  r.bytes_in = 900;
  r.bytes_out = 60;
  return r;
}

TEST(FlowRecord, JsonUsesCalicoFieldNames) {
  nlohmann::json j = ToJson(Sample());
  for (const char* field : {"start_time",
                            "end_time",
                            "source_ip",
                            "source_name",
                            "source_name_aggr",
                            "source_namespace",
                            "source_labels",
                            "source_type",
                            "dest_ip",
                            "dest_name",
                            "dest_name_aggr",
                            "dest_namespace",
                            "dest_labels",
                            "dest_type",
                            "dest_port",
                            "proto",
                            "action",
                            "reporter",
                            "policies",
                            "num_flows",
                            "num_flows_started",
                            "num_flows_completed",
                            "packets_in",
                            "packets_out",
                            "bytes_in",
                            "bytes_out"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_EQ(j["dest_labels"]["labels"], nlohmann::json({"app=frontend", "tier=web"}));
  EXPECT_EQ(j["policies"]["enforced_policies"][0],
            "0|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1");
  EXPECT_EQ(j["policies"]["all_policies"], j["policies"]["enforced_policies"]);
  EXPECT_EQ(j["policies"]["pending_policies"].size(), 1u);
  EXPECT_EQ(j["dest_port"], 8080);
  EXPECT_THAT(ToJsonLine(Sample()), Not(HasSubstr("\n")));
}

TEST(FlowRecord, RoundTrip) {
  auto back = FromJsonLine(ToJsonLine(Sample()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Sample());
}

TEST(FlowRecord, AcceptsPlainLabelObjectsAndOlderPolicies) {
  nlohmann::json j = ToJson(Sample());
  j["source_labels"] = {{"app", "lg"}};
  j["policies"] = {{"all_policies", {"0|t|t.p|allow|0"}}};
  auto r = FromJson(j);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source_labels.at("app"), "lg");
  EXPECT_THAT(r->enforced_policies, ::testing::ElementsAre("0|t|t.p|allow|0"));
}

TEST(FlowRecord, ErrorsNameTheField) {
  nlohmann::json j = ToJson(Sample());
  j["packets_in"] = "lots";
  auto r = FromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("packets_in"));
  j = ToJson(Sample());
  j["dest_labels"] = {{"labels", {"noequals"}}};
  EXPECT_THAT(std::string(FromJson(j).status().message()), HasSubstr("dest_labels"));
  EXPECT_FALSE(FromJsonLine("{not json").ok());
  EXPECT_FALSE(FromJsonLine("[1,2]").ok());
}

TEST(FlowRecord, ProtoNames) {
  EXPECT_EQ(ProtoName(6), "tcp");
  EXPECT_EQ(ProtoName(17), "udp");
  EXPECT_EQ(ProtoName(1), "icmp");
  EXPECT_EQ(ProtoName(132), "132");
}

}  // namespace
}  // namespace tierwall::test::flowlog
