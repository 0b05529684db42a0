// Identity and access: tokens, certificate identities, the RBAC file and the
// access matrix. Expected reasons are written out literally: the matrix is the
// specification of who may do what, not a restatement of the matcher.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "control/auth/certificate.h"
#include "control/auth/identity.h"
#include "control/auth/rbac.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"

namespace tierwall::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace tierwall::ctl::auth;  // NOLINT: the whole API is under test

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/auth_test_" + name;
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return path;
}

// ---------------------------------------------------------------------------
// The access matrix
// ---------------------------------------------------------------------------

constexpr char kMatrixRbac[] = R"(
roles:
  - name: admin
    rules:
      - verbs: ["*"]
        resources: ["*"]
  - name: tier-app-editor
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [app]
      - verbs: [get, list, create, update, delete]
        resources: [networkpolicies]
        resourceNames: ["app.*"]
  - name: viewer
    rules:
      - verbs: [get, list]
        resources: ["*"]
  - name: tier-security-viewer
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [security]
      - verbs: [get, list]
        resources: [networkpolicies, globalnetworkpolicies]
        resourceNames: ["security.*"]
  - name: hipstershop-app-editor
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [app]
      - verbs: [get, list, create, update, delete]
        resources: [networkpolicies]
        resourceNames: ["app.*"]
        namespaces: [hipstershop]
  - name: tier-security-editor
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [security]
      - verbs: ["*"]
        resources: [globalnetworkpolicies, stagedglobalnetworkpolicies]
        resourceNames: ["security.*"]
bindings:
  - role: admin
    users: [admin]
  - role: tier-app-editor
    users: [alice]
  - role: viewer
    users: [victor]
  - role: tier-security-viewer
    users: [sam]
  - role: hipstershop-app-editor
    users: [nina]
  - role: tier-security-editor
    groups: [netops]
)";

struct MatrixTarget {
  const char* id;
  Target target;
  // How a denial names it, written out by hand.
  const char* what;
};

// Single resources: get, create, update, delete.
const std::vector<MatrixTarget>& ItemTargets() {
  static const auto* targets = new std::vector<MatrixTarget>{
      {"tier/app", {Resource::kTiers, "", "app", ""}, R"(tiers "app")"},
      {"tier/security", {Resource::kTiers, "", "security", ""}, R"(tiers "security")"},
      {"tier/default", {Resource::kTiers, "default", "", ""}, R"(tiers "default")"},
      {"np/app.frontend@hipstershop",
       {Resource::kNetworkPolicies, "app", "frontend", "hipstershop"},
       R"(networkpolicies "app.frontend" in tier "app" in namespace "hipstershop")"},
      {"np/app.frontend@default",
       {Resource::kNetworkPolicies, "app", "app.frontend", "default"},
       R"(networkpolicies "app.frontend" in tier "app" in namespace "default")"},
      {"np/security.block@hipstershop",
       {Resource::kNetworkPolicies, "security", "block", "hipstershop"},
       R"(networkpolicies "security.block" in tier "security" in namespace "hipstershop")"},
      {"gnp/app.allow-dns",
       {Resource::kGlobalNetworkPolicies, "app", "allow-dns", ""},
       R"(globalnetworkpolicies "app.allow-dns" in tier "app")"},
      {"gnp/security.block-threat-feed",
       {Resource::kGlobalNetworkPolicies, "security", "block-threat-feed", ""},
       R"(globalnetworkpolicies "security.block-threat-feed" in tier "security")"},
      {"snp/app.frontend@hipstershop",
       {Resource::kStagedNetworkPolicies, "app", "frontend", "hipstershop"},
       R"(stagednetworkpolicies "app.frontend" in tier "app" in namespace "hipstershop")"},
      {"sgnp/security.block",
       {Resource::kStagedGlobalNetworkPolicies, "security", "block", ""},
       R"(stagedglobalnetworkpolicies "security.block" in tier "security")"},
      {"knp/allow-web@hipstershop",
       {Resource::kKubernetesNetworkPolicies, "", "allow-web", "hipstershop"},
       R"(kubernetesnetworkpolicies "allow-web" in namespace "hipstershop")"},
      {"sknp/allow-web@hipstershop",
       {Resource::kStagedKubernetesNetworkPolicies, "", "allow-web", "hipstershop"},
       R"(stagedkubernetesnetworkpolicies "allow-web" in namespace "hipstershop")"},
      {"netset/ns1@hipstershop",
       {Resource::kNetworkSets, "", "ns1", "hipstershop"},
       R"(networksets "ns1" in namespace "hipstershop")"},
      {"gns/threat-feed",
       {Resource::kGlobalNetworkSets, "", "threat-feed", ""},
       R"(globalnetworksets "threat-feed")"},
      {"wep/frontend@hipstershop",
       {Resource::kWorkloadEndpoints, "", "node1-k8s-frontend-eth0", "hipstershop"},
       R"(workloadendpoints "node1-k8s-frontend-eth0" in namespace "hipstershop")"},
      {"hep/node1-eth0",
       {Resource::kHostEndpoints, "", "node1-eth0", ""},
       R"(hostendpoints "node1-eth0")"},
      {"profile/kns.hipstershop",
       {Resource::kProfiles, "", "kns.hipstershop", ""},
       R"(profiles "kns.hipstershop")"},
      {"namespace/hipstershop",
       {Resource::kNamespaces, "", "hipstershop", ""},
       R"(namespaces "hipstershop")"},
  };
  return *targets;
}

// Collections: list, watch.
const std::vector<MatrixTarget>& CollectionTargets() {
  static const auto* targets = new std::vector<MatrixTarget>{
      {"tiers", {Resource::kTiers, "", "", ""}, "tiers"},
      {"np in app@hipstershop",
       {Resource::kNetworkPolicies, "app", "", "hipstershop"},
       R"(networkpolicies in tier "app" in namespace "hipstershop")"},
      {"np in app@*",
       {Resource::kNetworkPolicies, "app", "", ""},
       R"(networkpolicies in tier "app")"},
      {"np in security@hipstershop",
       {Resource::kNetworkPolicies, "security", "", "hipstershop"},
       R"(networkpolicies in tier "security" in namespace "hipstershop")"},
      {"gnp in app",
       {Resource::kGlobalNetworkPolicies, "app", "", ""},
       R"(globalnetworkpolicies in tier "app")"},
      {"gnp in security",
       {Resource::kGlobalNetworkPolicies, "security", "", ""},
       R"(globalnetworkpolicies in tier "security")"},
      {"snp in app@hipstershop",
       {Resource::kStagedNetworkPolicies, "app", "", "hipstershop"},
       R"(stagednetworkpolicies in tier "app" in namespace "hipstershop")"},
      {"sgnp in security",
       {Resource::kStagedGlobalNetworkPolicies, "security", "", ""},
       R"(stagedglobalnetworkpolicies in tier "security")"},
      {"knp@hipstershop",
       {Resource::kKubernetesNetworkPolicies, "", "", "hipstershop"},
       R"(kubernetesnetworkpolicies in namespace "hipstershop")"},
      {"sknp@hipstershop",
       {Resource::kStagedKubernetesNetworkPolicies, "", "", "hipstershop"},
       R"(stagedkubernetesnetworkpolicies in namespace "hipstershop")"},
      {"netsets@*", {Resource::kNetworkSets, "", "", ""}, "networksets"},
      {"gnsets", {Resource::kGlobalNetworkSets, "", "", ""}, "globalnetworksets"},
      {"weps@hipstershop",
       {Resource::kWorkloadEndpoints, "", "", "hipstershop"},
       R"(workloadendpoints in namespace "hipstershop")"},
      {"heps", {Resource::kHostEndpoints, "", "", ""}, "hostendpoints"},
      {"profiles", {Resource::kProfiles, "", "", ""}, "profiles"},
      {"namespaces", {Resource::kNamespaces, "", "", ""}, "namespaces"},
      {"counters", {Resource::kCounters, "", "", ""}, "counters"},
      {"flows@hipstershop",
       {Resource::kFlows, "", "", "hipstershop"},
       R"(flows in namespace "hipstershop")"},
      {"audit", {Resource::kAudit, "", "", ""}, "audit"},
  };
  return *targets;
}

