// tierwall.v1.ResourceService: the store behind gRPC, with authentication and
// tiered RBAC on every call.
//
// Every RPC runs the same steps:
//   1. authenticate (CallAuthenticator: bearer token, or the local admin socket);
//   2. parse the request (SplitDocuments/IdentityOf; INVALID_ARGUMENT "doc N: ...");
//   3. authorise every target with auth::Authorizer::CheckOperation (for a
//      batch: each document's target; the first denial is the answer, with the
//      auth library's reason), using whether the resource exists now;
//   4. for changes: Store::DryRun (so the store's precise codes — ALREADY_EXISTS,
//      NOT_FOUND, ABORTED — come first), then the `validate` callback on the
//      whole state the change would produce, then, unless the call was
//      cancelled or its deadline passed, Store::Commit and `on_commit`.
// absl codes become gRPC codes one to one (the numbers are the same), messages
// kept.
//
// Why the service (and not Store::Options::validate) calls `validate`: the
// daemon owns the compiler and the publisher and hands both in here, so the
// store stays free of them. Changes through this service are serialised by a
// mutex, so the state validated is the state committed as long as this service
// is the store's only writer (as in tierwalld). A second writer would have to
// use Store::Options::validate instead.
//
// Limits: a request's YAML is at most kMaxRequestBytes (limits.h), and each
// user's writes and validations are rate limited (ResourceServiceLimits):
// RESOURCE_EXHAUSTED naming the limit.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/api/call_identity.h"
#include "control/api/compile_budget.h"
#include "control/api/request_limits.h"
#include "control/auth/rbac.h"
#include "control/store/store.h"
#include "tierwall/v1/resources.grpc.pb.h"

namespace tierwall::ctl::api {

// absl::Status -> grpc::Status with the same code number and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Per-user rates (token buckets; the local admin is exempt). Writes: Apply,
// Create, Replace, Delete, Stage, Enforce, Rollback; validations: Validate.
struct ResourceServiceLimits {
  RateLimit writes;       // --api-write-rate
  RateLimit validations;  // --api-validate-rate
  // Estimated rule boxes one request's policies may ask for
  // (compile_budget.h); 0: no budget. Checked before any compile, for writes
  // and dry runs alike.
  uint64_t max_policy_boxes = kDefaultMaxPolicyBoxes;  // --api-max-policy-boxes
};

class ResourceService final : public tierwall::v1::ResourceService::Service {
 public:
  // Checks the state a change would produce (every live resource as one
  // multi-document YAML); an error (INVALID_ARGUMENT, FAILED_PRECONDITION, ...)
  // rejects the change and is returned to the caller as is. May be empty.
  using ValidateFn = std::function<absl::Status(const std::string& yaml)>;
  // Called after every commit, with the new revision and when the RPC
  // started (for the apply-latency metric), on the RPC's thread and under the
  // service's write lock (so the program that `validate` checked a change
  // against is the one running when it is published); returns the program
  // generation that now enforces it on every worker, or an error, which the
  // RPC returns instead of OK (the revision is stored but not enforced). May
  // be empty.
  using OnCommitFn = std::function<absl::StatusOr<uint64_t>(
      int64_t revision, std::chrono::steady_clock::time_point call_started)>;

  // `store` and `authorizer` must outlive the service.
  ResourceService(store::Store* store, const auth::Authorizer* authorizer,
                  CallAuthenticatorOptions authentication, ValidateFn validate,
                  OnCommitFn on_commit, ResourceServiceLimits limits = {});

  grpc::Status Apply(grpc::ServerContext* context, const tierwall::v1::ApplyRequest* request,
                     tierwall::v1::ApplyResponse* response) override;
  grpc::Status Create(grpc::ServerContext* context, const tierwall::v1::CreateRequest* request,
                      tierwall::v1::CreateResponse* response) override;
  grpc::Status Replace(grpc::ServerContext* context, const tierwall::v1::ReplaceRequest* request,
                       tierwall::v1::ReplaceResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context, const tierwall::v1::DeleteRequest* request,
                      tierwall::v1::DeleteResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const tierwall::v1::GetRequest* request,
                   tierwall::v1::GetResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const tierwall::v1::ListRequest* request,
                    tierwall::v1::ListResponse* response) override;
  grpc::Status Validate(grpc::ServerContext* context, const tierwall::v1::ValidateRequest* request,
                        tierwall::v1::ValidateResponse* response) override;
  grpc::Status History(grpc::ServerContext* context, const tierwall::v1::HistoryRequest* request,
                       tierwall::v1::HistoryResponse* response) override;
  grpc::Status Diff(grpc::ServerContext* context, const tierwall::v1::DiffRequest* request,
                    tierwall::v1::DiffResponse* response) override;
  grpc::Status Rollback(grpc::ServerContext* context, const tierwall::v1::RollbackRequest* request,
                        tierwall::v1::RollbackResponse* response) override;
  grpc::Status Stage(grpc::ServerContext* context, const tierwall::v1::StageRequest* request,
                     tierwall::v1::StageResponse* response) override;
  grpc::Status Enforce(grpc::ServerContext* context, const tierwall::v1::EnforceRequest* request,
                       tierwall::v1::EnforceResponse* response) override;
  grpc::Status VerifyAudit(grpc::ServerContext* context,
                           const tierwall::v1::VerifyAuditRequest* request,
                           tierwall::v1::VerifyAuditResponse* response) override;

 private:
  struct Parsed;  // a change's documents with their identities (resource_service.cc)

  struct Committed {
    int64_t revision = 0;
    uint64_t generation = 0;
    std::vector<store::Identity> unchanged;  // wrote what was stored
  };
  absl::StatusOr<Committed> RunChange(
      grpc::ServerContext* context, auth::Operation op, store::Verb verb, const std::string& yaml,
      const std::optional<store::Identity>& ref, std::optional<int64_t> resource_version,
      bool dry_run, google::protobuf::RepeatedPtrField<tierwall::v1::Resource>* resources);
  // The checked commit every change ends in: the store's dry run, `validate_`
  // on the state it would produce, the commit unless the call is gone, then
  // `on_commit_`. `ids[i]` is the identity of `change.mutations[i]`.
  absl::StatusOr<Committed> CommitChecked(grpc::ServerContext* context, const store::Change& change,
                                          const std::vector<store::Identity>& ids, bool dry_run,
                                          std::chrono::steady_clock::time_point call_started);
  // The state `change` would produce, for `validate_`.
  absl::StatusOr<std::string> ProspectiveState(const store::Change& change,
                                               const std::vector<store::Identity>& ids);
  absl::Status CheckTarget(const auth::Identity& who, auth::Operation op, const store::Identity& id,
                           const std::string* yaml);

  store::Store* store_;
  const auth::Authorizer* authorizer_;
  CallAuthenticator authenticator_;
  ValidateFn validate_;
  OnCommitFn on_commit_;
  RateLimiter write_rate_;
  RateLimiter validate_rate_;
  uint64_t max_policy_boxes_;
  // Serialises validate + commit + publish. Dry runs (Validate) do not take
  // it: they commit nothing, and a slow one must not hold up every writer.
  std::mutex write_mu_;
  // `on_commit_` for `revision`, its error naming the stored revision.
  absl::StatusOr<uint64_t> Publish(int64_t revision,
                                   std::chrono::steady_clock::time_point call_started);
};

}  // namespace tierwall::ctl::api
