// The daemon's API endpoint: tierwall.v1 ResourceService on the local
// administrator's Unix socket (mode 0600), backed by the durable store under
// --state-dir, with standard gRPC health checking and server reflection.
//
// Identity on the socket: a call with a bearer token (--tokens) is that
// token's user, so the audit log names a person; a call without one is the
// machine's administrator (system:admin). RBAC (--rbac) applies to token
// users. Remote TLS listeners are not offered yet.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/api/resource_service.h"
#include "control/auth/identity.h"
#include "control/auth/rbac.h"
#include "control/store/store.h"

namespace grpc {
class Server;
}

namespace tierwall::ctl::daemon {

struct ApiConfig {
  std::string socket_path;  // default: <state dir>/tierwall.sock
  std::string tokens_file;  // optional
  std::string rbac_file;    // optional: without it only system:admin may act
};

class ApiServer {
 public:
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      const ApiConfig& config, store::Store* store, api::ResourceService::ValidateFn validate,
      api::ResourceService::OnCommitFn on_commit);
  ~ApiServer();
  const std::string& socket_path() const { return socket_path_; }

 private:
  ApiServer() = default;
  std::string socket_path_;
  std::unique_ptr<auth::TokenAuthenticator> tokens_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<api::ResourceService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace tierwall::ctl::daemon