struct MatrixUser {
  Identity identity;
  bool everything = false;        // admin
  bool every_read = false;        // viewer: get and list on all
  std::set<std::string> allowed;  // "<verb> <target id>"
};

std::vector<MatrixUser> MatrixUsers() {
  return {
      {{"admin", {}}, true, false, {}},
      {{"victor", {"viewers"}}, false, true, {}},
      {{"alice", {"app-team"}},
       false,
       false,
       {"get tier/app", "get np/app.frontend@hipstershop", "create np/app.frontend@hipstershop",
        "update np/app.frontend@hipstershop", "delete np/app.frontend@hipstershop",
        "get np/app.frontend@default", "create np/app.frontend@default",
        "update np/app.frontend@default", "delete np/app.frontend@default",
        "list np in app@hipstershop", "list np in app@*"}},
      {{"sam", {}},
       false,
       false,
       {"get tier/security", "get np/security.block@hipstershop",
        "get gnp/security.block-threat-feed", "list np in security@hipstershop",
        "list gnp in security"}},
      {{"nina", {}},
       false,
       false,
       {"get tier/app", "get np/app.frontend@hipstershop", "create np/app.frontend@hipstershop",
        "update np/app.frontend@hipstershop", "delete np/app.frontend@hipstershop",
        "list np in app@hipstershop"}},
      // Allowed only through the group binding.
      {{"gary", {"netops", "unrelated"}},
       false,
       false,
       {"get tier/security", "get gnp/security.block-threat-feed",
        "create gnp/security.block-threat-feed", "update gnp/security.block-threat-feed",
        "delete gnp/security.block-threat-feed", "get sgnp/security.block",
        "create sgnp/security.block", "update sgnp/security.block", "delete sgnp/security.block",
        "list gnp in security", "watch gnp in security", "list sgnp in security",
        "watch sgnp in security"}},
      {{"mallory", {"nobody"}}, false, false, {}},
  };
}

class AccessMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Authorizer>> a =
        Authorizer::FromYaml(kMatrixRbac, "matrix.yaml");
    ASSERT_TRUE(a.ok()) << a.status();
    authz_ = *std::move(a);
  }

  // Checks every verb of `verbs` on every target for every user; returns the
  // number of cells checked.
  int RunMatrix(const std::vector<MatrixTarget>& targets, const std::vector<Verb>& verbs) {
    int cells = 0;
    for (const MatrixUser& u : MatrixUsers()) {
      for (const MatrixTarget& t : targets) {
        for (Verb v : verbs) {
          ++cells;
          const std::string cell = absl::StrCat(std::string(VerbName(v)), " ", t.id);
          const bool want = u.everything ||
                            (u.every_read && (v == Verb::kGet || v == Verb::kList)) ||
                            u.allowed.contains(cell);
          const absl::Status got = authz_->Check(u.identity, Request::Of(v, t.target));
          SCOPED_TRACE(absl::StrCat(u.identity.user, ": ", cell));
          if (want) {
            EXPECT_TRUE(got.ok()) << got;
          } else {
            EXPECT_EQ(got.code(), absl::StatusCode::kPermissionDenied) << got;
            EXPECT_EQ(std::string(got.message()),
                      absl::StrCat("user \"", u.identity.user, "\" cannot ",
                                   std::string(VerbName(v)), " ", t.what));
          }
        }
      }
    }
    return cells;
  }

  std::unique_ptr<Authorizer> authz_;
};

TEST_F(AccessMatrixTest, SingleResources) {
  EXPECT_EQ(RunMatrix(ItemTargets(), {Verb::kGet, Verb::kCreate, Verb::kUpdate, Verb::kDelete}),
            7 * 18 * 4);
}

TEST_F(AccessMatrixTest, Collections) {
  EXPECT_EQ(RunMatrix(CollectionTargets(), {Verb::kList, Verb::kWatch}), 7 * 19 * 2);
}

// Every allowed cell names a real cell, so a typo cannot make a grant vanish
// from the matrix unnoticed.
TEST_F(AccessMatrixTest, AllowedCellsExist) {
  std::set<std::string> cells;
  for (const MatrixTarget& t : ItemTargets()) {
    for (const char* v : {"get", "create", "update", "delete"})
      cells.insert(absl::StrCat(v, " ", t.id));
  }
  for (const MatrixTarget& t : CollectionTargets()) {
    for (const char* v : {"list", "watch"}) cells.insert(absl::StrCat(v, " ", t.id));
  }
  for (const MatrixUser& u : MatrixUsers()) {
    for (const std::string& c : u.allowed)
      EXPECT_TRUE(cells.contains(c)) << u.identity.user << ": " << c;
  }
}

// ---------------------------------------------------------------------------
// API operations -> verbs
// ---------------------------------------------------------------------------

