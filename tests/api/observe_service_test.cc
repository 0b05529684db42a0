// ObserveService and LiveTraceService over an in-process gRPC channel, with
// hand-made ObserveSources: fixed rule counters, a real FlowHistory and
// PolicySeries, the broken hipstershop compiled, and a real store holding the
// shop (by platform-admin) and then the broken frontend (by kubernetes-admin).
#include "control/api/observe_service.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/flowlog/flow_history.h"
#include "control/flowlog/policy_series.h"
#include "control/trace/trace.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/api/shop_fixture.h"

namespace tierwall::test {
namespace {

namespace v1 = ::tierwall::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace shop;  // NOLINT(build/namespaces)

class ObserveServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tw_observe_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = ctl::store::Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto r1 = Commit(store_.get(), "platform-admin", Shop("healthy"));
    ASSERT_TRUE(r1.ok()) << r1.status();
    auto r2 = Commit(store_.get(), "kubernetes-admin", Example("broken/51-app-frontend.yaml"));
    ASSERT_TRUE(r2.ok()) << r2.status();
    ASSERT_EQ(*r2, 2);

    auto program = CompileProgram(Shop("broken"), 7);
    ASSERT_TRUE(program.ok()) << program.status();
    program_ = *program;

    auto authorizer = ctl::auth::Authorizer::FromYaml(kRbac, "rbac.yaml");
    ASSERT_TRUE(authorizer.ok()) << authorizer.status();
    authorizer_ = std::move(*authorizer);
    auto tokens = ctl::auth::TokenAuthenticator::FromYaml(kTokens, "tokens.yaml");
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = std::move(*tokens);

    history_.Append(ShopRecords());
    // Two samples 20 s apart: slot 4 (the frontend's end of tier) grows by
    // 9 packets, so its buckets hold 9 packets in all.
    const int64_t now = Now();
    std::vector<ctl::flowlog::RuleTotal> before, after;
    for (const auto& r : ShopCounters().rules) {
      before.push_back({r.slot, 0, 0});
      after.push_back({r.slot, r.packets, r.bytes});
    }
    series_.Sample(now - 20, before);
    series_.Sample(now, after);

    ctl::api::ObserveSources sources;
    sources.counters = [] { return ShopCounters(); };
    sources.series = &series_;
    sources.flows = &history_;
    sources.lost = []() -> std::pair<uint64_t, uint64_t> { return {3, 5}; };
    sources.program = [this] { return program_; };
    sources.store = store_.get();
    const ctl::api::CallAuthenticatorOptions auth{tokens_.get(), false};
    observe_ = std::make_unique<ctl::api::ObserveService>(sources, authorizer_.get(), auth);
    trace_ = std::make_unique<ctl::api::LiveTraceService>(sources.program, authorizer_.get(), auth);

    grpc::ServerBuilder builder;
    builder.RegisterService(observe_.get());
    builder.RegisterService(trace_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel = server_->InProcessChannel(grpc::ChannelArguments());
    stub_ = v1::ObserveService::NewStub(channel);
    trace_stub_ = v1::TraceService::NewStub(channel);
  }

  void TearDown() override {
    history_.Shutdown();
    if (server_) server_->Shutdown();
    server_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::unique_ptr<grpc::ClientContext> As(const std::string& token, int seconds = 60) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return context;
  }

