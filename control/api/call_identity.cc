#include "control/api/call_identity.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace tierwall::ctl::api {

namespace {

// The peer strings gRPC reports: "unix:/path" (or "unix:" for the accepting
// side), "ipv4:1.2.3.4:5", "ipv6:[::1]:5"; in-process channels report
// neither an IP nor a port.
bool IsLocalPeer(const std::string& peer) {
  return !absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:");
}

// The identity of a verified TLS client certificate, if the call has one.
std::optional<absl::StatusOr<auth::Identity>> CertificateIdentity(
    const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return std::nullopt;
  std::string common_name;
  for (const grpc::string_ref& v : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME))
    common_name.assign(v.data(), v.size());
  if (common_name.empty()) return std::nullopt;
  // gRPC exposes the subject as one RFC 2253 string ("CN=alice,O=app-team");
  // the O fields are the groups.
  std::vector<std::string> organizations;
  for (const grpc::string_ref& v : auth->FindPropertyValues("x509_subject")) {
    for (absl::string_view part : absl::StrSplit(absl::string_view(v.data(), v.size()), ',')) {
      part = absl::StripAsciiWhitespace(part);
      if (absl::StartsWith(part, "O=")) organizations.emplace_back(part.substr(2));
    }
  }
  return auth::IdentityFromCertificate(common_name, organizations);
}

}  // namespace

absl::StatusOr<auth::Identity> CallAuthenticator::Authenticate(
    const grpc::ServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  const bool local = IsLocalPeer(context.peer());
  if (it == metadata.end()) {
    if (auto cert = CertificateIdentity(context)) return *cert;
    return AuthenticateHeader("", false, local);
  }
  if (metadata.count("authorization") > 1) {
    // Two headers could make the checks disagree on which one counts.
    return absl::UnauthenticatedError("more than one authorization header");
  }
  return AuthenticateHeader(std::string_view(it->second.data(), it->second.size()), true, local);
}

absl::StatusOr<auth::Identity> CallAuthenticator::AuthenticateHeader(std::string_view authorization,
                                                                     bool has_header,
                                                                     bool local_peer) const {
  if (!has_header) {
    if (options_.local_admin_socket && local_peer) return auth::Identity::LocalAdmin();
    return absl::UnauthenticatedError(
        "missing credentials: send metadata \"authorization: Bearer <token>\"");
  }
  if (options_.tokens == nullptr)
    return absl::UnauthenticatedError("bearer tokens are not enabled");
  return options_.tokens->Authenticate(authorization);
}

}  // namespace tierwall::ctl::api