TEST(OperationsTest, MappingTable) {
  const Target np{Resource::kNetworkPolicies, "app", "frontend", "hipstershop"};
  const Target snp{Resource::kStagedNetworkPolicies, "app", "frontend", "hipstershop"};
  struct Row {
    Operation op;
    bool exists;
    Target target;
    std::vector<std::pair<Verb, Resource>> want;
  };
  const std::vector<Row> rows = {
      {Operation::kApply, true, np, {{Verb::kUpdate, Resource::kNetworkPolicies}}},
      {Operation::kApply, false, np, {{Verb::kCreate, Resource::kNetworkPolicies}}},
      {Operation::kValidate, true, np, {{Verb::kUpdate, Resource::kNetworkPolicies}}},
      {Operation::kValidate, false, np, {{Verb::kCreate, Resource::kNetworkPolicies}}},
      {Operation::kCreate, false, np, {{Verb::kCreate, Resource::kNetworkPolicies}}},
      {Operation::kCreate, true, np, {{Verb::kCreate, Resource::kNetworkPolicies}}},
      {Operation::kReplace, true, np, {{Verb::kUpdate, Resource::kNetworkPolicies}}},
      {Operation::kReplace, false, np, {{Verb::kUpdate, Resource::kNetworkPolicies}}},
      {Operation::kDelete, true, np, {{Verb::kDelete, Resource::kNetworkPolicies}}},
      {Operation::kGet, true, np, {{Verb::kGet, Resource::kNetworkPolicies}}},
      {Operation::kList, true, np, {{Verb::kList, Resource::kNetworkPolicies}}},
      {Operation::kWatch, true, np, {{Verb::kWatch, Resource::kNetworkPolicies}}},
      {Operation::kHistory, false, np, {{Verb::kGet, Resource::kNetworkPolicies}}},
      {Operation::kDiff, true, np, {{Verb::kGet, Resource::kNetworkPolicies}}},
      {Operation::kRollback, true, np, {{Verb::kUpdate, Resource::kNetworkPolicies}}},
      {Operation::kRollback, false, np, {{Verb::kCreate, Resource::kNetworkPolicies}}},
      {Operation::kStage, true, snp, {{Verb::kUpdate, Resource::kStagedNetworkPolicies}}},
      {Operation::kStage, false, snp, {{Verb::kCreate, Resource::kStagedNetworkPolicies}}},
      {Operation::kEnforce,
       true,
       snp,
       {{Verb::kGet, Resource::kStagedNetworkPolicies},
        {Verb::kUpdate, Resource::kNetworkPolicies}}},
      {Operation::kEnforce,
       false,
       snp,
       {{Verb::kGet, Resource::kStagedNetworkPolicies},
        {Verb::kCreate, Resource::kNetworkPolicies}}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(
        absl::StrCat(std::string(OperationName(row.op)), row.exists ? " (exists)" : " (new)"));
    absl::StatusOr<std::vector<Request>> got = RequestsFor(row.op, row.target, row.exists);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), row.want.size());
    for (size_t i = 0; i < got->size(); ++i) {
      EXPECT_EQ((*got)[i].verb, row.want[i].first) << i;
      EXPECT_EQ((*got)[i].resource, row.want[i].second) << i;
      EXPECT_EQ((*got)[i].tier, "app");
      EXPECT_EQ((*got)[i].name, "frontend");
      EXPECT_EQ((*got)[i].namespace_name, "hipstershop");
    }
  }
  // The other staged kinds enforce into their own enforced kinds.
  auto sgnp = RequestsFor(Operation::kEnforce,
                          {Resource::kStagedGlobalNetworkPolicies, "security", "x", ""}, true);
  ASSERT_TRUE(sgnp.ok());
  EXPECT_EQ((*sgnp)[1].resource, Resource::kGlobalNetworkPolicies);
  auto sknp = RequestsFor(Operation::kEnforce,
                          {Resource::kStagedKubernetesNetworkPolicies, "", "x", "ns"}, false);
  ASSERT_TRUE(sknp.ok());
  EXPECT_EQ((*sknp)[1].resource, Resource::kKubernetesNetworkPolicies);
  EXPECT_EQ((*sknp)[1].verb, Verb::kCreate);
  // Staging or enforcing an enforced kind is a caller bug.
  EXPECT_EQ(RequestsFor(Operation::kEnforce, np, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RequestsFor(Operation::kStage, np, true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccessMatrixTest, Operations) {
  const Target np{Resource::kNetworkPolicies, "app", "frontend", "hipstershop"};
  const Target np_list{Resource::kNetworkPolicies, "app", "", "hipstershop"};
  const Target snp{Resource::kStagedNetworkPolicies, "app", "frontend", "hipstershop"};
  const Target gnp{Resource::kGlobalNetworkPolicies, "security", "block-threat-feed", ""};
  const Target sgnp{Resource::kStagedGlobalNetworkPolicies, "security", "block-threat-feed", ""};
  const Target tier{Resource::kTiers, "", "app", ""};
  const Target audit{Resource::kAudit, "", "", ""};
  const std::string np_what =
      R"(networkpolicies "app.frontend" in tier "app" in namespace "hipstershop")";
  struct Row {
    const char* user;
    Operation op;
    bool exists;
    Target target;
    std::string denial;  // empty: allowed
  };
  const std::vector<Row> rows = {
      // The tier-app editor edits, reads, rolls back and inspects its policies...
      {"alice", Operation::kApply, true, np, ""},
      {"alice", Operation::kApply, false, np, ""},
      {"alice", Operation::kValidate, false, np, ""},
      {"alice", Operation::kCreate, false, np, ""},
      {"alice", Operation::kReplace, true, np, ""},
      {"alice", Operation::kDelete, true, np, ""},
      {"alice", Operation::kGet, true, np, ""},
      {"alice", Operation::kList, true, np_list, ""},
      {"alice", Operation::kHistory, true, np, ""},
      {"alice", Operation::kDiff, true, np, ""},
      {"alice", Operation::kRollback, true, np, ""},
      // ...but has no watch, no staged kinds, no tier changes, no audit log.
      {"alice", Operation::kWatch, true, np_list,
       R"(user "alice" cannot watch networkpolicies in tier "app" in namespace "hipstershop")"},
      {"alice", Operation::kStage, false, snp,
       R"(user "alice" cannot create stagednetworkpolicies "app.frontend" in tier "app" in namespace "hipstershop")"},
      {"alice", Operation::kEnforce, true, snp,
       R"(user "alice" cannot get stagednetworkpolicies "app.frontend" in tier "app" in namespace "hipstershop")"},
      {"alice", Operation::kReplace, true, tier, R"(user "alice" cannot update tiers "app")"},
      {"alice", Operation::kDelete, true, tier, R"(user "alice" cannot delete tiers "app")"},
      {"alice", Operation::kList, false, audit, R"(user "alice" cannot list audit)"},
      {"alice", Operation::kApply, true, gnp,
       R"(user "alice" cannot update globalnetworkpolicies "security.block-threat-feed" in tier "security")"},
      // The viewer reads everything and changes nothing.
      {"victor", Operation::kGet, true, np, ""},
      {"victor", Operation::kHistory, true, gnp, ""},
      {"victor", Operation::kDiff, true, gnp, ""},
      {"victor", Operation::kList, true, audit, ""},
      {"victor", Operation::kApply, true, np, "user \"victor\" cannot update " + np_what},
      {"victor", Operation::kApply, false, np, "user \"victor\" cannot create " + np_what},
      {"victor", Operation::kValidate, false, np, "user \"victor\" cannot create " + np_what},
      {"victor", Operation::kRollback, true, np, "user \"victor\" cannot update " + np_what},
      {"victor", Operation::kDelete, true, np, "user \"victor\" cannot delete " + np_what},
      {"victor", Operation::kEnforce, false, snp, "user \"victor\" cannot create " + np_what},
      // The security editor (by group) stages and enforces in its tier.
      {"gary", Operation::kStage, true, sgnp, ""},
      {"gary", Operation::kEnforce, true, sgnp, ""},
      {"gary", Operation::kRollback, false, gnp, ""},
      {"gary", Operation::kHistory, true, gnp, ""},
      {"gary", Operation::kEnforce, true, snp,
       R"(user "gary" cannot get stagednetworkpolicies "app.frontend" in tier "app" in namespace "hipstershop")"},
      // The namespace-scoped editor: enforce needs the staged get it lacks.
      {"nina", Operation::kApply, true, np, ""},
      {"nina", Operation::kRollback, false, np, ""},
      {"nina", Operation::kEnforce, true, snp,
       R"(user "nina" cannot get stagednetworkpolicies "app.frontend" in tier "app" in namespace "hipstershop")"},
      {"mallory", Operation::kGet, true, np, "user \"mallory\" cannot get " + np_what},
      {"mallory", Operation::kHistory, true, np, "user \"mallory\" cannot get " + np_what},
      {"admin", Operation::kEnforce, false, snp, ""},
      {"admin", Operation::kDelete, true, tier, ""},
  };
  std::map<std::string, Identity> ids;
  for (const MatrixUser& u : MatrixUsers()) ids[u.identity.user] = u.identity;
  for (const Row& row : rows) {
    SCOPED_TRACE(absl::StrCat(row.user, " ", std::string(OperationName(row.op))));
    ASSERT_TRUE(ids.contains(row.user));
    const absl::Status got = authz_->CheckOperation(ids[row.user], row.op, row.target, row.exists);
    if (row.denial.empty()) {
      EXPECT_TRUE(got.ok()) << got;
    } else {
      EXPECT_EQ(got.code(), absl::StatusCode::kPermissionDenied) << got;
      EXPECT_EQ(std::string(got.message()), row.denial);
    }
  }
}

// ---------------------------------------------------------------------------
// Semantics beyond the matrix
// ---------------------------------------------------------------------------

std::unique_ptr<Authorizer> MustLoad(const std::string& yaml) {
  absl::StatusOr<std::unique_ptr<Authorizer>> a = Authorizer::FromYaml(yaml, "test.yaml");
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : Authorizer::FromPolicy({});
}

// The seed story: someone who may only edit tier app-hipstershop fixes the
// frontend policy but cannot touch the security tier.
TEST(SeedStoryTest, TierEditorCannotTouchSecurityTier) {
  auto authz = MustLoad(R"(
roles:
  - name: app-hipstershop-editor
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [app-hipstershop]
      - verbs: ["*"]
        resources: [networkpolicies, stagednetworkpolicies, globalnetworkpolicies, stagedglobalnetworkpolicies]
        resourceNames: ["app-hipstershop.*"]
bindings:
  - role: app-hipstershop-editor
    users: [hipster-dev]
)");
  const Identity dev{"hipster-dev", {}};
  // The name as written in the YAML (with the tier prefix) and as the model
  // stores it (without) are the same policy.
  for (const char* name : {"app-hipstershop.frontend", "frontend"}) {
    EXPECT_TRUE(authz
                    ->Check(dev, {Verb::kUpdate, Resource::kNetworkPolicies, "app-hipstershop",
                                  name, "hipstershop"})
                    .ok())
        << name;
  }
  EXPECT_TRUE(authz
                  ->CheckOperation(dev, Operation::kEnforce,
                                   {Resource::kStagedNetworkPolicies, "app-hipstershop", "frontend",
                                    "hipstershop"},
                                   true)
                  .ok());
  const absl::Status denied = authz->Check(
      dev, {Verb::kUpdate, Resource::kGlobalNetworkPolicies, "security", "block-threat-feed", ""});
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      std::string(denied.message()),
      R"(user "hipster-dev" cannot update globalnetworkpolicies "security.block-threat-feed" in tier "security")");
  const absl::Status del = authz->CheckOperation(
      dev, Operation::kDelete,
      {Resource::kGlobalNetworkPolicies, "security", "security.block-threat-feed", ""}, true);
  EXPECT_EQ(del.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      std::string(del.message()),
      R"(user "hipster-dev" cannot delete globalnetworkpolicies "security.block-threat-feed" in tier "security")");
}

TEST(SemanticsTest, CalicoExampleReason) {
  auto authz = MustLoad("roles: []\n");
  const absl::Status s =
      authz->Check({"john", {}}, {Verb::kList, Resource::kNetworkPolicies, "net-sec", "", ""});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(s.message()),
            R"(user "john" cannot list networkpolicies in tier "net-sec")");
}

