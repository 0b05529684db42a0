#include "control/api/call_identity.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "control/auth/certificate.h"
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
// Read from the certificate's name entries (auth/certificate.h), never from
// the printed subject: a CN of "mallory\,O=platform" must not become group
// "platform".
std::optional<absl::StatusOr<auth::Identity>> CertificateIdentity(
    const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return std::nullopt;
  std::vector<grpc::string_ref> pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.empty()) return std::nullopt;
  if (pem.size() > 1) {
    return absl::UnauthenticatedError("more than one client certificate on the connection");
  }
  return auth::IdentityFromPemCertificate(std::string_view(pem[0].data(), pem[0].size()));
}

}  // namespace

absl::StatusOr<auth::Identity> CallAuthenticator::Authenticate(
    const grpc::ServerContextBase& context) const {
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
