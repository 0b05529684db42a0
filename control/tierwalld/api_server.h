// The daemon's API endpoint: tierwall.v1 ResourceService, ObserveService and
// the live TraceService, backed by the durable store under --state-dir, with
// standard gRPC health checking and server reflection, on
//   - the local administrator's Unix socket (mode 0600), and
//   - optionally a TLS listener (--api-listen HOST:PORT with --tls-cert/--tls-key;
//     --tls-client-ca makes the server ask for and verify client certificates).
//
// Identity: a call with a bearer token (--tokens) is that token's user, so the
// audit log names a person; else a verified client certificate's CN (groups
// from O); else, on the Unix socket only, the machine's administrator
// (system:admin). Anonymous TCP calls are refused (UNAUTHENTICATED). RBAC
// (--rbac) applies to everyone but system:admin. One service instance serves
// both listeners, so every write goes through one validate-and-commit lock.
//
// Capacity: the Unix socket and the TLS listener are two grpc::Server
// instances, each with its own thread pool, so nothing a remote caller does
// can take the local administrator's threads. Streams (counters --watch,
// flows --follow) use the callback API and hold no thread; each user may hold
// --api-max-streams-per-user of them. gRPC reflection and health answer on
// the Unix socket; on the TLS listener, where they would answer anyone who
// can connect, only with --api-remote-reflection / --api-remote-health.
// Requests are limited to api::kMaxRequestBytes (one limit: the store's
// document limit); a string that is not UTF-8 is INVALID_ARGUMENT.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/api/observe_service.h"
#include "control/api/resource_service.h"
#include "control/auth/identity.h"
#include "control/auth/rbac.h"
#include "control/store/store.h"

namespace grpc {
class Server;
}
namespace CLI {
class App;
}

namespace tierwall::ctl::daemon {

// What the API lets callers do to the daemon's capacity, and what it shows
// to whoever can connect.
struct ApiLimits {
  bool remote_reflection = false;  // --api-remote-reflection
  bool remote_health = false;      // --api-remote-health
  api::StreamLimits streams;       // --api-max-streams-per-user, --api-max-streams
  // --api-write-rate, --api-validate-rate: 60 a minute each, per user;
  // --api-max-policy-boxes.
  api::ResourceServiceLimits rates{.writes = {60, 0}, .validations = {60, 0}};
};

struct ApiConfig {
  std::string socket_path;  // default: <state dir>/tierwall.sock
  std::string tokens_file;  // optional
  std::string rbac_file;    // optional: without it only system:admin may act
  std::string listen;       // optional HOST:PORT for TLS
  std::string tls_cert, tls_key, tls_client_ca;
  ApiLimits limits;
};

// Adds the --api-* flags that set `limits` (group "API").
void AddApiLimitFlags(CLI::App& app, ApiLimits* limits);

class ApiServer {
 public:
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      const ApiConfig& config, store::Store* store, api::ResourceService::ValidateFn validate,
      api::ResourceService::OnCommitFn on_commit, api::ObserveSources observe);
  ~ApiServer();
  const std::string& socket_path() const { return socket_path_; }
  // The TLS port actually bound (for --api-listen HOST:0), 0 without TLS.
  int tls_port() const { return tls_port_; }
  // Health: SERVING once the first program is published and ports are up.
  void SetServing(bool serving);
  // Re-reads --tokens and --rbac (SIGHUP). On an error the files in force
  // stay in force and the error is returned; calls in flight keep the policy
  // they started with.
  absl::Status ReloadAccess();

 private:
  ApiServer() = default;
  std::string socket_path_;
  std::unique_ptr<auth::TokenAuthenticator> tokens_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  int tls_port_ = 0;
  bool reloadable_rbac_ = false;
  std::unique_ptr<api::ResourceService> service_;
  std::unique_ptr<api::ObserveService> observe_;
  std::unique_ptr<api::LiveTraceService> trace_;
  // Destroyed first (declared last): no call runs once the services go.
  std::unique_ptr<grpc::Server> remote_;
  std::unique_ptr<grpc::Server> server_;  // the Unix socket
};

}  // namespace tierwall::ctl::daemon