// Calico Enterprise: the policy verb alone is not enough without `get` on the tier.
TEST(SemanticsTest, PolicyVerbWithoutTierGetIsDenied) {
  auto authz = MustLoad(R"(
roles:
  - name: no-tier
    rules:
      - verbs: [get, list, update]
        resources: [networkpolicies]
        resourceNames: ["app.*"]
  - name: other-tier
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [security]
bindings:
  - role: no-tier
    users: [tess]
  - role: other-tier
    users: [tess]
)");
  const Identity tess{"tess", {}};
  absl::Status s = authz->Check(
      tess, {Verb::kUpdate, Resource::kNetworkPolicies, "app", "frontend", "hipstershop"});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      std::string(s.message()),
      R"(user "tess" cannot update networkpolicies "app.frontend" in tier "app" in namespace "hipstershop" (no get on tier "app"))");
  s = authz->Check(tess, {Verb::kList, Resource::kNetworkPolicies, "app", "", ""});
  EXPECT_EQ(std::string(s.message()),
            R"(user "tess" cannot list networkpolicies in tier "app" (no get on tier "app"))");
}

// "<tier>.<name>" grants that policy only: not its siblings, not the listing.
TEST(SemanticsTest, SinglePolicyName) {
  auto authz = MustLoad(R"(
roles:
  - name: one-policy
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [app]
      - verbs: [get, update]
        resources: [networkpolicies]
        resourceNames: [app.frontend]
bindings:
  - role: one-policy
    users: [pat]
)");
  const Identity pat{"pat", {}};
  EXPECT_TRUE(
      authz->Check(pat, {Verb::kUpdate, Resource::kNetworkPolicies, "app", "frontend", "shop"})
          .ok());
  EXPECT_EQ(
      std::string(
          authz->Check(pat, {Verb::kUpdate, Resource::kNetworkPolicies, "app", "backend", "shop"})
              .message()),
      R"(user "pat" cannot update networkpolicies "app.backend" in tier "app" in namespace "shop")");
  EXPECT_EQ(
      std::string(authz->Check(pat, {Verb::kList, Resource::kNetworkPolicies, "app", "", "shop"})
                      .message()),
      R"(user "pat" cannot list networkpolicies in tier "app" in namespace "shop")");
  // The same name in another tier is another policy.
  EXPECT_EQ(authz->Check(pat, {Verb::kGet, Resource::kGlobalNetworkPolicies, "app", "frontend", ""})
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      std::string(authz
                      ->Check(pat, {Verb::kGet, Resource::kNetworkPolicies, "other", "app.frontend",
                                    "shop"})
                      .message()),
      R"(user "pat" cannot get networkpolicies "other.app.frontend" in tier "other" in namespace "shop")");
}

