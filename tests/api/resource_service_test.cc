// ResourceService over an in-process gRPC channel with a real store, the
// tiered RBAC, bearer tokens, and the model + compiler as the validate hook.
#include "control/api/resource_service.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/api/shop_fixture.h"

namespace tierwall::test {
namespace {

namespace v1 = ::tierwall::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTokens[] = R"(
- token: admin-token-0123456789
  user: kubernetes-admin
  groups: [system-admins]
- token: alice-token-0123456789
  user: alice
  groups: [app-team]
)";

// alice may only edit the app-hipstershop tier, as in the seed story.
constexpr char kRbac[] = R"(
roles:
  - name: app-hipstershop-editor
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [app-hipstershop]
      - verbs: [get, list, watch, create, update, delete]
        resources: [networkpolicies, stagednetworkpolicies]
        resourceNames: ["app-hipstershop.*"]
        namespaces: [hipstershop]
  - name: admin
    rules:
      - verbs: ["*"]
        resources: ["*"]
bindings:
  - role: app-hipstershop-editor
    users: [alice]
  - role: admin
    users: [kubernetes-admin]
)";

using shop::CompileState;
using shop::Example;
using shop::Ref;

// Every base file plus the healthy frontend, as one multi-document text.
std::string HealthyShop() { return shop::Shop("healthy"); }

v1::ResourceRef Frontend() {
  return Ref("NetworkPolicy", "hipstershop", "app-hipstershop.frontend");
}

class ResourceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tw_api_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = ctl::store::Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto authorizer = ctl::auth::Authorizer::FromYaml(kRbac, "rbac.yaml");
    ASSERT_TRUE(authorizer.ok()) << authorizer.status();
    authorizer_ = std::move(*authorizer);
    auto tokens = ctl::auth::TokenAuthenticator::FromYaml(kTokens, "tokens.yaml");
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = std::move(*tokens);

    auto on_commit = [this](int64_t revision, std::chrono::steady_clock::time_point) -> uint64_t {
      std::lock_guard<std::mutex> lock(mu_);
      commits_.push_back(revision);
      return 100 + commits_.size();  // a stand-in generation, checked by the tests
    };
    service_ = std::make_unique<ctl::api::ResourceService>(
        store_.get(), authorizer_.get(), ctl::api::CallAuthenticatorOptions{tokens_.get(), false},
        CompileState, on_commit);
    local_service_ = std::make_unique<ctl::api::ResourceService>(
        store_.get(), authorizer_.get(), ctl::api::CallAuthenticatorOptions{tokens_.get(), true},
        CompileState, on_commit);

    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::ResourceService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));

    grpc::ServerBuilder local_builder;
    local_builder.RegisterService(local_service_.get());
    local_server_ = local_builder.BuildAndStart();
    ASSERT_NE(local_server_, nullptr);
    local_stub_ =
        v1::ResourceService::NewStub(local_server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (local_server_) local_server_->Shutdown();
    server_.reset();
    local_server_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A context carrying `token` as a bearer token ("" = no metadata).
  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }
  static constexpr char kAdmin[] = "admin-token-0123456789";
  static constexpr char kAlice[] = "alice-token-0123456789";

  grpc::Status Apply(const std::string& token, const std::string& yaml,
                     v1::ApplyResponse* response = nullptr,
                     std::optional<int64_t> resource_version = std::nullopt) {
    v1::ApplyRequest request;
    request.set_yaml(yaml);
    if (resource_version) request.set_resource_version(*resource_version);
    v1::ApplyResponse unused;
    return stub_->Apply(As(token).get(), request, response ? response : &unused);
  }

  grpc::Status GetAs(const std::string& token, const v1::ResourceRef& ref,
                     v1::GetResponse* response) {
    v1::GetRequest request;
    *request.mutable_ref() = ref;
    return stub_->Get(As(token).get(), request, response);
  }

  int64_t Revision() {
    auto r = store_->CurrentRevision();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : -1;
  }

  std::vector<int64_t> Commits() {
    std::lock_guard<std::mutex> lock(mu_);
    return commits_;
  }

  // The shop at revision 1, applied by the admin.
  void ApplyShop() {
    v1::ApplyResponse response;
    grpc::Status s = Apply(kAdmin, HealthyShop(), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.revision(), 1);
  }

  std::string dir_;
  std::unique_ptr<ctl::store::Store> store_;
  std::unique_ptr<ctl::auth::Authorizer> authorizer_;
  std::unique_ptr<ctl::auth::TokenAuthenticator> tokens_;
  std::unique_ptr<ctl::api::ResourceService> service_;
  std::unique_ptr<ctl::api::ResourceService> local_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> local_server_;
  std::unique_ptr<v1::ResourceService::Stub> stub_;
  std::unique_ptr<v1::ResourceService::Stub> local_stub_;
  std::mutex mu_;
  std::vector<int64_t> commits_;
};

