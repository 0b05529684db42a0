// Calico and Kubernetes validation rules the loader applies on the way in:
// resource names, label keys and values. Private to control/model.
//
// The authority is libcalico-go (lib/validator/v3/validator.go) and the
// Kubernetes apimachinery validators it calls; each function names the one it
// mirrors. Messages quote user text with Quote(), so a name holding NUL or an
// ANSI escape sequence is shown escaped, never raw.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/model/resources.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::model::internal {

// The kinds whose names follow a rule of their own.
enum class NameRule {
  kSubdomain,            // validateObjectMeta: DNS-1123 subdomain, <= 253
  kLabel,                // Namespace (Kubernetes): DNS-1123 label, <= 63
  kTier,                 // validateTier: DNS-1123 label, <= 63
  kNetworkPolicy,        // networkPolicyNameRegex, <= 253
  kGlobalNetworkPolicy,  // globalNetworkPolicyNameRegex, <= 253
};

// k8s.io/apimachinery IsDNS1123Label / IsDNS1123Subdomain.
bool IsDns1123Label(absl::string_view s);
bool IsDns1123Subdomain(absl::string_view s);

// metadata.name (or any field that holds a resource name) under `rule`.
absl::Status CheckName(absl::string_view name, NameRule rule, absl::string_view path);

// validateObjectMetaLabels: keys are qualified names (IsQualifiedName),
// values valid label values (IsValidLabelValue). `path` is the map's path.
absl::Status CheckLabels(const Labels& labels, absl::string_view path);

// validateObjectMetaAnnotations: keys are qualified names, and keys plus
// values total at most 256 KiB.
absl::Status CheckAnnotationKeys(const std::vector<std::pair<std::string, std::string>>& kv,
                                 absl::string_view path);

// validatePortName (endpoint ports): Kubernetes' IsValidPortName, an
// IANA service name: 1-15 of [a-z0-9-], a letter among them, no "--", no
// '-' at either end.
absl::Status CheckPortName(absl::string_view name, absl::string_view path);

// An endpoint's `profiles`: names (validateName, DNS-1123 subdomains).
absl::StatusOr<std::vector<std::string>> ReadProfileNames(const YAML::Node& node,
                                                          absl::string_view path);

// validateCIDR (Calico's "cidr", used by network sets): an address or a
// CIDR whose host bits may be set; they are cleared. Rule nets use the
// strict "net" form instead (Cidr::Parse).
absl::StatusOr<Cidr> ParseLooseCidr(absl::string_view text, absl::string_view path);

}  // namespace tierwall::ctl::model::internal
