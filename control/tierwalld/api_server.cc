#include "control/tierwalld/api_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tierwall::ctl::daemon {

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const ApiConfig& config, store::Store* store, api::ResourceService::ValidateFn validate,
    api::ResourceService::OnCommitFn on_commit) {
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

  ::unlink(config.socket_path.c_str());  // a stale socket from a previous run
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + config.socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(8 << 20);  // a whole policy set, not a stream of them
  builder.SetMaxSendMessageSize(16 << 20);
  s->server_ = builder.BuildAndStart();
  if (!s->server_) {
    return absl::UnavailableError("cannot listen on unix:" + config.socket_path);
  }
  // The socket is the administrator's: only root may connect.
  ::chmod(config.socket_path.c_str(), 0600);
  s->server_->GetHealthCheckService()->SetServingStatus(true);
  return s;
}

ApiServer::~ApiServer() {
  if (server_) {
    server_->Shutdown();
    ::unlink(socket_path_.c_str());
  }
}

}  // namespace tierwall::ctl::daemon
