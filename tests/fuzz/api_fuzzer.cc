// libFuzzer target for the API request handlers (control/api ResourceService).
//
// Debian 12 packages no libprotobuf-mutator, so this target mutates bytes and
// parses them as serialized request protos. An input is a sequence of calls
// separated by kSeparator; each call is
//     <method byte> <caller byte> <serialized request of that method>
// and runs, in order, against a fresh store (on /dev/shm): the service's
// handler is called in-process with a ServerContext carrying the caller's
// bearer-token metadata (grpc's ServerContextTestSpouse; no transport, whose
// thread hand-offs would cost more than the handler), with the tiered RBAC and
// the model + compiler as the validate hook, as in tierwalld. The context has
// no peer address, which the service treats as local (like its Unix socket).
// A request that does not parse as its method's proto is skipped.
//
// Besides crashes, it checks the access rules the service promises:
//   - a call with an unknown token or by a user with no bindings never
//     changes the store;
//   - alice (editor of tier app-hipstershop in namespace hipstershop) only
//     ever changes (Staged)NetworkPolicies hipstershop/app-hipstershop.* whose
//     old and new versions are both in tier app-hipstershop;
//   - the audit hash chain always verifies.
// A broken rule aborts, so libFuzzer keeps the input.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "control/api/resource_service.h"
#include "control/auth/identity.h"
#include "control/auth/rbac.h"
#include "control/compiler/compiler.h"
#include "control/model/yaml_loader.h"
#include "control/store/store.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/test/server_context_test_spouse.h"

namespace {

namespace v1 = ::tierwall::v1;
namespace ctl = ::tierwall::ctl;

constexpr std::string_view kSeparator = "|TWCALL|";
constexpr int kMaxCalls = 8;

constexpr char kTokens[] = R"(
- token: admin-token-0123456789
  user: kubernetes-admin
  groups: [system-admins]
- token: alice-token-0123456789
  user: alice
  groups: [app-team]
- token: carol-token-0123456789
  user: carol
)";

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

// Caller byte % 5: the local admin socket (no token), the admin, alice, carol
// (known, no bindings), an unknown token.
enum class Caller { kLocal, kAdmin, kAlice, kCarol, kUnknown, kCount };
constexpr const char* kCallerTokens[] = {"", "admin-token-0123456789", "alice-token-0123456789",
                                         "carol-token-0123456789", "nobody-token-0123456789"};

absl::Status CompileState(const std::string& yaml) {
  ctl::model::ResourceSet set;
  if (absl::Status s = ctl::model::ParseResources(yaml, "state", &set); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  auto program = ctl::compiler::Compile(set);
  if (!program.ok()) return absl::FailedPreconditionError(program.status().message());
  return absl::OkStatus();
}

struct World {
  std::unique_ptr<ctl::auth::Authorizer> authorizer;
  std::unique_ptr<ctl::auth::TokenAuthenticator> tokens;
  std::string dir;  // per process; each input's store is created and removed here
};

World* TheWorld() {
  static World* world = [] {
    auto* w = new World;
    auto authorizer = ctl::auth::Authorizer::FromYaml(kRbac, "rbac.yaml");
    auto tokens = ctl::auth::TokenAuthenticator::FromYaml(kTokens, "tokens.yaml");
    if (!authorizer.ok() || !tokens.ok()) std::abort();
    w->authorizer = std::move(*authorizer);
    w->tokens = std::move(*tokens);
    // tmpfs: the store syncs every commit (synchronous=FULL).
    w->dir = "/dev/shm/tw_api_fuzz." + std::to_string(getpid());
    return w;
  }();
  return world;
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "api_fuzzer: %s\n", what.c_str());
  std::abort();
}

using Snapshot = std::map<std::string, std::string>;  // identity -> canonical YAML

Snapshot Live(ctl::store::Store* store) {
  auto all = store->List();
  if (!all.ok()) Fail("List failed: " + std::string(all.status().message()));
  Snapshot s;
  for (const auto& r : *all) s[r.identity.ToString()] = r.yaml;
  return s;
}

// What alice may touch: hipstershop/app-hipstershop.* policies in tier
// app-hipstershop (store identities are "Kind/namespace/name").
bool AliceMayTouch(const std::string& identity, const std::string& yaml) {
  const bool kind_ok =
      absl::StartsWith(identity, "NetworkPolicy/hipstershop/app-hipstershop.") ||
      absl::StartsWith(identity, "StagedNetworkPolicy/hipstershop/app-hipstershop.");
  return kind_ok && (yaml.empty() || absl::StrContains(yaml, "\n  tier: app-hipstershop\n"));
}

