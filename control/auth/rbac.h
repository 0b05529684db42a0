// Authorisation: tiered RBAC modelled on Calico Enterprise.
//
// Roles grant verbs on resources, optionally narrowed to resource names and
// namespaces; bindings give roles to users and groups. Everything not granted
// is denied, reads included (Calico checks reads too when its API server is in
// the path; we always do).
//
// RBAC file (YAML, our own schema, close to Kubernetes RBAC):
//
//   roles:
//     - name: app-hipstershop-editor
//       rules:
//         # Calico Enterprise: acting on a tiered policy needs `get` on its tier...
//         - verbs: [get]
//           resources: [tiers]
//           resourceNames: [app-hipstershop]      # tier names
//         # ...and the verb on the policy kind, named "<tier>.*" or "<tier>.<policy>".
//         - verbs: [get, list, watch, create, update, delete]
//           resources: [networkpolicies, stagednetworkpolicies]
//           resourceNames: ["app-hipstershop.*"]
//           namespaces: [hipstershop]             # omitted or empty: every namespace
//     - name: admin
//       rules:
//         - verbs: ["*"]                          # quote the *: bare * is a YAML alias
//           resources: ["*"]
//   bindings:
//     - role: app-hipstershop-editor
//       users: [alice]
//       groups: [app-team]                        # certificate O fields / token groups
//     - role: admin
//       users: [kubernetes-admin]
//
// Rules:
//   verbs          get, list, watch, create, update, delete, or "*".
//   resources      see Resource below (plural, lower case), or "*".
//   resourceNames  omitted/empty = every name. For tiers: tier names. For the
//                  tiered policy kinds: "<tier>.*" (every policy of the tier,
//                  and listing/watching the tier) or "<tier>.<policy>" (that
//                  policy only; does not allow list/watch). Otherwise exact
//                  names. No other wildcards.
//   namespaces     omitted/empty = every namespace and the cluster scope. When
//                  given, the rule only covers requests in one of those
//                  namespaces: never cluster-scoped resources (tiers, global
//                  kinds) and never "all namespaces" requests, like a
//                  Kubernetes RoleBinding.
// Unknown fields, unknown verbs/resources, bad names, duplicate role names,
// bindings to missing roles and bindings without subjects are errors, reported
// as "<path>:<line>: <field path>: <problem>". The file must hold one mapping;
// an empty file is an error (a truncated write must not lock everyone out on
// reload; use `roles: []` to deny everyone on purpose).
//
// Check semantics (Calico Enterprise tiered RBAC):
//   - Tiered policy kinds (networkpolicies, globalnetworkpolicies and their
//     staged kinds): the verb on the kind with a resourceName matching
//     "<tier>.*" or "<tier>.<name>" (or no resourceNames) AND `get` on the
//     tier itself. Listing or watching the policies of a tier needs the verb
//     with "<tier>.*" (or no names) and `get` on the tier. Requests with no
//     tier mean tier "default". Names may be given with or without the
//     "<tier>." prefix ("app.frontend" and "frontend" in tier app are the same
//     policy, as in the model).
//   - Tiers: create/update/delete/get need the verb on `tiers` named for that
//     tier; list/watch need it with no resourceNames.
//   - Kubernetes policy kinds are plain (not tiered) resources, as in Calico
//     where they are governed by standard Kubernetes RBAC: exact names only.
//   - Everything else: the verb on the resource, the name (if any) among the
//     resourceNames (if any), the namespace (if any) among the namespaces (if
//     any). A request without a name (list, watch) needs a rule without
//     resourceNames.
//   - Identity::LocalAdmin() ("system:admin") is always allowed; an identity
//     with an empty user name (anonymous) is always denied.
//   - A list across all tiers or all namespaces is not one request: the server
//     checks each tier/namespace it would return and leaves out the denied ones
//     (as Calico Enterprise does for tiers), or Checks with an empty namespace
//     to ask for unrestricted access.
//
// Denials are PERMISSION_DENIED with a Calico-style reason:
//   user "john" cannot list networkpolicies in tier "net-sec"
//   user "bob" cannot update networkpolicies "app.frontend" in tier "app" in namespace
//   "hipstershop" user "bob" cannot delete tiers "security"
// and, when only the tier `get` is missing, the same followed by
//   (no get on tier "app")
//
// API operations and the verbs they need (RequestsFor):
//   | operation | resource exists      | resource does not exist |
//   |-----------|----------------------|-------------------------|
//   | apply     | update               | create                  |
//   | validate  | as apply (a dry run needs the rights of the real call)
//   | create    | create               | create                  |
//   | replace   | update               | update                  |
//   | delete    | delete               | delete                  |
//   | get       | get                  | get                     |
//   | list      | list                 | list                    |
//   | watch     | watch                | watch                   |
//   | history   | get                  | get  (the resource's past content is a read of it)
//   | diff      | get                  | get                     |
//   | rollback  | update               | create  (a revision that deletes the
//   |           |                      |   resource needs delete: the server Checks it)
//   | stage     | update               | create  (on the staged kind)
//   | enforce   | get on the staged policy AND update (enforced policy exists)
//   |           |   or create (it does not) on the enforced kind, same tier/name/ns
// Counters, flows and the audit log are resources of their own (counters,
// flows, audit) read with get/list/watch; `twctl audit verify` is list on audit.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/auth/identity.h"

