#include "control/tierwalld/api_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace tierwall::ctl::daemon {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(std::string(flag) + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

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
  s->service_ = std::make_unique<api::ResourceService>(store, s->authorizer_.get(), auth,
                                                       std::move(validate), std::move(on_commit));
  auto program = observe.program;
  s->observe_ =
      std::make_unique<api::ObserveService>(std::move(observe), s->authorizer_.get(), auth);
  s->trace_ = std::make_unique<api::LiveTraceService>(program, s->authorizer_.get(), auth);

  ::unlink(config.socket_path.c_str());  // a stale socket from a previous run
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second server (another tierwalld)
  // on the same --api-listen would share it silently instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort("unix:" + config.socket_path, grpc::InsecureServerCredentials());
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
    builder.AddListeningPort(config.listen, grpc::SslServerCredentials(tls), &s->tls_port_);
  }
  builder.RegisterService(s->service_.get());
  builder.RegisterService(s->observe_.get());
  builder.RegisterService(s->trace_.get());
  builder.SetMaxReceiveMessageSize(8 << 20);  // a whole policy set, not a stream of them
  // Streams (follow, watch) hold a thread each: bound them.
  grpc::ResourceQuota quota("tierwall-api");
  quota.SetMaxThreads(64);
  builder.SetResourceQuota(quota);
  builder.SetMaxSendMessageSize(16 << 20);
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || (!config.listen.empty() && s->tls_port_ == 0)) {
    return absl::UnavailableError("cannot listen on unix:" + config.socket_path +
                                  (config.listen.empty() ? "" : " and " + config.listen));
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
  server_->GetHealthCheckService()->SetServingStatus(serving);
}

ApiServer::~ApiServer() {
  if (server_) {
    // Streams (flows --follow, counters --watch) run until cancelled: give
    // calls in flight a moment, then cancel what is left.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    ::unlink(socket_path_.c_str());
  }
}

}  // namespace tierwall::ctl::daemon
