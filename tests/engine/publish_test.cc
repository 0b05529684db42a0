// "Acknowledged means enforced", at the service level: ResourceService wired
// to the daemon's Publisher as tierwalld wires them (validate = Publisher::
// Validate, on_commit = publish the store's state), with a real store, a real
// ProgramSlot and a small counter-slot capacity standing in for the 65,536 of
// the dataplane.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/api/resource_service.h"
#include "control/model/yaml_loader.h"
#include "control/tierwalld/publisher.h"
#include "dataplane/engine/program_slot.h"
#include "grpcpp/grpcpp.h"

namespace tierwall::ctl::daemon {
namespace {

namespace v1 = ::tierwall::v1;

constexpr char kTokens[] = R"(
- token: admin-token-0123456789
  user: kubernetes-admin
)";
constexpr char kRbac[] = R"(
roles:
  - name: admin
    rules:
      - verbs: ["*"]
        resources: ["*"]
bindings:
  - role: admin
    users: [kubernetes-admin]
)";

constexpr char kEndpoints[] = R"(
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: client, namespace: ns}
spec: {pod: client, ipNetworks: [198.18.0.1/32]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: web, namespace: ns}
spec: {pod: web, ipNetworks: [198.18.0.2/32]}
)";

// A policy `name` with `rules` Allow rules (distinct ports, none of them 80).
std::string Policy(const std::string& name, int rules) {
  std::string yaml =
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " + name +
      "}\nspec:\n  order: 10\n  selector: all()\n  ingress:\n";
  for (int r = 0; r < rules; ++r) {
    yaml += "    - {action: Allow, protocol: TCP, destination: {ports: [" +
            std::to_string(1000 + r) + "]}}\n";
  }
  return yaml;
}

constexpr char kDenyWeb[] = R"(
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-web}
spec:
  order: 1
  selector: all()
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [80]}}]
)";

class PublishTest : public ::testing::Test {
 protected:
  // 64 slots: a few apply/delete cycles of a 10-rule policy use them up
  // unless the slots of deleted rules are reused.
  static constexpr uint32_t kCapacity = 64;

  void SetUp() override {
    char tmpl[] = "/tmp/tw_publish_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = store::Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto authorizer = auth::Authorizer::FromYaml(kRbac, "rbac.yaml");
    ASSERT_TRUE(authorizer.ok()) << authorizer.status();
    authorizer_ = std::move(*authorizer);
    auto tokens = auth::TokenAuthenticator::FromYaml(kTokens, "tokens.yaml");
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = std::move(*tokens);

    slots_ = std::make_unique<CounterSlots>(kCapacity);
    program_slot_ = std::make_unique<dp::engine::ProgramSlot>(1);
    publisher_ = std::make_unique<Publisher>(
        slots_.get(),
        [this](std::unique_ptr<dp::classify::Program> p) { program_slot_->Publish(std::move(p)); });
    ASSERT_TRUE(publisher_->Publish(LoadYaml("", "empty")).ok());
    // As tierwalld's main.cc wires them.
    service_ = std::make_unique<api::ResourceService>(
        store_.get(), authorizer_.get(), api::CallAuthenticatorOptions{tokens_.get(), false},
        [this](const std::string& yaml) { return publisher_->Validate(yaml); },
        [this](int64_t, std::chrono::steady_clock::time_point) -> absl::StatusOr<uint64_t> {
          return publisher_->Publish([this](model::ResourceSet* out) -> absl::Status {
            auto snapshot = store_->CurrentSnapshot();
            if (!snapshot.ok()) return snapshot.status();
            return model::ParseResources(snapshot->yaml, "store", out);
          });
        });
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::ResourceService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  grpc::Status Apply(const std::string& yaml, v1::ApplyResponse* response) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer admin-token-0123456789");
    v1::ApplyRequest request;
    request.set_yaml(yaml);
    return stub_->Apply(&context, request, response);
  }
  grpc::Status Delete(const std::string& yaml) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer admin-token-0123456789");
    v1::DeleteRequest request;
    request.set_yaml(yaml);
    v1::DeleteResponse response;
    return stub_->Delete(&context, request, &response);
  }

  // What the running program does with client -> web:80/TCP.
  dp::classify::RuleAction Verdict() {
    dp::classify::PacketKey k;
    k.src = dp::classify::IpAddr::V4(0xc6120001u);
    k.dst = dp::classify::IpAddr::V4(0xc6120002u);
    k.proto = 6;
    k.src_port = 40000;
    k.dst_port = 80;
    dp::classify::PacketVerdict v;
    program_slot_->Current()->Evaluate(k, &v);
    return v.verdict;
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<auth::TokenAuthenticator> tokens_;
  std::unique_ptr<CounterSlots> slots_;
  std::unique_ptr<dp::engine::ProgramSlot> program_slot_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<api::ResourceService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ResourceService::Stub> stub_;
};

