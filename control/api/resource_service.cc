#include "control/api/resource_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/api/staging.h"
#include "control/selector/selector.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::api {
namespace {

namespace v1 = ::tierwall::v1;

#define TWAPI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(*tmp)
#define TWAPI_CONCAT2(a, b) a##b
#define TWAPI_CONCAT(a, b) TWAPI_CONCAT2(a, b)
#define TWAPI_ASSIGN_OR_RETURN(lhs, expr) \
  TWAPI_ASSIGN_OR_RETURN_IMPL(TWAPI_CONCAT(twapi_status_or_, __LINE__), lhs, expr)
#define TWAPI_RETURN_IF_ERROR(expr)              \
  do {                                           \
    absl::Status twapi_status = (expr);          \
    if (!twapi_status.ok()) return twapi_status; \
  } while (0)

// Sets program_generation on the responses that have one.
template <typename Committed, typename Response>
void SetGeneration(const Committed& committed, Response* response) {
  if constexpr (requires { response->set_program_generation(uint64_t{0}); }) {
    response->set_program_generation(committed.generation);
  }
}

// The RBAC resource of a canonical store kind.
std::optional<auth::Resource> ResourceOfKind(std::string_view kind) {
  static const std::map<std::string_view, auth::Resource> kKinds = {
      {"Tier", auth::Resource::kTiers},
      {"NetworkPolicy", auth::Resource::kNetworkPolicies},
      {"GlobalNetworkPolicy", auth::Resource::kGlobalNetworkPolicies},
      {"StagedNetworkPolicy", auth::Resource::kStagedNetworkPolicies},
      {"StagedGlobalNetworkPolicy", auth::Resource::kStagedGlobalNetworkPolicies},
      {"KubernetesNetworkPolicy", auth::Resource::kKubernetesNetworkPolicies},
      {"StagedKubernetesNetworkPolicy", auth::Resource::kStagedKubernetesNetworkPolicies},
      {"NetworkSet", auth::Resource::kNetworkSets},
      {"GlobalNetworkSet", auth::Resource::kGlobalNetworkSets},
      {"WorkloadEndpoint", auth::Resource::kWorkloadEndpoints},
      {"HostEndpoint", auth::Resource::kHostEndpoints},
      {"Profile", auth::Resource::kProfiles},
      {"Namespace", auth::Resource::kNamespaces},
      {"ServiceAccount", auth::Resource::kServiceAccounts},
  };
  auto it = kKinds.find(kind);
  if (it == kKinds.end()) return std::nullopt;
  return it->second;
}

// The tier a policy document names: spec.tier, or "default" as in the model.
// nullopt when the document does not parse (the store reports that better).
std::optional<std::string> TierOfDocument(const std::string& yaml) {
  try {
    YAML::Node doc = YAML::Load(yaml);
    if (!doc.IsMap()) return std::nullopt;
    YAML::Node spec = doc["spec"];
    if (spec && spec.IsMap() && spec["tier"] && spec["tier"].IsScalar()) {
      std::string tier = spec["tier"].as<std::string>();
      if (!tier.empty()) return tier;
    }
    return std::string("default");
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

// metadata.labels of a stored document (empty when it has none).
selector::Labels LabelsOfDocument(const std::string& yaml) {
  selector::Labels labels;
  try {
    YAML::Node meta = YAML::Load(yaml)["metadata"];
    if (meta && meta["labels"] && meta["labels"].IsMap())
      for (const auto& kv : meta["labels"])
        labels[kv.first.as<std::string>()] = kv.second.as<std::string>();
  } catch (const YAML::Exception&) {
  }
  return labels;
}

// A policy's tier when only its name is known: Calico names policies of
// non-default tiers "<tier>.<name>" (tier names have no dots).
std::string TierOfName(const std::string& name) {
  size_t dot = name.find('.');
  return dot == std::string::npos ? "default" : name.substr(0, dot);
}

absl::Status WithDoc(size_t index, const absl::Status& s) {
  if (absl::StartsWith(s.message(), "doc ")) return s;
  return absl::Status(s.code(), absl::StrCat("doc ", index + 1, ": ", s.message()));
}

// yaml-cpp reports a syntax error for the whole stream ("line 19, column 1:
// ..."); callers want to know which document, so the line is mapped to the
// document it falls in (separators are "---" lines; a separator before any
// content does not start a new document).
absl::Status NameSyntaxErrorDocument(std::string_view text, const absl::Status& s) {
  if (absl::StartsWith(s.message(), "doc ")) return s;
  size_t at = s.message().find("line ");
  if (at == std::string_view::npos) return s;
  int line = 0;
  for (size_t i = at + 5; i < s.message().size() && absl::ascii_isdigit(s.message()[i]); ++i) {
    line = line * 10 + (s.message()[i] - '0');
  }
  if (line <= 0) return s;
  int doc = 1;
  bool content = false;
  int n = 1;
  for (size_t pos = 0; pos < text.size() && n < line; ++n) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    if (l.substr(0, 3) == "---") {
      if (content) ++doc;
      content = false;
    } else if (size_t first = l.find_first_not_of(" \t\r");
               first != std::string_view::npos && l[first] != '#') {
      content = true;
    }
    pos = end + 1;
  }
  return absl::Status(s.code(), absl::StrCat("doc ", doc, ": ", s.message()));
}

absl::StatusOr<store::Identity> IdentityOfRef(const v1::ResourceRef& ref) {
  if (ref.kind().empty()) return absl::InvalidArgumentError("ref.kind: required field missing");
  if (ref.name().empty()) return absl::InvalidArgumentError("ref.name: required field missing");
  if (!ResourceOfKind(ref.kind())) {
    return absl::InvalidArgumentError(absl::StrCat("ref.kind: unknown kind \"", ref.kind(), "\""));
  }
  store::Identity id{ref.kind(), ref.namespace_(), ref.name()};
  if (store::IsNamespacedKind(id.kind)) {
    if (id.namespace_.empty()) id.namespace_ = "default";
  } else if (!id.namespace_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ref.namespace: ", id.kind, " is not a namespaced kind"));
  }
  return id;
}

void FillResource(const store::Resource& r, v1::Resource* out) {
  out->set_kind(r.identity.kind);
  out->set_namespace_(r.identity.namespace_);
  out->set_name(r.identity.name);
  out->set_revision(r.revision);
  out->set_yaml(r.yaml);
}

// Stops a change whose caller has gone away or whose deadline has passed, so
// that nothing is committed for a call that will be reported as failed.
absl::Status CheckCallAlive(grpc::ServerContext* context) {
  if (context->IsCancelled()) return absl::CancelledError("call cancelled before the commit");
  if (context->deadline() < std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("deadline exceeded before the commit");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share the google.rpc.Code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

ResourceService::ResourceService(store::Store* store, const auth::Authorizer* authorizer,
                                 CallAuthenticatorOptions authentication, ValidateFn validate,
                                 OnCommitFn on_commit, ResourceServiceLimits limits)
    : store_(store),
      authorizer_(authorizer),
      authenticator_(authentication),
      validate_(std::move(validate)),
      on_commit_(std::move(on_commit)),
      write_rate_(limits.writes, "writes", "--api-write-rate"),
      validate_rate_(limits.validations, "validations", "--api-validate-rate"),
      max_policy_boxes_(limits.max_policy_boxes) {}

absl::Status ResourceService::CheckTarget(const auth::Identity& who, auth::Operation op,
                                          const store::Identity& id, const std::string* yaml) {
  std::optional<auth::Resource> resource = ResourceOfKind(id.kind);
  if (!resource) return absl::InvalidArgumentError(absl::StrCat("unknown kind \"", id.kind, "\""));
  absl::StatusOr<store::Resource> current = store_->Get(id);
  if (!current.ok() && current.status().code() != absl::StatusCode::kNotFound) {
    return current.status();
  }
  const bool exists = current.ok();

  auth::Target target{*resource, "", id.name, id.namespace_};
  if (*resource == auth::Resource::kTiers) {
    target.tier = id.name;
    return authorizer_->CheckOperation(who, op, target, exists);
  }
  if (!auth::IsTiered(*resource)) return authorizer_->CheckOperation(who, op, target, exists);

  // Tiered: the tiers that count are the one the request names (a document's
  // spec.tier) and the one the stored policy is in. Both are checked, or an
  // editor of tier A could overwrite a policy of tier B by re-tiering it.
  std::vector<std::string> tiers;
  if (yaml != nullptr) {
    if (std::optional<std::string> t = TierOfDocument(*yaml)) tiers.push_back(*t);
  }
  if (exists) {
    if (std::optional<std::string> t = TierOfDocument(current->yaml)) {
      if (tiers.empty() || tiers[0] != *t) tiers.push_back(*t);
    }
  } else if (yaml == nullptr) {
    // Gone or never there (history/diff of a deleted policy, a delete or get
    // of a missing one): its last version's tier, else the name's prefix.
    std::string tier = TierOfName(id.name);
    if (absl::StatusOr<std::vector<store::HistoryEntry>> h = store_->History(id); h.ok()) {
      for (auto it = h->rbegin(); it != h->rend(); ++it) {
        if (it->verb == "delete") continue;
        if (absl::StatusOr<std::string> y = store_->VersionAt(id, it->revision); y.ok()) {
          if (std::optional<std::string> t = TierOfDocument(*y)) tier = *t;
        }
        break;
      }
    }
    tiers.push_back(tier);
  }
  if (tiers.empty()) tiers.push_back(TierOfName(id.name));
  for (const std::string& tier : tiers) {
    target.tier = tier;
    TWAPI_RETURN_IF_ERROR(authorizer_->CheckOperation(who, op, target, exists));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResourceService::ProspectiveState(
    const store::Change& change, const std::vector<store::Identity>& ids) {
  TWAPI_ASSIGN_OR_RETURN(std::vector<store::Resource> live, store_->List());
  std::map<store::Identity, std::string> state;
  for (store::Resource& r : live) state[r.identity] = std::move(r.yaml);
  for (size_t i = 0; i < change.mutations.size(); ++i) {
    if (change.mutations[i].verb == store::Verb::kDelete) {
      state.erase(ids[i]);
    } else {
      state[ids[i]] = change.mutations[i].yaml;
    }
  }
  std::string out;
  for (const auto& [id, yaml] : state) {
    if (!out.empty()) out += "---\n";
    out += yaml;
    if (!yaml.empty() && yaml.back() != '\n') out += '\n';
  }
  return out;
}

absl::StatusOr<ResourceService::Committed> ResourceService::RunChange(
    grpc::ServerContext* context, auth::Operation op, store::Verb verb, const std::string& yaml,
    const std::optional<store::Identity>& ref, std::optional<int64_t> resource_version,
    bool dry_run, google::protobuf::RepeatedPtrField<v1::Resource>* resources) {
  const auto started = std::chrono::steady_clock::now();
  TWAPI_ASSIGN_OR_RETURN(auth::Identity who, authenticator_.Authenticate(*context));
  TWAPI_RETURN_IF_ERROR(CheckRequestSize(yaml.size()));

  store::Change change;
  change.user = who.user;
  std::vector<store::Identity> ids;
  if (ref) {
    store::Mutation m;
    m.verb = verb;
    m.identity = *ref;
    change.mutations.push_back(std::move(m));
    ids.push_back(*ref);
  } else {
    absl::StatusOr<std::vector<std::string>> split = store::SplitDocuments(yaml);
    if (!split.ok()) return NameSyntaxErrorDocument(yaml, split.status());
    std::vector<std::string> docs = std::move(*split);
    if (docs.empty()) return absl::InvalidArgumentError("no resources in the request");
    for (size_t i = 0; i < docs.size(); ++i) {
      absl::StatusOr<store::Identity> id = store::IdentityOf(docs[i]);
      if (!id.ok()) return WithDoc(i, id.status());
      ids.push_back(*id);
      change.mutations.push_back(store::Mutation{verb, std::move(docs[i]), std::nullopt, {}});
    }
  }
  if (resource_version) {
    if (change.mutations.size() != 1) {
      return absl::InvalidArgumentError(
          "resource_version: only with exactly one resource (give each document its "
          "metadata.resourceVersion instead)");
    }
    change.mutations[0].expected_revision = *resource_version;
  }

  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string* doc = ref ? nullptr : &change.mutations[i].yaml;
    if (verb == store::Verb::kDelete) doc = nullptr;  // only the identity counts
    TWAPI_RETURN_IF_ERROR(CheckTarget(who, op, ids[i], doc));
  }
  TWAPI_RETURN_IF_ERROR((dry_run ? validate_rate_ : write_rate_).Take(who));
  // Before any compile: one document must not make the compile (of this
  // call, and of every later one) take minutes and gigabytes.
  if (verb != store::Verb::kDelete && !ref) {
    uint64_t total = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      TWAPI_RETURN_IF_ERROR(
          WithDoc(i, CheckCompileBudget(change.mutations[i].yaml, ids[i].ToString(),
                                        max_policy_boxes_, &total)));
    }
  }

  TWAPI_ASSIGN_OR_RETURN(Committed committed,
                         CommitChecked(context, change, ids, dry_run, started));
  if (dry_run) return committed;
  const int64_t revision = committed.revision;
  for (const store::Identity& id : ids) {
    v1::Resource* out = resources->Add();
    if (verb == store::Verb::kDelete) {
      FillResource(store::Resource{id, revision, ""}, out);
      continue;
    }
    absl::StatusOr<store::Resource> r = store_->Get(id);
    // Only a later change can make it differ; report what we wrote then.
    FillResource(r.ok() ? *r : store::Resource{id, revision, ""}, out);
    out->set_unchanged(std::find(committed.unchanged.begin(), committed.unchanged.end(), id) !=
                       committed.unchanged.end());
  }
  return committed;
}

absl::StatusOr<ResourceService::Committed> ResourceService::CommitChecked(
    grpc::ServerContext* context, const store::Change& change,
    const std::vector<store::Identity>& ids, bool dry_run,
    std::chrono::steady_clock::time_point call_started) {
  Committed out;
  {
    // A dry run reads a consistent snapshot (the store is thread-safe) and
    // commits nothing, so it takes no lock: an expensive Validate must not
    // hold up every writer behind it.
    std::unique_lock<std::mutex> lock(write_mu_, std::defer_lock);
    if (!dry_run) lock.lock();
    // The store's own checks first: their codes (ALREADY_EXISTS, ABORTED, ...)
    // say more than a compile error about the same batch would.
    TWAPI_ASSIGN_OR_RETURN(out.revision, store_->DryRun(change, &out.unchanged));
    if (out.unchanged.size() == change.mutations.size()) return out;  // nothing to do
    if (validate_) {
      TWAPI_ASSIGN_OR_RETURN(std::string state, ProspectiveState(change, ids));
      TWAPI_RETURN_IF_ERROR(validate_(state));
    }
    if (dry_run) return out;
    TWAPI_RETURN_IF_ERROR(CheckCallAlive(context));
    TWAPI_ASSIGN_OR_RETURN(out.revision, store_->Commit(change, &out.unchanged));
    TWAPI_ASSIGN_OR_RETURN(out.generation, Publish(out.revision, call_started));
  }
  return out;
}

absl::StatusOr<uint64_t> ResourceService::Publish(
    int64_t revision, std::chrono::steady_clock::time_point call_started) {
  if (!on_commit_) return 0;
  absl::StatusOr<uint64_t> generation = on_commit_(revision, call_started);
  if (generation.ok()) return generation;
  // Never OK for a revision the workers do not run: the caller learns that it
  // is stored (history shows it) and that the running program is older.
  return absl::Status(generation.status().code(),
                      absl::StrCat("revision ", revision,
                                   " is stored but not enforced: ", generation.status().message()));
}

grpc::Status ResourceService::Apply(grpc::ServerContext* context, const v1::ApplyRequest* request,
                                    v1::ApplyResponse* response) {
  std::optional<int64_t> rv;
  if (request->has_resource_version()) rv = request->resource_version();
  absl::StatusOr<Committed> revision =
      RunChange(context, auth::Operation::kApply, store::Verb::kApply, request->yaml(),
                std::nullopt, rv, false, response->mutable_resources());
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  response->set_revision(revision->revision);
  SetGeneration(*revision, response);
  return grpc::Status::OK;
}

grpc::Status ResourceService::Create(grpc::ServerContext* context, const v1::CreateRequest* request,
                                     v1::CreateResponse* response) {
  absl::StatusOr<Committed> revision =
      RunChange(context, auth::Operation::kCreate, store::Verb::kCreate, request->yaml(),
                std::nullopt, std::nullopt, false, response->mutable_resources());
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  response->set_revision(revision->revision);
  SetGeneration(*revision, response);
  return grpc::Status::OK;
}

grpc::Status ResourceService::Replace(grpc::ServerContext* context,
                                      const v1::ReplaceRequest* request,
                                      v1::ReplaceResponse* response) {
  std::optional<int64_t> rv;
  if (request->has_resource_version()) rv = request->resource_version();
  absl::StatusOr<Committed> revision =
      RunChange(context, auth::Operation::kReplace, store::Verb::kReplace, request->yaml(),
                std::nullopt, rv, false, response->mutable_resources());
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  response->set_revision(revision->revision);
  SetGeneration(*revision, response);
  return grpc::Status::OK;
}

grpc::Status ResourceService::Delete(grpc::ServerContext* context, const v1::DeleteRequest* request,
                                     v1::DeleteResponse* response) {
  // Authenticate before looking at the request (RunChange does it again).
  if (absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context); !who.ok()) {
    return ToGrpcStatus(who.status());
  }
  std::optional<int64_t> rv;
  if (request->has_resource_version()) rv = request->resource_version();
  std::optional<store::Identity> ref;
  if (request->has_ref()) {
    absl::StatusOr<store::Identity> id = IdentityOfRef(request->ref());
    if (!id.ok()) return ToGrpcStatus(id.status());
    ref = *id;
  } else if (!request->has_yaml()) {
    return ToGrpcStatus(absl::InvalidArgumentError("target: give yaml or ref"));
  }
  absl::StatusOr<Committed> revision =
      RunChange(context, auth::Operation::kDelete, store::Verb::kDelete, request->yaml(), ref, rv,
                false, response->mutable_resources());
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  response->set_revision(revision->revision);
  SetGeneration(*revision, response);
  return grpc::Status::OK;
}

grpc::Status ResourceService::Validate(grpc::ServerContext* context,
                                       const v1::ValidateRequest* request,
                                       v1::ValidateResponse* response) {
  // A dry run needs the rights of the real call (rbac.h), so the operation
  // checked is the one being validated.
  auth::Operation op = auth::Operation::kValidate;
  store::Verb verb = store::Verb::kApply;
  switch (request->operation()) {
    case v1::ValidateRequest::OPERATION_CREATE:
      op = auth::Operation::kCreate;
      verb = store::Verb::kCreate;
      break;
    case v1::ValidateRequest::OPERATION_REPLACE:
      op = auth::Operation::kReplace;
      verb = store::Verb::kReplace;
      break;
    case v1::ValidateRequest::OPERATION_DELETE:
      op = auth::Operation::kDelete;
      verb = store::Verb::kDelete;
      break;
    default: break;
  }
  std::optional<int64_t> rv;
  if (request->has_resource_version()) rv = request->resource_version();
  google::protobuf::RepeatedPtrField<v1::Resource> unused;
  absl::StatusOr<Committed> revision =
      RunChange(context, op, verb, request->yaml(), std::nullopt, rv, true, &unused);
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  response->set_revision(revision->revision);
  SetGeneration(*revision, response);
  return grpc::Status::OK;
}

grpc::Status ResourceService::Get(grpc::ServerContext* context, const v1::GetRequest* request,
                                  v1::GetResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<store::Identity> id = IdentityOfRef(request->ref());
  if (!id.ok()) return ToGrpcStatus(id.status());
  if (absl::Status s = CheckTarget(*who, auth::Operation::kGet, *id, nullptr); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (request->revision() == 0) {
    absl::StatusOr<store::Resource> r = store_->Get(*id);
    if (!r.ok()) return ToGrpcStatus(r.status());
    FillResource(*r, response->mutable_resource());
    return grpc::Status::OK;
  }
  absl::StatusOr<std::string> yaml = store_->VersionAt(*id, request->revision());
  if (!yaml.ok()) return ToGrpcStatus(yaml.status());
  // The revision of that version: the last change at or before the one asked.
  int64_t revision = request->revision();
  if (absl::StatusOr<std::vector<store::HistoryEntry>> h = store_->History(*id); h.ok()) {
    for (const store::HistoryEntry& e : *h) {
      if (e.revision <= request->revision()) revision = e.revision;
    }
  }
  FillResource(store::Resource{*id, revision, *yaml}, response->mutable_resource());
  return grpc::Status::OK;
}

grpc::Status ResourceService::List(grpc::ServerContext* context, const v1::ListRequest* request,
                                   v1::ListResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (!request->kind().empty() && !ResourceOfKind(request->kind())) {
    return ToGrpcStatus(
        absl::InvalidArgumentError(absl::StrCat("kind: unknown kind \"", request->kind(), "\"")));
  }
  std::optional<selector::Selector> labels;
  if (!request->label_selector().empty()) {
    absl::StatusOr<selector::Selector> parsed =
        selector::Selector::Parse(request->label_selector());
    if (!parsed.ok()) {
      return ToGrpcStatus(
          absl::InvalidArgumentError(absl::StrCat("label_selector: ", parsed.status().message())));
    }
    labels = std::move(*parsed);
  }
  absl::StatusOr<int64_t> revision = store_->CurrentRevision();
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  absl::StatusOr<std::vector<store::Resource>> all =
      store_->List(request->kind(), request->namespace_());
  if (!all.ok()) return ToGrpcStatus(all.status());
  // A list across tiers and namespaces is many requests (rbac.h): each
  // collection is checked once and what the caller may not list is left out.
  std::map<std::string, bool> allowed;
  auto may = [&](const auth::Request& r) {
    std::string key = absl::StrCat(static_cast<int>(r.verb), "|", static_cast<int>(r.resource), "|",
                                   r.tier, "|", r.name, "|", r.namespace_name);
    auto [it, inserted] = allowed.try_emplace(std::move(key), false);
    if (inserted) it->second = authorizer_->Allowed(*who, r);
    return it->second;
  };
  response->set_revision(*revision);
  for (const store::Resource& r : *all) {
    auth::Resource resource = *ResourceOfKind(r.identity.kind);
    if (!request->tier().empty() &&
        (!auth::IsTiered(resource) || TierOfDocument(r.yaml).value_or("") != request->tier())) {
      continue;
    }
    if (labels && !labels->Matches(LabelsOfDocument(r.yaml))) continue;
    bool ok = false;
    if (resource == auth::Resource::kTiers) {
      // Calico Enterprise shows the tiers a user may get.
      ok = may({auth::Verb::kList, resource, "", "", ""}) ||
           may({auth::Verb::kGet, resource, r.identity.name, r.identity.name, ""});
    } else {
      std::string tier;
      if (auth::IsTiered(resource)) tier = TierOfDocument(r.yaml).value_or("default");
      ok = may({auth::Verb::kList, resource, tier, "", r.identity.namespace_});
    }
    if (ok) FillResource(r, response->add_resources());
  }
  return grpc::Status::OK;
}

grpc::Status ResourceService::History(grpc::ServerContext* context,
                                      const v1::HistoryRequest* request,
                                      v1::HistoryResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<store::Identity> id = IdentityOfRef(request->ref());
  if (!id.ok()) return ToGrpcStatus(id.status());
  if (absl::Status s = CheckTarget(*who, auth::Operation::kHistory, *id, nullptr); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<std::vector<store::HistoryEntry>> h = store_->History(*id);
  if (!h.ok()) return ToGrpcStatus(h.status());
  for (const store::HistoryEntry& e : *h) {
    v1::HistoryEntry* out = response->add_entries();
    out->set_revision(e.revision);
    out->set_time(e.time);
    out->set_user(e.user);
    out->set_verb(e.verb);
  }
  return grpc::Status::OK;
}

grpc::Status ResourceService::Diff(grpc::ServerContext* context, const v1::DiffRequest* request,
                                   v1::DiffResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<store::Identity> id = IdentityOfRef(request->ref());
  if (!id.ok()) return ToGrpcStatus(id.status());
  if (absl::Status s = CheckTarget(*who, auth::Operation::kDiff, *id, nullptr); !s.ok()) {
    return ToGrpcStatus(s);
  }
  std::optional<int64_t> to;
  if (request->has_to_revision()) to = request->to_revision();
  absl::StatusOr<std::string> diff = store_->Diff(*id, request->from_revision(), to);
  if (!diff.ok()) return ToGrpcStatus(diff.status());
  response->set_diff(*diff);
  return grpc::Status::OK;
}

grpc::Status ResourceService::Rollback(grpc::ServerContext* context,
                                       const v1::RollbackRequest* request,
                                       v1::RollbackResponse* response) {
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::StatusOr<store::Identity> id = IdentityOfRef(request->ref());
  if (!id.ok()) return ToGrpcStatus(id.status());
  absl::StatusOr<std::string> old_yaml = store_->VersionAt(*id, request->revision());
  if (!old_yaml.ok()) {
    // Whether it existed then is only for callers who could roll it back.
    if (old_yaml.status().code() == absl::StatusCode::kNotFound) {
      if (absl::Status s = CheckTarget(*who, auth::Operation::kRollback, *id, nullptr); !s.ok()) {
        return ToGrpcStatus(s);
      }
    }
    return ToGrpcStatus(old_yaml.status());
  }
  // The old version is what gets written, so its tier is checked (and the
  // current one's, by CheckTarget).
  if (absl::Status s = CheckTarget(*who, auth::Operation::kRollback, *id, &*old_yaml); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = write_rate_.Take(*who); !s.ok()) return ToGrpcStatus(s);
  int64_t revision = 0;
  bool unchanged = false;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (validate_) {
      store::Change change;
      change.mutations.push_back(store::Mutation{store::Verb::kApply, *old_yaml, std::nullopt, {}});
      absl::StatusOr<std::string> state = ProspectiveState(change, {*id});
      if (!state.ok()) return ToGrpcStatus(state.status());
      if (absl::Status s = validate_(*state); !s.ok()) return ToGrpcStatus(s);
    }
    if (absl::Status s = CheckCallAlive(context); !s.ok()) return ToGrpcStatus(s);
    absl::StatusOr<int64_t> before = store_->CurrentRevision();
    if (!before.ok()) return ToGrpcStatus(before.status());
    absl::StatusOr<int64_t> r = store_->Rollback(*id, request->revision(), who->user);
    if (!r.ok()) return ToGrpcStatus(r.status());
    revision = *r;
    unchanged = revision == *before;  // it already reads as it did then
    if (!unchanged) {
      absl::StatusOr<uint64_t> generation = Publish(revision, started);
      if (!generation.ok()) return ToGrpcStatus(generation.status());
      response->set_program_generation(*generation);
    }
  }
  response->set_revision(revision);
  absl::StatusOr<store::Resource> now = store_->Get(*id);
  if (now.ok()) FillResource(*now, response->mutable_resource());
  response->mutable_resource()->set_unchanged(unchanged);
  return grpc::Status::OK;
}

grpc::Status ResourceService::Stage(grpc::ServerContext* context, const v1::StageRequest* request,
                                    v1::StageResponse* response) {
  // Authenticate before looking at the request (RunChange does it again).
  if (absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context); !who.ok()) {
    return ToGrpcStatus(who.status());
  }
  if (absl::Status s = CheckRequestSize(request->yaml().size()); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::vector<std::string>> docs = store::SplitDocuments(request->yaml());
  if (!docs.ok()) return ToGrpcStatus(NameSyntaxErrorDocument(request->yaml(), docs.status()));
  if (docs->size() != 1) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("yaml: stage takes exactly one policy, got ", docs->size(), " documents")));
  }
  absl::StatusOr<std::string> staged = ToStagedDocument(docs->front());
  if (!staged.ok()) return ToGrpcStatus(WithDoc(0, staged.status()));
  google::protobuf::RepeatedPtrField<v1::Resource> written;
  absl::StatusOr<Committed> committed =
      RunChange(context, auth::Operation::kStage, store::Verb::kStage, *staged, std::nullopt,
                std::nullopt, false, &written);
  if (!committed.ok()) return ToGrpcStatus(committed.status());
  response->set_revision(committed->revision);
  response->set_program_generation(committed->generation);
  if (!written.empty()) *response->mutable_resource() = written[0];
  return grpc::Status::OK;
}

grpc::Status ResourceService::Enforce(grpc::ServerContext* context,
                                      const v1::EnforceRequest* request,
                                      v1::EnforceResponse* response) {
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  v1::ResourceRef ref = request->ref();
  const std::string staged_kind = StagedKindOf(ref.kind());
  if (!ref.kind().empty() && staged_kind.empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("ref.kind: enforce takes a staged policy, not \"", ref.kind(), "\"")));
  }
  ref.set_kind(staged_kind);
  absl::StatusOr<store::Identity> staged_id = IdentityOfRef(ref);
  if (!staged_id.ok()) return ToGrpcStatus(staged_id.status());
  // Reading the staged policy needs get on it: check before saying whether it
  // exists.
  if (absl::Status s = CheckTarget(*who, auth::Operation::kGet, *staged_id, nullptr); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<store::Resource> staged = store_->Get(*staged_id);
  if (!staged.ok()) {
    if (staged.status().code() == absl::StatusCode::kNotFound) {
      return ToGrpcStatus(absl::NotFoundError(
          absl::StrCat(staged_id->ToString(), ": no such staged policy (stage a change first)")));
    }
    return ToGrpcStatus(staged.status());
  }
  absl::StatusOr<EnforcedForm> enforced = ToEnforcedDocument(staged->yaml);
  if (!enforced.ok()) return ToGrpcStatus(enforced.status());
  absl::StatusOr<store::Identity> enforced_id = store::IdentityOf(enforced->yaml);
  if (!enforced_id.ok()) return ToGrpcStatus(enforced_id.status());

  store::Change change;
  change.user = who->user;
  std::vector<store::Identity> ids;
  if (enforced->delete_enforced) {
    if (absl::Status s = CheckTarget(*who, auth::Operation::kDelete, *enforced_id, nullptr);
        !s.ok()) {
      return ToGrpcStatus(s);
    }
    store::Mutation m;
    m.verb = store::Verb::kDelete;
    m.identity = *enforced_id;
    change.mutations.push_back(std::move(m));
  } else {
    // Both the staged document's tier and the enforced policy's current tier
    // are checked (CheckTarget), as for an apply.
    if (absl::Status s = CheckTarget(*who, auth::Operation::kApply, *enforced_id, &enforced->yaml);
        !s.ok()) {
      return ToGrpcStatus(s);
    }
    change.mutations.push_back(
        store::Mutation{store::Verb::kEnforce, enforced->yaml, std::nullopt, {}});
  }
  ids.push_back(*enforced_id);
  if (absl::Status s = CheckTarget(*who, auth::Operation::kDelete, *staged_id, nullptr); !s.ok()) {
    return ToGrpcStatus(s);
  }
  store::Mutation remove_staged;
  remove_staged.verb = store::Verb::kDelete;
  remove_staged.identity = *staged_id;
  // Enforcing what someone else re-staged meanwhile would enforce a policy
  // nobody reviewed: the staged version read above must still be current.
  remove_staged.expected_revision = staged->revision;
  change.mutations.push_back(std::move(remove_staged));
  ids.push_back(*staged_id);
  if (absl::Status s = write_rate_.Take(*who); !s.ok()) return ToGrpcStatus(s);

  absl::StatusOr<Committed> committed = CommitChecked(context, change, ids, false, started);
  if (!committed.ok()) return ToGrpcStatus(committed.status());
  response->set_revision(committed->revision);
  response->set_program_generation(committed->generation);
  if (enforced->delete_enforced) {
    FillResource(store::Resource{*enforced_id, committed->revision, ""},
                 response->mutable_resource());
  } else if (absl::StatusOr<store::Resource> now = store_->Get(*enforced_id); now.ok()) {
    FillResource(*now, response->mutable_resource());
  }
  return grpc::Status::OK;
}

grpc::Status ResourceService::VerifyAudit(grpc::ServerContext* context,
                                          const v1::VerifyAuditRequest*,
                                          v1::VerifyAuditResponse* response) {
  absl::StatusOr<auth::Identity> who = authenticator_.Authenticate(*context);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (absl::Status s = authorizer_->CheckOperation(
          *who, auth::Operation::kList, auth::Target{auth::Resource::kAudit, "", "", ""}, true);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = store_->VerifyAudit(); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::vector<store::AuditRecord>> records = store_->Audit();
  if (!records.ok()) return ToGrpcStatus(records.status());
  response->set_records(static_cast<int64_t>(records->size()));
  if (!records->empty()) response->set_latest_hash(records->back().hash);
  absl::StatusOr<int64_t> revision = store_->CurrentRevision();
  if (revision.ok()) response->set_revision(*revision);
  return grpc::Status::OK;
}

}  // namespace tierwall::ctl::api