TEST(SemanticsTest, EmptyTierMeansDefault) {
  auto authz = MustLoad(R"(
roles:
  - name: default-tier
    rules:
      - verbs: [get]
        resources: [tiers]
        resourceNames: [default]
      - verbs: [get]
        resources: [networkpolicies]
        resourceNames: ["default.*"]
bindings:
  - role: default-tier
    users: [dee]
)");
  EXPECT_TRUE(
      authz->Check({"dee", {}}, {Verb::kGet, Resource::kNetworkPolicies, "", "x", "ns"}).ok());
  EXPECT_TRUE(authz
                  ->Check({"dee", {}},
                          {Verb::kGet, Resource::kNetworkPolicies, "default", "default.x", "ns"})
                  .ok());
  EXPECT_EQ(
      std::string(
          authz->Check({"dee", {}}, {Verb::kUpdate, Resource::kNetworkPolicies, "", "x", "ns"})
              .message()),
      R"(user "dee" cannot update networkpolicies "default.x" in tier "default" in namespace "ns")");
}

// A namespace-restricted rule behaves like a Kubernetes RoleBinding: it never
// reaches cluster-scoped resources or requests spanning every namespace.
TEST(SemanticsTest, NamespaceRestrictedRuleStaysInItsNamespaces) {
  auto authz = MustLoad(R"(
roles:
  - name: ns-everything
    rules:
      - verbs: ["*"]
        resources: ["*"]
        namespaces: [hipstershop, staging]
bindings:
  - role: ns-everything
    users: [olga]
)");
  const Identity olga{"olga", {}};
  EXPECT_TRUE(
      authz->Check(olga, {Verb::kDelete, Resource::kWorkloadEndpoints, "", "w", "staging"}).ok());
  EXPECT_TRUE(
      authz->Check(olga, {Verb::kList, Resource::kNetworkSets, "", "", "hipstershop"}).ok());
  EXPECT_EQ(
      std::string(authz->Check(olga, {Verb::kList, Resource::kNetworkSets, "", "", ""}).message()),
      R"(user "olga" cannot list networksets)");
  EXPECT_EQ(std::string(
                authz->Check(olga, {Verb::kGet, Resource::kHostEndpoints, "", "h", ""}).message()),
            R"(user "olga" cannot get hostendpoints "h")");
  EXPECT_EQ(
      std::string(authz->Check(olga, {Verb::kGet, Resource::kWorkloadEndpoints, "", "w", "prod"})
                      .message()),
      R"(user "olga" cannot get workloadendpoints "w" in namespace "prod")");
  // Tiered policies in its namespaces still need get on the (cluster-scoped) tier.
  EXPECT_EQ(
      std::string(
          authz->Check(olga, {Verb::kGet, Resource::kNetworkPolicies, "app", "f", "staging"})
              .message()),
      R"(user "olga" cannot get networkpolicies "app.f" in tier "app" in namespace "staging" (no get on tier "app"))");
}

