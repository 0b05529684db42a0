// Output formats shared by twctl commands.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace tierwall::ctl::twctl {

// A YAML document as JSON (scalars that read as numbers or booleans become
// numbers or booleans, as kubectl prints them).
nlohmann::ordered_json YamlToJson(const std::string& yaml);

// One field of a YAML document by dotted path ("spec.tier"); "" when absent.
std::string YamlField(const std::string& yaml, const std::string& path);

// Left-aligned columns, two spaces apart, header first.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace tierwall::ctl::twctl
