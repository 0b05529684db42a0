// The identity of a client certificate, read from the certificate itself.
//
// Why not from gRPC's "x509_subject" string: it is the subject printed as one
// RFC 2253 line, and a value may contain an escaped comma
// (CN=mallory\,O=platform), so splitting that text on commas lets a
// certificate holder name any group it likes. The subject's name entries are
// read one by one here (OpenSSL X509_NAME), so a CN is only ever a CN and an
// O only ever an O.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "control/auth/identity.h"

namespace tierwall::ctl::auth {

// The identity of the PEM certificate `pem` (gRPC's "x509_pem_cert" property
// of a verified peer): exactly one subject CN (the user) and every subject O
// (the groups), then IdentityFromCertificate's checks. UNAUTHENTICATED, naming
// what is wrong, for a certificate that does not parse, has no CN or several,
// or an entry that is not valid UTF-8.
absl::StatusOr<Identity> IdentityFromPemCertificate(std::string_view pem);

}  // namespace tierwall::ctl::auth
