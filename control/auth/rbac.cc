#include "control/auth/rbac.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/auth/yaml_read.h"

namespace tierwall::ctl::auth {

using internal::Av;
using internal::Child;
using internal::Errors;
using internal::Field;
using internal::Item;
using internal::Quote;

namespace {

constexpr std::array<std::string_view, kNumVerbs> kVerbNames = {"get",    "list",   "watch",
                                                                "create", "update", "delete"};

constexpr std::array<std::string_view, kNumResources> kResourceNames = {
    "tiers",
    "networkpolicies",
    "globalnetworkpolicies",
    "stagednetworkpolicies",
    "stagedglobalnetworkpolicies",
    "kubernetesnetworkpolicies",
    "stagedkubernetesnetworkpolicies",
    "networksets",
    "globalnetworksets",
    "workloadendpoints",
    "hostendpoints",
    "profiles",
    "namespaces",
    "counters",
    "flows",
    "audit",
    "serviceaccounts",
};

constexpr std::string_view kDefaultTier = "default";

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string_view VerbName(Verb v) { return kVerbNames[static_cast<size_t>(v)]; }
std::string_view ResourceName(Resource r) { return kResourceNames[static_cast<size_t>(r)]; }

std::optional<Verb> ParseVerb(std::string_view s) {
  for (size_t i = 0; i < kVerbNames.size(); ++i) {
    if (kVerbNames[i] == s) return static_cast<Verb>(i);
  }
  return std::nullopt;
}

std::optional<Resource> ParseResource(std::string_view s) {
  for (size_t i = 0; i < kResourceNames.size(); ++i) {
    if (kResourceNames[i] == s) return static_cast<Resource>(i);
  }
  return std::nullopt;
}

bool IsTiered(Resource r) {
  switch (r) {
    case Resource::kNetworkPolicies:
    case Resource::kGlobalNetworkPolicies:
    case Resource::kStagedNetworkPolicies:
    case Resource::kStagedGlobalNetworkPolicies: return true;
    default: return false;
  }
}

bool IsClusterScoped(Resource r) {
  switch (r) {
    case Resource::kTiers:
    case Resource::kGlobalNetworkPolicies:
    case Resource::kStagedGlobalNetworkPolicies:
    case Resource::kGlobalNetworkSets:
    case Resource::kHostEndpoints:
    case Resource::kProfiles:
    case Resource::kNamespaces: return true;
    default: return false;
  }
}

std::optional<Resource> EnforcedKind(Resource staged) {
  switch (staged) {
    case Resource::kStagedNetworkPolicies: return Resource::kNetworkPolicies;
    case Resource::kStagedGlobalNetworkPolicies: return Resource::kGlobalNetworkPolicies;
    case Resource::kStagedKubernetesNetworkPolicies: return Resource::kKubernetesNetworkPolicies;
    default: return std::nullopt;
  }
}

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kApply: return "apply";
    case Operation::kValidate: return "validate";
    case Operation::kCreate: return "create";
    case Operation::kReplace: return "replace";
    case Operation::kDelete: return "delete";
    case Operation::kGet: return "get";
    case Operation::kList: return "list";
    case Operation::kWatch: return "watch";
    case Operation::kHistory: return "history";
    case Operation::kDiff: return "diff";
    case Operation::kRollback: return "rollback";
    case Operation::kStage: return "stage";
    case Operation::kEnforce: return "enforce";
  }
  return "?";
}

