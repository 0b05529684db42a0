#include "control/auth/certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::auth {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

// Every value of the subject entries with `nid`, as UTF-8, in order.
absl::StatusOr<std::vector<std::string>> EntriesOf(const X509_NAME* name, int nid,
                                                   std::string_view what) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0) {
      return absl::UnauthenticatedError(
          absl::StrCat("client certificate subject ", std::string(what), " is not a valid string"));
    }
    out.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace

absl::StatusOr<Identity> IdentityFromPemCertificate(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError("cannot allocate a buffer for the client certificate");
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::UnauthenticatedError("client certificate does not parse (PEM X.509)");
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  if (subject == nullptr) return absl::UnauthenticatedError("client certificate has no subject");
  absl::StatusOr<std::vector<std::string>> cns = EntriesOf(subject, NID_commonName, "CN");
  if (!cns.ok()) return cns.status();
  if (cns->size() > 1) {
    // Which one would be the user is a matter of opinion: refuse.
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate has ", cns->size(), " subject common names (CN)"));
  }
  absl::StatusOr<std::vector<std::string>> os = EntriesOf(subject, NID_organizationName, "O");
  if (!os.ok()) return os.status();
  return IdentityFromCertificate(cns->empty() ? "" : cns->front(), *os);
}

}  // namespace tierwall::ctl::auth