TEST(SemanticsTest, ExactNamesForPlainResources) {
  auto authz = MustLoad(R"(
roles:
  - name: feed
    rules:
      - verbs: [get, update]
        resources: [globalnetworksets]
        resourceNames: [threat-feed]
bindings:
  - role: feed
    groups: [feeders]
)");
  const Identity f{"feedbot", {"feeders"}};
  EXPECT_TRUE(
      authz->Check(f, {Verb::kUpdate, Resource::kGlobalNetworkSets, "", "threat-feed", ""}).ok());
  EXPECT_EQ(
      std::string(authz->Check(f, {Verb::kUpdate, Resource::kGlobalNetworkSets, "", "other", ""})
                      .message()),
      R"(user "feedbot" cannot update globalnetworksets "other")");
  EXPECT_EQ(std::string(
                authz->Check(f, {Verb::kList, Resource::kGlobalNetworkSets, "", "", ""}).message()),
            R"(user "feedbot" cannot list globalnetworksets)");
  // Group membership is what grants: the same user without the group has nothing.
  EXPECT_EQ(authz
                ->Check({"feedbot", {}},
                        {Verb::kGet, Resource::kGlobalNetworkSets, "", "threat-feed", ""})
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(SemanticsTest, LocalAdminAlwaysAllowed) {
  auto authz = MustLoad("roles: []\n");
  const Identity admin = Identity::LocalAdmin();
  EXPECT_EQ(admin.user, "system:admin");
  EXPECT_TRUE(admin.IsLocalAdmin());
  EXPECT_FALSE((Identity{"admin", {}}).IsLocalAdmin());
  int checked = 0;
  for (const auto* targets : {&ItemTargets(), &CollectionTargets()}) {
    for (const MatrixTarget& t : *targets) {
      for (int v = 0; v < kNumVerbs; ++v) {
        EXPECT_TRUE(authz->Check(admin, Request::Of(static_cast<Verb>(v), t.target)).ok()) << t.id;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, (18 + 19) * kNumVerbs);
}

TEST(SemanticsTest, AnonymousDeniedEvenWithMatchingGroup) {
  auto authz = MustLoad(kMatrixRbac);
  const Identity anon{"", {"netops"}};
  const absl::Status s = authz->Check(
      anon, {Verb::kGet, Resource::kGlobalNetworkPolicies, "security", "block-threat-feed", ""});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      std::string(s.message()),
      R"(anonymous user cannot get globalnetworkpolicies "security.block-threat-feed" in tier "security")");
  // The same group with a user name is allowed (the matrix's gary).
  EXPECT_TRUE(authz
                  ->Check({"someone", {"netops"}},
                          {Verb::kGet, Resource::kGlobalNetworkPolicies, "security", "x", ""})
                  .ok());
}

TEST(SemanticsTest, MalformedRequestsAreInvalidArgument) {
  auto authz = MustLoad(kMatrixRbac);
  const std::vector<Request> bad = {
      {Verb::kGet, Resource::kGlobalNetworkPolicies, "security", "x", "hipstershop"},
      {Verb::kGet, Resource::kTiers, "", "app", "hipstershop"},
      {Verb::kGet, Resource::kTiers, "app", "security", ""},
      {Verb::kGet, Resource::kKubernetesNetworkPolicies, "app", "x", "hipstershop"},
      {Verb::kGet, Resource::kNetworkPolicies, "a.b", "x", "hipstershop"},
  };
  for (const Request& r : bad) {
    EXPECT_EQ(authz->Check({"admin", {}}, r).code(), absl::StatusCode::kInvalidArgument)
        << ResourceName(r.resource);
    EXPECT_EQ(authz->Check(Identity::LocalAdmin(), r).code(), absl::StatusCode::kInvalidArgument)
        << ResourceName(r.resource);
  }
  EXPECT_EQ(std::string(authz->Check({"admin", {}}, bad[0]).message()),
            R"(globalnetworkpolicies are cluster-scoped; got namespace "hipstershop")");
  // Kubernetes kinds live in the default tier; naming it is fine.
  EXPECT_TRUE(authz
                  ->Check({"admin", {}},
                          {Verb::kGet, Resource::kKubernetesNetworkPolicies, "default", "x", "ns"})
                  .ok());
}

TEST(SemanticsTest, NamesRoundTrip) {
  for (int v = 0; v < kNumVerbs; ++v) {
    EXPECT_EQ(ParseVerb(VerbName(static_cast<Verb>(v))), static_cast<Verb>(v));
  }
  for (int r = 0; r < kNumResources; ++r) {
    EXPECT_EQ(ParseResource(ResourceName(static_cast<Resource>(r))), static_cast<Resource>(r));
  }
  EXPECT_EQ(ParseVerb("patch"), std::nullopt);
  EXPECT_EQ(ParseResource("*"), std::nullopt);
  EXPECT_TRUE(IsTiered(Resource::kStagedGlobalNetworkPolicies));
  EXPECT_FALSE(IsTiered(Resource::kKubernetesNetworkPolicies));
  EXPECT_FALSE(IsTiered(Resource::kTiers));
}

// ---------------------------------------------------------------------------
// The RBAC file: parsing, errors, reload
// ---------------------------------------------------------------------------

TEST(RbacFileTest, ParsesTheHeaderExample) {
  absl::StatusOr<RbacPolicy> p = ParseRbacPolicy(R"(
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
    groups: [app-team]
  - role: admin
    users: [kubernetes-admin]
)",
                                                 "example.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->roles.size(), 2u);
  ASSERT_EQ(p->roles[0].rules.size(), 2u);
  const Rule& r = p->roles[0].rules[1];
  EXPECT_FALSE(r.all_verbs);
  EXPECT_EQ(r.verbs.size(), 6u);
  EXPECT_EQ(r.resources,
            (std::vector<Resource>{Resource::kNetworkPolicies, Resource::kStagedNetworkPolicies}));
  EXPECT_EQ(r.resource_names, std::vector<std::string>{"app-hipstershop.*"});
  EXPECT_EQ(r.namespaces, std::vector<std::string>{"hipstershop"});
  EXPECT_TRUE(p->roles[1].rules[0].all_verbs);
  EXPECT_TRUE(p->roles[1].rules[0].all_resources);
  ASSERT_EQ(p->bindings.size(), 2u);
  EXPECT_EQ(p->bindings[0].groups, std::vector<std::string>{"app-team"});
}

struct BadFile {
  const char* name;
  const char* text;
  const char* error;  // after "<path>"
};

class RbacBadFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(RbacBadFileTest, ErrorNamesPathAndField) {
  const BadFile& bad = GetParam();
  const std::string path = WriteFile(absl::StrCat("bad_", bad.name, ".yaml"), bad.text);
  absl::StatusOr<std::unique_ptr<Authorizer>> a = Authorizer::FromFile(path);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << a.status();
  EXPECT_EQ(std::string(a.status().message()), path + bad.error);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RbacBadFileTest,
    ::testing::Values(
        BadFile{"empty", "", ": empty document"},
        BadFile{"comment_only", "# nothing\n", ": empty document"},
        BadFile{"syntax", "roles: [\n", ":2:1: invalid YAML: end of sequence flow not found"},
        BadFile{"bare_star", "roles:\n  - name: a\n    rules:\n      - verbs: [*]\n",
                ":4:18: invalid YAML: alias not found after * (write \"*\" in quotes)"},
        BadFile{"two_docs", "roles: []\n---\nroles: []\n", ":3: only one YAML document is allowed"},
        BadFile{"not_mapping", "- roles\n", ":1: expected a mapping with roles and bindings"},
        BadFile{"unknown_top", "roles: []\nbinding: []\n",
                ":2: binding: unknown field (expected roles, bindings)"},
        BadFile{"roles_not_seq", "roles: {a: b}\n", ":1: roles: expected a sequence"},
        BadFile{"role_no_name", "roles:\n  - rules: []\n", ":2: roles[0].name: required"},
        BadFile{"duplicate_role", "roles:\n  - name: r\n  - name: r\n",
                ":3: roles[1].name: duplicate role \"r\""},
        BadFile{"unknown_verb",
                "roles:\n  - name: r\n    rules:\n      - verbs: [get, patch]\n"
                "        resources: [tiers]\n",
                ":4: roles[0].rules[0].verbs[1]: unknown verb \"patch\" (expected get, list, "
                "watch, create, update, delete, or \"*\")"},
        BadFile{"no_verbs", "roles:\n  - name: r\n    rules:\n      - resources: [tiers]\n",
                ":4: roles[0].rules[0].verbs: required (at least one verb)"},
        BadFile{"unknown_resource",
                "roles:\n  - name: r\n    rules:\n      - verbs: [get]\n"
                "        resources: [policies]\n",
                ":5: roles[0].rules[0].resources[0]: unknown resource \"policies\" (expected "
                "tiers, networkpolicies, globalnetworkpolicies, stagednetworkpolicies, "
                "stagedglobalnetworkpolicies, kubernetesnetworkpolicies, "
                "stagedkubernetesnetworkpolicies, networksets, globalnetworksets, "
                "workloadendpoints, hostendpoints, profiles, namespaces, counters, flows, audit, "
                "serviceaccounts, or \"*\")"},
        BadFile{"misspelt_field",
                "roles:\n  - name: r\n    rules:\n      - verbs: [get]\n"
                "        resources: [tiers]\n        resourcename: [app]\n",
                ":6: roles[0].rules[0].resourcename: unknown field (expected verbs, resources, "
                "resourceNames, namespaces)"},
        BadFile{"bad_wildcard",
                "roles:\n  - name: r\n    rules:\n      - verbs: [get]\n"
                "        resources: [networkpolicies]\n        resourceNames: [\"app*\"]\n",
                ":6: roles[0].rules[0].resourceNames[0]: \"app*\" is not a valid resource name "
                "(the only wildcard is \"<tier>.*\", for tiered policy kinds; omit resourceNames "
                "for every name)"},
        BadFile{"tier_wildcard_on_plain",
                "roles:\n  - name: r\n    rules:\n      - verbs: [get]\n"
                "        resources: [networksets]\n        resourceNames: [\"app.*\"]\n",
                ":6: roles[0].rules[0].resourceNames[0]: \"app.*\" is not a valid resource name "
                "(the only wildcard is \"<tier>.*\", for tiered policy kinds; omit resourceNames "
                "for every name)"},
        BadFile{"untiered_name",
                "roles:\n  - name: r\n    rules:\n      - verbs: [get]\n"
                "        resources: [networkpolicies]\n        resourceNames: [app]\n",
                ":6: roles[0].rules[0].resourceNames[0]: \"app\" is not a tiered policy name "
                "(expected \"<tier>.*\" or \"<tier>.<policy>\")"},
        BadFile{"star_namespace",
                "roles:\n  - name: r\n    rules:\n      - verbs: [get]\n"
                "        resources: [networksets]\n        namespaces: [\"*\"]\n",
                ":6: roles[0].rules[0].namespaces[0]: \"*\" is not a namespace (omit namespaces "
                "for every namespace)"},
        BadFile{"empty_string", "roles:\n  - name: r\nbindings:\n  - role: r\n    users: [\"\"]\n",
                ":5: bindings[0].users[0]: must not be empty"},
        BadFile{"unknown_role", "roles: []\nbindings:\n  - role: nope\n    users: [a]\n",
                ":3: bindings[0].role: unknown role \"nope\""},
        BadFile{"no_subjects", "roles:\n  - name: r\nbindings:\n  - role: r\n",
                ":4: bindings[0]: a binding needs users or groups"},
        BadFile{"users_scalar", "roles:\n  - name: r\nbindings:\n  - role: r\n    users: bob\n",
                ":5: bindings[0].users: expected a sequence, got a scalar"}),
    [](const ::testing::TestParamInfo<BadFile>& p) { return std::string(p.param.name); });

TEST(RbacFileTest, MissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "/auth_test_does_not_exist.yaml";
  absl::StatusOr<std::unique_ptr<Authorizer>> a = Authorizer::FromFile(path);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(a.status().message()), StartsWith(path + ": cannot read"));
}

constexpr char kReloadV1[] = R"(
roles:
  - name: viewer
    rules:
      - verbs: [get, list]
        resources: ["*"]
bindings:
  - role: viewer
    users: [alice]
)";

constexpr char kReloadV2[] = R"(
roles:
  - name: viewer
    rules:
      - verbs: [get, list]
        resources: ["*"]
bindings:
  - role: viewer
    users: [bob]
)";