TEST_F(PublishTest, ANewDenyRuleIsEnforcedAfterManyApplyDeleteCycles) {
  v1::ApplyResponse response;
  ASSERT_TRUE(Apply(kEndpoints, &response).ok());
  ASSERT_EQ(Verdict(), dp::classify::RuleAction::kAllow);  // the namespace profile allows
  for (int i = 0; i < 30; ++i) {
    const std::string policy = Policy(absl::StrCat("churn-", i), 10);
    grpc::Status s = Apply(policy, &response);
    ASSERT_TRUE(s.ok()) << "cycle " << i << ": " << s.error_message();
    EXPECT_EQ(response.program_generation(), publisher_->generation());
    s = Delete(policy);
    ASSERT_TRUE(s.ok()) << "cycle " << i << ": " << s.error_message();
  }
  grpc::Status s = Apply(kDenyWeb, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_NE(response.program_generation(), 0u);
  EXPECT_EQ(response.program_generation(), publisher_->generation());
  EXPECT_EQ(program_slot_->Current()->generation, response.program_generation());
  EXPECT_EQ(Verdict(), dp::classify::RuleAction::kDeny);
}

TEST_F(PublishTest, ApplyIsRefusedWithResourceExhaustedInsteadOfAcknowledgedUnenforced) {
  v1::ApplyResponse response;
  ASSERT_TRUE(Apply(kEndpoints, &response).ok());
  auto before = store_->CurrentRevision();
  ASSERT_TRUE(before.ok());
  const uint64_t generation = publisher_->generation();
  // 40 rules need 80 slots and more: more than the limit holds.
  grpc::Status s = Apply(Policy("too-big", 40), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("limit 64"), std::string::npos) << s.error_message();
  // Refused before the commit: nothing stored, nothing published.
  auto after = store_->CurrentRevision();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  EXPECT_EQ(publisher_->generation(), generation);
  // What fits is still accepted and enforced.
  s = Apply(kDenyWeb, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Verdict(), dp::classify::RuleAction::kDeny);
}

TEST_F(PublishTest, ARevisionThatCannotBePublishedIsNeverAcknowledged) {
  v1::ApplyResponse response;
  ASSERT_TRUE(Apply(kEndpoints, &response).ok());
  // Slots vanish between validation and publication (what a second writer of
  // the slots, or a bug, would do): the RPC must not say OK.
  CounterSlots tiny(2);
  Publisher broken(&tiny, [](std::unique_ptr<dp::classify::Program>) {});
  api::ResourceService service(
      store_.get(), authorizer_.get(), api::CallAuthenticatorOptions{tokens_.get(), false},
      [this](const std::string& yaml) { return publisher_->Validate(yaml); },
      [&](int64_t, std::chrono::steady_clock::time_point) -> absl::StatusOr<uint64_t> {
        return broken.Publish([this](model::ResourceSet* out) -> absl::Status {
          auto snapshot = store_->CurrentSnapshot();
          if (!snapshot.ok()) return snapshot.status();
          return model::ParseResources(snapshot->yaml, "store", out);
        });
      });
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  auto stub = v1::ResourceService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer admin-token-0123456789");
  v1::ApplyRequest request;
  request.set_yaml(kDenyWeb);
  grpc::Status s = stub->Apply(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("is stored but not enforced"), std::string::npos)
      << s.error_message();
  server->Shutdown();
}

}  // namespace
}  // namespace tierwall::ctl::daemon
