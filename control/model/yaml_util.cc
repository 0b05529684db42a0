#include "control/model/yaml_util.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tierwall::ctl::model::internal {

absl::Status FieldError(absl::string_view path, absl::string_view problem) {
  if (path.empty()) return absl::InvalidArgumentError(problem);
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

std::string Child(absl::string_view path, absl::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(path, ".", key);
}

std::string Item(absl::string_view path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

const char* NodeKindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::string Quote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    // Keep messages on one line and printable whatever the input holds.
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

namespace {

absl::Status Expected(const YAML::Node& node, absl::string_view path, absl::string_view what) {
  std::string got = node.IsScalar() ? Quote(node.Scalar()) : NodeKindName(node);
  return FieldError(path, absl::StrCat("expected ", what, ", got ", got));
}

// A scalar written as a plain (unquoted) YAML scalar. yaml-cpp tags quoted
// and block scalars "!" and plain ones "?".
bool IsPlain(const YAML::Node& node) { return node.Tag() != "!"; }

}  // namespace

absl::StatusOr<MapReader> MapReader::ReadAny(const YAML::Node& node, std::string path) {
  MapReader reader;
  reader.path_ = std::move(path);
  if (node.IsNull()) return reader;
  if (!node.IsMap()) return Expected(node, reader.path_, "a mapping");
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: `it->first` lives in a proxy that dies with the expression.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      return FieldError(reader.path_,
                        absl::StrCat("field names must be scalars, got ", NodeKindName(key)));
    }
    const std::string name = key.Scalar();
    for (const auto& [seen, unused] : reader.entries_) {
      if (seen == name) return FieldError(reader.PathOf(name), "duplicate field");
    }
    reader.entries_.emplace_back(name, value);
  }
  return reader;
}

absl::StatusOr<MapReader> MapReader::Read(const YAML::Node& node, std::string path,
                                          std::initializer_list<absl::string_view> known) {
  TW_ASSIGN_OR_RETURN(MapReader reader, ReadAny(node, std::move(path)));
  for (const auto& [name, unused] : reader.entries_) {
    bool found = false;
    for (absl::string_view k : known) found = found || k == name;
    if (!found) return FieldError(reader.PathOf(name), "unknown field");
  }
  return reader;
}

const YAML::Node* MapReader::Get(absl::string_view key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) return value.IsNull() ? nullptr : &value;
  }
  return nullptr;
}

absl::StatusOr<std::string> ReadString(const YAML::Node& node, absl::string_view path) {
  if (!node.IsScalar()) return Expected(node, path, "a string");
  return node.Scalar();
}

absl::StatusOr<double> ReadNumber(const YAML::Node& node, absl::string_view path) {
  if (!node.IsScalar() || !IsPlain(node)) return Expected(node, path, "a number");
  double value = 0;
  if (!absl::SimpleAtod(node.Scalar(), &value) || !std::isfinite(value)) {
    return FieldError(path, absl::StrCat(Quote(node.Scalar()), " is not a number"));
  }
  return value;
}

absl::StatusOr<int64_t> ReadInteger(const YAML::Node& node, absl::string_view path) {
  if (!node.IsScalar() || !IsPlain(node)) return Expected(node, path, "an integer");
  int64_t value = 0;
  if (!absl::SimpleAtoi(node.Scalar(), &value)) {
    return FieldError(path, absl::StrCat(Quote(node.Scalar()), " is not an integer"));
  }
  return value;
}

absl::StatusOr<bool> ReadBool(const YAML::Node& node, absl::string_view path) {
  if (node.IsScalar() && IsPlain(node)) {
    std::string v = absl::AsciiStrToLower(node.Scalar());
    if (v == "true") return true;
    if (v == "false") return false;
  }
  if (!node.IsScalar()) return Expected(node, path, "true or false");
  return FieldError(path, absl::StrCat("expected true or false, got ", Quote(node.Scalar())));
}

absl::Status ExpectSequence(const YAML::Node& node, absl::string_view path) {
  if (node.IsNull() || node.IsSequence()) return absl::OkStatus();
  return Expected(node, path, "a sequence");
}

absl::Status CheckMaxItems(const YAML::Node& node, absl::string_view path, size_t max) {
  if (!node.IsSequence() || node.size() <= max) return absl::OkStatus();
  return FieldError(path, absl::StrCat("must have at most ", max, " items (", node.size(), ")"));
}

absl::StatusOr<std::vector<std::string>> ReadStringList(const YAML::Node& node,
                                                        absl::string_view path) {
  TW_RETURN_IF_ERROR(ExpectSequence(node, path));
  std::vector<std::string> out;
  size_t i = 0;
  for (const YAML::Node& item : node) {
    TW_ASSIGN_OR_RETURN(std::string s, ReadString(item, Item(path, i++)));
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<Labels> ReadStringMap(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(MapReader reader, MapReader::ReadAny(node, std::string(path)));
  Labels out;
  for (const auto& [key, value] : reader.entries()) {
    if (key.empty()) return FieldError(path, "empty label name");
    // A null value (`app:`) is an empty string, as Kubernetes reads it.
    if (value.IsNull()) {
      out[key] = "";
      continue;
    }
    TW_ASSIGN_OR_RETURN(std::string v, ReadString(value, reader.PathOf(key)));
    out[key] = std::move(v);
  }
  return out;
}

absl::StatusOr<Selector> ParseSelectorText(absl::string_view text, absl::string_view path) {
  absl::StatusOr<Selector> sel = Selector::Parse(std::string_view(text.data(), text.size()));
  if (!sel.ok()) return FieldError(path, sel.status().message());
  return std::move(*sel);
}

absl::StatusOr<Selector> ReadSelector(const YAML::Node& node, absl::string_view path) {
  TW_ASSIGN_OR_RETURN(std::string text, ReadString(node, path));
  // Calico's kubebuilder MaxLength=1024 on every selector field.
  if (text.size() > kMaxSelectorLength) {
    return FieldError(path, absl::StrCat("may not be longer than ", kMaxSelectorLength,
                                         " characters (", text.size(), ")"));
  }
  return ParseSelectorText(text, path);
}

}  // namespace tierwall::ctl::model::internal