absl::StatusOr<std::vector<Request>> RequestsFor(Operation op, const Target& target, bool exists) {
  const Verb upsert = exists ? Verb::kUpdate : Verb::kCreate;
  switch (op) {
    case Operation::kApply:
    case Operation::kValidate:
    case Operation::kRollback: return std::vector<Request>{Request::Of(upsert, target)};
    case Operation::kCreate: return std::vector<Request>{Request::Of(Verb::kCreate, target)};
    case Operation::kReplace: return std::vector<Request>{Request::Of(Verb::kUpdate, target)};
    case Operation::kDelete: return std::vector<Request>{Request::Of(Verb::kDelete, target)};
    case Operation::kGet:
    case Operation::kHistory:
    case Operation::kDiff: return std::vector<Request>{Request::Of(Verb::kGet, target)};
    case Operation::kList: return std::vector<Request>{Request::Of(Verb::kList, target)};
    case Operation::kWatch: return std::vector<Request>{Request::Of(Verb::kWatch, target)};
    case Operation::kStage:
    case Operation::kEnforce: {
      std::optional<Resource> enforced = EnforcedKind(target.resource);
      if (!enforced) {
        return absl::InvalidArgumentError(absl::StrCat(Av(OperationName(op)),
                                                       " needs a staged kind, not ",
                                                       Av(ResourceName(target.resource))));
      }
      if (op == Operation::kStage) return std::vector<Request>{Request::Of(upsert, target)};
      Target t = target;
      t.resource = *enforced;
      return std::vector<Request>{Request::Of(Verb::kGet, target), Request::Of(upsert, t)};
    }
  }
  return absl::InvalidArgumentError("unknown operation");
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

namespace {

// Tier names never contain dots (the model rejects them), which is what makes
// "<tier>.<policy>" unambiguous: the tier ends at the first dot.
bool SplitTiered(std::string_view s, std::string_view* tier, std::string_view* name) {
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size()) return false;
  *tier = s.substr(0, dot);
  *name = s.substr(dot + 1);
  return true;
}

std::string VerbList() {
  std::string out;
  for (std::string_view v : kVerbNames) absl::StrAppend(&out, Av(v), ", ");
  return absl::StrCat(out, "or \"*\"");
}

std::string ResourceList() {
  std::string out;
  for (std::string_view r : kResourceNames) absl::StrAppend(&out, Av(r), ", ");
  return absl::StrCat(out, "or \"*\"");
}

absl::Status ParseRule(const Errors& err, const YAML::Node& node, const std::string& path,
                       Rule* rule) {
  if (!node.IsMap()) return err.At(node, path, "expected a mapping with verbs and resources");
  if (absl::Status s = internal::CheckMapping(
          err, node, path, {"verbs", "resources", "resourceNames", "namespaces"});
      !s.ok()) {
    return s;
  }
  const YAML::Node verbs = Field(node, "verbs");
  absl::StatusOr<std::vector<std::string>> vs =
      internal::ReadStringList(err, verbs, Child(path, "verbs"));
  if (!vs.ok()) return vs.status();
  if (vs->empty()) return err.At(node, Child(path, "verbs"), "required (at least one verb)");
  size_t i = 0;
  for (auto it = verbs.begin(); it != verbs.end(); ++it, ++i) {
    const std::string& v = (*vs)[i];
    if (v == "*") {
      rule->all_verbs = true;
    } else if (std::optional<Verb> verb = ParseVerb(v)) {
      rule->verbs.push_back(*verb);
    } else {
      return err.At(*it, Item(Child(path, "verbs"), i),
                    absl::StrCat("unknown verb ", Quote(v), " (expected ", VerbList(), ")"));
    }
  }

  const YAML::Node resources = Field(node, "resources");
  absl::StatusOr<std::vector<std::string>> rs =
      internal::ReadStringList(err, resources, Child(path, "resources"));
  if (!rs.ok()) return rs.status();
  if (rs->empty())
    return err.At(node, Child(path, "resources"), "required (at least one resource)");
  i = 0;
  for (auto it = resources.begin(); it != resources.end(); ++it, ++i) {
    const std::string& r = (*rs)[i];
    if (r == "*") {
      rule->all_resources = true;
    } else if (std::optional<Resource> res = ParseResource(r)) {
      rule->resources.push_back(*res);
    } else {
      return err.At(
          *it, Item(Child(path, "resources"), i),
          absl::StrCat("unknown resource ", Quote(r), " (expected ", ResourceList(), ")"));
    }
  }
  const bool any_tiered =
      rule->all_resources || std::any_of(rule->resources.begin(), rule->resources.end(), IsTiered);
  const bool only_tiered =
      !rule->all_resources && std::all_of(rule->resources.begin(), rule->resources.end(), IsTiered);

  const YAML::Node names = Field(node, "resourceNames");
  absl::StatusOr<std::vector<std::string>> ns =
      internal::ReadStringList(err, names, Child(path, "resourceNames"));
  if (!ns.ok()) return ns.status();
  i = 0;
  for (auto it = names.begin(); ns->size() > 0 && it != names.end(); ++it, ++i) {
    const std::string& n = (*ns)[i];
    const std::string npath = Item(Child(path, "resourceNames"), i);
    std::string_view tier, name;
    const bool tiered_form = SplitTiered(n, &tier, &name);
    if (n.find('*') != std::string::npos) {
      // The one wildcard Calico Enterprise knows: every policy of a tier.
      if (!tiered_form || name != "*" || !any_tiered) {
        return err.At(*it, npath,
                      absl::StrCat(Quote(n),
                                   " is not a valid resource name (the only wildcard is "
                                   "\"<tier>.*\", for tiered policy kinds; omit resourceNames "
                                   "for every name)"));
      }
    } else if (only_tiered && !tiered_form) {
      return err.At(*it, npath,
                    absl::StrCat(Quote(n),
                                 " is not a tiered policy name (expected \"<tier>.*\" "
                                 "or \"<tier>.<policy>\")"));
    }
    rule->resource_names.push_back(n);
  }

  const YAML::Node nss = Field(node, "namespaces");
  absl::StatusOr<std::vector<std::string>> nsv =
      internal::ReadStringList(err, nss, Child(path, "namespaces"));
  if (!nsv.ok()) return nsv.status();
  i = 0;
  for (auto it = nss.begin(); nsv->size() > 0 && it != nss.end(); ++it, ++i) {
    if ((*nsv)[i] == "*") {
      return err.At(*it, Item(Child(path, "namespaces"), i),
                    "\"*\" is not a namespace (omit namespaces for every namespace)");
    }
  }
  rule->namespaces = *std::move(nsv);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RbacPolicy> ParseRbacPolicy(std::string_view text, std::string_view source_name) {
  absl::StatusOr<YAML::Node> root = internal::LoadOneDocument(text, source_name);
  if (!root.ok()) return root.status();
  const Errors err(source_name);
  if (!root->IsMap()) return err.At(*root, "", "expected a mapping with roles and bindings");
  if (absl::Status s = internal::CheckMapping(err, *root, "", {"roles", "bindings"}); !s.ok()) {
    return s;
  }
  RbacPolicy policy;
  std::set<std::string> role_names;

  const YAML::Node roles = Field(*root, "roles");
  if (!roles.IsNull() && !roles.IsSequence()) return err.At(roles, "roles", "expected a sequence");
  size_t i = 0;
  for (auto it = roles.begin(); roles.IsSequence() && it != roles.end(); ++it, ++i) {
    const YAML::Node& r = *it;
    const std::string path = Item("roles", i);
    if (!r.IsMap()) return err.At(r, path, "expected a mapping with name and rules");
    if (absl::Status s = internal::CheckMapping(err, r, path, {"name", "rules"}); !s.ok()) return s;
    Role role;
    const YAML::Node name = Field(r, "name");
    absl::StatusOr<std::string> n = internal::ReadRequiredString(err, r, "name", path);
    if (!n.ok()) return n.status();
    if (!role_names.insert(*n).second) {
      return err.At(name, Child(path, "name"), absl::StrCat("duplicate role ", Quote(*n)));
    }
    role.name = *std::move(n);
    const YAML::Node rules = Field(r, "rules");
    if (!rules.IsNull() && !rules.IsSequence()) {
      return err.At(rules, Child(path, "rules"), "expected a sequence");
    }
    size_t j = 0;
    for (auto rit = rules.begin(); rules.IsSequence() && rit != rules.end(); ++rit, ++j) {
      Rule rule;
      if (absl::Status s = ParseRule(err, *rit, Item(Child(path, "rules"), j), &rule); !s.ok()) {
        return s;
      }
      role.rules.push_back(std::move(rule));
    }
    policy.roles.push_back(std::move(role));
  }

  const YAML::Node bindings = Field(*root, "bindings");
  if (!bindings.IsNull() && !bindings.IsSequence()) {
    return err.At(bindings, "bindings", "expected a sequence");
  }
  i = 0;
  for (auto it = bindings.begin(); bindings.IsSequence() && it != bindings.end(); ++it, ++i) {
    const YAML::Node& b = *it;
    const std::string path = Item("bindings", i);
    if (!b.IsMap()) return err.At(b, path, "expected a mapping with role, users and groups");
    if (absl::Status s = internal::CheckMapping(err, b, path, {"role", "users", "groups"});
        !s.ok()) {
      return s;
    }
    Binding binding;
    const YAML::Node role = Field(b, "role");
    absl::StatusOr<std::string> rn = internal::ReadRequiredString(err, b, "role", path);
    if (!rn.ok()) return rn.status();
    if (!role_names.contains(*rn)) {
      return err.At(role, Child(path, "role"), absl::StrCat("unknown role ", Quote(*rn)));
    }
    binding.role = *std::move(rn);
    absl::StatusOr<std::vector<std::string>> users =
        internal::ReadStringList(err, Field(b, "users"), Child(path, "users"));
    if (!users.ok()) return users.status();
    absl::StatusOr<std::vector<std::string>> groups =
        internal::ReadStringList(err, Field(b, "groups"), Child(path, "groups"));
    if (!groups.ok()) return groups.status();
    if (users->empty() && groups->empty()) {
      return err.At(b, path, "a binding needs users or groups");
    }
    binding.users = *std::move(users);
    binding.groups = *std::move(groups);
    policy.bindings.push_back(std::move(binding));
  }
  return policy;
}

// ---------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------

struct Authorizer::Compiled {
  std::shared_ptr<const RbacPolicy> policy;
  // Rules reachable from each user and group name (pointers into *policy).
  std::map<std::string, std::vector<const Rule*>, std::less<>> by_user;
  std::map<std::string, std::vector<const Rule*>, std::less<>> by_group;

  explicit Compiled(RbacPolicy p) : policy(std::make_shared<const RbacPolicy>(std::move(p))) {
    std::map<std::string_view, const Role*> roles;
    for (const Role& r : policy->roles) roles[r.name] = &r;
    for (const Binding& b : policy->bindings) {
      auto it = roles.find(b.role);
      if (it == roles.end()) continue;  // FromPolicy with a dangling binding grants nothing
      for (const Rule& rule : it->second->rules) {
        for (const std::string& u : b.users) by_user[u].push_back(&rule);
        for (const std::string& g : b.groups) by_group[g].push_back(&rule);
      }
    }
  }

  std::vector<const Rule*> RulesFor(const Identity& id) const {
    std::vector<const Rule*> out;
    if (auto it = by_user.find(id.user); it != by_user.end()) out = it->second;
    for (const std::string& g : id.groups) {
      if (auto it = by_group.find(g); it != by_group.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
      }
    }
    return out;
  }
};

namespace {

// `req` is normalised (see Normalize).
bool RuleMatches(const Rule& rule, const Request& req) {
  if (!rule.all_verbs &&
      std::find(rule.verbs.begin(), rule.verbs.end(), req.verb) == rule.verbs.end()) {
    return false;
  }
  if (!rule.all_resources && std::find(rule.resources.begin(), rule.resources.end(),
                                       req.resource) == rule.resources.end()) {
    return false;
  }
  // A namespace-restricted rule never covers the cluster scope or "every
  // namespace": only requests inside one of its namespaces.
  if (!rule.namespaces.empty() &&
      (req.namespace_name.empty() || !Contains(rule.namespaces, req.namespace_name))) {
    return false;
  }
  if (rule.resource_names.empty()) return true;
  if (IsTiered(req.resource)) {
    for (const std::string& rn : rule.resource_names) {
      std::string_view tier, name;
      if (!SplitTiered(rn, &tier, &name) || tier != req.tier) continue;
      // "<tier>.*" covers the whole tier, collections included; a single
      // policy's name covers only requests for that policy.
      if (name == "*" || (!req.name.empty() && name == req.name)) return true;
    }
    return false;
  }
  // Kubernetes RBAC: a name-restricted rule never allows collection requests.
  return !req.name.empty() && Contains(rule.resource_names, req.name);
}

bool AnyMatches(const std::vector<const Rule*>& rules, const Request& req) {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const Rule* r) { return RuleMatches(*r, req); });
}

// Puts a request in the one form RuleMatches and Reason expect: tiered kinds
// get their tier ("default" when unset) and a name without the "<tier>."
// prefix; tiers carry their name in `name` and no tier.
absl::StatusOr<Request> Normalize(Request r) {
  if (IsClusterScoped(r.resource) && !r.namespace_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Av(ResourceName(r.resource)),
                                                   " are cluster-scoped; got namespace ",
                                                   Quote(r.namespace_name)));
  }
  if (IsTiered(r.resource)) {
    if (r.tier.empty()) r.tier = std::string(kDefaultTier);
    if (r.tier.find('.') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid tier name ", Quote(r.tier)));
    }
    const std::string prefix = absl::StrCat(r.tier, ".");
    if (absl::StartsWith(r.name, prefix) && r.name.size() > prefix.size()) {
      r.name.erase(0, prefix.size());
    }
    return r;
  }
  if (r.resource == Resource::kTiers) {
    if (r.name.empty()) {
      r.name = r.tier;
    } else if (!r.tier.empty() && r.tier != r.name) {
      return absl::InvalidArgumentError(
          absl::StrCat("tiers request names tier ", Quote(r.tier), " and ", Quote(r.name)));
    }
    r.tier.clear();
    return r;
  }
  if (!r.tier.empty() && r.tier != kDefaultTier) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(ResourceName(r.resource)), " are not in tier ", Quote(r.tier)));
  }
  r.tier.clear();
  return r;
}