namespace tierwall::ctl::auth {

enum class Verb : uint8_t { kGet, kList, kWatch, kCreate, kUpdate, kDelete };
inline constexpr int kNumVerbs = 6;

enum class Resource : uint8_t {
  kTiers,
  kNetworkPolicies,                  // tiered, namespaced
  kGlobalNetworkPolicies,            // tiered
  kStagedNetworkPolicies,            // tiered, namespaced
  kStagedGlobalNetworkPolicies,      // tiered
  kKubernetesNetworkPolicies,        // namespaced (networking.k8s.io NetworkPolicy)
  kStagedKubernetesNetworkPolicies,  // namespaced
  kNetworkSets,                      // namespaced
  kGlobalNetworkSets,
  kWorkloadEndpoints,  // namespaced
  kHostEndpoints,
  kProfiles,
  kNamespaces,
  kCounters,         // may be namespaced
  kFlows,            // may be namespaced
  kAudit,            // may be namespaced
  kServiceAccounts,  // namespaced (v1 ServiceAccount: labels for serviceAccountSelector)
};
inline constexpr int kNumResources = 17;

// "get", "networkpolicies", ...: the names used in the RBAC file and reasons.
std::string_view VerbName(Verb v);
std::string_view ResourceName(Resource r);
std::optional<Verb> ParseVerb(std::string_view s);
std::optional<Resource> ParseResource(std::string_view s);
// The tiered policy kinds (need `get` on the tier; names "<tier>.<name>").
bool IsTiered(Resource r);
// Resources that never live in a namespace; a Request naming one for them is
// rejected (INVALID_ARGUMENT) rather than matched against namespaced grants.
bool IsClusterScoped(Resource r);
// The enforced kind of a staged kind; nullopt for other resources.
std::optional<Resource> EnforcedKind(Resource staged);

// What a resource request is about.
struct Target {
  Resource resource = Resource::kTiers;
  std::string tier;            // tiered kinds: the tier ("" = "default")
  std::string name;            // empty for collections (list, watch); tiers: the tier name
  std::string namespace_name;  // empty for cluster scope or all namespaces
};

struct Request {
  Verb verb = Verb::kGet;
  Resource resource = Resource::kTiers;
  std::string tier;
  std::string name;
  std::string namespace_name;

  static Request Of(Verb verb, const Target& t) {
    return Request{verb, t.resource, t.tier, t.name, t.namespace_name};
  }
  bool operator==(const Request&) const = default;
};

// RPC-level operations, mapped to Requests by the table in the file comment.
enum class Operation : uint8_t {
  kApply,
  kValidate,
  kCreate,
  kReplace,
  kDelete,
  kGet,
  kList,
  kWatch,
  kHistory,
  kDiff,
  kRollback,
  kStage,
  kEnforce,
};
std::string_view OperationName(Operation op);

// The Requests an operation on `target` needs, all of which must be allowed.
// `exists`: whether the resource (for enforce: the enforced policy) exists now.
// INVALID_ARGUMENT for stage/enforce on a kind that is not staged.
absl::StatusOr<std::vector<Request>> RequestsFor(Operation op, const Target& target, bool exists);

// The parsed RBAC file.
struct Rule {
  bool all_verbs = false;
  std::vector<Verb> verbs;
  bool all_resources = false;
  std::vector<Resource> resources;
  std::vector<std::string> resource_names;  // empty = all
  std::vector<std::string> namespaces;      // empty = all, cluster scope included
};

struct Role {
  std::string name;
  std::vector<Rule> rules;
};

struct Binding {
  std::string role;
  std::vector<std::string> users;
  std::vector<std::string> groups;
};

struct RbacPolicy {
  std::vector<Role> roles;
  std::vector<Binding> bindings;
};

// Parses and validates an RBAC file's text; `source_name` (normally the path)
// starts every error message.
absl::StatusOr<RbacPolicy> ParseRbacPolicy(std::string_view text, std::string_view source_name);

// Answers access questions. Thread-safe: Check may run on many threads while
// Reload swaps in a new policy (readers keep the policy they started with).
class Authorizer {
 public:
  static absl::StatusOr<std::unique_ptr<Authorizer>> FromFile(const std::string& path);
  // Reload() is unavailable (FAILED_PRECONDITION) for these two.
  static absl::StatusOr<std::unique_ptr<Authorizer>> FromYaml(std::string_view text,
                                                              std::string_view source_name);
  static std::unique_ptr<Authorizer> FromPolicy(RbacPolicy policy);

  // OK, PERMISSION_DENIED with the reason, or INVALID_ARGUMENT for a malformed
  // request (a namespace on a cluster-scoped resource, a tiers request whose
  // tier and name disagree, a Kubernetes kind in a tier other than default).
  absl::Status Check(const Identity& identity, const Request& request) const;
  bool Allowed(const Identity& identity, const Request& request) const {
    return Check(identity, request).ok();
  }
  // Every Request of RequestsFor(op, target, exists), in order; the first
  // denial is returned.
  absl::Status CheckOperation(const Identity& identity, Operation op, const Target& target,
                              bool exists) const;

  // Re-reads the file given to FromFile. On any error (unreadable, bad YAML,
  // invalid rules) the current policy stays in force and the error, naming the
  // path, is returned.
  absl::Status Reload();

  // The policy in force (a snapshot).
  std::shared_ptr<const RbacPolicy> policy() const;

  struct Compiled;  // the policy indexed by user and group (rbac.cc)
  ~Authorizer();

 private:
  Authorizer(std::string path, std::shared_ptr<const Compiled> compiled);

  const std::string path_;
  mutable std::mutex mu_;  // guards compiled_ (the pointer, not the policy)
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace tierwall::ctl::auth