TEST_F(ResourceServiceTest, ApplyShopIsRevisionOneAndPublishes) {
  v1::ApplyResponse response;
  grpc::Status s = Apply(kAdmin, HealthyShop(), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.revision(), 1);
  EXPECT_GT(response.resources_size(), 20);
  for (const v1::Resource& r : response.resources()) {
    EXPECT_EQ(r.revision(), 1) << r.kind() << "/" << r.name();
    EXPECT_THAT(r.yaml(), HasSubstr("resourceVersion"));
  }
  EXPECT_EQ(Commits(), std::vector<int64_t>{1});
}

TEST_F(ResourceServiceTest, GetReturnsYamlWithResourceVersion) {
  ApplyShop();
  v1::GetResponse response;
  grpc::Status s = GetAs(kAdmin, Frontend(), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.resource().revision(), 1);
  EXPECT_EQ(response.resource().name(), "app-hipstershop.frontend");
  EXPECT_THAT(response.resource().yaml(), HasSubstr("resourceVersion"));
  EXPECT_THAT(response.resource().yaml(), HasSubstr("loadgenerator"));

  s = GetAs(kAdmin, Ref("NetworkPolicy", "hipstershop", "app-hipstershop.nope"), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

TEST_F(ResourceServiceTest, StaleResourceVersionIsAborted) {
  ApplyShop();
  v1::GetResponse got;
  ASSERT_TRUE(GetAs(kAdmin, Frontend(), &got).ok());
  // Someone else changes it (revision 2)...
  ASSERT_TRUE(Apply(kAdmin, Example("broken/51-app-frontend.yaml")).ok());
  // ...so writing back what was read at revision 1 must fail, whether the
  // version travels in the YAML or in the request.
  v1::ReplaceRequest replace;
  replace.set_yaml(got.resource().yaml());
  v1::ReplaceResponse replaced;
  grpc::Status s = stub_->Replace(As(kAdmin).get(), replace, &replaced);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  s = Apply(kAdmin, Example("healthy/51-app-frontend.yaml"), nullptr, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_EQ(Revision(), 2);
  // The current version is accepted.
  s = Apply(kAdmin, Example("healthy/51-app-frontend.yaml"), nullptr, 2);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Revision(), 3);
}

TEST_F(ResourceServiceTest, HistoryAndDiffShowTheRemovedRuleAndWhoRemovedIt) {
  ApplyShop();
  // alice (app-hipstershop editor) loses the frontend's ingress rule.
  v1::ApplyResponse applied;
  grpc::Status s = Apply(kAlice, Example("broken/51-app-frontend.yaml"), &applied);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(applied.revision(), 2);

  v1::HistoryRequest hreq;
  *hreq.mutable_ref() = Frontend();
  v1::HistoryResponse history;
  s = stub_->History(As(kAdmin).get(), hreq, &history);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(history.entries_size(), 2);
  EXPECT_EQ(history.entries(0).user(), "kubernetes-admin");
  EXPECT_EQ(history.entries(1).revision(), 2);
  EXPECT_EQ(history.entries(1).user(), "alice");
  EXPECT_EQ(history.entries(1).verb(), "apply");
  EXPECT_FALSE(history.entries(1).time().empty());

  v1::DiffRequest dreq;
  *dreq.mutable_ref() = Frontend();
  dreq.set_from_revision(1);
  dreq.set_to_revision(2);
  v1::DiffResponse diff;
  s = stub_->Diff(As(kAdmin).get(), dreq, &diff);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(diff.diff(), HasSubstr("-  ingress:"));
  EXPECT_THAT(diff.diff(), HasSubstr("loadgenerator"));
  EXPECT_THAT(diff.diff(), Not(HasSubstr("\n+  ingress:")));

  // Diff to now is the same change.
  dreq.clear_to_revision();
  v1::DiffResponse diff_now;
  ASSERT_TRUE(stub_->Diff(As(kAdmin).get(), dreq, &diff_now).ok());
  EXPECT_THAT(diff_now.diff(), HasSubstr("-  ingress:"));

  // Rollback to revision 1 restores the rule as revision 3.
  v1::RollbackRequest rreq;
  *rreq.mutable_ref() = Frontend();
  rreq.set_revision(1);
  v1::RollbackResponse rolled;
  s = stub_->Rollback(As(kAdmin).get(), rreq, &rolled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rolled.revision(), 3);
  EXPECT_THAT(rolled.resource().yaml(), HasSubstr("loadgenerator"));
  v1::GetResponse got;
  ASSERT_TRUE(GetAs(kAdmin, Frontend(), &got).ok());
  EXPECT_EQ(got.resource().revision(), 3);
  EXPECT_THAT(got.resource().yaml(), HasSubstr("ingress:"));
  history.Clear();
  ASSERT_TRUE(stub_->History(As(kAdmin).get(), hreq, &history).ok());
  ASSERT_EQ(history.entries_size(), 3);
  EXPECT_EQ(history.entries(2).verb(), "rollback");
  EXPECT_EQ(Commits(), (std::vector<int64_t>{1, 2, 3}));

  // Get at a past revision.
  v1::GetRequest at;
  *at.mutable_ref() = Frontend();
  at.set_revision(2);
  ASSERT_TRUE(stub_->Get(As(kAdmin).get(), at, &got).ok());
  EXPECT_EQ(got.resource().revision(), 2);
  EXPECT_THAT(got.resource().yaml(), Not(HasSubstr("ingress:")));
}

TEST_F(ResourceServiceTest, ValidateDoesNotCommit) {
  ApplyShop();
  v1::ValidateRequest request;
  request.set_yaml(Example("broken/51-app-frontend.yaml"));
  v1::ValidateResponse response;
  grpc::Status s = stub_->Validate(As(kAdmin).get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.revision(), 2);
  EXPECT_EQ(Revision(), 1);
  EXPECT_EQ(Commits(), std::vector<int64_t>{1});
  v1::GetResponse got;
  ASSERT_TRUE(GetAs(kAdmin, Frontend(), &got).ok());
  EXPECT_THAT(got.resource().yaml(), HasSubstr("ingress:"));

  // Validate reports what the real call would: create of an existing one.
  request.set_operation(v1::ValidateRequest::OPERATION_CREATE);
  s = stub_->Validate(As(kAdmin).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
}

TEST_F(ResourceServiceTest, BadYamlIsInvalidArgumentNamingTheDocument) {
  ApplyShop();
  std::string yaml = Example("broken/51-app-frontend.yaml") + "\n---\nkind: [unclosed\n";
  grpc::Status s = Apply(kAdmin, yaml);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("doc 2"));
  // A document the model rejects (a port range backwards) is the validate
  // hook's INVALID_ARGUMENT, naming the field.
  std::string bad_port = R"(apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: app-hipstershop.bad-port
  namespace: hipstershop
spec:
  tier: app-hipstershop
  selector: app == 'frontend'
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: ["80:70"]
)";
  s = Apply(kAdmin, bad_port);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("ports"));
  EXPECT_EQ(Revision(), 1);
  EXPECT_EQ(Commits(), std::vector<int64_t>{1});
}