TEST(RbacReloadTest, BadFileKeepsOldRules) {
  const std::string path = WriteFile("reload.yaml", kReloadV1);
  absl::StatusOr<std::unique_ptr<Authorizer>> a = Authorizer::FromFile(path);
  ASSERT_TRUE(a.ok()) << a.status();
  Authorizer& authz = **a;
  const Request get_tiers{Verb::kList, Resource::kTiers, "", "", ""};
  EXPECT_TRUE(authz.Check({"alice", {}}, get_tiers).ok());
  EXPECT_FALSE(authz.Check({"bob", {}}, get_tiers).ok());

  // Invalid rules: rejected, alice keeps her access, bob still has none.
  WriteFile("reload.yaml", "roles:\n  - name: viewer\n    rules:\n      - verbs: [peek]\n");
  absl::Status s = authz.Reload();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              StartsWith(path + ":4: roles[0].rules[0].verbs[0]: unknown verb"));
  EXPECT_TRUE(authz.Check({"alice", {}}, get_tiers).ok());
  EXPECT_FALSE(authz.Check({"bob", {}}, get_tiers).ok());

  // Broken YAML and a truncated (empty) file: the same.
  WriteFile("reload.yaml", "roles: [\n");
  EXPECT_THAT(std::string(authz.Reload().message()), StartsWith(path + ":"));
  WriteFile("reload.yaml", "");
  EXPECT_EQ(std::string(authz.Reload().message()), path + ": empty document");
  EXPECT_TRUE(authz.Check({"alice", {}}, get_tiers).ok());

  // A removed file too.
  std::remove(path.c_str());
  EXPECT_EQ(authz.Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(authz.Check({"alice", {}}, get_tiers).ok());

  // A good file takes over.
  WriteFile("reload.yaml", kReloadV2);
  ASSERT_TRUE(authz.Reload().ok());
  EXPECT_FALSE(authz.Check({"alice", {}}, get_tiers).ok());
  EXPECT_TRUE(authz.Check({"bob", {}}, get_tiers).ok());
  EXPECT_EQ(authz.policy()->bindings[0].users, std::vector<std::string>{"bob"});
}

TEST(RbacReloadTest, NotFromFile) {
  auto authz = MustLoad(kReloadV1);
  EXPECT_EQ(authz->Reload().code(), absl::StatusCode::kFailedPrecondition);
}

// Checks on several threads while the file flips between two versions: every
// answer is one of the two policies' answers (run under ASan for races on the
// swapped pointer).
TEST(RbacReloadTest, ConcurrentChecksDuringReload) {
  const std::string path = WriteFile("reload_concurrent.yaml", kReloadV1);
  absl::StatusOr<std::unique_ptr<Authorizer>> a = Authorizer::FromFile(path);
  ASSERT_TRUE(a.ok());
  Authorizer& authz = **a;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      const Request req{Verb::kGet, Resource::kTiers, "", "app", ""};
      while (!stop.load()) {
        const bool alice = authz.Check({"alice", {}}, req).ok();
        const bool carol = authz.Check({"carol", {}}, req).ok();
        if (carol) bad.fetch_add(1);
        (void)alice;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    WriteFile("reload_concurrent.yaml", i % 2 ? kReloadV1 : kReloadV2);
    EXPECT_TRUE(authz.Reload().ok());
  }
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// ---------------------------------------------------------------------------
// Tokens and certificates
// ---------------------------------------------------------------------------

constexpr char kTokens[] = R"(
- token: "tok-admin-0123456789abcdef"
  user: kubernetes-admin
  groups: [system-admins]
- token: "tok-alice-fedcba9876543210"
  user: alice
  groups: [app-team, viewers]
- token: "tok-bob-00000000"
  user: bob
)";

TEST(TokenTest, GoodBadMissing) {
  absl::StatusOr<std::unique_ptr<TokenAuthenticator>> t =
      TokenAuthenticator::FromYaml(kTokens, "tokens.yaml");
  ASSERT_TRUE(t.ok()) << t.status();
  const TokenAuthenticator& auth = **t;
  EXPECT_EQ(auth.size(), 3u);

  absl::StatusOr<Identity> id = auth.Authenticate("Bearer tok-alice-fedcba9876543210");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, (Identity{"alice", {"app-team", "viewers"}}));
  id = auth.Authenticate("  bearer   tok-admin-0123456789abcdef  ");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->user, "kubernetes-admin");
  id = auth.AuthenticateToken("tok-bob-00000000");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, (Identity{"bob", {}}));

  struct Bad {
    const char* header;
    const char* message;
  };
  for (const Bad& b : std::vector<Bad>{
           {"", "missing bearer token"},
           {"   ", "missing bearer token"},
           {"Bearer", "missing bearer token"},
           {"Bearer   ", "missing bearer token"},
           {"Bearer tok-alice-fedcba987654321", "invalid bearer token"},    // one short
           {"Bearer tok-alice-fedcba98765432100", "invalid bearer token"},  // one long
           {"Bearer tok-alice-fedcba9876543211", "invalid bearer token"},   // last differs
           {"Bearer TOK-ALICE-FEDCBA9876543210", "invalid bearer token"},   // case matters
           {"Bearer x", "invalid bearer token"},
           {"Basic YWxpY2U6cHc=", "unsupported authorization scheme (expected Bearer)"},
           {"tok-alice-fedcba9876543210", "unsupported authorization scheme (expected Bearer)"},
       }) {
    absl::StatusOr<Identity> r = auth.Authenticate(b.header);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << b.header;
    EXPECT_EQ(std::string(r.status().message()), b.message) << b.header;
  }
  EXPECT_EQ(auth.AuthenticateToken("").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(TokenTest, FileErrorsNamePathAndNeverTheToken) {
  struct Case {
    const char* text;
    const char* error;  // after "<path>"
  };
  const std::vector<Case> cases = {
      {"", ": empty document"},
      {"token: x\n", ":1: expected a sequence of {token, user, groups} entries"},
      {"- user: a\n", ":1: [0].token: required"},
      {"- token: abc\n", ":1: [0].user: required"},
      {"- token: abc\n  user: a\n  group: [x]\n",
       ":3: [0].group: unknown field (expected token, user, groups)"},
      {"- token: \"a b\"\n  user: a\n", ":1: [0].token: must be printable with no whitespace"},
      {"- token: sekrit-1\n  user: a\n- token: sekrit-1\n  user: b\n",
       ":3: [1].token: duplicate token"},
      {"- token: t1\n  user: \"system:admin\"\n",
       ":2: [0].user: reserved user name \"system:admin\""},
      {"- token: t1\n  user: a\n  groups: [\"\"]\n", ":3: [0].groups[0]: must not be empty"},
  };
  for (const Case& c : cases) {
    const std::string path = WriteFile("tokens_bad.yaml", c.text);
    absl::StatusOr<std::unique_ptr<TokenAuthenticator>> t = TokenAuthenticator::FromFile(path);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(t.status().message()), path + c.error) << c.text;
    EXPECT_THAT(std::string(t.status().message()), Not(HasSubstr("sekrit")));
  }
}

