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
  // Trust the local administrator's Unix socket (its file permissions): a
  // call that arrives over a Unix socket (or in-process) without a token is
  // Identity::LocalAdmin(). Calls from TCP peers never are, so one service
  // can serve the socket and a TLS listener. A call that does carry a token
  // is that token's user (so the audit log can name a person), or
  // UNAUTHENTICATED if the token is unknown: a wrong token is a mistake worth
  // reporting, not a reason to fall back to more rights.
  bool local_admin_socket = false;
};

class CallAuthenticator {
 public:
  explicit CallAuthenticator(CallAuthenticatorOptions options) : options_(options) {}

  // The caller's identity, in this order: `authorization: Bearer <token>`
  // metadata; else a verified TLS client certificate (CN = user, O = groups);
  // else the local admin for a Unix-socket or in-process peer;
  // else UNAUTHENTICATED.
  absl::StatusOr<auth::Identity> Authenticate(const grpc::ServerContextBase& context) const;
  // The same from the header value (empty: no header) and whether the peer is
  // local (Unix socket / in-process); for tests.
  absl::StatusOr<auth::Identity> AuthenticateHeader(std::string_view authorization, bool has_header,
                                                    bool local_peer = true) const;

 private:
  CallAuthenticatorOptions options_;
};

}  // namespace tierwall::ctl::api
