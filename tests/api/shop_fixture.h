// Shared pieces of the API tests: tokens and RBAC, the hipstershop example,
// a compiled program, flow records and counters for the observe services.
// Header-only; each test binary includes it once.
#pragma once

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/api/observe_service.h"
#include "control/compiler/compiler.h"
#include "control/flowlog/flow_record.h"
#include "control/model/yaml_loader.h"
#include "control/store/store.h"
#include "tierwall/v1/resources.pb.h"

namespace tierwall::test::shop {

constexpr char kAdminToken[] = "admin-token-0123456789";
constexpr char kAliceToken[] = "alice-token-0123456789";
constexpr char kBobToken[] = "bob-token-0123456789";
constexpr char kCarolToken[] = "carol-token-0123456789";

// kubernetes-admin may do everything; alice edits tier app-hipstershop and
// reads counters and flows; bob reads counters and flows and may get every
// tier but security; carol is a known user with no bindings at all.
constexpr char kTokens[] = R"(
- token: admin-token-0123456789
  user: kubernetes-admin
  groups: [system-admins]
- token: alice-token-0123456789
  user: alice
  groups: [app-team]
- token: bob-token-0123456789
  user: bob
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
  - name: observer
    rules:
      - verbs: [get, list, watch]
        resources: [counters, flows]
  - name: tiers-but-security
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [app-hipstershop, platform, default]
  - name: admin
    rules:
      - verbs: ["*"]
        resources: ["*"]
bindings:
  - role: app-hipstershop-editor
    users: [alice]
  - role: observer
    users: [alice, bob]
  - role: tiers-but-security
    users: [bob]
  - role: admin
    users: [kubernetes-admin]
)";

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Example(const std::string& relative) {
  return ReadFile(std::filesystem::path(TIERWALL_SOURCE_ROOT) / "examples/hipstershop" / relative);
}

// Every base file plus the given frontend ("healthy" or "broken"), as one
// multi-document text.
inline std::string Shop(const std::string& frontend = "healthy") {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(TIERWALL_SOURCE_ROOT) / "examples/hipstershop/base")) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& f : files) out += ReadFile(f) + "\n---\n";
  return out + Example(frontend + "/51-app-frontend.yaml");
}

// The first document of a multi-document text.
inline std::string FirstDocument(const std::string& yaml) {
  return yaml.substr(0, yaml.find("\n---"));
}

