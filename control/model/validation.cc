#include "control/model/validation.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/model/yaml_util.h"

namespace tierwall::ctl::model::internal {
namespace {

constexpr size_t kLabelMax = 63;       // DNS1123LabelMaxLength
constexpr size_t kSubdomainMax = 253;  // DNS1123SubdomainMaxLength
constexpr size_t kAnnotationsMax = 256 * 1024;

constexpr absl::string_view kLabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr absl::string_view kSubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

bool LowerAlnum(char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'z'); }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, the shape of label names and values.
bool IsQualifiedPart(absl::string_view s) {
  if (s.empty() || !absl::ascii_isalnum(s.front()) || !absl::ascii_isalnum(s.back())) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// Calico's networkPolicyNameRegex:
// ^(label(\.label)?|(knp|ossg)\.default\.subdomain)$
bool IsNetworkPolicyName(absl::string_view s) {
  for (absl::string_view prefix : {"knp.default.", "ossg.default."}) {
    if (absl::StartsWith(s, prefix) && IsDns1123Subdomain(s.substr(prefix.size()))) return true;
  }
  size_t dot = s.find('.');
  if (dot == absl::string_view::npos) return IsDns1123Label(s);
  return IsDns1123Label(s.substr(0, dot)) && IsDns1123Label(s.substr(dot + 1));
}

// globalNetworkPolicyNameRegex: ^(label\.)?label$
bool IsGlobalNetworkPolicyName(absl::string_view s) {
  size_t dot = s.find('.');
  if (dot == absl::string_view::npos) return IsDns1123Label(s);
  return IsDns1123Label(s.substr(0, dot)) && IsDns1123Label(s.substr(dot + 1));
}

// IsQualifiedName's message for `key`, or "" when it is valid.
std::string QualifiedNameProblem(absl::string_view key) {
  absl::string_view name = key;
  if (size_t slash = key.find('/'); slash != absl::string_view::npos) {
    absl::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) return "prefix part must be non-empty";
    if (prefix.size() > kSubdomainMax || !IsDns1123Subdomain(prefix)) {
      return absl::StrCat(
          "prefix part must be a lowercase RFC 1123 subdomain (regex used for "
          "validation is '",
          kSubdomainFmt, "')");
    }
  }
  if (name.empty()) return "name part must be non-empty";
  if (name.size() > kLabelMax) return "name part must be no more than 63 characters";
  if (!IsQualifiedPart(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
           "and end with an alphanumeric character (regex used for validation is "
           "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return "";
}

}  // namespace

bool IsDns1123Label(absl::string_view s) {
  if (s.empty() || s.size() > kLabelMax || !LowerAlnum(s.front()) || !LowerAlnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!LowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsDns1123Subdomain(absl::string_view s) {
  if (s.empty() || s.size() > kSubdomainMax) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    absl::string_view part = s.substr(start, dot == absl::string_view::npos ? s.npos : dot - start);
    // Each part has the label shape; only the whole has a length limit.
    if (part.empty() || !LowerAlnum(part.front()) || !LowerAlnum(part.back())) return false;
    for (char c : part) {
      if (!LowerAlnum(c) && c != '-') return false;
    }
    if (dot == absl::string_view::npos) return true;
    start = dot + 1;
  }
}

absl::Status CheckName(absl::string_view name, NameRule rule, absl::string_view path) {
  const size_t max =
      rule == NameRule::kTier || rule == NameRule::kLabel ? kLabelMax : kSubdomainMax;
  if (name.empty()) return FieldError(path, "must not be empty");
  if (name.size() > max) {
    return FieldError(path, absl::StrCat("name is too long by ", name.size() - max, " bytes"));
  }
  switch (rule) {
    case NameRule::kSubdomain:
      if (IsDns1123Subdomain(name)) return absl::OkStatus();
      return FieldError(path, absl::StrCat(Quote(name),
                                           ": name must consist of lower case alphanumeric "
                                           "characters, '-' or '.' (regex: ",
                                           kSubdomainFmt, ")"));
    case NameRule::kLabel:
    case NameRule::kTier:
      if (IsDns1123Label(name)) return absl::OkStatus();
      return FieldError(path, absl::StrCat(Quote(name),
                                           ": name must consist of lower case alphanumeric "
                                           "characters or '-' (regex: ",
                                           kLabelFmt, ")"));
    case NameRule::kNetworkPolicy:
    case NameRule::kGlobalNetworkPolicy: {
      bool ok = rule == NameRule::kNetworkPolicy ? IsNetworkPolicyName(name)
                                                 : IsGlobalNetworkPolicyName(name);
      if (ok) return absl::OkStatus();
      return FieldError(path,
                        absl::StrCat(Quote(name),
                                     ": name must consist of lower case alphanumeric characters "
                                     "or '-' (regex: ",
                                     kLabelFmt, "), with at most one '.' after a tier name"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLabels(const Labels& labels, absl::string_view path) {
  for (const auto& [key, value] : labels) {
    if (std::string problem = QualifiedNameProblem(key); !problem.empty()) {
      return FieldError(Child(path, key), absl::StrCat("label name ", Quote(key), ": ", problem));
    }
    if (value.size() > kLabelMax) {
      return FieldError(Child(path, key), "label value must be no more than 63 characters");
    }
    if (!value.empty() && !IsQualifiedPart(value)) {
      return FieldError(
          Child(path, key),
          absl::StrCat("label value ", Quote(value),
                       ": a valid label must be an empty string or consist of alphanumeric "
                       "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                       "character (regex used for validation is "
                       "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAnnotationKeys(const std::vector<std::pair<std::string, std::string>>& kv,
                                 absl::string_view path) {
  size_t total = 0;
  for (const auto& [key, value] : kv) {
    // Calico lower-cases annotation keys before checking them.
    if (std::string problem = QualifiedNameProblem(absl::AsciiStrToLower(key)); !problem.empty()) {
      return FieldError(Child(path, key),
                        absl::StrCat("annotation name ", Quote(key), ": ", problem));
    }
    total += key.size() + value.size();
  }
  if (total > kAnnotationsMax) {
    return FieldError(path, absl::StrCat("total size of annotations is too large by ",
                                         total - kAnnotationsMax, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckPortName(absl::string_view name, absl::string_view path) {
  bool letter = false, ok = !name.empty() && name.size() <= 15 && name.front() != '-' &&
                            name.back() != '-' && name.find("--") == absl::string_view::npos;
  for (char c : name) {
    letter = letter || (c >= 'a' && c <= 'z');
    ok = ok && (LowerAlnum(c) || c == '-');
  }
  if (ok && letter) return absl::OkStatus();
  return FieldError(path, absl::StrCat(Quote(name),
                                       " is not a valid port name (IANA service name: at most 15 "
                                       "lower case letters, digits and '-', with a letter, no "
                                       "'--' and no '-' at either end)"));
}

absl::StatusOr<std::vector<std::string>> ReadProfileNames(const YAML::Node& node,
                                                          absl::string_view path) {
  TW_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadStringList(node, path));
  for (size_t i = 0; i < names.size(); ++i) {
    TW_RETURN_IF_ERROR(CheckName(names[i], NameRule::kSubdomain, Item(path, i)));
  }
  return names;
}

absl::StatusOr<Cidr> ParseLooseCidr(absl::string_view text, absl::string_view path) {
  size_t slash = text.find('/');
  std::optional<IpAddr> ip =
      IpAddr::Parse(std::string_view(text.data(), std::min(slash, text.size())));
  if (!ip) return FieldError(path, absl::StrCat(Quote(text), " is not a valid IP address or CIDR"));
  const int bits = dp::classify::AddressBits(ip->family);
  int len = bits;
  if (slash != absl::string_view::npos) {
    absl::string_view len_text = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (len_text.empty() || ec != std::errc() || ptr != len_text.data() + len_text.size() ||
        len < 0 || len > bits) {
      return FieldError(path, absl::StrCat(Quote(text), " has an invalid prefix length"));
    }
  }
  dp::classify::U128 host =
      len == 0
          ? dp::classify::MaxAddress(ip->family)
          : (len == bits ? dp::classify::U128{0} : ((dp::classify::U128{1} << (bits - len)) - 1));
  return Cidr{IpAddr{ip->family, ip->bits & ~host}, static_cast<uint8_t>(len)};
}

}  // namespace tierwall::ctl::model::internal