TEST_F(ResourceServiceTest, PolicyInMissingTierIsFailedPrecondition) {
  ApplyShop();
  grpc::Status s = Apply(kAdmin, R"(apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nosuchtier.p
spec:
  tier: nosuchtier
  selector: all()
  types: [Ingress]
)");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("nosuchtier"));
  EXPECT_EQ(Revision(), 1);
}

TEST_F(ResourceServiceTest, SeedStoryTierEditorMayEditOnlyHerTier) {
  ApplyShop();
  // alice reads the frontend, edits it and writes it back with its version.
  v1::GetResponse got;
  grpc::Status s = GetAs(kAlice, Frontend(), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::ReplaceRequest replace;
  replace.set_yaml(Example("broken/51-app-frontend.yaml"));
  replace.set_resource_version(got.resource().revision());
  v1::ReplaceResponse replaced;
  s = stub_->Replace(As(kAlice).get(), replace, &replaced);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(replaced.revision(), 2);

  // The security tier is not hers: reads and writes are denied, with the reason.
  s = GetAs(kAlice, Ref("GlobalNetworkPolicy", "", "security.allow-dns"), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("alice"));
  std::string security = Example("base/30-security.yaml");
  v1::ReplaceRequest replace_security;
  replace_security.set_yaml(security);
  s = stub_->Replace(As(kAlice).get(), replace_security, &replaced);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("alice"));
  EXPECT_THAT(s.error_message(), HasSubstr("security"));
  // A batch is all or nothing: her own policy plus one of security's is denied.
  s = Apply(kAlice, Example("healthy/51-app-frontend.yaml") + "\n---\n" + security);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::DeleteRequest del;
  *del.mutable_ref() = Ref("GlobalNetworkPolicy", "", "security.allow-dns");
  v1::DeleteResponse deleted;
  s = stub_->Delete(As(kAlice).get(), del, &deleted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::HistoryRequest hreq;
  *hreq.mutable_ref() = Ref("GlobalNetworkPolicy", "", "security.allow-dns");
  v1::HistoryResponse history;
  s = stub_->History(As(kAlice).get(), hreq, &history);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Revision(), 2);

  // Re-tiering someone else's policy into her tier does not get round it.
  std::string platform_np = R"(apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: platform.shop-metrics
  namespace: hipstershop
spec:
  tier: platform
  selector: all()
  types: [Ingress]
)";
  ASSERT_TRUE(Apply(kAdmin, platform_np).ok());
  std::string hijack = platform_np;
  hijack.replace(hijack.find("tier: platform"), 14, "tier: app-hipstershop");
  s = Apply(kAlice, hijack);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("platform"));
  EXPECT_EQ(Revision(), 3);
}

