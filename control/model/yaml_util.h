// Helpers shared by the YAML loader's parsers (private to control/model).
//
// Every helper takes the field path of the node it looks at and returns an
// InvalidArgument status "<path>: <problem>"; the loader prefixes the source
// and document. None of them throws: yaml-cpp accessors that could throw are
// avoided (nodes are only read through Type(), Scalar(), Tag() and iteration).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/model/resources.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::model::internal {

// Variadic so that braced lists with commas can appear in the expression.
#define TW_RETURN_IF_ERROR(...)                                                       \
  do {                                                                                \
    if (absl::Status tw_status_ = (__VA_ARGS__); !tw_status_.ok()) return tw_status_; \
  } while (0)

#define TW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(*tmp)
#define TW_CONCAT_INNER(a, b) a##b
#define TW_CONCAT(a, b) TW_CONCAT_INNER(a, b)
#define TW_ASSIGN_OR_RETURN(lhs, ...) \
  TW_ASSIGN_OR_RETURN_IMPL(TW_CONCAT(tw_statusor_, __LINE__), lhs, (__VA_ARGS__))

// "<path>: <problem>" (just the problem when the path is empty).
absl::Status FieldError(absl::string_view path, absl::string_view problem);

// Path composition: Child("spec", "ingress") = "spec.ingress",
// Item("spec.ingress", 2) = "spec.ingress[2]".
std::string Child(absl::string_view path, absl::string_view key);
std::string Item(absl::string_view path, size_t index);

// "a mapping", "a sequence", "a scalar", "null": for "expected X, got Y".
const char* NodeKindName(const YAML::Node& node);

// A YAML mapping read strictly, like calicoctl's strict decoding: keys must be
// scalars, unique, and among the known field names.
class MapReader {
 public:
  // A null node reads as an empty mapping (`spec:` with nothing after it).
  static absl::StatusOr<MapReader> Read(const YAML::Node& node, std::string path,
                                        std::initializer_list<absl::string_view> known);
  // The same without the known-field check (metadata, labels).
  static absl::StatusOr<MapReader> ReadAny(const YAML::Node& node, std::string path);

  // The value of `key`, or nullptr when absent or null.
  const YAML::Node* Get(absl::string_view key) const;
  std::string PathOf(absl::string_view key) const { return Child(path_, key); }
  const std::string& path() const { return path_; }
  const std::vector<std::pair<std::string, YAML::Node>>& entries() const { return entries_; }

 private:
  std::string path_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
};

// Scalars. Numbers must be plain (unquoted) scalars, as JSON numbers are.
absl::StatusOr<std::string> ReadString(const YAML::Node& node, absl::string_view path);
absl::StatusOr<double> ReadNumber(const YAML::Node& node, absl::string_view path);
absl::StatusOr<int64_t> ReadInteger(const YAML::Node& node, absl::string_view path);
absl::StatusOr<bool> ReadBool(const YAML::Node& node, absl::string_view path);
// A sequence of strings (null = empty).
absl::StatusOr<std::vector<std::string>> ReadStringList(const YAML::Node& node,
                                                        absl::string_view path);
// A mapping of strings to strings (labels).
absl::StatusOr<Labels> ReadStringMap(const YAML::Node& node, absl::string_view path);
// Calico's API limits (kubebuilder MaxLength / MaxItems in
// api/pkg/apis/projectcalico/v3).
inline constexpr size_t kMaxSelectorLength = 1024;
inline constexpr size_t kMaxRules = 1024;    // ingress, egress
inline constexpr size_t kMaxNets = 256;      // nets, notNets
inline constexpr size_t kMaxRulePorts = 50;  // ports, notPorts

// Fails when the sequence `node` holds more than `max` items.
absl::Status CheckMaxItems(const YAML::Node& node, absl::string_view path, size_t max);

// A selector expression; the selector library's message is kept verbatim.
absl::StatusOr<Selector> ReadSelector(const YAML::Node& node, absl::string_view path);
absl::StatusOr<Selector> ParseSelectorText(absl::string_view text, absl::string_view path);
// Fails unless `node` is a sequence (null is accepted as empty).
absl::Status ExpectSequence(const YAML::Node& node, absl::string_view path);

// A quoted rendering of user text for messages: "80:70".
std::string Quote(absl::string_view text);

}  // namespace tierwall::ctl::model::internal
