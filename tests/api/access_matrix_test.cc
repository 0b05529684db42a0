// The access matrix: every RPC of ResourceService, ObserveService and
// TraceService called as every kind of caller, one row per (RPC, caller,
// target) with the status code it must get:
//   - no token over a non-local channel, and an unknown token: UNAUTHENTICATED;
//   - carol, a known user with no bindings: PERMISSION_DENIED, except where
//     the design filters instead of refusing (List: OK with nothing in the
//     answer). GetCounters and WatchCounters filter too, but only for a
//     caller who may read some counters: a stream that can never show
//     anything is refused rather than held open;
//   - the admin, by token and as the local admin (no token on a local admin
//     socket service): OK, with state set up so every call can succeed;
//   - alice, who may edit tier app-hipstershop only: OK on its policies,
//     PERMISSION_DENIED for every read and write of tier security.
// A refused write leaves the store's revision where it was; a successful one
// (Validate excepted) moves it on by one.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "control/api/observe_service.h"
#include "control/api/resource_service.h"
#include "control/api/staging.h"
#include "control/flowlog/flow_history.h"
#include "control/flowlog/policy_series.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/api/shop_fixture.h"

namespace tierwall::test {
namespace {

namespace v1 = ::tierwall::v1;
using namespace shop;  // NOLINT(build/namespaces)
using Code = grpc::StatusCode;

enum class Who { kNoToken, kBadToken, kNobody, kAdmin, kLocalAdmin, kAlice };
// What the call is about: a policy of tier app-hipstershop, one of tier
// security, something that does not exist, or nothing in particular.
enum class Target { kApp, kSecurity, kMissing, kNone };

const char* WhoName(Who w) {
  switch (w) {
    case Who::kNoToken: return "NoToken";
    case Who::kBadToken: return "BadToken";
    case Who::kNobody: return "Carol";
    case Who::kAdmin: return "Admin";
    case Who::kLocalAdmin: return "LocalAdmin";
    case Who::kAlice: return "Alice";
  }
  return "?";
}

const char* TargetName(Target t) {
  switch (t) {
    case Target::kApp: return "App";
    case Target::kSecurity: return "Security";
    case Target::kMissing: return "Missing";
    case Target::kNone: return "";
  }
  return "?";
}

struct Row {
  std::string rpc;
  Who who;
  Target target;
  Code code;
  // For OK answers of the filtering RPCs: whether anything may be in them
  // (-1: not checked, 0: must be empty, 1: must not be empty).
  int items = -1;
};

std::ostream& operator<<(std::ostream& os, const Row& row) {
  return os << row.rpc << "/" << WhoName(row.who) << "/" << TargetName(row.target) << " -> "
            << row.code;
}

const std::vector<std::string> kWrites = {"Apply",    "Create",   "Replace", "Delete",
                                          "Validate", "Rollback", "Stage",   "Enforce"};
const std::vector<std::string> kPolicyReads = {"Get", "History", "Diff"};
const std::vector<std::string> kObserve = {
    "GetCounters", "WatchCounters", "GetFlows", "FollowFlows", "Graph", "Why", "Trace"};

bool IsWrite(const std::string& rpc) {
  return std::find(kWrites.begin(), kWrites.end(), rpc) != kWrites.end();
}

std::vector<Row> Rows() {
  std::vector<Row> rows;
  std::vector<std::pair<std::string, Target>> calls;
  for (const auto& rpc : kWrites) {
    calls.push_back({rpc, Target::kApp});
    calls.push_back({rpc, Target::kSecurity});
  }
  for (const auto& rpc : kPolicyReads) {
    calls.push_back({rpc, Target::kApp});
    calls.push_back({rpc, Target::kSecurity});
  }
  calls.push_back({"List", Target::kApp});
  calls.push_back({"List", Target::kSecurity});
  calls.push_back({"VerifyAudit", Target::kNone});
  for (const auto& rpc : kObserve) calls.push_back({rpc, Target::kNone});

  for (const auto& [rpc, target] : calls) {
    const bool filters = rpc == "List" || rpc == "GetCounters" || rpc == "WatchCounters";
    rows.push_back({rpc, Who::kNoToken, target, Code::UNAUTHENTICATED});
    rows.push_back({rpc, Who::kBadToken, target, Code::UNAUTHENTICATED});
    rows.push_back(rpc == "List" ? Row{rpc, Who::kNobody, target, Code::OK, 0}
                                 : Row{rpc, Who::kNobody, target, Code::PERMISSION_DENIED});
    const int some = filters ? 1 : -1;
    rows.push_back({rpc, Who::kAdmin, target, Code::OK, some});
    rows.push_back({rpc, Who::kLocalAdmin, target, Code::OK, some});
    if (target == Target::kSecurity) {
      rows.push_back(rpc == "List" ? Row{rpc, Who::kAlice, target, Code::OK, 0}
                                   : Row{rpc, Who::kAlice, target, Code::PERMISSION_DENIED});
    } else if (rpc == "VerifyAudit") {
      rows.push_back({rpc, Who::kAlice, target, Code::PERMISSION_DENIED});
    } else {
      rows.push_back({rpc, Who::kAlice, target, Code::OK, some});
    }
  }
  // The precise codes when the target is not there.
  for (Who who : {Who::kAdmin, Who::kAlice}) {
    rows.push_back({"Enforce", who, Target::kMissing, Code::NOT_FOUND});
    rows.push_back({"Delete", who, Target::kMissing, Code::NOT_FOUND});
    rows.push_back({"Replace", who, Target::kMissing, Code::NOT_FOUND});
    rows.push_back({"Get", who, Target::kMissing, Code::NOT_FOUND});
    rows.push_back({"Rollback", who, Target::kMissing, Code::NOT_FOUND});
    rows.push_back({"Create", who, Target::kMissing, Code::ALREADY_EXISTS});
  }
  // Whether something exists is not told to a caller who may not read it.
  for (const char* rpc : {"Enforce", "Delete", "Replace", "Get", "Rollback", "Create"}) {
    rows.push_back({rpc, Who::kNobody, Target::kMissing, Code::PERMISSION_DENIED});
  }
  return rows;
}

// security.allow-dns as the example has it, and with another order.
std::string AllowDns(bool changed) {
  std::string all = Example("base/30-security.yaml");
  size_t at = all.find("name: security.allow-dns");
  size_t begin = all.rfind("\n---\n", at);
  size_t end = all.find("\n---\n", at);
  std::string doc =
      all.substr(begin + 5, end == std::string::npos ? std::string::npos : end - begin - 5);
  if (changed) doc = absl::StrReplaceAll(doc, {{"order: 20", "order: 21"}});
  return doc;
}

constexpr char kNewAppPolicy[] = R"(apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: app-hipstershop.extra
  namespace: hipstershop
spec:
  tier: app-hipstershop
  order: 500
  selector: app == 'redis-cart'
  types: [Ingress]
)";

constexpr char kNewSecurityPolicy[] = R"(apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: security.extra
spec:
  tier: security
  order: 500
  selector: app == 'redis-cart'
  types: [Ingress]
)";