TEST_F(ResourceServiceTest, ListLeavesOutWhatTheCallerMayNotList) {
  ApplyShop();
  v1::ListRequest request;
  request.set_kind("NetworkPolicy");
  v1::ListResponse all;
  ASSERT_TRUE(stub_->List(As(kAdmin).get(), request, &all).ok());
  v1::ListResponse mine;
  grpc::Status s = stub_->List(As(kAlice).get(), request, &mine);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(mine.revision(), 1);
  EXPECT_GT(mine.resources_size(), 3);
  for (const v1::Resource& r : mine.resources()) {
    EXPECT_THAT(r.name(), ::testing::StartsWith("app-hipstershop.")) << r.name();
  }
  request.clear_kind();
  ASSERT_TRUE(stub_->List(As(kAdmin).get(), request, &all).ok());
  EXPECT_GT(all.resources_size(), mine.resources_size());
  v1::ListResponse mine_all_kinds;
  ASSERT_TRUE(stub_->List(As(kAlice).get(), request, &mine_all_kinds).ok());
  // Her tier shows up (get on it), other tiers and the security GNPs do not.
  bool saw_her_tier = false;
  for (const v1::Resource& r : mine_all_kinds.resources()) {
    EXPECT_NE(r.kind(), "GlobalNetworkPolicy") << r.name();
    if (r.kind() == "Tier") {
      EXPECT_EQ(r.name(), "app-hipstershop");
      saw_her_tier = true;
    }
  }
  EXPECT_TRUE(saw_her_tier);
}