std::string Reason(const Identity& id, const Request& r) {
  std::string out =
      id.user.empty() ? std::string("anonymous user") : absl::StrCat("user ", Quote(id.user));
  absl::StrAppend(&out, " cannot ", Av(VerbName(r.verb)), " ", Av(ResourceName(r.resource)));
  if (!r.name.empty()) {
    absl::StrAppend(&out, " ",
                    Quote(IsTiered(r.resource) ? absl::StrCat(r.tier, ".", r.name) : r.name));
  }
  if (IsTiered(r.resource)) absl::StrAppend(&out, " in tier ", Quote(r.tier));
  if (!r.namespace_name.empty()) absl::StrAppend(&out, " in namespace ", Quote(r.namespace_name));
  return out;
}

}  // namespace

Authorizer::Authorizer(std::string path, std::shared_ptr<const Compiled> compiled)
    : path_(std::move(path)), compiled_(std::move(compiled)) {}

Authorizer::~Authorizer() = default;

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::FromFile(const std::string& path) {
  absl::StatusOr<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<RbacPolicy> policy = ParseRbacPolicy(*text, path);
  if (!policy.ok()) return policy.status();
  return std::unique_ptr<Authorizer>(
      new Authorizer(path, std::make_shared<const Compiled>(*std::move(policy))));
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::FromYaml(std::string_view text,
                                                                 std::string_view source_name) {
  absl::StatusOr<RbacPolicy> policy = ParseRbacPolicy(text, source_name);
  if (!policy.ok()) return policy.status();
  return FromPolicy(*std::move(policy));
}

std::unique_ptr<Authorizer> Authorizer::FromPolicy(RbacPolicy policy) {
  return std::unique_ptr<Authorizer>(
      new Authorizer("", std::make_shared<const Compiled>(std::move(policy))));
}

absl::Status Authorizer::Reload() {
  if (path_.empty()) {
    return absl::FailedPreconditionError(
        "RBAC policy was not loaded from a file; nothing to reload");
  }
  absl::StatusOr<std::string> text = internal::ReadFile(path_);
  if (!text.ok()) return text.status();
  absl::StatusOr<RbacPolicy> policy = ParseRbacPolicy(*text, path_);
  if (!policy.ok()) return policy.status();
  // Index outside the lock; readers only ever wait for a pointer swap.
  auto fresh = std::make_shared<const Compiled>(*std::move(policy));
  std::lock_guard<std::mutex> lock(mu_);
  compiled_ = std::move(fresh);
  return absl::OkStatus();
}

std::shared_ptr<const RbacPolicy> Authorizer::policy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return compiled_->policy;
}

