// Calico v3 rules (policies and profiles) from YAML. Private to control/model.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/model/resources.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::model::internal {

// Where the rules sit: HTTP matches are only valid in ingress rules.
absl::StatusOr<std::vector<Rule>> ParseRules(const YAML::Node& node, absl::string_view path,
                                             Direction direction);

// One `ports`/`notPorts` item: 80, "80:90" or a named port. Shared with the
// Kubernetes conversion.
absl::Status ParsePortItem(const YAML::Node& node, absl::string_view path, PortList* out);

// Protocol names (any case) or numbers 1-255.
absl::StatusOr<uint8_t> ParseProtocol(const YAML::Node& node, absl::string_view path);

// Named-port syntax: letters, digits, '-', '_' and '.', with at least one letter.
bool IsValidPortName(absl::string_view name);

// Sorts ranges and merges overlapping or adjacent ones.
void SimplifyRanges(std::vector<PortRange>* ranges);

}  // namespace tierwall::ctl::model::internal
