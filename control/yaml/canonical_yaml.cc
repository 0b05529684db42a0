#include "control/yaml/canonical_yaml.h"

#include <regex>

#include "absl/strings/str_cat.h"

namespace tierwall::ctl::yaml {
namespace {

constexpr char kStrTag[] = "tag:yaml.org,2002:str";

// A string that a literal block ("|") renders exactly: no leading blank on
// the first line (it would need an indentation indicator), no carriage
// returns or tabs, no trailing blanks on a line.
bool LiteralSafe(const std::string& s) {
  if (s.empty() || s[0] == ' ' || s[0] == '\n') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\r' || c == '\t' || (static_cast<unsigned char>(c) < 0x20 && c != '\n')) return false;
    if (c == ' ' && (i + 1 == s.size() || s[i + 1] == '\n')) return false;
  }
  return true;
}

bool SameTreeAt(const YAML::Node& a, const YAML::Node& b, int depth) {
  if (depth > 200) return false;
  auto type = [](const YAML::Node& n) {
    return n.Type() == YAML::NodeType::Undefined ? YAML::NodeType::Null : n.Type();
  };
  if (type(a) != type(b)) return false;
  switch (type(a)) {
    case YAML::NodeType::Scalar:
      return a.Scalar() == b.Scalar() &&
             (IsQuoted(a) == IsQuoted(b) || !LooksNonString(a.Scalar()) ||
              a.Scalar().find('\n') != std::string::npos);
    case YAML::NodeType::Sequence:
    case YAML::NodeType::Map: {
      if (a.size() != b.size()) return false;
      auto ia = a.begin(), ib = b.begin();
      for (; ia != a.end(); ++ia, ++ib) {
        if (type(a) == YAML::NodeType::Sequence) {
          if (!SameTreeAt(*ia, *ib, depth + 1)) return false;
        } else if (!SameTreeAt(ia->first, ib->first, depth + 1) ||
                   !SameTreeAt(ia->second, ib->second, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    default: return true;
  }
}

}  // namespace

bool IsQuoted(const YAML::Node& n) { return n.Tag() == "!" || n.Tag() == kStrTag; }

bool LooksNonString(const std::string& s) {
  static const std::regex kNonString(
      "|~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|"
      "on|On|ON|off|Off|OFF|"
      "[-+]?(0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|"
      "[0-9][0-9_]*(:[0-5]?[0-9])*(\\.[0-9_]*)?([eE][-+]?[0-9]+)?|"
      "\\.[0-9_]+([eE][-+]?[0-9]+)?|\\.(inf|Inf|INF))|"
      "\\.(nan|NaN|NAN)|"
      "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?");
  return std::regex_match(s, kNonString);
}

absl::Status EmitBlock(const YAML::Node& n, YAML::Emitter& e, size_t* budget) {
  if ((*budget)-- == 0) return absl::InvalidArgumentError("document too large once aliases expand");
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: e << YAML::Null; break;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (s.find('\n') != std::string::npos && LiteralSafe(s)) {
        e << YAML::Literal << s;
      } else if (IsQuoted(n) && LooksNonString(s)) {
        // Keeps "80" a string: plain 80 would read back as a number.
        e << YAML::DoubleQuoted << s;
      } else {
        e << s;  // the emitter quotes it if it cannot stay plain
      }
      break;
    }
    case YAML::NodeType::Sequence:
      if (n.size() == 0) {
        e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      e << YAML::Block << YAML::BeginSeq;
      for (const YAML::Node& item : n) {
        if (absl::Status s = EmitBlock(item, e, budget); !s.ok()) return s;
      }
      e << YAML::EndSeq;
      break;
    case YAML::NodeType::Map:
      if (n.size() == 0) {
        e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      e << YAML::Block << YAML::BeginMap;
      for (const auto& kv : n) {
        e << YAML::Key;
        if (absl::Status s = EmitBlock(kv.first, e, budget); !s.ok()) return s;
        e << YAML::Value;
        if (absl::Status s = EmitBlock(kv.second, e, budget); !s.ok()) return s;
      }
      e << YAML::EndMap;
      break;
  }
  if (!e.good()) return absl::InvalidArgumentError(absl::StrCat("cannot emit: ", e.GetLastError()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToBlockYaml(const YAML::Node& n, size_t max_nodes) {
  YAML::Emitter e;
  e.SetIndent(2);
  size_t budget = max_nodes;
  if (absl::Status s = EmitBlock(n, e, &budget); !s.ok()) return s;
  return absl::StrCat(e.c_str(), "\n");
}

bool SameTree(const YAML::Node& a, const YAML::Node& b) { return SameTreeAt(a, b, 0); }

}  // namespace tierwall::ctl::yaml
