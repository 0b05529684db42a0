// The one way Tierwall writes YAML documents: block style, 2-space indent,
// multi-line strings as literal blocks, and quoted strings that would read
// as something else (80, yes, null, 1e3, a date) keep their quotes, so the
// text means exactly what was given. The store writes its canonical form with
// it and `twctl why` its suggestions, so both read the same.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "yaml-cpp/yaml.h"

namespace tierwall::ctl::yaml {

// Whether the scalar was quoted (or explicitly tagged a string) in the input.
bool IsQuoted(const YAML::Node& n);

// Whether a plain scalar with this text could read as something other than a
// string to some YAML reader (1.1 or 1.2: null, booleans incl. yes/no/on/off,
// numbers incl. hex/octal/sexagesimal, .inf/.nan, timestamps).
bool LooksNonString(const std::string& s);

// Emits `n` into `e`. `budget` bounds the number of nodes written: aliases are
// expanded, and a chain of aliases ("billion laughs") would otherwise explode.
absl::Status EmitBlock(const YAML::Node& n, YAML::Emitter& e, size_t* budget);

// `n` as a document ending in a newline; INVALID_ARGUMENT past `max_nodes`.
absl::StatusOr<std::string> ToBlockYaml(const YAML::Node& n, size_t max_nodes = 1 << 20);

// Structural equality with string typing: a quoted scalar and a plain one
// differ where the plain one would read as another type (80 vs "80");
// multi-line strings are strings either way.
bool SameTree(const YAML::Node& a, const YAML::Node& b);

}  // namespace tierwall::ctl::yaml
