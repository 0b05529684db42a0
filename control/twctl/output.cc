#include "control/twctl/output.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <streambuf>

#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::twctl {
namespace {

nlohmann::ordered_json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::ordered_json j = nlohmann::ordered_json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = ToJson(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::ordered_json j = nlohmann::ordered_json::array();
      for (const auto& v : n) j.push_back(ToJson(v));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted in the YAML: a string
      int64_t i;
      bool b;
      if (YAML::convert<int64_t>::decode(n, i)) return i;
      if (YAML::convert<bool>::decode(n, b) && (s == "true" || s == "false")) return b;
      return s;
    }
    default: return nullptr;
  }
}

void AppendEscaped(unsigned int code, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += "\\u00";
  *out += kHex[(code >> 4) & 0xf];
  *out += kHex[code & 0xf];
}

// A streambuf that escapes what it forwards to `target`.
class EscapingBuf : public std::streambuf {
 public:
  explicit EscapingBuf(std::streambuf* target) : target_(target) {}

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    char ch = static_cast<char>(c);
    return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::string out = EscapeControls(std::string_view(s, static_cast<size_t>(n)), &pending_);
    if (target_->sputn(out.data(), static_cast<std::streamsize>(out.size())) !=
        static_cast<std::streamsize>(out.size())) {
      return 0;
    }
    return n;
  }
  // A lead byte 0xC2 stays pending across flushes (std::cerr flushes after
  // every <<), so "\xc2" << "\x9b" is still caught; only a lone trailing
  // 0xC2, invalid UTF-8 anyway, is never printed.
  int sync() override { return target_->pubsync(); }

 private:
  std::streambuf* target_;
  bool pending_ = false;
};

}  // namespace

std::string EscapeControls(std::string_view text, bool* pending) {
  std::string out;
  out.reserve(text.size());
  bool lead = pending != nullptr && *pending;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (lead) {
      lead = false;
      if (c >= 0x80 && c <= 0x9f) {
        AppendEscaped(c, &out);
        continue;
      }
      out += static_cast<char>(0xc2);
    }
    if (c == 0xc2) {
      lead = true;
    } else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      AppendEscaped(c, &out);
    } else {
      out += ch;
    }
  }
  if (lead) {
    if (pending != nullptr) {
      *pending = true;
      return out;
    }
    out += static_cast<char>(0xc2);
  }
  if (pending != nullptr) *pending = false;
  return out;
}

void EscapeTerminalOutput() {
  // Never destroyed: std::cout may be used until the process exits.
  static auto* out = new EscapingBuf(std::cout.rdbuf());
  static auto* err = new EscapingBuf(std::cerr.rdbuf());
  std::cout.rdbuf(out);
  std::cerr.rdbuf(err);
}

nlohmann::ordered_json YamlToJson(const std::string& yaml) {
  try {
    return ToJson(YAML::Load(yaml));
  } catch (const YAML::Exception&) {
    return yaml;  // the server only sends valid YAML; show it as text if not
  }
}

std::string YamlField(const std::string& yaml, const std::string& path) {
  try {
    YAML::Node n = YAML::Load(yaml);
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      std::string key =
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!n.IsMap() || !n[key]) return "";
      n = n[key];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return n.IsScalar() ? n.Scalar() : "";
  } catch (const YAML::Exception&) {
    return "";
  }
}

void PrintTable(const std::vector<std::vector<std::string>>& raw) {
  // Escaped before measuring, so columns line up; a newline or tab in a cell
  // would break the table, so they are escaped here too.
  std::vector<std::vector<std::string>> rows = raw;
  for (auto& r : rows) {
    for (std::string& cell : r) {
      std::string escaped;
      for (char c : EscapeControls(cell)) {
        if (c == '\n' || c == '\t') {
          AppendEscaped(static_cast<unsigned char>(c), &escaped);
        } else {
          escaped += c;
        }
      }
      cell = std::move(escaped);
    }
  }
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

}  // namespace tierwall::ctl::twctl
