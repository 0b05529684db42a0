#include "control/api/call_identity.h"

#include <string>

#include "absl/status/status.h"

namespace tierwall::ctl::api {

absl::StatusOr<auth::Identity> CallAuthenticator::Authenticate(
    const grpc::ServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return AuthenticateHeader("", false);
  if (metadata.count("authorization") > 1) {
    // Two headers could make the checks disagree on which one counts.
    return absl::UnauthenticatedError("more than one authorization header");
  }
  return AuthenticateHeader(std::string_view(it->second.data(), it->second.size()), true);
}

absl::StatusOr<auth::Identity> CallAuthenticator::AuthenticateHeader(std::string_view authorization,
                                                                     bool has_header) const {
  if (!has_header) {
    if (options_.local_admin_socket) return auth::Identity::LocalAdmin();
    return absl::UnauthenticatedError(
        "missing credentials: send metadata \"authorization: Bearer <token>\"");
  }
  if (options_.tokens == nullptr)
    return absl::UnauthenticatedError("bearer tokens are not enabled");
  return options_.tokens->Authenticate(authorization);
}

}  // namespace tierwall::ctl::api