TEST(TokenTest, ReloadKeepsOldTokensOnError) {
  const std::string path = WriteFile("tokens.yaml", kTokens);
  absl::StatusOr<std::unique_ptr<TokenAuthenticator>> t = TokenAuthenticator::FromFile(path);
  ASSERT_TRUE(t.ok()) << t.status();
  TokenAuthenticator& auth = **t;
  EXPECT_TRUE(auth.AuthenticateToken("tok-bob-00000000").ok());
  WriteFile("tokens.yaml", "- token: new\n  user: \"system:evil\"\n");
  EXPECT_THAT(std::string(auth.Reload().message()),
              StartsWith(path + ":2: [0].user: reserved user name"));
  EXPECT_TRUE(auth.AuthenticateToken("tok-bob-00000000").ok());
  EXPECT_FALSE(auth.AuthenticateToken("new").ok());
  WriteFile("tokens.yaml", "- token: new-bob-token\n  user: bob\n");
  ASSERT_TRUE(auth.Reload().ok());
  EXPECT_FALSE(auth.AuthenticateToken("tok-bob-00000000").ok());  // revoked
  EXPECT_EQ(auth.AuthenticateToken("new-bob-token")->user, "bob");
  EXPECT_EQ(TokenAuthenticator::FromYaml(kTokens, "x")->get()->Reload().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(CertificateTest, IdentityFromSubject) {
  absl::StatusOr<Identity> id = IdentityFromCertificate("alice", {"app-team", "viewers"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, (Identity{"alice", {"app-team", "viewers"}}));
  id = IdentityFromCertificate("kubernetes-admin", {});
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->groups.empty());

  EXPECT_EQ(IdentityFromCertificate("", {"x"}).status().code(), absl::StatusCode::kUnauthenticated);
  const absl::Status reserved = IdentityFromCertificate("system:admin", {}).status();
  EXPECT_EQ(reserved.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(reserved.message()),
            "client certificate names reserved user \"system:admin\"");
  EXPECT_EQ(IdentityFromCertificate("a", {""}).status().code(), absl::StatusCode::kUnauthenticated);
}

// A self-signed certificate whose subject has exactly `entries` (field, value),
// in order, as PEM: what a client presents, built as `openssl req -subj` does.
std::string CertificateWithSubject(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  EVP_PKEY* key = EVP_EC_gen("prime256v1");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  for (const auto& [field, value] : entries) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.data()),
                               static_cast<int>(value.size()), -1, 0);
  }
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pem;
}

// The attack: `openssl req -subj "/CN=mallory\,O=platform"` makes ONE CN entry
// whose value is "mallory,O=platform"; printed as RFC 2253 it reads
// "CN=mallory\,O=platform", which splitting on commas took for group platform.
TEST(CertificateTest, EscapedCommaInCommonNameIsNotAGroup) {
  const std::string pem = CertificateWithSubject({{"CN", "mallory,O=platform"}});
  absl::StatusOr<Identity> id = IdentityFromPemCertificate(pem);
  ASSERT_FALSE(id.ok()) << id->user << " groups " << id->groups.size();
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(id.status().message()),
            "client certificate subject CN \"mallory,O=platform\" contains ',', which separates "
            "name parts");
  // The same through an O entry.
  id = IdentityFromPemCertificate(
      CertificateWithSubject({{"CN", "mallory"}, {"O", "shop-team,O=platform"}}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(CertificateTest, GroupsAreTheSubjectOrganizationEntries) {
  absl::StatusOr<Identity> id = IdentityFromPemCertificate(CertificateWithSubject(
      {{"O", "shop-team"}, {"OU", "platform"}, {"CN", "alice"}, {"O", "viewers"}}));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, (Identity{"alice", {"shop-team", "viewers"}}));
  // Two CNs: which would be the user is a matter of opinion.
  id = IdentityFromPemCertificate(CertificateWithSubject({{"CN", "alice"}, {"CN", "admin"}}));
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(id.status().message()),
            "client certificate has 2 subject common names (CN)");
  EXPECT_EQ(IdentityFromPemCertificate("not a certificate").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(CertificateTest, ControlCharactersAndSeparatorsAreRefused) {
  for (const char* cn : {"alice\nuser=admin", "alice\x7f", "a/O=platform", "a+O=platform", "a;b",
                         "a\\b", "a=b", "a\"b", "a<b>"}) {
    EXPECT_EQ(IdentityFromCertificate(cn, {}).status().code(), absl::StatusCode::kUnauthenticated)
        << cn;
    EXPECT_EQ(IdentityFromCertificate("alice", {cn}).status().code(),
              absl::StatusCode::kUnauthenticated)
        << cn;
  }
  EXPECT_EQ(std::string(IdentityFromCertificate("a\tb", {}).status().message()),
            "client certificate subject CN contains a control character (0x09)");
  // Names Kubernetes uses stay valid.
  EXPECT_TRUE(
      IdentityFromCertificate("kube-admin@example.com", {"system:masters", "team_1.x"}).ok());
}

// End to end through both halves: a token's groups reach a group binding.
TEST(TokenTest, TokenGroupsReachBindings) {
  auto tokens = TokenAuthenticator::FromYaml(
      "- token: gary-token-123\n  user: gary\n  groups: [netops]\n", "tokens.yaml");
  ASSERT_TRUE(tokens.ok());
  auto authz = MustLoad(kMatrixRbac);
  absl::StatusOr<Identity> gary = (*tokens)->Authenticate("Bearer gary-token-123");
  ASSERT_TRUE(gary.ok());
  EXPECT_TRUE(authz
                  ->Check(*gary, {Verb::kUpdate, Resource::kGlobalNetworkPolicies, "security",
                                  "block-threat-feed", ""})
                  .ok());
  EXPECT_EQ(
      std::string(
          authz->Check(*gary, {Verb::kUpdate, Resource::kTiers, "", "security", ""}).message()),
      R"(user "gary" cannot update tiers "security")");
}

}  // namespace
}  // namespace tierwall::test