  v1::CountersResponse Counters(const std::string& token, const std::string& tier,
                                const std::string& ns, int64_t since = 0) {
    v1::CountersRequest request;
    request.set_tier(tier);
    request.set_namespace_(ns);
    request.set_since_seconds(since);
    v1::CountersResponse response;
    grpc::Status s = stub_->GetCounters(As(token).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  grpc::Status Flows(const v1::FlowFilter& filter, v1::FlowsResponse* response,
                     const std::string& token = kAdminToken) {
    v1::FlowsRequest request;
    *request.mutable_filter() = filter;
    response->Clear();
    return stub_->GetFlows(As(token).get(), request, response);
  }

  grpc::Status Why(const std::string& token, const std::string& from, const std::string& to,
                   v1::WhyResponse* response) {
    v1::WhyRequest request;
    request.set_from(from);
    request.set_to(to);
    return stub_->Why(As(token).get(), request, response);
  }

  std::string dir_;
  std::unique_ptr<ctl::store::Store> store_;
  std::shared_ptr<const dp::classify::Program> program_;
  std::unique_ptr<ctl::auth::Authorizer> authorizer_;
  std::unique_ptr<ctl::auth::TokenAuthenticator> tokens_;
  ctl::flowlog::FlowHistory history_;
  ctl::flowlog::PolicySeries series_{10, 360};
  std::unique_ptr<ctl::api::ObserveService> observe_;
  std::unique_ptr<ctl::api::LiveTraceService> trace_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ObserveService::Stub> stub_;
  std::unique_ptr<v1::TraceService::Stub> trace_stub_;
};

std::vector<std::string> Names(const v1::CountersResponse& response) {
  std::vector<std::string> out;
  for (const v1::RuleCounter& r : response.rules()) {
    out.push_back(r.namespace_().empty() ? r.policy() : r.namespace_() + "/" + r.policy());
  }
  return out;
}

TEST_F(ObserveServiceTest, GetCountersReturnsEveryRuleToTheAdmin) {
  v1::CountersResponse all = Counters(kAdminToken, "", "");
  EXPECT_EQ(all.program_generation(), 7u);
  EXPECT_EQ(all.packets_received(), 100u);
  EXPECT_EQ(all.packets_forwarded(), 91u);
  EXPECT_EQ(all.packets_dropped(), 9u);
  EXPECT_EQ(all.active_flows(), 3u);
  ASSERT_EQ(all.drops_size(), 1);
  EXPECT_EQ(all.drops(0).reason(), "policy_deny");
  ASSERT_EQ(all.rules_size(), 7);
  // Trace names are split into namespace and Calico name; staged: goes into
  // the flag.
  const v1::RuleCounter& frontend = all.rules(3);
  EXPECT_EQ(frontend.tier(), "app-hipstershop");
  EXPECT_EQ(frontend.policy(), "app-hipstershop.frontend");
  EXPECT_EQ(frontend.namespace_(), "hipstershop");
  EXPECT_EQ(frontend.direction(), v1::DIRECTION_INGRESS);
  EXPECT_EQ(frontend.rule_index(), -1);
  EXPECT_EQ(frontend.action(), v1::ACTION_DENY);
  EXPECT_EQ(frontend.packets(), 9u);
  EXPECT_EQ(frontend.bytes(), 900u);
  EXPECT_FALSE(frontend.staged());
  const v1::RuleCounter& staged = all.rules(5);
  EXPECT_TRUE(staged.staged());
  EXPECT_EQ(staged.policy(), "app-hipstershop.cartservice");
  EXPECT_EQ(staged.namespace_(), "hipstershop");
  EXPECT_EQ(all.rules(1).namespace_(), "");
  EXPECT_EQ(all.rules(1).direction(), v1::DIRECTION_EGRESS);
  EXPECT_EQ(all.rules(1).action(), v1::ACTION_ALLOW);
  for (const v1::RuleCounter& r : all.rules()) EXPECT_EQ(r.samples_size(), 0) << r.policy();
}

TEST_F(ObserveServiceTest, GetCountersFiltersByTierAndNamespace) {
  v1::CountersResponse security = Counters(kAdminToken, "security", "");
  EXPECT_THAT(Names(security),
              ::testing::ElementsAre("security.block-threat-feed", "security.allow-dns"));
  v1::CountersResponse app = Counters(kAdminToken, "app-hipstershop", "");
  ASSERT_EQ(app.rules_size(), 3);
  for (const auto& r : app.rules()) EXPECT_EQ(r.tier(), "app-hipstershop");

  // A namespace keeps the global policies and drops other namespaces'.
  v1::CountersResponse shop_ns = Counters(kAdminToken, "", "hipstershop");
  EXPECT_EQ(shop_ns.rules_size(), 6);
  EXPECT_THAT(Names(shop_ns), Not(::testing::Contains("kube-system/knp.default.allow-dns")));
  v1::CountersResponse kube = Counters(kAdminToken, "", "kube-system");
  EXPECT_THAT(Names(kube), ::testing::ElementsAre("security.block-threat-feed",
                                                  "security.allow-dns", "platform.allow-kube-dns",
                                                  "kube-system/knp.default.allow-dns"));
  // Both at once.
  v1::CountersResponse both = Counters(kAdminToken, "default", "hipstershop");
  EXPECT_EQ(both.rules_size(), 0);
  both = Counters(kAdminToken, "default", "kube-system");
  EXPECT_EQ(both.rules_size(), 1);
}

TEST_F(ObserveServiceTest, GetCountersShowsOnlyTiersTheCallerMayGet) {
  // bob may list counters but not get tier security.
  v1::CountersResponse bob = Counters(kBobToken, "", "");
  EXPECT_EQ(bob.rules_size(), 5);
  for (const auto& r : bob.rules()) EXPECT_NE(r.tier(), "security") << r.policy();
  EXPECT_EQ(Counters(kBobToken, "security", "").rules_size(), 0);
  // alice gets only her tier.
  v1::CountersResponse alice = Counters(kAliceToken, "", "");
  EXPECT_EQ(alice.rules_size(), 3);
  for (const auto& r : alice.rules()) EXPECT_EQ(r.tier(), "app-hipstershop") << r.policy();
  // carol may list counters nowhere: refused, naming her (filtering would
  // only ever show her nothing).
  v1::CountersResponse carol;
  grpc::Status s = stub_->GetCounters(As(kCarolToken).get(), v1::CountersRequest(), &carol);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("carol"));
  EXPECT_EQ(carol.rules_size(), 0);
  EXPECT_EQ(carol.packets_received(), 0u);
  // No token over a non-local channel.
  v1::CountersResponse none;
  s = stub_->GetCounters(As("").get(), v1::CountersRequest(), &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
}

TEST_F(ObserveServiceTest, GetCountersHasSamplesWithSinceSeconds) {
  v1::CountersResponse response = Counters(kAdminToken, "app-hipstershop", "", 300);
  ASSERT_EQ(response.rules_size(), 3);
  for (const v1::RuleCounter& r : response.rules()) {
    EXPECT_EQ(r.sample_seconds(), 10) << r.policy();
    EXPECT_GE(r.samples_size(), 2) << r.policy();
    for (int i = 1; i < r.samples_size(); ++i) {
      EXPECT_EQ(r.samples(i).start() - r.samples(i - 1).start(), 10);
    }
    uint64_t packets = 0, bytes = 0;
    for (const auto& b : r.samples()) {
      packets += b.packets();
      bytes += b.bytes();
    }
    // Everything the rule counted between the two samples.
    EXPECT_EQ(packets, r.packets()) << r.policy();
    EXPECT_EQ(bytes, r.bytes()) << r.policy();
  }
}

TEST_F(ObserveServiceTest, GetFlowsFilters) {
  v1::FlowsResponse response;
  v1::FlowFilter filter;
  ASSERT_TRUE(Flows(filter, &response).ok());
  EXPECT_EQ(response.flows_size(), 3);
  EXPECT_EQ(response.lost_records(), 3u);
  EXPECT_EQ(response.lost_events(), 5u);

  filter.set_action("deny");
  ASSERT_TRUE(Flows(filter, &response).ok());
  ASSERT_EQ(response.flows_size(), 1);
  const v1::FlowLog& denied = response.flows(0);
  EXPECT_EQ(denied.source_name(), "loadgenerator");
  EXPECT_EQ(denied.dest_name(), "frontend");
  EXPECT_EQ(denied.dest_port(), 8080u);
  EXPECT_EQ(denied.proto(), "tcp");
  EXPECT_EQ(denied.reporter(), "dst");
  EXPECT_THAT(denied.source_labels(), ::testing::ElementsAre("app=loadgenerator"));
  EXPECT_THAT(
      denied.enforced_policies(),
      ::testing::Contains("2|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1"));

  filter.Clear();
  filter.set_policy("app-hipstershop.frontend");
  ASSERT_TRUE(Flows(filter, &response).ok());
  ASSERT_EQ(response.flows_size(), 1);
  EXPECT_EQ(response.flows(0).action(), "deny");

  filter.Clear();
  filter.set_from("hipstershop/loadgenerator");
  ASSERT_TRUE(Flows(filter, &response).ok());
  ASSERT_EQ(response.flows_size(), 1);
  EXPECT_EQ(response.flows(0).dest_name(), "frontend");

  filter.Clear();
  filter.set_to("hipstershop/cartservice");
  ASSERT_TRUE(Flows(filter, &response).ok());
  ASSERT_EQ(response.flows_size(), 1);
  EXPECT_EQ(response.flows(0).source_name(), "frontend");

  filter.Clear();
  filter.set_port(3550);
  ASSERT_TRUE(Flows(filter, &response).ok());
  ASSERT_EQ(response.flows_size(), 1);
  EXPECT_EQ(response.flows(0).source_name(), "checkoutservice");

  // --not --from hipstershop/loadgenerator
  filter.Clear();
  filter.set_from("hipstershop/loadgenerator");
  filter.add_negated("from");
  ASSERT_TRUE(Flows(filter, &response).ok());
  ASSERT_EQ(response.flows_size(), 2);
  for (const auto& f : response.flows()) EXPECT_NE(f.source_name(), "loadgenerator");

  // Criteria combine with AND.
  filter.Clear();
  filter.set_action("allow");
  filter.set_tier("platform");
  ASSERT_TRUE(Flows(filter, &response).ok());
  ASSERT_EQ(response.flows_size(), 1);
  EXPECT_EQ(response.flows(0).dest_name(), "productcatalogservice");

  // last and since_seconds.
  v1::FlowsRequest request;
  request.set_last(2);
  ASSERT_TRUE(stub_->GetFlows(As(kAdminToken).get(), request, &response).ok());
  EXPECT_EQ(response.flows_size(), 2);
  EXPECT_EQ(response.flows(1).source_name(), "checkoutservice");
}

TEST_F(ObserveServiceTest, GetFlowsBadFilterNamesTheField) {
  v1::FlowsResponse response;
  v1::FlowFilter filter;
  filter.set_from("a/b/c");
  grpc::Status s = Flows(filter, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("filter.from"));

  filter.Clear();
  filter.set_to("10.0.0.0/99");
  s = Flows(filter, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("filter.to"));

  filter.Clear();
  filter.set_action("maybe");
  s = Flows(filter, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("maybe"));

  filter.Clear();
  filter.add_negated("colour");
  s = Flows(filter, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("filter.negated"));

  filter.Clear();
  filter.set_port(70000);
  s = Flows(filter, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

TEST_F(ObserveServiceTest, GetFlowsNeedsListOnFlows) {
  v1::FlowsResponse response;
  grpc::Status s = Flows(v1::FlowFilter(), &response, kCarolToken);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("carol"));
  EXPECT_EQ(response.flows_size(), 0);
  s = Flows(v1::FlowFilter(), &response, "wrong-token");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Flows(v1::FlowFilter(), &response, kBobToken).ok());
}

TEST_F(ObserveServiceTest, FollowFlowsDeliversARecordAppendedAfterTheCallStarts) {
  v1::FlowsRequest request;
  request.mutable_filter()->set_port(9999);
  auto context = As(kAdminToken, 30);
  std::unique_ptr<grpc::ClientReader<v1::FlowLog>> reader =
      stub_->FollowFlows(context.get(), request);
  // Keep appending until the stream has delivered one: the server reads the
  // history's last sequence number when its handler starts, which this
  // thread cannot observe.
  std::atomic<bool> done{false};
  std::thread appender([&] {
    while (!done.load()) {
      history_.Append({Record("loadgenerator", "198.18.1.10", "frontend", "198.18.1.11", 9999,
                              "deny", "dst", {})});
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  v1::FlowLog got;
  const bool read = reader->Read(&got);
  done = true;
  appender.join();
  ASSERT_TRUE(read);
  EXPECT_EQ(got.dest_port(), 9999u);
  EXPECT_EQ(got.source_name(), "loadgenerator");
  context->TryCancel();
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED) << s.error_message();
}

TEST_F(ObserveServiceTest, FollowFlowsStartsWithTheLastMatchingRecords) {
  v1::FlowsRequest request;
  request.mutable_filter()->set_action("allow");
  request.set_last(1);
  auto context = As(kAdminToken, 30);
  auto reader = stub_->FollowFlows(context.get(), request);
  v1::FlowLog got;
  ASSERT_TRUE(reader->Read(&got));
  EXPECT_EQ(got.source_name(), "checkoutservice");
  context->TryCancel();
  reader->Finish();

  // A bad filter ends the stream at once, naming the field.
  v1::FlowsRequest bad;
  bad.mutable_filter()->set_from("a/b/c");
  auto bad_context = As(kAdminToken, 30);
  auto bad_reader = stub_->FollowFlows(bad_context.get(), bad);
  EXPECT_FALSE(bad_reader->Read(&got));
  grpc::Status s = bad_reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("filter.from"));
}

TEST_F(ObserveServiceTest, FollowFlowsEndsAtTheDeadline) {
  v1::FlowsRequest request;
  request.mutable_filter()->set_port(1);  // nothing matches
  auto context = As(kAdminToken, 1);
  auto reader = stub_->FollowFlows(context.get(), request);
  v1::FlowLog got;
  EXPECT_FALSE(reader->Read(&got));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(ObserveServiceTest, GraphHasTheDeniedEdge) {
  v1::GraphRequest request;
  v1::GraphResponse response;
  grpc::Status s = stub_->Graph(As(kAdminToken).get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  nlohmann::json graph = nlohmann::json::parse(response.json());
  bool found = false;
  for (const auto& edge : graph.at("edges")) {
    if (edge.at("source") == "wep:hipstershop/loadgenerator" &&
        edge.at("dest") == "wep:hipstershop/frontend") {
      found = true;
      EXPECT_EQ(edge.at("denied_ports"), nlohmann::json::array({"8080/tcp"}));
      EXPECT_EQ(edge.at("allowed_ports"), nlohmann::json::array());
      EXPECT_EQ(edge.at("denied_flows"), 3);
    }
  }
  EXPECT_TRUE(found) << response.json();
  EXPECT_EQ(graph.at("edges").size(), 3u);
  EXPECT_THAT(response.dot(), HasSubstr("digraph"));

  // Nothing touches kube-system.
  request.set_namespace_("kube-system");
  ASSERT_TRUE(stub_->Graph(As(kAdminToken).get(), request, &response).ok());
  EXPECT_TRUE(nlohmann::json::parse(response.json()).at("edges").empty());

  s = stub_->Graph(As(kCarolToken).get(), v1::GraphRequest(), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ObserveServiceTest, WhyExplainsTheSeedStory) {
  v1::WhyResponse response;
  grpc::Status s =
      Why(kAdminToken, "loadgenerator.hipstershop", "frontend.hipstershop:8080/tcp", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.verdict(), "deny");
  EXPECT_EQ(response.packet().source_ip(), "198.18.1.10");
  EXPECT_EQ(response.packet().destination_ip(), "198.18.1.11");
  EXPECT_EQ(response.packet().destination_port(), 8080u);
  EXPECT_EQ(response.packet().protocol(), 6u);
  EXPECT_EQ(response.trace().verdict(), v1::ACTION_DENY);
  EXPECT_EQ(response.trace().generation(), 7u);
  EXPECT_THAT(response.deciding_policy(), HasSubstr("app-hipstershop.frontend|deny|-1"));
  EXPECT_THAT(response.explanation(), HasSubstr("end of tier app-hipstershop"));
  EXPECT_EQ(response.deciding_resource().kind(), "NetworkPolicy");
  EXPECT_EQ(response.deciding_resource().namespace_(), "hipstershop");
  EXPECT_EQ(response.deciding_resource().name(), "app-hipstershop.frontend");

  // Live evidence: the denied record and the end-of-tier counter.
  ASSERT_EQ(response.recent_flows_size(), 1);
  EXPECT_EQ(response.recent_flows(0).action(), "deny");
  ASSERT_EQ(response.counters_size(), 1);
  EXPECT_EQ(response.counters(0).rule_index(), -1);
  EXPECT_EQ(response.counters(0).packets(), 9u);

  ASSERT_TRUE(response.has_introduced_by());
  EXPECT_EQ(response.introduced_by().user(), "kubernetes-admin");
  EXPECT_EQ(response.introduced_by().revision(), 2);
  EXPECT_EQ(response.introduced_by().verb(), "apply");
  EXPECT_EQ(response.introduced_by().name(), "app-hipstershop.frontend");
  EXPECT_THAT(response.introduced_by().diff(), HasSubstr("-  ingress:"));
  EXPECT_THAT(response.introduced_by().diff(), HasSubstr("loadgenerator"));
  EXPECT_THAT(response.introduced_by().diff(), Not(HasSubstr("\n+  ingress:")));

  EXPECT_TRUE(response.suggestion_verified()) << response.suggestion_summary();
  EXPECT_THAT(response.suggestion_yaml(), HasSubstr("StagedNetworkPolicy"));
  EXPECT_THAT(response.suggestion_yaml(), HasSubstr("app-hipstershop.frontend"));
  EXPECT_FALSE(response.suggestion_summary().empty());

  // Other spellings of the same endpoints.
  v1::WhyResponse same;
  s = Why(kAdminToken, "hipstershop/loadgenerator", "198.18.1.11:8080", &same);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(same.verdict(), "deny");
  EXPECT_EQ(same.deciding_policy(), response.deciding_policy());
}

TEST_F(ObserveServiceTest, WhyHidesHistoryAndFixWithoutGetOnThePolicy) {
  // bob may list flows and get the tier, but not get its policies.
  v1::WhyResponse response;
  grpc::Status s =
      Why(kBobToken, "loadgenerator.hipstershop", "frontend.hipstershop:8080/tcp", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.verdict(), "deny");
  EXPECT_FALSE(response.has_introduced_by());
  EXPECT_TRUE(response.suggestion_yaml().empty());
  EXPECT_THAT(response.suggestion_summary(), HasSubstr("no get rights"));
  // alice edits the tier: she sees both.
  s = Why(kAliceToken, "loadgenerator.hipstershop", "frontend.hipstershop:8080/tcp", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.introduced_by().user(), "kubernetes-admin");
  EXPECT_TRUE(response.suggestion_verified());
  // carol may not list flows.
  s = Why(kCarolToken, "loadgenerator.hipstershop", "frontend.hipstershop:8080/tcp", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// bob may not get tier security: its policy strings reach him with the name
// and rule hidden, filters cannot probe them, and traces hide them too.
TEST_F(ObserveServiceTest, PolicyStringsOfUnreadableTiersAreHidden) {
  v1::FlowsResponse response;
  v1::FlowFilter filter;
  filter.set_to("hipstershop/frontend");
  ASSERT_TRUE(Flows(filter, &response, kBobToken).ok());
  ASSERT_GE(response.flows_size(), 1);
  EXPECT_EQ(response.flows(0).enforced_policies(0), "0|security|<hidden>|pass|-");
  EXPECT_EQ(response.flows(0).enforced_policies(2),
            "2|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1");
  ASSERT_TRUE(Flows(filter, &response).ok());  // the admin sees the name
  EXPECT_EQ(response.flows(0).enforced_policies(0),
            "0|security|security.block-threat-feed|pass|-1");

  filter.Clear();
  filter.set_policy("security.block-threat-feed");
  ASSERT_TRUE(Flows(filter, &response, kBobToken).ok());
  EXPECT_EQ(response.flows_size(), 0);
  ASSERT_TRUE(Flows(filter, &response).ok());
  EXPECT_GE(response.flows_size(), 1);

  v1::WhyResponse why;
  ASSERT_TRUE(
      Why(kBobToken, "loadgenerator.hipstershop", "frontend.hipstershop:8080/tcp", &why).ok());
  bool saw_security = false;
  for (const v1::PolicyHit& h : why.trace().ingress().enforced_hits()) {
    if (h.tier() != "security") continue;
    saw_security = true;
    EXPECT_EQ(h.name(), "<hidden>");
    EXPECT_THAT(h.flow_log_string(), HasSubstr("|security|<hidden>|"));
  }
  EXPECT_TRUE(saw_security);
}

TEST_F(ObserveServiceTest, WhyErrorsNameTheField) {
  v1::WhyResponse response;
  grpc::Status s =
      Why(kAdminToken, "nobody.hipstershop", "frontend.hipstershop:8080/tcp", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("from:"));
  EXPECT_THAT(s.error_message(), HasSubstr("nobody.hipstershop"));

  s = Why(kAdminToken, "loadgenerator.hipstershop", "nobody.hipstershop:8080", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("to:"));

  for (const char* to : {"frontend.hipstershop:99999/tcp", "frontend.hipstershop:0",
                         "frontend.hipstershop:http", "frontend.hipstershop"}) {
    s = Why(kAdminToken, "loadgenerator.hipstershop", to, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << to;
    EXPECT_THAT(s.error_message(), ::testing::StartsWith("to:")) << to;
  }
  s = Why(kAdminToken, "loadgenerator.hipstershop", "frontend.hipstershop:8080/icmp", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("icmp"));

  s = Why(kAdminToken, "", "frontend.hipstershop:8080", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("from"));
}

TEST_F(ObserveServiceTest, LiveTraceMatchesTracePacket) {
  v1::TraceRequest request;
  v1::Packet* p = request.mutable_packet();
  p->set_source_ip("198.18.1.10");
  p->set_destination_ip("198.18.1.11");
  p->set_protocol(6);
  p->set_source_port(40000);
  p->set_destination_port(8080);
  v1::TraceResponse response;
  grpc::Status s = trace_stub_->Trace(As(kAdminToken).get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();

  dp::classify::PacketKey key;
  key.src = *dp::classify::IpAddr::Parse("198.18.1.10");
  key.dst = *dp::classify::IpAddr::Parse("198.18.1.11");
  key.proto = 6;
  key.src_port = 40000;
  key.dst_port = 8080;
  ctl::trace::TraceReport report = ctl::trace::TracePacket(*program_, key);
  EXPECT_EQ(report.verdict, "deny");
  EXPECT_EQ(response.verdict(), v1::ACTION_DENY);
  EXPECT_EQ(response.generation(), 7u);
  EXPECT_EQ(response.source_endpoint(), report.source_endpoint.value_or(""));
  EXPECT_EQ(response.destination_endpoint(), report.destination_endpoint.value_or(""));
  ASSERT_TRUE(response.has_ingress());
  ASSERT_GT(response.ingress().enforced_hits_size(), 0);
  EXPECT_EQ(response.ingress()
                .enforced_hits(response.ingress().enforced_hits_size() - 1)
                .flow_log_string(),
            "2|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1");

  // An allowed one: the frontend calls the cart.
  p->set_source_ip("198.18.1.11");
  p->set_destination_ip("198.18.1.12");
  p->set_destination_port(7070);
  ASSERT_TRUE(trace_stub_->Trace(As(kAdminToken).get(), request, &response).ok());
  key.src = *dp::classify::IpAddr::Parse("198.18.1.11");
  key.dst = *dp::classify::IpAddr::Parse("198.18.1.12");
  key.dst_port = 7070;
  report = ctl::trace::TracePacket(*program_, key);
  EXPECT_EQ(response.verdict(), report.verdict == "allow" ? v1::ACTION_ALLOW : v1::ACTION_DENY);
}

TEST_F(ObserveServiceTest, LiveTraceRejectsBadPackets) {
  v1::TraceRequest request;
  v1::Packet* p = request.mutable_packet();
  p->set_source_ip("198.18.1.300");
  p->set_destination_ip("198.18.1.11");
  p->set_protocol(6);
  v1::TraceResponse response;
  grpc::Status s = trace_stub_->Trace(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("packet.source_ip"));

  p->set_source_ip("198.18.1.10");
  p->set_destination_ip("nope");
  s = trace_stub_->Trace(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("packet.destination_ip"));

  p->set_destination_ip("fd00::1");
  s = trace_stub_->Trace(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("family"));

  p->set_destination_ip("198.18.1.11");
  p->set_protocol(256);
  s = trace_stub_->Trace(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("packet.protocol"));

  p->set_protocol(6);
  p->set_destination_port(70000);
  s = trace_stub_->Trace(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  p->set_destination_port(8080);
  s = trace_stub_->Trace(As(kCarolToken).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ObserveServiceTest, NoProgramYetIsFailedPrecondition) {
  program_.reset();
  v1::TraceRequest request;
  request.mutable_packet()->set_source_ip("198.18.1.10");
  request.mutable_packet()->set_destination_ip("198.18.1.11");
  request.mutable_packet()->set_protocol(6);
  v1::TraceResponse response;
  grpc::Status s = trace_stub_->Trace(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  v1::WhyResponse why;
  s = Why(kAdminToken, "loadgenerator.hipstershop", "frontend.hipstershop:8080/tcp", &why);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(ObserveServiceTest, WatchCountersStreamsUntilCancelled) {
  v1::CountersRequest request;
  request.set_tier("security");
  request.set_interval_seconds(1);
  auto context = As(kAdminToken, 30);
  auto reader = stub_->WatchCounters(context.get(), request);
  v1::CountersResponse first, second;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_TRUE(reader->Read(&second));
  EXPECT_EQ(first.rules_size(), 2);
  EXPECT_EQ(second.rules_size(), 2);
  EXPECT_GE(second.time(), first.time());
  context->TryCancel();
  v1::CountersResponse more;
  while (reader->Read(&more)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // Unauthenticated: no message, the code at once.
  auto none = As("", 30);
  auto refused = stub_->WatchCounters(none.get(), request);
  EXPECT_FALSE(refused->Read(&more));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// The attack of issue 10: a token holder with no role held WatchCounters
// streams open (each holding a server thread) to starve the API. Such a
// caller is refused at once, as GetCounters refuses it.
TEST_F(ObserveServiceTest, WatchCountersNeedsTheRightsOfGetCounters) {
  v1::CountersRequest request;
  request.set_interval_seconds(1);
  auto context = As(kCarolToken, 30);
  auto reader = stub_->WatchCounters(context.get(), request);
  v1::CountersResponse got;
  EXPECT_FALSE(reader->Read(&got));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("carol"));
}

// Each user may hold StreamLimits::per_user streams (8 by default); the next
// is RESOURCE_EXHAUSTED naming user, limit and flag, and a closed stream
// frees its place.
TEST_F(ObserveServiceTest, StreamsPerUserAreLimited) {
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::FlowLog>>> readers;
  v1::FlowsRequest request;
  request.set_last(1);  // so each stream shows it is open by sending one record
  for (int i = 0; i < 8; ++i) {
    contexts.push_back(As(kBobToken, 30));
    readers.push_back(stub_->FollowFlows(contexts.back().get(), request));
    v1::FlowLog got;
    ASSERT_TRUE(readers.back()->Read(&got)) << "stream " << i;
  }
  auto ninth_context = As(kBobToken, 30);
  auto ninth = stub_->FollowFlows(ninth_context.get(), request);
  v1::FlowLog got;
  EXPECT_FALSE(ninth->Read(&got));
  grpc::Status s = ninth->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(s.error_message(),
            "user \"bob\" already has 8 open streams, the limit per user "
            "(--api-max-streams-per-user 8); close one first");
  // Another user is not affected.
  auto admin_context = As(kAdminToken, 30);
  auto admin = stub_->FollowFlows(admin_context.get(), request);
  EXPECT_TRUE(admin->Read(&got));
  admin_context->TryCancel();
  admin->Finish();
  // Closing one frees a place (the server notices the cancel asynchronously).
  contexts[0]->TryCancel();
  readers[0]->Finish();
  bool reopened = false;
  for (int attempt = 0; attempt < 50 && !reopened; ++attempt) {
    auto again_context = As(kBobToken, 30);
    auto again = stub_->FollowFlows(again_context.get(), request);
    reopened = again->Read(&got);
    again_context->TryCancel();
    again->Finish();
    if (!reopened) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(reopened);
  for (size_t i = 1; i < contexts.size(); ++i) {
    contexts[i]->TryCancel();
    readers[i]->Finish();
  }
}

// Streams hold no server thread: on a server with 4 threads, 12 open streams
// of three users leave unary calls working. With one thread per stream
// (gRPC's synchronous API) the fifth stream or call was RESOURCE_EXHAUSTED.
TEST_F(ObserveServiceTest, OpenStreamsHoldNoServerThread) {
  grpc::ServerBuilder builder;
  builder.RegisterService(observe_.get());
  grpc::ResourceQuota quota("four-threads");
  quota.SetMaxThreads(4);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> small = builder.BuildAndStart();
  ASSERT_NE(small, nullptr);
  auto stub = v1::ObserveService::NewStub(small->InProcessChannel(grpc::ChannelArguments()));
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::CountersResponse>>> readers;
  v1::CountersRequest request;
  request.set_interval_seconds(60);
  for (const char* token : {kAdminToken, kBobToken, kAliceToken}) {
    for (int i = 0; i < 4; ++i) {
      contexts.push_back(As(token, 30));
      readers.push_back(stub->WatchCounters(contexts.back().get(), request));
      v1::CountersResponse first;
      ASSERT_TRUE(readers.back()->Read(&first)) << token << " stream " << i;
    }
  }
  for (int i = 0; i < 8; ++i) {
    v1::CountersResponse response;
    grpc::Status s = stub->GetCounters(As(kAdminToken).get(), request, &response);
    ASSERT_TRUE(s.ok()) << "call " << i << ": " << s.error_message();
  }
  for (size_t i = 0; i < contexts.size(); ++i) {
    contexts[i]->TryCancel();
    readers[i]->Finish();
  }
  small->Shutdown();
}

}  // namespace
}  // namespace tierwall::test
