#include "control/auth/identity.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/auth/yaml_read.h"

namespace tierwall::ctl::auth {

using internal::Av;
using internal::Errors;
using internal::Quote;

namespace {

bool IsReserved(std::string_view user) { return user.starts_with(kReservedUserPrefix); }

// Equal iff same length and same bytes. The loop runs over `secret` only and
// never exits early, so its time depends on the secret's length (fixed per
// entry) and not on the presented value.
bool ConstantTimeEquals(std::string_view secret, std::string_view presented) {
  unsigned diff = secret.size() != presented.size() ? 1u : 0u;
  const size_t n = presented.empty() ? 1 : presented.size();
  for (size_t i = 0; i < secret.size(); ++i) {
    const unsigned char p = presented.empty() ? 0 : static_cast<unsigned char>(presented[i % n]);
    diff |= static_cast<unsigned char>(secret[i]) ^ p;
  }
  return diff == 0;
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// A certificate's CN or O becomes a user or group name that RBAC bindings, the
// audit log and error messages print. Control characters could forge log
// lines, and the characters that separate or escape parts of a printed
// distinguished name (RFC 4514's specials, and '/' of OpenSSL's one-line form)
// could make one entry read as several: neither has a place in a name.
absl::Status CheckCertificateName(std::string_view what, std::string_view value) {
  constexpr std::string_view kSeparators = ",+\"<>;=/\\";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::UnauthenticatedError(absl::StrCat("client certificate subject ", Av(what),
                                                     " contains a control character (0x",
                                                     absl::Hex(u, absl::kZeroPad2), ")"));
    }
    if (kSeparators.find(c) != std::string_view::npos) {
      return absl::UnauthenticatedError(absl::StrCat("client certificate subject ", Av(what), " ",
                                                     Quote(value), " contains '", std::string(1, c),
                                                     "', which separates name parts"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Identity> IdentityFromCertificate(std::string_view common_name,
                                                 const std::vector<std::string>& organizations) {
  if (common_name.empty()) {
    return absl::UnauthenticatedError("client certificate has no subject common name (CN)");
  }
  if (IsReserved(common_name)) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate names reserved user ", Quote(common_name)));
  }
  if (absl::Status s = CheckCertificateName("CN", common_name); !s.ok()) return s;
  Identity id{std::string(common_name), {}};
  for (const std::string& o : organizations) {
    if (o.empty()) return absl::UnauthenticatedError("client certificate has an empty O field");
    if (absl::Status s = CheckCertificateName("O", o); !s.ok()) return s;
    id.groups.push_back(o);
  }
  return id;
}

absl::StatusOr<std::vector<TokenAuthenticator::Entry>> ParseTokens(std::string_view text,
                                                                   std::string_view source_name) {
  absl::StatusOr<YAML::Node> root = internal::LoadOneDocument(text, source_name);
  if (!root.ok()) return root.status();
  const Errors err(source_name);
  if (!root->IsSequence()) {
    return err.At(*root, "", "expected a sequence of {token, user, groups} entries");
  }
  std::vector<TokenAuthenticator::Entry> out;
  std::set<std::string> tokens;
  size_t i = 0;
  for (auto it = root->begin(); it != root->end(); ++it, ++i) {
    const YAML::Node& e = *it;
    const std::string path = internal::Item("", i);
    if (!e.IsMap()) return err.At(e, path, "expected a mapping with token, user and groups");
    if (absl::Status s = internal::CheckMapping(err, e, path, {"token", "user", "groups"});
        !s.ok()) {
      return s;
    }
    TokenAuthenticator::Entry entry;
    const YAML::Node tok = internal::Field(e, "token");
    absl::StatusOr<std::string> token = internal::ReadRequiredString(err, e, "token", path);
    if (!token.ok()) return token.status();
    // The header parser splits on whitespace, so such a token could never match.
    for (char c : *token) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
          !absl::ascii_isprint(static_cast<unsigned char>(c))) {
        return err.At(tok, internal::Child(path, "token"), "must be printable with no whitespace");
      }
    }
    if (!tokens.insert(*token).second) {
      // Never print the token itself: error messages end up in logs.
      return err.At(tok, internal::Child(path, "token"), "duplicate token");
    }
    entry.token = *std::move(token);
    const YAML::Node user = internal::Field(e, "user");
    absl::StatusOr<std::string> name = internal::ReadRequiredString(err, e, "user", path);
    if (!name.ok()) return name.status();
    if (IsReserved(*name)) {
      return err.At(user, internal::Child(path, "user"),
                    absl::StrCat("reserved user name ", Quote(*name)));
    }
    entry.identity.user = *std::move(name);
    absl::StatusOr<std::vector<std::string>> groups = internal::ReadStringList(
        err, internal::Field(e, "groups"), internal::Child(path, "groups"));
    if (!groups.ok()) return groups.status();
    entry.identity.groups = *std::move(groups);
    out.push_back(std::move(entry));
  }
  return out;
}

TokenAuthenticator::TokenAuthenticator(std::string path, std::vector<Entry> entries)
    : path_(std::move(path)),
      entries_(std::make_shared<const std::vector<Entry>>(std::move(entries))) {}

absl::StatusOr<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::FromFile(
    const std::string& path) {
  absl::StatusOr<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<Entry>> entries = ParseTokens(*text, path);
  if (!entries.ok()) return entries.status();
  return std::unique_ptr<TokenAuthenticator>(new TokenAuthenticator(path, *std::move(entries)));
}

absl::StatusOr<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::FromYaml(
    std::string_view text, std::string_view source_name) {
  absl::StatusOr<std::vector<Entry>> entries = ParseTokens(text, source_name);
  if (!entries.ok()) return entries.status();
  return std::unique_ptr<TokenAuthenticator>(new TokenAuthenticator("", *std::move(entries)));
}

absl::Status TokenAuthenticator::Reload() {
  if (path_.empty()) {
    return absl::FailedPreconditionError("tokens were not loaded from a file; nothing to reload");
  }
  absl::StatusOr<std::string> text = internal::ReadFile(path_);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<Entry>> entries = ParseTokens(*text, path_);
  if (!entries.ok()) return entries.status();
  auto fresh = std::make_shared<const std::vector<Entry>>(*std::move(entries));
  std::lock_guard<std::mutex> lock(mu_);
  entries_ = std::move(fresh);
  return absl::OkStatus();
}

size_t TokenAuthenticator::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_->size();
}

absl::StatusOr<Identity> TokenAuthenticator::Authenticate(std::string_view authorization) const {
  std::string_view h = Strip(authorization);
  if (h.empty()) return absl::UnauthenticatedError("missing bearer token");
  constexpr std::string_view kScheme = "bearer";
  const size_t space = h.find_first_of(" \t");
  if (space == std::string_view::npos ||
      !absl::EqualsIgnoreCase(Av(h.substr(0, space)), Av(kScheme))) {
    // A lone word is neither "Bearer" plus a token nor anything else we take.
    if (space == std::string_view::npos && absl::EqualsIgnoreCase(Av(h), Av(kScheme))) {
      return absl::UnauthenticatedError("missing bearer token");
    }
    return absl::UnauthenticatedError("unsupported authorization scheme (expected Bearer)");
  }
  return AuthenticateToken(Strip(h.substr(space + 1)));
}

absl::StatusOr<Identity> TokenAuthenticator::AuthenticateToken(std::string_view token) const {
  if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
  std::shared_ptr<const std::vector<Entry>> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries = entries_;
  }
  // Scan every entry, remembering the match without branching on it early.
  const Entry* found = nullptr;
  for (const Entry& e : *entries) {
    const bool eq = ConstantTimeEquals(e.token, token);
    found = eq ? &e : found;
  }
  if (found == nullptr) return absl::UnauthenticatedError("invalid bearer token");
  return found->identity;
}

}  // namespace tierwall::ctl::auth