// What the daemon plugs in as ResourceService's validate hook.
inline absl::Status CompileState(const std::string& yaml) {
  ctl::model::ResourceSet set;
  if (absl::Status s = ctl::model::ParseResources(yaml, "state", &set); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  auto program = ctl::compiler::Compile(set);
  if (!program.ok()) return absl::FailedPreconditionError(program.status().message());
  return absl::OkStatus();
}

inline absl::StatusOr<std::shared_ptr<const dp::classify::Program>> CompileProgram(
    const std::string& yaml, uint64_t generation) {
  ctl::model::ResourceSet set;
  if (absl::Status s = ctl::model::ParseResources(yaml, "state", &set); !s.ok()) return s;
  auto program = ctl::compiler::Compile(set);
  if (!program.ok()) return program.status();
  (*program)->generation = generation;
  return std::shared_ptr<const dp::classify::Program>(std::move(*program));
}

// Commits `yaml` (one or more documents) with `verb` as `user`.
inline absl::StatusOr<int64_t> Commit(ctl::store::Store* store, const std::string& user,
                                      const std::string& yaml,
                                      ctl::store::Verb verb = ctl::store::Verb::kApply) {
  absl::StatusOr<std::vector<std::string>> docs = ctl::store::SplitDocuments(yaml);
  if (!docs.ok()) return docs.status();
  ctl::store::Change change;
  change.user = user;
  for (std::string& d : *docs) {
    change.mutations.push_back(ctl::store::Mutation{verb, std::move(d), std::nullopt, {}});
  }
  return store->Commit(change);
}

inline tierwall::v1::ResourceRef Ref(const std::string& kind, const std::string& ns,
                                     const std::string& name) {
  tierwall::v1::ResourceRef ref;
  ref.set_kind(kind);
  ref.set_namespace_(ns);
  ref.set_name(name);
  return ref;
}

inline int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// A workload-to-workload record in namespace hipstershop, ending now.
inline ctl::flowlog::FlowRecord Record(const std::string& src, const std::string& src_ip,
                                       const std::string& dst, const std::string& dst_ip, int port,
                                       const std::string& action, const std::string& reporter,
                                       std::vector<std::string> enforced) {
  ctl::flowlog::FlowRecord r;
  r.start_time = Now() - 10;
  r.end_time = Now();
  r.source_ip = src_ip;
  r.source_name = src;
  r.source_name_aggr = src;
  r.source_namespace = "hipstershop";
  r.source_labels = {{"app", src}};
  r.source_type = "wep";
  r.dest_ip = dst_ip;
  r.dest_name = dst;
  r.dest_name_aggr = dst;
  r.dest_namespace = "hipstershop";
  r.dest_labels = {{"app", dst}};
  r.dest_type = "wep";
  r.dest_port = port;
  r.proto = "tcp";
  r.action = action;
  r.reporter = reporter;
  r.enforced_policies = std::move(enforced);
  r.pending_policies = r.enforced_policies;
  r.num_flows = 3;
  r.num_flows_started = 3;
  r.num_flows_completed = 3;
  r.packets_in = action == "allow" ? 30 : 0;
  r.packets_out = 9;
  r.bytes_in = action == "allow" ? 3000 : 0;
  r.bytes_out = 540;
  return r;
}

// The broken shop's traffic: the load generator is denied at the frontend,
// the frontend reaches the cart, the checkout reaches the catalog.
inline std::vector<ctl::flowlog::FlowRecord> ShopRecords() {
  return {
      Record("loadgenerator", "198.18.1.10", "frontend", "198.18.1.11", 8080, "deny", "dst",
             {"0|security|security.block-threat-feed|pass|-1",
              "1|platform|platform.allow-kube-dns|pass|-1",
              "2|app-hipstershop|hipstershop/app-hipstershop.frontend|deny|-1"}),
      Record("frontend", "198.18.1.11", "cartservice", "198.18.1.12", 7070, "allow", "dst",
             {"0|app-hipstershop|hipstershop/app-hipstershop.cartservice|allow|0"}),
      Record("checkoutservice", "198.18.1.14", "productcatalogservice", "198.18.1.15", 3550,
             "allow", "src", {"0|platform|platform.default-allow|allow|0"}),
  };
}

// Rule counters across tiers and namespaces, one of them staged.
inline ctl::api::CountersData ShopCounters() {
  ctl::api::CountersData data;
  data.generation = 7;
  auto rule = [](uint32_t slot, std::string tier, std::string policy, bool staged, bool ingress,
                 int32_t index, std::string action, uint64_t packets) {
    ctl::api::RuleCounterData r;
    r.slot = slot;
    r.tier = std::move(tier);
    r.policy = std::move(policy);
    r.staged = staged;
    r.ingress = ingress;
    r.rule_index = index;
    r.action = std::move(action);
    r.packets = packets;
    r.bytes = packets * 100;
    return r;
  };
  data.rules = {
      rule(1, "security", "security.block-threat-feed", false, true, 0, "deny", 5),
      rule(2, "security", "security.allow-dns", false, false, 0, "allow", 40),
      rule(3, "platform", "platform.allow-kube-dns", false, true, 0, "allow", 12),
      rule(4, "app-hipstershop", "hipstershop/app-hipstershop.frontend", false, true, -1, "deny",
           9),
      rule(5, "app-hipstershop", "hipstershop/app-hipstershop.cartservice", false, true, 0, "allow",
           30),
      rule(6, "app-hipstershop", "hipstershop/app-hipstershop.staged:cartservice", true, true, -1,
           "deny", 4),
      rule(7, "default", "kube-system/knp.default.allow-dns", false, true, 0, "allow", 2),
  };
  data.drops = {{"policy_deny", 9}};
  data.received = 100;
  data.forwarded = 91;
  data.dropped = 9;
  data.active_flows = 3;
  return data;
}

}  // namespace tierwall::test::shop
