// Strict YAML reading for the auth files (private to control/auth).
//
// Errors read "<source>:<line>: <field path>: <problem>", so an operator can
// go straight to the line. Nothing here throws: yaml-cpp exceptions are caught
// at the parse and nodes are read only through Type(), Scalar() and iteration.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::auth::internal {

// Debian's absl::string_view is its own type, not std::string_view, so the
// std::string_view of the public API is converted for absl's string helpers.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The whole file; NOT_FOUND / FAILED_PRECONDITION naming the path otherwise.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Exactly one YAML document; an empty text or a second document is an error.
absl::StatusOr<YAML::Node> LoadOneDocument(std::string_view text, std::string_view source);

// Builds the INVALID_ARGUMENT errors for one source.
class Errors {
 public:
  explicit Errors(std::string_view source) : source_(source) {}
  absl::Status At(const YAML::Node& node, std::string_view path, std::string_view problem) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

std::string Child(std::string_view path, std::string_view key);
std::string Item(std::string_view path, size_t index);

// Checks that `node` is a mapping (null reads as empty) whose keys are unique
// scalars among `known`: a misspelt key ("resourcename") must not silently
// widen or narrow a grant.
absl::Status CheckMapping(const Errors& err, const YAML::Node& node, std::string_view path,
                          std::initializer_list<std::string_view> known);

// The value of `key` in mapping `map`, or a null node (no position) when
// absent. Safer than yaml-cpp's operator[], whose missing-key node throws.
YAML::Node Field(const YAML::Node& map, std::string_view key);

// A non-empty scalar string.
absl::StatusOr<std::string> ReadString(const Errors& err, const YAML::Node& node,
                                       std::string_view path);

// Field `key` of mapping `map`, a non-empty scalar string; a missing field is
// reported at the mapping's line.
absl::StatusOr<std::string> ReadRequiredString(const Errors& err, const YAML::Node& map,
                                               std::string_view key, std::string_view map_path);

// A sequence of non-empty scalar strings; absent or null reads as empty.
absl::StatusOr<std::vector<std::string>> ReadStringList(const Errors& err, const YAML::Node& node,
                                                        std::string_view path);

// "\"x\"" with quotes and backslashes escaped, for messages.
std::string Quote(std::string_view s);

}  // namespace tierwall::ctl::auth::internal