TEST_F(ResourceServiceTest, NoOrUnknownTokenIsUnauthenticated) {
  ApplyShop();
  v1::GetResponse got;
  grpc::Status s = GetAs("", Frontend(), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = GetAs("not-a-token", Frontend(), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_THAT(s.error_message(), Not(HasSubstr("not-a-token")));
  s = Apply("", Example("broken/51-app-frontend.yaml"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Revision(), 1);
}

TEST_F(ResourceServiceTest, LocalAdminSocketNeedsNoToken) {
  v1::ApplyRequest request;
  request.set_yaml(HealthyShop());
  v1::ApplyResponse response;
  grpc::ClientContext context;
  grpc::Status s = local_stub_->Apply(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::HistoryRequest hreq;
  *hreq.mutable_ref() = Frontend();
  v1::HistoryResponse history;
  grpc::ClientContext context2;
  ASSERT_TRUE(local_stub_->History(&context2, hreq, &history).ok());
  ASSERT_EQ(history.entries_size(), 1);
  EXPECT_EQ(history.entries(0).user(), "system:admin");
  // A token on the local socket names its user; a bad one is refused.
  auto as_alice = As(kAlice);
  v1::GetRequest greq;
  *greq.mutable_ref() = Ref("GlobalNetworkPolicy", "", "security.allow-dns");
  v1::GetResponse got;
  s = local_stub_->Get(as_alice.get(), greq, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  s = local_stub_->Get(As("bogus").get(), greq, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ResourceServiceTest, ExpiredDeadlineCommitsNothing) {
  ApplyShop();
  v1::ApplyRequest request;
  request.set_yaml(Example("broken/51-app-frontend.yaml"));
  v1::ApplyResponse response;
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kAdmin);
  context.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  grpc::Status s = stub_->Apply(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(Revision(), 1);
}

TEST_F(ResourceServiceTest, DeleteAndCreateCodes) {
  ApplyShop();
  v1::CreateRequest create;
  create.set_yaml(Example("healthy/51-app-frontend.yaml"));
  v1::CreateResponse created;
  grpc::Status s = stub_->Create(As(kAdmin).get(), create, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();

  v1::DeleteRequest del;
  *del.mutable_ref() = Frontend();
  v1::DeleteResponse deleted;
  s = stub_->Delete(As(kAlice).get(), del, &deleted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(deleted.revision(), 2);
  ASSERT_EQ(deleted.resources_size(), 1);
  EXPECT_EQ(deleted.resources(0).name(), "app-hipstershop.frontend");
  s = stub_->Delete(As(kAlice).get(), del, &deleted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  // Its history is still hers to read after the delete.
  v1::HistoryRequest hreq;
  *hreq.mutable_ref() = Frontend();
  v1::HistoryResponse history;
  s = stub_->History(As(kAlice).get(), hreq, &history);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(history.entries_size(), 2);

  s = stub_->Create(As(kAlice).get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.revision(), 3);

  // Deleting a tier that policies still use does not compile.
  v1::DeleteRequest del_tier;
  *del_tier.mutable_ref() = Ref("Tier", "", "app-hipstershop");
  s = stub_->Delete(As(kAdmin).get(), del_tier, &deleted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

// The seed story's fix: alice stages the healthy frontend, it is stored as a
// StagedNetworkPolicy (the enforced one is untouched), then she enforces it:
// one revision writes the enforced policy (audited "enforce") and removes the
// staged one.
TEST_F(ResourceServiceTest, StageThenEnforceIsTheSeedStoryFix) {
  ApplyShop();
  ASSERT_TRUE(Apply(kAdmin, Example("broken/51-app-frontend.yaml")).ok());

  v1::StageRequest stage;
  stage.set_yaml(Example("healthy/51-app-frontend.yaml"));
  v1::StageResponse staged;
  grpc::Status s = stub_->Stage(As(kAlice).get(), stage, &staged);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(staged.revision(), 3);
  EXPECT_EQ(staged.program_generation(), 103u);  // the stand-in on_commit's third call
  EXPECT_EQ(staged.resource().kind(), "StagedNetworkPolicy");
  EXPECT_THAT(staged.resource().yaml(), HasSubstr("stagedAction: Set"));
  EXPECT_THAT(staged.resource().yaml(), HasSubstr("loadgenerator"));
  v1::GetResponse enforced;
  ASSERT_TRUE(GetAs(kAlice, Frontend(), &enforced).ok());
  EXPECT_THAT(enforced.resource().yaml(),
              Not(HasSubstr("loadgenerator")));  // staging enforces nothing

  v1::EnforceRequest enforce;
  *enforce.mutable_ref() = Ref("StagedNetworkPolicy", "hipstershop", "app-hipstershop.frontend");
  v1::EnforceResponse done;
  s = stub_->Enforce(As(kAlice).get(), enforce, &done);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(done.revision(), 4);
  EXPECT_EQ(done.program_generation(), 104u);
  EXPECT_EQ(done.resource().kind(), "NetworkPolicy");
  EXPECT_THAT(done.resource().yaml(), HasSubstr("loadgenerator"));
  EXPECT_THAT(done.resource().yaml(), Not(HasSubstr("stagedAction")));
  ASSERT_TRUE(GetAs(kAlice, Frontend(), &enforced).ok());
  EXPECT_THAT(enforced.resource().yaml(), HasSubstr("loadgenerator"));
  v1::GetResponse gone;
  EXPECT_EQ(GetAs(kAlice, enforce.ref(), &gone).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::HistoryRequest history;
  *history.mutable_ref() = Frontend();
  v1::HistoryResponse h;
  ASSERT_TRUE(stub_->History(As(kAlice).get(), history, &h).ok());
  ASSERT_EQ(h.entries_size(), 3);
  EXPECT_EQ(h.entries(2).verb(), "enforce");
  EXPECT_EQ(h.entries(2).user(), "alice");
  EXPECT_EQ(h.entries(2).revision(), 4);

  // Enforcing again: nothing is staged any more.
  s = stub_->Enforce(As(kAlice).get(), enforce, &done);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("stage a change first"));
}

TEST_F(ResourceServiceTest, StagedDeleteEnforcedRemovesThePolicy) {
  ApplyShop();
  // As Calico validates a staged Delete: the spec names the tier, nothing more.
  const std::string yaml =
      "apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata:\n"
      "  name: app-hipstershop.frontend\n  namespace: hipstershop\nspec:\n"
      "  stagedAction: Delete\n  tier: app-hipstershop\n";
  v1::StageRequest stage;
  stage.set_yaml(yaml);
  v1::StageResponse staged;
  grpc::Status s = stub_->Stage(As(kAdmin).get(), stage, &staged);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(staged.resource().yaml(), HasSubstr("stagedAction: Delete"));
  v1::EnforceRequest enforce;
  *enforce.mutable_ref() = Frontend();  // the enforced kind names its staged counterpart
  v1::EnforceResponse done;
  s = stub_->Enforce(As(kAdmin).get(), enforce, &done);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::GetResponse gone;
  EXPECT_EQ(GetAs(kAdmin, Frontend(), &gone).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ResourceServiceTest, StageAndEnforceAreCheckedPerTier) {
  ApplyShop();
  // alice may edit app-hipstershop only: staging a security policy is refused.
  std::string security = Example("base/30-security.yaml");
  v1::StageRequest stage;
  stage.set_yaml(security.substr(0, security.find("\n---")));
  v1::StageResponse staged;
  grpc::Status s = stub_->Stage(As(kAlice).get(), stage, &staged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("alice"));
  EXPECT_THAT(s.error_message(), HasSubstr("security"));

  // The admin stages it; alice may not enforce it either.
  s = stub_->Stage(As(kAdmin).get(), stage, &staged);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::EnforceRequest enforce;
  v1::ResourceRef ref;
  ref.set_kind(staged.resource().kind());
  ref.set_namespace_(staged.resource().namespace_());
  ref.set_name(staged.resource().name());
  *enforce.mutable_ref() = ref;
  v1::EnforceResponse done;
  const int64_t before = Revision();
  s = stub_->Enforce(As(kAlice).get(), enforce, &done);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(Revision(), before);
  // No token: nothing.
  s = stub_->Enforce(As("").get(), enforce, &done);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
}

TEST_F(ResourceServiceTest, StageRejectsWhatIsNotAPolicy) {
  ApplyShop();
  v1::StageRequest stage;
  stage.set_yaml(
      "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: x\nspec:\n  order: 5\n");
  v1::StageResponse staged;
  grpc::Status s = stub_->Stage(As(kAdmin).get(), stage, &staged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("kind: stage takes a policy"));
  stage.set_yaml(Example("broken/51-app-frontend.yaml") + "\n---\n" +
                 Example("healthy/51-app-frontend.yaml"));
  s = stub_->Stage(As(kAdmin).get(), stage, &staged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("exactly one policy"));
}

TEST_F(ResourceServiceTest, VerifyAuditIsForAdministrators) {
  ApplyShop();
  ASSERT_TRUE(Apply(kAlice, Example("broken/51-app-frontend.yaml")).ok());
  v1::VerifyAuditResponse verified;
  grpc::Status s = stub_->VerifyAudit(As(kAdmin).get(), v1::VerifyAuditRequest(), &verified);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(verified.records(), 20);
  EXPECT_EQ(verified.latest_hash().size(), 64u);
  EXPECT_EQ(verified.revision(), 2);
  s = stub_->VerifyAudit(As(kAlice).get(), v1::VerifyAuditRequest(), &verified);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
}

TEST_F(ResourceServiceTest, ListFiltersByTierAndLabelSelector) {
  ApplyShop();
  v1::ListRequest request;
  request.set_tier("app-hipstershop");
  v1::ListResponse response;
  grpc::Status s = stub_->List(As(kAdmin).get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GT(response.resources_size(), 1);
  for (const v1::Resource& r : response.resources()) {
    EXPECT_THAT(r.kind(), HasSubstr("Policy")) << r.name();
    EXPECT_THAT(r.yaml(), HasSubstr("tier: app-hipstershop")) << r.name();
  }

  request.Clear();
  request.set_kind("Namespace");
  request.set_label_selector("team == 'shop'");
  s = stub_->List(As(kAdmin).get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.resources_size(), 1);
  EXPECT_EQ(response.resources(0).name(), "hipstershop");

  request.set_label_selector("team == shop");
  s = stub_->List(As(kAdmin).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("label_selector:"));
}

// Applying what is stored changes nothing: the same revision, every resource
// marked unchanged, no publication; a batch with one real change publishes
// once and marks only the others.
TEST_F(ResourceServiceTest, ApplyingWhatIsStoredIsUnchanged) {
  ApplyShop();
  v1::ApplyResponse response;
  grpc::Status s = Apply(kAdmin, HealthyShop(), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.revision(), 1);
  EXPECT_EQ(response.program_generation(), 0u);
  for (const v1::Resource& r : response.resources()) EXPECT_TRUE(r.unchanged()) << r.name();
  EXPECT_EQ(Commits(), std::vector<int64_t>{1});

  s = Apply(kAdmin,
            Example("broken/51-app-frontend.yaml") + "\n---\n" + Example("base/20-tiers.yaml"),
            &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.revision(), 2);
  int changed = 0;
  for (const v1::Resource& r : response.resources()) changed += r.unchanged() ? 0 : 1;
  EXPECT_EQ(changed, 1);
  EXPECT_EQ(Commits(), (std::vector<int64_t>{1, 2}));

  // Rolling back to what it reads as now is no change either.
  v1::RollbackRequest rollback;
  *rollback.mutable_ref() = Frontend();
  rollback.set_revision(2);
  v1::RollbackResponse rolled;
  s = stub_->Rollback(As(kAdmin).get(), rollback, &rolled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(rolled.resource().unchanged());
  EXPECT_EQ(rolled.revision(), 2);
  EXPECT_EQ(Commits(), (std::vector<int64_t>{1, 2}));
}

// One request limit (1 MiB, the store's document limit), named in the
// refusal, whatever the number of documents. The README used to promise
// 8 MiB while a per-document message refused anything over 1 MiB.
TEST_F(ResourceServiceTest, OneRequestLimitNamedInTheRefusal) {
  // The API's limit is the store's: a request under it meets no second limit.
  EXPECT_EQ(ctl::api::kMaxRequestBytes, ctl::store::Options().max_document_bytes);
  const std::string doc =
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: big\n"
      "spec:\n  nets: [192.0.2.0/24]\n";
  const std::string line = "# " + std::string(98, 'x') + "\n";
  auto padded = [&](const std::string& name, size_t bytes) {
    std::string out = doc;
    out.replace(out.find("name: big"), 9, "name: " + name);
    while (out.size() < bytes) out += line;
    return out;
  };
  grpc::Status s = Apply(kAdmin, padded("small", 900 << 10));
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = Apply(kAdmin, padded("big", 1536 << 10));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(),
              HasSubstr("is over the API's request limit of 1048576 bytes (1 MiB)"));
  s = Apply(kAdmin, padded("a", 512 << 10) + "---\n" + padded("b", 512 << 10) + "---\n" +
                        padded("c", 512 << 10));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("request limit"));
}

// A dry run (Validate) takes no commit lock: one that compiles for a long
// time does not hold up a writer. The validate hook blocks on the request
// carrying label "slow" until the apply behind it has finished (or 10 s).
TEST_F(ResourceServiceTest, ValidateDoesNotHoldUpWriters) {
  std::mutex mu;
  std::condition_variable cv;
  bool applied = false;
  auto validate = [&](const std::string& yaml) {
    if (yaml.find("slow: \"yes\"") != std::string::npos ||
        yaml.find("slow: yes") != std::string::npos) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return applied; });
    }
    return CompileState(yaml);
  };
  ctl::api::ResourceService service(store_.get(), authorizer_.get(),
                                    ctl::api::CallAuthenticatorOptions{tokens_.get(), false},
                                    validate, nullptr);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::ResourceService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  ASSERT_TRUE(stub->Apply(
                      As(kAdmin).get(),
                      [] {
                        v1::ApplyRequest r;
                        r.set_yaml(HealthyShop());
                        return r;
                      }(),
                      std::make_unique<v1::ApplyResponse>().get())
                  .ok());
  std::thread validating([&] {
    v1::ValidateRequest request;
    request.set_yaml(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: slow\n"
        "  labels: {slow: \"yes\"}\nspec:\n  nets: [192.0.2.0/24]\n");
    v1::ValidateResponse response;
    EXPECT_TRUE(stub->Validate(As(kAdmin).get(), request, &response).ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the validation is running
  const auto started = std::chrono::steady_clock::now();
  v1::ApplyRequest request;
  request.set_yaml(
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: quick\n"
      "spec:\n  nets: [192.0.2.0/24]\n");
  v1::ApplyResponse response;
  grpc::Status s = stub->Apply(As(kAdmin).get(), request, &response);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  {
    std::lock_guard<std::mutex> lock(mu);
    applied = true;
  }
  cv.notify_all();
  validating.join();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(waited, 5.0) << "the apply waited for the validation";
  server->Shutdown();
}

// Per-user token buckets on writes and validations; the refusal names user,
// rate and flag; the local admin is not limited.
TEST_F(ResourceServiceTest, WritesAndValidationsAreRateLimitedPerUser) {
  ctl::api::ResourceServiceLimits limits;
  limits.writes = {2, 0};
  limits.validations = {1, 0};
  ctl::api::ResourceService service(store_.get(), authorizer_.get(),
                                    ctl::api::CallAuthenticatorOptions{tokens_.get(), true},
                                    CompileState, nullptr, limits);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::ResourceService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  auto apply = [&](const std::string& token, const std::string& name) {
    v1::ApplyRequest request;
    request.set_yaml(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n"
        "  name: " +
        name + "\nspec:\n  nets: [192.0.2.0/24]\n");
    v1::ApplyResponse response;
    return stub->Apply(As(token).get(), request, &response);
  };
  EXPECT_TRUE(apply(kAdmin, "a").ok());
  EXPECT_TRUE(apply(kAdmin, "b").ok());
  grpc::Status s = apply(kAdmin, "c");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(s.error_message(),
            "user \"kubernetes-admin\" is over the rate limit of 2 writes per minute "
            "(--api-write-rate); next in 30s");
  v1::ValidateRequest validate;
  validate.set_yaml("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: t\n");
  v1::ValidateResponse validated;
  EXPECT_TRUE(stub->Validate(As(kAdmin).get(), validate, &validated).ok());
  s = stub->Validate(As(kAdmin).get(), validate, &validated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("--api-validate-rate"));
  // The local admin (no token on a local-admin service) is never limited.
  for (const char* name : {"d", "e", "f", "g"}) EXPECT_TRUE(apply("", name).ok()) << name;
  server->Shutdown();
}

TEST(RateLimiterTest, BucketRefillsAtTheRate) {
  auto now = std::chrono::steady_clock::time_point{};
  ctl::api::RateLimiter limiter({6, 2}, "writes", "--api-write-rate", [&] { return now; });
  const ctl::auth::Identity bob{"bob", {}};
  EXPECT_TRUE(limiter.Take(bob).ok());
  EXPECT_TRUE(limiter.Take(bob).ok());  // a burst of 2
  EXPECT_EQ(limiter.Take(bob).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter.Take(ctl::auth::Identity{"carol", {}}).ok());  // per user
  now += std::chrono::seconds(10);                                   // 6/min: one every 10 s
  EXPECT_TRUE(limiter.Take(bob).ok());
  EXPECT_EQ(limiter.Take(bob).code(), absl::StatusCode::kResourceExhausted);
  now += std::chrono::minutes(10);  // never more than the burst
  EXPECT_TRUE(limiter.Take(bob).ok());
  EXPECT_TRUE(limiter.Take(bob).ok());
  EXPECT_FALSE(limiter.Take(bob).ok());
}

// A request whose string field is not UTF-8 never reaches the service:
// protobuf refuses to parse it and gRPC answered INTERNAL with no message.
// The daemon's interceptor says what is wrong.
TEST_F(ResourceServiceTest, InvalidUtf8IsInvalidArgumentWithAMessage) {
  v1::ApplyRequest request;
  request.set_yaml("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: b\xffg\n");
  v1::ApplyResponse response;
  // Without the interceptor (the fixture's server): what gRPC says on its own.
  grpc::Status plain = stub_->Apply(As(kAdmin).get(), request, &response);
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(plain.error_message(), "");

  grpc::ServerBuilder builder;
  builder.RegisterService(service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(ctl::api::MakeParseErrorInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::ResourceService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  grpc::Status s = stub->Apply(As(kAdmin).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("valid UTF-8"));
  // Calls that parse are untouched.
  request.set_yaml("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: ok\n");
  EXPECT_TRUE(stub->Apply(As(kAdmin).get(), request, &response).ok());
  server->Shutdown();
}

// Compile cost as a weapon: a policy an ordinary tier editor may write, many
// rules x nets x ports, made each apply and each dry run compile for tens of
// seconds. Over the budget it is refused before any compile, naming the
// policy and the budget, for Apply and Validate alike, and the store is
// untouched.
TEST_F(ResourceServiceTest, PolicyOverTheCompileBudgetIsRefusedBeforeCompiling) {
  ApplyShop();
  // 12 rules x 30 source nets x 30 ports = 10800 boxes (the destination's
  // notNets are the local side: the compiler clips them to the endpoints).
  std::string policy =
      "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n"
      "  name: app-hipstershop.heavy\n  namespace: hipstershop\nspec:\n"
      "  tier: app-hipstershop\n  selector: all()\n  ingress:\n";
  for (int r = 0; r < 12; ++r) {
    std::string nets, not_nets, ports;
    for (int i = 0; i < 30; ++i) {
      nets += (i ? ", " : "") + std::to_string(10 + r) + ".0." + std::to_string(i) + ".0/24";
      not_nets += (i ? ", " : "") + std::string("172.16.") + std::to_string(i) + ".0/24";
      ports += (i ? ", " : "") + std::to_string(1000 + 10 * i + r);
    }
    policy += "    - action: Allow\n      protocol: TCP\n      source:\n        nets: [" + nets +
              "]\n      destination:\n        notNets: [" + not_nets + "]\n        ports: [" +
              ports + "]\n";
  }
  EXPECT_EQ(ctl::api::EstimatePolicyBoxes(policy), 12u * 30 * 30);
  ctl::api::ResourceServiceLimits limits;
  limits.max_policy_boxes = 5000;
  std::atomic<int> compiles{0};
  auto validate = [&](const std::string& yaml) {
    ++compiles;
    return CompileState(yaml);
  };
  ctl::api::ResourceService service(store_.get(), authorizer_.get(),
                                    ctl::api::CallAuthenticatorOptions{tokens_.get(), false},
                                    validate, nullptr, limits);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::ResourceService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  v1::ApplyRequest apply;
  apply.set_yaml(policy);
  v1::ApplyResponse applied;
  grpc::Status s = stub->Apply(As(kAlice).get(), apply, &applied);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(s.error_message(),
            "doc 1: NetworkPolicy/hipstershop/app-hipstershop.heavy would compile to about "
            "10800 rule boxes (rules x protocols x nets x ports), over the budget of 5000 "
            "(--api-max-policy-boxes): split it, or use network sets and port ranges");
  v1::ValidateRequest validate_request;
  validate_request.set_yaml(policy);
  v1::ValidateResponse validated;
  s = stub->Validate(As(kAlice).get(), validate_request, &validated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(compiles.load(), 0);
  EXPECT_EQ(Revision(), 1);
  server->Shutdown();
  // At the budget, or with none, it passes.
  EXPECT_TRUE(ctl::api::CheckCompileBudget(policy, "x", 10800).ok());
  EXPECT_TRUE(ctl::api::CheckCompileBudget(policy, "x", 0).ok());
  // Two documents under the budget each, over it together: the request's
  // total counts.
  uint64_t total = 0;
  EXPECT_TRUE(ctl::api::CheckCompileBudget(policy, "a", 20000, &total).ok());
  const absl::Status both = ctl::api::CheckCompileBudget(policy, "b", 20000, &total);
  EXPECT_EQ(both.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(both.message()),
              HasSubstr("with b the request would compile to about 21600 rule boxes"));
  // The shop's own policies are far under the default budget.
  for (const char* file : {"base/30-security.yaml", "base/40-platform.yaml",
                           "base/50-app-hipstershop.yaml", "healthy/51-app-frontend.yaml"}) {
    absl::StatusOr<std::vector<std::string>> docs = ctl::store::SplitDocuments(Example(file));
    ASSERT_TRUE(docs.ok()) << file;
    for (const std::string& doc : *docs) {
      EXPECT_LT(ctl::api::EstimatePolicyBoxes(doc), 100u) << file;
    }
  }
}

// Issue 11: Kubernetes v1 ServiceAccount documents apply through the API, as
// they load from files, so serviceAccountSelector can select by their labels
// in the running state; writing them is a right of its own (serviceaccounts).
TEST_F(ResourceServiceTest, ServiceAccountsApplyAndReachTheRunningState) {
  ApplyShop();
  const std::string sa =
      "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: cart\n  namespace: hipstershop\n"
      "  labels: {team: payments}\n";
  grpc::Status denied = Apply(kAlice, sa);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();
  EXPECT_THAT(denied.error_message(), HasSubstr("serviceaccounts"));

  v1::ApplyResponse response;
  grpc::Status s = Apply(kAdmin, sa, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.revision(), 2);

  v1::GetResponse got;
  s = GetAs(kAdmin, Ref("ServiceAccount", "hipstershop", "cart"), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(got.resource().yaml(), HasSubstr("team: payments"));

  // What the daemon publishes is parsed from the store's snapshot.
  auto snapshot = store_->CurrentSnapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ctl::model::ResourceSet resources;
  ASSERT_TRUE(ctl::model::ParseResources(snapshot->yaml, "store", &resources).ok());
  ASSERT_EQ(resources.service_accounts.size(), 1u);
  EXPECT_EQ(resources.service_accounts[0].labels.at("team"), "payments");
}

}  // namespace
}  // namespace tierwall::test
