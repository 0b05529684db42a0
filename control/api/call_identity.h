// Who is calling, per gRPC call.
//
// Why not a grpc::AuthMetadataProcessor: it aborts the process on insecure
// credentials (platform-notes.md), and the local Unix socket and in-process
// tests run without TLS. So each RPC reads the "authorization" metadata itself
// through CallAuthenticator::Authenticate before doing anything else.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "control/auth/identity.h"
#include "grpcpp/server_context.h"

namespace tierwall::ctl::api {

struct CallAuthenticatorOptions {
  // Bearer tokens; may be null (then only the local admin socket works).
  const auth::TokenAuthenticator* tokens = nullptr;
  // Set on the service instance that serves the local administrator's Unix
  // socket (trusted by its file permissions): a call without a token is
  // Identity::LocalAdmin(). A call that does carry a token is that token's
  // user (so the audit log can name a person), or UNAUTHENTICATED if the
  // token is unknown: a wrong token is a mistake worth reporting, not a
  // reason to fall back to more rights. Never set it on a TCP listener.
  bool local_admin_socket = false;
};

class CallAuthenticator {
 public:
  explicit CallAuthenticator(CallAuthenticatorOptions options) : options_(options) {}

  // The caller's identity, from `authorization: Bearer <token>` metadata;
  // UNAUTHENTICATED without a (valid) token unless this is the local admin
  // socket.
  absl::StatusOr<auth::Identity> Authenticate(const grpc::ServerContext& context) const;
  // The same from the header value (empty: no header); for tests.
  absl::StatusOr<auth::Identity> AuthenticateHeader(std::string_view authorization,
                                                    bool has_header) const;

 private:
  CallAuthenticatorOptions options_;
};

}  // namespace tierwall::ctl::api
