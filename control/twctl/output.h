// Output formats shared by twctl commands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace tierwall::ctl::twctl {

// A YAML document as JSON (scalars that read as numbers or booleans become
// numbers or booleans, as kubectl prints them).
nlohmann::ordered_json YamlToJson(const std::string& yaml);

// One field of a YAML document by dotted path ("spec.tier"); "" when absent.
std::string YamlField(const std::string& yaml, const std::string& path);

// `text` with every terminal control character written as \u00XX: C0
// controls other than newline and tab, DEL, and the C1 controls (U+0080 to
// U+009F, two bytes in UTF-8). Names, labels and messages come from the
// server and from users' files; raw, an ESC or CSI in them would drive the
// admin's terminal. \u00XX also reads correctly inside JSON strings.
// `*pending` carries a lead byte 0xC2 split from its continuation across
// calls (nullptr: none may be split).
std::string EscapeControls(std::string_view text, bool* pending = nullptr);

// Makes std::cout and std::cerr escape control characters (EscapeControls)
// for the rest of the process: every twctl command prints through them.
void EscapeTerminalOutput();

// Left-aligned columns, two spaces apart, header first.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace tierwall::ctl::twctl
