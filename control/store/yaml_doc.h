// YAML handling private to the store: parsing one document with a bound on
// parser work, canonical re-emission, identity and resourceVersion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/store/store.h"

namespace tierwall::ctl::store::internal {

struct ParsedDocument {
  Identity identity;
  std::string canonical_yaml;  // without metadata.resourceVersion
  std::optional<int64_t> resource_version;
};

// Exactly one document (JSON is YAML). Errors are INVALID_ARGUMENT without
// a "doc N" prefix; the caller adds it.
absl::StatusOr<ParsedDocument> ParseDocument(std::string_view text, size_t max_bytes);

// `canonical_yaml` (as produced by ParseDocument) with metadata.resourceVersion
// set to `revision`.
absl::StatusOr<std::string> WithResourceVersion(const std::string& canonical_yaml,
                                                int64_t revision);

// See store.h.
absl::StatusOr<std::vector<std::string>> SplitDocuments(std::string_view text, size_t max_bytes);

}  // namespace tierwall::ctl::store::internal