absl::Status Authorizer::Check(const Identity& identity, const Request& request) const {
  // Malformed requests are reported even for the admin: they are bugs in the
  // caller, and must not pass silently on the one path that skips the rules.
  absl::StatusOr<Request> req = Normalize(request);
  if (!req.ok()) return req.status();
  if (identity.IsLocalAdmin()) return absl::OkStatus();
  // Anonymous callers get nothing, even if some group binding would match.
  if (identity.user.empty()) return absl::PermissionDeniedError(Reason(identity, *req));
  std::shared_ptr<const Compiled> compiled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    compiled = compiled_;
  }
  const std::vector<const Rule*> rules = compiled->RulesFor(identity);
  if (!AnyMatches(rules, *req)) return absl::PermissionDeniedError(Reason(identity, *req));
  if (IsTiered(req->resource)) {
    const Request tier_get{Verb::kGet, Resource::kTiers, "", req->tier, ""};
    if (!AnyMatches(rules, tier_get)) {
      return absl::PermissionDeniedError(
          absl::StrCat(Reason(identity, *req), " (no get on tier ", Quote(req->tier), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status Authorizer::CheckOperation(const Identity& identity, Operation op,
                                        const Target& target, bool exists) const {
  absl::StatusOr<std::vector<Request>> reqs = RequestsFor(op, target, exists);
  if (!reqs.ok()) return reqs.status();
  for (const Request& r : *reqs) {
    if (absl::Status s = Check(identity, r); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace tierwall::ctl::auth