void CheckAliceChanges(const Snapshot& before, const Snapshot& after, const std::string& call) {
  auto check = [&](const std::string& id, const std::string& old_yaml,
                   const std::string& new_yaml) {
    if (old_yaml == new_yaml) return;
    if (!AliceMayTouch(id, old_yaml) || !AliceMayTouch(id, new_yaml)) {
      Fail("alice changed " + id + " through " + call + "\n--- before\n" + old_yaml +
           "\n--- after\n" + new_yaml);
    }
  };
  for (const auto& [id, yaml] : before) {
    auto it = after.find(id);
    check(id, yaml, it == after.end() ? "" : it->second);
  }
  for (const auto& [id, yaml] : after) {
    if (!before.count(id)) check(id, "", yaml);
  }
}

using Service = ctl::api::ResourceService;

template <typename Request, typename Response>
grpc::Status Call(Service* service,
                  grpc::Status (Service::*method)(grpc::ServerContext*, const Request*, Response*),
                  std::string_view payload, Caller caller, bool* parsed) {
  Request request;
  *parsed = request.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
  if (!*parsed) return grpc::Status::OK;
  grpc::ServerContext context;
  grpc::testing::ServerContextTestSpouse spouse(&context);
  const char* token = kCallerTokens[static_cast<int>(caller)];
  if (*token) spouse.AddClientMetadata("authorization", std::string("Bearer ") + token);
  Response response;
  return (service->*method)(&context, &request, &response);
}

grpc::Status Dispatch(Service* service, uint8_t method, std::string_view payload, Caller caller,
                      bool* parsed) {
  switch (method % 13) {
    case 0: return Call(service, &Service::Apply, payload, caller, parsed);
    case 1: return Call(service, &Service::Create, payload, caller, parsed);
    case 2: return Call(service, &Service::Replace, payload, caller, parsed);
    case 3: return Call(service, &Service::Delete, payload, caller, parsed);
    case 4: return Call(service, &Service::Get, payload, caller, parsed);
    case 5: return Call(service, &Service::List, payload, caller, parsed);
    case 6: return Call(service, &Service::Validate, payload, caller, parsed);
    case 7: return Call(service, &Service::History, payload, caller, parsed);
    case 8: return Call(service, &Service::Diff, payload, caller, parsed);
    case 9: return Call(service, &Service::Rollback, payload, caller, parsed);
    case 10: return Call(service, &Service::Stage, payload, caller, parsed);
    case 11: return Call(service, &Service::Enforce, payload, caller, parsed);
    default: return Call(service, &Service::VerifyAudit, payload, caller, parsed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World* world = TheWorld();
  std::filesystem::remove_all(world->dir);
  {
    auto store = ctl::store::Store::Open(world->dir);
    if (!store.ok()) Fail("cannot open the store: " + std::string(store.status().message()));
    ctl::api::ResourceService service(
        store->get(), world->authorizer.get(),
        ctl::api::CallAuthenticatorOptions{world->tokens.get(), /*local_admin_socket=*/true},
        CompileState, nullptr);

    std::string_view input(reinterpret_cast<const char*>(data), size);
    for (int n = 0; n < kMaxCalls && input.size() >= 2; ++n) {
      const size_t end = input.find(kSeparator);
      std::string_view call = input.substr(0, end);
      input = end == std::string_view::npos ? std::string_view()
                                            : input.substr(end + kSeparator.size());
      if (call.size() < 2) continue;
      const uint8_t method = static_cast<uint8_t>(call[0]);
      const auto caller =
          static_cast<Caller>(static_cast<uint8_t>(call[1]) % static_cast<int>(Caller::kCount));
      const Snapshot before = Live(store->get());
      bool parsed = false;
      grpc::Status status = Dispatch(&service, method, call.substr(2), caller, &parsed);
      if (!parsed) continue;
      const Snapshot after = Live(store->get());
      const std::string what =
          "method " + std::to_string(method % 13) + " (" + status.error_message() + ")";
      if ((caller == Caller::kCarol || caller == Caller::kUnknown) && before != after) {
        Fail("a caller with no rights changed the store through " + what);
      }
      if (caller == Caller::kAlice) CheckAliceChanges(before, after, what);
      if (absl::Status audit = (*store)->VerifyAudit(); !audit.ok()) {
        Fail("audit chain broken after " + what + ": " + std::string(audit.message()));
      }
    }
  }
  std::filesystem::remove_all(world->dir);
  return 0;
}
