#include "control/auth/yaml_read.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::auth::internal {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string msg = absl::StrCat(path, ": cannot read: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::FailedPreconditionError(msg);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat(path, ": read error"));
  return text.str();
}

absl::StatusOr<YAML::Node> LoadOneDocument(std::string_view text, std::string_view source) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string msg = absl::StrCat(Av(source), ":", e.mark.line + 1, ":", e.mark.column + 1,
                                   ": invalid YAML: ", e.msg);
    // A bare * starts an alias in YAML; the wildcard has to be quoted.
    if (e.msg.find("alias") != std::string::npos) absl::StrAppend(&msg, " (write \"*\" in quotes)");
    return absl::InvalidArgumentError(msg);
  }
  if (docs.empty() || docs[0].IsNull()) {
    return absl::InvalidArgumentError(absl::StrCat(Av(source), ": empty document"));
  }
  if (docs.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(Av(source), ":", docs[1].Mark().line + 1,
                                                   ": only one YAML document is allowed"));
  }
  return docs[0];
}

absl::Status Errors::At(const YAML::Node& node, std::string_view path,
                        std::string_view problem) const {
  std::string where = source_;
  // Null nodes made up by the reader (absent keys) have no position.
  if (node.IsDefined() && node.Mark().line >= 0) absl::StrAppend(&where, ":", node.Mark().line + 1);
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", Av(problem)));
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", Av(path), ": ", Av(problem)));
}

std::string Child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(Av(path), ".", Av(key));
}

std::string Item(std::string_view path, size_t index) {
  return absl::StrCat(Av(path), "[", index, "]");
}

namespace {
const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "null";
  }
}
std::string KnownList(std::initializer_list<std::string_view> known) {
  std::string out;
  for (std::string_view k : known) absl::StrAppend(&out, out.empty() ? "" : ", ", Av(k));
  return out;
}

}  // namespace

absl::Status CheckMapping(const Errors& err, const YAML::Node& node, std::string_view path,
                          std::initializer_list<std::string_view> known) {
  if (!node.IsDefined() || node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) {
    return err.At(node, path, absl::StrCat("expected a mapping, got ", KindName(node)));
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: it-> yields a temporary
    if (!key.IsScalar()) return err.At(key, path, "mapping keys must be scalars");
    const std::string& k = key.Scalar();
    if (!seen.insert(k).second) {
      return err.At(key, Child(path, k), "duplicate key");
    }
    bool ok = false;
    for (std::string_view want : known) ok = ok || want == k;
    if (!ok) {
      return err.At(key, Child(path, k),
                    absl::StrCat("unknown field (expected ", KnownList(known), ")"));
    }
  }
  return absl::OkStatus();
}

YAML::Node Field(const YAML::Node& map, std::string_view key) {
  if (map.IsDefined() && map.IsMap()) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
    }
  }
  return YAML::Node();
}

absl::StatusOr<std::string> ReadString(const Errors& err, const YAML::Node& node,
                                       std::string_view path) {
  if (!node.IsDefined() || node.IsNull()) return err.At(node, path, "required");
  if (!node.IsScalar()) {
    return err.At(node, path, absl::StrCat("expected a string, got ", KindName(node)));
  }
  if (node.Scalar().empty()) return err.At(node, path, "must not be empty");
  return node.Scalar();
}

absl::StatusOr<std::string> ReadRequiredString(const Errors& err, const YAML::Node& map,
                                               std::string_view key, std::string_view map_path) {
  const YAML::Node node = Field(map, key);
  if (node.IsNull())
    return err.At(node.Mark().line >= 0 ? node : map, Child(map_path, key), "required");
  return ReadString(err, node, Child(map_path, key));
}

absl::StatusOr<std::vector<std::string>> ReadStringList(const Errors& err, const YAML::Node& node,
                                                        std::string_view path) {
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) {
    return err.At(node, path, absl::StrCat("expected a sequence, got ", KindName(node)));
  }
  size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    absl::StatusOr<std::string> s = ReadString(err, *it, Item(path, i));
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace tierwall::ctl::auth::internal
