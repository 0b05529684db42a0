#include "control/tierwalld/api_server.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

#include "CLI/CLI.hpp"
#include "control/api/request_limits.h"

namespace tierwall::ctl::daemon {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(std::string(flag) + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Leaves gRPC's reflection plugin (installed process-wide by
// InitProtoReflectionServerBuilderPlugin) out of one builder.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
      return p->name() == "proto_server_reflection";
    });
  }
};

// What both listeners share: the services, the limits, the UTF-8 interceptor.
void Configure(grpc::ServerBuilder& builder, const std::vector<grpc::Service*>& services) {
  for (grpc::Service* service : services) builder.RegisterService(service);
  // Larger than the request limit, so that the services, not gRPC's core,
  // refuse what is over it, with a message that names the limit.
  builder.SetMaxReceiveMessageSize(static_cast<int>(api::kGrpcMaxReceiveBytes));
  builder.SetMaxSendMessageSize(16 << 20);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(api::MakeParseErrorInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
}

}  // namespace

void AddApiLimitFlags(CLI::App& app, ApiLimits* limits) {
  app.add_flag("--api-remote-reflection", limits->remote_reflection,
               "Serve gRPC reflection on the TLS listener too (it lists every method to anyone "
               "who connects, and each open reflection stream holds a thread of the TLS "
               "listener's 64; always on the Unix socket)")
      ->group("API");
  app.add_flag("--api-remote-health", limits->remote_health,
               "Serve gRPC health on the TLS listener too (unauthenticated; always on the Unix "
               "socket)")
      ->group("API");
  app.add_option("--api-max-streams-per-user", limits->streams.per_user,
                 "Open WatchCounters/FollowFlows streams one user may hold (the local admin is "
                 "not limited)")
      ->capture_default_str()
      ->group("API");
  app.add_option("--api-max-streams", limits->streams.total,
                 "Open streams in all, the local admin's excepted")
      ->capture_default_str()
      ->group("API");
  app.add_option("--api-write-rate", limits->rates.writes.per_minute,
                 "Writes (apply, create, replace, delete, stage, enforce, rollback) per user per "
                 "minute, in bursts of as many; 0: unlimited; the local admin is not limited")
      ->capture_default_str()
      ->group("API");
  app.add_option("--api-max-policy-boxes", limits->rates.max_policy_boxes,
                 "Compile budget: estimated rule boxes (rules x protocols x nets x ports) one "
                 "request's policies may ask for, in writes and validations alike; 0: no budget")
      ->capture_default_str()
      ->group("API");
  app.add_option("--api-validate-rate", limits->rates.validations.per_minute,
                 "Validations (dry runs) per user per minute; 0: unlimited")
      ->capture_default_str()
      ->group("API");
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const ApiConfig& config, store::Store* store, api::ResourceService::ValidateFn validate,
    api::ResourceService::OnCommitFn on_commit, api::ObserveSources observe) {
  std::unique_ptr<ApiServer> s(new ApiServer());
  s->socket_path_ = config.socket_path;
  if (!config.tokens_file.empty()) {
    auto tokens = auth::TokenAuthenticator::FromFile(config.tokens_file);
    if (!tokens.ok()) return tokens.status();
    s->tokens_ = std::move(*tokens);
  }
  if (!config.rbac_file.empty()) {
    auto rbac = auth::Authorizer::FromFile(config.rbac_file);
    if (!rbac.ok()) return rbac.status();
    s->authorizer_ = std::move(*rbac);
    s->reloadable_rbac_ = true;
  } else {
    auto none = auth::Authorizer::FromYaml("roles: []\nbindings: []\n", "(no --rbac)");
    if (!none.ok()) return none.status();
    s->authorizer_ = std::move(*none);
  }
  api::CallAuthenticatorOptions auth;
  auth.tokens = s->tokens_.get();
  auth.local_admin_socket = true;
  s->service_ =
      std::make_unique<api::ResourceService>(store, s->authorizer_.get(), auth, std::move(validate),
                                             std::move(on_commit), config.limits.rates);
  auto program = observe.program;
  s->observe_ = std::make_unique<api::ObserveService>(std::move(observe), s->authorizer_.get(),
                                                      auth, config.limits.streams);
  s->trace_ = std::make_unique<api::LiveTraceService>(program, s->authorizer_.get(), auth);

  ::unlink(config.socket_path.c_str());  // a stale socket from a previous run
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const std::vector<grpc::Service*> services{s->service_.get(), s->observe_.get(), s->trace_.get()};
  {
    grpc::ServerBuilder local;
    local.AddListeningPort("unix:" + config.socket_path, grpc::InsecureServerCredentials());
    Configure(local, services);
    grpc::ResourceQuota quota("tierwall-api-local");
    quota.SetMaxThreads(16);
    local.SetResourceQuota(quota);
    s->server_ = local.BuildAndStart();
    if (!s->server_) return absl::UnavailableError("cannot listen on unix:" + config.socket_path);
  }
  if (!config.listen.empty()) {
    if (config.tls_cert.empty() || config.tls_key.empty()) {
      return absl::InvalidArgumentError(
          "--api-listen needs --tls-cert and --tls-key: tokens never travel in clear text");
    }
    grpc::SslServerCredentialsOptions tls(config.tls_client_ca.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    auto cert = ReadFile(config.tls_cert, "--tls-cert");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(config.tls_key, "--tls-key");
    if (!key.ok()) return key.status();
    tls.pem_key_cert_pairs.push_back({*key, *cert});
    if (!config.tls_client_ca.empty()) {
      auto ca = ReadFile(config.tls_client_ca, "--tls-client-ca");
      if (!ca.ok()) return ca.status();
      tls.pem_root_certs = *ca;
    }
    grpc::ServerBuilder remote;
    // gRPC sets SO_REUSEPORT by default: a second server (another tierwalld)
    // on the same --api-listen would share it silently instead of failing.
    remote.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    remote.AddListeningPort(config.listen, grpc::SslServerCredentials(tls), &s->tls_port_);
    Configure(remote, services);
    // Reflection lists every method and message to whoever connects, and a
    // reflection stream held a thread: off unless asked for. Health, too,
    // answers without credentials.
    if (!config.limits.remote_reflection) remote.SetOption(std::make_unique<WithoutReflection>());
    if (!config.limits.remote_health) {
      remote.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    }
    // Unary calls only (streams hold no thread): this many remote calls may
    // run at once; beyond, gRPC answers RESOURCE_EXHAUSTED.
    grpc::ResourceQuota quota("tierwall-api-remote");
    quota.SetMaxThreads(64);
    remote.SetResourceQuota(quota);
    s->remote_ = remote.BuildAndStart();
    if (!s->remote_ || s->tls_port_ == 0) {
      return absl::UnavailableError("cannot listen on " + config.listen);
    }
  }
  // The socket is the administrator's: only root may connect.
  ::chmod(config.socket_path.c_str(), 0600);
  s->SetServing(false);  // until the daemon says ports are up
  return s;
}

absl::Status ApiServer::ReloadAccess() {
  if (tokens_) {
    if (absl::Status s = tokens_->Reload(); !s.ok()) return s;
  }
  if (reloadable_rbac_) {
    if (absl::Status s = authorizer_->Reload(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void ApiServer::SetServing(bool serving) {
  for (grpc::Server* server : {server_.get(), remote_.get()}) {
    if (server && server->GetHealthCheckService()) {
      server->GetHealthCheckService()->SetServingStatus(serving);
    }
  }
}

ApiServer::~ApiServer() {
  // Streams (flows --follow, counters --watch) run until cancelled: give
  // calls in flight a moment, then cancel what is left.
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(1);
  if (remote_) remote_->Shutdown(deadline);
  if (server_) {
    server_->Shutdown(deadline);
    ::unlink(socket_path_.c_str());
  }
}

}  // namespace tierwall::ctl::daemon
