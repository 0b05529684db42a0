#include "control/twctl/output.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

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

}  // namespace

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

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
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