// A policy that is nowhere: replacing, deleting or getting it is NOT_FOUND.
constexpr char kMissingPolicy[] = R"(apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: app-hipstershop.missing
  namespace: hipstershop
spec:
  tier: app-hipstershop
  selector: app == 'redis-cart'
  types: [Ingress]
)";

class AccessMatrixTest : public ::testing::TestWithParam<Row> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tw_access_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = ctl::store::Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    // 1: the shop (with the staged cartservice policy of tier app-hipstershop);
    // 2: the broken frontend; 3: security.block-threat-feed staged;
    // 4: security.allow-dns changed (so both tiers have something to roll back).
    ASSERT_TRUE(Commit(store_.get(), "platform-admin", Shop("healthy")).ok());
    ASSERT_TRUE(
        Commit(store_.get(), "kubernetes-admin", Example("broken/51-app-frontend.yaml")).ok());
    auto staged = ctl::api::ToStagedDocument(FirstDocument(Example("base/30-security.yaml")));
    ASSERT_TRUE(staged.ok()) << staged.status();
    auto r3 = Commit(store_.get(), "kubernetes-admin", *staged, ctl::store::Verb::kStage);
    ASSERT_TRUE(r3.ok()) << r3.status();
    auto r4 = Commit(store_.get(), "platform-admin", AllowDns(true));
    ASSERT_TRUE(r4.ok()) << r4.status();
    ASSERT_EQ(*r4, 4);

    auto snapshot = store_->CurrentSnapshot();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    auto program = CompileProgram(snapshot->yaml, 4);
    ASSERT_TRUE(program.ok()) << program.status();
    program_ = *program;
    history_.Append(ShopRecords());
    std::vector<ctl::flowlog::RuleTotal> totals;
    for (const auto& r : ShopCounters().rules) totals.push_back({r.slot, r.packets, r.bytes});
    series_.Sample(Now(), totals);

    auto authorizer = ctl::auth::Authorizer::FromYaml(kRbac, "rbac.yaml");
    ASSERT_TRUE(authorizer.ok()) << authorizer.status();
    authorizer_ = std::move(*authorizer);
    auto tokens = ctl::auth::TokenAuthenticator::FromYaml(kTokens, "tokens.yaml");
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = std::move(*tokens);

    ctl::api::ObserveSources sources;
    sources.counters = [] { return ShopCounters(); };
    sources.series = &series_;
    sources.flows = &history_;
    sources.lost = []() -> std::pair<uint64_t, uint64_t> { return {0, 0}; };
    sources.program = [this] { return program_; };
    sources.store = store_.get();
    for (bool local : {false, true}) {
      Services& s = local ? local_ : remote_;
      const ctl::api::CallAuthenticatorOptions auth{tokens_.get(), local};
      s.resources = std::make_unique<ctl::api::ResourceService>(
          store_.get(), authorizer_.get(), auth, CompileState,
          [](int64_t, std::chrono::steady_clock::time_point) -> uint64_t { return 0; });
      s.observe = std::make_unique<ctl::api::ObserveService>(sources, authorizer_.get(), auth);
      s.trace =
          std::make_unique<ctl::api::LiveTraceService>(sources.program, authorizer_.get(), auth);
      grpc::ServerBuilder builder;
      builder.RegisterService(s.resources.get());
      builder.RegisterService(s.observe.get());
      builder.RegisterService(s.trace.get());
      s.server = builder.BuildAndStart();
      ASSERT_NE(s.server, nullptr);
      auto channel = s.server->InProcessChannel(grpc::ChannelArguments());
      s.resource_stub = v1::ResourceService::NewStub(channel);
      s.observe_stub = v1::ObserveService::NewStub(channel);
      s.trace_stub = v1::TraceService::NewStub(channel);
    }
  }

  void TearDown() override {
    history_.Shutdown();
    for (Services* s : {&remote_, &local_}) {
      if (s->server) s->server->Shutdown();
      s->server.reset();
    }
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  struct Services {
    std::unique_ptr<ctl::api::ResourceService> resources;
    std::unique_ptr<ctl::api::ObserveService> observe;
    std::unique_ptr<ctl::api::LiveTraceService> trace;
    std::unique_ptr<grpc::Server> server;
    std::unique_ptr<v1::ResourceService::Stub> resource_stub;
    std::unique_ptr<v1::ObserveService::Stub> observe_stub;
    std::unique_ptr<v1::TraceService::Stub> trace_stub;
  };

  int64_t Revision() {
    auto r = store_->CurrentRevision();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : -1;
  }

  struct Outcome {
    grpc::Status status;
    int items = -1;  // resources listed, rules counted; -1 for other RPCs
  };

  // One call of `rpc` about `target`, as `who`.
  Outcome Call(const std::string& rpc, Who who, Target target) {
    Services& s = who == Who::kLocalAdmin ? local_ : remote_;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    const char* token = nullptr;
    switch (who) {
      case Who::kBadToken: token = "not-a-token-0123456789"; break;
      case Who::kNobody: token = kCarolToken; break;
      case Who::kAdmin: token = kAdminToken; break;
      case Who::kAlice: token = kAliceToken; break;
      default: break;
    }
    if (token) context.AddMetadata("authorization", std::string("Bearer ") + token);
    v1::ResourceService::Stub& rs = *s.resource_stub;
    v1::ObserveService::Stub& os = *s.observe_stub;

    const bool app = target == Target::kApp;
    const bool missing = target == Target::kMissing;
    const v1::ResourceRef frontend =
        Ref("NetworkPolicy", "hipstershop", "app-hipstershop.frontend");
    const v1::ResourceRef allow_dns = Ref("GlobalNetworkPolicy", "", "security.allow-dns");
    const v1::ResourceRef missing_ref =
        Ref("NetworkPolicy", "hipstershop", "app-hipstershop.missing");
    const v1::ResourceRef& policy = missing ? missing_ref : app ? frontend : allow_dns;
    // What writes send: the healthy frontend, or allow-dns with another order.
    const std::string change = missing ? kMissingPolicy
                               : app   ? Example("healthy/51-app-frontend.yaml")
                                       : AllowDns(false);

    Outcome out;
    if (rpc == "Apply") {
      v1::ApplyRequest req;
      req.set_yaml(change);
      v1::ApplyResponse resp;
      out.status = rs.Apply(&context, req, &resp);
    } else if (rpc == "Create") {
      v1::CreateRequest req;
      req.set_yaml(missing ? Example("healthy/51-app-frontend.yaml")
                   : app   ? kNewAppPolicy
                           : kNewSecurityPolicy);
      v1::CreateResponse resp;
      out.status = rs.Create(&context, req, &resp);
    } else if (rpc == "Replace") {
      v1::ReplaceRequest req;
      req.set_yaml(change);
      v1::ReplaceResponse resp;
      out.status = rs.Replace(&context, req, &resp);
    } else if (rpc == "Delete") {
      v1::DeleteRequest req;
      *req.mutable_ref() = policy;
      v1::DeleteResponse resp;
      out.status = rs.Delete(&context, req, &resp);
    } else if (rpc == "Validate") {
      v1::ValidateRequest req;
      req.set_yaml(change);
      v1::ValidateResponse resp;
      out.status = rs.Validate(&context, req, &resp);
    } else if (rpc == "Rollback") {
      v1::RollbackRequest req;
      *req.mutable_ref() = policy;
      req.set_revision(1);
      v1::RollbackResponse resp;
      out.status = rs.Rollback(&context, req, &resp);
    } else if (rpc == "Stage") {
      v1::StageRequest req;
      req.set_yaml(change);
      v1::StageResponse resp;
      out.status = rs.Stage(&context, req, &resp);
    } else if (rpc == "Enforce") {
      v1::EnforceRequest req;
      if (missing) {
        *req.mutable_ref() = Ref("StagedNetworkPolicy", "hipstershop", "app-hipstershop.frontend");
      } else if (app) {
        *req.mutable_ref() =
            Ref("StagedNetworkPolicy", "hipstershop", "app-hipstershop.cartservice");
      } else {
        *req.mutable_ref() = Ref("StagedGlobalNetworkPolicy", "", "security.block-threat-feed");
      }
      v1::EnforceResponse resp;
      out.status = rs.Enforce(&context, req, &resp);
    } else if (rpc == "Get") {
      v1::GetRequest req;
      *req.mutable_ref() = policy;
      v1::GetResponse resp;
      out.status = rs.Get(&context, req, &resp);
    } else if (rpc == "History") {
      v1::HistoryRequest req;
      *req.mutable_ref() = policy;
      v1::HistoryResponse resp;
      out.status = rs.History(&context, req, &resp);
    } else if (rpc == "Diff") {
      v1::DiffRequest req;
      *req.mutable_ref() = policy;
      req.set_from_revision(1);
      v1::DiffResponse resp;
      out.status = rs.Diff(&context, req, &resp);
    } else if (rpc == "List") {
      v1::ListRequest req;
      req.set_kind(app ? "NetworkPolicy" : "GlobalNetworkPolicy");
      v1::ListResponse resp;
      out.status = rs.List(&context, req, &resp);
      out.items = resp.resources_size();
    } else if (rpc == "VerifyAudit") {
      v1::VerifyAuditResponse resp;
      out.status = rs.VerifyAudit(&context, v1::VerifyAuditRequest(), &resp);
    } else if (rpc == "GetCounters") {
      v1::CountersResponse resp;
      out.status = os.GetCounters(&context, v1::CountersRequest(), &resp);
      out.items = resp.rules_size() + resp.drops_size();
    } else if (rpc == "WatchCounters") {
      v1::CountersRequest req;
      req.set_interval_seconds(1);
      auto reader = os.WatchCounters(&context, req);
      v1::CountersResponse first;
      if (reader->Read(&first)) {
        out.items = first.rules_size() + first.drops_size();
        context.TryCancel();
        while (reader->Read(&first)) {
        }
        reader->Finish();
      } else {
        out.status = reader->Finish();
      }
    } else if (rpc == "GetFlows") {
      v1::FlowsResponse resp;
      out.status = os.GetFlows(&context, v1::FlowsRequest(), &resp);
    } else if (rpc == "FollowFlows") {
      v1::FlowsRequest req;
      req.set_last(1);
      auto reader = os.FollowFlows(&context, req);
      v1::FlowLog first;
      if (reader->Read(&first)) {
        context.TryCancel();
        while (reader->Read(&first)) {
        }
        reader->Finish();
      } else {
        out.status = reader->Finish();
      }
    } else if (rpc == "Graph") {
      v1::GraphResponse resp;
      out.status = os.Graph(&context, v1::GraphRequest(), &resp);
    } else if (rpc == "Why") {
      v1::WhyRequest req;
      req.set_from("loadgenerator.hipstershop");
      req.set_to("frontend.hipstershop:8080/tcp");
      v1::WhyResponse resp;
      out.status = os.Why(&context, req, &resp);
    } else if (rpc == "Trace") {
      v1::TraceRequest req;
      req.mutable_packet()->set_source_ip("198.18.1.10");
      req.mutable_packet()->set_destination_ip("198.18.1.11");
      req.mutable_packet()->set_protocol(6);
      req.mutable_packet()->set_destination_port(8080);
      v1::TraceResponse resp;
      out.status = s.trace_stub->Trace(&context, req, &resp);
    } else {
      ADD_FAILURE() << "no such RPC in the matrix: " << rpc;
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<ctl::store::Store> store_;
  std::shared_ptr<const dp::classify::Program> program_;
  std::unique_ptr<ctl::auth::Authorizer> authorizer_;
  std::unique_ptr<ctl::auth::TokenAuthenticator> tokens_;
  ctl::flowlog::FlowHistory history_;
  ctl::flowlog::PolicySeries series_;
  Services remote_, local_;
};

TEST_P(AccessMatrixTest, ExpectedCode) {
  const Row& row = GetParam();
  const int64_t before = Revision();
  Outcome out = Call(row.rpc, row.who, row.target);
  EXPECT_EQ(out.status.error_code(), row.code) << out.status.error_message();
  if (row.code == Code::PERMISSION_DENIED && row.who == Who::kAlice) {
    EXPECT_THAT(out.status.error_message(), ::testing::HasSubstr("alice"));
  }
  if (row.code == Code::UNAUTHENTICATED) {
    EXPECT_THAT(out.status.error_message(), ::testing::Not(::testing::HasSubstr("not-a-token")));
  }
  if (row.items == 0) {
    EXPECT_EQ(out.items, 0);
  } else if (row.items == 1) {
    EXPECT_GT(out.items, 0);
  }
  if (IsWrite(row.rpc)) {
    const bool commits = row.code == Code::OK && row.rpc != "Validate";
    EXPECT_EQ(Revision(), before + (commits ? 1 : 0));
  } else {
    EXPECT_EQ(Revision(), before);
  }
}

// Authentication comes before everything else (resource_service.h, step 1):
// a malformed request without a token is UNAUTHENTICATED, not
// INVALID_ARGUMENT, and a malformed request from a caller without rights is
// PERMISSION_DENIED where the target is known before parsing.
class AuthenticateFirstTest : public AccessMatrixTest {};

TEST_F(AuthenticateFirstTest, MalformedRequestsWithoutATokenAreUnauthenticated) {
  auto context = [](const char* token = nullptr) {
    auto c = std::make_unique<grpc::ClientContext>();
    if (token) c->AddMetadata("authorization", std::string("Bearer ") + token);
    return c;
  };
  v1::ResourceService::Stub& rs = *remote_.resource_stub;
  v1::ObserveService::Stub& os = *remote_.observe_stub;
  const int64_t before = Revision();

  v1::StageRequest stage;
  stage.set_yaml("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: x\n");
  v1::StageResponse staged;
  EXPECT_EQ(rs.Stage(context().get(), stage, &staged).error_code(), Code::UNAUTHENTICATED);
  stage.set_yaml(kNewAppPolicy + std::string("---\n") + kNewSecurityPolicy);
  EXPECT_EQ(rs.Stage(context().get(), stage, &staged).error_code(), Code::UNAUTHENTICATED);
  stage.set_yaml("kind: [unclosed\n");
  EXPECT_EQ(rs.Stage(context().get(), stage, &staged).error_code(), Code::UNAUTHENTICATED);

  v1::DeleteRequest del;
  v1::DeleteResponse deleted;
  EXPECT_EQ(rs.Delete(context().get(), del, &deleted).error_code(), Code::UNAUTHENTICATED);
  *del.mutable_ref() = Ref("NoSuchKind", "", "x");
  EXPECT_EQ(rs.Delete(context().get(), del, &deleted).error_code(), Code::UNAUTHENTICATED);

  v1::ApplyRequest apply;
  apply.set_yaml("kind: [unclosed\n");
  v1::ApplyResponse applied;
  EXPECT_EQ(rs.Apply(context().get(), apply, &applied).error_code(), Code::UNAUTHENTICATED);

  v1::EnforceRequest enforce;
  *enforce.mutable_ref() = Ref("Tier", "", "security");
  v1::EnforceResponse enforced;
  EXPECT_EQ(rs.Enforce(context().get(), enforce, &enforced).error_code(), Code::UNAUTHENTICATED);

  v1::RollbackRequest rollback;
  *rollback.mutable_ref() = Ref("NoSuchKind", "", "x");
  v1::RollbackResponse rolled;
  EXPECT_EQ(rs.Rollback(context().get(), rollback, &rolled).error_code(), Code::UNAUTHENTICATED);

  v1::FlowsRequest flows;
  flows.mutable_filter()->set_from("a/b/c");
  v1::FlowsResponse got;
  EXPECT_EQ(os.GetFlows(context().get(), flows, &got).error_code(), Code::UNAUTHENTICATED);
  EXPECT_EQ(os.GetFlows(context(kCarolToken).get(), flows, &got).error_code(),
            Code::PERMISSION_DENIED);

  v1::WhyResponse why;
  EXPECT_EQ(os.Why(context().get(), v1::WhyRequest(), &why).error_code(), Code::UNAUTHENTICATED);
  EXPECT_EQ(os.Why(context(kCarolToken).get(), v1::WhyRequest(), &why).error_code(),
            Code::PERMISSION_DENIED);

  v1::TraceRequest trace;
  trace.mutable_packet()->set_source_ip("nope");
  v1::TraceResponse traced;
  EXPECT_EQ(remote_.trace_stub->Trace(context().get(), trace, &traced).error_code(),
            Code::UNAUTHENTICATED);
  EXPECT_EQ(remote_.trace_stub->Trace(context(kCarolToken).get(), trace, &traced).error_code(),
            Code::PERMISSION_DENIED);
  EXPECT_EQ(Revision(), before);
}

INSTANTIATE_TEST_SUITE_P(Rpcs, AccessMatrixTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& p) {
                           return p.param.rpc + "_" + WhoName(p.param.who) +
                                  TargetName(p.param.target);
                         });

}  // namespace
}  // namespace tierwall::test
