// Who is calling: identities and the two ways a remote caller proves one.
//
// An Identity is a user name and the groups it belongs to; the Authorizer
// (rbac.h) decides what it may do. Remote callers authenticate with
//   - a bearer token, looked up in a tokens file (TokenAuthenticator), or
//   - a client certificate: subject CN = user, subject O fields = groups
//     (IdentityFromPemCertificate in certificate.h reads the certificate's
//     name entries; IdentityFromCertificate checks them).
// The local Unix socket is trusted by file permissions alone and gets
// Identity::LocalAdmin(), which the Authorizer always allows.
//
// User names starting with "system:" are reserved: neither the tokens file nor
// a certificate can claim one, so no remote caller can become the local admin.
//
// Tokens file (YAML), a sequence of entries:
//
//   - token: "3f9c1a6e0b7d4c2a9e8f5d1b"   # opaque, no whitespace, unique
//     user: kubernetes-admin
//     groups: [system-admins]             # optional
//   - token: "a71d0c5e9b3f48e2b6c0d9a4"
//     user: alice
//     groups: [app-team, viewers]
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tierwall::ctl::auth {

// The user name of the local administrator (Unix socket).
inline constexpr std::string_view kLocalAdminUser = "system:admin";
// Prefix of user names that only the daemon itself hands out.
inline constexpr std::string_view kReservedUserPrefix = "system:";

struct Identity {
  std::string user;
  std::vector<std::string> groups;

  // The machine's administrator on the local Unix socket. The Authorizer
  // allows it everything, whatever the RBAC file says, so that a broken or
  // empty RBAC file can always be repaired locally.
  static Identity LocalAdmin() { return Identity{std::string(kLocalAdminUser), {}}; }
  bool IsLocalAdmin() const { return user == kLocalAdminUser; }

  bool operator==(const Identity&) const = default;
};

// The identity of a client certificate, from its subject CN (the user) and its
// subject O fields (the groups), as Kubernetes does. UNAUTHENTICATED when the CN
// is empty or reserved ("system:..."), a group is empty, or a CN or O holds a
// control character or a distinguished-name separator (,+"<>;=/\), which
// would let one entry pass for several in logs and printed subjects.
// certificate.h reads these strings from a certificate.
absl::StatusOr<Identity> IdentityFromCertificate(std::string_view common_name,
                                                 const std::vector<std::string>& organizations);

// Bearer tokens from a tokens file. Thread-safe: Authenticate may run on many
// threads while Reload swaps in a new file.
class TokenAuthenticator {
 public:
  // Reads and validates the tokens file; errors name the path and the entry,
  // for example "tokens.yaml:4: [1].user: reserved user name \"system:admin\"".
  static absl::StatusOr<std::unique_ptr<TokenAuthenticator>> FromFile(const std::string& path);
  // The same from text; `source_name` stands in for the path in errors.
  // Reload() is then unavailable (FAILED_PRECONDITION).
  static absl::StatusOr<std::unique_ptr<TokenAuthenticator>> FromYaml(std::string_view text,
                                                                      std::string_view source_name);

  // `authorization` is the value of the "authorization" request header:
  // "Bearer <token>" (scheme case-insensitive). UNAUTHENTICATED when it is
  // missing, uses another scheme, or the token is unknown. Tokens are compared
  // in constant time and all entries are always scanned, so the time taken does
  // not depend on how much of a token was right. Messages never echo the token.
  absl::StatusOr<Identity> Authenticate(std::string_view authorization) const;
  // The same for a bare token.
  absl::StatusOr<Identity> AuthenticateToken(std::string_view token) const;

  // Re-reads the file given to FromFile. On error the current tokens stay in
  // force and the error is returned.
  absl::Status Reload();

  size_t size() const;

  struct Entry {
    std::string token;
    Identity identity;
  };

 private:
  TokenAuthenticator(std::string path, std::vector<Entry> entries);

  const std::string path_;  // empty when built from text
  mutable std::mutex mu_;   // guards entries_ (the pointer, not the entries)
  std::shared_ptr<const std::vector<Entry>> entries_;
};

// Parses a tokens file's text (exposed for tests and for validating a file
// before installing it).
absl::StatusOr<std::vector<TokenAuthenticator::Entry>> ParseTokens(std::string_view text,
                                                                   std::string_view source_name);

}  // namespace tierwall::ctl::auth
