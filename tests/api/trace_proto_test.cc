// The trace report survives the trip into its API message: every hit keeps
// its tier, name, action and rule index, and absent directions stay absent.
#include "control/api/trace_proto.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

namespace tierwall::ctl::api {
namespace {

TEST(TraceProto, CarriesEveryHitAndVerdict) {
  trace::TraceReport report;
  report.verdict = "deny";
  report.source_endpoint = "hipstershop/loadgenerator";
  report.ingress = trace::DirectionReport{
      "deny",
      "allow",
      {"0|security|security.block|pass|-1", "1|app|hipstershop/app.frontend|deny|-1"},
      {"0|security|security.block|pass|-1", "1|app|hipstershop/app.staged:frontend|allow|3"}};
  v1::TraceResponse r = ToProto(report, 42);

  EXPECT_EQ(r.verdict(), v1::ACTION_DENY);
  EXPECT_EQ(r.source_endpoint(), "hipstershop/loadgenerator");
  EXPECT_EQ(r.destination_endpoint(), "");
  EXPECT_FALSE(r.has_egress());
  ASSERT_TRUE(r.has_ingress());
  EXPECT_EQ(r.ingress().pending_verdict(), v1::ACTION_ALLOW);
  ASSERT_EQ(r.ingress().enforced_hits_size(), 2);
  const v1::PolicyHit& end = r.ingress().enforced_hits(1);
  EXPECT_EQ(end.index(), 1u);
  EXPECT_EQ(end.tier(), "app");
  EXPECT_EQ(end.name(), "hipstershop/app.frontend");
  EXPECT_EQ(end.action(), v1::ACTION_DENY);
  EXPECT_EQ(end.rule_index(), -1);
  const v1::PolicyHit& staged = r.ingress().pending_hits(1);
  EXPECT_EQ(staged.action(), v1::ACTION_ALLOW);
  EXPECT_EQ(staged.rule_index(), 3);
  EXPECT_EQ(staged.flow_log_string(), "1|app|hipstershop/app.staged:frontend|allow|3");
  EXPECT_EQ(r.generation(), 42u);

  // The JSON mapping (what grpcurl and twctl -o json users see) round-trips.
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(r, &json).ok());
  v1::TraceResponse back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.SerializeAsString(), r.SerializeAsString());
}

}  // namespace
}  // namespace tierwall::ctl::api
